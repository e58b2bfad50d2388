//! HMAC (CKM_SHA*_HMAC) with generic-secret keys in the token.

use kms_core::KeyRef;
use kms_core::backend::checks::verify_truncated_mac;
use kms_core::backend::{BackendError, HashingAlgorithm, Mac};

use crate::Pkcs11Backend;
use crate::key_ref::Kind;
use cryptoki::mechanism::Mechanism;

fn hmac(h: HashingAlgorithm) -> Mechanism<'static> {
    match h {
        HashingAlgorithm::Sha1 => Mechanism::Sha1Hmac,
        HashingAlgorithm::Sha224 => Mechanism::Sha224Hmac,
        HashingAlgorithm::Sha256 => Mechanism::Sha256Hmac,
        HashingAlgorithm::Sha384 => Mechanism::Sha384Hmac,
        HashingAlgorithm::Sha512 => Mechanism::Sha512Hmac,
    }
}

impl Pkcs11Backend {
    fn hmac_checked(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        let k = self.decode(key)?;
        match k.kind {
            Kind::Hmac(h) if h == hash => {}
            Kind::Hmac(h) => {
                return Err(BackendError::InvalidInput(format!(
                    "this key is an HMAC-{h:?} key, not HMAC-{hash:?}"
                )));
            }
            other => {
                return Err(BackendError::InvalidInput(format!(
                    "a {other:?} key cannot be used for HMAC"
                )));
            }
        }
        let mechanism = hmac(hash);
        self.use_key("HMAC", &k, |s, h| s.sign(&mechanism, h, data))
    }
}

impl Mac for Pkcs11Backend {
    fn mac(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        self.hmac_checked(key, hash, data)
    }

    fn mac_verify(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
        mac: &[u8],
    ) -> Result<(), BackendError> {
        let full = self.hmac_checked(key, hash, data)?;
        // Truncated MACs (RFC 2104 §5) are compared on their length, in constant time; C_Verify would want the
        // full length. A value of the wrong length fails as a wrong value does: this backend answers every failed
        // check opaquely, as its decryptions do.
        verify_truncated_mac(&full, mac).map_err(|_| BackendError::Crypto)
    }
}
