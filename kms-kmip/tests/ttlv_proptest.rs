//! Properties: any tree encodes and decodes to itself (TTLV, XML, JSON); no byte or text input makes a
//! decoder panic.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use kms_kmip::ttlv::{self, Limits, Node, NodeValue, Tag};
use kms_kmip::{json, xml};
use proptest::prelude::*;

fn tag() -> impl Strategy<Value = Tag> {
    prop_oneof![
        // Tags whose values the text encodings name: enumerations, masks, the Attribute Value context.
        prop::sample::select(vec![
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Tag::CRYPTOGRAPHIC_USAGE_MASK,
            Tag::ATTRIBUTE_NAME,
            Tag::ATTRIBUTE_VALUE,
            Tag::ATTRIBUTE_REFERENCE,
            Tag::OPERATION,
            Tag::ACTIVATION_DATE,
        ]),
        (0x42_0000u32..0x42_0200).prop_map(|v| Tag::new(v).unwrap()),
        (0x54_0000u32..0x55_0000).prop_map(|v| Tag::new(v).unwrap()),
        (0u32..0x100_0000).prop_map(|v| Tag::new(v).unwrap()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::sample::select(vec![
            "Cryptographic Algorithm",
            "Cryptographic Usage Mask",
            "State",
            "x-custom"
        ])
        .prop_map(str::to_owned),
    ]
}

fn scalar() -> impl Strategy<Value = NodeValue<'static>> {
    prop_oneof![
        any::<i32>().prop_map(NodeValue::Integer),
        any::<i64>().prop_map(NodeValue::LongInteger),
        (1usize..4)
            .prop_flat_map(|n| prop::collection::vec(any::<u8>(), n * 8))
            .prop_map(|b| NodeValue::BigInteger(b.into())),
        prop_oneof![0u32..64, any::<u32>()].prop_map(NodeValue::Enumeration),
        any::<bool>().prop_map(NodeValue::Boolean),
        text().prop_map(|s| NodeValue::TextString(s.into())),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| NodeValue::ByteString(b.into())),
        any::<i64>().prop_map(NodeValue::DateTime),
        any::<u32>().prop_map(NodeValue::Interval),
        any::<i64>().prop_map(NodeValue::DateTimeExtended),
    ]
}

fn node() -> impl Strategy<Value = Node<'static>> {
    let leaf = (tag(), scalar()).prop_map(|(t, v)| Node::new(t, v));
    leaf.prop_recursive(5, 96, 8, |inner| {
        (tag(), prop::collection::vec(inner, 0..8)).prop_map(|(t, c)| Node::structure(t, c))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ttlv_round_trips(n in node()) {
        let bytes = n.to_bytes().unwrap();
        prop_assert_eq!(&Node::decode(&bytes).unwrap(), &n);
        ttlv::validate(&bytes, &Limits::default()).unwrap();
        // A second encoding is the same bytes.
        prop_assert_eq!(Node::decode(&bytes).unwrap().to_bytes().unwrap(), bytes);
    }

    #[test]
    fn xml_round_trips(n in node()) {
        let text = match xml::to_string(&n) {
            Ok(text) => text,
            // Only text XML 1.0 cannot carry is refused, and then the tree must hold such a character.
            Err(xml::Error::InvalidCharacter { character, .. }) => {
                prop_assert!(character < 0x20 || character == 0xFFFE || character == 0xFFFF);
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        let back = xml::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, n);
    }

    #[test]
    fn json_round_trips(n in node()) {
        let text = json::to_string(&n);
        let back = json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, n);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = ttlv::validate(&bytes, &Limits::default());
        let _ = Node::decode(&bytes);
        let _ = ttlv::message_length(&bytes, &Limits::default());
    }

    #[test]
    fn arbitrary_items_never_panic(tag in any::<[u8; 3]>(), type_byte in 0u8..14, len in prop_oneof![0u32..64, any::<u32>()], body in prop::collection::vec(any::<u8>(), 0..72)) {
        let mut bytes = tag.to_vec();
        bytes.push(type_byte);
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&body);
        if let Ok(n) = Node::decode(&bytes) {
            prop_assert_eq!(n.to_bytes().unwrap(), bytes);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        let _ = xml::from_str(&s);
        let _ = json::from_str(&s);
        let _ = xml::from_str(&format!("<RequestMessage>{s}</RequestMessage>"));
        let _ = xml::from_str(&format!("<BatchCount type=\"Integer\" value=\"{s}\"/>"));
    }
}
