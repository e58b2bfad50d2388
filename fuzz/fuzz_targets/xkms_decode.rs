//! Fuzz target: an XKMS request in a SOAP envelope, and any XKMS message (bare or enveloped, or a SOAP
//! fault). Whatever parses must serialize to something that parses back to the same serialization.

#![no_main]

use kms_xkms::messages::encode_message;
use kms_xkms::xml::write_document;
use kms_xkms::{Parsed, parse_message, parse_request, serialize_request};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((version, request)) = parse_request(data) {
        let once = serialize_request(version, &request);
        let (version2, again) = parse_request(&once).expect("our own envelope parses");
        assert_eq!(version, version2);
        assert_eq!(once, serialize_request(version2, &again), "serialize -> parse is not stable");
    }
    if let Ok(Parsed::Message(_, message)) = parse_message(data) {
        let once = write_document(&encode_message(&message));
        let Ok(Parsed::Message(None, again)) = parse_message(&once) else {
            panic!("our own encoding does not parse");
        };
        assert_eq!(once, write_document(&encode_message(&again)), "encode -> parse is not stable");
    }
});
