//! Errors: opening a token ([`OpenError`]) and the mapping of PKCS#11 return values onto
//! [`BackendError`](kms_core::backend::BackendError).

use std::path::PathBuf;

use cryptoki::error::{Error as CkError, RvError};
use kms_core::backend::BackendError;

/// Why a [`Pkcs11Backend`](crate::Pkcs11Backend) could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The module path does not name a readable file.
    #[error("PKCS#11 module {path}: {source}")]
    ModuleNotFound {
        /// The module path.
        path: PathBuf,
        /// Why it cannot be read.
        #[source]
        source: std::io::Error,
    },
    /// The module could not be loaded or initialised.
    #[error("PKCS#11 module {path}: {source}")]
    Module {
        /// The module path.
        path: PathBuf,
        /// The loader's or C_Initialize's error.
        #[source]
        source: CkError,
    },
    /// No slot holds a token with this label or serial number.
    #[error("no PKCS#11 token with {0} (tokens present: {1})")]
    TokenNotFound(String, String),
    /// Two tokens match the selector.
    #[error("several PKCS#11 tokens with {0}: choose by serial number")]
    AmbiguousToken(String),
    /// The user PIN was refused (CKR_PIN_INCORRECT).
    #[error("the token refused the user PIN (CKR_PIN_INCORRECT)")]
    PinIncorrect,
    /// The user PIN is locked (CKR_PIN_LOCKED): the security officer must reset it.
    #[error("the user PIN of the token is locked (CKR_PIN_LOCKED)")]
    PinLocked,
    /// The PIN was to come from an environment variable that is not set.
    #[error("the user PIN is not set: export {0}")]
    PinNotSet(String),
    /// Another call to the token failed while opening it.
    #[error("{what}: {source}")]
    Token {
        /// What was being done.
        what: &'static str,
        /// The PKCS#11 error.
        #[source]
        source: CkError,
    },
}

/// The return value of a PKCS#11 error, if it has one.
pub(crate) fn rv(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

/// What the session pool does about an error before giving up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// Nothing: the error is the answer.
    None,
    /// The session is unusable: drop it and retry on a fresh one.
    NewSession,
    /// The token forgot our login (all sessions were closed, or someone logged out): log in and retry.
    Login,
    /// The token went away: drop every pooled session and retry once on fresh ones.
    Reconnect,
}

pub(crate) fn recovery(e: &CkError) -> Recovery {
    match rv(e) {
        // One dead session handle usually means all of them died (token reset, C_CloseAllSessions).
        Some(RvError::SessionHandleInvalid | RvError::SessionClosed) => Recovery::Reconnect,
        Some(RvError::OperationActive) => Recovery::NewSession,
        Some(RvError::UserNotLoggedIn) => Recovery::Login,
        Some(RvError::DeviceRemoved | RvError::TokenNotPresent | RvError::DeviceError) => {
            Recovery::Reconnect
        }
        _ => Recovery::None,
    }
}

/// Maps a PKCS#11 error of `what` onto the backend's error, keeping the source for operators. Cryptographic
/// check failures become the opaque [`BackendError::Crypto`].
pub(crate) fn map(what: &'static str, e: CkError) -> BackendError {
    let Some(rv) = rv(&e) else {
        return device(what, false, e);
    };
    match rv {
        RvError::SignatureInvalid
        | RvError::SignatureLenRange
        | RvError::EncryptedDataInvalid
        | RvError::EncryptedDataLenRange
        | RvError::WrappedKeyInvalid
        | RvError::WrappedKeyLenRange => BackendError::Crypto,
        RvError::MechanismInvalid
        | RvError::MechanismParamInvalid
        | RvError::CurveNotSupported
        | RvError::KeySizeRange
        | RvError::FunctionNotSupported
        | RvError::DomainParamsInvalid => {
            BackendError::Unsupported(format!("{what}: the token refused it ({rv})"))
        }
        RvError::KeyUnextractable | RvError::AttributeSensitive | RvError::KeyNotWrappable => {
            BackendError::NotExtractable
        }
        RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid => BackendError::KeyNotFound,
        RvError::DataLenRange
        | RvError::DataInvalid
        | RvError::ArgumentsBad
        | RvError::AttributeValueInvalid
        | RvError::TemplateInconsistent
        | RvError::TemplateIncomplete
        | RvError::KeyTypeInconsistent
        | RvError::KeyFunctionNotPermitted
        | RvError::WrappingKeyTypeInconsistent
        | RvError::UnwrappingKeyTypeInconsistent
        | RvError::PublicKeyInvalid => {
            BackendError::InvalidInput(format!("{what}: the token refused the input ({rv})"))
        }
        RvError::DeviceRemoved
        | RvError::TokenNotPresent
        | RvError::DeviceError
        | RvError::DeviceMemory
        | RvError::SessionCount
        | RvError::SessionHandleInvalid
        | RvError::SessionClosed
        | RvError::UserNotLoggedIn
        | RvError::PinExpired
        | RvError::FunctionCanceled => device(what, true, e),
        _ => device(what, false, e),
    }
}

pub(crate) fn device(what: &str, retryable: bool, e: CkError) -> BackendError {
    BackendError::Device {
        message: format!("PKCS#11 {what} failed"),
        retryable,
        source: Some(Box::new(e)),
    }
}
