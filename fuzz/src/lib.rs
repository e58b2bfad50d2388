//! The properties the fuzz targets check, in one place: the targets call them on libFuzzer's inputs and
//! `kms-kmip/tests/fuzz_corpus_replay.rs` calls them on every saved input (corpora, artifacts, regressions),
//! so a crash found once is checked on every test run.
//!
//! Each check decodes the input; when that succeeds, encoding and decoding again must be stable. A violated
//! property panics, which is what libFuzzer reports.

use kms_kmip::ttlv::{self, Limits, Node};
use kms_kmip::{json, xml};

/// TTLV: an accepted message re-encodes to exactly the same bytes (the codec is canonical on what it
/// accepts), the full validation agrees with the tree decoder, and the tree survives XML and JSON.
pub fn check_ttlv(data: &[u8]) {
    let limits = Limits::default();
    let validated = ttlv::validate(data, &limits);
    let Ok(node) = Node::decode_with(data, &limits) else {
        assert!(
            validated.is_err(),
            "validate accepted what the tree decoder refused"
        );
        return;
    };
    assert!(
        validated.is_ok(),
        "the tree decoder accepted what validate refused: {validated:?}"
    );
    let bytes = node.to_bytes().expect("encode");
    assert_eq!(bytes, data, "re-encoding changed the bytes");
    check_xml_of(&node, &limits);
    let via_json =
        json::from_str_with(&json::to_string(&node), &limits).expect("JSON of a decoded message");
    assert_eq!(via_json, node, "TTLV -> JSON -> tree changed the tree");
}

/// Tree -> XML -> tree gives the tree back, unless a Text String holds a character XML 1.0 cannot carry
/// (U+0000, most C0 controls), which the XML writer must then refuse.
fn check_xml_of(node: &Node<'_>, limits: &Limits) {
    match xml::to_string(node) {
        Ok(text) => {
            let back = xml::from_str_with(&text, limits).expect("XML written from a tree decodes");
            assert_eq!(&back, node, "tree -> XML -> tree changed the tree");
        }
        Err(xml::Error::InvalidCharacter { .. }) => {}
        Err(e) => panic!("the XML writer failed: {e}"),
    }
}

/// After the first text decode, the tree is normalised by TTLV (a Big Integer is sign-extended to a multiple
/// of 8 bytes); from there on decode -> encode -> decode must be a fixed point.
fn check_tree(node: &Node<'_>) {
    let limits = Limits::default();
    let bytes = node.to_bytes().expect("encode");
    let decoded = Node::decode_with(&bytes, &limits).expect("TTLV written from a tree decodes");
    let again = decoded.to_bytes().expect("encode");
    assert_eq!(again, bytes, "TTLV not stable");
    check_xml_of(&decoded, &limits);
    let via_json = json::from_str_with(&json::to_string(&decoded), &limits).expect("JSON decodes");
    assert_eq!(via_json, decoded, "JSON not stable");
}

/// KMIP XML: an accepted document's items are stable through TTLV, XML and JSON.
pub fn check_xml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(nodes) = xml::from_str_all(text) {
        nodes.iter().for_each(check_tree);
    }
}

/// KMIP JSON: an accepted document's items are stable through TTLV, XML and JSON.
pub fn check_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(nodes) = json::from_str_all(text) {
        nodes.iter().for_each(check_tree);
    }
}
