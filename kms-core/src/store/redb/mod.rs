//! [`RedbStore`]: the embedded, ACID default store, on [redb](https://docs.rs/redb).
//!
//! One file, `objects.redb`, in the data directory, beside the default root key file `root.key`. Tables:
//!
//! | table             | key           | value                         | for                                   |
//! |-------------------|---------------|-------------------------------|---------------------------------------|
//! | `objects`         | id            | (insertion seq, sealed record)| get, update, delete                   |
//! | `insertion_order` | seq           | id                            | Locate, oldest first, stable paging   |
//! | `name_index`      | name (multi)  | seq                           | Locate by Name without a scan         |
//! | `meta`            | key           | u64                           | schema version, next seq              |
//!
//! Records are sealed with [`Sealer`](super::seal::Sealer): the file holds no key material in the clear. Every
//! write is checked (existence, expected version) inside the write transaction that applies it and is durable
//! (fsynced) when the call returns; concurrent writers share transactions through group commit, so 64 writers pay
//! about one fsync per batch instead of one each. Reads use their own read transactions and never wait for writers.

mod group_commit;

use std::fs::DirBuilder;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ::redb::{
    Database, MultimapTableDefinition, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};

pub use self::group_commit::CommitStats;
use self::group_commit::GroupCommit;
use super::seal::{FileRootKey, RootKeyProvider, Sealer};
use super::{LocateQuery, ObjectStore, StoreError, StoredObject};
use crate::object::ObjectId;

const OBJECTS: TableDefinition<&str, (u64, &[u8])> = TableDefinition::new("objects");
const ORDER: TableDefinition<u64, &str> = TableDefinition::new("insertion_order");
const NAMES: MultimapTableDefinition<&str, u64> = MultimapTableDefinition::new("name_index");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

const META_SCHEMA_VERSION: &str = "schema_version";
const META_NEXT_SEQ: &str = "next_seq";
/// Layout of the tables above; bumped (with a migration in [`RedbStore::open_with`]) when it changes.
const SCHEMA_VERSION: u64 = 1;

/// Tunables of a [`RedbStore`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedbOptions {
    /// Share one transaction (and one fsync) among concurrent writers. On by default; off, each write commits
    /// alone (for comparison in benchmarks).
    pub group_commit: bool,
    /// Most operations one group commit applies in one transaction.
    pub max_batch: usize,
    /// Longest a group commit leader waits for the writers it expects (those active at the last commit) before it
    /// commits what has queued. Under light load nobody is expected and nobody waits.
    pub max_group_wait: Duration,
    /// redb's two-phase commit: two fsyncs per commit instead of one, in exchange for robustness against an
    /// attacker who controls the disk's write ordering and can crash the process (see redb's documentation).
    pub two_phase_commit: bool,
    /// redb's page cache, in bytes; `None` keeps redb's default.
    pub cache_size: Option<usize>,
}

impl Default for RedbOptions {
    fn default() -> Self {
        Self {
            group_commit: true,
            max_batch: 1024,
            max_group_wait: Duration::from_millis(1),
            two_phase_commit: false,
            cache_size: None,
        }
    }
}

/// A write waiting for its transaction. Records are sealed before they queue, so the leader only does the
/// transaction.
enum WriteOp {
    Put {
        id: ObjectId,
        names: Vec<String>,
        record: Vec<u8>,
    },
    Update {
        id: ObjectId,
        expected: u64,
        names: Vec<String>,
        record: Vec<u8>,
    },
    Delete {
        id: ObjectId,
        expected: u64,
    },
}

/// The durable, embedded [`ObjectStore`]: redb, records sealed at rest, group commit.
///
/// ```
/// use kms_core::store::{ObjectStore, RedbStore, LocateQuery};
/// # fn main() -> Result<(), kms_core::store::StoreError> {
/// # let dir = tempfile::tempdir().map_err(|e| kms_core::store::StoreError::Storage(e.into()))?;
/// // Creates ./objects.redb and a 0600 root.key in the directory on first use.
/// let store = RedbStore::open(dir.path())?;
/// assert!(store.locate(&LocateQuery::default())?.is_empty());
/// # Ok(()) }
/// ```
pub struct RedbStore {
    db: Database,
    sealer: Sealer,
    group: GroupCommit<WriteOp>,
    options: RedbOptions,
    path: PathBuf,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn storage(e: impl Into<::redb::Error>) -> StoreError {
    StoreError::Storage(Box::new(e.into()))
}

impl RedbStore {
    /// The database file's name in the data directory.
    pub const FILE_NAME: &'static str = "objects.redb";

    /// Opens (or creates) the store in `data_dir`, sealed under the root key file `data_dir/root.key`, which is
    /// generated on first use.
    ///
    /// # Errors
    /// [`StoreError::Storage`] when the directory, the database or the root key cannot be opened or created, or
    /// the root key file is insecure (see [`FileRootKey`]).
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let data_dir = data_dir.as_ref();
        // Before the root key file is generated in it.
        create_private_dir(data_dir)?;
        Self::open_with(
            data_dir,
            &FileRootKey::in_data_dir(data_dir),
            RedbOptions::default(),
        )
    }

    /// Opens (or creates) the store in `data_dir` under the root key of `root_key`.
    ///
    /// # Errors
    /// [`StoreError::Storage`] when the directory or database cannot be opened or created, or has an unknown
    /// schema version; the provider's errors.
    pub fn open_with(
        data_dir: impl AsRef<Path>,
        root_key: &dyn RootKeyProvider,
        options: RedbOptions,
    ) -> Result<Self, StoreError> {
        let data_dir = data_dir.as_ref();
        create_private_dir(data_dir)?;
        let sealer = Sealer::new(root_key)?;
        let path = data_dir.join(Self::FILE_NAME);
        let mut builder = Database::builder();
        if let Some(bytes) = options.cache_size {
            builder.set_cache_size(bytes);
        }
        let db = builder.create(&path).map_err(storage)?;
        let txn = db.begin_write().map_err(storage)?;
        {
            txn.open_table(OBJECTS).map_err(storage)?;
            txn.open_table(ORDER).map_err(storage)?;
            txn.open_multimap_table(NAMES).map_err(storage)?;
            let mut meta = txn.open_table(META).map_err(storage)?;
            let found = meta
                .get(META_SCHEMA_VERSION)
                .map_err(storage)?
                .map(|v| v.value());
            match found {
                None => {
                    meta.insert(META_SCHEMA_VERSION, SCHEMA_VERSION)
                        .map_err(storage)?;
                }
                Some(SCHEMA_VERSION) => {}
                Some(other) => {
                    return Err(StoreError::Storage(
                        format!(
                            "{} has schema version {other}; this build reads version {SCHEMA_VERSION}",
                            path.display()
                        )
                        .into(),
                    ));
                }
            }
        }
        txn.commit().map_err(storage)?;
        Ok(Self {
            db,
            sealer,
            group: GroupCommit::new(options.max_batch, options.max_group_wait),
            options,
            path,
        })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Group commits so far: transactions and the operations they carried (with group commit off, none).
    #[must_use]
    pub fn commit_stats(&self) -> CommitStats {
        self.group.stats()
    }

    fn write(&self, op: WriteOp) -> Result<(), StoreError> {
        if self.options.group_commit {
            self.group.submit(op, |ops| self.commit_batch(ops))
        } else {
            self.commit_batch(vec![op])
                .pop()
                .unwrap_or_else(|| Err(StoreError::Storage("no result from commit".into())))
        }
    }

    /// Applies `ops` in one transaction, each checked on its own, and commits once. A failed check fails only its
    /// operation; a storage failure fails the whole batch (the transaction is then dropped, i.e. aborted).
    fn commit_batch(&self, ops: Vec<WriteOp>) -> Vec<Result<(), StoreError>> {
        let n = ops.len();
        let all_failed = |e: ::redb::Error| -> Vec<Result<(), StoreError>> {
            let e = std::sync::Arc::new(e);
            (0..n)
                .map(|_| Err(StoreError::Storage(Box::new(std::sync::Arc::clone(&e)))))
                .collect()
        };
        let mut txn = match self.db.begin_write() {
            Ok(t) => t,
            Err(e) => return all_failed(e.into()),
        };
        txn.set_two_phase_commit(self.options.two_phase_commit);
        let results = match apply(&txn, ops) {
            Ok(r) => r,
            Err(e) => return all_failed(e),
        };
        match txn.commit() {
            Ok(()) => results,
            Err(e) => all_failed(e.into()),
        }
    }

    fn read_record<T>(
        &self,
        id: &ObjectId,
        f: impl FnOnce(&[u8]) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let objects = txn.open_table(OBJECTS).map_err(storage)?;
        let guard = objects
            .get(id.as_str())
            .map_err(storage)?
            .ok_or(StoreError::NotFound)?;
        let (_, record) = guard.value();
        f(record)
    }

    /// The stored record of `id`, as it is in the file. For tests of sealing and integrity checks.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; storage errors.
    #[cfg(feature = "contract-tests")]
    #[doc(hidden)]
    pub fn raw_record(&self, id: &ObjectId) -> Result<Vec<u8>, StoreError> {
        self.read_record(id, |r| Ok(r.to_vec()))
    }

    /// Overwrites the stored record of `id` with arbitrary bytes, bypassing every check: a tampering attacker.
    /// For tests of sealing and integrity checks.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; storage errors.
    #[cfg(feature = "contract-tests")]
    #[doc(hidden)]
    pub fn write_raw_record(&self, id: &ObjectId, record: &[u8]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut objects = txn.open_table(OBJECTS).map_err(storage)?;
            let seq = match objects.get(id.as_str()).map_err(storage)? {
                Some(guard) => guard.value().0,
                None => {
                    // A record planted under an id the store never issued (a record "moved" to another id).
                    let mut meta = txn.open_table(META).map_err(storage)?;
                    let seq = next_seq(&meta)?;
                    meta.insert(META_NEXT_SEQ, seq + 1).map_err(storage)?;
                    txn.open_table(ORDER)
                        .map_err(storage)?
                        .insert(seq, id.as_str())
                        .map_err(storage)?;
                    seq
                }
            };
            objects
                .insert(id.as_str(), (seq, record))
                .map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| StoreError::Storage(Box::new(e)))
}

#[cfg(feature = "contract-tests")]
fn next_seq(meta: &::redb::Table<'_, &str, u64>) -> Result<u64, StoreError> {
    Ok(meta
        .get(META_NEXT_SEQ)
        .map_err(storage)?
        .map_or(0, |v| v.value()))
}

/// Applies each operation in `txn`. The outer error is a storage failure (the batch is lost); the inner results
/// are the operations' own.
fn apply(
    txn: &WriteTransaction,
    ops: Vec<WriteOp>,
) -> Result<Vec<Result<(), StoreError>>, ::redb::Error> {
    let mut objects = txn.open_table(OBJECTS)?;
    let mut order = txn.open_table(ORDER)?;
    let mut names = txn.open_multimap_table(NAMES)?;
    let mut meta = txn.open_table(META)?;
    let mut seq = meta.get(META_NEXT_SEQ)?.map_or(0, |v| v.value());
    let first_seq = seq;
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        results.push(match op {
            WriteOp::Put {
                id,
                names: new_names,
                record,
            } => {
                if objects.get(id.as_str())?.is_some() {
                    Err(StoreError::AlreadyExists)
                } else {
                    objects.insert(id.as_str(), (seq, record.as_slice()))?;
                    order.insert(seq, id.as_str())?;
                    for name in &new_names {
                        names.insert(name.as_str(), seq)?;
                    }
                    seq += 1;
                    Ok(())
                }
            }
            WriteOp::Update {
                id,
                expected,
                names: new_names,
                record,
            } => {
                let current = objects
                    .get(id.as_str())?
                    .map(|g| (g.value().0, g.value().1.to_vec()));
                match current {
                    None => Err(StoreError::NotFound),
                    Some((object_seq, old)) => match check_version(&old, expected) {
                        Err(e) => Err(e),
                        Ok(()) => {
                            let old_names = record_names(&old);
                            for name in old_names.iter().filter(|n| !new_names.contains(n)) {
                                names.remove(name.as_str(), object_seq)?;
                            }
                            for name in new_names.iter().filter(|n| !old_names.contains(n)) {
                                names.insert(name.as_str(), object_seq)?;
                            }
                            objects.insert(id.as_str(), (object_seq, record.as_slice()))?;
                            Ok(())
                        }
                    },
                }
            }
            WriteOp::Delete { id, expected } => {
                let current = objects
                    .get(id.as_str())?
                    .map(|g| (g.value().0, g.value().1.to_vec()));
                match current {
                    None => Err(StoreError::NotFound),
                    Some((object_seq, old)) => match check_version(&old, expected) {
                        Err(e) => Err(e),
                        Ok(()) => {
                            for name in record_names(&old) {
                                names.remove(name.as_str(), object_seq)?;
                            }
                            order.remove(object_seq)?;
                            objects.remove(id.as_str())?;
                            Ok(())
                        }
                    },
                }
            }
        });
    }
    if seq != first_seq {
        meta.insert(META_NEXT_SEQ, seq)?;
    }
    Ok(results)
}

fn check_version(record: &[u8], expected: u64) -> Result<(), StoreError> {
    let found = Sealer::record_version(record)?;
    if found == expected {
        Ok(())
    } else {
        Err(StoreError::VersionConflict { expected, found })
    }
}

/// The Name values of an object, deduplicated: the keys it has in the name index.
fn names_of(metadata: &crate::object::ObjectMetadata) -> Vec<String> {
    let mut names: Vec<String> = metadata
        .attributes
        .names
        .iter()
        .map(|n| n.value.clone())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn record_names(record: &[u8]) -> Vec<String> {
    // An unreadable old record indexed nothing that Locate would trust: Locate re-checks every filter on the
    // record itself, so a stale index entry can never return a wrong id.
    Sealer::record_metadata(record)
        .map(|m| names_of(&m))
        .unwrap_or_default()
}

impl ObjectStore for RedbStore {
    fn put(&self, object: &StoredObject) -> Result<(), StoreError> {
        if object.version != 1 {
            return Err(StoreError::InvalidRequest(
                "a new object must have version 1",
            ));
        }
        let record = self.sealer.seal_record(object)?;
        self.write(WriteOp::Put {
            id: object.metadata.id.clone(),
            names: names_of(&object.metadata),
            record,
        })
    }

    fn get(&self, id: &ObjectId) -> Result<StoredObject, StoreError> {
        self.read_record(id, |record| self.sealer.open_record(id, record))
    }

    fn update(&self, object: &mut StoredObject) -> Result<(), StoreError> {
        let next = object
            .version
            .checked_add(1)
            .ok_or(StoreError::InvalidRequest("version overflow"))?;
        let record = self
            .sealer
            .seal(&object.metadata, object.key.as_ref(), next)?;
        self.write(WriteOp::Update {
            id: object.metadata.id.clone(),
            expected: object.version,
            names: names_of(&object.metadata),
            record,
        })?;
        object.version = next;
        Ok(())
    }

    fn delete(&self, id: &ObjectId, expected_version: u64) -> Result<(), StoreError> {
        self.write(WriteOp::Delete {
            id: id.clone(),
            expected: expected_version,
        })
    }

    fn locate(&self, query: &LocateQuery) -> Result<Vec<ObjectId>, StoreError> {
        let max = query.max_items.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        let txn = self.db.begin_read().map_err(storage)?;
        let objects = txn.open_table(OBJECTS).map_err(storage)?;
        let order = txn.open_table(ORDER).map_err(storage)?;
        let mut skip = query.offset;
        // Returns whether to go on.
        let mut consider = |id: &str| -> Result<bool, StoreError> {
            let Some(guard) = objects.get(id).map_err(storage)? else {
                return Ok(true);
            };
            let metadata = match Sealer::record_metadata(guard.value().1) {
                Ok(m) => m,
                Err(_) => {
                    tracing::warn!(id, "unreadable record skipped by locate; get reports it");
                    return Ok(true);
                }
            };
            if metadata.id.as_str() != id || !query.matches(&metadata) {
                return Ok(true);
            }
            if skip > 0 {
                skip -= 1;
                return Ok(true);
            }
            out.push(metadata.id);
            Ok(out.len() < max)
        };
        if let Some(name) = query.name.as_deref() {
            let names = txn.open_multimap_table(NAMES).map_err(storage)?;
            // Multimap values are sorted, so the seqs come oldest first, as the contract orders results.
            for seq in names.get(name).map_err(storage)? {
                let seq = seq.map_err(storage)?.value();
                let Some(id) = order.get(seq).map_err(storage)? else {
                    continue;
                };
                if !consider(id.value())? {
                    break;
                }
            }
        } else {
            for entry in order.iter().map_err(storage)? {
                let (_, id) = entry.map_err(storage)?;
                if !consider(id.value())? {
                    break;
                }
            }
        }
        Ok(out)
    }
}
