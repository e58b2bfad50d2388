//! The manager's read cache of objects.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::quality::RandomState;
use parking_lot::RwLock;

use crate::object::ObjectId;
use crate::store::StoredObject;

/// Objects by id, as this manager last read or wrote them. An entry is replaced only by a newer version, so a slow
/// reader cannot put back a record that a concurrent update has already replaced; a deleted id keeps a tombstone,
/// so a slow reader cannot bring back a deleted record either.
///
/// The map hashes with foldhash under a per-map random seed rather than SipHash: every keyed operation looks its
/// object up here, and SipHash of an id cost about a tenth of the manager's whole overhead on an AES-GCM call.
/// Ids are partly client-chosen (Import keeps the Unique Identifier it is given), so the seed stays random, and the
/// map is bounded by `capacity`, so colliding ids could at worst slow lookups in a map of bounded size.
pub(super) struct ObjectCache {
    capacity: usize,
    map: RwLock<HashMap<ObjectId, Option<Arc<StoredObject>>, RandomState>>,
}

impl ObjectCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            map: RwLock::new(HashMap::with_hasher(RandomState::default())),
        }
    }

    pub(super) fn get(&self, id: &ObjectId) -> Option<Arc<StoredObject>> {
        if self.capacity == 0 {
            return None;
        }
        self.map.read().get(id).cloned().flatten()
    }

    /// Keeps `object` unless a version at least as new, or a tombstone, is there already.
    pub(super) fn offer(&self, object: &Arc<StoredObject>) {
        if self.capacity == 0 {
            return;
        }
        let mut map = self.map.write();
        let id = &object.metadata.id;
        match map.get(id) {
            Some(None) => return,
            Some(Some(o)) if o.version >= object.version => return,
            _ => {}
        }
        if map.len() >= self.capacity && !map.contains_key(id) {
            // Bounded without bookkeeping: start over. Hot keys come back on their next use.
            map.clear();
        }
        map.insert(id.clone(), Some(object.clone()));
    }

    /// Forgets a deleted object for good (until the cache next starts over).
    pub(super) fn evict(&self, id: &ObjectId) {
        if self.capacity != 0 {
            self.map.write().insert(id.clone(), None);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::object::{Attributes, ObjectMetadata, ObjectType, State};

    fn object(id: &ObjectId, version: u64) -> Arc<StoredObject> {
        Arc::new(StoredObject {
            metadata: ObjectMetadata {
                id: id.clone(),
                object_type: ObjectType::SecretData,
                state: State::PreActive,
                owner: "o".into(),
                grants: Vec::new(),
                attributes: Attributes::default(),
            },
            key: None,
            version,
        })
    }

    #[test]
    fn older_versions_and_deleted_ids_are_not_cached() {
        let cache = ObjectCache::new(8);
        let id = ObjectId::random();
        cache.offer(&object(&id, 2));
        cache.offer(&object(&id, 1));
        assert_eq!(cache.get(&id).unwrap().version, 2);
        cache.offer(&object(&id, 3));
        assert_eq!(cache.get(&id).unwrap().version, 3);
        cache.evict(&id);
        cache.offer(&object(&id, 4));
        assert!(cache.get(&id).is_none());
    }

    #[test]
    fn capacity_bounds_the_cache_and_zero_disables_it() {
        let cache = ObjectCache::new(2);
        let ids: Vec<ObjectId> = (0..3).map(|_| ObjectId::random()).collect();
        for id in &ids {
            cache.offer(&object(id, 1));
        }
        assert!(cache.map.read().len() <= 2);
        assert!(cache.get(&ids[2]).is_some());
        let off = ObjectCache::new(0);
        off.offer(&object(&ids[0], 1));
        assert!(off.get(&ids[0]).is_none());
    }
}
