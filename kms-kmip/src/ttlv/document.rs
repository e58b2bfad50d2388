//! A whole decoded message as one flat list of items, for reading generic TTLV fast.

use core::fmt;

use super::reader::{Visit, read_item};
use super::{Error, HEADER_LEN, Item, Limits, Node, NodeValue, Tag, Value, decode_with, padded};

/// Most entries reserved before the first item is read; a larger message grows the list as its items
/// arrive, so a large input does not reserve its worst case up front.
const MAX_INITIAL_ENTRIES: usize = 4096;

/// Most entries a [`DocumentBuffer`] keeps between decodes (384 KiB), so that one large message does not pin
/// its memory for the life of a connection.
const MAX_KEPT_ENTRIES: usize = 16 * 1024;

/// The parent index of the outer item: no structure.
const NONE: u32 = u32::MAX;

/// The type byte of a Structure.
const STRUCTURE: u8 = 0x01;

// Entries keep depths in 16 bits.
const _: () = assert!(Limits::MAX_SUPPORTED_DEPTH < u16::MAX as usize);

/// A decoded and fully checked message: every item in document order in one allocation, each structure
/// knowing where its subtree ends (the layout of `roxmltree`'s documents and of simdjson's tape).
///
/// An item is kept as its place in the message, tag and type (24 bytes); its value is read from the message
/// when [`Element::item`] asks for it. Decoding is one validating walk plus a push per item; to decode many
/// messages without allocating each time, use [`Document::decode_with_buffer`]. [`Node`] trees (which own one
/// `Vec` per structure) are built from it by [`Element::to_node`] when a tree to edit is needed.
///
/// ```
/// use kms_kmip::ttlv::{Document, Node, NodeValue, Tag};
///
/// let bytes = Node::structure(Tag::PROTOCOL_VERSION, vec![
///     Node::new(Tag::PROTOCOL_VERSION_MAJOR, NodeValue::Integer(2)),
///     Node::new(Tag::PROTOCOL_VERSION_MINOR, NodeValue::Integer(1)),
/// ]).to_bytes()?;
/// let doc = Document::decode(&bytes)?;
/// let root = doc.root();
/// assert_eq!(root.tag(), Tag::PROTOCOL_VERSION);
/// let minor = root.child(Tag::PROTOCOL_VERSION_MINOR).map(|e| e.item().as_integer());
/// assert_eq!(minor, Some(Ok(1)));
/// assert_eq!(root.children().count(), 2);
/// # Ok::<(), kms_kmip::ttlv::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Document<'a> {
    input: &'a [u8],
    max_depth: u32,
    entries: Vec<Entry>,
}

/// The entry list of a [`Document`] kept between decodes: see [`Document::decode_with_buffer`].
#[derive(Clone, Debug, Default)]
pub struct DocumentBuffer {
    entries: Vec<Entry>,
}

impl DocumentBuffer {
    /// An empty buffer; the first decode allocates it.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

/// One item: where it is and what it is. Its value is read again from the message on demand, which the walk
/// that made the entry has checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    /// Offset of the item's header in the message.
    offset: usize,
    tag: Tag,
    /// The index just past the item's last descendant (for a scalar, its own index plus one). While a
    /// structure is being read: its parent's index.
    end: u32,
    /// For a structure, the number of its children (while it is being read and a child structure is open, the
    /// count so far).
    children: u32,
    /// For a structure, its depth (the outer item is 1); 0 for a scalar.
    depth: u16,
    type_byte: u8,
}

impl Entry {
    fn new(item: &Item<'_>, end: u32) -> Self {
        let depth = match item.value() {
            Value::Structure(s) => u16::try_from(s.depth()).unwrap_or(u16::MAX),
            _ => 0,
        };
        Self {
            offset: item.offset(),
            tag: item.tag(),
            end,
            children: 0,
            depth,
            type_byte: item.item_type() as u8,
        }
    }
}

/// An entry index: a checked message holds at most `(8 + u32::MAX) / 8` items (the outer length is a `u32`),
/// so an index always fits.
fn index(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(NONE)
}

impl<'a> Document<'a> {
    /// Decodes and checks a whole message with the default [`Limits`].
    ///
    /// # Errors
    ///
    /// The first [`Error`] of the message in document order, as [`Node::decode`] reports it.
    pub fn decode(input: &'a [u8]) -> Result<Self, Error> {
        Self::decode_with(input, &Limits::new())
    }

    /// Decodes and checks a whole message.
    ///
    /// # Errors
    ///
    /// The first [`Error`] of the message in document order, as [`Node::decode_with`] reports it.
    pub fn decode_with(input: &'a [u8], limits: &Limits) -> Result<Self, Error> {
        // Every item takes 8 bytes at least, so this is enough for any message up to the cap.
        let mut entries =
            Vec::with_capacity((input.len() / HEADER_LEN).clamp(1, MAX_INITIAL_ENTRIES));
        fill(input, limits, &mut entries)?;
        Ok(Self::new(input, limits, entries))
    }

    /// Decodes and checks a whole message into the entry list held by `buffer`, which the document takes over
    /// and [`Document::into_buffer`] gives back, so that a loop over messages allocates only while the list
    /// grows. On error, `buffer` keeps the list.
    ///
    /// ```
    /// use kms_kmip::ttlv::{Document, DocumentBuffer, Limits, Node, NodeValue, Tag};
    ///
    /// let bytes = Node::new(Tag::PROTOCOL_VERSION_MAJOR, NodeValue::Integer(2)).to_bytes()?;
    /// let mut buffer = DocumentBuffer::new();
    /// for _ in 0..3 {
    ///     let doc = Document::decode_with_buffer(&bytes, &Limits::default(), &mut buffer)?;
    ///     assert_eq!(doc.root().item().as_integer(), Ok(2));
    ///     buffer = doc.into_buffer();
    /// }
    /// # Ok::<(), kms_kmip::ttlv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Document::decode_with`].
    pub fn decode_with_buffer(
        input: &'a [u8],
        limits: &Limits,
        buffer: &mut DocumentBuffer,
    ) -> Result<Self, Error> {
        let mut entries = core::mem::take(&mut buffer.entries);
        match fill(input, limits, &mut entries) {
            Ok(()) => Ok(Self::new(input, limits, entries)),
            Err(e) => {
                buffer.entries = entries;
                Err(e)
            }
        }
    }

    /// The entry list, to decode the next message into with [`Document::decode_with_buffer`] (kept up to 16 Ki
    /// entries, 384 KiB).
    #[must_use]
    pub fn into_buffer(self) -> DocumentBuffer {
        let mut entries = self.entries;
        entries.clear();
        entries.shrink_to(MAX_KEPT_ENTRIES);
        DocumentBuffer { entries }
    }

    fn new(input: &'a [u8], limits: &Limits, entries: Vec<Entry>) -> Self {
        Self {
            input,
            max_depth: u32::try_from(limits.max_depth()).unwrap_or(u32::MAX),
            entries,
        }
    }

    /// The outer item.
    #[must_use]
    pub fn root(&self) -> Element<'_, 'a> {
        Element {
            doc: self,
            index: 0,
        }
    }

    /// How many items the message holds, structures included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Always false: a message holds at least its outer item.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every item in document order (a structure before its children).
    pub fn items(&self) -> impl ExactSizeIterator<Item = Item<'a>> + '_ {
        (0..self.entries.len()).map(|index| Element { doc: self, index }.item())
    }
}

impl fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.items()).finish()
    }
}

/// Reads and checks `input` into `entries` (cleared first): the fast walk, and where it stops, the reader's walk
/// for the exact error.
fn fill(input: &[u8], limits: &Limits, entries: &mut Vec<Entry>) -> Result<(), Error> {
    entries.clear();
    let max_depth = u32::try_from(limits.max_depth()).unwrap_or(u32::MAX);
    if input.len() <= limits.max_message_size() && fill_fast(input, max_depth, entries).is_some() {
        return Ok(());
    }
    entries.clear();
    fill_checked(input, limits, entries)
}

/// The walk of every message that decodes: each rule of the reader ([`read_item`]: header, type, length,
/// padding, Boolean value, UTF-8, depth, one item with nothing after it) checked with no error to build, the
/// parent chain kept in the entries themselves. `None` at the first item it does not accept, whose error
/// [`fill_checked`] then finds.
#[inline]
fn fill_fast(input: &[u8], max_depth: u32, entries: &mut Vec<Entry>) -> Option<()> {
    // The outer item fills the input exactly, so the walk below never meets a second item at the top.
    let (h, body) = input.split_first_chunk::<HEADER_LEN>()?;
    let (tag, type_byte, len) = header(h);
    if type_byte != STRUCTURE {
        let slot = scalar_slot(type_byte, len, body)?;
        (HEADER_LEN + slot == input.len()).then_some(())?;
        entries.push(Entry {
            offset: 0,
            tag,
            end: 1,
            children: 0,
            depth: 0,
            type_byte,
        });
        return Some(());
    }
    if !len.is_multiple_of(8) || HEADER_LEN + len != input.len() || max_depth == 0 {
        return None;
    }
    entries.push(Entry {
        offset: 0,
        tag,
        end: NONE,
        children: 0,
        depth: 1,
        type_byte,
    });
    let mut pos = HEADER_LEN;
    // The innermost open structure: its index, byte end, depth, and how many children it has so far.
    let mut open = 0u32;
    let mut end = input.len();
    let mut depth = 1u32;
    let mut children = 0u32;
    loop {
        while pos == end {
            let len = index(entries.len());
            let e = entries.get_mut(open as usize)?;
            let parent = e.end;
            e.end = len;
            e.children = children;
            if parent == NONE {
                return Some(());
            }
            open = parent;
            depth -= 1;
            let p = entries.get(parent as usize)?;
            children = p.children;
            let (_, _, len) = header(input.get(p.offset..)?.first_chunk::<HEADER_LEN>()?);
            end = p.offset + HEADER_LEN + len;
        }
        let (h, body) = input.get(pos..end)?.split_first_chunk::<HEADER_LEN>()?;
        let (tag, type_byte, len) = header(h);
        let at = index(entries.len());
        children += 1;
        if type_byte == STRUCTURE {
            if !len.is_multiple_of(8) || len > body.len() || depth >= max_depth {
                return None;
            }
            if let Some(p) = entries.get_mut(open as usize) {
                p.children = children;
            }
            depth += 1;
            entries.push(Entry {
                offset: pos,
                tag,
                end: open,
                children: 0,
                depth: u16::try_from(depth).ok()?,
                type_byte,
            });
            open = at;
            children = 0;
            pos += HEADER_LEN;
            end = pos + len;
        } else {
            let slot = scalar_slot(type_byte, len, body)?;
            entries.push(Entry {
                offset: pos,
                tag,
                end: at + 1,
                children: 0,
                depth: 0,
                type_byte,
            });
            pos += HEADER_LEN + slot;
        }
    }
}

/// Tag, type byte and length of an item header.
#[inline(always)]
fn header(h: &[u8; HEADER_LEN]) -> (Tag, u8, usize) {
    let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
    (Tag::from_bytes([h[0], h[1], h[2]]), h[3], len as usize)
}

/// The bytes a scalar's value takes (its slot, padding included) if its type, length, padding and value
/// are right and `body` (what follows its header up to its parent's end) holds it.
#[inline(always)]
fn scalar_slot(type_byte: u8, len: usize, body: &[u8]) -> Option<usize> {
    let slot = padded(len);
    let value = body.get(..slot)?;
    // The fixed-size types: 4 or 8 value bytes in an 8-byte slot.
    let fixed = || value.first_chunk::<8>().map(|v| u64::from_be_bytes(*v));
    let fits = match type_byte {
        0x02 | 0x05 | 0x0A => len == 4 && fixed()? & 0xFFFF_FFFF == 0,
        0x03 | 0x09 | 0x0B => len == 8,
        0x06 => len == 8 && fixed()? <= 1,
        0x04 => len != 0 && len.is_multiple_of(8),
        0x07 | 0x08 => {
            let (bytes, pad) = value.split_at_checked(len)?;
            pad.iter().all(|&b| b == 0)
                && (type_byte == 0x08 || core::str::from_utf8(bytes).is_ok())
        }
        _ => false,
    };
    fits.then_some(slot)
}

/// The reader's walk ([`Structure::walk`](super::Structure)), which reports the exact error.
fn fill_checked(input: &[u8], limits: &Limits, entries: &mut Vec<Entry>) -> Result<(), Error> {
    let root = decode_with(input, limits)?;
    entries.push(Entry::new(&root, 1));
    if let Value::Structure(s) = root.value() {
        // `open` is the innermost structure being read; each open structure keeps its parent's index in
        // `end` until it is left, so no separate stack is needed.
        let mut open = 0u32;
        s.walk(|visit| {
            match visit {
                Visit::Item(item) => {
                    let at = index(entries.len());
                    if let Some(parent) = entries.get_mut(open as usize) {
                        parent.children += 1;
                    }
                    if matches!(item.value(), Value::Structure(_)) {
                        entries.push(Entry::new(item, open));
                        open = at;
                    } else {
                        entries.push(Entry::new(item, at + 1));
                    }
                }
                Visit::Leave => {
                    let len = index(entries.len());
                    if let Some(e) = entries.get_mut(open as usize) {
                        open = e.end;
                        e.end = len;
                    }
                }
            }
            Ok(())
        })?;
        let len = index(entries.len());
        if let Some(root) = entries.first_mut() {
            root.end = len;
        }
    }
    Ok(())
}

/// One item of a [`Document`], with its place in the tree.
#[derive(Clone, Copy)]
pub struct Element<'d, 'a> {
    doc: &'d Document<'a>,
    index: usize,
}

impl<'d, 'a> Element<'d, 'a> {
    fn entry(&self) -> &'d Entry {
        // Elements are only made for indices of their document.
        &self.doc.entries[self.index]
    }

    /// The item: tag, offset and value (for a structure, its body), read from the message.
    #[must_use]
    pub fn item(&self) -> Item<'a> {
        let e = self.entry();
        let at = self.doc.input.get(e.offset..).unwrap_or_default();
        match read_item(at, e.offset, u32::from(e.depth), self.doc.max_depth) {
            Ok((item, _)) => item,
            // Decoding read this item of this same message without error, so this arm is never taken; it
            // stands in for a panic.
            Err(_) => Item::new(e.tag, e.offset, Value::ByteString(&[])),
        }
    }

    /// The tag.
    #[must_use]
    pub fn tag(&self) -> Tag {
        self.entry().tag
    }

    /// True for a structure.
    #[must_use]
    pub fn is_structure(&self) -> bool {
        self.entry().type_byte == STRUCTURE
    }

    /// The children in order (none for a scalar).
    #[must_use]
    pub fn children(&self) -> Elements<'d, 'a> {
        Elements {
            doc: self.doc,
            next: self.index + 1,
            left: self.entry().children as usize,
        }
    }

    /// The first child with this tag.
    #[must_use]
    pub fn child(&self, tag: Tag) -> Option<Self> {
        self.children().find(|c| c.tag() == tag)
    }

    /// This item and everything below it as an owned-structure tree (borrowing the message's strings).
    #[must_use]
    pub fn to_node(&self) -> Node<'a> {
        let item = self.item();
        let value = match *item.value() {
            Value::Structure(_) => {
                let mut children = Vec::with_capacity(self.entry().children as usize);
                children.extend(self.children().map(|c| c.to_node()));
                NodeValue::Structure(children)
            }
            Value::Integer(v) => NodeValue::Integer(v),
            Value::LongInteger(v) => NodeValue::LongInteger(v),
            Value::BigInteger(v) => NodeValue::BigInteger(v.into()),
            Value::Enumeration(v) => NodeValue::Enumeration(v),
            Value::Boolean(v) => NodeValue::Boolean(v),
            Value::TextString(v) => NodeValue::TextString(v.into()),
            Value::ByteString(v) => NodeValue::ByteString(v.into()),
            Value::DateTime(v) => NodeValue::DateTime(v),
            Value::Interval(v) => NodeValue::Interval(v),
            Value::DateTimeExtended(v) => NodeValue::DateTimeExtended(v),
        };
        Node::new(item.tag(), value)
    }
}

impl fmt::Debug for Element<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.item().fmt(f)
    }
}

/// The children of an [`Element`]; see [`Element::children`].
#[derive(Clone, Debug)]
pub struct Elements<'d, 'a> {
    doc: &'d Document<'a>,
    next: usize,
    left: usize,
}

impl<'d, 'a> Iterator for Elements<'d, 'a> {
    type Item = Element<'d, 'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let element = Element {
            doc: self.doc,
            index: self.next,
        };
        self.next = element.entry().end as usize;
        Some(element)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Elements<'_, '_> {}

impl core::iter::FusedIterator for Elements<'_, '_> {}

/// The vector files' messages, for the tests below.
#[cfg(test)]
#[path = "../../tests/vectors/messages.rs"]
mod vector_files;

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_messages() -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
        super::vector_files::vector_messages(&dir).unwrap()
    }

    fn sample() -> Vec<u8> {
        let t = |v| Tag::new(v).unwrap();
        Node::structure(
            t(0x42_0078),
            vec![
                Node::structure(
                    t(0x42_0077),
                    vec![
                        Node::structure(t(0x42_0069), vec![]),
                        Node::new(t(0x42_000D), NodeValue::Integer(1)),
                    ],
                ),
                Node::new(t(0x42_0094), NodeValue::TextString("id".into())),
                Node::structure(
                    t(0x42_000F),
                    vec![Node::new(t(0x42_005C), NodeValue::Enumeration(10))],
                ),
            ],
        )
        .to_bytes()
        .unwrap()
    }

    #[test]
    fn the_flat_tree_gives_back_the_nested_one() {
        let bytes = sample();
        let doc = Document::decode(&bytes).unwrap();
        assert_eq!(doc.len(), 7);
        assert_eq!(doc.root().to_node(), Node::decode(&bytes).unwrap());
        let root = doc.root();
        let tags: Vec<u32> = root.children().map(|c| c.tag().value()).collect();
        assert_eq!(tags, [0x42_0077, 0x42_0094, 0x42_000F]);
        let header = root.children().next().unwrap();
        assert_eq!(header.children().len(), 2);
        let empty = header.children().next().unwrap();
        assert!(empty.is_structure());
        assert_eq!(empty.children().count(), 0);
        assert_eq!(
            root.child(Tag::new(0x42_000F).unwrap())
                .and_then(|b| b.children().next())
                .map(|e| e.item().as_enumeration()),
            Some(Ok(10))
        );
        assert_eq!(
            doc.items().map(|i| i.offset()).collect::<Vec<_>>(),
            [0, 8, 16, 24, 40, 56, 64]
        );
    }

    /// Document decodes exactly what the nested tree decodes, and refuses the rest with the same error, on
    /// every one-byte change, truncation and depth limit of a message.
    #[test]
    fn agrees_with_the_nested_tree_on_damaged_input() {
        let bytes = sample();
        let check = |b: &[u8], limits: &Limits| {
            let doc = Document::decode_with(b, limits).map(|d| d.root().to_node());
            assert_eq!(doc, Node::decode_with(b, limits), "input {b:02x?}");
        };
        for max_depth in [1, 2, 3, 64] {
            check(&bytes, &Limits::default().with_max_depth(max_depth));
        }
        for cut in 0..bytes.len() {
            check(&bytes[..cut], &Limits::default());
        }
        for i in 0..bytes.len() {
            for v in [0x00, 0x01, 0x02, 0x07, 0x08, 0x0C, 0x10, 0x18, 0x80, 0xFF] {
                let mut b = bytes.clone();
                b[i] = v;
                check(&b, &Limits::default());
            }
        }
    }

    #[test]
    fn errors_are_those_of_the_reader() {
        let mut bytes = sample();
        // The last padding byte of the Text String (header at 40, value at 48).
        bytes[55] = 1;
        assert_eq!(
            Document::decode(&bytes).unwrap_err(),
            Node::decode(&bytes).unwrap_err()
        );
        assert!(matches!(
            Document::decode(&bytes[..bytes.len() - 8]),
            Err(Error::Truncated { .. })
        ));
    }

    /// The fast walk takes exactly the messages the reader's walk takes, with the same entries, so that
    /// `fill_checked` only ever reports errors: on every vector, and on each one-byte change and truncation of
    /// the sample and of every fourth vector, under several depth limits.
    #[test]
    fn the_fast_walk_agrees_with_the_reader() {
        let messages = vector_messages();
        assert!(messages.len() > 90);
        let check = |b: &[u8], max_depth: usize| {
            let limits = Limits::default().with_max_depth(max_depth);
            let (mut fast, mut checked) = (Vec::new(), Vec::new());
            let took = fill_fast(b, u32::try_from(max_depth).unwrap(), &mut fast).is_some();
            let result = fill_checked(b, &limits, &mut checked);
            assert_eq!(took, result.is_ok(), "input {b:02x?}: {result:?}");
            if took {
                assert_eq!(fast, checked, "input {b:02x?}");
            }
        };
        for m in &messages {
            check(m, 64);
        }
        let t = |v| Tag::new(v).unwrap();
        let every_type = Node::structure(
            t(0x42_0001),
            vec![
                Node::new(t(0x42_0002), NodeValue::Boolean(true)),
                Node::new(t(0x42_0003), NodeValue::LongInteger(-2)),
                Node::new(t(0x42_0004), NodeValue::BigInteger(vec![0x80; 8].into())),
                Node::new(t(0x42_0005), NodeValue::Interval(7)),
                Node::structure(
                    t(0x42_0006),
                    vec![
                        Node::new(t(0x42_0007), NodeValue::DateTime(1)),
                        Node::new(t(0x42_0008), NodeValue::ByteString(vec![1, 2, 3].into())),
                    ],
                ),
                Node::new(t(0x42_0009), NodeValue::DateTimeExtended(3)),
                Node::new(t(0x42_000A), NodeValue::Boolean(false)),
                Node::new(t(0x42_000B), NodeValue::TextString("\u{e9}t\u{e9}".into())),
            ],
        )
        .to_bytes()
        .unwrap();
        let scalar = Node::new(t(0x42_000D), NodeValue::Integer(3));
        let empty = Node::structure(t(0x42_0078), vec![]);
        let ours = [
            sample(),
            every_type,
            scalar.to_bytes().unwrap(),
            empty.to_bytes().unwrap(),
        ];
        let damaged = ours.iter().chain(messages.iter().step_by(4));
        for m in damaged {
            for max_depth in [0, 1, 2, 3, 4, 64] {
                check(m, max_depth);
            }
            for cut in 0..m.len() {
                check(&m[..cut], 64);
            }
            let mut longer = m.clone();
            longer.extend_from_slice(&[0; 8]);
            check(&longer, 64);
            for i in 0..m.len() {
                for v in [0x00, 0x01, 0x02, 0x04, 0x07, 0x08, 0x10, 0x80, 0xC3, 0xFF] {
                    let mut b = m.clone();
                    b[i] = v;
                    check(&b, 64);
                }
            }
        }
    }

    #[test]
    fn a_buffer_serves_one_message_after_another() {
        let bytes = sample();
        let limits = Limits::default();
        let mut buffer = DocumentBuffer::new();
        for _ in 0..3 {
            let doc = Document::decode_with_buffer(&bytes, &limits, &mut buffer).unwrap();
            assert_eq!(doc, Document::decode(&bytes).unwrap());
            buffer = doc.into_buffer();
            assert!(buffer.entries.capacity() >= 7);
        }
        let err = Document::decode_with_buffer(&bytes[..20], &limits, &mut buffer).unwrap_err();
        assert_eq!(err, Node::decode(&bytes[..20]).unwrap_err());
        assert!(buffer.entries.capacity() >= 7, "an error keeps the list");
        let scalar = Node::new(Tag::new(0x42_000D).unwrap(), NodeValue::Integer(3))
            .to_bytes()
            .unwrap();
        let doc = Document::decode_with_buffer(&scalar, &limits, &mut buffer).unwrap();
        assert_eq!(doc.len(), 1);
        assert_eq!(doc.root().item().as_integer(), Ok(3));
        assert_eq!(doc.root().children().len(), 0);
    }

    #[test]
    fn values_and_depths_are_read_back_from_the_message() {
        let bytes = sample();
        let doc = Document::decode(&bytes).unwrap();
        let tree = Node::decode(&bytes).unwrap();
        let items: Vec<Item<'_>> = doc.items().collect();
        let mut walked = vec![crate::ttlv::decode(&bytes).unwrap()];
        walked[0]
            .as_structure()
            .unwrap()
            .walk(|v| {
                if let Visit::Item(item) = v {
                    walked.push(*item);
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(items, walked);
        assert_eq!(doc.root().to_node(), tree);
        let header = doc.root().children().next().unwrap().item();
        assert_eq!(header.as_structure().unwrap().depth(), 2);
    }
}
