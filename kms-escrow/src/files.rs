//! Running escrow from files: the data-directory layout, the service key, PEM key pairs and JSON documents
//! written atomically. Used by the `kms escrow` command line; usable by any tool that runs the flow with files.
//!
//! Layout under the data directory: `escrow/escrow.redb` (agents, deposits, requests, approvals, audit log) and
//! `escrow/service-key.pem` (the ECDSA P-256 key that signs audit checkpoints; mode 0600). Whoever holds the
//! service key can re-sign a rewritten log, so keep a copy of its public half and of exported heads elsewhere
//! (`kms escrow audit verify --service-key ... --anchor ...`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::{Serialize, de::DeserializeOwned};
use zeroize::Zeroizing;

use crate::clock::Clock;
use crate::error::{EscrowError, Result};
use crate::service::Escrow;

/// Largest JSON document or PEM file read.
pub const MAX_FILE_LEN: u64 = 64 * 1024 * 1024;

/// The escrow part of a kms data directory.
#[derive(Clone, Debug)]
pub struct EscrowDir {
    dir: PathBuf,
}

impl EscrowDir {
    /// `data_dir/escrow`.
    #[must_use]
    pub fn new(data_dir: impl AsRef<Path>) -> Self {
        Self {
            dir: data_dir.as_ref().join("escrow"),
        }
    }

    /// Path of the database.
    #[must_use]
    pub fn database(&self) -> PathBuf {
        self.dir.join("escrow.redb")
    }

    /// Path of the service key.
    #[must_use]
    pub fn service_key(&self) -> PathBuf {
        self.dir.join("service-key.pem")
    }

    /// Opens the escrow, creating the directory, the database and the service key on first use.
    ///
    /// # Errors
    /// [`EscrowError::Io`], [`EscrowError::InvalidKey`] for an unreadable service key, [`EscrowError::Storage`].
    pub fn open(&self, clock: Arc<dyn Clock>) -> Result<Escrow> {
        fs::create_dir_all(&self.dir)?;
        let key_path = self.service_key();
        let key = if key_path.exists() {
            crate::keys::signing_key_from_pkcs8_pem(&read_text(&key_path)?)?
        } else {
            let key = SigningKey::from(&crate::crypto::generate_p256_secret_key()?);
            write_secret(&key_path, signing_key_pem(&key)?.as_bytes())?;
            key
        };
        Escrow::open(self.database(), key, clock)
    }
}

/// Reads a UTF-8 file of at most [`MAX_FILE_LEN`] bytes.
///
/// # Errors
/// [`EscrowError::Io`], or [`EscrowError::Invalid`] if it is too large or not UTF-8.
pub fn read_text(path: &Path) -> Result<String> {
    let len = fs::metadata(path)?.len();
    if len > MAX_FILE_LEN {
        return Err(EscrowError::invalid(
            "file",
            format!("{} is larger than {MAX_FILE_LEN} bytes", path.display()),
        ));
    }
    Ok(fs::read_to_string(path)?)
}

/// Reads a JSON document.
///
/// # Errors
/// As [`read_text`], and [`EscrowError::Encoding`].
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    Ok(serde_json::from_str(&read_text(path)?)?)
}

/// Parses a JSON document.
///
/// # Errors
/// [`EscrowError::Encoding`].
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T> {
    Ok(serde_json::from_str(text)?)
}

/// Writes a JSON document atomically (temporary file, fsync, rename, fsync of the directory).
///
/// # Errors
/// [`EscrowError::Io`], [`EscrowError::Encoding`].
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes(), false)
}

/// Writes a file atomically.
///
/// # Errors
/// [`EscrowError::Io`].
pub fn write_atomic(path: &Path, data: &[u8], secret: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| EscrowError::invalid("path", "no file name"))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let result = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        // The rename is durable only once the directory entry is.
        fs::File::open(&dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes a private key or other secret: mode 0600 on Unix, atomically; refuses to overwrite an existing file.
///
/// # Errors
/// [`EscrowError::AlreadyExists`] if the file exists; [`EscrowError::Io`].
pub fn write_secret(path: &Path, data: &[u8]) -> Result<()> {
    if path.exists() {
        return Err(EscrowError::AlreadyExists {
            kind: "file",
            id: path.display().to_string(),
        });
    }
    write_atomic(path, data, true)
}

fn signing_key_pem(key: &SigningKey) -> Result<Zeroizing<String>> {
    key.to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| EscrowError::InvalidKey(e.to_string()))
}

/// A new P-256 key pair as (PKCS#8 PEM private key, SubjectPublicKeyInfo PEM public key). The same format serves
/// agents' encryption keys, agents' approval keys and recipients' keys (use one pair per purpose).
///
/// # Errors
/// [`EscrowError::InvalidKey`] if encoding fails.
pub fn generate_p256_pem() -> Result<(Zeroizing<String>, String)> {
    let sk = crate::crypto::generate_p256_secret_key()?;
    let private = sk
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| EscrowError::InvalidKey(e.to_string()))?;
    let public = sk
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| EscrowError::InvalidKey(e.to_string()))?;
    Ok((private, public))
}

/// Reads a PKCS#8 PEM P-256 private key (a recipient's key).
///
/// # Errors
/// [`EscrowError::InvalidKey`], [`EscrowError::Io`].
pub fn read_p256_secret_key(path: &Path) -> Result<p256::SecretKey> {
    use p256::pkcs8::DecodePrivateKey;
    let pem = Zeroizing::new(read_text(path)?);
    p256::SecretKey::from_pkcs8_pem(&pem)
        .map_err(|_| EscrowError::InvalidKey("expected a P-256 PKCS#8 PEM private key".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn service_key_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let ed = EscrowDir::new(dir.path());
        let clock: Arc<dyn Clock> = Arc::new(crate::clock::ManualClock::new(1));
        let vk = ed.open(clock.clone()).unwrap().service_verifying_key();
        let vk2 = ed.open(clock).unwrap().service_verifying_key();
        assert_eq!(vk, vk2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(ed.service_key()).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
        assert!(write_secret(&ed.service_key(), b"x").is_err());
    }

    #[test]
    fn json_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("doc.json");
        write_json(&p, &vec![1, 2, 3]).unwrap();
        write_json(&p, &vec![4]).unwrap();
        assert_eq!(read_json::<Vec<u32>>(&p).unwrap(), vec![4]);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let (sk, pk) = generate_p256_pem().unwrap();
        let kp = dir.path().join("k.pem");
        write_secret(&kp, sk.as_bytes()).unwrap();
        let sk = read_p256_secret_key(&kp).unwrap();
        assert_eq!(
            crate::RecipientKey::from_public_key_pem(&pk).unwrap().0,
            sk.public_key()
        );
    }
}
