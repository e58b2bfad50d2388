//! The hashes of [`HashingAlgorithm`], dispatched at run time.

use sha2::Digest as _;

use crate::backend::{BackendError, HashingAlgorithm};

/// The longest digest (SHA-512).
const MAX_DIGEST: usize = 64;

/// A digest, on the stack.
pub(crate) struct Digest {
    buf: [u8; MAX_DIGEST],
    len: usize,
}

impl Digest {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn from_slice(d: &[u8]) -> Self {
        let mut buf = [0; MAX_DIGEST];
        buf[..d.len()].copy_from_slice(d);
        Self { buf, len: d.len() }
    }
}

/// Digest length in bytes.
pub(crate) fn output_len(h: HashingAlgorithm) -> usize {
    match h {
        HashingAlgorithm::Sha1 => 20,
        HashingAlgorithm::Sha224 => 28,
        HashingAlgorithm::Sha256 => 32,
        HashingAlgorithm::Sha384 => 48,
        HashingAlgorithm::Sha512 => 64,
    }
}

/// Hashes `data`.
pub(crate) fn digest(h: HashingAlgorithm, data: &[u8]) -> Digest {
    match h {
        HashingAlgorithm::Sha1 => Digest::from_slice(&sha1::Sha1::digest(data)),
        HashingAlgorithm::Sha224 => Digest::from_slice(&sha2::Sha224::digest(data)),
        HashingAlgorithm::Sha256 => Digest::from_slice(&sha2::Sha256::digest(data)),
        HashingAlgorithm::Sha384 => Digest::from_slice(&sha2::Sha384::digest(data)),
        HashingAlgorithm::Sha512 => Digest::from_slice(&sha2::Sha512::digest(data)),
    }
}

/// The digest a signature covers: computed from the message, or the caller's, checked for length.
pub(crate) fn prehash(
    h: HashingAlgorithm,
    input: crate::backend::SignInput<'_>,
) -> Result<Digest, BackendError> {
    match input {
        crate::backend::SignInput::Message(m) => Ok(digest(h, m)),
        crate::backend::SignInput::Digest(d) => {
            if d.len() == output_len(h) {
                Ok(Digest::from_slice(d))
            } else {
                Err(BackendError::InvalidInput(format!(
                    "a {h:?} digest is {} bytes, got {}",
                    output_len(h),
                    d.len()
                )))
            }
        }
    }
}
