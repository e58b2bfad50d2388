//! The one error type of kms-core, and the KMIP Result Reasons it maps onto.

use crate::backend::BackendError;
use crate::object::{State, UsageMask};
use crate::store::StoreError;

/// KMIP Result Reason (KMIP 2.1 §11.28), with the specification's values.
///
/// kms-core does not depend on the KMIP codec; protocol crates convert by value (`reason as u32`).
#[allow(missing_docs)] // the names are the specification's
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum ResultReason {
    ItemNotFound = 0x01,
    ResponseTooLarge = 0x02,
    AuthenticationNotSuccessful = 0x03,
    InvalidMessage = 0x04,
    OperationNotSupported = 0x05,
    MissingData = 0x06,
    InvalidField = 0x07,
    FeatureNotSupported = 0x08,
    OperationCanceledByRequester = 0x09,
    CryptographicFailure = 0x0A,
    IllegalOperation = 0x0B,
    PermissionDenied = 0x0C,
    ObjectArchived = 0x0D,
    IndexOutOfBounds = 0x0E,
    ApplicationNamespaceNotSupported = 0x0F,
    KeyFormatTypeNotSupported = 0x10,
    KeyCompressionTypeNotSupported = 0x11,
    EncodingOptionError = 0x12,
    KeyValueNotPresent = 0x13,
    AttestationRequired = 0x14,
    AttestationFailed = 0x15,
    Sensitive = 0x16,
    NotExtractable = 0x17,
    ObjectAlreadyExists = 0x18,
    InvalidTicket = 0x19,
    UsageLimitExceeded = 0x1A,
    NumericRange = 0x1B,
    InvalidDataType = 0x1C,
    ReadOnlyAttribute = 0x1D,
    MultiValuedAttribute = 0x1E,
    UnsupportedAttribute = 0x1F,
    AttributeInstanceNotFound = 0x20,
    AttributeNotFound = 0x21,
    AttributeReadOnly = 0x22,
    AttributeSingleValued = 0x23,
    BadCryptographicParameters = 0x24,
    BadPassword = 0x25,
    CodecError = 0x26,
    IllegalObjectType = 0x28,
    IncompatibleCryptographicUsageMask = 0x29,
    InternalServerError = 0x2A,
    InvalidAsynchronousCorrelationValue = 0x2B,
    InvalidAttribute = 0x2C,
    InvalidAttributeValue = 0x2D,
    InvalidCorrelationValue = 0x2E,
    InvalidCsr = 0x2F,
    InvalidObjectType = 0x30,
    KeyWrapTypeNotSupported = 0x32,
    MissingInitializationVector = 0x34,
    NonUniqueNameAttribute = 0x35,
    ObjectDestroyed = 0x36,
    ObjectNotFound = 0x37,
    NotAuthorised = 0x39,
    ServerLimitExceeded = 0x3A,
    UnknownEnumeration = 0x3B,
    UnknownMessageExtension = 0x3C,
    UnknownTag = 0x3D,
    UnsupportedCryptographicParameters = 0x3E,
    UnsupportedProtocolVersion = 0x3F,
    WrappingObjectArchived = 0x40,
    WrappingObjectDestroyed = 0x41,
    WrappingObjectNotFound = 0x42,
    WrongKeyLifecycleState = 0x43,
    ProtectionStorageUnavailable = 0x44,
    GeneralFailure = 0x100,
}

/// Errors of [`KeyManager`](crate::KeyManager) operations.
///
/// Each variant maps onto exactly one KMIP [`ResultReason`] ([`Error::result_reason`]), so protocol services
/// translate without guessing. Messages never carry key material. Cryptographic failures (a tag that does not
/// verify, a signature that does not verify, bad padding) are the one opaque [`Error::CryptographicFailure`] so that
/// no detail can serve as an oracle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No such object, or the caller may not see it: the two answer alike so that ids cannot be probed.
    #[error("item not found")]
    ItemNotFound,
    /// The caller is known but the operation needs a right it does not have (e.g. an administrator's).
    #[error("permission denied")]
    PermissionDenied,
    /// The object's lifecycle state does not allow the operation.
    #[error("wrong key lifecycle state: the object is {0:?}")]
    WrongKeyLifecycleState(State),
    /// The object's Cryptographic Usage Mask lacks a bit the operation needs.
    #[error("incompatible cryptographic usage mask: the operation needs {0:?}")]
    IncompatibleCryptographicUsageMask(UsageMask),
    /// A cryptographic operation failed (authentication tag, signature, padding). Deliberately without detail.
    #[error("cryptographic failure")]
    CryptographicFailure,
    /// A field of the request is invalid (wrong key length, unknown algorithm for the object type, ...).
    #[error("invalid field: {0}")]
    InvalidField(String),
    /// A field the operation needs is missing.
    #[error("missing data: {0}")]
    MissingData(String),
    /// The operation is not supported (by this server, or by the backend holding the key).
    #[error("operation not supported: {0}")]
    OperationNotSupported(String),
    /// The cryptographic parameters are not supported for this key or backend.
    #[error("unsupported cryptographic parameters: {0}")]
    UnsupportedCryptographicParameters(String),
    /// The cryptographic parameters are inconsistent (e.g. a GCM tag length out of range).
    #[error("bad cryptographic parameters: {0}")]
    BadCryptographicParameters(String),
    /// The requested key format cannot be produced or read.
    #[error("key format type not supported: {0}")]
    KeyFormatTypeNotSupported(String),
    /// The object has no key value (never had one, or its backend lost it).
    #[error("key value not present")]
    KeyValueNotPresent,
    /// The object was destroyed: its metadata remains, its key value does not (KMIP 2.x Get of a destroyed
    /// object).
    #[error("object destroyed")]
    ObjectDestroyed,
    /// The object is sensitive and may not be returned in plaintext.
    #[error("sensitive")]
    Sensitive,
    /// The object is not extractable.
    #[error("not extractable")]
    NotExtractable,
    /// An object with that identifier already exists.
    #[error("object already exists")]
    ObjectAlreadyExists,
    /// Another object already has this Name.
    #[error("non unique name attribute")]
    NonUniqueNameAttribute,
    /// The attribute is not set on the object.
    #[error("attribute not found: {0}")]
    AttributeNotFound(String),
    /// The attribute is set by the server only.
    #[error("attribute read only: {0}")]
    AttributeReadOnly(String),
    /// The attribute takes one value only.
    #[error("attribute single valued: {0}")]
    AttributeSingleValued(String),
    /// The attribute takes several values: use add, modify and delete rather than set.
    #[error("multi valued attribute: {0}")]
    MultiValuedAttribute(String),
    /// The attribute's value is invalid.
    #[error("invalid attribute value: {0}")]
    InvalidAttributeValue(String),
    /// The operation does not apply to this object type.
    #[error("illegal object type")]
    IllegalObjectType,
    /// An index (attribute index, offset) is out of bounds.
    #[error("index out of bounds")]
    IndexOutOfBounds,
    /// The object store failed; [`Error::is_retryable`] tells whether trying again may succeed.
    #[error("object store: {0}")]
    Store(#[source] StoreError),
    /// The key backend failed for a reason that is not cryptographic (device error, session lost, ...).
    #[error("key backend: {0}")]
    Backend(#[source] BackendError),
}

impl Error {
    /// The KMIP Result Reason this error answers with.
    #[must_use]
    pub fn result_reason(&self) -> ResultReason {
        match self {
            Error::ItemNotFound => ResultReason::ItemNotFound,
            Error::PermissionDenied => ResultReason::PermissionDenied,
            Error::WrongKeyLifecycleState(_) => ResultReason::WrongKeyLifecycleState,
            Error::IncompatibleCryptographicUsageMask(_) => {
                ResultReason::IncompatibleCryptographicUsageMask
            }
            Error::CryptographicFailure => ResultReason::CryptographicFailure,
            Error::InvalidField(_) => ResultReason::InvalidField,
            Error::MissingData(_) => ResultReason::MissingData,
            Error::OperationNotSupported(_) => ResultReason::OperationNotSupported,
            Error::UnsupportedCryptographicParameters(_) => {
                ResultReason::UnsupportedCryptographicParameters
            }
            Error::BadCryptographicParameters(_) => ResultReason::BadCryptographicParameters,
            Error::KeyFormatTypeNotSupported(_) => ResultReason::KeyFormatTypeNotSupported,
            Error::KeyValueNotPresent => ResultReason::KeyValueNotPresent,
            Error::ObjectDestroyed => ResultReason::ObjectDestroyed,
            Error::Sensitive => ResultReason::Sensitive,
            Error::NotExtractable => ResultReason::NotExtractable,
            Error::ObjectAlreadyExists => ResultReason::ObjectAlreadyExists,
            Error::NonUniqueNameAttribute => ResultReason::NonUniqueNameAttribute,
            Error::AttributeNotFound(_) => ResultReason::AttributeNotFound,
            Error::AttributeReadOnly(_) => ResultReason::AttributeReadOnly,
            Error::AttributeSingleValued(_) => ResultReason::AttributeSingleValued,
            Error::MultiValuedAttribute(_) => ResultReason::MultiValuedAttribute,
            Error::InvalidAttributeValue(_) => ResultReason::InvalidAttributeValue,
            Error::IllegalObjectType => ResultReason::IllegalObjectType,
            Error::IndexOutOfBounds => ResultReason::IndexOutOfBounds,
            Error::Store(_) | Error::Backend(_) => ResultReason::GeneralFailure,
        }
    }

    /// True when the same request may succeed if sent again (a concurrent update won, storage was briefly away).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Store(e) => e.is_retryable(),
            Error::Backend(e) => e.is_retryable(),
            _ => false,
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::ItemNotFound,
            StoreError::AlreadyExists => Error::ObjectAlreadyExists,
            other => Error::Store(other),
        }
    }
}

impl From<BackendError> for Error {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Crypto => Error::CryptographicFailure,
            BackendError::Unsupported(what) => Error::UnsupportedCryptographicParameters(what),
            BackendError::InvalidInput(what) => Error::InvalidField(what),
            BackendError::KeyNotFound => Error::KeyValueNotPresent,
            BackendError::NotExtractable => Error::NotExtractable,
            other => Error::Backend(other),
        }
    }
}

/// Result of kms-core operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
