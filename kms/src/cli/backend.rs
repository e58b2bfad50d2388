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
    /// A PKCS#11 token (--pkcs11-module, --pkcs11-token; user PIN in KMS_PKCS11_PIN): keys never leave it in
    /// plaintext.
    #[cfg(feature = "hsm")]
    Pkcs11,
}

/// `kms serve` options that choose and configure the key backend.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// The backend that generates and holds new keys.
    #[arg(long, value_enum, value_name = "BACKEND", default_value = "software")]
    backend: BackendKind,
    /// Let Register and Import take RSA keys of 1024 to 2047 bits into the software backend, for peers that
    /// still hold them. Off by default: they are below NIST SP 800-131A's security floor.
    #[arg(long)]
    allow_legacy_rsa_import: bool,
    /// The TPM for --backend tpm, as a TCTI string: swtpm:host=127.0.0.1,port=2321 (simulator),
    /// device:/dev/tpmrm0 (hardware, through the kernel resource manager).
    #[cfg(feature = "tpm")]
    #[arg(long, value_name = "STRING", default_value = "device:/dev/tpmrm0")]
    tpm_tcti: String,
    /// The PKCS#11 module (shared library) for --backend pkcs11, e.g. /usr/lib/softhsm/libsofthsm2.so.
    #[cfg(feature = "hsm")]
    #[arg(long, value_name = "PATH")]
    pkcs11_module: Option<std::path::PathBuf>,
    /// The label of the token for --backend pkcs11 (tokens are chosen by label, never by slot number).
    #[cfg(feature = "hsm")]
    #[arg(long, value_name = "LABEL")]
    pkcs11_token: Option<String>,
    /// Let KMIP clients create exportable keys in the token (their Extractable attribute, True by default in
    /// KMIP). Without it every key made in the token is non-extractable.
    #[cfg(feature = "hsm")]
    #[arg(long)]
    pkcs11_allow_export: bool,
}

/// The backends for the key manager, the one that generates new keys first.
///
/// # Errors
/// When the chosen backend cannot be opened (module, token, device, credentials).
pub fn key_backends(args: &BackendArgs) -> anyhow::Result<Vec<Arc<dyn KeyBackend>>> {
    let software = kms_core::SoftwareBackend::new();
    let software: Arc<dyn KeyBackend> = Arc::new(if args.allow_legacy_rsa_import {
        software.allow_legacy_rsa_import()
    } else {
        software
    });
    match args.backend {
        BackendKind::Software => Ok(vec![software]),
        #[cfg(feature = "tpm")]
        BackendKind::Tpm => {
            let tpm = kms_tpm::TpmBackend::open(&args.tpm_tcti)
                .map_err(|e| anyhow::anyhow!("opening the TPM at {:?}: {e}", args.tpm_tcti))?;
            Ok(vec![Arc::new(tpm), software])
        }
        #[cfg(feature = "hsm")]
        BackendKind::Pkcs11 => Ok(vec![Arc::new(open_pkcs11(args)?), software]),
    }
}

/// Opens the token of --backend pkcs11; the user PIN comes from KMS_PKCS11_PIN only, so it is never in argv.
#[cfg(feature = "hsm")]
fn open_pkcs11(args: &BackendArgs) -> anyhow::Result<kms_hsm::Pkcs11Backend> {
    let module = args
        .pkcs11_module
        .clone()
        .ok_or_else(|| anyhow::anyhow!("--backend pkcs11 needs --pkcs11-module PATH"))?;
    let label = args
        .pkcs11_token
        .clone()
        .ok_or_else(|| anyhow::anyhow!("--backend pkcs11 needs --pkcs11-token LABEL"))?;
    let pin = kms_hsm::Pkcs11Config::pin_from_env(kms_hsm::PIN_ENV)?;
    let mut config = kms_hsm::Pkcs11Config::new(module, kms_hsm::TokenSelector::Label(label), pin);
    config.allow_extractable = args.pkcs11_allow_export;
    kms_hsm::Pkcs11Backend::open(config)
        .map_err(|e| anyhow::anyhow!("opening the PKCS#11 token: {e}"))
}
