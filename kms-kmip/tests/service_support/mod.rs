//! What the KmipService tests share: an in-memory service, requests sent through the TTLV encoding both ways as a
//! transport would, and the unpacking of the answers.

#![allow(dead_code)]

use std::sync::Arc;

use kms_core::{KeyManager, MemoryStore, Principal, SoftwareBackend};
use kms_kmip::message::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, KeyFormatType, ObjectType, RecommendedCurve,
    ResultReason, ResultStatus,
};
use kms_kmip::message::operations::access::{GetAttributesRequest, GetRequest};
use kms_kmip::message::operations::lifecycle::{
    CreateKeyPairRequest, CreateRequest, IdentifierPayload,
};
use kms_kmip::message::types::CryptographicDomainParameters;
use kms_kmip::message::{
    Attribute, AttributeReference, Attributes, KeyBlock, KeyMaterial, KeyValue, ProtocolVersion,
    RequestBatchItem, RequestHeader, RequestMessage, RequestPayload, ResponseBatchItem,
    ResponseMessage, ResponsePayload, SecretBytes, UniqueIdentifier,
};
use kms_kmip::service::KmipService;
use kms_kmip::tags::Version;

/// A service over an in-memory store and the software backend.
pub fn service() -> KmipService {
    let manager = KeyManager::builder(Arc::new(MemoryStore::new()))
        .backend(Arc::new(SoftwareBackend::new()))
        .build()
        .expect("manager");
    KmipService::new(Arc::new(manager))
}

pub fn alice() -> Principal {
    Principal::new("alice").expect("principal")
}

pub fn bob() -> Principal {
    Principal::new("bob").expect("principal")
}

/// A request of `version` with one batch item a payload; several items are numbered 0, 1, ...
pub fn message(version: Version, payloads: Vec<RequestPayload>) -> RequestMessage {
    let n = payloads.len();
    RequestMessage {
        header: RequestHeader {
            protocol_version: version.into(),
            batch_count: i32::try_from(n).expect("count"),
            ..Default::default()
        },
        batch_items: payloads
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let mut item = RequestBatchItem::new(p).expect("item");
                if n > 1 {
                    item.unique_batch_item_id = Some(vec![u8::try_from(i).expect("small")]);
                }
                item
            })
            .collect(),
    }
}

/// Sends through the TTLV encoding both ways, as a transport would.
pub fn send(s: &KmipService, who: &Principal, m: &RequestMessage) -> ResponseMessage {
    let bytes = m.to_bytes().expect("encode request");
    let response = s.handle_ttlv(who, &bytes);
    ResponseMessage::from_bytes(&response).expect("decode response")
}

/// One batch item: the answer is in the request's version, with one item.
pub fn one(
    s: &KmipService,
    who: &Principal,
    version: Version,
    p: RequestPayload,
) -> ResponseBatchItem {
    let r = send(s, who, &message(version, vec![p]));
    assert_eq!(r.header.protocol_version, ProtocolVersion::from(version));
    assert_eq!(r.batch_items.len(), 1);
    r.batch_items.into_iter().next().expect("item")
}

/// The payload of a successful item.
pub fn ok(item: ResponseBatchItem) -> ResponsePayload {
    assert_eq!(
        item.result_status,
        ResultStatus::SUCCESS,
        "{:?}: {:?}",
        item.result_reason,
        item.result_message
    );
    item.payload.expect("payload")
}

/// The item failed, for `reason`.
pub fn failed(item: &ResponseBatchItem, reason: ResultReason) {
    assert_eq!(item.result_status, ResultStatus::OPERATION_FAILED);
    assert_eq!(
        item.result_reason,
        Some(reason),
        "{:?}",
        item.result_message
    );
}

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A request's Unique Identifier naming `id`.
pub fn uid(id: &str) -> Option<UniqueIdentifier> {
    Some(UniqueIdentifier::Text(id.to_owned()))
}

/// An answer's Unique Identifier, which this server always sends as text.
pub fn text(u: &UniqueIdentifier) -> String {
    u.as_str().expect("text id").to_owned()
}

pub fn id_payload(id: &str) -> IdentifierPayload {
    IdentifierPayload {
        unique_identifier: uid(id),
        ..Default::default()
    }
}

/// Get of `id` in the object's own format, unwrapped.
pub fn get(id: &str) -> RequestPayload {
    RequestPayload::Get(GetRequest {
        unique_identifier: uid(id),
        ..Default::default()
    })
}

/// Get Attributes of `id`: those named, or all of them.
pub fn get_attributes(id: &str, references: Vec<AttributeReference>) -> RequestPayload {
    RequestPayload::GetAttributes(GetAttributesRequest {
        unique_identifier: uid(id),
        attribute_references: references,
        ..Default::default()
    })
}

/// Creates a `length`-bit AES key of `who`'s for `usage`, Pre-Active; its identifier.
pub fn created_aes(
    s: &KmipService,
    who: &Principal,
    version: Version,
    length: i32,
    usage: CryptographicUsageMask,
) -> String {
    let payload = RequestPayload::Create(CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes: Attributes::new(vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
            Attribute::CryptographicLength(length),
            Attribute::CryptographicUsageMask(usage),
        ]),
        ..Default::default()
    });
    match ok(one(s, who, version, payload)) {
        ResponsePayload::Create(c) => text(&c.unique_identifier),
        other => panic!("not a create: {other:?}"),
    }
}

/// Activates alice's `id`.
pub fn activate(s: &KmipService, version: Version, id: &str) {
    ok(one(
        s,
        &alice(),
        version,
        RequestPayload::Activate(id_payload(id)),
    ));
}

/// A Raw key block of `bytes`; with an algorithm, its length is the bytes' in bits.
pub fn raw_block(bytes: &[u8], algorithm: Option<CryptographicAlgorithm>) -> KeyBlock {
    KeyBlock {
        key_format_type: KeyFormatType::RAW,
        key_value: Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(SecretBytes::new(bytes.to_vec())),
            attributes: None,
            extensions: Vec::new(),
        }),
        cryptographic_algorithm: algorithm,
        cryptographic_length: algorithm.map(|_| i32::try_from(bytes.len() * 8).expect("len")),
        ..Default::default()
    }
}

/// The bytes of a key block that holds a byte string in the clear.
pub fn bytes_of(block: &KeyBlock) -> Vec<u8> {
    match &block.key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b),
            ..
        }) => b.expose().to_vec(),
        other => panic!("a byte string, got {other:?}"),
    }
}

/// The common attributes of a P-256 key pair.
pub fn p256() -> Vec<Attribute> {
    vec![
        Attribute::CryptographicAlgorithm(CryptographicAlgorithm::EC),
        Attribute::CryptographicDomainParameters(CryptographicDomainParameters {
            recommended_curve: Some(RecommendedCurve::P_256),
            ..Default::default()
        }),
    ]
}

/// Alice's new key pair in KMIP 2.1, each key with its usage mask: the private and the public key's identifiers.
pub fn key_pair(
    s: &KmipService,
    common: Vec<Attribute>,
    private_usage: CryptographicUsageMask,
    public_usage: CryptographicUsageMask,
) -> (String, String) {
    let ResponsePayload::CreateKeyPair(pair) = ok(one(
        s,
        &alice(),
        Version::V2_1,
        RequestPayload::CreateKeyPair(CreateKeyPairRequest {
            common_attributes: Some(Attributes::new(common)),
            private_key_attributes: Some(Attributes::new(vec![Attribute::CryptographicUsageMask(
                private_usage,
            )])),
            public_key_attributes: Some(Attributes::new(vec![Attribute::CryptographicUsageMask(
                public_usage,
            )])),
            ..Default::default()
        }),
    )) else {
        panic!("pair")
    };
    (
        text(&pair.private_key_unique_identifier),
        text(&pair.public_key_unique_identifier),
    )
}
