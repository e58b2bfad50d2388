//! Replays the committed corpus of the `message_decode` fuzz target (`fuzz/corpus/message_decode`, and
//! `fuzz/regressions/message_decode` when present) through the target's property: a message that decodes
//! re-encodes, and decode -> encode -> decode -> encode is stable.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use kms_kmip::message::{Error, RequestMessage, ResponseMessage};
use kms_kmip::ttlv::{self, Tag};

fn check<M: PartialEq + core::fmt::Debug>(
    name: &str,
    data: &[u8],
    decode: fn(&[u8]) -> Result<M, Error>,
    encode: fn(&M) -> Result<Vec<u8>, Error>,
) -> bool {
    let Ok(first) = decode(data) else {
        return false;
    };
    let bytes = match encode(&first) {
        Ok(b) => b,
        Err(Error::UnknownVersion { .. } | Error::NotInVersion { .. }) => return true,
        Err(e) => panic!("{name}: encoding a decoded message failed: {e}"),
    };
    let second =
        decode(&bytes).unwrap_or_else(|e| panic!("{name}: our own encoding does not decode: {e}"));
    assert_eq!(
        first, second,
        "{name}: decode -> encode -> decode changed the message"
    );
    assert_eq!(
        encode(&second).unwrap(),
        bytes,
        "{name}: encoding is not stable"
    );
    true
}

#[test]
fn message_decode_corpus_is_stable() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut inputs = 0;
    let mut decoded = 0;
    for dir in ["corpus/message_decode", "regressions/message_decode"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let name = path.display().to_string();
            inputs += 1;
            let ok = match ttlv::decode(&data).map(|i| i.tag()) {
                Ok(Tag::REQUEST_MESSAGE) => check(
                    &name,
                    &data,
                    RequestMessage::from_bytes,
                    RequestMessage::to_bytes,
                ),
                Ok(_) => check(
                    &name,
                    &data,
                    ResponseMessage::from_bytes,
                    ResponseMessage::to_bytes,
                ),
                Err(_) => false,
            };
            decoded += usize::from(ok);
        }
    }
    assert!(inputs >= 90, "corpus missing: {inputs} inputs");
    // The seeds are the hex vectors: all but the one non-canonical vector decode.
    assert!(
        decoded + 1 >= inputs,
        "only {decoded} of {inputs} seeds decode"
    );
}
