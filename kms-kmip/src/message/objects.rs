//! Managed objects and the Key Block (KMIP 1.4 §2.1.3-2.1.7 and §2.2, KMIP 2.1 §2.1 and §2.2).
//!
//! Key material is held in zeroizing buffers ([`SecretBytes`], [`SecretBigInteger`]) and never printed.

use super::Error;
use super::attributes::Attributes;
use super::codec::{
    BigInteger, Decode, Encode, Encoder, RawItem, SecretBigInteger, SecretBytes, encode_extensions,
    raw,
};
use super::enums::{
    CertificateRequestType, CertificateType, CryptographicAlgorithm, KeyCompressionType,
    KeyFormatType, ObjectType, OpaqueDataType, RecommendedCurve, SecretDataType, SplitKeyMethod,
};
use super::types::KeyWrappingData;
use crate::ttlv::{Item, Tag, Value};

kmip_struct! {
    /// Transparent Symmetric Key (KMIP 1.4 §2.1.7.2).
    pub struct TransparentSymmetricKey {
        /// Key.
        key: req SecretBytes = KEY,
    }
}

kmip_struct! {
    /// Transparent DSA Private Key (KMIP 1.4 §2.1.7.3).
    pub struct TransparentDSAPrivateKey {
        /// P.
        p: req BigInteger = P,
        /// Q.
        q: req BigInteger = Q,
        /// G.
        g: req BigInteger = G,
        /// X (secret).
        x: req SecretBigInteger = X,
    }
}

kmip_struct! {
    /// Transparent DSA Public Key (KMIP 1.4 §2.1.7.4).
    pub struct TransparentDSAPublicKey {
        /// P.
        p: req BigInteger = P,
        /// Q.
        q: req BigInteger = Q,
        /// G.
        g: req BigInteger = G,
        /// Y.
        y: req BigInteger = Y,
    }
}

kmip_struct! {
    /// Transparent RSA Private Key (KMIP 1.4 §2.1.7.5).
    pub struct TransparentRSAPrivateKey {
        /// Modulus.
        modulus: req BigInteger = MODULUS,
        /// Private Exponent.
        private_exponent: opt SecretBigInteger = PRIVATE_EXPONENT,
        /// Public Exponent.
        public_exponent: opt BigInteger = PUBLIC_EXPONENT,
        /// P.
        p: opt SecretBigInteger = P,
        /// Q.
        q: opt SecretBigInteger = Q,
        /// Prime Exponent P.
        prime_exponent_p: opt SecretBigInteger = PRIME_EXPONENT_P,
        /// Prime Exponent Q.
        prime_exponent_q: opt SecretBigInteger = PRIME_EXPONENT_Q,
        /// CRT Coefficient.
        crt_coefficient: opt SecretBigInteger = CRT_COEFFICIENT,
    }
}

kmip_struct! {
    /// Transparent RSA Public Key (KMIP 1.4 §2.1.7.6).
    pub struct TransparentRSAPublicKey {
        /// Modulus.
        modulus: req BigInteger = MODULUS,
        /// Public Exponent.
        public_exponent: req BigInteger = PUBLIC_EXPONENT,
    }
}

kmip_struct! {
    /// Transparent DH Private Key (KMIP 1.4 §2.1.7.7).
    pub struct TransparentDHPrivateKey {
        /// P.
        p: req BigInteger = P,
        /// Q.
        q: opt BigInteger = Q,
        /// G.
        g: req BigInteger = G,
        /// J.
        j: opt BigInteger = J,
        /// X (secret).
        x: req SecretBigInteger = X,
    }
}

kmip_struct! {
    /// Transparent DH Public Key (KMIP 1.4 §2.1.7.8).
    pub struct TransparentDHPublicKey {
        /// P.
        p: req BigInteger = P,
        /// Q.
        q: opt BigInteger = Q,
        /// G.
        g: req BigInteger = G,
        /// J.
        j: opt BigInteger = J,
        /// Y.
        y: req BigInteger = Y,
    }
}

kmip_struct! {
    /// Transparent EC / ECDSA / ECDH / ECMQV Private Key (KMIP 1.4 §2.1.7.9-2.1.7.15): the Key Format Type of
    /// the Key Block tells which.
    pub struct TransparentECPrivateKey {
        /// Recommended Curve.
        recommended_curve: req RecommendedCurve = RECOMMENDED_CURVE,
        /// D (secret).
        d: req SecretBigInteger = D,
    }
}

kmip_struct! {
    /// Transparent EC / ECDSA / ECDH / ECMQV Public Key (KMIP 1.4 §2.1.7.9-2.1.7.15).
    pub struct TransparentECPublicKey {
        /// Recommended Curve.
        recommended_curve: req RecommendedCurve = RECOMMENDED_CURVE,
        /// Q String (the encoded point).
        q_string: req Vec<u8> = Q_STRING,
    }
}

/// Key Material: bytes for the encoded formats (Raw, PKCS#1, PKCS#8, X.509...), a structure for the
/// Transparent formats. The Key Format Type of the enclosing Key Block selects which.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyMaterial {
    /// A Byte String (Raw, Opaque, PKCS#1, PKCS#8, X.509, EC Private Key, PKCS#12).
    Bytes(SecretBytes),
    /// Transparent Symmetric Key.
    TransparentSymmetricKey(TransparentSymmetricKey),
    /// Transparent DSA Private Key.
    TransparentDSAPrivateKey(TransparentDSAPrivateKey),
    /// Transparent DSA Public Key.
    TransparentDSAPublicKey(TransparentDSAPublicKey),
    /// Transparent RSA Private Key.
    TransparentRSAPrivateKey(TransparentRSAPrivateKey),
    /// Transparent RSA Public Key.
    TransparentRSAPublicKey(TransparentRSAPublicKey),
    /// Transparent DH Private Key.
    TransparentDHPrivateKey(TransparentDHPrivateKey),
    /// Transparent DH Public Key.
    TransparentDHPublicKey(TransparentDHPublicKey),
    /// Transparent EC/ECDSA/ECDH/ECMQV Private Key.
    TransparentECPrivateKey(TransparentECPrivateKey),
    /// Transparent EC/ECDSA/ECDH/ECMQV Public Key.
    TransparentECPublicKey(TransparentECPublicKey),
    /// A structure for a format this model does not define (an extension), kept as decoded.
    Other(RawItem),
}

impl Default for KeyMaterial {
    fn default() -> Self {
        Self::Bytes(SecretBytes::default())
    }
}

impl KeyMaterial {
    fn decode_for(format: Option<KeyFormatType>, item: &Item<'_>) -> Result<Self, Error> {
        if let Value::ByteString(b) = *item.value() {
            return Ok(Self::Bytes(SecretBytes::new(b.to_vec())));
        }
        Ok(match format.unwrap_or_default() {
            KeyFormatType::TRANSPARENT_SYMMETRIC_KEY => {
                Self::TransparentSymmetricKey(TransparentSymmetricKey::decode(item)?)
            }
            KeyFormatType::TRANSPARENT_DSA_PRIVATE_KEY => {
                Self::TransparentDSAPrivateKey(TransparentDSAPrivateKey::decode(item)?)
            }
            KeyFormatType::TRANSPARENT_DSA_PUBLIC_KEY => {
                Self::TransparentDSAPublicKey(TransparentDSAPublicKey::decode(item)?)
            }
            KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY => {
                Self::TransparentRSAPrivateKey(TransparentRSAPrivateKey::decode(item)?)
            }
            KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY => {
                Self::TransparentRSAPublicKey(TransparentRSAPublicKey::decode(item)?)
            }
            KeyFormatType::TRANSPARENT_DH_PRIVATE_KEY => {
                Self::TransparentDHPrivateKey(TransparentDHPrivateKey::decode(item)?)
            }
            KeyFormatType::TRANSPARENT_DH_PUBLIC_KEY => {
                Self::TransparentDHPublicKey(TransparentDHPublicKey::decode(item)?)
            }
            KeyFormatType::TRANSPARENT_EC_PRIVATE_KEY
            | KeyFormatType::TRANSPARENT_ECDSA_PRIVATE_KEY
            | KeyFormatType::TRANSPARENT_ECDH_PRIVATE_KEY
            | KeyFormatType::TRANSPARENT_ECMQV_PRIVATE_KEY => {
                Self::TransparentECPrivateKey(TransparentECPrivateKey::decode(item)?)
            }
            KeyFormatType::TRANSPARENT_EC_PUBLIC_KEY
            | KeyFormatType::TRANSPARENT_ECDSA_PUBLIC_KEY
            | KeyFormatType::TRANSPARENT_ECDH_PUBLIC_KEY
            | KeyFormatType::TRANSPARENT_ECMQV_PUBLIC_KEY => {
                Self::TransparentECPublicKey(TransparentECPublicKey::decode(item)?)
            }
            _ => Self::Other(raw(item)?),
        })
    }
}

impl Encode for KeyMaterial {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        match self {
            Self::Bytes(b) => b.encode(tag, e),
            Self::TransparentSymmetricKey(k) => k.encode(tag, e),
            Self::TransparentDSAPrivateKey(k) => k.encode(tag, e),
            Self::TransparentDSAPublicKey(k) => k.encode(tag, e),
            Self::TransparentRSAPrivateKey(k) => k.encode(tag, e),
            Self::TransparentRSAPublicKey(k) => k.encode(tag, e),
            Self::TransparentDHPrivateKey(k) => k.encode(tag, e),
            Self::TransparentDHPublicKey(k) => k.encode(tag, e),
            Self::TransparentECPrivateKey(k) => k.encode(tag, e),
            Self::TransparentECPublicKey(k) => k.encode(tag, e),
            Self::Other(n) => Encode::encode(n, tag, e),
        }
    }
}

/// Key Value (KMIP 1.4 §2.1.4): the key material and attributes, or, when the key is wrapped, the bytes of
/// the wrapped Key Value.
#[derive(Clone, Debug, PartialEq)]
// Plain is by far the common case; boxing it would cost an allocation per key for the rare wrapped one.
#[allow(clippy::large_enum_variant)]
pub enum KeyValue {
    /// Key material with optional attributes (1.x: `Attribute` items; 2.x: an `Attributes` structure).
    Plain {
        /// Key Material.
        key_material: KeyMaterial,
        /// Attributes bound to the key; `None` when absent.
        attributes: Option<Attributes>,
        /// Items the model does not define.
        extensions: Vec<RawItem>,
    },
    /// The wrapped (encrypted) Key Value as a Byte String.
    Wrapped(SecretBytes),
}

impl Default for KeyValue {
    fn default() -> Self {
        Self::Plain {
            key_material: KeyMaterial::default(),
            attributes: None,
            extensions: Vec::new(),
        }
    }
}

impl KeyValue {
    fn decode_for(format: Option<KeyFormatType>, item: &Item<'_>) -> Result<Self, Error> {
        if let Value::ByteString(b) = *item.value() {
            return Ok(Self::Wrapped(SecretBytes::new(b.to_vec())));
        }
        let mut key_material = None;
        let mut attributes: Option<Attributes> = None;
        let mut extensions = Vec::new();
        for child in item.children()? {
            let child = child?;
            match child.tag() {
                Tag::KEY_MATERIAL if key_material.is_none() => {
                    key_material = Some(KeyMaterial::decode_for(format, &child)?);
                }
                Tag::ATTRIBUTE => attributes
                    .get_or_insert_with(Attributes::default)
                    .push_item(&child, false)?,
                Tag::ATTRIBUTES if attributes.is_none() => {
                    attributes = Some(Attributes::decode(&child)?)
                }
                _ => extensions.push(raw(&child)?),
            }
        }
        let key_material =
            key_material.ok_or_else(|| super::codec::missing(item, Tag::KEY_MATERIAL))?;
        Ok(Self::Plain {
            key_material,
            attributes,
            extensions,
        })
    }
}

impl Encode for KeyValue {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        match self {
            Self::Wrapped(b) => b.encode(tag, e),
            Self::Plain {
                key_material,
                attributes,
                extensions,
            } => {
                let s = e.w.begin_structure(tag);
                key_material.encode(Tag::KEY_MATERIAL, e)?;
                if let Some(a) = attributes {
                    if e.is_v2() {
                        a.encode(Tag::ATTRIBUTES, e)?;
                    } else {
                        a.encode_items(e)?;
                    }
                }
                encode_extensions(extensions, e);
                e.w.end_structure(s);
                Ok(())
            }
        }
    }
}

/// Key Block (KMIP 1.4 §2.1.3).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct KeyBlock {
    /// Key Format Type.
    pub key_format_type: KeyFormatType,
    /// Key Compression Type.
    pub key_compression_type: Option<KeyCompressionType>,
    /// Key Value (absent in 2.x when the server does not hold the value).
    pub key_value: Option<KeyValue>,
    /// Cryptographic Algorithm.
    pub cryptographic_algorithm: Option<CryptographicAlgorithm>,
    /// Cryptographic Length.
    pub cryptographic_length: Option<i32>,
    /// Key Wrapping Data, when the Key Value is wrapped (boxed: rare and large).
    pub key_wrapping_data: Option<Box<KeyWrappingData>>,
    /// Items the model does not define.
    pub extensions: Vec<RawItem>,
}

impl Decode for KeyBlock {
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        let mut out = Self::default();
        let mut format = None;
        for child in item.children()? {
            let child = child?;
            match child.tag() {
                Tag::KEY_FORMAT_TYPE if format.is_none() => {
                    format = Some(KeyFormatType::decode(&child)?)
                }
                Tag::KEY_COMPRESSION_TYPE if out.key_compression_type.is_none() => {
                    out.key_compression_type = Some(Decode::decode(&child)?);
                }
                Tag::KEY_VALUE if out.key_value.is_none() => {
                    out.key_value = Some(KeyValue::decode_for(format, &child)?);
                }
                Tag::CRYPTOGRAPHIC_ALGORITHM if out.cryptographic_algorithm.is_none() => {
                    out.cryptographic_algorithm = Some(Decode::decode(&child)?);
                }
                Tag::CRYPTOGRAPHIC_LENGTH if out.cryptographic_length.is_none() => {
                    out.cryptographic_length = Some(Decode::decode(&child)?);
                }
                Tag::KEY_WRAPPING_DATA if out.key_wrapping_data.is_none() => {
                    out.key_wrapping_data = Some(Decode::decode(&child)?);
                }
                _ => out.extensions.push(raw(&child)?),
            }
        }
        out.key_format_type =
            format.ok_or_else(|| super::codec::missing(item, Tag::KEY_FORMAT_TYPE))?;
        Ok(out)
    }
}

impl Encode for KeyBlock {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        let s = e.w.begin_structure(tag);
        self.key_format_type.encode(Tag::KEY_FORMAT_TYPE, e)?;
        if let Some(v) = &self.key_compression_type {
            v.encode(Tag::KEY_COMPRESSION_TYPE, e)?;
        }
        if let Some(v) = &self.key_value {
            v.encode(Tag::KEY_VALUE, e)?;
        }
        if let Some(v) = &self.cryptographic_algorithm {
            v.encode(Tag::CRYPTOGRAPHIC_ALGORITHM, e)?;
        }
        if let Some(v) = &self.cryptographic_length {
            v.encode(Tag::CRYPTOGRAPHIC_LENGTH, e)?;
        }
        if let Some(v) = &self.key_wrapping_data {
            v.encode(Tag::KEY_WRAPPING_DATA, e)?;
        }
        encode_extensions(&self.extensions, e);
        e.w.end_structure(s);
        Ok(())
    }
}

kmip_struct! {
    /// Symmetric Key (KMIP 1.4 §2.2.2).
    pub struct SymmetricKey {
        /// Key Block.
        key_block: req KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// Public Key (KMIP 1.4 §2.2.3).
    pub struct PublicKey {
        /// Key Block.
        key_block: req KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// Private Key (KMIP 1.4 §2.2.4).
    pub struct PrivateKey {
        /// Key Block.
        key_block: req KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// Split Key (KMIP 1.4 §2.2.5).
    pub struct SplitKey {
        /// Split Key Parts.
        split_key_parts: req i32 = SPLIT_KEY_PARTS,
        /// Key Part Identifier.
        key_part_identifier: req i32 = KEY_PART_IDENTIFIER,
        /// Split Key Threshold.
        split_key_threshold: req i32 = SPLIT_KEY_THRESHOLD,
        /// Split Key Method.
        split_key_method: req SplitKeyMethod = SPLIT_KEY_METHOD,
        /// Prime Field Size (polynomial methods).
        prime_field_size: opt BigInteger = PRIME_FIELD_SIZE,
        /// Key Block.
        key_block: req KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// Template (KMIP 1.x §2.2.6; removed in 2.0): a named set of attributes.
    pub struct Template {
        /// The attributes (1.x `Attribute` structures).
        attributes: vec TemplateEntry = ATTRIBUTE,
    }
}

/// One attribute of a [`Template`], with its 1.x Attribute Index.
pub type TemplateEntry = super::attributes::IndexedAttribute;

kmip_struct! {
    /// Secret Data (KMIP 1.4 §2.2.7).
    pub struct SecretData {
        /// Secret Data Type.
        secret_data_type: req SecretDataType = SECRET_DATA_TYPE,
        /// Key Block.
        key_block: req KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// Opaque Object (KMIP 1.4 §2.2.8).
    pub struct OpaqueObject {
        /// Opaque Data Type.
        opaque_data_type: req OpaqueDataType = OPAQUE_DATA_TYPE,
        /// Opaque Data Value.
        opaque_data_value: req Vec<u8> = OPAQUE_DATA_VALUE,
    }
}

kmip_struct! {
    /// Certificate (KMIP 1.4 §2.2.1).
    pub struct Certificate {
        /// Certificate Type.
        certificate_type: req CertificateType = CERTIFICATE_TYPE,
        /// Certificate Value (DER).
        certificate_value: req Vec<u8> = CERTIFICATE_VALUE,
    }
}

kmip_struct! {
    /// PGP Key (KMIP 1.4 §2.2.9).
    pub struct PGPKey {
        /// PGP Key Version.
        pgp_key_version: req i32 = PGP_KEY_VERSION,
        /// Key Block.
        key_block: req KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// Certificate Request (KMIP 2.0 §2.2.3).
    pub struct CertificateRequest {
        /// Certificate Request Type.
        certificate_request_type: req CertificateRequestType = CERTIFICATE_REQUEST_TYPE,
        /// Certificate Request Value.
        certificate_request_value: req Vec<u8> = CERTIFICATE_REQUEST_VALUE,
    }
}

/// A managed object (the object part of Register, Get, Import and Export payloads).
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    /// Certificate.
    Certificate(Certificate),
    /// Symmetric Key.
    SymmetricKey(SymmetricKey),
    /// Public Key.
    PublicKey(PublicKey),
    /// Private Key.
    PrivateKey(PrivateKey),
    /// Split Key.
    SplitKey(SplitKey),
    /// Template (1.x).
    Template(Template),
    /// Secret Data.
    SecretData(SecretData),
    /// Opaque Object.
    OpaqueObject(OpaqueObject),
    /// PGP Key.
    PGPKey(PGPKey),
    /// Certificate Request (2.x).
    CertificateRequest(CertificateRequest),
}

impl Object {
    /// The Object Type of this object.
    #[must_use]
    pub const fn object_type(&self) -> ObjectType {
        match self {
            Self::Certificate(_) => ObjectType::CERTIFICATE,
            Self::SymmetricKey(_) => ObjectType::SYMMETRIC_KEY,
            Self::PublicKey(_) => ObjectType::PUBLIC_KEY,
            Self::PrivateKey(_) => ObjectType::PRIVATE_KEY,
            Self::SplitKey(_) => ObjectType::SPLIT_KEY,
            Self::Template(_) => ObjectType::TEMPLATE,
            Self::SecretData(_) => ObjectType::SECRET_DATA,
            Self::OpaqueObject(_) => ObjectType::OPAQUE_OBJECT,
            Self::PGPKey(_) => ObjectType::PGP_KEY,
            Self::CertificateRequest(_) => ObjectType::CERTIFICATE_REQUEST,
        }
    }

    /// The tag of this object's structure.
    #[must_use]
    pub const fn tag(&self) -> Tag {
        match self {
            Self::Certificate(_) => Tag::CERTIFICATE,
            Self::SymmetricKey(_) => Tag::SYMMETRIC_KEY,
            Self::PublicKey(_) => Tag::PUBLIC_KEY,
            Self::PrivateKey(_) => Tag::PRIVATE_KEY,
            Self::SplitKey(_) => Tag::SPLIT_KEY,
            Self::Template(_) => Tag::TEMPLATE,
            Self::SecretData(_) => Tag::SECRET_DATA,
            Self::OpaqueObject(_) => Tag::OPAQUE_OBJECT,
            Self::PGPKey(_) => Tag::PGP_KEY,
            Self::CertificateRequest(_) => Tag::CERTIFICATE_REQUEST,
        }
    }

    /// The Key Block of a key object.
    #[must_use]
    pub const fn key_block(&self) -> Option<&KeyBlock> {
        match self {
            Self::SymmetricKey(SymmetricKey { key_block, .. })
            | Self::PublicKey(PublicKey { key_block, .. })
            | Self::PrivateKey(PrivateKey { key_block, .. })
            | Self::SplitKey(SplitKey { key_block, .. })
            | Self::SecretData(SecretData { key_block, .. })
            | Self::PGPKey(PGPKey { key_block, .. }) => Some(key_block),
            Self::Certificate(_)
            | Self::Template(_)
            | Self::OpaqueObject(_)
            | Self::CertificateRequest(_) => None,
        }
    }

    /// True if `tag` is the tag of an object structure.
    #[must_use]
    pub fn is_object_tag(tag: Tag) -> bool {
        matches!(
            tag,
            Tag::CERTIFICATE
                | Tag::SYMMETRIC_KEY
                | Tag::PUBLIC_KEY
                | Tag::PRIVATE_KEY
                | Tag::SPLIT_KEY
                | Tag::TEMPLATE
                | Tag::SECRET_DATA
                | Tag::OPAQUE_OBJECT
                | Tag::PGP_KEY
                | Tag::CERTIFICATE_REQUEST
        )
    }

    /// Writes the object under its own tag.
    ///
    /// # Errors
    ///
    /// [`Error::NotInVersion`] for an object or field the target version does not know.
    pub fn encode_tagged(&self, e: &mut Encoder<'_>) -> Result<(), Error> {
        self.encode(self.tag(), e)
    }
}

impl Decode for Object {
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        Ok(match item.tag() {
            Tag::CERTIFICATE => Self::Certificate(Decode::decode(item)?),
            Tag::SYMMETRIC_KEY => Self::SymmetricKey(Decode::decode(item)?),
            Tag::PUBLIC_KEY => Self::PublicKey(Decode::decode(item)?),
            Tag::PRIVATE_KEY => Self::PrivateKey(Decode::decode(item)?),
            Tag::SPLIT_KEY => Self::SplitKey(Decode::decode(item)?),
            Tag::TEMPLATE => Self::Template(Decode::decode(item)?),
            Tag::SECRET_DATA => Self::SecretData(Decode::decode(item)?),
            Tag::OPAQUE_OBJECT => Self::OpaqueObject(Decode::decode(item)?),
            Tag::PGP_KEY => Self::PGPKey(Decode::decode(item)?),
            Tag::CERTIFICATE_REQUEST => Self::CertificateRequest(Decode::decode(item)?),
            _ => {
                return Err(Error::InvalidValue {
                    offset: item.offset(),
                    tag: item.tag(),
                    reason: "not a managed object",
                });
            }
        })
    }
}

impl Encode for Object {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        match self {
            Self::Certificate(o) => o.encode(tag, e),
            Self::SymmetricKey(o) => o.encode(tag, e),
            Self::PublicKey(o) => o.encode(tag, e),
            Self::PrivateKey(o) => o.encode(tag, e),
            Self::SplitKey(o) => o.encode(tag, e),
            Self::Template(o) => {
                if e.is_v2() {
                    return Err(Error::NotInVersion {
                        what: "a Template object",
                        version: e.version(),
                    });
                }
                o.encode(tag, e)
            }
            Self::SecretData(o) => o.encode(tag, e),
            Self::OpaqueObject(o) => o.encode(tag, e),
            Self::PGPKey(o) => o.encode(tag, e),
            Self::CertificateRequest(o) => {
                e.require(crate::tags::Version::V2_0, "a Certificate Request object")?;
                o.encode(tag, e)
            }
        }
    }
}
