//! Object stores: where managed objects (metadata and [`KeyRef`]s) persist.
//!
//! Every store passes the one contract suite, `store::contract` (feature `contract-tests`), which
//! `tests/store_contract.rs` runs against each store of this crate. Durable stores seal each record's [`KeyRef`] at
//! rest with AES-256-GCM under a root key, with the object id and version as associated data ([`seal`]).

#[cfg(feature = "contract-tests")]
#[doc(hidden)]
pub mod contract;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod query;
#[cfg(feature = "redb")]
mod redb;
pub mod seal;

use std::error::Error as StdError;

#[cfg(feature = "redb")]
pub use self::redb::{CommitStats, RedbOptions, RedbStore};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{
    PostgresError, PostgresOptions, PostgresStore, PutStats,
    SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION,
};
pub use query::{DateRange, LocateQuery};
pub use seal::{FileRootKey, RootKeyError, RootKeyProvider, Sealer};

use crate::backend::KeyRef;
use crate::object::{ObjectId, ObjectMetadata};

/// One managed object as a store keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredObject {
    /// Identity, type, state, owner and attributes.
    pub metadata: ObjectMetadata,
    /// The key value, as the backend that holds it refers to it; `None` once destroyed.
    pub key: Option<KeyRef>,
    /// Optimistic-concurrency version: 1 when first put, incremented by every update.
    pub version: u64,
}

/// Errors of object stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No object with that id.
    #[error("object not found")]
    NotFound,
    /// An object with that id exists already.
    #[error("object already exists")]
    AlreadyExists,
    /// The object changed since it was read: read it again and retry.
    #[error("concurrent update: expected version {expected}, found {found}")]
    VersionConflict {
        /// The version the caller read.
        expected: u64,
        /// The version stored now.
        found: u64,
    },
    /// A record failed its integrity check (tampered, or sealed under another root key).
    #[error("stored record failed its integrity check")]
    Integrity,
    /// The store cannot be reached now (database restarting, connection lost); retrying may succeed.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// Any other failure of the underlying storage.
    #[error("storage failure: {0}")]
    Storage(#[source] Box<dyn StdError + Send + Sync>),
    /// The caller broke the contract (e.g. put with a version other than 1).
    #[error("invalid store request: {0}")]
    InvalidRequest(&'static str),
}

impl StoreError {
    /// Whether retrying the operation (after re-reading, for a version conflict) may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::VersionConflict { .. } | StoreError::Unavailable(_)
        )
    }
}

/// Persistence of managed objects with optimistic concurrency.
///
/// Synchronous and `Send + Sync`; implementations lock inside. Every successful `put`, `update` and `delete` is
/// durable when it returns (for durable stores).
pub trait ObjectStore: Send + Sync {
    /// Stores a new object. `object.version` must be 1.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] when the id is taken; storage errors.
    fn put(&self, object: &StoredObject) -> Result<(), StoreError>;

    /// Reads an object.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Integrity`] when the record was tampered with; storage errors.
    fn get(&self, id: &ObjectId) -> Result<StoredObject, StoreError>;

    /// Replaces an object if it is still at `object.version`, then increments `object.version` to the stored one.
    ///
    /// # Errors
    /// [`StoreError::VersionConflict`] when another writer updated it first; [`StoreError::NotFound`]; storage
    /// errors. On error nothing is written.
    fn update(&self, object: &mut StoredObject) -> Result<(), StoreError>;

    /// Removes an object if it is still at `expected_version` (used by create rollback and purges; KMIP Destroy keeps
    /// the object and drops only its key value).
    ///
    /// # Errors
    /// [`StoreError::VersionConflict`], [`StoreError::NotFound`], storage errors.
    fn delete(&self, id: &ObjectId, expected_version: u64) -> Result<(), StoreError>;

    /// The ids of the objects matching `query`, oldest first (insertion order), after `query.offset` and at most
    /// `query.max_items`; the order is stable under concurrent inserts, so paging does not skip or repeat objects.
    ///
    /// # Errors
    /// Storage errors.
    fn locate(&self, query: &LocateQuery) -> Result<Vec<ObjectId>, StoreError>;
}
