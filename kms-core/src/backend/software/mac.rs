//! HMAC (RFC 2104) over the SHA family.

use hmac::{Hmac, KeyInit, Mac as _};

use super::SoftwareBackend;
use super::key_data::Kind;
use crate::backend::checks::verify_truncated_mac;
use crate::backend::{BackendError, HashingAlgorithm, KeyRef, Mac};

/// Runs `$body` with `$m` a keyed `Hmac<hash of $h>`.
macro_rules! with_hmac {
    ($h:expr, $key:expr, $m:ident => $body:expr) => {{
        macro_rules! arm {
            ($d:ty) => {{
                // HMAC takes keys of any length; an error here would mean a damaged reference.
                let mut $m =
                    Hmac::<$d>::new_from_slice($key).map_err(|_| BackendError::MalformedKeyRef)?;
                $body
            }};
        }
        match $h {
            HashingAlgorithm::Sha1 => arm!(sha1::Sha1),
            HashingAlgorithm::Sha224 => arm!(sha2::Sha224),
            HashingAlgorithm::Sha256 => arm!(sha2::Sha256),
            HashingAlgorithm::Sha384 => arm!(sha2::Sha384),
            HashingAlgorithm::Sha512 => arm!(sha2::Sha512),
        }
    }};
}

impl SoftwareBackend {
    /// The HMAC key of `key`, checked against `hash`; an AES key only when `cipher_key` (the caller chose
    /// [`Mac::mac_with_cipher_key`]).
    fn hmac_key(
        key: &KeyRef,
        hash: HashingAlgorithm,
        cipher_key: bool,
    ) -> Result<&[u8], BackendError> {
        let data = Self::decode(key)?;
        match data.kind {
            Kind::Aes if cipher_key => Ok(data.material),
            Kind::Hmac(h) if h == hash => Ok(data.material),
            Kind::Hmac(h) => Err(BackendError::InvalidInput(format!(
                "this key is an HMAC-{h:?} key, not HMAC-{hash:?}"
            ))),
            // A generic secret (Secret Data, an ECDH result) is an HMAC key for any hash, as PKCS#11's
            // CKK_GENERIC_SECRET is.
            Kind::Secret => Ok(data.material),
            other => Err(BackendError::InvalidInput(format!(
                "a {other:?} key cannot be used for HMAC"
            ))),
        }
    }
}

impl SoftwareBackend {
    fn hmac(
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
        cipher_key: bool,
    ) -> Result<Vec<u8>, BackendError> {
        let k = Self::hmac_key(key, hash, cipher_key)?;
        with_hmac!(hash, k, m => {
            m.update(data);
            Ok(m.finalize().into_bytes().to_vec())
        })
    }

    fn hmac_verify(
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
        mac: &[u8],
        cipher_key: bool,
    ) -> Result<(), BackendError> {
        let full = Self::hmac(key, hash, data, cipher_key)?;
        verify_truncated_mac(&full, mac)
    }
}

impl Mac for SoftwareBackend {
    fn mac(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        Self::hmac(key, hash, data, false)
    }

    fn mac_verify(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
        mac: &[u8],
    ) -> Result<(), BackendError> {
        Self::hmac_verify(key, hash, data, mac, false)
    }

    fn mac_with_cipher_key(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        Self::hmac(key, hash, data, true)
    }

    fn mac_verify_with_cipher_key(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
        mac: &[u8],
    ) -> Result<(), BackendError> {
        Self::hmac_verify(key, hash, data, mac, true)
    }
}
