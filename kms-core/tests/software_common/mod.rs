//! Helpers shared by the `software_*` tests: key generation and import shortcuts, the vector file reader.

#![allow(dead_code)] // each test binary uses a different subset
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kms_core::backend::{GeneratedKey, HashingAlgorithm, KeyBackend, KeyPolicy, KeySpec};
use kms_core::object::{CryptographicAlgorithm, ObjectId, RecommendedCurve, UsageMask};
use kms_core::{KeyFormat, KeyMaterial, KeyRef, ObjectType, SoftwareBackend};
use zeroize::Zeroizing;

/// The digest of `m` by the plain RustCrypto hash `h`: the reference prehashed signatures are checked against.
pub fn digest(h: HashingAlgorithm, m: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    match h {
        HashingAlgorithm::Sha1 => sha1::Sha1::digest(m).to_vec(),
        HashingAlgorithm::Sha224 => sha2::Sha224::digest(m).to_vec(),
        HashingAlgorithm::Sha256 => sha2::Sha256::digest(m).to_vec(),
        HashingAlgorithm::Sha384 => sha2::Sha384::digest(m).to_vec(),
        HashingAlgorithm::Sha512 => sha2::Sha512::digest(m).to_vec(),
    }
}

pub fn id() -> &'static ObjectId {
    static ID: OnceLock<ObjectId> = OnceLock::new();
    ID.get_or_init(ObjectId::random)
}

pub fn policy(extractable: bool) -> KeyPolicy<'static> {
    KeyPolicy {
        id: id(),
        usage: UsageMask::all(),
        extractable,
    }
}

pub fn symmetric(b: &SoftwareBackend, algorithm: CryptographicAlgorithm, bits: u32) -> KeyRef {
    match b
        .generate(&KeySpec::Symmetric { algorithm, bits }, &policy(true))
        .unwrap()
    {
        GeneratedKey::Symmetric(k) => k,
        other => panic!("expected a symmetric key, got {other:?}"),
    }
}

pub fn pair(b: &SoftwareBackend, spec: KeySpec) -> (KeyRef, KeyRef) {
    match b.generate(&spec, &policy(true)).unwrap() {
        GeneratedKey::KeyPair { private, public } => (private, public),
        other => panic!("expected a key pair, got {other:?}"),
    }
}

pub fn ec(b: &SoftwareBackend, curve: RecommendedCurve) -> (KeyRef, KeyRef) {
    pair(b, KeySpec::Ec { curve })
}

/// One RSA-2048 key pair per test binary, as PKCS#8 DER (generation is the slow part of these tests).
pub fn rsa_2048_pkcs8() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs8::EncodePrivateKey;
        let k = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
        k.to_pkcs8_der().unwrap().as_bytes().to_vec()
    })
}

/// The shared RSA-2048 key, imported: (private, public).
pub fn rsa(b: &SoftwareBackend) -> (KeyRef, KeyRef) {
    let pkcs8 = rsa_2048_pkcs8();
    let private = import(
        b,
        ObjectType::PrivateKey,
        Some(CryptographicAlgorithm::Rsa),
        KeyFormat::Pkcs8,
        pkcs8,
        true,
    );
    let public = import(
        b,
        ObjectType::PublicKey,
        Some(CryptographicAlgorithm::Rsa),
        KeyFormat::SubjectPublicKeyInfo,
        &rsa_public_spki(pkcs8),
        true,
    );
    (private, public)
}

pub fn rsa_public_spki(pkcs8: &[u8]) -> Vec<u8> {
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
    let k = rsa::PrivateKey::from_pkcs8_der(pkcs8).unwrap();
    k.as_public_key()
        .to_public_key_der()
        .unwrap()
        .as_bytes()
        .to_vec()
}

pub fn import(
    b: &SoftwareBackend,
    object_type: ObjectType,
    algorithm: Option<CryptographicAlgorithm>,
    format: KeyFormat,
    bytes: &[u8],
    extractable: bool,
) -> KeyRef {
    b.import(
        object_type,
        algorithm,
        &KeyMaterial::new(format, Zeroizing::new(bytes.to_vec())),
        &policy(extractable),
    )
    .unwrap()
}

pub fn raw(bytes: &[u8]) -> KeyMaterial {
    KeyMaterial::new(KeyFormat::Raw, Zeroizing::new(bytes.to_vec()))
}

/// A vector file: `[name]` sections of `Key = hex` lines; `#` starts a comment line.
pub fn vectors(text: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut out: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((name.to_owned(), BTreeMap::new()));
        } else {
            let (k, v) = line.split_once('=').expect("a `Name = value` line");
            out.last_mut()
                .expect("a line before the first section")
                .1
                .insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    out
}
