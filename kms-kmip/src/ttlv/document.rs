//! A whole decoded message as one flat list of items, for reading generic TTLV fast.

use super::reader::Visit;
use super::{Error, Item, Limits, Node, NodeValue, Value, decode_with};

/// Most entries reserved before the first item is read; a larger message grows the list as its items
/// arrive, so a length field alone never reserves memory.
const MAX_INITIAL_ENTRIES: usize = 4096;

/// A decoded and fully checked message: every item in document order in one allocation, each structure
/// knowing where its subtree ends (the layout of `roxmltree`'s documents and of simdjson's tape).
///
/// Decoding it is one validating walk plus a push per item; [`Node`] trees (which own one `Vec` per
/// structure) are built from it by [`Element::to_node`] when a tree to edit is needed.
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document<'a> {
    entries: Vec<Entry<'a>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry<'a> {
    item: Item<'a>,
    /// For a structure, the index just past its last descendant (while it is being read: its parent's
    /// index). Unused for scalars.
    end: usize,
    /// For a structure, the number of its children.
    children: usize,
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
        let root = decode_with(input, limits)?;
        // Items take 16 bytes each on average in real messages (8 at least); reserving for that makes one
        // allocation the usual case.
        let mut entries = Vec::with_capacity((input.len() / 16 + 1).min(MAX_INITIAL_ENTRIES));
        entries.push(Entry {
            item: root,
            end: 0,
            children: 0,
        });
        if let Value::Structure(s) = root.value() {
            // `open` is the innermost structure being read; each open structure keeps its parent's index in
            // `end` until it is left, so no separate stack is needed.
            let mut open = 0usize;
            s.walk(|visit| {
                match visit {
                    Visit::Item(item) => {
                        let index = entries.len();
                        if let Some(parent) = entries.get_mut(open) {
                            parent.children += 1;
                        }
                        entries.push(Entry {
                            item: *item,
                            end: open,
                            children: 0,
                        });
                        if matches!(item.value(), Value::Structure(_)) {
                            open = index;
                        }
                    }
                    Visit::Leave => {
                        let len = entries.len();
                        if let Some(e) = entries.get_mut(open) {
                            open = e.end;
                            e.end = len;
                        }
                    }
                }
                Ok(())
            })?;
        }
        let len = entries.len();
        if let Some(root) = entries.first_mut() {
            root.end = len;
        }
        Ok(Self { entries })
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
    pub fn items(&self) -> impl ExactSizeIterator<Item = &Item<'a>> {
        self.entries.iter().map(|e| &e.item)
    }
}

/// One item of a [`Document`], with its place in the tree.
#[derive(Clone, Copy, Debug)]
pub struct Element<'d, 'a> {
    doc: &'d Document<'a>,
    index: usize,
}

impl<'d, 'a> Element<'d, 'a> {
    fn entry(&self) -> &'d Entry<'a> {
        // Elements are only made for indices of their document.
        &self.doc.entries[self.index]
    }

    /// The item: tag, offset and decoded value (for a structure, its undecoded body).
    #[must_use]
    pub fn item(&self) -> &'d Item<'a> {
        &self.entry().item
    }

    /// The tag.
    #[must_use]
    pub fn tag(&self) -> super::Tag {
        self.entry().item.tag()
    }

    /// True for a structure.
    #[must_use]
    pub fn is_structure(&self) -> bool {
        matches!(self.entry().item.value(), Value::Structure(_))
    }

    /// The children in order (none for a scalar).
    #[must_use]
    pub fn children(&self) -> Elements<'d, 'a> {
        let e = self.entry();
        Elements {
            doc: self.doc,
            next: self.index + 1,
            left: if self.is_structure() { e.children } else { 0 },
        }
    }

    /// The first child with this tag.
    #[must_use]
    pub fn child(&self, tag: super::Tag) -> Option<Self> {
        self.children().find(|c| c.tag() == tag)
    }

    /// This item and everything below it as an owned-structure tree (borrowing the message's strings).
    #[must_use]
    pub fn to_node(&self) -> Node<'a> {
        let item = self.item();
        let value = match *item.value() {
            Value::Structure(_) => {
                let mut children = Vec::with_capacity(self.entry().children);
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
        self.next = if element.is_structure() {
            element.entry().end
        } else {
            self.next + 1
        };
        Some(element)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Elements<'_, '_> {}

impl core::iter::FusedIterator for Elements<'_, '_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttlv::Tag;

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
}
