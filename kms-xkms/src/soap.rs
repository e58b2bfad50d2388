//! The SOAP binding (XKMS 2.0 Bindings, section 3): SOAP 1.2 and, for older clients, SOAP 1.1.
//!
//! The XKMS message is the single child of the Body. Envelope-level problems are SOAP faults
//! (Sender/Receiver in 1.2, Client/Server in 1.1); XKMS-level problems are XKMS Results.

use thiserror::Error;

use crate::error::XmlError;
use crate::xml::{
    Document, Element, Limits, NamespaceDeclaration, Node, XML_NS, parse, write_document,
};

/// The SOAP 1.2 envelope namespace.
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// The SOAP 1.1 envelope namespace.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The pre-Recommendation SOAP 1.2 namespace of the 2002/2003 drafts, accepted as SOAP 1.2.
pub const SOAP12_DRAFT_NS: &str = "http://www.w3.org/2002/06/soap-envelope";

const SOAP12_ROLE_NONE: &str = "http://www.w3.org/2003/05/soap-envelope/role/none";

/// The SOAP version of an envelope (and of the answer to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SoapVersion {
    /// SOAP 1.1 (`text/xml`).
    Soap11,
    /// SOAP 1.2 (`application/soap+xml`).
    Soap12,
}

impl SoapVersion {
    /// The envelope namespace.
    #[must_use]
    pub fn namespace(self) -> &'static str {
        match self {
            Self::Soap11 => SOAP11_NS,
            Self::Soap12 => SOAP12_NS,
        }
    }

    /// The HTTP Content-Type of a message in this version.
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Soap11 => "text/xml; charset=utf-8",
            Self::Soap12 => "application/soap+xml; charset=utf-8",
        }
    }

    fn from_namespace(ns: &str) -> Option<Self> {
        match ns {
            SOAP11_NS => Some(Self::Soap11),
            SOAP12_NS | SOAP12_DRAFT_NS => Some(Self::Soap12),
            _ => None,
        }
    }
}

/// An envelope-level error; [`SoapError::fault`] gives the fault to answer with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SoapError {
    /// Not well-formed XML or over a limit.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The document element is not a SOAP Envelope.
    #[error("not a SOAP envelope: {0}")]
    NotEnvelope(String),
    /// An Envelope in a namespace that is neither SOAP 1.1 nor SOAP 1.2.
    #[error("unsupported SOAP envelope namespace {0:?}")]
    VersionMismatch(String),
    /// The Envelope has no Body, or other children than an optional Header and the Body.
    #[error("{0}")]
    BadEnvelope(&'static str),
    /// The Body does not hold exactly one element.
    #[error("SOAP Body must hold exactly one element, found {0}")]
    BodyChildren(usize),
    /// A header block marked mustUnderstand that this service does not understand.
    #[error("header block {0} not understood")]
    MustUnderstand(String),
}

/// A SOAP fault code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultCode {
    /// Unsupported envelope version.
    VersionMismatch,
    /// A mandatory header was not understood.
    MustUnderstand,
    /// The message was wrong (SOAP 1.1 `Client`).
    Sender,
    /// The service failed (SOAP 1.1 `Server`).
    Receiver,
}

impl FaultCode {
    fn local(self, version: SoapVersion) -> &'static str {
        match (self, version) {
            (Self::VersionMismatch, _) => "VersionMismatch",
            (Self::MustUnderstand, _) => "MustUnderstand",
            (Self::Sender, SoapVersion::Soap12) => "Sender",
            (Self::Sender, SoapVersion::Soap11) => "Client",
            (Self::Receiver, SoapVersion::Soap12) => "Receiver",
            (Self::Receiver, SoapVersion::Soap11) => "Server",
        }
    }

    fn from_local(s: &str) -> Option<Self> {
        let local = s.trim().rsplit(':').next().unwrap_or("");
        // Dotted SOAP 1.1 codes (`Client.Authentication`) keep their class.
        match local.split('.').next().unwrap_or("") {
            "VersionMismatch" => Some(Self::VersionMismatch),
            "MustUnderstand" => Some(Self::MustUnderstand),
            "Sender" | "Client" => Some(Self::Sender),
            "Receiver" | "Server" => Some(Self::Receiver),
            _ => None,
        }
    }
}

/// A SOAP fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The code; `None` when a received fault carries a code this crate does not know.
    pub code: Option<FaultCode>,
    /// The code as received (for unknown codes such as the 2003 drafts' `xkms:MessageNotSupported`).
    pub code_text: String,
    /// The human-readable reason.
    pub reason: String,
}

impl Fault {
    /// A fault with a known code.
    #[must_use]
    pub fn new(code: FaultCode, reason: impl Into<String>) -> Self {
        Self {
            code: Some(code),
            code_text: String::new(),
            reason: reason.into(),
        }
    }
}

impl SoapError {
    /// The fault that answers this error.
    #[must_use]
    pub fn fault(&self) -> Fault {
        let code = match self {
            Self::VersionMismatch(_) => FaultCode::VersionMismatch,
            Self::MustUnderstand(_) => FaultCode::MustUnderstand,
            _ => FaultCode::Sender,
        };
        Fault::new(code, self.to_string())
    }
}

/// What a SOAP Body holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// The single Body child, as its own document (inheriting the envelope's namespace declarations).
    Message(Document),
    /// A SOAP Fault.
    Fault(Fault),
}

/// Parses a SOAP 1.1 or 1.2 envelope.
///
/// # Errors
/// [`SoapError`]; each maps to a fault with [`SoapError::fault`].
pub fn parse_envelope(bytes: &[u8], limits: &Limits) -> Result<(SoapVersion, Body), SoapError> {
    envelope_from_document(parse(bytes, limits)?)
}

/// Reads an already parsed document as a SOAP envelope.
///
/// # Errors
/// As [`parse_envelope`], less the XML errors.
pub fn envelope_from_document(doc: Document) -> Result<(SoapVersion, Body), SoapError> {
    let root = doc.root;
    if root.local != "Envelope" {
        return Err(SoapError::NotEnvelope(root.local));
    }
    let ns = root.namespace.clone().unwrap_or_default();
    let version = SoapVersion::from_namespace(&ns).ok_or(SoapError::VersionMismatch(ns.clone()))?;
    let mut header = None;
    let mut body = None;
    for n in root.children {
        match n {
            Node::Element(e)
                if e.namespace.as_deref() == Some(ns.as_str())
                    && e.local == "Header"
                    && header.is_none()
                    && body.is_none() =>
            {
                header = Some(e);
            }
            Node::Element(e)
                if e.namespace.as_deref() == Some(ns.as_str())
                    && e.local == "Body"
                    && body.is_none() =>
            {
                body = Some(e);
            }
            // SOAP 1.1 allows further elements after the Body; nothing is addressed to us there.
            Node::Element(_) if version == SoapVersion::Soap11 && body.is_some() => {}
            Node::Element(_) => {
                return Err(SoapError::BadEnvelope(
                    "unexpected element in SOAP Envelope",
                ));
            }
            Node::Text(t) if t.trim().is_empty() => {}
            Node::Text(_) => return Err(SoapError::BadEnvelope("text in SOAP Envelope")),
            Node::ProcessingInstruction { .. } => {}
        }
    }
    let body = body.ok_or(SoapError::BadEnvelope("SOAP Envelope without Body"))?;
    if let Some(h) = &header {
        check_headers(h, &ns)?;
    }
    let mut inherited: Vec<NamespaceDeclaration> = root.namespace_declarations.clone();
    inherited.extend(body.namespace_declarations.iter().cloned());
    let mut children: Vec<Element> = Vec::new();
    for n in body.children {
        match n {
            Node::Element(e) => children.push(e),
            Node::Text(t) if t.trim().is_empty() => {}
            Node::Text(_) => return Err(SoapError::BadEnvelope("text in SOAP Body")),
            Node::ProcessingInstruction { .. } => {}
        }
    }
    if children.len() != 1 {
        return Err(SoapError::BodyChildren(children.len()));
    }
    let Some(child) = children.pop() else {
        return Err(SoapError::BodyChildren(0));
    };
    if child.local == "Fault" && child.namespace.as_deref() == Some(ns.as_str()) {
        return Ok((version, Body::Fault(parse_fault(&child))));
    }
    Ok((
        version,
        Body::Message(Document {
            root: child,
            inherited_namespaces: inherited,
        }),
    ))
}

fn check_headers(header: &Element, ns: &str) -> Result<(), SoapError> {
    for block in header.child_elements() {
        let attr = |local: &str| {
            block
                .attributes
                .iter()
                .find(|a| a.local == local && a.namespace.as_deref() == Some(ns))
                .map(|a| a.value.trim())
        };
        let must = matches!(attr("mustUnderstand"), Some("1" | "true"));
        let for_none = attr("role") == Some(SOAP12_ROLE_NONE);
        if must && !for_none {
            let name = format!(
                "{{{}}}{}",
                block.namespace.as_deref().unwrap_or(""),
                block.local
            );
            return Err(SoapError::MustUnderstand(name));
        }
    }
    Ok(())
}

/// Reads a fault leniently: SOAP 1.2 `Code/Value` + `Reason/Text`, SOAP 1.1 `faultcode` +
/// `faultstring`, and the 2003 drafts' bare `Code` text.
fn parse_fault(f: &Element) -> Fault {
    let mut code_text = String::new();
    let mut reason = String::new();
    for c in f.child_elements() {
        match c.local.as_str() {
            "Code" => {
                code_text = c
                    .child_elements()
                    .find(|v| v.local == "Value")
                    .map_or_else(|| c.text(), Element::text)
                    .trim()
                    .to_owned();
            }
            "faultcode" => code_text = c.text().trim().to_owned(),
            "Reason" => {
                reason = c
                    .child_elements()
                    .find(|t| t.local == "Text")
                    .map_or_else(|| c.text(), Element::text)
                    .trim()
                    .to_owned();
            }
            "faultstring" => reason = c.text().trim().to_owned(),
            _ => {}
        }
    }
    Fault {
        code: FaultCode::from_local(&code_text),
        code_text,
        reason,
    }
}

fn env_prefix(version: SoapVersion) -> &'static str {
    match version {
        SoapVersion::Soap11 => "soap",
        SoapVersion::Soap12 => "env",
    }
}

/// Wraps `message` in an envelope and serializes it.
#[must_use]
pub fn envelope(version: SoapVersion, message: Element) -> Vec<u8> {
    let ns = version.namespace();
    let p = env_prefix(version);
    let env = Element::new(Some(ns), Some(p), "Envelope")
        .declare(Some(p), ns)
        .with_child(Element::new(Some(ns), Some(p), "Body").with_child(message));
    write_document(&env)
}

/// A fault envelope.
#[must_use]
pub fn fault_envelope(version: SoapVersion, fault: &Fault) -> Vec<u8> {
    let ns = version.namespace();
    let p = env_prefix(version);
    let el = |local: &str| Element::new(Some(ns), Some(p), local);
    let code = fault.code.unwrap_or(FaultCode::Receiver);
    let code_value = format!("{p}:{}", code.local(version));
    let fault_el = match version {
        SoapVersion::Soap12 => el("Fault")
            .with_child(el("Code").with_child(el("Value").with_text(code_value)))
            .with_child(el("Reason").with_child({
                let mut t = el("Text").with_text(fault.reason.clone());
                t.attributes.push(crate::xml::Attribute {
                    prefix: Some("xml".into()),
                    local: "lang".into(),
                    namespace: Some(XML_NS.into()),
                    value: "en".into(),
                });
                t
            })),
        SoapVersion::Soap11 => el("Fault")
            .with_child(Element::new(None, None, "faultcode").with_text(code_value))
            .with_child(Element::new(None, None, "faultstring").with_text(fault.reason.clone())),
    };
    envelope(version, fault_el)
}
