//! A small namespace-aware XML tree: what XKMS, XML Signature and XML Encryption need, and no more.
//!
//! The tree keeps every namespace declaration where the document wrote it, because canonical XML (C14N)
//! renders declarations from that context; the parser refuses DTDs and every entity beyond the five
//! predefined ones, and enforces the [`Limits`] before allocating.

mod c14n;
mod parse;
mod write;

pub use c14n::{C14nMethod, canonicalize};
pub use parse::{Limits, parse};
pub use write::{write_document, write_element};

use crate::error::{XmlError, XmlErrorKind};

/// The namespace of the `xml:` prefix, bound by definition (Namespaces in XML 1.0, section 3).
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// A namespace declaration (`xmlns="…"` or `xmlns:p="…"`) as written on an element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceDeclaration {
    /// The declared prefix; `None` for the default namespace.
    pub prefix: Option<String>,
    /// The namespace name; empty only for `xmlns=""` (undeclaring the default namespace).
    pub uri: String,
}

/// An attribute other than a namespace declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// The prefix as written.
    pub prefix: Option<String>,
    /// The local name.
    pub local: String,
    /// The namespace the prefix resolves to (unprefixed attributes are in no namespace).
    pub namespace: Option<String>,
    /// The normalized value (entity references resolved, literal whitespace mapped to spaces).
    pub value: String,
}

/// A child of an element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (CDATA sections are merged into text).
    Text(String),
    /// A processing instruction; kept because C14N renders it.
    ProcessingInstruction {
        /// The PI target.
        target: String,
        /// The PI data (may be empty).
        data: String,
    },
}

/// An element with its namespace context and children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// The prefix as written.
    pub prefix: Option<String>,
    /// The local name.
    pub local: String,
    /// The namespace the element's name resolves to.
    pub namespace: Option<String>,
    /// Namespace declarations written on this element, in document order.
    pub namespace_declarations: Vec<NamespaceDeclaration>,
    /// Attributes other than namespace declarations, in document order.
    pub attributes: Vec<Attribute>,
    /// Children in document order (comments are dropped at parse time).
    pub children: Vec<Node>,
}

impl Element {
    /// A new element named `{namespace}local` written with `prefix`; no declarations are added.
    #[must_use]
    pub fn new(namespace: Option<&str>, prefix: Option<&str>, local: &str) -> Self {
        Self {
            prefix: prefix.map(str::to_owned),
            local: local.to_owned(),
            namespace: namespace.map(str::to_owned),
            namespace_declarations: Vec::new(),
            attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Adds a namespace declaration (builder style).
    #[must_use]
    pub fn declare(mut self, prefix: Option<&str>, uri: &str) -> Self {
        self.namespace_declarations.push(NamespaceDeclaration {
            prefix: prefix.map(str::to_owned),
            uri: uri.to_owned(),
        });
        self
    }

    /// Sets an unqualified attribute (builder style).
    #[must_use]
    pub fn with_attr(mut self, local: &str, value: impl Into<String>) -> Self {
        self.set_attr(local, value);
        self
    }

    /// Sets an unqualified attribute, replacing an existing one of the same name.
    pub fn set_attr(&mut self, local: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some(a) = self
            .attributes
            .iter_mut()
            .find(|a| a.namespace.is_none() && a.local == local)
        {
            a.value = value;
        } else {
            self.attributes.push(Attribute {
                prefix: None,
                local: local.to_owned(),
                namespace: None,
                value,
            });
        }
    }

    /// Appends a child element (builder style).
    #[must_use]
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    /// Appends a text child (builder style).
    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.children.push(Node::Text(text.into()));
        self
    }

    /// Appends a child element.
    pub fn push(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// Whether this element is `{namespace}local`.
    #[must_use]
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.local == local && self.namespace.as_deref() == Some(namespace)
    }

    /// The value of the unqualified attribute `local`.
    #[must_use]
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.namespace.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// Child elements in document order.
    pub fn child_elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The concatenated text children (not descendants).
    #[must_use]
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// The element at `path` (child-element indices into `children`, counting every node).
    #[must_use]
    pub fn at_path(&self, path: &[usize]) -> Option<&Element> {
        let mut e = self;
        for &i in path {
            match e.children.get(i) {
                Some(Node::Element(c)) => e = c,
                _ => return None,
            }
        }
        Some(e)
    }

    /// The qualified name as written (`prefix:local` or `local`).
    #[must_use]
    pub fn qname(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}:{}", self.local),
            None => self.local.clone(),
        }
    }
}

/// A parsed document: its root element and the namespace declarations it inherits from an enclosing
/// document (for a message taken out of a SOAP envelope, the envelope's declarations in scope at Body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The document element.
    pub root: Element,
    /// Declarations in scope above the root, outermost first.
    pub inherited_namespaces: Vec<NamespaceDeclaration>,
}

impl Document {
    /// A document with no inherited declarations.
    #[must_use]
    pub fn new(root: Element) -> Self {
        Self {
            root,
            inherited_namespaces: Vec::new(),
        }
    }

    /// The path of the unique element whose unqualified `Id` attribute equals `id`.
    ///
    /// # Errors
    /// [`XmlErrorKind::DuplicateId`] when two elements carry that Id: a signature reference to it would
    /// be ambiguous, which is how signature-wrapping attacks start.
    pub fn find_id(&self, id: &str) -> Result<Option<Vec<usize>>, XmlError> {
        let mut found: Option<Vec<usize>> = None;
        let mut path = Vec::new();
        find_id_in(&self.root, id, &mut path, &mut found)?;
        Ok(found)
    }
}

fn find_id_in(
    e: &Element,
    id: &str,
    path: &mut Vec<usize>,
    found: &mut Option<Vec<usize>>,
) -> Result<(), XmlError> {
    if e.attr("Id") == Some(id) {
        if found.is_some() {
            return Err(XmlError::new(
                format!("/{}", e.local),
                XmlErrorKind::DuplicateId(id.to_owned()),
            ));
        }
        *found = Some(path.clone());
    }
    for (i, n) in e.children.iter().enumerate() {
        if let Node::Element(c) = n {
            path.push(i);
            find_id_in(c, id, path, found)?;
            path.pop();
        }
    }
    Ok(())
}
