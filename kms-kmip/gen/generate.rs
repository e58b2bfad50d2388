//! Generator of `kms-kmip/src/tags/generated.rs` from the tables in `kms-kmip/gen/input/`.
//!
//! Run by the test `ttlv_tags_generated` (it fails when the checked-in file is stale, and rewrites it when
//! `KMS_KMIP_REGENERATE=1`), so downstream builds need no generator and no build script.
//!
//! Inputs: `kmip-1.4.json` and `kmip-2.0-additions.json` (the spec tables as published, see
//! `THALES-KMIP-GO-LICENSE.txt`), `kmip-2.1-additions.json` (what KMIP 2.1 adds, read from its specification)
//! and `versions.json` (which version defines what).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// The input files, as text.
pub struct Inputs<'a> {
    pub kmip_1_4: &'a str,
    pub kmip_2_0: &'a str,
    pub kmip_2_1: &'a str,
    pub versions: &'a str,
}

const VERSIONS: [&str; 7] = ["1.0", "1.1", "1.2", "1.3", "1.4", "2.0", "2.1"];

fn version_index(v: &str) -> usize {
    VERSIONS
        .iter()
        .position(|x| *x == v)
        .unwrap_or_else(|| panic!("unknown version {v}"))
}

/// Bits for the versions from `since` (index) to `until` (index), inclusive.
fn bits(since: usize, until: usize) -> u8 {
    (since..=until).fold(0u8, |b, i| b | (1 << i))
}

fn number(v: &Value) -> u32 {
    match v {
        Value::Number(n) => u32::try_from(n.as_u64().expect("non-negative")).expect("fits u32"),
        Value::String(s) => {
            let h = s.trim_start_matches("0x").trim_start_matches("0X");
            u32::from_str_radix(h, 16).unwrap_or_else(|_| panic!("bad hex {s}"))
        }
        Value::Object(o) => number(o.get("value").expect("value")),
        _ => panic!("bad number {v}"),
    }
}

/// The KMIP Profiles "Normalizing Names" rules for the XML and JSON encodings:
/// 1. round brackets become spaces;
/// 2. a non-word character followed by a letter and a lower-case letter becomes a space (`On-line` -> `On line`);
/// 3. the remaining non-word characters other than spaces become `_` (`SHA-256` -> `SHA_256`);
/// 4. leading digits of the first word move to its end (`3DES` -> `DES3`);
/// 5. every word gets an upper-case first letter; 6. the words are joined without spaces.
pub fn normalize(name: &str) -> String {
    let chars: Vec<char> = name
        .chars()
        .map(|c| if c == '(' || c == ')' { ' ' } else { c })
        .collect();
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut s = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !is_word(c) && !c.is_whitespace() {
            let next_is_word_start = matches!(chars.get(i + 1), Some(a) if a.is_ascii_alphabetic())
                && matches!(chars.get(i + 2), Some(b) if b.is_ascii_lowercase());
            s.push(if next_is_word_start { ' ' } else { '_' });
        } else {
            s.push(c);
        }
    }
    let mut out = String::new();
    for (i, word) in s.split_whitespace().enumerate() {
        let mut w = word.to_owned();
        if i == 0 {
            let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() {
                w = format!("{}{}", &w[digits.len()..], digits);
            }
        }
        let mut cs = w.chars();
        if let Some(f) = cs.next() {
            out.extend(f.to_uppercase());
            out.push_str(cs.as_str());
        }
    }
    out
}

/// `Activation Date` -> `ACTIVATION_DATE`, `X.509 Certificate Identifier` -> `X_509_CERTIFICATE_IDENTIFIER`.
fn constant_name(spec_name: &str) -> String {
    let mut out = String::new();
    for c in spec_name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

struct TagRow {
    value: u32,
    spec_name: String,
    versions: u8,
}

struct EnumRow {
    name: String,
    is_mask: bool,
    tags: Vec<String>,
    /// value -> (spec name, versions)
    values: BTreeMap<u32, (String, u8)>,
}

/// Produces the text of `generated.rs`.
pub fn generate(inputs: &Inputs<'_>) -> String {
    let v14: Value = serde_json::from_str(inputs.kmip_1_4).expect("kmip-1.4.json");
    let v20: Value = serde_json::from_str(inputs.kmip_2_0).expect("kmip-2.0-additions.json");
    let v21: Value = serde_json::from_str(inputs.kmip_2_1).expect("kmip-2.1-additions.json");
    let ver: Value = serde_json::from_str(inputs.versions).expect("versions.json");
    let last = VERSIONS.len() - 1;
    let v2_0 = version_index("2.0");

    let ranges: Vec<(u32, u32, usize)> = ver["tag_ranges"]
        .as_array()
        .expect("tag_ranges")
        .iter()
        .map(|r| {
            (
                number(&r["first"]),
                number(&r["last"]),
                version_index(r["since"].as_str().expect("since")),
            )
        })
        .collect();
    let removed_tags: Vec<&str> = ver["removed_in_2_0"]["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let removed_values = &ver["removed_in_2_0"]["enum_values"];

    // Tags.
    let mut tags: BTreeMap<u32, TagRow> = BTreeMap::new();
    for table in [&v14, &v20] {
        for (name, v) in table["tags"].as_object().expect("tags") {
            let value = number(v);
            let since = ranges
                .iter()
                .find(|(a, b, _)| (*a..=*b).contains(&value))
                .map(|r| r.2)
                .unwrap_or_else(|| {
                    panic!("tag {name} 0x{value:06X} is in no range of versions.json")
                });
            let until = if removed_tags.contains(&name.as_str()) {
                v2_0 - 1
            } else {
                last
            };
            tags.insert(
                value,
                TagRow {
                    value,
                    spec_name: name.clone(),
                    versions: bits(since, until),
                },
            );
        }
    }
    for (name, v) in v21["tags"].as_object().expect("tags") {
        let value = number(v);
        let since = version_index(v.get("since").and_then(Value::as_str).unwrap_or("2.1"));
        tags.insert(
            value,
            TagRow {
                value,
                spec_name: name.clone(),
                versions: bits(since, last),
            },
        );
    }
    let tag_by_spec_name: BTreeMap<&str, &TagRow> =
        tags.values().map(|t| (t.spec_name.as_str(), t)).collect();
    let tag_since = |spec_name: &str| -> usize {
        let t = tag_by_spec_name
            .get(spec_name)
            .unwrap_or_else(|| panic!("enumeration tag {spec_name} unknown"));
        (0..=last)
            .find(|i| t.versions & (1 << i) != 0)
            .expect("some version")
    };

    // Enumerations and masks: 1.4 values dated by their tag, 2.0-only values 2.0+, 2.1 additions as they say.
    let mut enums: BTreeMap<String, EnumRow> = BTreeMap::new();
    for (table, key, is_mask) in [
        (&v14, "enums", false),
        (&v14, "masks", true),
        (&v20, "enums", false),
        (&v20, "masks", true),
    ] {
        let is_20 = std::ptr::eq(table, &v20);
        for e in table[key].as_array().expect("enums") {
            let name = e["name"].as_str().expect("name").to_owned();
            let tags_of: Vec<String> = e["tags"]
                .as_array()
                .expect("tags")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            let row = enums.entry(name.clone()).or_insert_with(|| EnumRow {
                name: name.clone(),
                is_mask,
                tags: Vec::new(),
                values: BTreeMap::new(),
            });
            for t in &tags_of {
                if !row.tags.contains(t) && tag_by_spec_name.contains_key(t.as_str()) {
                    row.tags.push(t.clone());
                }
            }
            let since = row.tags.iter().map(|t| tag_since(t)).min().unwrap_or(v2_0);
            let removed: Vec<&str> = removed_values
                .get(&name)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let Some(values) = e.get("values").and_then(Value::as_object) else {
                continue;
            };
            for (vname, v) in values {
                let value = number(v);
                if row.values.contains_key(&value) {
                    continue;
                }
                let first = if is_20 { v2_0.max(since) } else { since };
                let until = if removed.contains(&vname.as_str()) {
                    v2_0 - 1
                } else {
                    last
                };
                row.values
                    .insert(value, (vname.clone(), bits(first, until)));
            }
        }
    }
    for (key, is_mask) in [("enums", false), ("masks", true)] {
        for e in v21[key].as_array().expect("enums") {
            let name = e["name"].as_str().expect("name").to_owned();
            let row = enums.entry(name.clone()).or_insert_with(|| EnumRow {
                name: name.clone(),
                is_mask,
                tags: Vec::new(),
                values: BTreeMap::new(),
            });
            for t in e
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !row.tags.iter().any(|x| x == t) {
                    row.tags.push(t.to_owned());
                }
            }
            for (vname, v) in e["values"].as_object().expect("values") {
                let since = version_index(v.get("since").and_then(Value::as_str).unwrap_or("2.1"));
                row.values
                    .entry(number(v))
                    .or_insert_with(|| (vname.clone(), bits(since, last)));
            }
        }
    }

    // Which enumeration each tag carries.
    let enum_list: Vec<&EnumRow> = enums.values().collect();
    let mut tag_enums: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, e) in enum_list.iter().enumerate() {
        for t in &e.tags {
            if let Some(row) = tag_by_spec_name.get(t.as_str()) {
                tag_enums.insert(row.value, i);
            }
        }
    }

    // Output.
    let mut o = String::new();
    o.push_str(
        "// @generated by kms-kmip/gen/generate.rs from kms-kmip/gen/input/*.json. Do not edit.\n",
    );
    o.push_str("// Regenerate: KMS_KMIP_REGENERATE=1 cargo test -p kms-kmip --test ttlv_tags_generated\n\n");
    o.push_str("use super::{EnumInfo, TagInfo, ValueInfo, Versions};\nuse crate::ttlv::{ItemType, Tag};\n\n");

    let mut seen_consts = BTreeMap::new();
    o.push_str("impl Tag {\n");
    for t in tags.values() {
        let c = constant_name(&t.spec_name);
        assert!(
            seen_consts.insert(c.clone(), t.value).is_none(),
            "duplicate constant {c}"
        );
        let _ = writeln!(o, "    /// {} (0x{:06X}).", t.spec_name, t.value);
        let _ = writeln!(
            o,
            "    pub const {c}: Tag = Tag::from_raw(0x{:06X});",
            t.value
        );
    }
    o.push_str("}\n\n");

    let _ = writeln!(o, "pub(super) static TAGS: [TagInfo; {}] = [", tags.len());
    for t in tags.values() {
        let item_type = match tag_enums.get(&t.value).map(|i| enum_list[*i].is_mask) {
            Some(false) => "Some(ItemType::Enumeration)",
            Some(true) => "Some(ItemType::Integer)",
            None => "None",
        };
        let _ = writeln!(
            o,
            "    TagInfo {{ tag: Tag::from_raw(0x{:06X}), name: {:?}, spec_name: {:?}, versions: Versions::from_bits(0x{:02X}), item_type: {item_type} }},",
            t.value,
            normalize(&t.spec_name),
            t.spec_name,
            t.versions
        );
    }
    o.push_str("];\n\n");

    let mut by_name: Vec<(String, usize)> = tags
        .values()
        .enumerate()
        .map(|(i, t)| (normalize(&t.spec_name), i))
        .collect();
    by_name.sort();
    for w in by_name.windows(2) {
        assert_ne!(w[0].0, w[1].0, "two tags normalise to the same name");
    }
    let _ = writeln!(
        o,
        "pub(super) static TAGS_BY_NAME: [(&str, u16); {}] = [",
        by_name.len()
    );
    for (n, i) in &by_name {
        let _ = writeln!(o, "    ({n:?}, {i}),");
    }
    o.push_str("];\n\n");

    let _ = writeln!(
        o,
        "pub(super) static ENUMS: [EnumInfo; {}] = [",
        enum_list.len()
    );
    for e in &enum_list {
        let _ = writeln!(
            o,
            "    EnumInfo {{ name: {:?}, is_mask: {}, values: &[",
            normalize(&e.name),
            e.is_mask
        );
        for (v, (n, bits)) in &e.values {
            let _ = writeln!(
                o,
                "        ValueInfo {{ value: 0x{v:08X}, name: {:?}, versions: Versions::from_bits(0x{bits:02X}) }},",
                normalize(n)
            );
        }
        o.push_str("    ] },\n");
    }
    o.push_str("];\n\n");

    let _ = writeln!(
        o,
        "pub(super) static TAG_ENUMS: [(Tag, u16); {}] = [",
        tag_enums.len()
    );
    for (t, i) in &tag_enums {
        let _ = writeln!(o, "    (Tag::from_raw(0x{t:06X}), {i}),");
    }
    o.push_str("];\n");
    o
}
