//! KMIP Activate, Revoke, Destroy, Re-key and Re-key Key Pair. Every state change goes through
//! [`State::apply`], the one place that holds KMIP's transition table.

use time::{Duration, OffsetDateTime};

use super::create::{complete_pair_attributes, policy_of, spec_of_pair};
use super::{KeyManager, KeyPairIds, apply_dates};
use crate::audit::Operation;
use crate::error::{Error, Result};
use crate::object::{
    Attributes, LifecycleEvent, Link, LinkType, ObjectId, ObjectMetadata, ObjectType,
    RevocationReason, Rights, State,
};
use crate::principal::Principal;
use crate::store::StoredObject;

/// What an Activate changed, for [`KeyManager::undo_activate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Activation {
    /// The Activation Date before (a future date a Pre-Active object had, or none).
    pub prior: Option<OffsetDateTime>,
    /// The Activation Date the Activate set.
    pub activated: OffsetDateTime,
}

/// Longest Revocation Message kept.
const MAX_REVOCATION_MESSAGE: usize = 4096;

impl KeyManager {
    /// KMIP Activate: Pre-Active to Active; sets the Activation Date to now.
    ///
    /// # Errors
    /// [`Error::WrongKeyLifecycleState`] unless Pre-Active; [`Error::ItemNotFound`]; [`Error::PermissionDenied`]
    /// for a grantee without [`Rights::MANAGE`]; store errors.
    pub fn activate(&self, who: &Principal, id: &ObjectId) -> Result<()> {
        self.activate_undoably(who, id).map(|_| ())
    }

    /// [`KeyManager::activate`], answering what [`KeyManager::undo_activate`] needs to reverse it.
    ///
    /// # Errors
    /// As [`KeyManager::activate`].
    pub fn activate_undoably(&self, who: &Principal, id: &ObjectId) -> Result<Activation> {
        let result = self
            .update_object(who, id, Rights::MANAGE, |o, now| {
                let m = &mut o.metadata;
                m.state = m.state.apply(LifecycleEvent::Activate)?;
                let prior = m.attributes.activation_date.replace(now);
                Ok(Activation {
                    prior,
                    activated: now,
                })
            })
            .map(|(activation, _)| activation);
        self.audited(who, Operation::Activate, Some(id), result)
    }

    /// Reverses an [`KeyManager::activate`] for the Batch Error Continuation Option Undo (KMIP 2.1 §6.3.9): the
    /// object goes back from Active to Pre-Active with the Activation Date it had before. Only the activation
    /// `activation` describes is reversed: an object whose state or Activation Date changed since is
    /// left as it is.
    ///
    /// # Errors
    /// [`Error::WrongKeyLifecycleState`] unless Active with the Activation Date that activation set; as
    /// [`KeyManager::activate`] otherwise.
    pub fn undo_activate(
        &self,
        who: &Principal,
        id: &ObjectId,
        activation: &Activation,
    ) -> Result<()> {
        let result = self
            .update_object(who, id, Rights::MANAGE, |o, _now| {
                let m = &mut o.metadata;
                if m.state != State::Active
                    || m.attributes.activation_date != Some(activation.activated)
                {
                    return Err(Error::WrongKeyLifecycleState(m.state));
                }
                // Outside the transition table on purpose: no request moves a key back, only an undone one.
                m.state = State::PreActive;
                m.attributes.activation_date = activation.prior;
                Ok(())
            })
            .map(|_| ());
        self.audited(who, Operation::UndoActivate, Some(id), result)
    }

    /// KMIP Revoke. A compromise (Key Compromise, CA Compromise) moves the object to Compromised (or
    /// Destroyed Compromised) and records the Compromise Date and Compromise Occurrence Date (now when not
    /// given); any other reason moves it to Deactivated and sets the Deactivation Date to now.
    ///
    /// # Errors
    /// [`Error::WrongKeyLifecycleState`] when the table has no such transition (e.g. revoking a Deactivated key
    /// again without a compromise); [`Error::InvalidField`] for an over-long message; access and store errors.
    pub fn revoke(
        &self,
        who: &Principal,
        id: &ObjectId,
        reason: RevocationReason,
        compromise_occurrence_date: Option<OffsetDateTime>,
    ) -> Result<()> {
        let result = (|| {
            if reason
                .message
                .as_ref()
                .is_some_and(|m| m.len() > MAX_REVOCATION_MESSAGE)
            {
                return Err(Error::InvalidField(format!(
                    "Revocation Message longer than {MAX_REVOCATION_MESSAGE} bytes"
                )));
            }
            self.update_object(who, id, Rights::MANAGE, |o, now| {
                let m = &mut o.metadata;
                let a = &mut m.attributes;
                if reason.code.is_compromise() {
                    m.state = m.state.apply(LifecycleEvent::Compromise)?;
                    a.compromise_date = Some(now);
                    a.compromise_occurrence_date = Some(compromise_occurrence_date.unwrap_or(now));
                } else {
                    m.state = m.state.apply(LifecycleEvent::Deactivate)?;
                    a.deactivation_date = Some(now);
                }
                a.revocation_reason = Some(reason.clone());
                Ok(())
            })
            .map(|_| ())
        })();
        self.audited(who, Operation::Revoke, Some(id), result)
    }

    /// KMIP Destroy: drops the key value in its backend and keeps the metadata; the object becomes Destroyed (or
    /// Destroyed Compromised) with a Destroy Date.
    ///
    /// The record is updated first and the backend key destroyed after: a crash in between leaves an unreferenced
    /// backend key rather than a record claiming a key that is gone.
    ///
    /// # Errors
    /// [`Error::WrongKeyLifecycleState`] for an Active object (revoke it first) or one already destroyed; access
    /// and store errors. A backend failure to drop the key is logged, not returned: the object is destroyed for
    /// every client already.
    pub fn destroy(&self, who: &Principal, id: &ObjectId) -> Result<()> {
        let result = self
            .update_object(who, id, Rights::MANAGE, |o, now| {
                o.metadata.state = o.metadata.state.apply(LifecycleEvent::Destroy)?;
                o.metadata.attributes.destroy_date = Some(now);
                Ok(o.key.take())
            })
            .map(|(key, _)| {
                if let Some(key) = key {
                    let dropped = self
                        .backend_for(&key)
                        .and_then(|b| b.destroy(&key).map_err(Error::from));
                    if let Err(e) = dropped {
                        tracing::error!(target: "kms_core::manager", error = %e, %id, "destroyed object: the backend failed to drop its key");
                    }
                }
            });
        self.audited(who, Operation::Destroy, Some(id), result)
    }

    /// KMIP Re-key: a new symmetric key with the old one's attributes, in the old one's backend.
    ///
    /// The new key gets a new Initial Date, an Activation Date `offset` from now (now without one; so it is Active
    /// at once), the old Deactivation Date shifted by as much, the old key's Names (which the old key loses), and a
    /// Replaced Object Link to the old key, which gets a Replacement Object Link to it.
    ///
    /// # Errors
    /// [`Error::IllegalObjectType`] for anything but a symmetric key; access, backend and store errors (after
    /// which the new key is gone).
    pub fn rekey(
        &self,
        who: &Principal,
        id: &ObjectId,
        offset: Option<Duration>,
    ) -> Result<ObjectId> {
        let result = self.rekey_inner(who, id, offset);
        self.audited(who, Operation::ReKey, Some(id), result)
    }

    fn rekey_inner(
        &self,
        who: &Principal,
        id: &ObjectId,
        offset: Option<Duration>,
    ) -> Result<ObjectId> {
        let now = self.now();
        let old = self.load(who, id, Rights::MANAGE, now)?;
        if old.metadata.object_type != ObjectType::SymmetricKey {
            return Err(Error::IllegalObjectType);
        }
        let a = &old.metadata.attributes;
        let (algorithm, bits) = match (a.cryptographic_algorithm, a.cryptographic_length) {
            (Some(al), Some(b)) => (al, b),
            _ => {
                return Err(Error::MissingData(
                    "Cryptographic Algorithm and Length".into(),
                ));
            }
        };
        let backend = match &old.key {
            Some(k) => self.backend_for(k)?,
            None => self.default_backend(),
        };
        let new_id = ObjectId::random();
        let new_meta = successor(&old.metadata, &new_id, now, offset);
        let key = self.generate_symmetric(backend, algorithm, bits, &policy_of(&new_meta))?;
        let new = StoredObject {
            metadata: new_meta,
            key: Some(key),
            version: 1,
        };
        let _names = self.names.lock(
            new.metadata
                .attributes
                .names
                .iter()
                .map(|n| n.value.as_str()),
        );
        self.replace(who, &[(&old.metadata, &new)])?;
        Ok(new_id)
    }

    /// KMIP Re-key Key Pair: a new key pair with the attributes of the old private key and of the public key it
    /// links to, related to the old pair as [`KeyManager::rekey`] relates keys.
    ///
    /// # Errors
    /// [`Error::IllegalObjectType`] unless `private_key_id` is a private key; [`Error::ItemNotFound`] when its
    /// public key is missing or hidden; otherwise as [`KeyManager::rekey`].
    pub fn rekey_key_pair(
        &self,
        who: &Principal,
        private_key_id: &ObjectId,
        offset: Option<Duration>,
    ) -> Result<KeyPairIds> {
        let result = self.rekey_key_pair_inner(who, private_key_id, offset);
        self.audited(who, Operation::ReKeyKeyPair, Some(private_key_id), result)
    }

    fn rekey_key_pair_inner(
        &self,
        who: &Principal,
        private_key_id: &ObjectId,
        offset: Option<Duration>,
    ) -> Result<KeyPairIds> {
        let now = self.now();
        let old_private = self.load(who, private_key_id, Rights::MANAGE, now)?;
        if old_private.metadata.object_type != ObjectType::PrivateKey {
            return Err(Error::IllegalObjectType);
        }
        let public_id = linked(&old_private.metadata, LinkType::PublicKeyLink)
            .ok_or_else(|| Error::MissingData("Public Key Link".into()))?;
        let old_public = self.load(who, &public_id, Rights::MANAGE, now)?;
        let spec = spec_of_pair(&old_private.metadata.attributes)?;
        let ids = KeyPairIds {
            private_key: ObjectId::random(),
            public_key: ObjectId::random(),
        };
        let mut private_meta = successor(&old_private.metadata, &ids.private_key, now, offset);
        let mut public_meta = successor(&old_public.metadata, &ids.public_key, now, offset);
        complete_pair_attributes(&mut private_meta.attributes, &spec);
        complete_pair_attributes(&mut public_meta.attributes, &spec);
        private_meta.attributes.links.push(Link {
            link_type: LinkType::PublicKeyLink,
            linked_object_id: ids.public_key.clone(),
        });
        public_meta.attributes.links.push(Link {
            link_type: LinkType::PrivateKeyLink,
            linked_object_id: ids.private_key.clone(),
        });
        let backend = match &old_private.key {
            Some(k) => self.backend_for(k)?,
            None => self.default_backend(),
        };
        let (private_key, public_key) =
            self.generate_key_pair(backend, &spec, &policy_of(&private_meta))?;
        let new_private = StoredObject {
            metadata: private_meta,
            key: Some(private_key),
            version: 1,
        };
        let new_public = StoredObject {
            metadata: public_meta,
            key: Some(public_key),
            version: 1,
        };
        let _names = self.names.lock(
            [&new_private, &new_public]
                .iter()
                .flat_map(|o| o.metadata.attributes.names.iter().map(|n| n.value.as_str())),
        );
        self.replace(
            who,
            &[
                (&old_private.metadata, &new_private),
                (&old_public.metadata, &new_public),
            ],
        )?;
        Ok(ids)
    }

    /// Records each new object and links it with the one it replaces (which gives up its Names). On any failure
    /// every new object and backend key is removed and the old objects are left as they were, as far as the store
    /// allows. The caller holds the locks of the new objects' names.
    fn replace(&self, who: &Principal, pairs: &[(&ObjectMetadata, &StoredObject)]) -> Result<()> {
        let mut recorded: Vec<&StoredObject> = Vec::new();
        let rollback = |recorded: &[&StoredObject],
                        pending: &[(&ObjectMetadata, &StoredObject)]| {
            for o in recorded {
                self.forget(o);
            }
            for (_, o) in pending {
                if !recorded.iter().any(|r| r.metadata.id == o.metadata.id)
                    && let Some(k) = &o.key
                {
                    self.discard_key(k);
                }
            }
        };
        for (_, new) in pairs {
            if let Err(e) = self.store.put(new) {
                rollback(&recorded, pairs);
                return Err(e.into());
            }
            recorded.push(new);
        }
        let mut retired: Vec<(&ObjectMetadata, Vec<crate::object::Name>)> = Vec::new();
        for (old, new) in pairs {
            let moved = new.metadata.attributes.names.clone();
            let result = self.update_object(who, &old.id, Rights::MANAGE, |o, _now| {
                let a = &mut o.metadata.attributes;
                a.names.retain(|n| !moved.contains(n));
                a.links
                    .retain(|l| l.link_type != LinkType::ReplacementObjectLink);
                a.links.push(Link {
                    link_type: LinkType::ReplacementObjectLink,
                    linked_object_id: new.metadata.id.clone(),
                });
                Ok(())
            });
            if let Err(e) = result {
                // Put back what the earlier old objects gave up, then drop the new objects.
                for (old, names) in &retired {
                    let new_id = pairs
                        .iter()
                        .find(|(o, _)| o.id == old.id)
                        .map(|(_, n)| n.metadata.id.clone());
                    let restore = self.update_object(who, &old.id, Rights::MANAGE, |o, _| {
                        let a = &mut o.metadata.attributes;
                        a.names.extend(names.iter().cloned());
                        a.links.retain(|l| {
                            !(l.link_type == LinkType::ReplacementObjectLink
                                && Some(&l.linked_object_id) == new_id.as_ref())
                        });
                        Ok(())
                    });
                    if let Err(e) = restore {
                        tracing::error!(target: "kms_core::manager", error = %e, id = %old.id, "re-key rollback could not restore the old object");
                    }
                }
                rollback(&recorded, pairs);
                return Err(e);
            }
            retired.push((old, moved));
        }
        Ok(())
    }
}

fn linked(m: &ObjectMetadata, link_type: LinkType) -> Option<ObjectId> {
    m.attributes
        .links
        .iter()
        .find(|l| l.link_type == link_type)
        .map(|l| l.linked_object_id.clone())
}

/// The metadata of the key that replaces `old` (KMIP 2.1 Re-key: same attributes, new dates, the Names moved, a
/// Replaced Object Link back).
fn successor(
    old: &ObjectMetadata,
    id: &ObjectId,
    now: OffsetDateTime,
    offset: Option<Duration>,
) -> ObjectMetadata {
    let o = &old.attributes;
    let activation = now.saturating_add(offset.unwrap_or(Duration::ZERO));
    // Dates relative to the old activation keep their distance from the new one.
    let shift = |d: Option<OffsetDateTime>| match (o.activation_date, d) {
        (Some(old_activation), Some(d)) => Some(activation.saturating_add(d - old_activation)),
        _ => None,
    };
    let attributes = Attributes {
        initial_date: Some(now),
        last_change_date: Some(now),
        activation_date: Some(activation),
        deactivation_date: shift(o.deactivation_date),
        process_start_date: shift(o.process_start_date),
        protect_stop_date: shift(o.protect_stop_date),
        destroy_date: None,
        compromise_date: None,
        compromise_occurrence_date: None,
        revocation_reason: None,
        original_creation_date: None,
        always_sensitive: o.sensitive,
        never_extractable: !o.extractable,
        fresh: Some(true),
        links: vec![Link {
            link_type: LinkType::ReplacedObjectLink,
            linked_object_id: old.id.clone(),
        }],
        ..o.clone()
    };
    let mut metadata = ObjectMetadata {
        id: id.clone(),
        object_type: old.object_type,
        state: State::PreActive,
        owner: old.owner.clone(),
        grants: old.grants.clone(),
        attributes,
    };
    apply_dates(&mut metadata, now);
    metadata
}
