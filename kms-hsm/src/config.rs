//! How to reach a token: the module, the token, the user PIN, the session pool.

use std::fmt;
use std::path::PathBuf;

use secrecy::SecretString;

/// The environment variable `kms serve` reads the user PIN from.
pub const PIN_ENV: &str = "KMS_PKCS11_PIN";

/// How the token is chosen. Never by slot index: SoftHSM2 (and HSMs after re-initialisation) renumber slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSelector {
    /// CK_TOKEN_INFO.label (trailing blanks ignored).
    Label(String),
    /// CK_TOKEN_INFO.serialNumber (trailing blanks ignored).
    Serial(String),
}

impl fmt::Display for TokenSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSelector::Label(l) => write!(f, "label {l:?}"),
            TokenSelector::Serial(s) => write!(f, "serial {s:?}"),
        }
    }
}

/// Configuration of a [`Pkcs11Backend`](crate::Pkcs11Backend).
///
/// `Debug` never shows the PIN.
#[derive(Clone)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (shared library), e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token.
    pub token: TokenSelector,
    /// The user PIN (CKU_USER).
    pub pin: SecretString,
    /// Most sessions open at once; callers beyond it wait for a free session (default 16).
    pub max_sessions: usize,
    /// How long a caller waits for a free session before the operation fails as retryable (default 30 s).
    pub session_wait: std::time::Duration,
    /// Whether a caller may ask for an exportable key (KeyPolicy::extractable). When false every key is made
    /// non-extractable whatever the caller asks: KMIP's Extractable attribute defaults to True, so a server that
    /// must never let keys out says so here (default true: the caller's policy is honoured).
    pub allow_extractable: bool,
    /// The backend id written into every key reference (default `"pkcs11"`). Two tokens served by one key manager
    /// need two ids.
    pub backend_id: String,
}

impl Pkcs11Config {
    /// Default number of pooled sessions.
    pub const DEFAULT_MAX_SESSIONS: usize = 16;
    /// Upper bound on pooled sessions, whatever is configured (tokens have their own, often lower, limits).
    pub const MAX_SESSIONS_LIMIT: usize = 1024;

    /// A configuration with the defaults.
    #[must_use]
    pub fn new(module: impl Into<PathBuf>, token: TokenSelector, pin: SecretString) -> Self {
        Self {
            module: module.into(),
            token,
            pin,
            max_sessions: Self::DEFAULT_MAX_SESSIONS,
            session_wait: std::time::Duration::from_secs(30),
            allow_extractable: true,
            backend_id: crate::BACKEND_ID.to_owned(),
        }
    }

    /// The user PIN from the environment variable `var` (such as [`PIN_ENV`]).
    ///
    /// # Errors
    /// [`crate::OpenError::PinNotSet`] when the variable is unset or not UTF-8.
    pub fn pin_from_env(var: &str) -> Result<SecretString, crate::OpenError> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
            _ => Err(crate::OpenError::PinNotSet(var.to_owned())),
        }
    }
}

impl fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token", &self.token)
            .field("max_sessions", &self.max_sessions)
            .field("allow_extractable", &self.allow_extractable)
            .field("backend_id", &self.backend_id)
            .finish_non_exhaustive()
    }
}
