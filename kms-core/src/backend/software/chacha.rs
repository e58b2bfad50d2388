//! ChaCha20 (RFC 8439 §2.4, and the original variant with a 64-bit nonce and counter) and ChaCha20-Poly1305
//! (RFC 8439 §2.8), for 256-bit ChaCha keys.

use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20::{ChaCha20, ChaCha20Legacy};
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use zeroize::Zeroizing;

use super::cipher::rng_error;
use super::key_data::{KeyData, Kind};
use crate::backend::checks::{aead_tag, verify_tag_prefix};
use crate::backend::{BackendError, Ciphertext, ShortBytes};

/// The nonce the backend chooses when the caller gives none: RFC 8439's 96 bits.
const NONCE_LEN: usize = 12;
/// The original ChaCha20's nonce (64 bits, with a 64-bit block counter), which the KMIP profiles' ChaCha20 test
/// cases use.
const LEGACY_NONCE_LEN: usize = 8;
/// Poly1305's full tag.
const TAG_LEN: usize = 16;

fn chacha_key<'a>(data: &KeyData<'a>, what: &str) -> Result<&'a [u8], BackendError> {
    if data.kind == Kind::ChaCha20 {
        Ok(data.material)
    } else {
        Err(data.kind.cannot_be_used_for(what))
    }
}

/// The caller's nonce, or a random 96-bit one; either way the one the ciphertext returns.
fn nonce_or_fresh(nonce: Option<&[u8]>) -> Result<ShortBytes, BackendError> {
    match nonce {
        Some(n) => ShortBytes::new(n),
        None => {
            let mut n = [0u8; NONCE_LEN];
            getrandom::fill(&mut n).map_err(rng_error)?;
            ShortBytes::new(&n)
        }
    }
}

/// XORs the keystream from block 0 into `buf`: the same for encryption and decryption.
fn apply_keystream(key: &[u8], nonce: &[u8], buf: &mut [u8]) -> Result<(), BackendError> {
    let bad_key = || BackendError::InvalidInput("a ChaCha20 key is 32 bytes".into());
    let too_long = |_| BackendError::InvalidInput("ChaCha20 input exceeds its counter".into());
    match nonce.len() {
        NONCE_LEN => ChaCha20::new_from_slices(key, nonce)
            .map_err(|_| bad_key())?
            .try_apply_keystream(buf)
            .map_err(too_long),
        LEGACY_NONCE_LEN => ChaCha20Legacy::new_from_slices(key, nonce)
            .map_err(|_| bad_key())?
            .try_apply_keystream(buf)
            .map_err(too_long),
        n => Err(BackendError::InvalidInput(format!(
            "a ChaCha20 nonce is 12 bytes (RFC 8439) or 8 bytes (the original), got {n}"
        ))),
    }
}

/// ChaCha20 encryption; without `nonce` a random 96-bit one, returned in the ciphertext.
pub(crate) fn chacha20_encrypt(
    data: &KeyData<'_>,
    nonce: Option<&[u8]>,
    plaintext: &[u8],
) -> Result<Ciphertext, BackendError> {
    let key = chacha_key(data, "ChaCha20")?;
    let nonce = nonce_or_fresh(nonce)?;
    let mut buf = plaintext.to_vec();
    apply_keystream(key, &nonce, &mut buf)?;
    Ok(Ciphertext {
        data: buf,
        iv: Some(nonce),
        tag: None,
    })
}

/// ChaCha20 decryption (the keystream again).
pub(crate) fn chacha20_decrypt(
    data: &KeyData<'_>,
    nonce: Option<&[u8]>,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, BackendError> {
    let key = chacha_key(data, "ChaCha20")?;
    let nonce = nonce
        .ok_or_else(|| BackendError::InvalidInput("ChaCha20 decryption needs the nonce".into()))?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    apply_keystream(key, nonce, &mut buf)?;
    Ok(buf)
}

fn aead(key: &[u8]) -> Result<ChaCha20Poly1305, BackendError> {
    ChaCha20Poly1305::new_from_slice(key)
        .map_err(|_| BackendError::InvalidInput("a ChaCha20-Poly1305 key is 32 bytes".into()))
}

fn aead_nonce(nonce: &[u8]) -> Result<&Nonce, BackendError> {
    <&Nonce>::try_from(nonce).map_err(|_| {
        BackendError::InvalidInput(format!(
            "a ChaCha20-Poly1305 nonce is 12 bytes, got {}",
            nonce.len()
        ))
    })
}

/// ChaCha20-Poly1305 encryption; without `nonce` a random one, returned in the ciphertext with the tag's first
/// `tag_len` bytes.
pub(crate) fn chacha20_poly1305_encrypt(
    data: &KeyData<'_>,
    nonce: Option<&[u8]>,
    aad: &[u8],
    tag_len: usize,
    plaintext: &[u8],
) -> Result<Ciphertext, BackendError> {
    let key = chacha_key(data, "ChaCha20-Poly1305")?;
    let nonce = nonce_or_fresh(nonce)?;
    let mut buf = plaintext.to_vec();
    let tag = aead(key)?
        .encrypt_inout_detached(aead_nonce(&nonce)?, aad, buf.as_mut_slice().into())
        .map_err(|_| {
            BackendError::InvalidInput("ChaCha20-Poly1305 input exceeds its limits".into())
        })?;
    Ok(Ciphertext {
        data: buf,
        iv: Some(nonce),
        tag: Some(ShortBytes::new(tag.get(..tag_len).unwrap_or(&tag))?),
    })
}

/// ChaCha20-Poly1305 decryption; a tag that does not verify is [`BackendError::Crypto`]. A truncated tag
/// (`tag_len` under 16) is checked, in constant time, against the first bytes of the tag of the candidate
/// plaintext, which is released only when it matches.
pub(crate) fn chacha20_poly1305_decrypt(
    data: &KeyData<'_>,
    nonce: Option<&[u8]>,
    aad: &[u8],
    tag_len: usize,
    ciphertext: &[u8],
    tag: Option<&[u8]>,
) -> Result<Zeroizing<Vec<u8>>, BackendError> {
    let key = chacha_key(data, "ChaCha20-Poly1305")?;
    let nonce = nonce.ok_or_else(|| {
        BackendError::InvalidInput("ChaCha20-Poly1305 decryption needs the nonce".into())
    })?;
    let tag = aead_tag(tag, tag_len, "ChaCha20-Poly1305")?;
    if tag_len < TAG_LEN {
        return open_truncated(key, nonce, aad, ciphertext, tag);
    }
    let tag = <&Tag>::try_from(tag).map_err(|_| {
        BackendError::InvalidInput(format!(
            "a ChaCha20-Poly1305 tag is 16 bytes, got {}",
            tag.len()
        ))
    })?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    aead(key)?
        .decrypt_inout_detached(aead_nonce(nonce)?, aad, buf.as_mut_slice().into(), tag)
        .map_err(|_| BackendError::Crypto)?;
    Ok(buf)
}

/// RFC 8439 §2.8: the AEAD's keystream for the message starts at block 1 (block 0 keys Poly1305).
fn open_truncated(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, BackendError> {
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    let mut stream = ChaCha20::new_from_slices(key, nonce)
        .map_err(|_| BackendError::InvalidInput("a ChaCha20-Poly1305 nonce is 12 bytes".into()))?;
    stream.seek(64u64);
    stream.try_apply_keystream(&mut plain).map_err(|_| {
        BackendError::InvalidInput("ChaCha20-Poly1305 input exceeds its limits".into())
    })?;
    let mut again = Zeroizing::new(plain.to_vec());
    let full = aead(key)?
        .encrypt_inout_detached(aead_nonce(nonce)?, aad, again.as_mut_slice().into())
        .map_err(|_| BackendError::Crypto)?;
    // `again` is now the ciphertext recomputed; the tag decides, compared without a data-dependent branch.
    verify_tag_prefix(&full, tag)?;
    Ok(plain)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [0x42; 32];
    const NONCE: [u8; 12] = [7; 12];

    fn key() -> KeyData<'static> {
        KeyData {
            kind: Kind::ChaCha20,
            extractable: false,
            material: &KEY,
        }
    }

    #[test]
    fn truncated_tags_open_only_with_the_right_prefix() {
        let sealed =
            chacha20_poly1305_encrypt(&key(), Some(&NONCE), b"aad", 12, b"some plaintext").unwrap();
        let tag = sealed.tag.unwrap();
        assert_eq!(tag.len(), 12);
        let opened =
            chacha20_poly1305_decrypt(&key(), Some(&NONCE), b"aad", 12, &sealed.data, Some(&tag))
                .unwrap();
        assert_eq!(&opened[..], b"some plaintext");
        let mut bad = tag;
        bad[11] ^= 1;
        assert!(matches!(
            chacha20_poly1305_decrypt(&key(), Some(&NONCE), b"aad", 12, &sealed.data, Some(&bad)),
            Err(BackendError::Crypto)
        ));
        assert!(matches!(
            chacha20_poly1305_decrypt(&key(), Some(&NONCE), b"aaD", 12, &sealed.data, Some(&tag)),
            Err(BackendError::Crypto)
        ));
    }

    #[test]
    fn the_full_tag_starts_with_the_truncated_one() {
        let full = chacha20_poly1305_encrypt(&key(), Some(&NONCE), b"", 16, b"x").unwrap();
        let short = chacha20_poly1305_encrypt(&key(), Some(&NONCE), b"", 13, b"x").unwrap();
        assert_eq!(full.data, short.data);
        assert_eq!(&full.tag.unwrap()[..13], &short.tag.unwrap()[..]);
    }

    #[test]
    fn other_keys_and_nonces_are_refused() {
        let aes = KeyData {
            kind: Kind::Aes,
            extractable: false,
            material: &KEY,
        };
        assert!(chacha20_encrypt(&aes, Some(&NONCE), b"x").is_err());
        assert!(chacha20_encrypt(&key(), Some(&[0; 10]), b"x").is_err());
        assert!(chacha20_poly1305_encrypt(&key(), Some(&[0; 8]), b"", 16, b"x").is_err());
    }
}
