//! The [`KeyManager`]: the one entry point protocol crates call.
//!
//! One file per family of KMIP operations: [`create`](KeyManager::create) and
//! [`register`](KeyManager::register) (create.rs), [`get`](KeyManager::get) (get.rs), attribute operations
//! (attributes.rs), [`locate`](KeyManager::locate) (locate.rs), the lifecycle (lifecycle.rs), cryptographic
//! operations (crypto.rs), key wrapping (wrap.rs), key derivation (derive.rs), grants (access.rs) and start-up
//! reconciliation (reconcile.rs), split keys (split_key.rs).
//!
//! Every operation takes the caller as a [`Principal`]. An object the caller may not see answers exactly like a
//! missing one ([`Error::ItemNotFound`]). Every operation, successful or not, emits one [`AuditEvent`].
//! Updates are optimistic: the object is read, checked and changed, and written back only if nobody wrote it in
//! between; otherwise the whole operation (checks included) runs again on the new state, a bounded number of times.

mod access;
mod attributes;
mod cache;
mod clock;
mod create;
mod crypto;
mod derive;
mod digest;
mod get;
mod import;
mod lifecycle;
mod locate;
mod reconcile;
mod split_key;
mod stream;
mod usage_limits;
mod wrap;

use std::ops::ControlFlow;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use self::cache::ObjectCache;
use time::OffsetDateTime;

pub use attributes::{Adjustment, Attribute, AttributeName};
pub use clock::{Clock, ManualClock, SystemClock};
pub use create::{CreateKeyPairRequest, KeyPairIds};
pub use crypto::CheckRequest;
pub use derive::DerivationMethod;
pub use get::{ExportedKey, GetRequest, KeyWrappingSpec, ManagedObject};
pub use import::ImportRequest;
pub use lifecycle::Activation;
pub use locate::Located;
pub use reconcile::{MissingKey, ReconcileOptions};
pub use split_key::{
    CreateSplitKeyRequest, JoinSplitKeyRequest, MAX_SPLIT_KEY_PARTS, SecretSharing, SharePart,
};
pub use stream::{
    DecryptStep, EncryptStep, MAX_STREAM_BYTES, MAX_STREAM_STEPS, MAX_STREAMS,
    MAX_STREAMS_PER_CALLER, STREAM_IDLE, StreamStep,
};

use crate::audit::{AuditEvent, AuditSink, Operation, Outcome, TracingAuditSink};
use crate::backend::{Capabilities, KeyBackend, KeyRef};
use crate::error::{Error, Result};
use crate::object::{
    LifecycleEvent, ObjectId, ObjectMetadata, ObjectType, Purpose, Rights, State, UsageMask,
};
use crate::principal::Principal;
use crate::store::{LocateQuery, ObjectStore, StoreError, StoredObject};

/// How many times an update is re-read and re-applied after losing a race, by default.
const DEFAULT_UPDATE_ATTEMPTS: u32 = 8;

/// How many objects the read cache keeps by default.
pub const DEFAULT_OBJECT_CACHE: usize = 4096;

/// Largest input accepted by data operations (encrypt, sign, hash, ...): KMIP's 16 MiB message limit.
pub const MAX_DATA_LEN: usize = 16 << 20;

/// The key manager: lifecycle, attributes, access control and audit over an [`ObjectStore`] and one or more
/// [`KeyBackend`]s.
///
/// `Send + Sync`; share it in an `Arc`. Every method is synchronous and takes `&self`.
///
/// ```
/// use std::sync::Arc;
/// use kms_core::backend::CipherParams;
/// use kms_core::object::{CryptographicAlgorithm, UsageMask};
/// use kms_core::{Attributes, KeyManager, MemoryStore, Principal, SoftwareBackend};
///
/// let manager = KeyManager::builder(Arc::new(MemoryStore::new()))
///     .backend(Arc::new(SoftwareBackend::new()))
///     .build()?;
/// let alice = Principal::new("alice")?;
/// let mut attributes = Attributes::default();
/// attributes.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
/// attributes.cryptographic_length = Some(256);
/// attributes.cryptographic_usage_mask = Some(UsageMask::ENCRYPT | UsageMask::DECRYPT);
/// let id = manager.create(&alice, attributes)?;
/// manager.activate(&alice, &id)?;
///
/// let sealed = manager.encrypt(&alice, &id, &CipherParams::AesGcm { iv: None, aad: b"", tag_len: 16 }, b"hi")?;
/// let params = CipherParams::AesGcm { iv: sealed.iv.as_deref(), aad: b"", tag_len: 16 };
/// let opened = manager.decrypt(&alice, &id, &params, &sealed.data, sealed.tag.as_deref())?;
/// assert_eq!(&opened[..], b"hi");
///
/// // Nobody else sees the key: the answer is the one for a missing id.
/// let bob = Principal::new("bob")?;
/// assert!(matches!(manager.metadata(&bob, &id), Err(kms_core::Error::ItemNotFound)));
/// # Ok::<(), kms_core::Error>(())
/// ```
pub struct KeyManager {
    store: Arc<dyn ObjectStore>,
    backends: Vec<Arc<dyn KeyBackend>>,
    default_backend: usize,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
    max_update_attempts: u32,
    /// Objects as last read or written by this manager, so that using a key costs no store read.
    cache: ObjectCache,
    /// Serialise the check-then-write of each Name, so that two concurrent creates cannot both take it. (Within
    /// one process: stores shared by several processes would need a unique index.)
    names: NameLocks,
    /// Streamed Encrypt and Decrypt in progress, by Correlation Value.
    streams: stream::Streams,
}

impl std::fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyManager")
            .field(
                "backends",
                &self.backends.iter().map(|b| b.id()).collect::<Vec<_>>(),
            )
            .field("default_backend", &self.backends[self.default_backend].id())
            .finish_non_exhaustive()
    }
}

/// Builds a [`KeyManager`].
#[must_use]
pub struct KeyManagerBuilder {
    store: Arc<dyn ObjectStore>,
    backends: Vec<Arc<dyn KeyBackend>>,
    default_backend: Option<usize>,
    audit: Option<Arc<dyn AuditSink>>,
    clock: Option<Arc<dyn Clock>>,
    max_update_attempts: u32,
    object_cache: usize,
}

impl KeyManagerBuilder {
    /// Adds a backend. Keys are routed to the backend whose id their [`KeyRef`] carries; the first backend added
    /// generates new keys unless [`KeyManagerBuilder::default_backend`] names another.
    pub fn backend(mut self, backend: Arc<dyn KeyBackend>) -> Self {
        self.backends.push(backend);
        self
    }

    /// Adds a backend and makes it the one that generates and imports new keys.
    pub fn default_backend(mut self, backend: Arc<dyn KeyBackend>) -> Self {
        self.default_backend = Some(self.backends.len());
        self.backends.push(backend);
        self
    }

    /// Where audit events go (default: [`TracingAuditSink`]).
    pub fn audit_sink(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }

    /// Where the time comes from (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How many times an update runs before a concurrent-update conflict is returned (default 8, at least 1).
    pub fn max_update_attempts(mut self, attempts: u32) -> Self {
        self.max_update_attempts = attempts.max(1);
        self
    }

    /// How many objects the manager keeps in its read cache (default [`DEFAULT_OBJECT_CACHE`]; 0 turns it off).
    ///
    /// Cryptographic operations then read the key's record from memory instead of the store. The cache is kept
    /// exact by this manager's own writes, so it assumes that it is the only writer of its store (true of the
    /// embedded stores, which one process opens); turn it off when other processes or code write to the same store.
    pub fn object_cache(mut self, capacity: usize) -> Self {
        self.object_cache = capacity;
        self
    }

    /// The manager.
    ///
    /// # Errors
    /// [`Error::MissingData`] without a backend; [`Error::InvalidField`] when two backends share an id.
    pub fn build(self) -> Result<KeyManager> {
        if self.backends.is_empty() {
            return Err(Error::MissingData("a key backend".into()));
        }
        for (i, b) in self.backends.iter().enumerate() {
            if self.backends[..i].iter().any(|o| o.id() == b.id()) {
                return Err(Error::InvalidField(format!(
                    "two backends have the id {:?}",
                    b.id()
                )));
            }
        }
        Ok(KeyManager {
            store: self.store,
            backends: self.backends,
            default_backend: self.default_backend.unwrap_or(0),
            audit: self.audit.unwrap_or_else(|| Arc::new(TracingAuditSink)),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            max_update_attempts: self.max_update_attempts,
            cache: ObjectCache::new(self.object_cache),
            names: NameLocks::new(),
            streams: stream::Streams::default(),
        })
    }
}

impl KeyManager {
    /// Starts building a manager over `store`.
    pub fn builder(store: Arc<dyn ObjectStore>) -> KeyManagerBuilder {
        KeyManagerBuilder {
            store,
            backends: Vec::new(),
            default_backend: None,
            audit: None,
            clock: None,
            max_update_attempts: DEFAULT_UPDATE_ATTEMPTS,
            object_cache: DEFAULT_OBJECT_CACHE,
        }
    }

    /// The backends, by id, with what each can do (for KMIP Query).
    pub fn backends(&self) -> impl Iterator<Item = (&str, &Capabilities)> {
        self.backends.iter().map(|b| (b.id(), b.capabilities()))
    }

    /// The id of the backend that generates new keys.
    #[must_use]
    pub fn default_backend_id(&self) -> &str {
        self.backends[self.default_backend].id()
    }

    // ----- shared machinery of the operation files -----

    /// Now, to whole seconds: KMIP Date-Time has a resolution of one second, and stores round-trip it exactly.
    fn now(&self) -> OffsetDateTime {
        whole_seconds(self.clock.now())
    }

    fn default_backend(&self) -> &dyn KeyBackend {
        self.backends[self.default_backend].as_ref()
    }

    /// The backend that issued `key`.
    fn backend_for(&self, key: &KeyRef) -> Result<&dyn KeyBackend> {
        self.backends
            .iter()
            .find(|b| b.id() == key.backend())
            .map(AsRef::as_ref)
            .ok_or_else(|| Error::Backend(crate::backend::BackendError::ForeignKeyRef))
    }

    /// Emits the audit event of one operation and passes its result through.
    fn audited<T>(
        &self,
        who: &Principal,
        operation: Operation,
        object_id: Option<&ObjectId>,
        result: Result<T>,
    ) -> Result<T> {
        self.audited_at(who, operation, object_id, self.now(), result)
    }

    /// [`KeyManager::audited`] with the time the operation already read, so that a call reads the clock once.
    fn audited_at<T>(
        &self,
        who: &Principal,
        operation: Operation,
        object_id: Option<&ObjectId>,
        time: OffsetDateTime,
        result: Result<T>,
    ) -> Result<T> {
        self.audited_with(who, operation, object_id, || time, result)
    }

    /// [`KeyManager::audited_at`] with the time read only when the sink keeps the event (a key use whose
    /// checks consulted no date has not read it).
    fn audited_with<T>(
        &self,
        who: &Principal,
        operation: Operation,
        object_id: Option<&ObjectId>,
        time: impl FnOnce() -> OffsetDateTime,
        result: Result<T>,
    ) -> Result<T> {
        let outcome = outcome_of(result.as_ref().err());
        // The event's strings are only built for a sink that keeps it.
        if self.audit.wants(outcome) {
            self.audit.record(&AuditEvent {
                time: time(),
                principal: who.name().to_owned(),
                operation,
                object_id: object_id.cloned(),
                outcome,
            });
        }
        result
    }

    fn emit(
        &self,
        who: &Principal,
        operation: Operation,
        object_id: Option<ObjectId>,
        error: Option<&Error>,
    ) {
        let outcome = outcome_of(error);
        if self.audit.wants(outcome) {
            self.audit.record(&AuditEvent {
                time: self.now(),
                principal: who.name().to_owned(),
                operation,
                object_id,
                outcome,
            });
        }
    }

    /// Reads an object the caller may act on with `right`, its state brought up to date with its dates.
    fn load(
        &self,
        who: &Principal,
        id: &ObjectId,
        right: Rights,
        now: OffsetDateTime,
    ) -> Result<StoredObject> {
        let shared = self.load_shared(who, id, right)?;
        let mut object = StoredObject::clone(&shared);
        apply_dates(&mut object.metadata, now);
        Ok(object)
    }

    /// Reads an object the caller may act on with `right`, from the cache when it is there. The stored state is
    /// returned as is: callers use [`effective_state`] for dates that have passed.
    fn load_shared(
        &self,
        who: &Principal,
        id: &ObjectId,
        right: Rights,
    ) -> Result<Arc<StoredObject>> {
        let object = match self.cache.get(id) {
            Some(o) => o,
            None => {
                let o = Arc::new(self.store.get(id)?);
                self.cache.offer(&o);
                o
            }
        };
        check_access(who, &object.metadata, right)?;
        Ok(object)
    }

    /// Reads an object for an update: always from the store, so that the optimistic version is the stored one.
    fn load_fresh(
        &self,
        who: &Principal,
        id: &ObjectId,
        right: Rights,
        now: OffsetDateTime,
    ) -> Result<StoredObject> {
        let mut object = self.store.get(id)?;
        check_access(who, &object.metadata, right)?;
        apply_dates(&mut object.metadata, now);
        Ok(object)
    }

    /// Reads, changes with `change` and writes back an object, re-running everything when a concurrent update wins
    /// (so `change` always checks the latest state). Sets Last Change Date.
    fn update_object<T>(
        &self,
        who: &Principal,
        id: &ObjectId,
        right: Rights,
        mut change: impl FnMut(&mut StoredObject, OffsetDateTime) -> Result<T>,
    ) -> Result<(T, StoredObject)> {
        self.update_object_if_needed(who, id, right, |object, now| {
            change(object, now).map(ControlFlow::Continue)
        })
    }

    /// [`KeyManager::update_object`] for a change that the latest version may no longer need (a concurrent caller
    /// made it first): `change` answers `Break` to leave the object as read, unwritten. Concurrent callers making
    /// the same change then conflict once, not until their attempts run out.
    fn update_object_if_needed<T>(
        &self,
        who: &Principal,
        id: &ObjectId,
        right: Rights,
        mut change: impl FnMut(&mut StoredObject, OffsetDateTime) -> Result<ControlFlow<T, T>>,
    ) -> Result<(T, StoredObject)> {
        let mut attempt = 1;
        loop {
            let now = self.now();
            let mut object = self.load_fresh(who, id, right, now)?;
            let out = match change(&mut object, now)? {
                ControlFlow::Continue(out) => out,
                ControlFlow::Break(out) => return Ok((out, object)),
            };
            object.metadata.attributes.last_change_date = Some(now);
            match self.store.update(&mut object) {
                Ok(()) => {
                    self.cache.offer(&Arc::new(object.clone()));
                    return Ok((out, object));
                }
                Err(StoreError::VersionConflict { .. }) if attempt < self.max_update_attempts => {
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Fails with [`Error::NonUniqueNameAttribute`] when `owner` has a live object other than `except` carrying
    /// one of `names` (or when `names` repeats a value).
    fn check_names_unique(
        &self,
        owner: &str,
        names: &[crate::object::Name],
        except: &[&ObjectId],
    ) -> Result<()> {
        for (i, name) in names.iter().enumerate() {
            if names[..i].iter().any(|n| n.value == name.value) {
                return Err(Error::NonUniqueNameAttribute);
            }
            let query = LocateQuery {
                name: Some(name.value.clone()),
                ..LocateQuery::default()
            };
            for id in self.store.locate(&query)? {
                if except.contains(&&id) {
                    continue;
                }
                match self.store.get(&id) {
                    Ok(o) if o.metadata.owner == owner && o.metadata.state.has_key_material() => {
                        return Err(Error::NonUniqueNameAttribute);
                    }
                    Ok(_) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Records a new object whose key the backend just made; if recording fails, destroys the backend key so that
    /// nothing is left behind (Parsec's create/rollback).
    fn record_new(&self, object: &StoredObject) -> Result<()> {
        let names = &object.metadata.attributes.names;
        let result = if names.is_empty() {
            self.store.put(object).map_err(Error::from)
        } else {
            let _names = self.names.lock(names.iter().map(|n| n.value.as_str()));
            self.check_names_unique(&object.metadata.owner, names, &[])
                .and_then(|()| self.store.put(object).map_err(Error::from))
        };
        if let Err(e) = result {
            if let Some(key) = &object.key {
                self.discard_key(key);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Destroys a backend key that no record refers to (rollback); failures are logged, the original error matters.
    fn discard_key(&self, key: &KeyRef) {
        let result = self
            .backend_for(key)
            .and_then(|b| b.destroy(key).map_err(Error::from));
        if let Err(e) = result {
            tracing::error!(target: "kms_core::manager", error = %e, "rollback could not destroy a backend key");
        }
    }
}

/// Striped locks over Name values: creates with different names do not wait for each other's (durable, so slow)
/// store write, and two with one name are serialised.
struct NameLocks {
    stripes: Vec<Mutex<()>>,
}

impl NameLocks {
    const STRIPES: usize = 64;

    fn new() -> Self {
        Self {
            stripes: (0..Self::STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Locks the stripes of `names`, in index order so that two callers cannot deadlock.
    fn lock<'a, 'n>(&'a self, names: impl Iterator<Item = &'n str>) -> Vec<MutexGuard<'a, ()>> {
        use std::hash::{Hash, Hasher};
        let mut stripes: Vec<usize> = names
            .map(|n| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                n.hash(&mut h);
                (h.finish() % Self::STRIPES as u64) as usize
            })
            .collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes
            .into_iter()
            .map(|i| self.stripes[i].lock())
            .collect()
    }
}

/// KMIP Date-Time has a resolution of one second: the manager's clock and the dates clients give are both cut to
/// whole seconds, so that a date compares with "now" as it will after a round trip through any protocol.
fn outcome_of(error: Option<&Error>) -> Outcome {
    match error {
        None => Outcome::Success,
        Some(e) => Outcome::Failure(e.result_reason()),
    }
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Owner and administrators may do everything; others what their grant says. Without any visible grant the object
/// does not exist for the caller; with READ but not the needed right, the answer is Permission Denied.
fn check_access(who: &Principal, m: &ObjectMetadata, right: Rights) -> Result<()> {
    if who.is_admin() || m.owner == who.name() {
        return Ok(());
    }
    match m.grants.iter().find(|g| g.principal == who.name()) {
        Some(g) if g.rights.contains(right) => Ok(()),
        Some(g) if g.rights.contains(Rights::READ) => Err(Error::PermissionDenied),
        _ => Err(Error::ItemNotFound),
    }
}

/// Honours Activation and Deactivation Dates that have passed (KMIP: reaching them changes the State). Returns
/// whether the state changed.
fn apply_dates(m: &mut ObjectMetadata, now: OffsetDateTime) -> bool {
    let before = m.state;
    m.state = effective_state(m, now);
    m.state != before
}

/// The state an object is in at `now`: its stored state, moved on by Activation and Deactivation Dates that have
/// passed since it was written.
fn effective_state(m: &ObjectMetadata, now: OffsetDateTime) -> State {
    let a = &m.attributes;
    let mut state = m.state;
    if state == State::PreActive
        && a.activation_date.is_some_and(|d| d <= now)
        && let Ok(s) = state.apply(LifecycleEvent::Activate)
    {
        state = s;
    }
    if matches!(state, State::PreActive | State::Active)
        && a.deactivation_date.is_some_and(|d| d <= now)
        && let Ok(s) = state.apply(LifecycleEvent::Deactivate)
    {
        state = s;
    }
    state
}

/// Checks that `object` may be used now for `purpose` with the usage `needed`, and returns its key.
fn usable<'a>(
    object: &'a StoredObject,
    types: &[ObjectType],
    purpose: Purpose,
    needed: UsageMask,
    now: OffsetDateTime,
) -> Result<&'a KeyRef> {
    usable_with(object, types, purpose, needed, || now)
}

/// [`usable`], reading the time only when the object has one of the dates the checks compare with it: most
/// keys have none, and the clock is then not read at all.
fn usable_with<'a>(
    object: &'a StoredObject,
    types: &[ObjectType],
    purpose: Purpose,
    needed: UsageMask,
    now: impl FnOnce() -> OffsetDateTime,
) -> Result<&'a KeyRef> {
    let m = &object.metadata;
    if !types.contains(&m.object_type) {
        return Err(Error::IllegalObjectType);
    }
    let a = &m.attributes;
    // The dates `effective_state` and the usage period compare with now, under the conditions they do.
    let dated = (m.state == State::PreActive && a.activation_date.is_some())
        || (matches!(m.state, State::PreActive | State::Active) && a.deactivation_date.is_some())
        || a.protect_stop_date.is_some()
        || a.process_start_date.is_some();
    let (state, outside) = if dated {
        let now = now();
        // Protect Stop and Process Start Dates narrow the usage period inside the Active state (KMIP 2.1
        // §4.32, §4.31).
        let outside = match purpose {
            Purpose::Protect => a.protect_stop_date.is_some_and(|d| d <= now),
            Purpose::Process => a.process_start_date.is_some_and(|d| d > now),
        };
        (effective_state(m, now), outside)
    } else {
        (m.state, false)
    };
    if !state.permits(purpose) {
        return Err(Error::WrongKeyLifecycleState(state));
    }
    if outside {
        return Err(Error::WrongKeyLifecycleState(state));
    }
    require_usage(m, needed)?;
    object.key.as_ref().ok_or_else(|| Error::KeyValueNotPresent)
}

fn require_usage(m: &ObjectMetadata, needed: UsageMask) -> Result<()> {
    let mask = m
        .attributes
        .cryptographic_usage_mask
        .unwrap_or(UsageMask::empty());
    if mask.contains(UsageMask::UNRESTRICTED) || mask.contains(needed) {
        Ok(())
    } else {
        Err(Error::IncompatibleCryptographicUsageMask(needed))
    }
}

fn check_data_len(data: &[u8]) -> Result<()> {
    if data.len() > MAX_DATA_LEN {
        return Err(Error::InvalidField(format!(
            "data longer than {MAX_DATA_LEN} bytes"
        )));
    }
    Ok(())
}
