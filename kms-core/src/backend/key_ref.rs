//! The opaque, versioned reference a backend issues for each key it holds.

use std::fmt;

use zeroize::Zeroizing;

use super::BackendError;

/// A reference to a key held by a [`KeyBackend`](super::KeyBackend).
///
/// Only the issuing backend interprets `data`: sealed or plain material (software), a token object id (PKCS#11),
/// a wrapped blob (TPM). It may contain secrets, so it is zeroized on drop, `Debug` shows no data, and the store
/// seals it at rest. `version` lets a backend change its encoding and still read old records.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRef {
    backend: String,
    version: u16,
    data: Zeroizing<Vec<u8>>,
}

/// Longest backend id accepted when decoding, so a corrupt record cannot claim a huge one.
const MAX_BACKEND_ID: usize = 64;

impl KeyRef {
    /// A reference issued by backend `backend` in its encoding `version`.
    #[must_use]
    pub fn new(backend: impl Into<String>, version: u16, data: Zeroizing<Vec<u8>>) -> Self {
        Self {
            backend: backend.into(),
            version,
            data,
        }
    }

    /// The id of the backend that issued it.
    #[must_use]
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The backend's encoding version.
    #[must_use]
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The backend-private data.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Checks that `backend` issued this reference, in an encoding version it reads.
    ///
    /// # Errors
    /// [`BackendError::ForeignKeyRef`] otherwise.
    pub fn expect(&self, backend: &str, max_version: u16) -> Result<&[u8], BackendError> {
        if self.backend == backend && self.version <= max_version {
            Ok(&self.data)
        } else {
            Err(BackendError::ForeignKeyRef)
        }
    }

    /// The storage encoding: `len(backend) u8 || backend || version u16 BE || data`.
    #[must_use]
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(3 + self.backend.len() + self.data.len()));
        // Backend ids are short ASCII names; `new` callers are backends, not wire input.
        let id = &self.backend.as_bytes()[..self.backend.len().min(MAX_BACKEND_ID)];
        out.push(id.len() as u8);
        out.extend_from_slice(id);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// Reads the storage encoding.
    ///
    /// # Errors
    /// [`BackendError::MalformedKeyRef`] when it is truncated or the backend id is not UTF-8.
    pub fn decode(bytes: &[u8]) -> Result<Self, BackendError> {
        let (&len, rest) = bytes.split_first().ok_or(BackendError::MalformedKeyRef)?;
        let len = usize::from(len);
        if len > MAX_BACKEND_ID || rest.len() < len + 2 {
            return Err(BackendError::MalformedKeyRef);
        }
        let backend =
            std::str::from_utf8(&rest[..len]).map_err(|_| BackendError::MalformedKeyRef)?;
        let version = u16::from_be_bytes([rest[len], rest[len + 1]]);
        Ok(Self::new(
            backend,
            version,
            Zeroizing::new(rest[len + 2..].to_vec()),
        ))
    }
}

impl fmt::Debug for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRef")
            .field("backend", &self.backend)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_rejects_truncation() {
        let r = KeyRef::new("software", 3, Zeroizing::new(vec![1, 2, 3]));
        let enc = r.encode();
        assert_eq!(KeyRef::decode(&enc).unwrap(), r);
        for cut in 0..(enc.len() - 3) {
            assert!(KeyRef::decode(&enc[..cut]).is_err(), "cut at {cut}");
        }
        assert!(!format!("{r:?}").contains("[1, 2, 3]"));
    }
}
