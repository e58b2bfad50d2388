//! The software backend on bad input: each case is a typed error (opaque `Crypto` for failed checks), nothing
//! panics, and no key bytes appear in `Debug` output or error messages.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod software_common;

use kms_core::backend::{
    BackendError, CipherParams, HashingAlgorithm, KeyBackend, KeySpec, SignInput,
    SignatureAlgorithm, WrapAlgorithm,
};
use kms_core::object::{CryptographicAlgorithm, RecommendedCurve};
use kms_core::{KeyFormat, KeyMaterial, KeyRef, ObjectType, SoftwareBackend};
use software_common::{ec, import, policy, raw, rsa, symmetric};
use zeroize::Zeroizing;

fn gcm<'a>(iv: Option<&'a [u8]>, aad: &'a [u8], tag_len: usize) -> CipherParams<'a> {
    CipherParams::AesGcm { iv, aad, tag_len }
}

macro_rules! assert_err {
    ($e:expr, $p:pat) => {
        match $e {
            Err($p) => {}
            other => panic!(
                "{}: expected {}, got {other:?}",
                stringify!($e),
                stringify!($p)
            ),
        }
    };
}

#[test]
fn wrong_key_lengths() {
    let b = SoftwareBackend::new();
    for len in [0, 1, 15, 17, 31, 33, 64] {
        assert_err!(
            b.import(
                ObjectType::SymmetricKey,
                Some(CryptographicAlgorithm::Aes),
                &raw(&vec![1; len]),
                &policy(true)
            ),
            BackendError::InvalidInput(_)
        );
    }
    assert_err!(
        b.import(
            ObjectType::SymmetricKey,
            Some(CryptographicAlgorithm::HmacSha256),
            &raw(b""),
            &policy(true)
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        b.import(
            ObjectType::SymmetricKey,
            Some(CryptographicAlgorithm::HmacSha256),
            &raw(&[0; 1025]),
            &policy(true)
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        b.import(ObjectType::SecretData, None, &raw(b""), &policy(true)),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        b.import(
            ObjectType::OpaqueObject,
            None,
            &raw(&vec![0; 64 * 1024 + 1]),
            &policy(true)
        ),
        BackendError::InvalidInput(_)
    );
    for bits in [0, 64, 100, 129, 512] {
        assert_err!(
            b.generate(
                &KeySpec::Symmetric {
                    algorithm: CryptographicAlgorithm::Aes,
                    bits
                },
                &policy(true)
            ),
            BackendError::Unsupported(_)
        );
    }
    for bits in [8, 128, 260, 1032] {
        assert_err!(
            b.generate(
                &KeySpec::Symmetric {
                    algorithm: CryptographicAlgorithm::HmacSha256,
                    bits
                },
                &policy(true)
            ),
            BackendError::Unsupported(_)
        );
    }
    for bits in [0, 1024, 2047, 2049, 8192] {
        assert_err!(
            b.generate(&KeySpec::Rsa { bits }, &policy(true)),
            BackendError::Unsupported(_)
        );
    }
    assert_err!(
        b.generate(
            &KeySpec::Ec {
                curve: RecommendedCurve::P521
            },
            &policy(true)
        ),
        BackendError::Unsupported(_)
    );
    assert_err!(
        b.generate(
            &KeySpec::Symmetric {
                algorithm: CryptographicAlgorithm::TripleDes,
                bits: 192
            },
            &policy(true)
        ),
        BackendError::Unsupported(_)
    );
    // A 1024-bit RSA key is refused on import too.
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
    let small = rsa::PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
    let pkcs8 = small.to_pkcs8_der().unwrap();
    let spki = small.as_public_key().to_public_key_der().unwrap();
    assert_err!(
        b.import(
            ObjectType::PrivateKey,
            None,
            &KeyMaterial::new(KeyFormat::Pkcs8, Zeroizing::new(pkcs8.as_bytes().to_vec())),
            &policy(true)
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        b.import(
            ObjectType::PublicKey,
            None,
            &KeyMaterial::new(
                KeyFormat::SubjectPublicKeyInfo,
                Zeroizing::new(spki.as_bytes().to_vec())
            ),
            &policy(true)
        ),
        BackendError::InvalidInput(_)
    );
}

#[test]
fn malformed_material_and_format_mismatch() {
    let b = SoftwareBackend::new();
    let m = |f, bytes: &[u8]| KeyMaterial::new(f, Zeroizing::new(bytes.to_vec()));
    let garbage = [0x30, 0x03, 0x02, 0x01, 0x00];
    for (t, f) in [
        (ObjectType::PrivateKey, KeyFormat::Pkcs8),
        (ObjectType::PublicKey, KeyFormat::SubjectPublicKeyInfo),
        (ObjectType::Certificate, KeyFormat::X509Certificate),
    ] {
        for bytes in [&b""[..], &garbage[..], &[0xff; 300][..]] {
            assert_err!(
                b.import(t, None, &m(f, bytes), &policy(true)),
                BackendError::InvalidInput(_)
            );
        }
    }
    // A certificate with trailing bytes, or truncated.
    let cert = include_bytes!("vectors/selfsigned_p256.der");
    let mut long = cert.to_vec();
    long.push(0);
    for bytes in [&long[..], &cert[..cert.len() - 1]] {
        assert_err!(
            b.import(
                ObjectType::Certificate,
                None,
                &m(KeyFormat::X509Certificate, bytes),
                &policy(true)
            ),
            BackendError::InvalidInput(_)
        );
    }
    // The wrong format for the object type.
    assert_err!(
        b.import(
            ObjectType::SymmetricKey,
            Some(CryptographicAlgorithm::Aes),
            &m(KeyFormat::Pkcs8, &[0; 16]),
            &policy(true)
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        b.import(
            ObjectType::PrivateKey,
            None,
            &m(KeyFormat::Raw, &[0; 32]),
            &policy(true)
        ),
        BackendError::InvalidInput(_)
    );
    // A symmetric key needs its algorithm; an EC key is not an RSA key; unknown object types are refused.
    assert_err!(
        b.import(
            ObjectType::SymmetricKey,
            None,
            &raw(&[0; 16]),
            &policy(true)
        ),
        BackendError::InvalidInput(_)
    );
    let (ec_private, _) = ec(&b, RecommendedCurve::P256);
    let ec_pkcs8 = b.export(&ec_private).unwrap();
    assert_err!(
        b.import(
            ObjectType::PrivateKey,
            Some(CryptographicAlgorithm::Rsa),
            &ec_pkcs8,
            &policy(true)
        ),
        BackendError::InvalidInput(_)
    );
    // An EC key is not a DSA key either; DH keys are not kept at all.
    assert_err!(
        b.import(
            ObjectType::PrivateKey,
            Some(CryptographicAlgorithm::Dsa),
            &ec_pkcs8,
            &policy(true)
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        b.import(
            ObjectType::PrivateKey,
            Some(CryptographicAlgorithm::Dh),
            &ec_pkcs8,
            &policy(true)
        ),
        BackendError::Unsupported(_)
    );
    assert_err!(
        b.import(ObjectType::SplitKey, None, &raw(b"x"), &policy(true)),
        BackendError::Unsupported(_)
    );
}

#[test]
fn aes_gcm_bad_parameters_and_tampering() {
    let b = SoftwareBackend::new();
    let c = b.cipher().unwrap();
    let key = symmetric(&b, CryptographicAlgorithm::Aes, 256);
    // 12 bytes, and 8, 16 and 60 for KMIP clients (CS-BC-M-GCM-2), are the IV lengths accepted.
    for iv_len in [0, 7, 11, 13, 15, 59, 61] {
        let iv = vec![0; iv_len];
        assert_err!(
            c.encrypt(&key, &gcm(Some(&iv), b"", 16), b"x"),
            BackendError::InvalidInput(_)
        );
        assert_err!(
            c.decrypt(&key, &gcm(Some(&iv), b"", 16), b"x", Some(&[0; 16])),
            BackendError::InvalidInput(_)
        );
    }
    for tag_len in [0, 4, 8, 11, 17, 32] {
        assert_err!(
            c.encrypt(&key, &gcm(None, b"", tag_len), b"x"),
            BackendError::InvalidInput(_)
        );
    }
    // Keys of other kinds never have an expanded AES form kept with them, so the kind check falls to their
    // reference's data. Full tags (the cached instance) and truncated ones take different paths.
    let hmac = symmetric(&b, CryptographicAlgorithm::HmacSha256, 256);
    let (ec_private, _) = ec(&b, RecommendedCurve::P256);
    // The message names the key as a person would, not by the code's type names.
    match c.encrypt(&ec_private, &gcm(None, b"", 16), b"x") {
        Err(BackendError::InvalidInput(m)) => {
            assert_eq!(m, "an EC P-256 private key cannot be used for AES-GCM");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    for other in [&hmac, &ec_private] {
        for tag_len in [16, 12] {
            assert_err!(
                c.encrypt(other, &gcm(Some(&[0; 12]), b"", tag_len), b"x"),
                BackendError::InvalidInput(_)
            );
            assert_err!(
                c.decrypt(
                    other,
                    &gcm(Some(&[0; 12]), b"", tag_len),
                    b"x",
                    Some(&[0; 16][..tag_len])
                ),
                BackendError::InvalidInput(_)
            );
        }
    }
    let out = c
        .encrypt(&key, &gcm(None, b"aad", 16), b"attack at dawn")
        .unwrap();
    let iv = out.iv.unwrap();
    let tag = out.tag.unwrap();
    // Missing IV or tag; a tag whose length differs from the parameters.
    assert_err!(
        c.decrypt(&key, &gcm(None, b"aad", 16), &out.data, Some(&tag)),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        c.decrypt(&key, &gcm(Some(&iv), b"aad", 16), &out.data, None),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        c.decrypt(
            &key,
            &gcm(Some(&iv), b"aad", 16),
            &out.data,
            Some(&tag[..12])
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        c.decrypt(&key, &gcm(Some(&iv), b"aad", 12), &out.data, Some(&tag)),
        BackendError::InvalidInput(_)
    );
    // Every single-bit change of ciphertext, tag, AAD or IV is the opaque Crypto error.
    for i in 0..out.data.len() * 8 {
        let mut d = out.data.clone();
        d[i / 8] ^= 1 << (i % 8);
        assert_err!(
            c.decrypt(&key, &gcm(Some(&iv), b"aad", 16), &d, Some(&tag)),
            BackendError::Crypto
        );
    }
    for i in 0..tag.len() * 8 {
        let mut t = tag;
        t[i / 8] ^= 1 << (i % 8);
        assert_err!(
            c.decrypt(&key, &gcm(Some(&iv), b"aad", 16), &out.data, Some(&t)),
            BackendError::Crypto
        );
    }
    assert_err!(
        c.decrypt(&key, &gcm(Some(&iv), b"aaD", 16), &out.data, Some(&tag)),
        BackendError::Crypto
    );
    assert_err!(
        c.decrypt(&key, &gcm(Some(&iv), b"", 16), &out.data, Some(&tag)),
        BackendError::Crypto
    );
    let mut iv2 = iv;
    iv2[0] ^= 1;
    assert_err!(
        c.decrypt(&key, &gcm(Some(&iv2), b"aad", 16), &out.data, Some(&tag)),
        BackendError::Crypto
    );
    let other = symmetric(&b, CryptographicAlgorithm::Aes, 256);
    assert_err!(
        c.decrypt(&other, &gcm(Some(&iv), b"aad", 16), &out.data, Some(&tag)),
        BackendError::Crypto
    );
    // Truncated ciphertext.
    assert_err!(
        c.decrypt(
            &key,
            &gcm(Some(&iv), b"aad", 16),
            &out.data[..out.data.len() - 1],
            Some(&tag)
        ),
        BackendError::Crypto
    );
}

#[test]
fn rsa_and_wrap_tampering_is_opaque() {
    let b = SoftwareBackend::new();
    let (private, public) = rsa(&b);
    let c = b.cipher().unwrap();
    let p = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha256,
        mgf1_hash: HashingAlgorithm::Sha256,
        label: None,
    };
    let out = c.encrypt(&public, &p, b"secret").unwrap();
    for i in [0, 1, 100, 255] {
        let mut d = out.data.clone();
        d[i] ^= 0x40;
        assert_err!(c.decrypt(&private, &p, &d, None), BackendError::Crypto);
    }
    assert_err!(
        c.decrypt(&private, &p, &out.data[1..], None),
        BackendError::Crypto
    );
    assert_err!(c.decrypt(&private, &p, b"", None), BackendError::Crypto);
    // Too long for OAEP-SHA-512 with a 2048-bit key: 256 - 2*64 - 2 = 126 bytes at most.
    let p512 = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha512,
        mgf1_hash: HashingAlgorithm::Sha512,
        label: None,
    };
    c.encrypt(&public, &p512, &[0; 126]).unwrap();
    assert_err!(
        c.encrypt(&public, &p512, &[0; 127]),
        BackendError::InvalidInput(_)
    );
    // Every MGF1 pairing is accepted (the KMIP profiles' CS-AC-M-OAEP cases test them) and round-trips.
    let odd = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha1,
        mgf1_hash: HashingAlgorithm::Sha256,
        label: None,
    };
    let sealed = c.encrypt(&public, &odd, b"x").unwrap();
    assert_eq!(
        &c.decrypt(&private, &odd, &sealed.data, None).unwrap()[..],
        b"x"
    );

    let w = b.key_wrap().unwrap();
    let kek = symmetric(&b, CryptographicAlgorithm::Aes, 128);
    let target = symmetric(&b, CryptographicAlgorithm::Aes, 256);
    for alg in [
        WrapAlgorithm::AesKeyWrap,
        WrapAlgorithm::AesKeyWrapPadded,
        WrapAlgorithm::RsaOaep(HashingAlgorithm::Sha256),
    ] {
        let (wk, uk) = if matches!(alg, WrapAlgorithm::RsaOaep(_)) {
            (&public, &private)
        } else {
            (&kek, &kek)
        };
        let wrapped = w.wrap(wk, alg, &target).unwrap();
        let mut bad = wrapped.clone();
        bad[3] ^= 0x10;
        assert_err!(
            w.unwrap(
                uk,
                alg,
                &bad,
                ObjectType::SymmetricKey,
                CryptographicAlgorithm::Aes,
                &policy(true)
            ),
            BackendError::Crypto
        );
        // A wrapped 32-byte key unwrapped as a HMAC key is fine, as SecretData too; as a private key it is not.
        assert_err!(
            w.unwrap(
                uk,
                alg,
                &wrapped,
                ObjectType::PrivateKey,
                CryptographicAlgorithm::Rsa,
                &policy(true)
            ),
            BackendError::InvalidInput(_)
        );
        assert_err!(
            w.unwrap(
                uk,
                alg,
                &wrapped,
                ObjectType::Certificate,
                CryptographicAlgorithm::Rsa,
                &policy(true)
            ),
            BackendError::Unsupported(_)
        );
    }
    // Structural sizes are input errors, not crypto failures.
    for len in [0, 8, 16, 25] {
        assert_err!(
            w.unwrap(
                &kek,
                WrapAlgorithm::AesKeyWrap,
                &vec![0; len],
                ObjectType::SymmetricKey,
                CryptographicAlgorithm::Aes,
                &policy(true)
            ),
            BackendError::InvalidInput(_)
        );
    }
    // Public keys are not wrapped; RSA-OAEP wraps symmetric keys only.
    assert_err!(
        w.wrap(&kek, WrapAlgorithm::AesKeyWrapPadded, &public),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        w.wrap(
            &public,
            WrapAlgorithm::RsaOaep(HashingAlgorithm::Sha256),
            &private
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        w.wrap(&public, WrapAlgorithm::AesKeyWrap, &target),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        w.wrap(
            &kek,
            WrapAlgorithm::RsaOaep(HashingAlgorithm::Sha256),
            &target
        ),
        BackendError::InvalidInput(_)
    );
}

#[test]
fn signatures_digests_and_macs() {
    let b = SoftwareBackend::new();
    let s = b.signer().unwrap();
    let (rsa_private, rsa_public) = rsa(&b);
    let (ec_private, ec_public) = ec(&b, RecommendedCurve::P256);
    for (key, alg) in [
        (
            &rsa_private,
            SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
        ),
        (
            &rsa_private,
            SignatureAlgorithm::RsaPkcs1v15(HashingAlgorithm::Sha384),
        ),
        (
            &ec_private,
            SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
        ),
    ] {
        for len in [0, 20, 31, 33, 64] {
            if len == 48 {
                continue;
            }
            assert_err!(
                s.sign(key, alg, SignInput::Digest(&vec![1; len])),
                BackendError::InvalidInput(_)
            );
            assert_err!(
                s.verify(key, alg, SignInput::Digest(&vec![1; len]), &[0; 64]),
                BackendError::InvalidInput(_)
            );
        }
        let sig = s.sign(key, alg, SignInput::Message(b"m")).unwrap();
        for i in [0, sig.len() / 2, sig.len() - 1] {
            let mut bad = sig.clone();
            bad[i] ^= 0x01;
            assert_err!(
                s.verify(key, alg, SignInput::Message(b"m"), &bad),
                BackendError::Crypto
            );
        }
        assert_err!(
            s.verify(key, alg, SignInput::Message(b"m"), b""),
            BackendError::Crypto
        );
        assert_err!(
            s.verify(key, alg, SignInput::Message(b"m"), &[0xff; 600]),
            BackendError::Crypto
        );
    }
    // Wrong key type or scheme for the key.
    let aes = symmetric(&b, CryptographicAlgorithm::Aes, 128);
    let hmac = symmetric(&b, CryptographicAlgorithm::HmacSha256, 0);
    let m = SignInput::Message(b"m");
    assert_err!(
        s.sign(
            &aes,
            SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
            m
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        s.verify(
            &hmac,
            SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
            m,
            &[0; 64]
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        s.sign(
            &rsa_public,
            SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
            m
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        s.sign(
            &ec_public,
            SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
            m
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        s.sign(
            &rsa_private,
            SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
            m
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        s.sign(
            &ec_private,
            SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
            m
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        s.verify(
            &ec_public,
            SignatureAlgorithm::RsaPkcs1v15(HashingAlgorithm::Sha256),
            m,
            &[0; 256]
        ),
        BackendError::InvalidInput(_)
    );
    // SHA-1 signatures are verified, not made.
    assert_err!(
        s.sign(
            &rsa_private,
            SignatureAlgorithm::RsaPkcs1v15(HashingAlgorithm::Sha1),
            m
        ),
        BackendError::Unsupported(_)
    );

    let mac = b.mac().unwrap();
    assert_err!(
        mac.mac(&aes, HashingAlgorithm::Sha256, b"d"),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        mac.mac(&rsa_private, HashingAlgorithm::Sha256, b"d"),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        mac.mac(&hmac, HashingAlgorithm::Sha512, b"d"),
        BackendError::InvalidInput(_)
    );
    let tag = mac.mac(&hmac, HashingAlgorithm::Sha256, b"d").unwrap();
    assert_err!(
        mac.mac_verify(&hmac, HashingAlgorithm::Sha256, b"d", &tag[..15]),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        mac.mac_verify(
            &hmac,
            HashingAlgorithm::Sha256,
            b"d",
            &[tag.clone(), vec![0]].concat()
        ),
        BackendError::InvalidInput(_)
    );
    let mut bad = tag.clone();
    bad[0] ^= 1;
    assert_err!(
        mac.mac_verify(&hmac, HashingAlgorithm::Sha256, b"d", &bad),
        BackendError::Crypto
    );
    assert_err!(
        mac.mac_verify(&hmac, HashingAlgorithm::Sha256, b"d", &bad[..16]),
        BackendError::Crypto
    );

    // Encryption with keys that do not encrypt.
    let c = b.cipher().unwrap();
    assert_err!(
        c.encrypt(&hmac, &gcm(None, b"", 16), b"x"),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        c.encrypt(&rsa_public, &gcm(None, b"", 16), b"x"),
        BackendError::InvalidInput(_)
    );
    let oaep = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha256,
        mgf1_hash: HashingAlgorithm::Sha256,
        label: None,
    };
    assert_err!(c.encrypt(&aes, &oaep, b"x"), BackendError::InvalidInput(_));
    assert_err!(
        c.encrypt(&ec_public, &oaep, b"x"),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        c.decrypt(&rsa_public, &oaep, &[0; 256], None),
        BackendError::InvalidInput(_)
    );
}

#[test]
fn key_agreement_bad_peers() {
    let b = SoftwareBackend::new();
    let a = b.key_agreement().unwrap();
    let (p256_private, _) = ec(&b, RecommendedCurve::P256);
    let (_, p384_public) = ec(&b, RecommendedCurve::P384);
    let (rsa_private, rsa_public) = rsa(&b);
    let p384_spki = b.export(&p384_public).unwrap();
    assert_err!(
        a.agree(&p256_private, p384_spki.bytes(), &policy(true)),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        a.agree(
            &p256_private,
            b.export(&rsa_public).unwrap().bytes(),
            &policy(true)
        ),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        a.agree(&p256_private, b"", &policy(true)),
        BackendError::InvalidInput(_)
    );
    // A point off the curve: flip a bit of the y coordinate in the SPKI's uncompressed point.
    let (_, p256_public) = ec(&b, RecommendedCurve::P256);
    let mut spki = b.export(&p256_public).unwrap().bytes().to_vec();
    *spki.last_mut().unwrap() ^= 0x01;
    assert_err!(
        a.agree(&p256_private, &spki, &policy(true)),
        BackendError::InvalidInput(_)
    );
    assert_err!(
        a.agree(&rsa_private, p384_spki.bytes(), &policy(true)),
        BackendError::InvalidInput(_)
    );
    let aes = symmetric(&b, CryptographicAlgorithm::Aes, 128);
    assert_err!(
        a.agree(&aes, p384_spki.bytes(), &policy(true)),
        BackendError::InvalidInput(_)
    );
}

#[test]
fn foreign_and_malformed_key_refs() {
    let b = SoftwareBackend::new();
    let good = symmetric(&b, CryptographicAlgorithm::Aes, 256);
    let data = Zeroizing::new(good.data().to_vec());
    let foreign = KeyRef::new("pkcs11", 1, data.clone());
    let newer = KeyRef::new("software", 2, data.clone());
    let version0 = KeyRef::new("software", 0, data);
    let p = gcm(None, b"", 16);
    let m = SignInput::Message(b"m");
    let ecdsa = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);
    for r in [&foreign, &newer, &version0] {
        assert_err!(b.export(r), BackendError::ForeignKeyRef);
        assert_err!(b.exists(r), BackendError::ForeignKeyRef);
        assert_err!(b.destroy(r), BackendError::ForeignKeyRef);
        assert_err!(
            b.cipher().unwrap().encrypt(r, &p, b"x"),
            BackendError::ForeignKeyRef
        );
        assert_err!(
            b.signer().unwrap().sign(r, ecdsa, m),
            BackendError::ForeignKeyRef
        );
        assert_err!(
            b.mac().unwrap().mac(r, HashingAlgorithm::Sha256, b"x"),
            BackendError::ForeignKeyRef
        );
        assert_err!(
            b.key_wrap()
                .unwrap()
                .wrap(&good, WrapAlgorithm::AesKeyWrap, r),
            BackendError::ForeignKeyRef
        );
        assert_err!(
            b.key_wrap()
                .unwrap()
                .wrap(r, WrapAlgorithm::AesKeyWrap, &good),
            BackendError::ForeignKeyRef
        );
        assert_err!(
            b.key_agreement().unwrap().agree(r, b"", &policy(true)),
            BackendError::ForeignKeyRef
        );
    }
    // Well-addressed but damaged: unknown kind, bad flags, truncated material, unparsable DER.
    let (ec_private, _) = ec(&b, RecommendedCurve::P256);
    let mut truncated_der = ec_private.data().to_vec();
    truncated_der.truncate(truncated_der.len() - 5);
    for data in [
        vec![],
        vec![1],
        vec![200, 0, 1, 1, 2],
        vec![1, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        vec![1, 0, 1, 1, 2, 3],
        truncated_der,
        vec![7, 1, 1, 0x30, 0x00],
    ] {
        let r = KeyRef::new("software", 1, Zeroizing::new(data.clone()));
        let sign = b.signer().unwrap().sign(&r, ecdsa, m);
        assert!(
            matches!(
                sign,
                Err(BackendError::MalformedKeyRef | BackendError::InvalidInput(_))
            ),
            "{data:?}: {sign:?}"
        );
        assert!(matches!(
            b.cipher().unwrap().encrypt(&r, &p, b"x"),
            Err(BackendError::MalformedKeyRef | BackendError::InvalidInput(_))
        ));
    }
}

#[test]
fn debug_output_never_shows_key_bytes() {
    let b = SoftwareBackend::new();
    let key_bytes: Vec<u8> = (0xA0..0xC0).collect();
    let key = import(
        &b,
        ObjectType::SymmetricKey,
        Some(CryptographicAlgorithm::Aes),
        KeyFormat::Raw,
        &key_bytes,
        true,
    );
    let material = b.export(&key).unwrap();
    // Use the key, so the backend's own state is not trivially empty.
    let (ec_private, _) = ec(&b, RecommendedCurve::P256);
    b.signer()
        .unwrap()
        .sign(
            &ec_private,
            SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
            SignInput::Message(b"m"),
        )
        .unwrap();

    let hex: String = key_bytes.iter().map(|x| format!("{x:02x}")).collect();
    let hex_upper = hex.to_uppercase();
    let decimal = format!("{:?}", &key_bytes[..4]); // "[160, 161, 162, 163"
    let decimal = decimal.trim_end_matches(']');
    let ec_bytes = format!("{:?}", &ec_private.data()[10..14]);
    let ec_bytes = ec_bytes.trim_end_matches(']').trim_start_matches('[');
    for text in [
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{material:?}"),
        format!("{material:#?}"),
        format!("{b:?}"),
        format!("{ec_private:?}"),
    ] {
        assert!(!text.contains(&hex) && !text.contains(&hex_upper), "{text}");
        assert!(!text.contains(decimal), "{text}");
        assert!(!text.contains(ec_bytes), "{text}");
        assert!(!text.contains("160, 161"), "{text}");
    }
    // Errors do not carry material either.
    let errors = [
        format!(
            "{:?}",
            b.import(
                ObjectType::SymmetricKey,
                Some(CryptographicAlgorithm::Aes),
                &raw(&key_bytes[..17]),
                &policy(true)
            )
            .unwrap_err()
        ),
        format!(
            "{}",
            b.cipher()
                .unwrap()
                .decrypt(&key, &gcm(Some(&[0; 12]), b"", 16), b"", Some(&[0; 16]))
                .unwrap_err()
        ),
    ];
    for e in errors {
        assert!(!e.contains(&hex[..8]) && !e.contains("160, 161"), "{e}");
    }
}
