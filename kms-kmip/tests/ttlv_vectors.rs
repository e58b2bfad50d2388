//! Every TTLV vector decodes, validates and re-encodes to the same bytes, through the zero-copy reader and
//! through the generic tree.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "ttlv_support/mod.rs"]
mod support;

use kms_kmip::ttlv::{self, Limits, Node, NodeValue, Tag, Writer};

#[test]
fn every_vector_round_trips_through_the_tree() {
    let all = support::all_ttlv();
    assert!(all.len() >= 100, "vectors missing: {}", all.len());
    let mut failures = Vec::new();
    for (name, bytes) in &all {
        match Node::decode(bytes) {
            Ok(node) => {
                let again = node.to_bytes().unwrap();
                if &again != bytes {
                    failures.push(format!("{name}: re-encoding differs"));
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn every_vector_validates_and_copies_through_the_reader() {
    for (name, bytes) in support::all_ttlv() {
        ttlv::validate(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Re-encode item by item through the reader (no tree): the writer reproduces every scalar exactly.
        let item = ttlv::decode(&bytes).unwrap();
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out);
        copy(&item, &mut w);
        w.finish().unwrap();
        assert_eq!(out, bytes, "{name}");
    }
}

fn copy(item: &ttlv::Item<'_>, w: &mut Writer<'_>) {
    match item.as_structure() {
        Ok(s) => w.structure(item.tag(), |w| {
            for child in s.children() {
                copy(&child.unwrap(), w);
            }
        }),
        Err(_) => w.item(item),
    }
}

#[test]
fn spec_primitive_examples_decode_to_the_spec_values() {
    let tag = Tag::new(0x42_0020).unwrap();
    let examples = support::primitive_examples();
    let value = |i: usize| {
        Node::decode(&examples[i].1)
            .unwrap()
            .value
            .clone()
            .into_owned()
    };
    assert_eq!(value(0), NodeValue::Integer(8));
    assert_eq!(value(1), NodeValue::LongInteger(123_456_789_000_000_000));
    // 1234567890000000000000000000 = 0x03FD35EB6BC2DF4618080000, sign-extended to 16 bytes.
    assert_eq!(
        value(2),
        NodeValue::BigInteger(
            vec![
                0, 0, 0, 0, 0x03, 0xFD, 0x35, 0xEB, 0x6B, 0xC2, 0xDF, 0x46, 0x18, 0x08, 0, 0
            ]
            .into()
        )
    );
    assert_eq!(value(3), NodeValue::Enumeration(255));
    assert_eq!(value(4), NodeValue::Boolean(true));
    assert_eq!(value(5), NodeValue::TextString("Hello World".into()));
    assert_eq!(value(6), NodeValue::ByteString(vec![1, 2, 3].into()));
    assert_eq!(value(7), NodeValue::DateTime(0x47DA_67F8));
    assert_eq!(value(8), NodeValue::Interval(864_000));
    let s = Node::decode(&examples[9].1).unwrap();
    assert_eq!(s.tag, tag);
    assert_eq!(
        s.children().unwrap(),
        [
            Node::new(Tag::new(0x42_0004).unwrap(), NodeValue::Enumeration(254)),
            Node::new(Tag::new(0x42_0005).unwrap(), NodeValue::Integer(255)),
        ]
    );
}
