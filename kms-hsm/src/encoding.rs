//! Conversions between PKCS#11 attributes and the canonical formats of kms-core: SubjectPublicKeyInfo from
//! CKA_MODULUS/CKA_PUBLIC_EXPONENT or CKA_EC_POINT, PKCS#8 parsing for import, curve OIDs for CKA_EC_PARAMS,
//! DigestInfo for CKM_RSA_PKCS, and PKCS#11's `r || s` ECDSA signatures to and from DER.

use cryptoki::object::Attribute;
use kms_core::backend::{BackendError, HashingAlgorithm};
use kms_core::object::{CryptographicAlgorithm, RecommendedCurve};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use sha2::Digest as _;
use zeroize::Zeroizing;

use crate::key_ref::Kind;

/// Longest HMAC key accepted on import (as the software backend).
const MAX_HMAC_KEY: usize = 1024;

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

pub(crate) fn symmetric_kind(
    algorithm: CryptographicAlgorithm,
    len: usize,
) -> Result<Kind, BackendError> {
    if algorithm == CryptographicAlgorithm::Aes {
        match len {
            16 | 24 | 32 => Ok(Kind::Aes(len as u8)),
            _ => Err(BackendError::InvalidInput(format!(
                "an AES key is 16, 24 or 32 bytes, got {len}"
            ))),
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

/// The public kind of a key pair member.
pub(crate) fn public_kind(kind: Kind) -> Option<Kind> {
    match kind {
        Kind::RsaPrivate | Kind::RsaPublic => Some(Kind::RsaPublic),
        Kind::EcPrivate(c) | Kind::EcPublic(c) => Some(Kind::EcPublic(c)),
        Kind::Aes(_) | Kind::Hmac(_) => None,
    }
}

/// CKA_EC_PARAMS: the DER of the curve's named-curve OID (RFC 5480 §2.1.1.1).
pub(crate) fn curve_oid_der(curve: RecommendedCurve) -> Result<&'static [u8], BackendError> {
    match curve {
        // 1.2.840.10045.3.1.7
        RecommendedCurve::P256 => Ok(&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
        // 1.3.132.0.34
        RecommendedCurve::P384 => Ok(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
        other => Err(BackendError::Unsupported(format!("curve {other:?}"))),
    }
}

/// CKA_EC_POINT is a DER OCTET STRING holding the SEC 1 point (PKCS#11 2.40 §2.3.3); some tokens give the bare
/// point. Accepts both.
fn ec_point_bytes(value: &[u8]) -> &[u8] {
    // A bare uncompressed point of P-256, P-384 or P-521 has exactly these lengths; a DER one never does.
    if matches!(value.len(), 65 | 97 | 133) {
        return value;
    }
    match value {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() && *len < 0x80 => rest,
        [0x04, 0x81, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        other => other,
    }
}

fn ec_point_der(point: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(point.len() + 3);
    out.push(0x04);
    if point.len() < 0x80 {
        out.push(point.len() as u8);
    } else {
        out.push(0x81);
        out.push(point.len() as u8);
    }
    out.extend_from_slice(point);
    out
}

fn encoding_error(e: impl std::error::Error + Send + Sync + 'static) -> BackendError {
    BackendError::Device {
        message: "encoding a public key failed".into(),
        retryable: false,
        source: Some(Box::new(e)),
    }
}

/// SubjectPublicKeyInfo DER from the attributes of a public key object.
pub(crate) fn spki_from_attributes(
    kind: Kind,
    attrs: &[Attribute],
) -> Result<Vec<u8>, BackendError> {
    let bad = || BackendError::Device {
        message: "the token returned an unusable public key".into(),
        retryable: false,
        source: None,
    };
    match kind {
        Kind::RsaPublic => {
            let (mut n, mut e) = (None, None);
            for a in attrs {
                match a {
                    Attribute::Modulus(v) => n = Some(v),
                    Attribute::PublicExponent(v) => e = Some(v),
                    _ => {}
                }
            }
            let (n, e) = n.zip(e).ok_or_else(bad)?;
            let key = rsa::PublicKey::new(
                rsa::BoxedUint::from_be_slice_vartime(n),
                rsa::BoxedUint::from_be_slice_vartime(e),
            )
            .map_err(|_| bad())?;
            Ok(key.to_public_key_der().map_err(encoding_error)?.into_vec())
        }
        Kind::EcPublic(curve) => {
            let point = attrs
                .iter()
                .find_map(|a| match a {
                    Attribute::EcPoint(v) => Some(ec_point_bytes(v)),
                    _ => None,
                })
                .ok_or_else(bad)?;
            let der = match curve {
                RecommendedCurve::P256 => p256::PublicKey::from_sec1_bytes(point)
                    .map_err(|_| bad())?
                    .to_public_key_der(),
                RecommendedCurve::P384 => p384::PublicKey::from_sec1_bytes(point)
                    .map_err(|_| bad())?
                    .to_public_key_der(),
                RecommendedCurve::P521 => return Err(bad()),
            };
            Ok(der.map_err(encoding_error)?.into_vec())
        }
        _ => Err(bad()),
    }
}

fn want_rsa(algorithm: Option<CryptographicAlgorithm>) -> Result<Option<bool>, BackendError> {
    Ok(match algorithm {
        None => None,
        Some(CryptographicAlgorithm::Rsa) => Some(true),
        Some(
            CryptographicAlgorithm::Ec
            | CryptographicAlgorithm::Ecdsa
            | CryptographicAlgorithm::Ecdh,
        ) => Some(false),
        Some(a) => {
            return Err(BackendError::Unsupported(format!("key algorithm {a:?}")));
        }
    })
}

fn check_rsa_bits(bits: u32) -> Result<(), BackendError> {
    if (2048..=4096).contains(&bits) {
        Ok(())
    } else {
        Err(BackendError::InvalidInput(format!(
            "RSA keys of 2048 to 4096 bits are supported, got {bits}"
        )))
    }
}

fn rsa_public_attributes(key: &rsa::PublicKey) -> Vec<Attribute> {
    vec![
        Attribute::Modulus(key.n().to_be_bytes_trimmed_vartime().into_vec()),
        Attribute::PublicExponent(key.e().to_be_bytes_trimmed_vartime().into_vec()),
    ]
}

fn ec_public_attributes(
    curve: RecommendedCurve,
    sec1: &[u8],
) -> Result<Vec<Attribute>, BackendError> {
    Ok(vec![
        Attribute::EcParams(curve_oid_der(curve)?.to_vec()),
        Attribute::EcPoint(ec_point_der(sec1)),
    ])
}

/// A private key to import: its kind, the PKCS#8 to unwrap, and its public half's attributes.
pub(crate) struct ParsedPrivate {
    pub(crate) kind: Kind,
    pub(crate) public_kind: Kind,
    pub(crate) pkcs8: Zeroizing<Vec<u8>>,
    pub(crate) public_attributes: Vec<Attribute>,
}

pub(crate) fn parse_private(
    algorithm: Option<CryptographicAlgorithm>,
    der: &[u8],
) -> Result<ParsedPrivate, BackendError> {
    let want = want_rsa(algorithm)?;
    let bad = || invalid("not a PKCS#8 RSA, P-256 or P-384 private key");
    let reencoded = |doc: Result<p256::pkcs8::SecretDocument, _>| {
        doc.map(|d| Zeroizing::new(d.as_bytes().to_vec()))
            .map_err(|_| bad())
    };
    if want != Some(false)
        && let Ok(key) = rsa::PrivateKey::from_pkcs8_der(der)
    {
        check_rsa_bits(key.n().bit_width_vartime())?;
        key.validate().map_err(|_| bad())?;
        return Ok(ParsedPrivate {
            kind: Kind::RsaPrivate,
            public_kind: Kind::RsaPublic,
            pkcs8: reencoded(key.to_pkcs8_der())?,
            public_attributes: rsa_public_attributes(key.as_public_key()),
        });
    }
    if want != Some(true) {
        if let Ok(key) = p256::SecretKey::from_pkcs8_der(der) {
            let curve = RecommendedCurve::P256;
            return Ok(ParsedPrivate {
                kind: Kind::EcPrivate(curve),
                public_kind: Kind::EcPublic(curve),
                pkcs8: reencoded(key.to_pkcs8_der())?,
                public_attributes: ec_public_attributes(curve, &key.public_key().to_sec1_bytes())?,
            });
        }
        if let Ok(key) = p384::SecretKey::from_pkcs8_der(der) {
            let curve = RecommendedCurve::P384;
            return Ok(ParsedPrivate {
                kind: Kind::EcPrivate(curve),
                public_kind: Kind::EcPublic(curve),
                pkcs8: reencoded(key.to_pkcs8_der())?,
                public_attributes: ec_public_attributes(curve, &key.public_key().to_sec1_bytes())?,
            });
        }
    }
    Err(bad())
}

pub(crate) fn parse_public(
    algorithm: Option<CryptographicAlgorithm>,
    der: &[u8],
) -> Result<(Kind, Vec<Attribute>), BackendError> {
    let want = want_rsa(algorithm)?;
    let bad = || invalid("not a SubjectPublicKeyInfo of an RSA, P-256 or P-384 key");
    if want != Some(false)
        && let Ok(key) = rsa::PublicKey::from_public_key_der(der)
    {
        check_rsa_bits(key.n().bit_width_vartime())?;
        return Ok((Kind::RsaPublic, rsa_public_attributes(&key)));
    }
    if want != Some(true) {
        if let Ok(key) = p256::PublicKey::from_public_key_der(der) {
            let c = RecommendedCurve::P256;
            return Ok((
                Kind::EcPublic(c),
                ec_public_attributes(c, &key.to_sec1_bytes())?,
            ));
        }
        if let Ok(key) = p384::PublicKey::from_public_key_der(der) {
            let c = RecommendedCurve::P384;
            return Ok((
                Kind::EcPublic(c),
                ec_public_attributes(c, &key.to_sec1_bytes())?,
            ));
        }
    }
    Err(bad())
}

/// The length of the DER element at the start of `der` (tag, length and contents), if it fits in `der`.
pub(crate) fn der_len(der: &[u8]) -> Option<usize> {
    let (&first, rest) = der.get(1..)?.split_first()?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, 2 + n)
    };
    let total = header.checked_add(len)?;
    (total <= der.len()).then_some(total)
}

/// Digest length in bytes.
pub(crate) fn digest_len(h: HashingAlgorithm) -> usize {
    match h {
        HashingAlgorithm::Sha1 => 20,
        HashingAlgorithm::Sha224 => 28,
        HashingAlgorithm::Sha256 => 32,
        HashingAlgorithm::Sha384 => 48,
        HashingAlgorithm::Sha512 => 64,
    }
}

/// Hashes `data` in software (tokens such as SoftHSM offer only raw CKM_ECDSA; one code path for every hash).
pub(crate) fn digest(h: HashingAlgorithm, data: &[u8]) -> Vec<u8> {
    match h {
        HashingAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        HashingAlgorithm::Sha224 => sha2::Sha224::digest(data).to_vec(),
        HashingAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        HashingAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
        HashingAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
    }
}

/// The DER prefix of `DigestInfo` for `h` (RFC 8017 §9.2 note 1), which CKM_RSA_PKCS signs with the digest.
pub(crate) fn digest_info_prefix(h: HashingAlgorithm) -> &'static [u8] {
    match h {
        HashingAlgorithm::Sha1 => &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
            0x14,
        ],
        HashingAlgorithm::Sha224 => &[
            0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x04, 0x05, 0x00, 0x04, 0x1c,
        ],
        HashingAlgorithm::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        HashingAlgorithm::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        HashingAlgorithm::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// PKCS#11's ECDSA signature (`r || s`, each as long as the order: PKCS#11 2.40 mechanisms §2.3.1) as DER
/// `Ecdsa-Sig-Value`.
pub(crate) fn ecdsa_to_der(curve: RecommendedCurve, raw: &[u8]) -> Result<Vec<u8>, BackendError> {
    let bad = || BackendError::Device {
        message: "the token returned a malformed ECDSA signature".into(),
        retryable: false,
        source: None,
    };
    match curve {
        RecommendedCurve::P256 => Ok(p256::ecdsa::Signature::from_slice(raw)
            .map_err(|_| bad())?
            .to_der()
            .as_bytes()
            .to_vec()),
        RecommendedCurve::P384 => Ok(p384::ecdsa::Signature::from_slice(raw)
            .map_err(|_| bad())?
            .to_der()
            .as_bytes()
            .to_vec()),
        RecommendedCurve::P521 => Err(bad()),
    }
}

/// A DER ECDSA signature as `r || s` for C_Verify; anything that does not parse fails verification.
pub(crate) fn ecdsa_from_der(curve: RecommendedCurve, der: &[u8]) -> Result<Vec<u8>, BackendError> {
    match curve {
        RecommendedCurve::P256 => Ok(p256::ecdsa::Signature::from_der(der)
            .map_err(|_| BackendError::Crypto)?
            .to_bytes()
            .to_vec()),
        RecommendedCurve::P384 => Ok(p384::ecdsa::Signature::from_der(der)
            .map_err(|_| BackendError::Crypto)?
            .to_bytes()
            .to_vec()),
        RecommendedCurve::P521 => Err(BackendError::Crypto),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_info_prefixes_end_in_the_digest_length() {
        for h in crate::probe::HASHES {
            let p = digest_info_prefix(h);
            assert_eq!(usize::from(p[p.len() - 1]), digest_len(h));
            // The outer SEQUENCE covers the prefix after its header plus the digest.
            assert_eq!(usize::from(p[1]), p.len() - 2 + digest_len(h));
        }
    }

    #[test]
    fn der_len_reads_short_and_long_forms() {
        assert_eq!(der_len(&[0x30, 0x02, 1, 2, 0, 0]), Some(4));
        let mut long = vec![0x30, 0x82, 0x01, 0x00];
        long.resize(4 + 256 + 7, 0);
        assert_eq!(der_len(&long), Some(260));
        assert_eq!(der_len(&[0x30, 0x05, 1]), None);
        assert_eq!(der_len(&[0x30]), None);
        assert_eq!(der_len(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
    }

    #[test]
    fn ec_point_accepts_der_and_bare() {
        let point = [0x04u8; 65];
        assert_eq!(ec_point_bytes(&ec_point_der(&point)), &point[..]);
        let big = [0x04u8; 133];
        assert_eq!(ec_point_bytes(&ec_point_der(&big)), &big[..]);
    }

    #[test]
    fn ecdsa_der_round_trip_and_garbage() {
        let mut raw = [0u8; 64];
        raw[31] = 1;
        raw[63] = 2;
        let der = ecdsa_to_der(RecommendedCurve::P256, &raw).unwrap();
        assert_eq!(ecdsa_from_der(RecommendedCurve::P256, &der).unwrap(), raw);
        assert!(matches!(
            ecdsa_from_der(RecommendedCurve::P256, b"junk"),
            Err(BackendError::Crypto)
        ));
        assert!(ecdsa_to_der(RecommendedCurve::P256, &raw[..63]).is_err());
    }
}
