//! KmipService: operations, batch semantics, version answers, identities and bad input, in process.

#![cfg(feature = "service")]

mod service_support;

use kms_core::Principal;
use kms_kmip::message::enums::{
    BatchErrorContinuationOption, CryptographicAlgorithm, CryptographicUsageMask,
    DigitalSignatureAlgorithm, HashingAlgorithm, KeyFormatType, ObjectType, Operation,
    QueryFunction, ResultReason, ResultStatus, RevocationReasonCode, UniqueIdentifierEnumeration,
    ValidityIndicator,
};
use kms_kmip::message::objects::SymmetricKey;
use kms_kmip::message::operations::access::{GetRequest, LocateRequest};
use kms_kmip::message::operations::crypto::{
    DecryptRequest, EncryptRequest, HashRequest, MACRequest, MACVerifyRequest, RNGRetrieveRequest,
    SignRequest, SignatureVerifyRequest,
};
use kms_kmip::message::operations::lifecycle::{
    CreateRequest, IdentifierPayload, RegisterRequest, RevokeRequest,
};
use kms_kmip::message::operations::server::{DiscoverVersionsPayload, QueryRequest};
use kms_kmip::message::types::{CryptographicParameters, Name, RevocationReason};
use kms_kmip::message::{
    Attribute, AttributeReference, Attributes, KeyMaterial, KeyValue, Object, ProtocolVersion,
    RequestMessage, RequestPayload, ResponseMessage, ResponsePayload, SecretBytes,
    UniqueIdentifier,
};
use kms_kmip::service::KmipService;
use kms_kmip::tags::Version;
use kms_kmip::ttlv::Tag;
use service_support::{
    activate, alice, bob, created_aes, get, get_attributes, id_payload, key_pair, message, ok, one,
    p256, raw_block, send, service, text, uid,
};

fn aes_template(name: Option<&str>) -> Attributes {
    let mut a = vec![
        Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
        Attribute::CryptographicLength(256),
        Attribute::CryptographicUsageMask(
            CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
        ),
    ];
    if let Some(n) = name {
        a.push(Attribute::Name(Name {
            name_value: n.to_owned(),
            name_type: kms_kmip::message::enums::NameType::UNINTERPRETED_TEXT_STRING,
            ..Default::default()
        }));
    }
    Attributes::new(a)
}

fn create_aes(name: Option<&str>) -> RequestPayload {
    RequestPayload::Create(CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes: aes_template(name),
        ..Default::default()
    })
}

fn created_id(p: ResponsePayload) -> String {
    match p {
        ResponsePayload::Create(c) => text(&c.unique_identifier),
        ResponsePayload::Register(c) => text(&c.unique_identifier),
        other => panic!("not a create: {other:?}"),
    }
}

const VERSIONS: [Version; 7] = [
    Version::V1_0,
    Version::V1_1,
    Version::V1_2,
    Version::V1_3,
    Version::V1_4,
    Version::V2_0,
    Version::V2_1,
];

#[test]
fn symmetric_lifecycle_in_every_version() {
    let s = service();
    let who = alice();
    for v in VERSIONS {
        let id = created_id(ok(one(&s, &who, v, create_aes(None))));
        let got = ok(one(&s, &who, v, get(&id)));
        let ResponsePayload::Get(got) = got else {
            panic!("get")
        };
        let Some(object) = got.object.as_deref() else {
            panic!("object")
        };
        let Object::SymmetricKey(key) = object else {
            panic!("symmetric key")
        };
        assert_eq!(key.key_block.key_format_type, KeyFormatType::RAW);
        let Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b),
            ..
        }) = &key.key_block.key_value
        else {
            panic!("raw bytes")
        };
        assert_eq!(b.expose().len(), 32);

        activate(&s, v, &id);
        let attrs = ok(one(
            &s,
            &who,
            v,
            get_attributes(&id, vec![AttributeReference::Standard(Tag::STATE)]),
        ));
        let ResponsePayload::GetAttributes(attrs) = attrs else {
            panic!("attrs")
        };
        assert_eq!(
            attrs.attributes.expect("attributes").attributes,
            vec![Attribute::State(kms_kmip::message::enums::State::ACTIVE)]
        );
        ok(one(
            &s,
            &who,
            v,
            RequestPayload::Revoke(RevokeRequest {
                unique_identifier: uid(&id),
                revocation_reason: RevocationReason {
                    revocation_reason_code: RevocationReasonCode::CESSATION_OF_OPERATION,
                    ..Default::default()
                },
                ..Default::default()
            }),
        ));
        ok(one(&s, &who, v, RequestPayload::Destroy(id_payload(&id))));
        let gone = one(&s, &who, v, get(&id));
        assert_eq!(gone.result_status, ResultStatus::OPERATION_FAILED);
        assert!(gone.result_reason.is_some());
    }
}

#[test]
fn get_attributes_never_sends_attributes_the_version_lacks() {
    let s = service();
    let who = alice();
    let id = created_id(ok(one(&s, &who, Version::V1_0, create_aes(Some("k10")))));
    for v in VERSIONS {
        let attrs = ok(one(&s, &who, v, get_attributes(&id, vec![])));
        let ResponsePayload::GetAttributes(attrs) = attrs else {
            panic!("attrs")
        };
        let attrs = attrs.attributes.expect("attributes").attributes;
        assert!(
            attrs
                .iter()
                .any(|a| matches!(a, Attribute::Name(n) if n.name_value == "k10"))
        );
        // Sensitive and friends came with KMIP 1.4: older answers lack them, newer ones have them.
        assert_eq!(
            attrs.iter().any(|a| matches!(a, Attribute::Sensitive(_))),
            v >= Version::V1_4,
            "{v}"
        );
    }
}

#[test]
fn id_placeholder_carries_through_a_batch() {
    let s = service();
    let who = alice();
    let data = b"attack at dawn".to_vec();
    let m = message(
        Version::V2_1,
        vec![
            create_aes(None),
            RequestPayload::Activate(IdentifierPayload::default()),
            RequestPayload::Encrypt(EncryptRequest {
                unique_identifier: Some(UniqueIdentifier::Enumeration(
                    UniqueIdentifierEnumeration::ID_PLACEHOLDER,
                )),
                data: Some(SecretBytes::new(data.clone())),
                authenticated_encryption_additional_data: Some(b"aad".to_vec()),
                ..Default::default()
            }),
        ],
    );
    let r = send(&s, &who, &m);
    assert_eq!(r.header.batch_count, 3);
    let mut items = r.batch_items.into_iter();
    let id = created_id(ok(items.next().expect("create")));
    ok(items.next().expect("activate"));
    let third = items.next().expect("encrypt");
    assert_eq!(third.unique_batch_item_id, Some(vec![2]));
    let ResponsePayload::Encrypt(enc) = ok(third) else {
        panic!("encrypt")
    };
    assert_eq!(enc.unique_identifier.as_str(), Some(id.as_str()));
    let dec = ok(one(
        &s,
        &who,
        Version::V2_1,
        RequestPayload::Decrypt(DecryptRequest {
            unique_identifier: uid(&id),
            data: enc.data,
            iv_counter_nonce: enc.iv_counter_nonce,
            authenticated_encryption_tag: enc.authenticated_encryption_tag.clone(),
            authenticated_encryption_additional_data: Some(b"aad".to_vec()),
            ..Default::default()
        }),
    ));
    let ResponsePayload::Decrypt(dec) = dec else {
        panic!("decrypt")
    };
    assert_eq!(dec.data.expect("data").expose(), &data[..]);
}

fn failing_batch(option: Option<BatchErrorContinuationOption>) -> RequestMessage {
    let mut m = message(
        Version::V1_4,
        vec![
            create_aes(None),
            // No such object: fails.
            RequestPayload::Activate(id_payload("no-such-object")),
            create_aes(None),
        ],
    );
    m.header.batch_error_continuation_option = option;
    m
}

#[test]
fn batch_error_continuation_stop_continue_undo() {
    let s = service();
    let who = alice();

    // Stop (the default): the items after the failure are not run.
    let r = send(&s, &who, &failing_batch(None));
    assert_eq!(r.batch_items.len(), 2);
    assert_eq!(r.batch_items[0].result_status, ResultStatus::SUCCESS);
    assert_eq!(
        r.batch_items[1].result_status,
        ResultStatus::OPERATION_FAILED
    );
    assert_eq!(
        r.batch_items[1].result_reason,
        Some(ResultReason::ITEM_NOT_FOUND)
    );
    assert_eq!(r.batch_items[1].unique_batch_item_id, Some(vec![1]));

    // Continue: everything runs.
    let r = send(
        &s,
        &who,
        &failing_batch(Some(BatchErrorContinuationOption::CONTINUE)),
    );
    let statuses: Vec<_> = r.batch_items.iter().map(|i| i.result_status).collect();
    assert_eq!(
        statuses,
        [
            ResultStatus::SUCCESS,
            ResultStatus::OPERATION_FAILED,
            ResultStatus::SUCCESS
        ]
    );

    // Undo: the first item's key is destroyed again and the item reported Undone.
    let before = locate_all(&s, &who);
    let r = send(
        &s,
        &who,
        &failing_batch(Some(BatchErrorContinuationOption::UNDO)),
    );
    let statuses: Vec<_> = r.batch_items.iter().map(|i| i.result_status).collect();
    assert_eq!(
        statuses,
        [
            ResultStatus::OPERATION_UNDONE,
            ResultStatus::OPERATION_FAILED
        ]
    );
    let after = locate_all(&s, &who);
    let new: Vec<_> = after.iter().filter(|id| !before.contains(id)).collect();
    assert_eq!(new.len(), 1, "the batch's one Create");
    let get = one(
        &s,
        &who,
        Version::V1_4,
        RequestPayload::Get(GetRequest {
            unique_identifier: Some(new[0].clone()),
            ..Default::default()
        }),
    );
    // Object Destroyed is a KMIP 2.0 reason: a 1.x client reads Key Value Not Present.
    assert_eq!(get.result_reason, Some(ResultReason::KEY_VALUE_NOT_PRESENT));
    let get = one(
        &s,
        &who,
        Version::V2_1,
        RequestPayload::Get(GetRequest {
            unique_identifier: Some(new[0].clone()),
            ..Default::default()
        }),
    );
    assert_eq!(get.result_reason, Some(ResultReason::OBJECT_DESTROYED));
}

/// Undo reverses an Activate of an object the batch did not create: it is Pre-Active again, without an
/// Activation Date, and can be activated later.
#[test]
fn batch_undo_puts_an_activated_key_back_to_pre_active() {
    let s = service();
    let who = alice();
    let id = created_id(ok(one(&s, &who, Version::V2_1, create_aes(None))));
    let mut m = message(
        Version::V2_1,
        vec![
            RequestPayload::Activate(id_payload(&id)),
            RequestPayload::Activate(id_payload("no-such-object")),
        ],
    );
    m.header.batch_error_continuation_option = Some(BatchErrorContinuationOption::UNDO);
    let r = send(&s, &who, &m);
    let statuses: Vec<_> = r.batch_items.iter().map(|i| i.result_status).collect();
    assert_eq!(
        statuses,
        [
            ResultStatus::OPERATION_UNDONE,
            ResultStatus::OPERATION_FAILED
        ]
    );
    let ResponsePayload::GetAttributes(got) = ok(one(
        &s,
        &who,
        Version::V2_1,
        get_attributes(
            &id,
            vec![
                AttributeReference::Standard(Tag::STATE),
                AttributeReference::Standard(Tag::ACTIVATION_DATE),
            ],
        ),
    )) else {
        panic!("get attributes")
    };
    assert_eq!(
        got.attributes.expect("attributes").attributes,
        [Attribute::State(
            kms_kmip::message::enums::State::PRE_ACTIVE
        )]
    );
    activate(&s, Version::V2_1, &id);
}

fn locate_all(s: &KmipService, who: &Principal) -> Vec<UniqueIdentifier> {
    let ResponsePayload::Locate(l) = ok(one(
        s,
        who,
        Version::V2_1,
        RequestPayload::Locate(LocateRequest::default()),
    )) else {
        panic!("locate")
    };
    l.unique_identifiers
}

#[test]
fn two_identities_never_see_each_other() {
    let s = service();
    let alice = alice();
    let bob = bob();
    let id = created_id(ok(one(
        &s,
        &alice,
        Version::V2_1,
        create_aes(Some("shared-name")),
    )));
    let get = one(&s, &bob, Version::V2_1, get(&id));
    // KMIP 2.x answers Object Not Found, 1.x Item Not Found (Object Not Found is a 2.0 reason).
    assert_eq!(get.result_reason, Some(ResultReason::OBJECT_NOT_FOUND));
    assert!(locate_all(&s, &bob).is_empty());
    assert_eq!(locate_all(&s, &alice).len(), 1);
    let destroy = one(
        &s,
        &bob,
        Version::V1_2,
        RequestPayload::Destroy(id_payload(&id)),
    );
    assert_eq!(destroy.result_reason, Some(ResultReason::ITEM_NOT_FOUND));
}

#[test]
fn locate_filters_offset_and_located_items() {
    let s = service();
    let who = alice();
    for i in 0..5 {
        ok(one(
            &s,
            &who,
            Version::V2_1,
            create_aes(Some(&format!("key-{i}"))),
        ));
    }
    let ResponsePayload::Locate(l) = ok(one(
        &s,
        &who,
        Version::V2_1,
        RequestPayload::Locate(LocateRequest {
            offset_items: Some(1),
            maximum_items: Some(2),
            attributes: Some(Attributes::new(vec![Attribute::ObjectType(
                ObjectType::SYMMETRIC_KEY,
            )])),
            ..Default::default()
        }),
    )) else {
        panic!("locate")
    };
    assert_eq!(l.unique_identifiers.len(), 2);
    assert_eq!(l.located_items, Some(5));
    let ResponsePayload::Locate(l) = ok(one(
        &s,
        &who,
        Version::V1_4,
        RequestPayload::Locate(LocateRequest {
            attributes: Some(aes_template(Some("key-3"))).map(|mut a| {
                a.attributes.retain(|x| matches!(x, Attribute::Name(_)));
                a
            }),
            ..Default::default()
        }),
    )) else {
        panic!("locate")
    };
    assert_eq!(l.unique_identifiers.len(), 1);
}

#[test]
fn register_then_get_a_symmetric_key_and_secret_data() {
    let s = service();
    let who = alice();
    let key = vec![7u8; 16];
    let id = created_id(ok(one(
        &s,
        &who,
        Version::V1_2,
        RequestPayload::Register(RegisterRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: Attributes::new(vec![Attribute::CryptographicUsageMask(
                CryptographicUsageMask::ENCRYPT,
            )]),
            object: Some(Box::new(Object::SymmetricKey(SymmetricKey {
                key_block: raw_block(&key, Some(CryptographicAlgorithm::AES)),
                ..Default::default()
            }))),
            ..Default::default()
        }),
    )));
    let ResponsePayload::Get(got) = ok(one(
        &s,
        &who,
        Version::V1_2,
        RequestPayload::Get(GetRequest {
            unique_identifier: uid(&id),
            key_format_type: Some(KeyFormatType::TRANSPARENT_SYMMETRIC_KEY),
            ..Default::default()
        }),
    )) else {
        panic!("get")
    };
    let Some(Object::SymmetricKey(k)) = got.object.as_deref() else {
        panic!("key")
    };
    let Some(KeyValue::Plain {
        key_material: KeyMaterial::TransparentSymmetricKey(t),
        ..
    }) = &k.key_block.key_value
    else {
        panic!("transparent")
    };
    assert_eq!(t.key.expose(), &key[..]);
}

#[test]
fn asymmetric_sign_verify_and_mac_hash_rng() {
    let s = service();
    let who = alice();
    let (private, public) = key_pair(
        &s,
        p256(),
        CryptographicUsageMask::SIGN,
        CryptographicUsageMask::VERIFY,
    );
    activate(&s, Version::V2_1, &private);
    activate(&s, Version::V2_1, &public);
    let params = Some(CryptographicParameters {
        digital_signature_algorithm: Some(DigitalSignatureAlgorithm::ECDSA_WITH_SHA256),
        ..Default::default()
    });
    let ResponsePayload::Sign(sig) = ok(one(
        &s,
        &who,
        Version::V2_1,
        RequestPayload::Sign(SignRequest {
            unique_identifier: uid(&private),
            cryptographic_parameters: params.clone(),
            data: Some(b"message".to_vec()),
            ..Default::default()
        }),
    )) else {
        panic!("sign")
    };
    for (data, expected) in [
        (&b"message"[..], ValidityIndicator::VALID),
        (b"other", ValidityIndicator::INVALID),
    ] {
        let ResponsePayload::SignatureVerify(v) = ok(one(
            &s,
            &who,
            Version::V2_1,
            RequestPayload::SignatureVerify(SignatureVerifyRequest {
                unique_identifier: uid(&public),
                cryptographic_parameters: params.clone(),
                data: Some(data.to_vec()),
                signature_data: sig.signature_data.clone(),
                ..Default::default()
            }),
        )) else {
            panic!("verify")
        };
        assert_eq!(v.validity_indicator, expected);
    }

    // HMAC
    let hmac = created_id(ok(one(
        &s,
        &who,
        Version::V1_4,
        RequestPayload::Create(CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: Attributes::new(vec![
                Attribute::CryptographicAlgorithm(CryptographicAlgorithm::HMAC_SHA256),
                Attribute::CryptographicLength(256),
            ]),
            ..Default::default()
        }),
    )));
    activate(&s, Version::V1_4, &hmac);
    let ResponsePayload::MAC(mac) = ok(one(
        &s,
        &who,
        Version::V1_4,
        RequestPayload::MAC(MACRequest {
            unique_identifier: uid(&hmac),
            data: Some(b"data".to_vec()),
            ..Default::default()
        }),
    )) else {
        panic!("mac")
    };
    let ResponsePayload::MACVerify(v) = ok(one(
        &s,
        &who,
        Version::V1_4,
        RequestPayload::MACVerify(MACVerifyRequest {
            unique_identifier: uid(&hmac),
            data: Some(b"data".to_vec()),
            mac_data: mac.mac_data,
            ..Default::default()
        }),
    )) else {
        panic!("mac verify")
    };
    assert_eq!(v.validity_indicator, ValidityIndicator::VALID);

    let ResponsePayload::Hash(h) = ok(one(
        &s,
        &who,
        Version::V1_4,
        RequestPayload::Hash(HashRequest {
            cryptographic_parameters: CryptographicParameters {
                hashing_algorithm: Some(HashingAlgorithm::SHA_256),
                ..Default::default()
            },
            data: Some(b"abc".to_vec()),
            ..Default::default()
        }),
    )) else {
        panic!("hash")
    };
    assert_eq!(
        h.data.expect("digest")[..4],
        [0xba, 0x78, 0x16, 0xbf],
        "SHA-256(\"abc\")"
    );
    let ResponsePayload::RNGRetrieve(r) = ok(one(
        &s,
        &who,
        Version::V1_4,
        RequestPayload::RNGRetrieve(RNGRetrieveRequest {
            data_length: 32,
            ..Default::default()
        }),
    )) else {
        panic!("rng")
    };
    assert_eq!(r.data.expose().len(), 32);
}

#[test]
fn query_and_discover_versions() {
    let s = service();
    let who = alice();
    let ResponsePayload::Query(q) = ok(one(
        &s,
        &who,
        Version::V1_2,
        RequestPayload::Query(QueryRequest {
            query_functions: vec![
                QueryFunction::QUERY_OPERATIONS,
                QueryFunction::QUERY_OBJECTS,
                QueryFunction::QUERY_SERVER_INFORMATION,
            ],
            ..Default::default()
        }),
    )) else {
        panic!("query")
    };
    assert!(q.operations.contains(&Operation::CREATE));
    assert!(q.operations.contains(&Operation::DISCOVER_VERSIONS));
    assert!(
        !q.operations.contains(&Operation::SET_ATTRIBUTE),
        "2.x only"
    );
    assert!(q.object_types.contains(&ObjectType::SYMMETRIC_KEY));
    assert!(q.server_information.is_some());

    let ResponsePayload::DiscoverVersions(d) = ok(one(
        &s,
        &who,
        Version::V1_1,
        RequestPayload::DiscoverVersions(DiscoverVersionsPayload::default()),
    )) else {
        panic!("discover")
    };
    assert_eq!(
        d.protocol_versions.first(),
        Some(&ProtocolVersion::new(2, 1))
    );
    assert_eq!(d.protocol_versions.len(), 7);
    let ResponsePayload::DiscoverVersions(d) = ok(one(
        &s,
        &who,
        Version::V1_1,
        RequestPayload::DiscoverVersions(DiscoverVersionsPayload {
            protocol_versions: vec![ProtocolVersion::new(1, 1), ProtocolVersion::new(3, 0)],
            ..Default::default()
        }),
    )) else {
        panic!("discover")
    };
    assert_eq!(d.protocol_versions, vec![ProtocolVersion::new(1, 1)]);
}

#[test]
fn unsupported_operation_is_answered_operation_not_supported() {
    let s = service();
    let who = alice();
    let r = one(
        &s,
        &who,
        Version::V1_4,
        RequestPayload::Check(kms_kmip::message::operations::access::CheckPayload {
            unique_identifier: uid("x"),
            ..Default::default()
        }),
    );
    // Check is not yet served: the reason says so rather than a generic failure.
    assert!(matches!(
        r.result_reason,
        Some(ResultReason::OPERATION_NOT_SUPPORTED | ResultReason::ITEM_NOT_FOUND)
    ));
}

#[test]
fn bad_input_gets_invalid_message_or_invalid_field() {
    let s = service();
    let who = alice();
    for garbage in [
        &b""[..],
        b"\x42\x00",
        b"not ttlv at all, not at all",
        &[0x42, 0x00, 0x78, 0x01, 0, 0, 0, 8],
    ] {
        let r = ResponseMessage::from_bytes(&s.handle_ttlv(&who, garbage)).expect("response");
        assert_eq!(r.batch_items.len(), 1);
        assert_eq!(
            r.batch_items[0].result_reason,
            Some(ResultReason::INVALID_MESSAGE)
        );
    }
    // A well-formed message whose Cryptographic Length is a Text String: Invalid Field, echoing the operation.
    let good = message(Version::V1_4, vec![create_aes(None)])
        .to_bytes()
        .expect("bytes");
    let mut node = kms_kmip::ttlv::Node::decode(&good)
        .expect("tree")
        .into_owned();
    fn retype(n: &mut kms_kmip::ttlv::Node<'static>) -> bool {
        use kms_kmip::ttlv::NodeValue;
        if let NodeValue::Structure(children) = &mut n.value {
            for c in children.iter_mut() {
                if c.tag == Tag::ATTRIBUTE_VALUE && matches!(c.value, NodeValue::Integer(256)) {
                    c.value = NodeValue::TextString("256".into());
                    return true;
                }
                if retype(c) {
                    return true;
                }
            }
        }
        false
    }
    assert!(retype(&mut node));
    let bad = node.to_bytes().expect("bytes");
    let r = ResponseMessage::from_bytes(&s.handle_ttlv(&who, &bad)).expect("response");
    assert_eq!(r.header.protocol_version, ProtocolVersion::new(1, 4));
    assert_eq!(r.batch_items[0].operation, Some(Operation::CREATE));
    assert_eq!(
        r.batch_items[0].result_reason,
        Some(ResultReason::INVALID_FIELD)
    );
}

#[test]
fn rekey_derive_and_wrapped_get() {
    use kms_kmip::message::enums::{BlockCipherMode, DerivationMethod, WrappingMethod};
    use kms_kmip::message::operations::lifecycle::{
        DerivationParameters, DeriveKeyRequest, ReKeyRequest,
    };
    use kms_kmip::message::types::{EncryptionKeyInformation, KeyWrappingSpecification};

    let s = service();
    let who = alice();
    let v = Version::V2_1;
    let old = created_id(ok(one(&s, &who, v, create_aes(None))));
    activate(&s, v, &old);
    let ResponsePayload::ReKey(new) = ok(one(
        &s,
        &who,
        v,
        RequestPayload::ReKey(ReKeyRequest {
            unique_identifier: uid(&old),
            ..Default::default()
        }),
    )) else {
        panic!("rekey")
    };
    assert_ne!(new.unique_identifier.as_str(), Some(old.as_str()));

    // HKDF from a key that allows Derive Key.
    let base = created_id(ok(one(
        &s,
        &who,
        v,
        RequestPayload::Create(CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: Attributes::new(vec![
                Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
                Attribute::CryptographicLength(256),
                Attribute::CryptographicUsageMask(CryptographicUsageMask::DERIVE_KEY),
            ]),
            ..Default::default()
        }),
    )));
    activate(&s, v, &base);
    let derived = ok(one(
        &s,
        &who,
        v,
        RequestPayload::DeriveKey(DeriveKeyRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            unique_identifiers: vec![UniqueIdentifier::Text(base.clone())],
            derivation_method: DerivationMethod::HKDF,
            derivation_parameters: DerivationParameters {
                cryptographic_parameters: Some(CryptographicParameters {
                    hashing_algorithm: Some(HashingAlgorithm::SHA_256),
                    ..Default::default()
                }),
                salt: Some(b"salt".to_vec()),
                derivation_data: Some(b"info".to_vec()),
                ..Default::default()
            },
            attributes: aes_template(None),
            ..Default::default()
        }),
    ));
    let ResponsePayload::DeriveKey(derived) = derived else {
        panic!("derive")
    };
    assert!(derived.unique_identifier.as_str().is_some());

    // Get wrapped under an AES key (AES Key Wrap, RFC 3394).
    let kek = created_aes(
        &s,
        &who,
        v,
        256,
        CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY,
    );
    activate(&s, v, &kek);
    let ResponsePayload::Get(got) = ok(one(
        &s,
        &who,
        v,
        RequestPayload::Get(GetRequest {
            unique_identifier: uid(&old),
            key_wrapping_specification: Some(Box::new(KeyWrappingSpecification {
                wrapping_method: WrappingMethod::ENCRYPT,
                encryption_key_information: Some(EncryptionKeyInformation {
                    unique_identifier: UniqueIdentifier::Text(kek.clone()),
                    cryptographic_parameters: Some(Box::new(CryptographicParameters {
                        block_cipher_mode: Some(BlockCipherMode::NISTKEYWRAP),
                        ..Default::default()
                    })),
                    ..Default::default()
                }),
                ..Default::default()
            })),
            ..Default::default()
        }),
    )) else {
        panic!("get")
    };
    let Some(Object::SymmetricKey(k)) = got.object.as_deref() else {
        panic!("key")
    };
    let Some(KeyValue::Wrapped(w)) = &k.key_block.key_value else {
        panic!("wrapped")
    };
    assert_eq!(
        w.expose().len(),
        40,
        "RFC 3394 adds 8 bytes to a 32-byte key"
    );
    assert!(k.key_block.key_wrapping_data.is_some());
}
