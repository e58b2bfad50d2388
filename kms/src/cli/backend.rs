//! `kms serve --backend`: the key backend that generates and holds new keys.
//!
//! Each backend is behind its own feature of the `kms` crate and adds one variant to [`BackendKind`] and its options
//! to [`BackendArgs`]. The software backend is always added as well, so keys it made before a switch stay usable.

use std::sync::Arc;

use clap::{Args, ValueEnum};
use kms_core::KeyBackend;

/// Where new keys are generated and held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// In-process RustCrypto; key material sealed at rest under the root key.
    Software,
    /// A TPM 2.0 (--tpm-tcti): keys are TPM-wrapped blobs only that TPM loads.
    #[cfg(feature = "tpm")]
    Tpm,
}

/// `kms serve` options that choose and configure the key backend.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// The backend that generates and holds new keys.
    #[arg(long, value_enum, value_name = "BACKEND", default_value = "software")]
    backend: BackendKind,
    /// The TPM for --backend tpm, as a TCTI string: swtpm:host=127.0.0.1,port=2321 (simulator),
    /// device:/dev/tpmrm0 (hardware, through the kernel resource manager).
    #[cfg(feature = "tpm")]
    #[arg(long, value_name = "STRING", default_value = "device:/dev/tpmrm0")]
    tpm_tcti: String,
}

/// The backends for the key manager, the one that generates new keys first.
///
/// # Errors
/// When the chosen backend cannot be opened (module, token, device, credentials).
pub fn key_backends(args: &BackendArgs) -> anyhow::Result<Vec<Arc<dyn KeyBackend>>> {
    let software: Arc<dyn KeyBackend> = Arc::new(kms_core::SoftwareBackend::new());
    match args.backend {
        BackendKind::Software => Ok(vec![software]),
        #[cfg(feature = "tpm")]
        BackendKind::Tpm => {
            let tpm = kms_tpm::TpmBackend::open(&args.tpm_tcti)
                .map_err(|e| anyhow::anyhow!("opening the TPM at {:?}: {e}", args.tpm_tcti))?;
            Ok(vec![Arc::new(tpm), software])
        }
    }
}
