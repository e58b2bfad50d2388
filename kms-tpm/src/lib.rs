#![doc = include_str!("../README.md")]

pub mod attestation;
mod backend;
mod blob;
mod error;
mod root_key;
mod seal;
mod templates;
mod tpm;

pub use backend::{BACKEND_ID, TpmBackend};
pub use error::TpmError;
pub use root_key::TpmRootKey;
pub use seal::{MAX_SEALED_LEN, PcrPolicy, SealedData};
pub use tpm::{CacheStats, Tpm, TpmOptions};
