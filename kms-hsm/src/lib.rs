#![doc = include_str!("../README.md")]

mod backend;
mod cipher;
mod config;
mod encoding;
mod error;
mod key_ref;
mod mac;
mod module;
mod pool;
mod probe;
pub mod reconcile;
mod root_key;
mod sign;
mod wrap;

pub use backend::Pkcs11Backend;
pub use config::{PIN_ENV, Pkcs11Config, TokenSelector};
pub use error::OpenError;
pub use module::shared_context;
pub use reconcile::{ReconcileOptions, ReconcileReport, reconcile};
pub use root_key::HsmRootKey;

/// The default backend id, written into every [`kms_core::KeyRef`] a [`Pkcs11Backend`] issues.
pub const BACKEND_ID: &str = "pkcs11";
