//! The software backend's [`KeyRef`] data: the key material itself, in a small versioned encoding.
//!
//! The object store seals every `KeyRef` at rest (AES-256-GCM under the root key), so the backend does not seal
//! again. Encoding version 1:
//!
//! ```text
//! kind u8 || param u8 || flags u8 || material
//! ```
//!
//! `param` is the HMAC hash or the curve (0 otherwise); `flags` bit 0 is "extractable", the other bits must be
//! zero. `material` is raw bytes for secret keys, PKCS#8 DER for private keys, SubjectPublicKeyInfo DER for public
//! keys and the certificate DER.

use std::fmt;

use zeroize::Zeroizing;

use crate::backend::{BackendError, HashingAlgorithm, KeyRef};
use crate::object::RecommendedCurve;

/// The id written into every reference this backend issues.
pub(crate) const BACKEND_ID: &str = "software";
/// The encoding version this code writes (and the newest it reads).
pub(crate) const VERSION: u16 = 1;

const FLAG_EXTRACTABLE: u8 = 0x01;
const HEADER_LEN: usize = 3;

/// What a reference holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An AES key (16, 24 or 32 raw bytes).
    Aes,
    /// An HMAC key bound to one hash.
    Hmac(HashingAlgorithm),
    /// A ChaCha20 or ChaCha20-Poly1305 key (32 raw bytes).
    ChaCha20,
    /// A generic secret: KMIP Secret Data, or the output of ECDH (PKCS#11's CKK_GENERIC_SECRET).
    Secret,
    /// A KMIP Opaque Object: stored and returned, never used.
    Opaque,
    /// An RSA private key (PKCS#8 DER).
    RsaPrivate,
    /// An RSA public key (SubjectPublicKeyInfo DER).
    RsaPublic,
    /// An EC private key (PKCS#8 DER).
    EcPrivate(RecommendedCurve),
    /// An EC public key (SubjectPublicKeyInfo DER).
    EcPublic(RecommendedCurve),
    /// An X.509 certificate (DER), stored as registered.
    Certificate,
    /// A DSA private key (PKCS#8 DER).
    DsaPrivate,
    /// A DSA public key (SubjectPublicKeyInfo DER).
    DsaPublic,
}

/// The kind as error messages name it: `an EC P-256 private key`.
impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Aes => f.write_str("an AES key"),
            Kind::Hmac(h) => write!(f, "an HMAC-{h} key"),
            Kind::ChaCha20 => f.write_str("a ChaCha20 key"),
            Kind::Secret => f.write_str("a generic secret"),
            Kind::Opaque => f.write_str("an opaque object"),
            Kind::RsaPrivate => f.write_str("an RSA private key"),
            Kind::RsaPublic => f.write_str("an RSA public key"),
            Kind::EcPrivate(c) => write!(f, "an EC {c} private key"),
            Kind::EcPublic(c) => write!(f, "an EC {c} public key"),
            Kind::Certificate => f.write_str("a certificate"),
            Kind::DsaPrivate => f.write_str("a DSA private key"),
            Kind::DsaPublic => f.write_str("a DSA public key"),
        }
    }
}

impl Kind {
    /// The error for a key of this kind given to an operation (`what`) that takes other kinds.
    pub(crate) fn cannot_be_used_for(self, what: &str) -> BackendError {
        BackendError::InvalidInput(format!("{self} cannot be used for {what}"))
    }

    fn encode(self) -> (u8, u8) {
        match self {
            Kind::Aes => (1, 0),
            Kind::Hmac(h) => (2, hash_code(h)),
            Kind::Secret => (3, 0),
            Kind::Opaque => (4, 0),
            Kind::RsaPrivate => (5, 0),
            Kind::RsaPublic => (6, 0),
            Kind::EcPrivate(c) => (7, curve_code(c)),
            Kind::EcPublic(c) => (8, curve_code(c)),
            Kind::Certificate => (9, 0),
            Kind::ChaCha20 => (10, 0),
            Kind::DsaPrivate => (11, 0),
            Kind::DsaPublic => (12, 0),
        }
    }

    fn decode(kind: u8, param: u8) -> Option<Self> {
        Some(match (kind, param) {
            (1, 0) => Kind::Aes,
            (2, h) => Kind::Hmac(hash_from_code(h)?),
            (3, 0) => Kind::Secret,
            (4, 0) => Kind::Opaque,
            (5, 0) => Kind::RsaPrivate,
            (6, 0) => Kind::RsaPublic,
            (7, c) => Kind::EcPrivate(curve_from_code(c)?),
            (8, c) => Kind::EcPublic(curve_from_code(c)?),
            (9, 0) => Kind::Certificate,
            (10, 0) => Kind::ChaCha20,
            (11, 0) => Kind::DsaPrivate,
            (12, 0) => Kind::DsaPublic,
            _ => return None,
        })
    }

    /// Whether the material is secret (and so subject to the extractable flag).
    pub(crate) fn is_secret(self) -> bool {
        !matches!(
            self,
            Kind::RsaPublic | Kind::EcPublic(_) | Kind::DsaPublic | Kind::Certificate
        )
    }
}

fn hash_code(h: HashingAlgorithm) -> u8 {
    match h {
        HashingAlgorithm::Sha1 => 1,
        HashingAlgorithm::Sha224 => 2,
        HashingAlgorithm::Sha256 => 3,
        HashingAlgorithm::Sha384 => 4,
        HashingAlgorithm::Sha512 => 5,
    }
}

fn hash_from_code(c: u8) -> Option<HashingAlgorithm> {
    Some(match c {
        1 => HashingAlgorithm::Sha1,
        2 => HashingAlgorithm::Sha224,
        3 => HashingAlgorithm::Sha256,
        4 => HashingAlgorithm::Sha384,
        5 => HashingAlgorithm::Sha512,
        _ => return None,
    })
}

fn curve_code(c: RecommendedCurve) -> u8 {
    match c {
        RecommendedCurve::P256 => 1,
        RecommendedCurve::P384 => 2,
        RecommendedCurve::P521 => 3,
    }
}

fn curve_from_code(c: u8) -> Option<RecommendedCurve> {
    match c {
        1 => Some(RecommendedCurve::P256),
        2 => Some(RecommendedCurve::P384),
        // P-521 has a code so that the encoding need not change when it is added, but no key of it is issued.
        _ => None,
    }
}

/// The data of `key`, if this backend issued it in an encoding it reads (versions 1 to [`VERSION`]).
pub(crate) fn issued_here(key: &KeyRef) -> Result<&[u8], BackendError> {
    let data = key.expect(BACKEND_ID, VERSION)?;
    if key.version() == 0 {
        return Err(BackendError::ForeignKeyRef);
    }
    Ok(data)
}

/// A decoded reference, borrowing the material from the [`KeyRef`].
#[derive(Clone, Copy)]
pub(crate) struct KeyData<'a> {
    pub(crate) kind: Kind,
    pub(crate) extractable: bool,
    pub(crate) material: &'a [u8],
}

impl<'a> KeyData<'a> {
    /// Decodes `key`, checking that this backend issued it.
    ///
    /// Symmetric key lengths are checked here, so that every operation can rely on them; private and public keys
    /// are parsed (once, then cached) by the operations that use them.
    pub(crate) fn decode(key: &'a KeyRef) -> Result<Self, BackendError> {
        let data = issued_here(key)?;
        let [kind, param, flags, material @ ..] = data else {
            return Err(BackendError::MalformedKeyRef);
        };
        let kind = Kind::decode(*kind, *param).ok_or_else(|| BackendError::MalformedKeyRef)?;
        if flags & !FLAG_EXTRACTABLE != 0 {
            return Err(BackendError::MalformedKeyRef);
        }
        let ok = match kind {
            Kind::Aes => matches!(material.len(), 16 | 24 | 32),
            Kind::Hmac(_) | Kind::Secret => !material.is_empty(),
            _ => true,
        };
        if !ok {
            return Err(BackendError::MalformedKeyRef);
        }
        Ok(Self {
            kind,
            extractable: flags & FLAG_EXTRACTABLE != 0,
            material,
        })
    }
}

/// Issues a reference holding `material` (public material is always extractable).
pub(crate) fn encode(kind: Kind, extractable: bool, material: &[u8]) -> KeyRef {
    let (k, p) = kind.encode();
    let extractable = extractable || !kind.is_secret();
    let mut data = Zeroizing::new(Vec::with_capacity(HEADER_LEN + material.len()));
    data.extend_from_slice(&[k, p, if extractable { FLAG_EXTRACTABLE } else { 0 }]);
    data.extend_from_slice(material);
    KeyRef::new(BACKEND_ID, VERSION, data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        let kinds = [
            Kind::Aes,
            Kind::Hmac(HashingAlgorithm::Sha384),
            Kind::Secret,
            Kind::Opaque,
            Kind::RsaPrivate,
            Kind::RsaPublic,
            Kind::EcPrivate(RecommendedCurve::P384),
            Kind::EcPublic(RecommendedCurve::P256),
            Kind::Certificate,
            Kind::DsaPrivate,
            Kind::DsaPublic,
        ];
        for kind in kinds {
            let r = encode(kind, false, &[7; 16]);
            let d = KeyData::decode(&r).unwrap();
            assert_eq!(d.kind, kind);
            assert_eq!(d.extractable, !kind.is_secret());
            assert_eq!(d.material, &[7; 16]);
        }
    }

    #[test]
    fn rejects_bad_headers() {
        for data in [
            &[][..],
            &[1, 0][..],
            &[1, 0, 0, 1, 2, 3][..], // AES key of 3 bytes
            &[1, 1, 0][..],          // AES with a parameter
            &[2, 9, 0, 1][..],       // unknown hash
            &[7, 3, 0][..],          // P-521
            &[1, 0, 2][..],          // unknown flag
            &[42, 0, 0][..],
        ] {
            let r = KeyRef::new(BACKEND_ID, VERSION, Zeroizing::new(data.to_vec()));
            assert!(
                matches!(KeyData::decode(&r), Err(BackendError::MalformedKeyRef)),
                "{data:?}"
            );
        }
        let newer = KeyRef::new(BACKEND_ID, VERSION + 1, Zeroizing::new(vec![3, 0, 0, 1]));
        assert!(matches!(
            KeyData::decode(&newer),
            Err(BackendError::ForeignKeyRef)
        ));
    }
}
