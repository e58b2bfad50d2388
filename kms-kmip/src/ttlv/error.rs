use super::{ItemType, Tag};
use crate::tags::Version;

/// A TTLV decoding (or, for [`Error::TooLarge`], encoding) failure.
///
/// Every variant names the byte `offset` of the item at fault (its first header byte, counted from the start of
/// the message) and its `tag` when at least the 3 tag bytes were there to read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ends inside an item header or value.
    #[error(
        "truncated at byte {offset} (tag {}): {needed} bytes needed, {available} available",
        opt(tag)
    )]
    Truncated {
        /// Offset of the item.
        offset: usize,
        /// Its tag, if the 3 tag bytes were present.
        tag: Option<Tag>,
        /// Bytes the item needs from `offset` (header + padded value).
        needed: usize,
        /// Bytes left from `offset`.
        available: usize,
    },
    /// A padding byte is not zero.
    #[error("non-zero padding in item at byte {offset} (tag {tag})")]
    BadPadding {
        /// Offset of the item.
        offset: usize,
        /// Its tag.
        tag: Tag,
    },
    /// The length field does not fit the item type (Integer not 4, Big Integer not a multiple of 8, ...).
    #[error("length {length} is wrong for a {item_type} at byte {offset} (tag {tag})")]
    WrongLength {
        /// Offset of the item.
        offset: usize,
        /// Its tag.
        tag: Tag,
        /// Its type.
        item_type: ItemType,
        /// The length field.
        length: u32,
    },
    /// The type byte is not one KMIP defines.
    #[error("unknown item type 0x{type_byte:02X} at byte {offset} (tag {tag})")]
    UnknownType {
        /// Offset of the item.
        offset: usize,
        /// Its tag.
        tag: Tag,
        /// The type byte.
        type_byte: u8,
    },
    /// Structures nest deeper than [`super::Limits::max_depth`].
    #[error("structure at byte {offset} (tag {tag}) nests deeper than {max_depth} levels")]
    DepthExceeded {
        /// Offset of the structure.
        offset: usize,
        /// Its tag.
        tag: Tag,
        /// The limit.
        max_depth: usize,
    },
    /// The message is larger than [`super::Limits::max_message_size`], or an encoded length exceeds 2^32 - 1.
    #[error(
        "item at byte {offset} (tag {}) is {length} bytes, more than the limit of {max}",
        opt(tag)
    )]
    TooLarge {
        /// Offset of the item.
        offset: usize,
        /// Its tag, if known.
        tag: Option<Tag>,
        /// Its size in bytes.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes follow the last item of a message.
    #[error("{count} trailing bytes at byte {offset} after the item with tag {tag}")]
    TrailingBytes {
        /// Offset of the first trailing byte.
        offset: usize,
        /// Tag of the item they follow.
        tag: Tag,
        /// How many.
        count: usize,
    },
    /// A Text String is not valid UTF-8.
    #[error("text string at byte {offset} (tag {tag}) is not valid UTF-8")]
    InvalidUtf8 {
        /// Offset of the item.
        offset: usize,
        /// Its tag.
        tag: Tag,
    },
    /// A Boolean holds something other than 0 or 1.
    #[error("boolean at byte {offset} (tag {tag}) holds {value}, not 0 or 1")]
    InvalidBoolean {
        /// Offset of the item.
        offset: usize,
        /// Its tag.
        tag: Tag,
        /// The 8 value bytes.
        value: u64,
    },
    /// The item has another type than its tag requires (raised by the typed layer and the accessors of
    /// [`super::Item`]).
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
    /// The tag is not defined in the protocol version in use (raised where a version forbids unknown tags).
    #[error("tag {tag} at byte {offset} is not defined in KMIP {version}")]
    UnknownTag {
        /// Offset of the item.
        offset: usize,
        /// The tag.
        tag: Tag,
        /// The protocol version that does not define it.
        version: Version,
    },
}

impl Error {
    /// Offset of the item at fault, from the start of the message.
    #[must_use]
    pub const fn offset(&self) -> usize {
        match *self {
            Self::Truncated { offset, .. }
            | Self::BadPadding { offset, .. }
            | Self::WrongLength { offset, .. }
            | Self::UnknownType { offset, .. }
            | Self::DepthExceeded { offset, .. }
            | Self::TooLarge { offset, .. }
            | Self::TrailingBytes { offset, .. }
            | Self::InvalidUtf8 { offset, .. }
            | Self::InvalidBoolean { offset, .. }
            | Self::WrongType { offset, .. }
            | Self::UnknownTag { offset, .. } => offset,
        }
    }

    /// Tag of the item at fault, if known.
    #[must_use]
    pub const fn tag(&self) -> Option<Tag> {
        match *self {
            Self::Truncated { tag, .. } | Self::TooLarge { tag, .. } => tag,
            Self::BadPadding { tag, .. }
            | Self::WrongLength { tag, .. }
            | Self::UnknownType { tag, .. }
            | Self::DepthExceeded { tag, .. }
            | Self::TrailingBytes { tag, .. }
            | Self::InvalidUtf8 { tag, .. }
            | Self::InvalidBoolean { tag, .. }
            | Self::WrongType { tag, .. }
            | Self::UnknownTag { tag, .. } => Some(tag),
        }
    }
}

fn opt(tag: &Option<Tag>) -> String {
    tag.map_or_else(|| "unknown".to_owned(), |t| t.to_string())
}
