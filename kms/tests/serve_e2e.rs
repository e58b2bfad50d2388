//! `kms serve` end to end: the built binary on a fresh data directory and free ports, a client with the admin
//! certificate it wrote, `kms cert issue`, SIGTERM, a restart on the same directory.
#![cfg(all(feature = "cli", feature = "kmip"))]
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;

use kms::kmip::transport::Encoding;
use kms::kmip::transport::client::{ClientOptions, HttpsClient, KmipClient};
use kms::kmip::ttlv::{self, Tag, Writer};
use support::{Serve, Server, client_tls, kms};

const DISCOVER_VERSIONS: u32 = 0x1E;

/// `kms serve` on `data_dir`, logging at info (to a stderr nobody reads).
fn start(data_dir: &std::path::Path) -> Server {
    Serve::new(data_dir).env("RUST_LOG", "info").start()
}

fn discover_versions() -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = Writer::new(&mut buf);
    w.structure(Tag::REQUEST_MESSAGE, |w| {
        w.structure(Tag::REQUEST_HEADER, |w| {
            w.structure(Tag::PROTOCOL_VERSION, |w| {
                w.integer(Tag::PROTOCOL_VERSION_MAJOR, 2);
                w.integer(Tag::PROTOCOL_VERSION_MINOR, 1);
            });
            w.integer(Tag::BATCH_COUNT, 1);
        });
        w.structure(Tag::BATCH_ITEM, |w| {
            w.enumeration(Tag::OPERATION, DISCOVER_VERSIONS);
            w.structure(Tag::REQUEST_PAYLOAD, |_| {});
        });
    });
    w.finish().unwrap();
    buf
}

/// A KMIP Response Message answering the DiscoverVersions batch item (whatever its result).
fn assert_answers_discover_versions(response: &[u8]) {
    let message = ttlv::decode(response).unwrap();
    assert_eq!(message.tag(), Tag::RESPONSE_MESSAGE);
    let item = message
        .children()
        .unwrap()
        .map(Result::unwrap)
        .find(|c| c.tag() == Tag::BATCH_ITEM)
        .expect("a batch item");
    let operation = item
        .children()
        .unwrap()
        .map(Result::unwrap)
        .find(|c| c.tag() == Tag::OPERATION)
        .expect("the operation echoed");
    assert_eq!(operation.as_enumeration(), Ok(DISCOVER_VERSIONS));
}

#[test]
fn serve_writes_a_pki_answers_mutual_tls_clients_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let certs = data.join("certs");

    let served = start(&data);
    assert!(
        served
            .stdout
            .iter()
            .any(|l| l.contains("wrote a development PKI")),
        "{:?}",
        served.stdout
    );
    for name in ["ca", "server", "admin"] {
        assert!(certs.join(format!("{name}.pem")).is_file(), "{name}.pem");
        let mode = std::fs::metadata(certs.join(format!("{name}.key")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}.key");
    }

    // The admin identity over KMIP/TLS, several requests on one connection.
    let mut client = KmipClient::connect(
        &served.kmip,
        client_tls(&certs, "admin"),
        ClientOptions::default(),
    )
    .unwrap();
    for _ in 0..3 {
        assert_answers_discover_versions(&client.request(&discover_versions()).unwrap());
    }
    client.close().unwrap();

    // A new identity from `kms cert issue`.
    let out = dir.path().join("issued");
    let issued = kms()
        .args(["cert", "issue", "--data-dir"])
        .arg(&data)
        .args(["--cn", "alice", "--out-dir"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let alice_tls =
        support::client_tls_from(&certs, &out.join("alice.pem"), &out.join("alice.key"));
    let mut alice = KmipClient::connect(&served.kmip, alice_tls, ClientOptions::default()).unwrap();
    assert_answers_discover_versions(&alice.request(&discover_versions()).unwrap());

    // HTTPS, TTLV body.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut https = HttpsClient::connect(
            &served.https,
            client_tls(&certs, "admin"),
            ClientOptions::default(),
        )
        .await
        .unwrap();
        let response = https
            .request(Encoding::Ttlv, &discover_versions())
            .await
            .unwrap();
        assert_answers_discover_versions(&response);
        // KMIP JSON and KMIP XML bodies.
        let request_bytes = discover_versions();
        let request = ttlv::Node::decode(&request_bytes).unwrap();
        let json = https
            .request(
                Encoding::Json,
                kms::kmip::json::to_string(&request).as_bytes(),
            )
            .await
            .unwrap();
        let json = kms::kmip::json::from_str(std::str::from_utf8(&json).unwrap()).unwrap();
        assert_answers_discover_versions(&json.to_bytes().unwrap());
        let xml = https
            .request(
                Encoding::Xml,
                kms::kmip::xml::to_string(&request).unwrap().as_bytes(),
            )
            .await
            .unwrap();
        let xml = kms::kmip::xml::from_str(std::str::from_utf8(&xml).unwrap()).unwrap();
        assert_answers_discover_versions(&xml.to_bytes().unwrap());
    });

    let status = served.terminate();
    assert!(
        status.success(),
        "kms serve exited with {status:?} after SIGTERM"
    );

    // A restart reuses the PKI: nothing written, the old admin certificate still works.
    let ca_before = std::fs::read(certs.join("ca.pem")).unwrap();
    let served = start(&data);
    assert!(
        !served.stdout.iter().any(|l| l.contains("wrote")),
        "{:?}",
        served.stdout
    );
    assert_eq!(std::fs::read(certs.join("ca.pem")).unwrap(), ca_before);
    let mut client = KmipClient::connect(
        &served.kmip,
        client_tls(&certs, "admin"),
        ClientOptions::default(),
    )
    .unwrap();
    assert_answers_discover_versions(&client.request(&discover_versions()).unwrap());
    let status = served.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn cert_issue_without_a_ca_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let output = kms()
        .args(["cert", "issue", "--data-dir"])
        .arg(dir.path())
        .args(["--cn", "bob", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no CA"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
