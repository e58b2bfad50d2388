//! KMIP clients: [`KmipClient`] (blocking, std sockets and rustls, no runtime), [`AsyncKmipClient`]
//! (tokio), both TTLV over mutual TLS on one persistent connection, and [`HttpsClient`] (tokio, hyper) for
//! `POST /kmip/2_1`.
//!
//! Every client reads a response as the server reads a request: the 8-byte TTLV header first, its length
//! checked against [`ClientOptions::max_message_size`] before the body is read.
//!
//! ```no_run
//! # fn example() -> Result<(), kms_kmip::transport::Error> {
//! use std::path::Path;
//! use kms_kmip::transport::client::{ClientOptions, KmipClient};
//! use kms_kmip::transport::tls;
//!
//! let tls = tls::client_config_from_pem(
//!     Path::new("kms-data/certs/ca.pem"),
//!     Path::new("kms-data/certs/admin.pem"),
//!     Path::new("kms-data/certs/admin.key"),
//! )?;
//! let mut client = KmipClient::connect("127.0.0.1:5696", tls, ClientOptions::default())?;
//! # let request_message = Vec::new();
//! let response_message = client.request(&request_message)?;
//! # Ok(()) }
//! ```

mod asynchronous;
mod blocking;
mod https;

use std::time::Duration;

use rustls::pki_types::ServerName;

pub use asynchronous::AsyncKmipClient;
pub use blocking::KmipClient;
pub use https::HttpsClient;

use super::Error;

/// Options of the clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Largest response accepted, header included (16 MiB by default, as the server's request limit).
    pub max_message_size: usize,
    /// Bound on connecting (TCP and TLS handshake).
    pub connect_timeout: Duration,
    /// Bound on sending a request and receiving its whole response.
    pub request_timeout: Duration,
}

impl ClientOptions {
    /// The defaults: 16 MiB, 10 s to connect, 60 s per request.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_message_size: super::Limits::DEFAULT_MAX_MESSAGE_SIZE,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
        }
    }

    /// These options with another response size limit.
    #[must_use]
    pub const fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// These options with another connect timeout.
    #[must_use]
    pub const fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// These options with another per-request timeout.
    #[must_use]
    pub const fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    fn ttlv(&self) -> crate::ttlv::Limits {
        crate::ttlv::Limits::new().with_max_message_size(self.max_message_size)
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// The TLS server name of `addr` (`host:port`, `[v6]:port`): its host part, a DNS name or an IP address,
/// which the server certificate must name.
///
/// # Errors
///
/// [`Error::ServerName`] if the host part is neither.
pub fn server_name(addr: &str) -> Result<ServerName<'static>, Error> {
    let host = match addr.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => addr,
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(host)
        .map(|name| name.to_owned())
        .map_err(|_| Error::ServerName(addr.to_owned()))
}

/// The length of the message whose header is `header`, checked against `limits`.
fn framed_length(
    header: &[u8; crate::ttlv::HEADER_LEN],
    limits: &crate::ttlv::Limits,
) -> Result<usize, Error> {
    crate::ttlv::message_length(header, limits)?.ok_or(Error::Closed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn server_names_from_addresses() {
        assert_eq!(
            server_name("127.0.0.1:5696").unwrap(),
            ServerName::try_from("127.0.0.1").unwrap()
        );
        assert_eq!(
            server_name("localhost:8443").unwrap(),
            ServerName::try_from("localhost").unwrap()
        );
        assert_eq!(
            server_name("[::1]:5696").unwrap(),
            ServerName::try_from("::1").unwrap()
        );
        assert_eq!(
            server_name("kms.example").unwrap(),
            ServerName::try_from("kms.example").unwrap()
        );
        assert!(server_name("bad name:5696").is_err());
    }
}
