//! The SoftHSM2 token the tests run against: scripts/test (scripts/setup/softhsm.sh) creates it and exports
//! where it is. Without those variables the tests fail, saying so.

#![allow(dead_code)]

use std::sync::Arc;

use cryptoki::session::Session;
use kms_core::KeyRef;
use kms_core::backend::{GeneratedKey, KeyBackend, KeyPolicy, KeySpec};
use kms_core::object::{ObjectId, UsageMask};
use kms_hsm::{Pkcs11Backend, Pkcs11Config, TokenSelector};
use secrecy::SecretString;

pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run ./scripts/test, which installs SoftHSM2 and creates the test tokens \
             (scripts/setup/softhsm.sh), or source that file's set-up by hand"
        )
    })
}

pub fn module() -> String {
    var("KMS_TEST_PKCS11_MODULE")
}

pub fn pin() -> SecretString {
    SecretString::from(var("KMS_TEST_PKCS11_PIN"))
}

pub fn config() -> Pkcs11Config {
    Pkcs11Config::new(
        module(),
        TokenSelector::Label(var("KMS_TEST_PKCS11_TOKEN")),
        pin(),
    )
}

/// The backend on the token no other test uses at the same time (for tests that act on every object of a token).
pub fn isolated_backend() -> Arc<Pkcs11Backend> {
    let config = Pkcs11Config::new(
        module(),
        TokenSelector::Label(var("KMS_TEST_PKCS11_TOKEN_ISOLATED")),
        pin(),
    );
    Arc::new(Pkcs11Backend::open(config).expect("opening the isolated SoftHSM2 test token"))
}

pub fn backend() -> Arc<Pkcs11Backend> {
    Arc::new(Pkcs11Backend::open(config()).expect("opening the SoftHSM2 test token"))
}

pub fn policy(id: &ObjectId, usage: UsageMask, extractable: bool) -> KeyPolicy<'_> {
    KeyPolicy {
        id,
        usage,
        extractable,
    }
}

pub fn symmetric(b: &Pkcs11Backend, spec: KeySpec, usage: UsageMask, extractable: bool) -> KeyRef {
    let id = ObjectId::random();
    match b.generate(&spec, &policy(&id, usage, extractable)).unwrap() {
        GeneratedKey::Symmetric(k) => k,
        GeneratedKey::KeyPair { .. } => panic!("a pair for a symmetric spec"),
    }
}

pub fn pair(
    b: &Pkcs11Backend,
    spec: KeySpec,
    usage: UsageMask,
    extractable: bool,
) -> (KeyRef, KeyRef) {
    let id = ObjectId::random();
    match b.generate(&spec, &policy(&id, usage, extractable)).unwrap() {
        GeneratedKey::KeyPair { private, public } => (private, public),
        GeneratedKey::Symmetric(_) => panic!("a symmetric key for a pair spec"),
    }
}

/// A raw session on the backend's token, logged in (the login is the application's, shared with the backend).
pub fn raw_session(b: &Pkcs11Backend) -> Session {
    b.context().open_rw_session(b.slot()).unwrap()
}

/// An AES-256 key made directly in the backend, labelled with `id` (a key the store never recorded).
pub fn symmetric_with_id(b: &Pkcs11Backend, id: &ObjectId) -> KeyRef {
    let spec = KeySpec::Symmetric {
        algorithm: kms_core::object::CryptographicAlgorithm::Aes,
        bits: 256,
    };
    match b
        .generate(&spec, &policy(id, UsageMask::ENCRYPT, false))
        .unwrap()
    {
        GeneratedKey::Symmetric(k) => k,
        GeneratedKey::KeyPair { .. } => panic!("a pair for a symmetric spec"),
    }
}
