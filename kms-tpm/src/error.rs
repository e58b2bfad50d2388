//! Errors of kms-tpm, and how they map onto kms-core's [`BackendError`].

use kms_core::backend::BackendError;
use tss_esapi::constants::response_code::Tss2ResponseCodeKind;

/// Errors of the TPM backend, the attestation API and the TPM-sealed root key.
///
/// TPM response codes keep their source ([`tss_esapi::Error`]); no variant ever carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TpmError {
    /// The connection string is not a TCTI configuration tss-esapi understands.
    #[error(
        "invalid TPM connection string {0:?} (e.g. swtpm:host=127.0.0.1,port=2321 or device:/dev/tpmrm0)"
    )]
    InvalidTcti(String),
    /// A TPM command (or the TSS library under it) failed.
    #[error("TPM2_{command} failed: {source}")]
    Tss {
        /// The TPM command, as Part 3 of the TPM 2.0 specification names it.
        command: &'static str,
        /// The response code.
        #[source]
        source: tss_esapi::Error,
    },
    /// The input is malformed or out of the TPM's limits.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The TPM backend does not do this.
    #[error("not supported by the TPM backend: {0}")]
    Unsupported(String),
    /// The blob was made by another TPM (or under another storage key) and cannot be loaded here.
    #[error("the key blob was not made by this TPM")]
    ForeignBlob,
    /// The blob does not decode.
    #[error("malformed TPM key blob")]
    MalformedBlob,
    /// A cryptographic check failed (padding, signature, unseal policy). No detail, by design.
    #[error("cryptographic failure")]
    Crypto,
    /// Checking attestation evidence failed (verifier side).
    #[error("attestation evidence rejected: {0}")]
    Verification(#[from] crate::attestation::VerificationError),
}

impl TpmError {
    /// A failed TPM command.
    pub(crate) fn tss(command: &'static str) -> impl FnOnce(tss_esapi::Error) -> TpmError {
        move |source| TpmError::Tss { command, source }
    }

    /// The TPM response code kind, when the TPM (not the library) answered.
    pub(crate) fn response_kind(&self) -> Option<Tss2ResponseCodeKind> {
        match self {
            TpmError::Tss {
                source: tss_esapi::Error::Tss2Error(rc),
                ..
            } => rc.kind(),
            _ => None,
        }
    }

    /// Whether the TPM refused the blob itself: integrity or binding checks of TPM2_Load, a wrong parent. Such a
    /// blob was not made by this TPM's storage key, or was damaged.
    pub(crate) fn is_bad_blob(&self) -> bool {
        matches!(self, TpmError::ForeignBlob | TpmError::MalformedBlob)
            || matches!(
                self.response_kind(),
                Some(
                    Tss2ResponseCodeKind::Integrity
                        | Tss2ResponseCodeKind::Binding
                        | Tss2ResponseCodeKind::Size
                        | Tss2ResponseCodeKind::Key
                        | Tss2ResponseCodeKind::KeySize
                        | Tss2ResponseCodeKind::Value
                        | Tss2ResponseCodeKind::Type
                )
            )
    }

    /// Whether a later retry may succeed (TPM busy, out of object or session slots, connection lost).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            TpmError::Tss {
                source: tss_esapi::Error::Tss2Error(rc),
                ..
            } => match rc.kind() {
                Some(
                    Tss2ResponseCodeKind::Retry
                    | Tss2ResponseCodeKind::Yielded
                    | Tss2ResponseCodeKind::Testing
                    | Tss2ResponseCodeKind::Canceled
                    | Tss2ResponseCodeKind::Memory
                    | Tss2ResponseCodeKind::ObjectMemory
                    | Tss2ResponseCodeKind::SessionMemory
                    | Tss2ResponseCodeKind::NvRate
                    | Tss2ResponseCodeKind::Lockout,
                ) => true,
                Some(_) => false,
                // Not a TPM answer: a TCTI (socket, device) failure, which reconnecting may cure.
                None => true,
            },
            _ => false,
        }
    }
}

impl From<TpmError> for BackendError {
    fn from(e: TpmError) -> Self {
        match e {
            TpmError::InvalidInput(m) => BackendError::InvalidInput(m),
            TpmError::Unsupported(m) => BackendError::Unsupported(m),
            TpmError::ForeignBlob => BackendError::KeyNotFound,
            TpmError::MalformedBlob => BackendError::MalformedKeyRef,
            TpmError::Crypto => BackendError::Crypto,
            other => {
                let retryable = other.is_retryable();
                BackendError::Device {
                    message: other.to_string(),
                    retryable,
                    source: Some(Box::new(other)),
                }
            }
        }
    }
}
