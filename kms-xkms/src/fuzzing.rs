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

/// Answers `data` with an [`XkmsService`](crate::service::XkmsService) over an in-memory KeyManager
/// (one per process, holding a registered key and an outstanding pass phrase, so that lookups and
/// authentication run); the answer must be a SOAP envelope holding an XKMS result or a fault.
///
/// # Panics
/// When the property is violated.
#[cfg(feature = "service")]
pub fn check_service(data: &[u8]) {
    use std::sync::{Arc, OnceLock};

    use crate::SoapVersion;
    use crate::messages::Message;
    use crate::service::XkmsService;

    static SERVICE: OnceLock<Option<XkmsService>> = OnceLock::new();
    let service = SERVICE.get_or_init(|| {
        let manager = kms_core::KeyManager::builder(Arc::new(kms_core::MemoryStore::new()))
            .backend(Arc::new(kms_core::SoftwareBackend::new()))
            .build()
            .ok()?;
        let service = XkmsService::new(Arc::new(manager)).ok()?;
        // The Recommendation's Alice, so that its messages find a pass phrase to check against.
        service.issue_pass_phrase("Alice Aardvark").ok()?;
        Some(service)
    });
    let Some(service) = service else {
        panic!("the in-memory service did not start")
    };
    let (_, answer) = service.handle_soap(data, SoapVersion::Soap12);
    match parse_message(&answer) {
        Ok(Parsed::Message(Some(_), Message::Result(_)) | Parsed::Fault(..)) => {}
        other => panic!("the answer is not an enveloped result or fault: {other:?}"),
    }
}
