//! OASIS KMIP for the kms crate family: codecs with no I/O and no dependency on the rest of the family.
//!
//! - [`ttlv`]: the binary TTLV encoding: a zero-copy reader, a writer, a generic tree, limits and errors.
//! - [`tags`]: the tags, enumerations and masks of KMIP 1.0-2.1, generated from the specification tables.
//! - `xml`, `json` (features of the same names, on by default): the KMIP XML and JSON encodings of the
//!   generic tree, as the KMIP Profiles specification defines them.
//! - `service` (feature `service`, implied by `server`): the KMIP service over a kms-core `KeyManager`.

#[cfg(feature = "json")]
pub mod json;
pub mod message;
#[cfg(feature = "service")]
pub mod service;
pub mod tags;
#[cfg(any(feature = "server", feature = "client"))]
pub mod transport;
pub mod ttlv;
#[cfg(feature = "xml")]
pub mod xml;
