//! KMIP TTLV over mutual TLS: real sockets on 127.0.0.1, real TLS, a real handler.
#![cfg(all(feature = "server", feature = "client"))]
#![allow(clippy::unwrap_used)]

mod transport_support;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kms_kmip::transport::client::{AsyncKmipClient, ClientOptions, KmipClient, server_name};
use kms_kmip::transport::{Error, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use transport_support::*;

fn tls_client(
    ca: &Ca,
    leaf: &Leaf,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let config = rustls::ClientConfig::builder_with_provider(kms_kmip::transport::tls::provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(kms_kmip::transport::tls::root_store(&[ca.cert()]).unwrap())
        .with_client_auth_cert(vec![leaf.cert.clone()], leaf.key())
        .unwrap();
    Arc::new(config)
}

async fn raw_tls(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    TlsConnector::from(config)
        .connect(server_name(addr).unwrap(), tcp)
        .await
        .unwrap()
}

/// Reads until the server closes; true if it closed (cleanly or not) rather than sending more bytes.
async fn closed_without_data(stream: &mut (impl AsyncReadExt + Unpin)) -> bool {
    let mut buf = [0u8; 64];
    match timeout(LIVENESS, stream.read(&mut buf))
        .await
        .expect("server neither answered nor closed")
    {
        Ok(0) | Err(_) => true,
        Ok(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_from_the_client_certificate_reaches_the_handler() {
    let pki = Pki::new();
    let witness = Arc::new(Witness::default());
    let server = Running::start(&pki, Limits::default(), Arc::clone(&witness)).await;

    let alice = pki.ca.client("alice");
    let admin = pki.ca.client("admin");
    let req = request(b"hello");

    let addr = server.kmip_addr();
    let tls = pki.ca.client_tls(&alice);
    let resp = tokio::task::spawn_blocking(move || {
        let mut client = KmipClient::connect(&addr, tls, ClientOptions::default()).unwrap();
        let resp = client.request(&request(b"hello")).unwrap();
        client.close().unwrap();
        resp
    })
    .await
    .unwrap();
    assert_eq!(
        read_witness(&resp),
        ("alice".to_owned(), false, req.clone())
    );

    let mut client = AsyncKmipClient::connect(
        &server.kmip_addr(),
        pki.ca.client_tls(&admin),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let resp = client.request(&req).await.unwrap();
    assert_eq!(read_witness(&resp), ("admin".to_owned(), true, req.clone()));
    client.close().await.unwrap();

    let seen = witness.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    // RFC 4514 writes the last RDN first.
    assert_eq!(seen[0].identity.subject(), "O=kms tests,CN=alice");
    assert!(server.stop().await);
}

#[tokio::test]
async fn tls_1_2_and_1_3_both_work() {
    let pki = Pki::new();
    let server = Running::start(&pki, Limits::default(), Witness::default()).await;
    let alice = pki.ca.client("alice");
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let mut tls = raw_tls(&server.kmip_addr(), tls_client(&pki.ca, &alice, &[version])).await;
        assert_eq!(tls.get_ref().1.protocol_version(), Some(version.version));
        let req = request(b"v");
        tls.write_all(&req).await.unwrap();
        let mut resp = vec![0u8; witness_answer("alice", false, &req).len()];
        tls.read_exact(&mut resp).await.unwrap();
        assert_eq!(read_witness(&resp).0, "alice");
    }
    assert!(server.stop().await);
}

/// With TLS 1.3 the client finishes its handshake before the server has checked the client certificate, so
/// the refusal shows on the first read; with TLS 1.2 in the handshake itself. Either way no request is
/// answered and the handler never runs.
async fn assert_refused(addr: &str, config: Arc<rustls::ClientConfig>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let Ok(mut tls) = TlsConnector::from(config)
        .connect(server_name(addr).unwrap(), tcp)
        .await
    else {
        return;
    };
    let _ = tls.write_all(&request(b"let me in")).await;
    assert!(
        closed_without_data(&mut tls).await,
        "the server answered a refused client"
    );
}

#[tokio::test]
async fn clients_without_a_valid_certificate_are_refused_in_the_handshake() {
    let pki = Pki::new();
    let witness = Arc::new(Witness::default());
    let server = Running::start(&pki, Limits::default(), Arc::clone(&witness)).await;
    let addr = server.kmip_addr();

    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        // No certificate at all.
        let anonymous =
            rustls::ClientConfig::builder_with_provider(kms_kmip::transport::tls::provider())
                .with_protocol_versions(&[version])
                .unwrap()
                .with_root_certificates(
                    kms_kmip::transport::tls::root_store(&[pki.ca.cert()]).unwrap(),
                )
                .with_no_client_auth();
        assert_refused(&addr, Arc::new(anonymous)).await;

        // A certificate from another CA, with a name the server would otherwise accept.
        let other = Ca::new("kms test CA");
        let mallory = other.client("admin");
        assert_refused(&addr, tls_client(&pki.ca, &mallory, &[version])).await;

        // A certificate from the right CA but without a Common Name: no identity, refused after the handshake.
        let nameless = pki.ca.client_without_cn();
        assert_refused(&addr, tls_client(&pki.ca, &nameless, &[version])).await;
    }

    // The blocking client reports the refusal as an error, not as a response.
    let addr2 = addr.clone();
    let other = Ca::new("other");
    let tls = tls_client(&pki.ca, &other.client("eve"), &[&rustls::version::TLS12]);
    let result = tokio::task::spawn_blocking(move || {
        KmipClient::connect(&addr2, tls, ClientOptions::default())
    })
    .await
    .unwrap();
    assert!(matches!(result, Err(Error::Io(_))), "{result:?}");

    assert!(witness.seen.lock().unwrap().is_empty());
    assert!(server.stop().await);
}

/// A TLS 1.1 ClientHello (legacy_version 0x0302, no supported_versions extension), offering
/// TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA and TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA.
fn tls11_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x02];
    body.extend_from_slice(&[0x11; 32]); // random
    body.push(0); // session id
    body.extend_from_slice(&[0x00, 0x04, 0xC0, 0x09, 0xC0, 0x13]); // cipher suites
    body.extend_from_slice(&[0x01, 0x00]); // compression: null
    // extensions: supported_groups (secp256r1), ec_point_formats (uncompressed)
    let ext = [
        0x00, 0x0A, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, 0x00, 0x0B, 0x00, 0x02, 0x01, 0x00,
    ];
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut handshake = vec![0x01, 0x00];
    handshake.extend_from_slice(&(body.len() as u16).to_be_bytes());
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[tokio::test]
async fn tls_1_1_is_refused_in_the_handshake() {
    let pki = Pki::new();
    let server = Running::start(&pki, Limits::default(), Witness::default()).await;
    let mut tcp = TcpStream::connect(server.kmip).await.unwrap();
    tcp.write_all(&tls11_client_hello()).await.unwrap();
    let mut reply = Vec::new();
    timeout(LIVENESS, tcp.read_to_end(&mut reply))
        .await
        .unwrap()
        .unwrap();
    // A fatal alert record (content type 21, level 2; rustls says handshake_failure), and no ServerHello.
    assert_eq!(reply.len(), 7, "{reply:02x?}");
    assert_eq!(reply[0], 0x15, "expected an alert, got {reply:02x?}");
    assert_eq!(reply[5], 2, "expected a fatal alert, got {reply:02x?}");
    assert!(
        [40, 70].contains(&reply[6]),
        "expected handshake_failure or protocol_version, got {reply:02x?}"
    );
    assert!(server.stop().await);
}

#[tokio::test]
async fn a_length_over_the_limit_is_refused_before_the_body_is_read() {
    let pki = Pki::new();
    let witness = Arc::new(Witness::default());
    let limits = Limits::default().with_max_message_size(1024);
    let server = Running::start(&pki, limits, Arc::clone(&witness)).await;
    let alice = pki.ca.client("alice");

    let mut tls = raw_tls(&server.kmip_addr(), pki.ca.client_tls(&alice)).await;
    // A Request Message header announcing 1 MiB, and no body: a server waiting for the body would hang here.
    tls.write_all(&[0x42, 0x00, 0x78, 0x01, 0x00, 0x10, 0x00, 0x00])
        .await
        .unwrap();
    let mut resp = Vec::new();
    timeout(LIVENESS, tls.read_to_end(&mut resp))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result_reason(&resp), 0x04, "Invalid Message");
    assert!(witness.seen.lock().unwrap().is_empty());

    // A client that sends the oversized body anyway still gets the refusal, and the handler never runs.
    let tls_stream = raw_tls(&server.kmip_addr(), pki.ca.client_tls(&alice)).await;
    let (mut rx, mut tx) = tokio::io::split(tls_stream);
    let sender = tokio::spawn(async move {
        let mut message = vec![0x42, 0x00, 0x78, 0x01, 0x00, 0x08, 0x00, 0x00];
        message.resize(8 + 0x80000, 0);
        // The server may close before taking it all: only the response matters.
        let _ = tx.write_all(&message).await;
        tx
    });
    let mut resp = Vec::new();
    let _ = timeout(LIVENESS, rx.read_to_end(&mut resp)).await.unwrap();
    assert_eq!(result_reason(&resp), 0x04, "Invalid Message");
    let _ = timeout(LIVENESS, sender).await.unwrap();
    assert!(witness.seen.lock().unwrap().is_empty());

    // The client's own limit applies to responses the same way.
    let mut client = AsyncKmipClient::connect(
        &server.kmip_addr(),
        pki.ca.client_tls(&alice),
        ClientOptions::default().with_max_message_size(64),
    )
    .await
    .unwrap();
    let err = client.request(&request(&[7; 100])).await.unwrap_err();
    assert!(matches!(err, Error::TooLarge { max: 64, .. }), "{err:?}");
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_on_one_connection() {
    let pki = Pki::new();
    let witness = Arc::new(Witness::default());
    let server = Running::start(&pki, Limits::default(), Arc::clone(&witness)).await;
    let mut client = AsyncKmipClient::connect(
        &server.kmip_addr(),
        pki.ca.client_tls(&pki.ca.client("alice")),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    for i in 0..300u32 {
        let req = request(&i.to_be_bytes().repeat(1 + i as usize % 50));
        let resp = client.request(&req).await.unwrap();
        assert_eq!(read_witness(&resp).2, req);
    }
    // Large messages cross many TLS records and TCP segments.
    let big = request(&vec![0xA5; 3 * 1024 * 1024]);
    assert_eq!(read_witness(&client.request(&big).await.unwrap()).2, big);
    assert_eq!(witness.seen.lock().unwrap().len(), 301);
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_connections() {
    let pki = Pki::new();
    let witness = Arc::new(Witness::default());
    let server = Running::start(&pki, Limits::default(), Arc::clone(&witness)).await;
    let tls = pki.ca.client_tls(&pki.ca.client("alice"));
    let mut tasks = Vec::new();
    // Connect all first, so that all 50 are open at once.
    let mut clients = Vec::new();
    for _ in 0..50 {
        clients.push(
            AsyncKmipClient::connect(
                &server.kmip_addr(),
                Arc::clone(&tls),
                ClientOptions::default(),
            )
            .await
            .unwrap(),
        );
    }
    for (n, mut client) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..10u8 {
                let req = request(&[n as u8, i]);
                let resp = client.request(&req).await.unwrap();
                assert_eq!(read_witness(&resp).2, req);
            }
        }));
    }
    for t in tasks {
        timeout(LIVENESS, t).await.unwrap().unwrap();
    }
    assert_eq!(witness.seen.lock().unwrap().len(), 500);
    assert!(server.stop().await);
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused() {
    let pki = Pki::new();
    let server = Running::start(
        &pki,
        Limits::default().with_max_connections(2),
        Witness::default(),
    )
    .await;
    let tls = pki.ca.client_tls(&pki.ca.client("alice"));
    let addr = server.kmip_addr();

    let mut first = AsyncKmipClient::connect(&addr, Arc::clone(&tls), ClientOptions::default())
        .await
        .unwrap();
    let mut second = AsyncKmipClient::connect(&addr, Arc::clone(&tls), ClientOptions::default())
        .await
        .unwrap();
    // A completed request proves each connection was accepted and holds its slot.
    first.request(&request(b"1")).await.unwrap();
    second.request(&request(b"2")).await.unwrap();

    let third = AsyncKmipClient::connect(&addr, Arc::clone(&tls), ClientOptions::default()).await;
    assert!(third.is_err(), "a third connection was served");

    // A freed slot is reused: the server notices the close asynchronously, so retry a bounded number of times.
    first.close().await.unwrap();
    let mut served = false;
    for _ in 0..200 {
        if let Ok(mut c) =
            AsyncKmipClient::connect(&addr, Arc::clone(&tls), ClientOptions::default()).await
        {
            served = c.request(&request(b"3")).await.is_ok();
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(served, "the freed slot was never reused");
    second.request(&request(b"2 again")).await.unwrap();
    assert!(server.stop().await);
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let pki = Pki::new();
    let limits = Limits::default().with_idle_timeout(Duration::from_millis(300));
    let server = Running::start(&pki, limits, Witness::default()).await;
    let mut tls = raw_tls(
        &server.kmip_addr(),
        pki.ca.client_tls(&pki.ca.client("alice")),
    )
    .await;
    let req = request(b"once");
    tls.write_all(&req).await.unwrap();
    let mut resp = vec![0u8; witness_answer("alice", false, &req).len()];
    tls.read_exact(&mut resp).await.unwrap();
    // Then nothing: the server closes with close_notify, which reads as a clean end of stream.
    let mut rest = Vec::new();
    timeout(LIVENESS, tls.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());
    assert!(server.stop().await);
}

#[tokio::test]
async fn slow_requests_and_silent_handshakes_time_out() {
    let pki = Pki::new();
    let limits = Limits::default()
        .with_request_timeout(Duration::from_millis(200))
        .with_handshake_timeout(Duration::from_millis(1000));
    let server = Running::start(&pki, limits, Witness::default()).await;

    // Half a header, then silence.
    let mut tls = raw_tls(
        &server.kmip_addr(),
        pki.ca.client_tls(&pki.ca.client("alice")),
    )
    .await;
    tls.write_all(&request(b"x")[..5]).await.unwrap();
    assert!(closed_without_data(&mut tls).await);

    // TCP connected, no ClientHello.
    let mut tcp = TcpStream::connect(server.kmip).await.unwrap();
    assert!(closed_without_data(&mut tcp).await);
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_do_not_stop_the_server() {
    let pki = Pki::new();
    let server = Running::start(&pki, Limits::default(), Witness::default()).await;
    let tls = pki.ca.client_tls(&pki.ca.client("alice"));
    let addr = server.kmip_addr();
    let mut bystander = AsyncKmipClient::connect(&addr, Arc::clone(&tls), ClientOptions::default())
        .await
        .unwrap();

    // Framed but malformed (an Integer of length 5 inside): answered with Invalid Message, connection kept.
    let mut framed = raw_tls(&addr, Arc::clone(&tls)).await;
    let bad = [
        0x42, 0x00, 0x78, 0x01, 0, 0, 0, 16, 0x42, 0x00, 0x6A, 0x02, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0,
        0, 0,
    ];
    framed.write_all(&bad).await.unwrap();
    let mut header = [0u8; 8];
    framed.read_exact(&mut header).await.unwrap();
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let mut resp = header.to_vec();
    resp.resize(8 + len, 0);
    framed.read_exact(&mut resp[8..]).await.unwrap();
    assert_eq!(result_reason(&resp), 0x04);
    let req = request(b"still here");
    framed.write_all(&req).await.unwrap();
    let mut resp = vec![0u8; witness_answer("alice", false, &req).len()];
    framed.read_exact(&mut resp).await.unwrap();
    assert_eq!(read_witness(&resp).2, req);

    // Unframeable (type byte 0xFF): closed without an answer.
    let mut unframeable = raw_tls(&addr, Arc::clone(&tls)).await;
    unframeable
        .write_all(&[0x42, 0x00, 0x78, 0xFF, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    assert!(closed_without_data(&mut unframeable).await);

    // Plain garbage instead of a TLS handshake.
    let mut plain = TcpStream::connect(server.kmip).await.unwrap();
    plain.write_all(&request(b"plaintext KMIP")).await.unwrap();
    let mut reply = Vec::new();
    let _ = timeout(LIVENESS, plain.read_to_end(&mut reply))
        .await
        .unwrap();
    assert!(
        reply.is_empty() || reply[0] == 0x15,
        "plaintext got a non-alert answer: {reply:02x?}"
    );

    // Everyone else is still served.
    let resp = bystander.request(&request(b"fine")).await.unwrap();
    assert_eq!(read_witness(&resp).0, "alice");
    let mut newcomer = AsyncKmipClient::connect(&addr, tls, ClientOptions::default())
        .await
        .unwrap();
    newcomer.request(&request(b"new")).await.unwrap();
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_the_request_in_flight() {
    let pki = Pki::new();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let gate = Gate {
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
    };
    let server = Running::start(&pki, Limits::default(), gate).await;
    let tls = pki.ca.client_tls(&pki.ca.client("alice"));
    let mut busy = AsyncKmipClient::connect(
        &server.kmip_addr(),
        Arc::clone(&tls),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let mut idle = raw_tls(&server.kmip_addr(), Arc::clone(&tls)).await;

    let req = request(b"acknowledged write");
    let in_flight =
        tokio::spawn(async move { busy.request(&request(b"acknowledged write")).await });
    tokio::task::spawn_blocking(move || entered_rx.recv().unwrap())
        .await
        .unwrap();

    // Shut down while the handler holds the request.
    server.shutdown.shutdown();
    // The idle connection is closed right away (no request of its own in flight).
    let mut rest = Vec::new();
    timeout(LIVENESS, idle.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());
    // New connections are no longer accepted.
    assert!(
        AsyncKmipClient::connect(
            &server.kmip_addr(),
            Arc::clone(&tls),
            ClientOptions::default()
        )
        .await
        .is_err()
    );

    release_tx.send(()).unwrap();
    let resp = timeout(LIVENESS, in_flight)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(read_witness(&resp).2, req);
    assert!(
        timeout(LIVENESS, server.done).await.unwrap().unwrap(),
        "shutdown did not drain"
    );
}

/// A handler with a bug: it panics on requests carrying the payload "boom", on the async worker or on the
/// blocking pool depending on `inline`.
struct Buggy {
    inline: bool,
}

impl kms_kmip::transport::RequestHandler for Buggy {
    fn handle(
        &self,
        identity: &kms_kmip::transport::ClientIdentity,
        _: kms_kmip::transport::Encoding,
        request: &[u8],
    ) -> Vec<u8> {
        assert!(
            request != transport_support::request(b"boom"),
            "handler bug"
        );
        witness_answer(identity.name(), identity.is_admin(), request)
    }

    fn may_block(&self, _: kms_kmip::transport::Encoding, _: &[u8]) -> bool {
        !self.inline
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_costs_one_connection_not_the_server() {
    for inline in [true, false] {
        let pki = Pki::new();
        let server = Running::start(&pki, Limits::default(), Buggy { inline }).await;
        let tls = pki.ca.client_tls(&pki.ca.client("alice"));
        let mut victim = AsyncKmipClient::connect(
            &server.kmip_addr(),
            Arc::clone(&tls),
            ClientOptions::default(),
        )
        .await
        .unwrap();
        let resp = victim.request(&request(b"boom")).await.unwrap();
        assert_eq!(
            result_reason(&resp),
            0x100,
            "General Failure (inline: {inline})"
        );
        let mut other =
            AsyncKmipClient::connect(&server.kmip_addr(), tls, ClientOptions::default())
                .await
                .unwrap();
        assert_eq!(
            read_witness(&other.request(&request(b"fine")).await.unwrap()).0,
            "alice"
        );
        assert!(server.stop().await);
    }
}

#[tokio::test]
async fn extreme_limits_are_clamped_not_panicked_on() {
    let pki = Pki::new();
    let limits = Limits::default()
        .with_max_connections(usize::MAX)
        .with_max_concurrent_requests(usize::MAX)
        .with_idle_timeout(Duration::MAX)
        .with_handshake_timeout(Duration::MAX)
        .with_request_timeout(Duration::MAX)
        .with_shutdown_grace(Duration::MAX);
    let server = Running::start(&pki, limits, Witness::default()).await;
    let tls = pki.ca.client_tls(&pki.ca.client("alice"));
    let mut client = AsyncKmipClient::connect(
        &server.kmip_addr(),
        Arc::clone(&tls),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        read_witness(&client.request(&request(b"x")).await.unwrap()).0,
        "alice"
    );
    let mut https = kms_kmip::transport::client::HttpsClient::connect(
        &server.https_addr(),
        tls,
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let resp = https
        .request(kms_kmip::transport::Encoding::Ttlv, &request(b"y"))
        .await
        .unwrap();
    assert_eq!(read_witness(&resp).0, "alice");
    drop(client);
    drop(https);
    assert!(server.stop().await);
}
