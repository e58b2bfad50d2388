//! Typed decode then typed encode of every hex message of the vectors (NLnet Labs, PyKMIP, vCenter traffic)
//! gives back the same bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "ttlv_support/mod.rs"]
mod support;

use kms_kmip::message::{Error, RawItem, RequestMessage, ResponseMessage};
use kms_kmip::ttlv::{self, Tag};

/// Vectors that are not canonical, with the reason; the test checks they still fail the round trip.
const EXPECTED_FAILURES: &[(&str, &str)] = &[(
    "kmip_1_0_usecase_8_1_step_1_create_rsa_1024_key_pair_response",
    "the Create Key Pair response carries two Unique Identifier (0x420094) items where KMIP 1.0 §4.2 requires \
     Private Key Unique Identifier (0x420066) and Public Key Unique Identifier (0x42006F)",
)];

/// Typed decode and encode of one whole message (request or response, by its tag); fails too if a payload
/// was not fully typed (kept raw, or with children the model does not define).
fn typed_round_trip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let typed = |ext: Option<&[RawItem]>| match ext {
        Some([]) => Ok(()),
        Some(ext) => Err(format!("payload items the model does not define: {ext:?}")),
        None => Err("payload not typed".to_owned()),
    };
    let tag = ttlv::decode(bytes).map_err(|e| e.to_string())?.tag();
    let out: Result<Vec<u8>, Error> = if tag == Tag::REQUEST_MESSAGE {
        let m = RequestMessage::from_bytes(bytes).map_err(|e| e.to_string())?;
        for b in &m.batch_items {
            typed(b.payload.extensions())?;
        }
        m.to_bytes()
    } else {
        let m = ResponseMessage::from_bytes(bytes).map_err(|e| e.to_string())?;
        for p in m.batch_items.iter().filter_map(|b| b.payload.as_ref()) {
            typed(p.extensions())?;
        }
        m.to_bytes()
    };
    out.map_err(|e| e.to_string())
}

#[test]
fn every_hex_message_round_trips_through_the_typed_model() {
    let messages = support::hex_messages();
    assert!(messages.len() >= 90, "vectors missing: {}", messages.len());
    let mut passed = 0;
    let mut failures = Vec::new();
    for (name, bytes) in &messages {
        let expected = EXPECTED_FAILURES.iter().find(|(n, _)| name.contains(n));
        let result = match typed_round_trip(bytes) {
            Ok(again) if &again == bytes => Ok(()),
            Ok(again) => Err(format!(
                "re-encoding differs\n  in:  {}\n  out: {}",
                hex(bytes),
                hex(&again)
            )),
            Err(e) => Err(e),
        };
        match (result, expected) {
            (Ok(()), None) => passed += 1,
            (Err(e), None) => failures.push(format!("{name}: {e}")),
            (Ok(()), Some((_, why))) => failures.push(format!(
                "{name}: listed as non-canonical ({why}) but passes"
            )),
            (Err(_), Some(_)) => {}
        }
    }
    eprintln!(
        "typed hex vectors: {passed} of {} round-trip byte-exact ({} expected failures)",
        messages.len(),
        EXPECTED_FAILURES.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
