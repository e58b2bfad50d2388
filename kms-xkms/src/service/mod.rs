//! [`XkmsService`]: XKMS 2.0 requests answered from kms-core's [`KeyManager`], the same one KMIP serves, so a
//! key registered over XKMS is found by KMIP Locate and the reverse.
//!
//! - X-KISS (section 4 and 5): Locate and Validate over the KeyManager's public keys and certificates, by
//!   KeyName (the KMIP Name), UseKeyWith, KeyUsage (the KMIP Cryptographic Usage Mask), KeyValue or
//!   certificate; Validate also checks X.509 paths against the trust anchors an administrator added.
//! - X-KRSS (section 7): Register (a client key with ProofOfPossession, or a server-generated RSA pair returned
//!   as an encrypted PrivateKey), Reissue, Revoke (by RevocationCode or authentication) and Recover (from the
//!   KeyManager, or through kms-escrow with a Pending answer when agents must approve). Authentication is
//!   KeyBindingAuthentication under a limited-use pass phrase an administrator issued for the key name:
//!   single use, expiring, burned after repeated failures.
//! - Protocol (section 3): Compound, asynchronous processing (Pending, PendingRequest, StatusRequest), the
//!   two-phase protocol with a nonce the service checks without state (an HMAC under a service key), kept
//!   only to refuse its replay.
//!
//! Keys registered over XKMS belong to the KMIP principal named like the key (the pass phrase's name), so
//! the KMIP client with that certificate name manages them too. The service itself reads and revokes as the
//! administrator principal `xkms`; Locate and Validate only ever return public keys and certificates.

mod keys;
mod kiss;
mod krss;
mod notify;
mod pass_phrase;
mod pending;
mod x509;

use std::collections::HashMap;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use kms_core::{KeyManager, Principal};
use parking_lot::Mutex;
use sha2::Sha256;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

pub use keys::{
    ATTR_ESCROW_DEPOSIT, ATTR_GENERATED, ATTR_REVOCATION_CODE_IDENTIFIER, ATTR_USE_KEY_WITH,
    TRUST_ANCHOR_GROUP,
};
/// The escrow crate, so that users of [`EscrowSettings`] name the same types.
pub use kms_escrow;
pub use notify::{
    MECHANISM_HTTP, MECHANISM_SMTP, Notification, NotificationTarget, Notifier, NotifyError,
};
pub use pending::{EscrowSettings, EscrowSource, PENDING_GROUP, RECOVER_PURPOSE};

use crate::messages::{
    CompoundResult, KeyBindingPrivateKeyResult, KeyBindingResult, LocateResult, Request,
    RequestHeader, ResponseMechanism, ResultHeader, ResultMajor, ResultMinor, StatusResult,
    XkmsResult,
};
use crate::xenc::EncryptionMethod;
use crate::xml::Limits;
use crate::{SoapVersion, parse_request_with_limits, serialize_result};

/// Name of the administrator principal the service acts as.
pub const SERVICE_PRINCIPAL: &str = "xkms";

/// Why an administrative call ([`XkmsService::issue_pass_phrase`], [`XkmsService::add_trust_anchor`]) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The system random generator failed.
    #[error("random generator failure")]
    Random,
    /// Too many pass phrases are outstanding.
    #[error("too many outstanding pass phrases")]
    TooManyPassPhrases,
    /// The key name is empty, too long or not usable as a KMIP principal name.
    #[error("invalid key name")]
    InvalidName,
    /// The certificate does not parse (PEM or DER X.509).
    #[error("not an X.509 certificate")]
    InvalidCertificate,
    /// The key manager refused.
    #[error(transparent)]
    KeyManager(#[from] kms_core::Error),
}

/// When the two-phase protocol (section 3.4.4) is used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RepresentPolicy {
    /// Never: requests are answered at once even when the client offers `Represent`.
    Off,
    /// When the client offers `Represent`: the first request gets a nonce to send back.
    #[default]
    WhenOffered,
    /// Always: requests that do not offer `Represent` get Sender / RepresentRequired.
    Required,
}

/// Tuning of [`XkmsService`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct XkmsConfig {
    /// The `Service` URI put in results when the request did not name one.
    pub service: Option<String>,
    /// How long an issued pass phrase may be used.
    pub pass_phrase_lifetime: Duration,
    /// Failed authentications after which a pass phrase is burned.
    pub max_pass_phrase_failures: u32,
    /// The two-phase protocol.
    pub represent: RepresentPolicy,
    /// How long a two-phase nonce stays good.
    pub nonce_lifetime: Duration,
    /// Most key bindings in one result (a smaller `ResponseLimit` wins).
    pub max_key_bindings: usize,
    /// Most objects a Locate or Validate reads before filtering.
    pub max_scan: usize,
    /// Validity given to registered keys when the request asks for none.
    pub default_validity: Duration,
    /// Modulus length of server-generated RSA keys.
    pub rsa_bits: u32,
    /// How a PrivateKey is encrypted.
    pub private_key_encryption: EncryptionMethod,
    /// XML limits of requests.
    pub limits: Limits,
    /// How long a pending request (an escrowed Recover) is kept at most; the escrow request's own expiry
    /// may end it sooner.
    pub pending_lifetime: Duration,
    /// Most pending requests of one requester (the name its pass phrase was issued for).
    pub max_pending_per_requester: usize,
}

impl Default for XkmsConfig {
    fn default() -> Self {
        Self {
            service: None,
            pass_phrase_lifetime: Duration::days(7),
            max_pass_phrase_failures: 5,
            represent: RepresentPolicy::WhenOffered,
            nonce_lifetime: Duration::minutes(5),
            max_key_bindings: 100,
            max_scan: 10_000,
            default_validity: Duration::days(365),
            rsa_bits: 2048,
            private_key_encryption: EncryptionMethod::Aes256Cbc,
            limits: Limits::default(),
            pending_lifetime: Duration::days(7),
            max_pending_per_requester: 8,
        }
    }
}

impl XkmsConfig {
    /// This configuration with another Service URI.
    #[must_use]
    pub fn with_service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// This configuration with another two-phase policy.
    #[must_use]
    pub fn with_represent(mut self, represent: RepresentPolicy) -> Self {
        self.represent = represent;
        self
    }

    /// This configuration with another modulus length for server-generated keys.
    #[must_use]
    pub fn with_rsa_bits(mut self, bits: u32) -> Self {
        self.rsa_bits = bits;
        self
    }

    /// This configuration with another pass phrase lifetime.
    #[must_use]
    pub fn with_pass_phrase_lifetime(mut self, lifetime: Duration) -> Self {
        self.pass_phrase_lifetime = lifetime;
        self
    }
}

/// Most two-phase nonces remembered as used (each until it expires).
const MAX_USED_NONCES: usize = 1 << 20;
const NONCE_LEN: usize = 8 + 16 + 16;

/// The XKMS service over a [`KeyManager`].
pub struct XkmsService {
    manager: Arc<KeyManager>,
    config: XkmsConfig,
    principal: Principal,
    pass_phrases: pass_phrase::PassPhrases,
    nonce_key: Zeroizing<[u8; 32]>,
    used_nonces: Mutex<HashMap<[u8; NONCE_LEN], OffsetDateTime>>,
    pending: pending::PendingTable,
    escrow: Option<EscrowSettings>,
    notifier: Option<Arc<dyn Notifier>>,
    clock: Arc<dyn Fn() -> OffsetDateTime + Send + Sync>,
}

impl std::fmt::Debug for XkmsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XkmsService")
            .field("config", &self.config)
            .field("escrow", &self.escrow.is_some())
            .field("notifier", &self.notifier.is_some())
            .finish_non_exhaustive()
    }
}

impl XkmsService {
    /// A service over `manager` with the default configuration and no escrow.
    ///
    /// # Errors
    /// [`ServiceError::Random`] if the nonce key cannot be drawn.
    pub fn new(manager: Arc<KeyManager>) -> Result<Self, ServiceError> {
        let mut nonce_key = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut nonce_key[..]).map_err(|_| ServiceError::Random)?;
        let config = XkmsConfig::default();
        Ok(Self {
            manager,
            pass_phrases: pass_phrase::PassPhrases::new(
                config.pass_phrase_lifetime,
                config.max_pass_phrase_failures,
            ),
            config,
            principal: Principal::admin(SERVICE_PRINCIPAL)
                .map_err(|_| ServiceError::InvalidName)?,
            nonce_key,
            used_nonces: Mutex::new(HashMap::new()),
            pending: pending::PendingTable::default(),
            escrow: None,
            notifier: None,
            clock: Arc::new(OffsetDateTime::now_utc),
        })
    }

    /// This service with another configuration.
    #[must_use]
    pub fn with_config(mut self, config: XkmsConfig) -> Self {
        self.pass_phrases = pass_phrase::PassPhrases::new(
            config.pass_phrase_lifetime,
            config.max_pass_phrase_failures,
        );
        self.config = config;
        self
    }

    /// This service escrowing the private keys it generates, and recovering them through the escrow.
    #[must_use]
    pub fn with_escrow(mut self, escrow: EscrowSettings) -> Self {
        self.escrow = Some(escrow);
        self
    }

    /// This service honouring PendingNotification through `notifier` (see [`XkmsService::poll_pending`]);
    /// without one, a request naming a notification mechanism is refused with OptionalElementNotSupported
    /// when it would go Pending.
    #[must_use]
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// This service reading the time from `clock` (tests of expiry).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Fn() -> OffsetDateTime + Send + Sync>) -> Self {
        self.clock = clock;
        self
    }

    /// The key manager behind the service.
    #[must_use]
    pub fn manager(&self) -> &Arc<KeyManager> {
        &self.manager
    }

    fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    /// Issues a one-time pass phrase for key name `name` (the administrator's side of section 8.1): the
    /// client authenticates one Register, Reissue, Revoke or Recover of that name with it. A new pass phrase
    /// replaces any outstanding one.
    ///
    /// # Errors
    /// [`ServiceError::InvalidName`], [`ServiceError::TooManyPassPhrases`], [`ServiceError::Random`].
    pub fn issue_pass_phrase(&self, name: &str) -> Result<Zeroizing<String>, ServiceError> {
        Principal::new(name).map_err(|_| ServiceError::InvalidName)?;
        if name.chars().any(char::is_control) {
            return Err(ServiceError::InvalidName);
        }
        let phrase = self.pass_phrases.issue(name, self.now())?;
        tracing::info!(target: "kms_xkms::service", name, "pass phrase issued");
        Ok(phrase)
    }

    /// Adds a trust anchor for Validate: a CA certificate, PEM or DER, kept in the KeyManager as a
    /// Certificate object in the Object Group [`TRUST_ANCHOR_GROUP`].
    ///
    /// # Errors
    /// [`ServiceError::InvalidCertificate`]; [`ServiceError::KeyManager`].
    pub fn add_trust_anchor(&self, pem_or_der: &[u8]) -> Result<kms_core::ObjectId, ServiceError> {
        kiss::add_trust_anchor(self, pem_or_der)
    }

    /// Answers one SOAP message: the result in the request's SOAP version, or, for what does not parse, the
    /// fault or Sender result [`crate::RequestError::answer`] builds. When even the envelope could not be
    /// read, the fault is SOAP 1.1 if the bytes name the SOAP 1.1 namespace (a SOAP 1.1 client sent them),
    /// otherwise `fallback`.
    #[must_use]
    pub fn handle_soap(&self, bytes: &[u8], fallback: SoapVersion) -> (SoapVersion, Vec<u8>) {
        match parse_request_with_limits(bytes, &self.config.limits) {
            Ok((version, request)) => (version, serialize_result(version, &self.process(request))),
            Err(e) => {
                let guess = if contains(bytes, crate::soap::SOAP11_NS.as_bytes()) {
                    SoapVersion::Soap11
                } else {
                    fallback
                };
                e.answer(guess, &fresh_id(), self.config.service.as_deref())
            }
        }
    }

    /// Answers one request.
    #[must_use]
    pub fn process(&self, request: Request) -> XkmsResult {
        let now = self.now();
        match &request {
            Request::Pending(p) => return self.pending_request(p, now),
            Request::Status(s) => return self.status_request(s, now),
            _ => {}
        }
        if let Some(answer) = self.two_phase(&request, now) {
            return answer;
        }
        if let Some(answer) = self.check_message_signature(&request) {
            return answer;
        }
        match request {
            Request::Compound(c) => {
                let results = c
                    .requests
                    .iter()
                    .map(|r| match self.check_message_signature(r) {
                        Some(a) => a,
                        None => self.process_one(r, now),
                    })
                    .collect();
                XkmsResult::Compound(CompoundResult {
                    header: self.header(&c.header, ResultMajor::Success, None),
                    results,
                })
            }
            other => self.process_one(&other, now),
        }
    }

    fn process_one(&self, request: &Request, now: OffsetDateTime) -> XkmsResult {
        match request {
            Request::Locate(r) => self.locate(r, now),
            Request::Validate(r) => self.validate(r, now),
            Request::Register(r) => self.register(r, now),
            Request::Reissue(r) => self.reissue(r, now),
            Request::Revoke(r) => self.revoke(r, now),
            Request::Recover(r) => self.recover(r, now),
            Request::Compound(_) | Request::Pending(_) | Request::Status(_) => {
                let h = request.header();
                self.error(
                    request,
                    h,
                    ResultMajor::Sender,
                    ResultMinor::MessageNotSupported,
                )
            }
        }
    }

    /// A message signature, when present, must verify under the key its KeyInfo carries (it proves nothing
    /// about identity, but a broken one means the message was altered).
    fn check_message_signature(&self, request: &Request) -> Option<XkmsResult> {
        let h = request.header();
        let sig = h.message.signature.as_ref()?;
        let key = sig.key_info().ok().flatten().and_then(|ki| {
            ki.key_value()
                .and_then(crate::messages::KeyValue::verifying_key)
                .or_else(|| {
                    let cert = x509::parse(ki.certificates().next()?)?;
                    keys::spki_verifying_key(&x509::spki_der(&cert)?)
                })
        });
        let key = key?;
        match sig.verify_covers(&key, &h.message.id) {
            Ok(_) => None,
            Err(_) => Some(self.error(
                request,
                h,
                ResultMajor::Sender,
                ResultMinor::NoAuthentication,
            )),
        }
    }

    // ---- two-phase protocol (section 3.4.4) ----

    fn nonce_mac(&self, head: &[u8], original_request_id: &str) -> [u8; 16] {
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.nonce_key[..])
            .unwrap_or_else(|_| unreachable!());
        mac.update(b"kms-xkms two-phase nonce\0");
        mac.update(head);
        mac.update(original_request_id.as_bytes());
        let mut out = [0u8; 16];
        out.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        out
    }

    fn make_nonce(&self, request_id: &str, now: OffsetDateTime) -> Option<Vec<u8>> {
        let expires = (now + self.config.nonce_lifetime).unix_timestamp();
        let mut head = [0u8; 24];
        head[..8].copy_from_slice(&expires.to_be_bytes());
        getrandom::fill(&mut head[8..]).ok()?;
        let mut nonce = head.to_vec();
        nonce.extend_from_slice(&self.nonce_mac(&head, request_id));
        Some(nonce)
    }

    /// Checks a returned nonce: made here, for this original request, not expired, not used before.
    fn accept_nonce(&self, nonce: &[u8], original_request_id: &str, now: OffsetDateTime) -> bool {
        let Ok(nonce) = <[u8; NONCE_LEN]>::try_from(nonce) else {
            return false;
        };
        let mac = self.nonce_mac(&nonce[..24], original_request_id);
        if !crate::shared_secret::constant_time_eq(&mac, &nonce[24..]) {
            return false;
        }
        let mut expires = [0u8; 8];
        expires.copy_from_slice(&nonce[..8]);
        let Ok(expires) = OffsetDateTime::from_unix_timestamp(i64::from_be_bytes(expires)) else {
            return false;
        };
        if expires <= now {
            return false;
        }
        let mut used = self.used_nonces.lock();
        if used.len() >= MAX_USED_NONCES {
            used.retain(|_, e| *e > now);
            if used.len() >= MAX_USED_NONCES {
                return false;
            }
        }
        used.insert(nonce, expires).is_none()
    }

    fn two_phase(&self, request: &Request, now: OffsetDateTime) -> Option<XkmsResult> {
        let h = request.header();
        let offered = h
            .response_mechanisms
            .contains(&ResponseMechanism::Represent);
        if let Some(nonce) = &h.message.nonce {
            let original = h.original_request_id.as_deref().unwrap_or_default();
            return if self.config.represent != RepresentPolicy::Off
                && self.accept_nonce(nonce, original, now)
            {
                None
            } else {
                Some(self.error(request, h, ResultMajor::Sender, ResultMinor::Refused))
            };
        }
        match (self.config.represent, offered) {
            (RepresentPolicy::Required, false) => Some(self.error(
                request,
                h,
                ResultMajor::Sender,
                ResultMinor::RepresentRequired,
            )),
            (RepresentPolicy::Off, _) | (RepresentPolicy::WhenOffered, false) => None,
            (_, true) => {
                let Some(nonce) = self.make_nonce(&h.message.id, now) else {
                    return Some(self.error(
                        request,
                        h,
                        ResultMajor::Receiver,
                        ResultMinor::Failure,
                    ));
                };
                let mut header = self.header(h, ResultMajor::Represent, None);
                header.message.nonce = Some(nonce);
                Some(empty_result(request, header))
            }
        }
    }

    // ---- results ----

    /// A result header answering `req`: fresh Id, the request's Service, RequestId, OpaqueClientData echoed
    /// (section 3.1.1 requires it), and RequestSignatureValue when asked for and the request was signed.
    fn header(
        &self,
        req: &RequestHeader,
        major: ResultMajor,
        minor: Option<ResultMinor>,
    ) -> ResultHeader {
        let service = req
            .message
            .service
            .clone()
            .or_else(|| self.config.service.clone());
        let mut h = ResultHeader::new(fresh_id(), service, major);
        h.result_minor = minor;
        h.request_id = Some(req.message.id.clone());
        h.message
            .opaque_client_data
            .clone_from(&req.message.opaque_client_data);
        if req
            .response_mechanisms
            .contains(&ResponseMechanism::RequestSignatureValue)
        {
            h.request_signature_value = req
                .message
                .signature
                .as_ref()
                .and_then(|s| signature_value(&s.element));
        }
        h
    }

    /// The result of `request`'s type carrying only a header with `major` / `minor`.
    fn error(
        &self,
        request: &Request,
        req: &RequestHeader,
        major: ResultMajor,
        minor: ResultMinor,
    ) -> XkmsResult {
        empty_result(request, self.header(req, major, Some(minor)))
    }
}

/// The result element matching the request, with no content.
fn empty_result(request: &Request, header: ResultHeader) -> XkmsResult {
    match request {
        Request::Locate(_) => XkmsResult::Locate(LocateResult {
            header,
            unverified_key_bindings: Vec::new(),
        }),
        Request::Validate(_) => XkmsResult::Validate(KeyBindingResult {
            header,
            key_bindings: Vec::new(),
        }),
        Request::Register(_) => XkmsResult::Register(KeyBindingPrivateKeyResult {
            header,
            key_bindings: Vec::new(),
            private_key: None,
        }),
        Request::Reissue(_) => XkmsResult::Reissue(KeyBindingResult {
            header,
            key_bindings: Vec::new(),
        }),
        Request::Revoke(_) => XkmsResult::Revoke(KeyBindingResult {
            header,
            key_bindings: Vec::new(),
        }),
        Request::Recover(_) => XkmsResult::Recover(KeyBindingPrivateKeyResult {
            header,
            key_bindings: Vec::new(),
            private_key: None,
        }),
        Request::Compound(_) => XkmsResult::Compound(CompoundResult {
            header,
            results: Vec::new(),
        }),
        Request::Status(_) => XkmsResult::Status(StatusResult {
            header,
            success: None,
            failure: None,
            pending: None,
        }),
        Request::Pending(_) => XkmsResult::Result(header),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The decoded `ds:SignatureValue` of a signature element.
fn signature_value(sig: &crate::xml::Element) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let v = sig.child_elements().find(|c| c.local == "SignatureValue")?;
    let t: String = v
        .text()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(t.as_bytes())
        .ok()
}

/// A fresh message or key binding Id: an NCName with 128 random bits.
pub(crate) fn fresh_id() -> String {
    let mut b = [0u8; 16];
    // An Id only needs to be unique; should the RNG fail, the clock keeps it so in practice.
    if getrandom::fill(&mut b).is_err() {
        let t = OffsetDateTime::now_utc().unix_timestamp_nanos();
        b.copy_from_slice(&t.to_be_bytes());
    }
    let mut s = String::with_capacity(33);
    s.push('I');
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}
