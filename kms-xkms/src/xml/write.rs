//! [`Element`] to bytes. Declarations are written where the tree holds them, so parsing the output
//! gives back the same tree.

use super::{Element, Node};

/// Serializes `root` as a UTF-8 document with an XML declaration.
#[must_use]
pub fn write_document(root: &Element) -> Vec<u8> {
    let mut out = String::with_capacity(1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    write_into(root, &mut out);
    out.into_bytes()
}

/// Serializes `e` without an XML declaration.
#[must_use]
pub fn write_element(e: &Element) -> String {
    let mut out = String::with_capacity(1024);
    write_into(e, &mut out);
    out
}

fn write_into(e: &Element, out: &mut String) {
    out.push('<');
    push_qname(out, e.prefix.as_deref(), &e.local);
    for d in &e.namespace_declarations {
        match &d.prefix {
            Some(p) => {
                out.push_str(" xmlns:");
                out.push_str(p);
            }
            None => out.push_str(" xmlns"),
        }
        out.push_str("=\"");
        escape_attr(&d.uri, out);
        out.push('"');
    }
    for a in &e.attributes {
        out.push(' ');
        push_qname(out, a.prefix.as_deref(), &a.local);
        out.push_str("=\"");
        escape_attr(&a.value, out);
        out.push('"');
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for c in &e.children {
        match c {
            Node::Element(c) => write_into(c, out),
            Node::Text(t) => escape_text(t, out),
            Node::ProcessingInstruction { target, data } => {
                out.push_str("<?");
                out.push_str(target);
                if !data.is_empty() {
                    out.push(' ');
                    out.push_str(data);
                }
                out.push_str("?>");
            }
        }
    }
    out.push_str("</");
    push_qname(out, e.prefix.as_deref(), &e.local);
    out.push('>');
}

fn push_qname(out: &mut String, prefix: Option<&str>, local: &str) {
    if let Some(p) = prefix {
        out.push_str(p);
        out.push(':');
    }
    out.push_str(local);
}

/// Characters XML 1.0 cannot carry at all (§2.2 Char), not even as references. A parsed document never holds
/// them, so only text we compose ourselves can (an error message quoting bad input): it gets U+FFFD instead, and
/// what we emit stays well-formed.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes character data as C14N does (`&`, `<`, `>`, CR), which is also valid plain XML.
pub(crate) fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            c if !is_xml_char(c) => out.push(char::REPLACEMENT_CHARACTER),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// Escapes an attribute value as C14N does; whitespace other than space is written as a reference so
/// that attribute-value normalization on reparse keeps it.
pub(crate) fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            c if !is_xml_char(c) => out.push(char::REPLACEMENT_CHARACTER),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}
