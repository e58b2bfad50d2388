//! KMIP Usage Limits: each protecting use of a key (Encrypt, Sign, MAC) is counted against the key's limit before
//! the key is used, in one optimistic store update that both checks and counts, so concurrent uses of one key
//! (in this process or, with a shared store, in others) can never together exceed the limit. A use the backend
//! then refuses (bad parameters, an unsupported key size) is given back: it did not use the key.

use super::KeyManager;
use crate::error::{Error, Result};
use crate::object::{ObjectId, Rights, UsageLimitsUnit};
use crate::principal::Principal;
use crate::store::StoredObject;

impl KeyManager {
    /// Counts a use protecting `bytes` bytes with `key` against its Usage Limits, then runs `use_key`; keys
    /// without limits cost nothing more than the check of the already loaded object. When `use_key` fails, the
    /// use is given back (at most up to the limit's total, which the client may have set meanwhile). Giving back
    /// is an update of its own: should it fail, the use stays counted, which errs on the side of the limit.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`] when less than the use needs remains (KMIP answers Permission Denied);
    /// store errors, including a conflict that outlasts the update attempts; `use_key`'s error.
    pub(super) fn counted_use<T>(
        &self,
        who: &Principal,
        id: &ObjectId,
        key: &StoredObject,
        bytes: usize,
        use_key: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        if key.metadata.attributes.usage_limits.is_none() {
            return use_key();
        }
        self.adjust_count(who, id, bytes, |count, units| {
            count
                .checked_sub(units)
                .ok_or_else(|| Error::PermissionDenied)
        })?;
        let result = use_key();
        if result.is_err() {
            let _ = self.adjust_count(who, id, bytes, |count, units| {
                Ok(count.saturating_add(units))
            });
        }
        result
    }

    /// Changes the remaining count of `id`'s Usage Limits with `change(count, units)`, `units` being what a use of
    /// `bytes` bytes costs in the limit's unit, capped at the limit's total.
    fn adjust_count(
        &self,
        who: &Principal,
        id: &ObjectId,
        bytes: usize,
        change: impl Fn(u64, u64) -> Result<u64>,
    ) -> Result<()> {
        self.update_object(who, id, Rights::USE, |object, _| {
            // The latest version decides: the limit may have been changed or removed since `key` was read.
            let Some(limits) = object.metadata.attributes.usage_limits.as_mut() else {
                return Ok(());
            };
            let units = match limits.unit {
                UsageLimitsUnit::Byte => u64::try_from(bytes).unwrap_or(u64::MAX),
                UsageLimitsUnit::Object => 1,
            };
            limits.count = change(limits.count, units)?.min(limits.total);
            Ok(())
        })?;
        Ok(())
    }
}
