//! Audit events: who did what to which object, and how it ended.
//!
//! The [`KeyManager`](crate::KeyManager) emits one [`AuditEvent`] for every operation, successful or not, through
//! an [`AuditSink`]. Events carry names, ids and outcomes only: never key material, plaintext, ciphertext, MACs or
//! signatures, so a sink may write them anywhere.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use parking_lot::Mutex;
use serde::{Serialize, Serializer};
use time::OffsetDateTime;

use crate::error::ResultReason;
use crate::object::ObjectId;

/// The operations of the [`KeyManager`](crate::KeyManager), named after KMIP's where KMIP has them.
#[allow(missing_docs)] // the names are KMIP's operation names
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Operation {
    Create,
    CreateKeyPair,
    Register,
    Import,
    Get,
    GetAttributes,
    GetAttributeList,
    AddAttribute,
    SetAttribute,
    ModifyAttribute,
    DeleteAttribute,
    Locate,
    Activate,
    /// An Activate reversed by the Undo option of the batch that made it (KMIP 2.1 §6.3.9).
    UndoActivate,
    Revoke,
    Destroy,
    ReKey,
    ReKeyKeyPair,
    Encrypt,
    Decrypt,
    Sign,
    SignatureVerify,
    Mac,
    MacVerify,
    Wrap,
    Unwrap,
    DeriveKey,
    Rng,
    Hash,
    Check,
    CreateSplitKey,
    JoinSplitKey,
    /// Giving another principal rights on an object (not a KMIP operation).
    Grant,
    /// Taking rights back (not a KMIP operation).
    RevokeGrant,
    /// Start-up reconciliation marked an object whose backend key is missing.
    Reconcile,
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded.
    Success,
    /// It failed with this KMIP Result Reason.
    Failure(ResultReason),
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Outcome::Success => serializer.serialize_str("Success"),
            Outcome::Failure(reason) => serializer.serialize_str(&format!("{reason:?}")),
        }
    }
}

/// One audited operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// When the operation ran (the manager's clock).
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The caller's name.
    pub principal: String,
    /// What it asked for.
    pub operation: Operation,
    /// The object concerned, when there is one (the new object's id for successful creates).
    pub object_id: Option<ObjectId>,
    /// Success, or the Result Reason it failed with.
    pub outcome: Outcome,
}

/// Where audit events go.
///
/// Recording is infallible for the caller: a sink that cannot write reports it on its own channel (the JSON-lines
/// sink logs through `tracing`) rather than failing the key operation that already happened.
pub trait AuditSink: Send + Sync {
    /// Records one event.
    fn record(&self, event: &AuditEvent);

    /// Whether [`AuditSink::record`] would keep an event with `outcome`. When `false` the manager skips building
    /// the event, which saves its allocations on every key use; the default keeps everything.
    fn wants(&self, outcome: Outcome) -> bool {
        let _ = outcome;
        true
    }
}

/// Sends each event to `tracing` at INFO (failures at WARN), target `kms_core::audit`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingAuditSink;

impl AuditSink for TracingAuditSink {
    /// Whether the subscriber takes the event `record` would send, with the same target, level and field names.
    fn wants(&self, outcome: Outcome) -> bool {
        match outcome {
            Outcome::Success => tracing::enabled!(
                target: "kms_core::audit",
                tracing::Level::INFO,
                principal,
                operation,
                object,
                outcome
            ),
            Outcome::Failure(_) => tracing::enabled!(
                target: "kms_core::audit",
                tracing::Level::WARN,
                principal,
                operation,
                object,
                outcome
            ),
        }
    }

    fn record(&self, e: &AuditEvent) {
        let object = e.object_id.as_ref().map(ObjectId::as_str).unwrap_or("-");
        match e.outcome {
            Outcome::Success => tracing::info!(
                target: "kms_core::audit",
                principal = %e.principal,
                operation = ?e.operation,
                object,
                outcome = "Success",
            ),
            Outcome::Failure(reason) => tracing::warn!(
                target: "kms_core::audit",
                principal = %e.principal,
                operation = ?e.operation,
                object,
                outcome = ?reason,
            ),
        }
    }
}

/// Keeps events in memory, for tests and for callers that ship them elsewhere in batches.
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryAuditSink {
    /// An empty sink.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every event recorded so far, oldest first.
    #[must_use]
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().clone()
    }

    /// Takes every event recorded so far, leaving the sink empty.
    #[must_use]
    pub fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.events.lock())
    }
}

impl AuditSink for MemoryAuditSink {
    fn record(&self, event: &AuditEvent) {
        self.events.lock().push(event.clone());
    }
}

/// Appends each event as one JSON object per line to a file (created 0600 on Unix).
#[derive(Debug)]
pub struct JsonLinesAuditSink {
    file: Mutex<File>,
}

impl JsonLinesAuditSink {
    /// Opens (or creates) `path` for appending.
    ///
    /// # Errors
    /// The I/O error of opening the file.
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        Ok(Self {
            file: Mutex::new(options.open(path)?),
        })
    }
}

impl AuditSink for JsonLinesAuditSink {
    fn record(&self, event: &AuditEvent) {
        let mut line = match serde_json::to_vec(event) {
            Ok(line) => line,
            Err(e) => {
                tracing::error!(target: "kms_core::audit", error = %e, "cannot serialize an audit event");
                return;
            }
        };
        line.push(b'\n');
        // One write per event so that concurrent processes appending to the same file do not interleave lines.
        if let Err(e) = self.file.lock().write_all(&line) {
            tracing::error!(target: "kms_core::audit", error = %e, "cannot write the audit log");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    use super::*;
    use crate::{KeyManager, MemoryStore, Principal, SoftwareBackend};

    /// Takes audit events at `level` and above, counting them.
    struct Counting {
        level: Level,
        events: Arc<AtomicUsize>,
    }

    impl Subscriber for Counting {
        fn enabled(&self, m: &Metadata<'_>) -> bool {
            m.target() == "kms_core::audit" && *m.level() <= self.level
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {
            self.events.fetch_add(1, Ordering::SeqCst);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// With `level` enabled: what the tracing sink wants, and how many events two calls (one success, one
    /// failure) through a manager deliver.
    fn run(level: Level) -> (bool, bool, usize) {
        let events = Arc::new(AtomicUsize::new(0));
        let subscriber = Counting {
            level,
            events: events.clone(),
        };
        tracing::subscriber::with_default(subscriber, || {
            let m = KeyManager::builder(Arc::new(MemoryStore::new()))
                .backend(Arc::new(SoftwareBackend::new()))
                .build()
                .unwrap();
            let who = Principal::new("alice").unwrap();
            m.random(&who, 16).unwrap();
            m.random(&who, 0).unwrap_err();
            (
                TracingAuditSink.wants(Outcome::Success),
                TracingAuditSink.wants(Outcome::Failure(ResultReason::InvalidField)),
                events.load(Ordering::SeqCst),
            )
        })
    }

    #[test]
    fn tracing_sink_wants_what_the_subscriber_takes() {
        assert_eq!(run(Level::INFO), (true, true, 2));
        assert_eq!(run(Level::WARN), (false, true, 1));
        assert_eq!(run(Level::ERROR), (false, false, 0));
    }
}
