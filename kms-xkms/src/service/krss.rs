//! X-KRSS (section 7): Register, Reissue, Revoke and Recover.

use kms_core::manager::{Attribute, CreateKeyPairRequest, ExportedKey, GetRequest};
use kms_core::material::{KeyFormat, KeyMaterial};
use kms_core::object::{
    AttributeValue, Attributes, CryptographicAlgorithm, Name, RevocationReason,
    RevocationReasonCode,
};
use kms_core::{ObjectId, ObjectType, Principal, State, UsageMask};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::keys::{self, ATTR_ESCROW_DEPOSIT, ATTR_REVOCATION_CODE_IDENTIFIER};
use super::kiss::{self, Found};
use super::pass_phrase::{self, Taken};
use super::{XkmsService, fresh_id};
use crate::dsig::{Verified, VerifyingKey};
use crate::error::SignatureError;
use crate::messages::{
    KeyBinding, KeyBindingCore, KeyBindingPrivateKeyResult, KeyBindingResult, KeyInfo, KeyUsage,
    PrivateKey, RecoverRequest, RegisterRequest, ReissueRequest, Request, RequestHeader,
    ResultMajor, ResultMinor, Revocation, RevokeRequest, StatusValue, XkmsResult,
};
use crate::xenc::{self, RsaKeyPair};

/// A request that authenticated with the pass phrase issued for `name`.
pub(crate) struct Authenticated {
    pub name: String,
    pub secret: Zeroizing<Vec<u8>>,
}

type Outcome<T> = Result<T, (ResultMajor, ResultMinor)>;

const SENDER_NO_AUTH: (ResultMajor, ResultMinor) =
    (ResultMajor::Sender, ResultMinor::NoAuthentication);
const RECEIVER_FAILURE: (ResultMajor, ResultMinor) = (ResultMajor::Receiver, ResultMinor::Failure);

impl XkmsService {
    /// Checks KeyBindingAuthentication against the pass phrase of the first of `names` that has one.
    /// The pass phrase is taken out of the table: [`Self::authenticated`] spends or restores it.
    fn authenticate(
        &self,
        names: &[String],
        has_signature: bool,
        verify: impl Fn(&VerifyingKey) -> Result<Verified, SignatureError>,
        now: OffsetDateTime,
    ) -> Outcome<Authenticated> {
        if !has_signature {
            return Err(SENDER_NO_AUTH);
        }
        for name in names {
            let Taken::Secret(secret) = self.pass_phrases.take(name, now) else {
                continue;
            };
            let Some(key) = pass_phrase::authentication_key(&secret) else {
                self.pass_phrases.restore(name);
                return Err(RECEIVER_FAILURE);
            };
            return if verify(&VerifyingKey::Hmac(key)).is_ok() {
                Ok(Authenticated {
                    name: name.clone(),
                    secret,
                })
            } else {
                tracing::info!(target: "kms_xkms::service", name, "KeyBindingAuthentication did not verify");
                self.pass_phrases.fail(name);
                Err(SENDER_NO_AUTH)
            };
        }
        Err(SENDER_NO_AUTH)
    }

    /// Authenticates as [`Self::authenticate`], runs `then` as the authenticated caller, and settles the pass
    /// phrase by its outcome: spent when the request succeeded, restored when it failed after authenticating
    /// (so that a client can correct, say, a bad ProofOfPossession).
    fn authenticated<T>(
        &self,
        names: &[String],
        has_signature: bool,
        verify: impl Fn(&VerifyingKey) -> Result<Verified, SignatureError>,
        now: OffsetDateTime,
        then: impl FnOnce(&Authenticated) -> Outcome<T>,
    ) -> Outcome<T> {
        let auth = self.authenticate(names, has_signature, verify, now)?;
        let outcome = then(&auth);
        if outcome.is_ok() {
            self.pass_phrases.spend(&auth.name);
        } else {
            self.pass_phrases.restore(&auth.name);
        }
        outcome
    }

    /// Exactly one stored public key for the binding of a Reissue, Revoke or Recover.
    fn target(&self, core: &KeyBindingCore) -> Outcome<Found> {
        let mut found = self.find(core, 2).map_err(|_| RECEIVER_FAILURE)?;
        found.retain(|f| f.metadata.object_type == ObjectType::PublicKey);
        match found.len() {
            0 => Err((ResultMajor::Sender, ResultMinor::NoMatch)),
            1 => Ok(found.remove(0)),
            _ => Err((ResultMajor::Sender, ResultMinor::TooManyResponses)),
        }
    }

    fn outcome_result<T>(
        &self,
        request: &Request,
        header: &RequestHeader,
        outcome: Outcome<T>,
        ok: impl FnOnce(T) -> XkmsResult,
    ) -> XkmsResult {
        match outcome {
            Ok(v) => ok(v),
            Err((major, minor)) => self.error(request, header, major, minor),
        }
    }

    // ---- Register (section 7.1.1) ----

    pub(crate) fn register(&self, r: &RegisterRequest, now: OffsetDateTime) -> XkmsResult {
        let request = Request::Register(r.clone());
        let outcome = self.register_inner(r, now);
        self.outcome_result(&request, &r.header, outcome, |(binding, private_key)| {
            XkmsResult::Register(KeyBindingPrivateKeyResult {
                header: self.header(&r.header, ResultMajor::Success, None),
                key_bindings: vec![binding],
                private_key,
            })
        })
    }

    fn register_inner(
        &self,
        r: &RegisterRequest,
        now: OffsetDateTime,
    ) -> Outcome<(KeyBinding, Option<PrivateKey>)> {
        let core = &r.prototype_key_binding.core;
        let key_value = core.key_info.as_ref().and_then(KeyInfo::key_value);
        let spki = match key_value {
            Some(v) => {
                if r.proof_of_possession.is_none() {
                    return Err((ResultMajor::Sender, ResultMinor::ProofOfPossessionRequired));
                }
                Some(
                    keys::key_value_to_spki(v)
                        .ok_or((ResultMajor::Sender, ResultMinor::Failure))?,
                )
            }
            None => None,
        };
        let names: Vec<String> = core
            .key_info
            .iter()
            .flat_map(KeyInfo::key_names)
            .map(str::to_owned)
            .chain(core.use_key_with.iter().map(|u| u.identifier.clone()))
            .collect();
        let (id, private_key) = self.authenticated(
            &names,
            r.authentication.key_binding_authentication.is_some(),
            |k| r.verify_key_binding_authentication(k),
            now,
            |auth| {
                if spki.is_some() && r.verify_proof_of_possession().is_err() {
                    return Err((ResultMajor::Sender, ResultMinor::ProofOfPossessionRequired));
                }
                let owner = Principal::new(&auth.name).map_err(|_| SENDER_NO_AUTH)?;
                let (not_before, not_on_or_after) = self.requested_validity(r, now)?;
                let mut attributes = Attributes::default();
                attributes.names = core
                    .key_info
                    .iter()
                    .flat_map(KeyInfo::key_names)
                    .map(Name::text)
                    .collect();
                attributes.activation_date = Some(not_before);
                attributes.deactivation_date = Some(not_on_or_after);
                if !core.use_key_with.is_empty() {
                    let v = keys::encode_use_key_with(&core.use_key_with)
                        .ok_or((ResultMajor::Sender, ResultMinor::Failure))?;
                    attributes
                        .custom
                        .insert(keys::ATTR_USE_KEY_WITH.to_owned(), v);
                }
                if let Some(rci) = &r.prototype_key_binding.revocation_code_identifier {
                    attributes.custom.insert(
                        ATTR_REVOCATION_CODE_IDENTIFIER.to_owned(),
                        AttributeValue::Bytes(rci.clone()),
                    );
                }
                match &spki {
                    Some(spki) => self.register_client_key(&owner, spki, attributes, core),
                    None => self.register_server_key(&owner, attributes, core, &auth.secret),
                }
            },
        )?;
        let found = self.found(&id)?;
        Ok((
            self.valid_binding(&found, &r.header.respond_with),
            private_key,
        ))
    }

    fn requested_validity(
        &self,
        r: &RegisterRequest,
        now: OffsetDateTime,
    ) -> Outcome<(OffsetDateTime, OffsetDateTime)> {
        let asked = r.prototype_key_binding.validity_interval.as_ref();
        let not_before = asked
            .and_then(|v| v.not_before)
            .unwrap_or(now)
            .replace_nanosecond(0)
            .map_err(|_| RECEIVER_FAILURE)?;
        let not_on_or_after = asked
            .and_then(|v| v.not_on_or_after)
            .unwrap_or(now + self.config.default_validity)
            .replace_nanosecond(0)
            .map_err(|_| RECEIVER_FAILURE)?;
        if not_on_or_after <= not_before || not_on_or_after <= now {
            return Err((ResultMajor::Sender, ResultMinor::Failure));
        }
        Ok((not_before, not_on_or_after))
    }

    fn register_client_key(
        &self,
        owner: &Principal,
        spki: &[u8],
        mut attributes: Attributes,
        core: &KeyBindingCore,
    ) -> Outcome<(ObjectId, Option<PrivateKey>)> {
        if !core.key_usage.is_empty() {
            attributes.cryptographic_usage_mask = Some(usage_mask(core, keys::public_usage));
        }
        let id = self
            .manager
            .register(
                owner,
                ObjectType::PublicKey,
                KeyMaterial::new(
                    KeyFormat::SubjectPublicKeyInfo,
                    Zeroizing::new(spki.to_vec()),
                ),
                attributes,
            )
            .map_err(map_core)?;
        Ok((id, None))
    }

    fn register_server_key(
        &self,
        owner: &Principal,
        public: Attributes,
        core: &KeyBindingCore,
        secret: &[u8],
    ) -> Outcome<(ObjectId, Option<PrivateKey>)> {
        let method = self.config.private_key_encryption;
        let kek = pass_phrase::encryption_key(secret, method.key_len()).ok_or(RECEIVER_FAILURE)?;
        let usage = (!core.key_usage.is_empty()).then(|| {
            (
                usage_mask(core, keys::public_usage),
                usage_mask(core, keys::private_usage),
            )
        });
        let mut common = Attributes::default();
        common.cryptographic_algorithm = Some(CryptographicAlgorithm::Rsa);
        common.cryptographic_length = Some(self.config.rsa_bits);
        common.activation_date = public.activation_date;
        common.deactivation_date = public.deactivation_date;
        let mut private = Attributes::default();
        private.extractable = true;
        private.cryptographic_usage_mask = usage.map(|u| u.1);
        let mut public = public;
        public.cryptographic_usage_mask = usage.map(|u| u.0);
        public.custom.insert(
            keys::ATTR_GENERATED.to_owned(),
            AttributeValue::Boolean(true),
        );
        let request = CreateKeyPairRequest {
            common_attributes: common,
            private_key_attributes: private,
            public_key_attributes: public,
        };
        let ids = self
            .manager
            .create_key_pair(owner, request)
            .map_err(map_core)?;
        let result = (|| {
            if let Some(escrow) = &self.escrow {
                let deposit = escrow
                    .deposit(&self.manager, &self.principal, &ids.private_key)
                    .map_err(|e| {
                        tracing::error!(target: "kms_xkms::service", error = %e, "escrow deposit of a generated key failed");
                        RECEIVER_FAILURE
                    })?;
                self.manager
                    .set_attribute(
                        &self.principal,
                        &ids.public_key,
                        Attribute::Custom(
                            ATTR_ESCROW_DEPOSIT.to_owned(),
                            AttributeValue::Text(deposit),
                        ),
                    )
                    .map_err(map_core)?;
            }
            self.encrypted_private_key(&ids.private_key, &kek)
        })();
        match result {
            Ok(pk) => Ok((ids.public_key, Some(pk))),
            Err(e) => {
                // Nothing stays behind from a Register that failed.
                for id in [&ids.private_key, &ids.public_key] {
                    let _ = self.manager.revoke(
                        &self.principal,
                        id,
                        RevocationReason {
                            code: RevocationReasonCode::CessationOfOperation,
                            message: Some("XKMS Register failed".into()),
                        },
                        None,
                    );
                    let _ = self.manager.destroy(&self.principal, id);
                }
                Err(e)
            }
        }
    }

    /// The private key `id` (an RSA key in the KeyManager) as a PrivateKey encrypted under `kek`.
    pub(crate) fn encrypted_private_key(&self, id: &ObjectId, kek: &[u8]) -> Outcome<PrivateKey> {
        self.encrypt_pkcs8(self.plain_key(id)?.bytes(), kek)
    }

    /// The stored key `id` in plaintext, in the canonical format of its type (SPKI, PKCS#8).
    fn plain_key(&self, id: &ObjectId) -> Outcome<KeyMaterial> {
        let object = self
            .manager
            .get(&self.principal, id, &GetRequest::default())
            .map_err(map_core)?;
        match object.key {
            ExportedKey::Plain(material) => Ok(material),
            _ => Err(RECEIVER_FAILURE),
        }
    }

    /// A PKCS#8 RSA private key as a PrivateKey encrypted under `kek`.
    pub(crate) fn encrypt_pkcs8(&self, pkcs8: &[u8], kek: &[u8]) -> Outcome<PrivateKey> {
        use rsa::pkcs8::DecodePrivateKey as _;
        let key = rsa::PrivateKey::from_pkcs8_der(pkcs8).map_err(|_| RECEIVER_FAILURE)?;
        let pair = RsaKeyPair::from_rsa(&key).map_err(|_| RECEIVER_FAILURE)?;
        let encrypted_data =
            xenc::encrypt_private_key(&pair, self.config.private_key_encryption, kek)
                .map_err(|_| RECEIVER_FAILURE)?;
        Ok(PrivateKey { encrypted_data })
    }

    /// The stored public key `id`, as a lookup would find it.
    pub(crate) fn found(&self, id: &ObjectId) -> Outcome<Found> {
        let metadata = self
            .manager
            .metadata(&self.principal, id)
            .map_err(map_core)?;
        let material = self.plain_key(id)?;
        Ok(Found {
            id: id.clone(),
            metadata,
            spki: material.bytes().to_vec(),
            certificate: None,
        })
    }

    pub(crate) fn valid_binding(
        &self,
        f: &Found,
        respond_with: &[crate::messages::RespondWith],
    ) -> KeyBinding {
        KeyBinding {
            core: self.binding_core(f, respond_with),
            validity_interval: kiss::validity_interval(&f.metadata.attributes),
            status: kiss::stored_status(&f.metadata, (self.clock)()),
        }
    }

    // ---- Reissue (section 7.1.7) ----

    pub(crate) fn reissue(&self, r: &ReissueRequest, now: OffsetDateTime) -> XkmsResult {
        let request = Request::Reissue(r.clone());
        let outcome = (|| {
            let target = self.target(&r.reissue_key_binding.core)?;
            self.authenticated(
                &target.auth_names(),
                r.authentication.key_binding_authentication.is_some(),
                |k| r.verify_key_binding_authentication(k),
                now,
                |_| {
                    if r.proof_of_possession.is_some() {
                        let key = keys::spki_verifying_key(&target.spki).ok_or(RECEIVER_FAILURE)?;
                        r.verify_proof_of_possession(&key).map_err(|_| {
                            (ResultMajor::Sender, ResultMinor::ProofOfPossessionRequired)
                        })?;
                    }
                    let status = kiss::stored_status(&target.metadata, now);
                    if status.status_value != StatusValue::Valid
                        || target.metadata.state != State::Active
                    {
                        return Err((ResultMajor::Sender, ResultMinor::Refused));
                    }
                    let until = (now + self.config.default_validity)
                        .replace_nanosecond(0)
                        .map_err(|_| RECEIVER_FAILURE)?;
                    self.manager
                        .set_attribute(
                            &self.principal,
                            &target.id,
                            Attribute::DeactivationDate(until),
                        )
                        .map_err(map_core)?;
                    self.found(&target.id)
                },
            )
        })();
        self.outcome_result(&request, &r.header, outcome, |f| {
            XkmsResult::Reissue(KeyBindingResult {
                header: self.header(&r.header, ResultMajor::Success, None),
                key_bindings: vec![self.valid_binding(&f, &r.header.respond_with)],
            })
        })
    }

    // ---- Revoke (section 7.1.9) ----

    pub(crate) fn revoke(&self, r: &RevokeRequest, now: OffsetDateTime) -> XkmsResult {
        let request = Request::Revoke(r.clone());
        let outcome = (|| {
            let target = self.target(&r.revoke_key_binding.core)?;
            match &r.revocation {
                Revocation::RevocationCode(_) => {
                    let stored = match target
                        .metadata
                        .attributes
                        .custom
                        .get(ATTR_REVOCATION_CODE_IDENTIFIER)
                    {
                        Some(AttributeValue::Bytes(b)) => b.clone(),
                        _ => return Err(SENDER_NO_AUTH),
                    };
                    if !r.revocation_code_matches(&stored) {
                        tracing::info!(target: "kms_xkms::service", id = %target.id, "RevocationCode does not match");
                        return Err(SENDER_NO_AUTH);
                    }
                    self.revoke_found(&target)?;
                }
                Revocation::Authentication(a) => self.authenticated(
                    &target.auth_names(),
                    a.key_binding_authentication.is_some(),
                    |k| r.verify_key_binding_authentication(k),
                    now,
                    |_| self.revoke_found(&target),
                )?,
            }
            self.found(&target.id)
        })();
        self.outcome_result(&request, &r.header, outcome, |f| {
            XkmsResult::Revoke(KeyBindingResult {
                header: self.header(&r.header, ResultMajor::Success, None),
                key_bindings: vec![self.valid_binding(&f, &r.header.respond_with)],
            })
        })
    }

    fn revoke_found(&self, target: &Found) -> Outcome<()> {
        if target.metadata.attributes.revocation_reason.is_some() {
            return Err((ResultMajor::Sender, ResultMinor::Refused));
        }
        let reason = RevocationReason {
            code: RevocationReasonCode::Unspecified,
            message: Some("XKMS RevokeRequest".into()),
        };
        self.manager
            .revoke(&self.principal, &target.id, reason.clone(), None)
            .map_err(map_core)?;
        if let Some(private) = target.private_key()
            && let Err(e) = self.manager.revoke(&self.principal, private, reason, None)
        {
            tracing::warn!(target: "kms_xkms::service", error = %e, id = %private, "revoking the private half failed");
        }
        Ok(())
    }

    // ---- Recover (section 7.1.11) ----

    pub(crate) fn recover(&self, r: &RecoverRequest, now: OffsetDateTime) -> XkmsResult {
        let request = Request::Recover(r.clone());
        let outcome = (|| {
            let target = self.target(&r.recover_key_binding.core)?;
            // Authentication first, so that nothing about the key is told to a caller without it; a refusal
            // after it gives the pass phrase back.
            let method = self.config.private_key_encryption;
            let outcome = self.authenticated(
                &target.auth_names(),
                r.authentication.key_binding_authentication.is_some(),
                |k| r.verify_key_binding_authentication(k),
                now,
                |auth| {
                    let generated = matches!(
                        target.metadata.attributes.custom.get(keys::ATTR_GENERATED),
                        Some(AttributeValue::Boolean(true))
                    );
                    // Only what XKMS Register generated: a client's own key never had its private half here,
                    // and a KMIP client's key pair is its own business.
                    let Some(private) = target.private_key().filter(|_| generated).cloned() else {
                        return Err((ResultMajor::Sender, ResultMinor::Refused));
                    };
                    let deposit = match target.metadata.attributes.custom.get(ATTR_ESCROW_DEPOSIT) {
                        Some(AttributeValue::Text(d)) => Some(d.clone()),
                        _ => None,
                    };
                    let asynchronous = r
                        .header
                        .response_mechanisms
                        .contains(&crate::messages::ResponseMechanism::Pending);
                    if deposit.is_some() && !asynchronous {
                        // Escrow needs agents' approvals: only a client that accepts Pending can wait.
                        return Err((ResultMajor::Receiver, ResultMinor::NotSynchronous));
                    }
                    let kek = pass_phrase::encryption_key(&auth.secret, method.key_len())
                        .ok_or(RECEIVER_FAILURE)?;
                    match &deposit {
                        Some(deposit) => {
                            let response_id = fresh_id();
                            self.start_escrow_recovery(
                                &response_id,
                                deposit,
                                &auth.name,
                                r,
                                &target,
                                kek,
                            )?;
                            Ok(RecoverOutcome::Pending(response_id))
                        }
                        None => Ok(RecoverOutcome::Done(
                            self.encrypted_private_key(&private, &kek)?,
                        )),
                    }
                },
            )?;
            Ok((outcome, target))
        })();
        self.outcome_result(&request, &r.header, outcome, |(o, target)| match o {
            RecoverOutcome::Done(pk) => XkmsResult::Recover(KeyBindingPrivateKeyResult {
                header: self.header(&r.header, ResultMajor::Success, None),
                key_bindings: vec![self.valid_binding(&target, &r.header.respond_with)],
                private_key: Some(pk),
            }),
            RecoverOutcome::Pending(response_id) => {
                let mut header = self.header(&r.header, ResultMajor::Pending, None);
                header.message.id = response_id;
                XkmsResult::Recover(KeyBindingPrivateKeyResult {
                    header,
                    key_bindings: Vec::new(),
                    private_key: None,
                })
            }
        })
    }
}

enum RecoverOutcome {
    Done(PrivateKey),
    Pending(String),
}

/// The KMIP usage mask of the binding's KeyUsage values, each mapped by `usage`.
fn usage_mask(core: &KeyBindingCore, usage: fn(KeyUsage) -> UsageMask) -> UsageMask {
    core.key_usage
        .iter()
        .fold(UsageMask::empty(), |m, u| m | usage(*u))
}

/// The XKMS answer to a KeyManager error.
pub(crate) fn map_core(e: kms_core::Error) -> (ResultMajor, ResultMinor) {
    use kms_core::Error as E;
    match e {
        E::ItemNotFound => (ResultMajor::Sender, ResultMinor::NoMatch),
        E::NonUniqueNameAttribute | E::WrongKeyLifecycleState(_) | E::PermissionDenied => {
            (ResultMajor::Sender, ResultMinor::Refused)
        }
        E::InvalidField(_) | E::InvalidAttributeValue(_) | E::MissingData(_) => {
            (ResultMajor::Sender, ResultMinor::Failure)
        }
        other => {
            tracing::warn!(target: "kms_xkms::service", error = %other, "key manager failure");
            RECEIVER_FAILURE
        }
    }
}
