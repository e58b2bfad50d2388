//! [`Document`] to the message model. Schema order is followed; deviations real clients make are
//! tolerated (see the module docs of [`crate::messages`]).

use std::sync::Arc;

use base64::Engine as _;
use time::format_description::well_known::Rfc3339;

use super::*;
use crate::dsig::DSIG_NS;
use crate::error::{DecodeError, DecodeErrorKind as K};
use crate::xenc::XENC_NS;
use crate::xml::{NamespaceDeclaration, Node};

/// Most repetitions of any repeated element (RespondWith, UseKeyWith, KeyBinding, inner requests…).
const MAX_REPEAT: usize = 256;

#[derive(Clone)]
struct Ctx<'a> {
    el: &'a Element,
    /// The document element, to spell the element path only when an error needs it.
    root: &'a Element,
    idx: Vec<usize>,
}

struct Dec {
    doc: Arc<Document>,
}

impl<'a> Ctx<'a> {
    fn err(&self, kind: K) -> DecodeError {
        let mut path = format!("/{}", self.root.local);
        let mut e = self.root;
        for &i in &self.idx {
            if let Some(Node::Element(c)) = e.children.get(i) {
                path.push('/');
                path.push_str(&c.local);
                e = c;
            }
        }
        DecodeError::new(path, kind)
    }

    fn kids(&self) -> Kids<'a> {
        let items = self
            .el
            .children
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match n {
                Node::Element(c) => Some((i, c)),
                _ => None,
            })
            .collect();
        Kids {
            items,
            pos: 0,
            parent: self.clone(),
        }
    }

    fn attr(&self, name: &str) -> Option<&'a str> {
        self.el.attr(name)
    }

    fn required_attr(&self, name: &'static str) -> Result<&'a str, DecodeError> {
        self.attr(name)
            .ok_or_else(|| self.err(K::MissingAttribute(name)))
    }

    fn text(&self) -> String {
        self.el.text().trim().to_owned()
    }

    fn base64(&self, what: &'static str) -> Result<Vec<u8>, DecodeError> {
        decode_b64(&self.el.text()).map_err(|reason| self.err(K::InvalidValue { what, reason }))
    }
}

/// Lenient about padding and trailing bits: the 2003 xmlsec tests send an unpadded Nonce.
const LENIENT_B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn decode_b64(s: &str) -> Result<Vec<u8>, String> {
    let mut compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    // A dangling last character (length 1 mod 4, as in the 2003 xmlsec OpaqueData) holds 6 bits and no
    // whole byte: dropping it loses nothing.
    if compact.len() % 4 == 1 && !compact.contains('=') {
        compact.pop();
    }
    LENIENT_B64
        .decode(compact.as_bytes())
        .map_err(|_| "not base64".to_owned())
}

fn parse_u64(ctx: &Ctx<'_>, what: &'static str, v: &str) -> Result<u64, DecodeError> {
    v.trim().parse::<u64>().map_err(|_| {
        ctx.err(K::InvalidValue {
            what,
            reason: "not a non-negative integer".into(),
        })
    })
}

/// xs:dateTime; a value without a timezone is taken as UTC.
fn parse_date_time(
    ctx: &Ctx<'_>,
    what: &'static str,
    v: &str,
) -> Result<time::OffsetDateTime, DecodeError> {
    let v = v.trim();
    let has_zone = v.ends_with('Z')
        || v.rsplit_once('T')
            .is_some_and(|(_, t)| t.contains('+') || t.contains('-'));
    let owned;
    let s = if has_zone {
        v
    } else {
        owned = format!("{v}Z");
        &owned
    };
    time::OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        ctx.err(K::InvalidValue {
            what,
            reason: "not an xs:dateTime".into(),
        })
    })
}

struct Kids<'a> {
    items: Vec<(usize, &'a Element)>,
    pos: usize,
    parent: Ctx<'a>,
}

impl<'a> Kids<'a> {
    fn ctx(&self, i: usize, e: &'a Element) -> Ctx<'a> {
        let mut idx = self.parent.idx.clone();
        idx.push(i);
        Ctx {
            el: e,
            root: self.parent.root,
            idx,
        }
    }

    fn peek_is(&self, ns: &str, local: &str) -> bool {
        self.items
            .get(self.pos)
            .is_some_and(|(_, e)| e.is(ns, local))
    }

    fn take(&mut self, ns: &str, local: &str) -> Option<Ctx<'a>> {
        if self.peek_is(ns, local) {
            let (i, e) = self.items[self.pos];
            self.pos += 1;
            Some(self.ctx(i, e))
        } else {
            None
        }
    }

    fn take_all(&mut self, ns: &str, local: &'static str) -> Result<Vec<Ctx<'a>>, DecodeError> {
        let mut v = Vec::new();
        while let Some(c) = self.take(ns, local) {
            if v.len() == MAX_REPEAT {
                return Err(c.err(K::TooMany(local)));
            }
            v.push(c);
        }
        Ok(v)
    }

    fn expect(&mut self, ns: &str, local: &'static str) -> Result<Ctx<'a>, DecodeError> {
        self.take(ns, local)
            .ok_or_else(|| match self.items.get(self.pos) {
                Some(&(i, e)) => self.ctx(i, e).err(K::MissingElement(local)),
                None => self.parent.err(K::MissingElement(local)),
            })
    }

    fn next_any(&mut self) -> Option<Ctx<'a>> {
        let &(i, e) = self.items.get(self.pos)?;
        self.pos += 1;
        Some(self.ctx(i, e))
    }

    fn finish(self) -> Result<(), DecodeError> {
        match self.items.get(self.pos) {
            Some(&(i, e)) => {
                let c = self.ctx(i, e);
                Err(c.err(K::UnexpectedElement(e.qname())))
            }
            None => Ok(()),
        }
    }
}

impl Dec {
    /// A copy of `ctx.el` that declares every namespace in scope where it stood, so that it stays
    /// well-formed wherever it is re-emitted.
    fn detached(&self, ctx: &Ctx<'_>) -> Element {
        let mut scope: Vec<NamespaceDeclaration> = self.doc.inherited_namespaces.clone();
        let mut e = &self.doc.root;
        for &i in &ctx.idx {
            scope.extend(e.namespace_declarations.iter().cloned());
            match e.children.get(i) {
                Some(Node::Element(c)) => e = c,
                _ => break,
            }
        }
        let mut out = ctx.el.clone();
        for d in scope.into_iter().rev() {
            let shadowed = out
                .namespace_declarations
                .iter()
                .any(|x| x.prefix == d.prefix);
            if !shadowed {
                out.namespace_declarations.push(d);
            }
        }
        out
    }

    fn signature(&self, ctx: &Ctx<'_>) -> XmlSignature {
        XmlSignature::with_origin(self.detached(ctx), Arc::clone(&self.doc), ctx.idx.clone())
    }

    fn message_header(
        &self,
        ctx: &Ctx<'_>,
        kids: &mut Kids<'_>,
    ) -> Result<MessageHeader, DecodeError> {
        let nonce = match ctx.attr("Nonce") {
            Some(n) => Some(decode_b64(n).map_err(|reason| {
                ctx.err(K::InvalidValue {
                    what: "Nonce",
                    reason,
                })
            })?),
            None => None,
        };
        let signature = kids.take(DSIG_NS, "Signature").map(|s| self.signature(&s));
        let message_extensions = kids
            .take_all(XKMS_NS, "MessageExtension")?
            .iter()
            .map(|c| self.detached(c))
            .collect();
        let opaque_client_data = match kids.take(XKMS_NS, "OpaqueClientData") {
            Some(o) => {
                let mut ok = o.kids();
                let mut v = Vec::new();
                for d in ok.take_all(XKMS_NS, "OpaqueData")? {
                    v.push(d.base64("OpaqueData")?);
                }
                ok.finish()?;
                Some(v)
            }
            None => None,
        };
        Ok(MessageHeader {
            // Lenient: CXF omits Id on some requests and Service on most.
            id: ctx.attr("Id").unwrap_or_default().to_owned(),
            service: ctx.attr("Service").map(str::to_owned),
            nonce,
            signature,
            message_extensions,
            opaque_client_data,
        })
    }

    fn request_header(
        &self,
        ctx: &Ctx<'_>,
        kids: &mut Kids<'_>,
    ) -> Result<RequestHeader, DecodeError> {
        let message = self.message_header(ctx, kids)?;
        let response_mechanisms = kids
            .take_all(XKMS_NS, "ResponseMechanism")?
            .iter()
            .map(|c| ResponseMechanism::from_uri(&c.text()))
            .collect();
        let respond_with = kids
            .take_all(XKMS_NS, "RespondWith")?
            .iter()
            .map(|c| RespondWith::from_uri(&c.text()))
            .collect();
        let pending_notification = match kids.take(XKMS_NS, "PendingNotification") {
            Some(p) => Some(PendingNotification {
                mechanism: p.required_attr("Mechanism")?.to_owned(),
                identifier: p.required_attr("Identifier")?.to_owned(),
            }),
            None => None,
        };
        let response_limit = match ctx.attr("ResponseLimit") {
            Some(v) => Some(parse_u64(ctx, "ResponseLimit", v)?),
            None => None,
        };
        Ok(RequestHeader {
            message,
            response_mechanisms,
            respond_with,
            pending_notification,
            original_request_id: ctx.attr("OriginalRequestId").map(str::to_owned),
            response_limit,
        })
    }

    fn result_header(
        &self,
        ctx: &Ctx<'_>,
        kids: &mut Kids<'_>,
    ) -> Result<ResultHeader, DecodeError> {
        let message = self.message_header(ctx, kids)?;
        let request_signature_value = match kids.take(XKMS_NS, "RequestSignatureValue") {
            Some(r) => Some(r.base64("RequestSignatureValue")?),
            None => None,
        };
        Ok(ResultHeader {
            message,
            result_major: ResultMajor::from_uri(ctx.required_attr("ResultMajor")?),
            result_minor: ctx.attr("ResultMinor").map(ResultMinor::from_uri),
            request_id: ctx.attr("RequestId").map(str::to_owned),
            request_signature_value,
        })
    }

    fn key_value(&self, ctx: &Ctx<'_>) -> Result<KeyValue, DecodeError> {
        let mut kids = ctx.kids();
        let Some(inner) = kids.next_any() else {
            return Err(ctx.err(K::MissingElement("RSAKeyValue")));
        };
        let v = if inner.el.is(DSIG_NS, "RSAKeyValue") {
            let mut k = inner.kids();
            let modulus = k.expect(DSIG_NS, "Modulus")?.base64("Modulus")?;
            let exponent = k.expect(DSIG_NS, "Exponent")?.base64("Exponent")?;
            k.finish()?;
            KeyValue::Rsa { modulus, exponent }
        } else if inner.el.is(DSIG11_NS, "ECKeyValue") {
            let mut k = inner.kids();
            let curve = k.expect(DSIG11_NS, "NamedCurve")?;
            let named_curve = curve.required_attr("URI")?.to_owned();
            let public_key = k.expect(DSIG11_NS, "PublicKey")?.base64("PublicKey")?;
            k.finish()?;
            KeyValue::Ec {
                named_curve,
                public_key,
            }
        } else {
            KeyValue::Other(self.detached(&inner))
        };
        kids.finish()?;
        Ok(v)
    }

    fn key_info(&self, ctx: &Ctx<'_>) -> Result<KeyInfo, DecodeError> {
        let mut items = Vec::new();
        let mut kids = ctx.kids();
        while let Some(c) = kids.next_any() {
            if items.len() == MAX_REPEAT {
                return Err(c.err(K::TooMany("KeyInfo child")));
            }
            let ns = c.el.namespace.as_deref();
            // An unqualified KeyName occurs in the 2003 xmlsec tests; it can only mean ds:KeyName.
            let is_ds = ns == Some(DSIG_NS) || ns.is_none();
            items.push(match c.el.local.as_str() {
                "KeyName" if is_ds => KeyInfoItem::KeyName(c.text()),
                "KeyValue" if is_ds => KeyInfoItem::KeyValue(self.key_value(&c)?),
                "X509Data" if is_ds => KeyInfoItem::X509Data(self.x509_data(&c)?),
                _ => KeyInfoItem::Other(self.detached(&c)),
            });
        }
        Ok(KeyInfo {
            id: ctx.attr("Id").map(str::to_owned),
            items,
        })
    }

    fn x509_data(&self, ctx: &Ctx<'_>) -> Result<Vec<X509Item>, DecodeError> {
        let mut v = Vec::new();
        let mut kids = ctx.kids();
        while let Some(c) = kids.next_any() {
            if v.len() == MAX_REPEAT {
                return Err(c.err(K::TooMany("X509Data child")));
            }
            if c.el.namespace.as_deref() != Some(DSIG_NS) {
                // `any ##other` is allowed by the schema; nothing XKMS uses.
                continue;
            }
            v.push(match c.el.local.as_str() {
                "X509Certificate" => X509Item::Certificate(c.base64("X509Certificate")?),
                "X509SubjectName" => X509Item::SubjectName(c.text()),
                "X509SKI" => X509Item::Ski(c.base64("X509SKI")?),
                "X509CRL" => X509Item::Crl(c.base64("X509CRL")?),
                "X509IssuerSerial" => {
                    let mut k = c.kids();
                    let issuer_name = k.expect(DSIG_NS, "X509IssuerName")?.text();
                    let serial_number = k.expect(DSIG_NS, "X509SerialNumber")?.text();
                    k.finish()?;
                    X509Item::IssuerSerial {
                        issuer_name,
                        serial_number,
                    }
                }
                _ => return Err(c.err(K::UnexpectedElement(c.el.qname()))),
            });
        }
        Ok(v)
    }

    fn core(&self, ctx: &Ctx<'_>, kids: &mut Kids<'_>) -> Result<KeyBindingCore, DecodeError> {
        let key_info = match kids.take(DSIG_NS, "KeyInfo") {
            Some(k) => Some(self.key_info(&k)?),
            None => None,
        };
        let mut key_usage = Vec::new();
        for u in kids.take_all(XKMS_NS, "KeyUsage")? {
            let v = KeyUsage::from_uri(&u.text()).ok_or_else(|| {
                u.err(K::InvalidValue {
                    what: "KeyUsage",
                    reason: "not Encryption, Signature or Exchange".into(),
                })
            })?;
            key_usage.push(v);
        }
        let mut use_key_with = Vec::new();
        for u in kids.take_all(XKMS_NS, "UseKeyWith")? {
            use_key_with.push(UseKeyWith {
                application: u.required_attr("Application")?.to_owned(),
                identifier: u.required_attr("Identifier")?.to_owned(),
            });
        }
        Ok(KeyBindingCore {
            id: ctx.attr("Id").map(str::to_owned),
            key_info,
            key_usage,
            use_key_with,
        })
    }

    fn validity(&self, kids: &mut Kids<'_>) -> Result<Option<ValidityInterval>, DecodeError> {
        let Some(v) = kids.take(XKMS_NS, "ValidityInterval") else {
            return Ok(None);
        };
        let not_before = match v.attr("NotBefore") {
            Some(t) => Some(parse_date_time(&v, "NotBefore", t)?),
            None => None,
        };
        let not_on_or_after = match v.attr("NotOnOrAfter") {
            Some(t) => Some(parse_date_time(&v, "NotOnOrAfter", t)?),
            None => None,
        };
        Ok(Some(ValidityInterval {
            not_before,
            not_on_or_after,
        }))
    }

    fn status(&self, ctx: &Ctx<'_>) -> Result<Status, DecodeError> {
        let sv = ctx.required_attr("StatusValue")?;
        let status_value = StatusValue::from_uri(sv).ok_or_else(|| {
            ctx.err(K::InvalidValue {
                what: "StatusValue",
                reason: "not Valid, Invalid or Indeterminate".into(),
            })
        })?;
        let mut kids = ctx.kids();
        let reasons =
            |kids: &mut Kids<'_>, local: &'static str| -> Result<Vec<Reason>, DecodeError> {
                Ok(kids
                    .take_all(XKMS_NS, local)?
                    .iter()
                    .map(|c| Reason::from_uri(&c.text()))
                    .collect())
            };
        let valid_reasons = reasons(&mut kids, "ValidReason")?;
        let indeterminate_reasons = reasons(&mut kids, "IndeterminateReason")?;
        let invalid_reasons = reasons(&mut kids, "InvalidReason")?;
        kids.finish()?;
        Ok(Status {
            status_value,
            valid_reasons,
            indeterminate_reasons,
            invalid_reasons,
        })
    }

    fn query_key_binding(&self, ctx: &Ctx<'_>) -> Result<QueryKeyBinding, DecodeError> {
        let mut kids = ctx.kids();
        let core = self.core(ctx, &mut kids)?;
        let time_instant = match kids.take(XKMS_NS, "TimeInstant") {
            Some(t) => Some(parse_date_time(&t, "Time", t.required_attr("Time")?)?),
            None => None,
        };
        kids.finish()?;
        Ok(QueryKeyBinding { core, time_instant })
    }

    fn unverified_key_binding(&self, ctx: &Ctx<'_>) -> Result<UnverifiedKeyBinding, DecodeError> {
        let mut kids = ctx.kids();
        let core = self.core(ctx, &mut kids)?;
        let validity_interval = self.validity(&mut kids)?;
        kids.finish()?;
        Ok(UnverifiedKeyBinding {
            core,
            validity_interval,
        })
    }

    fn key_binding(&self, ctx: &Ctx<'_>) -> Result<KeyBinding, DecodeError> {
        let mut kids = ctx.kids();
        let core = self.core(ctx, &mut kids)?;
        let validity_interval = self.validity(&mut kids)?;
        let status = self.status(&kids.expect(XKMS_NS, "Status")?)?;
        kids.finish()?;
        Ok(KeyBinding {
            core,
            validity_interval,
            status,
        })
    }

    fn key_bindings(&self, kids: &mut Kids<'_>) -> Result<Vec<KeyBinding>, DecodeError> {
        kids.take_all(XKMS_NS, "KeyBinding")?
            .iter()
            .map(|c| self.key_binding(c))
            .collect()
    }

    fn prototype_key_binding(&self, ctx: &Ctx<'_>) -> Result<PrototypeKeyBinding, DecodeError> {
        let mut kids = ctx.kids();
        let core = self.core(ctx, &mut kids)?;
        let validity_interval = self.validity(&mut kids)?;
        let revocation_code_identifier = match kids.take(XKMS_NS, "RevocationCodeIdentifier") {
            Some(r) => Some(r.base64("RevocationCodeIdentifier")?),
            None => None,
        };
        kids.finish()?;
        Ok(PrototypeKeyBinding {
            core,
            validity_interval,
            revocation_code_identifier,
        })
    }

    fn authentication(&self, ctx: &Ctx<'_>) -> Result<Authentication, DecodeError> {
        let mut kids = ctx.kids();
        let key_binding_authentication = match kids.take(XKMS_NS, "KeyBindingAuthentication") {
            Some(k) => {
                let mut kk = k.kids();
                let s = kk.expect(DSIG_NS, "Signature")?;
                kk.finish()?;
                Some(self.signature(&s))
            }
            None => None,
        };
        let not_bound_authentication = match kids.take(XKMS_NS, "NotBoundAuthentication") {
            Some(n) => Some(NotBoundAuthentication {
                protocol: n.required_attr("Protocol")?.to_owned(),
                value: decode_b64(n.required_attr("Value")?).map_err(|reason| {
                    n.err(K::InvalidValue {
                        what: "Value",
                        reason,
                    })
                })?,
            }),
            None => None,
        };
        kids.finish()?;
        Ok(Authentication {
            key_binding_authentication,
            not_bound_authentication,
        })
    }

    fn proof_of_possession(
        &self,
        kids: &mut Kids<'_>,
    ) -> Result<Option<XmlSignature>, DecodeError> {
        let Some(p) = kids.take(XKMS_NS, "ProofOfPossession") else {
            return Ok(None);
        };
        let mut k = p.kids();
        let s = k.expect(DSIG_NS, "Signature")?;
        k.finish()?;
        Ok(Some(self.signature(&s)))
    }

    fn private_key(&self, kids: &mut Kids<'_>) -> Result<Option<PrivateKey>, DecodeError> {
        let Some(p) = kids.take(XKMS_NS, "PrivateKey") else {
            return Ok(None);
        };
        let mut k = p.kids();
        let ed = k.expect(XENC_NS, "EncryptedData")?;
        k.finish()?;
        let mut ek = ed.kids();
        let algorithm = ek
            .take(XENC_NS, "EncryptionMethod")
            .and_then(|m| m.attr("Algorithm").map(str::to_owned));
        // A KeyInfo naming the key is allowed; the key is implied by the shared secret.
        let _ = ek.take(DSIG_NS, "KeyInfo");
        let cd = ek.expect(XENC_NS, "CipherData")?;
        let mut ck = cd.kids();
        let cipher_value = ck.expect(XENC_NS, "CipherValue")?.base64("CipherValue")?;
        ck.finish()?;
        Ok(Some(PrivateKey {
            encrypted_data: EncryptedData {
                id: ed.attr("Id").map(str::to_owned),
                type_uri: ed.attr("Type").map(str::to_owned),
                algorithm,
                cipher_value,
            },
        }))
    }

    fn request(&self, ctx: &Ctx<'_>, allow_compound: bool) -> Result<Request, DecodeError> {
        const REQUESTS: [&str; 9] = [
            "LocateRequest",
            "ValidateRequest",
            "RegisterRequest",
            "ReissueRequest",
            "RevokeRequest",
            "RecoverRequest",
            "CompoundRequest",
            "PendingRequest",
            "StatusRequest",
        ];
        let name = ctx.el.local.as_str();
        if ctx.el.namespace.as_deref() != Some(XKMS_NS) || !REQUESTS.contains(&name) {
            return Err(unsupported(ctx));
        }
        let mut kids = ctx.kids();
        let header = self.request_header(ctx, &mut kids)?;
        let r = match name {
            "LocateRequest" => Request::Locate(LocateRequest {
                header,
                query_key_binding: self
                    .query_key_binding(&kids.expect(XKMS_NS, "QueryKeyBinding")?)?,
            }),
            "ValidateRequest" => Request::Validate(ValidateRequest {
                header,
                query_key_binding: self
                    .query_key_binding(&kids.expect(XKMS_NS, "QueryKeyBinding")?)?,
            }),
            "RegisterRequest" => Request::Register(RegisterRequest {
                header,
                prototype_key_binding: self
                    .prototype_key_binding(&kids.expect(XKMS_NS, "PrototypeKeyBinding")?)?,
                authentication: self.authentication(&kids.expect(XKMS_NS, "Authentication")?)?,
                proof_of_possession: self.proof_of_possession(&mut kids)?,
            }),
            "ReissueRequest" => Request::Reissue(ReissueRequest {
                header,
                reissue_key_binding: self
                    .key_binding(&kids.expect(XKMS_NS, "ReissueKeyBinding")?)?,
                authentication: self.authentication(&kids.expect(XKMS_NS, "Authentication")?)?,
                proof_of_possession: self.proof_of_possession(&mut kids)?,
            }),
            "RevokeRequest" => {
                let revoke_key_binding =
                    self.key_binding(&kids.expect(XKMS_NS, "RevokeKeyBinding")?)?;
                let revocation = if let Some(a) = kids.take(XKMS_NS, "Authentication") {
                    Revocation::Authentication(self.authentication(&a)?)
                } else {
                    let c = kids.expect(XKMS_NS, "RevocationCode")?;
                    Revocation::RevocationCode(c.base64("RevocationCode")?)
                };
                Request::Revoke(RevokeRequest {
                    header,
                    revoke_key_binding,
                    revocation,
                })
            }
            "RecoverRequest" => Request::Recover(RecoverRequest {
                header,
                recover_key_binding: self
                    .key_binding(&kids.expect(XKMS_NS, "RecoverKeyBinding")?)?,
                authentication: self.authentication(&kids.expect(XKMS_NS, "Authentication")?)?,
            }),
            "CompoundRequest" if allow_compound => {
                let mut requests = Vec::new();
                while let Some(c) = kids.next_any() {
                    if requests.len() == MAX_REPEAT {
                        return Err(c.err(K::TooMany("inner request")));
                    }
                    let inner = self.request(&c, false)?;
                    if matches!(inner, Request::Pending(_) | Request::Status(_)) {
                        return Err(c.err(K::UnexpectedElement(c.el.qname())));
                    }
                    requests.push(inner);
                }
                Request::Compound(CompoundRequest { header, requests })
            }
            "PendingRequest" => Request::Pending(PendingRequest {
                header,
                response_id: ctx.required_attr("ResponseId")?.to_owned(),
            }),
            "StatusRequest" => Request::Status(StatusRequest {
                header,
                // Lenient: the 2003 xmlsec StatusRequest has no ResponseId.
                response_id: ctx.attr("ResponseId").unwrap_or_default().to_owned(),
            }),
            _ => return Err(unsupported(ctx)),
        };
        kids.finish()?;
        Ok(r)
    }

    fn result(&self, ctx: &Ctx<'_>, allow_compound: bool) -> Result<XkmsResult, DecodeError> {
        const RESULTS: [&str; 9] = [
            "LocateResult",
            "ValidateResult",
            "RegisterResult",
            "ReissueResult",
            "RevokeResult",
            "RecoverResult",
            "CompoundResult",
            "StatusResult",
            "Result",
        ];
        let name = ctx.el.local.as_str();
        if ctx.el.namespace.as_deref() != Some(XKMS_NS) || !RESULTS.contains(&name) {
            return Err(unsupported(ctx));
        }
        let mut kids = ctx.kids();
        let header = self.result_header(ctx, &mut kids)?;
        let r = match name {
            "LocateResult" => XkmsResult::Locate(LocateResult {
                header,
                unverified_key_bindings: kids
                    .take_all(XKMS_NS, "UnverifiedKeyBinding")?
                    .iter()
                    .map(|c| self.unverified_key_binding(c))
                    .collect::<Result<_, _>>()?,
            }),
            "ValidateResult" | "ReissueResult" | "RevokeResult" => {
                let k = KeyBindingResult {
                    header,
                    key_bindings: self.key_bindings(&mut kids)?,
                };
                match name {
                    "ValidateResult" => XkmsResult::Validate(k),
                    "ReissueResult" => XkmsResult::Reissue(k),
                    _ => XkmsResult::Revoke(k),
                }
            }
            "RegisterResult" | "RecoverResult" => {
                let k = KeyBindingPrivateKeyResult {
                    header,
                    key_bindings: self.key_bindings(&mut kids)?,
                    private_key: self.private_key(&mut kids)?,
                };
                if name == "RegisterResult" {
                    XkmsResult::Register(k)
                } else {
                    XkmsResult::Recover(k)
                }
            }
            "CompoundResult" if allow_compound => {
                let mut results = Vec::new();
                while let Some(c) = kids.next_any() {
                    if results.len() == MAX_REPEAT {
                        return Err(c.err(K::TooMany("inner result")));
                    }
                    results.push(self.result(&c, false)?);
                }
                XkmsResult::Compound(CompoundResult { header, results })
            }
            "StatusResult" => {
                let n = |a: &'static str| -> Result<Option<u64>, DecodeError> {
                    ctx.attr(a).map(|v| parse_u64(ctx, a, v)).transpose()
                };
                XkmsResult::Status(StatusResult {
                    success: n("Success")?,
                    failure: n("Failure")?,
                    pending: n("Pending")?,
                    header,
                })
            }
            "Result" => XkmsResult::Result(header),
            _ => return Err(unsupported(ctx)),
        };
        kids.finish()?;
        Ok(r)
    }
}

fn unsupported(ctx: &Ctx<'_>) -> DecodeError {
    ctx.err(K::UnsupportedMessage {
        namespace: ctx.el.namespace.clone().unwrap_or_default(),
        local: ctx.el.local.clone(),
    })
}

fn is_result_name(local: &str) -> bool {
    local == "Result" || local.ends_with("Result")
}

/// Decodes any XKMS message from its document (the message element as document element).
///
/// # Errors
/// [`DecodeError`] naming the element path; [`K::UnsupportedMessage`] for an element that is not an
/// XKMS message (the service answers MessageNotSupported).
pub fn decode_message(doc: Document) -> Result<Message, DecodeError> {
    check_unique_ids(
        &doc.root,
        &mut Vec::new(),
        &mut std::collections::HashSet::new(),
    )?;
    let doc = Arc::new(doc);
    let dec = Dec {
        doc: Arc::clone(&doc),
    };
    let root = &doc.root;
    let ctx = Ctx {
        el: root,
        root,
        idx: Vec::new(),
    };
    if is_result_name(&root.local) {
        dec.result(&ctx, true).map(Message::Result)
    } else {
        dec.request(&ctx, true).map(Message::Request)
    }
}

/// Decodes an XKMS request.
///
/// # Errors
/// As [`decode_message`]; a result is [`K::UnsupportedMessage`].
pub fn decode_request(doc: Document) -> Result<Request, DecodeError> {
    let (ns, local, path) = (
        doc.root.namespace.clone().unwrap_or_default(),
        doc.root.local.clone(),
        format!("/{}", doc.root.local),
    );
    match decode_message(doc)? {
        Message::Request(r) => Ok(r),
        Message::Result(_) => Err(DecodeError::new(
            path,
            K::UnsupportedMessage {
                namespace: ns,
                local,
            },
        )),
    }
}

/// Decodes an XKMS result.
///
/// # Errors
/// As [`decode_message`]; a request is [`K::UnsupportedMessage`].
pub fn decode_result(doc: Document) -> Result<XkmsResult, DecodeError> {
    let (ns, local, path) = (
        doc.root.namespace.clone().unwrap_or_default(),
        doc.root.local.clone(),
        format!("/{}", doc.root.local),
    );
    match decode_message(doc)? {
        Message::Result(r) => Ok(r),
        Message::Request(_) => Err(DecodeError::new(
            path,
            K::UnsupportedMessage {
                namespace: ns,
                local,
            },
        )),
    }
}

/// The ds:KeyInfo child of a (detached) ds:Signature element.
pub(crate) fn decode_signature_key_info(
    signature: &Element,
) -> Result<Option<KeyInfo>, DecodeError> {
    let doc = Arc::new(Document::new(signature.clone()));
    let dec = Dec {
        doc: Arc::clone(&doc),
    };
    let ctx = Ctx {
        el: &doc.root,
        root: &doc.root,
        idx: Vec::new(),
    };
    let mut kids = ctx.kids();
    while let Some(c) = kids.next_any() {
        if c.el.is(DSIG_NS, "KeyInfo") {
            return dec.key_info(&c).map(Some);
        }
    }
    Ok(None)
}

/// Ids are xs:ID: unique in the document. A duplicate makes a signature reference ambiguous (signature
/// wrapping) and could not be re-emitted schema-valid, so it is refused up front.
fn check_unique_ids<'a>(
    e: &'a Element,
    path: &mut Vec<&'a str>,
    seen: &mut std::collections::HashSet<&'a str>,
) -> Result<(), DecodeError> {
    path.push(&e.local);
    if let Some(id) = e.attr("Id")
        && !seen.insert(id)
    {
        return Err(DecodeError::new(
            format!("/{}", path.join("/")),
            K::InvalidValue {
                what: "Id",
                reason: format!("duplicate Id {id:?}"),
            },
        ));
    }
    for c in e.child_elements() {
        check_unique_ids(c, path, seen)?;
    }
    path.pop();
    Ok(())
}
