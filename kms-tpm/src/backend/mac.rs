//! HMAC by TPM2_HMAC with an HMAC key object.

use kms_core::backend::checks::verify_truncated_mac;
use kms_core::backend::{BackendError, HashingAlgorithm, KeyRef, Mac};
use tss_esapi::interface_types::algorithm::HashingAlgorithm as TpmHash;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{KeyedHashScheme, MaxBuffer, Public, PublicKeyedHashParameters};

use super::{TpmBackend, digest_len};
use crate::blob::Kind;
use crate::error::TpmError;

/// TPM2_HMAC takes one TPM2B_MAX_BUFFER (1024 bytes); tss-esapi 7 has no HMAC sequence commands for more.
pub const MAX_HMAC_DATA: usize = 1024;

fn key_hash(public: &Public) -> Option<TpmHash> {
    match public {
        Public::KeyedHash { parameters, .. } => match *parameters {
            p if p
                == PublicKeyedHashParameters::new(KeyedHashScheme::Hmac {
                    hmac_scheme: tss_esapi::structures::HmacScheme::new(TpmHash::Sha256),
                }) =>
            {
                Some(TpmHash::Sha256)
            }
            p if p
                == PublicKeyedHashParameters::new(KeyedHashScheme::Hmac {
                    hmac_scheme: tss_esapi::structures::HmacScheme::new(TpmHash::Sha384),
                }) =>
            {
                Some(TpmHash::Sha384)
            }
            _ => None,
        },
        _ => None,
    }
}

impl TpmBackend {
    fn hmac(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        let blob = Self::blob(key)?;
        if blob.kind != Kind::Hmac {
            return Err(BackendError::InvalidInput(format!(
                "a {:?} key cannot be used for HMAC",
                blob.kind
            )));
        }
        let key_hash = key_hash(&blob.public).ok_or(BackendError::MalformedKeyRef)?;
        let wanted = match hash {
            HashingAlgorithm::Sha256 => TpmHash::Sha256,
            HashingAlgorithm::Sha384 => TpmHash::Sha384,
            other => {
                return Err(BackendError::InvalidInput(format!(
                    "this key is an HMAC-{key_hash:?} key, not HMAC-{other:?}"
                )));
            }
        };
        if wanted != key_hash {
            return Err(BackendError::InvalidInput(format!(
                "this key is an HMAC-{key_hash:?} key, not HMAC-{hash:?}"
            )));
        }
        if data.len() > MAX_HMAC_DATA {
            return Err(BackendError::InvalidInput(format!(
                "TPM2_HMAC takes at most {MAX_HMAC_DATA} bytes, got {}",
                data.len()
            )));
        }
        let buffer = MaxBuffer::try_from(data.to_vec())
            .map_err(|_| BackendError::InvalidInput("data too long for TPM2_HMAC".into()))?;
        let mac = self.tpm.with(|inner| {
            inner.with_loaded(&blob, |ctx, handle| {
                ctx.execute_with_session(Some(AuthSession::Password), |c| {
                    c.hmac(handle.into(), buffer, key_hash)
                })
                .map_err(TpmError::tss("HMAC"))
            })
        })?;
        if mac.len() != digest_len(key_hash) {
            return Err(TpmError::Tss {
                command: "HMAC",
                source: tss_esapi::Error::WrapperError(
                    tss_esapi::WrapperErrorKind::WrongValueFromTpm,
                ),
            }
            .into());
        }
        Ok(mac.value().to_vec())
    }
}

impl Mac for TpmBackend {
    fn mac(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        self.hmac(key, hash, data)
    }

    fn mac_verify(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
        mac: &[u8],
    ) -> Result<(), BackendError> {
        let full = self.hmac(key, hash, data)?;
        verify_truncated_mac(&full, mac)
    }
}
