//! The TPM-wrapped key blob: what a [`KeyRef`] of this backend and a sealed blob carry.
//!
//! A TPM keeps few objects, so keys live outside it: TPM2_Create returns the public area and the private area
//! encrypted under the parent (our storage primary key), and only a TPM with the same storage key can load them
//! again. The blob also names the parent, so a blob made under another TPM's storage key is refused before the
//! TPM is even asked.
//!
//! Encoding (version 1): `kind u8 || parent name (u16 BE length || bytes) || TPMT_PUBLIC (u16 || bytes) ||
//! TPM2B_PRIVATE buffer (u16 || bytes)`; public-only references have an empty parent name and private part.

use sha2::{Digest as _, Sha256};
use tss_esapi::structures::{Private, Public};
use tss_esapi::traits::{Marshall, UnMarshall};
use zeroize::Zeroizing;

use crate::error::TpmError;

/// Longest name (algorithm id + SHA-512 digest).
const MAX_NAME: usize = 2 + 64;
/// Longest TPMT_PUBLIC accepted (an RSA-4096 public area with a policy is well under it).
const MAX_PUBLIC: usize = 1024;
/// Longest TPM2B_PRIVATE buffer (`sizeof(_PRIVATE)` in the reference implementation is under 1 KiB).
const MAX_PRIVATE: usize = 1024;

/// What a blob holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An RSA-2048 key pair usable for signing and/or OAEP decryption.
    RsaPrivate = 1,
    /// The public half of an RSA key (verification and encryption in software).
    RsaPublic = 2,
    /// An ECDSA P-256 key pair.
    EcP256Private = 3,
    /// The public half of a P-256 key.
    EcP256Public = 4,
    /// An HMAC key (a keyed-hash object with the HMAC scheme).
    Hmac = 5,
    /// Data sealed to the TPM (a keyed-hash object with no scheme).
    Sealed = 6,
    /// An attestation key: restricted, signing, fixedTPM.
    AttestationKey = 7,
}

impl Kind {
    fn from_u8(v: u8) -> Result<Self, TpmError> {
        Ok(match v {
            1 => Kind::RsaPrivate,
            2 => Kind::RsaPublic,
            3 => Kind::EcP256Private,
            4 => Kind::EcP256Public,
            5 => Kind::Hmac,
            6 => Kind::Sealed,
            7 => Kind::AttestationKey,
            _ => return Err(TpmError::MalformedBlob),
        })
    }

    /// Whether the blob has a private part the TPM must load.
    pub(crate) fn is_loadable(self) -> bool {
        !matches!(self, Kind::RsaPublic | Kind::EcP256Public)
    }
}

/// A decoded blob.
#[derive(Clone)]
pub(crate) struct KeyBlob {
    pub(crate) kind: Kind,
    pub(crate) parent_name: Vec<u8>,
    pub(crate) public: Public,
    /// The marshalled TPMT_PUBLIC, kept for the object's name and the cache id.
    pub(crate) public_bytes: Vec<u8>,
    /// Encrypted by the TPM under the parent, but still only usable by that TPM: zeroized anyway.
    pub(crate) private: Zeroizing<Vec<u8>>,
}

impl KeyBlob {
    pub(crate) fn new(
        kind: Kind,
        parent_name: &[u8],
        public: Public,
        private: Option<&Private>,
    ) -> Result<Self, TpmError> {
        let public_bytes = public
            .marshall()
            .map_err(TpmError::tss("Marshal(TPMT_PUBLIC)"))?;
        Ok(Self {
            kind,
            parent_name: parent_name.to_vec(),
            public,
            public_bytes,
            private: Zeroizing::new(private.map(|p| p.value().to_vec()).unwrap_or_default()),
        })
    }

    /// The public half of a key pair blob.
    pub(crate) fn public_half(&self, kind: Kind) -> Self {
        Self {
            kind,
            parent_name: Vec::new(),
            public: self.public.clone(),
            public_bytes: self.public_bytes.clone(),
            private: Zeroizing::new(Vec::new()),
        }
    }

    pub(crate) fn private(&self) -> Result<Private, TpmError> {
        Private::try_from(self.private.to_vec()).map_err(|_| TpmError::MalformedBlob)
    }

    /// A cache id: the SHA-256 of the public and private parts (two loads of one blob are one object).
    pub(crate) fn id(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update((self.public_bytes.len() as u32).to_be_bytes());
        h.update(&self.public_bytes);
        h.update(&self.private[..]);
        h.finalize().into()
    }

    pub(crate) fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(
            7 + self.parent_name.len() + self.public_bytes.len() + self.private.len(),
        ));
        out.push(self.kind as u8);
        for part in [&self.parent_name[..], &self.public_bytes, &self.private] {
            // Lengths were bounded when the parts were made (TPM buffers are u16-sized).
            out.extend_from_slice(&(part.len() as u16).to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, TpmError> {
        let (&kind, mut rest) = bytes.split_first().ok_or(TpmError::MalformedBlob)?;
        let kind = Kind::from_u8(kind)?;
        let mut take = |max: usize| -> Result<&[u8], TpmError> {
            if rest.len() < 2 {
                return Err(TpmError::MalformedBlob);
            }
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            if len > max || rest.len() < 2 + len {
                return Err(TpmError::MalformedBlob);
            }
            let part = &rest[2..2 + len];
            rest = &rest[2 + len..];
            Ok(part)
        };
        let parent_name = take(MAX_NAME)?.to_vec();
        let public_bytes = take(MAX_PUBLIC)?.to_vec();
        let private = Zeroizing::new(take(MAX_PRIVATE)?.to_vec());
        if !rest.is_empty() {
            return Err(TpmError::MalformedBlob);
        }
        if kind.is_loadable() == (private.is_empty() || parent_name.is_empty()) {
            return Err(TpmError::MalformedBlob);
        }
        let public = Public::unmarshall(&public_bytes).map_err(|_| TpmError::MalformedBlob)?;
        let blob = Self {
            kind,
            parent_name,
            public,
            public_bytes,
            private,
        };
        blob.check_kind()?;
        Ok(blob)
    }

    /// The public area must be of the kind the header claims, so no later match can be surprised.
    fn check_kind(&self) -> Result<(), TpmError> {
        let ok = matches!(
            (self.kind, &self.public),
            (Kind::RsaPrivate | Kind::RsaPublic, Public::Rsa { .. })
                | (
                    Kind::EcP256Private | Kind::EcP256Public | Kind::AttestationKey,
                    Public::Ecc { .. }
                )
                | (Kind::Hmac | Kind::Sealed, Public::KeyedHash { .. })
        );
        if ok {
            Ok(())
        } else {
            Err(TpmError::MalformedBlob)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_garbage_blobs_are_refused() {
        assert!(KeyBlob::decode(&[]).is_err());
        assert!(KeyBlob::decode(&[1]).is_err());
        assert!(KeyBlob::decode(&[9, 0, 0, 0, 0, 0, 0]).is_err());
        // Lengths longer than what follows.
        assert!(KeyBlob::decode(&[1, 0, 4, 1, 2]).is_err());
        // A public area that does not unmarshal.
        assert!(KeyBlob::decode(&[2, 0, 0, 0, 3, 1, 2, 3, 0, 0]).is_err());
        for len in [0u8, 1, 2, 7, 200] {
            let junk = vec![0xA5; usize::from(len)];
            assert!(KeyBlob::decode(&junk).is_err());
        }
    }
}
