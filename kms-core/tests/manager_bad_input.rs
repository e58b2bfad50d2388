//! Bad input: each a clear typed error, with nothing changed in the store (records and versions compared before
//! and after). Create/rollback: a failing store leaves no key in the backend. Audit events carry no secrets.
//! Concurrency: lost races are retried on the new state, and give up with a retryable error.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::*;
use kms_core::audit::{AuditEvent, JsonLinesAuditSink, MemoryAuditSink, Operation, Outcome};
use kms_core::backend::{CipherParams, HashingAlgorithm, SignInput, SignatureAlgorithm};
use kms_core::manager::{Attribute, CreateKeyPairRequest, DerivationMethod, GetRequest};
use kms_core::object::{Name, RevocationReason, RevocationReasonCode, UsageMask};
use kms_core::store::{LocateQuery, StoreError};
use kms_core::{
    Attributes, Error, KeyManager, MemoryStore, ObjectId, ObjectStore, ObjectType, ResultReason,
    State, StoredObject,
};

fn gcm<'a>(iv: Option<&'a [u8]>, aad: &'a [u8]) -> CipherParams<'a> {
    CipherParams::AesGcm {
        iv,
        aad,
        tag_len: 16,
    }
}

/// Runs `op`, checks its error with `expected`, and that the store is exactly as before.
fn unchanged<T: std::fmt::Debug>(
    f: &Fixture,
    what: &str,
    op: impl FnOnce() -> Result<T, Error>,
    expected: impl Fn(&Error) -> bool,
) {
    let before = f.snapshot();
    let keys = f.backend.live_keys();
    match op() {
        Ok(v) => panic!("{what}: succeeded with {v:?}"),
        Err(e) => assert!(expected(&e), "{what}: unexpected error {e:?}"),
    }
    assert_eq!(f.snapshot(), before, "{what}: the store changed");
    assert_eq!(f.backend.live_keys(), keys, "{what}: the backend changed");
}

#[test]
fn wrong_state_is_refused_without_change() {
    let f = fixture();
    let pre = f.manager.create(&alice(), aes(256)).unwrap();
    let active = active_aes(&f, &alice());
    unchanged(
        &f,
        "encrypt with a pre-active key",
        || f.manager.encrypt(&alice(), &pre, &gcm(None, b""), b"x"),
        |e| matches!(e, Error::WrongKeyLifecycleState(State::PreActive)),
    );
    unchanged(
        &f,
        "destroy an active key",
        || f.manager.destroy(&alice(), &active),
        |e| matches!(e, Error::WrongKeyLifecycleState(State::Active)),
    );
    unchanged(
        &f,
        "activate an active key",
        || f.manager.activate(&alice(), &active),
        |e| matches!(e, Error::WrongKeyLifecycleState(State::Active)),
    );
    f.manager
        .revoke(
            &alice(),
            &active,
            RevocationReason {
                code: RevocationReasonCode::Superseded,
                message: None,
            },
            None,
        )
        .unwrap();
    unchanged(
        &f,
        "revoke a deactivated key again",
        || {
            f.manager.revoke(
                &alice(),
                &active,
                RevocationReason {
                    code: RevocationReasonCode::Superseded,
                    message: None,
                },
                None,
            )
        },
        |e| matches!(e, Error::WrongKeyLifecycleState(State::Deactivated)),
    );
    unchanged(
        &f,
        "activation date of a deactivated key",
        || {
            f.manager
                .set_attribute(&alice(), &active, Attribute::ActivationDate(t0()))
        },
        |e| matches!(e, Error::WrongKeyLifecycleState(_)),
    );
    f.manager.destroy(&alice(), &active).unwrap();
    unchanged(
        &f,
        "destroy twice",
        || f.manager.destroy(&alice(), &active),
        |e| matches!(e, Error::WrongKeyLifecycleState(State::Destroyed)),
    );
    unchanged(
        &f,
        "decrypt with a destroyed key",
        || {
            f.manager.decrypt(
                &alice(),
                &active,
                &gcm(Some(&[0; 12]), b""),
                b"x",
                Some(&[0; 16]),
            )
        },
        |e| matches!(e, Error::WrongKeyLifecycleState(State::Destroyed)),
    );
}

#[test]
fn wrong_usage_and_object_type_are_refused_without_change() {
    let f = fixture();
    let mut a = aes(256);
    a.activation_date = Some(t0());
    a.cryptographic_usage_mask = Some(UsageMask::ENCRYPT);
    let enc_only = f.manager.create(&alice(), a).unwrap();
    let ct = f
        .manager
        .encrypt(&alice(), &enc_only, &gcm(None, b""), b"x")
        .unwrap();
    unchanged(
        &f,
        "decrypt without Decrypt in the mask",
        || {
            f.manager.decrypt(
                &alice(),
                &enc_only,
                &gcm(ct.iv.as_deref(), b""),
                &ct.data,
                ct.tag.as_deref(),
            )
        },
        |e| matches!(e, Error::IncompatibleCryptographicUsageMask(u) if *u == UsageMask::DECRYPT),
    );
    unchanged(
        &f,
        "mac with an AES encryption key",
        || {
            f.manager
                .mac(&alice(), &enc_only, Some(HashingAlgorithm::Sha256), b"x")
        },
        |e| matches!(e, Error::IncompatibleCryptographicUsageMask(_)),
    );
    unchanged(
        &f,
        "sign with a symmetric key",
        || {
            f.manager.sign(
                &alice(),
                &enc_only,
                SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
                SignInput::Message(b"x"),
            )
        },
        |e| matches!(e, Error::IllegalObjectType),
    );
    unchanged(
        &f,
        "derive without Derive Key",
        || {
            f.manager.derive(
                &alice(),
                &enc_only,
                &DerivationMethod::Hkdf {
                    hash: HashingAlgorithm::Sha256,
                    salt: vec![],
                    info: vec![],
                },
                aes(128),
            )
        },
        |e| matches!(e, Error::IncompatibleCryptographicUsageMask(_)),
    );
}

#[test]
fn wrong_key_lengths_are_refused_without_change() {
    let f = fixture();
    unchanged(
        &f,
        "AES-100",
        || f.manager.create(&alice(), aes(100)),
        |e| matches!(e, Error::InvalidField(_)),
    );
    unchanged(
        &f,
        "AES without a length",
        || {
            let mut a = aes(0);
            a.cryptographic_length = None;
            f.manager.create(&alice(), a)
        },
        |e| matches!(e, Error::MissingData(_)),
    );
    unchanged(
        &f,
        "register a 17-byte AES key",
        || {
            f.manager
                .register(&alice(), ObjectType::SymmetricKey, raw(&[1; 17]), aes(256))
        },
        |e| matches!(e, Error::InvalidField(_)),
    );
    unchanged(
        &f,
        "register with a length that contradicts the key",
        || {
            f.manager
                .register(&alice(), ObjectType::SymmetricKey, raw(&[1; 16]), aes(256))
        },
        |e| matches!(e, Error::InvalidField(_)),
    );
    unchanged(
        &f,
        "RSA-1000",
        || {
            f.manager.create_key_pair(
                &alice(),
                CreateKeyPairRequest {
                    common_attributes: rsa(1000),
                    ..Default::default()
                },
            )
        },
        |e| matches!(e, Error::InvalidField(_)),
    );
    unchanged(
        &f,
        "EC with a length that is no curve's",
        || {
            let mut a = ec_p256();
            a.recommended_curve = None;
            a.cryptographic_length = Some(300);
            f.manager.create_key_pair(
                &alice(),
                CreateKeyPairRequest {
                    common_attributes: a,
                    ..Default::default()
                },
            )
        },
        |e| matches!(e, Error::InvalidField(_)),
    );
    unchanged(
        &f,
        "zero random bytes",
        || f.manager.random(&alice(), 0),
        |e| matches!(e, Error::InvalidField(_)),
    );
}

#[test]
fn unknown_ids_are_item_not_found_without_change() {
    let f = fixture();
    active_aes(&f, &alice());
    let nobody = ObjectId::random();
    unchanged(
        &f,
        "get",
        || f.manager.get(&alice(), &nobody, &GetRequest::default()),
        |e| matches!(e, Error::ItemNotFound),
    );
    unchanged(
        &f,
        "activate",
        || f.manager.activate(&alice(), &nobody),
        |e| matches!(e, Error::ItemNotFound),
    );
    unchanged(
        &f,
        "destroy",
        || f.manager.destroy(&alice(), &nobody),
        |e| matches!(e, Error::ItemNotFound),
    );
    unchanged(
        &f,
        "encrypt",
        || f.manager.encrypt(&alice(), &nobody, &gcm(None, b""), b"x"),
        |e| matches!(e, Error::ItemNotFound),
    );
    unchanged(
        &f,
        "set attribute",
        || {
            f.manager
                .set_attribute(&alice(), &nobody, Attribute::Comment("c".into()))
        },
        |e| matches!(e, Error::ItemNotFound),
    );
    assert!(ObjectId::try_from("").is_err());
    assert!(ObjectId::try_from("x".repeat(ObjectId::MAX_LEN + 1)).is_err());
}

#[test]
#[allow(clippy::type_complexity)]
fn tampered_ciphertext_is_one_opaque_cryptographic_failure() {
    let f = fixture();
    let id = active_aes(&f, &alice());
    let ct = f
        .manager
        .encrypt(&alice(), &id, &gcm(None, b"aad"), b"attack at dawn")
        .unwrap();
    let iv = ct.iv.unwrap().to_vec();
    let tag = ct.tag.unwrap().to_vec();
    let mut data = ct.data.clone();
    data[0] ^= 0x80;
    let mut bad_tag = tag.clone();
    bad_tag[15] ^= 1;
    let mut bad_iv = iv.clone();
    bad_iv[0] ^= 1;
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, Vec<u8>, &[u8])> = vec![
        (
            "flipped ciphertext bit",
            data,
            iv.clone(),
            tag.clone(),
            b"aad",
        ),
        (
            "flipped tag bit",
            ct.data.clone(),
            iv.clone(),
            bad_tag,
            b"aad",
        ),
        ("other IV", ct.data.clone(), bad_iv, tag.clone(), b"aad"),
        (
            "other AAD",
            ct.data.clone(),
            iv.clone(),
            tag.clone(),
            b"aaD",
        ),
    ];
    for (what, d, iv, tag, aad) in cases {
        unchanged(
            &f,
            what,
            || {
                f.manager
                    .decrypt(&alice(), &id, &gcm(Some(&iv), aad), &d, Some(&tag))
            },
            |e| {
                matches!(e, Error::CryptographicFailure) && e.to_string() == "cryptographic failure"
            },
        );
    }
}

#[test]
fn non_extractable_and_sensitive_keys_do_not_leave_in_plaintext() {
    let f = fixture();
    let mut a = aes(256);
    a.extractable = false;
    let id = f.manager.create(&alice(), a).unwrap();
    unchanged(
        &f,
        "get non-extractable",
        || f.manager.get(&alice(), &id, &GetRequest::default()),
        |e| matches!(e, Error::NotExtractable),
    );
    unchanged(
        &f,
        "switch Extractable back on",
        || {
            f.manager
                .set_attribute(&alice(), &id, Attribute::Extractable(true))
        },
        |e| matches!(e, Error::InvalidAttributeValue(_)),
    );
    let mut a = aes(256);
    a.sensitive = true;
    let sensitive = f.manager.create(&alice(), a).unwrap();
    unchanged(
        &f,
        "get sensitive",
        || f.manager.get(&alice(), &sensitive, &GetRequest::default()),
        |e| matches!(e, Error::Sensitive),
    );
    unchanged(
        &f,
        "switch Sensitive off",
        || {
            f.manager
                .set_attribute(&alice(), &sensitive, Attribute::Sensitive(false))
        },
        |e| matches!(e, Error::InvalidAttributeValue(_)),
    );
}

#[test]
fn server_managed_attributes_are_read_only() {
    let f = fixture();
    let id = f.manager.create(&alice(), aes(256)).unwrap();
    for attr in [
        Attribute::State(State::Active),
        Attribute::CryptographicLength(128),
        Attribute::InitialDate(t0()),
        Attribute::DestroyDate(t0()),
        Attribute::Custom(
            "y-server".into(),
            kms_core::object::AttributeValue::Boolean(true),
        ),
    ] {
        unchanged(
            &f,
            "set a read-only attribute",
            || f.manager.set_attribute(&alice(), &id, attr.clone()),
            |e| matches!(e, Error::AttributeReadOnly(_)),
        );
        unchanged(
            &f,
            "add a read-only attribute",
            || f.manager.add_attribute(&alice(), &id, attr.clone()),
            |e| matches!(e, Error::AttributeReadOnly(_)),
        );
    }
    let mut a = aes(256);
    a.destroy_date = Some(t0());
    unchanged(
        &f,
        "create with a server-managed attribute",
        || f.manager.create(&alice(), a),
        |e| matches!(e, Error::AttributeReadOnly(_)),
    );
}

#[test]
fn a_failing_store_leaves_no_key_in_the_backend() {
    let store = Arc::new(FailingStore::default());
    let f = fixture_with_store(store.clone());
    store.fail_put.store(true, Ordering::SeqCst);
    assert!(matches!(
        f.manager.create(&alice(), aes(256)),
        Err(Error::Store(StoreError::Storage(_)))
    ));
    assert!(
        f.manager
            .register(
                &alice(),
                ObjectType::SecretData,
                raw(b"pw"),
                Attributes::default()
            )
            .is_err()
    );
    assert_eq!(f.backend.live_keys(), 0, "create and register rolled back");
    store.fail_put.store(false, Ordering::SeqCst);

    // Key pair: the private key is recorded, then the public key's write fails.
    *store.puts_before_failure.lock() = Some(1);
    let r = f.manager.create_key_pair(
        &alice(),
        CreateKeyPairRequest {
            common_attributes: ec_p256(),
            ..Default::default()
        },
    );
    assert!(r.is_err());
    assert_eq!(f.backend.live_keys(), 0, "both halves rolled back");
    assert!(
        f.snapshot().is_empty(),
        "the private key's record is gone too"
    );
    *store.puts_before_failure.lock() = None;

    // Re-key: the new key is recorded, the old one's update fails; the new key goes away, the old is untouched.
    let old = f.manager.create(&alice(), aes(256)).unwrap();
    let before = f.snapshot();
    store.fail_update.store(true, Ordering::SeqCst);
    assert!(f.manager.rekey(&alice(), &old, None).is_err());
    assert_eq!(f.snapshot(), before);
    assert_eq!(f.backend.live_keys(), 1);
    store.fail_update.store(false, Ordering::SeqCst);
}

const AUDIT_KEY: [u8; 16] = [
    0x5A, 0xC3, 0x17, 0x99, 0x42, 0xE1, 0x0D, 0x7B, 0x66, 0x28, 0xF4, 0x3E, 0xA5, 0x81, 0x2C, 0xD0,
];

/// Registers AUDIT_KEY and uses it (successes and failures) through a manager writing to `sink`; returns the id and
/// the ciphertext produced.
fn exercise(sink: Arc<dyn kms_core::audit::AuditSink>) -> (ObjectId, Vec<u8>) {
    let manager = KeyManager::builder(Arc::new(MemoryStore::new()))
        .backend(Arc::new(TrackingBackend::new()))
        .audit_sink(sink)
        .build()
        .unwrap();
    let mut a = aes(128);
    a.activation_date = Some(time::OffsetDateTime::UNIX_EPOCH);
    let id = manager
        .register(&alice(), ObjectType::SymmetricKey, raw(&AUDIT_KEY), a)
        .unwrap();
    manager.get(&alice(), &id, &GetRequest::default()).unwrap();
    let ct = manager
        .encrypt(
            &alice(),
            &id,
            &gcm(None, b"THE-AAD-MARKER"),
            b"THE-PLAINTEXT-MARKER",
        )
        .unwrap();
    manager
        .decrypt(
            &alice(),
            &id,
            &gcm(ct.iv.as_deref(), b"THE-AAD-MARKER"),
            &ct.data,
            ct.tag.as_deref(),
        )
        .unwrap();
    assert!(
        manager
            .decrypt(
                &alice(),
                &id,
                &gcm(ct.iv.as_deref(), b"x"),
                &ct.data,
                ct.tag.as_deref()
            )
            .is_err()
    );
    assert!(manager.get(&bob(), &id, &GetRequest::default()).is_err());
    (id, ct.data)
}

fn assert_no_secrets(serialized: &str, ciphertext: &[u8]) {
    let lower = serialized.to_lowercase();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let json_array = serde_json::to_string(&AUDIT_KEY.to_vec()).unwrap();
    let json_inner = &json_array[1..json_array.len() - 1];
    for secret in [
        hex(&AUDIT_KEY).as_str(),
        json_inner,
        "the-plaintext-marker",
        "the-aad-marker",
        hex(ciphertext).as_str(),
    ] {
        assert!(!lower.contains(secret), "audit output contains {secret}");
    }
}

#[test]
fn audit_events_cover_successes_and_failures_and_hold_no_secrets() {
    let memory = Arc::new(MemoryAuditSink::new());
    let (id, ct) = exercise(memory.clone());
    let events: Vec<AuditEvent> = memory.events();
    let ops: Vec<(Operation, Outcome)> = events.iter().map(|e| (e.operation, e.outcome)).collect();
    assert_eq!(
        ops,
        vec![
            (Operation::Register, Outcome::Success),
            (Operation::Get, Outcome::Success),
            (Operation::Encrypt, Outcome::Success),
            (Operation::Decrypt, Outcome::Success),
            (
                Operation::Decrypt,
                Outcome::Failure(ResultReason::CryptographicFailure)
            ),
            (Operation::Get, Outcome::Failure(ResultReason::ItemNotFound)),
        ]
    );
    assert!(events.iter().all(|e| e.object_id.as_ref() == Some(&id)));
    assert_eq!(events[5].principal, "bob");
    let serialized = serde_json::to_string(&events).unwrap();
    assert!(serialized.contains("\"Register\"") && serialized.contains("\"CryptographicFailure\""));
    assert_no_secrets(&serialized, &ct);
    let debug = format!("{events:?}");
    assert_no_secrets(&debug, &ct);

    // The JSON-lines file sink: one object per line, no secrets either.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let (_, ct) = exercise(Arc::new(JsonLinesAuditSink::open(&log).unwrap()));
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 6);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            v.get("principal").is_some() && v.get("outcome").is_some() && v.get("time").is_some()
        );
    }
    assert_no_secrets(&text, &ct);
}

#[test]
fn concurrent_updates_are_retried_on_the_new_state() {
    let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::new());
    let backend = Arc::new(TrackingBackend::new());
    let manager = Arc::new(
        KeyManager::builder(store.clone())
            .backend(backend)
            .max_update_attempts(1000)
            .build()
            .unwrap(),
    );
    let id = manager.create(&alice(), aes(256)).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let manager = manager.clone();
            let id = id.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    manager
                        .add_attribute(&alice(), &id, Attribute::ObjectGroup(format!("g{t}-{i}")))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stored = store.get(&id).unwrap();
    assert_eq!(
        stored.metadata.attributes.object_groups.len(),
        40,
        "no update was lost"
    );
    assert_eq!(stored.version, 41);
}

/// A store where every update loses the race (another writer always got there first).
#[derive(Default)]
struct AlwaysConflicting {
    inner: MemoryStore,
    updates: std::sync::atomic::AtomicU32,
}

impl ObjectStore for AlwaysConflicting {
    fn put(&self, o: &StoredObject) -> Result<(), StoreError> {
        self.inner.put(o)
    }
    fn get(&self, id: &ObjectId) -> Result<StoredObject, StoreError> {
        self.inner.get(id)
    }
    fn update(&self, o: &mut StoredObject) -> Result<(), StoreError> {
        self.updates.fetch_add(1, Ordering::SeqCst);
        Err(StoreError::VersionConflict {
            expected: o.version,
            found: o.version + 1,
        })
    }
    fn delete(&self, id: &ObjectId, v: u64) -> Result<(), StoreError> {
        self.inner.delete(id, v)
    }
    fn locate(&self, q: &LocateQuery) -> Result<Vec<ObjectId>, StoreError> {
        self.inner.locate(q)
    }
}

#[test]
fn a_race_lost_too_often_gives_a_retryable_error_after_bounded_attempts() {
    let store = Arc::new(AlwaysConflicting::default());
    let manager = KeyManager::builder(store.clone())
        .backend(Arc::new(TrackingBackend::new()))
        .max_update_attempts(5)
        .build()
        .unwrap();
    let id = manager.create(&alice(), aes(256)).unwrap();
    let e = manager.activate(&alice(), &id).unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert_eq!(store.updates.load(Ordering::SeqCst), 5);
}

#[test]
fn name_uniqueness_holds_under_concurrent_creates() {
    let f = Arc::new(fixture());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let f = f.clone();
            std::thread::spawn(move || {
                let mut a = aes(128);
                a.names = vec![Name::text("contested")];
                f.manager.create(&alice(), a).is_ok()
            })
        })
        .collect();
    let wins = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|w| *w)
        .count();
    assert_eq!(wins, 1);
    assert_eq!(f.backend.live_keys(), 1, "losers rolled their keys back");
}

/// A store where, the first time the manager writes, another writer revokes the object just before.
#[derive(Default)]
struct ConcurrentRevoke {
    inner: MemoryStore,
    fired: std::sync::atomic::AtomicBool,
}

impl ObjectStore for ConcurrentRevoke {
    fn put(&self, o: &StoredObject) -> Result<(), StoreError> {
        self.inner.put(o)
    }
    fn get(&self, id: &ObjectId) -> Result<StoredObject, StoreError> {
        self.inner.get(id)
    }
    fn update(&self, o: &mut StoredObject) -> Result<(), StoreError> {
        if !self.fired.swap(true, Ordering::SeqCst) {
            let mut other = self.inner.get(&o.metadata.id)?;
            other.metadata.state = State::Deactivated;
            self.inner.update(&mut other)?;
        }
        self.inner.update(o)
    }
    fn delete(&self, id: &ObjectId, v: u64) -> Result<(), StoreError> {
        self.inner.delete(id, v)
    }
    fn locate(&self, q: &LocateQuery) -> Result<Vec<ObjectId>, StoreError> {
        self.inner.locate(q)
    }
}

#[test]
fn a_retried_update_is_checked_again_against_the_new_state() {
    let store = Arc::new(ConcurrentRevoke::default());
    let manager = KeyManager::builder(store.clone())
        .backend(Arc::new(TrackingBackend::new()))
        .build()
        .unwrap();
    let id = manager.create(&alice(), aes(256)).unwrap();
    // Activate read Pre-Active, lost the race to the revocation, re-read Deactivated: Activate no longer applies.
    assert!(matches!(
        manager.activate(&alice(), &id),
        Err(Error::WrongKeyLifecycleState(State::Deactivated))
    ));
    let stored = store.get(&id).unwrap();
    assert_eq!(stored.metadata.state, State::Deactivated);
    assert_eq!(stored.version, 2);
}

#[test]
fn a_manager_without_cache_sees_another_writer_at_once() {
    let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::new());
    let backend = Arc::new(TrackingBackend::new());
    let writer = KeyManager::builder(store.clone())
        .backend(backend.clone())
        .build()
        .unwrap();
    let reader = KeyManager::builder(store)
        .backend(backend)
        .object_cache(0)
        .build()
        .unwrap();
    let mut a = aes(256);
    a.activation_date = Some(time::OffsetDateTime::UNIX_EPOCH);
    let id = writer.create(&alice(), a).unwrap();
    reader
        .encrypt(&alice(), &id, &gcm(None, b""), b"x")
        .unwrap();
    writer
        .revoke(
            &alice(),
            &id,
            RevocationReason {
                code: RevocationReasonCode::Superseded,
                message: None,
            },
            None,
        )
        .unwrap();
    assert!(matches!(
        reader.encrypt(&alice(), &id, &gcm(None, b""), b"x"),
        Err(Error::WrongKeyLifecycleState(State::Deactivated))
    ));
    // The writer's own cache follows its own writes.
    assert!(
        writer
            .encrypt(&alice(), &id, &gcm(None, b""), b"x")
            .is_err()
    );
}

#[test]
fn principals_and_the_audit_file_are_checked() {
    assert!(kms_core::Principal::new("").is_err());
    assert!(kms_core::Principal::new("x".repeat(kms_core::Principal::MAX_NAME_LEN + 1)).is_err());
    assert!(kms_core::Principal::admin("root").unwrap().is_admin());
    assert!(!alice().is_admin());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let _sink = JsonLinesAuditSink::open(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the audit log is private");
    }
}

#[test]
fn reconcile_reports_keys_of_a_backend_that_is_not_configured() {
    let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::new());
    let first = KeyManager::builder(store.clone())
        .backend(Arc::new(TrackingBackend::new()))
        .build()
        .unwrap();
    let id = first.create(&alice(), aes(256)).unwrap();
    // A manager whose only backend has another id cannot reach the key.
    struct Renamed(TrackingBackend);
    impl kms_core::KeyBackend for Renamed {
        fn id(&self) -> &str {
            "elsewhere"
        }
        fn capabilities(&self) -> &kms_core::backend::Capabilities {
            self.0.capabilities()
        }
        fn generate(
            &self,
            spec: &kms_core::backend::KeySpec,
            policy: &kms_core::backend::KeyPolicy<'_>,
        ) -> Result<kms_core::backend::GeneratedKey, kms_core::backend::BackendError> {
            self.0.generate(spec, policy)
        }
        fn import(
            &self,
            t: ObjectType,
            a: Option<kms_core::object::CryptographicAlgorithm>,
            m: &kms_core::KeyMaterial,
            p: &kms_core::backend::KeyPolicy<'_>,
        ) -> Result<kms_core::KeyRef, kms_core::backend::BackendError> {
            self.0.import(t, a, m, p)
        }
        fn export(
            &self,
            k: &kms_core::KeyRef,
        ) -> Result<kms_core::KeyMaterial, kms_core::backend::BackendError> {
            self.0.export(k)
        }
        fn destroy(&self, k: &kms_core::KeyRef) -> Result<(), kms_core::backend::BackendError> {
            self.0.destroy(k)
        }
        fn exists(&self, k: &kms_core::KeyRef) -> Result<bool, kms_core::backend::BackendError> {
            self.0.exists(k)
        }
    }
    let second = KeyManager::builder(store)
        .backend(Arc::new(Renamed(TrackingBackend::new())))
        .build()
        .unwrap();
    let missing = second.reconcile(Default::default()).unwrap();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].id, id);
    assert_eq!(missing[0].backend, "software");
    // Using the key through the second manager is a backend failure, not a crash.
    let err = second.activate(&alice(), &id).and_then(|()| {
        second
            .encrypt(&alice(), &id, &gcm(None, b""), b"x")
            .map(|_| ())
    });
    assert!(matches!(err, Err(Error::Backend(_))), "{err:?}");
}

#[test]
fn the_builder_refuses_no_backend_and_duplicate_ids() {
    assert!(matches!(
        KeyManager::builder(Arc::new(MemoryStore::new())).build(),
        Err(Error::MissingData(_))
    ));
    let r = KeyManager::builder(Arc::new(MemoryStore::new()))
        .backend(Arc::new(TrackingBackend::new()))
        .backend(Arc::new(TrackingBackend::new()))
        .build();
    assert!(matches!(r, Err(Error::InvalidField(_))));
}
