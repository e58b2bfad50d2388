//! Pkcs11Backend under a KeyManager: create/rollback, start-up reconciliation, keys surviving a process restart,
//! refusal of what the token cannot do, and the HSM-protected root key. Real SoftHSM2, no mocks.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use kms_core::backend::{CipherParams, KeyBackend};
use kms_core::manager::{CreateKeyPairRequest, GetRequest, ReconcileOptions};
use kms_core::object::{CryptographicAlgorithm, ObjectId, RecommendedCurve, UsageMask};
use kms_core::store::{LocateQuery, ObjectStore, RedbOptions, StoreError, StoredObject};
use kms_core::{Attributes, Error, KeyManager, MemoryStore, Principal, RedbStore, SoftwareBackend};
use kms_hsm::{HsmRootKey, Pkcs11Backend, ReconcileOptions as HsmReconcile, reconcile};
use parking_lot::Mutex;

fn aes_attributes(extractable: bool) -> Attributes {
    let mut a = Attributes::default();
    a.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
    a.cryptographic_length = Some(256);
    a.cryptographic_usage_mask = Some(UsageMask::ENCRYPT | UsageMask::DECRYPT);
    a.extractable = extractable;
    a
}

/// A Create Key Pair request for an EC key pair on `curve`.
fn ec_pair(curve: RecommendedCurve) -> CreateKeyPairRequest {
    let mut common = Attributes::default();
    common.cryptographic_algorithm = Some(CryptographicAlgorithm::Ec);
    common.recommended_curve = Some(curve);
    CreateKeyPairRequest {
        common_attributes: common,
        ..Default::default()
    }
}

fn manager(store: Arc<dyn ObjectStore>, hsm: Arc<Pkcs11Backend>) -> KeyManager {
    KeyManager::builder(store)
        .default_backend(hsm)
        .backend(Arc::new(SoftwareBackend::new()))
        .build()
        .unwrap()
}

fn alice() -> Principal {
    Principal::new("alice").unwrap()
}

const GCM: CipherParams<'static> = CipherParams::AesGcm {
    iv: None,
    aad: b"",
    tag_len: 16,
};

#[test]
fn keys_created_through_the_manager_live_in_the_token() {
    let hsm = backend();
    let store = Arc::new(MemoryStore::new());
    let m = manager(store.clone(), hsm.clone());
    let id = m.create(&alice(), aes_attributes(false)).unwrap();
    m.activate(&alice(), &id).unwrap();
    let ct = m
        .encrypt(&alice(), &id, &GCM, b"through the manager")
        .unwrap();
    let params = CipherParams::AesGcm {
        iv: ct.iv.as_deref(),
        aad: b"",
        tag_len: 16,
    };
    assert_eq!(
        &m.decrypt(&alice(), &id, &params, &ct.data, ct.tag.as_deref())
            .unwrap()[..],
        b"through the manager"
    );
    // Non-extractable through KMIP Get: refused, in plaintext and wrapped.
    let e = m.get(&alice(), &id, &GetRequest::default()).unwrap_err();
    assert!(matches!(e, Error::NotExtractable), "{e:?}");
    // An extractable one comes out.
    let id2 = m.create(&alice(), aes_attributes(true)).unwrap();
    let got = m.get(&alice(), &id2, &GetRequest::default()).unwrap();
    assert!(format!("{got:?}").contains("len: 32"), "{got:?}");
    // Destroy (of a key never activated) removes the token object.
    // The manager does not hand out references; the test reads them from the store it gave the manager.
    let key = store.get(&id2).unwrap().key.unwrap();
    assert!(hsm.exists(&key).unwrap());
    m.destroy(&alice(), &id2).unwrap();
    assert!(!hsm.exists(&key).unwrap());
    // A key pair.
    let pair = m
        .create_key_pair(&alice(), ec_pair(RecommendedCurve::P256))
        .unwrap();
    assert_ne!(pair.private_key, pair.public_key);
}

#[test]
fn what_the_token_cannot_do_is_refused_as_unsupported_not_as_a_token_error() {
    let hsm = backend();
    let m = manager(Arc::new(MemoryStore::new()), hsm);
    // P-521 keys: the backend does not encode them (SoftHSM could make them), so the capabilities leave them out.
    let e = m
        .create_key_pair(&alice(), ec_pair(RecommendedCurve::P521))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::UnsupportedCryptographicParameters(_) | Error::OperationNotSupported(_)
        ),
        "{e:?}"
    );
    // 3DES: the token has it, this backend does not offer it.
    let mut a = Attributes::default();
    a.cryptographic_algorithm = Some(CryptographicAlgorithm::TripleDes);
    a.cryptographic_length = Some(168);
    let e = m.create(&alice(), a).unwrap_err();
    assert!(!matches!(e, Error::Backend(_)), "{e:?}");
}

/// A store whose puts fail after `ok` of them, recording the ids it was asked to put.
struct FailingStore {
    inner: MemoryStore,
    ok: Mutex<usize>,
    refused: Mutex<Vec<ObjectId>>,
}

impl ObjectStore for FailingStore {
    fn put(&self, object: &StoredObject) -> Result<(), StoreError> {
        let mut ok = self.ok.lock();
        if *ok == 0 {
            self.refused.lock().push(object.metadata.id.clone());
            return Err(StoreError::Unavailable("disk full (test)".into()));
        }
        *ok -= 1;
        self.inner.put(object)
    }
    fn get(&self, id: &ObjectId) -> Result<StoredObject, StoreError> {
        self.inner.get(id)
    }
    fn update(&self, object: &mut StoredObject) -> Result<(), StoreError> {
        self.inner.update(object)
    }
    fn delete(&self, id: &ObjectId, v: u64) -> Result<(), StoreError> {
        self.inner.delete(id, v)
    }
    fn locate(&self, q: &LocateQuery) -> Result<Vec<ObjectId>, StoreError> {
        self.inner.locate(q)
    }
}

fn token_objects_labelled(hsm: &Pkcs11Backend, label: &str) -> usize {
    let s = raw_session(hsm);
    s.find_objects(&[cryptoki::object::Attribute::Label(
        label.as_bytes().to_vec(),
    )])
    .unwrap()
    .len()
}

#[test]
fn a_failed_record_destroys_the_token_object() {
    let hsm = backend();
    for ok in [0, 1] {
        let store = Arc::new(FailingStore {
            inner: MemoryStore::new(),
            ok: Mutex::new(ok),
            refused: Mutex::new(Vec::new()),
        });
        let m = manager(store.clone(), hsm.clone());
        if ok == 0 {
            let e = m.create(&alice(), aes_attributes(false)).unwrap_err();
            assert!(matches!(e, Error::Store(_)), "{e:?}");
        } else {
            // The private key is recorded, the public one fails: both token objects go.
            let e = m
                .create_key_pair(&alice(), ec_pair(RecommendedCurve::P256))
                .unwrap_err();
            assert!(matches!(e, Error::Store(_)), "{e:?}");
        }
        let refused = store.refused.lock().clone();
        assert_eq!(refused.len(), 1);
        // Pairs carry the private key's id as the label of both objects.
        let labels: Vec<String> = if ok == 0 {
            refused.iter().map(|i| i.to_string()).collect()
        } else {
            store
                .inner
                .locate(&LocateQuery::default())
                .unwrap()
                .iter()
                .map(|i| i.to_string())
                .chain(refused.iter().map(|i| i.to_string()))
                .collect()
        };
        for label in labels {
            assert_eq!(
                token_objects_labelled(&hsm, &label),
                0,
                "objects left for {label}"
            );
        }
    }
}

#[test]
fn start_up_reconciliation_reports_missing_keys_and_orphans() {
    // Every unrecorded key on the token is an orphan to reconciliation: a token of its own.
    let hsm = isolated_backend();
    let store = Arc::new(MemoryStore::new());
    let m = manager(store.clone(), hsm.clone());
    let kept = m.create(&alice(), aes_attributes(false)).unwrap();
    let lost = m.create(&alice(), aes_attributes(false)).unwrap();
    let lost_key = store.get(&lost).unwrap().key.unwrap();
    raw_session(&hsm)
        .destroy_object(hsm.object_handle(&lost_key).unwrap())
        .unwrap();
    // An orphan: made in the token, never recorded (a crash between the two steps).
    let orphan_id = ObjectId::random();
    let orphan = common::symmetric_with_id(&hsm, &orphan_id);

    let missing = m.reconcile(ReconcileOptions { mark: true }).unwrap();
    assert_eq!(
        missing.iter().map(|k| &k.id).collect::<Vec<_>>(),
        vec![&lost]
    );
    let report = reconcile(store.as_ref(), &hsm, HsmReconcile::default()).unwrap();
    assert_eq!(report.missing, vec![lost.clone()]);
    assert!(
        report.orphans.contains(&orphan_id.to_string()),
        "{report:?}"
    );
    assert!(hsm.exists(&orphan).unwrap());
    let report = reconcile(
        store.as_ref(),
        &hsm,
        HsmReconcile {
            delete_missing_records: true,
            destroy_orphans: true,
        },
    )
    .unwrap();
    assert!(report.deleted_records && report.destroyed_orphans);
    assert!(!hsm.exists(&orphan).unwrap());
    assert!(matches!(store.get(&lost), Err(StoreError::NotFound)));
    assert!(store.get(&kept).is_ok());
    let report = reconcile(store.as_ref(), &hsm, HsmReconcile::default()).unwrap();
    assert!(report.missing.is_empty());
    assert!(!report.orphans.contains(&orphan_id.to_string()));
}

/// The second half of `keys_survive_a_process_restart`, run in a child process.
#[test]
#[ignore = "run by keys_survive_a_process_restart in a child process"]
fn restart_child() {
    let dir = std::env::var("KMS_HSM_TEST_RESTART_DIR").unwrap();
    let hex_in = std::env::var("KMS_HSM_TEST_RESTART_CT").unwrap();
    let id = ObjectId::try_from(std::env::var("KMS_HSM_TEST_RESTART_ID").unwrap()).unwrap();
    let fields: Vec<Vec<u8>> = hex_in.split(':').map(|h| hex::decode(h).unwrap()).collect();
    let store = Arc::new(RedbStore::open(&dir).unwrap());
    let m = manager(store, backend());
    let params = CipherParams::AesGcm {
        iv: Some(&fields[1]),
        aad: b"",
        tag_len: 16,
    };
    let pt = m
        .decrypt(&alice(), &id, &params, &fields[0], Some(&fields[2]))
        .unwrap();
    assert_eq!(&pt[..], b"survives a restart");
    println!("restart-child-ok");
}

#[test]
fn keys_survive_a_process_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (id, ct) = {
        let store = Arc::new(RedbStore::open(dir.path()).unwrap());
        let m = manager(store, backend());
        let id = m.create(&alice(), aes_attributes(false)).unwrap();
        m.activate(&alice(), &id).unwrap();
        (
            id.clone(),
            m.encrypt(&alice(), &id, &GCM, b"survives a restart")
                .unwrap(),
        )
    };
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "restart_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KMS_HSM_TEST_RESTART_DIR", dir.path())
        .env("KMS_HSM_TEST_RESTART_ID", id.to_string())
        .env(
            "KMS_HSM_TEST_RESTART_CT",
            format!(
                "{}:{}:{}",
                hex::encode(&ct.data),
                hex::encode(ct.iv.unwrap()),
                hex::encode(ct.tag.unwrap())
            ),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("restart-child-ok"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn hsm_root(dir: &Path, label: &str) -> HsmRootKey {
    HsmRootKey::open(&config(), label, dir.join(HsmRootKey::FILE_NAME)).unwrap()
}

#[test]
fn the_root_key_is_only_usable_with_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let label = format!("kms-root-test-{}", ObjectId::random());
    let id = {
        let root = hsm_root(dir.path(), &label);
        let store =
            Arc::new(RedbStore::open_with(dir.path(), &root, RedbOptions::default()).unwrap());
        let m = KeyManager::builder(store)
            .backend(Arc::new(SoftwareBackend::new()))
            .build()
            .unwrap();
        m.create(&alice(), aes_attributes(false)).unwrap()
    };
    let blob = std::fs::read(dir.path().join(HsmRootKey::FILE_NAME)).unwrap();
    assert_eq!(blob.len(), 8 + 1 + 12 + 32 + 16);
    assert!(!dir.path().join("root.key").exists());
    // Reopened with the token: the sealed records open.
    {
        let root = hsm_root(dir.path(), &label);
        let store = RedbStore::open_with(dir.path(), &root, RedbOptions::default()).unwrap();
        assert!(store.get(&id).unwrap().key.is_some());
    }
    // Without the key-encryption key (another label: as a copy of the data on a machine without this token),
    // the root key does not come out, and nothing opens.
    let other = hsm_root(dir.path(), "kms-root-no-such-key");
    let e = RedbStore::open_with(dir.path(), &other, RedbOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("root key") || matches!(e, StoreError::Unavailable(_)),
        "{e}"
    );
    // The key-encryption key is sensitive and not extractable.
    let hsm = backend();
    let s = raw_session(&hsm);
    let kek = s
        .find_objects(&[cryptoki::object::Attribute::Label(
            label.as_bytes().to_vec(),
        )])
        .unwrap();
    assert_eq!(kek.len(), 1);
    let attrs = s
        .get_attributes(
            kek[0],
            &[
                cryptoki::object::AttributeType::Extractable,
                cryptoki::object::AttributeType::Sensitive,
            ],
        )
        .unwrap();
    assert!(attrs.contains(&cryptoki::object::Attribute::Extractable(false)));
    assert!(attrs.contains(&cryptoki::object::Attribute::Sensitive(true)));
    // A damaged blob is refused, not used.
    let mut bad = blob.clone();
    bad[30] ^= 1;
    std::fs::write(dir.path().join(HsmRootKey::FILE_NAME), &bad).unwrap();
    assert!(
        RedbStore::open_with(
            dir.path(),
            &hsm_root(dir.path(), &label),
            RedbOptions::default()
        )
        .is_err()
    );
}

#[test]
fn two_key_encryption_keys_with_one_label_still_open_the_root_key() {
    use kms_core::store::RootKeyProvider;
    let dir = tempfile::tempdir().unwrap();
    let label = format!("kms-root-race-{}", ObjectId::random());
    let first = hsm_root(dir.path(), &label).root_key().unwrap();
    // A second server starting on a new token at the same moment made its own key-encryption key; its blob lost
    // the race for the file.
    let hsm = backend();
    raw_session(&hsm)
        .generate_key(
            &cryptoki::mechanism::Mechanism::AesKeyGen,
            &[
                cryptoki::object::Attribute::Class(cryptoki::object::ObjectClass::SECRET_KEY),
                cryptoki::object::Attribute::ValueLen(32u64.into()),
                cryptoki::object::Attribute::Token(true),
                cryptoki::object::Attribute::Encrypt(true),
                cryptoki::object::Attribute::Decrypt(true),
                cryptoki::object::Attribute::Label(label.as_bytes().to_vec()),
            ],
        )
        .unwrap();
    let again = hsm_root(dir.path(), &label).root_key().unwrap();
    assert_eq!(*first, *again);
}
