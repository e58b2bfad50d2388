//! The property the `xkms_decode` fuzz target checks, shared with the test that replays its corpus
//! and regressions, so that a crash found once is checked on every test run.

use crate::messages::encode_message;
use crate::xml::write_document;
use crate::{Parsed, parse_message, parse_request, serialize_request};

/// Parses `data` as a SOAP request and as any XKMS message; whatever parses must serialize to bytes
/// that parse back to the same serialization.
///
/// # Panics
/// When the property is violated: that is the point (libFuzzer reports the panic). Parsing itself
/// never panics.
pub fn check_decode(data: &[u8]) {
    if let Ok((version, request)) = parse_request(data) {
        let once = serialize_request(version, &request);
        match parse_request(&once) {
            Ok((version2, again)) => {
                assert_eq!(version, version2, "SOAP version changed");
                assert!(
                    once == serialize_request(version2, &again),
                    "serialize -> parse -> serialize is not stable"
                );
            }
            Err(e) => panic!("our own envelope does not parse: {e}"),
        }
    }
    if let Ok(Parsed::Message(_, message)) = parse_message(data) {
        let once = write_document(&encode_message(&message));
        match parse_message(&once) {
            Ok(Parsed::Message(None, again)) => assert!(
                once == write_document(&encode_message(&again)),
                "encode -> parse -> encode is not stable"
            ),
            other => panic!("our own encoding does not parse back to a message: {other:?}"),
        }
    }
}
