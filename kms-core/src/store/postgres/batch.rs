//! Puts: group commit under the insert lock.
//!
//! Locate pages by insertion order, and paging must not skip or repeat objects while others are inserted. A
//! sequence alone does not give that: a transaction can take seq 10, another seq 11 and commit first, and a reader
//! then sees 11 without 10, which appears later *before* the page boundary. So every insert transaction takes a
//! transaction-scoped advisory lock first; seqs are then handed out and committed in one order across all nodes,
//! and what a reader sees is always a prefix of that order.
//!
//! The lock makes insert transactions take turns, one commit (one WAL flush) each. To keep that from capping
//! creates at one per flush, each node queues its concurrent puts and one writer task inserts them together, in
//! one transaction with pipelined statements: many puts per lock turn and per flush.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_postgres::Pool;
use futures_util::future::try_join_all;
use tokio::sync::{mpsc, oneshot};

use super::columns::{COLUMNS, Row};
use super::error::{db, pool as pool_error};
use crate::store::StoreError;

pub(super) struct PutJob {
    pub(super) row: Row,
    pub(super) done: oneshot::Sender<Result<(), StoreError>>,
}

/// Insert transactions and the puts they carried, for benchmarks and operators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutStats {
    /// Insert transactions committed (or attempted).
    pub transactions: u64,
    /// Puts they carried.
    pub puts: u64,
}

#[derive(Default)]
pub(super) struct Counters {
    transactions: AtomicU64,
    puts: AtomicU64,
}

impl Counters {
    pub(super) fn get(&self) -> PutStats {
        PutStats {
            transactions: self.transactions.load(Ordering::Relaxed),
            puts: self.puts.load(Ordering::Relaxed),
        }
    }
}

fn insert_sql() -> String {
    let placeholders: Vec<String> = (1..=COLUMNS.len()).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO kms_objects ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING",
        COLUMNS.join(", "),
        placeholders.join(", ")
    )
}

/// The writer task: takes whatever puts have queued (at most `max_batch`) and inserts them in one transaction.
pub(super) async fn writer(
    pool: Pool,
    lock_key: i64,
    max_batch: usize,
    mut queue: mpsc::UnboundedReceiver<PutJob>,
    counters: Arc<Counters>,
) {
    let sql = insert_sql();
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < max_batch {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        counters.transactions.fetch_add(1, Ordering::Relaxed);
        counters
            .puts
            .fetch_add(jobs.len() as u64, Ordering::Relaxed);
        let rows: Vec<&Row> = jobs.iter().map(|j| &j.row).collect();
        let results = match insert(&pool, lock_key, &sql, &rows).await {
            Ok(results) => results,
            // A failure that is not the database being away may be one bad row: retry each alone, so that it
            // fails only its own put.
            Err(StoreError::Storage(_)) if jobs.len() > 1 => {
                let mut results = Vec::with_capacity(jobs.len());
                for row in &rows {
                    counters.transactions.fetch_add(1, Ordering::Relaxed);
                    results.push(
                        insert(&pool, lock_key, &sql, &[row])
                            .await
                            .and_then(|mut r| r.pop().unwrap_or(Err(missing()))),
                    );
                }
                results
            }
            Err(e) => {
                let e = Arc::new(e);
                jobs.iter().map(|_| Err(shared(&e))).collect()
            }
        };
        for (job, result) in jobs.into_iter().zip(results) {
            // A caller that timed out no longer listens.
            let _ = job.done.send(result);
        }
    }
}

fn missing() -> StoreError {
    StoreError::Storage("no result for a put".into())
}

/// One error reported to several callers, keeping whether it is retryable.
fn shared(e: &Arc<StoreError>) -> StoreError {
    let source: Box<dyn std::error::Error + Send + Sync> = Box::new(SharedError(Arc::clone(e)));
    if e.is_retryable() {
        StoreError::Unavailable(source)
    } else {
        StoreError::Storage(source)
    }
}

#[derive(Debug)]
struct SharedError(Arc<StoreError>);

impl std::fmt::Display for SharedError {
    /// The cause itself, not its "store unavailable:" prefix, which the outer error adds again.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match std::error::Error::source(self.0.as_ref()) {
            Some(cause) => std::fmt::Display::fmt(cause, f),
            None => std::fmt::Display::fmt(&self.0, f),
        }
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// Inserts `rows` in one transaction under the insert lock. The outer error fails them all (nothing was
/// committed); the inner results say, per row, whether its id was free.
async fn insert(
    pool: &Pool,
    lock_key: i64,
    sql: &str,
    rows: &[&Row],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let txn = client.transaction().await.map_err(db)?;
    let statement = txn.prepare_cached(sql).await.map_err(db)?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key])
        .await
        .map_err(db)?;
    // Pipelined: the statements go out together and the server runs them in order.
    let counts = try_join_all(
        rows.iter()
            .map(|row| txn.execute_raw(&statement, row.params())),
    )
    .await
    .map_err(db)?;
    txn.commit().await.map_err(db)?;
    Ok(counts
        .into_iter()
        .map(|n| {
            if n == 1 {
                Ok(())
            } else {
                Err(StoreError::AlreadyExists)
            }
        })
        .collect())
}
