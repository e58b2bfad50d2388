//! Attributes the server derives rather than stores: Digest (KMIP 2.1 §4.13), Key Format Type (§4.23, KMIP
//! 2.0+), Random Number Generator (§4.44) and Original Creation Date (§4.34) of objects made here, and the Key Format Type a key is sent in by default.
//!
//! A registered key keeps the Key Format Type it was registered in (as a kept TTLV item); a generated key
//! has the format KMIP clients expect of it: Raw for symmetric keys and secret data, PKCS#1 for RSA keys,
//! PKCS#8 and X.509 (SubjectPublicKeyInfo) for other private and public keys.

use kms_core::manager::Attribute as CoreAttribute;
use kms_core::object::{
    AttributeValue, Attributes as CoreAttributes, CryptographicAlgorithm as CoreAlgorithm,
};
use kms_core::{Error as CoreError, KeyFormat, KeyManager, ObjectId, ObjectType, Principal};
use zeroize::Zeroizing;

use super::formats;
use crate::message::enums::{HashingAlgorithm, KeyFormatType, RNGAlgorithm};
use crate::message::types::{Digest, RNGParameters};
use crate::message::{Attribute, AttributeReference, Encoder};
use crate::tags::Version;
use crate::ttlv::Tag;

/// The custom attribute holding the Key Format Type a key was registered in (see `convert::KEPT_AS_ITEMS`).
pub(super) fn registered_format_attribute(format: KeyFormatType) -> Option<CoreAttribute> {
    let mut buf = Vec::new();
    let mut e = Encoder::new(&mut buf, Version::V2_1);
    Attribute::KeyFormatType(format)
        .encode_v2(&mut e)
        .and_then(|()| e.finish())
        .ok()?;
    Some(CoreAttribute::Custom(
        super::convert::item_name(Tag::KEY_FORMAT_TYPE),
        AttributeValue::Bytes(buf),
    ))
}

/// The Key Format Type of an object: the registered one, or the default of its type and algorithm.
pub(super) fn object_format(
    object_type: ObjectType,
    attributes: &CoreAttributes,
) -> Option<KeyFormatType> {
    let registered = attributes
        .custom
        .get(&super::convert::item_name(Tag::KEY_FORMAT_TYPE))
        .and_then(|v| match v {
            AttributeValue::Bytes(item) => {
                let node = crate::ttlv::decode(item).ok()?;
                match Attribute::decode_item(&node).ok()? {
                    Attribute::KeyFormatType(f) => Some(f),
                    _ => None,
                }
            }
            _ => None,
        });
    if registered.is_some() {
        return registered;
    }
    let rsa = attributes.cryptographic_algorithm == Some(CoreAlgorithm::Rsa);
    Some(match object_type {
        ObjectType::SymmetricKey | ObjectType::SecretData => KeyFormatType::RAW,
        ObjectType::PrivateKey | ObjectType::PublicKey if rsa => KeyFormatType::PKCS_1,
        ObjectType::PrivateKey => KeyFormatType::PKCS_8,
        ObjectType::PublicKey => KeyFormatType::X_509,
        _ => return None,
    })
}

/// Which derived attributes a Get Attributes asks for.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Wanted {
    digest: bool,
    key_format_type: bool,
    random_number_generator: bool,
    original_creation_date: bool,
    /// Which of [`CERTIFICATE_TAGS`].
    certificate: [bool; 4],
}

impl Wanted {
    /// All of them (a Get Attributes without references).
    pub(super) fn all() -> Self {
        Self {
            digest: true,
            key_format_type: true,
            random_number_generator: true,
            original_creation_date: true,
            certificate: [true; 4],
        }
    }

    /// Those `references` name.
    pub(super) fn from_references(references: &[AttributeReference]) -> Self {
        let named = |tag| references.contains(&AttributeReference::Standard(tag));
        Self {
            digest: named(Tag::DIGEST),
            key_format_type: named(Tag::KEY_FORMAT_TYPE),
            random_number_generator: named(Tag::RANDOM_NUMBER_GENERATOR),
            original_creation_date: named(Tag::ORIGINAL_CREATION_DATE),
            certificate: CERTIFICATE_TAGS.map(named),
        }
    }

    /// Whether `reference` is one of the derived attributes.
    pub(super) fn is_derived(reference: &AttributeReference) -> bool {
        match reference {
            AttributeReference::Standard(t) => {
                matches!(
                    *t,
                    Tag::DIGEST | Tag::KEY_FORMAT_TYPE | Tag::RANDOM_NUMBER_GENERATOR
                ) || CERTIFICATE_TAGS.contains(t)
            }
            AttributeReference::Vendor { .. } => false,
        }
    }
}

/// The key material in `format`, for the Digest.
fn encoded(
    material: &kms_core::KeyMaterial,
    format: KeyFormatType,
) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    match (format, material.format()) {
        (KeyFormatType::PKCS_1, KeyFormat::Pkcs8) => {
            formats::rsa_private_pkcs8_to_pkcs1(material.bytes())
        }
        (KeyFormatType::PKCS_1, KeyFormat::SubjectPublicKeyInfo) => {
            formats::rsa_public_spki_to_pkcs1(material.bytes())
        }
        (
            KeyFormatType::RAW | KeyFormatType::OPAQUE | KeyFormatType::TRANSPARENT_SYMMETRIC_KEY,
            KeyFormat::Raw,
        )
        | (KeyFormatType::PKCS_8, KeyFormat::Pkcs8)
        | (KeyFormatType::X_509, KeyFormat::SubjectPublicKeyInfo | KeyFormat::X509Certificate) => {
            Ok(Zeroizing::new(material.bytes().to_vec()))
        }
        _ => Err(CoreError::KeyFormatTypeNotSupported(
            "digest in this format".into(),
        )),
    }
}

/// The derived attributes `wanted` asks for that the object has.
///
/// # Errors
/// Access and store errors.
pub(super) fn derived(
    m: &KeyManager,
    who: &Principal,
    id: &ObjectId,
    wanted: Wanted,
) -> Result<Vec<Attribute>, CoreError> {
    let mut out = Vec::new();
    if !(wanted.digest
        || wanted.key_format_type
        || wanted.random_number_generator
        || wanted.original_creation_date
        || wanted.certificate.contains(&true))
    {
        return Ok(out);
    }
    let metadata = m.metadata(who, id)?;
    let format = object_format(metadata.object_type, &metadata.attributes);
    if wanted.digest
        && let Some(format) = format
        && let Some(value) = m.digest(who, id, &|material| encoded(material, format))?
    {
        out.push(Attribute::Digest(Digest {
            hashing_algorithm: HashingAlgorithm::SHA_256,
            digest_value: Some(value.to_vec()),
            key_format_type: Some(format),
            ..Default::default()
        }));
    }
    if wanted.key_format_type
        && let Some(format) = format
    {
        out.push(Attribute::KeyFormatType(format));
    }
    let generated = !metadata
        .attributes
        .custom
        .contains_key(&super::convert::item_name(Tag::KEY_FORMAT_TYPE));
    if wanted.random_number_generator && generated && format.is_some() {
        // The software backend draws keys from the operating system's generator (getrandom), a DRBG.
        out.push(Attribute::RandomNumberGenerator(RNGParameters {
            rng_algorithm: RNGAlgorithm::DRBG,
            ..Default::default()
        }));
    }
    // An object made here was originally created when it was: its Initial Date (a registered object
    // carries the date the client gave, kept by kms-core, and is not derived).
    if wanted.original_creation_date
        && metadata.attributes.original_creation_date.is_none()
        && let Some(initial) = metadata.attributes.initial_date
    {
        out.push(Attribute::OriginalCreationDate(super::convert::date_out(
            initial,
        )));
    }
    if wanted.certificate.contains(&true) && metadata.object_type == ObjectType::Certificate {
        out.extend(certificate_attributes(m, who, id)?.into_iter().filter(|a| {
            CERTIFICATE_TAGS
                .iter()
                .zip(wanted.certificate)
                .any(|(t, w)| w && *t == a.tag())
        }));
    }
    Ok(out)
}

/// The certificate attributes derived from the certificate itself (KMIP 2.1 §4.5-4.9).
const CERTIFICATE_TAGS: [Tag; 4] = [
    Tag::CERTIFICATE_TYPE,
    Tag::CERTIFICATE_LENGTH,
    Tag::CERTIFICATE_SUBJECT_CN,
    Tag::CERTIFICATE_ISSUER_CN,
];

/// Certificate Type, Certificate Length and the subject's and issuer's Common Names of an X.509 certificate.
fn certificate_attributes(
    m: &KeyManager,
    who: &Principal,
    id: &ObjectId,
) -> Result<Vec<Attribute>, CoreError> {
    use x509_cert::der::Decode;
    let object = m.get(who, id, &kms_core::manager::GetRequest::default())?;
    let kms_core::manager::ExportedKey::Plain(material) = object.key else {
        return Ok(Vec::new());
    };
    let der = material.bytes();
    let mut out = vec![
        Attribute::CertificateType(crate::message::enums::CertificateType::X_509),
        Attribute::CertificateLength(i32::try_from(der.len()).unwrap_or(i32::MAX)),
    ];
    // A certificate that does not parse keeps its type and length; the names are left out.
    if let Ok(cert) = x509_cert::Certificate::from_der(der) {
        let tbs = cert.tbs_certificate();
        if let Ok(Some(cn)) = tbs.subject().common_name() {
            out.push(Attribute::CertificateSubjectCN(String::from(cn)));
        }
        if let Ok(Some(cn)) = tbs.issuer().common_name() {
            out.push(Attribute::CertificateIssuerCN(String::from(cn)));
        }
    }
    Ok(out)
}
