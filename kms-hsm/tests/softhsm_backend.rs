//! Pkcs11Backend against a real SoftHSM2 token: every operation, interop with RustCrypto, non-extractability,
//! concurrency, and the errors of bad input.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use common::*;
use cryptoki::object::{Attribute, AttributeType};
use kms_core::backend::{
    BackendError, CipherParams, HashingAlgorithm, KeyBackend, KeySpec, Operations, SignInput,
    SignatureAlgorithm, WrapAlgorithm,
};
use kms_core::material::{KeyFormat, KeyMaterial};
use kms_core::object::{CryptographicAlgorithm, ObjectId, ObjectType, RecommendedCurve, UsageMask};
use kms_hsm::{OpenError, Pkcs11Backend, Pkcs11Config, TokenSelector};
use p256::pkcs8::DecodePublicKey;
use signature::Verifier;
use zeroize::Zeroizing;

const AES: UsageMask = UsageMask::ENCRYPT
    .union(UsageMask::DECRYPT)
    .union(UsageMask::WRAP_KEY)
    .union(UsageMask::UNWRAP_KEY);

fn aes(bits: u32) -> KeySpec {
    KeySpec::Symmetric {
        algorithm: CryptographicAlgorithm::Aes,
        bits,
    }
}

fn gcm<'a>(iv: Option<&'a [u8]>, aad: &'a [u8], tag_len: usize) -> CipherParams<'a> {
    CipherParams::AesGcm { iv, aad, tag_len }
}

#[test]
fn capabilities_come_from_the_token() {
    let b = backend();
    let caps = b.capabilities();
    // SoftHSM 2.6 has these mechanisms; each is listed only because the token said so.
    assert!(caps.supports(
        CryptographicAlgorithm::Aes,
        Some(256),
        Operations::GENERATE | Operations::ENCRYPT
    ));
    assert!(caps.supports(
        CryptographicAlgorithm::Rsa,
        Some(2048),
        Operations::SIGN | Operations::DECRYPT
    ));
    assert!(caps.supports(CryptographicAlgorithm::Ecdsa, Some(256), Operations::SIGN));
    assert!(caps.supports(CryptographicAlgorithm::HmacSha256, None, Operations::MAC));
    assert!(caps.random);
    // ECDH is not offered by this backend, whatever the token has.
    assert!(!caps.supports(CryptographicAlgorithm::Ec, None, Operations::KEY_AGREEMENT));
    let mechanisms = b.context().get_mechanism_list(b.slot()).unwrap();
    assert!(mechanisms.contains(&cryptoki::mechanism::MechanismType::AES_GCM));
}

#[test]
fn aes_gcm_every_key_size_round_trips_and_detects_tampering() {
    let b = backend();
    for bits in [128, 192, 256] {
        let key = symmetric(&b, aes(bits), AES, false);
        for tag_len in [12, 16] {
            let ct = b.encrypt_gcm(&key, b"header", b"attack at dawn", tag_len);
            assert_eq!(ct.tag.as_ref().unwrap().len(), tag_len);
            let iv = ct.iv.unwrap();
            assert_eq!(iv.len(), 12);
            let pt = b.decrypt_gcm(&key, b"header", &ct, tag_len).unwrap();
            assert_eq!(&pt[..], b"attack at dawn");
            let mut bad = ct.tag.unwrap();
            bad[0] ^= 1;
            let e = kms_core::backend::Cipher::decrypt(
                &*b,
                &key,
                &gcm(Some(&iv), b"header", tag_len),
                &ct.data,
                Some(&bad),
            )
            .unwrap_err();
            assert!(matches!(e, BackendError::Crypto), "{e:?}");
            let e = kms_core::backend::Cipher::decrypt(
                &*b,
                &key,
                &gcm(Some(&iv), b"other header", tag_len),
                &ct.data,
                ct.tag.as_deref(),
            )
            .unwrap_err();
            assert!(matches!(e, BackendError::Crypto), "{e:?}");
        }
    }
}

#[test]
fn aes_gcm_matches_rustcrypto_for_an_exportable_key() {
    let b = backend();
    let key = symmetric(&b, aes(256), AES, true);
    let raw = b.export(&key).unwrap();
    assert_eq!(raw.format(), KeyFormat::Raw);
    let iv = [7u8; 12];
    let ct = kms_core::backend::Cipher::encrypt(&*b, &key, &gcm(Some(&iv), b"aad", 16), b"payload")
        .unwrap();
    let soft = aes_gcm::Aes256Gcm::new_from_slice(raw.bytes()).unwrap();
    let expected = soft
        .encrypt(
            (&iv).into(),
            Payload {
                msg: b"payload",
                aad: b"aad",
            },
        )
        .unwrap();
    let mut got = ct.data.clone();
    got.extend_from_slice(ct.tag.as_ref().unwrap());
    assert_eq!(got, expected);
}

#[test]
fn aes_gcm_bad_parameters_are_invalid_input() {
    let b = backend();
    let key = symmetric(&b, aes(128), AES, false);
    let c = b.cipher().unwrap();
    for params in [
        gcm(Some(&[0; 11]), b"", 16),
        gcm(None, b"", 11),
        gcm(None, b"", 17),
    ] {
        assert!(matches!(
            c.encrypt(&key, &params, b"x"),
            Err(BackendError::InvalidInput(_))
        ));
    }
    assert!(matches!(
        c.decrypt(&key, &gcm(None, b"", 16), b"x", Some(&[0; 16])),
        Err(BackendError::InvalidInput(_))
    ));
    assert!(matches!(
        c.decrypt(&key, &gcm(Some(&[0; 12]), b"", 16), b"x", Some(&[0; 12])),
        Err(BackendError::InvalidInput(_))
    ));
}

#[test]
fn aes_ecb_and_cbc_round_trip() {
    let b = backend();
    let key = symmetric(&b, aes(256), AES, false);
    let c = b.cipher().unwrap();
    for params in [
        CipherParams::AesEcb { padding: true },
        CipherParams::AesCbc {
            iv: None,
            padding: true,
        },
    ] {
        let ct = c.encrypt(&key, &params, b"seventeen bytes!!").unwrap();
        assert_eq!(ct.data.len(), 32);
        let params = match params {
            CipherParams::AesCbc { padding, .. } => CipherParams::AesCbc {
                iv: ct.iv.as_deref(),
                padding,
            },
            p => p,
        };
        assert_eq!(
            &c.decrypt(&key, &params, &ct.data, None).unwrap()[..],
            b"seventeen bytes!!"
        );
    }
    assert!(matches!(
        c.encrypt(
            &key,
            &CipherParams::AesEcb { padding: false },
            b"not a block"
        ),
        Err(BackendError::InvalidInput(_))
    ));
}

#[test]
fn aes_key_wrap_rfc3394_and_rfc5649_interoperate_with_rustcrypto() {
    let b = backend();
    let kek = symmetric(&b, aes(256), AES, true);
    let kek_raw = b.export(&kek).unwrap();
    let w = b.key_wrap().unwrap();
    for (alg, target_bits) in [
        (WrapAlgorithm::AesKeyWrap, 128),
        (WrapAlgorithm::AesKeyWrapPadded, 192),
    ] {
        let target = symmetric(&b, aes(target_bits), AES, true);
        let target_raw = b.export(&target).unwrap();
        let wrapped = w.wrap(&kek, alg, &target).unwrap();
        // Unwrapping the token's output in software gives the target's value.
        let mut out = vec![0u8; wrapped.len()];
        let plain = match alg {
            WrapAlgorithm::AesKeyWrap => {
                let kw =
                    <aes_kw::KwAes256 as aes_kw::KeyInit>::new_from_slice(kek_raw.bytes()).unwrap();
                kw.unwrap_key(&wrapped, &mut out).unwrap().to_vec()
            }
            _ => {
                let kw = <aes_kw::KwpAes256 as aes_kw::KeyInit>::new_from_slice(kek_raw.bytes())
                    .unwrap();
                kw.unwrap_key(&wrapped, &mut out).unwrap().to_vec()
            }
        };
        assert_eq!(plain, target_raw.bytes());
        // And unwrapping into the token makes a key that decrypts what the original encrypted.
        let id = ObjectId::random();
        let back = w
            .unwrap(
                &kek,
                alg,
                &wrapped,
                ObjectType::SymmetricKey,
                CryptographicAlgorithm::Aes,
                &policy(&id, AES, false),
            )
            .unwrap();
        let ct = b.encrypt_gcm(&target, b"", b"wrapped", 16);
        let pt = b.decrypt_gcm(&back, b"", &ct, 16).unwrap();
        assert_eq!(&pt[..], b"wrapped");
        // A damaged wrapping does not unwrap.
        let mut bad = wrapped.clone();
        bad[3] ^= 0x40;
        let e = w
            .unwrap(
                &kek,
                alg,
                &bad,
                ObjectType::SymmetricKey,
                CryptographicAlgorithm::Aes,
                &policy(&id, AES, false),
            )
            .unwrap_err();
        assert!(matches!(e, BackendError::Crypto), "{e:?}");
    }
}

#[test]
fn rsa_signatures_made_in_the_token_verify_with_rustcrypto() {
    let b = backend();
    let (private, public) = pair(
        &b,
        KeySpec::Rsa { bits: 2048 },
        UsageMask::SIGN | UsageMask::DECRYPT,
        false,
    );
    let spki = b.export(&public).unwrap();
    assert_eq!(spki.format(), KeyFormat::SubjectPublicKeyInfo);
    let key = rsa::PublicKey::from_public_key_der(spki.bytes()).unwrap();
    let s = b.signer().unwrap();
    let msg = b"a message to sign";
    let sig = s
        .sign(
            &private,
            SignatureAlgorithm::RsaPkcs1v15(HashingAlgorithm::Sha256),
            SignInput::Message(msg),
        )
        .unwrap();
    let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.clone());
    vk.verify(
        msg,
        &rsa::pkcs1v15::Signature::try_from(sig.as_slice()).unwrap(),
    )
    .unwrap();
    let sig = s
        .sign(
            &private,
            SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha384),
            SignInput::Message(msg),
        )
        .unwrap();
    let vk = rsa::pss::VerifyingKey::<sha2::Sha384>::new(key);
    vk.verify(msg, &rsa::pss::Signature::try_from(sig.as_slice()).unwrap())
        .unwrap();
    // The token verifies its own signature with the public object, by the private or the public reference.
    for k in [&private, &public] {
        s.verify(
            k,
            SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha384),
            SignInput::Message(msg),
            &sig,
        )
        .unwrap();
        let e = s
            .verify(
                k,
                SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha384),
                SignInput::Message(b"other"),
                &sig,
            )
            .unwrap_err();
        assert!(matches!(e, BackendError::Crypto), "{e:?}");
    }
    // A caller's digest signs like the message.
    let digest = <sha2::Sha256 as sha2::Digest>::digest(msg);
    let sig = s
        .sign(
            &private,
            SignatureAlgorithm::RsaPkcs1v15(HashingAlgorithm::Sha256),
            SignInput::Digest(&digest),
        )
        .unwrap();
    s.verify(
        &public,
        SignatureAlgorithm::RsaPkcs1v15(HashingAlgorithm::Sha256),
        SignInput::Message(msg),
        &sig,
    )
    .unwrap();
    assert!(matches!(
        s.sign(
            &private,
            SignatureAlgorithm::RsaPkcs1v15(HashingAlgorithm::Sha256),
            SignInput::Digest(&digest[..31])
        ),
        Err(BackendError::InvalidInput(_))
    ));
    assert!(matches!(
        s.sign(
            &private,
            SignatureAlgorithm::RsaPkcs1v15(HashingAlgorithm::Sha1),
            SignInput::Message(msg)
        ),
        Err(BackendError::Unsupported(_))
    ));
    assert!(matches!(
        s.sign(
            &private,
            SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
            SignInput::Message(msg)
        ),
        Err(BackendError::InvalidInput(_))
    ));
}

#[test]
fn ecdsa_p256_and_p384_signatures_are_der_and_verify_with_rustcrypto() {
    let b = backend();
    let s = b.signer().unwrap();
    let msg = b"ecdsa in the token";
    for curve in [RecommendedCurve::P256, RecommendedCurve::P384] {
        let (private, public) = pair(&b, KeySpec::Ec { curve }, UsageMask::SIGN, false);
        let spki = b.export(&public).unwrap();
        let sig = s
            .sign(
                &private,
                SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
                SignInput::Message(msg),
            )
            .unwrap();
        match curve {
            RecommendedCurve::P256 => {
                let vk = p256::ecdsa::VerifyingKey::from_public_key_der(spki.bytes()).unwrap();
                let sig = p256::ecdsa::DerSignature::from_bytes(&sig).unwrap();
                vk.verify(msg, &sig).unwrap();
            }
            _ => {
                let vk = p384::ecdsa::VerifyingKey::from_public_key_der(spki.bytes()).unwrap();
                let sig = p384::ecdsa::DerSignature::from_bytes(&sig).unwrap();
                p384::ecdsa::signature::hazmat::PrehashVerifier::verify_prehash(
                    &vk,
                    &<sha2::Sha256 as sha2::Digest>::digest(msg),
                    &sig,
                )
                .unwrap();
            }
        }
        s.verify(
            &public,
            SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
            SignInput::Message(msg),
            &sig,
        )
        .unwrap();
        let mut bad = sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        for garbage in [&bad[..], b"not der", &[][..]] {
            let e = s
                .verify(
                    &public,
                    SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
                    SignInput::Message(msg),
                    garbage,
                )
                .unwrap_err();
            assert!(matches!(e, BackendError::Crypto), "{e:?}");
        }
    }
    // A signature made by RustCrypto verifies in the token.
    let sk = p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap();
    let spki = p256::pkcs8::EncodePublicKey::to_public_key_der(sk.verifying_key()).unwrap();
    let id = ObjectId::random();
    let public = b
        .import(
            ObjectType::PublicKey,
            Some(CryptographicAlgorithm::Ec),
            &KeyMaterial::new(
                KeyFormat::SubjectPublicKeyInfo,
                Zeroizing::new(spki.as_bytes().to_vec()),
            ),
            &policy(&id, UsageMask::VERIFY, true),
        )
        .unwrap();
    let sig: p256::ecdsa::DerSignature = signature::Signer::sign(&sk, msg);
    s.verify(
        &public,
        SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
        SignInput::Message(msg),
        sig.as_bytes(),
    )
    .unwrap();
}

#[test]
fn rsa_oaep_sha1_round_trips_and_sha256_is_done_or_refused_as_unsupported() {
    let b = backend();
    let (private, public) = pair(
        &b,
        KeySpec::Rsa { bits: 2048 },
        UsageMask::DECRYPT | UsageMask::UNWRAP_KEY,
        false,
    );
    let c = b.cipher().unwrap();
    let sha1 = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha1,
        mgf1_hash: HashingAlgorithm::Sha1,
        label: None,
    };
    let ct = c.encrypt(&public, &sha1, b"oaep secret").unwrap();
    assert_eq!(
        &c.decrypt(&private, &sha1, &ct.data, None).unwrap()[..],
        b"oaep secret"
    );
    let mut bad = ct.data.clone();
    bad[10] ^= 1;
    assert!(matches!(
        c.decrypt(&private, &sha1, &bad, None),
        Err(BackendError::Crypto)
    ));
    // RustCrypto encrypts to the token's key.
    let key = rsa::PublicKey::from_public_key_der(b.export(&public).unwrap().bytes()).unwrap();
    let soft = key
        .encrypt(
            &mut getrandom::SysRng,
            rsa::Oaep::<sha1::Sha1>::new(),
            b"from software",
        )
        .unwrap();
    assert_eq!(
        &c.decrypt(&private, &sha1, &soft, None).unwrap()[..],
        b"from software"
    );
    // SHA-256: SoftHSM 2.6.1 only takes SHA-1 OAEP parameters; other tokens do SHA-256.
    let sha256 = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha256,
        mgf1_hash: HashingAlgorithm::Sha256,
        label: None,
    };
    match c.encrypt(&public, &sha256, b"x") {
        Ok(ct) => assert_eq!(
            &c.decrypt(&private, &sha256, &ct.data, None).unwrap()[..],
            b"x"
        ),
        Err(e) => assert!(matches!(e, BackendError::Unsupported(_)), "{e:?}"),
    }
    // RSA-OAEP key wrap of an AES key.
    let target = symmetric(&b, aes(128), AES, true);
    let wrapped = b
        .key_wrap()
        .unwrap()
        .wrap(
            &public,
            WrapAlgorithm::RsaOaep(HashingAlgorithm::Sha1),
            &target,
        )
        .unwrap();
    let id = ObjectId::random();
    let back = b
        .key_wrap()
        .unwrap()
        .unwrap(
            &private,
            WrapAlgorithm::RsaOaep(HashingAlgorithm::Sha1),
            &wrapped,
            ObjectType::SymmetricKey,
            CryptographicAlgorithm::Aes,
            &policy(&id, AES, true),
        )
        .unwrap();
    assert_eq!(
        b.export(&back).unwrap().bytes(),
        b.export(&target).unwrap().bytes()
    );
}

#[test]
fn hmac_matches_rustcrypto_and_verifies_truncated() {
    use hmac::Mac as _;
    let b = backend();
    let key = symmetric(
        &b,
        KeySpec::Symmetric {
            algorithm: CryptographicAlgorithm::HmacSha256,
            bits: 0,
        },
        UsageMask::MAC_GENERATE | UsageMask::MAC_VERIFY,
        true,
    );
    let raw = b.export(&key).unwrap();
    assert_eq!(raw.bytes().len(), 32);
    let m = b.mac().unwrap();
    let tag = m.mac(&key, HashingAlgorithm::Sha256, b"data").unwrap();
    let mut soft = hmac::Hmac::<sha2::Sha256>::new_from_slice(raw.bytes()).unwrap();
    soft.update(b"data");
    assert_eq!(tag, soft.finalize().into_bytes().to_vec());
    m.mac_verify(&key, HashingAlgorithm::Sha256, b"data", &tag)
        .unwrap();
    m.mac_verify(&key, HashingAlgorithm::Sha256, b"data", &tag[..16])
        .unwrap();
    for bad in [&tag[..15], b"wrong mac wrong mac wrong mac!!!".as_slice()] {
        assert!(matches!(
            m.mac_verify(&key, HashingAlgorithm::Sha256, b"data", bad),
            Err(BackendError::Crypto)
        ));
    }
    assert!(matches!(
        m.mac(&key, HashingAlgorithm::Sha512, b"data"),
        Err(BackendError::InvalidInput(_))
    ));
}

#[test]
fn random_bytes_come_from_the_token() {
    let b = backend();
    let mut a = vec![0u8; 100_000];
    let mut c = vec![0u8; 32];
    b.random().unwrap().fill_random(&mut a).unwrap();
    b.random().unwrap().fill_random(&mut c).unwrap();
    assert!(a.iter().any(|&x| x != 0));
    assert_ne!(&a[..32], &c[..]);
}

#[test]
fn import_unwraps_into_the_token_and_keys_work() {
    let b = backend();
    // AES: a known key, then a known-answer GCM check against RustCrypto.
    let raw = [0x42u8; 32];
    let id = ObjectId::random();
    let key = b
        .import(
            ObjectType::SymmetricKey,
            Some(CryptographicAlgorithm::Aes),
            &KeyMaterial::new(KeyFormat::Raw, Zeroizing::new(raw.to_vec())),
            &policy(&id, AES, false),
        )
        .unwrap();
    let iv = [1u8; 12];
    let ct = b
        .cipher()
        .unwrap()
        .encrypt(&key, &gcm(Some(&iv), b"", 16), b"known")
        .unwrap();
    let soft = aes_gcm::Aes256Gcm::new_from_slice(&raw).unwrap();
    let mut got = ct.data.clone();
    got.extend_from_slice(ct.tag.as_ref().unwrap());
    assert_eq!(
        got,
        soft.encrypt((&iv).into(), b"known".as_slice()).unwrap()
    );
    assert!(matches!(b.export(&key), Err(BackendError::NotExtractable)));

    // RSA private key from PKCS#8: signs in the token, and the public half is there to verify.
    let soft_rsa = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
    let der = p256::pkcs8::EncodePrivateKey::to_pkcs8_der(&soft_rsa).unwrap();
    let id = ObjectId::random();
    let private = b
        .import(
            ObjectType::PrivateKey,
            Some(CryptographicAlgorithm::Rsa),
            &KeyMaterial::new(KeyFormat::Pkcs8, Zeroizing::new(der.as_bytes().to_vec())),
            &policy(&id, UsageMask::SIGN, true),
        )
        .unwrap();
    let s = b.signer().unwrap();
    let sig = s
        .sign(
            &private,
            SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
            SignInput::Message(b"m"),
        )
        .unwrap();
    s.verify(
        &private,
        SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
        SignInput::Message(b"m"),
        &sig,
    )
    .unwrap();
    let vk = rsa::pss::VerifyingKey::<sha2::Sha256>::new(soft_rsa.to_public_key());
    vk.verify(
        b"m",
        &rsa::pss::Signature::try_from(sig.as_slice()).unwrap(),
    )
    .unwrap();
    // Exported back (it was imported extractable): the same key.
    let exported = b.export(&private).unwrap();
    let back = <rsa::PrivateKey as p256::pkcs8::DecodePrivateKey>::from_pkcs8_der(exported.bytes())
        .unwrap();
    assert_eq!(back, soft_rsa);

    // Bad material is refused before the token sees it.
    let id = ObjectId::random();
    for (t, alg, m) in [
        (
            ObjectType::SymmetricKey,
            Some(CryptographicAlgorithm::Aes),
            KeyMaterial::new(KeyFormat::Raw, Zeroizing::new(vec![0; 17])),
        ),
        (
            ObjectType::PrivateKey,
            None,
            KeyMaterial::new(KeyFormat::Pkcs8, Zeroizing::new(b"garbage".to_vec())),
        ),
        (
            ObjectType::PublicKey,
            None,
            KeyMaterial::new(
                KeyFormat::SubjectPublicKeyInfo,
                Zeroizing::new(vec![0x30, 0x00]),
            ),
        ),
        (
            ObjectType::SymmetricKey,
            Some(CryptographicAlgorithm::Aes),
            KeyMaterial::new(KeyFormat::Pkcs8, Zeroizing::new(vec![0; 16])),
        ),
    ] {
        let e = b.import(t, alg, &m, &policy(&id, AES, false)).unwrap_err();
        assert!(matches!(e, BackendError::InvalidInput(_)), "{e:?}");
    }
}

#[test]
fn a_non_extractable_key_cannot_be_exported_through_any_api() {
    let b = backend();
    let key = symmetric(&b, aes(256), AES, false);
    let kek = symmetric(&b, aes(256), AES, true);
    let (rsa_private, rsa_public) = pair(
        &b,
        KeySpec::Rsa { bits: 2048 },
        UsageMask::SIGN | UsageMask::UNWRAP_KEY,
        false,
    );
    // KeyBackend::export and every wrapping algorithm.
    assert!(matches!(b.export(&key), Err(BackendError::NotExtractable)));
    assert!(matches!(
        b.export(&rsa_private),
        Err(BackendError::NotExtractable)
    ));
    let w = b.key_wrap().unwrap();
    for (wk, alg) in [
        (&kek, WrapAlgorithm::AesKeyWrap),
        (&kek, WrapAlgorithm::AesKeyWrapPadded),
        (&rsa_public, WrapAlgorithm::RsaOaep(HashingAlgorithm::Sha1)),
    ] {
        assert!(matches!(
            w.wrap(wk, alg, &key),
            Err(BackendError::NotExtractable)
        ));
    }
    // A reference whose extractable flag was flipped by hand: the token itself refuses.
    let mut data = key.data().to_vec();
    data[1] = 1;
    let forged = kms_core::KeyRef::new(key.backend(), key.version(), Zeroizing::new(data));
    let e = b.export(&forged).unwrap_err();
    assert!(matches!(e, BackendError::NotExtractable), "{e:?}");
    let e = w
        .wrap(&kek, WrapAlgorithm::AesKeyWrapPadded, &forged)
        .unwrap_err();
    assert!(matches!(e, BackendError::NotExtractable), "{e:?}");
    // Direct PKCS#11 calls: the value is sensitive, and the object is not extractable.
    let session = raw_session(&b);
    let handle = b.object_handle(&key).unwrap();
    let attrs = session
        .get_attributes(
            handle,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Token,
            ],
        )
        .unwrap();
    assert!(attrs.contains(&Attribute::Sensitive(true)), "{attrs:?}");
    assert!(attrs.contains(&Attribute::Extractable(false)), "{attrs:?}");
    assert!(attrs.contains(&Attribute::Token(true)), "{attrs:?}");
    let value = session
        .get_attributes(handle, &[AttributeType::Value])
        .unwrap();
    assert!(
        !value.iter().any(|a| matches!(a, Attribute::Value(_))),
        "{value:?}"
    );
    let kek_handle = b.object_handle(&kek).unwrap();
    assert!(
        session
            .wrap_key(
                &cryptoki::mechanism::Mechanism::AesKeyWrapPad,
                kek_handle,
                handle
            )
            .is_err()
    );
}

#[test]
fn objects_carry_label_id_and_usage_attributes() {
    let b = backend();
    let id = ObjectId::random();
    let key = match b
        .generate(&aes(128), &policy(&id, UsageMask::ENCRYPT, false))
        .unwrap()
    {
        kms_core::backend::GeneratedKey::Symmetric(k) => k,
        _ => unreachable!(),
    };
    let session = raw_session(&b);
    let handle = b.object_handle(&key).unwrap();
    let attrs = session
        .get_attributes(
            handle,
            &[
                AttributeType::Label,
                AttributeType::Id,
                AttributeType::Encrypt,
                AttributeType::Decrypt,
                AttributeType::AllowedMechanisms,
            ],
        )
        .unwrap();
    assert!(attrs.contains(&Attribute::Label(id.as_str().as_bytes().to_vec())));
    assert!(
        attrs
            .iter()
            .any(|a| matches!(a, Attribute::Id(v) if v.len() == 16))
    );
    assert!(attrs.contains(&Attribute::Encrypt(true)));
    assert!(attrs.contains(&Attribute::Decrypt(false)));
    assert!(attrs.iter().any(|a| matches!(a, Attribute::AllowedMechanisms(m) if m.contains(&cryptoki::mechanism::MechanismType::AES_GCM))));
    // The token enforces the usage: decryption is refused.
    let ct = b.encrypt_gcm(&key, b"", b"x", 16);
    let e = b.decrypt_gcm(&key, b"", &ct, 16).unwrap_err();
    assert!(!matches!(e, BackendError::Device { .. }), "{e:?}");
}

#[test]
fn sixteen_threads_share_the_session_pool() {
    let b = backend();
    let key = symmetric(&b, aes(256), AES, false);
    let (ec, _) = pair(
        &b,
        KeySpec::Ec {
            curve: RecommendedCurve::P256,
        },
        UsageMask::SIGN,
        false,
    );
    let threads: Vec<_> = (0..16u8)
        .map(|t| {
            let b = Arc::clone(&b);
            let key = key.clone();
            let ec = ec.clone();
            std::thread::spawn(move || {
                for i in 0..50u8 {
                    let msg = [t, i];
                    let ct = b.encrypt_gcm(&key, &msg, &msg, 16);
                    let pt = b.decrypt_gcm(&key, &msg, &ct, 16).unwrap();
                    assert_eq!(&pt[..], &msg);
                    if i % 10 == 0 {
                        let sig = b
                            .signer()
                            .unwrap()
                            .sign(
                                &ec,
                                SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
                                SignInput::Message(&msg),
                            )
                            .unwrap();
                        b.signer()
                            .unwrap()
                            .verify(
                                &ec,
                                SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
                                SignInput::Message(&msg),
                                &sig,
                            )
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn wrong_pin_missing_token_and_missing_module_are_clear_errors() {
    let wrong = Pkcs11Config::new(
        module(),
        TokenSelector::Label(var("KMS_TEST_PKCS11_TOKEN_WRONG_PIN")),
        secrecy::SecretString::from("00000000".to_owned()),
    );
    let e = Pkcs11Backend::open(wrong).unwrap_err();
    assert!(matches!(e, OpenError::PinIncorrect), "{e:?}");
    assert!(e.to_string().contains("PIN"), "{e}");
    assert!(!e.to_string().contains("00000000"));

    let missing = Pkcs11Config::new(
        module(),
        TokenSelector::Label("no-such-token".into()),
        pin(),
    );
    let e = Pkcs11Backend::open(missing).unwrap_err();
    assert!(matches!(e, OpenError::TokenNotFound(..)), "{e:?}");
    assert!(
        e.to_string().contains("no-such-token") && e.to_string().contains("kms-test"),
        "{e}"
    );

    let e = Pkcs11Backend::open(Pkcs11Config::new(
        "/nonexistent/libpkcs11.so",
        TokenSelector::Label("x".into()),
        pin(),
    ))
    .unwrap_err();
    assert!(matches!(e, OpenError::ModuleNotFound { .. }), "{e:?}");

    // By serial number, the same token as by label.
    let b = backend();
    let by_serial = Pkcs11Backend::open(Pkcs11Config::new(
        module(),
        TokenSelector::Serial(b.token_serial().to_owned()),
        pin(),
    ))
    .unwrap();
    assert_eq!(by_serial.token_label(), b.token_label());
    // The Debug of a configuration does not show the PIN.
    assert!(!format!("{:?}", config()).contains(&var("KMS_TEST_PKCS11_PIN")));
}

#[test]
fn a_removed_object_is_key_not_found_and_destroy_is_idempotent() {
    let b = backend();
    let key = symmetric(&b, aes(128), AES, false);
    b.encrypt_gcm(&key, b"", b"warm the handle cache", 16);
    // Destroyed behind the backend's back.
    let session = raw_session(&b);
    session
        .destroy_object(b.object_handle(&key).unwrap())
        .unwrap();
    let e = b
        .cipher()
        .unwrap()
        .encrypt(&key, &gcm(None, b"", 16), b"x")
        .unwrap_err();
    assert!(matches!(e, BackendError::KeyNotFound), "{e:?}");
    assert!(!b.exists(&key).unwrap());
    b.destroy(&key).unwrap();
    // A reference from another backend, or damaged.
    let soft = kms_core::KeyRef::new("software", 1, Zeroizing::new(vec![1, 2, 3]));
    assert!(matches!(b.export(&soft), Err(BackendError::ForeignKeyRef)));
    let damaged = kms_core::KeyRef::new(key.backend(), key.version(), Zeroizing::new(vec![1]));
    assert!(matches!(
        b.export(&damaged),
        Err(BackendError::MalformedKeyRef)
    ));
    assert!(!b.exists(&damaged).unwrap());
}

#[test]
fn the_pool_logs_in_again_after_a_logout() {
    let b = backend();
    let key = symmetric(&b, aes(128), AES, false);
    b.encrypt_gcm(&key, b"", b"before", 16);
    // C_Logout on any session logs the whole application out (PKCS#11 §5.6).
    raw_session(&b).logout().unwrap();
    let ct = b.encrypt_gcm(&key, b"", b"after", 16);
    assert_eq!(ct.data.len(), 5);
}

/// AES-GCM through the backend's [`Cipher`](kms_core::backend::Cipher) with a backend-chosen IV, and back.
trait Gcm {
    fn encrypt_gcm(
        &self,
        key: &kms_core::KeyRef,
        aad: &[u8],
        pt: &[u8],
        tag_len: usize,
    ) -> kms_core::backend::Ciphertext;

    /// Decrypts `ct` with the IV and tag it carries.
    fn decrypt_gcm(
        &self,
        key: &kms_core::KeyRef,
        aad: &[u8],
        ct: &kms_core::backend::Ciphertext,
        tag_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, BackendError>;
}

impl Gcm for Pkcs11Backend {
    fn encrypt_gcm(
        &self,
        key: &kms_core::KeyRef,
        aad: &[u8],
        pt: &[u8],
        tag_len: usize,
    ) -> kms_core::backend::Ciphertext {
        self.cipher()
            .unwrap()
            .encrypt(key, &gcm(None, aad, tag_len), pt)
            .unwrap()
    }

    fn decrypt_gcm(
        &self,
        key: &kms_core::KeyRef,
        aad: &[u8],
        ct: &kms_core::backend::Ciphertext,
        tag_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        self.cipher().unwrap().decrypt(
            key,
            &gcm(ct.iv.as_deref(), aad, tag_len),
            &ct.data,
            ct.tag.as_deref(),
        )
    }
}
