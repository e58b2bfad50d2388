//! HTTPS `POST /kmip/2_1`: real sockets on 127.0.0.1, real TLS, a real handler.
#![cfg(all(feature = "server", feature = "client"))]
#![allow(clippy::unwrap_used)]

mod transport_support;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use kms_kmip::transport::client::{ClientOptions, HttpsClient, server_name};
use kms_kmip::transport::{Encoding, Error, Limits, OperationNotSupported, Transcoding};
use kms_kmip::ttlv::Node;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use transport_support::*;

/// One raw HTTP/1.1 exchange on a fresh TLS connection (`Connection: close`): (status, headers, body).
async fn raw_exchange(
    addr: &str,
    tls: Arc<rustls::ClientConfig>,
    head: &str,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut stream = TlsConnector::from(tls)
        .connect(server_name(addr).unwrap(), tcp)
        .await
        .unwrap();
    let mut request = format!(
        "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    let _ = timeout(LIVENESS, stream.read_to_end(&mut response))
        .await
        .unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8(response[..split].to_vec()).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, response[split + 4..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_content_type_reaches_the_handler_in_its_encoding() {
    let pki = Pki::new();
    let witness = Arc::new(Witness::default());
    let server = Running::start(&pki, Limits::default(), Arc::clone(&witness)).await;
    let alice = pki.ca.client_tls(&pki.ca.client("alice"));

    // TTLV through the client library, several requests on one connection.
    let mut client = HttpsClient::connect(
        &server.https_addr(),
        Arc::clone(&alice),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    for i in 0..20u8 {
        let req = request(&[i; 33]);
        let resp = client.request(Encoding::Ttlv, &req).await.unwrap();
        assert_eq!(read_witness(&resp), ("alice".to_owned(), false, req));
    }
    let resp = client
        .request(Encoding::Json, br#"{"tag":"RequestMessage"}"#)
        .await
        .unwrap();
    assert_eq!(resp, br#"alice JSON {"tag":"RequestMessage"}"#);

    for (content_type, encoding, body) in [
        ("application/octet-stream", Encoding::Ttlv, request(b"raw")),
        (
            "application/json; charset=utf-8",
            Encoding::Json,
            b"{}".to_vec(),
        ),
        (
            "application/xml",
            Encoding::Xml,
            b"<RequestMessage/>".to_vec(),
        ),
        ("text/xml", Encoding::Xml, b"<RequestMessage/>".to_vec()),
    ] {
        let head = format!("POST /kmip/2_1 HTTP/1.1\r\nContent-Type: {content_type}");
        let (status, headers, answer) =
            raw_exchange(&server.https_addr(), Arc::clone(&alice), &head, &body).await;
        assert_eq!(status, 200, "{content_type}: {headers}");
        let essence = content_type.split(';').next().unwrap();
        assert!(
            headers
                .to_ascii_lowercase()
                .contains(&format!("content-type: {essence}")),
            "{headers}"
        );
        assert!(
            headers
                .to_ascii_lowercase()
                .contains("cache-control: no-store"),
            "{headers}"
        );
        let seen = witness.seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(
            (seen.encoding, seen.len, seen.identity.name()),
            (encoding, body.len(), "alice")
        );
        if encoding == Encoding::Ttlv {
            assert_eq!(read_witness(&answer).2, body);
        } else {
            assert!(answer.ends_with(&body));
        }
    }
    assert!(server.stop().await);
}

#[tokio::test]
async fn wrong_path_method_type_or_size_get_http_errors_and_never_reach_the_handler() {
    let pki = Pki::new();
    let witness = Arc::new(Witness::default());
    let server = Running::start(
        &pki,
        Limits::default().with_max_message_size(1024),
        Arc::clone(&witness),
    )
    .await;
    let alice = pki.ca.client_tls(&pki.ca.client("alice"));
    let addr = server.https_addr();
    let ttlv = "Content-Type: application/octet-stream";

    let cases: [(String, Vec<u8>, u16); 6] = [
        (
            format!("POST /kmip/2_0 HTTP/1.1\r\n{ttlv}"),
            request(b"x"),
            404,
        ),
        (
            format!("POST /kmip/2_1/extra HTTP/1.1\r\n{ttlv}"),
            request(b"x"),
            404,
        ),
        (format!("GET /kmip/2_1 HTTP/1.1\r\n{ttlv}"), Vec::new(), 405),
        (
            "POST /kmip/2_1 HTTP/1.1\r\nContent-Type: text/plain".to_owned(),
            b"hi".to_vec(),
            415,
        ),
        (
            "POST /kmip/2_1 HTTP/1.1".to_owned(),
            request(b"no type"),
            415,
        ),
        (
            format!("POST /kmip/2_1 HTTP/1.1\r\n{ttlv}"),
            request(&[0; 2000]),
            413,
        ),
    ];
    for (head, body, expected) in cases {
        let (status, headers, _) = raw_exchange(&addr, Arc::clone(&alice), &head, &body).await;
        assert_eq!(status, expected, "{head}: {headers}");
        if expected == 405 {
            assert!(
                headers.to_ascii_lowercase().contains("allow: post"),
                "{headers}"
            );
        }
    }
    assert!(witness.seen.lock().unwrap().is_empty());

    // The client reports the status.
    let mut client = HttpsClient::connect(&addr, alice, ClientOptions::default())
        .await
        .unwrap();
    let err = client
        .request(Encoding::Ttlv, &request(&[0; 2000]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::HttpStatus { status: 413 }), "{err:?}");
    assert!(server.stop().await);
}

#[tokio::test]
async fn encodings_the_handler_does_not_support_are_415() {
    let pki = Pki::new();
    let server = Running::start(&pki, Limits::default(), OperationNotSupported::default()).await;
    let mut client = HttpsClient::connect(
        &server.https_addr(),
        pki.ca.client_tls(&pki.ca.client("alice")),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let err = client
        .request(Encoding::Xml, b"<RequestMessage/>")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::HttpStatus { status: 415 }), "{err:?}");
    // TTLV it does: a KMIP answer, Operation Not Supported.
    let resp = client
        .request(Encoding::Ttlv, &request(b"x"))
        .await
        .unwrap();
    assert_eq!(result_reason(&resp), 0x05);
    assert!(server.stop().await);
}

#[tokio::test]
async fn https_clients_without_a_valid_certificate_are_refused() {
    let pki = Pki::new();
    let witness = Arc::new(Witness::default());
    let server = Running::start(&pki, Limits::default(), Arc::clone(&witness)).await;
    let anonymous =
        rustls::ClientConfig::builder_with_provider(kms_kmip::transport::tls::provider())
            .with_protocol_versions(kms_kmip::transport::tls::PROTOCOL_VERSIONS)
            .unwrap()
            .with_root_certificates(kms_kmip::transport::tls::root_store(&[pki.ca.cert()]).unwrap())
            .with_no_client_auth();
    let other = Ca::new("kms test CA");
    for tls in [
        Arc::new(anonymous),
        other.client_tls(&other.client("admin")),
    ] {
        // Either the handshake or the first exchange fails; nothing is answered.
        if let Ok(mut client) =
            HttpsClient::connect(&server.https_addr(), tls, ClientOptions::default()).await
        {
            assert!(
                client
                    .request(Encoding::Ttlv, &request(b"x"))
                    .await
                    .is_err()
            );
        }
    }
    assert!(witness.seen.lock().unwrap().is_empty());
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_answers_the_https_request_in_flight() {
    let pki = Pki::new();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let gate = Gate {
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
    };
    let server = Running::start(&pki, Limits::default(), gate).await;
    let mut client = HttpsClient::connect(
        &server.https_addr(),
        pki.ca.client_tls(&pki.ca.client("alice")),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let req = request(b"in flight");
    let in_flight =
        tokio::spawn(async move { client.request(Encoding::Ttlv, &request(b"in flight")).await });
    tokio::task::spawn_blocking(move || entered_rx.recv().unwrap())
        .await
        .unwrap();
    server.shutdown.shutdown();
    release_tx.send(()).unwrap();
    let resp = timeout(LIVENESS, in_flight)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(read_witness(&resp).2, req);
    assert!(timeout(LIVENESS, server.done).await.unwrap().unwrap());
}

#[tokio::test]
async fn json_and_xml_are_transcoded_for_a_ttlv_handler() {
    let pki = Pki::new();
    let handler = Transcoding::new(
        OperationNotSupported::default(),
        kms_kmip::ttlv::Limits::new(),
    );
    let server = Running::start(&pki, Limits::default(), handler).await;
    let mut client = HttpsClient::connect(
        &server.https_addr(),
        pki.ca.client_tls(&pki.ca.client("alice")),
        ClientOptions::default(),
    )
    .await
    .unwrap();
    let bytes = request(b"transcoded");
    let req = Node::decode(&bytes).unwrap();

    let json = kms_kmip::json::to_string(&req);
    let resp = client
        .request(Encoding::Json, json.as_bytes())
        .await
        .unwrap();
    let resp = kms_kmip::json::from_str(std::str::from_utf8(&resp).unwrap()).unwrap();
    assert_eq!(
        result_reason(&resp.to_bytes().unwrap()),
        0x05,
        "Operation Not Supported"
    );

    let xml = kms_kmip::xml::to_string(&req).unwrap();
    let resp = client.request(Encoding::Xml, xml.as_bytes()).await.unwrap();
    let resp = kms_kmip::xml::from_str(std::str::from_utf8(&resp).unwrap()).unwrap();
    assert_eq!(result_reason(&resp.to_bytes().unwrap()), 0x05);

    // Unreadable JSON: Invalid Message, in JSON.
    let resp = client.request(Encoding::Json, b"{not json").await.unwrap();
    let resp = kms_kmip::json::from_str(std::str::from_utf8(&resp).unwrap()).unwrap();
    assert_eq!(
        result_reason(&resp.to_bytes().unwrap()),
        0x04,
        "Invalid Message"
    );
    assert!(server.stop().await);
}

#[tokio::test]
async fn idle_https_connections_are_closed() {
    let pki = Pki::new();
    let limits = Limits::default().with_idle_timeout(std::time::Duration::from_millis(300));
    let server = Running::start(&pki, limits, Witness::default()).await;
    let addr = server.https_addr();
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let mut stream = TlsConnector::from(pki.ca.client_tls(&pki.ca.client("alice")))
        .connect(server_name(&addr).unwrap(), tcp)
        .await
        .unwrap();
    // One keep-alive exchange, then silence: the server ends the connection.
    let body = request(b"once");
    let head = format!(
        "POST /kmip/2_1 HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let mut all = Vec::new();
    let _ = timeout(LIVENESS, stream.read_to_end(&mut all))
        .await
        .expect("the idle connection was never closed");
    assert!(
        all.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&all)
    );
    assert!(server.stop().await);
}
