//! TpmBackend against a real swtpm: every operation, no stray handles, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::pair;
use kms_core::SoftwareBackend;
use kms_core::backend::{
    BackendError, Cipher as _, CipherParams, GeneratedKey, HashingAlgorithm, KeyBackend, KeyPolicy,
    KeyRef, KeySpec, SignInput, SignatureAlgorithm, Signer as _,
};
use kms_core::material::{KeyFormat, KeyMaterial};
use kms_core::object::{CryptographicAlgorithm, ObjectId, ObjectType, RecommendedCurve, UsageMask};
use kms_tpm::{PcrPolicy, TpmBackend, TpmError};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use p256::pkcs8::DecodePublicKey as _;
use sha2::Digest as _;
use zeroize::Zeroizing;

fn backend() -> TpmBackend {
    TpmBackend::new(common::shared())
}

fn no_strays(b: &TpmBackend) {
    assert_eq!(
        b.tpm().stray_objects().unwrap(),
        0,
        "an operation left a handle in the TPM"
    );
}

fn hmac_key(b: &TpmBackend, algorithm: CryptographicAlgorithm) -> KeyRef {
    let id = ObjectId::random();
    let policy = KeyPolicy {
        id: &id,
        usage: UsageMask::MAC_GENERATE,
        extractable: false,
    };
    match b
        .generate(&KeySpec::Symmetric { algorithm, bits: 0 }, &policy)
        .unwrap()
    {
        GeneratedKey::Symmetric(k) => k,
        GeneratedKey::KeyPair { .. } => panic!("a symmetric key was asked for"),
    }
}

#[test]
fn ecdsa_p256_signs_in_the_tpm_and_verifies_in_software() {
    let b = backend();
    let (private, public) = pair(
        &b,
        KeySpec::Ec {
            curve: RecommendedCurve::P256,
        },
        UsageMask::SIGN,
    );
    let signer = b.signer().unwrap();
    for h in [
        HashingAlgorithm::Sha256,
        HashingAlgorithm::Sha384,
        HashingAlgorithm::Sha512,
    ] {
        let alg = SignatureAlgorithm::Ecdsa(h);
        let sig = signer
            .sign(&private, alg, SignInput::Message(b"attested message"))
            .unwrap();
        signer
            .verify(&public, alg, SignInput::Message(b"attested message"), &sig)
            .unwrap();
        signer
            .verify(&private, alg, SignInput::Message(b"attested message"), &sig)
            .unwrap();
        assert!(matches!(
            signer.verify(&public, alg, SignInput::Message(b"another message"), &sig),
            Err(BackendError::Crypto)
        ));
        no_strays(&b);
    }
    // Independently of this crate: the exported SPKI and the p256 crate accept the signature.
    let spki = b.export(&public).unwrap();
    assert_eq!(spki.format(), KeyFormat::SubjectPublicKeyInfo);
    let vk = p256::ecdsa::VerifyingKey::from_public_key_der(spki.bytes()).unwrap();
    let digest = sha2::Sha256::digest(b"independent");
    let sig = signer
        .sign(
            &private,
            SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
            SignInput::Digest(&digest),
        )
        .unwrap();
    let sig = p256::ecdsa::DerSignature::from_bytes(&sig).unwrap();
    vk.verify_prehash(&digest, &sig).unwrap();
    assert!(matches!(
        b.export(&private),
        Err(BackendError::NotExtractable)
    ));
}

#[test]
fn rsa_2048_pss_pkcs1_and_oaep() {
    let b = backend();
    let (private, public) = pair(
        &b,
        KeySpec::Rsa { bits: 2048 },
        UsageMask::SIGN | UsageMask::DECRYPT,
    );
    let signer = b.signer().unwrap();
    // The software backend verifies what the TPM signed, through the exported public key.
    let software = SoftwareBackend::new();
    let spki = b.export(&public).unwrap();
    let id = ObjectId::random();
    let policy = KeyPolicy {
        id: &id,
        usage: UsageMask::VERIFY,
        extractable: true,
    };
    let soft_public = software
        .import(
            ObjectType::PublicKey,
            Some(CryptographicAlgorithm::Rsa),
            &spki,
            &policy,
        )
        .unwrap();
    for h in [
        HashingAlgorithm::Sha256,
        HashingAlgorithm::Sha384,
        HashingAlgorithm::Sha512,
    ] {
        for alg in [
            SignatureAlgorithm::RsaPss(h),
            SignatureAlgorithm::RsaPkcs1v15(h),
        ] {
            let sig = signer
                .sign(&private, alg, SignInput::Message(b"firmware image"))
                .unwrap();
            assert_eq!(sig.len(), 256);
            signer
                .verify(&public, alg, SignInput::Message(b"firmware image"), &sig)
                .unwrap();
            software
                .verify(
                    &soft_public,
                    alg,
                    SignInput::Message(b"firmware image"),
                    &sig,
                )
                .unwrap();
            let mut bad = sig.clone();
            bad[10] ^= 1;
            assert!(matches!(
                signer.verify(&public, alg, SignInput::Message(b"firmware image"), &bad),
                Err(BackendError::Crypto)
            ));
        }
    }
    no_strays(&b);

    let cipher = b.cipher().unwrap();
    for (hash, label) in [
        (HashingAlgorithm::Sha256, None),
        (HashingAlgorithm::Sha1, None),
        (HashingAlgorithm::Sha256, Some(&b"context\0"[..])),
    ] {
        let params = CipherParams::RsaOaep {
            hash,
            mgf1_hash: hash,
            label,
        };
        let ct = cipher.encrypt(&public, &params, b"wrapped secret").unwrap();
        let pt = cipher.decrypt(&private, &params, &ct.data, None).unwrap();
        assert_eq!(&pt[..], b"wrapped secret");
        // A ciphertext made by the software backend under the same public key decrypts in the TPM.
        let soft = software
            .encrypt(&soft_public, &params, b"from software")
            .unwrap();
        assert_eq!(
            &cipher.decrypt(&private, &params, &soft.data, None).unwrap()[..],
            b"from software"
        );
        let mut bad = ct.data.clone();
        bad[100] ^= 0x40;
        assert!(matches!(
            cipher.decrypt(&private, &params, &bad, None),
            Err(BackendError::Crypto)
        ));
    }
    // The TPM would append a zero octet to this label: refused rather than silently changed.
    let params = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha256,
        mgf1_hash: HashingAlgorithm::Sha256,
        label: Some(b"no terminator"),
    };
    assert!(matches!(
        cipher.decrypt(&private, &params, &[0; 256], None),
        Err(BackendError::Unsupported(_))
    ));
    let params = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha256,
        mgf1_hash: HashingAlgorithm::Sha1,
        label: None,
    };
    assert!(matches!(
        cipher.encrypt(&public, &params, b"x"),
        Err(BackendError::Unsupported(_))
    ));
    let params = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha256,
        mgf1_hash: HashingAlgorithm::Sha256,
        label: None,
    };
    assert!(matches!(
        cipher.decrypt(&private, &params, &[0; 255], None),
        Err(BackendError::InvalidInput(_))
    ));
    assert!(matches!(
        cipher.decrypt(&public, &params, &[0; 256], None),
        Err(BackendError::InvalidInput(_))
    ));
    no_strays(&b);
}

#[test]
fn rsa_key_without_sign_usage_cannot_sign() {
    let b = backend();
    let (private, _) = pair(&b, KeySpec::Rsa { bits: 2048 }, UsageMask::DECRYPT);
    let r = b.signer().unwrap().sign(
        &private,
        SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
        SignInput::Message(b"x"),
    );
    // The TPM itself refuses: the key was created without the sign attribute.
    assert!(matches!(r, Err(BackendError::Device { .. })), "{r:?}");
    no_strays(&b);
}

#[test]
fn hmac_matches_rfc_4231() {
    let b = backend();
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    let key = KeyMaterial::new(KeyFormat::Raw, Zeroizing::new(b"Jefe".to_vec()));
    let id = ObjectId::random();
    let policy = KeyPolicy {
        id: &id,
        usage: UsageMask::MAC_GENERATE,
        extractable: false,
    };
    let data = b"what do ya want for nothing?";
    for (alg, hash, expected) in [
        (
            CryptographicAlgorithm::HmacSha256,
            HashingAlgorithm::Sha256,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            CryptographicAlgorithm::HmacSha384,
            HashingAlgorithm::Sha384,
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
        ),
    ] {
        let k = b
            .import(ObjectType::SymmetricKey, Some(alg), &key, &policy)
            .unwrap();
        let mac = b.mac().unwrap().mac(&k, hash, data).unwrap();
        assert_eq!(hex(&mac), expected);
        b.mac().unwrap().mac_verify(&k, hash, data, &mac).unwrap();
        b.mac()
            .unwrap()
            .mac_verify(&k, hash, data, &mac[..16])
            .unwrap();
        let mut bad = mac.clone();
        bad[0] ^= 1;
        assert!(matches!(
            b.mac().unwrap().mac_verify(&k, hash, data, &bad),
            Err(BackendError::Crypto)
        ));
        assert!(matches!(b.export(&k), Err(BackendError::NotExtractable)));
    }
    // Generated keys: the TPM makes the key; two keys give different MACs.
    let k1 = hmac_key(&b, CryptographicAlgorithm::HmacSha256);
    let k2 = hmac_key(&b, CryptographicAlgorithm::HmacSha256);
    let m1 = b
        .mac()
        .unwrap()
        .mac(&k1, HashingAlgorithm::Sha256, b"msg")
        .unwrap();
    let m2 = b
        .mac()
        .unwrap()
        .mac(&k2, HashingAlgorithm::Sha256, b"msg")
        .unwrap();
    assert_eq!(m1.len(), 32);
    assert_ne!(m1, m2);
    assert_eq!(
        m1,
        b.mac()
            .unwrap()
            .mac(&k1, HashingAlgorithm::Sha256, b"msg")
            .unwrap()
    );
    // Limits and mismatches.
    assert!(matches!(
        b.mac()
            .unwrap()
            .mac(&k1, HashingAlgorithm::Sha256, &[0; 1025]),
        Err(BackendError::InvalidInput(_))
    ));
    b.mac()
        .unwrap()
        .mac(&k1, HashingAlgorithm::Sha256, &[0; 1024])
        .unwrap();
    assert!(matches!(
        b.mac().unwrap().mac(&k1, HashingAlgorithm::Sha384, b"x"),
        Err(BackendError::InvalidInput(_))
    ));
    no_strays(&b);
}

#[test]
fn random_comes_from_the_tpm() {
    let b = backend();
    let mut a = [0u8; 100];
    let mut c = [0u8; 100];
    b.random().unwrap().fill_random(&mut a).unwrap();
    b.random().unwrap().fill_random(&mut c).unwrap();
    assert_ne!(a, c);
    assert_ne!(a, [0; 100]);
    assert!(matches!(
        b.random()
            .unwrap()
            .fill_random(&mut vec![0; (64 << 10) + 1]),
        Err(BackendError::InvalidInput(_))
    ));
}

#[test]
fn seal_and_unseal_with_and_without_pcr_policy() {
    let tpm = common::shared();
    let sealed = tpm.seal(b"database password", None).unwrap();
    let bytes = sealed.to_bytes();
    let again = kms_tpm::SealedData::from_bytes(&bytes).unwrap();
    assert_eq!(&tpm.unseal(&again).unwrap()[..], b"database password");

    // PCR 23 (resettable, extendable at locality 0) is this test's alone.
    let policy = PcrPolicy::sha256(&[23]).unwrap();
    let sealed = tpm.seal(b"only while PCR 23 holds", Some(&policy)).unwrap();
    assert_eq!(
        &tpm.unseal(&sealed).unwrap()[..],
        b"only while PCR 23 holds"
    );
    tpm.extend_pcr(23, [0x5A; 32]).unwrap();
    assert!(matches!(tpm.unseal(&sealed), Err(TpmError::Crypto)));
    assert_eq!(tpm.stray_objects().unwrap(), 0);

    assert!(matches!(
        tpm.seal(&[], None),
        Err(TpmError::InvalidInput(_))
    ));
    assert!(matches!(
        tpm.seal(&[1; 129], None),
        Err(TpmError::InvalidInput(_))
    ));
    assert!(PcrPolicy::sha256(&[24]).is_err());
    assert!(PcrPolicy::sha256(&[]).is_err());
    for cut in 0..bytes.len() {
        assert!(
            kms_tpm::SealedData::from_bytes(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn bad_references_fail_cleanly() {
    let b = backend();
    let (private, public) = pair(
        &b,
        KeySpec::Ec {
            curve: RecommendedCurve::P256,
        },
        UsageMask::SIGN,
    );
    let alg = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);
    let signer = b.signer().unwrap();
    // Another backend's reference.
    let foreign = KeyRef::new("software", 1, Zeroizing::new(private.data().to_vec()));
    assert!(matches!(
        signer.sign(&foreign, alg, SignInput::Message(b"x")),
        Err(BackendError::ForeignKeyRef)
    ));
    // Truncated data.
    for cut in [0, 1, 5, private.data().len() / 2, private.data().len() - 1] {
        let k = KeyRef::new("tpm", 1, Zeroizing::new(private.data()[..cut].to_vec()));
        assert!(matches!(
            signer.sign(&k, alg, SignInput::Message(b"x")),
            Err(BackendError::MalformedKeyRef)
        ));
        assert!(!b.exists(&k).unwrap());
    }
    // A flipped bit in the encrypted private area: the TPM's integrity check refuses it.
    let mut data = private.data().to_vec();
    let last = data.len() - 20;
    data[last] ^= 1;
    let damaged = KeyRef::new("tpm", 1, Zeroizing::new(data));
    assert!(matches!(
        signer.sign(&damaged, alg, SignInput::Message(b"x")),
        Err(BackendError::KeyNotFound)
    ));
    assert!(!b.exists(&damaged).unwrap());
    assert!(b.exists(&private).unwrap());
    assert!(b.exists(&public).unwrap());
    // Wrong digest length, wrong scheme for the key, SHA-1, a public key to sign with.
    assert!(matches!(
        signer.sign(&private, alg, SignInput::Digest(&[0; 31])),
        Err(BackendError::InvalidInput(_))
    ));
    assert!(matches!(
        signer.sign(
            &private,
            SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
            SignInput::Message(b"x")
        ),
        Err(BackendError::InvalidInput(_))
    ));
    assert!(matches!(
        signer.sign(
            &private,
            SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha1),
            SignInput::Message(b"x")
        ),
        Err(BackendError::Unsupported(_))
    ));
    assert!(matches!(
        signer.sign(&public, alg, SignInput::Message(b"x")),
        Err(BackendError::InvalidInput(_))
    ));
    assert!(matches!(
        signer.verify(&public, alg, SignInput::Message(b"x"), b"\x30\x00"),
        Err(BackendError::Crypto)
    ));
    // Unsupported generation requests.
    let id = ObjectId::random();
    let policy = KeyPolicy {
        id: &id,
        usage: UsageMask::SIGN,
        extractable: false,
    };
    assert!(matches!(
        b.generate(&KeySpec::Rsa { bits: 3072 }, &policy),
        Err(BackendError::Unsupported(_))
    ));
    assert!(matches!(
        b.generate(
            &KeySpec::Ec {
                curve: RecommendedCurve::P384
            },
            &policy
        ),
        Err(BackendError::Unsupported(_))
    ));
    assert!(matches!(
        b.generate(
            &KeySpec::Symmetric {
                algorithm: CryptographicAlgorithm::Aes,
                bits: 256
            },
            &policy
        ),
        Err(BackendError::Unsupported(_))
    ));
    let extractable = KeyPolicy {
        id: &id,
        usage: UsageMask::SIGN,
        extractable: true,
    };
    let GeneratedKey::KeyPair { private: k, .. } = b
        .generate(
            &KeySpec::Ec {
                curve: RecommendedCurve::P256,
            },
            &extractable,
        )
        .unwrap()
    else {
        panic!("a pair was asked for")
    };
    assert!(matches!(b.export(&k), Err(BackendError::NotExtractable)));
    let pkcs8 = KeyMaterial::new(KeyFormat::Pkcs8, Zeroizing::new(vec![0x30, 0]));
    assert!(matches!(
        b.import(
            ObjectType::PrivateKey,
            Some(CryptographicAlgorithm::Rsa),
            &pkcs8,
            &policy
        ),
        Err(BackendError::Unsupported(_))
    ));
    // Destroy flushes a cached handle and is idempotent.
    b.destroy(&private).unwrap();
    b.destroy(&private).unwrap();
    no_strays(&b);
}

#[test]
fn imported_public_keys_verify() {
    let b = backend();
    let software = SoftwareBackend::new();
    let id = ObjectId::random();
    let policy = KeyPolicy {
        id: &id,
        usage: UsageMask::SIGN,
        extractable: true,
    };
    let GeneratedKey::KeyPair { private, public } = software
        .generate(
            &KeySpec::Ec {
                curve: RecommendedCurve::P256,
            },
            &policy,
        )
        .unwrap()
    else {
        panic!()
    };
    let alg = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);
    let sig = software
        .sign(&private, alg, SignInput::Message(b"peer"))
        .unwrap();
    let spki = software.export(&public).unwrap();
    let imported = b
        .import(ObjectType::PublicKey, None, &spki, &policy)
        .unwrap();
    b.signer()
        .unwrap()
        .verify(&imported, alg, SignInput::Message(b"peer"), &sig)
        .unwrap();
    assert_eq!(b.export(&imported).unwrap().bytes(), spki.bytes());
    let junk = KeyMaterial::new(
        KeyFormat::SubjectPublicKeyInfo,
        Zeroizing::new(vec![0x30, 3, 1, 2, 3]),
    );
    assert!(matches!(
        b.import(ObjectType::PublicKey, None, &junk, &policy),
        Err(BackendError::InvalidInput(_))
    ));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
