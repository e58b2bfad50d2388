//! Key wrapping as operations of their own: wrap a managed key under another, and unwrap a wrapped key into a new
//! managed object (KMIP Register/Import of a wrapped Key Block).

use super::create::{canonical_format, new_metadata, policy_of};
use super::{KeyManager, usable};
use crate::audit::Operation;
use crate::backend::WrapAlgorithm;
use crate::error::{Error, Result};
use crate::object::{Attributes, ObjectId, ObjectType, Purpose, Rights, UsageMask};
use crate::principal::Principal;
use crate::store::StoredObject;

/// Longest wrapped key accepted by unwrap.
const MAX_WRAPPED_LEN: usize = 64 << 10;

impl KeyManager {
    /// Wraps the key value of `target_id` under `wrapping_key_id` (what Get with a Key Wrapping Specification
    /// returns, without the rest of the object).
    ///
    /// # Errors
    /// As [`KeyManager::get`] with a wrapping specification.
    pub fn wrap(
        &self,
        who: &Principal,
        wrapping_key_id: &ObjectId,
        algorithm: WrapAlgorithm,
        target_id: &ObjectId,
    ) -> Result<Vec<u8>> {
        let result = (|| {
            let now = self.now();
            let target = self.load(who, target_id, Rights::READ, now)?;
            self.wrap_object(who, wrapping_key_id, algorithm, &target)
        })();
        self.audited(who, Operation::Wrap, Some(target_id), result)
    }

    /// Unwraps `wrapped` with `unwrapping_key_id` into a new managed object of `object_type`, held by the same
    /// backend as the unwrapping key. `attributes` must give the Cryptographic Algorithm of the wrapped key.
    ///
    /// # Errors
    /// [`Error::CryptographicFailure`] when the wrapping does not verify; [`Error::MissingData`] without the
    /// algorithm; for the unwrapping key [`Error::ItemNotFound`], [`Error::WrongKeyLifecycleState`],
    /// [`Error::IncompatibleCryptographicUsageMask`], [`Error::IllegalObjectType`]; otherwise as
    /// [`KeyManager::register`].
    pub fn unwrap(
        &self,
        who: &Principal,
        unwrapping_key_id: &ObjectId,
        algorithm: WrapAlgorithm,
        wrapped: &[u8],
        object_type: ObjectType,
        attributes: Attributes,
    ) -> Result<ObjectId> {
        let result = self.unwrap_inner(
            who,
            unwrapping_key_id,
            algorithm,
            wrapped,
            object_type,
            attributes,
        );
        self.emit(
            who,
            Operation::Unwrap,
            result.as_ref().ok().cloned(),
            result.as_ref().err(),
        );
        result
    }

    fn unwrap_inner(
        &self,
        who: &Principal,
        unwrapping_key_id: &ObjectId,
        algorithm: WrapAlgorithm,
        wrapped: &[u8],
        object_type: ObjectType,
        mut attributes: Attributes,
    ) -> Result<ObjectId> {
        canonical_format(object_type)?;
        if wrapped.is_empty() || wrapped.len() > MAX_WRAPPED_LEN {
            return Err(Error::InvalidField(format!(
                "wrapped key must be 1 to {MAX_WRAPPED_LEN} bytes"
            )));
        }
        let key_algorithm = attributes
            .cryptographic_algorithm
            .ok_or_else(|| Error::MissingData("Cryptographic Algorithm".into()))?;
        if attributes.cryptographic_usage_mask.is_none() {
            attributes.cryptographic_usage_mask =
                Some(super::create::default_usage(object_type, key_algorithm));
        }
        let now = self.now();
        let unwrapping = self.load(who, unwrapping_key_id, Rights::USE, now)?;
        let types: &[ObjectType] = match algorithm {
            WrapAlgorithm::RsaOaep(_) => &[ObjectType::PrivateKey],
            _ => &[ObjectType::SymmetricKey],
        };
        let unwrapping_key = usable(
            &unwrapping,
            types,
            Purpose::Process,
            UsageMask::UNWRAP_KEY,
            now,
        )?;
        let id = ObjectId::random();
        let metadata = new_metadata(who, &id, object_type, attributes, now)?;
        self.check_names_unique(who.name(), &metadata.attributes.names, &[])?;
        let backend = self.backend_for(unwrapping_key)?;
        let kw = backend.key_wrap().ok_or_else(|| {
            Error::OperationNotSupported(format!("key wrapping in backend {:?}", backend.id()))
        })?;
        let key = kw.unwrap(
            unwrapping_key,
            algorithm,
            wrapped,
            object_type,
            key_algorithm,
            &policy_of(&metadata),
        )?;
        self.record_new(&StoredObject {
            metadata,
            key: Some(key),
            version: 1,
        })?;
        Ok(id)
    }
}
