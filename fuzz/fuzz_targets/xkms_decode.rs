//! Fuzz target: an XKMS request in a SOAP envelope, and any XKMS message (bare or enveloped, or a SOAP
//! fault); whatever parses must serialize to something that parses back to the same serialization
//! (see `kms_xkms::fuzzing::check_decode`, which `kms-xkms/tests/fuzz_replay.rs` also runs on every
//! saved input).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_xkms::fuzzing::check_decode(data));
