//! Error types. Parsers name the element path; cryptographic failures are opaque.

use thiserror::Error;

/// An XML well-formedness or limit error, with the path of open elements where it happened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {kind}")]
pub struct XmlError {
    /// Element path such as `/Envelope/Body/LocateRequest` (`/` at document level).
    pub path: String,
    /// What went wrong.
    pub kind: XmlErrorKind,
}

impl XmlError {
    pub(crate) fn new(path: impl Into<String>, kind: XmlErrorKind) -> Self {
        Self {
            path: path.into(),
            kind,
        }
    }
}

/// The kinds of [`XmlError`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum XmlErrorKind {
    /// The document exceeds the size limit.
    #[error("document larger than {0} bytes")]
    DocumentTooLarge(usize),
    /// Elements nest deeper than the limit.
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    /// More elements than the limit.
    #[error("more than {0} elements")]
    TooManyElements(usize),
    /// An attribute value exceeds the limit.
    #[error("attribute value longer than {0} bytes")]
    AttributeTooLarge(usize),
    /// More attributes on one element than the limit.
    #[error("more than {0} attributes on one element")]
    TooManyAttributes(usize),
    /// A text node exceeds the limit.
    #[error("text longer than {0} bytes")]
    TextTooLarge(usize),
    /// A name exceeds the limit.
    #[error("name longer than {0} bytes")]
    NameTooLong(usize),
    /// A document type declaration: DTDs are refused outright (no entity expansion attacks).
    #[error("DOCTYPE is not allowed")]
    DtdForbidden,
    /// An entity reference other than the five predefined ones.
    #[error("undeclared entity &{0};")]
    UndeclaredEntity(String),
    /// A character reference to a character XML does not allow.
    #[error("invalid character reference &{0};")]
    InvalidCharReference(String),
    /// A prefix with no declaration in scope.
    #[error("unbound namespace prefix {0:?}")]
    UnboundPrefix(String),
    /// A namespace declaration Namespaces in XML forbids.
    #[error("invalid namespace declaration {0:?}")]
    InvalidNamespaceDeclaration(String),
    /// Two attributes with the same expanded name.
    #[error("duplicate attribute {0:?}")]
    DuplicateAttribute(String),
    /// Not UTF-8, or a declared encoding other than UTF-8.
    #[error("unsupported encoding: {0}")]
    Encoding(String),
    /// Any other well-formedness error reported by the tokenizer.
    #[error("malformed XML: {0}")]
    Syntax(String),
    /// The input ended inside an element.
    #[error("document truncated")]
    Truncated,
    /// No document element.
    #[error("no document element")]
    NoRoot,
    /// Content after the document element.
    #[error("content after the document element")]
    TrailingContent,
    /// Two elements carry the same Id.
    #[error("duplicate Id {0:?}")]
    DuplicateId(String),
}

/// A message that is well-formed XML but not a valid XKMS message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {kind}")]
pub struct DecodeError {
    /// Element path of the offending element.
    pub path: String,
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    pub(crate) fn new(path: impl Into<String>, kind: DecodeErrorKind) -> Self {
        Self {
            path: path.into(),
            kind,
        }
    }
}

/// The kinds of [`DecodeError`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The document element is not an XKMS message this crate knows (XKMS `MessageNotSupported`).
    #[error("not a supported XKMS message: {{{namespace}}}{local}")]
    UnsupportedMessage {
        /// Namespace of the element (empty for none).
        namespace: String,
        /// Local name of the element.
        local: String,
    },
    /// A required child element is missing.
    #[error("missing element {0}")]
    MissingElement(&'static str),
    /// A required attribute is missing.
    #[error("missing attribute {0}")]
    MissingAttribute(&'static str),
    /// An element that is not allowed here.
    #[error("unexpected element {0}")]
    UnexpectedElement(String),
    /// A value that does not parse (base64, integer, dateTime, URI enumeration...).
    #[error("invalid value for {what}: {reason}")]
    InvalidValue {
        /// The element or attribute.
        what: &'static str,
        /// Why (never the value itself when it may be secret).
        reason: String,
    },
    /// More repetitions of an element than the limit.
    #[error("too many {0} elements")]
    TooMany(&'static str),
}

/// An XML Signature that could not be processed or did not verify.
///
/// Verification failures are deliberately coarse: `DigestMismatch` and `BadSignature` say which stage
/// failed but nothing about the values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The message carries no such signature.
    #[error("no {0} signature")]
    Missing(&'static str),
    /// The ds:Signature element is malformed.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// An algorithm, transform or reference form this implementation does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The key does not fit the SignatureMethod.
    #[error("key does not match the signature method")]
    KeyMismatch,
    /// A Reference URI does not resolve to exactly one element.
    #[error("reference {0:?} does not resolve")]
    UnresolvedReference(String),
    /// A Reference digest does not match.
    #[error("reference digest mismatch")]
    DigestMismatch,
    /// The SignatureValue does not verify.
    #[error("signature value does not verify")]
    BadSignature,
    /// The signature verified but does not cover the element the protocol requires.
    #[error("signature does not cover the required element")]
    WrongReference,
    /// Signing failed (key error).
    #[error("signing failed")]
    SigningFailed,
    /// The document could not be processed.
    #[error(transparent)]
    Xml(#[from] XmlError),
}

/// Encryption or decryption failed. Opaque on purpose: no padding or tag oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("encryption or decryption failed")]
pub struct CryptoError;

/// The umbrella error of this crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// Not well-formed XML, or a limit was hit.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// Not a valid XKMS message.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Not a valid SOAP envelope.
    #[error(transparent)]
    Soap(#[from] crate::soap::SoapError),
    /// An XML Signature problem.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// An XML Encryption problem.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// A pass phrase that SASLprep rejects.
    #[error(transparent)]
    SharedSecret(#[from] crate::shared_secret::SharedSecretError),
}
