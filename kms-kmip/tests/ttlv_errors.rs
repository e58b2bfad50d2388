//! Bad input: each TTLV rule violation is its own error, naming the byte offset and the tag of the item at
//! fault; limits hold; nothing is allocated beyond what the input justifies.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use kms_kmip::tags::Version;
use kms_kmip::ttlv::{self, Error, ItemType, Limits, Node, Tag, Writer};

const T: u32 = 0x42_0020;

fn tag() -> Tag {
    Tag::new(T).unwrap()
}

/// An item header followed by `value`.
fn item(type_byte: u8, len: u32, value: &[u8]) -> Vec<u8> {
    let mut v = vec![0x42, 0x00, 0x20, type_byte];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(value);
    v
}

/// Wraps `inner` in a structure tagged 0x420001, so errors must report offsets inside it.
fn wrapped(inner: &[u8]) -> Vec<u8> {
    let mut v = vec![0x42, 0x00, 0x01, 0x01];
    v.extend_from_slice(&u32::try_from(inner.len()).unwrap().to_be_bytes());
    v.extend_from_slice(inner);
    v
}

fn full_decode(bytes: &[u8]) -> Result<Node<'_>, Error> {
    Node::decode(bytes)
}

#[test]
fn truncated_header_and_value() {
    assert_eq!(
        ttlv::decode(&[0x42, 0x00]).unwrap_err(),
        Error::Truncated {
            offset: 0,
            tag: None,
            needed: 8,
            available: 2
        }
    );
    let e = ttlv::decode(&item(0x02, 4, &[0, 0, 0, 1])).unwrap_err();
    assert_eq!(
        e,
        Error::Truncated {
            offset: 0,
            tag: Some(tag()),
            needed: 16,
            available: 12
        }
    );
    let e = full_decode(&wrapped(&item(0x08, 16, &[0; 8]))).unwrap_err();
    assert_eq!(
        e,
        Error::Truncated {
            offset: 8,
            tag: Some(tag()),
            needed: 24,
            available: 16
        }
    );
    // A structure claiming more than there is.
    let e = ttlv::decode(&item(0x01, 64, &[0; 8])).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Truncated {
                offset: 0,
                needed: 72,
                available: 16,
                ..
            }
        ),
        "{e:?}"
    );
    // A text string's length beyond the input: refused before anything is read or reserved.
    let e = ttlv::decode(&item(0x07, u32::MAX, b"abc\0\0\0\0\0")).unwrap_err();
    assert!(matches!(e, Error::Truncated { offset: 0, .. }), "{e:?}");
}

#[test]
fn bad_padding() {
    let e = full_decode(&wrapped(&item(0x02, 4, &[0, 0, 0, 1, 0, 0, 0, 9]))).unwrap_err();
    assert_eq!(
        e,
        Error::BadPadding {
            offset: 8,
            tag: tag()
        }
    );
    let e = ttlv::decode(&item(0x07, 3, b"abc\0\0\x01\0\0")).unwrap_err();
    assert_eq!(
        e,
        Error::BadPadding {
            offset: 0,
            tag: tag()
        }
    );
    let e = ttlv::decode(&item(0x05, 4, &[0, 0, 0, 1, 1, 0, 0, 0])).unwrap_err();
    assert_eq!(
        e,
        Error::BadPadding {
            offset: 0,
            tag: tag()
        }
    );
    let e = ttlv::decode(&item(0x0A, 4, &[0, 0, 0, 1, 0, 0, 0, 1])).unwrap_err();
    assert_eq!(
        e,
        Error::BadPadding {
            offset: 0,
            tag: tag()
        }
    );
}

#[test]
fn wrong_length_for_type() {
    for (type_byte, item_type, len) in [
        (0x02, ItemType::Integer, 8),
        (0x03, ItemType::LongInteger, 4),
        (0x04, ItemType::BigInteger, 12),
        (0x04, ItemType::BigInteger, 0),
        (0x05, ItemType::Enumeration, 8),
        (0x06, ItemType::Boolean, 1),
        (0x09, ItemType::DateTime, 4),
        (0x0A, ItemType::Interval, 8),
        (0x0B, ItemType::DateTimeExtended, 16),
        (0x01, ItemType::Structure, 12),
    ] {
        let e = ttlv::decode(&item(type_byte, len, &[0; 16])).unwrap_err();
        assert_eq!(
            e,
            Error::WrongLength {
                offset: 0,
                tag: tag(),
                item_type,
                length: len
            },
            "{item_type}"
        );
    }
}

#[test]
fn unknown_type_byte() {
    for type_byte in [0x00, 0x0C, 0xFF] {
        let e = full_decode(&wrapped(&item(type_byte, 4, &[0; 8]))).unwrap_err();
        assert_eq!(
            e,
            Error::UnknownType {
                offset: 8,
                tag: tag(),
                type_byte
            }
        );
    }
}

#[test]
fn depth_limit() {
    let mut v = item(0x02, 4, &[0; 8]);
    for _ in 0..64 {
        v = wrapped(&v);
    }
    // 64 structures: at the default limit.
    ttlv::validate(&v, &Limits::default()).unwrap();
    full_decode(&v).unwrap();
    let deeper = wrapped(&v);
    let e = ttlv::validate(&deeper, &Limits::default()).unwrap_err();
    assert_eq!(
        e,
        Error::DepthExceeded {
            offset: 64 * 8,
            tag: Tag::new(0x42_0001).unwrap(),
            max_depth: 64
        }
    );
    assert!(matches!(
        full_decode(&deeper),
        Err(Error::DepthExceeded { .. })
    ));
    let e = ttlv::validate(&v, &Limits::default().with_max_depth(3)).unwrap_err();
    assert_eq!(
        e,
        Error::DepthExceeded {
            offset: 24,
            tag: Tag::new(0x42_0001).unwrap(),
            max_depth: 3
        }
    );
}

#[test]
fn size_limit() {
    let v = item(0x08, 16, &[0; 16]);
    let limits = Limits::default().with_max_message_size(16);
    assert_eq!(
        ttlv::decode_with(&v, &limits).unwrap_err(),
        Error::TooLarge {
            offset: 0,
            tag: Some(tag()),
            length: 24,
            max: 16
        }
    );
    // A framing transport learns the size from the header alone, before reading the body.
    assert_eq!(ttlv::message_length(&v[..5], &limits), Ok(None));
    assert_eq!(ttlv::message_length(&v, &Limits::default()), Ok(Some(24)));
    let huge = item(0x01, 0xFFFF_FFF8, &[]);
    assert!(matches!(
        ttlv::message_length(&huge, &Limits::default()),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn trailing_bytes() {
    let mut v = item(0x02, 4, &[0, 0, 0, 1, 0, 0, 0, 0]);
    v.extend_from_slice(&[0; 3]);
    assert_eq!(
        ttlv::decode(&v).unwrap_err(),
        Error::TrailingBytes {
            offset: 16,
            tag: tag(),
            count: 3
        }
    );
}

#[test]
fn invalid_utf8_and_boolean() {
    let e = full_decode(&wrapped(&item(0x07, 2, &[0xC3, 0x28, 0, 0, 0, 0, 0, 0]))).unwrap_err();
    assert_eq!(
        e,
        Error::InvalidUtf8 {
            offset: 8,
            tag: tag()
        }
    );
    let e = ttlv::decode(&item(0x06, 8, &[0, 0, 0, 0, 0, 0, 0, 2])).unwrap_err();
    assert_eq!(
        e,
        Error::InvalidBoolean {
            offset: 0,
            tag: tag(),
            value: 2
        }
    );
}

#[test]
fn wrong_type_for_tag() {
    let v = wrapped(&item(0x07, 1, b"x\0\0\0\0\0\0\0"));
    let outer = ttlv::decode(&v).unwrap();
    let child = outer.children().unwrap().next().unwrap().unwrap();
    assert_eq!(
        child.as_integer().unwrap_err(),
        Error::WrongType {
            offset: 8,
            tag: tag(),
            expected: ItemType::Integer,
            found: ItemType::TextString
        }
    );
    assert!(matches!(
        outer.as_text_string(),
        Err(Error::WrongType { offset: 0, .. })
    ));
}

#[test]
fn unknown_tag_where_the_version_forbids_it() {
    let mut buf = Vec::new();
    let mut w = Writer::new(&mut buf);
    w.structure(Tag::REQUEST_PAYLOAD, |w| {
        w.structure(Tag::TEMPLATE_ATTRIBUTE, |_| {});
        w.text_string(Tag::new(0x54_0001).unwrap(), "vendor");
    });
    w.finish().unwrap();
    ttlv::validate_for_version(&buf, &Limits::default(), Version::V1_4).unwrap();
    assert_eq!(
        ttlv::validate_for_version(&buf, &Limits::default(), Version::V2_1).unwrap_err(),
        Error::UnknownTag {
            offset: 8,
            tag: Tag::TEMPLATE_ATTRIBUTE,
            version: Version::V2_1
        }
    );
    // A 2.0 tag in a 1.4 message.
    let mut buf = Vec::new();
    let mut w = Writer::new(&mut buf);
    w.structure(Tag::ATTRIBUTES, |_| {});
    w.finish().unwrap();
    assert!(matches!(
        ttlv::validate_for_version(&buf, &Limits::default(), Version::V1_4),
        Err(Error::UnknownTag { offset: 0, .. })
    ));
}

#[test]
fn errors_render_offset_and_tag_name() {
    let e = Error::BadPadding {
        offset: 8,
        tag: Tag::CRYPTOGRAPHIC_ALGORITHM,
    };
    assert_eq!(
        e.to_string(),
        "non-zero padding in item at byte 8 (tag CryptographicAlgorithm)"
    );
    assert_eq!(e.offset(), 8);
    assert_eq!(e.tag(), Some(Tag::CRYPTOGRAPHIC_ALGORITHM));
}

#[test]
fn xml_and_json_refuse_bad_documents() {
    use kms_kmip::{json, xml};
    let nul = Node::new(
        Tag::NAME_VALUE,
        kms_kmip::ttlv::NodeValue::TextString("a\0b".into()),
    );
    assert!(matches!(
        xml::to_string(&nul),
        Err(xml::Error::InvalidCharacter { character: 0, .. })
    ));
    assert!(matches!(
        xml::from_str(r#"<NameValue type="TextString" value="a&#1;b"/>"#),
        Err(xml::Error::InvalidCharacter { character: 1, .. })
    ));
    assert_eq!(json::from_str(&json::to_string(&nul)).unwrap(), nul);
    let dtd = "<!DOCTYPE x [<!ENTITY a \"b\">]><ActivationDate type=\"DateTime\" value=\"&a;\"/>";
    assert!(matches!(xml::from_str(dtd), Err(xml::Error::Dtd { .. })));
    assert!(matches!(
        xml::from_str("<Nope/>"),
        Err(xml::Error::UnknownTag { .. })
    ));
    assert!(matches!(
        xml::from_str(r#"<BatchCount type="Integer" value="x"/>"#),
        Err(xml::Error::BadValue {
            item_type: ItemType::Integer,
            ..
        })
    ));
    let deep = "<RequestPayload>".repeat(65) + &"</RequestPayload>".repeat(65);
    assert!(matches!(
        xml::from_str(&deep),
        Err(xml::Error::DepthExceeded { max_depth: 64, .. })
    ));
    let big = " ".repeat(1024 * 1024 + 1);
    assert!(matches!(
        xml::from_str(&big),
        Err(xml::Error::TooLarge { .. })
    ));
    assert!(matches!(
        json::from_str(&big),
        Err(json::Error::TooLarge { .. })
    ));
    assert!(matches!(
        json::from_str(r#"{"tag":"BatchCount","type":"Integer","value":4294967296}"#),
        Err(json::Error::BadValue { .. })
    ));
    assert!(matches!(
        json::from_str(r#"{"tag":"Nope","value":[]}"#),
        Err(json::Error::UnknownTag { .. })
    ));
    let nested = |n: usize| r#"{"tag":"RequestPayload","value":["#.repeat(n) + &"]}".repeat(n);
    let limits = json::DEFAULT_LIMITS.with_max_depth(32);
    json::from_str_with(&nested(32), &limits).unwrap();
    assert!(matches!(
        json::from_str_with(&nested(33), &limits),
        Err(json::Error::DepthExceeded { .. })
    ));
    // Beyond 64 levels serde_json's own recursion limit answers first; either way the document is refused.
    assert!(json::from_str(&nested(65)).is_err());
}
