//! Create Split Key, Join Split Key and the Split Key object through KmipService, as TTLV messages.

#![cfg(feature = "service")]

mod service_support;

use kms_kmip::message::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, KeyFormatType, ObjectType, Operation,
    QueryFunction, ResultReason, SplitKeyMethod,
};
use kms_kmip::message::operations::access::{GetRequest, LocateRequest};
use kms_kmip::message::operations::crypto::{DecryptRequest, EncryptRequest};
use kms_kmip::message::operations::lifecycle::{
    CreateRequest, CreateSplitKeyRequest, JoinSplitKeyRequest,
};
use kms_kmip::message::operations::server::QueryRequest;
use kms_kmip::message::{
    Attribute, Attributes, KeyMaterial, KeyValue, Object, RequestPayload, ResponsePayload,
    SecretBytes, UniqueIdentifier,
};
use kms_kmip::service::KmipService;
use kms_kmip::tags::Version;
use service_support::{
    activate, alice, bob, failed, get, get_attributes, ok, one, service, text, uid,
};

fn aes256() -> Attributes {
    Attributes::new(vec![
        Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
        Attribute::CryptographicLength(256),
        Attribute::CryptographicUsageMask(
            CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
        ),
    ])
}

fn create_split(base: Option<&str>, n: i32, m: i32, method: SplitKeyMethod) -> RequestPayload {
    RequestPayload::CreateSplitKey(CreateSplitKeyRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        unique_identifier: base.map(UniqueIdentifier::from),
        split_key_parts: n,
        split_key_threshold: m,
        split_key_method: method,
        attributes: if base.is_some() {
            Attributes::default()
        } else {
            aes256()
        },
        ..Default::default()
    })
}

fn parts_of(p: ResponsePayload) -> Vec<String> {
    let ResponsePayload::CreateSplitKey(r) = p else {
        panic!("not a Create Split Key answer: {p:?}")
    };
    r.unique_identifiers.iter().map(text).collect()
}

fn join(parts: &[&String]) -> RequestPayload {
    RequestPayload::JoinSplitKey(JoinSplitKeyRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        unique_identifiers: parts
            .iter()
            .map(|p| UniqueIdentifier::from(p.as_str()))
            .collect(),
        ..Default::default()
    })
}

fn joined_id(p: ResponsePayload) -> String {
    let ResponsePayload::JoinSplitKey(r) = p else {
        panic!("not a Join Split Key answer: {p:?}")
    };
    text(&r.unique_identifier)
}

/// Encrypts under `id` (AES-GCM, the service's default), returning ciphertext, IV and tag.
fn encrypt(
    s: &KmipService,
    version: Version,
    id: &str,
    data: &[u8],
) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let ResponsePayload::Encrypt(e) = ok(one(
        s,
        &alice(),
        version,
        RequestPayload::Encrypt(EncryptRequest {
            unique_identifier: uid(id),
            data: Some(SecretBytes::new(data.to_vec())),
            ..Default::default()
        }),
    )) else {
        panic!("encrypt")
    };
    (
        e.data.expect("data"),
        e.iv_counter_nonce.expect("iv"),
        e.authenticated_encryption_tag.expect("tag"),
    )
}

fn decrypt(
    s: &KmipService,
    version: Version,
    id: &str,
    sealed: &(Vec<u8>, Vec<u8>, Vec<u8>),
) -> Vec<u8> {
    let ResponsePayload::Decrypt(d) = ok(one(
        s,
        &alice(),
        version,
        RequestPayload::Decrypt(DecryptRequest {
            unique_identifier: uid(id),
            data: Some(sealed.0.clone()),
            iv_counter_nonce: Some(sealed.1.clone()),
            authenticated_encryption_tag: Some(sealed.2.clone()),
            ..Default::default()
        }),
    )) else {
        panic!("decrypt")
    };
    d.data.expect("data").expose().to_vec()
}

#[test]
fn an_existing_key_split_3_of_5_joins_from_any_3_parts_and_decrypts_what_it_encrypted() {
    let s = service();
    let v = Version::V2_1;
    let ResponsePayload::Create(c) = ok(one(
        &s,
        &alice(),
        v,
        RequestPayload::Create(CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: aes256(),
            ..Default::default()
        }),
    )) else {
        panic!("create")
    };
    let original = text(&c.unique_identifier);
    activate(&s, v, &original);
    let sealed = encrypt(&s, v, &original, b"data under the key before it was split");

    let parts = parts_of(ok(one(
        &s,
        &alice(),
        v,
        create_split(
            Some(&original),
            5,
            3,
            SplitKeyMethod::POLYNOMIAL_SHARING_GF_2_8,
        ),
    )));
    assert_eq!(parts.len(), 5);

    // Each part is a Split Key object with its fields and its share.
    for (i, part) in parts.iter().enumerate() {
        let ResponsePayload::Get(got) = ok(one(&s, &alice(), v, get(part))) else {
            panic!("get")
        };
        assert_eq!(got.object_type, ObjectType::SPLIT_KEY);
        let Some(Object::SplitKey(k)) = got.object.as_deref() else {
            panic!("not a Split Key: {:?}", got.object)
        };
        assert_eq!(k.split_key_parts, 5);
        assert_eq!(k.split_key_threshold, 3);
        assert_eq!(k.key_part_identifier, i32::try_from(i + 1).expect("small"));
        assert_eq!(
            k.split_key_method,
            SplitKeyMethod::POLYNOMIAL_SHARING_GF_2_8
        );
        assert_eq!(k.key_block.key_format_type, KeyFormatType::RAW);
        assert_eq!(
            k.key_block.cryptographic_algorithm,
            Some(CryptographicAlgorithm::AES)
        );
        let Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(share),
            ..
        }) = &k.key_block.key_value
        else {
            panic!("raw share")
        };
        assert_eq!(share.expose().len(), 32);
        // Get Attributes answers for a part as for any object.
        let ResponsePayload::GetAttributes(a) =
            ok(one(&s, &alice(), v, get_attributes(part, vec![])))
        else {
            panic!("get attributes")
        };
        let links = a.attributes.expect("attributes").attributes;
        assert!(
            links
                .iter()
                .any(|l| matches!(l, Attribute::Link(l) if l.linked_object_identifier.as_str() == Some(original.as_str()))),
            "a part links to the key it was split from: {links:?}"
        );
    }

    for chosen in [[0, 1, 2], [4, 2, 0], [1, 3, 4]] {
        let picked: Vec<&String> = chosen.iter().map(|&i| &parts[i]).collect();
        let joined = joined_id(ok(one(&s, &alice(), v, join(&picked))));
        activate(&s, v, &joined);
        assert_eq!(
            decrypt(&s, v, &joined, &sealed),
            b"data under the key before it was split"
        );
    }

    // Locate finds the parts by their type.
    let ResponsePayload::Locate(l) = ok(one(
        &s,
        &alice(),
        v,
        RequestPayload::Locate(LocateRequest {
            attributes: Some(Attributes::new(vec![Attribute::ObjectType(
                ObjectType::SPLIT_KEY,
            )])),
            ..Default::default()
        }),
    )) else {
        panic!("locate")
    };
    assert_eq!(l.unique_identifiers.len(), 5);
}

#[test]
fn a_generated_split_key_in_2_0_and_1_4_joins_to_one_key() {
    for v in [Version::V2_0, Version::V1_4, Version::V1_2] {
        let s = service();
        let parts = parts_of(ok(one(
            &s,
            &alice(),
            v,
            create_split(None, 3, 2, SplitKeyMethod::POLYNOMIAL_SHARING_GF_2_8),
        )));
        assert_eq!(parts.len(), 3);
        let ResponsePayload::Get(got) = ok(one(&s, &alice(), v, get(&parts[2]))) else {
            panic!("get")
        };
        let Some(Object::SplitKey(k)) = got.object.as_deref() else {
            panic!("not a Split Key in {v}: {:?}", got.object)
        };
        assert_eq!(
            (
                k.split_key_parts,
                k.key_part_identifier,
                k.split_key_threshold
            ),
            (3, 3, 2)
        );
        ok(one(&s, &alice(), v, get_attributes(&parts[2], vec![])));
        let a = joined_id(ok(one(&s, &alice(), v, join(&[&parts[0], &parts[1]]))));
        let b = joined_id(ok(one(&s, &alice(), v, join(&[&parts[2], &parts[0]]))));
        activate(&s, v, &a);
        activate(&s, v, &b);
        let sealed = encrypt(&s, v, &a, b"generated");
        assert_eq!(decrypt(&s, v, &b, &sealed), b"generated", "{v}");
    }
}

#[test]
fn kmip_1_0_and_1_1_requests_are_answered_operation_not_supported() {
    for v in [Version::V1_0, Version::V1_1] {
        let s = service();
        let r = one(
            &s,
            &alice(),
            v,
            create_split(None, 3, 2, SplitKeyMethod::POLYNOMIAL_SHARING_GF_2_8),
        );
        failed(&r, ResultReason::OPERATION_NOT_SUPPORTED);
        let r = one(&s, &alice(), v, join(&[&"a".to_owned(), &"b".to_owned()]));
        failed(&r, ResultReason::OPERATION_NOT_SUPPORTED);
    }
}

#[test]
fn refusals_carry_their_result_reasons() {
    let s = service();
    let v = Version::V2_1;
    for method in [
        SplitKeyMethod::XOR,
        SplitKeyMethod::POLYNOMIAL_SHARING_GF_2_16,
        SplitKeyMethod::POLYNOMIAL_SHARING_PRIME_FIELD,
    ] {
        let r = one(&s, &alice(), v, create_split(None, 3, 2, method));
        failed(&r, ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS);
        assert!(
            r.result_message
                .as_deref()
                .is_some_and(|m| m.contains("Polynomial Sharing")),
            "{:?}",
            r.result_message
        );
    }
    // 1.x has no Unsupported Cryptographic Parameters: Feature Not Supported.
    let r = one(
        &s,
        &alice(),
        Version::V1_4,
        create_split(None, 3, 2, SplitKeyMethod::XOR),
    );
    failed(&r, ResultReason::FEATURE_NOT_SUPPORTED);
    failed(
        &one(
            &s,
            &alice(),
            v,
            create_split(None, 2, 3, SplitKeyMethod::POLYNOMIAL_SHARING_GF_2_8),
        ),
        ResultReason::INVALID_FIELD,
    );
    failed(
        &one(
            &s,
            &alice(),
            v,
            create_split(None, -1, 2, SplitKeyMethod::POLYNOMIAL_SHARING_GF_2_8),
        ),
        ResultReason::INVALID_FIELD,
    );

    let parts = parts_of(ok(one(
        &s,
        &alice(),
        v,
        create_split(None, 5, 3, SplitKeyMethod::POLYNOMIAL_SHARING_GF_2_8),
    )));
    let other = parts_of(ok(one(
        &s,
        &alice(),
        v,
        create_split(None, 5, 3, SplitKeyMethod::POLYNOMIAL_SHARING_GF_2_8),
    )));
    // Two parts of a 3-of-5 split.
    failed(
        &one(&s, &alice(), v, join(&[&parts[0], &parts[1]])),
        ResultReason::INVALID_FIELD,
    );
    // A part of another split.
    failed(
        &one(&s, &alice(), v, join(&[&parts[0], &parts[1], &other[2]])),
        ResultReason::INVALID_FIELD,
    );
    // Another owner's parts do not exist for bob.
    failed(
        &one(&s, &bob(), v, join(&[&parts[0], &parts[1], &parts[2]])),
        ResultReason::OBJECT_NOT_FOUND,
    );
    failed(
        &one(
            &s,
            &bob(),
            Version::V1_4,
            join(&[&parts[0], &parts[1], &parts[2]]),
        ),
        ResultReason::ITEM_NOT_FOUND,
    );
    // No parts at all.
    failed(&one(&s, &alice(), v, join(&[])), ResultReason::MISSING_DATA);
    // A Split Key is sent as Raw only.
    failed(
        &one(
            &s,
            &alice(),
            v,
            RequestPayload::Get(GetRequest {
                unique_identifier: uid(&parts[0]),
                key_format_type: Some(KeyFormatType::TRANSPARENT_SYMMETRIC_KEY),
                ..Default::default()
            }),
        ),
        ResultReason::KEY_FORMAT_TYPE_NOT_SUPPORTED,
    );
}

#[test]
fn query_lists_the_split_key_operations_and_object_from_1_2() {
    let s = service();
    for v in [
        Version::V2_1,
        Version::V2_0,
        Version::V1_4,
        Version::V1_2,
        Version::V1_1,
    ] {
        let ResponsePayload::Query(q) = ok(one(
            &s,
            &alice(),
            v,
            RequestPayload::Query(QueryRequest {
                query_functions: vec![
                    QueryFunction::QUERY_OPERATIONS,
                    QueryFunction::QUERY_OBJECTS,
                ],
                ..Default::default()
            }),
        )) else {
            panic!("query")
        };
        let listed = v >= Version::V1_2;
        assert_eq!(
            q.operations.contains(&Operation::CREATE_SPLIT_KEY),
            listed,
            "{v}"
        );
        assert_eq!(
            q.operations.contains(&Operation::JOIN_SPLIT_KEY),
            listed,
            "{v}"
        );
        assert!(q.object_types.contains(&ObjectType::SPLIT_KEY), "{v}");
    }
}
