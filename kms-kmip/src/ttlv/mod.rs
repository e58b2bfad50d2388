//! TTLV, the binary encoding of KMIP (KMIP 1.4 §9.1, KMIP 2.1 §10.1).
//!
//! Every item is `tag (3 bytes) | type (1 byte) | length (4 bytes, big-endian) | value`, the value zero-padded
//! to a multiple of 8 bytes. This module is sans-I/O and allocation-free on the read path:
//!
//! - [`decode`] / [`decode_with`] check the outer item of a message and hand back an [`Item`] borrowing the
//!   input. A structure's children are read on demand through [`Structure::children`], an iterator that never
//!   allocates, so the typed message layer walks the bytes exactly once.
//! - [`Writer`] appends items to a `Vec<u8>` and fills in structure lengths after the fact.
//! - [`Document`] decodes and checks a whole message into one flat list of items (one allocation), to read.
//! - [`Node`] is a generic tree (borrowed or owned) for tools: the XML and JSON encodings and `kms ttlv`.
//! - [`validate`] walks a whole message and checks every rule without building anything.
//!
//! ```
//! use kms_kmip::ttlv::{self, Tag, Writer};
//!
//! let mut buf = Vec::new();
//! let mut w = Writer::new(&mut buf);
//! w.structure(Tag::PROTOCOL_VERSION, |w| {
//!     w.integer(Tag::PROTOCOL_VERSION_MAJOR, 2);
//!     w.integer(Tag::PROTOCOL_VERSION_MINOR, 1);
//! });
//! w.finish()?;
//!
//! let item = ttlv::decode(&buf)?;
//! assert_eq!(item.tag(), Tag::PROTOCOL_VERSION);
//! let mut children = item.as_structure()?.children();
//! let major = children.next().transpose()?.map(|i| i.as_integer()).transpose()?;
//! assert_eq!(major, Some(2));
//! # Ok::<(), kms_kmip::ttlv::Error>(())
//! ```

mod document;
mod error;
mod reader;
#[cfg(any(feature = "xml", feature = "json"))]
pub(crate) mod text;
mod tree;
mod writer;

use core::fmt;

pub use document::{Document, DocumentBuffer, Element, Elements};
pub use error::Error;
pub use reader::{
    Children, Item, Structure, Value, decode, decode_with, message_length, validate,
    validate_for_version,
};
pub use tree::{Node, NodeValue};
pub use writer::{StructureStart, Writer};

/// Length of an item header: tag (3), type (1), length (4).
pub const HEADER_LEN: usize = 8;

/// A KMIP tag: the 3-byte item identifier, held in the low 24 bits.
///
/// KMIP-defined tags are `0x42XXXX`, vendor extensions `0x54XXXX`. The constants (`Tag::ACTIVATION_DATE`, ...)
/// and the name tables are generated from the specification (see [`crate::tags`]); any 24-bit value is
/// representable so that unknown and extension tags pass through the generic codec unchanged.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(u32);

impl Tag {
    /// The tag with this 24-bit value, or `None` if `value` does not fit in 3 bytes.
    #[must_use]
    pub const fn new(value: u32) -> Option<Self> {
        if value <= 0x00FF_FFFF {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The tag from its 3 wire bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 3]) -> Self {
        Self(((bytes[0] as u32) << 16) | ((bytes[1] as u32) << 8) | bytes[2] as u32)
    }

    /// The 24-bit value (`0x42XXXX` for KMIP tags).
    #[must_use]
    pub const fn value(self) -> u32 {
        self.0
    }

    /// For the generated tables: the caller guarantees a 24-bit value.
    pub(crate) const fn from_raw(value: u32) -> Self {
        Self(value & 0x00FF_FFFF)
    }

    /// The 3 wire bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 3] {
        [(self.0 >> 16) as u8, (self.0 >> 8) as u8, self.0 as u8]
    }

    /// True for vendor extension tags (`0x54XXXX`, KMIP 1.4 §9.1.3.1).
    #[must_use]
    pub const fn is_extension(self) -> bool {
        self.0 >> 16 == 0x54
    }

    /// True for tags in the KMIP-defined range (`0x42XXXX`).
    #[must_use]
    pub const fn is_kmip(self) -> bool {
        self.0 >> 16 == 0x42
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}(0x{:06X})", self.0),
            None => write!(f, "Tag(0x{:06X})", self.0),
        }
    }
}

impl fmt::Display for Tag {
    /// The spec's name (`ActivationDate`) when the tag is known, else `0x42XXXX`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{:06X}", self.0),
        }
    }
}

/// The item type byte (KMIP 1.4 §9.1.1.2, KMIP 2.1 §10.1.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ItemType {
    /// 0x01: a sequence of items.
    Structure = 0x01,
    /// 0x02: 32-bit signed, 4 value bytes plus 4 uncounted padding bytes.
    Integer = 0x02,
    /// 0x03: 64-bit signed.
    LongInteger = 0x03,
    /// 0x04: big-endian two's complement, sign-extended to a multiple of 8 bytes.
    BigInteger = 0x04,
    /// 0x05: 32-bit unsigned, padded like Integer; values with the high bit set (0x8XXXXXXX) are extensions.
    Enumeration = 0x05,
    /// 0x06: 8 bytes, 0 or 1.
    Boolean = 0x06,
    /// 0x07: UTF-8, zero-padded, the length excludes the padding.
    TextString = 0x07,
    /// 0x08: octets, zero-padded, the length excludes the padding.
    ByteString = 0x08,
    /// 0x09: 64-bit signed POSIX time in seconds.
    DateTime = 0x09,
    /// 0x0A: 32-bit unsigned seconds, padded like Integer.
    Interval = 0x0A,
    /// 0x0B (KMIP 2.0+): 64-bit signed POSIX time in microseconds.
    DateTimeExtended = 0x0B,
}

impl ItemType {
    /// All item types in type-byte order.
    pub const ALL: [Self; 11] = [
        Self::Structure,
        Self::Integer,
        Self::LongInteger,
        Self::BigInteger,
        Self::Enumeration,
        Self::Boolean,
        Self::TextString,
        Self::ByteString,
        Self::DateTime,
        Self::Interval,
        Self::DateTimeExtended,
    ];

    /// The type for a type byte, or `None` for an unknown byte.
    #[must_use]
    pub const fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            0x01 => Self::Structure,
            0x02 => Self::Integer,
            0x03 => Self::LongInteger,
            0x04 => Self::BigInteger,
            0x05 => Self::Enumeration,
            0x06 => Self::Boolean,
            0x07 => Self::TextString,
            0x08 => Self::ByteString,
            0x09 => Self::DateTime,
            0x0A => Self::Interval,
            0x0B => Self::DateTimeExtended,
            _ => return None,
        })
    }

    /// The type byte.
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        self as u8
    }

    /// The name used in the `type` attribute of KMIP XML and JSON (`"LongInteger"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Structure => "Structure",
            Self::Integer => "Integer",
            Self::LongInteger => "LongInteger",
            Self::BigInteger => "BigInteger",
            Self::Enumeration => "Enumeration",
            Self::Boolean => "Boolean",
            Self::TextString => "TextString",
            Self::ByteString => "ByteString",
            Self::DateTime => "DateTime",
            Self::Interval => "Interval",
            Self::DateTimeExtended => "DateTimeExtended",
        }
    }

    /// The type named as in KMIP XML and JSON, or `None`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The length field a value of this type must carry, for the fixed-size types.
    #[must_use]
    pub const fn fixed_length(self) -> Option<u32> {
        match self {
            Self::Integer | Self::Enumeration | Self::Interval => Some(4),
            Self::LongInteger | Self::Boolean | Self::DateTime | Self::DateTimeExtended => Some(8),
            Self::Structure | Self::BigInteger | Self::TextString | Self::ByteString => None,
        }
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Decoder limits. The defaults follow DESIGN.md: 16 MiB per message, 64 levels of structure.
///
/// ```
/// use kms_kmip::ttlv::Limits;
/// let limits = Limits::default().with_max_message_size(64 * 1024).with_max_depth(16);
/// assert_eq!(limits.max_depth(), 16);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    max_message_size: usize,
    max_depth: usize,
}

impl Limits {
    /// 16 MiB.
    pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;
    /// 64 levels.
    pub const DEFAULT_MAX_DEPTH: usize = 64;
    /// The largest depth that can be configured: tree building and XML/JSON output recurse once per level,
    /// so the depth is capped to keep the stack bounded whatever the configuration.
    pub const MAX_SUPPORTED_DEPTH: usize = 1024;

    /// The default limits.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
            max_depth: Self::DEFAULT_MAX_DEPTH,
        }
    }

    /// These limits with another maximum message size in bytes (header included).
    #[must_use]
    pub const fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// These limits with another maximum depth (the outer item is depth 1), capped at
    /// [`Self::MAX_SUPPORTED_DEPTH`].
    #[must_use]
    pub const fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = if depth > Self::MAX_SUPPORTED_DEPTH {
            Self::MAX_SUPPORTED_DEPTH
        } else {
            depth
        };
        self
    }

    /// Largest accepted message, header included, in bytes.
    #[must_use]
    pub const fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Deepest accepted nesting of structures; the outer item is depth 1.
    #[must_use]
    pub const fn max_depth(&self) -> usize {
        self.max_depth
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}

/// Padded length of a value of `len` bytes: the next multiple of 8.
#[inline]
pub(crate) const fn padded(len: usize) -> usize {
    (len + 7) & !7
}
