//! Attributes in both of KMIP's forms.
//!
//! - KMIP 1.x: an `Attribute` structure holding Attribute Name (a Text String such as
//!   `"Cryptographic Algorithm"`), an optional Attribute Index and an Attribute Value whose type the name
//!   selects; lists of them sit in Template-Attribute structures or directly in payloads. Names starting
//!   with `x-` or `y-` are custom attributes.
//! - KMIP 2.x: each attribute is an item whose tag is the attribute's own (`CryptographicAlgorithm`),
//!   grouped in an `Attributes` structure (0x420125); vendor attributes are `Attribute` structures holding
//!   Vendor Identification, Attribute Name and Attribute Value.
//!
//! One [`Attribute`] enum represents both. A 1.x custom attribute `x-Name` and a 2.x vendor attribute with
//! Vendor Identification `x` and Attribute Name `Name` are the same [`VendorAttribute`], which is how the
//! KMIP 2.0 specification maps them.

use std::sync::OnceLock;

use super::Error;
use super::codec::{DateTime, Decode, Encode, Encoder, Interval, RawItem, missing, raw};
use super::enums::{
    CertificateType, CryptographicAlgorithm, CryptographicUsageMask, DigitalSignatureAlgorithm,
    KeyFormatType, NISTKeyType, ObjectGroupMember, ObjectType, ProtectionLevel,
    ProtectionStorageMask, State,
};
use super::types::{
    AlternativeName, ApplicationSpecificInformation, CertificateIdentifier, CertificateIssuer,
    CertificateSubject, CryptographicDomainParameters, CryptographicParameters, Digest,
    KeyValueLocation, Link, Name, RNGParameters, RevocationReason, UniqueIdentifier, UsageLimits,
    X509CertificateIdentifier, X509CertificateIssuer, X509CertificateSubject,
};
use crate::tags::Version;
use crate::ttlv::{Item, ItemType, Node, NodeValue, Tag, Value};

/// The Attribute Value of a vendor (custom) attribute: any TTLV value, kept as decoded.
pub type VendorAttributeValue = NodeValue<'static>;

/// A vendor-defined attribute: 1.x custom attribute `x-Name`/`y-Name`, 2.x vendor attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct VendorAttribute {
    /// Vendor Identification (`x` or `y` for the 1.x custom prefixes; empty for a 1.x name without prefix).
    pub vendor_identification: String,
    /// Attribute Name, without the vendor prefix.
    pub attribute_name: String,
    /// Attribute Value.
    pub attribute_value: VendorAttributeValue,
}

impl VendorAttribute {
    /// The 1.x Attribute Name: `vendor-name`, or `name` if there is no vendor; `None` when the name would not
    /// read back as the same vendor and name (a Vendor Identification holding `-`, or none while the name
    /// holds `-`).
    #[must_use]
    pub fn kmip1_name(&self) -> Option<String> {
        kmip1_vendor_name(&self.vendor_identification, &self.attribute_name)
    }

    fn split_kmip1_name(name: &str) -> (String, String) {
        match name.split_once('-') {
            Some((vendor, rest)) => (vendor.to_owned(), rest.to_owned()),
            None => (String::new(), name.to_owned()),
        }
    }
}

fn kmip1_vendor_name(vendor: &str, name: &str) -> Option<String> {
    if vendor.contains('-') || (vendor.is_empty() && name.contains('-')) {
        None
    } else if vendor.is_empty() {
        Some(name.to_owned())
    } else {
        Some(format!("{vendor}-{name}"))
    }
}

macro_rules! attribute_table {
    ($(
        $(#[$doc:meta])*
        $variant:ident($ty:ty) = $tag:ident, $name:literal, $since:ident $(, until $until:ident)?;
    )*) => {
        /// An attribute of a managed object, in either of KMIP's forms (see the module documentation).
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Attribute {
            $( $(#[$doc])* $variant($ty), )*
            /// A vendor (custom) attribute.
            Vendor(VendorAttribute),
            /// A 2.x attribute item this model does not define, kept as decoded.
            Other(RawItem),
        }

        impl Attribute {
            /// The attribute's tag (its 2.x item tag), [`Tag::ATTRIBUTE`] for a vendor attribute.
            #[must_use]
            pub fn tag(&self) -> Tag {
                match self {
                    $( Self::$variant(_) => Tag::$tag, )*
                    Self::Vendor(_) => Tag::ATTRIBUTE,
                    Self::Other(n) => n.tag,
                }
            }

            /// The attribute's 1.x Attribute Name for a standard attribute.
            #[must_use]
            pub const fn standard_kmip1_name(&self) -> Option<&'static str> {
                match self {
                    $( Self::$variant(_) => Some($name), )*
                    Self::Vendor(_) | Self::Other(_) => None,
                }
            }

            /// Decodes a 2.x attribute item (tag = attribute); `None` if the tag is not a standard attribute.
            fn decode_standard(item: &Item<'_>) -> Result<Option<Self>, Error> {
                Self::decode_standard_as(item.tag(), item)
            }

            /// Decodes `item` as the value of the standard attribute with tag `tag`.
            fn decode_standard_as(tag: Tag, item: &Item<'_>) -> Result<Option<Self>, Error> {
                Ok(Some(match tag {
                    $( Tag::$tag => Self::$variant(<$ty as Decode>::decode(item)?), )*
                    _ => return Ok(None),
                }))
            }

            /// Decodes the 1.x Attribute Value of the standard attribute named `name`; `None` for other names.
            fn decode_kmip1_value(name: &str, value: &Item<'_>) -> Result<Option<Self>, Error> {
                match tag_of_kmip1_name(name) {
                    Some(tag) => Self::decode_standard_as(tag, value),
                    None => Ok(None),
                }
            }

            /// Writes the value of a standard attribute under `tag`.
            fn encode_standard(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
                match self {
                    $(
                        Self::$variant(v) => {
                            e.require(Version::$since, concat!("attribute ", $name))?;
                            $( if e.version() > Version::$until {
                                return Err(Error::NotInVersion { what: concat!("attribute ", $name), version: e.version() });
                            } )?
                            v.encode(tag, e)
                        }
                    )*
                    Self::Vendor(_) | Self::Other(_) => Ok(()),
                }
            }
        }

        /// The 1.x Attribute Name of the standard attribute with this tag.
        #[must_use]
        pub const fn kmip1_name_of(tag: Tag) -> Option<&'static str> {
            match tag {
                $( Tag::$tag => Some($name), )*
                _ => None,
            }
        }

        /// The tag of the standard attribute with this 1.x Attribute Name.
        #[must_use]
        pub fn tag_of_kmip1_name(name: &str) -> Option<Tag> {
            // A sorted table searched by bisection: a `match` on strings compares them one after the other,
            // which costs more than the rest of decoding a 1.x attribute.
            static NAMES: OnceLock<Vec<(&'static str, Tag)>> = OnceLock::new();
            let names = NAMES.get_or_init(|| {
                let mut v = vec![$( ($name, Tag::$tag), )*];
                v.sort_unstable_by_key(|e| e.0);
                v
            });
            let i = names.binary_search_by(|e| e.0.cmp(name)).ok()?;
            names.get(i).map(|e| e.1)
        }
    };
}

attribute_table! {
    /// Unique Identifier.
    UniqueIdentifier(UniqueIdentifier) = UNIQUE_IDENTIFIER, "Unique Identifier", V1_0;
    /// Name.
    Name(Name) = NAME, "Name", V1_0;
    /// Object Type.
    ObjectType(ObjectType) = OBJECT_TYPE, "Object Type", V1_0;
    /// Cryptographic Algorithm.
    CryptographicAlgorithm(CryptographicAlgorithm) = CRYPTOGRAPHIC_ALGORITHM, "Cryptographic Algorithm", V1_0;
    /// Cryptographic Length in bits.
    CryptographicLength(i32) = CRYPTOGRAPHIC_LENGTH, "Cryptographic Length", V1_0;
    /// Cryptographic Parameters (boxed: the largest attribute value by far).
    CryptographicParameters(Box<CryptographicParameters>) = CRYPTOGRAPHIC_PARAMETERS, "Cryptographic Parameters", V1_0;
    /// Cryptographic Domain Parameters.
    CryptographicDomainParameters(CryptographicDomainParameters) = CRYPTOGRAPHIC_DOMAIN_PARAMETERS, "Cryptographic Domain Parameters", V1_0;
    /// Certificate Type.
    CertificateType(CertificateType) = CERTIFICATE_TYPE, "Certificate Type", V1_0;
    /// Certificate Length (1.1+).
    CertificateLength(i32) = CERTIFICATE_LENGTH, "Certificate Length", V1_1;
    /// X.509 Certificate Identifier (1.1 to 1.4).
    X509CertificateIdentifier(X509CertificateIdentifier) = X_509_CERTIFICATE_IDENTIFIER, "X.509 Certificate Identifier", V1_1, until V1_4;
    /// X.509 Certificate Subject (1.1 to 1.4).
    X509CertificateSubject(X509CertificateSubject) = X_509_CERTIFICATE_SUBJECT, "X.509 Certificate Subject", V1_1, until V1_4;
    /// X.509 Certificate Issuer (1.1 to 1.4).
    X509CertificateIssuer(X509CertificateIssuer) = X_509_CERTIFICATE_ISSUER, "X.509 Certificate Issuer", V1_1, until V1_4;
    /// Certificate Identifier (1.0; deprecated from 1.1).
    CertificateIdentifier(CertificateIdentifier) = CERTIFICATE_IDENTIFIER, "Certificate Identifier", V1_0, until V1_4;
    /// Certificate Subject (1.0; deprecated from 1.1).
    CertificateSubject(CertificateSubject) = CERTIFICATE_SUBJECT, "Certificate Subject", V1_0, until V1_4;
    /// Certificate Issuer (1.0; deprecated from 1.1).
    CertificateIssuer(CertificateIssuer) = CERTIFICATE_ISSUER, "Certificate Issuer", V1_0, until V1_4;
    /// Digital Signature Algorithm (1.1+).
    DigitalSignatureAlgorithm(DigitalSignatureAlgorithm) = DIGITAL_SIGNATURE_ALGORITHM, "Digital Signature Algorithm", V1_1;
    /// Digest.
    Digest(Digest) = DIGEST, "Digest", V1_0;
    /// Operation Policy Name (1.x only).
    OperationPolicyName(String) = OPERATION_POLICY_NAME, "Operation Policy Name", V1_0, until V1_4;
    /// Cryptographic Usage Mask.
    CryptographicUsageMask(CryptographicUsageMask) = CRYPTOGRAPHIC_USAGE_MASK, "Cryptographic Usage Mask", V1_0;
    /// Lease Time.
    LeaseTime(Interval) = LEASE_TIME, "Lease Time", V1_0;
    /// Usage Limits.
    UsageLimits(UsageLimits) = USAGE_LIMITS, "Usage Limits", V1_0;
    /// State.
    State(State) = STATE, "State", V1_0;
    /// Initial Date.
    InitialDate(DateTime) = INITIAL_DATE, "Initial Date", V1_0;
    /// Activation Date.
    ActivationDate(DateTime) = ACTIVATION_DATE, "Activation Date", V1_0;
    /// Process Start Date.
    ProcessStartDate(DateTime) = PROCESS_START_DATE, "Process Start Date", V1_0;
    /// Protect Stop Date.
    ProtectStopDate(DateTime) = PROTECT_STOP_DATE, "Protect Stop Date", V1_0;
    /// Deactivation Date.
    DeactivationDate(DateTime) = DEACTIVATION_DATE, "Deactivation Date", V1_0;
    /// Destroy Date.
    DestroyDate(DateTime) = DESTROY_DATE, "Destroy Date", V1_0;
    /// Compromise Occurrence Date.
    CompromiseOccurrenceDate(DateTime) = COMPROMISE_OCCURRENCE_DATE, "Compromise Occurrence Date", V1_0;
    /// Compromise Date.
    CompromiseDate(DateTime) = COMPROMISE_DATE, "Compromise Date", V1_0;
    /// Revocation Reason.
    RevocationReason(RevocationReason) = REVOCATION_REASON, "Revocation Reason", V1_0;
    /// Archive Date.
    ArchiveDate(DateTime) = ARCHIVE_DATE, "Archive Date", V1_0;
    /// Object Group.
    ObjectGroup(String) = OBJECT_GROUP, "Object Group", V1_0;
    /// Fresh (1.1+).
    Fresh(bool) = FRESH, "Fresh", V1_1;
    /// Link.
    Link(Link) = LINK, "Link", V1_0;
    /// Application Specific Information.
    ApplicationSpecificInformation(ApplicationSpecificInformation) = APPLICATION_SPECIFIC_INFORMATION, "Application Specific Information", V1_0;
    /// Contact Information.
    ContactInformation(String) = CONTACT_INFORMATION, "Contact Information", V1_0;
    /// Last Change Date.
    LastChangeDate(DateTime) = LAST_CHANGE_DATE, "Last Change Date", V1_0;
    /// Alternative Name (1.2+).
    AlternativeName(AlternativeName) = ALTERNATIVE_NAME, "Alternative Name", V1_2;
    /// Key Value Present (1.2+).
    KeyValuePresent(bool) = KEY_VALUE_PRESENT, "Key Value Present", V1_2;
    /// Key Value Location (1.2+).
    KeyValueLocation(KeyValueLocation) = KEY_VALUE_LOCATION, "Key Value Location", V1_2;
    /// Original Creation Date (1.2+).
    OriginalCreationDate(DateTime) = ORIGINAL_CREATION_DATE, "Original Creation Date", V1_2;
    /// Object Group Member (1.2+).
    ObjectGroupMember(ObjectGroupMember) = OBJECT_GROUP_MEMBER, "Object Group Member", V1_2;
    /// Random Number Generator (1.3+).
    RandomNumberGenerator(RNGParameters) = RANDOM_NUMBER_GENERATOR, "Random Number Generator", V1_3;
    /// PKCS#12 Friendly Name (1.4+).
    PKCS12FriendlyName(String) = PKCS_12_FRIENDLY_NAME, "PKCS#12 Friendly Name", V1_4;
    /// Description (1.4+).
    Description(String) = DESCRIPTION, "Description", V1_4;
    /// Comment (1.4+).
    Comment(String) = COMMENT, "Comment", V1_4;
    /// Sensitive (1.4+).
    Sensitive(bool) = SENSITIVE, "Sensitive", V1_4;
    /// Always Sensitive (1.4+).
    AlwaysSensitive(bool) = ALWAYS_SENSITIVE, "Always Sensitive", V1_4;
    /// Extractable (1.4+).
    Extractable(bool) = EXTRACTABLE, "Extractable", V1_4;
    /// Never Extractable (1.4+).
    NeverExtractable(bool) = NEVER_EXTRACTABLE, "Never Extractable", V1_4;
    /// Short Unique Identifier (2.0+).
    ShortUniqueIdentifier(Vec<u8>) = SHORT_UNIQUE_IDENTIFIER, "Short Unique Identifier", V2_0;
    /// Key Format Type (2.0+: an attribute of key objects).
    KeyFormatType(KeyFormatType) = KEY_FORMAT_TYPE, "Key Format Type", V2_0;
    /// NIST Key Type (2.0+).
    NISTKeyType(NISTKeyType) = NIST_KEY_TYPE, "NIST Key Type", V2_0;
    /// Protection Level (2.0+).
    ProtectionLevel(ProtectionLevel) = PROTECTION_LEVEL, "Protection Level", V2_0;
    /// Protection Period (2.0+).
    ProtectionPeriod(Interval) = PROTECTION_PERIOD, "Protection Period", V2_0;
    /// Protection Storage Mask (2.0+).
    ProtectionStorageMask(ProtectionStorageMask) = PROTECTION_STORAGE_MASK, "Protection Storage Mask", V2_0;
    /// Quantum Safe (2.0+).
    QuantumSafe(bool) = QUANTUM_SAFE, "Quantum Safe", V2_0;
    /// Certificate Subject CN (2.0+).
    CertificateSubjectCN(String) = CERTIFICATE_SUBJECT_CN, "Certificate Subject CN", V2_0;
    /// Certificate Subject O (2.0+).
    CertificateSubjectO(String) = CERTIFICATE_SUBJECT_O, "Certificate Subject O", V2_0;
    /// Certificate Subject OU (2.0+).
    CertificateSubjectOU(String) = CERTIFICATE_SUBJECT_OU, "Certificate Subject OU", V2_0;
    /// Certificate Subject Email (2.0+).
    CertificateSubjectEmail(String) = CERTIFICATE_SUBJECT_EMAIL, "Certificate Subject Email", V2_0;
    /// Certificate Subject C (2.0+).
    CertificateSubjectC(String) = CERTIFICATE_SUBJECT_C, "Certificate Subject C", V2_0;
    /// Certificate Subject ST (2.0+).
    CertificateSubjectST(String) = CERTIFICATE_SUBJECT_ST, "Certificate Subject ST", V2_0;
    /// Certificate Subject L (2.0+).
    CertificateSubjectL(String) = CERTIFICATE_SUBJECT_L, "Certificate Subject L", V2_0;
    /// Certificate Subject UID (2.0+).
    CertificateSubjectUID(String) = CERTIFICATE_SUBJECT_UID, "Certificate Subject UID", V2_0;
    /// Certificate Subject Serial Number (2.0+).
    CertificateSubjectSerialNumber(String) = CERTIFICATE_SUBJECT_SERIAL_NUMBER, "Certificate Subject Serial Number", V2_0;
    /// Certificate Subject Title (2.0+).
    CertificateSubjectTitle(String) = CERTIFICATE_SUBJECT_TITLE, "Certificate Subject Title", V2_0;
    /// Certificate Subject DC (2.0+).
    CertificateSubjectDC(String) = CERTIFICATE_SUBJECT_DC, "Certificate Subject DC", V2_0;
    /// Certificate Subject DN Qualifier (2.0+).
    CertificateSubjectDNQualifier(String) = CERTIFICATE_SUBJECT_DN_QUALIFIER, "Certificate Subject DN Qualifier", V2_0;
    /// Certificate Issuer CN (2.0+).
    CertificateIssuerCN(String) = CERTIFICATE_ISSUER_CN, "Certificate Issuer CN", V2_0;
    /// Certificate Issuer O (2.0+).
    CertificateIssuerO(String) = CERTIFICATE_ISSUER_O, "Certificate Issuer O", V2_0;
    /// Certificate Issuer OU (2.0+).
    CertificateIssuerOU(String) = CERTIFICATE_ISSUER_OU, "Certificate Issuer OU", V2_0;
    /// Certificate Issuer Email (2.0+).
    CertificateIssuerEmail(String) = CERTIFICATE_ISSUER_EMAIL, "Certificate Issuer Email", V2_0;
    /// Certificate Issuer C (2.0+).
    CertificateIssuerC(String) = CERTIFICATE_ISSUER_C, "Certificate Issuer C", V2_0;
    /// Certificate Issuer ST (2.0+).
    CertificateIssuerST(String) = CERTIFICATE_ISSUER_ST, "Certificate Issuer ST", V2_0;
    /// Certificate Issuer L (2.0+).
    CertificateIssuerL(String) = CERTIFICATE_ISSUER_L, "Certificate Issuer L", V2_0;
    /// Certificate Issuer UID (2.0+).
    CertificateIssuerUID(String) = CERTIFICATE_ISSUER_UID, "Certificate Issuer UID", V2_0;
    /// Certificate Issuer Serial Number (2.0+).
    CertificateIssuerSerialNumber(String) = CERTIFICATE_ISSUER_SERIAL_NUMBER, "Certificate Issuer Serial Number", V2_0;
    /// Certificate Issuer Title (2.0+).
    CertificateIssuerTitle(String) = CERTIFICATE_ISSUER_TITLE, "Certificate Issuer Title", V2_0;
    /// Certificate Issuer DC (2.0+).
    CertificateIssuerDC(String) = CERTIFICATE_ISSUER_DC, "Certificate Issuer DC", V2_0;
    /// Certificate Issuer DN Qualifier (2.0+).
    CertificateIssuerDNQualifier(String) = CERTIFICATE_ISSUER_DN_QUALIFIER, "Certificate Issuer DN Qualifier", V2_0;
}

impl Attribute {
    /// The 1.x Attribute Name: the standard name, `vendor-name` for a vendor attribute.
    #[must_use]
    pub fn kmip1_name(&self) -> Option<String> {
        match self {
            Self::Vendor(v) => v.kmip1_name(),
            Self::Other(_) => None,
            other => other.standard_kmip1_name().map(str::to_owned),
        }
    }

    /// The reference naming this attribute (for Get Attributes, Delete Attribute...).
    #[must_use]
    pub fn reference(&self) -> AttributeReference {
        match self {
            Self::Vendor(v) => AttributeReference::Vendor {
                vendor_identification: v.vendor_identification.clone(),
                attribute_name: v.attribute_name.clone(),
            },
            other => AttributeReference::Standard(other.tag()),
        }
    }

    /// Decodes a 1.x `Attribute` structure (Attribute Name, Attribute Index, Attribute Value), returning the
    /// attribute and its index. A 2.x vendor attribute (Vendor Identification first) is also accepted.
    ///
    /// # Errors
    ///
    /// A missing name or value, or a value of the wrong type for its name.
    pub fn decode_attribute_structure(item: &Item<'_>) -> Result<(Self, Option<i32>), Error> {
        let mut children = item.children()?;
        if let Some(vendor) = children.next_if_tag(Tag::VENDOR_IDENTIFICATION)? {
            let vendor_identification = vendor.as_text_string()?.to_owned();
            let name = children
                .next_if_tag(Tag::ATTRIBUTE_NAME)?
                .ok_or_else(|| missing(item, Tag::ATTRIBUTE_NAME))?;
            let value = children
                .next_if_tag(Tag::ATTRIBUTE_VALUE)?
                .ok_or_else(|| missing(item, Tag::ATTRIBUTE_VALUE))?;
            expect_end(&mut children)?;
            let attr = Self::Vendor(VendorAttribute {
                vendor_identification,
                attribute_name: name.as_text_string()?.to_owned(),
                attribute_value: Node::from_item(&value)?.into_owned().value,
            });
            return Ok((attr, None));
        }
        let name_item = children
            .next_if_tag(Tag::ATTRIBUTE_NAME)?
            .ok_or_else(|| missing(item, Tag::ATTRIBUTE_NAME))?;
        let name = name_item.as_text_string()?;
        let index = children
            .next_if_tag(Tag::ATTRIBUTE_INDEX)?
            .map(|i| i.as_integer())
            .transpose()?;
        let value = children.next_if_tag(Tag::ATTRIBUTE_VALUE)?;
        expect_end(&mut children)?;
        let Some(value) = value else {
            // 1.x allows an Attribute without value only where it names an attribute (Get Attributes of
            // old servers); keep it as a vendor attribute with an empty structure so nothing is lost.
            return Err(missing(item, Tag::ATTRIBUTE_VALUE));
        };
        if let Some(attr) = Self::decode_kmip1_value(name, &value)? {
            return Ok((attr, index));
        }
        let (vendor_identification, attribute_name) = VendorAttribute::split_kmip1_name(name);
        let attr = Self::Vendor(VendorAttribute {
            vendor_identification,
            attribute_name,
            attribute_value: Node::from_item(&value)?.into_owned().value,
        });
        Ok((attr, index))
    }

    /// Decodes one item of a 2.x `Attributes` structure (or a New/Current Attribute's content).
    ///
    /// # Errors
    ///
    /// A value of the wrong type for its tag.
    pub fn decode_item(item: &Item<'_>) -> Result<Self, Error> {
        if item.tag() == Tag::ATTRIBUTE {
            return Ok(Self::decode_attribute_structure(item)?.0);
        }
        match Self::decode_standard(item)? {
            Some(a) => Ok(a),
            None => Ok(Self::Other(raw(item)?)),
        }
    }

    /// Writes the 2.x form: the attribute's own item (a vendor attribute as an `Attribute` structure).
    ///
    /// # Errors
    ///
    /// [`Error::NotInVersion`] for an attribute the target version does not know.
    pub fn encode_v2(&self, e: &mut Encoder<'_>) -> Result<(), Error> {
        match self {
            Self::Vendor(v) => {
                let s = e.w.begin_structure(Tag::ATTRIBUTE);
                e.w.text_string(Tag::VENDOR_IDENTIFICATION, &v.vendor_identification);
                e.w.text_string(Tag::ATTRIBUTE_NAME, &v.attribute_name);
                Node {
                    tag: Tag::ATTRIBUTE_VALUE,
                    value: v.attribute_value.clone(),
                }
                .encode(&mut e.w);
                e.w.end_structure(s);
                Ok(())
            }
            Self::Other(n) => {
                n.encode(&mut e.w);
                Ok(())
            }
            std => std.encode_standard(std.tag(), e),
        }
    }

    /// Writes the 1.x form: an `Attribute` structure with name, optional index and value.
    ///
    /// # Errors
    ///
    /// [`Error::NotInVersion`] for an attribute 1.x cannot name (a 2.x attribute kept as raw item, or one
    /// the target version does not know).
    pub fn encode_v1(&self, index: Option<i32>, e: &mut Encoder<'_>) -> Result<(), Error> {
        let s = e.w.begin_structure(Tag::ATTRIBUTE);
        match self {
            Self::Vendor(v) => {
                let name = v.kmip1_name().ok_or(Error::NotInVersion {
                    what: "a vendor attribute whose vendor and name do not form a 1.x name",
                    version: e.version(),
                })?;
                e.w.text_string(Tag::ATTRIBUTE_NAME, &name);
                if let Some(i) = index {
                    e.w.integer(Tag::ATTRIBUTE_INDEX, i);
                }
                Node {
                    tag: Tag::ATTRIBUTE_VALUE,
                    value: v.attribute_value.clone(),
                }
                .encode(&mut e.w);
            }
            Self::Other(_) => {
                return Err(Error::NotInVersion {
                    what: "an attribute unknown to the model",
                    version: e.version(),
                });
            }
            std => {
                let name = std.standard_kmip1_name().unwrap_or_default();
                e.w.text_string(Tag::ATTRIBUTE_NAME, name);
                if let Some(i) = index {
                    e.w.integer(Tag::ATTRIBUTE_INDEX, i);
                }
                std.encode_standard(Tag::ATTRIBUTE_VALUE, e)?;
            }
        }
        e.w.end_structure(s);
        Ok(())
    }

    /// Writes the attribute in the form of the target version: 1.x `Attribute` structure or 2.x item.
    ///
    /// # Errors
    ///
    /// As [`Self::encode_v1`] and [`Self::encode_v2`].
    pub fn encode_for(&self, index: Option<i32>, e: &mut Encoder<'_>) -> Result<(), Error> {
        if e.is_v2() {
            self.encode_v2(e)
        } else {
            self.encode_v1(index, e)
        }
    }
}

fn expect_end(children: &mut crate::ttlv::Children<'_>) -> Result<(), Error> {
    match children.next() {
        None => Ok(()),
        Some(Err(e)) => Err(e.into()),
        Some(Ok(extra)) => Err(Error::InvalidValue {
            offset: extra.offset(),
            tag: extra.tag(),
            reason: "unexpected item in an Attribute structure",
        }),
    }
}

/// A list of attributes: a 1.x Template-Attribute (or Common/Private/Public Template-Attribute) or a 2.x
/// Attributes (or Common/Private/Public Key Attributes) structure.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Attributes {
    /// The attributes, in order.
    pub attributes: Vec<Attribute>,
    /// 1.x only: the Attribute Index of those entries that carried one, as (position in `attributes`, index).
    pub indices: Vec<(usize, i32)>,
    /// 1.x only: Names of Template objects whose attributes apply too (KMIP 1.x Template-Attribute).
    pub template_names: Vec<Name>,
}

impl Attributes {
    /// A list of attributes.
    #[must_use]
    pub fn new(attributes: Vec<Attribute>) -> Self {
        Self {
            attributes,
            indices: Vec::new(),
            template_names: Vec::new(),
        }
    }

    /// The explicit 1.x Attribute Index of entry `position`.
    #[must_use]
    pub fn index_of(&self, position: usize) -> Option<i32> {
        self.indices
            .iter()
            .find(|(p, _)| *p == position)
            .map(|(_, i)| *i)
    }

    /// Adds one decoded item of either form (a 1.x `Attribute` structure, a 2.x attribute item, or a 1.x
    /// template `Name` when `names_are_templates`).
    pub(crate) fn push_item(
        &mut self,
        item: &Item<'_>,
        names_are_templates: bool,
    ) -> Result<(), Error> {
        if item.tag() == Tag::ATTRIBUTE {
            let (attr, index) = Attribute::decode_attribute_structure(item)?;
            if let Some(i) = index {
                self.indices.push((self.attributes.len(), i));
            }
            self.attributes.push(attr);
        } else if names_are_templates && item.tag() == Tag::NAME {
            self.template_names.push(Name::decode(item)?);
        } else {
            self.attributes.push(Attribute::decode_item(item)?);
        }
        Ok(())
    }

    /// Writes the attributes as items of the enclosing structure, in the target version's form (used by
    /// 1.x payloads that list `Attribute` structures directly, and inside the containers).
    ///
    /// # Errors
    ///
    /// [`Error::NotInVersion`] for template names in 2.x or attributes the version does not know.
    pub fn encode_items(&self, e: &mut Encoder<'_>) -> Result<(), Error> {
        if e.is_v2() {
            if !self.template_names.is_empty() {
                return Err(Error::NotInVersion {
                    what: "Template names",
                    version: e.version(),
                });
            }
            for a in &self.attributes {
                a.encode_v2(e)?;
            }
        } else {
            for n in &self.template_names {
                n.encode(Tag::NAME, e)?;
            }
            for (pos, a) in self.attributes.iter().enumerate() {
                let index = if self.indices.is_empty() {
                    None
                } else {
                    self.index_of(pos)
                };
                a.encode_v1(index, e)?;
            }
        }
        Ok(())
    }
}

impl Decode for Attributes {
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        // In a 1.x Template-Attribute a Name names a Template object; in a 2.x Attributes structure it is
        // the Name attribute.
        let template = matches!(
            item.tag(),
            Tag::TEMPLATE_ATTRIBUTE
                | Tag::COMMON_TEMPLATE_ATTRIBUTE
                | Tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE
                | Tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE
        );
        let mut out = Self::default();
        for child in item.children()? {
            out.push_item(&child?, template)?;
        }
        Ok(out)
    }
}

impl Encode for Attributes {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        let s = e.w.begin_structure(tag);
        self.encode_items(e)?;
        e.w.end_structure(s);
        Ok(())
    }
}

/// Names an attribute: 1.x Attribute Name (a Text String), 2.x Attribute Reference (an Enumeration holding
/// the attribute's tag, or a structure naming a vendor attribute).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AttributeReference {
    /// A standard attribute, by its tag.
    Standard(Tag),
    /// A vendor attribute (1.x custom names `x-Name` are vendor `x`, name `Name`).
    Vendor {
        /// Vendor Identification.
        vendor_identification: String,
        /// Attribute Name.
        attribute_name: String,
    },
}

impl Default for AttributeReference {
    fn default() -> Self {
        Self::Standard(Tag::UNIQUE_IDENTIFIER)
    }
}

impl AttributeReference {
    /// The reference named by a 1.x Attribute Name.
    #[must_use]
    pub fn from_kmip1_name(name: &str) -> Self {
        match tag_of_kmip1_name(name) {
            Some(tag) => Self::Standard(tag),
            None => {
                let (vendor_identification, attribute_name) =
                    VendorAttribute::split_kmip1_name(name);
                Self::Vendor {
                    vendor_identification,
                    attribute_name,
                }
            }
        }
    }

    /// The 1.x Attribute Name.
    #[must_use]
    pub fn kmip1_name(&self) -> Option<String> {
        match self {
            Self::Standard(tag) => kmip1_name_of(*tag).map(str::to_owned),
            Self::Vendor {
                vendor_identification,
                attribute_name,
            } => kmip1_vendor_name(vendor_identification, attribute_name),
        }
    }
}

/// Decodes an Attribute Name (1.x) or Attribute Reference (2.x) item.
impl Decode for AttributeReference {
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        match *item.value() {
            Value::TextString(name) => Ok(Self::from_kmip1_name(name)),
            Value::Enumeration(v) => match Tag::new(v) {
                Some(tag) => Ok(Self::Standard(tag)),
                None => Err(Error::InvalidValue {
                    offset: item.offset(),
                    tag: item.tag(),
                    reason: "not a tag",
                }),
            },
            Value::Structure(_) => {
                let mut children = item.children()?;
                let vendor = children
                    .next_if_tag(Tag::VENDOR_IDENTIFICATION)?
                    .ok_or_else(|| missing(item, Tag::VENDOR_IDENTIFICATION))?;
                let name = children
                    .next_if_tag(Tag::ATTRIBUTE_NAME)?
                    .ok_or_else(|| missing(item, Tag::ATTRIBUTE_NAME))?;
                expect_end(&mut children)?;
                Ok(Self::Vendor {
                    vendor_identification: vendor.as_text_string()?.to_owned(),
                    attribute_name: name.as_text_string()?.to_owned(),
                })
            }
            _ => Err(item.wrong_type(ItemType::Enumeration).into()),
        }
    }
}

impl AttributeReference {
    /// Writes the reference for the target version: Attribute Name (1.x) or Attribute Reference (2.x).
    ///
    /// # Errors
    ///
    /// [`Error::NotInVersion`] for a standard attribute 1.x has no name for.
    pub fn encode_for(&self, e: &mut Encoder<'_>) -> Result<(), Error> {
        if e.is_v2() {
            match self {
                Self::Standard(tag) => e.w.enumeration(Tag::ATTRIBUTE_REFERENCE, tag.value()),
                Self::Vendor {
                    vendor_identification,
                    attribute_name,
                } => {
                    let s = e.w.begin_structure(Tag::ATTRIBUTE_REFERENCE);
                    e.w.text_string(Tag::VENDOR_IDENTIFICATION, vendor_identification);
                    e.w.text_string(Tag::ATTRIBUTE_NAME, attribute_name);
                    e.w.end_structure(s);
                }
            }
        } else {
            let name = self.kmip1_name().ok_or(Error::NotInVersion {
                what: "an attribute without a 1.x name",
                version: e.version(),
            })?;
            e.w.text_string(Tag::ATTRIBUTE_NAME, &name);
        }
        Ok(())
    }
}

/// A single attribute in a payload: 1.x `Attribute` structure (with its index) or 2.x New/Current
/// Attribute structure holding the attribute item.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedAttribute {
    /// The attribute.
    pub attribute: Attribute,
    /// 1.x Attribute Index, if the structure carried one.
    pub index: Option<i32>,
}

impl IndexedAttribute {
    /// Writes the 1.x `Attribute` structure, or for 2.x the wrapper `v2_tag` (New Attribute, Current Attribute).
    ///
    /// # Errors
    ///
    /// As [`Attribute::encode_for`].
    pub fn encode_for(&self, v2_tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        if e.is_v2() && v2_tag == Tag::ATTRIBUTE {
            // The field only exists in 1.x (the attribute echoed by 1.x Add/Modify/Delete Attribute).
            return Err(Error::NotInVersion {
                what: "a 1.x Attribute structure",
                version: e.version(),
            });
        }
        if e.is_v2() {
            let s = e.w.begin_structure(v2_tag);
            self.attribute.encode_v2(e)?;
            e.w.end_structure(s);
            Ok(())
        } else {
            self.attribute.encode_v1(self.index, e)
        }
    }
}

/// Decodes a 1.x `Attribute` structure or a 2.x New/Current Attribute wrapper.
impl Decode for IndexedAttribute {
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        if item.tag() == Tag::ATTRIBUTE {
            let (attribute, index) = Attribute::decode_attribute_structure(item)?;
            return Ok(Self { attribute, index });
        }
        let mut children = item.children()?;
        let inner = children
            .next()
            .ok_or_else(|| missing(item, Tag::ATTRIBUTE))??;
        expect_end(&mut children)?;
        Ok(Self {
            attribute: Attribute::decode_item(&inner)?,
            index: None,
        })
    }
}

/// `tag` is the 2.x wrapper (New Attribute, Current Attribute); 1.x writes an `Attribute` structure.
impl Encode for IndexedAttribute {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        self.encode_for(tag, e)
    }
}

/// Writes Attribute Name (1.x) or Attribute Reference (2.x) whatever `tag` the caller picked.
impl Encode for AttributeReference {
    fn encode(&self, _tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        self.encode_for(e)
    }
}

/// A placeholder (an empty Unique Identifier) so that payload structs can derive `Default`.
impl Default for IndexedAttribute {
    fn default() -> Self {
        Self {
            attribute: Attribute::UniqueIdentifier(UniqueIdentifier::default()),
            index: None,
        }
    }
}
