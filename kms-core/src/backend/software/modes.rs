//! The block cipher modes KMIP clients ask for besides AES-GCM with a 96-bit IV: AES-ECB and AES-CBC (NIST
//! SP 800-38A) with or without PKCS#5 padding, and AES-GCM with IVs of other lengths (SP 800-38D §7.1: the
//! IV is hashed into J0).
//!
//! ECB leaks equal blocks and CBC without a MAC is malleable; they are here because KMIP's Basic
//! Cryptographic profile (CS-BC-M-1..14) requires them for interoperability, behind a key's usage mask like
//! every other mode.

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::{U8, U12, U13, U14, U15, U16, U60};
use aes_gcm::aead::{AeadInOut, KeyInit, Nonce, Tag};
use aes_gcm::aes::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, BlockSizeUser};
use aes_gcm::aes::{Aes128, Aes192, Aes256};
use zeroize::Zeroizing;

use super::SoftwareBackend;
use super::cipher::rng_error;
use super::key_data::Kind;
use crate::backend::checks::{
    AES_BLOCK, aead_tag, cbc_iv, check_whole_blocks, pkcs5_pad, pkcs5_unpad,
};
use crate::backend::{BackendError, Ciphertext, KeyRef, ShortBytes};

fn aes_key(key: &KeyRef) -> Result<Zeroizing<Vec<u8>>, BackendError> {
    let data = SoftwareBackend::decode(key)?;
    if data.kind != Kind::Aes {
        return Err(data.kind.cannot_be_used_for("AES"));
    }
    Ok(Zeroizing::new(data.material.to_vec()))
}

/// Runs `$f::<Aes128 | Aes192 | Aes256>($key, ...)` for the key's length.
macro_rules! by_key {
    ($f:ident, $key:expr, $($arg:expr),*) => {
        match $key.len() {
            16 => $f::<Aes128>($key, $($arg),*),
            24 => $f::<Aes192>($key, $($arg),*),
            32 => $f::<Aes256>($key, $($arg),*),
            _ => Err(BackendError::MalformedKeyRef),
        }
    };
}

fn ecb_encrypt<C>(key: &[u8], data: &mut [u8]) -> Result<(), BackendError>
where
    C: BlockCipherEncrypt + KeyInit + BlockSizeUser<BlockSize = U16>,
{
    let cipher = C::new_from_slice(key).map_err(|_| BackendError::MalformedKeyRef)?;
    for chunk in data.chunks_exact_mut(AES_BLOCK) {
        let block =
            <&mut Block<C>>::try_from(&mut *chunk).map_err(|_| BackendError::MalformedKeyRef)?;
        cipher.encrypt_block(block);
    }
    Ok(())
}

fn ecb_decrypt<C>(key: &[u8], data: &mut [u8]) -> Result<(), BackendError>
where
    C: BlockCipherDecrypt + KeyInit + BlockSizeUser<BlockSize = U16>,
{
    let cipher = C::new_from_slice(key).map_err(|_| BackendError::MalformedKeyRef)?;
    for chunk in data.chunks_exact_mut(AES_BLOCK) {
        let block =
            <&mut Block<C>>::try_from(&mut *chunk).map_err(|_| BackendError::MalformedKeyRef)?;
        cipher.decrypt_block(block);
    }
    Ok(())
}

fn cbc_encrypt<C>(key: &[u8], iv: &[u8; AES_BLOCK], data: &mut [u8]) -> Result<(), BackendError>
where
    C: BlockCipherEncrypt + KeyInit + BlockSizeUser<BlockSize = U16>,
{
    let cipher = C::new_from_slice(key).map_err(|_| BackendError::MalformedKeyRef)?;
    let mut previous = *iv;
    for chunk in data.chunks_exact_mut(AES_BLOCK) {
        chunk.iter_mut().zip(&previous).for_each(|(b, p)| *b ^= p);
        let block =
            <&mut Block<C>>::try_from(&mut *chunk).map_err(|_| BackendError::MalformedKeyRef)?;
        cipher.encrypt_block(block);
        previous.copy_from_slice(chunk);
    }
    Ok(())
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8; AES_BLOCK], data: &mut [u8]) -> Result<(), BackendError>
where
    C: BlockCipherDecrypt + KeyInit + BlockSizeUser<BlockSize = U16>,
{
    let cipher = C::new_from_slice(key).map_err(|_| BackendError::MalformedKeyRef)?;
    let mut previous = *iv;
    for chunk in data.chunks_exact_mut(AES_BLOCK) {
        let mut this = [0u8; AES_BLOCK];
        this.copy_from_slice(chunk);
        let block =
            <&mut Block<C>>::try_from(&mut *chunk).map_err(|_| BackendError::MalformedKeyRef)?;
        cipher.decrypt_block(block);
        chunk.iter_mut().zip(&previous).for_each(|(b, p)| *b ^= p);
        previous = this;
    }
    Ok(())
}

/// The caller's CBC IV, or a random one.
fn cbc_iv_or_fresh(iv: Option<&[u8]>) -> Result<[u8; AES_BLOCK], BackendError> {
    match iv {
        Some(iv) => cbc_iv(iv),
        None => {
            let mut fresh = [0u8; AES_BLOCK];
            getrandom::fill(&mut fresh).map_err(rng_error)?;
            Ok(fresh)
        }
    }
}

/// AES-ECB (`iv` `None`) or AES-CBC encryption, with PKCS#5 padding when `padding` is set. CBC without an
/// IV gets a random one, returned in the [`Ciphertext`].
pub(crate) fn block_encrypt(
    key: &KeyRef,
    cbc: bool,
    iv: Option<&[u8]>,
    padding: bool,
    plaintext: &[u8],
) -> Result<Ciphertext, BackendError> {
    let key = aes_key(key)?;
    let mut buf = if padding {
        pkcs5_pad(plaintext)
    } else {
        check_whole_blocks(plaintext.len(), if cbc { "AES-CBC" } else { "AES-ECB" })?;
        plaintext.to_vec()
    };
    if cbc {
        let iv = cbc_iv_or_fresh(iv)?;
        by_key!(cbc_encrypt, &key[..], &iv, &mut buf)?;
        Ok(Ciphertext {
            data: buf,
            iv: Some(ShortBytes::new(&iv)?),
            tag: None,
        })
    } else {
        if iv.is_some() {
            return Err(BackendError::InvalidInput("AES-ECB takes no IV".into()));
        }
        by_key!(ecb_encrypt, &key[..], &mut buf)?;
        Ok(Ciphertext {
            data: buf,
            iv: None,
            tag: None,
        })
    }
}

/// AES-ECB or AES-CBC decryption; with `padding`, a bad pad is [`BackendError::Crypto`].
pub(crate) fn block_decrypt(
    key: &KeyRef,
    cbc: bool,
    iv: Option<&[u8]>,
    padding: bool,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, BackendError> {
    let key = aes_key(key)?;
    check_whole_blocks(ciphertext.len(), if cbc { "AES-CBC" } else { "AES-ECB" })?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    if cbc {
        let iv =
            iv.ok_or_else(|| BackendError::InvalidInput("AES-CBC decryption needs the IV".into()))?;
        let iv = cbc_iv(iv)?;
        by_key!(cbc_decrypt, &key[..], &iv, &mut buf)?;
    } else {
        if iv.is_some() {
            return Err(BackendError::InvalidInput("AES-ECB takes no IV".into()));
        }
        by_key!(ecb_decrypt, &key[..], &mut buf)?;
    }
    if padding { pkcs5_unpad(buf) } else { Ok(buf) }
}

fn gcm_seal<C: AeadInOut + KeyInit>(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<ShortBytes, BackendError> {
    let cipher = C::new_from_slice(key).map_err(|_| BackendError::MalformedKeyRef)?;
    let nonce = <&Nonce<C>>::try_from(iv)
        .map_err(|_| BackendError::InvalidInput("AES-GCM IV length mismatch".into()))?;
    let tag = cipher
        .encrypt_inout_detached(nonce, aad, buf.into())
        .map_err(|_| {
            BackendError::InvalidInput("AES-GCM input exceeds the mode's limits".into())
        })?;
    ShortBytes::new(&tag)
}

fn gcm_open<C: AeadInOut + KeyInit>(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8],
) -> Result<(), BackendError> {
    let cipher = C::new_from_slice(key).map_err(|_| BackendError::MalformedKeyRef)?;
    let nonce = <&Nonce<C>>::try_from(iv)
        .map_err(|_| BackendError::InvalidInput("AES-GCM IV length mismatch".into()))?;
    let tag = <&Tag<C>>::try_from(tag)
        .map_err(|_| BackendError::InvalidInput("AES-GCM tag length mismatch".into()))?;
    cipher
        .decrypt_inout_detached(nonce, aad, buf.into(), tag)
        .map_err(|_| BackendError::Crypto)
}

/// Calls `$f::<AesGcm<Aes, IvSize, TagSize>>` for the key, IV and tag lengths (all three are types).
macro_rules! gcm_any_iv {
    ($f:ident, $key:expr, $iv_len:expr, $tag_len:expr, $($arg:expr),*) => {
        match $iv_len {
            8 => gcm_any_iv!(@key U8, $f, $key, $tag_len, $($arg),*),
            16 => gcm_any_iv!(@key U16, $f, $key, $tag_len, $($arg),*),
            60 => gcm_any_iv!(@key U60, $f, $key, $tag_len, $($arg),*),
            n => Err(BackendError::InvalidInput(format!(
                "AES-GCM IV must be 8, 12, 16 or 60 bytes, got {n}"
            ))),
        }
    };
    (@key $n:ty, $f:ident, $key:expr, $tag_len:expr, $($arg:expr),*) => {
        match $key.len() {
            16 => gcm_any_iv!(@tag Aes128, $n, $f, $key, $tag_len, $($arg),*),
            24 => gcm_any_iv!(@tag Aes192, $n, $f, $key, $tag_len, $($arg),*),
            32 => gcm_any_iv!(@tag Aes256, $n, $f, $key, $tag_len, $($arg),*),
            _ => Err(BackendError::MalformedKeyRef),
        }
    };
    (@tag $a:ty, $n:ty, $f:ident, $key:expr, $tag_len:expr, $($arg:expr),*) => {
        match $tag_len {
            12 => $f::<AesGcm<$a, $n, U12>>($key, $($arg),*),
            13 => $f::<AesGcm<$a, $n, U13>>($key, $($arg),*),
            14 => $f::<AesGcm<$a, $n, U14>>($key, $($arg),*),
            15 => $f::<AesGcm<$a, $n, U15>>($key, $($arg),*),
            16 => $f::<AesGcm<$a, $n, U16>>($key, $($arg),*),
            t => Err(BackendError::InvalidInput(format!(
                "AES-GCM tag length must be 12 to 16 bytes, got {t}"
            ))),
        }
    };
}

/// AES-GCM encryption with an IV of one of [`GCM_IV_LENS`](crate::backend::checks::GCM_IV_LENS) but 12 bytes.
pub(crate) fn gcm_encrypt_other_iv(
    key: &KeyRef,
    iv: &[u8],
    aad: &[u8],
    tag_len: usize,
    plaintext: &[u8],
) -> Result<Ciphertext, BackendError> {
    let key = aes_key(key)?;
    let mut buf = plaintext.to_vec();
    let tag = gcm_any_iv!(gcm_seal, &key[..], iv.len(), tag_len, iv, aad, &mut buf)?;
    Ok(Ciphertext {
        data: buf,
        iv: Some(ShortBytes::new(iv)?),
        tag: Some(tag),
    })
}

/// AES-GCM decryption with an IV of one of [`GCM_IV_LENS`](crate::backend::checks::GCM_IV_LENS) but 12 bytes.
pub(crate) fn gcm_decrypt_other_iv(
    key: &KeyRef,
    iv: &[u8],
    aad: &[u8],
    tag_len: usize,
    ciphertext: &[u8],
    tag: Option<&[u8]>,
) -> Result<Zeroizing<Vec<u8>>, BackendError> {
    let key = aes_key(key)?;
    let tag = aead_tag(tag, tag_len, "AES-GCM")?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    gcm_any_iv!(
        gcm_open,
        &key[..],
        iv.len(),
        tag_len,
        iv,
        aad,
        &mut buf,
        tag
    )?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::{Aes128, cbc_decrypt, cbc_encrypt, ecb_decrypt, ecb_encrypt};

    /// NIST SP 800-38A F.1.1 (ECB-AES128.Encrypt) and F.2.1 (CBC-AES128.Encrypt), first two blocks.
    #[test]
    fn sp800_38a_known_answers() {
        let key = hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap();
        let plain = hex::decode("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
            .unwrap();
        let mut buf = plain.clone();
        ecb_encrypt::<Aes128>(&key, &mut buf).unwrap();
        assert_eq!(
            buf,
            hex::decode("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf")
                .unwrap()
        );
        ecb_decrypt::<Aes128>(&key, &mut buf).unwrap();
        assert_eq!(buf, plain);
        let iv: [u8; 16] = hex::decode("000102030405060708090a0b0c0d0e0f")
            .unwrap()
            .try_into()
            .unwrap();
        cbc_encrypt::<Aes128>(&key, &iv, &mut buf).unwrap();
        assert_eq!(
            buf,
            hex::decode("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2")
                .unwrap()
        );
        cbc_decrypt::<Aes128>(&key, &iv, &mut buf).unwrap();
        assert_eq!(buf, plain);
    }
}
