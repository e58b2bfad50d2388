//! The data of a [`KeyRef`] this backend issues: what kind of key, whether it is extractable, and its CKA_ID.
//!
//! Encoding version 1: `kind u8 || flags u8 || CKA_ID (16 bytes)`. No key material: the key stays in the token,
//! and the reference only names the object (by CKA_ID and class, since handles are per process).

use cryptoki::object::{KeyType, ObjectClass};
use kms_core::KeyRef;
use kms_core::backend::{BackendError, HashingAlgorithm};
use kms_core::object::RecommendedCurve;
use zeroize::Zeroizing;

/// The encoding version this backend writes and reads.
pub(crate) const VERSION: u16 = 1;
/// Length of the random CKA_ID given to every object this backend creates.
pub(crate) const ID_LEN: usize = 16;
const EXTRACTABLE: u8 = 0x01;

/// What a referenced token object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// CKK_AES secret key, length in bytes.
    Aes(u8),
    /// CKK_GENERIC_SECRET used as an HMAC key with this hash.
    Hmac(HashingAlgorithm),
    RsaPrivate,
    RsaPublic,
    EcPrivate(RecommendedCurve),
    EcPublic(RecommendedCurve),
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::Aes(16) => 1,
            Kind::Aes(24) => 2,
            Kind::Aes(_) => 3,
            Kind::Hmac(HashingAlgorithm::Sha1) => 10,
            Kind::Hmac(HashingAlgorithm::Sha224) => 11,
            Kind::Hmac(HashingAlgorithm::Sha256) => 12,
            Kind::Hmac(HashingAlgorithm::Sha384) => 13,
            Kind::Hmac(HashingAlgorithm::Sha512) => 14,
            Kind::RsaPrivate => 20,
            Kind::RsaPublic => 21,
            Kind::EcPrivate(RecommendedCurve::P256) => 30,
            Kind::EcPublic(RecommendedCurve::P256) => 31,
            Kind::EcPrivate(RecommendedCurve::P384) => 32,
            Kind::EcPublic(RecommendedCurve::P384) => 33,
            Kind::EcPrivate(RecommendedCurve::P521) => 34,
            Kind::EcPublic(RecommendedCurve::P521) => 35,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            1 => Kind::Aes(16),
            2 => Kind::Aes(24),
            3 => Kind::Aes(32),
            10 => Kind::Hmac(HashingAlgorithm::Sha1),
            11 => Kind::Hmac(HashingAlgorithm::Sha224),
            12 => Kind::Hmac(HashingAlgorithm::Sha256),
            13 => Kind::Hmac(HashingAlgorithm::Sha384),
            14 => Kind::Hmac(HashingAlgorithm::Sha512),
            20 => Kind::RsaPrivate,
            21 => Kind::RsaPublic,
            30 => Kind::EcPrivate(RecommendedCurve::P256),
            31 => Kind::EcPublic(RecommendedCurve::P256),
            32 => Kind::EcPrivate(RecommendedCurve::P384),
            33 => Kind::EcPublic(RecommendedCurve::P384),
            34 => Kind::EcPrivate(RecommendedCurve::P521),
            35 => Kind::EcPublic(RecommendedCurve::P521),
            _ => return None,
        })
    }

    pub(crate) fn class(self) -> ObjectClass {
        match self {
            Kind::Aes(_) | Kind::Hmac(_) => ObjectClass::SECRET_KEY,
            Kind::RsaPrivate | Kind::EcPrivate(_) => ObjectClass::PRIVATE_KEY,
            Kind::RsaPublic | Kind::EcPublic(_) => ObjectClass::PUBLIC_KEY,
        }
    }

    pub(crate) fn key_type(self) -> KeyType {
        match self {
            Kind::Aes(_) => KeyType::AES,
            Kind::Hmac(_) => KeyType::GENERIC_SECRET,
            Kind::RsaPrivate | Kind::RsaPublic => KeyType::RSA,
            Kind::EcPrivate(_) | Kind::EcPublic(_) => KeyType::EC,
        }
    }

    pub(crate) fn is_secret(self) -> bool {
        !matches!(self, Kind::RsaPublic | Kind::EcPublic(_))
    }
}

/// A decoded reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    pub(crate) kind: Kind,
    pub(crate) extractable: bool,
    pub(crate) id: [u8; ID_LEN],
}

impl TokenKey {
    pub(crate) fn encode(&self, backend: &str) -> KeyRef {
        let mut data = Zeroizing::new(Vec::with_capacity(2 + ID_LEN));
        data.push(self.kind.code());
        data.push(if self.extractable { EXTRACTABLE } else { 0 });
        data.extend_from_slice(&self.id);
        KeyRef::new(backend, VERSION, data)
    }

    pub(crate) fn decode(key: &KeyRef, backend: &str) -> Result<Self, BackendError> {
        let data = key.expect(backend, VERSION)?;
        let [code, flags, id @ ..] = data else {
            return Err(BackendError::MalformedKeyRef);
        };
        let kind = Kind::from_code(*code).ok_or(BackendError::MalformedKeyRef)?;
        let id: [u8; ID_LEN] = id.try_into().map_err(|_| BackendError::MalformedKeyRef)?;
        if flags & !EXTRACTABLE != 0 {
            return Err(BackendError::MalformedKeyRef);
        }
        Ok(Self {
            kind,
            extractable: flags & EXTRACTABLE != 0,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let k = TokenKey {
            kind: Kind::EcPrivate(RecommendedCurve::P256),
            extractable: true,
            id: [7; ID_LEN],
        };
        let r = k.encode("pkcs11");
        assert_eq!(TokenKey::decode(&r, "pkcs11").unwrap(), k);
        assert!(matches!(
            TokenKey::decode(&r, "software"),
            Err(BackendError::ForeignKeyRef)
        ));
        for cut in 0..r.data().len() {
            let short = KeyRef::new("pkcs11", VERSION, Zeroizing::new(r.data()[..cut].to_vec()));
            assert!(TokenKey::decode(&short, "pkcs11").is_err(), "cut {cut}");
        }
        let mut bad = r.data().to_vec();
        bad[0] = 99;
        let bad = KeyRef::new("pkcs11", VERSION, Zeroizing::new(bad));
        assert!(matches!(
            TokenKey::decode(&bad, "pkcs11"),
            Err(BackendError::MalformedKeyRef)
        ));
    }
}
