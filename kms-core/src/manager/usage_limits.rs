//! KMIP Usage Limits: each protecting use of a key (Encrypt, Sign, MAC) is counted against the key's limit before
//! the key is used, in one optimistic store update that both checks and counts, so concurrent uses of one key
//! (in this process or, with a shared store, in others) can never together exceed the limit.

use super::KeyManager;
use crate::error::{Error, Result};
use crate::object::{ObjectId, Rights, UsageLimitsUnit};
use crate::principal::Principal;
use crate::store::StoredObject;

impl KeyManager {
    /// Counts a use protecting `bytes` bytes with `key` against its Usage Limits; keys without limits cost
    /// nothing more than the check of the already loaded object.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`] when less than the use needs remains (KMIP answers Permission Denied);
    /// store errors, including a conflict that outlasts the update attempts.
    pub(super) fn count_use(
        &self,
        who: &Principal,
        id: &ObjectId,
        key: &StoredObject,
        bytes: usize,
    ) -> Result<()> {
        if key.metadata.attributes.usage_limits.is_none() {
            return Ok(());
        }
        self.update_object(who, id, Rights::USE, |object, _| {
            // The latest version decides: the limit may have been changed or removed since `key` was read.
            let Some(limits) = object.metadata.attributes.usage_limits.as_mut() else {
                return Ok(());
            };
            let needed = match limits.unit {
                UsageLimitsUnit::Byte => u64::try_from(bytes).unwrap_or(u64::MAX),
                UsageLimitsUnit::Object => 1,
            };
            limits.count = limits
                .count
                .checked_sub(needed)
                .ok_or_else(|| Error::PermissionDenied)?;
            Ok(())
        })?;
        Ok(())
    }
}
