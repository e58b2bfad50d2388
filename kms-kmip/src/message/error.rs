use crate::tags::Version;
use crate::ttlv::{self, ItemType, Tag};

/// A failure of the typed message layer: decoding TTLV into the model, or encoding the model for a version.
///
/// Decoding errors name the byte offset of the item at fault (from the start of the message) and its tag.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not valid TTLV (truncated, bad padding, bad length, trailing bytes, too deep...).
    #[error(transparent)]
    Ttlv(ttlv::Error),
    /// The item has another type than the model requires for its tag.
    #[error("item at byte {offset} (tag {tag}) is a {found}, expected a {expected}")]
    WrongType {
        /// Offset of the item.
        offset: usize,
        /// Its tag.
        tag: Tag,
        /// The type required.
        expected: ItemType,
        /// The type found.
        found: ItemType,
    },
    /// A structure lacks a field the specification requires.
    #[error("structure {structure} at byte {offset} lacks the required field {field}")]
    MissingField {
        /// Offset of the structure.
        offset: usize,
        /// The structure's tag.
        structure: Tag,
        /// The missing field's tag.
        field: Tag,
    },
    /// An enumeration holds a value the specification does not define and that is not an extension
    /// (0x8XXXXXXX).
    #[error(
        "enumeration {enumeration} at byte {offset} (tag {tag}) has the unknown value 0x{value:08X}"
    )]
    UnknownEnumeration {
        /// Offset of the item.
        offset: usize,
        /// Its tag.
        tag: Tag,
        /// The enumeration's name in the specification.
        enumeration: &'static str,
        /// The value.
        value: u32,
    },
    /// A value is present but not acceptable here (a required structure is empty, a length is out of range...).
    #[error("invalid value at byte {offset} (tag {tag}): {reason}")]
    InvalidValue {
        /// Offset of the item.
        offset: usize,
        /// Its tag.
        tag: Tag,
        /// What is wrong.
        reason: &'static str,
    },
    /// The outer item is not the message expected (a response where a request was expected...).
    #[error("expected a {expected} message, found tag {found}")]
    UnexpectedMessage {
        /// The tag expected.
        expected: Tag,
        /// The tag found.
        found: Tag,
    },
    /// Encoding for a protocol version that cannot express this item (an attribute or operation the version
    /// does not know, a 2.x-only field in a 1.x message, a 1.x-only field in a 2.x message).
    #[error("{what} cannot be encoded in KMIP {version}")]
    NotInVersion {
        /// What could not be encoded.
        what: &'static str,
        /// The target version.
        version: Version,
    },
    /// The message's protocol version is not one this crate knows, so the encoding rules are unknown.
    #[error("unknown protocol version {major}.{minor}")]
    UnknownVersion {
        /// Protocol Version Major.
        major: i32,
        /// Protocol Version Minor.
        minor: i32,
    },
}

impl From<ttlv::Error> for Error {
    fn from(e: ttlv::Error) -> Self {
        match e {
            ttlv::Error::WrongType {
                offset,
                tag,
                expected,
                found,
            } => Self::WrongType {
                offset,
                tag,
                expected,
                found,
            },
            other => Self::Ttlv(other),
        }
    }
}

impl Error {
    /// Offset of the item at fault, when the error comes from decoding.
    #[must_use]
    pub const fn offset(&self) -> Option<usize> {
        match self {
            Self::Ttlv(e) => Some(e.offset()),
            Self::WrongType { offset, .. }
            | Self::MissingField { offset, .. }
            | Self::UnknownEnumeration { offset, .. }
            | Self::InvalidValue { offset, .. } => Some(*offset),
            Self::UnexpectedMessage { .. }
            | Self::NotInVersion { .. }
            | Self::UnknownVersion { .. } => None,
        }
    }
}
