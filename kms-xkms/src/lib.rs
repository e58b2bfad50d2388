//! W3C XKMS 2.0 (X-KISS and X-KRSS): messages, XML codec, signatures, service and SOAP binding
//!
//! Not implemented yet: see the open issue for this crate. Nothing here is published as done.
