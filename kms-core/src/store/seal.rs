//! Sealing at rest: the record format of durable stores, AES-256-GCM under a root key.
//!
//! A durable store keeps each object as one *record*: a small header (format, version), the object's metadata in a
//! compact serde encoding (MessagePack,
//! structs as arrays), and the sealed [`KeyRef`]. The seal is AES-256-GCM with a fresh random 96-bit
//! nonce per record; its associated data binds a domain tag, the object id, the version and the metadata, so that:
//!
//! - a copied database file leaks no key material (only the root key, kept outside the database, opens it);
//! - a flipped bit anywhere in a record, a record moved under another id, or a sealed key spliced into a record of
//!   another version fails with [`StoreError::Integrity`], never yields garbage;
//! - a database opened with the wrong root key fails with [`StoreError::Integrity`] on every read.
//!
//! What the seal cannot detect is a whole, self-consistent record rolled back to an older copy of itself: that needs
//! state outside the database. Every seal draws a fresh random nonce, so one root key must not seal more than 2^32
//! records (NIST SP 800-38D §8.3); the stores here seal once per put or update.
//!
//! The root key comes from a [`RootKeyProvider`]. [`FileRootKey`] (a 0600 file, generated on first start) is the
//! default; HSM-wrapped and TPM-sealed providers implement the same one-method trait.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Key};
use zeroize::{Zeroize, Zeroizing};

type Nonce = aes_gcm::aead::Nonce<Aes256Gcm>;

use super::{StoreError, StoredObject};
use crate::backend::KeyRef;
use crate::object::{ObjectId, ObjectMetadata};

/// Length of a root key: AES-256.
pub const ROOT_KEY_LEN: usize = 32;

/// A source of the root key that seals every record of a store.
///
/// Small on purpose: a file, an HSM-unwrapped key or a TPM-unsealed key all reduce to "give me the 256 bits".
/// Stores call it once when they open.
pub trait RootKeyProvider: Send + Sync {
    /// The 256-bit root key.
    ///
    /// # Errors
    /// [`RootKeyError`] when the key cannot be read, is malformed, is stored insecurely, or the device holding it
    /// is unavailable.
    fn root_key(&self) -> Result<Zeroizing<[u8; ROOT_KEY_LEN]>, RootKeyError>;
}

/// Why a root key could not be provided.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RootKeyError {
    /// The key file may be read or written by its group or by others.
    #[error(
        "root key file {path} has mode {mode:o}: group and others must have no access (chmod 600)"
    )]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file does not hold exactly [`ROOT_KEY_LEN`] bytes.
    #[error("root key file {path} holds {len} bytes, not {ROOT_KEY_LEN}")]
    WrongLength {
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// The key path is not a regular file (a directory, a symlink, a device), or was replaced while read.
    #[error("root key path {path} is not a regular file")]
    NotAFile {
        /// The key path.
        path: PathBuf,
    },
    /// Reading or creating the key file failed.
    #[error("root key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The operating system's random generator failed while generating a key.
    #[error("the operating system's random generator failed")]
    Random,
    /// The device or service that holds the key (HSM, TPM) failed or cannot be reached.
    #[error("root key provider failed: {0}")]
    Provider(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<RootKeyError> for StoreError {
    fn from(e: RootKeyError) -> Self {
        match e {
            RootKeyError::Provider(_) => StoreError::Unavailable(Box::new(e)),
            other => StoreError::Storage(Box::new(other)),
        }
    }
}

/// The default root key: 32 random bytes in a file readable by its owner only.
///
/// [`FileRootKey::in_data_dir`] generates the file on first start (with the operating system's random generator)
/// and reads it afterwards; [`FileRootKey::existing`] only reads, for keys that several servers share. Either way
/// a file that its group or others may access, or that is not exactly 32 bytes long, is refused rather than used.
#[derive(Clone, Debug)]
pub struct FileRootKey {
    path: PathBuf,
    create: bool,
}

impl FileRootKey {
    /// The file name [`FileRootKey::in_data_dir`] uses.
    pub const FILE_NAME: &'static str = "root.key";

    /// The key file `root.key` in a store's data directory, generated when missing.
    #[must_use]
    pub fn in_data_dir(dir: impl AsRef<Path>) -> Self {
        Self {
            path: dir.as_ref().join(Self::FILE_NAME),
            create: true,
        }
    }

    /// A key file that must exist already (e.g. `--root-key-file`, shared by several servers); never generated.
    #[must_use]
    pub fn existing(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            create: false,
        }
    }

    /// The key file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: io::Error) -> RootKeyError {
        RootKeyError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn read(&self) -> Result<Zeroizing<[u8; ROOT_KEY_LEN]>, RootKeyError> {
        // A symlink could point the store at a key file with other permissions than the ones checked here.
        let link = fs::symlink_metadata(&self.path).map_err(|e| self.io(e))?;
        if !link.file_type().is_file() {
            return Err(RootKeyError::NotAFile {
                path: self.path.clone(),
            });
        }
        let mut file = File::open(&self.path).map_err(|e| self.io(e))?;
        // Checked on the open handle, so the file cannot be swapped between check and read.
        let meta = file.metadata().map_err(|e| self.io(e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if (meta.dev(), meta.ino()) != (link.dev(), link.ino()) {
                return Err(RootKeyError::NotAFile {
                    path: self.path.clone(),
                });
            }
        }
        if !meta.is_file() {
            return Err(RootKeyError::NotAFile {
                path: self.path.clone(),
            });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(RootKeyError::InsecurePermissions {
                    path: self.path.clone(),
                    mode,
                });
            }
        }
        if meta.len() != ROOT_KEY_LEN as u64 {
            return Err(RootKeyError::WrongLength {
                path: self.path.clone(),
                len: meta.len(),
            });
        }
        let mut key = Zeroizing::new([0u8; ROOT_KEY_LEN]);
        file.read_exact(key.as_mut()).map_err(|e| self.io(e))?;
        Ok(key)
    }

    /// Writes a fresh key next to the final path and links it into place, so that a crash leaves either no key
    /// file or a complete one, and two processes starting at once end up with the same key.
    fn generate(&self) -> Result<(), RootKeyError> {
        let mut key = Zeroizing::new([0u8; ROOT_KEY_LEN]);
        getrandom::fill(key.as_mut()).map_err(|_| RootKeyError::Random)?;
        let tmp = self
            .path
            .with_extension(format!("tmp-{}", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let _ = fs::remove_file(&tmp);
        let result = (|| {
            let mut file = options.open(&tmp)?;
            file.write_all(key.as_ref())?;
            file.sync_all()?;
            match fs::hard_link(&tmp, &self.path) {
                // Another process generated it first: use theirs.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            }
        })();
        let _ = fs::remove_file(&tmp);
        result.map_err(|e| self.io(e))?;
        if let Some(dir) = self.path.parent() {
            sync_dir(dir).map_err(|e| self.io(e))?;
        }
        tracing::info!(path = %self.path.display(), "generated a new root key");
        Ok(())
    }
}

/// Makes a directory entry (a new file, a rename) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

impl RootKeyProvider for FileRootKey {
    fn root_key(&self) -> Result<Zeroizing<[u8; ROOT_KEY_LEN]>, RootKeyError> {
        match self.read() {
            Err(RootKeyError::Io { source, .. })
                if self.create && source.kind() == io::ErrorKind::NotFound =>
            {
                self.generate()?;
                self.read()
            }
            other => other,
        }
    }
}

/// A root key given directly, e.g. unwrapped by the application itself. Mostly for tests and tools.
pub struct StaticRootKey(Zeroizing<[u8; ROOT_KEY_LEN]>);

impl StaticRootKey {
    /// Wraps a key.
    #[must_use]
    pub fn new(key: Zeroizing<[u8; ROOT_KEY_LEN]>) -> Self {
        Self(key)
    }
}

impl std::fmt::Debug for StaticRootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticRootKey(..)")
    }
}

impl RootKeyProvider for StaticRootKey {
    fn root_key(&self) -> Result<Zeroizing<[u8; ROOT_KEY_LEN]>, RootKeyError> {
        Ok(self.0.clone())
    }
}

/// Format byte of the record layout below.
const FORMAT_V1: u8 = 1;
/// Domain separation of the associated data: nothing else sealed under a root key can pass for a record.
const DOMAIN: &[u8] = b"kms-core/store/sealed-record/v1\0";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// format (1) || version (8, BE) || metadata length (4, BE).
const HEADER_LEN: usize = 13;
/// Largest record sealed or opened: metadata plus key, well above an RSA-4096 private key with many attributes.
pub const MAX_RECORD_LEN: usize = 1 << 20;

/// Seals and opens records under one root key.
///
/// Record layout (all integers big-endian):
///
/// ```text
/// format u8 = 1 | version u64 | metadata length u32 | metadata (MessagePack) | nonce [12] | ciphertext | tag [16]
/// plaintext = 0x00 (no key value)  or  0x01 || KeyRef::encode()
/// AAD       = "kms-core/store/sealed-record/v1\0" || id length u16 || id || format, version, metadata as stored
/// ```
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer under the provider's root key.
    ///
    /// # Errors
    /// The provider's [`RootKeyError`].
    pub fn new(provider: &dyn RootKeyProvider) -> Result<Self, RootKeyError> {
        let key = provider.root_key()?;
        Ok(Self::from_root_key(&key))
    }

    /// A sealer under `key`.
    #[must_use]
    pub fn from_root_key(key: &[u8; ROOT_KEY_LEN]) -> Self {
        let mut k = Key::<Aes256Gcm>::from(*key);
        let cipher = Aes256Gcm::new(&k);
        k.as_mut_slice().zeroize();
        Self { cipher }
    }

    /// Encodes and seals `object` as a record for `object.metadata.id` at `object.version`.
    ///
    /// # Errors
    /// [`StoreError::InvalidRequest`] when the record would exceed [`MAX_RECORD_LEN`]; [`StoreError::Storage`] when
    /// the random generator fails.
    pub fn seal_record(&self, object: &StoredObject) -> Result<Vec<u8>, StoreError> {
        self.seal(&object.metadata, object.key.as_ref(), object.version)
    }

    /// Encodes and seals a record of `metadata` and `key` at `version` (the version an update will store).
    ///
    /// # Errors
    /// As [`Sealer::seal_record`].
    pub fn seal(
        &self,
        metadata: &ObjectMetadata,
        key: Option<&KeyRef>,
        version: u64,
    ) -> Result<Vec<u8>, StoreError> {
        let encoded = rmp_serde::to_vec(metadata)
            .map_err(|e| StoreError::Storage(Box::new(EncodingError(e))))?;
        let mut plaintext = Zeroizing::new(Vec::new());
        match key {
            None => plaintext.push(0),
            Some(k) => {
                let k = k.encode();
                plaintext.reserve_exact(1 + k.len() + TAG_LEN);
                plaintext.push(1);
                plaintext.extend_from_slice(&k);
            }
        }
        let total = HEADER_LEN + encoded.len() + NONCE_LEN + plaintext.len() + TAG_LEN;
        if total > MAX_RECORD_LEN {
            return Err(StoreError::InvalidRequest("object record too large"));
        }
        let metadata_len = u32::try_from(encoded.len())
            .map_err(|_| StoreError::InvalidRequest("object record too large"))?;
        let mut record = Vec::with_capacity(total);
        record.push(FORMAT_V1);
        record.extend_from_slice(&version.to_be_bytes());
        record.extend_from_slice(&metadata_len.to_be_bytes());
        record.extend_from_slice(&encoded);
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| {
            StoreError::Storage(Box::new(io::Error::other(format!(
                "random generator failed: {e}"
            ))))
        })?;
        let aad = associated_data(&metadata.id, &record);
        // The plaintext is encrypted in place inside its zeroizing buffer, so no copy of the key outlives this call.
        self.cipher
            .encrypt_in_place(&Nonce::from(nonce), &aad, &mut *plaintext)
            .map_err(|_| StoreError::InvalidRequest("object record too large"))?;
        record.extend_from_slice(&nonce);
        record.extend_from_slice(&plaintext);
        Ok(record)
    }

    /// Verifies and opens the record stored under `id`.
    ///
    /// # Errors
    /// [`StoreError::Integrity`] when the record is malformed, was altered, belongs to another id, or was sealed
    /// under another root key.
    pub fn open_record(&self, id: &ObjectId, record: &[u8]) -> Result<StoredObject, StoreError> {
        let parts = RecordParts::split(record)?;
        let (nonce, sealed) = parts.sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| StoreError::Integrity)?;
        let aad = associated_data(id, parts.authenticated);
        let mut plaintext = Zeroizing::new(sealed.to_vec());
        self.cipher
            .decrypt_in_place(&Nonce::from(nonce), &aad, &mut *plaintext)
            .map_err(|_| StoreError::Integrity)?;
        // Authentic from here on: decoding failures mean a writer bug, still reported as integrity failures.
        let metadata: ObjectMetadata =
            rmp_serde::from_slice(parts.metadata).map_err(|_| StoreError::Integrity)?;
        if &metadata.id != id {
            return Err(StoreError::Integrity);
        }
        let key = match plaintext.split_first() {
            Some((0, [])) => None,
            Some((1, k)) => Some(KeyRef::decode(k).map_err(|_| StoreError::Integrity)?),
            _ => return Err(StoreError::Integrity),
        };
        Ok(StoredObject {
            metadata,
            key,
            version: parts.version,
        })
    }

    /// The version in a record's header, *unauthenticated*: for version checks inside a write transaction, where
    /// a tampered header can only make an update fail or succeed into a record that [`Sealer::open_record`] then
    /// rejects.
    ///
    /// # Errors
    /// [`StoreError::Integrity`] when the record is malformed.
    pub fn record_version(record: &[u8]) -> Result<u64, StoreError> {
        Ok(RecordParts::split(record)?.version)
    }

    /// The metadata of a record, *unauthenticated*: for Locate filters and index maintenance, which select ids that
    /// callers then read (and verify) with [`Sealer::open_record`].
    ///
    /// # Errors
    /// [`StoreError::Integrity`] when the record is malformed.
    pub fn record_metadata(record: &[u8]) -> Result<ObjectMetadata, StoreError> {
        let parts = RecordParts::split(record)?;
        rmp_serde::from_slice(parts.metadata).map_err(|_| StoreError::Integrity)
    }
}

/// The pieces of a record, bounds-checked.
struct RecordParts<'a> {
    version: u64,
    /// Format, version and metadata: what the associated data covers besides the id.
    authenticated: &'a [u8],
    metadata: &'a [u8],
    /// Nonce, ciphertext and tag.
    sealed: &'a [u8],
}

impl<'a> RecordParts<'a> {
    fn split(record: &'a [u8]) -> Result<Self, StoreError> {
        if record.len() > MAX_RECORD_LEN || record.len() < HEADER_LEN {
            return Err(StoreError::Integrity);
        }
        let (header, rest) = record.split_at(HEADER_LEN);
        if header[0] != FORMAT_V1 {
            return Err(StoreError::Integrity);
        }
        let version =
            u64::from_be_bytes(header[1..9].try_into().map_err(|_| StoreError::Integrity)?);
        let metadata_len = u32::from_be_bytes(
            header[9..13]
                .try_into()
                .map_err(|_| StoreError::Integrity)?,
        );
        let metadata_len = usize::try_from(metadata_len).map_err(|_| StoreError::Integrity)?;
        if rest.len() < metadata_len + NONCE_LEN + 1 + TAG_LEN {
            return Err(StoreError::Integrity);
        }
        let (authenticated, sealed) = record.split_at(HEADER_LEN + metadata_len);
        Ok(Self {
            version,
            authenticated,
            metadata: &rest[..metadata_len],
            sealed,
        })
    }
}

fn associated_data(id: &ObjectId, authenticated: &[u8]) -> Vec<u8> {
    let id = id.as_str().as_bytes();
    let mut aad = Vec::with_capacity(DOMAIN.len() + 2 + id.len() + authenticated.len());
    aad.extend_from_slice(DOMAIN);
    // ObjectId::MAX_LEN keeps ids far below u16::MAX; saturate rather than wrap all the same.
    aad.extend_from_slice(&u16::try_from(id.len()).unwrap_or(u16::MAX).to_be_bytes());
    aad.extend_from_slice(id);
    aad.extend_from_slice(authenticated);
    aad
}

/// The metadata encoder failed (a serde error; it carries no key material: keys are not part of metadata).
#[derive(Debug, thiserror::Error)]
#[error("metadata encoding failed: {0}")]
struct EncodingError(rmp_serde::encode::Error);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::object::{Attributes, ObjectType, State};

    fn object(id: &str, version: u64, key: Option<KeyRef>) -> StoredObject {
        StoredObject {
            metadata: ObjectMetadata {
                id: ObjectId::try_from(id).unwrap(),
                object_type: ObjectType::SymmetricKey,
                state: State::Active,
                owner: "alice".into(),
                grants: vec![],
                attributes: Attributes::default(),
            },
            key,
            version,
        }
    }

    fn key() -> KeyRef {
        KeyRef::new("software", 1, Zeroizing::new(vec![0x5a; 32]))
    }

    #[test]
    fn seal_open_round_trips_with_and_without_key() {
        let s = Sealer::from_root_key(&[7; 32]);
        for o in [object("a", 1, Some(key())), object("b", 9, None)] {
            let r = s.seal_record(&o).unwrap();
            assert_eq!(s.open_record(&o.metadata.id, &r).unwrap(), o);
            assert_eq!(Sealer::record_version(&r).unwrap(), o.version);
            assert_eq!(Sealer::record_metadata(&r).unwrap(), o.metadata);
        }
    }

    #[test]
    fn every_flipped_bit_is_an_integrity_failure() {
        let s = Sealer::from_root_key(&[7; 32]);
        let o = object("a", 3, Some(key()));
        let r = s.seal_record(&o).unwrap();
        for i in 0..r.len() * 8 {
            let mut t = r.clone();
            t[i / 8] ^= 1 << (i % 8);
            assert!(
                matches!(
                    s.open_record(&o.metadata.id, &t),
                    Err(StoreError::Integrity)
                ),
                "bit {i}"
            );
        }
        for cut in 0..r.len() {
            assert!(matches!(
                s.open_record(&o.metadata.id, &r[..cut]),
                Err(StoreError::Integrity)
            ));
        }
    }

    #[test]
    fn another_id_version_or_root_key_is_an_integrity_failure() {
        let s = Sealer::from_root_key(&[7; 32]);
        let v1 = s.seal_record(&object("a", 1, Some(key()))).unwrap();
        let v2 = s.seal_record(&object("a", 2, Some(key()))).unwrap();
        let other = ObjectId::try_from("b").unwrap();
        assert!(matches!(
            s.open_record(&other, &v1),
            Err(StoreError::Integrity)
        ));
        // v2's header and metadata with v1's sealed key: a sealed key rolled back to another version.
        let split = v1.len() - (NONCE_LEN + 1 + key().encode().len() + TAG_LEN);
        let mut spliced = v2[..split].to_vec();
        spliced.extend_from_slice(&v1[split..]);
        let a = ObjectId::try_from("a").unwrap();
        assert!(matches!(
            s.open_record(&a, &spliced),
            Err(StoreError::Integrity)
        ));
        let wrong = Sealer::from_root_key(&[8; 32]);
        assert!(matches!(
            wrong.open_record(&a, &v1),
            Err(StoreError::Integrity)
        ));
    }

    #[test]
    fn sealed_record_does_not_contain_the_key_and_nonces_differ() {
        let s = Sealer::from_root_key(&[7; 32]);
        let o = object("a", 1, Some(key()));
        let r1 = s.seal_record(&o).unwrap();
        let r2 = s.seal_record(&o).unwrap();
        assert_ne!(r1, r2);
        assert!(!r1.windows(8).any(|w| w == [0x5a; 8]));
    }

    #[test]
    fn debug_shows_no_key() {
        let k = StaticRootKey::new(Zeroizing::new([0xab; 32]));
        assert!(!format!("{k:?}").contains("ab"));
        let s = Sealer::new(&k).unwrap();
        assert_eq!(format!("{s:?}"), "Sealer(..)");
    }
}
