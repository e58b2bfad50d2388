//! Import and Export (KMIP 2.1 §6.1.28, §6.1.23): an object moved between servers with its Unique Identifier
//! and all its attributes, server-managed ones included.

use kms_core::manager::{GetRequest as CoreGetRequest, ImportRequest as CoreImportRequest};
use kms_core::{Error as CoreError, KeyManager, Principal};

use super::BatchState;
use super::computed::{self, Wanted};
use super::convert::{self, attribute_out, object_type_in, object_type_out};
use super::ops::{self, expressible};
use crate::message::operations::lifecycle::IdentifierPayload;
use crate::message::operations::transfer::{ExportRequest, ExportResponse, ImportRequest};
use crate::message::{Attributes, UniqueIdentifier};
use crate::tags::Version;

/// KMIP Import: the object under the identifier the request gives.
///
/// # Errors
/// Object Already Exists for a taken identifier without Replace Existing; wrapped key values (Import takes
/// plaintext); otherwise as Register.
pub(super) fn import(
    m: &KeyManager,
    who: &Principal,
    p: &ImportRequest,
) -> Result<IdentifierPayload, CoreError> {
    let id = convert::id_text(&p.unique_identifier)?;
    let object_type = object_type_in(p.object_type)?;
    let object = p
        .object
        .as_deref()
        .ok_or_else(|| CoreError::MissingData("the object to import".into()))?;
    if object.object_type() != p.object_type {
        return Err(CoreError::InvalidField(
            "Object Type does not match the object".into(),
        ));
    }
    let (state, mut attributes) = match &p.attributes {
        Some(a) => convert::import_attributes(a)?,
        None => (None, kms_core::Attributes::default()),
    };
    let material = ops::material_in(object, &mut attributes)?;
    ops::keep_registered_format(object, &mut attributes);
    let new = m.import(
        who,
        CoreImportRequest {
            id,
            object_type,
            replace_existing: p.replace_existing.unwrap_or(false),
            state,
            attributes,
            material,
        },
    )?;
    Ok(IdentifierPayload {
        unique_identifier: Some(UniqueIdentifier::Text(new.as_str().to_owned())),
        ..Default::default()
    })
}

/// KMIP Export: Get's object with every attribute the client's version can read.
///
/// # Errors
/// As Get.
pub(super) fn export(
    m: &KeyManager,
    who: &Principal,
    version: Version,
    p: &ExportRequest,
    state: &BatchState,
) -> Result<ExportResponse, CoreError> {
    let target = ops::target(&p.unique_identifier, state)?;
    let key_wrapping = p
        .key_wrapping_specification
        .as_deref()
        .map(|spec| ops::wrapping_in(spec, state))
        .transpose()?;
    let object = m.get(who, &target, &CoreGetRequest { key_wrapping })?;
    let format = p
        .key_format_type
        .or_else(|| computed::object_format(object.object_type, &object.attributes));
    let attributes = m
        .get_attributes(who, &target, &[])?
        .iter()
        .filter_map(attribute_out)
        .chain(computed::derived(m, who, &target, Wanted::all())?)
        .filter(|a| expressible(a, version))
        .collect();
    Ok(ExportResponse {
        object_type: object_type_out(object.object_type),
        unique_identifier: UniqueIdentifier::Text(target.as_str().to_owned()),
        attributes: Some(Attributes::new(attributes)),
        object: Some(Box::new(ops::object_out(object, format)?)),
        ..Default::default()
    })
}
