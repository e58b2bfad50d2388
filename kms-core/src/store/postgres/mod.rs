//! [`PostgresStore`]: one PostgreSQL database shared by several kms servers.
//!
//! Records are the very records [`RedbStore`](super::RedbStore) keeps, sealed by [`Sealer`] (AES-256-GCM under the
//! root key, associated data = id, version and metadata), so the database holds no key material in the clear and
//! every node needs the same root key. Beside each record, a few columns repeat its metadata for Locate's indexes
//! (see `columns.rs`); the schema is created and migrated by the store itself (see `schema.rs`).
//!
//! Correct under concurrency from many processes:
//!
//! - ids are the primary key: of two puts of one id, anywhere, exactly one wins (`INSERT .. ON CONFLICT DO
//!   NOTHING`), the other gets [`StoreError::AlreadyExists`];
//! - updates and deletes are one statement conditioned on the version read (`WHERE id = $1 AND version = $2`),
//!   which PostgreSQL re-checks on the newest row after waiting for a concurrent writer: a lost update is
//!   impossible, the loser gets the retryable [`StoreError::VersionConflict`] (KeyManager re-reads and retries);
//! - the same `UPDATE` checks the lifecycle: it only applies when the stored state can reach the new one by KMIP's
//!   transitions, so no writer anywhere moves an object back (Destroyed to Active, say);
//! - insertion order is commit order across nodes (see `batch.rs`), so Locate paging by Offset and Maximum Items is
//!   stable under concurrent inserts;
//! - a database that restarts or cannot be reached gives [`StoreError::Unavailable`] (retryable) within
//!   [`PostgresOptions::operation_timeout`], and the pool reconnects by itself once it is back.
//!
//! The API is synchronous: the async client runs on a small runtime the store owns (see `runtime.rs`), so the store
//! is safe to call from any thread, including `spawn_blocking` threads of another runtime.

mod batch;
mod columns;
mod error;
mod runtime;
mod schema;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::ToSql;

pub use self::batch::PutStats;
use self::batch::{Counters, PutJob};
use self::columns::{COLUMNS, Row};
pub use self::error::PostgresError;
use self::error::{db, pool as pool_error};
use self::runtime::Bridge;
pub use self::schema::SCHEMA_VERSION;
use super::seal::{RootKeyProvider, Sealer};
use super::{LocateQuery, ObjectStore, StoreError, StoredObject};
use crate::object::ObjectId;

/// Tunables of a [`PostgresStore`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// Most connections the store opens (each node has its own pool; mind the server's `max_connections`).
    pub pool_size: usize,
    /// The schema holding the store's tables, created when missing; `None` uses the connection's `search_path`
    /// (normally `public`). Several stores can share one database in different schemas. A plain lower-case SQL
    /// identifier.
    pub schema: Option<String>,
    /// Longest an operation may take, waiting for a connection included, before it fails with
    /// [`StoreError::Unavailable`]. A write that times out may still commit (it is in doubt, as after any lost
    /// connection).
    pub operation_timeout: Duration,
    /// Longest a new connection may take to open.
    pub connect_timeout: Duration,
    /// Most puts one insert transaction carries.
    pub max_batch: usize,
    /// Worker threads of the store's runtime (the database does the work; two are plenty).
    pub runtime_threads: usize,
    /// TLS to the database: the PEM file of the CA certificate(s) the server's certificate must chain to. When
    /// set, the connection is TLS (rustls, TLS 1.2+, certificate and host name verified) or nothing, whatever the
    /// URL's `sslmode`; when unset, a URL asking for `sslmode=require` is refused rather than sent in the clear.
    pub tls_ca_file: Option<std::path::PathBuf>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            schema: None,
            operation_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_batch: 512,
            runtime_threads: 2,
            tls_ca_file: None,
        }
    }
}

/// Largest pool: well above what one PostgreSQL server serves well.
const MAX_POOL_SIZE: usize = 1024;
/// Largest batch: keeps one transaction's pipeline and memory bounded.
const MAX_BATCH: usize = 10_000;
/// Reads (get, locate) are tried this many times when the database is away: the first failure often only
/// discovers that a pooled connection died with a server restart.
const READ_ATTEMPTS: u32 = 2;

/// The PostgreSQL [`ObjectStore`] (feature `postgres`): several kms servers, one database.
///
/// ```no_run
/// use kms_core::store::{FileRootKey, ObjectStore, LocateQuery, PostgresOptions, PostgresStore};
/// # fn main() -> Result<(), kms_core::store::StoreError> {
/// // Every node: the same database, the same root key file.
/// let root_key = FileRootKey::existing("/etc/kms/root.key");
/// let store = PostgresStore::connect(
///     "postgres://kms@db.example.invalid/kms",
///     &root_key,
///     PostgresOptions::default(),
/// )?;
/// let ids = store.locate(&LocateQuery::default())?;
/// # Ok(()) }
/// ```
pub struct PostgresStore {
    queue: mpsc::UnboundedSender<PutJob>,
    pool: Pool,
    sealer: Arc<Sealer>,
    options: PostgresOptions,
    counters: Arc<Counters>,
    schema_version: i32,
    update_sql: Arc<str>,
    // Last: dropped after the pool and the queue, shutting down their tasks.
    bridge: Bridge,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL: it may carry a password.
        f.debug_struct("PostgresStore")
            .field("options", &self.options)
            .field("schema_version", &self.schema_version)
            .finish_non_exhaustive()
    }
}

const GET_SQL: &str = "SELECT sealed_record FROM kms_objects WHERE id = $1";
const VERSION_SQL: &str = "SELECT version FROM kms_objects WHERE id = $1";
const DELETE_SQL: &str = "DELETE FROM kms_objects WHERE id = $1 AND version = $2";
/// Advisory lock keys of the insert lock: this prefix (ASCII "kms") and the objects table's oid, so that stores in
/// different schemas of one database do not wait for each other.
const INSERT_LOCK_PREFIX: i64 = 0x006b_6d73 << 32;

fn update_sql() -> String {
    let sets: Vec<String> = COLUMNS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let n = COLUMNS.len();
    format!(
        "UPDATE kms_objects SET {} WHERE id = $1 AND version = ${} AND state = ANY(${})",
        sets.join(", "),
        n + 1,
        n + 2
    )
}

impl PostgresStore {
    /// Connects to the database at `url` (a libpq-style URL or key=value string), creates or migrates the store's
    /// tables, and checks that `root_key` is the key the database's records are sealed under.
    ///
    /// # Errors
    /// [`StoreError::Storage`] with a [`PostgresError`] for a malformed URL or options, a database whose schema is
    /// newer than this build, or a root key that does not open the database's records (every node must share
    /// one); [`StoreError::Unavailable`] when the database cannot be reached; the root key provider's errors.
    pub fn connect(
        url: &str,
        root_key: &dyn RootKeyProvider,
        options: PostgresOptions,
    ) -> Result<Self, StoreError> {
        if !(1..=MAX_POOL_SIZE).contains(&options.pool_size) {
            return Err(PostgresError::Option("pool_size must be 1 to 1024").into());
        }
        if !(1..=MAX_BATCH).contains(&options.max_batch) {
            return Err(PostgresError::Option("max_batch must be 1 to 10000").into());
        }
        if options.operation_timeout.is_zero() || options.connect_timeout.is_zero() {
            return Err(PostgresError::Option("timeouts must be positive").into());
        }
        if let Some(schema) = &options.schema
            && !schema::valid_schema_name(schema)
        {
            return Err(PostgresError::Option(
                "schema must be a lower-case SQL identifier of at most 63 characters",
            )
            .into());
        }
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| PostgresError::Url(e.to_string()))?;
        config.connect_timeout(options.connect_timeout);
        config.keepalives(true);
        if config.get_application_name().is_none() {
            config.application_name("kms");
        }
        if let Some(schema) = &options.schema {
            let path = format!("-c search_path={schema}");
            let all = match config.get_options() {
                Some(o) if !o.is_empty() => format!("{o} {path}"),
                _ => path,
            };
            config.options(all);
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &options.tls_ca_file {
            Some(ca) => {
                config.ssl_mode(SslMode::Require);
                Manager::from_config(config, tls::connector(ca)?, manager_config)
            }
            None if config.get_ssl_mode() == SslMode::Require => {
                return Err(PostgresError::Option(
                    "sslmode=require needs the CA that verifies the server (tls_ca_file, --database-ca-file)",
                )
                .into());
            }
            None => Manager::from_config(config, NoTls, manager_config),
        };
        let sealer = Arc::new(Sealer::new(root_key)?);
        let bridge = Bridge::new(options.runtime_threads)?;
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.operation_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| PostgresError::Pool(e.to_string()))?;
        let (version, lock_key) = {
            let pool = pool.clone();
            let create_schema = options.schema.clone();
            let sealer = Arc::clone(&sealer);
            bridge.run(options.operation_timeout, async move {
                let mut client = pool.get().await.map_err(pool_error)?;
                let version =
                    schema::migrate(&mut client, create_schema.as_deref(), &sealer).await?;
                let oid: i64 = client
                    .query_one("SELECT 'kms_objects'::regclass::oid::bigint", &[])
                    .await
                    .map_err(db)?
                    .get(0);
                Ok((version, INSERT_LOCK_PREFIX | (oid & 0xffff_ffff)))
            })?
        };
        let (queue, jobs) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        bridge.handle().spawn(batch::writer(
            pool.clone(),
            lock_key,
            options.max_batch,
            jobs,
            Arc::clone(&counters),
        ));
        Ok(Self {
            queue,
            pool,
            sealer,
            options,
            counters,
            schema_version: version,
            update_sql: update_sql().into(),
            bridge,
        })
    }

    /// The schema version of the database (after the migrations this build applied): [`SCHEMA_VERSION`].
    #[must_use]
    pub fn schema_version(&self) -> i32 {
        self.schema_version
    }

    /// Insert transactions so far and the puts they carried.
    #[must_use]
    pub fn put_stats(&self) -> PutStats {
        self.counters.get()
    }

    fn run<T, F>(&self, operation: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        self.bridge.run(self.options.operation_timeout, operation)
    }

    fn read_record(&self, id: &ObjectId) -> Result<Vec<u8>, StoreError> {
        let pool = self.pool.clone();
        let id = id.as_str().as_bytes().to_vec();
        self.run(async move {
            let mut attempt = 1;
            loop {
                let result = async {
                    let client = pool.get().await.map_err(pool_error)?;
                    let statement = client.prepare_cached(GET_SQL).await.map_err(db)?;
                    client.query_opt(&statement, &[&id]).await.map_err(db)
                }
                .await;
                match result {
                    Err(StoreError::Unavailable(_)) if attempt < READ_ATTEMPTS => attempt += 1,
                    Err(e) => return Err(e),
                    Ok(None) => return Err(StoreError::NotFound),
                    Ok(Some(row)) => return row.try_get(0).map_err(db),
                }
            }
        })
    }

    /// The stored record of `id`, as it is in the database. For tests of sealing and integrity checks.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; database errors.
    #[cfg(feature = "contract-tests")]
    #[doc(hidden)]
    pub fn raw_record(&self, id: &ObjectId) -> Result<Vec<u8>, StoreError> {
        self.read_record(id)
    }

    /// Overwrites the stored record of `id` with arbitrary bytes, bypassing every check: a tampering attacker with
    /// access to the database. For tests of sealing and integrity checks.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; database errors.
    #[cfg(feature = "contract-tests")]
    #[doc(hidden)]
    pub fn write_raw_record(&self, id: &ObjectId, record: &[u8]) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        let id = id.as_str().as_bytes().to_vec();
        let record = record.to_vec();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let n = client
                .execute(
                    "UPDATE kms_objects SET sealed_record = $2 WHERE id = $1",
                    &[&id, &record],
                )
                .await
                .map_err(db)?;
            if n == 1 {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
    }

    /// After an update or delete conditioned on `expected` changed nothing: why.
    async fn explain_miss(
        client: &deadpool_postgres::Client,
        id: &[u8],
        expected: i64,
    ) -> Result<StoreError, StoreError> {
        let row = client.query_opt(VERSION_SQL, &[&id]).await.map_err(db)?;
        Ok(match row {
            None => StoreError::NotFound,
            Some(row) => {
                let found: i64 = row.try_get(0).map_err(db)?;
                if found == expected {
                    // The version matched, so the state check refused it.
                    StoreError::InvalidRequest("lifecycle state transition not permitted by KMIP")
                } else {
                    StoreError::VersionConflict {
                        expected: u64::try_from(expected).unwrap_or(0),
                        found: u64::try_from(found).unwrap_or(0),
                    }
                }
            }
        })
    }
}

impl ObjectStore for PostgresStore {
    fn put(&self, object: &StoredObject) -> Result<(), StoreError> {
        if object.version != 1 {
            return Err(StoreError::InvalidRequest(
                "a new object must have version 1",
            ));
        }
        let record = self.sealer.seal_record(object)?;
        let row = Row::new(&object.metadata, 1, record)?;
        let queue = self.queue.clone();
        self.run(async move {
            let (done, result) = oneshot::channel();
            queue
                .send(PutJob { row, done })
                .map_err(|_| StoreError::from(PostgresError::RuntimeStopped))?;
            result
                .await
                .unwrap_or_else(|_| Err(PostgresError::RuntimeStopped.into()))
        })
    }

    fn get(&self, id: &ObjectId) -> Result<StoredObject, StoreError> {
        let record = self.read_record(id)?;
        self.sealer.open_record(id, &record)
    }

    fn update(&self, object: &mut StoredObject) -> Result<(), StoreError> {
        let expected = columns::version_column(object.version)?;
        let next = object
            .version
            .checked_add(1)
            .ok_or(StoreError::InvalidRequest("version overflow"))?;
        let record = self
            .sealer
            .seal(&object.metadata, object.key.as_ref(), next)?;
        let row = Row::new(&object.metadata, next, record)?;
        let allowed = columns::states_leading_to(object.metadata.state);
        let pool = self.pool.clone();
        let sql = Arc::clone(&self.update_sql);
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client.prepare_cached(&sql).await.map_err(db)?;
            let mut params: Vec<&(dyn ToSql + Sync)> = row.params().to_vec();
            params.push(&expected);
            params.push(&allowed);
            if client.execute(&statement, &params).await.map_err(db)? == 1 {
                return Ok(());
            }
            Err(Self::explain_miss(&client, &row.id, expected).await?)
        })?;
        object.version = next;
        Ok(())
    }

    fn delete(&self, id: &ObjectId, expected_version: u64) -> Result<(), StoreError> {
        let expected = columns::version_column(expected_version)?;
        let pool = self.pool.clone();
        let id = id.as_str().as_bytes().to_vec();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client.prepare_cached(DELETE_SQL).await.map_err(db)?;
            if client
                .execute(&statement, &[&id, &expected])
                .await
                .map_err(db)?
                == 1
            {
                return Ok(());
            }
            match Self::explain_miss(&client, &id, expected).await? {
                // The row was deleted and put again between the two statements: it is another object now.
                StoreError::InvalidRequest(_) => Err(StoreError::VersionConflict {
                    expected: expected_version_u64(expected),
                    found: expected_version_u64(expected),
                }),
                other => Err(other),
            }
        })
    }

    fn locate(&self, query: &LocateQuery) -> Result<Vec<ObjectId>, StoreError> {
        let Some((sql, params)) = columns::locate_sql(query) else {
            return Ok(Vec::new());
        };
        let pool = self.pool.clone();
        let raw: Vec<Vec<u8>> = self.run(async move {
            let params: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let mut attempt = 1;
            loop {
                let result = async {
                    let client = pool.get().await.map_err(pool_error)?;
                    let statement = client.prepare_cached(&sql).await.map_err(db)?;
                    client.query(&statement, &params).await.map_err(db)
                }
                .await;
                match result {
                    Err(StoreError::Unavailable(_)) if attempt < READ_ATTEMPTS => attempt += 1,
                    Err(e) => return Err(e),
                    Ok(rows) => {
                        return rows
                            .iter()
                            .map(|r| r.try_get::<_, Vec<u8>>(0).map_err(db))
                            .collect();
                    }
                }
            }
        })?;
        Ok(raw
            .into_iter()
            .filter_map(|id| {
                let id = String::from_utf8(id)
                    .ok()
                    .and_then(|s| ObjectId::try_from(s).ok());
                if id.is_none() {
                    tracing::warn!("locate skipped a row whose id is not a valid object id");
                }
                id
            })
            .collect())
    }
}

fn expected_version_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
