//! Parsed private and public keys, so that a signature does not pay for DER parsing (and, for EC keys, a scalar
//! multiplication to recompute the public point) every time; and AES-GCM instances, so that a small message does
//! not pay for the key schedule and the GHASH key (about as long as encrypting 64 bytes).
//!
//! Entries are found by the reference data itself, in a zeroizing buffer: hashing it with the map's keyed SipHash
//! costs less than a cryptographic digest would (an AES reference is 35 bytes and its whole operation on a short
//! message takes a few hundred nanoseconds), and the parsed forms next to it are as secret anyway. The parsed keys
//! zeroize themselves on drop (`rsa::PrivateKey`, `ecdsa::SigningKey`, `dsa::SigningKey`, and `AesGcm` with the
//! `zeroize` feature); an evicted key is dropped as soon as the last operation using it returns.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use parking_lot::Mutex;
use zeroize::Zeroizing;

use super::dsa_key;
use super::key_data::{KeyData, Kind};
use crate::backend::BackendError;
use crate::object::RecommendedCurve;

/// AES-GCM with a 96-bit IV and the full 128-bit tag: the expanded AES key schedule and GHASH key.
pub(crate) type Aes192Gcm = aes_gcm::AesGcm<aes_gcm::aes::Aes192, aes_gcm::aead::consts::U12>;

/// A key in the form its operations use: parsed from DER, or (AES) with its key schedule expanded.
pub(crate) enum Parsed {
    Aes128Gcm(aes_gcm::Aes128Gcm),
    Aes192Gcm(Aes192Gcm),
    Aes256Gcm(aes_gcm::Aes256Gcm),
    RsaPrivate(rsa::PrivateKey),
    RsaPublic(rsa::PublicKey),
    P256Private(p256::ecdsa::SigningKey),
    P384Private(p384::ecdsa::SigningKey),
    P256Public(p256::ecdsa::VerifyingKey),
    P384Public(p384::ecdsa::VerifyingKey),
    DsaPrivate(dsa::SigningKey),
    DsaPublic(dsa::VerifyingKey),
}

impl Parsed {
    /// Parses the material of `data` (which must be a private or public key kind).
    pub(crate) fn parse(data: &KeyData<'_>) -> Result<Self, BackendError> {
        use aes_gcm::KeyInit;
        use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
        let m = data.material;
        let parsed = match data.kind {
            Kind::Aes => match m.len() {
                16 => aes_gcm::Aes128Gcm::new_from_slice(m)
                    .ok()
                    .map(Parsed::Aes128Gcm),
                24 => Aes192Gcm::new_from_slice(m).ok().map(Parsed::Aes192Gcm),
                _ => aes_gcm::Aes256Gcm::new_from_slice(m)
                    .ok()
                    .map(Parsed::Aes256Gcm),
            },
            Kind::RsaPrivate => rsa::PrivateKey::from_pkcs8_der(m)
                .ok()
                .map(Parsed::RsaPrivate),
            Kind::RsaPublic => rsa::PublicKey::from_public_key_der(m)
                .ok()
                .map(Parsed::RsaPublic),
            Kind::EcPrivate(RecommendedCurve::P256) => p256::ecdsa::SigningKey::from_pkcs8_der(m)
                .ok()
                .map(Parsed::P256Private),
            Kind::EcPrivate(RecommendedCurve::P384) => p384::ecdsa::SigningKey::from_pkcs8_der(m)
                .ok()
                .map(Parsed::P384Private),
            Kind::EcPublic(RecommendedCurve::P256) => {
                p256::ecdsa::VerifyingKey::from_public_key_der(m)
                    .ok()
                    .map(Parsed::P256Public)
            }
            Kind::EcPublic(RecommendedCurve::P384) => {
                p384::ecdsa::VerifyingKey::from_public_key_der(m)
                    .ok()
                    .map(Parsed::P384Public)
            }
            // Sizes the `dsa` crate does not compute with, and keys it finds inconsistent, are their own errors.
            Kind::DsaPrivate => return dsa_key::signing_key(m).map(Parsed::DsaPrivate),
            Kind::DsaPublic => return dsa_key::verifying_key(m).map(Parsed::DsaPublic),
            _ => None,
        };
        // The material was validated on import or generation; failing now means the record is damaged.
        parsed.ok_or_else(|| BackendError::MalformedKeyRef)
    }
}

struct Entry {
    key: Arc<Parsed>,
    last_used: u64,
}

/// A copy of a reference's data, looked up by `&[u8]`.
struct RefData(Zeroizing<Vec<u8>>);

impl Borrow<[u8]> for RefData {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

// Hash and equality are the slice's, as `Borrow<[u8]>` requires.
impl Hash for RefData {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_slice().hash(state);
    }
}

impl PartialEq for RefData {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_slice() == other.0.as_slice()
    }
}

impl Eq for RefData {}

struct Inner {
    map: HashMap<RefData, Entry>,
    clock: u64,
}

/// A bounded, least-recently-used cache of [`Parsed`] keys.
pub(crate) struct KeyCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl KeyCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner {
                map: HashMap::with_capacity(capacity.min(1024)),
                clock: 0,
            }),
        }
    }

    /// The parsed key of `data` (a private, public or AES key), whose reference bytes are `ref_data`.
    pub(crate) fn get(
        &self,
        ref_data: &[u8],
        data: &KeyData<'_>,
    ) -> Result<Arc<Parsed>, BackendError> {
        if self.capacity == 0 {
            return Parsed::parse(data).map(Arc::new);
        }
        {
            let mut inner = self.inner.lock();
            inner.clock += 1;
            let now = inner.clock;
            if let Some(e) = inner.map.get_mut(ref_data) {
                e.last_used = now;
                return Ok(Arc::clone(&e.key));
            }
        }
        // Parse outside the lock: an RSA key takes long enough that other keys' operations should not wait.
        let key = Arc::new(Parsed::parse(data)?);
        let mut inner = self.inner.lock();
        inner.clock += 1;
        let now = inner.clock;
        if !inner.map.contains_key(ref_data) && inner.map.len() >= self.capacity {
            // Capacity is small (hundreds), and eviction happens only on a miss, so a scan is cheap enough.
            if let Some(oldest) = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| Zeroizing::new(k.0.to_vec()))
            {
                inner.map.remove(oldest.as_slice());
            }
        }
        if let Some(e) = inner.map.get_mut(ref_data) {
            // Another thread parsed it meanwhile: keep one copy.
            e.last_used = now;
            return Ok(Arc::clone(&e.key));
        }
        inner.map.insert(
            RefData(Zeroizing::new(ref_data.to_vec())),
            Entry {
                key: Arc::clone(&key),
                last_used: now,
            },
        );
        Ok(key)
    }

    /// Forgets the parsed form of a reference (on destroy).
    pub(crate) fn remove(&self, ref_data: &[u8]) {
        self.inner.lock().map.remove(ref_data);
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.lock().map.len()
    }
}
