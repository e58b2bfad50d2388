//! RSA-OAEP: decryption by TPM2_RSA_Decrypt, encryption in software with the public area.
//!
//! TPM 2.0 Part 1 Annex B.4: the TPM treats the OAEP label as a string that ends in a zero octet and appends
//! one when it is missing, so a label without it would not match what software peers compute. Labels must
//! therefore be empty or end in 0x00; others are refused rather than silently changed.

use getrandom::SysRng;
use kms_core::backend::{BackendError, Cipher, CipherParams, Ciphertext, HashingAlgorithm, KeyRef};
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{Data, HashScheme, PublicKeyRsa, RsaDecryptionScheme};
use zeroize::Zeroizing;

use super::TpmBackend;
use super::sign::tpm_hash;
use crate::blob::Kind;
use crate::error::TpmError;

/// RSA-2048 modulus length in bytes.
const RSA_BYTES: usize = 256;

fn check_oaep<'a>(
    params: &CipherParams<'a>,
) -> Result<(HashingAlgorithm, Option<&'a [u8]>), TpmError> {
    match *params {
        CipherParams::RsaOaep {
            hash,
            mgf1_hash,
            label,
        } => {
            if hash != mgf1_hash {
                return Err(TpmError::Unsupported(
                    "RSA-OAEP on the TPM uses MGF1 with the OAEP hash".into(),
                ));
            }
            if !matches!(
                hash,
                HashingAlgorithm::Sha1 | HashingAlgorithm::Sha256 | HashingAlgorithm::Sha384
            ) {
                return Err(TpmError::Unsupported(format!(
                    "RSA-OAEP with {hash:?} on the TPM"
                )));
            }
            let label = label.filter(|l| !l.is_empty());
            if let Some(l) = label
                && l.last() != Some(&0)
            {
                return Err(TpmError::Unsupported(
                    "OAEP labels for the TPM must end in a zero octet (TPM 2.0 Part 1, B.4)".into(),
                ));
            }
            Ok((hash, label))
        }
        _ => Err(TpmError::Unsupported(
            "symmetric ciphers on the TPM backend (RSA-OAEP only)".into(),
        )),
    }
}

impl Cipher for TpmBackend {
    fn encrypt(
        &self,
        key: &KeyRef,
        params: &CipherParams<'_>,
        plaintext: &[u8],
    ) -> Result<Ciphertext, BackendError> {
        let blob = Self::blob(key)?;
        if !matches!(blob.kind, Kind::RsaPrivate | Kind::RsaPublic) {
            return Err(BackendError::InvalidInput(format!(
                "a {:?} key cannot be used for RSA-OAEP",
                blob.kind
            )));
        }
        let (hash, label) = check_oaep(params)?;
        let k = super::public::rsa_key(&blob.public)?;
        macro_rules! oaep {
            ($d:ty) => {
                match label {
                    Some(l) => rsa::Oaep::<$d>::new_with_label(l.to_vec()),
                    None => rsa::Oaep::<$d>::new(),
                }
            };
        }
        let result = match hash {
            HashingAlgorithm::Sha1 => k.encrypt(&mut SysRng, oaep!(sha1::Sha1), plaintext),
            HashingAlgorithm::Sha384 => k.encrypt(&mut SysRng, oaep!(sha2::Sha384), plaintext),
            _ => k.encrypt(&mut SysRng, oaep!(sha2::Sha256), plaintext),
        };
        let data = result.map_err(|e| match e {
            rsa::Error::MessageTooLong | rsa::Error::LabelTooLong => BackendError::InvalidInput(
                "plaintext too long for RSA-OAEP with this key and hash".into(),
            ),
            other => BackendError::Device {
                message: "RSA-OAEP encryption failed".into(),
                retryable: false,
                source: Some(Box::new(other)),
            },
        })?;
        Ok(Ciphertext {
            data,
            iv: None,
            tag: None,
        })
    }

    fn decrypt(
        &self,
        key: &KeyRef,
        params: &CipherParams<'_>,
        ciphertext: &[u8],
        _tag: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        let blob = Self::blob(key)?;
        if blob.kind != Kind::RsaPrivate {
            return Err(BackendError::InvalidInput(format!(
                "a {:?} key cannot be used for RSA-OAEP decryption",
                blob.kind
            )));
        }
        let (hash, label) = check_oaep(params)?;
        if ciphertext.len() != RSA_BYTES {
            return Err(BackendError::InvalidInput(format!(
                "an RSA-2048 ciphertext is {RSA_BYTES} bytes, got {}",
                ciphertext.len()
            )));
        }
        let scheme = RsaDecryptionScheme::Oaep(HashScheme::new(tpm_hash_oaep(hash)?));
        let cipher = PublicKeyRsa::try_from(ciphertext.to_vec())
            .map_err(|_| BackendError::InvalidInput("ciphertext too long".into()))?;
        let label = Data::try_from(label.map(<[u8]>::to_vec).unwrap_or_default())
            .map_err(|_| BackendError::InvalidInput("OAEP label too long for the TPM".into()))?;
        let out = self.tpm.with(|inner| {
            inner.with_loaded(&blob, |ctx, handle| {
                match ctx.execute_with_session(Some(AuthSession::Password), |c| {
                    c.rsa_decrypt(handle, cipher, scheme, label)
                }) {
                    Ok(m) => Ok(Zeroizing::new(m.value().to_vec())),
                    Err(tss_esapi::Error::Tss2Error(rc))
                        if rc.kind().is_some_and(padding_failure) =>
                    {
                        Err(TpmError::Crypto)
                    }
                    Err(e) => Err(TpmError::tss("RSA_Decrypt")(e)),
                }
            })
        })?;
        Ok(out)
    }
}

/// Response codes of a ciphertext that does not decrypt: opaque, like any padding failure. libtpms answers a bad
/// OAEP padding with TPM_RC_FAILURE (its crypto library's error, not failure mode: the next command works), so
/// that code counts as a padding failure here too.
fn padding_failure(kind: tss_esapi::constants::response_code::Tss2ResponseCodeKind) -> bool {
    use tss_esapi::constants::response_code::Tss2ResponseCodeKind as K;
    matches!(kind, K::Value | K::Size | K::Scheme | K::Failure)
}

fn tpm_hash_oaep(
    h: HashingAlgorithm,
) -> Result<tss_esapi::interface_types::algorithm::HashingAlgorithm, TpmError> {
    match h {
        HashingAlgorithm::Sha1 => Ok(tss_esapi::interface_types::algorithm::HashingAlgorithm::Sha1),
        other => tpm_hash(other),
    }
}
