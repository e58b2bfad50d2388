//! The KMIP server transports: TTLV over mutual TLS, and HTTPS `POST /kmip/2_1`, over one [`RequestHandler`].
//!
//! Both listeners share one connection cap, one bounded pool of blocking threads for the handler, and one
//! graceful shutdown: once [`ShutdownHandle::shutdown`] is called, the listeners stop accepting, every
//! connection finishes the request it is in (read, handled, answered) and closes, and [`Server::run`] returns
//! when all have, or when [`Limits::shutdown_grace`] has passed.
//!
//! ```no_run
//! # async fn example() -> Result<(), kms_kmip::transport::Error> {
//! use std::path::Path;
//! use kms_kmip::transport::{Limits, OperationNotSupported, tls};
//! use kms_kmip::transport::server::{Server, ServerConfig};
//!
//! let tls = tls::server_config_from_pem(Path::new("ca.pem"), Path::new("server.pem"), Path::new("server.key"))?;
//! let config = ServerConfig::new(tls).with_admins(["admin"]).with_limits(Limits::default());
//! let server = Server::builder(config, OperationNotSupported::default())
//!     .kmip("127.0.0.1:5696".parse().unwrap())
//!     .https("127.0.0.1:8443".parse().unwrap())
//!     .bind()
//!     .await?;
//! let shutdown = server.shutdown_handle();
//! tokio::spawn(async move {
//!     let _ = tokio::signal::ctrl_c().await;
//!     shutdown.shutdown();
//! });
//! server.run().await;
//! # Ok(()) }
//! ```

mod https;
mod kmip;

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

pub use https::HttpRoute;

use super::{ClientIdentity, Encoding, Error, Limits, RequestHandler, tls};

/// How a server is configured: its TLS configuration, its admin identities and its limits.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    tls: Arc<rustls::ServerConfig>,
    admins: Vec<String>,
    limits: Limits,
}

impl ServerConfig {
    /// A configuration serving `tls` (see [`tls::server_config`]), with no admins and the default limits.
    #[must_use]
    pub fn new(tls: Arc<rustls::ServerConfig>) -> Self {
        Self {
            tls,
            admins: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// This configuration with `admins` as the admin identities (certificate Common Names).
    #[must_use]
    pub fn with_admins<I, S>(mut self, admins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.admins = admins.into_iter().map(Into::into).collect();
        self
    }

    /// This configuration with other limits.
    #[must_use]
    pub const fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits.
    #[must_use]
    pub const fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// Builds a [`Server`]: which listeners, which HTTPS routes.
pub struct ServerBuilder {
    config: ServerConfig,
    handler: Arc<dyn RequestHandler>,
    kmip: Option<SocketAddr>,
    https: Option<SocketAddr>,
    routes: Vec<HttpRoute>,
    http: Option<SocketAddr>,
    http_routes: Vec<HttpRoute>,
}

impl ServerBuilder {
    /// Serves KMIP TTLV over mutual TLS on `addr` (port 0 picks a free port).
    #[must_use]
    pub const fn kmip(mut self, addr: SocketAddr) -> Self {
        self.kmip = Some(addr);
        self
    }

    /// Serves HTTPS on `addr`, with the route `POST /kmip/2_1` to the server's handler and any added
    /// with [`route`](Self::route).
    #[must_use]
    pub const fn https(mut self, addr: SocketAddr) -> Self {
        self.https = Some(addr);
        self
    }

    /// Adds an HTTPS route (`POST /xkms`, ...). A route on a path already taken replaces it.
    #[must_use]
    pub fn route(mut self, route: HttpRoute) -> Self {
        self.routes.retain(|r| r.path() != route.path());
        self.routes.push(route);
        self
    }

    /// Serves plain HTTP (no TLS, no client certificate) on `addr` with only the routes added with
    /// [`http_route`](Self::http_route), never KMIP: for protocols whose messages carry their own security
    /// (XKMS signatures and pass phrases). Their handlers see the identity [`ClientIdentity::anonymous`].
    #[must_use]
    pub const fn http(mut self, addr: SocketAddr) -> Self {
        self.http = Some(addr);
        self
    }

    /// Adds a route to the plain-HTTP listener. A route on a path already taken replaces it.
    #[must_use]
    pub fn http_route(mut self, route: HttpRoute) -> Self {
        self.http_routes.retain(|r| r.path() != route.path());
        self.http_routes.push(route);
        self
    }

    /// Binds the listeners.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if an address cannot be bound.
    pub async fn bind(self) -> Result<Server, Error> {
        let kmip = match self.kmip {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let https = match self.https {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let http = match self.http {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let mut https_tls = (*self.config.tls).clone();
        https_tls.alpn_protocols = vec![tls::ALPN_HTTP1.to_vec()];
        let limits = self.config.limits.clamped();
        let shared = Arc::new(Shared {
            kmip_tls: TlsAcceptor::from(self.config.tls),
            https_tls: TlsAcceptor::from(Arc::new(https_tls)),
            admins: self.config.admins,
            limits,
            handler: self.handler,
            routes: self.routes,
            http_routes: self.http_routes,
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            workers: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
        });
        let (shutdown, _) = watch::channel(false);
        Ok(Server {
            kmip,
            https,
            http,
            shared,
            shutdown: Arc::new(shutdown),
        })
    }
}

/// What every connection task shares.
struct Shared {
    kmip_tls: TlsAcceptor,
    https_tls: TlsAcceptor,
    admins: Vec<String>,
    limits: Limits,
    handler: Arc<dyn RequestHandler>,
    routes: Vec<HttpRoute>,
    http_routes: Vec<HttpRoute>,
    connections: Arc<Semaphore>,
    workers: Arc<Semaphore>,
}

impl Shared {
    /// Calls `handler` on the bounded blocking pool, or right here when it says the request cannot block.
    /// `None` if it panicked (a bug, reported and contained).
    async fn call(
        &self,
        handler: &Arc<dyn RequestHandler>,
        identity: &Arc<ClientIdentity>,
        encoding: Encoding,
        request: Vec<u8>,
    ) -> (Vec<u8>, Option<Vec<u8>>) {
        if !handler.may_block(encoding, &request) {
            let response = std::panic::catch_unwind(AssertUnwindSafe(|| {
                handler.handle(identity, encoding, &request)
            }))
            .ok();
            if response.is_none() {
                tracing::error!("request handler panicked");
            }
            return (request, response);
        }
        // The semaphore is never closed, so acquiring only fails if it were: answer as for a panic.
        let Ok(permit) = Arc::clone(&self.workers).acquire_owned().await else {
            return (request, None);
        };
        let handler = Arc::clone(handler);
        let identity = Arc::clone(identity);
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let response = std::panic::catch_unwind(AssertUnwindSafe(|| {
                handler.handle(&identity, encoding, &request)
            }))
            .ok();
            (request, response)
        })
        .await;
        match joined {
            Ok((request, response)) => {
                if response.is_none() {
                    tracing::error!("request handler panicked");
                }
                (request, response)
            }
            Err(e) => {
                tracing::error!(error = %e, "request handler task failed");
                (Vec::new(), None)
            }
        }
    }

    /// The identity of the client of an established TLS connection.
    fn identity(&self, tls: &TlsStream<TcpStream>) -> Option<ClientIdentity> {
        let cert = tls.get_ref().1.peer_certificates()?.first()?;
        tls::client_identity(cert, &self.admins)
    }
}

/// A running pair of listeners. Drive it with [`run`](Self::run); stop it with a [`ShutdownHandle`].
pub struct Server {
    kmip: Option<TcpListener>,
    https: Option<TcpListener>,
    http: Option<TcpListener>,
    shared: Arc<Shared>,
    shutdown: Arc<watch::Sender<bool>>,
}

/// Stops a [`Server`] gracefully; cheap to clone, usable from any thread.
#[derive(Clone, Debug)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    /// Asks the server to stop accepting, finish in-flight requests and return from [`Server::run`].
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }
}

#[derive(Clone, Copy, Debug)]
enum Listener {
    Kmip,
    Https,
    Http,
}

impl Server {
    /// A builder for a server answering KMIP (TTLV over TLS, and `POST /kmip/2_1`) with `handler`.
    #[must_use]
    pub fn builder(config: ServerConfig, handler: impl RequestHandler) -> ServerBuilder {
        let handler: Arc<dyn RequestHandler> = Arc::new(handler);
        ServerBuilder {
            config,
            routes: vec![HttpRoute::kmip(Arc::clone(&handler))],
            handler,
            kmip: None,
            https: None,
            http: None,
            http_routes: Vec::new(),
        }
    }

    /// The bound address of the KMIP listener.
    #[must_use]
    pub fn kmip_addr(&self) -> Option<SocketAddr> {
        self.kmip.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The bound address of the HTTPS listener.
    #[must_use]
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The bound address of the plain-HTTP listener.
    #[must_use]
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// A handle that stops this server.
    #[must_use]
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(Arc::clone(&self.shutdown))
    }

    /// Accepts and serves connections until shut down, then waits for in-flight requests to finish (at most
    /// [`Limits::shutdown_grace`]). Returns true if every connection finished within the grace period.
    pub async fn run(self) -> bool {
        let mut stop = self.shutdown.subscribe();
        // Every connection task holds a sender; `recv` returns `None` once all are gone.
        let (drain_tx, mut drain_rx) = mpsc::channel::<()>(1);
        loop {
            let (listener, accepted) = tokio::select! {
                biased;
                () = stopped(&mut stop) => break,
                r = accept(self.kmip.as_ref()) => (Listener::Kmip, r),
                r = accept(self.https.as_ref()) => (Listener::Https, r),
                r = accept(self.http.as_ref()) => (Listener::Http, r),
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&self.shared.connections).try_acquire_owned() else {
                tracing::warn!(%peer, max = self.shared.limits.max_connections, "connection cap reached, refused");
                drop(tcp);
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let shared = Arc::clone(&self.shared);
            let stop = self.shutdown.subscribe();
            let drain = drain_tx.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let _drain = drain;
                connection(shared, listener, tcp, peer, stop).await;
            });
        }
        drop(self.kmip);
        drop(self.https);
        drop(self.http);
        drop(drain_tx);
        tracing::info!("stopped accepting; finishing in-flight requests");
        let drained = tokio::time::timeout(self.shared.limits.shutdown_grace, drain_rx.recv())
            .await
            .is_ok();
        if !drained {
            tracing::warn!("shutdown grace period over with connections still open");
        }
        drained
    }
}

/// Resolves once shutdown is asked for. Unlike `wait_for`, holds no lock guard, so futures awaiting it
/// stay `Send`.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn accept(listener: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

async fn connection(
    shared: Arc<Shared>,
    listener: Listener,
    tcp: TcpStream,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
) {
    let acceptor = match listener {
        Listener::Kmip => &shared.kmip_tls,
        Listener::Https => &shared.https_tls,
        Listener::Http => {
            let identity = Arc::new(ClientIdentity::anonymous());
            tracing::debug!(%peer, "plain HTTP connection open");
            https::serve(&shared, tcp, &identity, peer, stop, https::Routes::Plain).await;
            tracing::debug!(%peer, "plain HTTP connection closed");
            return;
        }
    };
    let tls =
        match tokio::time::timeout(shared.limits.handshake_timeout, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::info!(%peer, ?listener, error = %e, "TLS handshake refused");
                return;
            }
            Err(_) => {
                tracing::info!(%peer, ?listener, "TLS handshake timed out");
                return;
            }
        };
    let Some(identity) = shared.identity(&tls) else {
        tracing::warn!(%peer, "client certificate has no usable subject Common Name; closing");
        return;
    };
    let identity = Arc::new(identity);
    tracing::debug!(%peer, ?listener, client = %identity, admin = identity.is_admin(), "connection open");
    match listener {
        Listener::Kmip => kmip::serve(&shared, tls, &identity, peer, stop).await,
        Listener::Https => {
            https::serve(&shared, tls, &identity, peer, stop, https::Routes::Tls).await;
        }
        Listener::Http => {}
    }
    tracing::debug!(%peer, client = %identity, "connection closed");
}
