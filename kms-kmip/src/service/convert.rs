//! Conversions between the KMIP message model and kms-core's object model.
//!
//! Every conversion that can lose meaning fails instead: an attribute kms-core does not keep is refused with
//! Invalid Field (or Attribute Not Found for references), never silently dropped.

use kms_core::Error as CoreError;
use kms_core::manager::{Attribute as CoreAttribute, AttributeName};
use kms_core::object::{AttributeValue, Attributes as CoreAttributes};
use kms_core::object::{
    CryptographicAlgorithm as CoreAlgorithm, Link as CoreLink, LinkType as CoreLinkType,
    Name as CoreName, NameType as CoreNameType, ObjectId, ObjectType as CoreObjectType,
    RecommendedCurve as CoreCurve, RevocationReason as CoreRevocationReason,
    RevocationReasonCode as CoreRevocationReasonCode, State as CoreState,
    UsageLimits as CoreUsageLimits, UsageLimitsUnit as CoreUsageLimitsUnit, UsageMask,
};
use time::OffsetDateTime;

use crate::message::Encoder;
use crate::message::attributes::VendorAttributeValue;
use crate::message::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, LinkType, NameType, ObjectType,
    RecommendedCurve, RevocationReasonCode, State, UsageLimitsUnit,
};
use crate::message::types::{CryptographicDomainParameters, Link, Name, RevocationReason};
use crate::message::{
    Attribute, AttributeReference, Attributes, DateTime, UniqueIdentifier, VendorAttribute,
};
use crate::tags::Version;
use crate::ttlv::{NodeValue, Tag};

pub(crate) fn object_type_in(t: ObjectType) -> Result<CoreObjectType, CoreError> {
    Ok(match t {
        ObjectType::CERTIFICATE => CoreObjectType::Certificate,
        ObjectType::SYMMETRIC_KEY => CoreObjectType::SymmetricKey,
        ObjectType::PUBLIC_KEY => CoreObjectType::PublicKey,
        ObjectType::PRIVATE_KEY => CoreObjectType::PrivateKey,
        ObjectType::SPLIT_KEY => CoreObjectType::SplitKey,
        ObjectType::SECRET_DATA => CoreObjectType::SecretData,
        ObjectType::OPAQUE_OBJECT => CoreObjectType::OpaqueObject,
        ObjectType::PGP_KEY => CoreObjectType::PgpKey,
        ObjectType::CERTIFICATE_REQUEST => CoreObjectType::CertificateRequest,
        _ => return Err(CoreError::IllegalObjectType),
    })
}

pub(crate) fn object_type_out(t: CoreObjectType) -> ObjectType {
    ObjectType(t as u32)
}

pub(crate) fn state_out(s: CoreState) -> State {
    State(s as u32)
}

fn state_in(s: State) -> Result<CoreState, CoreError> {
    CoreState::ALL
        .into_iter()
        .find(|c| *c as u32 == s.0)
        .ok_or_else(|| CoreError::InvalidAttributeValue("unknown State".into()))
}

pub(crate) fn id_text(id: &UniqueIdentifier) -> Result<ObjectId, CoreError> {
    match id {
        UniqueIdentifier::Text(s) => ObjectId::try_from(s.as_str()),
        _ => Err(CoreError::InvalidField(
            "Unique Identifier must be a Text String here".into(),
        )),
    }
}

pub(crate) fn date_in(d: DateTime) -> Result<OffsetDateTime, CoreError> {
    OffsetDateTime::from_unix_timestamp(d.0)
        .map_err(|_| CoreError::InvalidAttributeValue("Date-Time out of range".into()))
}

pub(crate) fn date_out(d: OffsetDateTime) -> DateTime {
    DateTime(d.unix_timestamp())
}

pub(crate) fn algorithm_in(a: CryptographicAlgorithm) -> CoreAlgorithm {
    CoreAlgorithm::from_kmip(a.0)
}

fn link_type_in(t: LinkType) -> Result<CoreLinkType, CoreError> {
    use CoreLinkType as L;
    const ALL: [CoreLinkType; 14] = [
        L::CertificateLink,
        L::PublicKeyLink,
        L::PrivateKeyLink,
        L::DerivationBaseObjectLink,
        L::DerivedKeyLink,
        L::ReplacementObjectLink,
        L::ReplacedObjectLink,
        L::ParentLink,
        L::ChildLink,
        L::PreviousLink,
        L::NextLink,
        L::Pkcs12CertificateLink,
        L::Pkcs12PasswordLink,
        L::WrappingKeyLink,
    ];
    ALL.into_iter()
        .find(|l| *l as u32 == t.0)
        .ok_or_else(|| CoreError::InvalidAttributeValue("unknown Link Type".into()))
}

fn revocation_code_in(c: RevocationReasonCode) -> Result<CoreRevocationReasonCode, CoreError> {
    use CoreRevocationReasonCode as R;
    [
        R::Unspecified,
        R::KeyCompromise,
        R::CaCompromise,
        R::AffiliationChanged,
        R::Superseded,
        R::CessationOfOperation,
        R::PrivilegeWithdrawn,
    ]
    .into_iter()
    .find(|r| *r as u32 == c.0)
    .ok_or_else(|| CoreError::InvalidField("unknown Revocation Reason Code".into()))
}

pub(crate) fn revocation_reason_in(
    r: &RevocationReason,
) -> Result<CoreRevocationReason, CoreError> {
    Ok(CoreRevocationReason {
        code: revocation_code_in(r.revocation_reason_code)?,
        message: r.revocation_message.clone(),
    })
}

fn vendor_value_in(v: &VendorAttributeValue) -> Result<AttributeValue, CoreError> {
    Ok(match v {
        NodeValue::TextString(s) => AttributeValue::Text(s.to_string()),
        NodeValue::Integer(i) => AttributeValue::Integer(*i),
        NodeValue::LongInteger(i) => AttributeValue::LongInteger(*i),
        NodeValue::BigInteger(b) => AttributeValue::BigInteger(b.to_vec()),
        NodeValue::Enumeration(e) => AttributeValue::Enumeration(*e),
        NodeValue::Boolean(b) => AttributeValue::Boolean(*b),
        NodeValue::ByteString(b) => AttributeValue::Bytes(b.to_vec()),
        NodeValue::DateTime(d) => AttributeValue::DateTime(date_in(DateTime(*d))?),
        NodeValue::Interval(i) => AttributeValue::Interval(*i),
        NodeValue::DateTimeExtended(_) | NodeValue::Structure(_) => {
            return Err(CoreError::InvalidAttributeValue(
                "custom attributes of this type are not kept".into(),
            ));
        }
    })
}

fn vendor_value_out(v: &AttributeValue) -> VendorAttributeValue {
    match v {
        AttributeValue::Text(s) => NodeValue::TextString(s.clone().into()),
        AttributeValue::Integer(i) => NodeValue::Integer(*i),
        AttributeValue::LongInteger(i) => NodeValue::LongInteger(*i),
        AttributeValue::BigInteger(b) => NodeValue::BigInteger(b.clone().into()),
        AttributeValue::Enumeration(e) => NodeValue::Enumeration(*e),
        AttributeValue::Boolean(b) => NodeValue::Boolean(*b),
        AttributeValue::Bytes(b) => NodeValue::ByteString(b.clone().into()),
        AttributeValue::DateTime(d) => NodeValue::DateTime(d.unix_timestamp()),
        AttributeValue::Interval(i) => NodeValue::Interval(*i),
    }
}

/// The name kms-core keeps a custom attribute under: its KMIP 1.x name (`x-Name`).
fn custom_name(v: &VendorAttribute) -> Result<String, CoreError> {
    if v.vendor_identification.starts_with(ITEM_PREFIX)
        || v.attribute_name.starts_with(ITEM_PREFIX)
        || v.vendor_identification.contains('-')
        || (v.vendor_identification.is_empty() && v.attribute_name.contains('-'))
    {
        // It would not read back as the same vendor and name.
        return Err(CoreError::InvalidAttributeValue(
            "vendor attribute name without a 1.x form".into(),
        ));
    }
    Ok(if v.vendor_identification.is_empty() {
        v.attribute_name.clone()
    } else {
        format!("{}-{}", v.vendor_identification, v.attribute_name)
    })
}

fn custom_from_name(name: &str, value: VendorAttributeValue) -> VendorAttribute {
    let (vendor, attribute) = match name.split_once('-') {
        Some((v, a)) => (v.to_owned(), a.to_owned()),
        None => (String::new(), name.to_owned()),
    };
    VendorAttribute {
        vendor_identification: vendor,
        attribute_name: attribute,
        attribute_value: value,
    }
}

fn curve_in(c: RecommendedCurve) -> Result<CoreCurve, CoreError> {
    CoreCurve::from_kmip(c.0).ok_or_else(|| {
        CoreError::UnsupportedCryptographicParameters(format!("Recommended Curve 0x{:08X}", c.0))
    })
}

/// One KMIP attribute as kms-core's.
///
/// # Errors
/// Invalid Field for an attribute kms-core does not keep; Invalid Attribute Value for a value out of range.
pub(crate) fn attribute_in(a: &Attribute) -> Result<CoreAttribute, CoreError> {
    Ok(match a {
        Attribute::UniqueIdentifier(id) => CoreAttribute::UniqueIdentifier(id_text(id)?),
        Attribute::ObjectType(t) => CoreAttribute::ObjectType(object_type_in(*t)?),
        Attribute::State(s) => CoreAttribute::State(state_in(*s)?),
        Attribute::CryptographicAlgorithm(v) => {
            CoreAttribute::CryptographicAlgorithm(algorithm_in(*v))
        }
        Attribute::CryptographicLength(v) => {
            CoreAttribute::CryptographicLength(u32::try_from(*v).map_err(|_| {
                CoreError::InvalidAttributeValue("negative Cryptographic Length".into())
            })?)
        }
        Attribute::CryptographicUsageMask(m) => {
            CoreAttribute::CryptographicUsageMask(UsageMask::from_bits_retain(m.0))
        }
        Attribute::CryptographicDomainParameters(CryptographicDomainParameters {
            recommended_curve: Some(c),
            ..
        }) => CoreAttribute::RecommendedCurve(curve_in(*c)?),
        Attribute::Name(n) => CoreAttribute::Name(CoreName {
            value: n.name_value.clone(),
            name_type: if n.name_type == NameType::URI {
                CoreNameType::Uri
            } else {
                CoreNameType::UninterpretedTextString
            },
        }),
        Attribute::ObjectGroup(g) => CoreAttribute::ObjectGroup(g.clone()),
        Attribute::Link(l) => CoreAttribute::Link(CoreLink {
            link_type: link_type_in(l.link_type)?,
            linked_object_id: id_text(&l.linked_object_identifier)?,
        }),
        Attribute::Sensitive(b) => CoreAttribute::Sensitive(*b),
        Attribute::AlwaysSensitive(b) => CoreAttribute::AlwaysSensitive(*b),
        Attribute::Extractable(b) => CoreAttribute::Extractable(*b),
        Attribute::NeverExtractable(b) => CoreAttribute::NeverExtractable(*b),
        Attribute::Fresh(b) => CoreAttribute::Fresh(*b),
        Attribute::ContactInformation(s) => CoreAttribute::ContactInformation(s.clone()),
        Attribute::Description(s) => CoreAttribute::Description(s.clone()),
        Attribute::Comment(s) => CoreAttribute::Comment(s.clone()),
        Attribute::InitialDate(d) => CoreAttribute::InitialDate(date_in(*d)?),
        Attribute::ActivationDate(d) => CoreAttribute::ActivationDate(date_in(*d)?),
        Attribute::ProcessStartDate(d) => CoreAttribute::ProcessStartDate(date_in(*d)?),
        Attribute::ProtectStopDate(d) => CoreAttribute::ProtectStopDate(date_in(*d)?),
        Attribute::DeactivationDate(d) => CoreAttribute::DeactivationDate(date_in(*d)?),
        Attribute::DestroyDate(d) => CoreAttribute::DestroyDate(date_in(*d)?),
        Attribute::CompromiseOccurrenceDate(d) => {
            CoreAttribute::CompromiseOccurrenceDate(date_in(*d)?)
        }
        Attribute::CompromiseDate(d) => CoreAttribute::CompromiseDate(date_in(*d)?),
        Attribute::LastChangeDate(d) => CoreAttribute::LastChangeDate(date_in(*d)?),
        Attribute::OriginalCreationDate(d) => CoreAttribute::OriginalCreationDate(date_in(*d)?),
        Attribute::RevocationReason(r) => CoreAttribute::RevocationReason(revocation_reason_in(r)?),
        Attribute::UsageLimits(l) => CoreAttribute::UsageLimits(usage_limits_in(l)?),
        Attribute::Vendor(v) => {
            CoreAttribute::Custom(custom_name(v)?, vendor_value_in(&v.attribute_value)?)
        }
        other if SERVER_DERIVED.contains(&other.tag()) => {
            return Err(CoreError::AttributeReadOnly(format!(
                "{} is derived by the server",
                other.tag()
            )));
        }
        other if KEPT_AS_ITEMS.contains(&other.tag()) => {
            let mut buf = Vec::new();
            let mut e = Encoder::new(&mut buf, Version::V2_1);
            other
                .encode_v2(&mut e)
                .and_then(|()| e.finish())
                .map_err(|err| CoreError::InvalidAttributeValue(err.to_string()))?;
            CoreAttribute::Custom(item_name(other.tag()), AttributeValue::Bytes(buf))
        }
        other => {
            return Err(CoreError::InvalidField(format!(
                "attribute {} is not supported by this server",
                other.tag()
            )));
        }
    })
}

/// KMIP Usage Limits as kms-core's: the Count, when given (an Import), at most the Total; otherwise the Total.
fn usage_limits_in(l: &crate::message::types::UsageLimits) -> Result<CoreUsageLimits, CoreError> {
    let bad = |what: &str| CoreError::InvalidAttributeValue(format!("Usage Limits {what}"));
    let total = l
        .usage_limits_total
        .ok_or_else(|| bad("without its Total"))
        .and_then(|t| u64::try_from(t).map_err(|_| bad("Total is negative")))?;
    let unit = match l.usage_limits_unit {
        Some(UsageLimitsUnit::BYTE) => CoreUsageLimitsUnit::Byte,
        Some(UsageLimitsUnit::OBJECT) => CoreUsageLimitsUnit::Object,
        Some(other) => return Err(bad(&format!("Unit {other:?} is not Byte or Object"))),
        None => return Err(bad("without its Unit")),
    };
    let count = match l.usage_limits_count {
        Some(c) => u64::try_from(c)
            .ok()
            .filter(|c| *c <= total)
            .ok_or_else(|| bad("Count is not between 0 and the Total"))?,
        None => total,
    };
    Ok(CoreUsageLimits { total, count, unit })
}

fn usage_limits_out(l: &CoreUsageLimits) -> crate::message::types::UsageLimits {
    crate::message::types::UsageLimits {
        usage_limits_total: Some(i64::try_from(l.total).unwrap_or(i64::MAX)),
        usage_limits_count: Some(i64::try_from(l.count).unwrap_or(i64::MAX)),
        usage_limits_unit: Some(match l.unit {
            CoreUsageLimitsUnit::Byte => UsageLimitsUnit::BYTE,
            CoreUsageLimitsUnit::Object => UsageLimitsUnit::OBJECT,
        }),
        ..Default::default()
    }
}

/// Client-settable standard attributes kms-core has no field for and enforces nothing about: kept as a
/// custom attribute named [`ITEM_PREFIX`] + tag, whose value is the attribute's KMIP 2.1 TTLV item, so they
/// read back exactly. (Usage Limits is not among them: keeping it without enforcing it would mislead.)
const KEPT_AS_ITEMS: &[Tag] = &[
    Tag::CRYPTOGRAPHIC_PARAMETERS,
    Tag::APPLICATION_SPECIFIC_INFORMATION,
    Tag::ALTERNATIVE_NAME,
    Tag::KEY_VALUE_LOCATION,
    Tag::PROTECTION_LEVEL,
    Tag::PROTECTION_PERIOD,
    Tag::PROTECTION_STORAGE_MASK,
    Tag::PKCS_12_FRIENDLY_NAME,
    Tag::OPERATION_POLICY_NAME,
    Tag::QUANTUM_SAFE,
    Tag::NIST_KEY_TYPE,
];

/// Attributes the server derives from the object (see `computed`): read-only to clients.
const SERVER_DERIVED: &[Tag] = &[
    Tag::DIGEST,
    Tag::KEY_FORMAT_TYPE,
    Tag::RANDOM_NUMBER_GENERATOR,
    Tag::CERTIFICATE_TYPE,
    Tag::CERTIFICATE_LENGTH,
    Tag::CERTIFICATE_SUBJECT_CN,
    Tag::CERTIFICATE_ISSUER_CN,
];

/// The custom-attribute name prefix of [`KEPT_AS_ITEMS`]; client vendor attributes may not use it.
const ITEM_PREFIX: &str = "kmip:";

pub(crate) fn item_name(tag: Tag) -> String {
    format!("{ITEM_PREFIX}{:06X}", tag.value())
}

fn item_tag(name: &str) -> Option<Tag> {
    let hex = name.strip_prefix(ITEM_PREFIX)?;
    let tag = Tag::new(u32::from_str_radix(hex, 16).ok()?)?;
    KEPT_AS_ITEMS.contains(&tag).then_some(tag)
}

/// kms-core's attribute as KMIP's.
pub(crate) fn attribute_out(a: &CoreAttribute) -> Option<Attribute> {
    Some(match a {
        CoreAttribute::UniqueIdentifier(id) => {
            Attribute::UniqueIdentifier(UniqueIdentifier::Text(id.as_str().to_owned()))
        }
        CoreAttribute::ObjectType(t) => Attribute::ObjectType(object_type_out(*t)),
        CoreAttribute::State(s) => Attribute::State(state_out(*s)),
        CoreAttribute::CryptographicAlgorithm(v) => {
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm(v.to_kmip()))
        }
        CoreAttribute::CryptographicLength(v) => {
            Attribute::CryptographicLength(i32::try_from(*v).unwrap_or(i32::MAX))
        }
        CoreAttribute::CryptographicUsageMask(m) => {
            Attribute::CryptographicUsageMask(CryptographicUsageMask(m.bits()))
        }
        CoreAttribute::RecommendedCurve(c) => {
            Attribute::CryptographicDomainParameters(CryptographicDomainParameters {
                recommended_curve: Some(RecommendedCurve(c.to_kmip())),
                ..Default::default()
            })
        }
        CoreAttribute::Name(n) => Attribute::Name(Name {
            name_value: n.value.clone(),
            name_type: match n.name_type {
                CoreNameType::Uri => NameType::URI,
                _ => NameType::UNINTERPRETED_TEXT_STRING,
            },
            ..Default::default()
        }),
        CoreAttribute::ObjectGroup(g) => Attribute::ObjectGroup(g.clone()),
        CoreAttribute::Link(l) => Attribute::Link(Link {
            link_type: LinkType(l.link_type as u32),
            linked_object_identifier: UniqueIdentifier::Text(
                l.linked_object_id.as_str().to_owned(),
            ),
            ..Default::default()
        }),
        CoreAttribute::Sensitive(b) => Attribute::Sensitive(*b),
        CoreAttribute::AlwaysSensitive(b) => Attribute::AlwaysSensitive(*b),
        CoreAttribute::Extractable(b) => Attribute::Extractable(*b),
        CoreAttribute::NeverExtractable(b) => Attribute::NeverExtractable(*b),
        CoreAttribute::Fresh(b) => Attribute::Fresh(*b),
        CoreAttribute::ContactInformation(s) => Attribute::ContactInformation(s.clone()),
        CoreAttribute::Description(s) => Attribute::Description(s.clone()),
        CoreAttribute::Comment(s) => Attribute::Comment(s.clone()),
        CoreAttribute::InitialDate(d) => Attribute::InitialDate(date_out(*d)),
        CoreAttribute::ActivationDate(d) => Attribute::ActivationDate(date_out(*d)),
        CoreAttribute::ProcessStartDate(d) => Attribute::ProcessStartDate(date_out(*d)),
        CoreAttribute::ProtectStopDate(d) => Attribute::ProtectStopDate(date_out(*d)),
        CoreAttribute::DeactivationDate(d) => Attribute::DeactivationDate(date_out(*d)),
        CoreAttribute::DestroyDate(d) => Attribute::DestroyDate(date_out(*d)),
        CoreAttribute::CompromiseOccurrenceDate(d) => {
            Attribute::CompromiseOccurrenceDate(date_out(*d))
        }
        CoreAttribute::CompromiseDate(d) => Attribute::CompromiseDate(date_out(*d)),
        CoreAttribute::LastChangeDate(d) => Attribute::LastChangeDate(date_out(*d)),
        CoreAttribute::OriginalCreationDate(d) => Attribute::OriginalCreationDate(date_out(*d)),
        CoreAttribute::RevocationReason(r) => Attribute::RevocationReason(RevocationReason {
            revocation_reason_code: RevocationReasonCode(r.code as u32),
            revocation_message: r.message.clone(),
            ..Default::default()
        }),
        CoreAttribute::UsageLimits(l) => Attribute::UsageLimits(usage_limits_out(l)),
        CoreAttribute::Custom(name, AttributeValue::Bytes(item)) if item_tag(name).is_some() => {
            let node = crate::ttlv::decode(item).ok()?;
            Attribute::decode_item(&node).ok()?
        }
        // The service's own records (the registered Key Format Type) are not client attributes.
        CoreAttribute::Custom(name, _) if name.starts_with(ITEM_PREFIX) => return None,
        CoreAttribute::Custom(name, value) => {
            Attribute::Vendor(custom_from_name(name, vendor_value_out(value)))
        }
        _ => return None,
    })
}

/// A KMIP attribute reference as kms-core's attribute name.
///
/// # Errors
/// Attribute Not Found for a standard attribute kms-core does not keep.
pub(crate) fn reference_in(r: &AttributeReference) -> Option<AttributeName> {
    Some(match r {
        AttributeReference::Vendor {
            vendor_identification,
            attribute_name,
        } => AttributeName::Custom(if vendor_identification.is_empty() {
            attribute_name.clone()
        } else {
            format!("{vendor_identification}-{attribute_name}")
        }),
        AttributeReference::Standard(tag) => match *tag {
            Tag::UNIQUE_IDENTIFIER => AttributeName::UniqueIdentifier,
            Tag::OBJECT_TYPE => AttributeName::ObjectType,
            Tag::STATE => AttributeName::State,
            Tag::CRYPTOGRAPHIC_ALGORITHM => AttributeName::CryptographicAlgorithm,
            Tag::CRYPTOGRAPHIC_LENGTH => AttributeName::CryptographicLength,
            Tag::CRYPTOGRAPHIC_USAGE_MASK => AttributeName::CryptographicUsageMask,
            Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS | Tag::RECOMMENDED_CURVE => {
                AttributeName::RecommendedCurve
            }
            Tag::NAME => AttributeName::Name,
            Tag::OBJECT_GROUP => AttributeName::ObjectGroup,
            Tag::LINK => AttributeName::Link,
            Tag::SENSITIVE => AttributeName::Sensitive,
            Tag::ALWAYS_SENSITIVE => AttributeName::AlwaysSensitive,
            Tag::EXTRACTABLE => AttributeName::Extractable,
            Tag::NEVER_EXTRACTABLE => AttributeName::NeverExtractable,
            Tag::FRESH => AttributeName::Fresh,
            Tag::CONTACT_INFORMATION => AttributeName::ContactInformation,
            Tag::DESCRIPTION => AttributeName::Description,
            Tag::COMMENT => AttributeName::Comment,
            Tag::INITIAL_DATE => AttributeName::InitialDate,
            Tag::ACTIVATION_DATE => AttributeName::ActivationDate,
            Tag::PROCESS_START_DATE => AttributeName::ProcessStartDate,
            Tag::PROTECT_STOP_DATE => AttributeName::ProtectStopDate,
            Tag::DEACTIVATION_DATE => AttributeName::DeactivationDate,
            Tag::DESTROY_DATE => AttributeName::DestroyDate,
            Tag::COMPROMISE_OCCURRENCE_DATE => AttributeName::CompromiseOccurrenceDate,
            Tag::COMPROMISE_DATE => AttributeName::CompromiseDate,
            Tag::LAST_CHANGE_DATE => AttributeName::LastChangeDate,
            Tag::ORIGINAL_CREATION_DATE => AttributeName::OriginalCreationDate,
            Tag::REVOCATION_REASON => AttributeName::RevocationReason,
            t if KEPT_AS_ITEMS.contains(&t) => AttributeName::Custom(item_name(t)),
            _ => return None,
        },
    })
}

/// kms-core's attribute name as a KMIP reference.
pub(crate) fn reference_out(n: &AttributeName) -> Option<AttributeReference> {
    let tag = match n {
        AttributeName::Custom(name) if item_tag(name).is_some() => item_tag(name)?,
        AttributeName::Custom(name) if name.starts_with(ITEM_PREFIX) => return None,
        AttributeName::Custom(name) => {
            let v = custom_from_name(name, NodeValue::Integer(0));
            return Some(AttributeReference::Vendor {
                vendor_identification: v.vendor_identification,
                attribute_name: v.attribute_name,
            });
        }
        AttributeName::UniqueIdentifier => Tag::UNIQUE_IDENTIFIER,
        AttributeName::ObjectType => Tag::OBJECT_TYPE,
        AttributeName::State => Tag::STATE,
        AttributeName::CryptographicAlgorithm => Tag::CRYPTOGRAPHIC_ALGORITHM,
        AttributeName::CryptographicLength => Tag::CRYPTOGRAPHIC_LENGTH,
        AttributeName::CryptographicUsageMask => Tag::CRYPTOGRAPHIC_USAGE_MASK,
        AttributeName::RecommendedCurve => Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS,
        AttributeName::Name => Tag::NAME,
        AttributeName::ObjectGroup => Tag::OBJECT_GROUP,
        AttributeName::Link => Tag::LINK,
        AttributeName::Sensitive => Tag::SENSITIVE,
        AttributeName::AlwaysSensitive => Tag::ALWAYS_SENSITIVE,
        AttributeName::Extractable => Tag::EXTRACTABLE,
        AttributeName::NeverExtractable => Tag::NEVER_EXTRACTABLE,
        AttributeName::Fresh => Tag::FRESH,
        AttributeName::ContactInformation => Tag::CONTACT_INFORMATION,
        AttributeName::Description => Tag::DESCRIPTION,
        AttributeName::Comment => Tag::COMMENT,
        AttributeName::InitialDate => Tag::INITIAL_DATE,
        AttributeName::ActivationDate => Tag::ACTIVATION_DATE,
        AttributeName::ProcessStartDate => Tag::PROCESS_START_DATE,
        AttributeName::ProtectStopDate => Tag::PROTECT_STOP_DATE,
        AttributeName::DeactivationDate => Tag::DEACTIVATION_DATE,
        AttributeName::DestroyDate => Tag::DESTROY_DATE,
        AttributeName::CompromiseOccurrenceDate => Tag::COMPROMISE_OCCURRENCE_DATE,
        AttributeName::CompromiseDate => Tag::COMPROMISE_DATE,
        AttributeName::LastChangeDate => Tag::LAST_CHANGE_DATE,
        AttributeName::OriginalCreationDate => Tag::ORIGINAL_CREATION_DATE,
        AttributeName::RevocationReason => Tag::REVOCATION_REASON,
        _ => return None,
    };
    Some(AttributeReference::Standard(tag))
}

/// A template (1.x Template-Attribute or 2.x Attributes) as kms-core's attributes.
///
/// Unique Identifier and Object Type in a template name the object being made and carry nothing kms-core
/// needs; State is server-managed and refused by kms-core itself.
///
/// # Errors
/// As [`attribute_in`]; Operation Not Supported for 1.x Template names (Template objects are not kept).
pub(crate) fn template_in(attributes: &Attributes) -> Result<CoreAttributes, CoreError> {
    if !attributes.template_names.is_empty() {
        return Err(CoreError::OperationNotSupported(
            "Template objects are not supported".into(),
        ));
    }
    let mut out = CoreAttributes::default();
    for a in &attributes.attributes {
        if matches!(a, Attribute::ObjectType(_)) {
            continue;
        }
        fold(&mut out, attribute_in(a)?)?;
    }
    Ok(out)
}

/// The attributes of an Import (KMIP 2.1 §6.1.28): everything another server kept, server-managed dates and
/// State included; the State apart, for kms-core's Import.
///
/// # Errors
/// As [`attribute_in`].
pub(crate) fn import_attributes(
    attributes: &Attributes,
) -> Result<(Option<CoreState>, CoreAttributes), CoreError> {
    let mut out = CoreAttributes::default();
    let mut state = None;
    for a in &attributes.attributes {
        match attribute_in(a)? {
            CoreAttribute::State(s) => state = Some(s),
            // The identifier is the request's, the type the object's.
            CoreAttribute::UniqueIdentifier(_) | CoreAttribute::ObjectType(_) => {}
            CoreAttribute::DestroyDate(d) => out.destroy_date = Some(d),
            CoreAttribute::CompromiseOccurrenceDate(d) => out.compromise_occurrence_date = Some(d),
            CoreAttribute::CompromiseDate(d) => out.compromise_date = Some(d),
            CoreAttribute::LastChangeDate(d) => out.last_change_date = Some(d),
            CoreAttribute::OriginalCreationDate(d) => out.original_creation_date = Some(d),
            CoreAttribute::RevocationReason(r) => out.revocation_reason = Some(r),
            // An imported key keeps what it has used.
            CoreAttribute::UsageLimits(l) => out.usage_limits = Some(l),
            other => fold(&mut out, other)?,
        }
    }
    Ok((state, out))
}

fn fold(out: &mut CoreAttributes, a: CoreAttribute) -> Result<(), CoreError> {
    fn once<T>(slot: &mut Option<T>, v: T, name: &str) -> Result<(), CoreError> {
        if slot.is_some() {
            return Err(CoreError::AttributeSingleValued(name.to_owned()));
        }
        *slot = Some(v);
        Ok(())
    }
    match a {
        CoreAttribute::CryptographicAlgorithm(v) => {
            once(
                &mut out.cryptographic_algorithm,
                v,
                "Cryptographic Algorithm",
            )?;
        }
        CoreAttribute::CryptographicLength(v) => {
            once(&mut out.cryptographic_length, v, "Cryptographic Length")?;
        }
        CoreAttribute::CryptographicUsageMask(v) => {
            once(
                &mut out.cryptographic_usage_mask,
                v,
                "Cryptographic Usage Mask",
            )?;
        }
        CoreAttribute::RecommendedCurve(v) => {
            once(&mut out.recommended_curve, v, "Recommended Curve")?
        }
        CoreAttribute::Name(n) => out.names.push(n),
        CoreAttribute::ObjectGroup(g) => out.object_groups.push(g),
        CoreAttribute::Link(l) => out.links.push(l),
        CoreAttribute::Sensitive(b) => out.sensitive = b,
        CoreAttribute::AlwaysSensitive(b) => out.always_sensitive = b,
        CoreAttribute::Extractable(b) => out.extractable = b,
        CoreAttribute::NeverExtractable(b) => out.never_extractable = b,
        CoreAttribute::ContactInformation(s) => {
            once(&mut out.contact_information, s, "Contact Information")?;
        }
        CoreAttribute::Description(s) => once(&mut out.description, s, "Description")?,
        // KMIP lets the client give Fresh with a new object; afterwards only the server changes it.
        CoreAttribute::Fresh(b) => once(&mut out.fresh, b, "Fresh")?,
        CoreAttribute::Comment(s) => once(&mut out.comment, s, "Comment")?,
        CoreAttribute::InitialDate(d) => once(&mut out.initial_date, d, "Initial Date")?,
        CoreAttribute::ActivationDate(d) => once(&mut out.activation_date, d, "Activation Date")?,
        CoreAttribute::ProcessStartDate(d) => {
            once(&mut out.process_start_date, d, "Process Start Date")?;
        }
        CoreAttribute::ProtectStopDate(d) => {
            once(&mut out.protect_stop_date, d, "Protect Stop Date")?;
        }
        CoreAttribute::DeactivationDate(d) => {
            once(&mut out.deactivation_date, d, "Deactivation Date")?;
        }
        CoreAttribute::Custom(name, value) => {
            out.custom.insert(name, value);
        }
        // A new object has used nothing: the Count starts at the Total whatever the client wrote.
        CoreAttribute::UsageLimits(l) => once(
            &mut out.usage_limits,
            CoreUsageLimits::new(l.total, l.unit),
            "Usage Limits",
        )?,
        other => {
            return Err(CoreError::AttributeReadOnly(format!(
                "{:?} is set by the server",
                other.name()
            )));
        }
    }
    Ok(())
}
