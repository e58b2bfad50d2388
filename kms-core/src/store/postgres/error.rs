//! PostgreSQL failures as [`StoreError`]s: what a retry may cure ([`StoreError::Unavailable`]) apart from what it
//! cannot ([`StoreError::Storage`]).

use std::time::Duration;

use deadpool_postgres::PoolError;

use crate::store::StoreError;

/// Failures of the PostgreSQL store that are not the database's own errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// An operation did not finish within [`PostgresOptions::operation_timeout`](super::PostgresOptions).
    #[error("database operation timed out after {0:?}; it may or may not have been applied")]
    Timeout(Duration),
    /// The store's own runtime has shut down (the store is being dropped).
    #[error("the store's database runtime has stopped")]
    RuntimeStopped,
    /// The connection URL could not be parsed.
    #[error("invalid database URL: {0}")]
    Url(String),
    /// An option is out of range.
    #[error("invalid PostgreSQL store option: {0}")]
    Option(&'static str),
    /// The database's schema was written by a newer build.
    #[error("the database has kms schema version {found}; this build knows versions up to {known}")]
    NewerSchema {
        /// The version in the database.
        found: i32,
        /// The newest version this build can migrate to.
        known: i32,
    },
    /// The database's records were sealed under another root key.
    #[error(
        "the root key does not open this database's records: every node sharing a database must use the same root \
         key (e.g. one --root-key-file)"
    )]
    WrongRootKey,
    /// The CA file for TLS to the database could not be used.
    #[error("database CA file {path}: {reason}")]
    TlsCa {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection pool could not be used.
    #[error("connection pool: {0}")]
    Pool(String),
    /// The database or the client failed; the message has the SQLSTATE and the server's words when there are.
    #[error("database: {message}")]
    Database {
        /// What failed.
        message: String,
        /// The client's error.
        #[source]
        source: tokio_postgres::Error,
    },
}

impl From<PostgresError> for StoreError {
    fn from(e: PostgresError) -> Self {
        match e {
            PostgresError::Timeout(_) | PostgresError::RuntimeStopped => {
                StoreError::Unavailable(Box::new(e))
            }
            other => StoreError::Storage(Box::new(other)),
        }
    }
}

/// Whether an error of the client means that the database, or the way to it, is away for now: the connection
/// broke or could not be made, the server is shutting down or starting, out of connections, or a transaction
/// lost a serialization race.
fn is_transient(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            let code = code.code();
            // 08: connection exception; 53: insufficient resources (too many connections, disk full);
            // 57P01-57P05: admin or crash shutdown, cannot connect now, idle session timeout;
            // 57014: statement cancelled; 40001 / 40P01: serialization failure, deadlock; 55P03: lock not available.
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || matches!(code, "57014" | "40001" | "40P01" | "55P03")
        }
        // No SQLSTATE: the client's own error. I/O and connection failures are transient; encoding and decoding
        // errors are bugs.
        None => {
            // A TLS failure (certificate not trusted, name mismatch) is configuration, not weather: retrying
            // cannot help, even though it arrives wrapped in an I/O error.
            let mut source = std::error::Error::source(e);
            let mut io = false;
            while let Some(s) = source {
                if s.is::<rustls::Error>()
                    || s.downcast_ref::<std::io::Error>()
                        .and_then(|io| io.get_ref())
                        .is_some_and(|inner| inner.is::<rustls::Error>())
                {
                    return false;
                }
                io |= s.is::<std::io::Error>();
                source = s.source();
            }
            if io {
                return true;
            }
            let text = e.to_string();
            text.starts_with("error connecting to server")
                || text.starts_with("timeout")
                || text.starts_with("unexpected message")
                || text.starts_with("error communicating")
        }
    }
}

/// A client error as a store error.
pub(super) fn db(e: tokio_postgres::Error) -> StoreError {
    let transient = is_transient(&e);
    // tokio-postgres says only "db error" for server errors; the SQLSTATE and message are what operators need.
    let mut message = match e.as_db_error() {
        Some(d) => format!("{} {}", d.code().code(), d.message()),
        None => e.to_string(),
    };
    if e.as_db_error().is_none() {
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
    }
    let error = Box::new(PostgresError::Database { message, source: e });
    if transient {
        StoreError::Unavailable(error)
    } else {
        StoreError::Storage(error)
    }
}

/// A pool error as a store error.
pub(super) fn pool(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => db(e),
        PoolError::Timeout(_) | PoolError::Closed => {
            StoreError::Unavailable(Box::new(PostgresError::Pool(e.to_string())))
        }
        other => StoreError::Storage(Box::new(PostgresError::Pool(other.to_string()))),
    }
}
