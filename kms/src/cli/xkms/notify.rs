//! XKMS PendingNotification over HTTP for `kms serve`: the notification's SOAP 1.2 envelope POSTed to the
//! `http://` URL the client named.
//!
//! The URL is the client's to choose, so it is treated as hostile (server-side request forgery): `http:` only
//! (the notification carries nothing secret: a StatusResult naming the client's own request), no user info,
//! every address the host resolves to checked and the connection made to exactly those (no second lookup for
//! DNS rebinding to slip between), loopback, private, link-local and other non-public addresses refused unless
//! `--xkms-notify-allow-internal`, redirects never followed, 5 s to connect, 10 s per attempt, three attempts
//! (none after a refusal or a 4xx), at most 32 deliveries at once, and only the status line of the answer read.
//! Mail (`urn:ietf:rfc:822`) has no relay here: the service refuses it with OptionalElementNotSupported.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use kms_xkms::service::{Notification, NotificationTarget, Notifier, NotifyError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::time::timeout;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const ATTEMPTS: u32 = 3;
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(2);
const MAX_IN_FLIGHT: usize = 32;
/// Most bytes of the answer read, to find its status line.
const MAX_STATUS_LINE: usize = 1024;

/// Delivers HTTP notifications on the server's runtime.
pub struct HttpNotifier {
    allow_internal: bool,
    in_flight: Arc<Semaphore>,
    runtime: Handle,
}

impl HttpNotifier {
    /// A notifier spawning its deliveries on `runtime`; `allow_internal` lets them reach non-public addresses.
    pub fn new(runtime: Handle, allow_internal: bool) -> Self {
        Self {
            allow_internal,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            runtime,
        }
    }
}

impl Notifier for HttpNotifier {
    fn supports(&self, target: &NotificationTarget) -> bool {
        matches!(target, NotificationTarget::Http(url) if HttpUrl::parse(url).is_some())
    }

    fn notify(&self, notification: Notification) -> Result<(), NotifyError> {
        let NotificationTarget::Http(url) = &notification.target else {
            return Err(NotifyError::Unsupported);
        };
        let url = HttpUrl::parse(url).ok_or(NotifyError::Unsupported)?;
        let permit = Arc::clone(&self.in_flight)
            .try_acquire_owned()
            .map_err(|_| NotifyError::Busy)?;
        let allow_internal = self.allow_internal;
        self.runtime.spawn(async move {
            deliver(&url, &notification, allow_internal).await;
            drop(permit);
        });
        Ok(())
    }
}

/// Why one attempt failed.
#[derive(Debug)]
enum Failure {
    /// Worth another attempt (network trouble, a 5xx).
    Transient(String),
    /// Not worth one (a forbidden address, a 4xx).
    Final(String),
}

async fn deliver(url: &HttpUrl, n: &Notification, allow_internal: bool) {
    let mut delay = FIRST_RETRY_DELAY;
    for attempt in 1..=ATTEMPTS {
        let outcome = timeout(ATTEMPT_TIMEOUT, post(url, &n.body, allow_internal))
            .await
            .unwrap_or_else(|_| Err(Failure::Transient("timed out".into())));
        match outcome {
            Ok(status) => {
                tracing::info!(request = %n.request_id, host = %url.host, status, "XKMS pending notification delivered");
                return;
            }
            Err(Failure::Final(why)) => {
                tracing::warn!(request = %n.request_id, host = %url.host, why, "XKMS pending notification not delivered");
                return;
            }
            Err(Failure::Transient(why)) if attempt < ATTEMPTS => {
                tracing::info!(request = %n.request_id, host = %url.host, why, attempt, "XKMS pending notification failed; trying again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(Failure::Transient(why)) => {
                tracing::warn!(request = %n.request_id, host = %url.host, why, "XKMS pending notification not delivered; giving up");
            }
        }
    }
}

/// One POST; the status code of a 2xx answer.
async fn post(url: &HttpUrl, body: &[u8], allow_internal: bool) -> Result<u16, Failure> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((url.host.as_str(), url.port))
        .await
        .map_err(|e| Failure::Transient(format!("resolving: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(Failure::Transient("no address".into()));
    }
    if !allow_internal && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(Failure::Final(
            "the host resolves to a non-public address".into(),
        ));
    }
    let mut stream = timeout(CONNECT_TIMEOUT, TcpStream::connect(&addrs[..]))
        .await
        .map_err(|_| Failure::Transient("connect timed out".into()))?
        .map_err(|e| Failure::Transient(format!("connecting: {e}")))?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        url.target,
        url.host_header(),
        body.len()
    );
    let io = |e: std::io::Error| Failure::Transient(e.to_string());
    stream.write_all(head.as_bytes()).await.map_err(io)?;
    stream.write_all(body).await.map_err(io)?;
    let mut answer = Vec::with_capacity(128);
    let mut chunk = [0u8; 256];
    while !answer.windows(2).any(|w| w == b"\r\n") && answer.len() < MAX_STATUS_LINE {
        let n = stream.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    let status = std::str::from_utf8(&answer)
        .ok()
        .and_then(|a| a.strip_prefix("HTTP/1."))
        .and_then(|a| a.get(2..5))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| Failure::Transient("no HTTP status line".into()))?;
    match status {
        200..=299 => Ok(status),
        // Redirects are not followed: the new location is just as much the client's choice.
        300..=499 => Err(Failure::Final(format!("HTTP status {status}"))),
        _ => Err(Failure::Transient(format!("HTTP status {status}"))),
    }
}

/// An `http://` URL, checked.
#[derive(Debug, PartialEq, Eq)]
struct HttpUrl {
    /// A DNS name or an IP address (IPv6 without brackets).
    host: String,
    port: u16,
    /// Path and query (the fragment dropped), at least `/`.
    target: String,
}

impl HttpUrl {
    fn parse(url: &str) -> Option<Self> {
        let rest = url
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("http://"))
            .map(|_| &url[7..])?;
        let rest = rest.split('#').next().unwrap_or_default();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        if authority.contains('@') {
            return None;
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, tail) = v6.split_once(']')?;
            host.parse::<std::net::Ipv6Addr>().ok()?;
            (host, tail.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0)?,
            None => 80,
        };
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b':');
        if !host_ok || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return None;
        }
        let target = match target {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        Some(Self {
            host: host.to_ascii_lowercase(),
            port,
            target,
        })
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Whether `ip` is a public unicast address: not loopback, private, link-local, shared (CGNAT), unspecified,
/// broadcast, multicast, documentation, benchmarking, reserved, unique-local or site-local, and not such an
/// IPv4 address mapped into IPv6.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                // NAT64 and IPv4-compatible forms reach IPv4 addresses that are not checked here.
                || (first == 0x0064 && v6.segments()[1] == 0xff9b)
                || v6.segments()[..6].iter().all(|s| *s == 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert_eq!(
            HttpUrl::parse("http://Notify.Example.com/bob?x=1#frag"),
            Some(HttpUrl {
                host: "notify.example.com".into(),
                port: 80,
                target: "/bob?x=1".into()
            })
        );
        let v6 = HttpUrl::parse("http://[2001:4860::1]:8080").unwrap();
        assert_eq!((v6.port, v6.target.as_str()), (8080, "/"));
        assert_eq!(v6.host_header(), "[2001:4860::1]:8080");
        for bad in [
            "https://example.com/",
            "ftp://example.com/",
            "http://user:pw@example.com/",
            "http://example.com:0/",
            "http://example.com:99999/",
            "http:///path",
            "http://exa mple.com/",
            "http://example.com/a\r\nX-Injected: 1",
            "http://[not-v6]/",
        ] {
            assert_eq!(HttpUrl::parse(bad), None, "{bad}");
        }
    }

    /// A one-shot HTTP server on loopback answering `status_line`; the URL to reach it by `host`.
    async fn answering(host: &str, status_line: &'static [u8]) -> HttpUrl {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(status_line).await;
            }
        });
        HttpUrl::parse(&format!("http://{host}:{port}/n")).unwrap()
    }

    #[tokio::test]
    async fn internal_addresses_and_redirects_are_refused() {
        let ok = answering("127.0.0.1", b"HTTP/1.1 204 No Content\r\n\r\n").await;
        let by_name = answering("localhost", b"HTTP/1.1 204 No Content\r\n\r\n").await;
        for url in [&ok, &by_name] {
            assert!(matches!(
                post(url, b"<x/>", false).await,
                Err(Failure::Final(_))
            ));
        }
        assert_eq!(post(&ok, b"<x/>", true).await.unwrap(), 204);
        let moved = answering(
            "127.0.0.1",
            b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\n\r\n",
        )
        .await;
        assert!(matches!(
            post(&moved, b"<x/>", true).await,
            Err(Failure::Final(_))
        ));
        let failing = answering("127.0.0.1", b"HTTP/1.1 503 Busy\r\n\r\n").await;
        assert!(matches!(
            post(&failing, b"<x/>", true).await,
            Err(Failure::Transient(_))
        ));
    }

    #[test]
    fn only_public_addresses_pass() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
