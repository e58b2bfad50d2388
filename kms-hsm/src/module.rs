//! One `C_Initialize` per module per process, shared by every backend and provider that opens it.
//!
//! PKCS#11 §5.4: C_Initialize may be called once per application until C_Finalize; a second call answers
//! CKR_CRYPTOKI_ALREADY_INITIALIZED. Modules are therefore loaded once, kept for the life of the process and never
//! finalised (finalising would invalidate the sessions of every other user of the module in this process).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use parking_lot::Mutex;

use crate::OpenError;

static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

/// The initialised context of the module at `path`, loading and initialising it on first use.
///
/// # Errors
/// [`OpenError::Module`] when the library cannot be loaded or initialised.
pub fn shared_context(path: &Path) -> Result<Pkcs11, OpenError> {
    // Two spellings of one path must not load the library twice.
    let key = path
        .canonicalize()
        .map_err(|source| OpenError::ModuleNotFound {
            path: path.to_owned(),
            source,
        })?;
    let mut modules = MODULES.get_or_init(|| Mutex::new(HashMap::new())).lock();
    if let Some(ctx) = modules.get(&key) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(&key).map_err(|source| OpenError::Module {
        path: key.clone(),
        source,
    })?;
    // The module may use OS locking: sessions are used from many threads (one thread per session at a time).
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(source) => {
            return Err(OpenError::Module { path: key, source });
        }
    }
    modules.insert(key, ctx.clone());
    Ok(ctx)
}
