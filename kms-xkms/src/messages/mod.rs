//! The XKMS 2.0 message model (namespace `http://www.w3.org/2002/03/xkms#`), named as in the
//! Recommendation's schema, and its XML codec.
//!
//! Decoding is lenient where real clients deviate (Apache CXF's Ids that are not XML IDs, a missing
//! `Service`, the 2003 drafts' short enumeration values, an unqualified `KeyName`); encoding always
//! produces schema-valid XML.

mod decode;
mod encode;
mod values;

use std::sync::Arc;

pub use decode::{decode_message, decode_request, decode_result};
pub use encode::{encode_message, encode_request, encode_result};
pub use values::{
    KeyUsage, Reason, RespondWith, ResponseMechanism, ResultMajor, ResultMinor, StatusValue,
};

use time::OffsetDateTime;

use crate::dsig::{self, SignOptions, SigningKey, Verified, VerifyingKey};
use crate::error::SignatureError;
use crate::xenc::EncryptedData;
use crate::xml::{Document, Element};

/// The XKMS 2.0 namespace.
pub const XKMS_NS: &str = "http://www.w3.org/2002/03/xkms#";
/// The XML Signature 1.1 namespace (for `dsig11:ECKeyValue`).
pub const DSIG11_NS: &str = "http://www.w3.org/2009/xmldsig11#";

/// A ds:Signature inside a message, with where it came from so that it can be verified.
#[derive(Clone, Debug)]
pub struct XmlSignature {
    /// The ds:Signature element, carrying every namespace declaration it needs.
    pub element: Element,
    origin: Option<(Arc<Document>, Vec<usize>)>,
}

impl PartialEq for XmlSignature {
    fn eq(&self, other: &Self) -> bool {
        self.element == other.element
    }
}

impl Eq for XmlSignature {}

impl XmlSignature {
    /// A signature element not (yet) tied to a parsed document.
    #[must_use]
    pub fn new(element: Element) -> Self {
        Self {
            element,
            origin: None,
        }
    }

    pub(crate) fn with_origin(element: Element, doc: Arc<Document>, path: Vec<usize>) -> Self {
        Self {
            element,
            origin: Some((doc, path)),
        }
    }

    /// The `ds:KeyInfo` inside the signature (a KeyValue or certificate the signer sent), if any.
    ///
    /// The caller decides whether to trust that key: a signature that verifies under a key it carries
    /// itself proves possession, not identity.
    ///
    /// # Errors
    /// [`crate::DecodeError`] if the KeyInfo is malformed.
    pub fn key_info(&self) -> Result<Option<KeyInfo>, crate::DecodeError> {
        decode::decode_signature_key_info(&self.element)
    }

    /// Verifies the signature against the message it was parsed from.
    ///
    /// # Errors
    /// [`SignatureError`] if it does not verify, or [`SignatureError::Malformed`] if this signature
    /// was not parsed from a message.
    pub fn verify(&self, key: &VerifyingKey) -> Result<Verified, SignatureError> {
        let (doc, path) = self.origin.as_ref().ok_or_else(|| {
            SignatureError::Malformed("signature was not parsed from a message".into())
        })?;
        dsig::verify(doc, path, key)
    }

    /// Verifies the signature and that it covers the element with Id `id`.
    ///
    /// # Errors
    /// As [`Self::verify`], and [`SignatureError::WrongReference`] if `id` is not covered.
    pub fn verify_covers(&self, key: &VerifyingKey, id: &str) -> Result<Verified, SignatureError> {
        let v = self.verify(key)?;
        if v.covers(id) {
            Ok(v)
        } else {
            Err(SignatureError::WrongReference)
        }
    }
}

/// Fields of `MessageAbstractType` (section 3.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageHeader {
    /// `Id` (schema: xs:ID; CXF sends arbitrary strings, which are kept as received).
    pub id: String,
    /// `Service` (required by the schema, often missing from CXF messages).
    pub service: Option<String>,
    /// `Nonce`.
    pub nonce: Option<Vec<u8>>,
    /// The message signature (`ds:Signature`, enveloped, referencing the message Id).
    pub signature: Option<XmlSignature>,
    /// `MessageExtension` elements, kept as received (decoded only: the element is abstract and XKMS
    /// defines no concrete extension, so the encoder never emits them).
    pub message_extensions: Vec<Element>,
    /// `OpaqueClientData/OpaqueData` values; `None` when the element is absent.
    pub opaque_client_data: Option<Vec<Vec<u8>>>,
}

/// `PendingNotification` (section 3.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingNotification {
    /// `Mechanism` (e.g. `urn:ietf:rfc:822`).
    pub mechanism: String,
    /// `Identifier` (e.g. `mailto:…`).
    pub identifier: String,
}

/// Fields of `RequestAbstractType` (section 3.1.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestHeader {
    /// The MessageAbstractType fields.
    pub message: MessageHeader,
    /// `ResponseMechanism` values.
    pub response_mechanisms: Vec<ResponseMechanism>,
    /// `RespondWith` values.
    pub respond_with: Vec<RespondWith>,
    /// `PendingNotification`.
    pub pending_notification: Option<PendingNotification>,
    /// `OriginalRequestId` (two-phase protocol).
    pub original_request_id: Option<String>,
    /// `ResponseLimit`.
    pub response_limit: Option<u64>,
}

/// Fields of `ResultType` (section 3.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultHeader {
    /// The MessageAbstractType fields.
    pub message: MessageHeader,
    /// `ResultMajor`.
    pub result_major: ResultMajor,
    /// `ResultMinor`.
    pub result_minor: Option<ResultMinor>,
    /// `RequestId`.
    pub request_id: Option<String>,
    /// `RequestSignatureValue`.
    pub request_signature_value: Option<Vec<u8>>,
}

impl ResultHeader {
    /// A result header with the given major code and no minor code.
    #[must_use]
    pub fn new(id: impl Into<String>, service: Option<String>, result_major: ResultMajor) -> Self {
        Self {
            message: MessageHeader {
                id: id.into(),
                service,
                ..MessageHeader::default()
            },
            result_major,
            result_minor: None,
            request_id: None,
            request_signature_value: None,
        }
    }
}

/// A `ds:KeyValue`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyValue {
    /// `ds:RSAKeyValue`.
    Rsa {
        /// Modulus, big-endian.
        modulus: Vec<u8>,
        /// Public exponent, big-endian.
        exponent: Vec<u8>,
    },
    /// `dsig11:ECKeyValue` with a named curve.
    Ec {
        /// `NamedCurve/@URI`, e.g. `urn:oid:1.2.840.10045.3.1.7` for P-256.
        named_curve: String,
        /// `PublicKey`: the uncompressed SEC1 point.
        public_key: Vec<u8>,
    },
    /// Any other key value (DSA, …), kept as received.
    Other(Element),
}

/// The `urn:oid` of NIST P-256 in `dsig11:NamedCurve`.
pub const P256_CURVE_URI: &str = "urn:oid:1.2.840.10045.3.1.7";

impl KeyValue {
    /// The verifying key this KeyValue describes, if it is RSA or P-256.
    #[must_use]
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        match self {
            Self::Rsa { modulus, exponent } => rsa::PublicKey::new(
                rsa::BoxedUint::from_be_slice_vartime(modulus),
                rsa::BoxedUint::from_be_slice_vartime(exponent),
            )
            .ok()
            .map(VerifyingKey::Rsa),
            Self::Ec {
                named_curve,
                public_key,
            } if named_curve == P256_CURVE_URI => {
                p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
                    .ok()
                    .map(VerifyingKey::EcdsaP256)
            }
            _ => None,
        }
    }
}

/// One item of `ds:X509Data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum X509Item {
    /// `X509Certificate` (DER).
    Certificate(Vec<u8>),
    /// `X509SubjectName`.
    SubjectName(String),
    /// `X509IssuerSerial`.
    IssuerSerial {
        /// `X509IssuerName`.
        issuer_name: String,
        /// `X509SerialNumber` (decimal).
        serial_number: String,
    },
    /// `X509SKI`.
    Ski(Vec<u8>),
    /// `X509CRL` (DER).
    Crl(Vec<u8>),
}

/// One child of `ds:KeyInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyInfoItem {
    /// `KeyName`.
    KeyName(String),
    /// `KeyValue`.
    KeyValue(KeyValue),
    /// `X509Data`.
    X509Data(Vec<X509Item>),
    /// Anything else (RetrievalMethod, PGPData, …), kept as received.
    Other(Element),
}

/// `ds:KeyInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyInfo {
    /// `Id`.
    pub id: Option<String>,
    /// The children in document order.
    pub items: Vec<KeyInfoItem>,
}

impl KeyInfo {
    /// The KeyName values.
    pub fn key_names(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(|i| match i {
            KeyInfoItem::KeyName(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// The first KeyValue.
    #[must_use]
    pub fn key_value(&self) -> Option<&KeyValue> {
        self.items.iter().find_map(|i| match i {
            KeyInfoItem::KeyValue(v) => Some(v),
            _ => None,
        })
    }

    /// The X509Certificate values in document order.
    pub fn certificates(&self) -> impl Iterator<Item = &[u8]> {
        self.items
            .iter()
            .filter_map(|i| match i {
                KeyInfoItem::X509Data(d) => Some(d),
                _ => None,
            })
            .flatten()
            .filter_map(|x| match x {
                X509Item::Certificate(c) => Some(c.as_slice()),
                _ => None,
            })
    }
}

/// `UseKeyWith` (section 4.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UseKeyWith {
    /// `Application` URI (e.g. `urn:ietf:rfc:2633` for S/MIME).
    pub application: String,
    /// `Identifier` (e.g. an e-mail address).
    pub identifier: String,
}

/// `ValidityInterval` (section 5.1.4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidityInterval {
    /// `NotBefore`.
    pub not_before: Option<OffsetDateTime>,
    /// `NotOnOrAfter`.
    pub not_on_or_after: Option<OffsetDateTime>,
}

/// `Status` of a KeyBinding (section 5.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// `StatusValue`.
    pub status_value: StatusValue,
    /// `ValidReason` values.
    pub valid_reasons: Vec<Reason>,
    /// `IndeterminateReason` values.
    pub indeterminate_reasons: Vec<Reason>,
    /// `InvalidReason` values.
    pub invalid_reasons: Vec<Reason>,
}

impl Status {
    /// A status with no reasons.
    #[must_use]
    pub fn new(status_value: StatusValue) -> Self {
        Self {
            status_value,
            valid_reasons: Vec::new(),
            indeterminate_reasons: Vec::new(),
            invalid_reasons: Vec::new(),
        }
    }
}

/// Fields of `KeyBindingAbstractType` (section 4.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyBindingCore {
    /// `Id`.
    pub id: Option<String>,
    /// `ds:KeyInfo`.
    pub key_info: Option<KeyInfo>,
    /// `KeyUsage` values (at most 3).
    pub key_usage: Vec<KeyUsage>,
    /// `UseKeyWith` values.
    pub use_key_with: Vec<UseKeyWith>,
}

/// `QueryKeyBinding` (section 4.1.3 / 5.1.5): the template of a Locate or Validate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryKeyBinding {
    /// The common key binding fields.
    pub core: KeyBindingCore,
    /// `TimeInstant/@Time`.
    pub time_instant: Option<OffsetDateTime>,
}

/// `UnverifiedKeyBinding` (section 4.1.4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnverifiedKeyBinding {
    /// The common key binding fields.
    pub core: KeyBindingCore,
    /// `ValidityInterval`.
    pub validity_interval: Option<ValidityInterval>,
}

/// `KeyBinding`, and the `ReissueKeyBinding`, `RevokeKeyBinding` and `RecoverKeyBinding` of the same
/// type (section 5.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBinding {
    /// The common key binding fields.
    pub core: KeyBindingCore,
    /// `ValidityInterval`.
    pub validity_interval: Option<ValidityInterval>,
    /// `Status`.
    pub status: Status,
}

/// `PrototypeKeyBinding` (section 7.1.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrototypeKeyBinding {
    /// The common key binding fields.
    pub core: KeyBindingCore,
    /// `ValidityInterval` requested.
    pub validity_interval: Option<ValidityInterval>,
    /// `RevocationCodeIdentifier`: `HMAC-SHA1(0x03, RevocationCode)`.
    pub revocation_code_identifier: Option<Vec<u8>>,
}

/// `NotBoundAuthentication` (section 7.1.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotBoundAuthentication {
    /// `Protocol` URI.
    pub protocol: String,
    /// `Value`.
    pub value: Vec<u8>,
}

/// `Authentication` (section 7.1.4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Authentication {
    /// `KeyBindingAuthentication/ds:Signature` (HMAC under the `0x01` shared-secret key).
    pub key_binding_authentication: Option<XmlSignature>,
    /// `NotBoundAuthentication`.
    pub not_bound_authentication: Option<NotBoundAuthentication>,
}

/// `PrivateKey` (section 7.1.13): an EncryptedData of an `RSAKeyPair`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateKey {
    /// The `xenc:EncryptedData`.
    pub encrypted_data: EncryptedData,
}

/// `LocateRequest` (section 4.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocateRequest {
    /// The request fields.
    pub header: RequestHeader,
    /// `QueryKeyBinding`.
    pub query_key_binding: QueryKeyBinding,
}

/// `ValidateRequest` (section 4.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidateRequest {
    /// The request fields.
    pub header: RequestHeader,
    /// `QueryKeyBinding`.
    pub query_key_binding: QueryKeyBinding,
}

/// `RegisterRequest` (section 7.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterRequest {
    /// The request fields.
    pub header: RequestHeader,
    /// `PrototypeKeyBinding`.
    pub prototype_key_binding: PrototypeKeyBinding,
    /// `Authentication`.
    pub authentication: Authentication,
    /// `ProofOfPossession/ds:Signature`.
    pub proof_of_possession: Option<XmlSignature>,
}

/// `ReissueRequest` (section 7.1.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReissueRequest {
    /// The request fields.
    pub header: RequestHeader,
    /// `ReissueKeyBinding`.
    pub reissue_key_binding: KeyBinding,
    /// `Authentication`.
    pub authentication: Authentication,
    /// `ProofOfPossession/ds:Signature`.
    pub proof_of_possession: Option<XmlSignature>,
}

/// How a RevokeRequest authenticates (a schema choice).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// `Authentication`.
    Authentication(Authentication),
    /// `RevocationCode`: `HMAC-SHA1(0x02, pass phrase)`.
    RevocationCode(Vec<u8>),
}

/// `RevokeRequest` (section 7.1.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeRequest {
    /// The request fields.
    pub header: RequestHeader,
    /// `RevokeKeyBinding`.
    pub revoke_key_binding: KeyBinding,
    /// `Authentication` or `RevocationCode`.
    pub revocation: Revocation,
}

/// `RecoverRequest` (section 7.1.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoverRequest {
    /// The request fields.
    pub header: RequestHeader,
    /// `RecoverKeyBinding`.
    pub recover_key_binding: KeyBinding,
    /// `Authentication`.
    pub authentication: Authentication,
}

/// `CompoundRequest` (section 3.4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompoundRequest {
    /// The request fields.
    pub header: RequestHeader,
    /// The inner requests: Locate, Validate, Register, Reissue, Recover or Revoke only.
    pub requests: Vec<Request>,
}

/// `PendingRequest` (section 3.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRequest {
    /// The request fields.
    pub header: RequestHeader,
    /// `ResponseId`: the Id of the Pending result.
    pub response_id: String,
}

/// `StatusRequest` (section 3.3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRequest {
    /// The request fields.
    pub header: RequestHeader,
    /// `ResponseId`.
    pub response_id: String,
}

/// Any XKMS request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `LocateRequest`.
    Locate(LocateRequest),
    /// `ValidateRequest`.
    Validate(ValidateRequest),
    /// `RegisterRequest`.
    Register(RegisterRequest),
    /// `ReissueRequest`.
    Reissue(ReissueRequest),
    /// `RevokeRequest`.
    Revoke(RevokeRequest),
    /// `RecoverRequest`.
    Recover(RecoverRequest),
    /// `CompoundRequest`.
    Compound(CompoundRequest),
    /// `PendingRequest`.
    Pending(PendingRequest),
    /// `StatusRequest`.
    Status(StatusRequest),
}

impl Request {
    /// The request fields common to every request.
    #[must_use]
    pub fn header(&self) -> &RequestHeader {
        match self {
            Self::Locate(r) => &r.header,
            Self::Validate(r) => &r.header,
            Self::Register(r) => &r.header,
            Self::Reissue(r) => &r.header,
            Self::Revoke(r) => &r.header,
            Self::Recover(r) => &r.header,
            Self::Compound(r) => &r.header,
            Self::Pending(r) => &r.header,
            Self::Status(r) => &r.header,
        }
    }

    /// The element name (`LocateRequest`, …).
    #[must_use]
    pub fn element_name(&self) -> &'static str {
        match self {
            Self::Locate(_) => "LocateRequest",
            Self::Validate(_) => "ValidateRequest",
            Self::Register(_) => "RegisterRequest",
            Self::Reissue(_) => "ReissueRequest",
            Self::Revoke(_) => "RevokeRequest",
            Self::Recover(_) => "RecoverRequest",
            Self::Compound(_) => "CompoundRequest",
            Self::Pending(_) => "PendingRequest",
            Self::Status(_) => "StatusRequest",
        }
    }
}

/// `LocateResult` (section 4.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocateResult {
    /// The result fields.
    pub header: ResultHeader,
    /// `UnverifiedKeyBinding` values.
    pub unverified_key_bindings: Vec<UnverifiedKeyBinding>,
}

/// `ValidateResult`, `ReissueResult`, `RevokeResult`: a result carrying KeyBindings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBindingResult {
    /// The result fields.
    pub header: ResultHeader,
    /// `KeyBinding` values.
    pub key_bindings: Vec<KeyBinding>,
}

/// `RegisterResult` and `RecoverResult`: KeyBindings and possibly an encrypted private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBindingPrivateKeyResult {
    /// The result fields.
    pub header: ResultHeader,
    /// `KeyBinding` values.
    pub key_bindings: Vec<KeyBinding>,
    /// `PrivateKey`.
    pub private_key: Option<PrivateKey>,
}

/// `CompoundResult` (section 3.4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompoundResult {
    /// The result fields.
    pub header: ResultHeader,
    /// The inner results.
    pub results: Vec<XkmsResult>,
}

/// `StatusResult` (section 3.3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusResult {
    /// The result fields.
    pub header: ResultHeader,
    /// `Success`: inner requests that succeeded.
    pub success: Option<u64>,
    /// `Failure`: inner requests that failed.
    pub failure: Option<u64>,
    /// `Pending`: inner requests still pending.
    pub pending: Option<u64>,
}

/// Any XKMS result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XkmsResult {
    /// `LocateResult`.
    Locate(LocateResult),
    /// `ValidateResult`.
    Validate(KeyBindingResult),
    /// `RegisterResult`.
    Register(KeyBindingPrivateKeyResult),
    /// `ReissueResult`.
    Reissue(KeyBindingResult),
    /// `RevokeResult`.
    Revoke(KeyBindingResult),
    /// `RecoverResult`.
    Recover(KeyBindingPrivateKeyResult),
    /// `CompoundResult`.
    Compound(CompoundResult),
    /// `StatusResult`.
    Status(StatusResult),
    /// The generic `Result` (errors to unsupported messages, Pending answers to PendingRequest).
    Result(ResultHeader),
}

impl XkmsResult {
    /// The result fields common to every result.
    #[must_use]
    pub fn header(&self) -> &ResultHeader {
        match self {
            Self::Locate(r) => &r.header,
            Self::Validate(r) | Self::Reissue(r) | Self::Revoke(r) => &r.header,
            Self::Register(r) | Self::Recover(r) => &r.header,
            Self::Compound(r) => &r.header,
            Self::Status(r) => &r.header,
            Self::Result(h) => h,
        }
    }

    /// The element name (`LocateResult`, …, `Result`).
    #[must_use]
    pub fn element_name(&self) -> &'static str {
        match self {
            Self::Locate(_) => "LocateResult",
            Self::Validate(_) => "ValidateResult",
            Self::Register(_) => "RegisterResult",
            Self::Reissue(_) => "ReissueResult",
            Self::Revoke(_) => "RevokeResult",
            Self::Recover(_) => "RecoverResult",
            Self::Compound(_) => "CompoundResult",
            Self::Status(_) => "StatusResult",
            Self::Result(_) => "Result",
        }
    }
}

/// Any XKMS message.
// One message per HTTP exchange, moved rarely: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A result.
    Result(XkmsResult),
}

fn verify_binding(
    signature: Option<&XmlSignature>,
    what: &'static str,
    binding: &KeyBindingCore,
    key: &VerifyingKey,
) -> Result<Verified, SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing(what))?;
    let id = binding.id.as_deref().ok_or_else(|| {
        SignatureError::Malformed("the key binding has no Id to reference".into())
    })?;
    signature.verify_covers(key, id)
}

impl RegisterRequest {
    /// Verifies KeyBindingAuthentication over the PrototypeKeyBinding. `key` is normally
    /// `VerifyingKey::Hmac` of [`crate::shared_secret::derive_key`] with
    /// [`crate::shared_secret::KeyUse::Authentication`].
    ///
    /// # Errors
    /// [`SignatureError::Missing`] without one; otherwise as [`XmlSignature::verify_covers`].
    pub fn verify_key_binding_authentication(
        &self,
        key: &VerifyingKey,
    ) -> Result<Verified, SignatureError> {
        verify_binding(
            self.authentication.key_binding_authentication.as_ref(),
            "KeyBindingAuthentication",
            &self.prototype_key_binding.core,
            key,
        )
    }

    /// Verifies ProofOfPossession over the PrototypeKeyBinding with the key the binding's KeyValue
    /// names (the key being registered).
    ///
    /// # Errors
    /// [`SignatureError::Missing`] without a ProofOfPossession, [`SignatureError::KeyMismatch`] without
    /// a usable RSA or P-256 KeyValue; otherwise as [`XmlSignature::verify_covers`].
    pub fn verify_proof_of_possession(&self) -> Result<Verified, SignatureError> {
        let key = self
            .prototype_key_binding
            .core
            .key_info
            .as_ref()
            .and_then(KeyInfo::key_value)
            .and_then(KeyValue::verifying_key)
            .ok_or(SignatureError::KeyMismatch)?;
        verify_binding(
            self.proof_of_possession.as_ref(),
            "ProofOfPossession",
            &self.prototype_key_binding.core,
            &key,
        )
    }
}

impl ReissueRequest {
    /// Verifies KeyBindingAuthentication over the ReissueKeyBinding.
    ///
    /// # Errors
    /// As [`RegisterRequest::verify_key_binding_authentication`].
    pub fn verify_key_binding_authentication(
        &self,
        key: &VerifyingKey,
    ) -> Result<Verified, SignatureError> {
        verify_binding(
            self.authentication.key_binding_authentication.as_ref(),
            "KeyBindingAuthentication",
            &self.reissue_key_binding.core,
            key,
        )
    }

    /// Verifies ProofOfPossession over the ReissueKeyBinding with the registered key (which the
    /// binding often names only by certificate, so the caller supplies it).
    ///
    /// # Errors
    /// [`SignatureError::Missing`] without one; otherwise as [`XmlSignature::verify_covers`].
    pub fn verify_proof_of_possession(
        &self,
        key: &VerifyingKey,
    ) -> Result<Verified, SignatureError> {
        verify_binding(
            self.proof_of_possession.as_ref(),
            "ProofOfPossession",
            &self.reissue_key_binding.core,
            key,
        )
    }
}

impl RevokeRequest {
    /// Verifies KeyBindingAuthentication over the RevokeKeyBinding.
    ///
    /// # Errors
    /// [`SignatureError::Missing`] when the request authenticates by RevocationCode or not at all.
    pub fn verify_key_binding_authentication(
        &self,
        key: &VerifyingKey,
    ) -> Result<Verified, SignatureError> {
        let signature = match &self.revocation {
            Revocation::Authentication(a) => a.key_binding_authentication.as_ref(),
            Revocation::RevocationCode(_) => None,
        };
        verify_binding(
            signature,
            "KeyBindingAuthentication",
            &self.revoke_key_binding.core,
            key,
        )
    }

    /// Whether the RevocationCode hashes to the stored RevocationCodeIdentifier (constant time);
    /// `false` when the request authenticates otherwise.
    #[must_use]
    pub fn revocation_code_matches(&self, revocation_code_identifier: &[u8]) -> bool {
        match &self.revocation {
            Revocation::RevocationCode(code) => {
                crate::shared_secret::revocation_code_matches(code, revocation_code_identifier)
            }
            Revocation::Authentication(_) => false,
        }
    }
}

impl RecoverRequest {
    /// Verifies KeyBindingAuthentication over the RecoverKeyBinding.
    ///
    /// # Errors
    /// As [`RegisterRequest::verify_key_binding_authentication`].
    pub fn verify_key_binding_authentication(
        &self,
        key: &VerifyingKey,
    ) -> Result<Verified, SignatureError> {
        verify_binding(
            self.authentication.key_binding_authentication.as_ref(),
            "KeyBindingAuthentication",
            &self.recover_key_binding.core,
            key,
        )
    }
}

/// Signs the KeyBindingAuthentication of a Register, Reissue, Revoke or Recover request: an HMAC
/// (normally under the `0x01` shared-secret key) over the key binding, referenced by its Id.
///
/// The key binding gets an Id if it has none.
///
/// # Errors
/// [`SignatureError`] if the request type has no Authentication or the key does not fit.
pub fn sign_key_binding_authentication(
    request: &mut Request,
    key: &SigningKey,
    options: &SignOptions,
) -> Result<(), SignatureError> {
    sign_binding(request, key, options, Slot::KeyBindingAuthentication)
}

/// Signs the ProofOfPossession of a Register or Reissue request with the private key of the key
/// being registered.
///
/// # Errors
/// [`SignatureError`] if the request type has no ProofOfPossession or the key does not fit.
pub fn sign_proof_of_possession(
    request: &mut Request,
    key: &SigningKey,
    options: &SignOptions,
) -> Result<(), SignatureError> {
    sign_binding(request, key, options, Slot::ProofOfPossession)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    KeyBindingAuthentication,
    ProofOfPossession,
}

fn ensure_id(core: &mut KeyBindingCore) -> String {
    core.id
        .get_or_insert_with(|| {
            let mut b = [0u8; 16];
            // An Id only needs to be unique within the message; a failed RNG falls back to a constant.
            let _ = getrandom::fill(&mut b);
            let mut s = String::from("I");
            for x in b {
                s.push_str(&format!("{x:02x}"));
            }
            s
        })
        .clone()
}

fn sign_binding(
    request: &mut Request,
    key: &SigningKey,
    options: &SignOptions,
    slot: Slot,
) -> Result<(), SignatureError> {
    let unsupported = || SignatureError::Unsupported("this request has no such signature".into());
    let binding_id = match (&mut *request, slot) {
        (Request::Register(r), _) => ensure_id(&mut r.prototype_key_binding.core),
        (Request::Reissue(r), _) => ensure_id(&mut r.reissue_key_binding.core),
        (Request::Revoke(r), Slot::KeyBindingAuthentication) => {
            if !matches!(r.revocation, Revocation::Authentication(_)) {
                r.revocation = Revocation::Authentication(Authentication::default());
            }
            ensure_id(&mut r.revoke_key_binding.core)
        }
        (Request::Recover(r), Slot::KeyBindingAuthentication) => {
            ensure_id(&mut r.recover_key_binding.core)
        }
        _ => return Err(unsupported()),
    };
    // Sign over the message exactly as it will be encoded, with the slot emptied.
    match (&mut *request, slot) {
        (Request::Register(r), Slot::KeyBindingAuthentication) => {
            r.authentication.key_binding_authentication = None
        }
        (Request::Register(r), Slot::ProofOfPossession) => r.proof_of_possession = None,
        (Request::Reissue(r), Slot::KeyBindingAuthentication) => {
            r.authentication.key_binding_authentication = None
        }
        (Request::Reissue(r), Slot::ProofOfPossession) => r.proof_of_possession = None,
        (Request::Revoke(r), _) => {
            if let Revocation::Authentication(a) = &mut r.revocation {
                a.key_binding_authentication = None;
            }
        }
        (Request::Recover(r), _) => r.authentication.key_binding_authentication = None,
        _ => return Err(unsupported()),
    }
    let (root, parent_path) =
        encode::encode_request_for_signing(request, slot == Slot::ProofOfPossession);
    let parent_path = parent_path.ok_or_else(unsupported)?;
    let mut doc = Document::new(root);
    let sig_path = dsig::sign_in_place(&mut doc, &parent_path, 0, &binding_id, key, options)?;
    let sig = doc
        .root
        .at_path(&sig_path)
        .cloned()
        .ok_or_else(|| SignatureError::Malformed("signature not inserted".into()))?;
    let sig = XmlSignature::new(sig);
    match (request, slot) {
        (Request::Register(r), Slot::KeyBindingAuthentication) => {
            r.authentication.key_binding_authentication = Some(sig)
        }
        (Request::Register(r), Slot::ProofOfPossession) => r.proof_of_possession = Some(sig),
        (Request::Reissue(r), Slot::KeyBindingAuthentication) => {
            r.authentication.key_binding_authentication = Some(sig)
        }
        (Request::Reissue(r), Slot::ProofOfPossession) => r.proof_of_possession = Some(sig),
        (Request::Revoke(r), _) => {
            if let Revocation::Authentication(a) = &mut r.revocation {
                a.key_binding_authentication = Some(sig);
            }
        }
        (Request::Recover(r), _) => r.authentication.key_binding_authentication = Some(sig),
        _ => return Err(unsupported()),
    }
    Ok(())
}

/// Signs a whole message (request or result) with an enveloped ds:Signature as its first child,
/// referencing the message Id, and returns the signed element.
///
/// # Errors
/// [`SignatureError`] if the key does not fit.
pub fn sign_message(
    message: &Message,
    key: &SigningKey,
    options: &SignOptions,
) -> Result<Element, SignatureError> {
    let root = encode_message(message);
    let id = root.attr("Id").unwrap_or_default().to_owned();
    let mut doc = Document::new(root);
    dsig::sign_in_place(&mut doc, &[], 0, &id, key, options)?;
    Ok(doc.root)
}
