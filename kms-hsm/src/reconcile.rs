//! Start-up reconciliation between the store and the token, both ways.
//!
//! - Records whose token object vanished ([`KeyManager::reconcile`](kms_core::KeyManager::reconcile) reports and
//!   marks them; [`reconcile`] can also delete their records, for operators who know the keys are gone for good).
//! - Token objects this backend made that no record names: left behind when a process died between creating the
//!   key in the token and recording it (the create/rollback protocol destroys them when the record fails; a
//!   crash cannot). Reported, and destroyed on request.

use cryptoki::object::{Attribute, AttributeType};
use kms_core::backend::{BackendError, KeyBackend};
use kms_core::object::ObjectId;
use kms_core::store::{LocateQuery, ObjectStore, StoreError};

use crate::Pkcs11Backend;
use crate::key_ref::ID_LEN;

/// What [`reconcile`] does besides reporting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReconcileOptions {
    /// Delete the records whose token object is missing.
    pub delete_missing_records: bool,
    /// Destroy the token objects no record names.
    pub destroy_orphans: bool,
}

/// What [`reconcile`] found (and did).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Objects whose record names a token object that is gone.
    pub missing: Vec<ObjectId>,
    /// Labels (managed object ids) of token objects no record names.
    pub orphans: Vec<String>,
    /// Whether the missing records were deleted.
    pub deleted_records: bool,
    /// Whether the orphans were destroyed.
    pub destroyed_orphans: bool,
}

/// Why reconciliation stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// The store failed.
    #[error("object store: {0}")]
    Store(#[from] StoreError),
    /// The token failed (a token that is down says nothing about keys, so nothing is changed).
    #[error("token: {0}")]
    Backend(#[from] BackendError),
}

/// Compares `store` with the token of `backend`. Run it at start, before a key manager caches the store and before
/// any other process creates keys on the token: a key created but not yet recorded elsewhere looks like an orphan.
///
/// # Errors
/// [`ReconcileError`] when the store or the token fails.
pub fn reconcile(
    store: &dyn ObjectStore,
    backend: &Pkcs11Backend,
    options: ReconcileOptions,
) -> Result<ReconcileReport, ReconcileError> {
    let mut report = ReconcileReport::default();
    let mut known_ids = std::collections::HashSet::new();
    for id in store.locate(&LocateQuery::default())? {
        let object = match store.get(&id) {
            Ok(o) => o,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        let Some(key) = &object.key else { continue };
        if key.backend() != backend.id() {
            continue;
        }
        if let Ok(k) = backend.decode(key) {
            known_ids.insert(k.id);
        }
        if !backend.exists(key)? {
            tracing::warn!(target: "kms_hsm", %id, "the token object of this record is missing");
            if options.delete_missing_records {
                store.delete(&id, object.version)?;
            }
            report.missing.push(id);
        }
    }
    report.deleted_records = options.delete_missing_records && !report.missing.is_empty();
    // Every key object on the token with a CKA_ID of our length that no record names.
    let objects = backend.with_session("listing token objects", |s| {
        let mut out = Vec::new();
        for h in s.find_objects(&[Attribute::Token(true)])? {
            let attrs = s.get_attributes(
                h,
                &[
                    AttributeType::Id,
                    AttributeType::Label,
                    AttributeType::Class,
                ],
            )?;
            let id = attrs.iter().find_map(|a| match a {
                Attribute::Id(v) => <[u8; ID_LEN]>::try_from(v.as_slice()).ok(),
                _ => None,
            });
            let label = attrs.iter().find_map(|a| match a {
                Attribute::Label(v) => Some(String::from_utf8_lossy(v).into_owned()),
                _ => None,
            });
            if let (Some(id), Some(label)) = (id, label) {
                out.push((h, id, label));
            }
        }
        Ok(out)
    })?;
    let mut orphan_handles = Vec::new();
    for (h, id, label) in objects {
        // This backend labels its objects with the key manager's new ids, UUIDs; objects of others (the root
        // key-encryption key, keys made by other tools) are left alone.
        if known_ids.contains(&id) || uuid::Uuid::parse_str(&label).is_err() {
            continue;
        }
        if !report.orphans.contains(&label) {
            report.orphans.push(label);
        }
        orphan_handles.push(h);
    }
    if options.destroy_orphans && !orphan_handles.is_empty() {
        for h in orphan_handles {
            backend.destroy_handle(h);
        }
        report.destroyed_orphans = true;
    }
    Ok(report)
}
