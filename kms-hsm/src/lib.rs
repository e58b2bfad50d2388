//! KeyBackend over PKCS#11 hardware security modules (cryptoki)
//!
//! Not implemented yet: see the open issue for this crate. Nothing here is published as done.
