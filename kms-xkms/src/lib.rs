#![doc = include_str!("../README.md")]

pub mod dsig;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod messages;
#[cfg(feature = "service")]
pub mod service;
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

/// Why [`parse_request`] failed, with what is needed to answer: the SOAP version (when the envelope
/// was read) and the request's Id (when the Body child had one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct RequestError {
    /// The envelope's SOAP version, if the envelope was read.
    pub version: Option<SoapVersion>,
    /// The `Id` attribute of the Body child, if there was one.
    pub request_id: Option<String>,
    /// What went wrong.
    #[source]
    pub error: Error,
}

impl RequestError {
    /// The answer to send: a SOAP fault for envelope-level errors (unreadable XML, not an envelope, a
    /// mustUnderstand header, a Body without exactly one element), otherwise an XKMS `Result` with
    /// ResultMajor `Sender` and ResultMinor `MessageNotSupported` (not an XKMS request) or `Failure`
    /// (an XKMS request that does not decode).
    ///
    /// `fallback` is the SOAP version to answer in when the envelope could not be read (take it from
    /// the HTTP Content-Type); `result_id` is the fresh Id of the Result.
    #[must_use]
    pub fn answer(
        &self,
        fallback: SoapVersion,
        result_id: &str,
        service: Option<&str>,
    ) -> (SoapVersion, Vec<u8>) {
        let version = self.version.unwrap_or(fallback);
        match &self.error {
            Error::Decode(d) => {
                let minor = match d.kind {
                    DecodeErrorKind::UnsupportedMessage { .. } => {
                        messages::ResultMinor::MessageNotSupported
                    }
                    _ => messages::ResultMinor::Failure,
                };
                let mut header = messages::ResultHeader::new(
                    result_id,
                    service.map(str::to_owned),
                    messages::ResultMajor::Sender,
                );
                header.result_minor = Some(minor);
                header.request_id.clone_from(&self.request_id);
                (
                    version,
                    serialize_result(version, &XkmsResult::Result(header)),
                )
            }
            Error::Soap(s) => (version, serialize_fault(version, &s.fault())),
            other => (
                version,
                serialize_fault(version, &Fault::new(FaultCode::Sender, other.to_string())),
            ),
        }
    }
}

/// Parses a SOAP envelope holding an XKMS request.
///
/// # Errors
/// [`RequestError`]; [`RequestError::answer`] builds the fault or XKMS Result to send back.
pub fn parse_request(bytes: &[u8]) -> Result<(SoapVersion, Request), RequestError> {
    parse_request_with_limits(bytes, &Limits::default())
}

/// [`parse_request`] with explicit limits.
///
/// # Errors
/// As [`parse_request`].
pub fn parse_request_with_limits(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(SoapVersion, Request), RequestError> {
    let (version, body) = soap::parse_envelope(bytes, limits).map_err(|e| RequestError {
        version: None,
        request_id: None,
        error: Error::Soap(e),
    })?;
    match body {
        Body::Message(doc) => {
            let request_id = doc.root.attr("Id").map(str::to_owned);
            messages::decode_request(doc)
                .map(|r| (version, r))
                .map_err(|e| RequestError {
                    version: Some(version),
                    request_id,
                    error: Error::Decode(e),
                })
        }
        Body::Fault(_) => Err(RequestError {
            version: Some(version),
            request_id: None,
            error: Error::Soap(SoapError::BadEnvelope("a Fault is not a request")),
        }),
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
        let (version, body) = soap::envelope_from_document(doc)?;
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
