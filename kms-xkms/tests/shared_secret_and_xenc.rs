//! The README's shared-secret table, and PrivateKey encryption (ours and xmlsec1's decryption).

mod common;

use std::ffi::OsStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use kms_xkms::messages::{
    KeyBindingPrivateKeyResult, Message, PrivateKey, ResultHeader, ResultMajor, XkmsResult,
    encode_result,
};
use kms_xkms::shared_secret::{
    Conversion, KeyUse, SharedSecretError, convert, derive_key, revocation_code,
    revocation_code_identifier, revocation_code_matches,
};
use kms_xkms::xenc::{
    EncryptionMethod, RsaKeyPair, decrypt, decrypt_private_key, encrypt, encrypt_private_key,
};
use kms_xkms::xml::write_document;
use kms_xkms::{Parsed, parse_message};

#[test]
fn table_authentication_key() {
    for c in [Conversion::SaslPrep, Conversion::Legacy2004] {
        let k = derive_key("024837", c, KeyUse::Authentication, 20).expect("derive");
        assert_eq!(
            hex::encode(&k[..]),
            "d6cc34cb83fae2993a393aa8e7de9a06c7fa2c92"
        );
    }
}

#[test]
fn table_private_key_encryption_key_longer_than_20_bytes() {
    let k = derive_key(
        "3N9CJ-K4JKS-04JWF-0934J-SR09JW-IK4",
        Conversion::SaslPrep,
        KeyUse::PrivateKeyEncryption,
        24,
    )
    .expect("derive");
    assert_eq!(
        hex::encode(&k[..]),
        "78e8bbf532d01dece38aa9d2a4a409dbff1a265cdbae1b95"
    );
    // The first 20 bytes are the plain HMAC; the extension only appends.
    let k20 = derive_key(
        "3N9CJ-K4JKS-04JWF-0934J-SR09JW-IK4",
        Conversion::SaslPrep,
        KeyUse::PrivateKeyEncryption,
        20,
    )
    .expect("derive");
    assert_eq!(k20[..], k[..20]);
    assert!(derive_key("x", Conversion::SaslPrep, KeyUse::Authentication, 21).is_err());
}

#[test]
fn table_revocation_codes() {
    let code = revocation_code("Help I Have Revealed My Key", Conversion::SaslPrep).expect("code");
    assert_eq!(B64.encode(&code[..]), "HAhXyVRYwm9EMn79DvBVsIytXHg=");
    assert_eq!(
        B64.encode(revocation_code_identifier(&code)),
        "5rRN2cOZiMlciJxBqaelrZDCzSE="
    );
    let legacy =
        revocation_code("Help I Have Revealed My Key", Conversion::Legacy2004).expect("code");
    assert_eq!(
        &convert("Help I Have Revealed My Key", Conversion::Legacy2004).expect("c")[..],
        b"helpihaverevealedmykey"
    );
    assert_eq!(B64.encode(&legacy[..]), "PHx8li2SUhrJv2e1DyeWbGbD6rs=");
    let id = revocation_code_identifier(&legacy);
    assert_eq!(B64.encode(id), "5AEAai06hFJEkuqyDyqNh8k/u3M=");
    // As in the Recommendation's RegisterRequest / RevokeRequest pair.
    assert!(revocation_code_matches(&legacy, &id));
    assert!(!revocation_code_matches(&code, &id));
}

#[test]
fn saslprep_maps_and_prohibits() {
    // RFC 4013 section 3 examples: soft hyphen maps to nothing, ª NFKC-normalizes to a.
    assert_eq!(
        &convert("I\u{AD}X", Conversion::SaslPrep).expect("c")[..],
        b"IX"
    );
    assert_eq!(
        &convert("\u{AA}", Conversion::SaslPrep).expect("c")[..],
        b"a"
    );
    assert_eq!(
        &convert("\u{2168}", Conversion::SaslPrep).expect("c")[..],
        b"IX"
    );
    // Non-ASCII space maps to a space.
    assert_eq!(
        &convert("a\u{A0}b", Conversion::SaslPrep).expect("c")[..],
        b"a b"
    );
    assert_eq!(
        convert("\u{7}", Conversion::SaslPrep),
        Err(SharedSecretError::SaslPrep)
    );
    // Bidi: RandALCat with LCat is refused.
    assert_eq!(
        convert("\u{627}1a", Conversion::SaslPrep),
        Err(SharedSecretError::SaslPrep)
    );
    assert_eq!(
        convert("\u{AD}", Conversion::SaslPrep),
        Err(SharedSecretError::Empty)
    );
}

fn test_pair() -> RsaKeyPair {
    let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
    let sk = rsa::PrivateKey::new(&mut rng, 1024).expect("keygen");
    RsaKeyPair::from_rsa(&sk).expect("components")
}

const METHODS: [EncryptionMethod; 5] = [
    EncryptionMethod::TripleDesCbc,
    EncryptionMethod::Aes128Cbc,
    EncryptionMethod::Aes256Cbc,
    EncryptionMethod::Aes128Gcm,
    EncryptionMethod::Aes256Gcm,
];

#[test]
fn encrypt_decrypt_round_trip_and_tamper() {
    for m in METHODS {
        let key = vec![7u8; m.key_len()];
        for len in [0usize, 1, 7, 8, 15, 16, 17, 100] {
            let pt: Vec<u8> = (0..len as u8).collect();
            let ct = encrypt(m, &key, &pt).expect("encrypt");
            assert_eq!(
                &decrypt(m, &key, &ct).expect("decrypt")[..],
                &pt[..],
                "{m:?} {len}"
            );
            let mut bad = ct.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            // A tag or padding failure is the one opaque error (or, for CBC, possibly garbage).
            if matches!(m, EncryptionMethod::Aes128Gcm | EncryptionMethod::Aes256Gcm) {
                assert!(decrypt(m, &key, &bad).is_err());
            }
        }
        assert!(encrypt(m, &key[1..], b"x").is_err());
    }
}

fn register_result_with(private_key: PrivateKey) -> Vec<u8> {
    let r = XkmsResult::Register(KeyBindingPrivateKeyResult {
        header: ResultHeader::new(
            "Ires1",
            Some("http://www.example.org/XKMS".into()),
            ResultMajor::Success,
        ),
        key_bindings: vec![],
        private_key: Some(private_key),
    });
    write_document(&encode_result(&r))
}

#[test]
fn private_key_decrypts_here_and_with_xmlsec1() {
    let pair = test_pair();
    let pass = "3N9CJ-K4JKS-04JWF-0934J-SR09JW-IK4";
    for m in METHODS {
        let key = derive_key(
            pass,
            Conversion::SaslPrep,
            KeyUse::PrivateKeyEncryption,
            m.key_len(),
        )
        .expect("derive");
        let ed = encrypt_private_key(&pair, m, &key).expect("encrypt");
        let bytes = register_result_with(PrivateKey { encrypted_data: ed });
        common::xmllint_validate(&bytes).unwrap_or_else(|e| panic!("{m:?}: {e}"));
        let Parsed::Message(_, Message::Result(XkmsResult::Register(r))) =
            parse_message(&bytes).expect("parse")
        else {
            panic!("not a RegisterResult");
        };
        let got = decrypt_private_key(&r.private_key.expect("PrivateKey").encrypted_data, &key)
            .expect("decrypt");
        assert!(got == pair, "{m:?}: key pair differs");
        got.to_rsa().expect("valid RSA key");
        let wrong = derive_key(
            "wrong",
            Conversion::SaslPrep,
            KeyUse::PrivateKeyEncryption,
            m.key_len(),
        )
        .expect("d");
        let Parsed::Message(_, Message::Result(XkmsResult::Register(r))) =
            parse_message(&bytes).expect("parse")
        else {
            panic!("not a RegisterResult");
        };
        assert!(decrypt_private_key(&r.private_key.expect("pk").encrypted_data, &wrong).is_err());

        let dir = tempfile::tempdir().expect("tmp");
        let kf = dir.path().join("key.bin");
        std::fs::write(&kf, &key[..]).expect("write");
        let opt = if m == EncryptionMethod::TripleDesCbc {
            "--deskey"
        } else {
            "--aeskey"
        };
        let out = common::xmlsec1(
            &[OsStr::new("--decrypt"), OsStr::new(opt), kf.as_os_str()],
            &bytes,
        )
        .unwrap_or_else(|e| panic!("xmlsec1 --decrypt {m:?}: {e}"));
        let modulus = B64.encode(&pair.modulus);
        assert!(
            out.contains("RSAKeyPair") && out.contains(&modulus),
            "{m:?}: xmlsec1 output lacks the key: {out}"
        );
    }
}
