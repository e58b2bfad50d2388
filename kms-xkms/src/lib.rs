//! W3C XKMS 2.0 (X-KISS and X-KRSS): messages, XML codec, signatures and SOAP binding (sans I/O).

pub mod dsig;
pub mod error;
pub mod shared_secret;
pub mod xml;

pub use error::{CryptoError, DecodeError, DecodeErrorKind, Error, SignatureError, XmlError, XmlErrorKind};
