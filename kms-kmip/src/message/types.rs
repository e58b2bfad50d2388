//! Structures shared by attributes, objects and payloads (KMIP 1.4 §2.1 and §3, KMIP 2.1 §2 and §4).

use core::fmt;

use super::Error;
use super::codec::{Decode, Encode, Encoder};
use super::enums::{
    AlternativeNameType, BlockCipherMode, CredentialType, CryptographicAlgorithm, DRBGAlgorithm,
    DigitalSignatureAlgorithm, FIPS186Variation, HashingAlgorithm, KeyFormatType, KeyRoleType,
    KeyValueLocationType, LinkType, MaskGenerator, NameType, PaddingMethod, RNGAlgorithm,
    RecommendedCurve, RevocationReasonCode, UniqueIdentifierEnumeration, UsageLimitsUnit,
};
use crate::tags::Version;
use crate::ttlv::{Item, Tag, Value};

/// A Unique Identifier: a Text String, or in KMIP 2.x also an Enumeration (ID Placeholder, ...) or an
/// Integer (an index into the batch's results).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum UniqueIdentifier {
    /// The usual form: the server-assigned identifier.
    Text(String),
    /// KMIP 2.x: a reference to an identifier produced earlier in the batch.
    Enumeration(UniqueIdentifierEnumeration),
    /// KMIP 2.x: an index.
    Index(i32),
}

impl UniqueIdentifier {
    /// The text form, if this is one.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            Self::Enumeration(_) | Self::Index(_) => None,
        }
    }
}

impl Default for UniqueIdentifier {
    fn default() -> Self {
        Self::Text(String::new())
    }
}

impl fmt::Debug for UniqueIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => write!(f, "{s:?}"),
            Self::Enumeration(e) => write!(f, "{e:?}"),
            Self::Index(i) => write!(f, "Index({i})"),
        }
    }
}

impl From<&str> for UniqueIdentifier {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for UniqueIdentifier {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl Decode for UniqueIdentifier {
    #[inline]
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        match *item.value() {
            Value::TextString(s) => Ok(Self::Text(s.to_owned())),
            Value::Enumeration(_) => Ok(Self::Enumeration(super::codec::decode_enum(item)?)),
            Value::Integer(i) => Ok(Self::Index(i)),
            _ => Err(item.wrong_type(crate::ttlv::ItemType::TextString).into()),
        }
    }
}

impl Encode for UniqueIdentifier {
    #[inline]
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        match self {
            Self::Text(s) => e.w.text_string(tag, s),
            Self::Enumeration(v) => {
                e.require(Version::V2_0, "a Unique Identifier enumeration")?;
                e.w.enumeration(tag, v.0);
            }
            Self::Index(i) => {
                e.require(Version::V2_0, "a Unique Identifier index")?;
                e.w.integer(tag, *i);
            }
        }
        Ok(())
    }
}

kmip_struct! {
    /// Protocol Version (KMIP 1.4 §6.1).
    pub struct ProtocolVersion {
        /// Protocol Version Major.
        major: req i32 = PROTOCOL_VERSION_MAJOR,
        /// Protocol Version Minor.
        minor: req i32 = PROTOCOL_VERSION_MINOR,
    }
}

impl ProtocolVersion {
    /// The version with these numbers.
    #[must_use]
    pub fn new(major: i32, minor: i32) -> Self {
        Self {
            major,
            minor,
            extensions: Vec::new(),
        }
    }

    /// The known version these numbers name.
    #[must_use]
    pub const fn version(&self) -> Option<Version> {
        Version::from_major_minor(self.major, self.minor)
    }
}

impl From<Version> for ProtocolVersion {
    fn from(v: Version) -> Self {
        let (major, minor) = v.major_minor();
        Self::new(major, minor)
    }
}

kmip_struct! {
    /// Name (KMIP 1.4 §3.2).
    pub struct Name {
        /// Name Value.
        name_value: req String = NAME_VALUE,
        /// Name Type.
        name_type: req NameType = NAME_TYPE,
    }
}

impl Name {
    /// An uninterpreted text string name.
    #[must_use]
    pub fn text(value: &str) -> Self {
        Self {
            name_value: value.to_owned(),
            name_type: NameType::UNINTERPRETED_TEXT_STRING,
            extensions: Vec::new(),
        }
    }
}

kmip_struct! {
    /// Link (KMIP 1.4 §3.35).
    pub struct Link {
        /// Link Type.
        link_type: req LinkType = LINK_TYPE,
        /// Linked Object Identifier.
        linked_object_identifier: req UniqueIdentifier = LINKED_OBJECT_IDENTIFIER,
    }
}

kmip_struct! {
    /// Cryptographic Parameters (KMIP 1.4 §3.6, KMIP 2.1 §4.8).
    pub struct CryptographicParameters {
        /// Block Cipher Mode.
        block_cipher_mode: opt BlockCipherMode = BLOCK_CIPHER_MODE,
        /// Padding Method.
        padding_method: opt PaddingMethod = PADDING_METHOD,
        /// Hashing Algorithm.
        hashing_algorithm: opt HashingAlgorithm = HASHING_ALGORITHM,
        /// Key Role Type.
        key_role_type: opt KeyRoleType = KEY_ROLE_TYPE,
        /// Digital Signature Algorithm (1.2+).
        digital_signature_algorithm: opt DigitalSignatureAlgorithm = DIGITAL_SIGNATURE_ALGORITHM,
        /// Cryptographic Algorithm (1.2+).
        cryptographic_algorithm: opt CryptographicAlgorithm = CRYPTOGRAPHIC_ALGORITHM,
        /// Random IV (1.2+).
        random_iv: opt bool = RANDOM_IV,
        /// IV Length in bits (1.2+).
        iv_length: opt i32 = IV_LENGTH,
        /// Tag Length in bytes (1.2+).
        tag_length: opt i32 = TAG_LENGTH,
        /// Fixed Field Length (1.2+).
        fixed_field_length: opt i32 = FIXED_FIELD_LENGTH,
        /// Invocation Field Length (1.2+).
        invocation_field_length: opt i32 = INVOCATION_FIELD_LENGTH,
        /// Counter Length (1.2+).
        counter_length: opt i32 = COUNTER_LENGTH,
        /// Initial Counter Value (1.2+).
        initial_counter_value: opt i32 = INITIAL_COUNTER_VALUE,
        /// Salt Length (1.4+).
        salt_length: opt i32 = SALT_LENGTH,
        /// Mask Generator (1.4+).
        mask_generator: opt MaskGenerator = MASK_GENERATOR,
        /// Mask Generator Hashing Algorithm (1.4+).
        mask_generator_hashing_algorithm: opt HashingAlgorithm = MASK_GENERATOR_HASHING_ALGORITHM,
        /// P Source (1.4+).
        p_source: opt Vec<u8> = P_SOURCE,
        /// Trailer Field (1.4+).
        trailer_field: opt i32 = TRAILER_FIELD,
    }
}

kmip_struct! {
    /// Cryptographic Domain Parameters (KMIP 1.4 §3.7).
    pub struct CryptographicDomainParameters {
        /// Qlength.
        q_length: opt i32 = QLENGTH,
        /// Recommended Curve.
        recommended_curve: opt RecommendedCurve = RECOMMENDED_CURVE,
    }
}

kmip_struct! {
    /// Digest (KMIP 1.4 §3.17).
    pub struct Digest {
        /// Hashing Algorithm.
        hashing_algorithm: req HashingAlgorithm = HASHING_ALGORITHM,
        /// Digest Value.
        digest_value: opt Vec<u8> = DIGEST_VALUE,
        /// Key Format Type.
        key_format_type: opt KeyFormatType = KEY_FORMAT_TYPE,
    }
}

kmip_struct! {
    /// Usage Limits (KMIP 1.4 §3.21).
    pub struct UsageLimits {
        /// Usage Limits Total.
        usage_limits_total: opt i64 = USAGE_LIMITS_TOTAL,
        /// Usage Limits Count.
        usage_limits_count: opt i64 = USAGE_LIMITS_COUNT,
        /// Usage Limits Unit.
        usage_limits_unit: opt UsageLimitsUnit = USAGE_LIMITS_UNIT,
    }
}

kmip_struct! {
    /// Revocation Reason (KMIP 1.4 §3.31).
    pub struct RevocationReason {
        /// Revocation Reason Code.
        revocation_reason_code: req RevocationReasonCode = REVOCATION_REASON_CODE,
        /// Revocation Message.
        revocation_message: opt String = REVOCATION_MESSAGE,
    }
}

kmip_struct! {
    /// Application Specific Information (KMIP 1.4 §3.36).
    pub struct ApplicationSpecificInformation {
        /// Application Namespace.
        application_namespace: req String = APPLICATION_NAMESPACE,
        /// Application Data.
        application_data: opt String = APPLICATION_DATA,
    }
}

kmip_struct! {
    /// Alternative Name (KMIP 1.4 §3.40).
    pub struct AlternativeName {
        /// Alternative Name Value.
        alternative_name_value: req String = ALTERNATIVE_NAME_VALUE,
        /// Alternative Name Type.
        alternative_name_type: req AlternativeNameType = ALTERNATIVE_NAME_TYPE,
    }
}

kmip_struct! {
    /// Key Value Location (KMIP 1.4 §3.42).
    pub struct KeyValueLocation {
        /// Key Value Location Value.
        key_value_location_value: req String = KEY_VALUE_LOCATION_VALUE,
        /// Key Value Location Type.
        key_value_location_type: req KeyValueLocationType = KEY_VALUE_LOCATION_TYPE,
    }
}

kmip_struct! {
    /// RNG Parameters, the value of the Random Number Generator attribute (KMIP 1.4 §2.1.18, §3.44).
    pub struct RNGParameters {
        /// RNG Algorithm.
        rng_algorithm: req RNGAlgorithm = RNG_ALGORITHM,
        /// Cryptographic Algorithm.
        cryptographic_algorithm: opt CryptographicAlgorithm = CRYPTOGRAPHIC_ALGORITHM,
        /// Cryptographic Length.
        cryptographic_length: opt i32 = CRYPTOGRAPHIC_LENGTH,
        /// Hashing Algorithm.
        hashing_algorithm: opt HashingAlgorithm = HASHING_ALGORITHM,
        /// DRBG Algorithm.
        drbg_algorithm: opt DRBGAlgorithm = DRBG_ALGORITHM,
        /// Recommended Curve.
        recommended_curve: opt RecommendedCurve = RECOMMENDED_CURVE,
        /// FIPS186 Variation.
        fips186_variation: opt FIPS186Variation = FIPS186_VARIATION,
        /// Prediction Resistance.
        prediction_resistance: opt bool = PREDICTION_RESISTANCE,
    }
}

kmip_struct! {
    /// X.509 Certificate Identifier (KMIP 1.4 §3.13).
    pub struct X509CertificateIdentifier {
        /// Issuer Distinguished Name (DER).
        issuer_distinguished_name: req Vec<u8> = ISSUER_DISTINGUISHED_NAME,
        /// Certificate Serial Number.
        certificate_serial_number: req Vec<u8> = CERTIFICATE_SERIAL_NUMBER,
    }
}

kmip_struct! {
    /// X.509 Certificate Subject (KMIP 1.4 §3.14).
    pub struct X509CertificateSubject {
        /// Subject Distinguished Name (DER).
        subject_distinguished_name: req Vec<u8> = SUBJECT_DISTINGUISHED_NAME,
        /// Subject Alternative Name.
        subject_alternative_name: vec Vec<u8> = SUBJECT_ALTERNATIVE_NAME,
    }
}

kmip_struct! {
    /// X.509 Certificate Issuer (KMIP 1.4 §3.15).
    pub struct X509CertificateIssuer {
        /// Issuer Distinguished Name (DER).
        issuer_distinguished_name: req Vec<u8> = ISSUER_DISTINGUISHED_NAME,
        /// Issuer Alternative Name.
        issuer_alternative_name: vec Vec<u8> = ISSUER_ALTERNATIVE_NAME,
    }
}

kmip_struct! {
    /// Certificate Identifier (KMIP 1.0 §3.9, deprecated in 1.1).
    pub struct CertificateIdentifier {
        /// Issuer.
        issuer: req String = ISSUER,
        /// Serial Number.
        serial_number: opt String = SERIAL_NUMBER,
    }
}

kmip_struct! {
    /// Certificate Subject (KMIP 1.0 §3.10, deprecated in 1.1).
    pub struct CertificateSubject {
        /// Certificate Subject Distinguished Name.
        certificate_subject_distinguished_name: req String = CERTIFICATE_SUBJECT_DISTINGUISHED_NAME,
        /// Certificate Subject Alternative Name.
        certificate_subject_alternative_name: vec String = CERTIFICATE_SUBJECT_ALTERNATIVE_NAME,
    }
}

kmip_struct! {
    /// Certificate Issuer (KMIP 1.0 §3.11, deprecated in 1.1).
    pub struct CertificateIssuer {
        /// Certificate Issuer Distinguished Name.
        certificate_issuer_distinguished_name: req String = CERTIFICATE_ISSUER_DISTINGUISHED_NAME,
        /// Certificate Issuer Alternative Name.
        certificate_issuer_alternative_name: vec String = CERTIFICATE_ISSUER_ALTERNATIVE_NAME,
    }
}

kmip_struct! {
    /// Encryption Key Information (KMIP 1.4 §2.1.5).
    pub struct EncryptionKeyInformation {
        /// Unique Identifier of the wrapping key.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Cryptographic Parameters.
        cryptographic_parameters: opt Box<CryptographicParameters> = CRYPTOGRAPHIC_PARAMETERS,
    }
}

kmip_struct! {
    /// MAC/Signature Key Information (KMIP 1.4 §2.1.5).
    pub struct MACSignatureKeyInformation {
        /// Unique Identifier of the MAC or signing key.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Cryptographic Parameters.
        cryptographic_parameters: opt Box<CryptographicParameters> = CRYPTOGRAPHIC_PARAMETERS,
    }
}

kmip_struct! {
    /// Key Wrapping Data (KMIP 1.4 §2.1.5): how a Key Value was wrapped.
    pub struct KeyWrappingData {
        /// Wrapping Method.
        wrapping_method: req super::enums::WrappingMethod = WRAPPING_METHOD,
        /// Encryption Key Information.
        encryption_key_information: opt EncryptionKeyInformation = ENCRYPTION_KEY_INFORMATION,
        /// MAC/Signature Key Information.
        mac_signature_key_information: opt MACSignatureKeyInformation = MAC_SIGNATURE_KEY_INFORMATION,
        /// MAC/Signature.
        mac_signature: opt Vec<u8> = MAC_SIGNATURE,
        /// IV/Counter/Nonce.
        iv_counter_nonce: opt Vec<u8> = IV_COUNTER_NONCE,
        /// Encoding Option (1.1+).
        encoding_option: opt super::enums::EncodingOption = ENCODING_OPTION,
    }
}

kmip_struct! {
    /// Key Wrapping Specification (KMIP 1.4 §2.1.6): how to wrap a key returned by Get or Export.
    pub struct KeyWrappingSpecification {
        /// Wrapping Method.
        wrapping_method: req super::enums::WrappingMethod = WRAPPING_METHOD,
        /// Encryption Key Information.
        encryption_key_information: opt EncryptionKeyInformation = ENCRYPTION_KEY_INFORMATION,
        /// MAC/Signature Key Information.
        mac_signature_key_information: opt MACSignatureKeyInformation = MAC_SIGNATURE_KEY_INFORMATION,
        /// Attribute Name: attributes to wrap with the key (1.x names).
        attribute_name: vec String = ATTRIBUTE_NAME,
        /// Encoding Option (1.1+).
        encoding_option: opt super::enums::EncodingOption = ENCODING_OPTION,
    }
}

kmip_struct! {
    /// Nonce (KMIP 1.4 §2.1.14).
    pub struct Nonce {
        /// Nonce ID.
        nonce_id: req Vec<u8> = NONCE_ID,
        /// Nonce Value.
        nonce_value: req Vec<u8> = NONCE_VALUE,
    }
}

kmip_struct! {
    /// Credential Value of a Username and Password credential (KMIP 1.4 §2.1.2).
    pub struct UsernameAndPassword {
        /// Username.
        username: req String = USERNAME,
        /// Password.
        password: opt String = PASSWORD,
    }
}

kmip_struct! {
    /// Credential Value of a Device credential (KMIP 1.4 §2.1.2).
    pub struct DeviceCredential {
        /// Device Serial Number.
        device_serial_number: opt String = DEVICE_SERIAL_NUMBER,
        /// Password.
        password: opt String = PASSWORD,
        /// Device Identifier.
        device_identifier: opt String = DEVICE_IDENTIFIER,
        /// Network Identifier.
        network_identifier: opt String = NETWORK_IDENTIFIER,
        /// Machine Identifier.
        machine_identifier: opt String = MACHINE_IDENTIFIER,
        /// Media Identifier.
        media_identifier: opt String = MEDIA_IDENTIFIER,
    }
}

kmip_struct! {
    /// Credential Value of an Attestation credential (KMIP 1.4 §2.1.2).
    pub struct AttestationCredential {
        /// Nonce.
        nonce: req Nonce = NONCE,
        /// Attestation Type.
        attestation_type: req super::enums::AttestationType = ATTESTATION_TYPE,
        /// Attestation Measurement.
        attestation_measurement: opt Vec<u8> = ATTESTATION_MEASUREMENT,
        /// Attestation Assertion.
        attestation_assertion: opt Vec<u8> = ATTESTATION_ASSERTION,
    }
}

/// The Credential Value, whose structure the Credential Type selects.
#[derive(Clone, Debug, PartialEq)]
pub enum CredentialValue {
    /// Username and Password.
    UsernameAndPassword(UsernameAndPassword),
    /// Device.
    Device(DeviceCredential),
    /// Attestation.
    Attestation(AttestationCredential),
    /// Another credential type (2.x One Time Password, Hashed Password, Ticket, or an extension), kept as is.
    Other(super::codec::RawItem),
}

/// Credential (KMIP 1.4 §2.1.2).
#[derive(Clone, Debug, PartialEq)]
pub struct Credential {
    /// Credential Type.
    pub credential_type: CredentialType,
    /// Credential Value.
    pub credential_value: CredentialValue,
}

impl Decode for Credential {
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        let mut children = item.children()?;
        let ty_item = children
            .next_if_tag(Tag::CREDENTIAL_TYPE)?
            .ok_or_else(|| super::codec::missing(item, Tag::CREDENTIAL_TYPE))?;
        let credential_type: CredentialType = super::codec::decode_enum(&ty_item)?;
        let value_item = children
            .next_if_tag(Tag::CREDENTIAL_VALUE)?
            .ok_or_else(|| super::codec::missing(item, Tag::CREDENTIAL_VALUE))?;
        if let Some(extra) = children.next() {
            let extra = extra?;
            return Err(Error::InvalidValue {
                offset: extra.offset(),
                tag: extra.tag(),
                reason: "unexpected item in Credential",
            });
        }
        let credential_value = match credential_type {
            CredentialType::USERNAME_AND_PASSWORD => {
                CredentialValue::UsernameAndPassword(UsernameAndPassword::decode(&value_item)?)
            }
            CredentialType::DEVICE => {
                CredentialValue::Device(DeviceCredential::decode(&value_item)?)
            }
            CredentialType::ATTESTATION => {
                CredentialValue::Attestation(AttestationCredential::decode(&value_item)?)
            }
            _ => CredentialValue::Other(super::codec::raw(&value_item)?),
        };
        Ok(Self {
            credential_type,
            credential_value,
        })
    }
}

impl Encode for Credential {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        let s = e.w.begin_structure(tag);
        self.credential_type.encode(Tag::CREDENTIAL_TYPE, e)?;
        match &self.credential_value {
            CredentialValue::UsernameAndPassword(v) => v.encode(Tag::CREDENTIAL_VALUE, e)?,
            CredentialValue::Device(v) => v.encode(Tag::CREDENTIAL_VALUE, e)?,
            CredentialValue::Attestation(v) => v.encode(Tag::CREDENTIAL_VALUE, e)?,
            CredentialValue::Other(v) => Encode::encode(v, Tag::CREDENTIAL_VALUE, e)?,
        }
        e.w.end_structure(s);
        Ok(())
    }
}

impl Default for Credential {
    fn default() -> Self {
        Self {
            credential_type: CredentialType::USERNAME_AND_PASSWORD,
            credential_value: CredentialValue::UsernameAndPassword(UsernameAndPassword::default()),
        }
    }
}

kmip_struct! {
    /// Authentication (KMIP 1.4 §6.6): one or more credentials (more than one from 1.2).
    pub struct Authentication {
        /// Credential.
        credential: vec Credential = CREDENTIAL,
    }
}
