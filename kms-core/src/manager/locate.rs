//! KMIP Locate, with access control folded into the query.

use super::KeyManager;
use crate::audit::Operation;
use crate::error::Result;
use crate::object::ObjectId;
use crate::principal::Principal;
use crate::store::LocateQuery;

/// The answer to Locate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Located {
    /// The ids found, oldest first, after the query's offset and at most its maximum.
    pub ids: Vec<ObjectId>,
    /// KMIP Located Items: how many objects matched in all, before offset and maximum.
    pub located_items: usize,
}

impl KeyManager {
    /// KMIP Locate: the objects the caller may see (own, or granted [`Rights::READ`](crate::object::Rights);
    /// all for administrators) that match every filter of `query`.
    ///
    /// `query.visible_to` is set from `who`, whatever the caller put there. A State filter matches the state the
    /// object has now, with passed Activation and Deactivation Dates honoured.
    ///
    /// # Errors
    /// Store errors.
    pub fn locate(&self, who: &Principal, query: &LocateQuery) -> Result<Located> {
        let result = self.locate_inner(who, query);
        self.audited(who, Operation::Locate, None, result)
    }

    fn locate_inner(&self, who: &Principal, query: &LocateQuery) -> Result<Located> {
        let mut q = query.clone();
        q.visible_to = (!who.is_admin()).then(|| who.name().to_owned());
        q.offset = 0;
        q.max_items = None;
        let mut ids = if let Some(state) = q.state.take() {
            // The stored state lags behind dates that have passed since the last write, so the store cannot filter
            // on it: read each candidate and compare its current state.
            let now = self.now();
            let mut matching = Vec::new();
            for id in self.store.locate(&q)? {
                match self.load(who, &id, crate::object::Rights::READ, now) {
                    Ok(o) if o.metadata.state == state => matching.push(id),
                    Ok(_) | Err(crate::Error::ItemNotFound) => {}
                    Err(e) => return Err(e),
                }
            }
            matching
        } else {
            self.store.locate(&q)?
        };
        let located_items = ids.len();
        let ids: Vec<ObjectId> = ids
            .drain(..)
            .skip(query.offset)
            .take(query.max_items.unwrap_or(usize::MAX))
            .collect();
        Ok(Located { ids, located_items })
    }
}
