//! KMIP Import (KMIP 2.0): an object brought in with its Unique Identifier and the attributes another server
//! kept for it (migration, restore). KMIP Export is [`KeyManager::get`]: its answer carries the attributes.

use super::create::{check_date_order, check_material, policy_of};
use super::{KeyManager, apply_dates, whole_seconds};
use crate::audit::Operation;
use crate::error::{Error, Result};
use crate::material::KeyMaterial;
use crate::object::{Attributes, ObjectId, ObjectMetadata, ObjectType, Rights, State};
use crate::principal::Principal;
use crate::store::{StoreError, StoredObject};

/// What KMIP Import carries.
#[derive(Debug)]
pub struct ImportRequest {
    /// The Unique Identifier the object keeps.
    pub id: ObjectId,
    /// Object Type.
    pub object_type: ObjectType,
    /// Replace Existing: overwrite an object that has this id (the caller needs [`Rights::MANAGE`] on it).
    pub replace_existing: bool,
    /// The State the object had; `None` for Pre-Active. Dates that have passed move it on as usual. Destroyed
    /// objects have no key value to import and are refused.
    pub state: Option<State>,
    /// The attributes, server-managed ones (dates, revocation reason) included, as exported. The Initial Date
    /// defaults to now.
    pub attributes: Attributes,
    /// The key value, in the canonical format of its type (as [`KeyManager::register`] takes it).
    pub material: KeyMaterial,
}

impl KeyManager {
    /// KMIP Import: records an object under the given id, with its attributes, into the default backend.
    ///
    /// A new id is owned by the caller. With `replace_existing`, an existing object keeps its owner and grants
    /// and gets the new attributes and key value; its old backend key is destroyed.
    ///
    /// # Errors
    /// [`Error::ObjectAlreadyExists`] when the id is taken and `replace_existing` is false (this tells a caller
    /// that the id exists: Import is a migration operation for callers who know the ids); [`Error::ItemNotFound`]
    /// / [`Error::PermissionDenied`] when replacing an object the caller may not manage; [`Error::InvalidField`]
    /// for a destroyed state; otherwise as [`KeyManager::register`].
    pub fn import(&self, who: &Principal, request: ImportRequest) -> Result<ObjectId> {
        let id = request.id.clone();
        let result = self.import_inner(who, request);
        self.audited(who, Operation::Import, Some(&id), result)
    }

    fn import_inner(&self, who: &Principal, request: ImportRequest) -> Result<ObjectId> {
        let ImportRequest {
            id,
            object_type,
            replace_existing,
            state,
            mut attributes,
            material,
        } = request;
        let state = state.unwrap_or(State::PreActive);
        if !state.has_key_material() {
            return Err(Error::InvalidField(
                "a destroyed object has no key value to import".into(),
            ));
        }
        check_material(object_type, &material, &mut attributes)?;
        super::attributes::check_limits(&attributes)?;
        check_date_order(&attributes)?;
        let now = self.now();
        for d in [
            &mut attributes.initial_date,
            &mut attributes.activation_date,
            &mut attributes.deactivation_date,
            &mut attributes.process_start_date,
            &mut attributes.protect_stop_date,
            &mut attributes.compromise_date,
            &mut attributes.compromise_occurrence_date,
            &mut attributes.original_creation_date,
        ] {
            *d = d.map(whole_seconds);
        }
        attributes.initial_date.get_or_insert(now);
        attributes.last_change_date = Some(now);
        attributes.destroy_date = None;

        let existing = match self.store.get(&id) {
            Ok(_) if !replace_existing => return Err(Error::ObjectAlreadyExists),
            Ok(_) => Some(self.load_fresh(who, &id, Rights::MANAGE, now)?),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let (owner, grants) = match &existing {
            Some(o) => (o.metadata.owner.clone(), o.metadata.grants.clone()),
            None => (who.name().to_owned(), Vec::new()),
        };
        let mut metadata = ObjectMetadata {
            id: id.clone(),
            object_type,
            state,
            owner,
            grants,
            attributes,
        };
        apply_dates(&mut metadata, now);
        let _names = self
            .names
            .lock(metadata.attributes.names.iter().map(|n| n.value.as_str()));
        self.check_names_unique(&metadata.owner, &metadata.attributes.names, &[&id])?;
        let key = self.default_backend().import(
            object_type,
            metadata.attributes.cryptographic_algorithm,
            &material,
            &policy_of(&metadata),
        )?;
        match existing {
            None => {
                let object = StoredObject {
                    metadata,
                    key: Some(key),
                    version: 1,
                };
                if let Err(e) = self.store.put(&object) {
                    if let Some(k) = &object.key {
                        self.discard_key(k);
                    }
                    return Err(e.into());
                }
            }
            Some(old) => {
                let old_key = old.key.clone();
                let mut object = StoredObject {
                    metadata,
                    key: Some(key),
                    version: old.version,
                };
                // One attempt: a concurrent change to an object being replaced wholesale is the caller's to
                // resolve, and the retryable error says so.
                if let Err(e) = self.store.update(&mut object) {
                    if let Some(k) = &object.key {
                        self.discard_key(k);
                    }
                    return Err(e.into());
                }
                self.cache.offer(&std::sync::Arc::new(object));
                if let Some(k) = old_key {
                    self.discard_key(&k);
                }
            }
        }
        Ok(id)
    }
}
