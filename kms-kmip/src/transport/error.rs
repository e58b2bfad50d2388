//! The transport error: rich, keeping its source (I/O, TLS, HTTP), never carrying key material.

use std::path::PathBuf;

/// A transport failure: configuration (PEM files, TLS), I/O, framing or HTTP.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or parsing a PEM file failed.
    #[error("cannot read {what} from {path}")]
    Pem {
        /// What was expected ("certificate", "private key").
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// A PEM file holds no certificate.
    #[error("no certificate in {0}")]
    NoCertificate(PathBuf),
    /// rustls refused the configuration (a key that does not match its certificate, ...).
    #[error("TLS configuration")]
    TlsConfig(#[source] rustls::Error),
    /// The client certificate verifier could not be built from the CA certificates.
    #[error("client certificate verifier")]
    Verifier(#[source] rustls::server::VerifierBuilderError),
    /// A CA certificate could not be added to the trust store.
    #[error("CA certificate")]
    TrustAnchor(#[source] rustls::Error),
    /// The server name (host part of the address) is not a DNS name or an IP address.
    #[error("invalid server name {0:?}")]
    ServerName(String),
    /// A socket or TLS stream failed.
    #[error("I/O")]
    Io(#[from] std::io::Error),
    /// A time limit passed (connect, handshake, read or write).
    #[error("timed out")]
    Timeout,
    /// The peer closed the connection before a complete message.
    #[error("connection closed by the peer")]
    Closed,
    /// A message header announces more than the configured limit.
    #[error("message of {length} bytes is over the {max} byte limit")]
    TooLarge {
        /// The announced length, header included.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// A message header cannot be framed (unknown item type, ...).
    #[error("unframeable message")]
    Framing(#[source] crate::ttlv::Error),
    /// An HTTP exchange failed.
    #[error("HTTP")]
    Http(#[source] hyper::Error),
    /// The HTTPS server answered with a status other than 200 OK.
    #[error("HTTP status {status}")]
    HttpStatus {
        /// The status code.
        status: u16,
    },
}

impl From<crate::ttlv::Error> for Error {
    fn from(e: crate::ttlv::Error) -> Self {
        match e {
            crate::ttlv::Error::TooLarge { length, max, .. } => Self::TooLarge { length, max },
            other => Self::Framing(other),
        }
    }
}
