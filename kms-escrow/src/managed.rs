//! Escrow of objects managed by kms-core's [`KeyManager`]: the material is exported through the manager, with
//! the manager's access control, audit and lifecycle checks, then deposited.

use kms_core::manager::{ExportedKey, GetRequest};
use kms_core::object::UsageMask;
use kms_core::{KeyManager, ObjectId, ObjectType, Principal};

use crate::deposit::{DepositId, EscrowedKeyMetadata};
use crate::error::{EscrowError, Result};
use crate::policy::EscrowPolicy;
use crate::service::Escrow;

/// Exports the managed object `id` through `manager` as `who` (KMIP Get: the caller must be allowed to read it,
/// and the object must be Extractable and not Sensitive) and deposits its key value under `policy`.
///
/// The deposit's metadata names the object id, its KMIP Object Type, and its algorithm as
/// `Algorithm-Length/KeyFormat` (for example `Aes-256/Raw`, `Rsa-3072/Pkcs8`). A private key whose usage mask
/// allows signing (or that has no usage mask) counts as a signing key, refused unless the policy allows it.
///
/// # Errors
/// [`EscrowError::KeyManager`] for what the manager refuses (not found or not visible to `who`, not
/// extractable, sensitive, destroyed); otherwise as [`Escrow::deposit`].
pub fn deposit_managed_object(
    escrow: &Escrow,
    manager: &KeyManager,
    who: &Principal,
    id: &ObjectId,
    policy: EscrowPolicy,
) -> Result<DepositId> {
    let object = manager.get(who, id, &GetRequest::default())?;
    let ExportedKey::Plain(material) = object.key else {
        return Err(EscrowError::invalid(
            "managed object",
            "the key manager returned a wrapped key value",
        ));
    };
    let a = &object.attributes;
    let algorithm = match (a.cryptographic_algorithm, a.cryptographic_length) {
        (Some(alg), Some(len)) => format!("{alg:?}-{len}/{:?}", material.format()),
        (Some(alg), None) => format!("{alg:?}/{:?}", material.format()),
        _ => format!("{:?}", material.format()),
    };
    let signing = UsageMask::SIGN | UsageMask::CERTIFICATE_SIGN | UsageMask::CRL_SIGN;
    let is_signing_key = object.object_type == ObjectType::PrivateKey
        && a.cryptographic_usage_mask
            .is_none_or(|m| m.intersects(signing));
    let metadata = EscrowedKeyMetadata {
        object_id: object.id.to_string(),
        object_type: format!("{:?}", object.object_type),
        algorithm,
        is_signing_key,
    };
    escrow.deposit(who.name(), metadata, &material.into_bytes(), policy)
}
