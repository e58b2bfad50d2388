//! The part of XML Signature (<https://www.w3.org/TR/xmldsig-core/>) XKMS needs: same-document
//! references by `#Id` (or `""`), the enveloped-signature transform, exclusive and inclusive C14N,
//! SHA-1/SHA-256 digests, and HMAC-SHA1/HMAC-SHA256, RSA-SHA1/RSA-SHA256 (PKCS #1 v1.5) and
//! ECDSA-P256-SHA256 signatures.
//!
//! Everything else (XPath, XSLT, external references, `#WithComments`, HMAC truncation) is refused
//! rather than half-supported.

mod keys;

pub use keys::{SigningKey, VerifyingKey};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::SignatureError;
use crate::xml::{C14nMethod, Document, Element, Node, canonicalize};

/// The XML Signature namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive XML Canonicalization 1.0 (also the namespace of `ec:InclusiveNamespaces`).
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Canonical XML 1.0 without comments.
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Exclusive C14N with comments (accepted as a Reference transform only).
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
/// Canonical XML 1.0 with comments (accepted as a Reference transform only).
pub const C14N_WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// The enveloped-signature transform.
pub const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

const MAX_REFERENCES: usize = 8;
const MAX_TRANSFORMS: usize = 4;

/// A SignatureMethod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureMethod {
    /// `xmldsig#hmac-sha1` (KeyBindingAuthentication).
    HmacSha1,
    /// `xmldsig-more#hmac-sha256`.
    HmacSha256,
    /// `xmldsig#rsa-sha1` (the Recommendation's ProofOfPossession).
    RsaSha1,
    /// `xmldsig-more#rsa-sha256`.
    RsaSha256,
    /// `xmldsig-more#ecdsa-sha256` over P-256, signature value `r || s`.
    EcdsaSha256,
}

impl SignatureMethod {
    /// The Algorithm URI.
    #[must_use]
    pub fn uri(self) -> &'static str {
        match self {
            Self::HmacSha1 => "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
            Self::HmacSha256 => "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
            Self::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            Self::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            Self::EcdsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        }
    }

    /// The method named by `uri`, if supported.
    #[must_use]
    pub fn from_uri(uri: &str) -> Option<Self> {
        [
            Self::HmacSha1,
            Self::HmacSha256,
            Self::RsaSha1,
            Self::RsaSha256,
            Self::EcdsaSha256,
        ]
        .into_iter()
        .find(|m| m.uri() == uri)
    }
}

/// A DigestMethod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestMethod {
    /// `xmldsig#sha1`.
    Sha1,
    /// `xmlenc#sha256`.
    Sha256,
}

impl DigestMethod {
    /// The Algorithm URI.
    #[must_use]
    pub fn uri(self) -> &'static str {
        match self {
            Self::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            Self::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
        }
    }

    /// The method named by `uri`, if supported.
    #[must_use]
    pub fn from_uri(uri: &str) -> Option<Self> {
        [Self::Sha1, Self::Sha256]
            .into_iter()
            .find(|m| m.uri() == uri)
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => Sha1::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
        }
    }
}

/// How a signature we create canonicalizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignOptions {
    /// The SignatureMethod; must fit the key.
    pub method: SignatureMethod,
    /// The DigestMethod of the Reference.
    pub digest: DigestMethod,
    /// Canonicalization of SignedInfo and of the referenced element.
    pub c14n: C14nMethod,
}

impl SignOptions {
    /// Exclusive C14N and SHA-1, as the Recommendation's examples (and every XKMS peer) use.
    #[must_use]
    pub fn new(method: SignatureMethod) -> Self {
        Self {
            method,
            digest: DigestMethod::Sha1,
            c14n: C14nMethod::Exclusive {
                inclusive_prefixes: Vec::new(),
            },
        }
    }
}

/// What a verified signature covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The SignatureMethod that verified.
    pub method: SignatureMethod,
    /// The Ids of the referenced elements (`""` for the whole document), in Reference order.
    pub references: Vec<String>,
}

impl Verified {
    /// Whether the signature covers the element with this Id.
    #[must_use]
    pub fn covers(&self, id: &str) -> bool {
        self.references.iter().any(|r| r == id)
    }
}

fn malformed(s: impl Into<String>) -> SignatureError {
    SignatureError::Malformed(s.into())
}

/// Child elements of `e`, refusing non-whitespace text (ds:* content models are element-only).
fn element_children(e: &Element) -> Result<Vec<(usize, &Element)>, SignatureError> {
    let mut out = Vec::new();
    for (i, n) in e.children.iter().enumerate() {
        match n {
            Node::Element(c) => out.push((i, c)),
            Node::Text(t) if t.trim().is_empty() => {}
            Node::Text(_) => return Err(malformed(format!("text in {}", e.local))),
            Node::ProcessingInstruction { .. } => {}
        }
    }
    Ok(out)
}

fn expect_ds<'a>(
    e: Option<&(usize, &'a Element)>,
    local: &'static str,
) -> Result<(usize, &'a Element), SignatureError> {
    match e {
        Some(&(i, c)) if c.is(DSIG_NS, local) => Ok((i, c)),
        _ => Err(malformed(format!("expected ds:{local}"))),
    }
}

fn algorithm(e: &Element) -> Result<&str, SignatureError> {
    e.attr("Algorithm")
        .ok_or_else(|| malformed(format!("{} without Algorithm", e.local)))
}

fn c14n_method(e: &Element) -> Result<C14nMethod, SignatureError> {
    c14n_method_with(e, algorithm(e)?)
}

fn c14n_method_with(e: &Element, algorithm: &str) -> Result<C14nMethod, SignatureError> {
    match algorithm {
        EXC_C14N => {
            let mut inclusive_prefixes = Vec::new();
            for (_, c) in element_children(e)? {
                if c.is(EXC_C14N, "InclusiveNamespaces") {
                    inclusive_prefixes.extend(
                        c.attr("PrefixList")
                            .unwrap_or("")
                            .split_ascii_whitespace()
                            .map(str::to_owned),
                    );
                } else {
                    return Err(malformed("unexpected child of exclusive C14N"));
                }
            }
            Ok(C14nMethod::Exclusive { inclusive_prefixes })
        }
        C14N => Ok(C14nMethod::Inclusive),
        other => Err(SignatureError::Unsupported(format!(
            "canonicalization {other}"
        ))),
    }
}

fn b64_decode(what: &str, text: &str) -> Result<Vec<u8>, SignatureError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    B64.decode(compact.as_bytes())
        .map_err(|_| malformed(format!("{what} is not base64")))
}

struct Reference {
    uri: String,
    transforms: Vec<Transform>,
    digest: DigestMethod,
    value: Vec<u8>,
}

enum Transform {
    Enveloped,
    C14n(C14nMethod),
}

fn parse_reference(r: &Element) -> Result<Reference, SignatureError> {
    let uri = r
        .attr("URI")
        .ok_or_else(|| malformed("Reference without URI"))?
        .to_owned();
    let kids = element_children(r)?;
    let mut it = kids.iter().peekable();
    let mut transforms = Vec::new();
    if let Some(&&(_, t)) = it.peek()
        && t.is(DSIG_NS, "Transforms")
    {
        it.next();
        for (_, tr) in element_children(t)? {
            if !tr.is(DSIG_NS, "Transform") {
                return Err(malformed("expected ds:Transform"));
            }
            if transforms.len() == MAX_TRANSFORMS {
                return Err(SignatureError::Unsupported("too many transforms".into()));
            }
            transforms.push(match algorithm(tr)? {
                ENVELOPED_SIGNATURE => Transform::Enveloped,
                // A same-document reference ("" or "#Id") selects its node set without comments
                // (XML Signature 4.4.3.3), so the #WithComments variants (xsec-xklient signs with
                // exc-c14n#WithComments) canonicalize exactly as their plain forms here.
                EXC_C14N_WITH_COMMENTS => Transform::C14n(c14n_method_with(tr, EXC_C14N)?),
                C14N_WITH_COMMENTS => Transform::C14n(C14nMethod::Inclusive),
                _ => Transform::C14n(c14n_method(tr)?),
            });
        }
    }
    let (_, dm) = expect_ds(it.next(), "DigestMethod")?;
    let digest = DigestMethod::from_uri(algorithm(dm)?).ok_or_else(|| {
        SignatureError::Unsupported(format!("digest {}", dm.attr("Algorithm").unwrap_or("")))
    })?;
    let (_, dv) = expect_ds(it.next(), "DigestValue")?;
    let value = b64_decode("DigestValue", &dv.text())?;
    if it.next().is_some() {
        return Err(malformed("unexpected element in Reference"));
    }
    Ok(Reference {
        uri,
        transforms,
        digest,
        value,
    })
}

/// Computes the digest input of a Reference: the canonical form of the referenced element.
fn reference_octets(
    doc: &Document,
    sig_path: &[usize],
    target: &[usize],
    transforms: &[Transform],
    with_inherited: bool,
) -> Result<Vec<u8>, SignatureError> {
    let mut exclude = None;
    let mut method = None;
    for (i, t) in transforms.iter().enumerate() {
        match t {
            Transform::Enveloped => {
                if method.is_some() {
                    return Err(SignatureError::Unsupported(
                        "enveloped-signature after canonicalization".into(),
                    ));
                }
                if sig_path.starts_with(target) {
                    exclude = Some(sig_path);
                }
            }
            Transform::C14n(m) => {
                if i + 1 != transforms.len() {
                    return Err(SignatureError::Unsupported(
                        "canonicalization must be the last transform".into(),
                    ));
                }
                method = Some(m.clone());
            }
        }
    }
    // A node set that reaches the digest unconverted is serialized with Canonical XML 1.0.
    let method = method.unwrap_or(C14nMethod::Inclusive);
    Ok(canonicalize(doc, target, exclude, &method, with_inherited)?)
}

fn resolve_uri(doc: &Document, uri: &str) -> Result<(String, Vec<usize>), SignatureError> {
    if uri.is_empty() {
        return Ok((String::new(), Vec::new()));
    }
    let Some(id) = uri.strip_prefix('#') else {
        return Err(SignatureError::Unsupported(format!(
            "reference URI {uri:?}"
        )));
    };
    if id.starts_with("xpointer(") {
        return Err(SignatureError::Unsupported(format!(
            "reference URI {uri:?}"
        )));
    }
    let path = doc
        .find_id(id)?
        .ok_or_else(|| SignatureError::UnresolvedReference(uri.to_owned()))?;
    Ok((id.to_owned(), path))
}

/// Verifies the ds:Signature element at `sig_path` in `doc` with `key`.
///
/// Every Reference must resolve inside `doc` and match its digest, and the SignatureValue must verify
/// over the canonical SignedInfo. For inclusive C14N a signature is accepted when it verifies either in
/// place (the enclosing envelope's namespaces in scope) or over the message taken as its own document
/// (how xsec-xklient signs).
///
/// # Errors
/// [`SignatureError`]: malformed, unsupported, key mismatch, digest mismatch or bad signature value.
pub fn verify(
    doc: &Document,
    sig_path: &[usize],
    key: &VerifyingKey,
) -> Result<Verified, SignatureError> {
    let result = verify_with(doc, sig_path, key, false);
    if result.is_err()
        && !doc.inherited_namespaces.is_empty()
        && let Ok(v) = verify_with(doc, sig_path, key, true)
    {
        return Ok(v);
    }
    result
}

fn verify_with(
    doc: &Document,
    sig_path: &[usize],
    key: &VerifyingKey,
    with_inherited: bool,
) -> Result<Verified, SignatureError> {
    let sig = doc
        .root
        .at_path(sig_path)
        .filter(|e| e.is(DSIG_NS, "Signature"))
        .ok_or_else(|| malformed("no ds:Signature at the given path"))?;
    let kids = element_children(sig)?;
    let (si_index, signed_info) = expect_ds(kids.first(), "SignedInfo")?;
    let (_, sv) = expect_ds(kids.get(1), "SignatureValue")?;
    let signature_value = b64_decode("SignatureValue", &sv.text())?;

    let si_kids = element_children(signed_info)?;
    let (_, cm) = expect_ds(si_kids.first(), "CanonicalizationMethod")?;
    let si_c14n = c14n_method(cm)?;
    let (_, sm) = expect_ds(si_kids.get(1), "SignatureMethod")?;
    let method = SignatureMethod::from_uri(algorithm(sm)?).ok_or_else(|| {
        SignatureError::Unsupported(format!(
            "signature method {}",
            sm.attr("Algorithm").unwrap_or("")
        ))
    })?;
    // HMACOutputLength allows truncated MACs (CVE-2009-0217): refused in every form.
    if element_children(sm)?
        .iter()
        .any(|(_, c)| c.is(DSIG_NS, "HMACOutputLength"))
    {
        return Err(SignatureError::Unsupported("HMACOutputLength".into()));
    }
    let refs = &si_kids[2..];
    if refs.is_empty() {
        return Err(malformed("SignedInfo without Reference"));
    }
    if refs.len() > MAX_REFERENCES {
        return Err(SignatureError::Unsupported("too many references".into()));
    }
    key.check_method(method)?;

    let mut references = Vec::new();
    for &(_, r) in refs {
        if !r.is(DSIG_NS, "Reference") {
            return Err(malformed("expected ds:Reference"));
        }
        let reference = parse_reference(r)?;
        let (id, target) = resolve_uri(doc, &reference.uri)?;
        let octets = reference_octets(
            doc,
            sig_path,
            &target,
            &reference.transforms,
            with_inherited,
        )?;
        let digest = reference.digest.digest(&octets);
        if !bool::from(digest.ct_eq(&reference.value)) {
            return Err(SignatureError::DigestMismatch);
        }
        references.push(id);
    }

    let mut si_path = sig_path.to_vec();
    si_path.push(si_index);
    let si_octets = canonicalize(doc, &si_path, None, &si_c14n, with_inherited)?;
    key.verify(method, &si_octets, &signature_value)?;
    Ok(Verified { method, references })
}

fn ds(local: &str) -> Element {
    Element::new(Some(DSIG_NS), Some("ds"), local)
}

fn c14n_element(local: &str, m: &C14nMethod) -> Element {
    match m {
        C14nMethod::Inclusive => ds(local).with_attr("Algorithm", C14N),
        C14nMethod::Exclusive { inclusive_prefixes } => {
            let mut e = ds(local).with_attr("Algorithm", EXC_C14N);
            if !inclusive_prefixes.is_empty() {
                e.push(
                    Element::new(Some(EXC_C14N), Some("ec"), "InclusiveNamespaces")
                        .declare(Some("ec"), EXC_C14N)
                        .with_attr("PrefixList", inclusive_prefixes.join(" ")),
                );
            }
            e
        }
    }
}

/// Signs the element with Id `reference_id` (or the whole document for `""`) and inserts the
/// ds:Signature as child number `index` of the element at `parent_path` in `doc`.
///
/// When the Signature lands inside the referenced element the enveloped-signature transform is added.
/// The Signature declares the `ds` prefix itself, so with exclusive C14N it verifies wherever the
/// message is embedded.
///
/// Returns the path of the inserted Signature.
///
/// # Errors
/// [`SignatureError::UnresolvedReference`] if the Id is missing, [`SignatureError::KeyMismatch`] if
/// the key does not fit `options.method`, [`SignatureError::SigningFailed`] on a key error.
pub fn sign_in_place(
    doc: &mut Document,
    parent_path: &[usize],
    index: usize,
    reference_id: &str,
    key: &SigningKey,
    options: &SignOptions,
) -> Result<Vec<usize>, SignatureError> {
    key.check_method(options.method)?;
    let uri = if reference_id.is_empty() {
        String::new()
    } else {
        format!("#{reference_id}")
    };
    let (_, target) = resolve_uri(doc, &uri)?;
    let mut sig_path = parent_path.to_vec();
    sig_path.push(index);
    let enveloped = parent_path.starts_with(&target);

    let mut transforms = ds("Transforms");
    if enveloped {
        transforms.push(ds("Transform").with_attr("Algorithm", ENVELOPED_SIGNATURE));
    }
    transforms.push(c14n_element("Transform", &options.c14n));
    // The Signature is not in the tree yet, so canonicalizing without it gives what the verifier gets
    // after the enveloped-signature transform removes it again.
    let transform_list = [Transform::C14n(options.c14n.clone())];
    let octets = reference_octets(doc, &sig_path, &target, &transform_list, false)?;
    // The schema only allows InclusiveNamespaces (a foreign element) inside ds:Transform, so SignedInfo
    // is canonicalized without a PrefixList.
    let si_c14n = match &options.c14n {
        C14nMethod::Exclusive { .. } => C14nMethod::Exclusive {
            inclusive_prefixes: Vec::new(),
        },
        C14nMethod::Inclusive => C14nMethod::Inclusive,
    };
    let digest = options.digest.digest(&octets);

    let signed_info = ds("SignedInfo")
        .with_child(c14n_element("CanonicalizationMethod", &si_c14n))
        .with_child(ds("SignatureMethod").with_attr("Algorithm", options.method.uri()))
        .with_child(
            ds("Reference")
                .with_attr("URI", uri)
                .with_child(transforms)
                .with_child(ds("DigestMethod").with_attr("Algorithm", options.digest.uri()))
                .with_child(ds("DigestValue").with_text(B64.encode(digest))),
        );
    let signature = ds("Signature")
        .declare(Some("ds"), DSIG_NS)
        .with_child(signed_info)
        .with_child(ds("SignatureValue"));

    let parent = element_at_mut(&mut doc.root, parent_path)
        .ok_or_else(|| malformed("signature parent path does not name an element"))?;
    if index > parent.children.len() {
        return Err(malformed("signature index out of range"));
    }
    parent.children.insert(index, Node::Element(signature));

    let mut si_path = sig_path.clone();
    si_path.push(0);
    let si_octets = canonicalize(doc, &si_path, None, &si_c14n, false)?;
    let value = key.sign(options.method, &si_octets)?;
    let sig = element_at_mut(&mut doc.root, &sig_path)
        .ok_or_else(|| malformed("inserted signature vanished"))?;
    if let Some(Node::Element(sv)) = sig.children.get_mut(1) {
        sv.children.push(Node::Text(B64.encode(value)));
    }
    Ok(sig_path)
}

pub(crate) fn element_at_mut<'a>(root: &'a mut Element, path: &[usize]) -> Option<&'a mut Element> {
    let mut e = root;
    for &i in path {
        match e.children.get_mut(i) {
            Some(Node::Element(c)) => e = c,
            _ => return None,
        }
    }
    Some(e)
}
