//! KmipService: Adjust Attribute and Set Endpoint Role (KMIP 2.1 §6.1), in process.

#![cfg(feature = "service")]

mod service_support;

use kms_kmip::message::enums::{
    AdjustmentType, CryptographicAlgorithm, CryptographicUsageMask, EndpointRole, ObjectType,
    ResultReason,
};
use kms_kmip::message::operations::access::AdjustAttributeRequest;
use kms_kmip::message::operations::lifecycle::CreateRequest;
use kms_kmip::message::operations::server::SetEndpointRolePayload;
use kms_kmip::message::{
    Attribute, AttributeReference, Attributes, DateTime, RequestPayload, ResponsePayload,
    UniqueIdentifier, VendorAttribute,
};
use kms_kmip::service::KmipService;
use kms_kmip::tags::Version;
use kms_kmip::ttlv::{Node, NodeValue, Tag};
use service_support::{alice, bob, failed, get_attributes, ok, one, service, text, uid};

const LATER: i64 = 4_102_444_800; // 2100-01-01

fn counter(value: i32) -> Attribute {
    Attribute::Vendor(VendorAttribute {
        vendor_identification: "x".into(),
        attribute_name: "counter".into(),
        attribute_value: NodeValue::Integer(value),
    })
}

fn counter_reference() -> AttributeReference {
    AttributeReference::Vendor {
        vendor_identification: "x".into(),
        attribute_name: "counter".into(),
    }
}

/// A Pre-Active AES key of alice's with the vendor attribute `x-counter` = 5.
fn key(s: &KmipService) -> String {
    let payload = RequestPayload::Create(CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes: Attributes::new(vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
            Attribute::CryptographicLength(128),
            Attribute::CryptographicUsageMask(CryptographicUsageMask::ENCRYPT),
            Attribute::ActivationDate(DateTime(LATER)),
            counter(5),
        ]),
        ..Default::default()
    });
    match ok(one(s, &alice(), Version::V2_1, payload)) {
        ResponsePayload::Create(c) => text(&c.unique_identifier),
        other => panic!("not a create: {other:?}"),
    }
}

fn adjust(
    id: &str,
    reference: AttributeReference,
    kind: AdjustmentType,
    value: Option<NodeValue<'static>>,
) -> RequestPayload {
    RequestPayload::AdjustAttribute(AdjustAttributeRequest {
        unique_identifier: uid(id),
        attribute_reference: reference,
        adjustment_type: kind,
        adjustment_value: value.map(|value| Node {
            tag: Tag::ADJUSTMENT_VALUE,
            value,
        }),
        ..Default::default()
    })
}

/// The one attribute `reference` names, read back by alice.
fn read(s: &KmipService, id: &str, reference: AttributeReference) -> Attribute {
    let ResponsePayload::GetAttributes(got) = ok(one(
        s,
        &alice(),
        Version::V2_1,
        get_attributes(id, vec![reference]),
    )) else {
        panic!("get attributes")
    };
    let mut attributes = got.attributes.expect("attributes").attributes;
    assert_eq!(attributes.len(), 1, "{attributes:?}");
    attributes.remove(0)
}

#[test]
fn adjust_attribute_increments_decrements_and_negates() {
    let s = service();
    let id = key(&s);
    let steps = [
        (AdjustmentType::INCREMENT, Some(NodeValue::Integer(3)), 8),
        (AdjustmentType::DECREMENT, None, 7),
        (AdjustmentType::NEGATE, None, -7),
        (
            AdjustmentType::DECREMENT,
            Some(NodeValue::LongInteger(-10)),
            3,
        ),
    ];
    for (kind, value, expected) in steps {
        let answer = ok(one(
            &s,
            &alice(),
            Version::V2_1,
            adjust(&id, counter_reference(), kind, value),
        ));
        let ResponsePayload::AdjustAttribute(answer) = answer else {
            panic!("adjust attribute")
        };
        assert_eq!(
            answer.unique_identifier,
            Some(UniqueIdentifier::Text(id.clone()))
        );
        assert_eq!(read(&s, &id, counter_reference()), counter(expected));
    }

    // A date moves by the Interval's seconds; the key stays Pre-Active.
    let activation = AttributeReference::Standard(Tag::ACTIVATION_DATE);
    ok(one(
        &s,
        &alice(),
        Version::V2_1,
        adjust(
            &id,
            activation.clone(),
            AdjustmentType::INCREMENT,
            Some(NodeValue::Interval(3600)),
        ),
    ));
    assert_eq!(
        read(&s, &id, activation),
        Attribute::ActivationDate(DateTime(LATER + 3600))
    );
}

#[test]
fn adjust_attribute_refuses_what_it_cannot_adjust() {
    let s = service();
    let id = key(&s);
    let who = alice();
    let refused = |payload, reason| failed(&one(&s, &who, Version::V2_1, payload), reason);
    // Not a number, a date or a Boolean.
    refused(
        adjust(
            &id,
            AttributeReference::Standard(Tag::CRYPTOGRAPHIC_USAGE_MASK),
            AdjustmentType::INCREMENT,
            None,
        ),
        ResultReason::INVALID_FIELD,
    );
    // A date has no sign to turn.
    refused(
        adjust(
            &id,
            AttributeReference::Standard(Tag::ACTIVATION_DATE),
            AdjustmentType::NEGATE,
            None,
        ),
        ResultReason::INVALID_FIELD,
    );
    // The server keeps it.
    refused(
        adjust(
            &id,
            AttributeReference::Standard(Tag::INITIAL_DATE),
            AdjustmentType::INCREMENT,
            None,
        ),
        ResultReason::ATTRIBUTE_READ_ONLY,
    );
    // The object lacks it.
    refused(
        adjust(
            &id,
            AttributeReference::Standard(Tag::DEACTIVATION_DATE),
            AdjustmentType::INCREMENT,
            None,
        ),
        ResultReason::ATTRIBUTE_NOT_FOUND,
    );
    // An amount that is not a number; an amount with Negate; an unknown Adjustment Type.
    refused(
        adjust(
            &id,
            counter_reference(),
            AdjustmentType::INCREMENT,
            Some(NodeValue::TextString("1".into())),
        ),
        ResultReason::INVALID_FIELD,
    );
    refused(
        adjust(
            &id,
            counter_reference(),
            AdjustmentType::NEGATE,
            Some(NodeValue::Integer(1)),
        ),
        ResultReason::INVALID_FIELD,
    );
    refused(
        adjust(&id, counter_reference(), AdjustmentType(9), None),
        ResultReason::INVALID_FIELD,
    );
    // Leaving the attribute's range.
    refused(
        adjust(
            &id,
            counter_reference(),
            AdjustmentType::INCREMENT,
            Some(NodeValue::LongInteger(i64::from(i32::MAX))),
        ),
        ResultReason::INVALID_ATTRIBUTE_VALUE,
    );
    // Another identity does not see the object.
    failed(
        &one(
            &s,
            &bob(),
            Version::V2_1,
            adjust(&id, counter_reference(), AdjustmentType::INCREMENT, None),
        ),
        ResultReason::OBJECT_NOT_FOUND,
    );
    // Nothing changed.
    assert_eq!(read(&s, &id, counter_reference()), counter(5));
}

fn endpoint_role(role: EndpointRole) -> RequestPayload {
    RequestPayload::SetEndpointRole(SetEndpointRolePayload {
        endpoint_role: role,
        ..Default::default()
    })
}

#[test]
fn set_endpoint_role_keeps_every_caller_a_client() {
    let s = service();
    let answer = ok(one(
        &s,
        &alice(),
        Version::V2_1,
        endpoint_role(EndpointRole::CLIENT),
    ));
    let ResponsePayload::SetEndpointRole(answer) = answer else {
        panic!("set endpoint role")
    };
    assert_eq!(answer.endpoint_role, EndpointRole::CLIENT);
    failed(
        &one(
            &s,
            &alice(),
            Version::V2_1,
            endpoint_role(EndpointRole::SERVER),
        ),
        ResultReason::OPERATION_NOT_SUPPORTED,
    );
    failed(
        &one(&s, &alice(), Version::V2_1, endpoint_role(EndpointRole(7))),
        ResultReason::INVALID_FIELD,
    );
}
