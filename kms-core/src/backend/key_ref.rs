//! The opaque, versioned reference a backend issues for each key it holds.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

use zeroize::Zeroizing;

use super::BackendError;

/// A reference to a key held by a [`KeyBackend`](super::KeyBackend).
///
/// Only the issuing backend interprets `data`: sealed or plain material (software), a token object id (PKCS#11),
/// a wrapped blob (TPM). It may contain secrets, so it is zeroized on drop, `Debug` shows no data, and the store
/// seals it at rest. `version` lets a backend change its encoding and still read old records.
///
/// The issuing backend may also keep the form of the key its operations use (a parsed key, an expanded AES key
/// schedule) with the reference ([`KeyRef::prepared`]), so that a reference held in memory, as the manager's
/// object cache holds them, is prepared once instead of being looked up on every use. That form is no part of
/// the encoding, of equality or of `Debug`, and is dropped with the last copy of the reference.
#[derive(Clone)]
pub struct KeyRef {
    backend: String,
    version: u16,
    data: Zeroizing<Vec<u8>>,
    prepared: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl PartialEq for KeyRef {
    fn eq(&self, other: &Self) -> bool {
        self.backend == other.backend && self.version == other.version && self.data == other.data
    }
}

impl Eq for KeyRef {}

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
            prepared: OnceLock::new(),
        }
    }

    /// The prepared form of the key that the issuing backend kept with this reference, if it kept one of type
    /// `T` (see [`KeyRef::prepare`]).
    #[must_use]
    pub fn prepared<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.prepared.get()?.downcast_ref()
    }

    /// Keeps `form`, the key as the backend's operations use it, with this reference (and its later clones),
    /// unless a form is kept already. Only the backend that issued the reference may call it: the form must be
    /// derived from this reference's data alone, and it should zeroize itself on drop.
    pub fn prepare<T: Any + Send + Sync>(&self, form: Arc<T>) {
        // A concurrent first use may have kept an equal form already; either one serves.
        let _ = self.prepared.set(form);
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
        let (&len, rest) = bytes
            .split_first()
            .ok_or_else(|| BackendError::MalformedKeyRef)?;
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

    #[test]
    fn the_prepared_form_is_kept_once_and_ignored_by_equality() {
        let r = KeyRef::new("software", 1, Zeroizing::new(vec![1, 2, 3]));
        assert!(r.prepared::<u32>().is_none());
        r.prepare(Arc::new(7u32));
        r.prepare(Arc::new(8u32));
        assert_eq!(r.prepared::<u32>(), Some(&7));
        assert!(r.prepared::<u64>().is_none());
        let copy = r.clone();
        assert_eq!(copy.prepared::<u32>(), Some(&7));
        assert_eq!(
            copy,
            KeyRef::new("software", 1, Zeroizing::new(vec![1, 2, 3]))
        );
        assert_eq!(KeyRef::decode(&r.encode()).unwrap(), r);
    }
}
