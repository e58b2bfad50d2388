//! Start-up reconciliation (as Parsec does it): records whose backend key has vanished.

use super::KeyManager;
use crate::audit::Operation;
use crate::error::Result;
use crate::object::{AttributeValue, ObjectId};
use crate::principal::Principal;
use crate::store::{LocateQuery, StoreError};

/// The custom attribute reconciliation sets on objects whose backend key is missing (a server `y-` attribute, so
/// clients cannot set or clear it).
pub const MISSING_KEY_ATTRIBUTE: &str = "y-kms-backend-key-missing";

/// What [`KeyManager::reconcile`] does besides reporting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReconcileOptions {
    /// Mark each object found with [`MISSING_KEY_ATTRIBUTE`] (the time of the check).
    pub mark: bool,
}

/// An object whose backend key is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingKey {
    /// The object.
    pub id: ObjectId,
    /// The backend that should hold its key (absent from this manager when the backend is not configured).
    pub backend: String,
}

impl KeyManager {
    /// Lists the objects whose record names a backend key that the backend no longer has (or whose backend is not
    /// configured), and with `options.mark` marks them. Meant to run at start.
    ///
    /// # Errors
    /// Store errors; backend errors other than a missing key (a device that is down says nothing about keys).
    pub fn reconcile(&self, options: ReconcileOptions) -> Result<Vec<MissingKey>> {
        let system = Principal::admin("kms-reconcile")?;
        let mut missing = Vec::new();
        for id in self.store.locate(&LocateQuery::default())? {
            let object = match self.store.get(&id) {
                Ok(o) => o,
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            let Some(key) = &object.key else { continue };
            let present = match self.backend_for(key) {
                Ok(backend) => backend.exists(key)?,
                Err(_) => false,
            };
            if present {
                continue;
            }
            missing.push(MissingKey {
                id: id.clone(),
                backend: key.backend().to_owned(),
            });
            tracing::warn!(target: "kms_core::manager", %id, backend = key.backend(), "the backend key of this object is missing");
            if options.mark {
                let result = self
                    .update_object(&system, &id, crate::object::Rights::MANAGE, |o, now| {
                        o.metadata.attributes.custom.insert(
                            MISSING_KEY_ATTRIBUTE.to_owned(),
                            AttributeValue::DateTime(now),
                        );
                        Ok(())
                    })
                    .map(|_| ());
                self.audited(&system, Operation::Reconcile, Some(&id), result)?;
            }
        }
        Ok(missing)
    }
}
