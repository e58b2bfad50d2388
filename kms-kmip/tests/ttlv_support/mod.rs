//! Shared by the codec tests: the hex vectors of `tests/vectors/`, loaded by name.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// `kms-kmip/tests/vectors`.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

pub fn hex_decode(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len().is_multiple_of(2), "odd hex length");
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

/// The instant `$NOW` stands for in the OASIS test cases: 2020-12-14T00:00:00Z (the date of KMIP 2.1).
pub const NOW: i64 = 1_607_904_000;

/// The documented substitution of the OASIS test-case placeholders, so that every value parses:
/// - Date-Time `$NOW`, `$NOW+N`, `$NOW-N` → [`NOW`] ± N seconds, written in ISO 8601;
/// - Byte String `$NAME` (`$KEY_MATERIAL_0`, `$IV_COUNTER_NONCE`, ...) → the ASCII bytes of `NAME`, in hex;
/// - Text String placeholders (`$UNIQUE_IDENTIFIER_n`) stay as they are: they are valid text.
pub fn substitute_placeholders(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find("value=\"$") {
        let (head, tail) = rest.split_at(i);
        out.push_str(head);
        let tail = &tail["value=\"".len()..];
        let end = tail.find('"').expect("closing quote");
        let placeholder = &tail[1..end];
        let element_start = head.rfind('<').expect("element");
        let item_type = head[element_start..]
            .split("type=\"")
            .nth(1)
            .and_then(|t| t.split('"').next());
        let value = match item_type {
            Some("DateTime") => {
                let offset = placeholder
                    .strip_prefix("NOW")
                    .map(|o| {
                        if o.is_empty() {
                            0
                        } else {
                            o.parse::<i64>().expect("offset")
                        }
                    })
                    .expect("only $NOW placeholders are Date-Times");
                iso(NOW + offset)
            }
            Some("ByteString") => placeholder.bytes().map(|b| format!("{b:02x}")).collect(),
            _ => format!("${placeholder}"),
        };
        out.push_str("value=\"");
        out.push_str(&value);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn iso(secs: i64) -> String {
    // Days to civil date (proleptic Gregorian), enough for the test's fixed instants.
    let days = secs.div_euclid(86_400);
    let s = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// Every OASIS profile test-case file: (name like `v2.1/mandatory/BL-M-1-21`, text with placeholders
/// substituted).
pub fn oasis_files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for version in ["v1.4", "v2.1"] {
        for kind in ["mandatory", "optional"] {
            let dir = vectors_dir()
                .join("oasis-profiles-xml")
                .join(version)
                .join(kind);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            for f in files
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e == "xml"))
            {
                let name = format!(
                    "{version}/{kind}/{}",
                    f.file_stem().unwrap().to_string_lossy()
                );
                out.push((
                    name,
                    substitute_placeholders(&std::fs::read_to_string(&f).unwrap()),
                ));
            }
        }
    }
    out
}
