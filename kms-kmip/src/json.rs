//! The KMIP JSON encoding of TTLV (KMIP Profiles 1.4 §5.4 / 2.1 §5 "JSON Encoding").
//!
//! Each item is an object `{"tag": .., "type": .., "value": ..}`: `tag` is the tag's name or `"0x42XXXX"`,
//! `type` is omitted for a structure, whose `value` is the array of its children. Values: Integer and Interval
//! as JSON numbers, a mask as its bit names joined by `|` (`"Encrypt|Decrypt"`); Long Integer as a number
//! below 2^52 in magnitude and as a `"0x"` hex string (16 digits, two's complement) from there on, so no JSON
//! reader loses precision; Enumeration by name or `"0x"` hex; Boolean as `true`/`false`; Big Integer as
//! `"0x"` hex; Byte String as hex; Date-Time and Date-Time Extended in ISO 8601. Readers accept a `"0x"` hex
//! string for any numeric type, as the profiles allow.
//!
//! ```
//! use kms_kmip::{json, ttlv::{Node, NodeValue, Tag}};
//!
//! let node = Node::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, NodeValue::Integer(12));
//! let text = json::to_string(&node);
//! assert!(text.contains("\"Encrypt|Decrypt\""));
//! assert_eq!(json::from_str(&text)?, node);
//! # Ok::<(), json::Error>(())
//! ```

use serde_json::{Map, Number, Value};

use crate::tags;
use crate::ttlv::text::{
    attribute_name_of, format_scalar, hex_encode, parse_hex_u64, parse_scalar, value_tag,
};
use crate::ttlv::{ItemType, Limits, Node, NodeValue, Tag};

/// Default limits for JSON input: 1 MiB, 64 levels.
pub const DEFAULT_LIMITS: Limits = Limits::new().with_max_message_size(1024 * 1024);

/// Magnitude from which a Long Integer is written as a hex string: 2^52, beyond which IEEE doubles (what many
/// JSON readers use) lose integers.
const LONG_AS_NUMBER_LIMIT: i64 = 1 << 52;

/// A KMIP JSON decoding failure. `path` is the tag path from the root (`/RequestMessage/BatchItem`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not well-formed JSON.
    #[error("JSON syntax error at line {line}, column {column}: {message}")]
    Syntax {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The document is larger than the limit.
    #[error("JSON document of {length} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its length.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// Structures nest deeper than the limit.
    #[error("{path}: nested deeper than {max_depth} levels")]
    DepthExceeded {
        /// Where.
        path: String,
        /// The limit.
        max_depth: usize,
    },
    /// Something other than a `{"tag", "type", "value"}` object where an item belongs.
    #[error("{path}: not a KMIP JSON item: {reason}")]
    NotAnItem {
        /// Where.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A `tag` that is neither a KMIP tag name nor `"0x"` and 6 hex digits.
    #[error("{path}: unknown tag {tag:?}")]
    UnknownTag {
        /// Where.
        path: String,
        /// The `tag` member.
        tag: String,
    },
    /// A `type` naming no item type.
    #[error("{path}: unknown type {type_name:?}")]
    UnknownType {
        /// Where.
        path: String,
        /// The `type` member.
        type_name: String,
    },
    /// A `value` that is not valid for the item type.
    #[error("{path}: {value} is not a valid {item_type} value")]
    BadValue {
        /// Where.
        path: String,
        /// The item type.
        item_type: ItemType,
        /// The `value` member, as JSON text.
        value: String,
    },
}

/// Writes `node` as pretty-printed KMIP JSON.
#[must_use]
pub fn to_string(node: &Node<'_>) -> String {
    // Serialising a `Value` cannot fail (no non-string keys, no non-finite floats).
    serde_json::to_string_pretty(&to_value(node)).unwrap_or_default()
}

/// Writes several nodes (messages) as a JSON array.
#[must_use]
pub fn to_string_all(nodes: &[Node<'_>]) -> String {
    let array = Value::Array(nodes.iter().map(to_value).collect());
    serde_json::to_string_pretty(&array).unwrap_or_default()
}

/// The KMIP JSON object of `node`.
#[must_use]
pub fn to_value(node: &Node<'_>) -> Value {
    item_value(node, node.tag)
}

fn item_value(node: &Node<'_>, value_tag: Tag) -> Value {
    let mut m = Map::new();
    m.insert(
        "tag".to_owned(),
        Value::String(
            node.tag
                .name()
                .map_or_else(|| format!("0x{:06X}", node.tag.value()), str::to_owned),
        ),
    );
    let value = match &node.value {
        NodeValue::Structure(children) => {
            let mut attribute_name = None;
            let mut out = Vec::with_capacity(children.len());
            for c in children {
                out.push(item_value(c, value_tag_for(c, attribute_name)));
                if let Some(n) = attribute_name_of(c) {
                    attribute_name = Some(n);
                }
            }
            Value::Array(out)
        }
        scalar => {
            m.insert(
                "type".to_owned(),
                Value::String(scalar.item_type().name().to_owned()),
            );
            scalar_value(scalar, value_tag)
        }
    };
    m.insert("value".to_owned(), value);
    Value::Object(m)
}

fn value_tag_for(node: &Node<'_>, attribute_name: Option<&str>) -> Tag {
    value_tag(node.tag, attribute_name)
}

fn scalar_value(value: &NodeValue<'_>, value_tag: Tag) -> Value {
    match value {
        NodeValue::Integer(v) if *v == 0 || tags::mask_bits(value_tag).is_none() => Value::from(*v),
        NodeValue::Interval(v) => Value::from(*v),
        NodeValue::LongInteger(v) if v.unsigned_abs() < LONG_AS_NUMBER_LIMIT.unsigned_abs() => {
            Value::from(*v)
        }
        NodeValue::LongInteger(v) => Value::String(format!("0x{:016X}", v.cast_unsigned())),
        NodeValue::BigInteger(b) => Value::String(format!("0x{}", hex_encode(b))),
        NodeValue::Boolean(v) => Value::Bool(*v),
        other => Value::String(format_scalar(other, value_tag, "|").unwrap_or_default()),
    }
}

/// Reads one KMIP JSON item (a message, or any item) with [`DEFAULT_LIMITS`].
///
/// # Errors
///
/// Any [`Error`].
pub fn from_str(text: &str) -> Result<Node<'static>, Error> {
    from_str_with(text, &DEFAULT_LIMITS)
}

/// Reads one KMIP JSON item with the given limits.
///
/// # Errors
///
/// Any [`Error`].
pub fn from_str_with(text: &str, limits: &Limits) -> Result<Node<'static>, Error> {
    let value = parse(text, limits)?;
    from_value(&value, limits)
}

/// Reads a JSON array of items (messages), or a single item, with [`DEFAULT_LIMITS`].
///
/// # Errors
///
/// Any [`Error`].
pub fn from_str_all(text: &str) -> Result<Vec<Node<'static>>, Error> {
    from_str_all_with(text, &DEFAULT_LIMITS)
}

/// Reads a JSON array of items (messages), or a single item, with the given limits.
///
/// # Errors
///
/// Any [`Error`].
pub fn from_str_all_with(text: &str, limits: &Limits) -> Result<Vec<Node<'static>>, Error> {
    match parse(text, limits)? {
        Value::Array(items) => items.iter().map(|v| from_value(v, limits)).collect(),
        single => Ok(vec![from_value(&single, limits)?]),
    }
}

fn parse(text: &str, limits: &Limits) -> Result<Value, Error> {
    if text.len() > limits.max_message_size() {
        return Err(Error::TooLarge {
            length: text.len(),
            max: limits.max_message_size(),
        });
    }
    // serde_json refuses nesting beyond 128 levels on its own, so this parse cannot exhaust the stack.
    serde_json::from_str(text).map_err(|e| Error::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Reads a KMIP JSON object already parsed by `serde_json`.
///
/// # Errors
///
/// Any [`Error`] but [`Error::Syntax`] and [`Error::TooLarge`].
pub fn from_value(value: &Value, limits: &Limits) -> Result<Node<'static>, Error> {
    let mut path = String::new();
    read_item(value, None, 1, limits, &mut path)
}

fn read_item(
    value: &Value,
    attribute_name: Option<&str>,
    depth: usize,
    limits: &Limits,
    path: &mut String,
) -> Result<Node<'static>, Error> {
    let Value::Object(m) = value else {
        return Err(Error::NotAnItem {
            path: path.clone(),
            reason: "not an object",
        });
    };
    let Some(Value::String(tag_text)) = m.get("tag") else {
        return Err(Error::NotAnItem {
            path: path.clone(),
            reason: "no \"tag\" string",
        });
    };
    let tag = Tag::from_name(tag_text)
        .or_else(|| {
            parse_hex_u64(tag_text)
                .and_then(|v| u32::try_from(v).ok())
                .and_then(Tag::new)
        })
        .ok_or_else(|| Error::UnknownTag {
            path: path.clone(),
            tag: tag_text.clone(),
        })?;
    let mark = path.len();
    path.push('/');
    path.push_str(tag_text);
    let item_value = m.get("value").ok_or_else(|| Error::NotAnItem {
        path: path.clone(),
        reason: "no \"value\"",
    })?;
    let item_type = match m.get("type") {
        None => ItemType::Structure,
        Some(Value::String(t)) => ItemType::from_name(t).ok_or_else(|| Error::UnknownType {
            path: path.clone(),
            type_name: t.clone(),
        })?,
        Some(_) => {
            return Err(Error::NotAnItem {
                path: path.clone(),
                reason: "\"type\" is not a string",
            });
        }
    };
    let node = if item_type == ItemType::Structure {
        if depth > limits.max_depth() {
            return Err(Error::DepthExceeded {
                path: path.clone(),
                max_depth: limits.max_depth(),
            });
        }
        let Value::Array(items) = item_value else {
            return Err(Error::NotAnItem {
                path: path.clone(),
                reason: "a structure's value must be an array",
            });
        };
        let mut children = Vec::with_capacity(items.len());
        let mut name: Option<String> = None;
        for item in items {
            let child = read_item(item, name.as_deref(), depth + 1, limits, path)?;
            if let Some(n) = attribute_name_of(&child) {
                name = Some(n.to_owned());
            }
            children.push(child);
        }
        Node::structure(tag, children)
    } else {
        let context = value_tag(tag, attribute_name);
        let bad = || Error::BadValue {
            path: path.clone(),
            item_type,
            value: item_value.to_string(),
        };
        let v = match item_value {
            Value::String(s) => parse_scalar(item_type, context, s),
            Value::Number(n) => number(item_type, n),
            Value::Bool(b) if item_type == ItemType::Boolean => Some(NodeValue::Boolean(*b)),
            _ => None,
        }
        .ok_or_else(bad)?;
        Node::new(tag, v)
    };
    path.truncate(mark);
    Ok(node)
}

fn number(item_type: ItemType, n: &Number) -> Option<NodeValue<'static>> {
    let i = n.as_i64()?;
    Some(match item_type {
        ItemType::Integer => NodeValue::Integer(i32::try_from(i).ok()?),
        ItemType::LongInteger => NodeValue::LongInteger(i),
        ItemType::Enumeration => NodeValue::Enumeration(u32::try_from(i).ok()?),
        ItemType::Interval => NodeValue::Interval(u32::try_from(i).ok()?),
        ItemType::DateTime => NodeValue::DateTime(i),
        ItemType::DateTimeExtended => NodeValue::DateTimeExtended(i),
        _ => return None,
    })
}
