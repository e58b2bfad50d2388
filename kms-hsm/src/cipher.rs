//! AES-GCM (CKM_AES_GCM) and RSA-OAEP (CKM_RSA_PKCS_OAEP) in the token.

use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use kms_core::KeyRef;
use kms_core::backend::checks::{
    AES_BLOCK, aead_tag, cbc_iv, check_aead_tag_len, check_gcm_iv, check_whole_blocks, pkcs5_pad,
    pkcs5_unpad,
};
use kms_core::backend::{
    BackendError, Cipher, CipherParams, Ciphertext, HashingAlgorithm, ShortBytes,
};
use zeroize::Zeroizing;

use crate::Pkcs11Backend;
use crate::key_ref::Kind;

/// The IV length generated: SP 800-38D's recommended 96 bits (as the software backend).
const GCM_IV_LEN: usize = 12;

pub(crate) fn hash_mechanism(h: HashingAlgorithm) -> MechanismType {
    match h {
        HashingAlgorithm::Sha1 => MechanismType::SHA1,
        HashingAlgorithm::Sha224 => MechanismType::SHA224,
        HashingAlgorithm::Sha256 => MechanismType::SHA256,
        HashingAlgorithm::Sha384 => MechanismType::SHA384,
        HashingAlgorithm::Sha512 => MechanismType::SHA512,
    }
}

pub(crate) fn mgf1(h: HashingAlgorithm) -> PkcsMgfType {
    match h {
        HashingAlgorithm::Sha1 => PkcsMgfType::MGF1_SHA1,
        HashingAlgorithm::Sha224 => PkcsMgfType::MGF1_SHA224,
        HashingAlgorithm::Sha256 => PkcsMgfType::MGF1_SHA256,
        HashingAlgorithm::Sha384 => PkcsMgfType::MGF1_SHA384,
        HashingAlgorithm::Sha512 => PkcsMgfType::MGF1_SHA512,
    }
}

pub(crate) fn oaep(
    hash: HashingAlgorithm,
    mgf1_hash: HashingAlgorithm,
    label: Option<&[u8]>,
) -> Mechanism<'_> {
    let source = match label {
        Some(l) => PkcsOaepSource::data_specified(l),
        None => PkcsOaepSource::empty(),
    };
    Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
        hash_mechanism(hash),
        mgf1(mgf1_hash),
        source,
    ))
}

fn check_gcm(iv: Option<&[u8]>, tag_len: usize) -> Result<(), BackendError> {
    check_aead_tag_len(tag_len)?;
    iv.map_or(Ok(()), check_gcm_iv)
}

fn wrong_key(kind: Kind, what: &str) -> BackendError {
    BackendError::InvalidInput(format!("a {kind:?} key cannot be used for {what}"))
}

impl Cipher for Pkcs11Backend {
    fn encrypt(
        &self,
        key: &KeyRef,
        params: &CipherParams<'_>,
        plaintext: &[u8],
    ) -> Result<Ciphertext, BackendError> {
        let k = self.decode(key)?;
        match *params {
            CipherParams::AesGcm { iv, aad, tag_len } => {
                if !matches!(k.kind, Kind::Aes(_)) {
                    return Err(wrong_key(k.kind, "AES-GCM"));
                }
                check_gcm(iv, tag_len)?;
                let nonce = match iv {
                    Some(iv) => iv.to_vec(),
                    // Random 96-bit IVs (SP 800-38D §8.2.2); SoftHSM cannot generate them in the token.
                    None => random_iv(GCM_IV_LEN)?,
                };
                let mut out = self.use_key("AES-GCM encryption", &k, |s, h| {
                    let mut iv = nonce.clone();
                    let params = GcmParams::new(&mut iv, aad, ((tag_len * 8) as u64).into())?;
                    s.encrypt(&Mechanism::AesGcm(params), h, plaintext)
                })?;
                // C_Encrypt returns ciphertext || tag (PKCS#11 2.40 mechanisms §2.12.3).
                let Some(split) = out.len().checked_sub(tag_len) else {
                    return Err(BackendError::Device {
                        message: "the token returned a short AES-GCM ciphertext".into(),
                        retryable: false,
                        source: None,
                    });
                };
                let tag = ShortBytes::new(&out[split..])?;
                out.truncate(split);
                Ok(Ciphertext {
                    data: out,
                    iv: Some(ShortBytes::new(&nonce)?),
                    tag: Some(tag),
                })
            }
            CipherParams::AesEcb { padding } => {
                aes_only(k.kind, "AES-ECB")?;
                // The token has CKM_AES_CBC_PAD but no padded ECB.
                let input = if padding {
                    pkcs5_pad(plaintext)
                } else {
                    check_whole_blocks(plaintext.len(), "AES-ECB")?;
                    plaintext.to_vec()
                };
                let data = self.use_key("AES-ECB encryption", &k, |s, h| {
                    s.encrypt(&Mechanism::AesEcb, h, &input)
                })?;
                Ok(Ciphertext {
                    data,
                    iv: None,
                    tag: None,
                })
            }
            CipherParams::AesCbc { iv, padding } => {
                aes_only(k.kind, "AES-CBC")?;
                let iv = match iv {
                    Some(iv) => cbc_iv(iv)?,
                    None => cbc_iv(&random_iv(AES_BLOCK)?)?,
                };
                if !padding {
                    check_whole_blocks(plaintext.len(), "AES-CBC")?;
                }
                let data = self.use_key("AES-CBC encryption", &k, |s, h| {
                    let m = if padding {
                        Mechanism::AesCbcPad(iv)
                    } else {
                        Mechanism::AesCbc(iv)
                    };
                    s.encrypt(&m, h, plaintext)
                })?;
                Ok(Ciphertext {
                    data,
                    iv: Some(ShortBytes::new(&iv)?),
                    tag: None,
                })
            }
            CipherParams::RsaOaep {
                hash,
                mgf1_hash,
                label,
            } => {
                let public = match k.kind {
                    Kind::RsaPrivate | Kind::RsaPublic => Kind::RsaPublic,
                    other => return Err(wrong_key(other, "RSA-OAEP")),
                };
                let data = self.use_object("RSA-OAEP encryption", public, &k.id, |s, h| {
                    s.encrypt(&oaep(hash, mgf1_hash, label), h, plaintext)
                        .map_err(params_refused)
                })?;
                Ok(Ciphertext {
                    data,
                    iv: None,
                    tag: None,
                })
            }
            CipherParams::ChaCha20 { .. } | CipherParams::ChaCha20Poly1305 { .. } => {
                Err(BackendError::Unsupported("ChaCha20 through PKCS#11".into()))
            }
        }
    }

    fn decrypt(
        &self,
        key: &KeyRef,
        params: &CipherParams<'_>,
        ciphertext: &[u8],
        tag: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        let k = self.decode(key)?;
        match *params {
            CipherParams::AesGcm { iv, aad, tag_len } => {
                if !matches!(k.kind, Kind::Aes(_)) {
                    return Err(wrong_key(k.kind, "AES-GCM"));
                }
                check_gcm(iv, tag_len)?;
                let iv = iv.ok_or_else(|| {
                    BackendError::InvalidInput("AES-GCM decryption needs the IV".into())
                })?;
                let tag = aead_tag(tag, tag_len, "AES-GCM")?;
                let mut input = Vec::with_capacity(ciphertext.len() + tag.len());
                input.extend_from_slice(ciphertext);
                input.extend_from_slice(tag);
                let result = self.use_key("AES-GCM decryption", &k, |s, h| {
                    let mut nonce = iv.to_vec();
                    let params = GcmParams::new(&mut nonce, aad, ((tag_len * 8) as u64).into())?;
                    s.decrypt(&Mechanism::AesGcm(params), h, &input)
                        .map_err(tag_mismatch)
                });
                opaque_on_failure(result)
            }
            CipherParams::AesEcb { padding } => {
                aes_only(k.kind, "AES-ECB")?;
                check_whole_blocks(ciphertext.len(), "AES-ECB")?;
                let plain = opaque_on_failure(self.use_key("AES-ECB decryption", &k, |s, h| {
                    s.decrypt(&Mechanism::AesEcb, h, ciphertext)
                }))?;
                if padding {
                    pkcs5_unpad(plain)
                } else {
                    Ok(plain)
                }
            }
            CipherParams::AesCbc { iv, padding } => {
                aes_only(k.kind, "AES-CBC")?;
                let iv = cbc_iv(iv.ok_or_else(|| {
                    BackendError::InvalidInput("AES-CBC decryption needs the IV".into())
                })?)?;
                check_whole_blocks(ciphertext.len(), "AES-CBC")?;
                opaque_on_failure(self.use_key("AES-CBC decryption", &k, |s, h| {
                    let m = if padding {
                        Mechanism::AesCbcPad(iv)
                    } else {
                        Mechanism::AesCbc(iv)
                    };
                    s.decrypt(&m, h, ciphertext)
                }))
            }
            CipherParams::RsaOaep {
                hash,
                mgf1_hash,
                label,
            } => {
                if k.kind != Kind::RsaPrivate {
                    return Err(wrong_key(k.kind, "RSA-OAEP decryption"));
                }
                let result = self.use_key("RSA-OAEP decryption", &k, |s, h| {
                    s.decrypt(&oaep(hash, mgf1_hash, label), h, ciphertext)
                        .map_err(|e| tag_mismatch(params_refused(e)))
                });
                opaque_on_failure(result)
            }
            CipherParams::ChaCha20 { .. } | CipherParams::ChaCha20Poly1305 { .. } => {
                Err(BackendError::Unsupported("ChaCha20 through PKCS#11".into()))
            }
        }
    }
}

/// Decryption output in a zeroizing buffer; a failure that is about the data (tag, padding, length) is the
/// opaque [`BackendError::Crypto`] whatever the token said, so that the token's return value cannot become an
/// oracle.
fn opaque_on_failure(
    result: Result<Vec<u8>, BackendError>,
) -> Result<Zeroizing<Vec<u8>>, BackendError> {
    match result {
        Ok(v) => Ok(Zeroizing::new(v)),
        Err(BackendError::InvalidInput(_) | BackendError::Crypto) => Err(BackendError::Crypto),
        Err(e) => Err(e),
    }
}

fn aes_only(kind: Kind, what: &str) -> Result<(), BackendError> {
    if matches!(kind, Kind::Aes(_)) {
        Ok(())
    } else {
        Err(wrong_key(kind, what))
    }
}

fn random_iv(len: usize) -> Result<Vec<u8>, BackendError> {
    let mut iv = vec![0u8; len];
    getrandom::fill(&mut iv).map_err(|e| BackendError::Device {
        message: "the operating system's random generator failed".into(),
        retryable: true,
        source: Some(Box::new(e)),
    })?;
    Ok(iv)
}

/// SoftHSM 2.6 answers a GCM tag or OAEP padding that does not verify with CKR_GENERAL_ERROR; inside C_Decrypt
/// that can only be the data, so it is the cryptographic failure it stands for.
fn tag_mismatch(e: cryptoki::error::Error) -> cryptoki::error::Error {
    use cryptoki::error::{Error, RvError};
    match e {
        Error::Pkcs11(RvError::GeneralError, f @ cryptoki::context::Function::Decrypt) => {
            Error::Pkcs11(RvError::EncryptedDataInvalid, f)
        }
        other => other,
    }
}

/// SoftHSM 2.6.1 answers OAEP parameters it does not do (any hash but SHA-1) with CKR_ARGUMENTS_BAD before
/// looking at the data: the parameters are what it refuses, so the caller learns "unsupported".
pub(crate) fn params_refused(e: cryptoki::error::Error) -> cryptoki::error::Error {
    use cryptoki::error::{Error, RvError};
    match e {
        Error::Pkcs11(RvError::ArgumentsBad, f) => Error::Pkcs11(RvError::MechanismParamInvalid, f),
        other => other,
    }
}
