//! Fuzz target: ttlv decode, then decode -> encode -> decode stability (see `kms_fuzz::check_ttlv`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_fuzz::check_ttlv(data));
