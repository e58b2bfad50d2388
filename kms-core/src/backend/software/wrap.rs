//! Key wrapping: AES Key Wrap (RFC 3394), AES Key Wrap with Padding (RFC 5649), both NIST SP 800-38F, and
//! RSA-OAEP (RFC 8017 §7.1, MGF1 over the same hash, no label).

use aes_kw::{KwAes128, KwAes192, KwAes256, KwpAes128, KwpAes192, KwpAes256};
use zeroize::Zeroizing;

use super::SoftwareBackend;
use super::cache::Parsed;
use super::cipher::{oaep_decrypt, oaep_encrypt};
use super::formats;
use super::key_data::{self, KeyData, Kind};
use crate::backend::{BackendError, KeyPolicy, KeyRef, KeyWrap, WrapAlgorithm};
use crate::material::{KeyFormat, KeyMaterial};
use crate::object::{CryptographicAlgorithm, ObjectType};

/// The semiblock of AES-KW (64 bits).
const SEMIBLOCK: usize = aes_kw::IV_LEN;
/// Longest key accepted for wrapping with KWP: far above any key this backend holds (an RSA-4096 PKCS#8 is
/// about 2.4 KB), small enough to keep buffers bounded.
const MAX_WRAPPED: usize = 16 * 1024;

/// Runs `$body` with `$kw` the AES-KW (or KWP, per `$kwp`) instance of the AES key `$key`.
macro_rules! with_kw {
    ($key:expr, $t128:ty, $t192:ty, $t256:ty, $kw:ident => $body:expr) => {{
        use aes_kw::KeyInit as _;
        let bad = |_| BackendError::MalformedKeyRef;
        match $key.len() {
            16 => {
                let $kw = <$t128>::new_from_slice($key).map_err(bad)?;
                $body
            }
            24 => {
                let $kw = <$t192>::new_from_slice($key).map_err(bad)?;
                $body
            }
            _ => {
                let $kw = <$t256>::new_from_slice($key).map_err(bad)?;
                $body
            }
        }
    }};
}

fn size_error(e: aes_kw::Error) -> BackendError {
    match e {
        aes_kw::Error::IntegrityCheckFailed => BackendError::Crypto,
        _ => BackendError::InvalidInput("wrapped key has an invalid length".into()),
    }
}

/// The bytes wrapping carries: the canonical form of the target, which must be secret and extractable.
fn wrappable<'a>(target: &KeyData<'a>) -> Result<&'a [u8], BackendError> {
    match target.kind {
        Kind::Aes
        | Kind::ChaCha20
        | Kind::Hmac(_)
        | Kind::Secret
        | Kind::RsaPrivate
        | Kind::EcPrivate(_) => {}
        other => {
            return Err(BackendError::InvalidInput(format!(
                "a {other:?} object is not a secret key to wrap"
            )));
        }
    }
    if !target.extractable {
        return Err(BackendError::NotExtractable);
    }
    Ok(target.material)
}

fn aes_key<'a>(data: &KeyData<'a>, what: &str) -> Result<&'a [u8], BackendError> {
    if data.kind == Kind::Aes {
        Ok(data.material)
    } else {
        Err(data.kind.cannot_be_used_for(what))
    }
}

impl KeyWrap for SoftwareBackend {
    fn wrap(
        &self,
        wrapping_key: &KeyRef,
        algorithm: WrapAlgorithm,
        target: &KeyRef,
    ) -> Result<Vec<u8>, BackendError> {
        let wk = Self::decode(wrapping_key)?;
        let target = Self::decode(target)?;
        let plain = wrappable(&target)?;
        match algorithm {
            WrapAlgorithm::AesKeyWrap => {
                let k = aes_key(&wk, "AES key wrap")?;
                // RFC 3394 §2: at least two semiblocks, whole semiblocks only.
                if plain.len() < 2 * SEMIBLOCK || !plain.len().is_multiple_of(SEMIBLOCK) {
                    return Err(BackendError::InvalidInput(
                        "AES-KW wraps keys of 16 bytes or more in multiples of 8 bytes; use KWP"
                            .into(),
                    ));
                }
                let mut out = vec![0; plain.len() + SEMIBLOCK];
                with_kw!(k, KwAes128, KwAes192, KwAes256, kw => {
                    kw.wrap_key(plain, &mut out).map_err(size_error)?;
                });
                Ok(out)
            }
            WrapAlgorithm::AesKeyWrapPadded => {
                let k = aes_key(&wk, "AES key wrap with padding")?;
                if plain.len() > MAX_WRAPPED {
                    return Err(BackendError::InvalidInput("key too long to wrap".into()));
                }
                let mut out = vec![0; plain.len().div_ceil(SEMIBLOCK) * SEMIBLOCK + SEMIBLOCK];
                let len = with_kw!(k, KwpAes128, KwpAes192, KwpAes256, kw => {
                    kw.wrap_key(plain, &mut out).map_err(size_error)?.len()
                });
                out.truncate(len);
                Ok(out)
            }
            WrapAlgorithm::RsaOaep(hash) => {
                if !matches!(
                    target.kind,
                    Kind::Aes | Kind::ChaCha20 | Kind::Hmac(_) | Kind::Secret
                ) {
                    return Err(BackendError::InvalidInput(
                        "RSA-OAEP wraps symmetric keys and secrets only".into(),
                    ));
                }
                let parsed = self.parsed(
                    wrapping_key,
                    &wk,
                    &[Kind::RsaPublic, Kind::RsaPrivate],
                    "RSA-OAEP wrapping",
                )?;
                let public = match &*parsed {
                    Parsed::RsaPrivate(k) => k.as_public_key(),
                    Parsed::RsaPublic(k) => k,
                    _ => {
                        return Err(BackendError::InvalidInput(
                            "RSA-OAEP wrapping needs an RSA key".into(),
                        ));
                    }
                };
                oaep_encrypt(public, hash, hash, None, plain)
            }
        }
    }

    fn unwrap(
        &self,
        unwrapping_key: &KeyRef,
        algorithm: WrapAlgorithm,
        wrapped: &[u8],
        object_type: ObjectType,
        key_algorithm: CryptographicAlgorithm,
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError> {
        let uk = Self::decode(unwrapping_key)?;
        if wrapped.len() > MAX_WRAPPED + 2 * SEMIBLOCK {
            return Err(BackendError::InvalidInput("wrapped key too long".into()));
        }
        let plain: Zeroizing<Vec<u8>> = match algorithm {
            WrapAlgorithm::AesKeyWrap => {
                let k = aes_key(&uk, "AES key unwrap")?;
                if wrapped.len() < 3 * SEMIBLOCK || !wrapped.len().is_multiple_of(SEMIBLOCK) {
                    return Err(BackendError::InvalidInput(
                        "an AES-KW wrapped key is 24 bytes or more in multiples of 8 bytes".into(),
                    ));
                }
                let mut buf = Zeroizing::new(vec![0; wrapped.len() - SEMIBLOCK]);
                with_kw!(k, KwAes128, KwAes192, KwAes256, kw => {
                    kw.unwrap_key(wrapped, &mut buf).map_err(size_error)?;
                });
                buf
            }
            WrapAlgorithm::AesKeyWrapPadded => {
                let k = aes_key(&uk, "AES key unwrap with padding")?;
                if wrapped.len() < 2 * SEMIBLOCK || !wrapped.len().is_multiple_of(SEMIBLOCK) {
                    return Err(BackendError::InvalidInput(
                        "an AES-KWP wrapped key is 16 bytes or more in multiples of 8 bytes".into(),
                    ));
                }
                let mut buf = Zeroizing::new(vec![0; wrapped.len() - SEMIBLOCK]);
                let len = with_kw!(k, KwpAes128, KwpAes192, KwpAes256, kw => {
                    kw.unwrap_key(wrapped, &mut buf).map_err(size_error)?.len()
                });
                buf.truncate(len);
                buf
            }
            WrapAlgorithm::RsaOaep(hash) => {
                let parsed = self.parsed(
                    unwrapping_key,
                    &uk,
                    &[Kind::RsaPrivate],
                    "RSA-OAEP unwrapping",
                )?;
                let Parsed::RsaPrivate(private) = &*parsed else {
                    return Err(BackendError::InvalidInput(
                        "RSA-OAEP unwrapping needs an RSA private key".into(),
                    ));
                };
                oaep_decrypt(private, hash, hash, None, wrapped)?
            }
        };
        let format = match object_type {
            ObjectType::SymmetricKey | ObjectType::SecretData => KeyFormat::Raw,
            ObjectType::PrivateKey => KeyFormat::Pkcs8,
            other => {
                return Err(BackendError::Unsupported(format!(
                    "unwrapping into a {other:?} object"
                )));
            }
        };
        let material = KeyMaterial::new(format, plain);
        let (kind, bytes) = formats::import(
            object_type,
            Some(key_algorithm),
            &material,
            self.rsa_import_bits(),
        )?;
        Ok(key_data::encode(kind, policy.extractable, &bytes))
    }
}
