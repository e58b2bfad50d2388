//! Import and export in the canonical formats of [`KeyFormat`]: every key is parsed on the way in, so a reference
//! this backend issued always holds material it can use.

use p256::pkcs8::der::{self, Reader as _, Tagged as _};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

use super::key_data::{KeyData, Kind};
use crate::backend::{BackendError, HashingAlgorithm};
use crate::material::{KeyFormat, KeyMaterial};
use crate::object::{CryptographicAlgorithm, ObjectType, RecommendedCurve};

/// Longest HMAC key accepted (a longer key is hashed by HMAC anyway; this bounds what a caller can store).
pub(crate) const MAX_HMAC_KEY: usize = 1024;
/// Longest Secret Data, Opaque Object or certificate accepted.
pub(crate) const MAX_BLOB: usize = 64 * 1024;
/// RSA moduli this backend imports and generates, in bits.
pub(crate) const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;
/// RSA moduli imported when the operator opted in to legacy sizes
/// ([`SoftwareBackend::allow_legacy_rsa_import`](super::SoftwareBackend::allow_legacy_rsa_import)).
pub(crate) const LEGACY_RSA_BITS: std::ops::RangeInclusive<usize> = 1024..=4096;

fn invalid(what: &str) -> BackendError {
    BackendError::InvalidInput(what.to_owned())
}

/// The hash an HMAC key algorithm names.
pub(crate) fn hmac_hash(algorithm: CryptographicAlgorithm) -> Option<HashingAlgorithm> {
    Some(match algorithm {
        CryptographicAlgorithm::HmacSha1 => HashingAlgorithm::Sha1,
        CryptographicAlgorithm::HmacSha224 => HashingAlgorithm::Sha224,
        CryptographicAlgorithm::HmacSha256 => HashingAlgorithm::Sha256,
        CryptographicAlgorithm::HmacSha384 => HashingAlgorithm::Sha384,
        CryptographicAlgorithm::HmacSha512 => HashingAlgorithm::Sha512,
        _ => return None,
    })
}

fn is_ec_algorithm(a: CryptographicAlgorithm) -> bool {
    matches!(
        a,
        CryptographicAlgorithm::Ec | CryptographicAlgorithm::Ecdsa | CryptographicAlgorithm::Ecdh
    )
}

fn expect_format(material: &KeyMaterial, format: KeyFormat) -> Result<&[u8], BackendError> {
    if material.format() == format {
        Ok(material.bytes())
    } else {
        Err(BackendError::InvalidInput(format!(
            "expected key material in {format:?} format, got {:?}",
            material.format()
        )))
    }
}

/// Checks and normalizes material for `object_type`, returning what the reference will hold.
pub(crate) fn import(
    object_type: ObjectType,
    algorithm: Option<CryptographicAlgorithm>,
    material: &KeyMaterial,
    rsa_bits: &std::ops::RangeInclusive<usize>,
) -> Result<(Kind, Zeroizing<Vec<u8>>), BackendError> {
    match object_type {
        ObjectType::SymmetricKey => {
            let raw = expect_format(material, KeyFormat::Raw)?;
            let algorithm =
                algorithm.ok_or_else(|| invalid("a symmetric key needs its algorithm"))?;
            let kind = symmetric_kind(algorithm, raw.len())?;
            Ok((kind, Zeroizing::new(raw.to_vec())))
        }
        ObjectType::SecretData => {
            let raw = expect_format(material, KeyFormat::Raw)?;
            if raw.is_empty() || raw.len() > MAX_BLOB {
                return Err(invalid("secret data must be 1 to 65536 bytes"));
            }
            Ok((Kind::Secret, Zeroizing::new(raw.to_vec())))
        }
        ObjectType::OpaqueObject => {
            let raw = expect_format(material, KeyFormat::Raw)?;
            if raw.len() > MAX_BLOB {
                return Err(invalid("an opaque object is at most 65536 bytes"));
            }
            Ok((Kind::Opaque, Zeroizing::new(raw.to_vec())))
        }
        ObjectType::PrivateKey => {
            let der = expect_format(material, KeyFormat::Pkcs8)?;
            import_private(algorithm, der, rsa_bits)
        }
        ObjectType::PublicKey => {
            let der = expect_format(material, KeyFormat::SubjectPublicKeyInfo)?;
            import_public(algorithm, der, rsa_bits)
        }
        ObjectType::Certificate => {
            let der = expect_format(material, KeyFormat::X509Certificate)?;
            check_certificate(der)?;
            Ok((Kind::Certificate, Zeroizing::new(der.to_vec())))
        }
        other => Err(BackendError::Unsupported(format!(
            "{other:?} objects are not held by the software backend"
        ))),
    }
}

/// The kind of a raw symmetric key of `len` bytes.
pub(crate) fn symmetric_kind(
    algorithm: CryptographicAlgorithm,
    len: usize,
) -> Result<Kind, BackendError> {
    if algorithm == CryptographicAlgorithm::Aes {
        if matches!(len, 16 | 24 | 32) {
            Ok(Kind::Aes)
        } else {
            Err(BackendError::InvalidInput(format!(
                "an AES key is 16, 24 or 32 bytes, got {len}"
            )))
        }
    } else if matches!(
        algorithm,
        CryptographicAlgorithm::ChaCha20 | CryptographicAlgorithm::ChaCha20Poly1305
    ) {
        if len == 32 {
            Ok(Kind::ChaCha20)
        } else {
            Err(BackendError::InvalidInput(format!(
                "a ChaCha20 key is 32 bytes, got {len}"
            )))
        }
    } else if let Some(h) = hmac_hash(algorithm) {
        if (1..=MAX_HMAC_KEY).contains(&len) {
            Ok(Kind::Hmac(h))
        } else {
            Err(BackendError::InvalidInput(format!(
                "an HMAC key is 1 to {MAX_HMAC_KEY} bytes, got {len}"
            )))
        }
    } else {
        Err(BackendError::Unsupported(format!(
            "symmetric algorithm {algorithm:?}"
        )))
    }
}

fn check_rsa_size(
    bits: usize,
    allowed: &std::ops::RangeInclusive<usize>,
) -> Result<(), BackendError> {
    if allowed.contains(&bits) {
        Ok(())
    } else {
        Err(BackendError::InvalidInput(format!(
            "RSA keys of {} to {} bits are supported, got {bits}",
            allowed.start(),
            allowed.end()
        )))
    }
}

fn import_private(
    algorithm: Option<CryptographicAlgorithm>,
    der: &[u8],
    rsa_bits: &std::ops::RangeInclusive<usize>,
) -> Result<(Kind, Zeroizing<Vec<u8>>), BackendError> {
    if is_dsa(algorithm, der) {
        let key = crate::dsa::DsaPrivateKey::from_pkcs8_der(der).map_err(dsa_invalid)?;
        return Ok((Kind::DsaPrivate, key.to_pkcs8_der().map_err(dsa_invalid)?));
    }
    let want_rsa = match algorithm {
        None => None,
        Some(CryptographicAlgorithm::Rsa) => Some(true),
        Some(a) if is_ec_algorithm(a) => Some(false),
        Some(a) => {
            return Err(BackendError::Unsupported(format!(
                "private key algorithm {a:?}"
            )));
        }
    };
    let bad = || invalid("not a PKCS#8 RSA, P-256 or P-384 private key");
    let reencoded = |doc: Result<p256::pkcs8::SecretDocument, _>| {
        doc.map(|d| Zeroizing::new(d.as_bytes().to_vec()))
            .map_err(|_| bad())
    };
    if want_rsa != Some(false)
        && let Ok(key) = rsa::PrivateKey::from_pkcs8_der(der)
    {
        check_rsa_size(key.n().bit_width() as usize, rsa_bits)?;
        key.validate().map_err(|_| bad())?;
        return Ok((Kind::RsaPrivate, reencoded(key.to_pkcs8_der())?));
    }
    if want_rsa != Some(true) {
        if let Ok(key) = p256::SecretKey::from_pkcs8_der(der) {
            return Ok((
                Kind::EcPrivate(RecommendedCurve::P256),
                reencoded(key.to_pkcs8_der())?,
            ));
        }
        if let Ok(key) = p384::SecretKey::from_pkcs8_der(der) {
            return Ok((
                Kind::EcPrivate(RecommendedCurve::P384),
                reencoded(key.to_pkcs8_der())?,
            ));
        }
    }
    Err(bad())
}

fn import_public(
    algorithm: Option<CryptographicAlgorithm>,
    der: &[u8],
    rsa_bits: &std::ops::RangeInclusive<usize>,
) -> Result<(Kind, Zeroizing<Vec<u8>>), BackendError> {
    if is_dsa(algorithm, der) {
        let key = crate::dsa::DsaPublicKey::from_spki_der(der).map_err(dsa_invalid)?;
        let der = key.to_spki_der().map_err(dsa_invalid)?;
        return Ok((Kind::DsaPublic, Zeroizing::new(der)));
    }
    let want_rsa = match algorithm {
        None => None,
        Some(CryptographicAlgorithm::Rsa) => Some(true),
        Some(a) if is_ec_algorithm(a) => Some(false),
        Some(a) => {
            return Err(BackendError::Unsupported(format!(
                "public key algorithm {a:?}"
            )));
        }
    };
    let bad = || invalid("not a SubjectPublicKeyInfo of an RSA, P-256 or P-384 key");
    let reencoded = |doc: Result<p256::pkcs8::Document, _>| {
        doc.map(|d| Zeroizing::new(d.as_bytes().to_vec()))
            .map_err(|_| bad())
    };
    if want_rsa != Some(false)
        && let Ok(key) = rsa::PublicKey::from_public_key_der(der)
    {
        check_rsa_size(key.n().bit_width() as usize, rsa_bits)?;
        return Ok((Kind::RsaPublic, reencoded(key.to_public_key_der())?));
    }
    if want_rsa != Some(true) {
        if let Ok(key) = p256::PublicKey::from_public_key_der(der) {
            return Ok((
                Kind::EcPublic(RecommendedCurve::P256),
                reencoded(key.to_public_key_der())?,
            ));
        }
        if let Ok(key) = p384::PublicKey::from_public_key_der(der) {
            return Ok((
                Kind::EcPublic(RecommendedCurve::P384),
                reencoded(key.to_public_key_der())?,
            ));
        }
    }
    Err(bad())
}

/// Whether a key is handled as DSA: its algorithm says so, or, not given, its encoding does.
///
/// DSA keys of any size `kms_core::dsa` accepts are kept (KMIP's Baseline profile registers a 512-bit one); Sign
/// and Signature Verify use only those of the FIPS 186-4 sizes (see `dsa_key`).
fn is_dsa(algorithm: Option<CryptographicAlgorithm>, der: &[u8]) -> bool {
    match algorithm {
        Some(a) => a == CryptographicAlgorithm::Dsa,
        None => crate::dsa::is_dsa(der),
    }
}

fn dsa_invalid(e: crate::dsa::InvalidDsaKey) -> BackendError {
    BackendError::InvalidInput(e.to_string())
}

/// Checks the outer structure of an X.509 certificate (RFC 5280 §4.1): a SEQUENCE of a TBSCertificate SEQUENCE,
/// an AlgorithmIdentifier and a BIT STRING, and nothing after it. Enough to refuse garbage without a full X.509
/// parser; the certificate is stored exactly as given.
fn check_certificate(der: &[u8]) -> Result<(), BackendError> {
    let bad = || invalid("not a DER X.509 certificate");
    if der.is_empty() || der.len() > MAX_BLOB {
        return Err(bad());
    }
    let mut reader = der::SliceReader::new(der).map_err(|_| bad())?;
    reader
        .sequence(|r| {
            let tbs: der::asn1::AnyRef<'_> = r.decode()?;
            tbs.tag().assert_eq(der::Tag::Sequence)?;
            let _signature_algorithm: p256::pkcs8::spki::AlgorithmIdentifierRef<'_> = r.decode()?;
            let _signature: der::asn1::BitStringRef<'_> = r.decode()?;
            Ok::<_, der::Error>(())
        })
        .map_err(|_| bad())?;
    reader.finish().map_err(|_| bad())
}

/// The canonical form of a reference's material.
pub(crate) fn export(data: &KeyData<'_>) -> Result<KeyMaterial, BackendError> {
    if data.kind.is_secret() && !data.extractable {
        return Err(BackendError::NotExtractable);
    }
    let format = match data.kind {
        Kind::Aes | Kind::ChaCha20 | Kind::Hmac(_) | Kind::Secret | Kind::Opaque => KeyFormat::Raw,
        Kind::RsaPrivate | Kind::EcPrivate(_) | Kind::DsaPrivate => KeyFormat::Pkcs8,
        Kind::RsaPublic | Kind::EcPublic(_) | Kind::DsaPublic => KeyFormat::SubjectPublicKeyInfo,
        Kind::Certificate => KeyFormat::X509Certificate,
    };
    Ok(KeyMaterial::new(
        format,
        Zeroizing::new(data.material.to_vec()),
    ))
}
