//! The typed model's rules: distinct errors, version conversion and refusal, vendor attributes in both forms,
//! kept extensions, redacted key material, and property-based round trips of a few payload types.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use kms_kmip::message::enums::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, KeyFormatType, NameType,
    ObjectType, Operation, State,
};
use kms_kmip::message::operations::access::{LocateRequest, SetAttributeRequest};
use kms_kmip::message::operations::crypto::EncryptRequest;
use kms_kmip::message::operations::lifecycle::CreateRequest;
use kms_kmip::message::types::{CryptographicParameters, Name};
use kms_kmip::message::{
    Attribute, Attributes, DateTime, Error, IndexedAttribute, KeyBlock, KeyMaterial, KeyValue,
    Object, RequestBatchItem, RequestHeader, RequestMessage, RequestPayload, SecretBytes,
    VendorAttribute,
};
use kms_kmip::tags::Version;
use kms_kmip::ttlv::{NodeValue, Tag, Writer};
use proptest::prelude::*;

fn message(version: Version, payload: RequestPayload) -> RequestMessage {
    RequestMessage {
        header: RequestHeader {
            protocol_version: version.into(),
            batch_count: 1,
            ..Default::default()
        },
        batch_items: vec![RequestBatchItem::new(payload).unwrap()],
    }
}

fn create(attributes: Vec<Attribute>) -> RequestPayload {
    RequestPayload::Create(CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes: Attributes::new(attributes),
        ..Default::default()
    })
}

/// A request message written item by item, for malformed cases the model cannot build.
fn raw_request(header: impl FnOnce(&mut Writer<'_>), op: u32) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = Writer::new(&mut buf);
    w.structure(Tag::REQUEST_MESSAGE, |w| {
        w.structure(Tag::REQUEST_HEADER, |w| {
            w.structure(Tag::PROTOCOL_VERSION, |w| {
                w.integer(Tag::PROTOCOL_VERSION_MAJOR, 1);
                w.integer(Tag::PROTOCOL_VERSION_MINOR, 4);
            });
            header(w);
        });
        w.structure(Tag::BATCH_ITEM, |w| {
            w.enumeration(Tag::OPERATION, op);
            w.structure(Tag::REQUEST_PAYLOAD, |w| {
                w.text_string(Tag::UNIQUE_IDENTIFIER, "1");
            });
        });
    });
    w.finish().unwrap();
    buf
}

#[test]
fn wrong_type_missing_field_and_unknown_enumeration_are_distinct_errors() {
    let wrong = raw_request(
        |w| w.text_string(Tag::BATCH_COUNT, "1"),
        Operation::DESTROY.0,
    );
    match RequestMessage::from_bytes(&wrong) {
        Err(Error::WrongType { tag, offset, .. }) => {
            assert_eq!(tag, Tag::BATCH_COUNT);
            assert_eq!(offset, 56);
        }
        other => panic!("expected WrongType, got {other:?}"),
    }
    let missing = raw_request(|_| {}, Operation::DESTROY.0);
    match RequestMessage::from_bytes(&missing) {
        Err(Error::MissingField {
            structure, field, ..
        }) => {
            assert_eq!(structure, Tag::REQUEST_HEADER);
            assert_eq!(field, Tag::BATCH_COUNT);
        }
        other => panic!("expected MissingField, got {other:?}"),
    }
    let unknown = raw_request(|w| w.integer(Tag::BATCH_COUNT, 1), 0x0000_7777);
    match RequestMessage::from_bytes(&unknown) {
        Err(Error::UnknownEnumeration {
            tag,
            value,
            enumeration,
            ..
        }) => {
            assert_eq!(
                (tag, value, enumeration),
                (Tag::OPERATION, 0x7777, "Operation")
            );
        }
        other => panic!("expected UnknownEnumeration, got {other:?}"),
    }
    // An extension value (0x8XXXXXXX) is accepted, its payload kept untyped and written back unchanged.
    let extension = raw_request(|w| w.integer(Tag::BATCH_COUNT, 1), 0x8000_0001);
    let m = RequestMessage::from_bytes(&extension).unwrap();
    assert!(matches!(m.batch_items[0].payload, RequestPayload::Other(_)));
    assert_eq!(m.to_bytes().unwrap(), extension);
}

#[test]
fn truncated_input_is_a_ttlv_error_with_offset() {
    let good = message(
        Version::V1_4,
        create(vec![Attribute::CryptographicLength(128)]),
    )
    .to_bytes()
    .unwrap();
    for cut in [0, 7, 8, 40, good.len() - 1] {
        let err = RequestMessage::from_bytes(&good[..cut]).unwrap_err();
        assert!(matches!(err, Error::Ttlv(_)), "cut at {cut}: {err:?}");
    }
}

#[test]
fn attributes_convert_between_template_attribute_and_attributes() {
    let attrs = vec![
        Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
        Attribute::CryptographicLength(256),
        Attribute::CryptographicUsageMask(
            CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
        ),
        Attribute::Name(Name::text("key-1")),
        Attribute::ActivationDate(DateTime(1_600_000_000)),
    ];
    let mut m = message(Version::V1_4, create(attrs));
    let v14 = m.to_bytes().unwrap();
    let from14 = RequestMessage::from_bytes(&v14).unwrap();
    assert!(contains(&v14, Tag::TEMPLATE_ATTRIBUTE) && !contains(&v14, Tag::ATTRIBUTES));
    m.header.protocol_version = Version::V2_1.into();
    let v21 = m.to_bytes().unwrap();
    assert!(contains(&v21, Tag::ATTRIBUTES) && !contains(&v21, Tag::TEMPLATE_ATTRIBUTE));
    let from21 = RequestMessage::from_bytes(&v21).unwrap();
    // The same typed payload, whichever form it came from.
    assert_eq!(from14.batch_items, from21.batch_items);
}

#[test]
fn encoding_refuses_what_the_target_version_cannot_express() {
    let quantum = message(Version::V1_4, create(vec![Attribute::QuantumSafe(true)]));
    assert!(matches!(
        quantum.to_bytes(),
        Err(Error::NotInVersion {
            version: Version::V1_4,
            ..
        })
    ));
    let policy = message(
        Version::V2_1,
        create(vec![Attribute::OperationPolicyName("default".into())]),
    );
    assert!(matches!(
        policy.to_bytes(),
        Err(Error::NotInVersion {
            version: Version::V2_1,
            ..
        })
    ));
    let set = message(
        Version::V1_4,
        RequestPayload::SetAttribute(SetAttributeRequest {
            unique_identifier: Some("1".into()),
            new_attribute: IndexedAttribute {
                attribute: Attribute::State(State::ACTIVE),
                index: None,
            },
            ..Default::default()
        }),
    );
    assert!(matches!(set.to_bytes(), Err(Error::NotInVersion { .. })));
    let mut templated = message(Version::V1_4, create(vec![]));
    if let RequestPayload::Create(c) = &mut templated.batch_items[0].payload {
        c.attributes.template_names.push(Name::text("Template1"));
    }
    assert!(templated.to_bytes().is_ok());
    templated.header.protocol_version = Version::V2_0.into();
    assert!(matches!(
        templated.to_bytes(),
        Err(Error::NotInVersion { .. })
    ));
}

#[test]
fn custom_attributes_map_to_vendor_attributes() {
    let vendor = Attribute::Vendor(VendorAttribute {
        vendor_identification: "x".into(),
        attribute_name: "ID".into(),
        attribute_value: NodeValue::TextString("abc".into()),
    });
    let mut m = message(Version::V1_4, create(vec![vendor.clone()]));
    let v14 = m.to_bytes().unwrap();
    assert!(
        v14.windows(4).any(|w| w == b"x-ID"),
        "1.x custom attribute name x-ID"
    );
    m.header.protocol_version = Version::V2_1.into();
    let v21 = m.to_bytes().unwrap();
    assert!(contains(&v21, Tag::VENDOR_IDENTIFICATION));
    for bytes in [&v14, &v21] {
        let RequestPayload::Create(c) =
            &RequestMessage::from_bytes(bytes).unwrap().batch_items[0].payload
        else {
            panic!("not a Create");
        };
        assert_eq!(c.attributes.attributes, vec![vendor.clone()]);
    }
}

#[test]
fn unknown_items_are_kept_and_written_back() {
    let mut buf = Vec::new();
    let mut w = Writer::new(&mut buf);
    w.structure(Tag::REQUEST_MESSAGE, |w| {
        w.structure(Tag::REQUEST_HEADER, |w| {
            w.structure(Tag::PROTOCOL_VERSION, |w| {
                w.integer(Tag::PROTOCOL_VERSION_MAJOR, 1);
                w.integer(Tag::PROTOCOL_VERSION_MINOR, 2);
            });
            w.integer(Tag::BATCH_COUNT, 1);
        });
        w.structure(Tag::BATCH_ITEM, |w| {
            w.enumeration(Tag::OPERATION, Operation::GET.0);
            w.structure(Tag::REQUEST_PAYLOAD, |w| {
                w.text_string(Tag::UNIQUE_IDENTIFIER, "42");
                w.text_string(Tag::new(0x54_0001).unwrap(), "vendor data");
            });
        });
    });
    w.finish().unwrap();
    let m = RequestMessage::from_bytes(&buf).unwrap();
    let RequestPayload::Get(get) = &m.batch_items[0].payload else {
        panic!("not a Get")
    };
    assert_eq!(get.extensions.len(), 1);
    assert_eq!(get.extensions[0].tag, Tag::new(0x54_0001).unwrap());
    assert_eq!(m.to_bytes().unwrap(), buf);
}

#[test]
fn key_material_is_redacted_in_debug() {
    let key = KeyBlock {
        key_format_type: KeyFormatType::RAW,
        key_value: Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(SecretBytes::new(vec![0xAB; 16])),
            attributes: None,
            extensions: Vec::new(),
        }),
        ..Default::default()
    };
    let text = format!(
        "{:?}",
        Object::SymmetricKey(kms_kmip::message::objects::SymmetricKey {
            key_block: key,
            extensions: vec![]
        })
    );
    assert!(text.contains("REDACTED"), "{text}");
    assert!(
        !text.to_lowercase().contains("ab, ab") && !text.contains("171"),
        "{text}"
    );
}

fn contains(haystack: &[u8], tag: Tag) -> bool {
    haystack.windows(3).any(|w| w == tag.to_bytes())
}

fn any_version() -> impl Strategy<Value = Version> {
    prop::sample::select(vec![
        Version::V1_2,
        Version::V1_4,
        Version::V2_0,
        Version::V2_1,
    ])
}

fn any_attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        (1u32..=40).prop_map(|v| Attribute::CryptographicAlgorithm(CryptographicAlgorithm(v))),
        any::<i32>().prop_map(Attribute::CryptographicLength),
        any::<u32>().prop_map(|v| Attribute::CryptographicUsageMask(CryptographicUsageMask(v))),
        "[a-zA-Z0-9 _-]{0,40}".prop_map(|s| Attribute::Name(Name {
            name_value: s,
            name_type: NameType::UNINTERPRETED_TEXT_STRING,
            extensions: vec![]
        })),
        any::<i64>().prop_map(|v| Attribute::ActivationDate(DateTime(v))),
        "[a-z]{1,12}".prop_map(Attribute::ContactInformation),
        (1u32..=6).prop_map(|v| Attribute::State(State(v))),
    ]
}

proptest! {
    #[test]
    fn create_round_trips(version in any_version(), attrs in prop::collection::vec(any_attribute(), 0..8)) {
        let m = message(version, create(attrs));
        let bytes = m.to_bytes().unwrap();
        let back = RequestMessage::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn encrypt_round_trips(
        version in any_version(),
        id in proptest::option::of("[0-9a-f-]{1,36}"),
        data in proptest::option::of(prop::collection::vec(any::<u8>(), 0..100)),
        iv in proptest::option::of(prop::collection::vec(any::<u8>(), 0..16)),
        mode in proptest::option::of(1u32..=18),
        tag_length in proptest::option::of(any::<i32>()),
    ) {
        let payload = RequestPayload::Encrypt(EncryptRequest {
            unique_identifier: id.map(Into::into),
            cryptographic_parameters: mode.map(|m| CryptographicParameters {
                block_cipher_mode: Some(BlockCipherMode(m)),
                tag_length,
                ..Default::default()
            }),
            data: data.map(SecretBytes::new),
            iv_counter_nonce: iv,
            ..Default::default()
        });
        let m = message(version, payload);
        let bytes = m.to_bytes().unwrap();
        let back = RequestMessage::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn locate_round_trips(
        version in any_version(),
        max in proptest::option::of(0i32..1000),
        attrs in prop::collection::vec(any_attribute(), 0..5),
    ) {
        let payload = RequestPayload::Locate(LocateRequest {
            maximum_items: max,
            attributes: if attrs.is_empty() { None } else { Some(Attributes::new(attrs)) },
            ..Default::default()
        });
        let m = message(version, payload);
        let bytes = m.to_bytes().unwrap();
        let back = RequestMessage::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_bytes().unwrap(), bytes);
    }
}
