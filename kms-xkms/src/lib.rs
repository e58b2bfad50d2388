//! W3C XKMS 2.0 (X-KISS and X-KRSS) without I/O: the message model and its XML codec, the XML
//! Signature and XML Encryption subset XKMS needs, the limited-use shared-secret algorithm, and the
//! SOAP 1.2 / 1.1 binding.
//!
//! ```
//! use kms_xkms::{SoapVersion, parse_request, serialize_result};
//! use kms_xkms::messages::{LocateResult, Request, ResultHeader, ResultMajor, ResultMinor, XkmsResult};
//!
//! let soap = br#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>
//!   <LocateRequest xmlns="http://www.w3.org/2002/03/xkms#" Id="I1" Service="http://example.org/xkms">
//!     <QueryKeyBinding><KeyUsage>http://www.w3.org/2002/03/xkms#Signature</KeyUsage></QueryKeyBinding>
//!   </LocateRequest></env:Body></env:Envelope>"#;
//! let (version, request) = parse_request(soap)?;
//! assert_eq!(version, SoapVersion::Soap12);
//! let Request::Locate(locate) = request else { unreachable!() };
//!
//! let mut header = ResultHeader::new("R1", locate.header.message.service.clone(), ResultMajor::Sender);
//! header.result_minor = Some(ResultMinor::NoMatch);
//! header.request_id = Some(locate.header.message.id.clone());
//! let answer = XkmsResult::Locate(LocateResult { header, unverified_key_bindings: vec![] });
//! let bytes = serialize_result(version, &answer);
//! assert!(std::str::from_utf8(&bytes)?.contains("xkms#NoMatch"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Limits (DESIGN.md): no DTD at all, only the five predefined entities, depth 64, 1 MiB per document,
//! bounded attribute, text, name and element counts ([`xml::Limits`]).

pub mod dsig;
pub mod error;
pub mod messages;
pub mod shared_secret;
pub mod soap;
pub mod xenc;
pub mod xml;

pub use error::{
    CryptoError, DecodeError, DecodeErrorKind, Error, SignatureError, XmlError, XmlErrorKind,
};
pub use soap::{Fault, FaultCode, SoapError, SoapVersion};

use messages::{Message, Request, XkmsResult};
use soap::Body;
use xml::Limits;

/// Parses a SOAP envelope holding an XKMS request.
///
/// # Errors
/// [`Error::Soap`] for envelope problems (answer with [`SoapError::fault`] via [`serialize_fault`]);
/// [`Error::Decode`] when the Body child is not a valid XKMS request (answer with an XKMS Result:
/// `Sender`/`MessageNotSupported` for [`DecodeErrorKind::UnsupportedMessage`], `Sender`/`Failure`
/// otherwise).
pub fn parse_request(bytes: &[u8]) -> Result<(SoapVersion, Request), Error> {
    parse_request_with_limits(bytes, &Limits::default())
}

/// [`parse_request`] with explicit limits.
///
/// # Errors
/// As [`parse_request`].
pub fn parse_request_with_limits(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(SoapVersion, Request), Error> {
    let (version, body) = soap::parse_envelope(bytes, limits)?;
    match body {
        Body::Message(doc) => Ok((version, messages::decode_request(doc)?)),
        Body::Fault(_) => Err(Error::Soap(SoapError::BadEnvelope(
            "a Fault is not a request",
        ))),
    }
}

/// What [`parse_message`] found.
// Built once per parse and matched at once: boxing the message would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// An XKMS message, with the SOAP version if it came in an envelope.
    Message(Option<SoapVersion>, Message),
    /// A SOAP fault.
    Fault(SoapVersion, Fault),
}

/// Parses any XKMS message, bare or in a SOAP envelope, or a SOAP fault (the client side, and
/// tests).
///
/// # Errors
/// [`Error::Xml`], [`Error::Soap`] or [`Error::Decode`].
pub fn parse_message(bytes: &[u8]) -> Result<Parsed, Error> {
    let limits = Limits::default();
    let doc = xml::parse(bytes, &limits)?;
    if doc.root.local == "Envelope" {
        // Parsed twice: envelopes are small and the envelope parser owns its own checks.
        let (version, body) = soap::parse_envelope(bytes, &limits)?;
        return match body {
            Body::Message(d) => Ok(Parsed::Message(Some(version), messages::decode_message(d)?)),
            Body::Fault(f) => Ok(Parsed::Fault(version, f)),
        };
    }
    Ok(Parsed::Message(None, messages::decode_message(doc)?))
}

/// Serializes a result in a SOAP envelope of `version`.
#[must_use]
pub fn serialize_result(version: SoapVersion, result: &XkmsResult) -> Vec<u8> {
    soap::envelope(version, messages::encode_result(result))
}

/// Serializes a request in a SOAP envelope of `version` (the client side, and tests).
#[must_use]
pub fn serialize_request(version: SoapVersion, request: &Request) -> Vec<u8> {
    soap::envelope(version, messages::encode_request(request))
}

/// Serializes a SOAP fault.
#[must_use]
pub fn serialize_fault(version: SoapVersion, fault: &Fault) -> Vec<u8> {
    soap::fault_envelope(version, fault)
}
