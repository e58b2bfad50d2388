//! Fuzz target: any bytes as a `POST /xkms` body to `XkmsService` over an in-memory KeyManager; the
//! answer is always an enveloped XKMS result or a SOAP fault, and nothing panics (see
//! `kms_xkms::fuzzing::check_service`, which `kms-xkms/tests/fuzz_replay.rs` also runs on every saved input).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_xkms::fuzzing::check_service(data));
