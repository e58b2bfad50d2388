//! KeyBackend over TPM 2.0 (tss-esapi), platform attestation and a TPM-sealed root key
//!
//! Not implemented yet: see the open issue for this crate. Nothing here is published as done.
