//! The blocking client: std sockets and a rustls stream, no async runtime.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;

use rustls::{ClientConnection, StreamOwned};

use super::{ClientOptions, framed_length, server_name};
use crate::transport::Error;
use crate::ttlv::HEADER_LEN;

/// A blocking KMIP client: one persistent mutual-TLS connection, one request at a time.
#[derive(Debug)]
pub struct KmipClient {
    stream: StreamOwned<ClientConnection, TcpStream>,
    options: ClientOptions,
}

impl KmipClient {
    /// Connects to `addr` (`host:port`; the server certificate must name `host`) and completes the TLS
    /// handshake, presenting the client certificate of `tls`.
    ///
    /// # Errors
    ///
    /// [`Error::ServerName`] for an unusable host, [`Error::Io`] if no address can be reached or the
    /// handshake fails (a TLS refusal is an I/O error whose source is the [`rustls::Error`]),
    /// [`Error::Timeout`] past [`ClientOptions::connect_timeout`].
    pub fn connect(
        addr: &str,
        tls: Arc<rustls::ClientConfig>,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let name = server_name(addr)?;
        let mut last = None;
        let mut tcp = None;
        for sock in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&sock, options.connect_timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = match (tcp, last) {
            (Some(tcp), _) => tcp,
            (None, Some(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Err(Error::Timeout);
            }
            (None, Some(e)) => return Err(Error::Io(e)),
            (None, None) => return Err(Error::ServerName(addr.to_owned())),
        };
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(options.connect_timeout))?;
        tcp.set_write_timeout(Some(options.connect_timeout))?;
        let conn = ClientConnection::new(tls, name).map_err(Error::TlsConfig)?;
        let mut stream = StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .map_err(timeout_or_io)?;
        }
        stream
            .sock
            .set_read_timeout(Some(options.request_timeout))?;
        stream
            .sock
            .set_write_timeout(Some(options.request_timeout))?;
        Ok(Self { stream, options })
    }

    /// Sends one request message and reads its response message.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Timeout`] on the connection, [`Error::Closed`] if the server closed it
    /// before a whole response, [`Error::TooLarge`] for a response over the limit, [`Error::Framing`] for a
    /// response header that cannot be framed. After an error the connection is unusable: connect again.
    pub fn request(&mut self, request: &[u8]) -> Result<Vec<u8>, Error> {
        self.stream.write_all(request).map_err(timeout_or_io)?;
        self.stream.flush().map_err(timeout_or_io)?;
        let mut header = [0u8; HEADER_LEN];
        self.stream.read_exact(&mut header).map_err(timeout_or_io)?;
        let total = framed_length(&header, &self.options.ttlv())?;
        let mut response = Vec::with_capacity(total.min(64 * 1024));
        response.extend_from_slice(&header);
        (&mut self.stream)
            .take((total - HEADER_LEN) as u64)
            .read_to_end(&mut response)
            .map_err(timeout_or_io)?;
        if response.len() < total {
            return Err(Error::Closed);
        }
        Ok(response)
    }

    /// Closes the connection with a TLS close_notify.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the alert cannot be sent.
    pub fn close(mut self) -> Result<(), Error> {
        self.stream.conn.send_close_notify();
        self.stream.flush()?;
        while self.stream.conn.wants_write() {
            self.stream.conn.write_tls(&mut self.stream.sock)?;
        }
        Ok(())
    }
}

fn timeout_or_io(e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Error::Timeout,
        std::io::ErrorKind::UnexpectedEof => Error::Closed,
        _ => Error::Io(e),
    }
}
