//! Shared set-up of the KeyManager tests: a manager over MemoryStore and the SoftwareBackend, with an in-memory
//! audit sink and a manual clock; a backend wrapper that tracks which keys exist; a store wrapper that fails.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use kms_core::audit::MemoryAuditSink;
use kms_core::backend::{
    BackendError, Capabilities, Cipher, GeneratedKey, KeyAgreement, KeyPolicy, KeySpec, KeyWrap,
    Mac, Random, Signer,
};
use kms_core::manager::ManualClock;
use kms_core::object::{CryptographicAlgorithm, ObjectId, RecommendedCurve, UsageMask};
use kms_core::store::{LocateQuery, StoreError};
use kms_core::{
    Attributes, KeyBackend, KeyManager, KeyMaterial, KeyRef, MemoryStore, ObjectStore, ObjectType,
    Principal, SoftwareBackend, StoredObject,
};

/// 2026-01-01T00:00:00Z, the tests' "now".
pub fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap()
}

pub struct Fixture {
    pub manager: KeyManager,
    pub store: Arc<dyn ObjectStore>,
    pub backend: Arc<TrackingBackend>,
    pub audit: Arc<MemoryAuditSink>,
    pub clock: Arc<ManualClock>,
}

pub fn fixture() -> Fixture {
    fixture_with_store(Arc::new(MemoryStore::new()))
}

pub fn fixture_with_store(store: Arc<dyn ObjectStore>) -> Fixture {
    let backend = Arc::new(TrackingBackend::new());
    let audit = Arc::new(MemoryAuditSink::new());
    let clock = Arc::new(ManualClock::new(t0()));
    let manager = KeyManager::builder(store.clone())
        .backend(backend.clone())
        .audit_sink(audit.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    Fixture {
        manager,
        store,
        backend,
        audit,
        clock,
    }
}

pub fn alice() -> Principal {
    Principal::new("alice").unwrap()
}
pub fn bob() -> Principal {
    Principal::new("bob").unwrap()
}
pub fn admin() -> Principal {
    Principal::admin("root").unwrap()
}

pub fn aes(bits: u32) -> Attributes {
    let mut a = Attributes::default();
    a.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
    a.cryptographic_length = Some(bits);
    a
}

pub fn hmac256() -> Attributes {
    let mut a = Attributes::default();
    a.cryptographic_algorithm = Some(CryptographicAlgorithm::HmacSha256);
    a.cryptographic_length = Some(256);
    a
}

pub fn ec_p256() -> Attributes {
    let mut a = Attributes::default();
    a.cryptographic_algorithm = Some(CryptographicAlgorithm::Ec);
    a.recommended_curve = Some(RecommendedCurve::P256);
    a
}

pub fn rsa(bits: u32) -> Attributes {
    let mut a = Attributes::default();
    a.cryptographic_algorithm = Some(CryptographicAlgorithm::Rsa);
    a.cryptographic_length = Some(bits);
    a
}

/// An AES-256 key, Active (activation date = now), owned by `who`.
pub fn active_aes(f: &Fixture, who: &Principal) -> ObjectId {
    let mut a = aes(256);
    a.activation_date = Some(f.clock_now());
    a.cryptographic_usage_mask =
        Some(UsageMask::ENCRYPT | UsageMask::DECRYPT | UsageMask::WRAP_KEY | UsageMask::UNWRAP_KEY);
    f.manager.create(who, a).unwrap()
}

impl Fixture {
    pub fn clock_now(&self) -> OffsetDateTime {
        use kms_core::manager::Clock;
        self.clock.now()
    }

    /// The stored record (version included), straight from the store.
    pub fn stored(&self, id: &ObjectId) -> StoredObject {
        self.store.get(id).unwrap()
    }

    /// Every record of the store, for before/after comparisons.
    pub fn snapshot(&self) -> Vec<StoredObject> {
        self.store
            .locate(&LocateQuery::default())
            .unwrap()
            .iter()
            .map(|id| self.store.get(id).unwrap())
            .collect()
    }
}

/// The SoftwareBackend, plus a record of which keys it has issued and not destroyed, so that tests can see what
/// exists in the backend (the software backend keeps its material inside the KeyRef and cannot tell).
pub struct TrackingBackend {
    inner: SoftwareBackend,
    live: Mutex<HashSet<Vec<u8>>>,
}

impl TrackingBackend {
    pub fn new() -> Self {
        Self {
            inner: SoftwareBackend::new(),
            live: Mutex::new(HashSet::new()),
        }
    }
    pub fn live_keys(&self) -> usize {
        self.live.lock().len()
    }
    /// Forgets a key, as if the device lost it.
    pub fn lose(&self, key: &KeyRef) {
        self.live.lock().remove(key.encode().as_slice());
    }
    fn track(&self, key: &KeyRef) {
        self.live.lock().insert(key.encode().to_vec());
    }
}

impl KeyBackend for TrackingBackend {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
    fn generate(
        &self,
        spec: &KeySpec,
        policy: &KeyPolicy<'_>,
    ) -> Result<GeneratedKey, BackendError> {
        let g = self.inner.generate(spec, policy)?;
        match &g {
            GeneratedKey::Symmetric(k) => self.track(k),
            GeneratedKey::KeyPair { private, public } => {
                self.track(private);
                self.track(public);
            }
        }
        Ok(g)
    }
    fn import(
        &self,
        object_type: ObjectType,
        algorithm: Option<CryptographicAlgorithm>,
        material: &KeyMaterial,
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError> {
        let k = self
            .inner
            .import(object_type, algorithm, material, policy)?;
        self.track(&k);
        Ok(k)
    }
    fn export(&self, key: &KeyRef) -> Result<KeyMaterial, BackendError> {
        self.inner.export(key)
    }
    fn destroy(&self, key: &KeyRef) -> Result<(), BackendError> {
        self.live.lock().remove(key.encode().as_slice());
        self.inner.destroy(key)
    }
    fn exists(&self, key: &KeyRef) -> Result<bool, BackendError> {
        Ok(self.live.lock().contains(key.encode().as_slice()))
    }
    fn cipher(&self) -> Option<&dyn Cipher> {
        self.inner.cipher()
    }
    fn signer(&self) -> Option<&dyn Signer> {
        self.inner.signer()
    }
    fn mac(&self) -> Option<&dyn Mac> {
        KeyBackend::mac(&self.inner)
    }
    fn key_wrap(&self) -> Option<&dyn KeyWrap> {
        // Unwrapped keys are new keys: track them too.
        Some(self)
    }
    fn key_agreement(&self) -> Option<&dyn KeyAgreement> {
        self.inner.key_agreement()
    }
    fn random(&self) -> Option<&dyn Random> {
        self.inner.random()
    }
}

impl KeyWrap for TrackingBackend {
    fn wrap(
        &self,
        wrapping_key: &KeyRef,
        algorithm: kms_core::backend::WrapAlgorithm,
        target: &KeyRef,
    ) -> Result<Vec<u8>, BackendError> {
        self.inner
            .key_wrap()
            .unwrap()
            .wrap(wrapping_key, algorithm, target)
    }
    fn unwrap(
        &self,
        unwrapping_key: &KeyRef,
        algorithm: kms_core::backend::WrapAlgorithm,
        wrapped: &[u8],
        object_type: ObjectType,
        key_algorithm: CryptographicAlgorithm,
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError> {
        let k = self.inner.key_wrap().unwrap().unwrap(
            unwrapping_key,
            algorithm,
            wrapped,
            object_type,
            key_algorithm,
            policy,
        )?;
        self.track(&k);
        Ok(k)
    }
}

/// A MemoryStore whose writes can be made to fail, to test rollback.
#[derive(Default)]
pub struct FailingStore {
    pub inner: MemoryStore,
    pub fail_put: AtomicBool,
    /// Fail puts after this many more succeed (for the second half of a key pair); None: see fail_put.
    pub puts_before_failure: Mutex<Option<usize>>,
    pub fail_update: AtomicBool,
}

fn injected() -> StoreError {
    StoreError::Storage("injected failure".into())
}

impl ObjectStore for FailingStore {
    fn put(&self, object: &StoredObject) -> Result<(), StoreError> {
        if self.fail_put.load(Ordering::SeqCst) {
            return Err(injected());
        }
        let mut left = self.puts_before_failure.lock();
        if let Some(n) = left.as_mut() {
            if *n == 0 {
                return Err(injected());
            }
            *n -= 1;
        }
        self.inner.put(object)
    }
    fn get(&self, id: &ObjectId) -> Result<StoredObject, StoreError> {
        self.inner.get(id)
    }
    fn update(&self, object: &mut StoredObject) -> Result<(), StoreError> {
        if self.fail_update.load(Ordering::SeqCst) {
            return Err(injected());
        }
        self.inner.update(object)
    }
    fn delete(&self, id: &ObjectId, expected_version: u64) -> Result<(), StoreError> {
        self.inner.delete(id, expected_version)
    }
    fn locate(&self, query: &LocateQuery) -> Result<Vec<ObjectId>, StoreError> {
        self.inner.locate(query)
    }
}

pub fn raw(bytes: &[u8]) -> KeyMaterial {
    KeyMaterial::new(kms_core::KeyFormat::Raw, Zeroizing::new(bytes.to_vec()))
}
