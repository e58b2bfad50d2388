//! Message model to [`Element`] trees, always schema-valid: full URIs, elements in schema order, Ids
//! that are XML NCNames.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha1::{Digest, Sha1};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::*;
use crate::dsig::DSIG_NS;
use crate::xenc::XENC_NS;
use crate::xml::Node;

fn x(local: &str) -> Element {
    Element::new(Some(XKMS_NS), None, local)
}

fn ds(local: &str) -> Element {
    Element::new(Some(DSIG_NS), Some("ds"), local)
}

fn root(mut e: Element) -> Element {
    e.namespace_declarations.insert(
        0,
        crate::xml::NamespaceDeclaration {
            prefix: None,
            uri: XKMS_NS.to_owned(),
        },
    );
    e.declare(Some("ds"), DSIG_NS)
        .declare(Some("xenc"), XENC_NS)
}

fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{B7}'))
}

/// An Id value that is a valid xs:ID/NCName: kept if it already is one, otherwise replaced by a stable
/// derived name (clients such as CXF use DNs as Ids, which the schema does not allow).
#[must_use]
pub fn to_ncname(s: &str) -> String {
    if is_ncname(s) {
        return s.to_owned();
    }
    let mut out = String::from("I");
    for b in Sha1::digest(s.as_bytes()) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

pub(crate) fn date_time(t: &OffsetDateTime) -> String {
    // Rfc3339 covers years 0000-9999, all that decoding accepts; a constructed date beyond that is
    // clamped rather than emitted as an invalid xs:dateTime.
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "9999-12-31T23:59:59Z".to_owned())
}

fn text_el(local: &str, text: impl Into<String>) -> Element {
    x(local).with_text(text)
}

fn message_header(e: &mut Element, h: &MessageHeader) {
    e.set_attr("Id", to_ncname(&h.id));
    e.set_attr("Service", h.service.clone().unwrap_or_default());
    if let Some(n) = &h.nonce {
        e.set_attr("Nonce", B64.encode(n));
    }
    if let Some(s) = &h.signature {
        e.push(s.element.clone());
    }
    // MessageExtension is abstract and XKMS defines no member of its substitution group, so no
    // extension element can be schema-valid: received ones are kept for inspection, never re-emitted.
    if let Some(o) = &h.opaque_client_data {
        let mut oc = x("OpaqueClientData");
        for d in o {
            oc.push(text_el("OpaqueData", B64.encode(d)));
        }
        e.push(oc);
    }
}

fn request_header(e: &mut Element, h: &RequestHeader) {
    message_header(e, &h.message);
    if let Some(o) = &h.original_request_id {
        e.set_attr("OriginalRequestId", to_ncname(o));
    }
    if let Some(l) = h.response_limit {
        e.set_attr("ResponseLimit", l.to_string());
    }
    for m in &h.response_mechanisms {
        e.push(text_el("ResponseMechanism", m.uri()));
    }
    for r in &h.respond_with {
        e.push(text_el("RespondWith", r.uri()));
    }
    if let Some(p) = &h.pending_notification {
        e.push(
            x("PendingNotification")
                .with_attr("Mechanism", p.mechanism.clone())
                .with_attr("Identifier", p.identifier.clone()),
        );
    }
}

fn result_header(e: &mut Element, h: &ResultHeader) {
    message_header(e, &h.message);
    e.set_attr("ResultMajor", h.result_major.uri());
    if let Some(m) = &h.result_minor {
        e.set_attr("ResultMinor", m.uri());
    }
    if let Some(r) = &h.request_id {
        e.set_attr("RequestId", to_ncname(r));
    }
    if let Some(v) = &h.request_signature_value {
        e.push(text_el("RequestSignatureValue", B64.encode(v)));
    }
}

/// Whether a received element kept as-is can go back into a `ds:` content model that admits the
/// named ds elements and, laxly, elements of other namespaces (`##other` excludes unqualified ones).
fn emittable(e: &Element, ds_allowed: &[&str]) -> bool {
    match e.namespace.as_deref() {
        Some(DSIG_NS) => ds_allowed.contains(&e.local.as_str()),
        Some(XKMS_NS) | None => false,
        Some(_) => true,
    }
}

fn key_value(v: &KeyValue) -> Option<Element> {
    let inner = match v {
        KeyValue::Rsa { modulus, exponent } => ds("RSAKeyValue")
            .with_child(ds("Modulus").with_text(B64.encode(modulus)))
            .with_child(ds("Exponent").with_text(B64.encode(exponent))),
        KeyValue::Ec {
            named_curve,
            public_key,
        } => Element::new(Some(DSIG11_NS), Some("dsig11"), "ECKeyValue")
            .declare(Some("dsig11"), DSIG11_NS)
            .with_child(
                Element::new(Some(DSIG11_NS), Some("dsig11"), "NamedCurve")
                    .with_attr("URI", named_curve.clone()),
            )
            .with_child(
                Element::new(Some(DSIG11_NS), Some("dsig11"), "PublicKey")
                    .with_text(B64.encode(public_key)),
            ),
        KeyValue::Other(e) if emittable(e, &["DSAKeyValue"]) => e.clone(),
        KeyValue::Other(_) => return None,
    };
    Some(ds("KeyValue").with_child(inner))
}

/// The ds:KeyInfo element; `None` when nothing in it can be emitted schema-valid (KeyInfo must not be
/// empty).
pub(crate) fn key_info(k: &KeyInfo) -> Option<Element> {
    let mut e = ds("KeyInfo");
    if let Some(id) = &k.id {
        e.set_attr("Id", to_ncname(id));
    }
    for item in &k.items {
        let child = match item {
            KeyInfoItem::KeyName(n) => Some(ds("KeyName").with_text(n.clone())),
            KeyInfoItem::KeyValue(v) => key_value(v),
            KeyInfoItem::X509Data(items) if items.is_empty() => None,
            KeyInfoItem::X509Data(items) => {
                let mut d = ds("X509Data");
                for i in items {
                    d.push(match i {
                        X509Item::Certificate(c) => ds("X509Certificate").with_text(B64.encode(c)),
                        X509Item::SubjectName(s) => ds("X509SubjectName").with_text(s.clone()),
                        X509Item::IssuerSerial {
                            issuer_name,
                            serial_number,
                        } => ds("X509IssuerSerial")
                            .with_child(ds("X509IssuerName").with_text(issuer_name.clone()))
                            .with_child(ds("X509SerialNumber").with_text(serial_number.clone())),
                        X509Item::Ski(s) => ds("X509SKI").with_text(B64.encode(s)),
                        X509Item::Crl(c) => ds("X509CRL").with_text(B64.encode(c)),
                    });
                }
                Some(d)
            }
            KeyInfoItem::Other(o)
                if emittable(o, &["RetrievalMethod", "PGPData", "SPKIData", "MgmtData"]) =>
            {
                Some(o.clone())
            }
            KeyInfoItem::Other(_) => None,
        };
        if let Some(c) = child {
            e.push(c);
        }
    }
    if e.children.is_empty() { None } else { Some(e) }
}

fn core(e: &mut Element, c: &KeyBindingCore) {
    if let Some(id) = &c.id {
        e.set_attr("Id", to_ncname(id));
    }
    if let Some(k) = c.key_info.as_ref().and_then(key_info) {
        e.push(k);
    }
    // The schema allows at most three KeyUsage elements: the three distinct values.
    let mut seen = Vec::new();
    for u in &c.key_usage {
        if !seen.contains(u) {
            seen.push(*u);
            e.push(text_el("KeyUsage", u.uri()));
        }
    }
    for u in &c.use_key_with {
        e.push(
            x("UseKeyWith")
                .with_attr("Application", u.application.clone())
                .with_attr("Identifier", u.identifier.clone()),
        );
    }
}

fn validity(v: &ValidityInterval) -> Element {
    let mut e = x("ValidityInterval");
    if let Some(t) = &v.not_before {
        e.set_attr("NotBefore", date_time(t));
    }
    if let Some(t) = &v.not_on_or_after {
        e.set_attr("NotOnOrAfter", date_time(t));
    }
    e
}

fn status(s: &Status) -> Element {
    let mut e = x("Status").with_attr("StatusValue", s.status_value.uri());
    for r in &s.valid_reasons {
        e.push(text_el("ValidReason", r.uri()));
    }
    for r in &s.indeterminate_reasons {
        e.push(text_el("IndeterminateReason", r.uri()));
    }
    for r in &s.invalid_reasons {
        e.push(text_el("InvalidReason", r.uri()));
    }
    e
}

fn query_key_binding(q: &QueryKeyBinding) -> Element {
    let mut e = x("QueryKeyBinding");
    core(&mut e, &q.core);
    if let Some(t) = &q.time_instant {
        e.push(x("TimeInstant").with_attr("Time", date_time(t)));
    }
    e
}

fn unverified_key_binding(k: &UnverifiedKeyBinding) -> Element {
    let mut e = x("UnverifiedKeyBinding");
    core(&mut e, &k.core);
    if let Some(v) = &k.validity_interval {
        e.push(validity(v));
    }
    e
}

fn key_binding(local: &str, k: &KeyBinding) -> Element {
    let mut e = x(local);
    core(&mut e, &k.core);
    if let Some(v) = &k.validity_interval {
        e.push(validity(v));
    }
    e.push(status(&k.status));
    e
}

fn prototype_key_binding(k: &PrototypeKeyBinding) -> Element {
    let mut e = x("PrototypeKeyBinding");
    core(&mut e, &k.core);
    if let Some(v) = &k.validity_interval {
        e.push(validity(v));
    }
    if let Some(r) = &k.revocation_code_identifier {
        e.push(text_el("RevocationCodeIdentifier", B64.encode(r)));
    }
    e
}

fn authentication(a: &Authentication) -> Element {
    let mut e = x("Authentication");
    if let Some(s) = &a.key_binding_authentication {
        e.push(x("KeyBindingAuthentication").with_child(s.element.clone()));
    }
    if let Some(n) = &a.not_bound_authentication {
        e.push(
            x("NotBoundAuthentication")
                .with_attr("Protocol", n.protocol.clone())
                .with_attr("Value", B64.encode(&n.value)),
        );
    }
    e
}

fn proof_of_possession(s: &XmlSignature) -> Element {
    x("ProofOfPossession").with_child(s.element.clone())
}

fn private_key(p: &PrivateKey) -> Element {
    let d = &p.encrypted_data;
    let xe = |local: &str| Element::new(Some(XENC_NS), Some("xenc"), local);
    let mut ed = xe("EncryptedData");
    if let Some(id) = &d.id {
        ed.set_attr("Id", to_ncname(id));
    }
    if let Some(t) = &d.type_uri {
        ed.set_attr("Type", t.clone());
    }
    if let Some(a) = &d.algorithm {
        ed.push(xe("EncryptionMethod").with_attr("Algorithm", a.clone()));
    }
    ed.push(xe("CipherData").with_child(xe("CipherValue").with_text(B64.encode(&d.cipher_value))));
    x("PrivateKey").with_child(ed)
}

fn request_inner(r: &Request) -> Element {
    let mut e = x(r.element_name());
    request_header(&mut e, r.header());
    match r {
        Request::Locate(l) => e.push(query_key_binding(&l.query_key_binding)),
        Request::Validate(v) => e.push(query_key_binding(&v.query_key_binding)),
        Request::Register(g) => {
            e.push(prototype_key_binding(&g.prototype_key_binding));
            e.push(authentication(&g.authentication));
            if let Some(p) = &g.proof_of_possession {
                e.push(proof_of_possession(p));
            }
        }
        Request::Reissue(g) => {
            e.push(key_binding("ReissueKeyBinding", &g.reissue_key_binding));
            e.push(authentication(&g.authentication));
            if let Some(p) = &g.proof_of_possession {
                e.push(proof_of_possession(p));
            }
        }
        Request::Revoke(g) => {
            e.push(key_binding("RevokeKeyBinding", &g.revoke_key_binding));
            match &g.revocation {
                Revocation::Authentication(a) => e.push(authentication(a)),
                Revocation::RevocationCode(c) => e.push(text_el("RevocationCode", B64.encode(c))),
            }
        }
        Request::Recover(g) => {
            e.push(key_binding("RecoverKeyBinding", &g.recover_key_binding));
            e.push(authentication(&g.authentication));
        }
        Request::Compound(c) => {
            for inner in &c.requests {
                e.push(request_inner(inner));
            }
        }
        Request::Pending(p) => e.set_attr("ResponseId", to_ncname(&p.response_id)),
        Request::Status(s) => e.set_attr("ResponseId", to_ncname(&s.response_id)),
    }
    e
}

fn result_inner(r: &XkmsResult) -> Element {
    let mut e = x(r.element_name());
    result_header(&mut e, r.header());
    match r {
        XkmsResult::Locate(l) => {
            for k in &l.unverified_key_bindings {
                e.push(unverified_key_binding(k));
            }
        }
        XkmsResult::Validate(k) | XkmsResult::Reissue(k) | XkmsResult::Revoke(k) => {
            for b in &k.key_bindings {
                e.push(key_binding("KeyBinding", b));
            }
        }
        XkmsResult::Register(k) | XkmsResult::Recover(k) => {
            for b in &k.key_bindings {
                e.push(key_binding("KeyBinding", b));
            }
            if let Some(p) = &k.private_key {
                e.push(private_key(p));
            }
        }
        XkmsResult::Compound(c) => {
            for inner in &c.results {
                e.push(result_inner(inner));
            }
        }
        XkmsResult::Status(s) => {
            if let Some(n) = s.success {
                e.set_attr("Success", n.to_string());
            }
            if let Some(n) = s.failure {
                e.set_attr("Failure", n.to_string());
            }
            if let Some(n) = s.pending {
                e.set_attr("Pending", n.to_string());
            }
        }
        XkmsResult::Result(_) => {}
    }
    e
}

/// Encodes a request as a document element declaring the XKMS, ds and xenc namespaces.
#[must_use]
pub fn encode_request(r: &Request) -> Element {
    root(request_inner(r))
}

/// Encodes a result as a document element declaring the XKMS, ds and xenc namespaces.
#[must_use]
pub fn encode_result(r: &XkmsResult) -> Element {
    root(result_inner(r))
}

/// Encodes any message.
#[must_use]
pub fn encode_message(m: &Message) -> Element {
    match m {
        Message::Request(r) => encode_request(r),
        Message::Result(r) => encode_result(r),
    }
}

/// Encodes `r` with an empty slot for the signature about to be made: an empty
/// `KeyBindingAuthentication` first in `Authentication`, or an empty `ProofOfPossession` after it.
/// Returns the tree and the path of the slot element.
pub(crate) fn encode_request_for_signing(
    r: &Request,
    proof_of_possession: bool,
) -> (Element, Option<Vec<usize>>) {
    let mut e = encode_request(r);
    let auth = e
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(c) if c.local == "Authentication"));
    let Some(auth) = auth else {
        return (e, None);
    };
    if proof_of_possession {
        e.children
            .insert(auth + 1, Node::Element(x("ProofOfPossession")));
        return (e, Some(vec![auth + 1]));
    }
    if let Some(Node::Element(a)) = e.children.get_mut(auth) {
        a.children
            .insert(0, Node::Element(x("KeyBindingAuthentication")));
    }
    (e, Some(vec![auth, 0]))
}
