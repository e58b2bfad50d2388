//! Our KMIP client (kms-kmip's blocking client and typed messages) against a PyKMIP 0.11.0 server, in KMIP 1.2
//! and 1.4, for the operations PyKMIP serves: Discover Versions, Query, Create, Get, Get Attributes, Locate,
//! Activate, Revoke, Destroy.
//!
//! The server is started from the virtualenv of KMS_TEST_PYKMIP_PYTHON (scripts/interop/pykmip_server.sh) on a
//! free loopback port and stopped by its PID; the test fails if KMS_TEST_PYKMIP_PYTHON is not set.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use kms::kmip::message::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, ObjectType, QueryFunction, ResultStatus,
    RevocationReasonCode,
};
use kms::kmip::message::operations::access::{GetAttributesRequest, GetRequest, LocateRequest};
use kms::kmip::message::operations::lifecycle::{CreateRequest, IdentifierPayload, RevokeRequest};
use kms::kmip::message::operations::server::{DiscoverVersionsPayload, QueryRequest};
use kms::kmip::message::types::RevocationReason;
use kms::kmip::message::{
    Attribute, AttributeReference, Attributes, Object, RequestBatchItem, RequestHeader,
    RequestMessage, RequestPayload, ResponseMessage, ResponsePayload, UniqueIdentifier,
};
use kms::kmip::tags::Version;
use kms::kmip::transport::client::{ClientOptions, KmipClient};
use kms::kmip::transport::tls;
use kms::kmip::ttlv::Tag;

struct PyKmipServer(u32);

impl Drop for PyKmipServer {
    fn drop(&mut self) {
        // The PID the start script printed: this one process, nothing matched by name.
        let _ = Command::new("kill").arg(self.0.to_string()).status();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start(dir: &Path, python: &Path, port: u16) -> PyKmipServer {
    let server = python.with_file_name("pykmip-server");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/interop/pykmip_server.sh");
    let out = Command::new("bash")
        .arg(script)
        .env("DIR", dir)
        .env("PORT", port.to_string())
        .env("PYKMIP_SERVER", server)
        .output()
        .expect("start script runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("the server's PID");
    PyKmipServer(pid)
}

fn call(
    client: &mut KmipClient,
    version: Version,
    payload: RequestPayload,
) -> Result<ResponsePayload, String> {
    let request = RequestMessage {
        header: RequestHeader {
            protocol_version: version.into(),
            batch_count: 1,
            ..Default::default()
        },
        batch_items: vec![RequestBatchItem::new(payload).expect("item")],
    };
    let bytes = client
        .request(&request.to_bytes().expect("encode"))
        .map_err(|e| e.to_string())?;
    let response = ResponseMessage::from_bytes(&bytes).map_err(|e| e.to_string())?;
    let item = response.batch_items.into_iter().next().ok_or("no item")?;
    if item.result_status != ResultStatus::SUCCESS {
        return Err(format!(
            "{:?}: {:?}",
            item.result_reason, item.result_message
        ));
    }
    item.payload.ok_or_else(|| "no payload".to_owned())
}

#[test]
fn our_client_against_a_pykmip_server() {
    let python = PathBuf::from(std::env::var_os("KMS_TEST_PYKMIP_PYTHON").expect(
        "KMS_TEST_PYKMIP_PYTHON must point at a python with pykmip==0.11.0 (see scripts/test)",
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let _server = start(dir.path(), &python, port);
    let certs = dir.path().join("certs");
    let config = tls::client_config_from_pem(
        &certs.join("ca.crt"),
        &certs.join("client.crt"),
        &certs.join("client.key"),
    )
    .expect("client TLS");
    let mut client = KmipClient::connect(
        &format!("127.0.0.1:{port}"),
        config,
        ClientOptions::default(),
    )
    .expect("connect to PyKMIP");

    let mut results = Vec::new();
    for version in [Version::V1_2, Version::V1_4] {
        let mut step =
            |name: &str, r: Result<ResponsePayload, String>| -> Option<ResponsePayload> {
                eprintln!(
                    "PyKMIP server, KMIP {version}, {name}: {}",
                    if r.is_ok() { "ok" } else { "FAILED" }
                );
                results.push((version, name.to_owned(), r.clone().err()));
                r.ok()
            };
        step(
            "discover versions",
            call(
                &mut client,
                version,
                RequestPayload::DiscoverVersions(DiscoverVersionsPayload::default()),
            ),
        );
        step(
            "query",
            call(
                &mut client,
                version,
                RequestPayload::Query(QueryRequest {
                    query_functions: vec![
                        QueryFunction::QUERY_OPERATIONS,
                        QueryFunction::QUERY_OBJECTS,
                    ],
                    ..Default::default()
                }),
            ),
        );
        let created = step(
            "create",
            call(
                &mut client,
                version,
                RequestPayload::Create(CreateRequest {
                    object_type: ObjectType::SYMMETRIC_KEY,
                    attributes: Attributes::new(vec![
                        Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
                        Attribute::CryptographicLength(256),
                        Attribute::CryptographicUsageMask(
                            CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
                        ),
                    ]),
                    ..Default::default()
                }),
            ),
        );
        let Some(ResponsePayload::Create(created)) = created else {
            continue;
        };
        let id: UniqueIdentifier = created.unique_identifier.clone();
        let got = step(
            "get",
            call(
                &mut client,
                version,
                RequestPayload::Get(GetRequest {
                    unique_identifier: Some(id.clone()),
                    ..Default::default()
                }),
            ),
        );
        if let Some(ResponsePayload::Get(g)) = got {
            assert!(matches!(g.object.as_deref(), Some(Object::SymmetricKey(_))));
        }
        step(
            "get attributes",
            call(
                &mut client,
                version,
                RequestPayload::GetAttributes(GetAttributesRequest {
                    unique_identifier: Some(id.clone()),
                    attribute_references: vec![AttributeReference::Standard(
                        Tag::CRYPTOGRAPHIC_LENGTH,
                    )],
                    ..Default::default()
                }),
            ),
        );
        let located = step(
            "locate",
            call(
                &mut client,
                version,
                RequestPayload::Locate(LocateRequest::default()),
            ),
        );
        if let Some(ResponsePayload::Locate(l)) = located {
            assert!(l.unique_identifiers.contains(&id));
        }
        let ident = IdentifierPayload {
            unique_identifier: Some(id.clone()),
            ..Default::default()
        };
        step(
            "activate",
            call(
                &mut client,
                version,
                RequestPayload::Activate(ident.clone()),
            ),
        );
        step(
            "revoke",
            call(
                &mut client,
                version,
                RequestPayload::Revoke(RevokeRequest {
                    unique_identifier: Some(id.clone()),
                    revocation_reason: RevocationReason {
                        revocation_reason_code: RevocationReasonCode::CESSATION_OF_OPERATION,
                        ..Default::default()
                    },
                    ..Default::default()
                }),
            ),
        );
        step(
            "destroy",
            call(&mut client, version, RequestPayload::Destroy(ident)),
        );
    }
    let failed: Vec<_> = results.iter().filter(|r| r.2.is_some()).collect();
    assert!(failed.is_empty(), "{failed:?}");
}
