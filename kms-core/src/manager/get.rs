//! KMIP Get: an object's key value, in plaintext when its flags allow, or wrapped under another key.

use std::ops::ControlFlow;

use super::{KeyManager, usable};
use crate::audit::Operation;
use crate::backend::WrapAlgorithm;
use crate::error::{Error, Result};
use crate::material::{KeyFormat, KeyMaterial};
use crate::object::{Attributes, ObjectId, ObjectType, Purpose, Rights, State, UsageMask};
use crate::principal::Principal;
use crate::store::StoredObject;

/// KMIP Key Wrapping Specification (the parts kms-core needs): which key wraps, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyWrappingSpec {
    /// The wrapping key: an AES key for AES Key Wrap, an RSA public key for RSA-OAEP.
    pub wrapping_key_id: ObjectId,
    /// The wrapping algorithm.
    pub algorithm: WrapAlgorithm,
}

/// What KMIP Get asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetRequest {
    /// Return the key value wrapped under this key rather than in plaintext.
    pub key_wrapping: Option<KeyWrappingSpec>,
}

/// The key value Get returns.
#[derive(Debug)]
pub enum ExportedKey {
    /// In plaintext, in the canonical format of its type.
    Plain(KeyMaterial),
    /// Wrapped: the canonical encoding of the key value, wrapped as `spec` says.
    Wrapped {
        /// The wrapped bytes.
        bytes: Vec<u8>,
        /// The format of the key value inside the wrapping.
        format: KeyFormat,
        /// How it was wrapped.
        spec: KeyWrappingSpec,
    },
}

/// A managed object as Get returns it.
#[derive(Debug)]
pub struct ManagedObject {
    /// Unique Identifier.
    pub id: ObjectId,
    /// Object Type.
    pub object_type: ObjectType,
    /// State, with passed Activation and Deactivation Dates honoured.
    pub state: State,
    /// The object's attributes.
    pub attributes: Attributes,
    /// The key value.
    pub key: ExportedKey,
}

impl KeyManager {
    /// KMIP Get: the object with its key value.
    ///
    /// In plaintext only when the object is Extractable and not Sensitive; wrapped (KMIP Key Wrapping
    /// Specification) when Extractable, Sensitive or not. The first Get that returns the key value turns the
    /// object's Fresh attribute false. The wrapping key must be Active, carry Wrap Key in its
    /// usage mask, be usable by the caller, and live in the same backend.
    ///
    /// # Errors
    /// [`Error::ItemNotFound`]; [`Error::NotExtractable`]; [`Error::Sensitive`] for plaintext of a sensitive
    /// object; [`Error::ObjectDestroyed`] once destroyed; for the wrapping key [`Error::ItemNotFound`],
    /// [`Error::WrongKeyLifecycleState`], [`Error::IncompatibleCryptographicUsageMask`],
    /// [`Error::IllegalObjectType`]; [`Error::OperationNotSupported`] when the two keys are in different
    /// backends; backend and store errors.
    pub fn get(
        &self,
        who: &Principal,
        id: &ObjectId,
        request: &GetRequest,
    ) -> Result<ManagedObject> {
        let result = self.get_inner(who, id, request);
        self.audited(who, Operation::Get, Some(id), result)
    }

    fn get_inner(
        &self,
        who: &Principal,
        id: &ObjectId,
        request: &GetRequest,
    ) -> Result<ManagedObject> {
        let now = self.now();
        let object = self.load(who, id, Rights::READ, now)?;
        let key = match &request.key_wrapping {
            None => ExportedKey::Plain(self.export_plain(&object)?),
            Some(spec) => {
                let format = super::create::canonical_format(object.metadata.object_type)?;
                let bytes =
                    self.wrap_object(who, &spec.wrapping_key_id, spec.algorithm, &object)?;
                ExportedKey::Wrapped {
                    bytes,
                    format,
                    spec: spec.clone(),
                }
            }
        };
        let StoredObject { mut metadata, .. } = object;
        if metadata.attributes.fresh == Some(true) {
            self.mark_served(who, id)?;
            metadata.attributes.fresh = Some(false);
        }
        Ok(ManagedObject {
            id: metadata.id,
            object_type: metadata.object_type,
            state: metadata.state,
            attributes: metadata.attributes,
            key,
        })
    }

    /// Turns Fresh false: the key value is about to reach a client (KMIP: "as soon as the object has been served
    /// to a client"). Written before the key value is returned, so that a failed write fails the Get rather than
    /// leave a served key marked Fresh; only the first Gets of an object pay for it, and concurrent first Gets
    /// write it once.
    fn mark_served(&self, who: &Principal, id: &ObjectId) -> Result<()> {
        self.update_object_if_needed(who, id, Rights::READ, |o, _| {
            let fresh = &mut o.metadata.attributes.fresh;
            if *fresh != Some(true) {
                return Ok(ControlFlow::Break(()));
            }
            *fresh = Some(false);
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(())
    }

    pub(super) fn export_plain(&self, object: &StoredObject) -> Result<KeyMaterial> {
        let a = &object.metadata.attributes;
        let key = key_value(object)?;
        if !a.extractable {
            return Err(Error::NotExtractable);
        }
        if a.sensitive {
            return Err(Error::Sensitive);
        }
        Ok(self.backend_for(key)?.export(key)?)
    }

    /// Wraps `target`'s key value under the key `wrapping_key_id`, after checking that the target may leave the
    /// server wrapped and that the caller may use the wrapping key for it.
    pub(super) fn wrap_object(
        &self,
        who: &Principal,
        wrapping_key_id: &ObjectId,
        algorithm: WrapAlgorithm,
        target: &StoredObject,
    ) -> Result<Vec<u8>> {
        let target_key = key_value(target)?;
        if !target.metadata.attributes.extractable {
            return Err(Error::NotExtractable);
        }
        let now = self.now();
        let wrapping = self.load(who, wrapping_key_id, Rights::USE, now)?;
        let types: &[ObjectType] = match algorithm {
            WrapAlgorithm::RsaOaep(_) => &[ObjectType::PublicKey],
            _ => &[ObjectType::SymmetricKey],
        };
        let wrapping_key = usable(&wrapping, types, Purpose::Protect, UsageMask::WRAP_KEY, now)?;
        if wrapping_key.backend() != target_key.backend() {
            return Err(Error::OperationNotSupported(
                "wrapping a key under a key of another backend".into(),
            ));
        }
        let backend = self.backend_for(wrapping_key)?;
        let wrap = backend.key_wrap().ok_or_else(|| {
            Error::OperationNotSupported(format!("key wrapping in backend {:?}", backend.id()))
        })?;
        Ok(wrap.wrap(wrapping_key, algorithm, target_key)?)
    }
}

/// The key value of an object being exported: [`Error::ObjectDestroyed`] once destroyed (KMIP 2.x; the BL-M-8
/// profile test case).
fn key_value(object: &StoredObject) -> Result<&crate::KeyRef> {
    if !object.metadata.state.has_key_material() {
        return Err(Error::ObjectDestroyed);
    }
    object.key.as_ref().ok_or_else(|| Error::KeyValueNotPresent)
}
