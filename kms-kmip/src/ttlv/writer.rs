//! The writer: appends items to a `Vec<u8>`, structure lengths filled in when the structure ends.

use super::{Error, HEADER_LEN, Item, ItemType, Tag, Value, padded};

/// Appends TTLV items to a buffer.
///
/// Writing cannot fail item by item, so encoding code stays free of `?`: the only possible failure, a value
/// or structure longer than the 4-byte length field can say (4 GiB), is remembered and returned by
/// [`Writer::finish`].
///
/// ```
/// use kms_kmip::ttlv::{Tag, Writer};
///
/// let mut buf = Vec::new();
/// let mut w = Writer::new(&mut buf);
/// w.integer(Tag::new(0x420020).unwrap(), 8);
/// w.finish()?;
/// assert_eq!(buf, [0x42, 0x00, 0x20, 0x02, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 0]);
/// # Ok::<(), kms_kmip::ttlv::Error>(())
/// ```
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut Vec<u8>,
    /// Where this writer started in `buf`: offsets in errors count from here.
    start: usize,
    error: Option<Error>,
}

/// A structure opened by [`Writer::begin_structure`], to be passed to [`Writer::end_structure`].
#[derive(Debug)]
#[must_use = "a structure's length is only written by Writer::end_structure"]
pub struct StructureStart {
    pos: usize,
    tag: Tag,
}

impl<'b> Writer<'b> {
    /// A writer appending to `buf` (existing contents are kept).
    pub fn new(buf: &'b mut Vec<u8>) -> Self {
        let start = buf.len();
        Self {
            buf,
            start,
            error: None,
        }
    }

    /// Bytes written so far by this writer.
    #[must_use]
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// True if nothing has been written yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends writing.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] if an item was longer than 2^32 - 1 bytes (its length field is then wrong and
    /// the buffer must be discarded).
    pub fn finish(self) -> Result<(), Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    #[inline]
    fn header(&mut self, tag: Tag, item_type: ItemType, len: u32) {
        let t = tag.to_bytes();
        let l = len.to_be_bytes();
        self.buf.extend_from_slice(&[
            t[0],
            t[1],
            t[2],
            item_type.to_byte(),
            l[0],
            l[1],
            l[2],
            l[3],
        ]);
    }

    fn length_of(&mut self, tag: Tag, len: usize) -> u32 {
        match u32::try_from(len) {
            Ok(l) => l,
            Err(_) => {
                if self.error.is_none() {
                    self.error = Some(Error::TooLarge {
                        offset: self.len(),
                        tag: Some(tag),
                        length: len,
                        max: u32::MAX as usize,
                    });
                }
                u32::MAX
            }
        }
    }

    #[inline]
    fn fixed4(&mut self, tag: Tag, item_type: ItemType, v: [u8; 4]) {
        let t = tag.to_bytes();
        self.buf.extend_from_slice(&[
            t[0],
            t[1],
            t[2],
            item_type.to_byte(),
            0,
            0,
            0,
            4,
            v[0],
            v[1],
            v[2],
            v[3],
            0,
            0,
            0,
            0,
        ]);
    }

    #[inline]
    fn fixed8(&mut self, tag: Tag, item_type: ItemType, v: [u8; 8]) {
        self.header(tag, item_type, 8);
        self.buf.extend_from_slice(&v);
    }

    /// Writes an Integer.
    pub fn integer(&mut self, tag: Tag, value: i32) {
        self.fixed4(tag, ItemType::Integer, value.to_be_bytes());
    }

    /// Writes a Long Integer.
    pub fn long_integer(&mut self, tag: Tag, value: i64) {
        self.fixed8(tag, ItemType::LongInteger, value.to_be_bytes());
    }

    /// Writes a Big Integer from big-endian two's complement bytes of any length, sign-extending them to a
    /// multiple of 8 bytes (an empty slice is zero).
    pub fn big_integer(&mut self, tag: Tag, twos_complement: &[u8]) {
        let fill = match twos_complement.first() {
            Some(b) if b & 0x80 != 0 => 0xFF,
            _ => 0x00,
        };
        self.big_integer_with_fill(tag, twos_complement, fill);
    }

    /// Writes a non-negative Big Integer from its unsigned big-endian magnitude (an RSA modulus, say),
    /// adding the zero sign bits it needs.
    pub fn big_integer_unsigned(&mut self, tag: Tag, magnitude: &[u8]) {
        let extra = usize::from(magnitude.first().is_some_and(|b| b & 0x80 != 0));
        let total = padded((magnitude.len() + extra).max(1));
        let len = self.length_of(tag, total);
        self.header(tag, ItemType::BigInteger, len);
        self.buf
            .resize(self.buf.len() + (total - magnitude.len()), 0);
        self.buf.extend_from_slice(magnitude);
    }

    fn big_integer_with_fill(&mut self, tag: Tag, bytes: &[u8], fill: u8) {
        let total = padded(bytes.len().max(1));
        let len = self.length_of(tag, total);
        self.header(tag, ItemType::BigInteger, len);
        self.buf
            .resize(self.buf.len() + (total - bytes.len()), fill);
        self.buf.extend_from_slice(bytes);
    }

    /// Writes an Enumeration.
    pub fn enumeration(&mut self, tag: Tag, value: u32) {
        self.fixed4(tag, ItemType::Enumeration, value.to_be_bytes());
    }

    /// Writes a Boolean (8 bytes, 0 or 1).
    pub fn boolean(&mut self, tag: Tag, value: bool) {
        self.fixed8(tag, ItemType::Boolean, u64::from(value).to_be_bytes());
    }

    /// Writes a Text String.
    pub fn text_string(&mut self, tag: Tag, value: &str) {
        self.bytes(tag, ItemType::TextString, value.as_bytes());
    }

    /// Writes a Byte String.
    pub fn byte_string(&mut self, tag: Tag, value: &[u8]) {
        self.bytes(tag, ItemType::ByteString, value);
    }

    #[inline]
    fn bytes(&mut self, tag: Tag, item_type: ItemType, value: &[u8]) {
        let len = self.length_of(tag, value.len());
        self.header(tag, item_type, len);
        self.buf.extend_from_slice(value);
        // Zero padding up to the 8-byte boundary; the length field excludes it.
        let pad = padded(value.len()) - value.len();
        self.buf.extend_from_slice(&[0u8; 8][..pad]);
    }

    /// Writes a Date-Time (POSIX seconds).
    pub fn date_time(&mut self, tag: Tag, value: i64) {
        self.fixed8(tag, ItemType::DateTime, value.to_be_bytes());
    }

    /// Writes an Interval (seconds).
    pub fn interval(&mut self, tag: Tag, value: u32) {
        self.fixed4(tag, ItemType::Interval, value.to_be_bytes());
    }

    /// Writes a Date-Time Extended (POSIX microseconds, KMIP 2.0+).
    pub fn date_time_extended(&mut self, tag: Tag, value: i64) {
        self.fixed8(tag, ItemType::DateTimeExtended, value.to_be_bytes());
    }

    /// Opens a structure; write its children, then call [`Writer::end_structure`].
    pub fn begin_structure(&mut self, tag: Tag) -> StructureStart {
        let pos = self.buf.len();
        self.header(tag, ItemType::Structure, 0);
        StructureStart { pos, tag }
    }

    /// Closes a structure, writing its length.
    pub fn end_structure(&mut self, start: StructureStart) {
        let body = self.buf.len() - start.pos - HEADER_LEN;
        let len = self.length_of(start.tag, body).to_be_bytes();
        if let Some(field) = self.buf.get_mut(start.pos + 4..start.pos + HEADER_LEN) {
            field.copy_from_slice(&len);
        }
    }

    /// Writes a structure whose children `f` writes.
    pub fn structure<R>(&mut self, tag: Tag, f: impl FnOnce(&mut Self) -> R) -> R {
        let start = self.begin_structure(tag);
        let r = f(self);
        self.end_structure(start);
        r
    }

    /// Writes an item with its value (a structure's body is copied as it was read, unchanged).
    pub fn item(&mut self, item: &Item<'_>) {
        self.value(item.tag(), item.value());
    }

    /// Writes `value` under `tag` (a structure's body is copied as it was read, unchanged).
    pub fn value(&mut self, tag: Tag, value: &Value<'_>) {
        match *value {
            Value::Structure(s) => {
                let len = self.length_of(tag, s.body().len());
                self.header(tag, ItemType::Structure, len);
                self.buf.extend_from_slice(s.body());
            }
            Value::Integer(v) => self.integer(tag, v),
            Value::LongInteger(v) => self.long_integer(tag, v),
            Value::BigInteger(v) => self.big_integer(tag, v),
            Value::Enumeration(v) => self.enumeration(tag, v),
            Value::Boolean(v) => self.boolean(tag, v),
            Value::TextString(v) => self.text_string(tag, v),
            Value::ByteString(v) => self.byte_string(tag, v),
            Value::DateTime(v) => self.date_time(tag, v),
            Value::Interval(v) => self.interval(tag, v),
            Value::DateTimeExtended(v) => self.date_time_extended(tag, v),
        }
    }
}
