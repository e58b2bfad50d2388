//! The store's own tokio runtime, and the synchronous door into it.
//!
//! The [`ObjectStore`](crate::ObjectStore) API is synchronous; tokio-postgres is async. Callers may be plain
//! threads, `spawn_blocking` threads of an application's runtime, or (by mistake) async workers of one. Calling
//! `block_on` from inside a runtime panics, so the store never does: each operation is spawned onto the store's
//! runtime and the caller waits on a standard channel, which works from any thread and never nests runtimes.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};

use super::error::PostgresError;
use crate::store::StoreError;

pub(super) struct Bridge {
    /// `None` only while dropping: the runtime is shut down in the background, which is allowed in any context.
    runtime: Option<Runtime>,
    handle: Handle,
}

impl Bridge {
    pub(super) fn new(threads: usize) -> Result<Self, StoreError> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("kms-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Storage(Box::new(e)))?;
        let handle = runtime.handle().clone();
        Ok(Self {
            runtime: Some(runtime),
            handle,
        })
    }

    pub(super) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `operation` on the store's runtime and waits for it, at most `timeout`.
    ///
    /// A timed-out operation is abandoned, not undone: a write may still commit. The error says so.
    pub(super) fn run<T, F>(&self, timeout: Duration, operation: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let result = match tokio::time::timeout(timeout, operation).await {
                Ok(r) => r,
                Err(_) => Err(PostgresError::Timeout(timeout).into()),
            };
            // The caller is gone only if its thread died; nothing to report to then.
            let _ = tx.send(result);
        });
        rx.recv()
            .unwrap_or_else(|_| Err(PostgresError::RuntimeStopped.into()))
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
