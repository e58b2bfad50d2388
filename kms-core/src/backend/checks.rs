//! Request rules every backend applies the same way, so that a request is accepted or refused alike whichever
//! backend holds the key.

use std::ops::RangeInclusive;

use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use super::BackendError;

/// Shortest MAC accepted by [`verify_truncated_mac`]: truncation to the leftmost bytes (RFC 2104 §5, RFC 4231
/// test case 5) is allowed down to 128 bits, beyond which forgery by guessing stops being negligible.
pub const MIN_MAC_LEN: usize = 16;

/// Checks `given`, a MAC value that may be truncated to its leftmost bytes (RFC 2104 §5), against `full`, the
/// MAC the backend computed; the comparison is constant-time.
///
/// # Errors
/// [`BackendError::InvalidInput`] when `given` is shorter than [`MIN_MAC_LEN`] or longer than `full`;
/// [`BackendError::Crypto`] when it is not the leftmost bytes of `full`.
pub fn verify_truncated_mac(full: &[u8], given: &[u8]) -> Result<(), BackendError> {
    if given.len() < MIN_MAC_LEN || given.len() > full.len() {
        return Err(BackendError::InvalidInput(format!(
            "a MAC value is {MIN_MAC_LEN} to {} bytes, got {}",
            full.len(),
            given.len()
        )));
    }
    verify_tag_prefix(full, given)
}

/// Checks in constant time that `given` is the leftmost bytes of `full`: a truncated authentication tag
/// (SP 800-38D §5.2.1.2, RFC 8439 tags truncated as GCM's) whose length the caller has already checked against
/// the mode's rules.
///
/// # Errors
/// [`BackendError::Crypto`] when it is not (including when `given` is longer than `full`).
pub fn verify_tag_prefix(full: &[u8], given: &[u8]) -> Result<(), BackendError> {
    let matches = full
        .get(..given.len())
        .is_some_and(|prefix| bool::from(prefix.ct_eq(given)));
    if matches {
        Ok(())
    } else {
        Err(BackendError::Crypto)
    }
}

/// The AES block, and the AES-CBC IV length.
pub const AES_BLOCK: usize = 16;

/// Shortest and longest AEAD tags accepted, for AES-GCM and ChaCha20-Poly1305 alike (SP 800-38D §5.2.1.2 allows
/// 96 to 128 bits for general use).
pub const AEAD_TAG_LENS: RangeInclusive<usize> = 12..=16;

/// AES-GCM IV lengths accepted: SP 800-38D §8.2.1's recommended 96 bits, and those of NIST's GCM test vectors
/// and of the KMIP profiles' CS-BC-M-GCM cases (64, 128 and 480 bits), which are hashed into J0.
pub const GCM_IV_LENS: [usize; 4] = [8, 12, 16, 60];

/// Checks the Tag Length of an AEAD request against [`AEAD_TAG_LENS`].
///
/// # Errors
/// [`BackendError::InvalidInput`] outside it.
pub fn check_aead_tag_len(tag_len: usize) -> Result<(), BackendError> {
    if AEAD_TAG_LENS.contains(&tag_len) {
        Ok(())
    } else {
        Err(BackendError::InvalidInput(format!(
            "an AEAD tag length must be 12 to 16 bytes, got {tag_len}"
        )))
    }
}

/// The tag of an AEAD decryption request (`what` names the mode), which must be there and be as long as the
/// request's Tag Length says.
///
/// # Errors
/// [`BackendError::InvalidInput`] when it is missing or of another length.
pub fn aead_tag<'a>(
    tag: Option<&'a [u8]>,
    tag_len: usize,
    what: &str,
) -> Result<&'a [u8], BackendError> {
    let tag =
        tag.ok_or_else(|| BackendError::InvalidInput(format!("{what} decryption needs the tag")))?;
    if tag.len() == tag_len {
        Ok(tag)
    } else {
        Err(BackendError::InvalidInput(format!(
            "{what} tag is {} bytes, the parameters say {tag_len}",
            tag.len()
        )))
    }
}

/// Checks an AES-GCM IV's length against [`GCM_IV_LENS`].
///
/// # Errors
/// [`BackendError::InvalidInput`] for any other length.
pub fn check_gcm_iv(iv: &[u8]) -> Result<(), BackendError> {
    if GCM_IV_LENS.contains(&iv.len()) {
        Ok(())
    } else {
        Err(BackendError::InvalidInput(format!(
            "AES-GCM IV must be 8, 12, 16 or 60 bytes, got {}",
            iv.len()
        )))
    }
}

/// An AES-CBC IV: one block.
///
/// # Errors
/// [`BackendError::InvalidInput`] for any other length.
pub fn cbc_iv(iv: &[u8]) -> Result<[u8; AES_BLOCK], BackendError> {
    <[u8; AES_BLOCK]>::try_from(iv).map_err(|_| {
        BackendError::InvalidInput(format!("AES-CBC IV must be 16 bytes, got {}", iv.len()))
    })
}

/// Checks that `len` bytes are whole AES blocks, as ECB and CBC without padding take (`what` names the mode).
///
/// # Errors
/// [`BackendError::InvalidInput`] otherwise.
pub fn check_whole_blocks(len: usize, what: &str) -> Result<(), BackendError> {
    if len.is_multiple_of(AES_BLOCK) {
        Ok(())
    } else {
        Err(BackendError::InvalidInput(format!(
            "{what} without padding takes whole 16-byte blocks, got {len} bytes"
        )))
    }
}

/// PKCS#5 (PKCS#7 on 16-byte blocks, RFC 5652 §6.3) padding: 1 to 16 bytes, each the pad length.
#[must_use]
pub fn pkcs5_pad(data: &[u8]) -> Vec<u8> {
    let n = AES_BLOCK - data.len() % AES_BLOCK;
    let mut out = Vec::with_capacity(data.len() + n);
    out.extend_from_slice(data);
    out.resize(data.len() + n, u8::try_from(n).unwrap_or(16));
    out
}

/// Removes PKCS#5 padding, looking at every padding byte whatever the outcome.
///
/// # Errors
/// A bad pad is the opaque [`BackendError::Crypto`], so that it cannot become a padding oracle.
pub fn pkcs5_unpad(mut data: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>, BackendError> {
    let Some(&last) = data.last() else {
        return Err(BackendError::Crypto);
    };
    let n = usize::from(last);
    let mut bad = u8::from(n == 0 || n > AES_BLOCK || n > data.len());
    let tail = &data[data.len().saturating_sub(AES_BLOCK)..];
    for (i, b) in tail.iter().rev().enumerate() {
        let in_pad = u8::from(i < n);
        bad |= in_pad & u8::from(*b != last);
    }
    if bad != 0 {
        return Err(BackendError::Crypto);
    }
    let len = data.len() - n;
    data.truncate(len);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_macs_within_the_bounds_verify() {
        let full = [7u8; 32];
        assert!(verify_truncated_mac(&full, &full).is_ok());
        assert!(verify_truncated_mac(&full, &full[..MIN_MAC_LEN]).is_ok());
        assert!(matches!(
            verify_truncated_mac(&full, &full[..MIN_MAC_LEN - 1]),
            Err(BackendError::InvalidInput(_))
        ));
        assert!(matches!(
            verify_truncated_mac(&full, &[7u8; 33]),
            Err(BackendError::InvalidInput(_))
        ));
        let mut bad = full;
        bad[MIN_MAC_LEN - 1] ^= 1;
        assert!(matches!(
            verify_truncated_mac(&full, &bad[..MIN_MAC_LEN]),
            Err(BackendError::Crypto)
        ));
        assert!(matches!(
            verify_tag_prefix(&full[..12], &full[..13]),
            Err(BackendError::Crypto)
        ));
    }

    #[test]
    fn pkcs5_padding_round_trips_and_refuses_bad_pads() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| u8::try_from(i).unwrap()).collect();
            let padded = pkcs5_pad(&data);
            assert_eq!(padded.len() % 16, 0);
            assert!(padded.len() > data.len());
            assert_eq!(&pkcs5_unpad(Zeroizing::new(padded)).unwrap()[..], &data[..]);
        }
        for bad in [vec![0u8; 16], vec![17u8; 16], {
            let mut v = vec![3u8; 16];
            v[14] = 2;
            v
        }] {
            assert!(pkcs5_unpad(Zeroizing::new(bad)).is_err());
        }
    }
}
