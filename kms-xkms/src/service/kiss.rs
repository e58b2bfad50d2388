//! X-KISS: Locate (section 4.1) and Validate (section 5.1), and the lookup of key bindings that X-KRSS shares.

use kms_core::manager::{ExportedKey, GetRequest};
use kms_core::material::{KeyFormat, KeyMaterial};
use kms_core::object::{Attributes, LinkType, Name, ObjectMetadata};
use kms_core::store::LocateQuery;
use kms_core::{ObjectId, ObjectType, State};
use time::OffsetDateTime;
use x509_cert::Certificate;

use super::keys::{self, TRUST_ANCHOR_GROUP};
use super::{ServiceError, XkmsService, fresh_id, x509};
use crate::messages::{
    KeyBinding, KeyBindingCore, KeyBindingResult, KeyInfo, KeyInfoItem, LocateRequest,
    LocateResult, QueryKeyBinding, Reason, Request, RequestHeader, RespondWith, ResultMajor,
    ResultMinor, Status, StatusValue, UnverifiedKeyBinding, ValidateRequest, ValidityInterval,
    X509Item, XkmsResult,
};

/// A public key or certificate of the KeyManager that matches a query.
pub(crate) struct Found {
    pub id: ObjectId,
    pub metadata: ObjectMetadata,
    pub spki: Vec<u8>,
    pub certificate: Option<Vec<u8>>,
}

impl Found {
    /// The private key linked to this public key, if any.
    pub(crate) fn private_key(&self) -> Option<&ObjectId> {
        self.metadata
            .attributes
            .links
            .iter()
            .find(|l| l.link_type == LinkType::PrivateKeyLink)
            .map(|l| &l.linked_object_id)
    }

    /// The name a pass phrase for this key must have been issued under: its owner's. A key registered
    /// over XKMS belongs to the name its pass phrase was issued for; a key a KMIP client made belongs to that
    /// client, so a pass phrase issued for a name some other owner's key also carries never reaches it.
    pub(crate) fn auth_names(&self) -> Vec<String> {
        vec![self.metadata.owner.clone()]
    }
}

/// What a query could not be answered with.
pub(crate) enum FindError {
    /// The key manager failed.
    Failure,
}

impl XkmsService {
    /// The public keys and certificates matching the key binding template, oldest first, at most `limit`.
    pub(crate) fn find(
        &self,
        core: &KeyBindingCore,
        limit: usize,
    ) -> Result<Vec<Found>, FindError> {
        let key_info = core.key_info.as_ref();
        let names: Vec<&str> = key_info
            .map(|k| k.key_names().collect())
            .unwrap_or_default();
        let wanted_spki = key_info
            .and_then(KeyInfo::key_value)
            .and_then(keys::key_value_to_spki);
        let wanted_certs: Vec<&[u8]> = key_info
            .map(|k| k.certificates().collect())
            .unwrap_or_default();
        let wanted_cert_spki = wanted_certs
            .first()
            .and_then(|c| x509::parse(c))
            .and_then(|c| x509::spki_der(&c));
        // A Name narrows the store's scan to a few objects: one query per name, the type checked after.
        // Without one, the two public types are scanned.
        let queries: Vec<LocateQuery> = if names.is_empty() {
            [ObjectType::PublicKey, ObjectType::Certificate]
                .into_iter()
                .map(|t| LocateQuery {
                    object_type: Some(t),
                    max_items: Some(self.config.max_scan),
                    ..LocateQuery::default()
                })
                .collect()
        } else {
            names
                .iter()
                .map(|n| LocateQuery {
                    name: Some((*n).to_owned()),
                    max_items: Some(self.config.max_scan),
                    ..LocateQuery::default()
                })
                .collect()
        };
        let mut ids: Vec<ObjectId> = Vec::new();
        for q in &queries {
            let located = self
                .manager
                .locate(&self.principal, q)
                .map_err(|_| FindError::Failure)?;
            for id in located.ids {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        let mut out = Vec::new();
        for id in ids {
            if out.len() >= limit {
                break;
            }
            let Ok(metadata) = self.manager.metadata(&self.principal, &id) else {
                continue;
            };
            let a = &metadata.attributes;
            if !matches!(
                metadata.object_type,
                ObjectType::PublicKey | ObjectType::Certificate
            ) || !metadata.state.has_key_material()
                || a.object_groups.iter().any(|g| g == TRUST_ANCHOR_GROUP)
                || !keys::allows(a.cryptographic_usage_mask, &core.key_usage)
                || !keys::matches_use_key_with(&keys::use_key_with(a), &core.use_key_with)
            {
                continue;
            }
            let Some((spki, certificate)) = self.public_material(&id, metadata.object_type) else {
                continue;
            };
            if wanted_spki.as_ref().is_some_and(|w| *w != spki) {
                continue;
            }
            if !wanted_certs.is_empty() {
                let same_cert = certificate
                    .as_deref()
                    .is_some_and(|c| wanted_certs.contains(&c));
                let same_key = wanted_cert_spki.as_ref().is_some_and(|w| *w == spki);
                if !same_cert && !same_key {
                    continue;
                }
            }
            out.push(Found {
                id,
                metadata,
                spki,
                certificate,
            });
        }
        Ok(out)
    }

    /// The SubjectPublicKeyInfo (and the certificate, for certificates) of a public object.
    fn public_material(
        &self,
        id: &ObjectId,
        object_type: ObjectType,
    ) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
        let object = self
            .manager
            .get(&self.principal, id, &GetRequest::default())
            .ok()?;
        let ExportedKey::Plain(material) = object.key else {
            return None;
        };
        match (object_type, material.format()) {
            (ObjectType::PublicKey, KeyFormat::SubjectPublicKeyInfo) => {
                Some((material.bytes().to_vec(), None))
            }
            (ObjectType::Certificate, KeyFormat::X509Certificate) => {
                let cert = x509::parse(material.bytes())?;
                Some((x509::spki_der(&cert)?, Some(material.bytes().to_vec())))
            }
            _ => None,
        }
    }

    /// The common key binding fields of a found key, with the KeyInfo the client asked for (KeyName and
    /// KeyValue when it asked for nothing).
    pub(crate) fn binding_core(&self, f: &Found, respond_with: &[RespondWith]) -> KeyBindingCore {
        let a = &f.metadata.attributes;
        let asked = |r: RespondWith| respond_with.contains(&r);
        let default = respond_with.is_empty();
        let mut items = Vec::new();
        if default || asked(RespondWith::KeyName) {
            items.extend(
                a.names
                    .iter()
                    .map(|n| KeyInfoItem::KeyName(n.value.clone())),
            );
        }
        if (default || asked(RespondWith::KeyValue))
            && let Some(v) = keys::spki_to_key_value(&f.spki)
        {
            items.push(KeyInfoItem::KeyValue(v));
        }
        if let Some(cert) = &f.certificate {
            if asked(RespondWith::X509Chain) {
                let mut chain = vec![X509Item::Certificate(cert.clone())];
                if let Some(c) = x509::parse(cert) {
                    for anchor in self.trust_anchors() {
                        if anchor.tbs_certificate().subject() == c.tbs_certificate().issuer()
                            && let Ok(der) = x509_cert::der::Encode::to_der(&anchor)
                        {
                            chain.push(X509Item::Certificate(der));
                        }
                    }
                }
                items.push(KeyInfoItem::X509Data(chain));
            } else if asked(RespondWith::X509Cert) {
                items.push(KeyInfoItem::X509Data(vec![X509Item::Certificate(
                    cert.clone(),
                )]));
            }
        }
        KeyBindingCore {
            id: Some(fresh_id()),
            key_info: (!items.is_empty()).then_some(KeyInfo { id: None, items }),
            key_usage: keys::key_usages(a.cryptographic_usage_mask),
            use_key_with: keys::use_key_with(a),
        }
    }

    /// The trust anchors an administrator added.
    pub(crate) fn trust_anchors(&self) -> Vec<Certificate> {
        let q = LocateQuery {
            object_type: Some(ObjectType::Certificate),
            object_group: Some(TRUST_ANCHOR_GROUP.to_owned()),
            max_items: Some(self.config.max_scan),
            ..LocateQuery::default()
        };
        let Ok(located) = self.manager.locate(&self.principal, &q) else {
            return Vec::new();
        };
        located
            .ids
            .iter()
            .filter_map(|id| self.public_material(id, ObjectType::Certificate))
            .filter_map(|(_, c)| x509::parse(c.as_deref()?))
            .collect()
    }

    fn result_limit(&self, h: &RequestHeader) -> usize {
        let asked = h
            .response_limit
            .and_then(|l| usize::try_from(l).ok())
            .filter(|l| *l > 0)
            .unwrap_or(usize::MAX);
        asked.min(self.config.max_key_bindings)
    }

    pub(crate) fn locate(&self, r: &LocateRequest, _now: OffsetDateTime) -> XkmsResult {
        let request = Request::Locate(r.clone());
        let limit = self.result_limit(&r.header);
        let found = match self.find(&r.query_key_binding.core, limit.saturating_add(1)) {
            Ok(f) => f,
            Err(FindError::Failure) => {
                return self.error(
                    &request,
                    &r.header,
                    ResultMajor::Receiver,
                    ResultMinor::Failure,
                );
            }
        };
        if found.is_empty() {
            return self.error(
                &request,
                &r.header,
                ResultMajor::Sender,
                ResultMinor::NoMatch,
            );
        }
        let minor = (found.len() > limit).then_some(ResultMinor::TooManyResponses);
        let bindings = found
            .iter()
            .take(limit)
            .map(|f| UnverifiedKeyBinding {
                core: self.binding_core(f, &r.header.respond_with),
                validity_interval: validity_interval(&f.metadata.attributes),
            })
            .collect();
        XkmsResult::Locate(LocateResult {
            header: self.header(&r.header, ResultMajor::Success, minor),
            unverified_key_bindings: bindings,
        })
    }

    pub(crate) fn validate(&self, r: &ValidateRequest, now: OffsetDateTime) -> XkmsResult {
        let request = Request::Validate(r.clone());
        let q: &QueryKeyBinding = &r.query_key_binding;
        let at = q.time_instant.unwrap_or(now);
        let limit = self.result_limit(&r.header);
        let found = match self.find(&q.core, limit) {
            Ok(f) => f,
            Err(FindError::Failure) => {
                return self.error(
                    &request,
                    &r.header,
                    ResultMajor::Receiver,
                    ResultMinor::Failure,
                );
            }
        };
        // Read only when a certificate is to be judged.
        let mut anchors: Option<Vec<Certificate>> = None;
        let sent: Vec<Certificate> = q
            .core
            .key_info
            .as_ref()
            .map(|k| k.certificates().filter_map(x509::parse).collect())
            .unwrap_or_default();
        let mut bindings = Vec::new();
        for f in &found {
            let mut status = stored_status(&f.metadata, at);
            // A certificate (stored, or sent with the query) is also judged on its path.
            let chain = match &f.certificate {
                Some(c) => x509::parse(c)
                    .into_iter()
                    .chain(sent.iter().cloned())
                    .collect(),
                None => sent.clone(),
            };
            if !chain.is_empty() {
                let anchors = anchors.get_or_insert_with(|| self.trust_anchors());
                apply_path(&mut status, &x509::validate(&chain, anchors, at));
            }
            bindings.push(KeyBinding {
                core: self.binding_core(f, &r.header.respond_with),
                validity_interval: validity_interval(&f.metadata.attributes),
                status,
            });
        }
        // A certificate the service does not hold is still validated against the trust anchors.
        if found.is_empty() {
            let Some(end_entity) = sent.first() else {
                return self.error(
                    &request,
                    &r.header,
                    ResultMajor::Sender,
                    ResultMinor::NoMatch,
                );
            };
            let mut status = Status::new(StatusValue::Valid);
            let anchors = anchors.get_or_insert_with(|| self.trust_anchors());
            apply_path(&mut status, &x509::validate(&sent, anchors, at));
            let mut core = q.core.clone();
            core.id = Some(fresh_id());
            if let Some(v) = x509::spki_der(end_entity).and_then(|s| keys::spki_to_key_value(&s)) {
                let ki = core.key_info.get_or_insert_with(KeyInfo::default);
                if ki.key_value().is_none() {
                    ki.items.push(KeyInfoItem::KeyValue(v));
                }
            }
            let (not_before, not_on_or_after) = x509::validity(end_entity);
            bindings.push(KeyBinding {
                core,
                validity_interval: Some(ValidityInterval {
                    not_before,
                    not_on_or_after,
                }),
                status,
            });
        }
        XkmsResult::Validate(KeyBindingResult {
            header: self.header(&r.header, ResultMajor::Success, None),
            key_bindings: bindings,
        })
    }
}

/// The ValidityInterval of an object: its Activation and Deactivation Dates.
pub(crate) fn validity_interval(a: &Attributes) -> Option<ValidityInterval> {
    (a.activation_date.is_some() || a.deactivation_date.is_some()).then_some(ValidityInterval {
        not_before: a.activation_date,
        not_on_or_after: a.deactivation_date,
    })
}

/// The status of a stored key at `at`: revoked (a Revocation Reason, from its revocation date on) is Invalid
/// for RevocationStatus; outside its Activation/Deactivation Dates is Invalid for ValidityInterval.
pub(crate) fn stored_status(m: &ObjectMetadata, at: OffsetDateTime) -> Status {
    let a = &m.attributes;
    let revoked_at = a.revocation_reason.as_ref().map(|_| {
        a.compromise_occurrence_date
            .or(a.compromise_date)
            .or(a.deactivation_date)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    });
    let revoked = revoked_at.is_some_and(|t| t <= at)
        || (revoked_at.is_none() && matches!(m.state, State::Compromised));
    let before = a.activation_date.is_some_and(|d| at < d)
        || (a.activation_date.is_none() && m.state == State::PreActive);
    let after = !revoked && a.deactivation_date.is_some_and(|d| at >= d);
    let in_interval = !before && !after;
    let mut s = Status::new(if !revoked && in_interval {
        StatusValue::Valid
    } else {
        StatusValue::Invalid
    });
    // The service registered (or was given) this binding itself: it is its own issuer.
    mark(&mut s, Reason::IssuerTrust, true);
    mark(&mut s, Reason::RevocationStatus, !revoked);
    mark(&mut s, Reason::ValidityInterval, in_interval);
    s
}

/// Marks `reason` valid or invalid, once.
fn mark(s: &mut Status, reason: Reason, ok: bool) {
    if ok {
        if !s.invalid_reasons.contains(&reason) && !s.valid_reasons.contains(&reason) {
            s.valid_reasons.push(reason);
        }
    } else {
        s.valid_reasons.retain(|r| *r != reason);
        if !s.invalid_reasons.contains(&reason) {
            s.invalid_reasons.push(reason);
        }
    }
}

/// Adds the outcome of X.509 path validation to a status.
fn apply_path(s: &mut Status, p: &x509::PathCheck) {
    mark(s, Reason::IssuerTrust, p.issuer_trust);
    mark(s, Reason::Signature, p.signature);
    mark(s, Reason::ValidityInterval, p.validity_interval);
    if !s.invalid_reasons.is_empty() {
        s.status_value = StatusValue::Invalid;
    }
}

pub(super) fn add_trust_anchor(
    service: &XkmsService,
    pem_or_der: &[u8],
) -> Result<ObjectId, ServiceError> {
    use x509_cert::der::{Decode as _, Encode as _};
    let cert = if pem_or_der.starts_with(b"-----") {
        Certificate::load_pem_chain(pem_or_der)
            .ok()
            .and_then(|mut v| (!v.is_empty()).then(|| v.remove(0)))
    } else {
        Certificate::from_der(pem_or_der).ok()
    }
    .ok_or(ServiceError::InvalidCertificate)?;
    let der = cert
        .to_der()
        .map_err(|_| ServiceError::InvalidCertificate)?;
    let subject = cert.tbs_certificate().subject().to_string();
    let mut attributes = Attributes::default();
    attributes.object_groups = vec![TRUST_ANCHOR_GROUP.to_owned()];
    attributes.names = vec![Name::text(format!("xkms trust anchor {}", fresh_id()))];
    attributes.description = Some(subject.chars().take(200).collect());
    // Trusted from the moment it is added.
    attributes.activation_date = Some(
        OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    );
    let id = service.manager.register(
        &service.principal,
        ObjectType::Certificate,
        KeyMaterial::new(KeyFormat::X509Certificate, zeroize::Zeroizing::new(der)),
        attributes,
    )?;
    tracing::info!(target: "kms_xkms::service", %id, subject, "trust anchor added");
    Ok(id)
}
