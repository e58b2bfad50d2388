//! Canonical XML 1.0 (inclusive, <https://www.w3.org/TR/2001/REC-xml-c14n-20010315>) and Exclusive XML
//! Canonicalization 1.0 (<https://www.w3.org/TR/xml-exc-c14n/>), both without comments, over the node
//! set XML Signature uses here: the subtree of one element, optionally minus one descendant subtree
//! (the enveloped-signature transform).

use std::collections::BTreeMap;

use super::write::{escape_attr, escape_text};
use super::{Attribute, Document, Element, Node, XML_NS};
use crate::error::{XmlError, XmlErrorKind};

/// The canonicalization algorithm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum C14nMethod {
    /// Canonical XML 1.0: every namespace in scope is rendered on the apex element.
    Inclusive,
    /// Exclusive C14N: only visibly utilized namespaces, plus the InclusiveNamespaces PrefixList
    /// (`#default` stands for the default namespace).
    Exclusive {
        /// The PrefixList of an `ec:InclusiveNamespaces` element.
        inclusive_prefixes: Vec<String>,
    },
}

type Scope = BTreeMap<Option<String>, String>;

/// Canonicalizes the subtree at `target` (a child-index path into `doc.root`), leaving out the subtree
/// at `exclude` if given.
///
/// `with_inherited` decides whether `doc.inherited_namespaces` (the declarations of an enclosing SOAP
/// envelope) are in scope for inclusive C14N: a document subset in place says yes, while signers that
/// take the XKMS message out of the envelope as its own document (xsec-xklient) say no. Exclusive C14N
/// only renders utilized prefixes and resolves them the same either way.
///
/// # Errors
/// [`XmlErrorKind::Syntax`] if `target` does not name an element.
pub fn canonicalize(
    doc: &Document,
    target: &[usize],
    exclude: Option<&[usize]>,
    method: &C14nMethod,
    with_inherited: bool,
) -> Result<Vec<u8>, XmlError> {
    let mut scope = Scope::new();
    if with_inherited || matches!(method, C14nMethod::Exclusive { .. }) {
        for d in &doc.inherited_namespaces {
            apply_decl(&mut scope, d.prefix.as_ref(), &d.uri);
        }
    }
    // xml:* attributes of ancestors are inherited by the apex in inclusive C14N (section 2.4).
    let mut xml_attrs: BTreeMap<String, Attribute> = BTreeMap::new();
    let mut e = &doc.root;
    for &i in target {
        for d in &e.namespace_declarations {
            apply_decl(&mut scope, d.prefix.as_ref(), &d.uri);
        }
        for a in &e.attributes {
            if a.namespace.as_deref() == Some(XML_NS) {
                xml_attrs.insert(a.local.clone(), a.clone());
            }
        }
        e = match e.children.get(i) {
            Some(Node::Element(c)) => c,
            _ => {
                return Err(XmlError::new(
                    "/",
                    XmlErrorKind::Syntax("canonicalization target is not an element".into()),
                ));
            }
        };
    }
    let inherited_xml: Vec<Attribute> = match method {
        C14nMethod::Inclusive => xml_attrs.into_values().collect(),
        C14nMethod::Exclusive { .. } => Vec::new(),
    };
    let mut out = String::with_capacity(4096);
    let mut path = target.to_vec();
    let cx = Cx { method, exclude };
    cx.render(
        e,
        &scope,
        &Scope::new(),
        &inherited_xml,
        &mut path,
        &mut out,
    );
    Ok(out.into_bytes())
}

fn apply_decl(scope: &mut Scope, prefix: Option<&String>, uri: &str) {
    if prefix.is_none() && uri.is_empty() {
        scope.remove(&None);
    } else {
        scope.insert(prefix.cloned(), uri.to_owned());
    }
}

struct Cx<'a> {
    method: &'a C14nMethod,
    exclude: Option<&'a [usize]>,
}

impl Cx<'_> {
    fn render(
        &self,
        e: &Element,
        parent_scope: &Scope,
        rendered: &Scope,
        extra_attrs: &[Attribute],
        path: &mut Vec<usize>,
        out: &mut String,
    ) {
        let mut scope = parent_scope.clone();
        for d in &e.namespace_declarations {
            apply_decl(&mut scope, d.prefix.as_ref(), &d.uri);
        }
        // (prefix, uri) pairs to render; uri "" means xmlns="".
        let mut ns_out: BTreeMap<Option<String>, String> = BTreeMap::new();
        match self.method {
            C14nMethod::Inclusive => {
                for (p, u) in &scope {
                    if rendered.get(p) != Some(u) {
                        ns_out.insert(p.clone(), u.clone());
                    }
                }
                if !scope.contains_key(&None) && rendered.get(&None).is_some_and(|u| !u.is_empty())
                {
                    ns_out.insert(None, String::new());
                }
            }
            C14nMethod::Exclusive { inclusive_prefixes } => {
                let mut utilized: Vec<Option<String>> = vec![e.prefix.clone()];
                for a in &e.attributes {
                    if let Some(p) = &a.prefix
                        && p != "xml"
                    {
                        utilized.push(Some(p.clone()));
                    }
                }
                for p in inclusive_prefixes {
                    let p = if p == "#default" {
                        None
                    } else {
                        Some(p.clone())
                    };
                    if scope.contains_key(&p) {
                        utilized.push(p);
                    }
                }
                for p in utilized {
                    match scope.get(&p) {
                        Some(u) => {
                            if rendered.get(&p) != Some(u) {
                                ns_out.insert(p, u.clone());
                            }
                        }
                        None => {
                            if p.is_none() && rendered.get(&None).is_some_and(|u| !u.is_empty()) {
                                ns_out.insert(None, String::new());
                            }
                        }
                    }
                }
            }
        }
        let mut now_rendered = rendered.clone();
        for (p, u) in &ns_out {
            apply_decl(&mut now_rendered, p.as_ref(), u);
        }

        out.push('<');
        push_qname(out, e.prefix.as_deref(), &e.local);
        for (p, u) in &ns_out {
            match p {
                Some(p) => {
                    out.push_str(" xmlns:");
                    out.push_str(p);
                }
                None => out.push_str(" xmlns"),
            }
            out.push_str("=\"");
            escape_attr(u, out);
            out.push('"');
        }
        let mut attrs: Vec<&Attribute> = e.attributes.iter().collect();
        for x in extra_attrs {
            if !attrs
                .iter()
                .any(|a| a.namespace == x.namespace && a.local == x.local)
            {
                attrs.push(x);
            }
        }
        attrs.sort_by(|a, b| {
            (a.namespace.as_deref().unwrap_or(""), a.local.as_str())
                .cmp(&(b.namespace.as_deref().unwrap_or(""), b.local.as_str()))
        });
        for a in attrs {
            out.push(' ');
            push_qname(out, a.prefix.as_deref(), &a.local);
            out.push_str("=\"");
            escape_attr(&a.value, out);
            out.push('"');
        }
        out.push('>');
        for (i, c) in e.children.iter().enumerate() {
            match c {
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
                Node::Element(c) => {
                    path.push(i);
                    if self.exclude != Some(path.as_slice()) {
                        self.render(c, &scope, &now_rendered, &[], path, out);
                    }
                    path.pop();
                }
            }
        }
        out.push_str("</");
        push_qname(out, e.prefix.as_deref(), &e.local);
        out.push('>');
    }
}

fn push_qname(out: &mut String, prefix: Option<&str>, local: &str) {
    if let Some(p) = prefix {
        out.push_str(p);
        out.push(':');
    }
    out.push_str(local);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    fn c14n(xml: &str, target: &[usize], method: &C14nMethod) -> String {
        let d = parse(xml.as_bytes(), &Limits::default()).expect("parse");
        String::from_utf8(canonicalize(&d, target, None, method, true).expect("c14n"))
            .expect("utf8")
    }

    #[test]
    fn inclusive_renders_context_exclusive_only_utilized() {
        let xml =
            r#"<r xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b"><a:x b:y="1" z="2"   c="3"/></r>"#;
        assert_eq!(
            c14n(xml, &[0], &C14nMethod::Inclusive),
            r#"<a:x xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b" c="3" z="2" b:y="1"></a:x>"#
        );
        assert_eq!(
            c14n(
                xml,
                &[0],
                &C14nMethod::Exclusive {
                    inclusive_prefixes: vec![]
                }
            ),
            r#"<a:x xmlns:a="urn:a" xmlns:b="urn:b" c="3" z="2" b:y="1"></a:x>"#
        );
        assert_eq!(
            c14n(
                xml,
                &[0],
                &C14nMethod::Exclusive {
                    inclusive_prefixes: vec!["#default".into()]
                }
            ),
            r#"<a:x xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b" c="3" z="2" b:y="1"></a:x>"#
        );
    }

    /// The example of Exclusive XML Canonicalization section 2.2, both algorithms.
    #[test]
    fn exclusive_c14n_spec_example() {
        let xml = "<n0:local xmlns:n0=\"foo:bar\" xmlns:n3=\"ftp://example.org\">\n  <n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n     <n3:stuff xmlns:n3=\"ftp://example.org\"/>\n  </n1:elem2>\n</n0:local>";
        assert_eq!(
            c14n(xml, &[1], &C14nMethod::Inclusive),
            "<n1:elem2 xmlns:n0=\"foo:bar\" xmlns:n1=\"http://example.net\" xmlns:n3=\"ftp://example.org\" xml:lang=\"en\">\n     <n3:stuff></n3:stuff>\n  </n1:elem2>"
        );
        assert_eq!(
            c14n(
                xml,
                &[1],
                &C14nMethod::Exclusive {
                    inclusive_prefixes: vec![]
                }
            ),
            "<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n     <n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff>\n  </n1:elem2>"
        );
    }

    #[test]
    fn inclusive_inherits_xml_attributes_of_ancestors() {
        let xml = r#"<r xml:lang="fr" xml:space="preserve"><a xml:lang="en"><b/></a></r>"#;
        assert_eq!(
            c14n(xml, &[0, 0], &C14nMethod::Inclusive),
            r#"<b xml:lang="en" xml:space="preserve"></b>"#
        );
        assert_eq!(
            c14n(
                xml,
                &[0, 0],
                &C14nMethod::Exclusive {
                    inclusive_prefixes: vec![]
                }
            ),
            "<b></b>"
        );
    }

    #[test]
    fn default_undeclaration_and_escaping() {
        let xml = "<r xmlns=\"urn:d\"><s><t xmlns=\"\">a&amp;&lt;&gt;\"</t></s></r>";
        assert_eq!(
            c14n(
                xml,
                &[0],
                &C14nMethod::Exclusive {
                    inclusive_prefixes: vec![]
                }
            ),
            "<s xmlns=\"urn:d\"><t xmlns=\"\">a&amp;&lt;&gt;\"</t></s>"
        );
        assert_eq!(
            c14n(
                "<r><t v='&#x9;&quot;'>&#xD;</t></r>",
                &[],
                &C14nMethod::Inclusive
            ),
            "<r><t v=\"&#x9;&quot;\">&#xD;</t></r>"
        );
    }
}
