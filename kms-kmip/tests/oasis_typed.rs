//! Every request and response of the OASIS KMIP Profiles 1.4 and 2.1 test cases parses into the typed model
//! and typed-encodes back to the same TTLV bytes: XML → generic tree (the `xml` module) → TTLV → typed
//! decode → typed encode. Placeholders are substituted as `ttlv_support::substitute_placeholders` documents.

#![cfg(feature = "xml")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "ttlv_support/mod.rs"]
mod support;

use std::collections::BTreeMap;

use kms_kmip::message::enums::Operation;
use kms_kmip::message::{RawItem, RequestMessage, ResponseMessage};
use kms_kmip::ttlv::Tag;
use kms_kmip::xml;

/// Test cases that do not go through the typed model as published, with the reason. The test checks they
/// still fail, so that a fix is noticed.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

/// The profile family of a test case: `CS-BC` for `CS-BC-M-GCM-1-21`, `BL` for `BL-M-1-21`.
fn family(name: &str) -> String {
    let stem = name.rsplit('/').next().unwrap_or(name);
    let cut = stem
        .find("-M-")
        .or_else(|| stem.find("-O-"))
        .unwrap_or(stem.len());
    let version = if name.starts_with("v1.4") {
        "1.4"
    } else {
        "2.1"
    };
    format!("{version} {}", &stem[..cut])
}

/// Operations whose payloads the model keeps untyped on purpose (the PKCS#11 pass-through of KMIP 2.1).
const UNTYPED_OPERATIONS: &[Operation] = &[Operation::PKCS_11];

/// Typed decode and encode; fails if the bytes differ, or if a payload of a typed operation was not fully
/// typed (kept as a raw item, or with children the model does not define).
fn typed_round_trip(ttlv: &[u8], tag: Tag) -> Result<(), String> {
    let untyped = |op: Option<Operation>, ext: Option<&[RawItem]>| -> Result<(), String> {
        match (op, ext) {
            (Some(op), _) if UNTYPED_OPERATIONS.contains(&op) => Ok(()),
            (_, Some([])) => Ok(()),
            (_, None) => Err(format!("payload of {op:?} not typed")),
            (_, Some(ext)) => Err(format!(
                "payload of {op:?} has items the model does not define: {ext:?}"
            )),
        }
    };
    // Deeper down (attributes, key material, nested structures) an untyped item shows as `Other(Node ...)`
    // or a non-empty `extensions` list in the Debug form; only the untyped operations may have any.
    let untyped_inside = |debug: String, ops: Vec<Option<Operation>>| -> Result<(), String> {
        if ops
            .iter()
            .any(|op| op.is_some_and(|op| UNTYPED_OPERATIONS.contains(&op)))
        {
            return Ok(());
        }
        match debug
            .find("Other(Node")
            .or_else(|| debug.find("extensions: [Node"))
        {
            None => Ok(()),
            Some(i) => Err(format!(
                "untyped item: {}",
                debug[i..].chars().take(160).collect::<String>()
            )),
        }
    };
    let again = if tag == Tag::REQUEST_MESSAGE {
        let m = RequestMessage::from_bytes(ttlv).map_err(|e| e.to_string())?;
        for b in &m.batch_items {
            untyped(Some(b.operation), b.payload.extensions())?;
        }
        untyped_inside(
            format!("{m:?}"),
            m.batch_items.iter().map(|b| Some(b.operation)).collect(),
        )?;
        m.to_bytes()
    } else {
        let m = ResponseMessage::from_bytes(ttlv).map_err(|e| e.to_string())?;
        for b in &m.batch_items {
            if let Some(p) = &b.payload {
                untyped(b.operation, p.extensions())?;
            }
        }
        untyped_inside(
            format!("{m:?}"),
            m.batch_items.iter().map(|b| b.operation).collect(),
        )?;
        m.to_bytes()
    }
    .map_err(|e| e.to_string())?;
    if again == ttlv {
        Ok(())
    } else {
        Err("typed re-encoding differs".into())
    }
}

#[test]
fn every_oasis_message_round_trips_through_the_typed_model() {
    let files = support::oasis_files();
    assert!(files.len() >= 160, "test cases missing: {}", files.len());
    // family -> (messages passed, messages, files passed, files)
    let mut counts: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (name, text) in &files {
        let expected = EXPECTED_FAILURES.iter().find(|(n, _)| name.ends_with(n));
        let entry = counts.entry(family(name)).or_default();
        entry.3 += 1;
        let mut file_errors = Vec::new();
        match xml::from_str_all(text) {
            Err(e) => file_errors.push(format!("XML: {e}")),
            Ok(nodes) => {
                for (i, node) in nodes.iter().enumerate() {
                    entry.1 += 1;
                    let result = node
                        .to_bytes()
                        .map_err(|e| e.to_string())
                        .and_then(|ttlv| typed_round_trip(&ttlv, node.tag));
                    match result {
                        Ok(()) => entry.0 += 1,
                        Err(e) => file_errors.push(format!("message {i} ({}): {e}", node.tag)),
                    }
                }
            }
        }
        match (file_errors.is_empty(), expected) {
            (true, None) => entry.2 += 1,
            (false, None) => failures.push(format!("{name}: {}", file_errors.join("; "))),
            (true, Some((_, why))) => {
                failures.push(format!("{name}: listed as failing ({why}) but passes"))
            }
            (false, Some(_)) => {}
        }
    }
    let (mut mp, mut mt, mut fp, mut ft) = (0, 0, 0, 0);
    for (fam, (m_ok, m, f_ok, f)) in &counts {
        eprintln!("typed OASIS {fam:<16} messages {m_ok:>4}/{m:<4} test cases {f_ok:>3}/{f}");
        mp += m_ok;
        mt += m;
        fp += f_ok;
        ft += f;
    }
    eprintln!("typed OASIS total            messages {mp:>4}/{mt:<4} test cases {fp:>3}/{ft}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
