//! KMIP JSON against the vectors: every hex message survives TTLV → JSON → TTLV byte for byte, and every
//! OASIS profile message (read from its XML) survives TTLV → JSON → TTLV.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "ttlv_support/mod.rs"]
mod support;

use kms_kmip::ttlv::{Node, NodeValue, Tag};
use kms_kmip::{json, xml};

#[test]
fn every_hex_vector_survives_ttlv_json_ttlv() {
    for (name, bytes) in support::all_ttlv() {
        let node = Node::decode(&bytes).unwrap();
        let text = json::to_string(&node);
        let back = json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert_eq!(back.to_bytes().unwrap(), bytes, "{name}:\n{text}");
    }
}

#[test]
fn every_oasis_message_survives_ttlv_json_ttlv() {
    let mut messages = 0;
    for (name, text) in support::oasis_files() {
        let nodes = xml::from_str_all(&text).unwrap();
        for node in &nodes {
            let ttlv = node.to_bytes().unwrap();
            let text = json::to_string(&Node::decode(&ttlv).unwrap());
            let back = json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
            assert_eq!(back.to_bytes().unwrap(), ttlv, "{name}");
            messages += 1;
        }
    }
    assert!(messages > 1000);
}

#[test]
fn json_follows_the_profile_forms() {
    let long = |v| {
        json::to_string(&Node::new(
            Tag::USAGE_LIMITS_TOTAL,
            NodeValue::LongInteger(v),
        ))
    };
    assert!(long((1 << 52) - 1).contains("4503599627370495"));
    assert!(long(1 << 52).contains("\"0x0010000000000000\""));
    assert!(long(-(1 << 52)).contains("\"0xFFF0000000000000\""));
    let message = Node::structure(
        Tag::REQUEST_PAYLOAD,
        vec![
            Node::new(Tag::CRYPTOGRAPHIC_ALGORITHM, NodeValue::Enumeration(3)),
            Node::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, NodeValue::Integer(12)),
            Node::new(
                Tag::new(0x54_0001).unwrap(),
                NodeValue::ByteString(vec![0xCA, 0xFE].into()),
            ),
            Node::new(Tag::ACTIVATION_DATE, NodeValue::DateTime(0x47DA_67F8)),
        ],
    );
    let value = json::to_value(&message);
    let expected = serde_json::json!({
        "tag": "RequestPayload",
        "value": [
            {"tag": "CryptographicAlgorithm", "type": "Enumeration", "value": "AES"},
            {"tag": "CryptographicUsageMask", "type": "Integer", "value": "Encrypt|Decrypt"},
            {"tag": "0x540001", "type": "ByteString", "value": "cafe"},
            {"tag": "ActivationDate", "type": "DateTime", "value": "2008-03-14T11:56:40+00:00"},
        ]
    });
    assert_eq!(value, expected);
    // 1.x Attribute Value: names follow the Attribute Name.
    let attribute = Node::structure(
        Tag::ATTRIBUTE,
        vec![
            Node::new(
                Tag::ATTRIBUTE_NAME,
                NodeValue::TextString("Cryptographic Algorithm".into()),
            ),
            Node::new(Tag::ATTRIBUTE_VALUE, NodeValue::Enumeration(4)),
        ],
    );
    assert!(json::to_string(&attribute).contains("\"RSA\""));
    assert!(
        xml::to_string(&attribute)
            .unwrap()
            .contains("value=\"RSA\"")
    );
    assert_eq!(
        json::from_str(&json::to_string(&attribute)).unwrap(),
        attribute
    );
}
