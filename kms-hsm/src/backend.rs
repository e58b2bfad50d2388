//! [`Pkcs11Backend`]: opening the token, finding objects, generating, importing, exporting and destroying keys.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::Slot;
use kms_core::backend::{
    BackendError, Capabilities, Cipher, GeneratedKey, KeyBackend, KeyPolicy, KeySpec, KeyWrap, Mac,
    Random, Signer,
};
use kms_core::material::{KeyFormat, KeyMaterial};
use kms_core::object::{CryptographicAlgorithm, ObjectType, UsageMask};
use kms_core::{KeyRef, SoftwareBackend};
use parking_lot::RwLock;
use zeroize::{Zeroize, Zeroizing};

use crate::config::{Pkcs11Config, TokenSelector};
use crate::error::{self, OpenError};
use crate::key_ref::{ID_LEN, Kind, TokenKey};
use crate::pool::SessionPool;
use crate::probe::{self, Mechanisms};
use crate::{encoding, module};

/// A [`KeyBackend`] whose keys live in a PKCS#11 token.
///
/// Keys are generated (or unwrapped) inside the token as token objects with CKA_SENSITIVE, CKA_EXTRACTABLE
/// false unless the caller asks for an exportable key, a random 16-byte CKA_ID (carried in the [`KeyRef`]),
/// CKA_LABEL set to the managed object's id, the usage attributes of the key's usage mask, and
/// CKA_ALLOWED_MECHANISMS where the token takes it. The store keeps only the reference.
///
/// One module context per process ([`crate::shared_context`]), a pool of logged-in sessions, and the
/// capabilities probed from the token's mechanism list at open.
pub struct Pkcs11Backend {
    id: String,
    pool: SessionPool,
    capabilities: Capabilities,
    mechanisms: Mechanisms,
    /// Object handles by (kind, CKA_ID): handles stay valid for the application's life (PKCS#11 §2.4), so the
    /// search is done once per key. A stale handle (object destroyed elsewhere) is dropped and searched again.
    handles: RwLock<HashMap<(Kind, [u8; ID_LEN]), ObjectHandle>>,
    /// See [`Pkcs11Config::allow_extractable`].
    allow_extractable: bool,
    /// Cleared when the token refuses CKA_ALLOWED_MECHANISMS in a template.
    allowed_mechanisms: AtomicBool,
    token_label: String,
    token_serial: String,
    /// Certificates, opaque objects and secret data hold no key the token could use; they are kept by the
    /// software backend (their references name it), as KMIP Register expects them to be kept somewhere.
    software: SoftwareBackend,
}

impl fmt::Debug for Pkcs11Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Backend")
            .field("id", &self.id)
            .field("token_label", &self.token_label)
            .field("token_serial", &self.token_serial)
            .field("mechanisms", &self.mechanisms.len())
            .finish_non_exhaustive()
    }
}

/// Fails with CKR_USER_NOT_LOGGED_IN when the session is not logged in as the user, so that the pool logs in and
/// retries: without the login, private objects are not found rather than refused (PKCS#11 §4.1.2).
fn logged_in(session: &Session) -> Result<(), CkError> {
    if session.get_session_info()?.session_state() == cryptoki::session::SessionState::RwUser {
        Ok(())
    } else {
        Err(CkError::Pkcs11(
            RvError::UserNotLoggedIn,
            cryptoki::context::Function::FindObjects,
        ))
    }
}

/// A random CKA_ID.
pub(crate) fn new_id() -> Result<[u8; ID_LEN], BackendError> {
    let mut id = [0u8; ID_LEN];
    getrandom::fill(&mut id).map_err(|e| BackendError::Device {
        message: "the operating system's random generator failed".into(),
        retryable: true,
        source: Some(Box::new(e)),
    })?;
    Ok(id)
}

/// Finds the slot whose token matches `selector`.
pub(crate) fn find_slot(ctx: &Pkcs11, selector: &TokenSelector) -> Result<Slot, OpenError> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|source| OpenError::Token {
            what: "listing slots",
            source,
        })?;
    let mut found = Vec::new();
    let mut present = Vec::new();
    for slot in slots {
        let Ok(info) = ctx.get_token_info(slot) else {
            continue;
        };
        let (label, serial) = (info.label().trim_end(), info.serial_number().trim_end());
        present.push(format!("{label:?} (serial {serial})"));
        let hit = match selector {
            TokenSelector::Label(l) => label == l.trim_end(),
            TokenSelector::Serial(s) => serial == s.trim_end(),
        };
        if hit {
            found.push(slot);
        }
    }
    match found.as_slice() {
        [slot] => Ok(*slot),
        [] => Err(OpenError::TokenNotFound(
            selector.to_string(),
            if present.is_empty() {
                "none".into()
            } else {
                present.join(", ")
            },
        )),
        _ => Err(OpenError::AmbiguousToken(selector.to_string())),
    }
}

pub(crate) fn login_error(e: CkError) -> OpenError {
    match error::rv(&e) {
        Some(RvError::PinIncorrect) => OpenError::PinIncorrect,
        Some(RvError::PinLocked) => OpenError::PinLocked,
        _ => OpenError::Token {
            what: "logging in",
            source: e,
        },
    }
}

/// A one-time AES-256 key for moving material in and out of the token under KWP; destroyed when dropped.
struct TransportKey<'s> {
    session: &'s Session,
    handle: ObjectHandle,
    value: Zeroizing<Vec<u8>>,
}

impl<'s> TransportKey<'s> {
    fn new(session: &'s Session) -> Result<Self, CkError> {
        let mut value = Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut value).map_err(|_| CkError::InvalidValue)?;
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Wrap(true),
            Attribute::Unwrap(true),
            Attribute::Value(value.to_vec()),
        ];
        let handle = session.create_object(&template);
        for a in &mut template {
            if let Attribute::Value(v) = a {
                v.zeroize();
            }
        }
        Ok(Self {
            session,
            handle: handle?,
            value,
        })
    }
}

impl Drop for TransportKey<'_> {
    fn drop(&mut self) {
        // A session object dies with its session anyway; destroying it now keeps its life to this call.
        if let Err(e) = self.session.destroy_object(self.handle) {
            tracing::warn!(target: "kms_hsm", error = %e, "could not destroy a transport key");
        }
    }
}

fn kwp_wrap(kek: &[u8], plain: &[u8]) -> Result<Vec<u8>, BackendError> {
    use aes_kw::KeyInit as _;
    let kw = aes_kw::KwpAes256::new_from_slice(kek)
        .map_err(|_| BackendError::InvalidInput("transport key".into()))?;
    let mut out = vec![0; plain.len().div_ceil(8) * 8 + 8];
    let len = kw
        .wrap_key(plain, &mut out)
        .map_err(|_| BackendError::InvalidInput("key too long to import".into()))?
        .len();
    out.truncate(len);
    Ok(out)
}

fn kwp_unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, BackendError> {
    use aes_kw::KeyInit as _;
    let kw = aes_kw::KwpAes256::new_from_slice(kek)
        .map_err(|_| BackendError::InvalidInput("transport key".into()))?;
    let mut out = Zeroizing::new(vec![0; wrapped.len()]);
    let len = kw
        .unwrap_key(wrapped, &mut out)
        .map_err(|_| BackendError::Crypto)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// The usage attributes of a key with `usage` (PKCS#11 §4.7-4.9 key attributes).
fn usage_attributes(kind: Kind, usage: UsageMask) -> Vec<Attribute> {
    let has = |bits: UsageMask| usage.intersects(bits);
    let mut out = Vec::with_capacity(7);
    match kind {
        Kind::Aes(_) => {
            out.push(Attribute::Encrypt(has(UsageMask::ENCRYPT)));
            out.push(Attribute::Decrypt(has(UsageMask::DECRYPT)));
            out.push(Attribute::Wrap(has(UsageMask::WRAP_KEY)));
            out.push(Attribute::Unwrap(has(UsageMask::UNWRAP_KEY)));
            out.push(Attribute::Derive(has(UsageMask::DERIVE_KEY)));
        }
        Kind::Hmac(_) => {
            out.push(Attribute::Sign(has(
                UsageMask::MAC_GENERATE | UsageMask::SIGN
            )));
            out.push(Attribute::Verify(has(
                UsageMask::MAC_VERIFY | UsageMask::VERIFY
            )));
            out.push(Attribute::Derive(has(UsageMask::DERIVE_KEY)));
        }
        Kind::RsaPrivate => {
            out.push(Attribute::Sign(has(UsageMask::SIGN
                | UsageMask::CERTIFICATE_SIGN
                | UsageMask::CRL_SIGN)));
            out.push(Attribute::Decrypt(has(UsageMask::DECRYPT)));
            out.push(Attribute::Unwrap(has(UsageMask::UNWRAP_KEY)));
        }
        Kind::EcPrivate(_) => {
            out.push(Attribute::Sign(has(UsageMask::SIGN
                | UsageMask::CERTIFICATE_SIGN
                | UsageMask::CRL_SIGN)));
            out.push(Attribute::Derive(has(
                UsageMask::KEY_AGREEMENT | UsageMask::DERIVE_KEY
            )));
        }
        // Public-key operations reveal nothing; the key manager enforces the public key's own usage mask.
        Kind::RsaPublic => {
            out.push(Attribute::Verify(true));
            out.push(Attribute::Encrypt(true));
            out.push(Attribute::Wrap(true));
        }
        Kind::EcPublic(_) => out.push(Attribute::Verify(true)),
    }
    out
}

/// The mechanisms a key of `kind` is allowed (CKA_ALLOWED_MECHANISMS): the ones this backend uses with it.
fn allowed_mechanisms(kind: Kind) -> Vec<MechanismType> {
    type M = MechanismType;
    match kind {
        Kind::Aes(_) => vec![
            M::AES_GCM,
            M::AES_CBC,
            M::AES_CBC_PAD,
            M::AES_ECB,
            M::AES_KEY_WRAP,
            M::AES_KEY_WRAP_PAD,
        ],
        Kind::Hmac(h) => vec![probe::hmac_mechanism(h)],
        Kind::RsaPrivate | Kind::RsaPublic => vec![M::RSA_PKCS, M::RSA_PKCS_PSS, M::RSA_PKCS_OAEP],
        Kind::EcPrivate(_) | Kind::EcPublic(_) => vec![M::ECDSA, M::ECDH1_DERIVE],
    }
}

impl Pkcs11Backend {
    /// Opens the token: loads (once per process) and initialises the module, finds the token by label or
    /// serial, logs in, and probes its mechanisms.
    ///
    /// # Errors
    /// [`OpenError`]: module missing or not loadable, token absent or ambiguous, PIN incorrect or locked.
    pub fn open(config: Pkcs11Config) -> Result<Self, OpenError> {
        let ctx = module::shared_context(&config.module)?;
        let slot = find_slot(&ctx, &config.token)?;
        let info = ctx
            .get_token_info(slot)
            .map_err(|source| OpenError::Token {
                what: "reading the token info",
                source,
            })?;
        let mechanisms = Mechanisms::probe(&ctx, slot).map_err(|source| OpenError::Token {
            what: "listing the token's mechanisms",
            source,
        })?;
        let capabilities = probe::capabilities(&mechanisms, info.rng());
        let pool = SessionPool::new(
            ctx,
            slot,
            config.pin,
            config.max_sessions,
            config.session_wait,
        );
        // Log in now, so that a wrong PIN fails at start and not at the first request; the session stays in the
        // pool, which keeps the application's login alive.
        let first = pool.open_logged_in().map_err(login_error)?;
        pool.adopt(first);
        tracing::info!(
            target: "kms_hsm",
            token = info.label().trim_end(),
            serial = info.serial_number().trim_end(),
            mechanisms = mechanisms.len(),
            "PKCS#11 token opened"
        );
        Ok(Self {
            id: config.backend_id,
            pool,
            capabilities,
            mechanisms,
            handles: RwLock::new(HashMap::new()),
            allowed_mechanisms: AtomicBool::new(true),
            allow_extractable: config.allow_extractable,
            token_label: info.label().trim_end().to_owned(),
            token_serial: info.serial_number().trim_end().to_owned(),
            software: SoftwareBackend::new(),
        })
    }

    /// The token's label.
    #[must_use]
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    /// The token's serial number.
    #[must_use]
    pub fn token_serial(&self) -> &str {
        &self.token_serial
    }

    /// The module context (shared by every user of the module in this process), for tools and benchmarks that
    /// call the token directly.
    #[must_use]
    pub fn context(&self) -> &Pkcs11 {
        self.pool.context()
    }

    /// The token's slot (valid for this process only: never store it).
    #[must_use]
    pub fn slot(&self) -> Slot {
        self.pool.slot()
    }

    /// The token object a reference of this backend names, for direct cryptoki calls.
    ///
    /// # Errors
    /// [`BackendError::ForeignKeyRef`], [`BackendError::MalformedKeyRef`], [`BackendError::KeyNotFound`],
    /// device errors.
    pub fn object_handle(&self, key: &KeyRef) -> Result<ObjectHandle, BackendError> {
        let k = self.decode(key)?;
        self.use_key("finding an object", &k, |_, h| Ok(h))
    }

    pub(crate) fn decode(&self, key: &KeyRef) -> Result<TokenKey, BackendError> {
        TokenKey::decode(key, &self.id)
    }

    pub(crate) fn issue(&self, key: &TokenKey) -> KeyRef {
        key.encode(&self.id)
    }

    fn find(
        &self,
        session: &Session,
        kind: Kind,
        id: &[u8; ID_LEN],
    ) -> Result<Option<ObjectHandle>, CkError> {
        if let Some(h) = self.handles.read().get(&(kind, *id)) {
            return Ok(Some(*h));
        }
        let found =
            session.find_objects(&[Attribute::Class(kind.class()), Attribute::Id(id.to_vec())])?;
        let Some(&h) = found.first() else {
            return Ok(None);
        };
        if found.len() > 1 {
            tracing::warn!(target: "kms_hsm", count = found.len(), "several token objects share one CKA_ID; using the first");
        }
        self.handles.write().insert((kind, *id), h);
        Ok(Some(h))
    }

    fn forget_handle(&self, kind: Kind, id: &[u8; ID_LEN]) {
        self.handles.write().remove(&(kind, *id));
    }

    /// Runs `f` with the token object of `key` (of kind `kind`, e.g. the public half of a pair) on a pooled
    /// session; a stale cached handle is searched again once.
    pub(crate) fn use_object<T>(
        &self,
        what: &'static str,
        kind: Kind,
        id: &[u8; ID_LEN],
        mut f: impl FnMut(&Session, ObjectHandle) -> Result<T, CkError>,
    ) -> Result<T, BackendError> {
        self.pool
            .with(what, |s| {
                let Some(h) = self.find(s, kind, id)? else {
                    logged_in(s)?;
                    return Ok(Err(BackendError::KeyNotFound));
                };
                match f(s, h) {
                    Err(e)
                        if matches!(
                            error::rv(&e),
                            Some(RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid)
                        ) =>
                    {
                        self.forget_handle(kind, id);
                        // A private object is invisible, not absent, when the login was lost.
                        logged_in(s)?;
                        let Some(h) = self.find(s, kind, id)? else {
                            return Ok(Err(BackendError::KeyNotFound));
                        };
                        f(s, h).map(Ok)
                    }
                    other => other.map(Ok),
                }
            })
            .and_then(|r| r)
    }

    pub(crate) fn use_key<T>(
        &self,
        what: &'static str,
        key: &TokenKey,
        f: impl FnMut(&Session, ObjectHandle) -> Result<T, CkError>,
    ) -> Result<T, BackendError> {
        self.use_object(what, key.kind, &key.id, f)
    }

    /// Runs `f` on a pooled session (no key).
    pub(crate) fn with_session<T>(
        &self,
        what: &'static str,
        f: impl FnMut(&Session) -> Result<T, CkError>,
    ) -> Result<T, BackendError> {
        self.pool.with(what, f)
    }

    /// Whether a new key with `policy` is made extractable.
    pub(crate) fn extractable(&self, policy: &KeyPolicy<'_>) -> bool {
        policy.extractable && self.allow_extractable
    }

    /// The template of a new object of `kind`, with CKA_ALLOWED_MECHANISMS unless the token refused it before.
    pub(crate) fn template(
        &self,
        kind: Kind,
        id: &[u8; ID_LEN],
        policy: &KeyPolicy<'_>,
    ) -> Vec<Attribute> {
        self.common(
            kind,
            id,
            policy,
            self.allowed_mechanisms.load(Ordering::Relaxed),
        )
    }

    /// Best-effort destruction of an object made moments ago (rollback inside one operation).
    pub(crate) fn destroy_handle(&self, handle: ObjectHandle) {
        if let Err(e) = self.with_session("destroying a key", |s| s.destroy_object(handle)) {
            tracing::error!(target: "kms_hsm", error = %e, "could not destroy a token object while rolling back");
        }
    }

    /// The attributes every object this backend creates carries.
    fn common(
        &self,
        kind: Kind,
        id: &[u8; ID_LEN],
        policy: &KeyPolicy<'_>,
        with_allowed: bool,
    ) -> Vec<Attribute> {
        let mut t = vec![
            Attribute::Class(kind.class()),
            Attribute::KeyType(kind.key_type()),
            Attribute::Token(true),
            Attribute::Id(id.to_vec()),
            Attribute::Label(policy.id.as_str().as_bytes().to_vec()),
        ];
        if kind.is_secret() {
            t.push(Attribute::Private(true));
            t.push(Attribute::Sensitive(true));
            t.push(Attribute::Extractable(self.extractable(policy)));
        } else {
            t.push(Attribute::Private(false));
        }
        t.extend(usage_attributes(kind, policy.usage));
        if with_allowed {
            t.push(Attribute::AllowedMechanisms(allowed_mechanisms(kind)));
        }
        t
    }

    /// Runs a creating call with CKA_ALLOWED_MECHANISMS in its templates, and again without it if the token
    /// refuses the attribute (it is optional: PKCS#11 2.40 §4.4).
    fn creating<T>(
        &self,
        what: &'static str,
        mut f: impl FnMut(&Session, bool) -> Result<T, CkError>,
    ) -> Result<T, BackendError> {
        let with = self.allowed_mechanisms.load(Ordering::Relaxed);
        match self.with_session(what, |s| f(s, with)) {
            Err(BackendError::InvalidInput(_)) if with => {
                let r = self.with_session(what, |s| f(s, false));
                if r.is_ok() {
                    tracing::info!(target: "kms_hsm", "the token refuses CKA_ALLOWED_MECHANISMS; creating keys without it");
                    self.allowed_mechanisms.store(false, Ordering::Relaxed);
                }
                r
            }
            other => other,
        }
    }

    fn generate_secret(
        &self,
        kind: Kind,
        len: usize,
        mechanism: Mechanism<'static>,
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError> {
        let id = new_id()?;
        let len = cryptoki::types::Ulong::from(len as u64);
        self.creating("generating a key", |s, allowed| {
            let mut t = self.common(kind, &id, policy, allowed);
            t.push(Attribute::ValueLen(len));
            s.generate_key(&mechanism, &t)
        })?;
        Ok(self.issue(&TokenKey {
            kind,
            extractable: self.extractable(policy),
            id,
        }))
    }

    fn generate_pair(
        &self,
        private: Kind,
        public: Kind,
        mechanism: Mechanism<'static>,
        public_extra: Vec<Attribute>,
        policy: &KeyPolicy<'_>,
    ) -> Result<GeneratedKey, BackendError> {
        let id = new_id()?;
        self.creating("generating a key pair", |s, allowed| {
            let mut pt = self.common(public, &id, policy, allowed);
            pt.extend(public_extra.iter().cloned());
            let st = self.common(private, &id, policy, allowed);
            s.generate_key_pair(&mechanism, &pt, &st)
        })?;
        Ok(GeneratedKey::KeyPair {
            private: self.issue(&TokenKey {
                kind: private,
                extractable: self.extractable(policy),
                id,
            }),
            public: self.issue(&TokenKey {
                kind: public,
                extractable: true,
                id,
            }),
        })
    }

    /// Unwraps `plain` (already in the form C_UnwrapKey takes: raw bytes or PKCS#8) into a token object of
    /// `kind`, through a one-time transport key.
    fn unwrap_in(
        &self,
        kind: Kind,
        id: &[u8; ID_LEN],
        plain: &[u8],
        policy: &KeyPolicy<'_>,
    ) -> Result<(), BackendError> {
        self.creating("importing a key", |s, allowed| {
            // A fresh transport key per attempt, so the material is wrapped again under each.
            let kek = TransportKey::new(s)?;
            let blob = kwp_wrap(&kek.value, plain).map_err(|_| CkError::InvalidValue)?;
            let t = self.common(kind, id, policy, allowed);
            s.unwrap_key(&Mechanism::AesKeyWrapPad, kek.handle, &blob, &t)
        })?;
        Ok(())
    }

    /// Creates the public object of a pair from its attributes.
    pub(crate) fn create_public_object(
        &self,
        kind: Kind,
        id: &[u8; ID_LEN],
        extra: &[Attribute],
        policy: &KeyPolicy<'_>,
    ) -> Result<(), BackendError> {
        self.creating("importing a public key", |s, allowed| {
            let mut t = self.common(kind, id, policy, allowed);
            t.extend(extra.iter().cloned());
            s.create_object(&t)
        })?;
        Ok(())
    }

    /// Reads the public key of a pair (from the public object) as SubjectPublicKeyInfo DER.
    pub(crate) fn public_spki(&self, key: &TokenKey) -> Result<Vec<u8>, BackendError> {
        let public = encoding::public_kind(key.kind).ok_or_else(|| {
            BackendError::InvalidInput("a symmetric key has no public key".into())
        })?;
        let attrs = match public {
            Kind::RsaPublic => vec![AttributeType::Modulus, AttributeType::PublicExponent],
            _ => vec![AttributeType::EcPoint],
        };
        let values = self.use_object("reading a public key", public, &key.id, |s, h| {
            s.get_attributes(h, &attrs)
        })?;
        encoding::spki_from_attributes(public, &values)
    }

    fn export_secret(&self, key: &TokenKey) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        if !key.extractable {
            return Err(BackendError::NotExtractable);
        }
        let (wrapped, kek) = self.use_key("exporting a key", key, |s, h| {
            let kek = TransportKey::new(s)?;
            let wrapped = s.wrap_key(&Mechanism::AesKeyWrapPad, kek.handle, h)?;
            Ok((wrapped, kek.value.clone()))
        })?;
        let mut plain = kwp_unwrap(&kek, &wrapped)?;
        if matches!(key.kind, Kind::RsaPrivate | Kind::EcPrivate(_)) {
            // SoftHSM pads the PKCS#8 to whole semiblocks before wrapping; the key is the DER inside.
            let len = encoding::der_len(&plain).ok_or(BackendError::Device {
                message: "the token wrapped something that is not PKCS#8".into(),
                retryable: false,
                source: None,
            })?;
            plain.truncate(len);
        }
        Ok(plain)
    }

    fn import_key(
        &self,
        object_type: ObjectType,
        algorithm: Option<CryptographicAlgorithm>,
        material: &KeyMaterial,
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError> {
        let id = new_id()?;
        match object_type {
            ObjectType::SymmetricKey => {
                expect_format(material, KeyFormat::Raw)?;
                let algorithm = algorithm.ok_or_else(|| {
                    BackendError::InvalidInput("a symmetric key needs its algorithm".into())
                })?;
                let kind = encoding::symmetric_kind(algorithm, material.bytes().len())?;
                self.unwrap_in(kind, &id, material.bytes(), policy)?;
                Ok(self.issue(&TokenKey {
                    kind,
                    extractable: self.extractable(policy),
                    id,
                }))
            }
            ObjectType::PrivateKey => {
                expect_format(material, KeyFormat::Pkcs8)?;
                let parsed = encoding::parse_private(algorithm, material.bytes())?;
                self.unwrap_in(parsed.kind, &id, &parsed.pkcs8, policy)?;
                // The public half, so that verification and OAEP encryption run in the token.
                if let Err(e) = self.create_public_object(
                    parsed.public_kind,
                    &id,
                    &parsed.public_attributes,
                    policy,
                ) {
                    let _ = self.destroy_object(parsed.kind, &id);
                    return Err(e);
                }
                Ok(self.issue(&TokenKey {
                    kind: parsed.kind,
                    extractable: self.extractable(policy),
                    id,
                }))
            }
            ObjectType::PublicKey => {
                expect_format(material, KeyFormat::SubjectPublicKeyInfo)?;
                let (kind, attrs) = encoding::parse_public(algorithm, material.bytes())?;
                self.create_public_object(kind, &id, &attrs, policy)?;
                Ok(self.issue(&TokenKey {
                    kind,
                    extractable: true,
                    id,
                }))
            }
            // Nothing for the token to hold: kept by the software backend (see the field's comment).
            _ => self
                .software
                .import(object_type, algorithm, material, policy),
        }
    }

    fn destroy_object(&self, kind: Kind, id: &[u8; ID_LEN]) -> Result<(), BackendError> {
        let r = self.use_object("destroying a key", kind, id, |s, h| s.destroy_object(h));
        self.forget_handle(kind, id);
        match r {
            Ok(()) | Err(BackendError::KeyNotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn expect_format(material: &KeyMaterial, format: KeyFormat) -> Result<(), BackendError> {
    if material.format() == format {
        Ok(())
    } else {
        Err(BackendError::InvalidInput(format!(
            "expected key material in {format:?} format, got {:?}",
            material.format()
        )))
    }
}

impl KeyBackend for Pkcs11Backend {
    fn id(&self) -> &str {
        &self.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn generate(
        &self,
        spec: &KeySpec,
        policy: &KeyPolicy<'_>,
    ) -> Result<GeneratedKey, BackendError> {
        match *spec {
            KeySpec::Symmetric { algorithm, bits } => {
                let (kind, bytes, mechanism) = if algorithm == CryptographicAlgorithm::Aes {
                    if !matches!(bits, 128 | 192 | 256) {
                        return Err(BackendError::Unsupported(format!(
                            "AES keys are 128, 192 or 256 bits, not {bits}"
                        )));
                    }
                    (
                        Kind::Aes((bits / 8) as u8),
                        (bits / 8) as usize,
                        Mechanism::AesKeyGen,
                    )
                } else if let Some(h) = encoding::hmac_hash(algorithm) {
                    let (output, block) = probe::hmac_sizes(h);
                    let bits = match bits {
                        0 => output,
                        b if b % 8 == 0 && (output..=block).contains(&b) => b,
                        b => {
                            return Err(BackendError::Unsupported(format!(
                                "HMAC-{h:?} keys are {output} to {block} bits in whole bytes, not {b}"
                            )));
                        }
                    };
                    (
                        Kind::Hmac(h),
                        (bits / 8) as usize,
                        Mechanism::GenericSecretKeyGen,
                    )
                } else {
                    return Err(BackendError::Unsupported(format!(
                        "generating {algorithm:?} keys"
                    )));
                };
                self.generate_secret(kind, bytes, mechanism, policy)
                    .map(GeneratedKey::Symmetric)
            }
            KeySpec::Rsa { bits } => {
                if !matches!(bits, 2048 | 3072 | 4096) {
                    return Err(BackendError::Unsupported(format!(
                        "RSA keys are 2048, 3072 or 4096 bits, not {bits}"
                    )));
                }
                self.generate_pair(
                    Kind::RsaPrivate,
                    Kind::RsaPublic,
                    Mechanism::RsaPkcsKeyPairGen,
                    vec![
                        Attribute::ModulusBits(cryptoki::types::Ulong::from(u64::from(bits))),
                        Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
                    ],
                    policy,
                )
            }
            KeySpec::Ec { curve } => {
                let params = encoding::curve_oid_der(curve)?;
                self.generate_pair(
                    Kind::EcPrivate(curve),
                    Kind::EcPublic(curve),
                    Mechanism::EccKeyPairGen,
                    vec![Attribute::EcParams(params.to_vec())],
                    policy,
                )
            }
        }
    }

    fn import(
        &self,
        object_type: ObjectType,
        algorithm: Option<CryptographicAlgorithm>,
        material: &KeyMaterial,
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError> {
        self.import_key(object_type, algorithm, material, policy)
    }

    fn export(&self, key: &KeyRef) -> Result<KeyMaterial, BackendError> {
        let k = self.decode(key)?;
        match k.kind {
            Kind::RsaPublic | Kind::EcPublic(_) => Ok(KeyMaterial::new(
                KeyFormat::SubjectPublicKeyInfo,
                Zeroizing::new(self.public_spki(&k)?),
            )),
            Kind::RsaPrivate | Kind::EcPrivate(_) => {
                Ok(KeyMaterial::new(KeyFormat::Pkcs8, self.export_secret(&k)?))
            }
            Kind::Aes(_) | Kind::Hmac(_) => {
                Ok(KeyMaterial::new(KeyFormat::Raw, self.export_secret(&k)?))
            }
        }
    }

    fn destroy(&self, key: &KeyRef) -> Result<(), BackendError> {
        let k = self.decode(key)?;
        self.destroy_object(k.kind, &k.id)
    }

    fn exists(&self, key: &KeyRef) -> Result<bool, BackendError> {
        let k = match self.decode(key) {
            Ok(k) => k,
            Err(BackendError::MalformedKeyRef) => return Ok(false),
            Err(e) => return Err(e),
        };
        // Asked of the token itself, not of the handle cache: reconciliation wants the truth.
        self.forget_handle(k.kind, &k.id);
        match self.use_key("looking up a key", &k, |_, _| Ok(())) {
            Ok(()) => Ok(true),
            Err(BackendError::KeyNotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn cipher(&self) -> Option<&dyn Cipher> {
        let ops = kms_core::backend::Operations::ENCRYPT;
        self.capabilities
            .algorithms
            .iter()
            .any(|c| {
                c.operations
                    .intersects(ops | kms_core::backend::Operations::DECRYPT)
            })
            .then_some(self as &dyn Cipher)
    }

    fn signer(&self) -> Option<&dyn Signer> {
        let ops = kms_core::backend::Operations::SIGN | kms_core::backend::Operations::VERIFY;
        self.capabilities
            .algorithms
            .iter()
            .any(|c| c.operations.intersects(ops))
            .then_some(self as &dyn Signer)
    }

    fn mac(&self) -> Option<&dyn Mac> {
        self.capabilities
            .algorithms
            .iter()
            .any(|c| c.operations.contains(kms_core::backend::Operations::MAC))
            .then_some(self as &dyn Mac)
    }

    fn key_wrap(&self) -> Option<&dyn KeyWrap> {
        let ops = kms_core::backend::Operations::WRAP | kms_core::backend::Operations::UNWRAP;
        self.capabilities
            .algorithms
            .iter()
            .any(|c| c.operations.intersects(ops))
            .then_some(self as &dyn KeyWrap)
    }

    fn random(&self) -> Option<&dyn Random> {
        self.capabilities.random.then_some(self as &dyn Random)
    }
}

impl Random for Pkcs11Backend {
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), BackendError> {
        // Bounded chunks: some tokens cap one C_GenerateRandom.
        for chunk in buf.chunks_mut(64 * 1024) {
            self.with_session("generating random bytes", |s| {
                s.generate_random_slice(chunk)
            })?;
        }
        Ok(())
    }
}
