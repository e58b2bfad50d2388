//! [`HsmRootKey`]: the store's root key kept wrapped by a non-extractable AES key in the token.
//!
//! The root key (32 random bytes) is sealed with AES-256-GCM by a key-encryption key that lives in the token as a
//! sensitive, non-extractable token object (found by its label); the sealed blob is a file beside the store. A
//! copy of the store and of the blob is useless without the token: the software backend's sealed keys are only
//! usable with the HSM present.
//!
//! Blob format (version 1): `"KMSHSMRK" || 0x01 || iv (12) || ciphertext (32) || tag (16)`, AAD = the magic, the
//! version and the key-encryption key's label.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use kms_core::store::seal::ROOT_KEY_LEN;
use kms_core::store::{RootKeyError, RootKeyProvider};
use parking_lot::Mutex;
use zeroize::Zeroizing;

use crate::error::OpenError;
use crate::pool::SessionPool;
use crate::{Pkcs11Config, TokenSelector, backend, module};

const MAGIC: &[u8; 8] = b"KMSHSMRK";
const VERSION: u8 = 1;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
const BLOB_LEN: usize = MAGIC.len() + 1 + IV_LEN + ROOT_KEY_LEN + TAG_LEN;

/// A [`RootKeyProvider`] whose root key is wrapped by a key held in a PKCS#11 token.
pub struct HsmRootKey {
    source: Source,
    /// Opened on first use (or by [`HsmRootKey::open`]).
    pool: Mutex<Option<Arc<SessionPool>>>,
    kek_label: String,
    path: PathBuf,
}

/// Where the token and its PIN come from.
enum Source {
    Config(Box<Pkcs11Config>),
    /// The PIN is read from this environment variable when the token is first needed.
    Env {
        module: PathBuf,
        token: TokenSelector,
        pin_env: String,
    },
}

impl std::fmt::Debug for HsmRootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HsmRootKey")
            .field("kek_label", &self.kek_label)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn provider(what: &str, e: impl std::fmt::Display) -> RootKeyError {
    RootKeyError::Provider(format!("HSM root key: {what}: {e}").into())
}

impl HsmRootKey {
    /// The label [`HsmRootKey::open`] gives the key-encryption key unless told otherwise.
    pub const DEFAULT_KEK_LABEL: &'static str = "kms-root-kek";
    /// The file name of the wrapped root key in a data directory.
    pub const FILE_NAME: &'static str = "root.key.hsm";

    /// Opens the token (sharing the module context with any backend on it) for the wrapped root key at `path`,
    /// under the key-encryption key labelled `kek_label`.
    ///
    /// # Errors
    /// [`OpenError`] when the token cannot be opened or the PIN is refused.
    pub fn open(
        config: &Pkcs11Config,
        kek_label: impl Into<String>,
        path: impl Into<PathBuf>,
    ) -> Result<Self, OpenError> {
        let this = Self {
            source: Source::Config(Box::new(config.clone())),
            pool: Mutex::new(None),
            kek_label: kek_label.into(),
            path: path.into(),
        };
        let pool = Self::connect(config)?;
        *this.pool.lock() = Some(pool);
        Ok(this)
    }

    /// The wrapped root key `root.key.hsm` in a store's data directory, under the key-encryption key
    /// [`HsmRootKey::DEFAULT_KEK_LABEL`] of the token, with the user PIN from the environment variable `pin_env`.
    /// The token is opened when the store first asks for the root key, so errors surface there.
    #[must_use]
    pub fn in_data_dir(
        module: impl Into<PathBuf>,
        token: TokenSelector,
        pin_env: impl Into<String>,
        data_dir: impl AsRef<Path>,
    ) -> Self {
        Self {
            source: Source::Env {
                module: module.into(),
                token,
                pin_env: pin_env.into(),
            },
            pool: Mutex::new(None),
            kek_label: Self::DEFAULT_KEK_LABEL.to_owned(),
            path: data_dir.as_ref().join(Self::FILE_NAME),
        }
    }

    fn connect(config: &Pkcs11Config) -> Result<Arc<SessionPool>, OpenError> {
        let ctx = module::shared_context(&config.module)?;
        let slot = backend::find_slot(&ctx, &config.token)?;
        let pool = SessionPool::new(ctx, slot, config.pin.clone(), 2, config.session_wait);
        let session = pool.open_logged_in().map_err(backend::login_error)?;
        pool.adopt(session);
        Ok(Arc::new(pool))
    }

    fn pool(&self) -> Result<Arc<SessionPool>, RootKeyError> {
        let mut slot = self.pool.lock();
        if let Some(p) = &*slot {
            return Ok(Arc::clone(p));
        }
        let opened = match &self.source {
            Source::Config(c) => Self::connect(c),
            Source::Env {
                module,
                token,
                pin_env,
            } => Pkcs11Config::pin_from_env(pin_env).and_then(|pin| {
                Self::connect(&Pkcs11Config::new(module.clone(), token.clone(), pin))
            }),
        }
        .map_err(|e| provider("opening the token", e))?;
        *slot = Some(Arc::clone(&opened));
        Ok(opened)
    }

    /// The wrapped root key's file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every AES key with the label: two servers starting at once on a new token may both have made one (the
    /// blob that won the race names one of them, so unsealing tries each).
    fn find_keks(&self, s: &Session) -> Result<Vec<ObjectHandle>, cryptoki::error::Error> {
        s.find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Label(self.kek_label.as_bytes().to_vec()),
        ])
    }

    fn keks(&self, create: bool) -> Result<Vec<ObjectHandle>, RootKeyError> {
        let found = self
            .pool()?
            .with("finding the root key-encryption key", |s| {
                let found = self.find_keks(s)?;
                if !found.is_empty() || !create {
                    return Ok(found);
                }
                // An 8-byte CKA_ID: never mistaken for a key of the backend (16 bytes) by reconciliation.
                let mut id = [0u8; 8];
                getrandom::fill(&mut id).map_err(|_| cryptoki::error::Error::InvalidValue)?;
                s.generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Class(ObjectClass::SECRET_KEY),
                        Attribute::KeyType(KeyType::AES),
                        Attribute::ValueLen(32u64.into()),
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Encrypt(true),
                        Attribute::Decrypt(true),
                        Attribute::Label(self.kek_label.as_bytes().to_vec()),
                        Attribute::Id(id.to_vec()),
                    ],
                )
                .map(|h| vec![h])
            })
            .map_err(|e| provider("the token", e))?;
        if found.is_empty() {
            return Err(provider(
                "the key-encryption key",
                format!("no AES key labelled {:?} in the token", self.kek_label),
            ));
        }
        Ok(found)
    }

    fn aad(&self) -> Vec<u8> {
        let mut aad = MAGIC.to_vec();
        aad.push(VERSION);
        aad.extend_from_slice(self.kek_label.as_bytes());
        aad
    }

    fn unseal(&self, blob: &[u8]) -> Result<Zeroizing<[u8; ROOT_KEY_LEN]>, RootKeyError> {
        if blob.len() != BLOB_LEN || &blob[..MAGIC.len()] != MAGIC || blob[MAGIC.len()] != VERSION {
            return Err(provider(
                "the wrapped root key file",
                format!(
                    "{} is not a version-1 wrapped root key",
                    self.path.display()
                ),
            ));
        }
        let keks = self.keks(false)?;
        let iv_at = MAGIC.len() + 1;
        let aad = self.aad();
        let pool = self.pool()?;
        let mut last = None;
        let mut plain = None;
        for kek in keks {
            match pool.with("unwrapping the root key", |s| {
                let mut iv = blob[iv_at..iv_at + IV_LEN].to_vec();
                let params = GcmParams::new(&mut iv, &aad, ((TAG_LEN * 8) as u64).into())?;
                s.decrypt(&Mechanism::AesGcm(params), kek, &blob[iv_at + IV_LEN..])
                    .map(Zeroizing::new)
            }) {
                Ok(p) => {
                    plain = Some(p);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let plain = plain.ok_or_else(|| {
            provider(
                "the token could not unwrap the root key (wrong token or key?)",
                last.map_or_else(|| "no key".to_owned(), |e| e.to_string()),
            )
        })?;
        let mut key = Zeroizing::new([0u8; ROOT_KEY_LEN]);
        if plain.len() != ROOT_KEY_LEN {
            return Err(provider("the wrapped root key", "wrong length"));
        }
        key.copy_from_slice(&plain);
        Ok(key)
    }

    fn generate(&self) -> Result<(), RootKeyError> {
        let kek = self.keks(true)?[0];
        let mut root = Zeroizing::new([0u8; ROOT_KEY_LEN]);
        let mut iv = [0u8; IV_LEN];
        self.pool()?
            .with("generating the root key", |s| {
                s.generate_random_slice(root.as_mut())?;
                s.generate_random_slice(&mut iv)
            })
            .map_err(|e| provider("the token", e))?;
        let aad = self.aad();
        let sealed = self
            .pool()?
            .with("wrapping the root key", |s| {
                let mut nonce = iv;
                let params = GcmParams::new(&mut nonce, &aad, ((TAG_LEN * 8) as u64).into())?;
                s.encrypt(&Mechanism::AesGcm(params), kek, root.as_ref())
            })
            .map_err(|e| provider("the token", e))?;
        let mut blob = MAGIC.to_vec();
        blob.push(VERSION);
        blob.extend_from_slice(&iv);
        blob.extend_from_slice(&sealed);
        // Written beside the final path and linked into place: a crash leaves no half file, and two processes
        // starting at once keep the first one's key.
        let io = |source| RootKeyError::Io {
            path: self.path.clone(),
            source,
        };
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(io)?;
            f.write_all(&blob).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        let linked = fs::hard_link(&tmp, &self.path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io(e)),
        }
    }
}

impl RootKeyProvider for HsmRootKey {
    fn root_key(&self) -> Result<Zeroizing<[u8; ROOT_KEY_LEN]>, RootKeyError> {
        match fs::read(&self.path) {
            Ok(blob) => self.unseal(&blob),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.generate()?;
                let blob = fs::read(&self.path).map_err(|source| RootKeyError::Io {
                    path: self.path.clone(),
                    source,
                })?;
                self.unseal(&blob)
            }
            Err(source) => Err(RootKeyError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }
}
