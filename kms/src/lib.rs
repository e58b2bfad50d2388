//! # kms
//!
//! The facade of the kms crate family: one import for applications, each protocol and backend behind a feature.
//!
//! | feature | crate | what |
//! |---|---|---|
//! | (always) | [`core`] | managed objects, `KeyManager`, `KeyBackend`, object stores |
//! | `kmip` (default) | [`kmip`] | OASIS KMIP codec, service, server and client |
//! | `redb` (default) | [`core`] | the embedded redb object store |
//! | `xkms` (default) | [`xkms`] | W3C XKMS 2.0 over SOAP (`POST /xkms` in `kms serve`) |
//! | `hsm` | [`hsm`] | PKCS#11 backend |
//! | `tpm` | [`tpm`] | TPM 2.0 backend |
//! | `escrow` | [`escrow`] | key escrow with m-of-n release |
//! | `postgres` | [`core`] | PostgreSQL object store (`kms serve --store postgres`) |
//! | `cli` (default) | | the `kms` binary |

pub use kms_core as core;
#[cfg(feature = "escrow")]
pub use kms_escrow as escrow;
#[cfg(feature = "hsm")]
pub use kms_hsm as hsm;
#[cfg(feature = "kmip")]
pub use kms_kmip as kmip;
#[cfg(feature = "tpm")]
pub use kms_tpm as tpm;
#[cfg(feature = "xkms")]
pub use kms_xkms as xkms;
