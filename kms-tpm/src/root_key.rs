//! [`TpmRootKey`]: the store's root key sealed to the TPM, so that a copied data directory is useless elsewhere.

use std::fs::{self, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kms_core::store::{RootKeyError, RootKeyProvider};

/// The root key length (AES-256), as `RootKeyProvider` returns it.
const ROOT_KEY_LEN: usize = 32;
use zeroize::Zeroizing;

use crate::seal::{PcrPolicy, SealedData};
use crate::tpm::Tpm;

/// Longest sealed root key file accepted (the blob is well under 1 KiB).
const MAX_FILE: u64 = 8 << 10;

/// A root key generated once, sealed to the TPM (optionally to PCR values), kept as `root.tpm` in the data
/// directory, and unsealed by the TPM at every start.
///
/// The file is a TPM-wrapped blob: on another machine (another TPM, or this TPM after TPM2_Clear) it does not
/// load, so the copied store cannot be opened.
#[derive(Debug, Clone)]
pub struct TpmRootKey {
    tpm: Source,
    path: PathBuf,
    policy: Option<PcrPolicy>,
}

/// The TPM: an open connection, or a connection string opened (shared) when the key is asked for.
#[derive(Debug, Clone)]
enum Source {
    Open(Arc<Tpm>),
    Tcti(String),
}

impl TpmRootKey {
    /// The file name [`TpmRootKey::in_data_dir`] uses.
    pub const FILE_NAME: &'static str = "root.tpm";

    /// The sealed key `root.tpm` in a store's data directory, generated and sealed on first start.
    #[must_use]
    pub fn in_data_dir(tpm: Arc<Tpm>, dir: impl AsRef<Path>) -> Self {
        Self {
            tpm: Source::Open(tpm),
            path: dir.as_ref().join(Self::FILE_NAME),
            policy: None,
        }
    }

    /// As [`TpmRootKey::in_data_dir`], connecting to `tcti` ([`Tpm::shared`]) when the key is first asked for, so
    /// that configuration code needs no TPM at hand.
    #[must_use]
    pub fn in_data_dir_with_tcti(tcti: &str, dir: impl AsRef<Path>) -> Self {
        Self {
            tpm: Source::Tcti(tcti.to_owned()),
            path: dir.as_ref().join(Self::FILE_NAME),
            policy: None,
        }
    }

    fn tpm(&self) -> Result<Arc<Tpm>, RootKeyError> {
        match &self.tpm {
            Source::Open(t) => Ok(t.clone()),
            Source::Tcti(tcti) => {
                Tpm::shared(tcti).map_err(|e| RootKeyError::Provider(Box::new(e)))
            }
        }
    }

    /// Seals a newly generated key to the current values of these PCRs too (an existing file keeps its policy).
    #[must_use]
    pub fn with_pcr_policy(mut self, policy: PcrPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The sealed key file.
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

    fn unseal(&self, bytes: &[u8]) -> Result<Zeroizing<[u8; ROOT_KEY_LEN]>, RootKeyError> {
        let sealed =
            SealedData::from_bytes(bytes).map_err(|e| RootKeyError::Provider(Box::new(e)))?;
        let key = self
            .tpm()?
            .unseal(&sealed)
            .map_err(|e| RootKeyError::Provider(Box::new(e)))?;
        let mut out = Zeroizing::new([0u8; ROOT_KEY_LEN]);
        if key.len() != ROOT_KEY_LEN {
            return Err(RootKeyError::WrongLength {
                path: self.path.clone(),
                len: key.len() as u64,
            });
        }
        out.copy_from_slice(&key);
        Ok(out)
    }

    fn read(&self) -> Result<Option<Zeroizing<Vec<u8>>>, RootKeyError> {
        let file = match fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let mut bytes = Zeroizing::new(Vec::new());
        file.take(MAX_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io(e))?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(RootKeyError::WrongLength {
                path: self.path.clone(),
                len: bytes.len() as u64,
            });
        }
        Ok(Some(bytes))
    }

    /// Generates and seals a key, and links the file into place so that a crash leaves no half-written file and
    /// two processes starting at once keep one key.
    fn generate(&self) -> Result<(), RootKeyError> {
        let mut key = Zeroizing::new([0u8; ROOT_KEY_LEN]);
        getrandom::fill(key.as_mut()).map_err(|_| RootKeyError::Random)?;
        let sealed = self
            .tpm()?
            .seal(key.as_ref(), self.policy.as_ref())
            .map_err(|e| RootKeyError::Provider(Box::new(e)))?;
        let tmp = self
            .path
            .with_extension(format!("tmp.{}", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = (|| {
            let mut f = options.open(&tmp)?;
            f.write_all(&sealed.to_bytes())?;
            f.sync_all()?;
            match fs::hard_link(&tmp, &self.path) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
                _ => Ok(()),
            }
        })();
        let _ = fs::remove_file(&tmp);
        written.map_err(|e| self.io(e))
    }
}

impl RootKeyProvider for TpmRootKey {
    fn root_key(&self) -> Result<Zeroizing<[u8; ROOT_KEY_LEN]>, RootKeyError> {
        if let Some(bytes) = self.read()? {
            return self.unseal(&bytes);
        }
        self.generate()?;
        let bytes = self
            .read()?
            .ok_or_else(|| self.io(io::ErrorKind::NotFound.into()))?;
        self.unseal(&bytes)
    }
}
