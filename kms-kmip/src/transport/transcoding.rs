//! [`Transcoding`]: serves KMIP JSON and KMIP XML (features `json`, `xml`) with a handler that speaks TTLV,
//! by way of the generic tree: request JSON/XML -> tree -> TTLV -> handler -> TTLV -> tree -> JSON/XML.

use super::{ClientIdentity, Encoding, RequestHandler, ResultReason, error_response};
use crate::ttlv::{self, Node};

/// Wraps a TTLV handler so that it also answers the JSON and XML encodings this build has.
///
/// A JSON or XML body that cannot be read as a KMIP message is answered with Invalid Message, in the body's
/// encoding.
#[derive(Debug)]
pub struct Transcoding<H> {
    inner: H,
    limits: ttlv::Limits,
}

impl<H: RequestHandler> Transcoding<H> {
    /// `inner` (which must support TTLV) also answering JSON and XML, decoded within `limits`.
    pub const fn new(inner: H, limits: ttlv::Limits) -> Self {
        Self { inner, limits }
    }

    /// The TTLV handler.
    pub const fn inner(&self) -> &H {
        &self.inner
    }

    fn request_as_ttlv(&self, encoding: Encoding, request: &[u8]) -> Option<Vec<u8>> {
        if encoding == Encoding::Ttlv {
            return Some(request.to_vec());
        }
        let text = core::str::from_utf8(request).ok()?;
        let node = match encoding {
            #[cfg(feature = "json")]
            Encoding::Json => crate::json::from_str_with(text, &self.limits).ok()?,
            #[cfg(feature = "xml")]
            Encoding::Xml => crate::xml::from_str_with(text, &self.limits).ok()?,
            _ => return None,
        };
        let bytes = node.to_bytes().ok()?;
        (bytes.len() <= self.limits.max_message_size()).then_some(bytes)
    }

    fn response_as(&self, encoding: Encoding, response: &[u8]) -> Option<Vec<u8>> {
        let node = Node::decode_with(response, &self.limits).ok()?;
        match encoding {
            Encoding::Ttlv => Some(response.to_vec()),
            #[cfg(feature = "json")]
            Encoding::Json => Some(crate::json::to_string(&node).into_bytes()),
            #[cfg(feature = "xml")]
            Encoding::Xml => crate::xml::to_string(&node).ok().map(String::into_bytes),
            // Reached in builds with only one of the text encodings.
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

impl<H: RequestHandler> RequestHandler for Transcoding<H> {
    fn handle(&self, identity: &ClientIdentity, encoding: Encoding, request: &[u8]) -> Vec<u8> {
        if encoding == Encoding::Ttlv {
            return self.inner.handle(identity, encoding, request);
        }
        let response = match self.request_as_ttlv(encoding, request) {
            Some(ttlv) => self.inner.handle(identity, Encoding::Ttlv, &ttlv),
            None => error_response(
                &[],
                &self.limits,
                ResultReason::InvalidMessage,
                "unreadable request message",
            ),
        };
        self.response_as(encoding, &response).unwrap_or_else(|| {
            // The inner handler's answer has no rendering in this encoding (XML cannot carry some characters).
            let failure = error_response(
                &[],
                &self.limits,
                ResultReason::GeneralFailure,
                "unencodable response",
            );
            self.response_as(encoding, &failure).unwrap_or_default()
        })
    }

    fn may_block(&self, encoding: Encoding, request: &[u8]) -> bool {
        // Transcoding itself never waits; what the inner handler does with the request is its call (asked
        // about the TTLV form only when the request already is TTLV).
        encoding != Encoding::Ttlv || self.inner.may_block(encoding, request)
    }

    fn supports(&self, encoding: Encoding) -> bool {
        match encoding {
            Encoding::Ttlv => self.inner.supports(Encoding::Ttlv),
            Encoding::Json => cfg!(feature = "json"),
            Encoding::Xml => cfg!(feature = "xml"),
        }
    }
}
