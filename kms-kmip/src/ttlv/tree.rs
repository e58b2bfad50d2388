//! A generic TTLV tree, borrowed from the input or owned, for tools and the XML/JSON encodings.

use std::borrow::Cow;

use super::{Error, Item, ItemType, Limits, Tag, Value, Writer, decode_with};

/// One item of a generic TTLV tree. Borrowing (`Node<'a>` from [`Node::decode`]) or owned
/// (`Node<'static>`, from [`Node::into_owned`] or built by hand).
///
/// ```
/// use kms_kmip::ttlv::{Node, NodeValue, Tag};
///
/// let node = Node::structure(Tag::PROTOCOL_VERSION, vec![
///     Node::new(Tag::PROTOCOL_VERSION_MAJOR, NodeValue::Integer(1)),
///     Node::new(Tag::PROTOCOL_VERSION_MINOR, NodeValue::Integer(4)),
/// ]);
/// let bytes = node.to_bytes()?;
/// assert_eq!(Node::decode(&bytes)?, node);
/// # Ok::<(), kms_kmip::ttlv::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node<'a> {
    /// The tag.
    pub tag: Tag,
    /// The value.
    pub value: NodeValue<'a>,
}

/// The value of a [`Node`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeValue<'a> {
    /// Structure.
    Structure(Vec<Node<'a>>),
    /// Integer.
    Integer(i32),
    /// Long Integer.
    LongInteger(i64),
    /// Big Integer: big-endian two's complement (as decoded, a multiple of 8 bytes; encoding sign-extends
    /// any length).
    BigInteger(Cow<'a, [u8]>),
    /// Enumeration.
    Enumeration(u32),
    /// Boolean.
    Boolean(bool),
    /// Text String.
    TextString(Cow<'a, str>),
    /// Byte String.
    ByteString(Cow<'a, [u8]>),
    /// Date-Time: POSIX seconds.
    DateTime(i64),
    /// Interval: seconds.
    Interval(u32),
    /// Date-Time Extended: POSIX microseconds.
    DateTimeExtended(i64),
}

impl NodeValue<'_> {
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

    /// The value with everything it borrows copied.
    #[must_use]
    pub fn into_owned(self) -> NodeValue<'static> {
        match self {
            Self::Structure(c) => {
                NodeValue::Structure(c.into_iter().map(Node::into_owned).collect())
            }
            Self::Integer(v) => NodeValue::Integer(v),
            Self::LongInteger(v) => NodeValue::LongInteger(v),
            Self::BigInteger(v) => NodeValue::BigInteger(Cow::Owned(v.into_owned())),
            Self::Enumeration(v) => NodeValue::Enumeration(v),
            Self::Boolean(v) => NodeValue::Boolean(v),
            Self::TextString(v) => NodeValue::TextString(Cow::Owned(v.into_owned())),
            Self::ByteString(v) => NodeValue::ByteString(Cow::Owned(v.into_owned())),
            Self::DateTime(v) => NodeValue::DateTime(v),
            Self::Interval(v) => NodeValue::Interval(v),
            Self::DateTimeExtended(v) => NodeValue::DateTimeExtended(v),
        }
    }
}

impl<'a> Node<'a> {
    /// A node.
    #[must_use]
    pub const fn new(tag: Tag, value: NodeValue<'a>) -> Self {
        Self { tag, value }
    }

    /// A structure node.
    #[must_use]
    pub const fn structure(tag: Tag, children: Vec<Self>) -> Self {
        Self {
            tag,
            value: NodeValue::Structure(children),
        }
    }

    /// Decodes a whole message into a tree with the default [`Limits`].
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the message, wherever it is.
    pub fn decode(input: &'a [u8]) -> Result<Self, Error> {
        Self::decode_with(input, &Limits::new())
    }

    /// Decodes a whole message into a tree.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the message, wherever it is.
    pub fn decode_with(input: &'a [u8], limits: &Limits) -> Result<Self, Error> {
        Self::from_item(&decode_with(input, limits)?)
    }

    /// Reads an item and everything below it into a tree.
    ///
    /// # Errors
    ///
    /// The first error found below the item.
    pub fn from_item(item: &Item<'a>) -> Result<Self, Error> {
        let value = match *item.value() {
            Value::Structure(s) => {
                let mut children = Vec::with_capacity(s.count_children());
                for child in s.children() {
                    children.push(Self::from_item(&child?)?);
                }
                NodeValue::Structure(children)
            }
            Value::Integer(v) => NodeValue::Integer(v),
            Value::LongInteger(v) => NodeValue::LongInteger(v),
            Value::BigInteger(v) => NodeValue::BigInteger(Cow::Borrowed(v)),
            Value::Enumeration(v) => NodeValue::Enumeration(v),
            Value::Boolean(v) => NodeValue::Boolean(v),
            Value::TextString(v) => NodeValue::TextString(Cow::Borrowed(v)),
            Value::ByteString(v) => NodeValue::ByteString(Cow::Borrowed(v)),
            Value::DateTime(v) => NodeValue::DateTime(v),
            Value::Interval(v) => NodeValue::Interval(v),
            Value::DateTimeExtended(v) => NodeValue::DateTimeExtended(v),
        };
        Ok(Self {
            tag: item.tag(),
            value,
        })
    }

    /// The item type.
    #[must_use]
    pub const fn item_type(&self) -> ItemType {
        self.value.item_type()
    }

    /// The children, if this is a structure.
    #[must_use]
    pub fn children(&self) -> Option<&[Self]> {
        match &self.value {
            NodeValue::Structure(c) => Some(c),
            _ => None,
        }
    }

    /// The first child with this tag, if this is a structure that has one.
    #[must_use]
    pub fn child(&self, tag: Tag) -> Option<&Self> {
        self.children()?.iter().find(|c| c.tag == tag)
    }

    /// Appends the TTLV encoding of this tree.
    pub fn encode(&self, w: &mut Writer<'_>) {
        match &self.value {
            NodeValue::Structure(children) => w.structure(self.tag, |w| {
                for c in children {
                    c.encode(w);
                }
            }),
            NodeValue::Integer(v) => w.integer(self.tag, *v),
            NodeValue::LongInteger(v) => w.long_integer(self.tag, *v),
            NodeValue::BigInteger(v) => w.big_integer(self.tag, v),
            NodeValue::Enumeration(v) => w.enumeration(self.tag, *v),
            NodeValue::Boolean(v) => w.boolean(self.tag, *v),
            NodeValue::TextString(v) => w.text_string(self.tag, v),
            NodeValue::ByteString(v) => w.byte_string(self.tag, v),
            NodeValue::DateTime(v) => w.date_time(self.tag, *v),
            NodeValue::Interval(v) => w.interval(self.tag, *v),
            NodeValue::DateTimeExtended(v) => w.date_time_extended(self.tag, *v),
        }
    }

    /// The TTLV encoding of this tree.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] if an item exceeds 4 GiB.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut buf = Vec::new();
        let mut w = Writer::new(&mut buf);
        self.encode(&mut w);
        w.finish()?;
        Ok(buf)
    }

    /// The tree with everything it borrows copied.
    #[must_use]
    pub fn into_owned(self) -> Node<'static> {
        Node {
            tag: self.tag,
            value: self.value.into_owned(),
        }
    }
}
