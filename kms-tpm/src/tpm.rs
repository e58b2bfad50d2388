//! [`Tpm`]: one connection to a TPM, its storage primary key, and the cache of loaded key handles.
//!
//! Without a resource manager (swtpm, `/dev/tpm0`) the TPM holds what this process loads until it is flushed,
//! across connections, and a TPM has room for very few objects (three in the reference implementation). So every
//! handle this module hands out is flushed: at once after use, or when it leaves the small cache of loaded keys,
//! or when the connection closes. One [`Context`] behind one mutex serialises all commands, as the TPM does anyway.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tss_esapi::attributes::ObjectAttributesBuilder;
use tss_esapi::constants::CapabilityType;
use tss_esapi::constants::response_code::Tss2ResponseCodeKind;
use tss_esapi::handles::{KeyHandle, ObjectHandle, TpmHandle};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{
    CapabilityData, EccParameter, EccPoint, EccScheme, KeyDerivationFunctionScheme, Public,
    PublicBuilder, PublicEccParametersBuilder, SymmetricDefinitionObject,
};
use tss_esapi::tcti_ldr::TctiNameConf;
use tss_esapi::{Context, traits::Marshall};

use crate::blob::KeyBlob;
use crate::error::TpmError;

/// First handle of the transient range (TPM 2.0 Part 2, TPM_HT_TRANSIENT).
const TRANSIENT_FIRST: u32 = 0x8000_0000;

/// Options of a [`Tpm`] connection.
#[derive(Clone, Copy, Debug)]
pub struct TpmOptions {
    /// How many child keys stay loaded between operations (least recently used out first). The storage primary
    /// key takes one of the TPM's object slots; the reference implementation has three, so the default is 1
    /// (attestation needs the other two for the EK and the AK). 0 loads and flushes a key on every use.
    pub loaded_keys: usize,
}

impl Default for TpmOptions {
    fn default() -> Self {
        Self { loaded_keys: 1 }
    }
}

/// Statistics of the loaded-handle cache, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Uses served by an already loaded handle.
    pub hits: u64,
    /// TPM2_Load calls.
    pub loads: u64,
    /// Handles flushed to make room (LRU or because the TPM ran out of object memory).
    pub evictions: u64,
}

pub(crate) struct Inner {
    pub(crate) ctx: Context,
    /// The storage primary key (SRK), loaded for the connection's lifetime.
    pub(crate) srk: KeyHandle,
    pub(crate) srk_name: Vec<u8>,
    /// Loaded child keys, most recently used last.
    cache: Vec<([u8; 32], KeyHandle)>,
    capacity: usize,
    stats: CacheStats,
    /// The EK public area, once read (the EK is deterministic: same template, same key).
    pub(crate) ek_public: Option<Public>,
}

/// One connection to a TPM.
///
/// ```no_run
/// use kms_tpm::Tpm;
/// let tpm = Tpm::shared("swtpm:host=127.0.0.1,port=2321")?;
/// let random = tpm.random(16)?;
/// assert_eq!(random.len(), 16);
/// # Ok::<(), kms_tpm::TpmError>(())
/// ```
pub struct Tpm {
    tcti: String,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Tpm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tpm")
            .field("tcti", &self.tcti)
            .finish_non_exhaustive()
    }
}

/// Open connections by connection string: swtpm and `/dev/tpm0` serve one connection at a time, so a second
/// connection from the same process (the root key provider next to the backend) would wait forever.
static SHARED: Mutex<Option<HashMap<String, Weak<Tpm>>>> = Mutex::new(None);

impl Tpm {
    /// Connects with default options. See [`Tpm::connect_with`].
    ///
    /// # Errors
    /// As [`Tpm::connect_with`].
    pub fn connect(tcti: &str) -> Result<Self, TpmError> {
        Self::connect_with(tcti, TpmOptions::default())
    }

    /// Connects to the TPM named by `tcti` (`swtpm:host=H,port=P`, `device:/dev/tpmrm0`, `tabrmd:`), flushes
    /// transient objects a crashed predecessor left behind, and creates the storage primary key.
    ///
    /// # Errors
    /// [`TpmError::InvalidTcti`] for a string tss-esapi does not parse; [`TpmError::Tss`] when the TPM cannot
    /// be reached or refuses.
    pub fn connect_with(tcti: &str, options: TpmOptions) -> Result<Self, TpmError> {
        let conf =
            TctiNameConf::from_str(tcti).map_err(|_| TpmError::InvalidTcti(tcti.to_owned()))?;
        let mut ctx = Context::new(conf).map_err(TpmError::tss("Context::new"))?;
        flush_leftovers(&mut ctx);
        let srk = ctx
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.create_primary(Hierarchy::Owner, srk_template()?, None, None, None, None)
            })
            .map_err(TpmError::tss("CreatePrimary"))?
            .key_handle;
        let srk_name = match ctx.execute_without_session(|c| c.read_public(srk)) {
            Ok((_, name, _)) => name.value().to_vec(),
            Err(e) => {
                let _ = ctx.flush_context(srk.into());
                return Err(TpmError::tss("ReadPublic")(e));
            }
        };
        Ok(Self {
            tcti: tcti.to_owned(),
            inner: Mutex::new(Inner {
                ctx,
                srk,
                srk_name,
                cache: Vec::new(),
                capacity: options.loaded_keys,
                stats: CacheStats::default(),
                ek_public: None,
            }),
        })
    }

    /// The connection to `tcti` this process already has open, or a new one (default options).
    ///
    /// # Errors
    /// As [`Tpm::connect_with`].
    pub fn shared(tcti: &str) -> Result<Arc<Self>, TpmError> {
        let mut shared = SHARED.lock();
        let map = shared.get_or_insert_with(HashMap::new);
        map.retain(|_, w| w.strong_count() > 0);
        if let Some(tpm) = map.get(tcti).and_then(Weak::upgrade) {
            return Ok(tpm);
        }
        let tpm = Arc::new(Self::connect(tcti)?);
        map.insert(tcti.to_owned(), Arc::downgrade(&tpm));
        Ok(tpm)
    }

    /// The connection string.
    #[must_use]
    pub fn tcti(&self) -> &str {
        &self.tcti
    }

    /// The name of the storage primary key: what blobs of this TPM name as their parent.
    #[must_use]
    pub fn storage_key_name(&self) -> Vec<u8> {
        self.inner.lock().srk_name.clone()
    }

    /// Statistics of the loaded-handle cache.
    #[must_use]
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.lock().stats
    }

    /// How many transient objects the TPM holds beyond the storage key and the cached keys: handles some
    /// operation left behind. Always 0 unless something leaks (tests check it after every operation).
    ///
    /// # Errors
    /// [`TpmError::Tss`] when TPM2_GetCapability fails.
    pub fn stray_objects(&self) -> Result<usize, TpmError> {
        let mut inner = self.inner.lock();
        let held = 1 + inner.cache.len();
        Ok(transient_handles(&mut inner.ctx)?
            .len()
            .saturating_sub(held))
    }

    /// Loaded child keys in the cache right now.
    #[must_use]
    pub fn cached_keys(&self) -> usize {
        self.inner.lock().cache.len()
    }

    /// Flushes every cached key handle (the storage key stays).
    pub fn flush_cache(&self) {
        self.inner.lock().flush_cache();
    }

    /// Direct tss-esapi access on this connection, under its lock (for commands this crate does not wrap, and for
    /// comparing against raw calls), with the storage key's handle as parent for what `f` creates or loads.
    /// Whatever `f` loads or starts it must flush: the TPM has very few slots, and this connection keeps one for
    /// its storage key and [`TpmOptions::loaded_keys`] for its cache.
    pub fn with_context<T>(&self, f: impl FnOnce(&mut Context, KeyHandle) -> T) -> T {
        let mut inner = self.inner.lock();
        let srk = inner.srk;
        f(&mut inner.ctx, srk)
    }

    /// Runs `f` with exclusive use of the context.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T, TpmError>,
    ) -> Result<T, TpmError> {
        f(&mut self.inner.lock())
    }

    /// Random bytes from the TPM's generator (TPM2_GetRandom, in chunks: it returns at most a digest's worth).
    ///
    /// # Errors
    /// [`TpmError::InvalidInput`] above 64 KiB; [`TpmError::Tss`].
    pub fn random(&self, len: usize) -> Result<zeroize::Zeroizing<Vec<u8>>, TpmError> {
        let mut out = zeroize::Zeroizing::new(vec![0; len]);
        self.fill_random(&mut out)?;
        Ok(out)
    }

    pub(crate) fn fill_random(&self, buf: &mut [u8]) -> Result<(), TpmError> {
        if buf.len() > 64 << 10 {
            return Err(TpmError::InvalidInput(
                "at most 64 KiB of random bytes per call".into(),
            ));
        }
        let mut inner = self.inner.lock();
        for chunk in buf.chunks_mut(32) {
            let bytes = inner
                .ctx
                .execute_without_session(|c| c.get_random(chunk.len()))
                .map_err(TpmError::tss("GetRandom"))?;
            if bytes.len() != chunk.len() {
                return Err(TpmError::Tss {
                    command: "GetRandom",
                    source: tss_esapi::Error::WrapperError(
                        tss_esapi::WrapperErrorKind::WrongValueFromTpm,
                    ),
                });
            }
            chunk.copy_from_slice(bytes.value());
        }
        Ok(())
    }
}

impl Inner {
    /// Runs `f` with `blob` loaded, from the cache or by TPM2_Load; a handle that does not go into the cache is
    /// flushed before returning, whatever `f` answered.
    pub(crate) fn with_loaded<T>(
        &mut self,
        blob: &KeyBlob,
        f: impl FnOnce(&mut Context, KeyHandle) -> Result<T, TpmError>,
    ) -> Result<T, TpmError> {
        let id = blob.id();
        if let Some(pos) = self.cache.iter().position(|(k, _)| *k == id) {
            let entry = self.cache.remove(pos);
            self.cache.push(entry);
            self.stats.hits += 1;
            return f(&mut self.ctx, entry.1);
        }
        let handle = self.load(blob)?;
        if self.capacity == 0 {
            let result = f(&mut self.ctx, handle);
            self.flush(handle.into());
            return result;
        }
        while self.cache.len() >= self.capacity {
            let (_, old) = self.cache.remove(0);
            self.flush(old.into());
            self.stats.evictions += 1;
        }
        self.cache.push((id, handle));
        f(&mut self.ctx, handle)
    }

    /// Loads a blob under the storage key, making room when the TPM is out of object memory.
    pub(crate) fn load(&mut self, blob: &KeyBlob) -> Result<KeyHandle, TpmError> {
        if !blob.kind.is_loadable() {
            return Err(TpmError::InvalidInput(
                "a public key has nothing to load".into(),
            ));
        }
        if blob.parent_name != self.srk_name {
            return Err(TpmError::ForeignBlob);
        }
        let private = blob.private()?;
        loop {
            let srk = self.srk;
            let result = self
                .ctx
                .execute_with_session(Some(AuthSession::Password), |c| {
                    c.load(srk, private.clone(), blob.public.clone())
                })
                .map_err(TpmError::tss("Load"));
            match result {
                Ok(h) => {
                    self.stats.loads += 1;
                    return Ok(h);
                }
                Err(e)
                    if e.response_kind() == Some(Tss2ResponseCodeKind::ObjectMemory)
                        && !self.cache.is_empty() =>
                {
                    let (_, old) = self.cache.remove(0);
                    self.flush(old.into());
                    self.stats.evictions += 1;
                }
                Err(e) if e.is_bad_blob() => return Err(TpmError::ForeignBlob),
                Err(e) => return Err(e),
            }
        }
    }

    /// Runs a TPM command that needs a free object slot (TPM2_Create, TPM2_CreatePrimary), flushing cached
    /// handles one by one while the TPM answers that it is out of object memory.
    pub(crate) fn with_object_slot<T>(
        &mut self,
        command: &'static str,
        mut f: impl FnMut(&mut Context, KeyHandle) -> tss_esapi::Result<T>,
    ) -> Result<T, TpmError> {
        loop {
            let srk = self.srk;
            match f(&mut self.ctx, srk).map_err(TpmError::tss(command)) {
                Err(e)
                    if e.response_kind() == Some(Tss2ResponseCodeKind::ObjectMemory)
                        && !self.cache.is_empty() =>
                {
                    let (_, old) = self.cache.remove(0);
                    self.flush(old.into());
                    self.stats.evictions += 1;
                }
                other => return other,
            }
        }
    }

    /// Drops `blob` from the cache (flushing its handle) if it is loaded.
    pub(crate) fn forget(&mut self, blob: &KeyBlob) {
        let id = blob.id();
        if let Some(pos) = self.cache.iter().position(|(k, _)| *k == id) {
            let (_, h) = self.cache.remove(pos);
            self.flush(h.into());
        }
    }

    pub(crate) fn flush_cache(&mut self) {
        for (_, h) in std::mem::take(&mut self.cache) {
            self.flush(h.into());
            self.stats.evictions += 1;
        }
    }

    /// Flushes a handle; a failure is logged (the handle is gone from our books either way).
    pub(crate) fn flush(&mut self, handle: ObjectHandle) {
        if let Err(e) = self.ctx.flush_context(handle) {
            tracing::warn!(error = %e, "TPM2_FlushContext failed");
        }
    }

    /// Makes room for `n` transient objects besides the storage key (attestation needs the EK and the AK).
    pub(crate) fn make_room(&mut self, n: usize) {
        while !self.cache.is_empty() && self.cache.len() + n > 2 {
            let (_, old) = self.cache.remove(0);
            self.flush(old.into());
            self.stats.evictions += 1;
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.flush_cache();
        let srk = self.srk;
        self.flush(srk.into());
    }
}

/// The handles in the TPM's transient range.
fn transient_handles(ctx: &mut Context) -> Result<Vec<u32>, TpmError> {
    let (data, _) = ctx
        .execute_without_session(|c| c.get_capability(CapabilityType::Handles, TRANSIENT_FIRST, 64))
        .map_err(TpmError::tss("GetCapability"))?;
    Ok(match data {
        CapabilityData::Handles(list) => list
            .into_inner()
            .into_iter()
            .map(u32::from)
            .filter(|h| h & 0xFF00_0000 == TRANSIENT_FIRST)
            .collect(),
        _ => Vec::new(),
    })
}

/// Flushes transient objects left in the TPM by a process that died holding them. swtpm and `/dev/tpm0` serve one
/// connection at a time, so whatever is loaded now belongs to nobody; behind a resource manager (`/dev/tpmrm0`,
/// tabrmd) the list is empty.
fn flush_leftovers(ctx: &mut Context) {
    let Ok(handles) = transient_handles(ctx) else {
        return;
    };
    for h in handles {
        let Ok(tpm_handle) = TpmHandle::try_from(h) else {
            continue;
        };
        match ctx.execute_without_session(|c| c.tr_from_tpm_public(tpm_handle)) {
            Ok(obj) => {
                if let Err(e) = ctx.flush_context(obj) {
                    tracing::warn!(handle = h, error = %e, "flushing a leftover TPM object failed");
                } else {
                    tracing::info!(
                        handle = format_args!("{h:#x}"),
                        "flushed a TPM object a previous process left"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(handle = h, error = %e, "reading a leftover TPM object failed")
            }
        }
    }
}

/// The storage primary key: ECC P-256 restricted decryption key with AES-128-CFB, the TCG "SRK" template (TCG TPM
/// v2.0 Provisioning Guidance §7.5.1), so that the same TPM derives the same key after every restart.
fn srk_template() -> tss_esapi::Result<Public> {
    let attributes = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_no_da(true)
        .with_restricted(true)
        .with_decrypt(true)
        .build()?;
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new()
                .with_symmetric(SymmetricDefinitionObject::AES_128_CFB)
                .with_ecc_scheme(EccScheme::Null)
                .with_curve(EccCurve::NistP256)
                .with_key_derivation_function_scheme(KeyDerivationFunctionScheme::Null)
                .with_is_decryption_key(true)
                .with_restricted(true)
                .build()?,
        )
        .with_ecc_unique_identifier(EccPoint::new(
            EccParameter::try_from(vec![0u8; 32])?,
            EccParameter::try_from(vec![0u8; 32])?,
        ))
        .build()
}

/// Marshals a public area.
pub(crate) fn marshal_public(public: &Public) -> Result<Vec<u8>, TpmError> {
    public
        .marshall()
        .map_err(TpmError::tss("Marshal(TPMT_PUBLIC)"))
}
