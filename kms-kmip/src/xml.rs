//! The KMIP XML encoding of TTLV (KMIP Profiles 1.4 §5.5 / 2.1 §6.1 "XML Encoding").
//!
//! Each item is an element named after its tag (`<CryptographicAlgorithm .../>`), or `<TTLV tag="0x540001" ...>`
//! for a tag without a name. Scalars carry `type` and `value` attributes; a structure has no `type` (or
//! `type="Structure"`) and its children as child elements. Values: Integer decimal, or for a mask the names of
//! its bits separated by spaces (`"Encrypt Decrypt"`); Enumeration by name or `0x` hex; Long Integer and
//! Interval decimal; Big Integer and Byte String hex; Boolean `true`/`false`; Date-Time and Date-Time Extended
//! ISO 8601. A KMIP 1.x Attribute Value's enumeration and mask names follow its Attribute Name.
//!
//! Reading refuses document type declarations (so no entity expansion), and limits the document size
//! (default 1 MiB) and depth (default 64).
//!
//! ```
//! use kms_kmip::{ttlv::Node, xml};
//!
//! let text = r#"<ProtocolVersion>
//!   <ProtocolVersionMajor type="Integer" value="2"/>
//!   <ProtocolVersionMinor type="Integer" value="1"/>
//! </ProtocolVersion>"#;
//! let node = xml::from_str(text)?;
//! assert_eq!(xml::from_str(&xml::to_string(&node)?)?, node);
//! let ttlv = node.to_bytes()?;
//! assert_eq!(ttlv.len(), 40);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use crate::ttlv::text::{attribute_name_of, format_scalar, parse_hex_u64, parse_scalar, value_tag};
use crate::ttlv::{ItemType, Limits, Node, NodeValue, Tag};

/// Default limits for XML input: 1 MiB, 64 levels (DESIGN.md).
pub const DEFAULT_LIMITS: Limits = Limits::new().with_max_message_size(1024 * 1024);

/// The element name for items whose tag has no name.
const UNNAMED: &str = "TTLV";
/// The element that wraps several messages in the OASIS test-case files.
const CONTAINER: &str = "KMIP";

/// A KMIP XML decoding failure. `path` is the element path from the root (`/RequestMessage/BatchItem`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not well-formed XML.
    #[error("XML syntax error near byte {position}: {message}")]
    Syntax {
        /// Byte offset where the parser stopped.
        position: u64,
        /// What the parser said.
        message: String,
    },
    /// A document type declaration: refused, since it could declare entities.
    #[error("document type declarations are not accepted (byte {position})")]
    Dtd {
        /// Byte offset of the declaration.
        position: u64,
    },
    /// The document is larger than the limit.
    #[error("XML document of {length} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its length.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// Elements nest deeper than the limit.
    #[error("{path}: nested deeper than {max_depth} levels")]
    DepthExceeded {
        /// Where.
        path: String,
        /// The limit.
        max_depth: usize,
    },
    /// An element name that is no KMIP tag (and not `TTLV` with a `tag` attribute).
    #[error("{path}: not a KMIP tag name")]
    UnknownTag {
        /// Where.
        path: String,
    },
    /// A `type` attribute naming no item type.
    #[error("{path}: unknown type {type_name:?}")]
    UnknownType {
        /// Where.
        path: String,
        /// The attribute's value.
        type_name: String,
    },
    /// A required attribute is missing (`value` on a scalar, `tag` on `TTLV`).
    #[error("{path}: missing attribute {attribute:?}")]
    MissingAttribute {
        /// Where.
        path: String,
        /// The attribute.
        attribute: &'static str,
    },
    /// A `value` that is not valid for the item type (or names no enumeration value / mask bit).
    #[error("{path}: {value:?} is not a valid {item_type} value")]
    BadValue {
        /// Where.
        path: String,
        /// The item type.
        item_type: ItemType,
        /// The attribute's value.
        value: String,
    },
    /// Text, CDATA, an entity reference or a child element where KMIP XML allows none.
    #[error("{path}: unexpected {what}")]
    Unexpected {
        /// Where.
        path: String,
        /// What was found.
        what: &'static str,
    },
    /// No element at all.
    #[error("no KMIP element in the document")]
    Empty,
    /// A character XML 1.0 cannot carry, even as a character reference (U+0000, most C0 controls, U+FFFE,
    /// U+FFFF): in a Text String being written, or in a value being read.
    #[error("{path}: character U+{character:04X} cannot be represented in XML 1.0")]
    InvalidCharacter {
        /// Where.
        path: String,
        /// The character.
        character: u32,
    },
}

/// The XML 1.0 `Char` production.
const fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Writes `node` as KMIP XML, indented by two spaces per level, with a final newline.
///
/// # Errors
///
/// [`Error::InvalidCharacter`] if a Text String holds a character XML 1.0 cannot carry (U+0000, most C0
/// controls); the JSON encoding carries any text.
pub fn to_string(node: &Node<'_>) -> Result<String, Error> {
    let mut out = String::new();
    write_node(&mut out, node, 0, node.tag)?;
    Ok(out)
}

/// Writes several nodes (messages) inside a `<KMIP>` element, the layout of the OASIS test-case files.
///
/// # Errors
///
/// As [`to_string`].
pub fn to_string_all(nodes: &[Node<'_>]) -> Result<String, Error> {
    let mut out = String::from("<KMIP>\n");
    for n in nodes {
        write_node(&mut out, n, 1, n.tag)?;
    }
    out.push_str("</KMIP>\n");
    Ok(out)
}

fn write_node(
    out: &mut String,
    node: &Node<'_>,
    depth: usize,
    value_tag: Tag,
) -> Result<(), Error> {
    for _ in 0..depth {
        out.push_str("  ");
    }
    out.push('<');
    let name = node.tag.name();
    match name {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "{UNNAMED} tag=\"0x{:06X}\"", node.tag.value());
        }
    }
    let element = name.unwrap_or(UNNAMED);
    // Errors carry the path, built as they propagate back up.
    let within = |e: Error| match e {
        Error::InvalidCharacter { path, character } => Error::InvalidCharacter {
            path: format!("/{element}{path}"),
            character,
        },
        other => other,
    };
    match &node.value {
        NodeValue::Structure(children) => {
            if children.is_empty() {
                out.push_str("/>\n");
                return Ok(());
            }
            out.push_str(">\n");
            let mut attribute_name = None;
            for c in children {
                write_node(out, c, depth + 1, value_tag_of(c, attribute_name)).map_err(within)?;
                if let Some(n) = attribute_name_of(c) {
                    attribute_name = Some(n);
                }
            }
            for _ in 0..depth {
                out.push_str("  ");
            }
            let _ = writeln!(out, "</{element}>");
        }
        value => {
            let text = format_scalar(value, value_tag, " ").unwrap_or_default();
            if let Some(c) = text.chars().find(|c| !is_xml_char(*c)) {
                return Err(within(Error::InvalidCharacter {
                    path: String::new(),
                    character: u32::from(c),
                }));
            }
            let _ = write!(out, " type=\"{}\" value=\"", value.item_type().name());
            escape_attribute(out, &text);
            out.push_str("\"/>\n");
        }
    }
    Ok(())
}

fn value_tag_of(node: &Node<'_>, attribute_name: Option<&str>) -> Tag {
    value_tag(node.tag, attribute_name)
}

/// Escapes markup characters, and writes tab, newline and carriage return as character references so that
/// attribute-value normalisation does not turn them into spaces.
fn escape_attribute(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// Reads one KMIP XML element (a message, or any item) with [`DEFAULT_LIMITS`].
///
/// # Errors
///
/// Any [`Error`]; also when the document holds more than one element.
pub fn from_str(text: &str) -> Result<Node<'static>, Error> {
    from_str_with(text, &DEFAULT_LIMITS)
}

/// Reads one KMIP XML element with the given limits.
///
/// # Errors
///
/// Any [`Error`]; also when the document holds more than one element.
pub fn from_str_with(text: &str, limits: &Limits) -> Result<Node<'static>, Error> {
    let mut nodes = from_str_all_with(text, limits)?;
    match nodes.len() {
        0 => Err(Error::Empty),
        1 => nodes.pop().ok_or(Error::Empty),
        _ => Err(Error::Unexpected {
            path: format!("/{}", nodes[1].tag),
            what: "second top-level element",
        }),
    }
}

/// Reads every element of a document: a single element, or the children of a `<KMIP>` root as in the OASIS
/// test-case files, with [`DEFAULT_LIMITS`].
///
/// # Errors
///
/// Any [`Error`].
pub fn from_str_all(text: &str) -> Result<Vec<Node<'static>>, Error> {
    from_str_all_with(text, &DEFAULT_LIMITS)
}

struct Frame {
    /// `None` for the `<KMIP>` container.
    tag: Option<Tag>,
    name: String,
    children: Vec<Node<'static>>,
    /// The scalar this element carries, when it is written `<X type=".." value=".."></X>`.
    scalar: Option<Node<'static>>,
    attribute_name: Option<String>,
}

fn path(stack: &[Frame], last: Option<&str>) -> String {
    let mut p = String::new();
    for f in stack {
        p.push('/');
        p.push_str(&f.name);
    }
    if let Some(l) = last {
        p.push('/');
        p.push_str(l);
    }
    p
}

/// Reads every element of a document with the given limits; see [`from_str_all`].
///
/// # Errors
///
/// Any [`Error`].
pub fn from_str_all_with(text: &str, limits: &Limits) -> Result<Vec<Node<'static>>, Error> {
    if text.len() > limits.max_message_size() {
        return Err(Error::TooLarge {
            length: text.len(),
            max: limits.max_message_size(),
        });
    }
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Frame> = Vec::new();
    let mut roots: Vec<Node<'static>> = Vec::new();
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| Error::Syntax {
            position,
            message: e.to_string(),
        })?;
        match event {
            Event::Start(e) if stack.is_empty() && e.name().as_ref() == CONTAINER => {
                stack.push(Frame {
                    tag: None,
                    name: CONTAINER.to_owned(),
                    children: Vec::new(),
                    scalar: None,
                    attribute_name: None,
                });
            }
            Event::Empty(e) if stack.is_empty() && e.name().as_ref() == CONTAINER => {}
            Event::Start(e) => {
                let frame = open(&e, &stack, limits, position)?;
                stack.push(frame);
            }
            Event::Empty(e) => {
                let frame = open(&e, &stack, limits, position)?;
                if let Some(tag) = frame.tag {
                    let node = frame
                        .scalar
                        .unwrap_or_else(|| Node::structure(tag, Vec::new()));
                    attach(&mut stack, &mut roots, node);
                }
            }
            Event::End(_) => {
                let Some(frame) = stack.pop() else {
                    return Err(Error::Syntax {
                        position,
                        message: "unbalanced end tag".to_owned(),
                    });
                };
                match frame.tag {
                    None => roots.extend(frame.children),
                    Some(tag) => {
                        let node = match frame.scalar {
                            Some(n) => n,
                            None => Node::structure(tag, frame.children),
                        };
                        attach(&mut stack, &mut roots, node);
                    }
                }
            }
            Event::Text(t) => {
                if !t.as_ref().chars().all(char::is_whitespace) {
                    return Err(Error::Unexpected {
                        path: path(&stack, None),
                        what: "text",
                    });
                }
            }
            Event::CData(_) => {
                return Err(Error::Unexpected {
                    path: path(&stack, None),
                    what: "CDATA",
                });
            }
            Event::GeneralRef(_) => {
                return Err(Error::Unexpected {
                    path: path(&stack, None),
                    what: "entity reference",
                });
            }
            Event::DocType(_) => return Err(Error::Dtd { position }),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(Error::Syntax {
            position: reader.buffer_position(),
            message: "unclosed element".to_owned(),
        });
    }
    Ok(roots)
}

fn attach(stack: &mut [Frame], roots: &mut Vec<Node<'static>>, node: Node<'static>) {
    match stack.last_mut() {
        Some(parent) => {
            if let Some(n) = attribute_name_of(&node) {
                parent.attribute_name = Some(n.to_owned());
            }
            if parent.tag.is_none() {
                // Directly inside <KMIP>: a message.
                roots.push(node);
            } else {
                parent.children.push(node);
            }
        }
        None => roots.push(node),
    }
}

/// Reads an element's name and attributes into a frame (with its scalar, for a typed element).
fn open(
    e: &BytesStart<'_>,
    stack: &[Frame],
    limits: &Limits,
    position: u64,
) -> Result<Frame, Error> {
    let raw_name = e.name();
    let name = raw_name.as_ref().to_owned();
    let here = || path(stack, Some(&name));
    if stack.last().is_some_and(|parent| parent.scalar.is_some()) {
        return Err(Error::Unexpected {
            path: here(),
            what: "child element of a scalar",
        });
    }
    let depth = stack.iter().filter(|f| f.tag.is_some()).count() + 1;
    if depth > limits.max_depth() {
        return Err(Error::DepthExceeded {
            path: here(),
            max_depth: limits.max_depth(),
        });
    }
    let mut tag_attr = None;
    let mut type_attr = None;
    let mut value_attr = None;
    for attr in e.attributes() {
        let attr = attr.map_err(|err| Error::Syntax {
            position,
            message: err.to_string(),
        })?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| Error::Syntax {
                position,
                message: err.to_string(),
            })?
            .into_owned();
        match attr.key.as_ref() {
            "tag" => tag_attr = Some(value),
            "type" => type_attr = Some(value),
            "value" => value_attr = Some(value),
            // Other attributes (namespaces, comments of other tools) carry no TTLV.
            _ => {}
        }
    }
    let tag = if name == UNNAMED {
        let t = tag_attr.ok_or_else(|| Error::MissingAttribute {
            path: here(),
            attribute: "tag",
        })?;
        parse_hex_u64(&t)
            .and_then(|v| u32::try_from(v).ok())
            .and_then(Tag::new)
            .ok_or_else(|| Error::UnknownTag { path: here() })?
    } else {
        Tag::from_name(&name).ok_or_else(|| Error::UnknownTag { path: here() })?
    };
    let item_type = match type_attr {
        None => ItemType::Structure,
        Some(t) => ItemType::from_name(&t).ok_or_else(|| Error::UnknownType {
            path: here(),
            type_name: t,
        })?,
    };
    let scalar = if item_type == ItemType::Structure {
        None
    } else {
        let value = value_attr.ok_or_else(|| Error::MissingAttribute {
            path: here(),
            attribute: "value",
        })?;
        if let Some(c) = value.chars().find(|c| !is_xml_char(*c)) {
            return Err(Error::InvalidCharacter {
                path: here(),
                character: u32::from(c),
            });
        }
        let context = value_tag(tag, stack.last().and_then(|p| p.attribute_name.as_deref()));
        let v = parse_scalar(item_type, context, &value).ok_or_else(|| Error::BadValue {
            path: here(),
            item_type,
            value,
        })?;
        Some(Node::new(tag, v))
    };
    Ok(Frame {
        tag: Some(tag),
        name,
        children: Vec::new(),
        scalar,
        attribute_name: None,
    })
}
