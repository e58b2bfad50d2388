//! Keys across swtpm restarts, blobs from another TPM, and the TPM-sealed root key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use kms_core::backend::{
    BackendError, GeneratedKey, HashingAlgorithm, KeyBackend, KeyPolicy, KeySpec, SignInput,
    SignatureAlgorithm,
};
use kms_core::object::{ObjectId, RecommendedCurve, UsageMask};
use kms_core::store::RootKeyProvider;
use kms_tpm::{PcrPolicy, TpmBackend, TpmRootKey};

fn sign_spec() -> (KeySpec, SignatureAlgorithm) {
    (
        KeySpec::Ec {
            curve: RecommendedCurve::P256,
        },
        SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
    )
}

#[test]
fn keys_reload_after_swtpm_restarts_on_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("tpm");
    let (spec, alg) = sign_spec();
    let id = ObjectId::random();
    let policy = KeyPolicy {
        id: &id,
        usage: UsageMask::SIGN,
        extractable: false,
    };
    let (private, public, hmac, sealed, srk) = {
        let swtpm = common::Swtpm::start(&state);
        let backend = TpmBackend::new(Arc::new(swtpm.connect()));
        let GeneratedKey::KeyPair { private, public } = backend.generate(&spec, &policy).unwrap()
        else {
            panic!()
        };
        let hmac_spec = KeySpec::Symmetric {
            algorithm: kms_core::object::CryptographicAlgorithm::HmacSha256,
            bits: 256,
        };
        let GeneratedKey::Symmetric(hmac) = backend.generate(&hmac_spec, &policy).unwrap() else {
            panic!()
        };
        let sealed = backend
            .tpm()
            .seal(b"kept across restarts", None)
            .unwrap()
            .to_bytes();
        (
            private,
            public,
            hmac,
            sealed,
            backend.tpm().storage_key_name(),
        )
    };
    // The swtpm process is gone; a new one on the same state is the same TPM.
    let swtpm = common::Swtpm::start(&state);
    let backend = TpmBackend::new(Arc::new(swtpm.connect()));
    assert_eq!(
        backend.tpm().storage_key_name(),
        srk,
        "the storage key is derived again, identical"
    );
    let sig = backend
        .signer()
        .unwrap()
        .sign(&private, alg, SignInput::Message(b"after restart"))
        .unwrap();
    backend
        .signer()
        .unwrap()
        .verify(&public, alg, SignInput::Message(b"after restart"), &sig)
        .unwrap();
    backend
        .mac()
        .unwrap()
        .mac(&hmac, HashingAlgorithm::Sha256, b"x")
        .unwrap();
    let sealed = kms_tpm::SealedData::from_bytes(&sealed).unwrap();
    assert_eq!(
        &backend.tpm().unseal(&sealed).unwrap()[..],
        b"kept across restarts"
    );
    assert!(backend.exists(&private).unwrap());
    assert_eq!(backend.tpm().stray_objects().unwrap(), 0);
}

#[test]
fn a_blob_from_another_tpm_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let a = common::Swtpm::start(&dir.path().join("a"));
    let b = common::Swtpm::start(&dir.path().join("b"));
    let backend_a = TpmBackend::new(Arc::new(a.connect()));
    let backend_b = TpmBackend::new(Arc::new(b.connect()));
    let (spec, alg) = sign_spec();
    let (private, public) = common::pair(&backend_a, spec, UsageMask::SIGN);
    assert!(matches!(
        backend_b
            .signer()
            .unwrap()
            .sign(&private, alg, SignInput::Message(b"x")),
        Err(BackendError::KeyNotFound)
    ));
    assert!(!backend_b.exists(&private).unwrap());
    // The public half is plain data: any backend verifies with it.
    let sig = backend_a
        .signer()
        .unwrap()
        .sign(&private, alg, SignInput::Message(b"x"))
        .unwrap();
    backend_b
        .signer()
        .unwrap()
        .verify(&public, alg, SignInput::Message(b"x"), &sig)
        .unwrap();

    // Even a blob relabelled with B's storage key name is refused, by the TPM's integrity check.
    let mut data = private.data().to_vec();
    let name_a = backend_a.tpm().storage_key_name();
    let name_b = backend_b.tpm().storage_key_name();
    assert_eq!(&data[3..3 + name_a.len()], &name_a[..]);
    data[3..3 + name_b.len()].copy_from_slice(&name_b);
    let forged = kms_core::KeyRef::new("tpm", 1, zeroize::Zeroizing::new(data));
    assert!(matches!(
        backend_b
            .signer()
            .unwrap()
            .sign(&forged, alg, SignInput::Message(b"x")),
        Err(BackendError::KeyNotFound)
    ));
    assert_eq!(backend_b.tpm().stray_objects().unwrap(), 0);

    // Sealed data too.
    let sealed = backend_a.tpm().seal(b"a's secret", None).unwrap();
    assert!(matches!(
        backend_b.tpm().unseal(&sealed),
        Err(kms_tpm::TpmError::ForeignBlob)
    ));
}

#[test]
fn the_sealed_root_key_unseals_only_on_the_same_tpm() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let a = common::Swtpm::start(&dir.path().join("a"));
    let tpm_a = Arc::new(a.connect());
    let provider = TpmRootKey::in_data_dir(tpm_a.clone(), &data_dir);
    let key = provider.root_key().unwrap();
    assert_eq!(
        provider.root_key().unwrap(),
        key,
        "generated once, then unsealed"
    );
    assert!(provider.path().exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(provider.path())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    // A store opened with it, written, reopened.
    let id = {
        let store =
            kms_core::RedbStore::open_with(&data_dir, &provider, Default::default()).unwrap();
        put_object(&store)
    };
    {
        let store =
            kms_core::RedbStore::open_with(&data_dir, &provider, Default::default()).unwrap();
        assert_eq!(
            kms_core::ObjectStore::get(&store, &id)
                .unwrap()
                .metadata
                .owner,
            "alice"
        );
    }

    // The data directory copied to a machine with another TPM: the root key does not unseal.
    let b = common::Swtpm::start(&dir.path().join("b"));
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&data_dir).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let elsewhere = TpmRootKey::in_data_dir(Arc::new(b.connect()), &copy);
    assert!(matches!(
        elsewhere.root_key(),
        Err(kms_core::store::RootKeyError::Provider(_))
    ));
    assert!(kms_core::RedbStore::open_with(&copy, &elsewhere, Default::default()).is_err());

    // Sealed to a PCR as well: extending it locks the key away.
    let pcr_dir = dir.path().join("pcr");
    std::fs::create_dir_all(&pcr_dir).unwrap();
    let with_pcr = TpmRootKey::in_data_dir(tpm_a.clone(), &pcr_dir)
        .with_pcr_policy(PcrPolicy::sha256(&[23]).unwrap());
    let k = with_pcr.root_key().unwrap();
    assert_eq!(with_pcr.root_key().unwrap(), k);
    tpm_a.extend_pcr(23, [1; 32]).unwrap();
    assert!(with_pcr.root_key().is_err());
    // A damaged file is an error, not a new key.
    std::fs::write(provider.path(), b"garbage").unwrap();
    assert!(provider.root_key().is_err());
}

fn put_object(store: &kms_core::RedbStore) -> ObjectId {
    use kms_core::object::{Attributes, ObjectMetadata, ObjectType, State};
    let id = ObjectId::random();
    let object = kms_core::StoredObject {
        metadata: ObjectMetadata {
            id: id.clone(),
            object_type: ObjectType::SecretData,
            state: State::Active,
            owner: "alice".into(),
            grants: Vec::new(),
            attributes: Attributes::default(),
        },
        key: None,
        version: 1,
    };
    kms_core::ObjectStore::put(store, &object).unwrap();
    id
}
