//! The manager's read cache of objects.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::object::ObjectId;
use crate::store::StoredObject;

/// Objects by id, as this manager last read or wrote them. An entry is replaced only by a newer version, so a slow
/// reader cannot put back a record that a concurrent update has already replaced.
pub(super) struct ObjectCache {
    capacity: usize,
    map: RwLock<HashMap<ObjectId, Arc<StoredObject>>>,
}

impl ObjectCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            map: RwLock::new(HashMap::new()),
        }
    }

    pub(super) fn get(&self, id: &ObjectId) -> Option<Arc<StoredObject>> {
        if self.capacity == 0 {
            return None;
        }
        self.map.read().get(id).cloned()
    }

    /// Keeps `object` unless a version at least as new is there already.
    pub(super) fn offer(&self, object: &Arc<StoredObject>) {
        if self.capacity == 0 {
            return;
        }
        let mut map = self.map.write();
        let id = &object.metadata.id;
        if map.get(id).is_some_and(|o| o.version >= object.version) {
            return;
        }
        if map.len() >= self.capacity && !map.contains_key(id) {
            // Bounded without bookkeeping: start over. Hot keys come back on their next use.
            map.clear();
        }
        map.insert(id.clone(), object.clone());
    }

    pub(super) fn evict(&self, id: &ObjectId) {
        if self.capacity != 0 {
            self.map.write().remove(id);
        }
    }
}
