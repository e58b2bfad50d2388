//! Bytes to [`Document`], over quick-xml's tokenizer, with limits checked before anything grows.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::{Attribute, Document, Element, NamespaceDeclaration, Node, XML_NS};
use crate::error::{XmlError, XmlErrorKind};

/// Parser limits. The defaults follow DESIGN.md: 1 MiB, depth 64, no DTD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted document, in bytes.
    pub max_document_bytes: usize,
    /// Deepest element nesting (the document element is depth 1).
    pub max_depth: usize,
    /// Most elements in one document.
    pub max_elements: usize,
    /// Most attributes (namespace declarations included) on one element.
    pub max_attributes: usize,
    /// Longest attribute value, in bytes after normalization.
    pub max_attribute_bytes: usize,
    /// Longest text node, in bytes.
    pub max_text_bytes: usize,
    /// Longest element or attribute name.
    pub max_name_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_document_bytes: 1 << 20,
            max_depth: 64,
            max_elements: 20_000,
            max_attributes: 64,
            max_attribute_bytes: 16 * 1024,
            max_text_bytes: 512 * 1024,
            max_name_bytes: 256,
        }
    }
}

struct Open {
    element: Element,
    /// Number of scope entries this element pushed.
    scope_len_before: usize,
}

/// Parses a UTF-8 XML document.
///
/// # Errors
/// [`XmlError`] naming the path of open elements: malformed XML, a DOCTYPE, an undeclared entity, an
/// unbound prefix, a non-UTF-8 encoding, or any [`Limits`] exceeded.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Document, XmlError> {
    if input.len() > limits.max_document_bytes {
        return Err(XmlError::new(
            "/",
            XmlErrorKind::DocumentTooLarge(limits.max_document_bytes),
        ));
    }
    if input.starts_with(&[0xFE, 0xFF]) || input.starts_with(&[0xFF, 0xFE]) {
        return Err(XmlError::new(
            "/",
            XmlErrorKind::Encoding("UTF-16 is not supported".into()),
        ));
    }
    let input = input.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|e| {
        XmlError::new(
            "/",
            XmlErrorKind::Encoding(format!("invalid UTF-8 at byte {}", e.valid_up_to())),
        )
    })?;
    // XML 1.0 section 2.11: line ends are normalized before parsing; character references survive.
    let text: Cow<'_, str> = if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    };
    Parser {
        limits,
        stack: Vec::new(),
        scope: Vec::new(),
        elements: 0,
        root: None,
        seen_decl_or_content: false,
    }
    .run(&text)
}

struct Parser<'l> {
    limits: &'l Limits,
    stack: Vec<Open>,
    /// In-scope declarations, innermost last: (prefix, uri).
    scope: Vec<(Option<String>, String)>,
    elements: usize,
    root: Option<Element>,
    seen_decl_or_content: bool,
}

impl Parser<'_> {
    fn path(&self) -> String {
        if self.stack.is_empty() {
            return "/".into();
        }
        let mut s = String::new();
        for o in &self.stack {
            s.push('/');
            s.push_str(&o.element.local);
        }
        s
    }

    fn err(&self, kind: XmlErrorKind) -> XmlError {
        XmlError::new(self.path(), kind)
    }

    fn run(mut self, text: &str) -> Result<Document, XmlError> {
        let mut reader = Reader::from_str(text);
        {
            let c = reader.config_mut();
            c.check_end_names = true;
            c.check_comments = true;
            c.expand_empty_elements = false;
            c.trim_text(false);
        }
        loop {
            let ev = reader.read_event().map_err(|e| {
                let pos = reader.error_position();
                self.err(XmlErrorKind::Syntax(format!("{e} (byte {pos})")))
            })?;
            match ev {
                Event::Decl(d) => {
                    if self.seen_decl_or_content {
                        return Err(self.err(XmlErrorKind::Syntax(
                            "XML declaration not at the start".into(),
                        )));
                    }
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(|e| self.err(XmlErrorKind::Syntax(e.to_string())))?;
                        if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                            return Err(self.err(XmlErrorKind::Encoding(format!(
                                "declared encoding {enc:?}"
                            ))));
                        }
                    }
                    self.seen_decl_or_content = true;
                }
                Event::DocType(_) => return Err(self.err(XmlErrorKind::DtdForbidden)),
                Event::Start(s) => {
                    self.seen_decl_or_content = true;
                    self.open(&s)?;
                }
                Event::Empty(s) => {
                    self.seen_decl_or_content = true;
                    self.open(&s)?;
                    self.close()?;
                }
                Event::End(_) => self.close()?,
                Event::Text(t) => {
                    self.seen_decl_or_content = true;
                    let raw = t.into_inner();
                    self.text(&raw)?;
                }
                Event::CData(c) => {
                    let raw = c.into_inner();
                    if self.stack.is_empty() {
                        return Err(self.err(XmlErrorKind::Syntax(
                            "CDATA outside the document element".into(),
                        )));
                    }
                    self.text(&raw)?;
                }
                Event::GeneralRef(r) => {
                    let name = r.into_inner();
                    if self.stack.is_empty() {
                        return Err(self.err(XmlErrorKind::Syntax(
                            "reference outside the document element".into(),
                        )));
                    }
                    let mut buf = [0u8; 4];
                    let ch = resolve_reference(&name).map_err(|k| self.err(k))?;
                    self.text(ch.encode_utf8(&mut buf))?;
                }
                Event::Comment(_) => self.seen_decl_or_content = true,
                Event::PI(pi) => {
                    self.seen_decl_or_content = true;
                    let target = pi.target().to_owned();
                    if target.eq_ignore_ascii_case("xml") {
                        return Err(self.err(XmlErrorKind::Syntax(
                            "reserved processing instruction target".into(),
                        )));
                    }
                    let data = pi.content().trim_start().to_owned();
                    if let Some(top) = self.stack.last_mut() {
                        top.element
                            .children
                            .push(Node::ProcessingInstruction { target, data });
                    }
                }
                Event::Eof => break,
            }
        }
        if !self.stack.is_empty() {
            return Err(self.err(XmlErrorKind::Truncated));
        }
        let root = self
            .root
            .take()
            .ok_or_else(|| XmlError::new("/", XmlErrorKind::NoRoot))?;
        Ok(Document::new(root))
    }

    fn text(&mut self, s: &str) -> Result<(), XmlError> {
        let max = self.limits.max_text_bytes;
        let Some(top) = self.stack.last_mut() else {
            if s.chars().all(is_xml_space) {
                return Ok(());
            }
            let kind = if self.root.is_some() {
                XmlErrorKind::TrailingContent
            } else {
                XmlErrorKind::Syntax("text outside the document element".into())
            };
            return Err(XmlError::new("/", kind));
        };
        if !all_xml_chars(s)
            && let Some(c) = s.chars().find(|&c| !is_xml_char(c))
        {
            let kind = XmlErrorKind::Syntax(format!("character U+{:04X} not allowed", c as u32));
            return Err(self.err(kind));
        }
        if let Some(Node::Text(t)) = top.element.children.last_mut() {
            if t.len() + s.len() > max {
                return Err(self.err(XmlErrorKind::TextTooLarge(max)));
            }
            t.push_str(s);
        } else {
            if s.len() > max {
                return Err(self.err(XmlErrorKind::TextTooLarge(max)));
            }
            top.element.children.push(Node::Text(s.to_owned()));
        }
        Ok(())
    }

    fn open(&mut self, start: &BytesStart<'_>) -> Result<(), XmlError> {
        if self.root.is_some() {
            return Err(XmlError::new("/", XmlErrorKind::TrailingContent));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.err(XmlErrorKind::TooDeep(self.limits.max_depth)));
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(self.err(XmlErrorKind::TooManyElements(self.limits.max_elements)));
        }
        let qname = start.name();
        let qname = qname.0;
        if qname.len() > self.limits.max_name_bytes {
            return Err(self.err(XmlErrorKind::NameTooLong(self.limits.max_name_bytes)));
        }
        let (prefix, local) = split_qname(qname).map_err(|k| self.err(k))?;
        let scope_len_before = self.scope.len();
        let mut decls = Vec::new();
        let mut raw_attrs: Vec<(Option<String>, String, String)> = Vec::new();
        let mut count = 0usize;
        for a in start.attributes() {
            let a = a.map_err(|e| self.err(XmlErrorKind::Syntax(e.to_string())))?;
            count += 1;
            if count > self.limits.max_attributes {
                return Err(self.err(XmlErrorKind::TooManyAttributes(self.limits.max_attributes)));
            }
            let key = a.key.0;
            if key.len() > self.limits.max_name_bytes {
                return Err(self.err(XmlErrorKind::NameTooLong(self.limits.max_name_bytes)));
            }
            if a.value.len() > self.limits.max_attribute_bytes {
                return Err(self.err(XmlErrorKind::AttributeTooLarge(
                    self.limits.max_attribute_bytes,
                )));
            }
            let value = normalize_attribute(&a.value).map_err(|k| self.err(k))?;
            let (aprefix, alocal) = split_qname(key).map_err(|k| self.err(k))?;
            match (aprefix.as_deref(), alocal.as_str()) {
                (None, "xmlns") => {
                    if value == XML_NS || value == "http://www.w3.org/2000/xmlns/" {
                        return Err(self.err(XmlErrorKind::InvalidNamespaceDeclaration(value)));
                    }
                    decls.push(NamespaceDeclaration {
                        prefix: None,
                        uri: value,
                    });
                }
                (Some("xmlns"), p) => {
                    let reserved = p == "xmlns" || (p == "xml") != (value == XML_NS);
                    if value.is_empty() || reserved || value == "http://www.w3.org/2000/xmlns/" {
                        return Err(self.err(XmlErrorKind::InvalidNamespaceDeclaration(format!(
                            "xmlns:{p}"
                        ))));
                    }
                    // xmlns:xml with its own URI is allowed and meaningless: not recorded.
                    if p != "xml" {
                        decls.push(NamespaceDeclaration {
                            prefix: Some(p.to_owned()),
                            uri: value,
                        });
                    }
                }
                _ => raw_attrs.push((aprefix, alocal, value)),
            }
        }
        for d in &decls {
            self.scope.push((d.prefix.clone(), d.uri.clone()));
        }
        let namespace = match &prefix {
            Some(p) => Some(self.resolve(p).map_err(|k| self.err(k))?),
            None => self
                .scope
                .iter()
                .rev()
                .find(|(p, _)| p.is_none())
                .map(|(_, u)| u.clone())
                .filter(|u| !u.is_empty()),
        };
        let mut attributes: Vec<Attribute> = Vec::with_capacity(raw_attrs.len());
        for (aprefix, alocal, value) in raw_attrs {
            let ans = match &aprefix {
                Some(p) => Some(self.resolve(p).map_err(|k| self.err(k))?),
                None => None,
            };
            if attributes
                .iter()
                .any(|x| x.local == alocal && x.namespace == ans)
            {
                return Err(self.err(XmlErrorKind::DuplicateAttribute(alocal)));
            }
            attributes.push(Attribute {
                prefix: aprefix,
                local: alocal,
                namespace: ans,
                value,
            });
        }
        self.stack.push(Open {
            element: Element {
                prefix,
                local,
                namespace,
                namespace_declarations: decls,
                attributes,
                children: Vec::new(),
            },
            scope_len_before,
        });
        Ok(())
    }

    fn resolve(&self, prefix: &str) -> Result<String, XmlErrorKind> {
        if prefix == "xml" {
            return Ok(XML_NS.to_owned());
        }
        self.scope
            .iter()
            .rev()
            .find(|(p, _)| p.as_deref() == Some(prefix))
            .map(|(_, u)| u.clone())
            .ok_or_else(|| XmlErrorKind::UnboundPrefix(prefix.to_owned()))
    }

    fn close(&mut self) -> Result<(), XmlError> {
        let Some(open) = self.stack.pop() else {
            return Err(XmlError::new(
                "/",
                XmlErrorKind::Syntax("unmatched end tag".into()),
            ));
        };
        self.scope.truncate(open.scope_len_before);
        match self.stack.last_mut() {
            Some(parent) => parent.element.children.push(Node::Element(open.element)),
            None => self.root = Some(open.element),
        }
        Ok(())
    }
}

fn split_qname(q: &str) -> Result<(Option<String>, String), XmlErrorKind> {
    let bad = || XmlErrorKind::Syntax(format!("invalid name {q:?}"));
    let (p, l) = match q.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, q),
    };
    if l.is_empty()
        || l.contains(':')
        || !is_name(l)
        || p.is_some_and(|p| p.is_empty() || !is_name(p))
    {
        return Err(bad());
    }
    Ok((p.map(str::to_owned), l.to_owned()))
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let start = |c: char| c.is_alphabetic() || c == '_' || (c as u32) >= 0x80;
    start(first)
        && chars.all(|c| start(c) || c.is_ascii_digit() || c == '-' || c == '.' || c == '\u{B7}')
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Whether every character of `s` is an XML 1.0 `Char`, over bytes: in UTF-8 only C0 controls and
/// U+FFFE/U+FFFF (surrogates cannot occur in a `str`) are excluded, and the byte loop vectorizes.
fn all_xml_chars(s: &str) -> bool {
    let b = s.as_bytes();
    !b.iter()
        .any(|&x| x < 0x20 && !matches!(x, b'\t' | b'\n' | b'\r'))
        && !b
            .windows(3)
            .any(|w| w[0] == 0xEF && w[1] == 0xBF && (w[2] == 0xBE || w[2] == 0xBF))
}

/// XML 1.0 `Char`.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Resolves `name` of `&name;`: the five predefined entities or a character reference.
fn resolve_reference(name: &str) -> Result<char, XmlErrorKind> {
    match name {
        "lt" => return Ok('<'),
        "gt" => return Ok('>'),
        "amp" => return Ok('&'),
        "apos" => return Ok('\''),
        "quot" => return Ok('"'),
        _ => {}
    }
    let Some(num) = name.strip_prefix('#') else {
        return Err(XmlErrorKind::UndeclaredEntity(
            name.chars().take(32).collect(),
        ));
    };
    let bad = || XmlErrorKind::InvalidCharReference(name.chars().take(32).collect());
    let code = if let Some(hex) = num.strip_prefix('x') {
        if hex.is_empty() || hex.len() > 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        u32::from_str_radix(hex, 16).map_err(|_| bad())?
    } else {
        if num.is_empty() || num.len() > 10 || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        num.parse::<u32>().map_err(|_| bad())?
    };
    char::from_u32(code)
        .filter(|&c| is_xml_char(c))
        .ok_or_else(bad)
}

/// Attribute-value normalization (XML 1.0 section 3.3.3) for CDATA attributes: literal whitespace
/// becomes a space, references are resolved and not normalized.
fn normalize_attribute(raw: &str) -> Result<String, XmlErrorKind> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\t', '\n', '\r', '<']) {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i];
        match c {
            b'&' => {
                let after = &rest[i + 1..];
                let end = after
                    .find(';')
                    .filter(|&e| e <= 16)
                    .ok_or_else(|| XmlErrorKind::Syntax("unterminated reference".into()))?;
                out.push(resolve_reference(&after[..end])?);
                rest = &after[end + 1..];
            }
            b'<' => return Err(XmlErrorKind::Syntax("'<' in attribute value".into())),
            _ => {
                out.push(' ');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    if !all_xml_chars(&out)
        && let Some(c) = out.chars().find(|&c| !is_xml_char(c))
    {
        return Err(XmlErrorKind::Syntax(format!(
            "character U+{:04X} not allowed",
            c as u32
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Document, XmlError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn namespaces_resolve_and_scope_ends() {
        let d = p(r#"<a xmlns="urn:a" xmlns:b="urn:b"><b:c x="1" b:y="2"/><d xmlns=""/></a>"#)
            .expect("parse");
        let c = d.root.child_elements().next().expect("c");
        assert_eq!(c.namespace.as_deref(), Some("urn:b"));
        assert_eq!(c.attributes[1].namespace.as_deref(), Some("urn:b"));
        let dd = d.root.child_elements().nth(1).expect("d");
        assert_eq!(dd.namespace, None);
    }

    #[test]
    fn doctype_and_entities_refused() {
        let e = p(r#"<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>"#).expect_err("doctype");
        assert_eq!(e.kind, XmlErrorKind::DtdForbidden);
        let e = p("<a>&x;</a>").expect_err("entity");
        assert!(matches!(e.kind, XmlErrorKind::UndeclaredEntity(_)));
        assert_eq!(e.path, "/a");
    }

    #[test]
    fn attribute_normalization_keeps_references() {
        let d = p("<a v='x\ny&#xA;z&amp;'/>").expect("parse");
        assert_eq!(d.root.attr("v"), Some("x y\nz&"));
    }

    #[test]
    fn non_characters_are_refused() {
        for bad in [
            "<a>\u{1}</a>",
            "<a>\u{FFFE}</a>",
            "<a>\u{FFFF}</a>",
            "<a v='\u{FFFF}'/>",
            "<a>&#xFFFE;</a>",
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        assert!(p("<a>\u{FFFD}\u{10000}\t</a>").is_ok());
    }

    #[test]
    fn limits_are_enforced() {
        let deep = "<a>".repeat(65) + &"</a>".repeat(65);
        assert!(matches!(
            p(&deep).expect_err("deep").kind,
            XmlErrorKind::TooDeep(64)
        ));
        let e = p("<a><b></a>").expect_err("mismatch");
        assert!(matches!(e.kind, XmlErrorKind::Syntax(_)));
        let e = p("<a><b>").expect_err("truncated");
        assert_eq!(e.kind, XmlErrorKind::Truncated);
        assert_eq!(e.path, "/a/b");
        let e = p("<p:a/>").expect_err("unbound");
        assert!(matches!(e.kind, XmlErrorKind::UnboundPrefix(_)));
    }
}
