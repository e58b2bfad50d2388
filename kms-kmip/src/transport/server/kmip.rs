//! KMIP TTLV over mutual TLS (KMIP 2.1 §12): a stream of request messages, each framed by its own 8-byte
//! TTLV header, each answered by one response message, in order.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, timeout_at};
use tokio_rustls::server::TlsStream;

use super::Shared;
use crate::transport::{ClientIdentity, Encoding, ResultReason, error_response};
use crate::ttlv::{self, HEADER_LEN};

/// Why a connection ends, for the log.
#[derive(Debug)]
enum Close {
    PeerClosed,
    Idle,
    Shutdown,
    SlowRequest,
    SlowResponse,
    Io(std::io::Error),
    Unframeable(ttlv::Error),
    TooLarge(ttlv::Error),
    HandlerPanicked,
}

impl std::fmt::Display for Close {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PeerClosed => f.write_str("closed by the client"),
            Self::Idle => f.write_str("idle timeout"),
            Self::Shutdown => f.write_str("server shutting down"),
            Self::SlowRequest => f.write_str("request not received within the request timeout"),
            Self::SlowResponse => f.write_str("response not taken within the request timeout"),
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Unframeable(e) => write!(f, "unframeable message: {e}"),
            Self::TooLarge(e) => write!(f, "refused: {e}"),
            Self::HandlerPanicked => f.write_str("request handler failed"),
        }
    }
}

pub(super) async fn serve(
    shared: &Shared,
    mut tls: TlsStream<TcpStream>,
    identity: &Arc<ClientIdentity>,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    let close = loop {
        match one_request(shared, &mut tls, identity, &mut stop).await {
            Ok(()) => {
                if *stop.borrow() {
                    break Close::Shutdown;
                }
            }
            Err(close) => break close,
        }
    };
    match &close {
        Close::PeerClosed | Close::Shutdown => {
            tracing::debug!(%peer, client = %identity, %close, "closing")
        }
        _ => tracing::info!(%peer, client = %identity, %close, "closing"),
    }
    // close_notify, so the client can tell a clean end from a truncation; bounded like any write.
    let deadline = Instant::now() + shared.limits.request_timeout;
    let _ = timeout_at(deadline, tls.shutdown()).await;
    if matches!(close, Close::TooLarge(_)) {
        linger(&mut tls, shared.limits.max_message_size).await;
    }
}

/// After refusing an oversized request, reads and drops what the client is still sending, for a bounded
/// amount and time: closing a socket with unread data makes the kernel reset the connection, which can
/// destroy the refusal before the client has read it ("lingering close", as HTTP servers do).
async fn linger(tls: &mut TlsStream<TcpStream>, max_bytes: usize) {
    const LINGER: std::time::Duration = std::time::Duration::from_secs(2);
    let deadline = Instant::now() + LINGER;
    let mut discarded = 0usize;
    let mut sink = [0u8; 16 * 1024];
    while discarded < max_bytes {
        match timeout_at(deadline, tls.get_mut().0.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => discarded += n,
            _ => break,
        }
    }
}

/// Reads one request, has it handled and writes the response.
async fn one_request(
    shared: &Shared,
    tls: &mut TlsStream<TcpStream>,
    identity: &Arc<ClientIdentity>,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), Close> {
    let limits = &shared.limits;
    let mut header = [0u8; HEADER_LEN];

    // Between requests the connection is idle: shutdown and the idle timeout may end it here, and only here.
    let idle_deadline = Instant::now() + limits.idle_timeout;
    let first = tokio::select! {
        biased;
        () = super::stopped(stop) => return Err(Close::Shutdown),
        read = timeout_at(idle_deadline, tls.read(&mut header)) => read,
    };
    let got = match first {
        Err(_) => return Err(Close::Idle),
        Ok(Ok(0)) => return Err(Close::PeerClosed),
        Ok(Ok(n)) => n,
        // Many clients (PyKMIP among them) close without close_notify between requests: an ordinary end.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(Close::PeerClosed);
        }
        Ok(Err(e)) => return Err(Close::Io(e)),
    };

    // From its first byte on, a request must arrive whole within the request timeout (slow-read bound).
    let deadline = Instant::now() + limits.request_timeout;
    read_exact_by(tls, &mut header[got..], deadline).await?;

    let ttlv_limits = limits.ttlv();
    let total = match ttlv::message_length(&header, &ttlv_limits) {
        Ok(Some(total)) => total,
        // `message_length` has the 8 bytes it needs.
        Ok(None) => return Err(Close::PeerClosed),
        Err(e @ ttlv::Error::TooLarge { .. }) => {
            // The header is a well-formed TTLV header, so the client gets a KMIP answer; but its body is never
            // read, so the stream cannot be resynchronised and the connection ends.
            let response = error_response(
                &header,
                &ttlv_limits,
                ResultReason::InvalidMessage,
                &e.to_string(),
            );
            write_by(tls, &response, Instant::now() + limits.request_timeout).await?;
            return Err(Close::TooLarge(e));
        }
        // An unknown item type: the length cannot be trusted, nothing can be answered reliably.
        Err(e) => return Err(Close::Unframeable(e)),
    };

    // The body is read as it arrives, so memory follows what the client actually sent, not what it announced.
    let mut request = Vec::with_capacity(total.min(64 * 1024));
    request.extend_from_slice(&header);
    let body_len = (total - HEADER_LEN) as u64;
    match timeout_at(
        deadline,
        (&mut *tls).take(body_len).read_to_end(&mut request),
    )
    .await
    {
        Err(_) => return Err(Close::SlowRequest),
        Ok(Err(e)) => return Err(Close::Io(e)),
        Ok(Ok(_)) if request.len() < total => return Err(Close::PeerClosed),
        Ok(Ok(_)) => {}
    }

    let (request, response) = shared
        .call(&shared.handler, identity, Encoding::Ttlv, request)
        .await;
    let response = match response {
        Some(response) => response,
        None => {
            let response = error_response(
                &request,
                &ttlv_limits,
                ResultReason::GeneralFailure,
                "internal error",
            );
            write_by(tls, &response, Instant::now() + limits.request_timeout).await?;
            return Err(Close::HandlerPanicked);
        }
    };
    write_by(tls, &response, Instant::now() + limits.request_timeout).await
}

async fn read_exact_by(
    tls: &mut TlsStream<TcpStream>,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<(), Close> {
    match timeout_at(deadline, tls.read_exact(buf)).await {
        Err(_) => Err(Close::SlowRequest),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Close::PeerClosed),
        Ok(Err(e)) => Err(Close::Io(e)),
    }
}

async fn write_by(
    tls: &mut TlsStream<TcpStream>,
    bytes: &[u8],
    deadline: Instant,
) -> Result<(), Close> {
    let write = async {
        tls.write_all(bytes).await?;
        tls.flush().await
    };
    match timeout_at(deadline, write).await {
        Err(_) => Err(Close::SlowResponse),
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Close::Io(e)),
    }
}
