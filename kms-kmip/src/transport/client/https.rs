//! The HTTPS client for `POST /kmip/2_1` (hyper, HTTP/1.1, one persistent connection).

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::time::timeout;

use super::ClientOptions;
use super::asynchronous::connect_tls;
use crate::transport::{Encoding, Error, tls};

/// An HTTPS KMIP client: one persistent mutual-TLS HTTP/1.1 connection, one request at a time.
#[derive(Debug)]
pub struct HttpsClient {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    path: String,
    options: ClientOptions,
}

impl HttpsClient {
    /// Connects to `addr` (`host:port`) for requests to the KMIP path `/kmip/2_1`. The connection is driven
    /// by a task spawned on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// As [`AsyncKmipClient::connect`](super::AsyncKmipClient::connect), and [`Error::Http`] if the HTTP
    /// handshake fails.
    pub async fn connect(
        addr: &str,
        tls: Arc<rustls::ClientConfig>,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let mut config = (*tls).clone();
        config.alpn_protocols = vec![tls::ALPN_HTTP1.to_vec()];
        let stream = connect_tls(addr, Arc::new(config), &options).await?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(Error::Http)?;
        tokio::spawn(async move {
            // Ends when the server closes or `sender` is dropped; the next request reports the failure.
            let _ = connection.await;
        });
        Ok(Self {
            sender,
            host: addr.to_owned(),
            path: crate::transport::KMIP_PATH.to_owned(),
            options,
        })
    }

    /// This client posting to `path` instead of `/kmip/2_1` (the XKMS routes of `kms serve`).
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Posts one request message in `encoding` and returns the response body.
    ///
    /// # Errors
    ///
    /// [`Error::Http`] if the exchange fails, [`Error::HttpStatus`] for a status other than 200,
    /// [`Error::TooLarge`] for a body over the limit, [`Error::Timeout`] past the request timeout.
    pub async fn request(&mut self, encoding: Encoding, body: &[u8]) -> Result<Vec<u8>, Error> {
        let max = self.options.max_message_size;
        let exchange = async {
            self.sender.ready().await.map_err(Error::Http)?;
            let request = Request::builder()
                .method(Method::POST)
                .uri(self.path.as_str())
                .header(HOST, self.host.as_str())
                .header(CONTENT_TYPE, encoding.media_type())
                .body(Full::new(Bytes::copy_from_slice(body)))
                .map_err(|_| Error::ServerName(self.host.clone()))?;
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(Error::Http)?;
            if response.status() != StatusCode::OK {
                return Err(Error::HttpStatus {
                    status: response.status().as_u16(),
                });
            }
            let body = Limited::new(response.into_body(), max)
                .collect()
                .await
                .map_err(|e| match e.downcast::<hyper::Error>() {
                    Ok(e) => Error::Http(*e),
                    Err(_) => Error::TooLarge {
                        length: max + 1,
                        max,
                    },
                })?;
            Ok(body.to_bytes().to_vec())
        };
        timeout(self.options.request_timeout, exchange)
            .await
            .map_err(|_| Error::Timeout)?
    }
}
