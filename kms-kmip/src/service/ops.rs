//! One function per operation: the request payload in, kms-core calls, the response payload out.

use kms_core::backend::{
    CipherParams, HashingAlgorithm as CoreHash, SignInput, SignatureAlgorithm, WrapAlgorithm,
};
use kms_core::manager::{
    Adjustment, CheckRequest, CreateKeyPairRequest as CoreKeyPairRequest,
    DerivationMethod as CoreDerivation, ExportedKey, GetRequest as CoreGetRequest, KeyWrappingSpec,
    ManagedObject, StreamStep,
};
use kms_core::store::LocateQuery;
use kms_core::{
    Error as CoreError, KeyFormat, KeyMaterial, ObjectId, ObjectType as CoreObjectType, Principal,
};
use zeroize::Zeroizing;

use super::convert::{
    self, algorithm_in, attribute_in, attribute_out, date_in, object_type_in, object_type_out,
    reference_in, reference_out, template_in,
};
use super::{BatchState, Failure, KmipService, SUPPORTED_VERSIONS, computed, formats};
use crate::message::enums::{
    AdjustmentType, BlockCipherMode, CertificateType, CryptographicAlgorithm, DerivationMethod,
    DigitalSignatureAlgorithm, EndpointRole, HashingAlgorithm, InteropFunction, KeyFormatType,
    ObjectType, Operation, PaddingMethod, QueryFunction, SecretDataType,
    UniqueIdentifierEnumeration, ValidityIndicator, WrappingMethod,
};
use crate::message::objects::{
    Certificate, OpaqueObject, PrivateKey, PublicKey, SecretData, SymmetricKey,
};
use crate::message::operations::access::{
    AdjustAttributeRequest, AttributeChangeResponse, CheckPayload, GetAttributeListResponse,
    GetAttributesResponse, GetResponse, LocateResponse,
};
use crate::message::operations::crypto::{
    DecryptResponse, EncryptResponse, HashResponse, MACResponse, MACVerifyResponse,
    RNGRetrieveResponse, SignResponse, SignatureVerifyResponse,
};
use crate::message::operations::lifecycle::{
    CreateKeyPairResponse, CreateResponse, IdentifierPayload, RegisterResponse,
};
use crate::message::operations::server::{
    CapabilityInformation, DiscoverVersionsPayload, QueryResponse, ServerInformation,
};
use crate::message::types::{CryptographicParameters, EncryptionKeyInformation, KeyWrappingData};
use crate::message::{
    Attribute, Attributes, Encoder, KeyBlock, KeyValue, Object, ProtocolVersion, RequestBatchItem,
    RequestPayload, ResponsePayload, SecretBytes, UniqueIdentifier,
};
use crate::tags::Version;

type Result<T> = std::result::Result<T, CoreError>;

/// Longest client Log Message written to the server log, in characters.
const MAX_LOG_MESSAGE: usize = 1024;

/// The operations this service answers, in Query's order.
const OPERATIONS: [Operation; 36] = [
    Operation::CREATE,
    Operation::CREATE_KEY_PAIR,
    Operation::CHECK,
    Operation::RE_KEY,
    Operation::RE_KEY_KEY_PAIR,
    Operation::DERIVE_KEY,
    Operation::REGISTER,
    Operation::LOCATE,
    Operation::GET,
    Operation::GET_ATTRIBUTES,
    Operation::GET_ATTRIBUTE_LIST,
    Operation::ADD_ATTRIBUTE,
    Operation::MODIFY_ATTRIBUTE,
    Operation::DELETE_ATTRIBUTE,
    Operation::SET_ATTRIBUTE,
    Operation::ADJUST_ATTRIBUTE,
    Operation::ACTIVATE,
    Operation::REVOKE,
    Operation::DESTROY,
    Operation::QUERY,
    Operation::DISCOVER_VERSIONS,
    Operation::ENCRYPT,
    Operation::DECRYPT,
    Operation::SIGN,
    Operation::SIGNATURE_VERIFY,
    Operation::MAC,
    Operation::MAC_VERIFY,
    Operation::RNG_RETRIEVE,
    Operation::HASH,
    Operation::LOG,
    Operation::INTEROP,
    Operation::SET_ENDPOINT_ROLE,
    Operation::IMPORT,
    Operation::EXPORT,
    Operation::CREATE_SPLIT_KEY,
    Operation::JOIN_SPLIT_KEY,
];

/// Runs one batch item.
pub(super) fn execute(
    service: &KmipService,
    who: &Principal,
    version: Version,
    item: &RequestBatchItem,
    state: &mut BatchState,
) -> std::result::Result<Option<ResponsePayload>, Failure> {
    let m = &*service.manager;
    if item.ephemeral == Some(true) {
        return Err(CoreError::OperationNotSupported("ephemeral batch items".into()).into());
    }
    let id = target;
    let payload = match &item.payload {
        RequestPayload::DiscoverVersions(p) => {
            ResponsePayload::DiscoverVersions(discover_versions(p))
        }
        RequestPayload::Query(p) => ResponsePayload::Query(query(version, &p.query_functions)),
        RequestPayload::Create(p) => {
            if object_type_in(p.object_type)? != CoreObjectType::SymmetricKey {
                return Err(CoreError::IllegalObjectType.into());
            }
            refuse_quantum_safe(Some(&p.attributes))?;
            let new = m.create(who, template_in(&p.attributes)?)?;
            created(state, &new);
            ResponsePayload::Create(CreateResponse {
                object_type: p.object_type,
                unique_identifier: text(&new),
                ..Default::default()
            })
        }
        RequestPayload::CreateKeyPair(p) => {
            for a in [
                &p.common_attributes,
                &p.private_key_attributes,
                &p.public_key_attributes,
            ] {
                refuse_quantum_safe(a.as_ref())?;
            }
            let template = |a: &Option<Attributes>| a.as_ref().map(template_in).transpose();
            let ids = m.create_key_pair(
                who,
                CoreKeyPairRequest {
                    common_attributes: template(&p.common_attributes)?.unwrap_or_default(),
                    private_key_attributes: template(&p.private_key_attributes)?
                        .unwrap_or_default(),
                    public_key_attributes: template(&p.public_key_attributes)?.unwrap_or_default(),
                },
            )?;
            state.created.push(ids.public_key.clone());
            created(state, &ids.private_key);
            ResponsePayload::CreateKeyPair(CreateKeyPairResponse {
                private_key_unique_identifier: text(&ids.private_key),
                public_key_unique_identifier: text(&ids.public_key),
                ..Default::default()
            })
        }
        RequestPayload::Register(p) => {
            let object_type = object_type_in(p.object_type)?;
            let object = carried_object(p.object.as_deref(), p.object_type, "register")?;
            // A Certificate Type that restates the certificate's own is accepted and dropped: the server
            // derives it.
            let mut template = p.attributes.clone();
            if let Object::Certificate(c) = object {
                template.attributes.retain(
                    |a| !matches!(a, Attribute::CertificateType(t) if *t == c.certificate_type),
                );
            }
            let mut attributes = template_in(&template)?;
            let material = material_in(object, &mut attributes)?;
            keep_registered_format(object, &mut attributes);
            let new = m.register(who, object_type, material, attributes)?;
            created(state, &new);
            ResponsePayload::Register(RegisterResponse {
                unique_identifier: text(&new),
                ..Default::default()
            })
        }
        RequestPayload::Get(p) => {
            let target = id(&p.unique_identifier, state)?;
            let (object, format) = get_object(
                m,
                who,
                &target,
                p.key_wrapping_specification.as_deref(),
                p.key_format_type,
                state,
            )?;
            let object_type = object_type_out(object.object_type);
            ResponsePayload::Get(GetResponse {
                object_type,
                unique_identifier: text(&target),
                object: Some(Box::new(object_out(object, format)?)),
                ..Default::default()
            })
        }
        RequestPayload::GetAttributes(p) => {
            let target = id(&p.unique_identifier, state)?;
            let names: Vec<_> = p
                .attribute_references
                .iter()
                .filter(|r| !computed::Wanted::is_derived(r))
                .filter_map(reference_in)
                .collect();
            let wanted = if p.attribute_references.is_empty() {
                computed::Wanted::all()
            } else {
                computed::Wanted::from_references(&p.attribute_references)
            };
            let derived: Vec<_> = computed::derived(m, who, &target, wanted)?
                .into_iter()
                .filter(|a| expressible(a, version))
                .collect();
            if names.is_empty() && !p.attribute_references.is_empty() {
                // Only attributes this server never keeps, or derives, were asked for.
                m.metadata(who, &target)?;
                ResponsePayload::GetAttributes(GetAttributesResponse {
                    unique_identifier: text(&target),
                    attributes: (!derived.is_empty()).then(|| Attributes::new(derived)),
                    ..Default::default()
                })
            } else {
                let found = m.get_attributes(who, &target, &names)?;
                let attributes = found
                    .iter()
                    .filter_map(attribute_out)
                    .filter(|a| expressible(a, version))
                    .chain(derived)
                    .collect();
                ResponsePayload::GetAttributes(GetAttributesResponse {
                    unique_identifier: text(&target),
                    attributes: Some(Attributes::new(attributes)),
                    ..Default::default()
                })
            }
        }
        RequestPayload::GetAttributeList(p) => {
            let target = id(&p.unique_identifier, state)?;
            let names = m.get_attribute_list(who, &target)?;
            ResponsePayload::GetAttributeList(GetAttributeListResponse {
                unique_identifier: text(&target),
                attribute_references: names
                    .iter()
                    .filter_map(reference_out)
                    .filter(|r| {
                        // Names of attributes the client's version lacks are left out.
                        let mut buf = Vec::new();
                        r.encode_for(&mut Encoder::new(&mut buf, version)).is_ok()
                    })
                    .collect(),
                ..Default::default()
            })
        }
        RequestPayload::AddAttribute(p) => {
            let target = id(&p.unique_identifier, state)?;
            let new = attribute_in(&p.attribute.attribute)?;
            if let kms_core::manager::Attribute::Name(name) = &new {
                // A Name is unique across objects, the object's own included: adding one it already has is
                // refused as a duplicate (the BL-M-8 profile case), not silently kept twice.
                let has = m
                    .get_attributes(who, &target, &[kms_core::manager::AttributeName::Name])?
                    .iter()
                    .any(|a| matches!(a, kms_core::manager::Attribute::Name(n) if n.value == name.value));
                if has {
                    return Err(CoreError::NonUniqueNameAttribute.into());
                }
            }
            m.add_attribute(who, &target, new)?;
            attribute_change(target, version, Some(p.attribute.clone()))
        }
        RequestPayload::SetAttribute(p) => {
            let target = id(&p.unique_identifier, state)?;
            m.set_attribute(who, &target, attribute_in(&p.new_attribute.attribute)?)?;
            ResponsePayload::SetAttribute(IdentifierPayload {
                unique_identifier: Some(text(&target)),
                ..Default::default()
            })
        }
        RequestPayload::ModifyAttribute(p) => {
            let target = id(&p.unique_identifier, state)?;
            let current = p
                .current_attribute
                .as_ref()
                .map(|c| attribute_in(&c.attribute))
                .transpose()?;
            m.modify_attribute(who, &target, current, attribute_in(&p.attribute.attribute)?)?;
            attribute_change(target, version, Some(p.attribute.clone()))
        }
        RequestPayload::DeleteAttribute(p) => {
            let target = id(&p.unique_identifier, state)?;
            let (name, current) = match (&p.current_attribute, &p.attribute_reference) {
                (Some(c), _) => {
                    let core = attribute_in(&c.attribute)?;
                    (core.name(), Some(core))
                }
                (None, Some(r)) => (
                    reference_in(r).ok_or_else(|| {
                        CoreError::AttributeNotFound("attribute not kept by this server".into())
                    })?,
                    None,
                ),
                (None, None) => {
                    return Err(CoreError::MissingData("the attribute to delete".into()).into());
                }
            };
            m.delete_attribute(who, &target, name, current)?;
            attribute_change(target, version, None)
        }
        RequestPayload::Activate(p) => {
            let target = id(&p.unique_identifier, state)?;
            if state.undoable {
                let activation = m.activate_undoably(who, &target)?;
                state.activations.push((target.clone(), activation));
            } else {
                m.activate(who, &target)?;
            }
            ResponsePayload::Activate(identifier(&target))
        }
        RequestPayload::Revoke(p) => {
            let target = id(&p.unique_identifier, state)?;
            let date = p.compromise_occurrence_date.map(date_in).transpose()?;
            m.revoke(
                who,
                &target,
                convert::revocation_reason_in(&p.revocation_reason)?,
                date,
            )?;
            ResponsePayload::Revoke(identifier(&target))
        }
        RequestPayload::Destroy(p) => {
            let target = id(&p.unique_identifier, state)?;
            m.destroy(who, &target)?;
            ResponsePayload::Destroy(identifier(&target))
        }
        RequestPayload::Locate(p) => {
            let (mut query, post) = locate_query(p.attributes.as_ref())?;
            let offset = usize::try_from(p.offset_items.unwrap_or(0))
                .map_err(|_| CoreError::InvalidField("negative Offset Items".into()))?;
            let max_items = p
                .maximum_items
                .map(|n| {
                    usize::try_from(n)
                        .map_err(|_| CoreError::InvalidField("negative Maximum Items".into()))
                })
                .transpose()?;
            let located = if post.is_empty() {
                query.offset = offset;
                query.max_items = max_items;
                m.locate(who, &query)?
            } else {
                // Filters the store cannot evaluate run here, on what the others let through; paging after.
                let all = m.locate(who, &query)?;
                let mut ids = Vec::new();
                for candidate in all.ids {
                    let metadata = m.metadata(who, &candidate)?;
                    if post.iter().all(|f| f.matches(&metadata.attributes)) {
                        ids.push(candidate);
                    }
                }
                let located_items = ids.len();
                kms_core::manager::Located {
                    ids: ids
                        .into_iter()
                        .skip(offset)
                        .take(max_items.unwrap_or(usize::MAX))
                        .collect(),
                    located_items,
                }
            };
            if let Some(first) = located.ids.first() {
                state.placeholder = Some(first.clone());
            }
            ResponsePayload::Locate(LocateResponse {
                // Only a paged Locate says how many matched in all: otherwise the list is the count.
                located_items: (version >= Version::V1_3
                    && (p.maximum_items.is_some() || p.offset_items.is_some()))
                .then(|| i32::try_from(located.located_items).unwrap_or(i32::MAX)),
                unique_identifiers: located.ids.iter().map(text).collect(),
                ..Default::default()
            })
        }
        RequestPayload::Encrypt(p) => {
            let target = id(&p.unique_identifier, state)?;
            let data = p.data.as_ref().map_or(&[][..], SecretBytes::expose);
            let aad = p
                .authenticated_encryption_additional_data
                .as_deref()
                .unwrap_or_default();
            let stored = stored_parameters(m, who, &target, p.cryptographic_parameters.as_ref())?;
            let given = p.cryptographic_parameters.as_ref().or(stored.as_ref());
            if let Some(t) = given.and_then(|c| c.tag_length)
                && !(4..=16).contains(&t)
            {
                // SP 800-38D §5.2.1.2 defines tags of 32 to 128 bits; the profiles (CS-BC-M-GCM-1) answer
                // General Failure for others.
                return Err(Failure::general(format!(
                    "Tag Length {t} is not an authentication tag length"
                )));
            }
            let params = match chacha_algorithm(m, who, &target, given)? {
                Some(a) => chacha_params(a, given, p.iv_counter_nonce.as_deref(), aad)?,
                None => cipher_params(given, p.iv_counter_nonce.as_deref(), aad)?,
            };
            if let Some(step) = stream_step(
                p.init_indicator,
                p.final_indicator,
                p.correlation_value.as_deref(),
            )? {
                let out = m.encrypt_stream(who, &target, &params, data, step)?;
                return Ok(Some(ResponsePayload::Encrypt(EncryptResponse {
                    unique_identifier: text(&target),
                    data: Some(out.data),
                    iv_counter_nonce: out.iv,
                    authenticated_encryption_tag: out.tag,
                    correlation_value: out.correlation_value,
                    ..Default::default()
                })));
            }
            let out = m.encrypt(who, &target, &params, data)?;
            ResponsePayload::Encrypt(EncryptResponse {
                unique_identifier: text(&target),
                data: Some(out.data),
                iv_counter_nonce: out
                    .iv
                    .filter(|_| p.iv_counter_nonce.is_none())
                    .map(|iv| iv.to_vec()),
                authenticated_encryption_tag: out.tag.map(|tag| tag.to_vec()),
                ..Default::default()
            })
        }
        RequestPayload::Decrypt(p) => {
            let target = id(&p.unique_identifier, state)?;
            let aad = p
                .authenticated_encryption_additional_data
                .as_deref()
                .unwrap_or_default();
            let stored = stored_parameters(m, who, &target, p.cryptographic_parameters.as_ref())?;
            let given = p.cryptographic_parameters.as_ref().or(stored.as_ref());
            let params = match chacha_algorithm(m, who, &target, given)? {
                Some(a) => chacha_params(a, given, p.iv_counter_nonce.as_deref(), aad)?,
                None => cipher_params(given, p.iv_counter_nonce.as_deref(), aad)?,
            };
            let step = stream_step(
                p.init_indicator,
                p.final_indicator,
                p.correlation_value.as_deref(),
            )?;
            if p.iv_counter_nonce.is_none()
                && !matches!(step, Some(StreamStep::Next(_) | StreamStep::Last(_)))
                && matches!(
                    params,
                    CipherParams::AesCbc { .. }
                        | CipherParams::AesGcm { .. }
                        | CipherParams::ChaCha20 { .. }
                        | CipherParams::ChaCha20Poly1305 { .. }
                )
            {
                // The profiles (CS-BC-M-11..13) answer Invalid Message for a Decrypt that lacks its IV.
                return Err(Failure::Reason(
                    crate::message::enums::ResultReason::INVALID_MESSAGE,
                    "the IV/Counter/Nonce is missing".into(),
                ));
            }
            if let Some(step) = step {
                let out = m.decrypt_stream(
                    who,
                    &target,
                    &params,
                    p.data.as_deref().unwrap_or_default(),
                    p.authenticated_encryption_tag.as_deref(),
                    step,
                )?;
                return Ok(Some(ResponsePayload::Decrypt(DecryptResponse {
                    unique_identifier: text(&target),
                    data: Some(SecretBytes(out.data)),
                    correlation_value: out.correlation_value,
                    ..Default::default()
                })));
            }
            let plain = m.decrypt(
                who,
                &target,
                &params,
                p.data.as_deref().unwrap_or_default(),
                p.authenticated_encryption_tag.as_deref(),
            )?;
            ResponsePayload::Decrypt(DecryptResponse {
                unique_identifier: text(&target),
                data: Some(SecretBytes(plain)),
                ..Default::default()
            })
        }
        RequestPayload::Sign(p) => {
            let target = id(&p.unique_identifier, state)?;
            let stored = stored_parameters(m, who, &target, p.cryptographic_parameters.as_ref())?;
            let algorithm =
                signature_algorithm(p.cryptographic_parameters.as_ref().or(stored.as_ref()))?;
            let input = sign_input(p.data.as_deref(), p.digested_data.as_deref())?;
            let signature = m.sign(who, &target, algorithm, input)?;
            ResponsePayload::Sign(SignResponse {
                unique_identifier: text(&target),
                signature_data: Some(signature),
                ..Default::default()
            })
        }
        RequestPayload::SignatureVerify(p) => {
            let target = id(&p.unique_identifier, state)?;
            let stored = stored_parameters(m, who, &target, p.cryptographic_parameters.as_ref())?;
            let algorithm =
                signature_algorithm(p.cryptographic_parameters.as_ref().or(stored.as_ref()))?;
            let input = sign_input(p.data.as_deref(), p.digested_data.as_deref())?;
            let signature = p
                .signature_data
                .as_deref()
                .ok_or_else(|| CoreError::MissingData("Signature Data".into()))?;
            let validity = validity(m.verify(who, &target, algorithm, input, signature))?;
            ResponsePayload::SignatureVerify(SignatureVerifyResponse {
                unique_identifier: text(&target),
                validity_indicator: validity,
                ..Default::default()
            })
        }
        RequestPayload::MAC(p) => {
            let target = id(&p.unique_identifier, state)?;
            let stored = stored_parameters(m, who, &target, p.cryptographic_parameters.as_ref())?;
            let hash = mac_hash(p.cryptographic_parameters.as_ref().or(stored.as_ref()))?;
            let mac = m.mac(who, &target, hash, p.data.as_deref().unwrap_or_default())?;
            ResponsePayload::MAC(MACResponse {
                unique_identifier: text(&target),
                mac_data: Some(mac),
                ..Default::default()
            })
        }
        RequestPayload::MACVerify(p) => {
            let target = id(&p.unique_identifier, state)?;
            let stored = stored_parameters(m, who, &target, p.cryptographic_parameters.as_ref())?;
            let hash = mac_hash(p.cryptographic_parameters.as_ref().or(stored.as_ref()))?;
            let mac_data = p
                .mac_data
                .as_deref()
                .ok_or_else(|| CoreError::MissingData("MAC Data".into()))?;
            let validity = validity(m.mac_verify(
                who,
                &target,
                hash,
                p.data.as_deref().unwrap_or_default(),
                mac_data,
            ))?;
            ResponsePayload::MACVerify(MACVerifyResponse {
                unique_identifier: text(&target),
                validity_indicator: validity,
                ..Default::default()
            })
        }
        RequestPayload::Hash(p) => {
            let algorithm = p
                .cryptographic_parameters
                .hashing_algorithm
                .ok_or_else(|| CoreError::MissingData("Hashing Algorithm".into()))
                .and_then(hash_in)?;
            let digest = m.hash(who, algorithm, p.data.as_deref().unwrap_or_default())?;
            ResponsePayload::Hash(HashResponse {
                data: Some(digest),
                ..Default::default()
            })
        }
        RequestPayload::Check(p) => {
            let target = id(&p.unique_identifier, state)?;
            if p.usage_limits_count.is_some() || p.lease_time.is_some() {
                return Err(CoreError::OperationNotSupported(
                    "Check of usage limits or lease time".into(),
                )
                .into());
            }
            m.check(
                who,
                &target,
                &CheckRequest {
                    usage_mask: p
                        .cryptographic_usage_mask
                        .map(|mask| kms_core::UsageMask::from_bits_retain(mask.0)),
                    cryptographic_length: None,
                },
            )?;
            ResponsePayload::Check(CheckPayload {
                unique_identifier: Some(text(&target)),
                ..Default::default()
            })
        }
        RequestPayload::ReKey(p) => {
            let target = id(&p.unique_identifier, state)?;
            if p.attributes
                .as_ref()
                .is_some_and(|a| !a.attributes.is_empty())
            {
                return Err(
                    CoreError::OperationNotSupported("Re-key with new attributes".into()).into(),
                );
            }
            let offset = p.offset.map(|o| time::Duration::seconds(i64::from(o.0)));
            let new = m.rekey(who, &target, offset)?;
            created(state, &new);
            ResponsePayload::ReKey(RegisterResponse {
                unique_identifier: text(&new),
                ..Default::default()
            })
        }
        RequestPayload::ReKeyKeyPair(p) => {
            let target = id(&p.private_key_unique_identifier, state)?;
            let has = |a: &Option<Attributes>| a.as_ref().is_some_and(|a| !a.attributes.is_empty());
            if has(&p.common_attributes)
                || has(&p.private_key_attributes)
                || has(&p.public_key_attributes)
            {
                return Err(CoreError::OperationNotSupported(
                    "Re-key Key Pair with new attributes".into(),
                )
                .into());
            }
            let offset = p.offset.map(|o| time::Duration::seconds(i64::from(o.0)));
            let ids = m.rekey_key_pair(who, &target, offset)?;
            state.created.push(ids.public_key.clone());
            created(state, &ids.private_key);
            ResponsePayload::ReKeyKeyPair(CreateKeyPairResponse {
                private_key_unique_identifier: text(&ids.private_key),
                public_key_unique_identifier: text(&ids.public_key),
                ..Default::default()
            })
        }
        RequestPayload::DeriveKey(p) => {
            if object_type_in(p.object_type)? != CoreObjectType::SymmetricKey
                && object_type_in(p.object_type)? != CoreObjectType::SecretData
            {
                return Err(CoreError::IllegalObjectType.into());
            }
            let base = match p.unique_identifiers.as_slice() {
                [one] => id(&Some(one.clone()), state)?,
                [] => placeholder(state)?,
                _ => {
                    return Err(CoreError::OperationNotSupported(
                        "deriving from several objects".into(),
                    )
                    .into());
                }
            };
            let params = &p.derivation_parameters;
            let hash = params
                .cryptographic_parameters
                .as_ref()
                .and_then(|c| c.hashing_algorithm)
                .map_or(Ok(CoreHash::Sha256), hash_in)?;
            let method = match p.derivation_method {
                DerivationMethod::HKDF => CoreDerivation::Hkdf {
                    hash,
                    salt: params.salt.clone().unwrap_or_default(),
                    info: params.derivation_data.clone().unwrap_or_default(),
                },
                DerivationMethod::PBKDF2 => CoreDerivation::Pbkdf2 {
                    hash,
                    salt: params
                        .salt
                        .clone()
                        .ok_or_else(|| CoreError::MissingData("Salt".into()))?,
                    iterations: params
                        .iteration_count
                        .ok_or_else(|| CoreError::MissingData("Iteration Count".into()))
                        .and_then(|n| {
                            u32::try_from(n).map_err(|_| {
                                CoreError::InvalidField("negative Iteration Count".into())
                            })
                        })?,
                },
                other => {
                    return Err(CoreError::OperationNotSupported(format!(
                        "Derivation Method {other:?}"
                    ))
                    .into());
                }
            };
            let new = m.derive(who, &base, &method, template_in(&p.attributes)?)?;
            created(state, &new);
            ResponsePayload::DeriveKey(RegisterResponse {
                unique_identifier: text(&new),
                ..Default::default()
            })
        }
        RequestPayload::Import(p) => {
            let payload = super::transfer::import(m, who, p)?;
            if let Some(UniqueIdentifier::Text(t)) = &payload.unique_identifier {
                created(state, &ObjectId::try_from(t.as_str())?);
            }
            ResponsePayload::Import(payload)
        }
        RequestPayload::Export(p) => {
            ResponsePayload::Export(super::transfer::export(m, who, version, p, state)?)
        }
        RequestPayload::Log(p) => {
            // The client's message goes to the server log, bounded and as data (never a format string).
            let message: String = p.log_message.chars().take(MAX_LOG_MESSAGE).collect();
            tracing::info!(target: "kms::kmip::log", client = who.name(), message, "KMIP Log");
            ResponsePayload::Log(crate::message::operations::server::EmptyPayload::default())
        }
        RequestPayload::Interop(p) => {
            // KMIP 2.1 §6.1.29: a test harness marks where its test cases begin and end; the server notes it.
            // Reset would ask the server to forget what the test case did, which a shared server must not do.
            if p.interop_function == InteropFunction::RESET {
                return Err(CoreError::OperationNotSupported(
                    "Interop Reset (the server keeps every client's objects)".into(),
                )
                .into());
            }
            let identifier: String = p
                .interop_identifier
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(MAX_LOG_MESSAGE)
                .collect();
            tracing::info!(
                target: "kms::kmip::interop",
                client = who.name(),
                function = ?p.interop_function,
                identifier,
                "KMIP Interop"
            );
            ResponsePayload::Interop(crate::message::operations::server::EmptyPayload::default())
        }
        RequestPayload::CreateSplitKey(p) => ResponsePayload::CreateSplitKey(
            super::split_key::create(service, who, version, p, state)?,
        ),
        RequestPayload::JoinSplitKey(p) => {
            ResponsePayload::JoinSplitKey(super::split_key::join(service, who, version, p, state)?)
        }
        RequestPayload::AdjustAttribute(p) if version >= Version::V2_0 => {
            let target = id(&p.unique_identifier, state)?;
            let name = reference_in(&p.attribute_reference).ok_or_else(|| {
                CoreError::AttributeNotFound("attribute not kept by this server".into())
            })?;
            m.adjust_attribute(who, &target, name, adjustment_in(p)?)?;
            ResponsePayload::AdjustAttribute(IdentifierPayload {
                unique_identifier: Some(text(&target)),
                ..Default::default()
            })
        }
        RequestPayload::SetEndpointRole(p) if version >= Version::V2_0 => {
            // The role is the requester's own. Every caller of this server stays its client: the server never
            // sends requests (Notify, Put) back over a connection, so it cannot take the client's side.
            if p.endpoint_role != EndpointRole::CLIENT {
                return Err(CoreError::OperationNotSupported(format!(
                    "Endpoint Role {:?}: this server sends no requests to its clients",
                    p.endpoint_role
                ))
                .into());
            }
            ResponsePayload::SetEndpointRole(p.clone())
        }
        RequestPayload::RNGRetrieve(p) => {
            let len = usize::try_from(p.data_length)
                .map_err(|_| CoreError::InvalidField("negative Data Length".into()))?;
            let data = m.random(who, len)?;
            ResponsePayload::RNGRetrieve(RNGRetrieveResponse {
                data: SecretBytes(data),
                ..Default::default()
            })
        }
        _ => {
            return Err(CoreError::OperationNotSupported(format!(
                "operation {:?}",
                item.operation
            ))
            .into());
        }
    };
    Ok(Some(payload))
}

/// Quantum Safe (KMIP 2.1 §4.41) asks for an object resistant to quantum attacks: none of the algorithms
/// here is, and the profiles (QS-M-2) answer General Failure.
fn refuse_quantum_safe(attributes: Option<&Attributes>) -> std::result::Result<(), Failure> {
    if attributes.is_some_and(|a| {
        a.attributes
            .iter()
            .any(|a| matches!(a, Attribute::QuantumSafe(true)))
    }) {
        return Err(Failure::general(
            "this server makes no quantum-safe objects",
        ));
    }
    Ok(())
}

/// The Cryptographic Parameters attribute of the key, the operation's defaults when the request has none.
fn stored_parameters(
    m: &kms_core::KeyManager,
    who: &Principal,
    id: &ObjectId,
    given: Option<&CryptographicParameters>,
) -> Result<Option<CryptographicParameters>> {
    if given.is_some() {
        return Ok(None);
    }
    let Some(name) = convert::reference_in(&crate::message::AttributeReference::Standard(
        crate::ttlv::Tag::CRYPTOGRAPHIC_PARAMETERS,
    )) else {
        return Ok(None);
    };
    let found = m.get_attributes(who, id, &[name])?;
    Ok(found.iter().find_map(|a| match attribute_out(a) {
        Some(Attribute::CryptographicParameters(p)) => Some(*p),
        _ => None,
    }))
}

fn placeholder(state: &BatchState) -> Result<ObjectId> {
    state.placeholder.clone().ok_or_else(|| {
        CoreError::MissingData("Unique Identifier (no ID Placeholder in this batch)".into())
    })
}

/// Notes an object the batch made: the ID Placeholder from now on, and undone if the batch is.
pub(super) fn created(state: &mut BatchState, id: &ObjectId) {
    state.placeholder = Some(id.clone());
    state.created.push(id.clone());
}

/// `id` as a Unique Identifier of an answer.
pub(super) fn text(id: &ObjectId) -> UniqueIdentifier {
    UniqueIdentifier::Text(id.as_str().to_owned())
}

fn identifier(id: &ObjectId) -> IdentifierPayload {
    IdentifierPayload {
        unique_identifier: Some(text(id)),
        ..Default::default()
    }
}

/// The object a Register or Import carries, which must be of the Object Type the request names.
pub(super) fn carried_object<'a>(
    object: Option<&'a Object>,
    object_type: ObjectType,
    operation: &str,
) -> Result<&'a Object> {
    let object =
        object.ok_or_else(|| CoreError::MissingData(format!("the object to {operation}")))?;
    if object.object_type() != object_type {
        return Err(CoreError::InvalidField(
            "Object Type does not match the object".into(),
        ));
    }
    Ok(object)
}

/// The object a Get or Export answers with, wrapped as its Key Wrapping Specification asks, and the Key Format
/// Type it goes out in: the one asked for, or else the one it was registered in.
pub(super) fn get_object(
    m: &kms_core::KeyManager,
    who: &Principal,
    target: &ObjectId,
    wrapping: Option<&crate::message::types::KeyWrappingSpecification>,
    requested: Option<KeyFormatType>,
    state: &BatchState,
) -> Result<(ManagedObject, Option<KeyFormatType>)> {
    let key_wrapping = wrapping.map(|spec| wrapping_in(spec, state)).transpose()?;
    let object = m.get(who, target, &CoreGetRequest { key_wrapping })?;
    let format =
        requested.or_else(|| computed::object_format(object.object_type, &object.attributes));
    Ok((object, format))
}

/// Add/Modify/Delete Attribute answer: 1.x echoes the attribute, 2.x only the identifier.
fn attribute_change(
    id: ObjectId,
    version: Version,
    attribute: Option<crate::message::IndexedAttribute>,
) -> ResponsePayload {
    let response = AttributeChangeResponse {
        unique_identifier: text(&id),
        attribute: attribute.filter(|_| version < Version::V2_0),
        ..Default::default()
    };
    // The three operations share one response structure; the batch item's Operation tells them apart.
    ResponsePayload::AddAttribute(response)
}

/// Whether `a` can be written in `version` (an attribute 2.x added is not sent to a 1.x client).
pub(super) fn expressible(a: &Attribute, version: Version) -> bool {
    let mut buf = Vec::new();
    let mut e = Encoder::new(&mut buf, version);
    a.encode_for(None, &mut e).is_ok()
}

/// Where a streamed Encrypt or Decrypt request stands (KMIP 2.1 §6.1.19): `None` for a one-shot request
/// (no indicators, or Init and Final together without a Correlation Value).
fn stream_step(
    init: Option<bool>,
    last: Option<bool>,
    correlation: Option<&[u8]>,
) -> Result<Option<StreamStep<'_>>> {
    let (init, last) = (init == Some(true), last == Some(true));
    match (init, last, correlation) {
        (true, true, None) | (false, false, None) => Ok(None),
        (true, false, None) => Ok(Some(StreamStep::First)),
        (false, false, Some(c)) => Ok(Some(StreamStep::Next(c))),
        (false, true, Some(c)) => Ok(Some(StreamStep::Last(c))),
        (true, _, Some(_)) => Err(CoreError::InvalidField(
            "Init Indicator with a Correlation Value".into(),
        )),
        (false, true, None) => Err(CoreError::InvalidField(
            "Final Indicator without a Correlation Value".into(),
        )),
    }
}

/// The Adjustment Type and Value of an Adjust Attribute request. An Increment or Decrement without a value is
/// by one (one second, for a date).
fn adjustment_in(p: &AdjustAttributeRequest) -> Result<Adjustment> {
    use crate::ttlv::NodeValue;
    let amount = match p.adjustment_value.as_ref().map(|v| &v.value) {
        None => 1,
        Some(NodeValue::Integer(n)) => i64::from(*n),
        Some(NodeValue::LongInteger(n)) => *n,
        Some(NodeValue::Interval(n)) => i64::from(*n),
        Some(_) => {
            return Err(CoreError::InvalidField(
                "Adjustment Value is not an Integer, Long Integer or Interval".into(),
            ));
        }
    };
    match p.adjustment_type {
        AdjustmentType::INCREMENT => Ok(Adjustment::Increment(amount)),
        AdjustmentType::DECREMENT => Ok(Adjustment::Decrement(amount)),
        AdjustmentType::NEGATE if p.adjustment_value.is_none() => Ok(Adjustment::Negate),
        AdjustmentType::NEGATE => Err(CoreError::InvalidField(
            "Negate takes no Adjustment Value".into(),
        )),
        other => Err(CoreError::InvalidField(format!(
            "Adjustment Type {other:?}"
        ))),
    }
}

fn discover_versions(p: &DiscoverVersionsPayload) -> DiscoverVersionsPayload {
    let ours = SUPPORTED_VERSIONS.iter().map(|v| ProtocolVersion::from(*v));
    let protocol_versions = if p.protocol_versions.is_empty() {
        ours.collect()
    } else {
        // The client's list, filtered to what this server speaks, in the server's order of preference.
        ours.filter(|v| p.protocol_versions.contains(v)).collect()
    };
    DiscoverVersionsPayload {
        protocol_versions,
        ..Default::default()
    }
}

fn query(version: Version, functions: &[QueryFunction]) -> QueryResponse {
    let mut response = QueryResponse::default();
    for f in functions {
        match *f {
            QueryFunction::QUERY_OPERATIONS => {
                response.operations = OPERATIONS
                    .iter()
                    .copied()
                    .filter(|op| op.since() != Some(2) || version >= Version::V2_0)
                    .filter(|op| super::split_key::offered(*op, version))
                    .collect();
            }
            QueryFunction::QUERY_OBJECTS => {
                response.object_types = vec![
                    ObjectType::CERTIFICATE,
                    ObjectType::SYMMETRIC_KEY,
                    ObjectType::PUBLIC_KEY,
                    ObjectType::PRIVATE_KEY,
                    ObjectType::SECRET_DATA,
                    ObjectType::OPAQUE_OBJECT,
                    ObjectType::SPLIT_KEY,
                ];
            }
            QueryFunction::QUERY_SERVER_INFORMATION => {
                response.vendor_identification = Some("kms".to_owned());
                response.server_information = Some(Box::new(ServerInformation {
                    server_name: Some("kms".to_owned()),
                    server_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
                    product_name: Some("kms".to_owned()),
                    ..Default::default()
                }));
            }
            QueryFunction::QUERY_CAPABILITIES if version >= Version::V1_3 => {
                response.capability_information = vec![CapabilityInformation {
                    streaming_capability: Some(true),
                    asynchronous_capability: Some(false),
                    attestation_capability: Some(false),
                    batch_undo_capability: Some(true),
                    batch_continue_capability: Some(true),
                    ..Default::default()
                }];
            }
            // Functions with nothing to list (extensions, attestation types, ...) answer nothing.
            _ => {}
        }
    }
    response
}

/// Where kms-core keeps one date attribute.
type DateField = fn(&kms_core::Attributes) -> Option<time::OffsetDateTime>;

/// A date attribute kms-core's store query has no field for (Locate filters on it itself): its date, and where
/// kms-core keeps it.
fn unqueried_date(a: &Attribute) -> Option<(crate::message::DateTime, DateField)> {
    Some(match *a {
        Attribute::ProcessStartDate(d) => (d, |a| a.process_start_date),
        Attribute::ProtectStopDate(d) => (d, |a| a.protect_stop_date),
        Attribute::DestroyDate(d) => (d, |a| a.destroy_date),
        Attribute::CompromiseDate(d) => (d, |a| a.compromise_date),
        Attribute::CompromiseOccurrenceDate(d) => (d, |a| a.compromise_occurrence_date),
        Attribute::LastChangeDate(d) => (d, |a| a.last_change_date),
        Attribute::OriginalCreationDate(d) => (d, |a| a.original_creation_date),
        _ => return None,
    })
}

/// A Locate filter kms-core's store query does not have, evaluated by the service.
enum PostFilter {
    /// A date attribute within a range (one value: that date).
    Date(crate::ttlv::Tag, DateField, kms_core::store::DateRange),
    /// A custom (vendor) attribute with this value.
    Custom(String, kms_core::object::AttributeValue),
}

impl PostFilter {
    fn matches(&self, a: &kms_core::Attributes) -> bool {
        match self {
            Self::Date(_, field, range) => field(a).is_some_and(|d| {
                range.from.is_none_or(|f| d >= f) && range.to.is_none_or(|t| d <= t)
            }),
            Self::Custom(name, value) => a.custom.get(name) == Some(value),
        }
    }
}

/// Adds `d` to the date filter on `field`, a range from two values.
fn post_date(
    post: &mut Vec<PostFilter>,
    tag: crate::ttlv::Tag,
    field: DateField,
    d: time::OffsetDateTime,
) {
    for f in post.iter_mut() {
        if let PostFilter::Date(t, _, r) = f
            && *t == tag
        {
            range(r, d);
            return;
        }
    }
    let mut r = kms_core::store::DateRange::default();
    range(&mut r, d);
    post.push(PostFilter::Date(tag, field, r));
}

fn locate_query(attributes: Option<&Attributes>) -> Result<(LocateQuery, Vec<PostFilter>)> {
    let mut q = LocateQuery::default();
    let mut post = Vec::new();
    for a in attributes.map_or(&[][..], |a| &a.attributes) {
        // The dates the store query has no field for are filtered here, on what it found (two values a range too).
        if let Some((d, field)) = unqueried_date(a) {
            post_date(&mut post, a.tag(), field, date_in(d)?);
            continue;
        }
        match a {
            Attribute::ObjectType(t) => q.object_type = Some(object_type_in(*t)?),
            Attribute::CryptographicAlgorithm(v) => q.algorithm = Some(algorithm_in(*v)),
            Attribute::CryptographicLength(v) => {
                q.length = Some(u32::try_from(*v).map_err(|_| {
                    CoreError::InvalidAttributeValue("negative Cryptographic Length".into())
                })?);
            }
            Attribute::State(_) => {
                if let kms_core::manager::Attribute::State(s) = attribute_in(a)? {
                    q.state = Some(s);
                }
            }
            Attribute::Name(n) => q.name = Some(n.name_value.clone()),
            Attribute::ObjectGroup(g) => q.object_group = Some(g.clone()),
            Attribute::CryptographicUsageMask(mask) => {
                q.usage_mask = Some(kms_core::UsageMask::from_bits_retain(mask.0));
            }
            // Two values of a date attribute are a range (KMIP 1.4 §4.9); one is an exact date.
            Attribute::InitialDate(d) => range(&mut q.initial_date, date_in(*d)?),
            Attribute::ActivationDate(d) => range(&mut q.activation_date, date_in(*d)?),
            Attribute::DeactivationDate(d) => range(&mut q.deactivation_date, date_in(*d)?),
            // Vendor attributes, and the standard ones kept as items (Application Specific Information, ...).
            other
                if matches!(
                    attribute_in(other),
                    Ok(kms_core::manager::Attribute::Custom(..))
                ) =>
            {
                if let Ok(kms_core::manager::Attribute::Custom(name, value)) = attribute_in(other) {
                    post.push(PostFilter::Custom(name, value));
                }
            }
            other => {
                return Err(CoreError::InvalidField(format!(
                    "Locate cannot filter on attribute {}",
                    other.tag()
                )));
            }
        }
    }
    Ok((q, post))
}

fn range(r: &mut kms_core::store::DateRange, d: time::OffsetDateTime) {
    match (r.from, r.to) {
        (None, _) => {
            r.from = Some(d);
            r.to = Some(d);
        }
        (Some(from), _) if d < from => r.from = Some(d),
        _ => r.to = Some(d),
    }
}

fn hash_in(h: HashingAlgorithm) -> Result<CoreHash> {
    Ok(match h {
        HashingAlgorithm::SHA_1 => CoreHash::Sha1,
        HashingAlgorithm::SHA_224 => CoreHash::Sha224,
        HashingAlgorithm::SHA_256 => CoreHash::Sha256,
        HashingAlgorithm::SHA_384 => CoreHash::Sha384,
        HashingAlgorithm::SHA_512 => CoreHash::Sha512,
        other => {
            return Err(CoreError::UnsupportedCryptographicParameters(format!(
                "Hashing Algorithm {other:?}"
            )));
        }
    })
}

fn cipher_params<'a>(
    params: Option<&'a CryptographicParameters>,
    iv: Option<&'a [u8]>,
    aad: &'a [u8],
) -> Result<CipherParams<'a>> {
    let Some(p) = params else {
        return Ok(CipherParams::AesGcm {
            iv,
            aad,
            tag_len: 16,
        });
    };
    if p.padding_method == Some(PaddingMethod::OAEP)
        || p.cryptographic_algorithm == Some(CryptographicAlgorithm::RSA)
    {
        if p.padding_method.is_some_and(|m| m != PaddingMethod::OAEP) {
            return Err(CoreError::UnsupportedCryptographicParameters(
                "RSA encryption is RSA-OAEP only".into(),
            ));
        }
        // KMIP's default OAEP hash is SHA-1 (KMIP 2.1 §11.7 Mask Generator Hashing Algorithm).
        let hash = p.hashing_algorithm.map_or(Ok(CoreHash::Sha1), hash_in)?;
        let mgf1_hash = p
            .mask_generator_hashing_algorithm
            .map_or(Ok(CoreHash::Sha1), hash_in)?;
        return Ok(CipherParams::RsaOaep {
            hash,
            mgf1_hash,
            label: p.p_source.as_deref().filter(|l| !l.is_empty()),
        });
    }
    let padding = match p.padding_method {
        None | Some(PaddingMethod::NONE) => false,
        Some(PaddingMethod::PKCS5) => true,
        Some(other) => {
            return Err(CoreError::UnsupportedCryptographicParameters(format!(
                "Padding Method {other:?} with a block cipher"
            )));
        }
    };
    match p.block_cipher_mode {
        Some(BlockCipherMode::ECB) => Ok(CipherParams::AesEcb { padding }),
        Some(BlockCipherMode::CBC) => Ok(CipherParams::AesCbc { iv, padding }),
        None | Some(BlockCipherMode::GCM) => {
            let tag_len = p
                .tag_length
                .map_or(Ok(16), usize::try_from)
                .map_err(|_| CoreError::InvalidField("negative Tag Length".into()))?;
            Ok(CipherParams::AesGcm { iv, aad, tag_len })
        }
        Some(other) => Err(CoreError::UnsupportedCryptographicParameters(format!(
            "Block Cipher Mode {other:?}"
        ))),
    }
}

/// The ChaCha algorithm an Encrypt or Decrypt uses: the one the Cryptographic Parameters name, or, when they name
/// no algorithm and no block cipher mode but AEAD, the key's own (the profiles' ChaCha20 test cases send empty
/// parameters). AES requests that name their mode (GCM, CBC, ECB) do not read the key's attributes.
fn chacha_algorithm(
    m: &kms_core::KeyManager,
    who: &Principal,
    id: &ObjectId,
    given: Option<&CryptographicParameters>,
) -> Result<Option<CryptographicAlgorithm>> {
    let is_chacha = |a: CryptographicAlgorithm| {
        matches!(
            a,
            CryptographicAlgorithm::CHACHA20 | CryptographicAlgorithm::CHACHA20POLY1305
        )
    };
    if let Some(a) = given.and_then(|p| p.cryptographic_algorithm) {
        return Ok(Some(a).filter(|a| is_chacha(*a)));
    }
    let mode = given.and_then(|p| p.block_cipher_mode);
    if mode.is_some_and(|b| b != BlockCipherMode::AEAD)
        || given.is_some_and(|p| p.padding_method.is_some())
    {
        return Ok(None);
    }
    let Some(name) = convert::reference_in(&crate::message::AttributeReference::Standard(
        crate::ttlv::Tag::CRYPTOGRAPHIC_ALGORITHM,
    )) else {
        return Ok(None);
    };
    let found = m.get_attributes(who, id, &[name])?;
    Ok(found.iter().find_map(|a| match attribute_out(a) {
        Some(Attribute::CryptographicAlgorithm(a)) if is_chacha(a) => Some(a),
        _ => None,
    }))
}

/// ChaCha20 (no tag) or ChaCha20-Poly1305 (16-byte tag) parameters.
fn chacha_params<'a>(
    algorithm: CryptographicAlgorithm,
    params: Option<&CryptographicParameters>,
    nonce: Option<&'a [u8]>,
    aad: &'a [u8],
) -> Result<CipherParams<'a>> {
    let tag_len = params.and_then(|p| p.tag_length);
    if algorithm == CryptographicAlgorithm::CHACHA20POLY1305 {
        let tag_len = tag_len
            .map_or(Ok(16), usize::try_from)
            .map_err(|_| CoreError::InvalidField("negative Tag Length".into()))?;
        Ok(CipherParams::ChaCha20Poly1305 {
            nonce,
            aad,
            tag_len,
        })
    } else if tag_len.is_some() || !aad.is_empty() {
        Err(CoreError::UnsupportedCryptographicParameters(
            "ChaCha20 has no tag and no additional data (ChaCha20-Poly1305 has)".into(),
        ))
    } else {
        Ok(CipherParams::ChaCha20 { nonce })
    }
}

fn signature_algorithm(params: Option<&CryptographicParameters>) -> Result<SignatureAlgorithm> {
    let p = params.ok_or_else(|| CoreError::MissingData("Cryptographic Parameters".into()))?;
    if let Some(dsa) = p.digital_signature_algorithm {
        use DigitalSignatureAlgorithm as D;
        return Ok(match dsa {
            D::SHA_1_WITH_RSA_ENCRYPTION => SignatureAlgorithm::RsaPkcs1v15(CoreHash::Sha1),
            D::SHA_224_WITH_RSA_ENCRYPTION => SignatureAlgorithm::RsaPkcs1v15(CoreHash::Sha224),
            D::SHA_256_WITH_RSA_ENCRYPTION => SignatureAlgorithm::RsaPkcs1v15(CoreHash::Sha256),
            D::SHA_384_WITH_RSA_ENCRYPTION => SignatureAlgorithm::RsaPkcs1v15(CoreHash::Sha384),
            D::SHA_512_WITH_RSA_ENCRYPTION => SignatureAlgorithm::RsaPkcs1v15(CoreHash::Sha512),
            D::RSASSA_PSS => SignatureAlgorithm::RsaPss(
                p.hashing_algorithm.map_or(Ok(CoreHash::Sha256), hash_in)?,
            ),
            D::ECDSA_WITH_SHA_1 => SignatureAlgorithm::Ecdsa(CoreHash::Sha1),
            D::ECDSA_WITH_SHA224 => SignatureAlgorithm::Ecdsa(CoreHash::Sha224),
            D::ECDSA_WITH_SHA256 => SignatureAlgorithm::Ecdsa(CoreHash::Sha256),
            D::ECDSA_WITH_SHA384 => SignatureAlgorithm::Ecdsa(CoreHash::Sha384),
            D::ECDSA_WITH_SHA512 => SignatureAlgorithm::Ecdsa(CoreHash::Sha512),
            D::DSA_WITH_SHA_1 => SignatureAlgorithm::Dsa(CoreHash::Sha1),
            D::DSA_WITH_SHA224 => SignatureAlgorithm::Dsa(CoreHash::Sha224),
            D::DSA_WITH_SHA256 => SignatureAlgorithm::Dsa(CoreHash::Sha256),
            other => {
                return Err(CoreError::UnsupportedCryptographicParameters(format!(
                    "Digital Signature Algorithm {other:?}"
                )));
            }
        });
    }
    let hash = p
        .hashing_algorithm
        .ok_or_else(|| CoreError::MissingData("Hashing Algorithm".into()))
        .and_then(hash_in)?;
    match (p.cryptographic_algorithm, p.padding_method) {
        (Some(CryptographicAlgorithm::ECDSA | CryptographicAlgorithm::EC), _) => {
            Ok(SignatureAlgorithm::Ecdsa(hash))
        }
        // KMIP names DSA with SHA-1, SHA-224 and SHA-256 only; DSA with SHA-384 or SHA-512 is asked this way.
        (Some(CryptographicAlgorithm::DSA), _) => Ok(SignatureAlgorithm::Dsa(hash)),
        (_, Some(PaddingMethod::PSS)) => Ok(SignatureAlgorithm::RsaPss(hash)),
        (_, Some(PaddingMethod::PKCS1_V1_5)) | (Some(CryptographicAlgorithm::RSA), None) => {
            Ok(SignatureAlgorithm::RsaPkcs1v15(hash))
        }
        _ => Err(CoreError::MissingData(
            "Digital Signature Algorithm, or Cryptographic Algorithm and Padding Method".into(),
        )),
    }
}

fn sign_input<'a>(data: Option<&'a [u8]>, digested: Option<&'a [u8]>) -> Result<SignInput<'a>> {
    match (data, digested) {
        (Some(d), None) => Ok(SignInput::Message(d)),
        (None, Some(d)) => Ok(SignInput::Digest(d)),
        (Some(_), Some(_)) => Err(CoreError::InvalidField(
            "Data and Digested Data are exclusive".into(),
        )),
        (None, None) => Err(CoreError::MissingData("Data".into())),
    }
}

/// The MAC's hash: the Hashing Algorithm, or the one an HMAC Cryptographic Algorithm names (an AES key
/// registered with Cryptographic Parameters saying HMAC-SHA256 computes HMAC-SHA256).
fn mac_hash(params: Option<&CryptographicParameters>) -> Result<Option<CoreHash>> {
    let Some(p) = params else {
        return Ok(None);
    };
    if let Some(h) = p.hashing_algorithm {
        return hash_in(h).map(Some);
    }
    Ok(match p.cryptographic_algorithm {
        Some(CryptographicAlgorithm::HMAC_SHA1) => Some(CoreHash::Sha1),
        Some(CryptographicAlgorithm::HMAC_SHA224) => Some(CoreHash::Sha224),
        Some(CryptographicAlgorithm::HMAC_SHA256) => Some(CoreHash::Sha256),
        Some(CryptographicAlgorithm::HMAC_SHA384) => Some(CoreHash::Sha384),
        Some(CryptographicAlgorithm::HMAC_SHA512) => Some(CoreHash::Sha512),
        _ => None,
    })
}

/// A verification's answer: a mismatch is a Validity Indicator, not a failed operation.
fn validity(result: Result<()>) -> Result<ValidityIndicator> {
    match result {
        Ok(()) => Ok(ValidityIndicator::VALID),
        Err(CoreError::CryptographicFailure) => Ok(ValidityIndicator::INVALID),
        Err(e) => Err(e),
    }
}

pub(super) fn wrapping_in(
    spec: &crate::message::types::KeyWrappingSpecification,
    state: &BatchState,
) -> Result<KeyWrappingSpec> {
    if spec.wrapping_method != WrappingMethod::ENCRYPT {
        return Err(CoreError::OperationNotSupported(
            "Wrapping Method other than Encrypt".into(),
        ));
    }
    let info = spec
        .encryption_key_information
        .as_ref()
        .ok_or_else(|| CoreError::MissingData("Encryption Key Information".into()))?;
    let wrapping_key_id = match &info.unique_identifier {
        UniqueIdentifier::Text(s) => ObjectId::try_from(s.as_str())?,
        _ => placeholder(state)?,
    };
    let p = info.cryptographic_parameters.as_ref();
    let algorithm = match p.and_then(|p| p.padding_method) {
        Some(PaddingMethod::OAEP) => {
            let hash = p
                .and_then(|p| p.hashing_algorithm)
                .map_or(Ok(CoreHash::Sha1), hash_in)?;
            // KMIP's default MGF1 hash is SHA-1 (as in Decrypt); key wrapping here uses MGF1 with the OAEP hash.
            let mgf1 = p
                .and_then(|p| p.mask_generator_hashing_algorithm)
                .map_or(Ok(CoreHash::Sha1), hash_in)?;
            if mgf1 != hash {
                return Err(CoreError::UnsupportedCryptographicParameters(
                    "RSA-OAEP key wrapping uses MGF1 with the OAEP hash: give Mask Generator Hashing \
                     Algorithm equal to Hashing Algorithm"
                        .into(),
                ));
            }
            WrapAlgorithm::RsaOaep(hash)
        }
        _ => match p.and_then(|p| p.block_cipher_mode) {
            None | Some(BlockCipherMode::NISTKEYWRAP) => WrapAlgorithm::AesKeyWrap,
            Some(BlockCipherMode::AESKEYWRAPPADDING) => WrapAlgorithm::AesKeyWrapPadded,
            Some(other) => {
                return Err(CoreError::UnsupportedCryptographicParameters(format!(
                    "wrapping with Block Cipher Mode {other:?}"
                )));
            }
        },
    };
    Ok(KeyWrappingSpec {
        wrapping_key_id,
        algorithm,
    })
}

/// The Key Format Type a stored key's canonical format is sent as.
fn format_out(format: KeyFormat) -> KeyFormatType {
    match format {
        KeyFormat::Raw => KeyFormatType::RAW,
        KeyFormat::Pkcs8 => KeyFormatType::PKCS_8,
        KeyFormat::SubjectPublicKeyInfo | KeyFormat::X509Certificate => KeyFormatType::X_509,
    }
}

fn key_block(
    object: &ManagedObject,
    key: ExportedKey,
    requested: Option<KeyFormatType>,
) -> Result<KeyBlock> {
    let algorithm = object
        .attributes
        .cryptographic_algorithm
        .map(|a| CryptographicAlgorithm(a.to_kmip()));
    let length = object
        .attributes
        .cryptographic_length
        .and_then(|l| i32::try_from(l).ok());
    match key {
        ExportedKey::Plain(material) => {
            let canonical = format_out(material.format());
            let format = requested.unwrap_or(canonical);
            let raw_as = (format == KeyFormatType::RAW || format == KeyFormatType::OPAQUE)
                && material.format() == KeyFormat::Raw;
            let key_material = if format == canonical || raw_as {
                crate::message::KeyMaterial::Bytes(SecretBytes(material.into_bytes()))
            } else if format == KeyFormatType::PKCS_1 && material.format() == KeyFormat::Pkcs8 {
                crate::message::KeyMaterial::Bytes(SecretBytes(
                    formats::rsa_private_pkcs8_to_pkcs1(material.bytes())?,
                ))
            } else if format == KeyFormatType::PKCS_1
                && material.format() == KeyFormat::SubjectPublicKeyInfo
            {
                crate::message::KeyMaterial::Bytes(SecretBytes(formats::rsa_public_spki_to_pkcs1(
                    material.bytes(),
                )?))
            } else if EC_PRIVATE_FORMATS.contains(&format) && material.format() == KeyFormat::Pkcs8
            {
                let (curve, d) = formats::ec_private_pkcs8_to_transparent(material.bytes())?;
                crate::message::KeyMaterial::TransparentECPrivateKey(
                    crate::message::objects::TransparentECPrivateKey {
                        recommended_curve: curve_out(curve),
                        d: crate::message::SecretBigInteger(d),
                        ..Default::default()
                    },
                )
            } else if EC_PUBLIC_FORMATS.contains(&format)
                && material.format() == KeyFormat::SubjectPublicKeyInfo
            {
                let (curve, q) = formats::ec_public_spki_to_transparent(material.bytes())?;
                crate::message::KeyMaterial::TransparentECPublicKey(
                    crate::message::objects::TransparentECPublicKey {
                        recommended_curve: curve_out(curve),
                        q_string: q,
                        ..Default::default()
                    },
                )
            } else if format == KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY
                && material.format() == KeyFormat::SubjectPublicKeyInfo
            {
                let (n, e) = formats::rsa_public_spki_to_transparent(material.bytes())?;
                crate::message::KeyMaterial::TransparentRSAPublicKey(
                    crate::message::objects::TransparentRSAPublicKey {
                        modulus: crate::message::BigInteger(n.to_vec()),
                        public_exponent: crate::message::BigInteger(e.to_vec()),
                        ..Default::default()
                    },
                )
            } else if format == KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY
                && material.format() == KeyFormat::Pkcs8
            {
                let c = formats::rsa_private_pkcs8_to_transparent(material.bytes())?;
                let secret = |v: Zeroizing<Vec<u8>>| Some(crate::message::SecretBigInteger(v));
                crate::message::KeyMaterial::TransparentRSAPrivateKey(
                    crate::message::objects::TransparentRSAPrivateKey {
                        modulus: crate::message::BigInteger(c.modulus.to_vec()),
                        public_exponent: Some(crate::message::BigInteger(
                            c.public_exponent.to_vec(),
                        )),
                        private_exponent: secret(c.private_exponent),
                        p: secret(c.p),
                        q: secret(c.q),
                        prime_exponent_p: secret(c.prime_exponent_p),
                        prime_exponent_q: secret(c.prime_exponent_q),
                        crt_coefficient: secret(c.crt_coefficient),
                        ..Default::default()
                    },
                )
            } else if format == KeyFormatType::TRANSPARENT_DSA_PRIVATE_KEY
                && material.format() == KeyFormat::Pkcs8
            {
                let c = formats::dsa_private_pkcs8_to_transparent(material.bytes())?;
                crate::message::KeyMaterial::TransparentDSAPrivateKey(
                    crate::message::objects::TransparentDSAPrivateKey {
                        p: crate::message::BigInteger(c.p),
                        q: crate::message::BigInteger(c.q),
                        g: crate::message::BigInteger(c.g),
                        x: crate::message::SecretBigInteger(c.value),
                        ..Default::default()
                    },
                )
            } else if format == KeyFormatType::TRANSPARENT_DSA_PUBLIC_KEY
                && material.format() == KeyFormat::SubjectPublicKeyInfo
            {
                let c = formats::dsa_public_spki_to_transparent(material.bytes())?;
                crate::message::KeyMaterial::TransparentDSAPublicKey(
                    crate::message::objects::TransparentDSAPublicKey {
                        p: crate::message::BigInteger(c.p),
                        q: crate::message::BigInteger(c.q),
                        g: crate::message::BigInteger(c.g),
                        y: crate::message::BigInteger(c.value.to_vec()),
                        ..Default::default()
                    },
                )
            } else if format == KeyFormatType::TRANSPARENT_SYMMETRIC_KEY
                && material.format() == KeyFormat::Raw
            {
                crate::message::KeyMaterial::TransparentSymmetricKey(
                    crate::message::objects::TransparentSymmetricKey {
                        key: SecretBytes(material.into_bytes()),
                        ..Default::default()
                    },
                )
            } else {
                return Err(CoreError::KeyFormatTypeNotSupported(format!(
                    "{format:?} for this object"
                )));
            };
            Ok(KeyBlock {
                key_format_type: format,
                key_value: Some(KeyValue::Plain {
                    key_material,
                    attributes: None,
                    extensions: Vec::new(),
                }),
                cryptographic_algorithm: algorithm,
                cryptographic_length: length,
                ..Default::default()
            })
        }
        ExportedKey::Wrapped {
            bytes,
            format,
            spec,
        } => {
            let canonical = format_out(format);
            if requested.is_some_and(|r| r != canonical) {
                return Err(CoreError::KeyFormatTypeNotSupported(
                    "a wrapped key is sent in its stored format".into(),
                ));
            }
            let (block_cipher_mode, padding_method, hashing_algorithm) = match spec.algorithm {
                WrapAlgorithm::AesKeyWrap => (Some(BlockCipherMode::NISTKEYWRAP), None, None),
                WrapAlgorithm::AesKeyWrapPadded => {
                    (Some(BlockCipherMode::AESKEYWRAPPADDING), None, None)
                }
                WrapAlgorithm::RsaOaep(h) => (
                    None,
                    Some(PaddingMethod::OAEP),
                    Some(match h {
                        CoreHash::Sha1 => HashingAlgorithm::SHA_1,
                        CoreHash::Sha224 => HashingAlgorithm::SHA_224,
                        CoreHash::Sha256 => HashingAlgorithm::SHA_256,
                        CoreHash::Sha384 => HashingAlgorithm::SHA_384,
                        CoreHash::Sha512 => HashingAlgorithm::SHA_512,
                    }),
                ),
            };
            Ok(KeyBlock {
                key_format_type: canonical,
                key_value: Some(KeyValue::Wrapped(SecretBytes::new(bytes))),
                cryptographic_algorithm: algorithm,
                cryptographic_length: length,
                key_wrapping_data: Some(Box::new(KeyWrappingData {
                    wrapping_method: WrappingMethod::ENCRYPT,
                    encryption_key_information: Some(EncryptionKeyInformation {
                        unique_identifier: text(&spec.wrapping_key_id),
                        cryptographic_parameters: Some(Box::new(CryptographicParameters {
                            block_cipher_mode,
                            padding_method,
                            hashing_algorithm,
                            // Said explicitly: the KMIP default (SHA-1) is not what OAEP-SHA-2 used.
                            mask_generator_hashing_algorithm: padding_method.and(hashing_algorithm),
                            ..Default::default()
                        })),
                        ..Default::default()
                    }),
                    ..Default::default()
                })),
                ..Default::default()
            })
        }
    }
}

pub(super) fn object_out(
    mut object: ManagedObject,
    requested: Option<KeyFormatType>,
) -> Result<Object> {
    if object.object_type == CoreObjectType::SplitKey {
        return super::split_key::object_out(object, requested);
    }
    let key = std::mem::replace(
        &mut object.key,
        ExportedKey::Plain(KeyMaterial::new(KeyFormat::Raw, Zeroizing::new(Vec::new()))),
    );
    Ok(match object.object_type {
        CoreObjectType::SymmetricKey => Object::SymmetricKey(SymmetricKey {
            key_block: key_block(&object, key, requested)?,
            ..Default::default()
        }),
        CoreObjectType::PrivateKey => Object::PrivateKey(PrivateKey {
            key_block: key_block(&object, key, requested)?,
            ..Default::default()
        }),
        CoreObjectType::PublicKey => Object::PublicKey(PublicKey {
            key_block: key_block(&object, key, requested)?,
            ..Default::default()
        }),
        CoreObjectType::SecretData => Object::SecretData(SecretData {
            secret_data_type: SecretDataType::PASSWORD,
            key_block: key_block(&object, key, requested)?,
            ..Default::default()
        }),
        CoreObjectType::Certificate | CoreObjectType::OpaqueObject => {
            let ExportedKey::Plain(material) = key else {
                return Err(CoreError::OperationNotSupported(
                    "wrapping certificates and opaque objects".into(),
                ));
            };
            if object.object_type == CoreObjectType::Certificate {
                Object::Certificate(Certificate {
                    certificate_type: CertificateType::X_509,
                    certificate_value: material.bytes().to_vec(),
                    ..Default::default()
                })
            } else {
                let registered = object
                    .attributes
                    .custom
                    .get(&convert::item_name(crate::ttlv::Tag::OPAQUE_DATA_TYPE))
                    .and_then(|v| match v {
                        kms_core::object::AttributeValue::Enumeration(t) => Some(*t),
                        _ => None,
                    });
                Object::OpaqueObject(OpaqueObject {
                    // Objects registered otherwise (XKMS) have no type: the first extension value.
                    opaque_data_type: crate::message::enums::OpaqueDataType(
                        registered.unwrap_or(0x8000_0000),
                    ),
                    opaque_data_value: material.bytes().to_vec(),
                    ..Default::default()
                })
            }
        }
        _ => return Err(CoreError::IllegalObjectType),
    })
}

/// Keeps what Get answers with later and kms-core has no field for: the Key Format Type the key came in, the
/// Opaque Data Type.
pub(super) fn keep_registered_format(object: &Object, attributes: &mut kms_core::Attributes) {
    if let Object::OpaqueObject(o) = object {
        attributes.custom.insert(
            convert::item_name(crate::ttlv::Tag::OPAQUE_DATA_TYPE),
            kms_core::object::AttributeValue::Enumeration(o.opaque_data_type.0),
        );
    }
    if let Some(kms_core::manager::Attribute::Custom(name, value)) =
        key_block_of(object).and_then(|b| computed::registered_format_attribute(b.key_format_type))
    {
        attributes.custom.insert(name, value);
    }
}

/// The object a request names: its Unique Identifier, or the batch's ID Placeholder.
pub(super) fn target(u: &Option<UniqueIdentifier>, state: &BatchState) -> Result<ObjectId> {
    match u {
        Some(UniqueIdentifier::Text(s)) => ObjectId::try_from(s.as_str()),
        Some(UniqueIdentifier::Enumeration(e))
            if *e == UniqueIdentifierEnumeration::ID_PLACEHOLDER =>
        {
            placeholder(state)
        }
        Some(_) => Err(CoreError::InvalidField(
            "this Unique Identifier form is not supported".into(),
        )),
        None => placeholder(state),
    }
}

/// Transparent EC private key formats: KMIP 2.x's, and 1.x's ECDSA and ECDH ones (the same structure).
const EC_PRIVATE_FORMATS: [KeyFormatType; 3] = [
    KeyFormatType::TRANSPARENT_EC_PRIVATE_KEY,
    KeyFormatType::TRANSPARENT_ECDSA_PRIVATE_KEY,
    KeyFormatType::TRANSPARENT_ECDH_PRIVATE_KEY,
];

/// Transparent EC public key formats.
const EC_PUBLIC_FORMATS: [KeyFormatType; 3] = [
    KeyFormatType::TRANSPARENT_EC_PUBLIC_KEY,
    KeyFormatType::TRANSPARENT_ECDSA_PUBLIC_KEY,
    KeyFormatType::TRANSPARENT_ECDH_PUBLIC_KEY,
];

fn curve_in(c: crate::message::enums::RecommendedCurve) -> Result<formats::Curve> {
    use crate::message::enums::RecommendedCurve as C;
    match c {
        C::P_256 => Ok(formats::Curve::P256),
        C::P_384 => Ok(formats::Curve::P384),
        other => Err(CoreError::UnsupportedCryptographicParameters(format!(
            "Recommended Curve {other:?}"
        ))),
    }
}

fn curve_out(c: formats::Curve) -> crate::message::enums::RecommendedCurve {
    use crate::message::enums::RecommendedCurve as C;
    match c {
        formats::Curve::P256 => C::P_256,
        formats::Curve::P384 => C::P_384,
    }
}

/// The Key Block of a key object.
fn key_block_of(object: &Object) -> Option<&KeyBlock> {
    match object {
        Object::SymmetricKey(k) => Some(&k.key_block),
        Object::SecretData(k) => Some(&k.key_block),
        Object::PrivateKey(k) => Some(&k.key_block),
        Object::PublicKey(k) => Some(&k.key_block),
        _ => None,
    }
}

/// The key material of a Register request in kms-core's canonical format; the Key Block's algorithm and
/// length fill the attributes the template left out.
pub(super) fn material_in(
    object: &Object,
    attributes: &mut kms_core::Attributes,
) -> Result<KeyMaterial> {
    let from_block = |block: &KeyBlock,
                      attributes: &mut kms_core::Attributes,
                      accepted: &[(KeyFormatType, KeyFormat)]|
     -> Result<KeyMaterial> {
        if attributes.cryptographic_algorithm.is_none() {
            attributes.cryptographic_algorithm = block.cryptographic_algorithm.map(algorithm_in);
        }
        if attributes.cryptographic_length.is_none() {
            attributes.cryptographic_length = block
                .cryptographic_length
                .and_then(|l| u32::try_from(l).ok());
        }
        let Some(KeyValue::Plain { key_material, .. }) = &block.key_value else {
            return Err(CoreError::OperationNotSupported(
                "registering wrapped key values".into(),
            ));
        };
        let bytes = match key_material {
            crate::message::KeyMaterial::Bytes(b)
                if block.key_format_type == KeyFormatType::PKCS_1 =>
            {
                match accepted.first().map(|(_, f)| *f) {
                    Some(KeyFormat::Pkcs8) => formats::rsa_private_pkcs1_to_pkcs8(b.expose())?,
                    Some(KeyFormat::SubjectPublicKeyInfo) => {
                        formats::rsa_public_pkcs1_to_spki(b.expose())?
                    }
                    _ => {
                        return Err(CoreError::KeyFormatTypeNotSupported(
                            "PKCS#1 for this object type".into(),
                        ));
                    }
                }
            }
            crate::message::KeyMaterial::Bytes(b) => b.0.clone(),
            crate::message::KeyMaterial::TransparentSymmetricKey(k)
                if block.key_format_type == KeyFormatType::TRANSPARENT_SYMMETRIC_KEY =>
            {
                k.key.0.clone()
            }
            crate::message::KeyMaterial::TransparentECPrivateKey(k)
                if EC_PRIVATE_FORMATS.contains(&block.key_format_type) =>
            {
                formats::ec_private_transparent_to_pkcs8(curve_in(k.recommended_curve)?, &k.d.0)?
            }
            crate::message::KeyMaterial::TransparentECPublicKey(k)
                if EC_PUBLIC_FORMATS.contains(&block.key_format_type) =>
            {
                formats::ec_public_transparent_to_spki(curve_in(k.recommended_curve)?, &k.q_string)?
            }
            crate::message::KeyMaterial::TransparentDSAPrivateKey(k)
                if block.key_format_type == KeyFormatType::TRANSPARENT_DSA_PRIVATE_KEY =>
            {
                formats::dsa_private_transparent_to_pkcs8(&k.p.0, &k.q.0, &k.g.0, &k.x.0)?
            }
            crate::message::KeyMaterial::TransparentDSAPublicKey(k)
                if block.key_format_type == KeyFormatType::TRANSPARENT_DSA_PUBLIC_KEY =>
            {
                formats::dsa_public_transparent_to_spki(&k.p.0, &k.q.0, &k.g.0, &k.y.0)?
            }
            crate::message::KeyMaterial::TransparentRSAPublicKey(k)
                if block.key_format_type == KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY =>
            {
                formats::rsa_public_transparent_to_spki(&k.modulus.0, &k.public_exponent.0)?
            }
            crate::message::KeyMaterial::TransparentRSAPrivateKey(k)
                if block.key_format_type == KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY =>
            {
                let need = |v: &Option<crate::message::SecretBigInteger>, what: &str| {
                    v.as_ref().map(|b| b.0.clone()).ok_or_else(|| {
                        CoreError::KeyFormatTypeNotSupported(format!(
                            "a Transparent RSA Private Key without {what}"
                        ))
                    })
                };
                formats::rsa_private_transparent_to_pkcs8(&formats::RsaComponents {
                    modulus: Zeroizing::new(k.modulus.0.clone()),
                    public_exponent: Zeroizing::new(
                        k.public_exponent
                            .as_ref()
                            .map(|e| e.0.clone())
                            .ok_or_else(|| {
                                CoreError::KeyFormatTypeNotSupported(
                                    "a Transparent RSA Private Key without Public Exponent".into(),
                                )
                            })?,
                    ),
                    private_exponent: need(&k.private_exponent, "Private Exponent")?,
                    p: need(&k.p, "P")?,
                    q: need(&k.q, "Q")?,
                    prime_exponent_p: need(&k.prime_exponent_p, "Prime Exponent P")?,
                    prime_exponent_q: need(&k.prime_exponent_q, "Prime Exponent Q")?,
                    crt_coefficient: need(&k.crt_coefficient, "CRT Coefficient")?,
                })?
            }
            _ => {
                return Err(CoreError::KeyFormatTypeNotSupported(format!(
                    "{:?} in Register",
                    block.key_format_type
                )));
            }
        };
        let format = accepted
            .iter()
            .find(|(k, _)| {
                *k == block.key_format_type || block.key_format_type == KeyFormatType::PKCS_1
            })
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                CoreError::KeyFormatTypeNotSupported(format!(
                    "{:?} in Register",
                    block.key_format_type
                ))
            })?;
        Ok(KeyMaterial::new(format, bytes))
    };
    const RAW: &[(KeyFormatType, KeyFormat)] = &[
        (KeyFormatType::RAW, KeyFormat::Raw),
        (KeyFormatType::OPAQUE, KeyFormat::Raw),
        (KeyFormatType::TRANSPARENT_SYMMETRIC_KEY, KeyFormat::Raw),
    ];
    match object {
        Object::SymmetricKey(k) => from_block(&k.key_block, attributes, RAW),
        Object::SecretData(k) => from_block(&k.key_block, attributes, RAW),
        Object::PrivateKey(k) => from_block(
            &k.key_block,
            attributes,
            &[
                (KeyFormatType::PKCS_8, KeyFormat::Pkcs8),
                (KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY, KeyFormat::Pkcs8),
                (KeyFormatType::TRANSPARENT_DSA_PRIVATE_KEY, KeyFormat::Pkcs8),
                (KeyFormatType::TRANSPARENT_EC_PRIVATE_KEY, KeyFormat::Pkcs8),
                (
                    KeyFormatType::TRANSPARENT_ECDSA_PRIVATE_KEY,
                    KeyFormat::Pkcs8,
                ),
                (
                    KeyFormatType::TRANSPARENT_ECDH_PRIVATE_KEY,
                    KeyFormat::Pkcs8,
                ),
            ],
        ),
        Object::PublicKey(k) => from_block(
            &k.key_block,
            attributes,
            &[
                (KeyFormatType::X_509, KeyFormat::SubjectPublicKeyInfo),
                (
                    KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY,
                    KeyFormat::SubjectPublicKeyInfo,
                ),
                (
                    KeyFormatType::TRANSPARENT_DSA_PUBLIC_KEY,
                    KeyFormat::SubjectPublicKeyInfo,
                ),
                (
                    KeyFormatType::TRANSPARENT_EC_PUBLIC_KEY,
                    KeyFormat::SubjectPublicKeyInfo,
                ),
                (
                    KeyFormatType::TRANSPARENT_ECDSA_PUBLIC_KEY,
                    KeyFormat::SubjectPublicKeyInfo,
                ),
                (
                    KeyFormatType::TRANSPARENT_ECDH_PUBLIC_KEY,
                    KeyFormat::SubjectPublicKeyInfo,
                ),
            ],
        ),
        Object::Certificate(c) => {
            if c.certificate_type != CertificateType::X_509 {
                return Err(CoreError::OperationNotSupported(
                    "certificates other than X.509".into(),
                ));
            }
            Ok(KeyMaterial::new(
                KeyFormat::X509Certificate,
                Zeroizing::new(c.certificate_value.clone()),
            ))
        }
        Object::OpaqueObject(o) => Ok(KeyMaterial::new(
            KeyFormat::Raw,
            Zeroizing::new(o.opaque_data_value.clone()),
        )),
        _ => Err(CoreError::OperationNotSupported(format!(
            "registering {:?}",
            object.object_type()
        ))),
    }
}
