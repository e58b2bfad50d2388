//! HTTPS (KMIP 2.1 §13.3): `POST /kmip/2_1` with the request message as the body, in the encoding its
//! `Content-Type` names, answered `200 OK` with the response message in the same encoding. HTTP/1.1 only,
//! client certificates required as on the TLS listener; other paths (`POST /xkms`, ...) are routes to other
//! handlers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;

use super::Shared;
use crate::transport::{ClientIdentity, Encoding, KMIP_PATH, RequestHandler};

/// An HTTPS route: `POST path` with a body in one of the route's media types, answered by a handler.
#[derive(Clone)]
pub struct HttpRoute {
    path: String,
    handler: Arc<dyn RequestHandler>,
    media_types: Vec<(String, Encoding)>,
}

impl HttpRoute {
    /// A route on `path` (exactly; no prefix matching) with no media type yet.
    #[must_use]
    pub fn new(path: impl Into<String>, handler: Arc<dyn RequestHandler>) -> Self {
        Self {
            path: path.into(),
            handler,
            media_types: Vec::new(),
        }
    }

    /// The KMIP route: `POST /kmip/2_1` taking `application/octet-stream` (TTLV), `application/json` (KMIP
    /// JSON), `application/xml` and `text/xml` (KMIP XML).
    #[must_use]
    pub fn kmip(handler: Arc<dyn RequestHandler>) -> Self {
        Self::new(KMIP_PATH, handler)
            .with_media_type("application/octet-stream", Encoding::Ttlv)
            .with_media_type("application/json", Encoding::Json)
            .with_media_type("application/xml", Encoding::Xml)
            .with_media_type("text/xml", Encoding::Xml)
    }

    /// This route also taking bodies of `media_type` (compared without parameters, case-insensitively), handed
    /// to the handler as `encoding`.
    #[must_use]
    pub fn with_media_type(mut self, media_type: impl Into<String>, encoding: Encoding) -> Self {
        self.media_types.push((media_type.into(), encoding));
        self
    }

    /// The route's path.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    fn encoding_of(&self, content_type: &str) -> Option<Encoding> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        self.media_types
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(essence))
            .map(|(_, e)| *e)
            .filter(|e| self.handler.supports(*e))
    }
}

impl std::fmt::Debug for HttpRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRoute")
            .field("path", &self.path)
            .field("media_types", &self.media_types)
            .finish_non_exhaustive()
    }
}

/// Which route table a connection uses.
#[derive(Clone, Copy, Debug)]
pub(super) enum Routes {
    /// The HTTPS listener's.
    Tls,
    /// The plain-HTTP listener's.
    Plain,
}

pub(super) async fn serve<S>(
    shared: &Arc<Shared>,
    io: S,
    identity: &Arc<ClientIdentity>,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
    routes: Routes,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let limits = shared.limits;
    let service = {
        let shared = Arc::clone(shared);
        let identity = Arc::clone(identity);
        hyper::service::service_fn(move |request| {
            let shared = Arc::clone(&shared);
            let identity = Arc::clone(&identity);
            async move { Ok::<_, Infallible>(respond(&shared, &identity, request, routes).await) }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper runs the header timer whenever it waits for a request head, between keep-alive requests too, so
    // it is the idle timeout; the body has its own bound in `respond`.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout)
        .max_headers(64)
        // `Content-Length`, not `content-length`: some SOAP clients (xsec-xklient) match header names
        // case-sensitively; HTTP/1.1 allows either.
        .title_case_headers(true)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = super::stopped(&mut stop) => {
            // Finishes the request in flight, if any, then closes.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, client = %identity, error = %e, "HTTPS connection ended");
    }
}

fn status(code: StatusCode, reason: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(reason.as_bytes())));
    *response.status_mut() = code;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn respond(
    shared: &Shared,
    identity: &Arc<ClientIdentity>,
    request: Request<Incoming>,
    routes: Routes,
) -> Response<Full<Bytes>> {
    let routes = match routes {
        Routes::Tls => &shared.routes,
        Routes::Plain => &shared.http_routes,
    };
    let Some(route) = routes.iter().find(|r| r.path == request.uri().path()) else {
        return status(StatusCode::NOT_FOUND, "no such resource\n");
    };
    if request.method() != Method::POST {
        let mut response = status(StatusCode::METHOD_NOT_ALLOWED, "only POST\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let Some(encoding) = route.encoding_of(&content_type) else {
        return status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported Content-Type\n",
        );
    };
    let max = shared.limits.max_message_size;
    let announced = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > max as u64) {
        return status(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body over the size limit\n",
        );
    }
    let body = Limited::new(request.into_body(), max).collect();
    let body = match tokio::time::timeout(shared.limits.request_timeout, body).await {
        Err(_) => return status(StatusCode::REQUEST_TIMEOUT, "request body too slow\n"),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body over the size limit\n",
            );
        }
        Ok(Err(_)) => return status(StatusCode::BAD_REQUEST, "unreadable request body\n"),
        Ok(Ok(body)) => body.to_bytes(),
    };

    let (_, answer) = shared
        .call(&route.handler, identity, encoding, body.to_vec())
        .await;
    let Some(answer) = answer else {
        return status(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
    };
    let mut response = Response::new(Full::new(Bytes::from(answer)));
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let media_type =
        HeaderValue::from_str(essence).unwrap_or(HeaderValue::from_static(encoding.media_type()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, media_type);
    // Responses may carry key material: never cached.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
