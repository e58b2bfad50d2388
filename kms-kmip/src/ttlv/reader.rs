//! The zero-copy reader: [`decode`] checks the outer item, [`Structure::children`] reads the rest on demand.

use core::fmt;

use super::{Error, HEADER_LEN, ItemType, Limits, Tag, padded};
use crate::tags::Version;

/// One decoded item, borrowing the message it came from.
///
/// Scalars are decoded and checked (length, padding, UTF-8, Boolean value) when the item is read; a
/// structure's children are read when its [`Structure::children`] iterator reaches them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    tag: Tag,
    offset: usize,
    value: Value<'a>,
}

/// The value of an [`Item`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// Structure: its children, read on demand.
    Structure(Structure<'a>),
    /// Integer.
    Integer(i32),
    /// Long Integer.
    LongInteger(i64),
    /// Big Integer: big-endian two's complement bytes as on the wire (a non-zero multiple of 8 bytes).
    BigInteger(&'a [u8]),
    /// Enumeration (values 0x8XXXXXXX are extensions).
    Enumeration(u32),
    /// Boolean.
    Boolean(bool),
    /// Text String (checked UTF-8, padding removed).
    TextString(&'a str),
    /// Byte String (padding removed).
    ByteString(&'a [u8]),
    /// Date-Time: POSIX seconds.
    DateTime(i64),
    /// Interval: seconds.
    Interval(u32),
    /// Date-Time Extended: POSIX microseconds.
    DateTimeExtended(i64),
}

impl Value<'_> {
    /// The item type of this value.
    #[must_use]
    pub const fn item_type(&self) -> ItemType {
        match self {
            Self::Structure(_) => ItemType::Structure,
            Self::Integer(_) => ItemType::Integer,
            Self::LongInteger(_) => ItemType::LongInteger,
            Self::BigInteger(_) => ItemType::BigInteger,
            Self::Enumeration(_) => ItemType::Enumeration,
            Self::Boolean(_) => ItemType::Boolean,
            Self::TextString(_) => ItemType::TextString,
            Self::ByteString(_) => ItemType::ByteString,
            Self::DateTime(_) => ItemType::DateTime,
            Self::Interval(_) => ItemType::Interval,
            Self::DateTimeExtended(_) => ItemType::DateTimeExtended,
        }
    }
}

/// The body of a structure item, not yet read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Structure<'a> {
    body: &'a [u8],
    /// Offset of the body's first byte in the message.
    offset: usize,
    /// Depth of this structure (the outer item is 1).
    depth: u32,
    max_depth: u32,
}

impl fmt::Debug for Structure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Structure")
            .field("offset", &self.offset)
            .field("len", &self.body.len())
            .field("depth", &self.depth)
            .finish()
    }
}

impl<'a> Structure<'a> {
    /// An iterator over the children, decoding each as it is reached. After an error it yields nothing more.
    #[must_use]
    pub const fn children(&self) -> Children<'a> {
        Children {
            rest: self.body,
            offset: self.offset,
            depth: self.depth + 1,
            max_depth: self.max_depth,
        }
    }

    /// The encoded children (the structure's value bytes).
    #[must_use]
    pub const fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Offset of the first child's header in the message.
    #[must_use]
    pub const fn body_offset(&self) -> usize {
        self.offset
    }

    /// Depth of this structure; the outer item is depth 1.
    #[must_use]
    pub const fn depth(&self) -> usize {
        self.depth as usize
    }

    /// True when the structure has no children.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// How many children the body's headers announce, found by hopping from header to header without
    /// decoding; stops at the first header that does not fit. Only a capacity hint: it never exceeds
    /// `body().len() / 8`, so reserving that many is justified by the input.
    #[must_use]
    pub fn count_children(&self) -> usize {
        let mut pos = 0usize;
        let mut n = 0usize;
        while let Some(h) = self
            .body
            .get(pos..)
            .and_then(|b| b.first_chunk::<HEADER_LEN>())
        {
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            let size = match h[3] {
                0x01 => len,
                0x02 | 0x05 | 0x0A => 8,
                _ => padded(len),
            };
            pos = pos.saturating_add(HEADER_LEN).saturating_add(size);
            if pos > self.body.len() {
                break;
            }
            n += 1;
        }
        n
    }

    /// Checks every item inside this structure, to the bottom, without building anything.
    ///
    /// # Errors
    ///
    /// The first rule violation found, as [`Error`].
    pub fn validate(&self) -> Result<(), Error> {
        self.walk(|_| Ok(()))
    }

    /// Reads every item below this structure in document order, calling `visit` with each item and when the
    /// innermost open structure ends.
    ///
    /// A flat walk with a stack of structure ends instead of recursion or a stack of iterators: the ends of
    /// the first 32 levels live on the stack, so the usual message costs no allocation, and deeper ones (up to
    /// the depth limit) spill to the heap.
    #[inline]
    pub(crate) fn walk(
        &self,
        mut visit: impl FnMut(Visit<'_, 'a>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        const INLINE: usize = 32;
        let body = self.body;
        let mut inline = [0usize; INLINE];
        let mut spill: Vec<usize> = Vec::new();
        let mut open = 0usize;
        let mut pos = 0usize;
        loop {
            // Close the structures that end here.
            let end = loop {
                if open == 0 {
                    break body.len();
                }
                let e = if open <= INLINE {
                    inline[open - 1]
                } else {
                    spill.get(open - INLINE - 1).copied().unwrap_or(0)
                };
                if pos < e {
                    break e;
                }
                visit(Visit::Leave)?;
                open -= 1;
                if open >= INLINE {
                    spill.pop();
                }
            };
            if pos >= end {
                return Ok(());
            }
            let depth = self.depth + 1 + u32::try_from(open).unwrap_or(u32::MAX);
            let rest = body.get(pos..end).unwrap_or_default();
            let (item, used) = read_item(rest, self.offset + pos, depth, self.max_depth)?;
            visit(Visit::Item(&item))?;
            if matches!(item.value, Value::Structure(_)) {
                let child_end = pos + used;
                if open < INLINE {
                    inline[open] = child_end;
                } else {
                    spill.push(child_end);
                }
                open += 1;
                // Into the structure; an empty one closes on the next turn.
                pos += HEADER_LEN;
            } else {
                pos += used;
            }
        }
    }
}

/// What [`Structure::walk`] reports.
pub(crate) enum Visit<'i, 'a> {
    /// The next item in document order (a structure before its children).
    Item(&'i Item<'a>),
    /// The end of the innermost structure still open.
    Leave,
}

/// Iterator over the children of a [`Structure`]; see [`Structure::children`].
#[derive(Clone, Debug)]
pub struct Children<'a> {
    rest: &'a [u8],
    offset: usize,
    depth: u32,
    max_depth: u32,
}

impl<'a> Children<'a> {
    /// The tag of the next child without reading it, or `None` at the end (or if fewer than 3 bytes remain,
    /// which the next call to `next` reports as an error).
    #[must_use]
    pub fn peek_tag(&self) -> Option<Tag> {
        match self.rest {
            [a, b, c, ..] => Some(Tag::from_bytes([*a, *b, *c])),
            _ => None,
        }
    }

    /// Reads the next child if its tag is `tag`; leaves the iterator untouched otherwise. The building block
    /// for decoding optional fields in their specified order.
    ///
    /// # Errors
    ///
    /// The child has the tag but does not decode.
    pub fn next_if_tag(&mut self, tag: Tag) -> Result<Option<Item<'a>>, Error> {
        if self.peek_tag() == Some(tag) {
            self.next().transpose()
        } else {
            Ok(None)
        }
    }

    /// Offset in the message of the next child's header (or of the end of the structure).
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// True when every child has been read.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Item<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match read_item(self.rest, self.offset, self.depth, self.max_depth) {
            Ok((item, used)) => {
                // `used <= rest.len()` is guaranteed by read_item.
                self.rest = self.rest.get(used..).unwrap_or_default();
                self.offset += used;
                Some(Ok(item))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for Children<'_> {}

impl<'a> Item<'a> {
    /// Builds an item (for tests and for layers that synthesise items; decoding never needs it).
    #[must_use]
    pub const fn new(tag: Tag, offset: usize, value: Value<'a>) -> Self {
        Self { tag, offset, value }
    }

    /// The tag.
    #[must_use]
    pub const fn tag(&self) -> Tag {
        self.tag
    }

    /// Offset of the item's header in the message.
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The value.
    #[must_use]
    pub const fn value(&self) -> &Value<'a> {
        &self.value
    }

    /// The item type.
    #[must_use]
    pub const fn item_type(&self) -> ItemType {
        self.value.item_type()
    }

    /// The error to report when this item is not of type `expected`.
    #[must_use]
    pub const fn wrong_type(&self, expected: ItemType) -> Error {
        Error::WrongType {
            offset: self.offset,
            tag: self.tag,
            expected,
            found: self.value.item_type(),
        }
    }

    /// The structure body.
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not a Structure.
    pub const fn as_structure(&self) -> Result<Structure<'a>, Error> {
        match self.value {
            Value::Structure(s) => Ok(s),
            _ => Err(self.wrong_type(ItemType::Structure)),
        }
    }

    /// Shortcut for `as_structure()?.children()`.
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not a Structure.
    pub const fn children(&self) -> Result<Children<'a>, Error> {
        match self.value {
            Value::Structure(s) => Ok(s.children()),
            _ => Err(self.wrong_type(ItemType::Structure)),
        }
    }

    /// The Integer value.
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not an Integer.
    pub const fn as_integer(&self) -> Result<i32, Error> {
        match self.value {
            Value::Integer(v) => Ok(v),
            _ => Err(self.wrong_type(ItemType::Integer)),
        }
    }

    /// The Long Integer value.
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not a Long Integer.
    pub const fn as_long_integer(&self) -> Result<i64, Error> {
        match self.value {
            Value::LongInteger(v) => Ok(v),
            _ => Err(self.wrong_type(ItemType::LongInteger)),
        }
    }

    /// The Big Integer's two's complement big-endian bytes (a multiple of 8 long).
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not a Big Integer.
    pub const fn as_big_integer(&self) -> Result<&'a [u8], Error> {
        match self.value {
            Value::BigInteger(v) => Ok(v),
            _ => Err(self.wrong_type(ItemType::BigInteger)),
        }
    }

    /// The Enumeration value.
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not an Enumeration.
    pub const fn as_enumeration(&self) -> Result<u32, Error> {
        match self.value {
            Value::Enumeration(v) => Ok(v),
            _ => Err(self.wrong_type(ItemType::Enumeration)),
        }
    }

    /// The Boolean value.
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not a Boolean.
    pub const fn as_boolean(&self) -> Result<bool, Error> {
        match self.value {
            Value::Boolean(v) => Ok(v),
            _ => Err(self.wrong_type(ItemType::Boolean)),
        }
    }

    /// The Text String value.
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not a Text String.
    pub const fn as_text_string(&self) -> Result<&'a str, Error> {
        match self.value {
            Value::TextString(v) => Ok(v),
            _ => Err(self.wrong_type(ItemType::TextString)),
        }
    }

    /// The Byte String value.
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not a Byte String.
    pub const fn as_byte_string(&self) -> Result<&'a [u8], Error> {
        match self.value {
            Value::ByteString(v) => Ok(v),
            _ => Err(self.wrong_type(ItemType::ByteString)),
        }
    }

    /// The Date-Time value (POSIX seconds).
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not a Date-Time.
    pub const fn as_date_time(&self) -> Result<i64, Error> {
        match self.value {
            Value::DateTime(v) => Ok(v),
            _ => Err(self.wrong_type(ItemType::DateTime)),
        }
    }

    /// The Interval value (seconds).
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not an Interval.
    pub const fn as_interval(&self) -> Result<u32, Error> {
        match self.value {
            Value::Interval(v) => Ok(v),
            _ => Err(self.wrong_type(ItemType::Interval)),
        }
    }

    /// The Date-Time Extended value (POSIX microseconds).
    ///
    /// # Errors
    ///
    /// [`Error::WrongType`] if the item is not a Date-Time Extended.
    pub const fn as_date_time_extended(&self) -> Result<i64, Error> {
        match self.value {
            Value::DateTimeExtended(v) => Ok(v),
            _ => Err(self.wrong_type(ItemType::DateTimeExtended)),
        }
    }

    /// Checks every item below this one (see [`Structure::validate`]); a scalar is already checked.
    ///
    /// # Errors
    ///
    /// The first rule violation found.
    pub fn validate(&self) -> Result<(), Error> {
        match self.value {
            Value::Structure(s) => s.validate(),
            _ => Ok(()),
        }
    }
}

/// Decodes the outer item of a message with the default [`Limits`]; see [`decode_with`].
///
/// # Errors
///
/// As [`decode_with`].
pub fn decode(input: &[u8]) -> Result<Item<'_>, Error> {
    decode_with(input, &Limits::new())
}

/// Decodes the outer item of a message: `input` must hold exactly one item, no more than
/// `limits.max_message_size()` bytes. Children are checked as they are read; call [`Item::validate`] (or use
/// [`validate`]) to check everything up front.
///
/// # Errors
///
/// [`Error::TooLarge`] over the size limit, [`Error::TrailingBytes`] if bytes follow the item, and any error
/// of the outer item's header or scalar value.
pub fn decode_with<'a>(input: &'a [u8], limits: &Limits) -> Result<Item<'a>, Error> {
    if input.len() > limits.max_message_size() {
        return Err(Error::TooLarge {
            offset: 0,
            tag: peek_tag(input),
            length: input.len(),
            max: limits.max_message_size(),
        });
    }
    let max_depth = u32::try_from(limits.max_depth()).unwrap_or(u32::MAX);
    let (item, used) = read_item(input, 0, 1, max_depth)?;
    if used != input.len() {
        return Err(Error::TrailingBytes {
            offset: used,
            tag: item.tag,
            count: input.len() - used,
        });
    }
    Ok(item)
}

/// Decodes and checks a whole message (every item, to the bottom).
///
/// # Errors
///
/// As [`decode_with`], plus the first error found inside.
pub fn validate(input: &[u8], limits: &Limits) -> Result<(), Error> {
    decode_with(input, limits)?.validate()
}

/// Decodes and checks a whole message, and that every KMIP tag in it (`0x42XXXX`) is defined in `version`.
/// Extension tags (`0x54XXXX`) are always allowed. Use it where a version forbids tags it does not define
/// (a server refusing a KMIP 2.1 tag in a 1.4 message, or a retired 1.x tag such as Template-Attribute in 2.x).
///
/// # Errors
///
/// As [`validate`], plus [`Error::UnknownTag`] for the first tag `version` does not define.
pub fn validate_for_version(input: &[u8], limits: &Limits, version: Version) -> Result<(), Error> {
    let item = decode_with(input, limits)?;
    check_tag(&item, version)?;
    match item.value {
        Value::Structure(s) => s.walk(|v| match v {
            Visit::Item(item) => check_tag(item, version),
            Visit::Leave => Ok(()),
        }),
        _ => Ok(()),
    }
}

fn check_tag(item: &Item<'_>, version: Version) -> Result<(), Error> {
    let tag = item.tag;
    if tag.is_extension() || tag.is_defined_in(version) {
        Ok(())
    } else {
        Err(Error::UnknownTag {
            offset: item.offset,
            tag,
            version,
        })
    }
}

/// The total length of the message whose first bytes are `header`, for framing a byte stream: `Ok(None)`
/// until the 8 header bytes are there.
///
/// # Errors
///
/// [`Error::UnknownType`] for a type byte KMIP does not define and [`Error::TooLarge`] when the message
/// would exceed `limits.max_message_size()`, so a transport can refuse it before reading the body.
pub fn message_length(header: &[u8], limits: &Limits) -> Result<Option<usize>, Error> {
    let Some(h) = header.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let tag = Tag::from_bytes([h[0], h[1], h[2]]);
    let Some(item_type) = ItemType::from_byte(h[3]) else {
        return Err(Error::UnknownType {
            offset: 0,
            tag,
            type_byte: h[3],
        });
    };
    let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
    let body = if item_type == ItemType::Structure {
        len
    } else {
        padded(len)
    };
    let total = HEADER_LEN.saturating_add(body);
    if total > limits.max_message_size() {
        return Err(Error::TooLarge {
            offset: 0,
            tag: Some(tag),
            length: total,
            max: limits.max_message_size(),
        });
    }
    Ok(Some(total))
}

fn peek_tag(input: &[u8]) -> Option<Tag> {
    match input {
        [a, b, c, ..] => Some(Tag::from_bytes([*a, *b, *c])),
        _ => None,
    }
}

#[inline]
fn be_u32(b: &[u8; 8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads the item at the start of `buf` (which sits at `offset` in the message) and returns it with the
/// number of bytes it occupies, padding included (never more than `buf.len()`).
#[inline(always)]
pub(super) fn read_item(
    buf: &[u8],
    offset: usize,
    depth: u32,
    max_depth: u32,
) -> Result<(Item<'_>, usize), Error> {
    let Some((h, body)) = buf.split_first_chunk::<HEADER_LEN>() else {
        return Err(Error::Truncated {
            offset,
            tag: peek_tag(buf),
            needed: HEADER_LEN,
            available: buf.len(),
        });
    };
    let tag = Tag::from_bytes([h[0], h[1], h[2]]);
    let type_byte = h[3];
    let length = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
    let len = length as usize;
    let truncated = |needed: usize| Error::Truncated {
        offset,
        tag: Some(tag),
        needed: HEADER_LEN.saturating_add(needed),
        available: buf.len(),
    };
    let wrong_length = |item_type| Error::WrongLength {
        offset,
        tag,
        item_type,
        length,
    };
    let bad_padding = || Error::BadPadding { offset, tag };

    // The fixed-size types: 4 or 8 value bytes in an 8-byte slot.
    let fixed = |item_type: ItemType, want: u32| -> Result<&[u8; 8], Error> {
        if length != want {
            return Err(wrong_length(item_type));
        }
        body.first_chunk::<8>().ok_or_else(|| truncated(8))
    };
    let value = match type_byte {
        0x01 => {
            if !len.is_multiple_of(8) {
                return Err(wrong_length(ItemType::Structure));
            }
            let Some(inner) = body.get(..len) else {
                return Err(truncated(len));
            };
            if depth > max_depth {
                return Err(Error::DepthExceeded {
                    offset,
                    tag,
                    max_depth: max_depth as usize,
                });
            }
            let s = Structure {
                body: inner,
                offset: offset + HEADER_LEN,
                depth,
                max_depth,
            };
            return Ok((
                Item {
                    tag,
                    offset,
                    value: Value::Structure(s),
                },
                HEADER_LEN + len,
            ));
        }
        0x02 => {
            let v = fixed(ItemType::Integer, 4)?;
            if v[4..] != [0; 4] {
                return Err(bad_padding());
            }
            Value::Integer(be_u32(v) as i32)
        }
        0x03 => Value::LongInteger(i64::from_be_bytes(*fixed(ItemType::LongInteger, 8)?)),
        0x04 => {
            if len == 0 || !len.is_multiple_of(8) {
                return Err(wrong_length(ItemType::BigInteger));
            }
            Value::BigInteger(body.get(..len).ok_or_else(|| truncated(len))?)
        }
        0x05 => {
            let v = fixed(ItemType::Enumeration, 4)?;
            if v[4..] != [0; 4] {
                return Err(bad_padding());
            }
            Value::Enumeration(be_u32(v))
        }
        0x06 => {
            let v = u64::from_be_bytes(*fixed(ItemType::Boolean, 8)?);
            match v {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                _ => {
                    return Err(Error::InvalidBoolean {
                        offset,
                        tag,
                        value: v,
                    });
                }
            }
        }
        0x07 | 0x08 => {
            let slot = padded(len);
            let Some(all) = body.get(..slot) else {
                return Err(truncated(slot));
            };
            let (bytes, pad) = all.split_at(len);
            if pad.iter().any(|&b| b != 0) {
                return Err(bad_padding());
            }
            if type_byte == 0x07 {
                match core::str::from_utf8(bytes) {
                    Ok(s) => Value::TextString(s),
                    Err(_) => return Err(Error::InvalidUtf8 { offset, tag }),
                }
            } else {
                Value::ByteString(bytes)
            }
        }
        0x09 => Value::DateTime(i64::from_be_bytes(*fixed(ItemType::DateTime, 8)?)),
        0x0A => {
            let v = fixed(ItemType::Interval, 4)?;
            if v[4..] != [0; 4] {
                return Err(bad_padding());
            }
            Value::Interval(be_u32(v))
        }
        0x0B => Value::DateTimeExtended(i64::from_be_bytes(*fixed(ItemType::DateTimeExtended, 8)?)),
        _ => {
            return Err(Error::UnknownType {
                offset,
                tag,
                type_byte,
            });
        }
    };
    Ok((Item { tag, offset, value }, HEADER_LEN + padded(len)))
}
