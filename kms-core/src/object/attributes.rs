//! KMIP attributes of managed objects, as typed fields (KMIP 2.1 §4).

use std::collections::BTreeMap;

use bitflags::bitflags;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{ObjectId, ObjectType, State};

/// KMIP Cryptographic Algorithm (KMIP 2.1 §11.11), the values this family handles; others are kept by value.
#[allow(missing_docs)] // the names are the specification's
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CryptographicAlgorithm {
    Des,
    TripleDes,
    Aes,
    Rsa,
    Dsa,
    Ecdsa,
    HmacSha1,
    HmacSha224,
    HmacSha256,
    HmacSha384,
    HmacSha512,
    Dh,
    Ecdh,
    Ec,
    ChaCha20,
    ChaCha20Poly1305,
    Ed25519,
    /// Any other value of the enumeration, kept so that registered objects round-trip.
    Other(u32),
}

impl CryptographicAlgorithm {
    /// The KMIP enumeration value.
    #[must_use]
    pub fn to_kmip(self) -> u32 {
        match self {
            Self::Des => 0x01,
            Self::TripleDes => 0x02,
            Self::Aes => 0x03,
            Self::Rsa => 0x04,
            Self::Dsa => 0x05,
            Self::Ecdsa => 0x06,
            Self::HmacSha1 => 0x07,
            Self::HmacSha224 => 0x08,
            Self::HmacSha256 => 0x09,
            Self::HmacSha384 => 0x0A,
            Self::HmacSha512 => 0x0B,
            Self::Dh => 0x0D,
            Self::Ecdh => 0x0E,
            Self::Ec => 0x1A,
            Self::ChaCha20 => 0x1C,
            Self::ChaCha20Poly1305 => 0x1E,
            Self::Ed25519 => 0x37,
            Self::Other(v) => v,
        }
    }

    /// From the KMIP enumeration value; values without a variant become [`CryptographicAlgorithm::Other`].
    #[must_use]
    pub fn from_kmip(v: u32) -> Self {
        match v {
            0x01 => Self::Des,
            0x02 => Self::TripleDes,
            0x03 => Self::Aes,
            0x04 => Self::Rsa,
            0x05 => Self::Dsa,
            0x06 => Self::Ecdsa,
            0x07 => Self::HmacSha1,
            0x08 => Self::HmacSha224,
            0x09 => Self::HmacSha256,
            0x0A => Self::HmacSha384,
            0x0B => Self::HmacSha512,
            0x0D => Self::Dh,
            0x0E => Self::Ecdh,
            0x1A => Self::Ec,
            0x1C => Self::ChaCha20,
            0x1E => Self::ChaCha20Poly1305,
            0x37 => Self::Ed25519,
            other => Self::Other(other),
        }
    }
}

/// KMIP Recommended Curve (KMIP 2.1 §11.42), the curves this family implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RecommendedCurve {
    /// NIST P-256 (secp256r1), KMIP value 0x07.
    P256,
    /// NIST P-384 (secp384r1), KMIP value 0x0A.
    P384,
    /// NIST P-521 (secp521r1), KMIP value 0x0D.
    P521,
}

/// The curve's name in FIPS 186-5: `P-256`.
impl std::fmt::Display for RecommendedCurve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecommendedCurve::P256 => "P-256",
            RecommendedCurve::P384 => "P-384",
            RecommendedCurve::P521 => "P-521",
        })
    }
}

impl RecommendedCurve {
    /// The KMIP enumeration value.
    #[must_use]
    pub fn to_kmip(self) -> u32 {
        match self {
            Self::P256 => 0x07,
            Self::P384 => 0x0A,
            Self::P521 => 0x0D,
        }
    }

    /// From the KMIP enumeration value, `None` for curves this family does not implement.
    #[must_use]
    pub fn from_kmip(v: u32) -> Option<Self> {
        match v {
            0x07 => Some(Self::P256),
            0x0A => Some(Self::P384),
            0x0D => Some(Self::P521),
            _ => None,
        }
    }

    /// The field size in bits, which KMIP reports as the Cryptographic Length of EC keys.
    #[must_use]
    pub fn bits(self) -> u32 {
        match self {
            Self::P256 => 256,
            Self::P384 => 384,
            Self::P521 => 521,
        }
    }
}

bitflags! {
    /// KMIP Cryptographic Usage Mask (KMIP 2.1 §11.14), with the specification's bit values.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub struct UsageMask: u32 {
        /// Sign.
        const SIGN = 0x0000_0001;
        /// Verify.
        const VERIFY = 0x0000_0002;
        /// Encrypt.
        const ENCRYPT = 0x0000_0004;
        /// Decrypt.
        const DECRYPT = 0x0000_0008;
        /// Wrap Key.
        const WRAP_KEY = 0x0000_0010;
        /// Unwrap Key.
        const UNWRAP_KEY = 0x0000_0020;
        /// Export (KMIP 1.x).
        const EXPORT = 0x0000_0040;
        /// MAC Generate.
        const MAC_GENERATE = 0x0000_0080;
        /// MAC Verify.
        const MAC_VERIFY = 0x0000_0100;
        /// Derive Key.
        const DERIVE_KEY = 0x0000_0200;
        /// Content Commitment (non-repudiation).
        const CONTENT_COMMITMENT = 0x0000_0400;
        /// Key Agreement.
        const KEY_AGREEMENT = 0x0000_0800;
        /// Certificate Sign.
        const CERTIFICATE_SIGN = 0x0000_1000;
        /// CRL Sign.
        const CRL_SIGN = 0x0000_2000;
        /// Authenticate (KMIP 2.0).
        const AUTHENTICATE = 0x0010_0000;
        /// Unrestricted (KMIP 2.0).
        const UNRESTRICTED = 0x0020_0000;
        // Bits this family does not name are kept, so registered objects round-trip.
        const _ = !0;
    }
}

/// KMIP Name Type (KMIP 2.1 §11.33).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NameType {
    /// Uninterpreted Text String.
    UninterpretedTextString,
    /// URI.
    Uri,
}

/// KMIP Name attribute: a label a client chose, unique among the owner's live objects.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Name {
    /// The name.
    pub value: String,
    /// How to read it.
    pub name_type: NameType,
}

impl Name {
    /// An Uninterpreted Text String name.
    #[must_use]
    pub fn text(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            name_type: NameType::UninterpretedTextString,
        }
    }
}

/// KMIP Link Type (KMIP 2.1 §11.30), with the specification's values.
#[allow(missing_docs)] // the names are the specification's
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u32)]
pub enum LinkType {
    CertificateLink = 0x101,
    PublicKeyLink = 0x102,
    PrivateKeyLink = 0x103,
    DerivationBaseObjectLink = 0x104,
    DerivedKeyLink = 0x105,
    ReplacementObjectLink = 0x106,
    ReplacedObjectLink = 0x107,
    ParentLink = 0x108,
    ChildLink = 0x109,
    PreviousLink = 0x10A,
    NextLink = 0x10B,
    Pkcs12CertificateLink = 0x10C,
    Pkcs12PasswordLink = 0x10D,
    WrappingKeyLink = 0x10E,
}

/// KMIP Link attribute: a typed reference to another object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Link {
    /// What the linked object is to this one.
    pub link_type: LinkType,
    /// The linked object.
    pub linked_object_id: ObjectId,
}

/// KMIP Revocation Reason Code (KMIP 2.1 §11.48).
#[allow(missing_docs)] // the names are the specification's
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u32)]
pub enum RevocationReasonCode {
    Unspecified = 1,
    KeyCompromise = 2,
    CaCompromise = 3,
    AffiliationChanged = 4,
    Superseded = 5,
    CessationOfOperation = 6,
    PrivilegeWithdrawn = 7,
}

impl RevocationReasonCode {
    /// Whether this reason moves the object to Compromised rather than Deactivated.
    #[must_use]
    pub fn is_compromise(self) -> bool {
        matches!(self, Self::KeyCompromise | Self::CaCompromise)
    }
}

/// KMIP Revocation Reason attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationReason {
    /// Why.
    pub code: RevocationReasonCode,
    /// Free text, optional.
    pub message: Option<String>,
}

/// The value of a custom (vendor, `x-`/`y-`) attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeValue {
    /// Text String.
    Text(String),
    /// Integer.
    Integer(i32),
    /// Long Integer.
    LongInteger(i64),
    /// Big Integer, big-endian two's complement.
    BigInteger(Vec<u8>),
    /// Enumeration.
    Enumeration(u32),
    /// Boolean.
    Boolean(bool),
    /// Byte String.
    Bytes(Vec<u8>),
    /// Date-Time.
    #[serde(with = "time::serde::rfc3339")]
    DateTime(OffsetDateTime),
    /// Interval, in seconds.
    Interval(u32),
}

/// The attributes of a managed object, typed after KMIP 2.1 §4 so that the protocol mappings are lossless.
///
/// Server-managed fields (state, dates, digests) are set by the [`KeyManager`](crate::KeyManager) only; the
/// protocol layers read them but cannot set them through attribute operations.
///
/// The default is KMIP's: nothing set, not Sensitive, Extractable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Attributes {
    /// Cryptographic Algorithm.
    pub cryptographic_algorithm: Option<CryptographicAlgorithm>,
    /// Cryptographic Length, in bits.
    pub cryptographic_length: Option<u32>,
    /// Cryptographic Usage Mask.
    pub cryptographic_usage_mask: Option<UsageMask>,
    /// Recommended Curve of EC keys (in KMIP, part of Cryptographic Domain Parameters).
    pub recommended_curve: Option<RecommendedCurve>,
    /// Name (multi-valued).
    pub names: Vec<Name>,
    /// Object Group (multi-valued).
    pub object_groups: Vec<String>,
    /// Link (multi-valued).
    pub links: Vec<Link>,
    /// Sensitive: the key value may not be returned in plaintext.
    pub sensitive: bool,
    /// Always Sensitive (server-managed).
    pub always_sensitive: bool,
    /// Extractable: the key value may leave the server (Get/Export).
    pub extractable: bool,
    /// Never Extractable (server-managed).
    pub never_extractable: bool,
    /// Contact Information.
    pub contact_information: Option<String>,
    /// Description (KMIP 2.0).
    pub description: Option<String>,
    /// Comment (KMIP 2.0).
    pub comment: Option<String>,
    /// Initial Date (server-managed).
    #[serde(with = "time::serde::rfc3339::option")]
    pub initial_date: Option<OffsetDateTime>,
    /// Activation Date.
    #[serde(with = "time::serde::rfc3339::option")]
    pub activation_date: Option<OffsetDateTime>,
    /// Process Start Date.
    #[serde(with = "time::serde::rfc3339::option")]
    pub process_start_date: Option<OffsetDateTime>,
    /// Protect Stop Date.
    #[serde(with = "time::serde::rfc3339::option")]
    pub protect_stop_date: Option<OffsetDateTime>,
    /// Deactivation Date.
    #[serde(with = "time::serde::rfc3339::option")]
    pub deactivation_date: Option<OffsetDateTime>,
    /// Destroy Date (server-managed).
    #[serde(with = "time::serde::rfc3339::option")]
    pub destroy_date: Option<OffsetDateTime>,
    /// Compromise Occurrence Date (given with a compromise revocation).
    #[serde(with = "time::serde::rfc3339::option")]
    pub compromise_occurrence_date: Option<OffsetDateTime>,
    /// Compromise Date (server-managed).
    #[serde(with = "time::serde::rfc3339::option")]
    pub compromise_date: Option<OffsetDateTime>,
    /// Last Change Date (server-managed).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_change_date: Option<OffsetDateTime>,
    /// Original Creation Date (KMIP 2.0; for registered objects, as given).
    #[serde(with = "time::serde::rfc3339::option")]
    pub original_creation_date: Option<OffsetDateTime>,
    /// Revocation Reason (server-managed, set by Revoke).
    pub revocation_reason: Option<RevocationReason>,
    /// Custom attributes (`x-` client, `y-` server names in KMIP 1.x; Vendor Attributes in 2.x), by name.
    pub custom: BTreeMap<String, AttributeValue>,
    /// The fields of a Split Key object (server-managed; only objects of type Split Key have them). Last, and
    /// defaulted, so that records written before it existed still read.
    #[serde(default)]
    pub split_key: Option<SplitKeyInfo>,
    /// Usage Limits: how much more the key may protect. Counted by the [`KeyManager`](crate::KeyManager) on
    /// every Encrypt, Sign, MAC and wrap with the key. After `split_key`, and defaulted, for older records.
    #[serde(default)]
    pub usage_limits: Option<UsageLimits>,
    /// Fresh (KMIP 2.1 §4, since KMIP 1.1): the object's key value has not yet been served to a client. Set by the
    /// [`KeyManager`](crate::KeyManager) when the object is made (true unless the client gave a value) and turned
    /// false when Get or Export first returns the key value. `None` for records written before it existed, whose
    /// history is unknown. Last, and defaulted, for those records.
    #[serde(default)]
    pub fresh: Option<bool>,
}

impl Default for Attributes {
    fn default() -> Self {
        // KMIP 2.1 §4.19: Extractable defaults to True; a derived Default would make every key unexportable.
        Self {
            cryptographic_algorithm: None,
            cryptographic_length: None,
            cryptographic_usage_mask: None,
            recommended_curve: None,
            names: Vec::new(),
            object_groups: Vec::new(),
            links: Vec::new(),
            sensitive: false,
            always_sensitive: false,
            extractable: true,
            never_extractable: false,
            contact_information: None,
            description: None,
            comment: None,
            initial_date: None,
            activation_date: None,
            process_start_date: None,
            protect_stop_date: None,
            deactivation_date: None,
            destroy_date: None,
            compromise_occurrence_date: None,
            compromise_date: None,
            last_change_date: None,
            original_creation_date: None,
            revocation_reason: None,
            custom: BTreeMap::new(),
            split_key: None,
            usage_limits: None,
            fresh: None,
        }
    }
}

/// KMIP Split Key Method (KMIP 2.1 §11.46), with the specification's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u32)]
pub enum SplitKeyMethod {
    /// XOR: every part is needed.
    Xor = 0x01,
    /// Polynomial Sharing GF(2^16).
    PolynomialSharingGf2_16 = 0x02,
    /// Polynomial Sharing Prime Field (with a Prime Field Size).
    PolynomialSharingPrimeField = 0x03,
    /// Polynomial Sharing GF(2^8): Shamir secret sharing byte by byte over GF(2^8).
    PolynomialSharingGf2_8 = 0x04,
}

impl SplitKeyMethod {
    /// From the KMIP enumeration value; `None` for values the specification does not define.
    #[must_use]
    pub fn from_kmip(v: u32) -> Option<Self> {
        match v {
            0x01 => Some(Self::Xor),
            0x02 => Some(Self::PolynomialSharingGf2_16),
            0x03 => Some(Self::PolynomialSharingPrimeField),
            0x04 => Some(Self::PolynomialSharingGf2_8),
            _ => None,
        }
    }

    /// The KMIP enumeration value.
    #[must_use]
    pub fn to_kmip(self) -> u32 {
        self as u32
    }
}

impl std::fmt::Display for SplitKeyMethod {
    /// The specification's name.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Xor => "XOR",
            Self::PolynomialSharingGf2_16 => "Polynomial Sharing GF (2^16)",
            Self::PolynomialSharingPrimeField => "Polynomial Sharing Prime Field",
            Self::PolynomialSharingGf2_8 => "Polynomial Sharing GF (2^8)",
        })
    }
}

/// What a [`UsageLimits`] counts (KMIP Usage Limits Unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UsageLimitsUnit {
    /// Bytes of data protected.
    Byte,
    /// Operations (KMIP "Object": one per use).
    Object,
}

/// KMIP Usage Limits (KMIP 1.4 §3.21, 2.1 §4.57): `count` units of protection remain of `total`. A use that needs
/// more than what remains is refused, and a use that is allowed is counted before the key is used, in the same
/// store update that checks it, so concurrent uses cannot together exceed the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageLimits {
    /// Usage Limits Total: what the key was allowed when the limit was set.
    pub total: u64,
    /// Usage Limits Count: what remains.
    pub count: u64,
    /// Usage Limits Unit.
    pub unit: UsageLimitsUnit,
}

impl UsageLimits {
    /// A fresh limit of `total` units: nothing used yet.
    #[must_use]
    pub fn new(total: u64, unit: UsageLimitsUnit) -> Self {
        Self {
            total,
            count: total,
            unit,
        }
    }
}

/// The fields of a KMIP Split Key object (KMIP 2.1 §2.2.6) besides its Key Block, and what the server needs to
/// join the parts safely again.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitKeyInfo {
    /// Split Key Parts: how many parts the key was split into (N).
    pub split_key_parts: u32,
    /// Key Part Identifier: which part this is, 1 to N (the share's abscissa).
    pub key_part_identifier: u32,
    /// Split Key Threshold: how many parts join to the key (M).
    pub split_key_threshold: u32,
    /// Split Key Method.
    pub split_key_method: SplitKeyMethod,
    /// Prime Field Size, big-endian (Polynomial Sharing Prime Field only).
    pub prime_field_size: Option<Vec<u8>>,
    /// Which Create Split Key made this part (shared by all its parts, not a KMIP field): parts of two splits
    /// of one key must not be mixed, since they would join to garbage.
    pub split_id: String,
    /// Key check value of the split secret, HMAC-SHA256 keyed with it over the split id: a join from a corrupted
    /// or foreign part gives another secret, which this value tells apart. It reveals what a salted hash of the
    /// key does, which is nothing for keys; low-entropy Secret Data (passwords) should not be split.
    pub key_check_value: Vec<u8>,
}

impl std::fmt::Debug for SplitKeyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitKeyInfo")
            .field("split_key_parts", &self.split_key_parts)
            .field("key_part_identifier", &self.key_part_identifier)
            .field("split_key_threshold", &self.split_key_threshold)
            .field("split_key_method", &self.split_key_method)
            .field("split_id", &self.split_id)
            .finish_non_exhaustive()
    }
}

/// Everything a store keeps about a managed object besides its key value.
///
/// This is the record the [`ObjectStore`](crate::ObjectStore) persists; the key value itself is the opaque
/// [`KeyRef`](crate::KeyRef) beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectMetadata {
    /// Unique Identifier.
    pub id: ObjectId,
    /// Object Type.
    pub object_type: ObjectType,
    /// State (server-managed).
    pub state: State,
    /// The principal that created or registered the object.
    pub owner: String,
    /// Rights granted to principals other than the owner.
    pub grants: Vec<Grant>,
    /// The KMIP attributes.
    pub attributes: Attributes,
}

bitflags! {
    /// What a [`Grant`] allows a principal other than the owner to do with an object.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub struct Rights: u32 {
        /// See the object: Get (within its extractability), Get Attributes, Locate.
        const READ = 0x01;
        /// Use the key in cryptographic operations.
        const USE = 0x02;
        /// Add, set, modify and delete attributes.
        const MODIFY = 0x04;
        /// Activate, Revoke, Destroy, Re-key.
        const MANAGE = 0x08;
    }
}

/// Rights that the owner of an object gave another principal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Grant {
    /// The principal's name, as [`Principal::name`](crate::Principal::name) gives it.
    pub principal: String,
    /// What it may do.
    pub rights: Rights,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    /// Durable stores keep metadata as MessagePack arrays of the fields in order; a record written before Fresh
    /// existed is the same array one element shorter, and must still read (with no Fresh value).
    #[test]
    fn records_written_before_fresh_still_read() {
        let metadata = ObjectMetadata {
            id: ObjectId::try_from("old").unwrap(),
            object_type: ObjectType::SymmetricKey,
            state: State::Active,
            owner: "alice".into(),
            grants: Vec::new(),
            attributes: Attributes {
                fresh: Some(true),
                ..Attributes::default()
            },
        };
        let mut encoded = rmp_serde::to_vec(&metadata).unwrap();
        // Attributes is the last field of the record and Fresh the last of Attributes: drop Fresh's `true` and
        // make the array header of Attributes (array 16, 29 fields) say 28.
        assert_eq!(encoded.pop(), Some(0xC3));
        let header = encoded
            .windows(3)
            .position(|w| w == [0xDC, 0x00, 29])
            .unwrap();
        encoded[header + 2] = 28;
        let old: ObjectMetadata = rmp_serde::from_slice(&encoded).unwrap();
        assert_eq!(old.attributes.fresh, None);
        assert_eq!(
            old,
            ObjectMetadata {
                attributes: Attributes {
                    fresh: None,
                    ..metadata.attributes.clone()
                },
                ..metadata
            }
        );
    }
}
