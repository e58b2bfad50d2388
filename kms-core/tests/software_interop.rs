//! The software backend against the plain RustCrypto calls: its signatures verify with `rsa`/`p256`/`p384`
//! verifiers and theirs verify through the backend; RSA-OAEP ciphertexts cross both ways.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod software_common;

use kms_core::backend::{
    CipherParams, HashingAlgorithm, KeyBackend, SignInput, SignatureAlgorithm,
};
use kms_core::object::{CryptographicAlgorithm, RecommendedCurve};
use kms_core::{KeyFormat, ObjectType, SoftwareBackend};
use rsa::Generate as _;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::{Signer as _, Verifier as _};
use software_common::{ec, import, rsa, rsa_2048_pkcs8};

const MSG: &[u8] = b"interoperability test message";

#[test]
fn rsa_pss_both_ways() {
    let b = SoftwareBackend::new();
    let (private, public) = rsa(&b);
    let sk = rsa::PrivateKey::from_pkcs8_der(rsa_2048_pkcs8()).unwrap();
    let pk = sk.to_public_key();
    let signer = b.signer().unwrap();

    let ours = signer
        .sign(
            &private,
            SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
            SignInput::Message(MSG),
        )
        .unwrap();
    let vk = rsa::pss::VerifyingKey::<Sha256>::new(pk.clone());
    vk.verify(MSG, &rsa::pss::Signature::try_from(&ours[..]).unwrap())
        .unwrap();
    let ours = signer
        .sign(
            &private,
            SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha512),
            SignInput::Digest(&Sha512::digest(MSG)),
        )
        .unwrap();
    rsa::pss::VerifyingKey::<Sha512>::new(pk.clone())
        .verify(MSG, &rsa::pss::Signature::try_from(&ours[..]).unwrap())
        .unwrap();

    let theirs = rsa::pss::SigningKey::<Sha384>::new(sk).sign(MSG);
    let theirs: Box<[u8]> = theirs.into();
    signer
        .verify(
            &public,
            SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha384),
            SignInput::Message(MSG),
            &theirs,
        )
        .unwrap();
}

#[test]
fn rsa_pkcs1v15_both_ways() {
    let b = SoftwareBackend::new();
    let (private, public) = rsa(&b);
    let sk = rsa::PrivateKey::from_pkcs8_der(rsa_2048_pkcs8()).unwrap();
    let pk = sk.to_public_key();
    let signer = b.signer().unwrap();

    let ours = signer
        .sign(
            &private,
            SignatureAlgorithm::RsaPkcs1v15(HashingAlgorithm::Sha256),
            SignInput::Message(MSG),
        )
        .unwrap();
    rsa::pkcs1v15::VerifyingKey::<Sha256>::new(pk.clone())
        .verify(MSG, &rsa::pkcs1v15::Signature::try_from(&ours[..]).unwrap())
        .unwrap();
    // PKCS#1 v1.5 is deterministic: the same bytes as the plain signer.
    let theirs: Box<[u8]> = rsa::pkcs1v15::SigningKey::<Sha256>::new(sk.clone())
        .sign(MSG)
        .into();
    assert_eq!(&ours[..], &theirs[..]);

    let theirs: Box<[u8]> = rsa::pkcs1v15::SigningKey::<Sha512>::new(sk)
        .sign(MSG)
        .into();
    signer
        .verify(
            &public,
            SignatureAlgorithm::RsaPkcs1v15(HashingAlgorithm::Sha512),
            SignInput::Message(MSG),
            &theirs,
        )
        .unwrap();
}

#[test]
fn ecdsa_p256_both_ways() {
    let b = SoftwareBackend::new();
    let (private, public) = ec(&b, RecommendedCurve::P256);
    let signer = b.signer().unwrap();
    let alg = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);

    let vk =
        p256::ecdsa::VerifyingKey::from_public_key_der(b.export(&public).unwrap().bytes()).unwrap();
    for input in [
        SignInput::Message(MSG),
        SignInput::Digest(&Sha256::digest(MSG)),
    ] {
        let ours = signer.sign(&private, alg, input).unwrap();
        let sig = p256::ecdsa::DerSignature::from_bytes(&ours).unwrap();
        vk.verify(MSG, &sig).unwrap();
    }
    // RFC 6979 signatures are deterministic: ours equals the plain signer's.
    let sk = p256::ecdsa::SigningKey::from_pkcs8_der(b.export(&private).unwrap().bytes()).unwrap();
    let theirs: p256::ecdsa::DerSignature = sk.sign(MSG);
    assert_eq!(
        signer.sign(&private, alg, SignInput::Message(MSG)).unwrap(),
        theirs.as_bytes()
    );

    let other = p256::ecdsa::SigningKey::try_generate_from_rng(&mut getrandom::SysRng).unwrap();
    let other_spki = {
        use p256::pkcs8::EncodePublicKey;
        other.verifying_key().to_public_key_der().unwrap()
    };
    let other_pub = import(
        &b,
        ObjectType::PublicKey,
        Some(CryptographicAlgorithm::Ecdsa),
        KeyFormat::SubjectPublicKeyInfo,
        other_spki.as_bytes(),
        true,
    );
    let theirs: p256::ecdsa::DerSignature = other.sign(MSG);
    signer
        .verify(&other_pub, alg, SignInput::Message(MSG), theirs.as_bytes())
        .unwrap();
}

#[test]
fn ecdsa_p384_both_ways() {
    let b = SoftwareBackend::new();
    let sk = p384::ecdsa::SigningKey::try_generate_from_rng(&mut getrandom::SysRng).unwrap();
    let private = import(
        &b,
        ObjectType::PrivateKey,
        Some(CryptographicAlgorithm::Ecdsa),
        KeyFormat::Pkcs8,
        sk.to_pkcs8_der().unwrap().as_bytes(),
        false,
    );
    let signer = b.signer().unwrap();
    let alg = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha384);
    let ours = signer
        .sign(&private, alg, SignInput::Digest(&Sha384::digest(MSG)))
        .unwrap();
    sk.verifying_key()
        .verify(MSG, &p384::ecdsa::DerSignature::from_bytes(&ours).unwrap())
        .unwrap();
    let theirs: p384::ecdsa::DerSignature = sk.sign(MSG);
    signer
        .verify(&private, alg, SignInput::Message(MSG), theirs.as_bytes())
        .unwrap();
    let (_, other_public) = ec(&b, RecommendedCurve::P384);
    assert!(
        signer
            .verify(
                &other_public,
                alg,
                SignInput::Message(MSG),
                theirs.as_bytes()
            )
            .is_err()
    );
}

#[test]
fn rsa_oaep_both_ways() {
    let b = SoftwareBackend::new();
    let (private, public) = rsa(&b);
    let sk = rsa::PrivateKey::from_pkcs8_der(rsa_2048_pkcs8()).unwrap();
    let pk = rsa::PublicKey::from_public_key_der(b.export(&public).unwrap().bytes()).unwrap();
    let cipher = b.cipher().unwrap();
    let params = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha256,
        mgf1_hash: HashingAlgorithm::Sha256,
        label: Some(b"kms"),
    };
    let theirs = pk
        .encrypt(
            &mut getrandom::SysRng,
            rsa::Oaep::<Sha256>::new_with_label(&b"kms"[..]),
            b"key bytes",
        )
        .unwrap();
    assert_eq!(
        &cipher.decrypt(&private, &params, &theirs, None).unwrap()[..],
        b"key bytes"
    );
    let ours = cipher.encrypt(&public, &params, b"key bytes").unwrap();
    assert_eq!(
        sk.decrypt(rsa::Oaep::<Sha256>::new_with_label(&b"kms"[..]), &ours.data)
            .unwrap(),
        b"key bytes"
    );
}
