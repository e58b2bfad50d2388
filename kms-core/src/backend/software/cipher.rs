//! AES-GCM (NIST SP 800-38D) and RSA-OAEP (RFC 8017 §7.1); AES-ECB, AES-CBC and GCM with other IV lengths
//! are in `modes`.

use std::sync::Arc;

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::{U12, U13, U14, U15, U16};
use aes_gcm::aead::{AeadInOut, KeyInit, Nonce, Tag};
use aes_gcm::aes::{Aes128, Aes192, Aes256};
use getrandom::SysRng;
use zeroize::Zeroizing;

use super::cache::Parsed;
use super::key_data::Kind;
use super::{SoftwareBackend, chacha, modes};
use crate::backend::checks::{aead_tag, check_aead_tag_len, check_gcm_iv};
use crate::backend::{
    BackendError, Cipher, CipherParams, Ciphertext, HashingAlgorithm, KeyRef, ShortBytes,
};

/// The IV length this backend uses and accepts: SP 800-38D §8.2.1's recommended 96 bits, which keeps IVs out of
/// GHASH (other lengths are hashed into J0, with a weaker collision bound for random IVs).
pub(crate) const GCM_IV_LEN: usize = 12;

fn gcm_open<C: AeadInOut + KeyInit>(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> Result<(), BackendError> {
    let cipher = C::new_from_slice(key).map_err(|_| BackendError::MalformedKeyRef)?;
    let nonce = <&Nonce<C>>::try_from(iv)
        .map_err(|_| BackendError::InvalidInput("AES-GCM IV must be 12 bytes".into()))?;
    let tag = <&Tag<C>>::try_from(tag)
        .map_err(|_| BackendError::InvalidInput("AES-GCM tag length mismatch".into()))?;
    cipher
        .decrypt_inout_detached(nonce, aad, buf.into(), tag)
        .map_err(|_| BackendError::Crypto)
}

/// Encrypts with a cached full-tag instance; a shorter tag is the leftmost bytes of the full one
/// (SP 800-38D §7.1 step 6, `MSB_t`), exactly what the crate's truncated-tag types compute.
fn gcm_seal_cached<C: AeadInOut<TagSize = U16>>(
    cipher: &C,
    iv: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag_len: usize,
) -> Result<ShortBytes, BackendError> {
    let nonce = <&Nonce<C>>::try_from(iv)
        .map_err(|_| BackendError::InvalidInput("AES-GCM IV must be 12 bytes".into()))?;
    let tag = cipher
        .encrypt_inout_detached(nonce, aad, buf.into())
        .map_err(|_| {
            BackendError::InvalidInput("AES-GCM input exceeds the mode's limits".into())
        })?;
    ShortBytes::new(&tag[..tag_len])
}

fn gcm_open_cached<C: AeadInOut<TagSize = U16>>(
    cipher: &C,
    iv: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> Result<(), BackendError> {
    let nonce = <&Nonce<C>>::try_from(iv)
        .map_err(|_| BackendError::InvalidInput("AES-GCM IV must be 12 bytes".into()))?;
    let tag = <&Tag<C>>::try_from(tag)
        .map_err(|_| BackendError::InvalidInput("AES-GCM tag length mismatch".into()))?;
    cipher
        .decrypt_inout_detached(nonce, aad, buf.into(), tag)
        .map_err(|_| BackendError::Crypto)
}

/// Calls `$f::<AesGcm<Aes, U12, TagSize>>` for the key's AES variant and the tag length: the crate fixes both
/// in the type.
macro_rules! gcm_dispatch {
    ($f:ident, $key:expr, $tag_len:expr, $($arg:expr),*) => {
        match ($key.len(), $tag_len) {
            (16, 12) => $f::<AesGcm<Aes128, U12, U12>>($key, $($arg),*),
            (16, 13) => $f::<AesGcm<Aes128, U12, U13>>($key, $($arg),*),
            (16, 14) => $f::<AesGcm<Aes128, U12, U14>>($key, $($arg),*),
            (16, 15) => $f::<AesGcm<Aes128, U12, U15>>($key, $($arg),*),
            (16, 16) => $f::<AesGcm<Aes128, U12, U16>>($key, $($arg),*),
            (24, 12) => $f::<AesGcm<Aes192, U12, U12>>($key, $($arg),*),
            (24, 13) => $f::<AesGcm<Aes192, U12, U13>>($key, $($arg),*),
            (24, 14) => $f::<AesGcm<Aes192, U12, U14>>($key, $($arg),*),
            (24, 15) => $f::<AesGcm<Aes192, U12, U15>>($key, $($arg),*),
            (24, 16) => $f::<AesGcm<Aes192, U12, U16>>($key, $($arg),*),
            (32, 12) => $f::<AesGcm<Aes256, U12, U12>>($key, $($arg),*),
            (32, 13) => $f::<AesGcm<Aes256, U12, U13>>($key, $($arg),*),
            (32, 14) => $f::<AesGcm<Aes256, U12, U14>>($key, $($arg),*),
            (32, 15) => $f::<AesGcm<Aes256, U12, U15>>($key, $($arg),*),
            (32, 16) => $f::<AesGcm<Aes256, U12, U16>>($key, $($arg),*),
            _ => Err(BackendError::InvalidInput(
                "AES-GCM tag length must be 12 to 16 bytes".into(),
            )),
        }
    };
}

/// The [`rsa::Oaep`] padding for a hash pair, bound to `$p` in `$body` (the hashes are type parameters).
/// Any pair of OAEP hash and MGF1 hash: usually the same, or SHA-1 for MGF1 (older tokens, Android's
/// keystore); the KMIP profiles test every pairing.
macro_rules! with_oaep {
    ($hash:expr, $mgf:expr, $label:expr, |$p:ident| $body:expr) => {{
        use HashingAlgorithm as H;
        macro_rules! arm {
            ($d:ty, $m:ty) => {{
                let $p = match $label {
                    Some(l) => rsa::Oaep::<$d, $m>::new_with_mgf_hash_and_label(l.to_vec()),
                    None => rsa::Oaep::<$d, $m>::new_with_mgf_hash(),
                };
                $body
            }};
        }
        match ($hash, $mgf) {
            (H::Sha1, H::Sha1) => arm!(sha1::Sha1, sha1::Sha1),
            (H::Sha224, H::Sha224) => arm!(sha2::Sha224, sha2::Sha224),
            (H::Sha256, H::Sha256) => arm!(sha2::Sha256, sha2::Sha256),
            (H::Sha384, H::Sha384) => arm!(sha2::Sha384, sha2::Sha384),
            (H::Sha512, H::Sha512) => arm!(sha2::Sha512, sha2::Sha512),
            (H::Sha224, H::Sha1) => arm!(sha2::Sha224, sha1::Sha1),
            (H::Sha256, H::Sha1) => arm!(sha2::Sha256, sha1::Sha1),
            (H::Sha384, H::Sha1) => arm!(sha2::Sha384, sha1::Sha1),
            (H::Sha512, H::Sha1) => arm!(sha2::Sha512, sha1::Sha1),
            // The KMIP profiles' RSA-OAEP cases (CS-AC-M-OAEP-*) pair every SHA-2 hash with every MGF1 hash.
            (H::Sha1, H::Sha224) => arm!(sha1::Sha1, sha2::Sha224),
            (H::Sha1, H::Sha256) => arm!(sha1::Sha1, sha2::Sha256),
            (H::Sha1, H::Sha384) => arm!(sha1::Sha1, sha2::Sha384),
            (H::Sha1, H::Sha512) => arm!(sha1::Sha1, sha2::Sha512),
            (H::Sha224, H::Sha256) => arm!(sha2::Sha224, sha2::Sha256),
            (H::Sha224, H::Sha384) => arm!(sha2::Sha224, sha2::Sha384),
            (H::Sha224, H::Sha512) => arm!(sha2::Sha224, sha2::Sha512),
            (H::Sha256, H::Sha224) => arm!(sha2::Sha256, sha2::Sha224),
            (H::Sha256, H::Sha384) => arm!(sha2::Sha256, sha2::Sha384),
            (H::Sha256, H::Sha512) => arm!(sha2::Sha256, sha2::Sha512),
            (H::Sha384, H::Sha224) => arm!(sha2::Sha384, sha2::Sha224),
            (H::Sha384, H::Sha256) => arm!(sha2::Sha384, sha2::Sha256),
            (H::Sha384, H::Sha512) => arm!(sha2::Sha384, sha2::Sha512),
            (H::Sha512, H::Sha224) => arm!(sha2::Sha512, sha2::Sha224),
            (H::Sha512, H::Sha256) => arm!(sha2::Sha512, sha2::Sha256),
            (H::Sha512, H::Sha384) => arm!(sha2::Sha512, sha2::Sha384),
        }
    }};
}

/// RSA-OAEP encryption under a public key.
pub(crate) fn oaep_encrypt(
    key: &rsa::PublicKey,
    hash: HashingAlgorithm,
    mgf1_hash: HashingAlgorithm,
    label: Option<&[u8]>,
    plaintext: &[u8],
) -> Result<Vec<u8>, BackendError> {
    with_oaep!(hash, mgf1_hash, label, |padding| {
        key.encrypt(&mut SysRng, padding, plaintext)
            .map_err(|e| match e {
                rsa::Error::MessageTooLong | rsa::Error::LabelTooLong => {
                    BackendError::InvalidInput(
                        "plaintext too long for RSA-OAEP with this key and hash".into(),
                    )
                }
                other => BackendError::Device {
                    message: "RSA-OAEP encryption failed".into(),
                    retryable: false,
                    source: Some(Box::new(other)),
                },
            })
    })
}

/// RSA-OAEP decryption (blinded); every failure is the opaque [`BackendError::Crypto`].
pub(crate) fn oaep_decrypt(
    key: &rsa::PrivateKey,
    hash: HashingAlgorithm,
    mgf1_hash: HashingAlgorithm,
    label: Option<&[u8]>,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, BackendError> {
    with_oaep!(hash, mgf1_hash, label, |padding| {
        key.decrypt(padding, ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| BackendError::Crypto)
    })
}

impl SoftwareBackend {
    /// Calls `f` with the expanded AES-GCM key of `key`, which must be an AES reference. The form kept with the
    /// reference needs neither decoding the reference nor a lookup; without one, the key comes from the cache and
    /// is kept with the reference, so that a reference the manager holds in memory finds it directly from its
    /// second use on.
    fn with_aes_gcm<R>(
        &self,
        key: &KeyRef,
        f: impl FnOnce(&Parsed) -> Result<R, BackendError>,
    ) -> Result<R, BackendError> {
        if let Some(cipher) = key.prepared::<Parsed>() {
            return f(cipher);
        }
        let data = Self::decode(key)?;
        let cipher = self.parsed(key, &data, &[Kind::Aes], "AES-GCM")?;
        key.prepare(Arc::clone(&cipher));
        f(&cipher)
    }
}

/// The answer for a kept form that is not an AES key's: only AES references keep one, so no reference this backend
/// issued gets it.
fn not_aes() -> BackendError {
    BackendError::InvalidInput("AES-GCM needs an AES key".into())
}

impl Cipher for SoftwareBackend {
    fn encrypt(
        &self,
        key: &KeyRef,
        params: &CipherParams<'_>,
        plaintext: &[u8],
    ) -> Result<Ciphertext, BackendError> {
        match *params {
            CipherParams::ChaCha20 { nonce } => {
                chacha::chacha20_encrypt(&Self::decode(key)?, nonce, plaintext)
            }
            CipherParams::ChaCha20Poly1305 {
                nonce,
                aad,
                tag_len,
            } => {
                let data = Self::decode(key)?;
                check_aead_tag_len(tag_len)?;
                chacha::chacha20_poly1305_encrypt(&data, nonce, aad, tag_len, plaintext)
            }
            CipherParams::AesGcm { iv, aad, tag_len } => {
                check_aead_tag_len(tag_len)?;
                let mut fresh = [0u8; GCM_IV_LEN];
                let iv = match iv {
                    Some(iv) => {
                        check_gcm_iv(iv)?;
                        if iv.len() != GCM_IV_LEN {
                            return modes::gcm_encrypt_other_iv(key, iv, aad, tag_len, plaintext);
                        }
                        iv
                    }
                    None => {
                        getrandom::fill(&mut fresh).map_err(rng_error)?;
                        &fresh[..]
                    }
                };
                let mut buf = plaintext.to_vec();
                let tag = self.with_aes_gcm(key, |cipher| match cipher {
                    Parsed::Aes128Gcm(c) => gcm_seal_cached(c, iv, aad, &mut buf, tag_len),
                    Parsed::Aes192Gcm(c) => gcm_seal_cached(c, iv, aad, &mut buf, tag_len),
                    Parsed::Aes256Gcm(c) => gcm_seal_cached(c, iv, aad, &mut buf, tag_len),
                    _ => Err(not_aes()),
                })?;
                Ok(Ciphertext {
                    data: buf,
                    iv: Some(ShortBytes::new(iv)?),
                    tag: Some(tag),
                })
            }
            CipherParams::AesEcb { padding } => {
                modes::block_encrypt(key, false, None, padding, plaintext)
            }
            CipherParams::AesCbc { iv, padding } => {
                modes::block_encrypt(key, true, iv, padding, plaintext)
            }
            CipherParams::RsaOaep {
                hash,
                mgf1_hash,
                label,
            } => {
                let data = Self::decode(key)?;
                let parsed =
                    self.parsed(key, &data, &[Kind::RsaPublic, Kind::RsaPrivate], "RSA-OAEP")?;
                let public = match &*parsed {
                    Parsed::RsaPrivate(k) => k.as_public_key(),
                    Parsed::RsaPublic(k) => k,
                    _ => return Err(data.kind.cannot_be_used_for("RSA-OAEP")),
                };
                Ok(Ciphertext {
                    data: oaep_encrypt(public, hash, mgf1_hash, label, plaintext)?,
                    iv: None,
                    tag: None,
                })
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
        match *params {
            CipherParams::ChaCha20 { nonce } => {
                chacha::chacha20_decrypt(&Self::decode(key)?, nonce, ciphertext)
            }
            CipherParams::ChaCha20Poly1305 {
                nonce,
                aad,
                tag_len,
            } => {
                let data = Self::decode(key)?;
                check_aead_tag_len(tag_len)?;
                chacha::chacha20_poly1305_decrypt(&data, nonce, aad, tag_len, ciphertext, tag)
            }
            CipherParams::AesGcm { iv, aad, tag_len } => {
                check_aead_tag_len(tag_len)?;
                let iv = iv.ok_or_else(|| {
                    BackendError::InvalidInput("AES-GCM decryption needs the IV".into())
                })?;
                check_gcm_iv(iv)?;
                if iv.len() != GCM_IV_LEN {
                    return modes::gcm_decrypt_other_iv(key, iv, aad, tag_len, ciphertext, tag);
                }
                let tag = aead_tag(tag, tag_len, "AES-GCM")?;
                let mut buf = Zeroizing::new(ciphertext.to_vec());
                if tag_len == 16 {
                    self.with_aes_gcm(key, |cipher| match cipher {
                        Parsed::Aes128Gcm(c) => gcm_open_cached(c, iv, aad, &mut buf, tag),
                        Parsed::Aes192Gcm(c) => gcm_open_cached(c, iv, aad, &mut buf, tag),
                        Parsed::Aes256Gcm(c) => gcm_open_cached(c, iv, aad, &mut buf, tag),
                        _ => Err(not_aes()),
                    })?;
                } else {
                    // A truncated tag is compared by the crate's type for that tag length, which takes its own
                    // instance; truncated tags are rare enough not to be cached.
                    let data = Self::decode(key)?;
                    if data.kind != Kind::Aes {
                        return Err(data.kind.cannot_be_used_for("AES-GCM"));
                    }
                    gcm_dispatch!(gcm_open, data.material, tag_len, iv, aad, &mut buf, tag)?;
                }
                Ok(buf)
            }
            CipherParams::AesEcb { padding } => {
                modes::block_decrypt(key, false, None, padding, ciphertext)
            }
            CipherParams::AesCbc { iv, padding } => {
                modes::block_decrypt(key, true, iv, padding, ciphertext)
            }
            CipherParams::RsaOaep {
                hash,
                mgf1_hash,
                label,
            } => {
                let data = Self::decode(key)?;
                let parsed = self.parsed(key, &data, &[Kind::RsaPrivate], "RSA-OAEP decryption")?;
                let Parsed::RsaPrivate(private) = &*parsed else {
                    return Err(data.kind.cannot_be_used_for("RSA-OAEP decryption"));
                };
                oaep_decrypt(private, hash, mgf1_hash, label, ciphertext)
            }
        }
    }
}

pub(crate) fn rng_error(e: getrandom::Error) -> BackendError {
    BackendError::Device {
        message: "the operating system's random generator failed".into(),
        retryable: true,
        source: Some(Box::new(e)),
    }
}
