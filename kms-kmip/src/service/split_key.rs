//! KMIP Create Split Key and Join Split Key (KMIP 1.2 §4.38-4.39, 2.1 §6.1.9 and §6.1.27) and the Split Key
//! object of Get (KMIP 2.1 §2.2.6).
//!
//! The KeyManager records the parts and joins them; the arithmetic is kms-escrow's Shamir over GF(2^8) (Split
//! Key Method Polynomial Sharing GF(2^8)), the one escrow deposits use, handed to the manager as a
//! [`SecretSharing`]. XOR, GF(2^16) and prime-field sharing are refused as unsupported cryptographic parameters.
//!
//! The operations exist since KMIP 1.2: a 1.0 or 1.1 request answers Operation Not Supported, as an operation
//! its version lacks.

use kms_core::manager::{
    CreateSplitKeyRequest as CoreCreateSplitKey, ExportedKey,
    JoinSplitKeyRequest as CoreJoinSplitKey, ManagedObject, SecretSharing, SharePart,
};
use kms_core::object::SplitKeyMethod as CoreMethod;
use kms_core::{Error as CoreError, Principal};
use kms_escrow::split_key::{self as escrow, SplitKeyPart};
use zeroize::Zeroizing;

use super::convert::{object_type_in, template_in};
use super::ops::text;
use super::{BatchState, Failure, KmipService};
use crate::message::enums::{CryptographicAlgorithm, KeyFormatType, Operation, SplitKeyMethod};
use crate::message::objects::SplitKey;
use crate::message::operations::lifecycle::{
    CreateSplitKeyRequest, CreateSplitKeyResponse, JoinSplitKeyRequest, RegisterResponse,
};
use crate::message::{BigInteger, KeyBlock, KeyValue, Object, SecretBytes};
use crate::tags::Version;

/// The first version with Create Split Key and Join Split Key.
const SINCE: Version = Version::V1_2;

/// kms-escrow's GF(2^8) Shamir, through kms-core's [`SecretSharing`].
struct EscrowShamir;

/// Escrow's errors on split and join are all about the request (parameters, parts that do not fit together).
fn escrow_error(e: &kms_escrow::EscrowError) -> CoreError {
    CoreError::InvalidField(e.to_string())
}

impl SecretSharing for EscrowShamir {
    fn method(&self) -> CoreMethod {
        CoreMethod::PolynomialSharingGf2_8
    }

    fn split(
        &self,
        secret: &[u8],
        threshold: u32,
        parts: u32,
    ) -> Result<Vec<SharePart>, CoreError> {
        Ok(escrow::split(secret, threshold, parts)
            .map_err(|e| escrow_error(&e))?
            .into_iter()
            .map(|p| SharePart {
                key_part_identifier: p.key_part_identifier,
                value: p.key_material,
            })
            .collect())
    }

    fn join(
        &self,
        threshold: u32,
        parts: u32,
        shares: &[SharePart],
    ) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let parts: Vec<SplitKeyPart> = shares
            .iter()
            .map(|s| SplitKeyPart {
                split_key_parts: parts,
                key_part_identifier: s.key_part_identifier,
                split_key_threshold: threshold,
                split_key_method: escrow::SplitKeyMethod::PolynomialSharingGf2_8,
                key_material: s.value.clone(),
            })
            .collect();
        escrow::join(&parts).map_err(|e| escrow_error(&e))
    }
}

/// Whether Query lists `operation` to a client of `version` (the split key operations from 1.2 on).
pub(super) fn offered(operation: Operation, version: Version) -> bool {
    !matches!(
        operation,
        Operation::CREATE_SPLIT_KEY | Operation::JOIN_SPLIT_KEY
    ) || version >= SINCE
}

fn supported(version: Version, operation: &str) -> Result<(), CoreError> {
    if version < SINCE {
        return Err(CoreError::OperationNotSupported(format!(
            "{operation} is a KMIP 1.2 operation; this request is KMIP {version}"
        )));
    }
    Ok(())
}

fn count(v: i32, field: &str) -> Result<u32, CoreError> {
    u32::try_from(v).map_err(|_| CoreError::InvalidField(format!("negative {field}")))
}

/// Create Split Key: the parts' identifiers, in Key Part Identifier order. The ID Placeholder becomes part 1.
pub(super) fn create(
    service: &KmipService,
    who: &Principal,
    version: Version,
    p: &CreateSplitKeyRequest,
    state: &mut BatchState,
) -> Result<CreateSplitKeyResponse, Failure> {
    supported(version, "Create Split Key")?;
    let base = p
        .unique_identifier
        .as_ref()
        .map(|u| super::ops::target(&Some(u.clone()), state))
        .transpose()?;
    let method = CoreMethod::from_kmip(p.split_key_method.0).ok_or_else(|| {
        CoreError::InvalidField(format!("Split Key Method {:?}", p.split_key_method))
    })?;
    let ids = service.manager.create_split_key(
        who,
        CoreCreateSplitKey {
            object_type: object_type_in(p.object_type)?,
            base,
            split_key_parts: count(p.split_key_parts, "Split Key Parts")?,
            split_key_threshold: count(p.split_key_threshold, "Split Key Threshold")?,
            split_key_method: method,
            prime_field_size: p.prime_field_size.as_ref().map(|b| b.0.clone()),
            attributes: template_in(&p.attributes)?,
        },
        &EscrowShamir,
    )?;
    state.placeholder = ids.first().cloned();
    state.created.extend(ids.iter().cloned());
    Ok(CreateSplitKeyResponse {
        unique_identifiers: ids.iter().map(text).collect(),
        ..Default::default()
    })
}

/// Join Split Key: the joined object's identifier, which becomes the ID Placeholder.
pub(super) fn join(
    service: &KmipService,
    who: &Principal,
    version: Version,
    p: &JoinSplitKeyRequest,
    state: &mut BatchState,
) -> Result<RegisterResponse, Failure> {
    supported(version, "Join Split Key")?;
    if p.unique_identifiers.is_empty() {
        return Err(CoreError::MissingData("the Unique Identifiers of the parts".into()).into());
    }
    let parts = p
        .unique_identifiers
        .iter()
        .map(|u| super::ops::target(&Some(u.clone()), state))
        .collect::<Result<Vec<_>, _>>()?;
    let attributes = p
        .attributes
        .as_ref()
        .map(template_in)
        .transpose()?
        .unwrap_or_default();
    let id = service.manager.join_split_key(
        who,
        CoreJoinSplitKey {
            object_type: object_type_in(p.object_type)?,
            parts,
            attributes,
        },
        &EscrowShamir,
    )?;
    super::ops::created(state, &id);
    Ok(RegisterResponse {
        unique_identifier: text(&id),
        ..Default::default()
    })
}

/// The Split Key object Get answers: the Split Key fields and the share as a Raw key value.
pub(super) fn object_out(
    object: ManagedObject,
    requested: Option<KeyFormatType>,
) -> Result<Object, CoreError> {
    let info = object.attributes.split_key.as_ref().ok_or_else(|| {
        CoreError::InvalidField("a Split Key without its Split Key fields".into())
    })?;
    if requested.is_some_and(|f| f != KeyFormatType::RAW) {
        return Err(CoreError::KeyFormatTypeNotSupported(
            "a Split Key is sent as Raw".into(),
        ));
    }
    let ExportedKey::Plain(material) = object.key else {
        return Err(CoreError::OperationNotSupported(
            "wrapping split keys".into(),
        ));
    };
    let int = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    Ok(Object::SplitKey(SplitKey {
        split_key_parts: int(info.split_key_parts),
        key_part_identifier: int(info.key_part_identifier),
        split_key_threshold: int(info.split_key_threshold),
        split_key_method: SplitKeyMethod(info.split_key_method.to_kmip()),
        prime_field_size: info.prime_field_size.clone().map(BigInteger),
        key_block: KeyBlock {
            key_format_type: KeyFormatType::RAW,
            key_value: Some(KeyValue::Plain {
                key_material: crate::message::KeyMaterial::Bytes(SecretBytes(
                    material.into_bytes(),
                )),
                attributes: None,
                extensions: Vec::new(),
            }),
            cryptographic_algorithm: object
                .attributes
                .cryptographic_algorithm
                .map(|a| CryptographicAlgorithm(a.to_kmip())),
            cryptographic_length: object
                .attributes
                .cryptographic_length
                .and_then(|l| i32::try_from(l).ok()),
            ..Default::default()
        },
        ..Default::default()
    }))
}
