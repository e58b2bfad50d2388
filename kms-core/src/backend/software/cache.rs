//! Parsed private and public keys, so that a signature does not pay for DER parsing (and, for EC keys, a scalar
//! multiplication to recompute the public point) every time.
//!
//! Entries are found by a salted SHA-256 of the reference data (salted per backend instance, so the cache's keys
//! are not fingerprints of key material). The parsed keys zeroize themselves on drop (`rsa::PrivateKey` and
//! `ecdsa::SigningKey` implement `ZeroizeOnDrop`); an evicted key is dropped as soon as the last operation using
//! it returns.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use sha2::{Digest as _, Sha256};

use super::key_data::{KeyData, Kind};
use crate::backend::BackendError;
use crate::object::RecommendedCurve;

/// A private or public key, parsed.
pub(crate) enum Parsed {
    RsaPrivate(rsa::PrivateKey),
    RsaPublic(rsa::PublicKey),
    P256Private(p256::ecdsa::SigningKey),
    P384Private(p384::ecdsa::SigningKey),
    P256Public(p256::ecdsa::VerifyingKey),
    P384Public(p384::ecdsa::VerifyingKey),
}

impl Parsed {
    /// Parses the material of `data` (which must be a private or public key kind).
    pub(crate) fn parse(data: &KeyData<'_>) -> Result<Self, BackendError> {
        use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
        let m = data.material;
        let parsed = match data.kind {
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
            _ => None,
        };
        // The material was validated on import or generation; failing now means the record is damaged.
        parsed.ok_or(BackendError::MalformedKeyRef)
    }
}

struct Entry {
    key: Arc<Parsed>,
    last_used: u64,
}

struct Inner {
    map: HashMap<[u8; 32], Entry>,
    clock: u64,
}

/// A bounded, least-recently-used cache of [`Parsed`] keys.
pub(crate) struct KeyCache {
    salt: [u8; 32],
    capacity: usize,
    inner: Mutex<Inner>,
}

impl KeyCache {
    pub(crate) fn new(capacity: usize, salt: [u8; 32]) -> Self {
        Self {
            salt,
            capacity,
            inner: Mutex::new(Inner {
                map: HashMap::with_capacity(capacity.min(1024)),
                clock: 0,
            }),
        }
    }

    fn fingerprint(&self, ref_data: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(ref_data);
        h.finalize().into()
    }

    /// The parsed key of `data`, whose reference bytes are `ref_data`.
    pub(crate) fn get(
        &self,
        ref_data: &[u8],
        data: &KeyData<'_>,
    ) -> Result<Arc<Parsed>, BackendError> {
        if self.capacity == 0 {
            return Parsed::parse(data).map(Arc::new);
        }
        let fp = self.fingerprint(ref_data);
        {
            let mut inner = self.inner.lock();
            inner.clock += 1;
            let now = inner.clock;
            if let Some(e) = inner.map.get_mut(&fp) {
                e.last_used = now;
                return Ok(Arc::clone(&e.key));
            }
        }
        // Parse outside the lock: an RSA key takes long enough that other keys' operations should not wait.
        let key = Arc::new(Parsed::parse(data)?);
        let mut inner = self.inner.lock();
        inner.clock += 1;
        let now = inner.clock;
        if !inner.map.contains_key(&fp) && inner.map.len() >= self.capacity {
            // Capacity is small (hundreds), and eviction happens only on a miss, so a scan is cheap enough.
            if let Some(oldest) = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| *k)
            {
                inner.map.remove(&oldest);
            }
        }
        let entry = inner.map.entry(fp).or_insert(Entry {
            key,
            last_used: now,
        });
        entry.last_used = now;
        Ok(Arc::clone(&entry.key))
    }

    /// Forgets the parsed form of a reference (on destroy).
    pub(crate) fn remove(&self, ref_data: &[u8]) {
        let fp = self.fingerprint(ref_data);
        self.inner.lock().map.remove(&fp);
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.lock().map.len()
    }
}
