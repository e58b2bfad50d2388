//! KmipService: Import and Export (an object and all its attributes under the identifier another server gave
//! it), Log, and Locate on the attributes the store query lacks.

#![cfg(feature = "service")]

mod service_support;

use kms_kmip::message::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, InteropFunction, KeyFormatType, NameType,
    ObjectType, ResultReason, ResultStatus, State,
};
use kms_kmip::message::objects::SymmetricKey;
use kms_kmip::message::operations::access::LocateRequest;
use kms_kmip::message::operations::server::{InteropRequest, LogRequest};
use kms_kmip::message::operations::transfer::{ExportRequest, ImportRequest};
use kms_kmip::message::types::Name;
use kms_kmip::message::{
    Attribute, Attributes, DateTime, KeyMaterial, KeyValue, Object, RequestPayload,
    ResponseBatchItem, ResponsePayload, UniqueIdentifier,
};
use kms_kmip::service::KmipService;
use kms_kmip::tags::Version;
use service_support::{alice, ok, one, raw_block, service, uid};

/// Every request here is alice's.
fn send(s: &KmipService, version: Version, p: RequestPayload) -> ResponseBatchItem {
    one(s, &alice(), version, p)
}

fn import(s: &KmipService, id: &str, key: &[u8], replace: bool) -> ResponseBatchItem {
    send(
        s,
        Version::V2_1,
        RequestPayload::Import(ImportRequest {
            unique_identifier: UniqueIdentifier::Text(id.to_owned()),
            object_type: ObjectType::SYMMETRIC_KEY,
            replace_existing: Some(replace),
            attributes: Some(Attributes::new(vec![
                Attribute::State(State::ACTIVE),
                Attribute::CryptographicUsageMask(CryptographicUsageMask::ENCRYPT),
                Attribute::Name(Name {
                    name_value: "imported".to_owned(),
                    name_type: NameType::UNINTERPRETED_TEXT_STRING,
                    ..Default::default()
                }),
                Attribute::ActivationDate(DateTime(1_600_000_000)),
                Attribute::ProtectStopDate(DateTime(4_000_000_000)),
            ])),
            object: Some(Box::new(Object::SymmetricKey(SymmetricKey {
                key_block: raw_block(key, Some(CryptographicAlgorithm::AES)),
                ..Default::default()
            }))),
            ..Default::default()
        }),
    )
}

#[test]
fn import_then_export_keeps_identifier_state_attributes_and_value() {
    let s = service();
    let ResponsePayload::Import(i) = ok(import(&s, "migrated-1", &[9; 32], false)) else {
        panic!("import")
    };
    assert_eq!(
        i.unique_identifier,
        Some(UniqueIdentifier::Text("migrated-1".into()))
    );

    // The identifier is taken: Import without Replace Existing is refused, with it the value is replaced.
    let again = import(&s, "migrated-1", &[8; 32], false);
    assert_eq!(
        again.result_reason,
        Some(ResultReason::OBJECT_ALREADY_EXISTS)
    );
    ok(import(&s, "migrated-1", &[7; 32], true));

    let ResponsePayload::Export(e) = ok(send(
        &s,
        Version::V2_1,
        RequestPayload::Export(ExportRequest {
            unique_identifier: uid("migrated-1"),
            ..Default::default()
        }),
    )) else {
        panic!("export")
    };
    assert_eq!(e.object_type, ObjectType::SYMMETRIC_KEY);
    let attributes = e.attributes.expect("attributes").attributes;
    assert!(
        attributes.contains(&Attribute::State(State::ACTIVE)),
        "{attributes:?}"
    );
    assert!(attributes.contains(&Attribute::ProtectStopDate(DateTime(4_000_000_000))));
    assert!(attributes.iter().any(|a| matches!(a, Attribute::Digest(_))));
    assert!(attributes.contains(&Attribute::KeyFormatType(KeyFormatType::RAW)));
    let Some(Object::SymmetricKey(k)) = e.object.as_deref() else {
        panic!("symmetric key")
    };
    let Some(KeyValue::Plain {
        key_material: KeyMaterial::Bytes(b),
        ..
    }) = &k.key_block.key_value
    else {
        panic!("plain bytes")
    };
    assert_eq!(b.expose(), &[7; 32][..], "the replaced value");

    // Key Format Type is a 2.0 attribute, Export a 2.0 operation in 1.x's terms: a 1.4 Export has no 2.x
    // attribute.
    let ResponsePayload::Export(e) = ok(send(
        &s,
        Version::V1_4,
        RequestPayload::Export(ExportRequest {
            unique_identifier: uid("migrated-1"),
            ..Default::default()
        }),
    )) else {
        panic!("export")
    };
    let attributes = e.attributes.expect("attributes").attributes;
    assert!(
        !attributes
            .iter()
            .any(|a| matches!(a, Attribute::KeyFormatType(_)))
    );
}

#[test]
fn locate_by_protect_stop_date_range_and_log() {
    let s = service();
    ok(import(&s, "in-range", &[1; 16], false));
    let locate = |from: i64, to: i64| {
        let ResponsePayload::Locate(l) = ok(send(
            &s,
            Version::V2_1,
            RequestPayload::Locate(LocateRequest {
                attributes: Some(Attributes::new(vec![
                    Attribute::ProtectStopDate(DateTime(from)),
                    Attribute::ProtectStopDate(DateTime(to)),
                ])),
                ..Default::default()
            }),
        )) else {
            panic!("locate")
        };
        l.unique_identifiers
    };
    assert_eq!(
        locate(3_900_000_000, 4_100_000_000),
        [UniqueIdentifier::Text("in-range".into())]
    );
    assert!(locate(1_000_000_000, 2_000_000_000).is_empty());

    ok(send(
        &s,
        Version::V2_1,
        RequestPayload::Log(LogRequest {
            log_message: "hello from the client".into(),
            ..Default::default()
        }),
    ));
}

#[test]
fn interop_begin_and_end_are_acknowledged_and_reset_is_refused() {
    let s = service();
    let interop = |function| {
        send(
            &s,
            Version::V2_1,
            RequestPayload::Interop(InteropRequest {
                interop_function: function,
                interop_identifier: Some("CS-BC-M-1-21".into()),
                ..Default::default()
            }),
        )
    };
    ok(interop(InteropFunction::BEGIN));
    ok(interop(InteropFunction::END));
    let reset = interop(InteropFunction::RESET);
    assert_eq!(reset.result_status, ResultStatus::OPERATION_FAILED);
    assert_eq!(
        reset.result_reason,
        Some(ResultReason::OPERATION_NOT_SUPPORTED)
    );
}
