//! The software half of a TPM key: its public area as RustCrypto keys, for verification, encryption and export.

use p256::elliptic_curve::sec1::ToSec1Point as _;
use p256::pkcs8::EncodePublicKey as _;
use rsa::BoxedUint;
use rsa::traits::PublicKeyParts as _;
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::structures::{EccParameter, EccPoint, Public, PublicKeyRsa};

use crate::error::TpmError;

/// The RSA public key of an RSA public area.
pub(crate) fn rsa_key(public: &Public) -> Result<rsa::PublicKey, TpmError> {
    let Public::Rsa {
        parameters, unique, ..
    } = public
    else {
        return Err(TpmError::InvalidInput("not an RSA key".into()));
    };
    // TPM 2.0 Part 2 §12.2.3.5: an exponent of zero means 2^16 + 1.
    let e = match parameters.exponent().value() {
        0 => 65537,
        e => e,
    };
    let n = BoxedUint::from_be_slice_vartime(unique.value());
    rsa::PublicKey::new(n, BoxedUint::from(u64::from(e))).map_err(|_| TpmError::MalformedBlob)
}

/// The SEC1 uncompressed point `04 || x || y` of a P-256 public area.
fn p256_sec1(public: &Public) -> Result<Vec<u8>, TpmError> {
    let Public::Ecc {
        parameters, unique, ..
    } = public
    else {
        return Err(TpmError::InvalidInput("not an EC key".into()));
    };
    if parameters.ecc_curve() != EccCurve::NistP256 {
        return Err(TpmError::Unsupported("EC curves other than P-256".into()));
    }
    let (x, y) = (unique.x().value(), unique.y().value());
    if x.len() > 32 || y.len() > 32 {
        return Err(TpmError::MalformedBlob);
    }
    let mut point = vec![0u8; 65];
    point[0] = 4;
    point[33 - x.len()..33].copy_from_slice(x);
    point[65 - y.len()..].copy_from_slice(y);
    Ok(point)
}

/// The ECDSA verifying key of a P-256 public area.
pub(crate) fn p256_key(public: &Public) -> Result<p256::ecdsa::VerifyingKey, TpmError> {
    p256::ecdsa::VerifyingKey::from_sec1_bytes(&p256_sec1(public)?)
        .map_err(|_| TpmError::MalformedBlob)
}

/// `SubjectPublicKeyInfo` (DER) of an RSA or P-256 public area.
pub(crate) fn spki_der(public: &Public) -> Result<Vec<u8>, TpmError> {
    let der = match public {
        Public::Rsa { .. } => rsa_key(public)?.to_public_key_der(),
        Public::Ecc { .. } => p256::PublicKey::from_sec1_bytes(&p256_sec1(public)?)
            .map_err(|_| TpmError::MalformedBlob)?
            .to_public_key_der(),
        _ => return Err(TpmError::InvalidInput("not an asymmetric key".into())),
    };
    der.map(|d| d.as_bytes().to_vec())
        .map_err(|_| TpmError::MalformedBlob)
}

/// A public-only area for an imported `SubjectPublicKeyInfo` (RSA-2048 or P-256), so that imported public keys
/// live in the same blob format as generated ones.
pub(crate) fn from_spki(der: &[u8]) -> Result<(Public, bool), TpmError> {
    use p256::pkcs8::DecodePublicKey as _;
    if let Ok(k) = rsa::PublicKey::from_public_key_der(der) {
        let n = k.n().to_be_bytes();
        let n = strip_zeros(&n);
        if n.len() != 256 {
            return Err(TpmError::Unsupported(
                "RSA public keys other than 2048 bits".into(),
            ));
        }
        let e = k.e().to_be_bytes();
        let e = strip_zeros(&e);
        if e != [1, 0, 1] {
            return Err(TpmError::Unsupported(
                "RSA exponents other than 65537".into(),
            ));
        }
        let template = crate::templates::rsa_2048(true, true).map_err(TpmError::tss("template"))?;
        let Public::Rsa {
            object_attributes,
            name_hashing_algorithm,
            auth_policy,
            parameters,
            ..
        } = template
        else {
            return Err(TpmError::MalformedBlob);
        };
        let _ = RsaKeyBits::Rsa2048;
        let unique = PublicKeyRsa::try_from(n.to_vec()).map_err(|_| TpmError::MalformedBlob)?;
        return Ok((
            Public::Rsa {
                object_attributes,
                name_hashing_algorithm,
                auth_policy,
                parameters,
                unique,
            },
            true,
        ));
    }
    if let Ok(k) = p256::PublicKey::from_public_key_der(der) {
        let point = k.to_sec1_point(false);
        let bytes = point.as_bytes();
        let template = crate::templates::ecdsa_p256().map_err(TpmError::tss("template"))?;
        let Public::Ecc {
            object_attributes,
            name_hashing_algorithm,
            auth_policy,
            parameters,
            ..
        } = template
        else {
            return Err(TpmError::MalformedBlob);
        };
        let x =
            EccParameter::try_from(bytes[1..33].to_vec()).map_err(|_| TpmError::MalformedBlob)?;
        let y =
            EccParameter::try_from(bytes[33..65].to_vec()).map_err(|_| TpmError::MalformedBlob)?;
        return Ok((
            Public::Ecc {
                object_attributes,
                name_hashing_algorithm,
                auth_policy,
                parameters,
                unique: EccPoint::new(x, y),
            },
            false,
        ));
    }
    Err(TpmError::InvalidInput(
        "not an RSA-2048 or P-256 SubjectPublicKeyInfo".into(),
    ))
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}
