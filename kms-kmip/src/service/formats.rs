//! Key format conversions between KMIP's encodings and kms-core's canonical ones (PKCS#8 for private keys,
//! SubjectPublicKeyInfo for public keys): PKCS#1 and Transparent RSA keys, through the rsa crate's DER support;
//! Transparent EC keys through the curve crates; Transparent DSA keys through kms-core's `dsa` module.

use kms_core::Error as CoreError;
use rsa::pkcs1::{
    DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey, UintRef,
};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use zeroize::Zeroizing;

fn invalid(what: &str) -> CoreError {
    // The parser's error says nothing about the key, but keep the message to the format only.
    CoreError::InvalidField(format!("the key material is not a valid {what}"))
}

fn encoding_failed() -> CoreError {
    CoreError::KeyFormatTypeNotSupported("the key cannot be encoded in the requested format".into())
}

/// PKCS#1 `RSAPrivateKey` → PKCS#8 `PrivateKeyInfo`.
pub(crate) fn rsa_private_pkcs1_to_pkcs8(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = RsaPrivateKey::from_pkcs1_der(der).map_err(|_| invalid("PKCS#1 RSA private key"))?;
    let doc = key.to_pkcs8_der().map_err(|_| encoding_failed())?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// PKCS#1 `RSAPublicKey` → `SubjectPublicKeyInfo`.
pub(crate) fn rsa_public_pkcs1_to_spki(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = RsaPublicKey::from_pkcs1_der(der).map_err(|_| invalid("PKCS#1 RSA public key"))?;
    let doc = key.to_public_key_der().map_err(|_| encoding_failed())?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// PKCS#8 `PrivateKeyInfo` of an RSA key → PKCS#1 `RSAPrivateKey`.
pub(crate) fn rsa_private_pkcs8_to_pkcs1(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = RsaPrivateKey::from_pkcs8_der(der).map_err(|_| {
        CoreError::KeyFormatTypeNotSupported("PKCS#1 for a key that is not RSA".into())
    })?;
    let doc = key.to_pkcs1_der().map_err(|_| encoding_failed())?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// `SubjectPublicKeyInfo` of an RSA key → PKCS#1 `RSAPublicKey`.
pub(crate) fn rsa_public_spki_to_pkcs1(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = RsaPublicKey::from_public_key_der(der).map_err(|_| {
        CoreError::KeyFormatTypeNotSupported("PKCS#1 for a key that is not RSA".into())
    })?;
    let doc = key.to_pkcs1_der().map_err(|_| encoding_failed())?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// The magnitude of a non-negative KMIP Big Integer (two's complement, sign-extended).
fn magnitude<'a>(twos_complement: &'a [u8], what: &str) -> Result<UintRef<'a>, CoreError> {
    if twos_complement.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(CoreError::InvalidField(format!("{what} is negative")));
    }
    UintRef::new(twos_complement).map_err(|_| invalid(what))
}

/// An unsigned DER magnitude as a KMIP Big Integer: a zero sign byte when the top bit is set.
fn big_integer(magnitude: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(magnitude.len() + 1));
    if magnitude.first().is_none_or(|b| b & 0x80 != 0) {
        out.push(0);
    }
    out.extend_from_slice(magnitude);
    out
}

/// Transparent RSA Public Key (modulus, public exponent) → `SubjectPublicKeyInfo`.
pub(crate) fn rsa_public_transparent_to_spki(
    modulus: &[u8],
    public_exponent: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = rsa::pkcs1::RsaPublicKey {
        modulus: magnitude(modulus, "Modulus")?,
        public_exponent: magnitude(public_exponent, "Public Exponent")?,
    };
    let der = key
        .to_pkcs1_der()
        .map_err(|_| invalid("Transparent RSA Public Key"))?;
    rsa_public_pkcs1_to_spki(der.as_bytes())
}

/// The Modulus and Public Exponent of a Transparent RSA Public Key, as KMIP Big Integers.
pub(crate) type RsaPublicComponents = (Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>);

/// The components of a Transparent RSA Private Key, as KMIP Big Integers.
pub(crate) struct RsaComponents {
    pub(crate) modulus: Zeroizing<Vec<u8>>,
    pub(crate) public_exponent: Zeroizing<Vec<u8>>,
    pub(crate) private_exponent: Zeroizing<Vec<u8>>,
    pub(crate) p: Zeroizing<Vec<u8>>,
    pub(crate) q: Zeroizing<Vec<u8>>,
    pub(crate) prime_exponent_p: Zeroizing<Vec<u8>>,
    pub(crate) prime_exponent_q: Zeroizing<Vec<u8>>,
    pub(crate) crt_coefficient: Zeroizing<Vec<u8>>,
}

/// Transparent RSA Private Key → PKCS#8. Every component must be there (KMIP makes the CRT ones optional;
/// kms-core keeps keys in the CRT form PKCS#1 requires), and the key must be consistent.
pub(crate) fn rsa_private_transparent_to_pkcs8(
    c: &RsaComponents,
) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = rsa::pkcs1::RsaPrivateKey {
        modulus: magnitude(&c.modulus, "Modulus")?,
        public_exponent: magnitude(&c.public_exponent, "Public Exponent")?,
        private_exponent: magnitude(&c.private_exponent, "Private Exponent")?,
        prime1: magnitude(&c.p, "P")?,
        prime2: magnitude(&c.q, "Q")?,
        exponent1: magnitude(&c.prime_exponent_p, "Prime Exponent P")?,
        exponent2: magnitude(&c.prime_exponent_q, "Prime Exponent Q")?,
        coefficient: magnitude(&c.crt_coefficient, "CRT Coefficient")?,
        other_prime_infos: None,
    };
    let der = key
        .to_pkcs1_der()
        .map_err(|_| invalid("Transparent RSA Private Key"))?;
    // Through the rsa crate, which checks the key (p and q prime, n = pq, ...).
    rsa_private_pkcs1_to_pkcs8(der.as_bytes())
}

/// `SubjectPublicKeyInfo` of an RSA key → (modulus, public exponent) as KMIP Big Integers.
pub(crate) fn rsa_public_spki_to_transparent(der: &[u8]) -> Result<RsaPublicComponents, CoreError> {
    let pkcs1 = rsa_public_spki_to_pkcs1(der)?;
    let key = rsa::pkcs1::RsaPublicKeyRef::try_from(&pkcs1[..]).map_err(|_| encoding_failed())?;
    Ok((
        big_integer(key.modulus.as_bytes()),
        big_integer(key.public_exponent.as_bytes()),
    ))
}

/// PKCS#8 of an RSA key → its components as KMIP Big Integers.
pub(crate) fn rsa_private_pkcs8_to_transparent(der: &[u8]) -> Result<RsaComponents, CoreError> {
    let pkcs1 = rsa_private_pkcs8_to_pkcs1(der)?;
    let k = rsa::pkcs1::RsaPrivateKeyRef::try_from(&pkcs1[..]).map_err(|_| encoding_failed())?;
    Ok(RsaComponents {
        modulus: big_integer(k.modulus.as_bytes()),
        public_exponent: big_integer(k.public_exponent.as_bytes()),
        private_exponent: big_integer(k.private_exponent.as_bytes()),
        p: big_integer(k.prime1.as_bytes()),
        q: big_integer(k.prime2.as_bytes()),
        prime_exponent_p: big_integer(k.exponent1.as_bytes()),
        prime_exponent_q: big_integer(k.exponent2.as_bytes()),
        crt_coefficient: big_integer(k.coefficient.as_bytes()),
    })
}

/// The curves of Transparent EC keys this server converts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
}

/// Runs `$body` with `$c` the curve crate of `$curve`.
macro_rules! with_curve {
    ($curve:expr, $c:ident => $body:expr) => {
        match $curve {
            Curve::P256 => {
                use p256 as $c;
                $body
            }
            Curve::P384 => {
                use p384 as $c;
                $body
            }
        }
    };
}

/// Transparent EC Private Key (curve, D) → PKCS#8.
pub(crate) fn ec_private_transparent_to_pkcs8(
    curve: Curve,
    d: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let d = magnitude(d, "D")?;
    with_curve!(curve, c => {
        let key = c::SecretKey::from_slice(d.as_bytes())
            .map_err(|_| invalid("Transparent EC Private Key"))?;
        let doc = key.to_pkcs8_der().map_err(|_| encoding_failed())?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    })
}

/// Transparent EC Public Key (curve, Q String, a SEC 1 point) → `SubjectPublicKeyInfo`.
pub(crate) fn ec_public_transparent_to_spki(
    curve: Curve,
    q: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    with_curve!(curve, c => {
        let key = c::PublicKey::from_sec1_bytes(q)
            .map_err(|_| invalid("Transparent EC Public Key"))?;
        let doc = key.to_public_key_der().map_err(|_| encoding_failed())?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    })
}

/// PKCS#8 of an EC key → (curve, D as a KMIP Big Integer).
pub(crate) fn ec_private_pkcs8_to_transparent(
    der: &[u8],
) -> Result<(Curve, Zeroizing<Vec<u8>>), CoreError> {
    if let Ok(k) = p256::SecretKey::from_pkcs8_der(der) {
        return Ok((Curve::P256, big_integer(&k.to_bytes())));
    }
    if let Ok(k) = p384::SecretKey::from_pkcs8_der(der) {
        return Ok((Curve::P384, big_integer(&k.to_bytes())));
    }
    Err(CoreError::KeyFormatTypeNotSupported(
        "Transparent EC Private Key for a key that is not on P-256 or P-384".into(),
    ))
}

/// `SubjectPublicKeyInfo` of an EC key → (curve, Q String, the uncompressed SEC 1 point).
pub(crate) fn ec_public_spki_to_transparent(der: &[u8]) -> Result<(Curve, Vec<u8>), CoreError> {
    if let Ok(k) = p256::PublicKey::from_public_key_der(der) {
        return Ok((Curve::P256, k.to_sec1_bytes().to_vec()));
    }
    if let Ok(k) = p384::PublicKey::from_public_key_der(der) {
        return Ok((Curve::P384, k.to_sec1_bytes().to_vec()));
    }
    Err(CoreError::KeyFormatTypeNotSupported(
        "Transparent EC Public Key for a key that is not on P-256 or P-384".into(),
    ))
}

/// Transparent DSA Private Key (P, Q, G, X) → PKCS#8, through kms-core's checks of DSA keys.
pub(crate) fn dsa_private_transparent_to_pkcs8(
    p: &[u8],
    q: &[u8],
    g: &[u8],
    x: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = kms_core::dsa::DsaPrivateKey::new(
        magnitude(p, "P")?.as_bytes(),
        magnitude(q, "Q")?.as_bytes(),
        magnitude(g, "G")?.as_bytes(),
        magnitude(x, "X")?.as_bytes(),
    )?;
    Ok(key.to_pkcs8_der()?)
}

/// Transparent DSA Public Key (P, Q, G, Y) → `SubjectPublicKeyInfo`.
pub(crate) fn dsa_public_transparent_to_spki(
    p: &[u8],
    q: &[u8],
    g: &[u8],
    y: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = kms_core::dsa::DsaPublicKey::new(
        magnitude(p, "P")?.as_bytes(),
        magnitude(q, "Q")?.as_bytes(),
        magnitude(g, "G")?.as_bytes(),
        magnitude(y, "Y")?.as_bytes(),
    )?;
    Ok(Zeroizing::new(key.to_spki_der()?))
}

/// P, Q, G and the key value (X or Y) of a DSA key, as KMIP Big Integers.
pub(crate) struct DsaComponents {
    pub(crate) p: Vec<u8>,
    pub(crate) q: Vec<u8>,
    pub(crate) g: Vec<u8>,
    pub(crate) value: Zeroizing<Vec<u8>>,
}

fn dsa_components(domain: &kms_core::dsa::DsaDomain, value: &[u8]) -> DsaComponents {
    DsaComponents {
        p: big_integer(domain.p()).to_vec(),
        q: big_integer(domain.q()).to_vec(),
        g: big_integer(domain.g()).to_vec(),
        value: big_integer(value),
    }
}

/// PKCS#8 of a DSA key → its Transparent DSA Private Key components (X the value).
pub(crate) fn dsa_private_pkcs8_to_transparent(der: &[u8]) -> Result<DsaComponents, CoreError> {
    let key = kms_core::dsa::DsaPrivateKey::from_pkcs8_der(der).map_err(|_| {
        CoreError::KeyFormatTypeNotSupported(
            "Transparent DSA Private Key for a key that is not DSA".into(),
        )
    })?;
    Ok(dsa_components(key.domain(), key.x()))
}

/// `SubjectPublicKeyInfo` of a DSA key → its Transparent DSA Public Key components (Y the value).
pub(crate) fn dsa_public_spki_to_transparent(der: &[u8]) -> Result<DsaComponents, CoreError> {
    let key = kms_core::dsa::DsaPublicKey::from_spki_der(der).map_err(|_| {
        CoreError::KeyFormatTypeNotSupported(
            "Transparent DSA Public Key for a key that is not DSA".into(),
        )
    })?;
    Ok(dsa_components(key.domain(), key.y()))
}
