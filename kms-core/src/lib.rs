//! # kms-core
//!
//! The core of the kms crate family: managed objects after KMIP 2.1's model, the [`KeyManager`] that every protocol
//! crate calls, key backends ([`KeyBackend`], with [`SoftwareBackend`]) and object stores ([`ObjectStore`]: memory,
//! redb).
//!
//! Everything here is synchronous and `Send + Sync`; async servers call it through `spawn_blocking`.

pub mod audit;
pub mod backend;
pub mod dsa;
mod error;
pub mod manager;
pub mod material;
pub mod object;
mod principal;
pub mod store;

pub use backend::SoftwareBackend;
pub use backend::{KeyBackend, KeyRef};
pub use error::{Error, Result, ResultReason};
pub use manager::{KeyManager, KeyManagerBuilder};
pub use material::{KeyFormat, KeyMaterial};
pub use object::{Attributes, ObjectId, ObjectType, State, UsageMask};
pub use principal::Principal;
#[cfg(feature = "redb")]
pub use store::RedbStore;
pub use store::{MemoryStore, ObjectStore, StoredObject};
