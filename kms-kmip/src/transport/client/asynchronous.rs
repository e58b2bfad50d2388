//! The async client (tokio).

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{ClientOptions, framed_length, server_name};
use crate::transport::Error;
use crate::ttlv::HEADER_LEN;

/// An async KMIP client: one persistent mutual-TLS connection, one request at a time (`&mut self`); open
/// several for concurrency.
#[derive(Debug)]
pub struct AsyncKmipClient {
    stream: TlsStream<TcpStream>,
    options: ClientOptions,
}

/// Opens a TCP connection to `addr` and completes a TLS handshake on it, within the connect timeout.
pub(super) async fn connect_tls(
    addr: &str,
    tls: Arc<rustls::ClientConfig>,
    options: &ClientOptions,
) -> Result<TlsStream<TcpStream>, Error> {
    let name = server_name(addr)?;
    let connect = async {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        TlsConnector::from(tls).connect(name, tcp).await
    };
    timeout(options.connect_timeout, connect)
        .await
        .map_err(|_| Error::Timeout)?
        .map_err(Error::Io)
}

impl AsyncKmipClient {
    /// Connects to `addr` (`host:port`; the server certificate must name `host`) and completes the TLS
    /// handshake, presenting the client certificate of `tls`.
    ///
    /// # Errors
    ///
    /// [`Error::ServerName`] for an unusable host, [`Error::Io`] if the address cannot be reached or the
    /// handshake fails, [`Error::Timeout`] past [`ClientOptions::connect_timeout`].
    pub async fn connect(
        addr: &str,
        tls: Arc<rustls::ClientConfig>,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let stream = connect_tls(addr, tls, &options).await?;
        Ok(Self { stream, options })
    }

    /// Sends one request message and reads its response message.
    ///
    /// # Errors
    ///
    /// As [`KmipClient::request`](super::KmipClient::request).
    pub async fn request(&mut self, request: &[u8]) -> Result<Vec<u8>, Error> {
        let limits = self.options.ttlv();
        let exchange = async {
            self.stream.write_all(request).await?;
            self.stream.flush().await?;
            let mut header = [0u8; HEADER_LEN];
            match self.stream.read_exact(&mut header).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(Error::Closed);
                }
                Err(e) => return Err(Error::Io(e)),
            }
            let total = framed_length(&header, &limits)?;
            let mut response = Vec::with_capacity(total.min(64 * 1024));
            response.extend_from_slice(&header);
            (&mut self.stream)
                .take((total - HEADER_LEN) as u64)
                .read_to_end(&mut response)
                .await?;
            if response.len() < total {
                return Err(Error::Closed);
            }
            Ok(response)
        };
        timeout(self.options.request_timeout, exchange)
            .await
            .map_err(|_| Error::Timeout)?
    }

    /// Closes the connection with a TLS close_notify.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the alert cannot be sent.
    pub async fn close(mut self) -> Result<(), Error> {
        self.stream.shutdown().await?;
        Ok(())
    }
}
