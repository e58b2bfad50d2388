//! Transports: KMIP over mutual TLS (KMIP 2.1 §12, "TTLV over TLS") and HTTPS `POST /kmip/2_1`
//! (KMIP 2.1 §13.3, "HTTPS"), behind the features `server` and `client`.
//!
//! The transports are thin: framing, TLS, the caller's identity, limits and timeouts. What a request means is
//! decided by a [`RequestHandler`], a synchronous, sans-I/O boundary (bytes in, bytes out), so the protocol
//! service can be tested without sockets and the transports without a key manager.
//!
//! - [`tls`]: rustls configurations (TLS 1.2 and 1.3 only, ring provider, client certificates required by
//!   the server) and PEM loading.
//! - `server` (feature `server`): the KMIP listener and the HTTPS listener, sharing one connection cap, one
//!   bounded handler pool and one graceful shutdown.
//! - `client` (feature `client`): blocking and async KMIP clients, an async HTTPS client.
//!
//! # Identity
//!
//! The caller's identity is the **Common Name** of the subject of its client certificate (the first CN when
//! the subject has several); the whole subject, RFC 4514 rendered, is kept beside it for audit. A client
//! certificate without a Common Name is refused after the handshake: the CA is the authority on names, and
//! the CN is what `kms cert issue --cn NAME` sets. Admin identities are a configured list of names.

mod error;
pub mod tls;

#[cfg(feature = "server")]
mod response;
#[cfg(feature = "server")]
pub mod server;
#[cfg(all(feature = "server", any(feature = "json", feature = "xml")))]
mod transcoding;

#[cfg(feature = "client")]
pub mod client;

use core::fmt;
use std::time::Duration;

pub use error::Error;
#[cfg(feature = "server")]
pub use response::{OperationNotSupported, ResultReason, error_response};
/// The TLS library of the transports, for building and inspecting configurations.
pub use rustls;
#[cfg(all(feature = "server", any(feature = "json", feature = "xml")))]
pub use transcoding::Transcoding;

/// The path of the KMIP HTTPS binding (KMIP 2.1 §13.3): `POST /kmip/2_1`.
pub const KMIP_PATH: &str = "/kmip/2_1";

/// The encoding of a KMIP message (KMIP 2.1 §10, and the XML and JSON encodings of the KMIP Profiles).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Binary TTLV (`application/octet-stream` over HTTPS, the only encoding of the TLS listener).
    Ttlv,
    /// KMIP JSON (`application/json`).
    Json,
    /// KMIP XML (`application/xml` or `text/xml`).
    Xml,
}

impl Encoding {
    /// The media type this encoding is sent with over HTTPS.
    #[must_use]
    pub const fn media_type(self) -> &'static str {
        match self {
            Self::Ttlv => "application/octet-stream",
            Self::Json => "application/json",
            Self::Xml => "application/xml",
        }
    }

    /// The encoding of an HTTP `Content-Type` value (parameters such as `charset` are ignored), or `None`.
    #[must_use]
    pub fn from_media_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/octet-stream") {
            Some(Self::Ttlv)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Self::Json)
        } else if essence.eq_ignore_ascii_case("application/xml")
            || essence.eq_ignore_ascii_case("text/xml")
        {
            Some(Self::Xml)
        } else {
            None
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ttlv => "TTLV",
            Self::Json => "JSON",
            Self::Xml => "XML",
        })
    }
}

/// Who sent a request: taken from the verified client certificate by the server transports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientIdentity {
    name: String,
    subject: String,
    admin: bool,
}

impl ClientIdentity {
    /// An identity named `name` (the certificate's subject Common Name), with the full `subject`
    /// distinguished name, and whether the configuration lists it as an admin.
    #[must_use]
    pub fn new(name: impl Into<String>, subject: impl Into<String>, admin: bool) -> Self {
        Self {
            name: name.into(),
            subject: subject.into(),
            admin,
        }
    }

    /// The identity of a request on the plain-HTTP listener: no certificate, an empty name, never an admin.
    #[must_use]
    pub fn anonymous() -> Self {
        Self::new("", "", false)
    }

    /// The caller's name: the Common Name of its certificate's subject.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The certificate's whole subject, RFC 4514 rendered (`CN=alice,O=Example`), for audit records.
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// True if the configuration names this identity as an administrator.
    #[must_use]
    pub const fn is_admin(&self) -> bool {
        self.admin
    }
}

impl fmt::Display for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The sans-I/O boundary between the transports and the KMIP service: one complete request message in, one
/// complete response message out, in the same encoding.
///
/// Handlers are synchronous (the key manager below them is): the server calls them on a bounded pool of
/// blocking threads, never on the async workers. A handler answers every request it is given, malformed ones
/// included (with a KMIP error response such as Invalid Message); the transports already refused what cannot
/// be framed (too large, unknown item type in the header) before the handler sees it.
pub trait RequestHandler: Send + Sync + 'static {
    /// Answers one request message from `identity`, encoded as `encoding`, with a response message in the same
    /// encoding.
    fn handle(&self, identity: &ClientIdentity, encoding: Encoding, request: &[u8]) -> Vec<u8>;

    /// True if [`handle`](Self::handle) understands `encoding`. HTTPS requests in another encoding are
    /// refused with `415 Unsupported Media Type` before reaching the handler. The default claims TTLV only.
    fn supports(&self, encoding: Encoding) -> bool {
        encoding == Encoding::Ttlv
    }

    /// False if answering `request` surely takes no more than a few microseconds of CPU and never waits (no
    /// disk, no lock held by a slow call, no HSM or TPM round trip): the server then calls the handler on the
    /// async worker, saving two thread hand-offs. The default, true, always uses the blocking pool.
    fn may_block(&self, encoding: Encoding, request: &[u8]) -> bool {
        let _ = (encoding, request);
        true
    }
}

impl<H: RequestHandler + ?Sized> RequestHandler for std::sync::Arc<H> {
    fn handle(&self, identity: &ClientIdentity, encoding: Encoding, request: &[u8]) -> Vec<u8> {
        (**self).handle(identity, encoding, request)
    }

    fn supports(&self, encoding: Encoding) -> bool {
        (**self).supports(encoding)
    }

    fn may_block(&self, encoding: Encoding, request: &[u8]) -> bool {
        (**self).may_block(encoding, request)
    }
}

/// Limits and timeouts of the transports. The defaults follow DESIGN.md (16 MiB messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest request or response message, header included, in bytes; larger ones are refused from their
    /// length field, before the body is read. Also the HTTPS body limit.
    pub max_message_size: usize,
    /// Most connections open at once, KMIP and HTTPS together; further ones are closed right after `accept`.
    pub max_connections: usize,
    /// Most handler calls running at once (the blocking pool's bound).
    pub max_concurrent_requests: usize,
    /// How long a connection may wait for the first byte of its next request.
    pub idle_timeout: Duration,
    /// How long the TLS handshake may take.
    pub handshake_timeout: Duration,
    /// How long a request may take to arrive once its first byte has, and a response to be written: the
    /// slow-read (and slow-write) bound.
    pub request_timeout: Duration,
    /// How long shutdown waits for in-flight requests before giving up on them.
    pub shutdown_grace: Duration,
}

impl Limits {
    /// 16 MiB, DESIGN.md's TTLV message limit.
    pub const DEFAULT_MAX_MESSAGE_SIZE: usize = crate::ttlv::Limits::DEFAULT_MAX_MESSAGE_SIZE;

    /// The defaults: 16 MiB messages, 1024 connections, 64 concurrent requests, 5 minutes idle, 10 s
    /// handshake, 30 s per request, 30 s shutdown grace.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
            max_connections: 1024,
            max_concurrent_requests: 64,
            idle_timeout: Duration::from_secs(300),
            handshake_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }

    /// These limits with another maximum message size.
    #[must_use]
    pub const fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// These limits with another connection cap.
    #[must_use]
    pub const fn with_max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// These limits with another bound on concurrent handler calls.
    #[must_use]
    pub const fn with_max_concurrent_requests(mut self, requests: usize) -> Self {
        self.max_concurrent_requests = requests;
        self
    }

    /// These limits with another idle timeout.
    #[must_use]
    pub const fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// These limits with another handshake timeout.
    #[must_use]
    pub const fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// These limits with another per-request timeout.
    #[must_use]
    pub const fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// These limits with another shutdown grace period.
    #[must_use]
    pub const fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// The longest duration the server uses: longer settings are treated as this (30 days), so that deadline
    /// arithmetic can never overflow whatever the configuration.
    pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

    /// These limits made safe to compute with: durations capped at [`Self::MAX_DURATION`], counts at what a
    /// tokio semaphore holds, at least one concurrent request.
    #[cfg(feature = "server")]
    pub(crate) fn clamped(self) -> Self {
        let max_permits = tokio::sync::Semaphore::MAX_PERMITS;
        Self {
            max_message_size: self.max_message_size,
            max_connections: self.max_connections.min(max_permits),
            max_concurrent_requests: self.max_concurrent_requests.clamp(1, max_permits),
            idle_timeout: self.idle_timeout.min(Self::MAX_DURATION),
            handshake_timeout: self.handshake_timeout.min(Self::MAX_DURATION),
            request_timeout: self.request_timeout.min(Self::MAX_DURATION),
            shutdown_grace: self.shutdown_grace.min(Self::MAX_DURATION),
        }
    }

    /// The TTLV decoder limits matching these transport limits.
    #[must_use]
    pub const fn ttlv(&self) -> crate::ttlv::Limits {
        crate::ttlv::Limits::new().with_max_message_size(self.max_message_size)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn media_types_map_to_encodings() {
        assert_eq!(
            Encoding::from_media_type("application/octet-stream"),
            Some(Encoding::Ttlv)
        );
        assert_eq!(
            Encoding::from_media_type("application/json; charset=utf-8"),
            Some(Encoding::Json)
        );
        assert_eq!(
            Encoding::from_media_type("Application/XML"),
            Some(Encoding::Xml)
        );
        assert_eq!(Encoding::from_media_type("text/xml"), Some(Encoding::Xml));
        assert_eq!(Encoding::from_media_type("text/plain"), None);
        assert_eq!(Encoding::from_media_type(""), None);
        for e in [Encoding::Ttlv, Encoding::Json, Encoding::Xml] {
            assert_eq!(Encoding::from_media_type(e.media_type()), Some(e));
        }
    }
}
