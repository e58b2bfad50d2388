//! An in-memory store: for tests, and for applications that keep keys only for the life of the process.

use std::collections::{BTreeMap, HashMap};

use parking_lot::RwLock;

use super::{LocateQuery, ObjectStore, StoreError, StoredObject};
use crate::object::ObjectId;

#[derive(Default)]
struct Inner {
    objects: HashMap<ObjectId, (u64, StoredObject)>,
    /// Insertion sequence -> id, so that Locate returns objects oldest first.
    order: BTreeMap<u64, ObjectId>,
    next_seq: u64,
}

/// A [`ObjectStore`] in memory. Nothing survives the process.
#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl ObjectStore for MemoryStore {
    fn put(&self, object: &StoredObject) -> Result<(), StoreError> {
        if object.version != 1 {
            return Err(StoreError::InvalidRequest(
                "a new object must have version 1",
            ));
        }
        let mut inner = self.inner.write();
        let id = object.metadata.id.clone();
        if inner.objects.contains_key(&id) {
            return Err(StoreError::AlreadyExists);
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.insert(seq, id.clone());
        inner.objects.insert(id, (seq, object.clone()));
        Ok(())
    }

    fn get(&self, id: &ObjectId) -> Result<StoredObject, StoreError> {
        self.inner
            .read()
            .objects
            .get(id)
            .map(|(_, o)| o.clone())
            .ok_or(StoreError::NotFound)
    }

    fn update(&self, object: &mut StoredObject) -> Result<(), StoreError> {
        let mut inner = self.inner.write();
        let (_, stored) = inner
            .objects
            .get_mut(&object.metadata.id)
            .ok_or(StoreError::NotFound)?;
        if stored.version != object.version {
            return Err(StoreError::VersionConflict {
                expected: object.version,
                found: stored.version,
            });
        }
        object.version += 1;
        *stored = object.clone();
        Ok(())
    }

    fn delete(&self, id: &ObjectId, expected_version: u64) -> Result<(), StoreError> {
        let mut inner = self.inner.write();
        let (seq, stored) = inner.objects.get(id).ok_or(StoreError::NotFound)?;
        if stored.version != expected_version {
            return Err(StoreError::VersionConflict {
                expected: expected_version,
                found: stored.version,
            });
        }
        let seq = *seq;
        inner.objects.remove(id);
        inner.order.remove(&seq);
        Ok(())
    }

    fn locate(&self, query: &LocateQuery) -> Result<Vec<ObjectId>, StoreError> {
        let inner = self.inner.read();
        Ok(inner
            .order
            .values()
            .filter(|id| {
                inner
                    .objects
                    .get(*id)
                    .is_some_and(|(_, o)| query.matches(&o.metadata))
            })
            .skip(query.offset)
            .take(query.max_items.unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }
}
