//! Shared by the codec tests: the hex vectors of `tests/vectors/`, loaded by name.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// `kms-kmip/tests/vectors`.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

pub fn hex_decode(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn json(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(vectors_dir().join(name)).unwrap()).unwrap()
}

/// Every whole TTLV message in hex form: NLnet Labs, PyKMIP, vCenter traffic (requests and responses).
pub fn hex_messages() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for file in ["nlnetlabs-tests-hex.json", "pykmip-test_messages-hex.json"] {
        let v = json(file);
        for (name, hex) in v["vectors"].as_object().unwrap() {
            out.push((format!("{file}:{name}"), hex_decode(hex.as_str().unwrap())));
        }
    }
    let v = json("vmware-vcenter-kmip-traffic-from-cosmian-logs.json");
    for (i, m) in v.as_array().unwrap().iter().enumerate() {
        let op = m["operation"].as_str().unwrap_or("unknown");
        for dir in ["request_hex", "response_hex"] {
            out.push((
                format!("vcenter:{i}:{op}:{dir}"),
                hex_decode(m[dir].as_str().unwrap()),
            ));
        }
    }
    out
}

/// The specification's primitive examples: (description, bytes).
pub fn primitive_examples() -> Vec<(String, Vec<u8>)> {
    let text =
        std::fs::read_to_string(vectors_dir().join("spec-ttlv-primitive-examples.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains('|'))
        .map(|l| {
            let (desc, hex) = l.split_once('|').unwrap();
            (desc.trim().to_owned(), hex_decode(hex))
        })
        .collect()
}

/// Every message of both kinds.
pub fn all_ttlv() -> Vec<(String, Vec<u8>)> {
    let mut v = hex_messages();
    v.extend(primitive_examples());
    v
}
