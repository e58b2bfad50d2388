//! DSA Sign and Signature Verify through the KeyManager and the software backend, checked against the RustCrypto
//! `dsa` crate both ways: what the manager signs the crate verifies (and is the crate's RFC 6979 signature), what
//! the crate signs the manager verifies, and a damaged signature is the one opaque failure. Keys are generated
//! here (a 2048-bit one takes about a second in a debug build).
#![allow(clippy::unwrap_used)]

mod software_common;

use std::sync::Arc;

use dsa::pkcs8::der::{Decode, Encode};
use dsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use dsa::signature::hazmat::{PrehashVerifier, RandomizedPrehashSigner};
use dsa::{Components, KeySize, SigningKey};
use kms_core::backend::{HashingAlgorithm, Operations, SignInput, SignatureAlgorithm};
use kms_core::object::CryptographicAlgorithm;
use kms_core::{
    Attributes, Error, KeyBackend, KeyFormat, KeyManager, KeyMaterial, MemoryStore, ObjectId,
    ObjectType, Principal, SoftwareBackend, UsageMask,
};
use software_common::digest;
use zeroize::Zeroizing;

fn generate(size: KeySize) -> SigningKey {
    let components =
        Components::try_generate_from_rng_with_key_size(&mut getrandom::SysRng, size).unwrap();
    SigningKey::try_generate_from_rng_with_components(&mut getrandom::SysRng, components).unwrap()
}

fn alice() -> Principal {
    Principal::new("alice").unwrap()
}

fn attributes(usage: UsageMask, bits: u32) -> Attributes {
    let mut a = Attributes::default();
    a.cryptographic_algorithm = Some(CryptographicAlgorithm::Dsa);
    a.cryptographic_length = Some(bits);
    a.cryptographic_usage_mask = Some(usage);
    a.activation_date = Some(time::OffsetDateTime::now_utc());
    a
}

fn manager() -> KeyManager {
    KeyManager::builder(Arc::new(MemoryStore::new()))
        .backend(Arc::new(SoftwareBackend::new()))
        .build()
        .unwrap()
}

/// A manager holding `key` as a private key (Sign) and its public key (Verify).
fn registered(key: &SigningKey, bits: u32) -> (KeyManager, ObjectId, ObjectId) {
    let m = manager();
    let pkcs8 = Zeroizing::new(key.to_pkcs8_der().unwrap().as_bytes().to_vec());
    let private = m
        .register(
            &alice(),
            ObjectType::PrivateKey,
            KeyMaterial::new(KeyFormat::Pkcs8, pkcs8),
            attributes(UsageMask::SIGN | UsageMask::VERIFY, bits),
        )
        .unwrap();
    let spki = key.verifying_key().to_public_key_der().unwrap().into_vec();
    let public = m
        .register(
            &alice(),
            ObjectType::PublicKey,
            KeyMaterial::new(KeyFormat::SubjectPublicKeyInfo, Zeroizing::new(spki)),
            attributes(UsageMask::VERIFY, bits),
        )
        .unwrap();
    (m, private, public)
}

/// The crate's deterministic (RFC 6979) signature of `digest`, with the hash `h` driving the generation of k.
fn rfc6979(key: &SigningKey, h: HashingAlgorithm, digest: &[u8]) -> Vec<u8> {
    match h {
        HashingAlgorithm::Sha1 => key.sign_prehashed_rfc6979::<sha1::Sha1>(digest),
        HashingAlgorithm::Sha224 => key.sign_prehashed_rfc6979::<sha2::Sha224>(digest),
        HashingAlgorithm::Sha256 => key.sign_prehashed_rfc6979::<sha2::Sha256>(digest),
        HashingAlgorithm::Sha384 => key.sign_prehashed_rfc6979::<sha2::Sha384>(digest),
        HashingAlgorithm::Sha512 => key.sign_prehashed_rfc6979::<sha2::Sha512>(digest),
    }
    .unwrap()
    .to_der()
    .unwrap()
}

const SIGNING_HASHES: [HashingAlgorithm; 4] = [
    HashingAlgorithm::Sha224,
    HashingAlgorithm::Sha256,
    HashingAlgorithm::Sha384,
    HashingAlgorithm::Sha512,
];

/// N = 224 and N = 256 (digests longer than N bits are truncated to N); the backend says it signs such keys.
#[test]
fn dsa_2048_signs_and_verifies_both_ways_with_the_dsa_crate() {
    let backend = SoftwareBackend::new();
    let caps = backend.capabilities();
    assert!(caps.supports(CryptographicAlgorithm::Dsa, Some(2048), Operations::SIGN));
    assert!(!caps.supports(CryptographicAlgorithm::Dsa, None, Operations::GENERATE));
    for size in [KeySize::DSA_2048_224, KeySize::DSA_2048_256] {
        signs_and_verifies_both_ways(size);
    }
}

fn signs_and_verifies_both_ways(size: KeySize) {
    let key = generate(size);
    let (m, private, public) = registered(&key, 2048);
    let message = b"DSA through the KeyManager";
    for h in SIGNING_HASHES {
        let algorithm = SignatureAlgorithm::Dsa(h);
        let d = digest(h, message);

        // The manager's signature: the crate's deterministic one, over the message or the caller's digest alike.
        let signed = m
            .sign(&alice(), &private, algorithm, SignInput::Message(message))
            .unwrap();
        assert_eq!(signed, rfc6979(&key, h, &d), "{h:?}");
        let of_digest = m
            .sign(&alice(), &private, algorithm, SignInput::Digest(&d))
            .unwrap();
        assert_eq!(of_digest, signed, "{h:?}");
        let sig = dsa::Signature::from_der(&signed).unwrap();
        key.verifying_key().verify_prehash(&d, &sig).unwrap();
        for id in [&public, &private] {
            m.verify(
                &alice(),
                id,
                algorithm,
                SignInput::Message(message),
                &signed,
            )
            .unwrap();
        }

        // The crate's randomized signature verifies through the manager; damaged, it is the one opaque failure.
        let theirs = key
            .sign_prehash_with_rng(&mut getrandom::SysRng, &d)
            .unwrap()
            .to_der()
            .unwrap();
        m.verify(&alice(), &public, algorithm, SignInput::Digest(&d), &theirs)
            .unwrap();
        let mut flipped = theirs.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let zero = dsa_sig_value(&[0], &[0]);
        let q = key.verifying_key().components().q().to_be_bytes();
        let s_is_q = dsa_sig_value(&[1], &q);
        let other_message = digest(h, b"another message");
        let cases: [(&[u8], &[u8]); 6] = [
            (&d, &flipped),
            (&other_message, &theirs),
            (&d, &theirs[..theirs.len() - 1]),
            (&d, &zero),
            (&d, &s_is_q),
            (&d, b"not DER"),
        ];
        for (i, (d, signature)) in cases.into_iter().enumerate() {
            let result = m.verify(
                &alice(),
                &public,
                algorithm,
                SignInput::Digest(d),
                signature,
            );
            assert!(
                matches!(result, Err(Error::CryptographicFailure)),
                "{h:?} case {i}: {result:?}"
            );
        }
    }

    // SHA-1 only verifies (legacy signatures); a DSA signature is refused from an ECDSA or RSA request and back.
    let d = digest(HashingAlgorithm::Sha1, message);
    let legacy = rfc6979(&key, HashingAlgorithm::Sha1, &d);
    let sha1 = SignatureAlgorithm::Dsa(HashingAlgorithm::Sha1);
    m.verify(&alice(), &public, sha1, SignInput::Digest(&d), &legacy)
        .unwrap();
    let refused = m.sign(&alice(), &private, sha1, SignInput::Message(message));
    assert!(
        matches!(refused, Err(Error::UnsupportedCryptographicParameters(_))),
        "{refused:?}"
    );
    for algorithm in [
        SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
        SignatureAlgorithm::RsaPkcs1v15(HashingAlgorithm::Sha256),
    ] {
        let signed = m.sign(&alice(), &private, algorithm, SignInput::Message(message));
        assert!(matches!(signed, Err(Error::InvalidField(_))), "{signed:?}");
    }
}

/// Register checks a DSA key's structure only (`1 < g < p`, `1 < y < p`); `g = 2` and `y = 2` are, in a
/// generated group, not of order q. Such keys fail when used, with an error rather than a panic in the `dsa`
/// crate's arithmetic (which wants them at the precision of p, and panicked when it read them itself).
#[test]
fn keys_with_a_short_g_or_y_register_and_fail_cleanly_when_used() {
    let key = generate(KeySize::DSA_2048_224);
    let c = key.verifying_key().components();
    let (p, q, g) = (
        c.p().to_be_bytes(),
        c.q().to_be_bytes(),
        c.g().to_be_bytes(),
    );
    let y = key.verifying_key().y().to_be_bytes();
    let m = manager();
    let private = m
        .register(
            &alice(),
            ObjectType::PrivateKey,
            KeyMaterial::new(
                KeyFormat::Pkcs8,
                kms_core::dsa::DsaPrivateKey::new(&p, &q, &[2], &key.x().to_be_bytes())
                    .unwrap()
                    .to_pkcs8_der()
                    .unwrap(),
            ),
            attributes(UsageMask::SIGN, 2048),
        )
        .unwrap();
    let algorithm = SignatureAlgorithm::Dsa(HashingAlgorithm::Sha256);
    let signed = m.sign(&alice(), &private, algorithm, SignInput::Message(b"m"));
    assert!(
        matches!(&signed, Err(Error::InvalidField(why)) if why.contains("not of order Q")),
        "{signed:?}"
    );
    let d = digest(HashingAlgorithm::Sha256, b"m");
    let good = rfc6979(&key, HashingAlgorithm::Sha256, &d);
    // The crate checks y, not g: with g = 2 and the real y the key is usable, and the signature (made with the real
    // g) does not verify.
    for (g, y, inconsistent) in [(&[2][..], &y[..], false), (&g[..], &[2][..], true)] {
        let spki = kms_core::dsa::DsaPublicKey::new(&p, &q, g, y)
            .unwrap()
            .to_spki_der()
            .unwrap();
        let public = m
            .register(
                &alice(),
                ObjectType::PublicKey,
                KeyMaterial::new(KeyFormat::SubjectPublicKeyInfo, Zeroizing::new(spki)),
                attributes(UsageMask::VERIFY, 2048),
            )
            .unwrap();
        let verified = m.verify(&alice(), &public, algorithm, SignInput::Digest(&d), &good);
        if inconsistent {
            assert!(
                matches!(&verified, Err(Error::InvalidField(why)) if why.contains("not of order Q")),
                "{verified:?}"
            );
        } else {
            assert!(
                matches!(verified, Err(Error::CryptographicFailure)),
                "{verified:?}"
            );
        }
    }
}

/// `Dss-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` of unsigned magnitudes.
fn dsa_sig_value(r: &[u8], s: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for v in [r, s] {
        dsa::pkcs8::der::asn1::UintRef::new(v)
            .unwrap()
            .encode_to_vec(&mut body)
            .unwrap();
    }
    let mut out = vec![0x30];
    out.push(u8::try_from(body.len()).unwrap());
    out.extend_from_slice(&body);
    out
}

#[test]
#[allow(deprecated)] // DSA_1024_160 is deprecated for making signatures, which is what is tested here
fn dsa_1024_verifies_legacy_signatures_and_does_not_sign() {
    let key = generate(KeySize::DSA_1024_160);
    let (m, private, public) = registered(&key, 1024);
    let message = b"a legacy signature";
    for h in [HashingAlgorithm::Sha1, HashingAlgorithm::Sha256] {
        let d = digest(h, message);
        let theirs = rfc6979(&key, h, &d);
        let algorithm = SignatureAlgorithm::Dsa(h);
        m.verify(
            &alice(),
            &public,
            algorithm,
            SignInput::Message(message),
            &theirs,
        )
        .unwrap();
        let signed = m.sign(&alice(), &private, algorithm, SignInput::Message(message));
        assert!(
            matches!(signed, Err(Error::UnsupportedCryptographicParameters(_))),
            "{h:?}: {signed:?}"
        );
    }
}
