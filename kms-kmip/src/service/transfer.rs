//! Import and Export (KMIP 2.1 §6.1.28, §6.1.23): an object moved between servers with its Unique Identifier
//! and all its attributes, server-managed ones included.

use kms_core::manager::ImportRequest as CoreImportRequest;
use kms_core::{Error as CoreError, KeyManager, Principal};

use super::BatchState;
use super::computed::{self, Wanted};
use super::convert::{self, attribute_out, object_type_in, object_type_out};
use super::ops::{self, expressible};
use crate::message::Attributes;
use crate::message::operations::lifecycle::IdentifierPayload;
use crate::message::operations::transfer::{ExportRequest, ExportResponse, ImportRequest};
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
    let object = ops::carried_object(p.object.as_deref(), p.object_type, "import")?;
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
        unique_identifier: Some(ops::text(&new)),
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
    let (object, format) = ops::get_object(
        m,
        who,
        &target,
        p.key_wrapping_specification.as_deref(),
        p.key_format_type,
        state,
    )?;
    let attributes = m
        .get_attributes(who, &target, &[])?
        .iter()
        .filter_map(attribute_out)
        .chain(computed::derived(m, who, &target, Wanted::all())?)
        .filter(|a| expressible(a, version))
        .collect();
    Ok(ExportResponse {
        object_type: object_type_out(object.object_type),
        unique_identifier: ops::text(&target),
        attributes: Some(Attributes::new(attributes)),
        object: Some(Box::new(ops::object_out(object, format)?)),
        ..Default::default()
    })
}
