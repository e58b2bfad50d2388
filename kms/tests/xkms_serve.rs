//! XKMS end to end through `kms serve`: pass phrases from `kms xkms issue-passphrase`, Register over plain
//! HTTP, the key seen by KMIP Locate under its owner's certificate, Locate and Validate over HTTPS, Revoke
//! with the revocation code, Validate again (Invalid, RevocationStatus), a server-generated key recovered
//! through escrow (Pending, agents approve, then the key), `kms xkms add-trust-anchor` and X.509 Validate,
//! admin commands refused to other identities, and bad input answered with a fault, storing nothing.
#![cfg(all(feature = "cli", feature = "kmip", feature = "xkms"))]
#![allow(clippy::unwrap_used)]

// Only the deployment set-up is used here, not the cluster control it re-exports.
#[cfg(feature = "postgres")]
#[allow(unused_imports)]
mod postgres_support;
mod support;
mod xkms_common;

use std::path::Path;
use std::sync::Arc;

use kms::kmip::transport::Encoding;
use kms::kmip::transport::client::{ClientOptions, HttpsClient};
use kms::xkms::dsig::{SignOptions, SignatureMethod, SigningKey};
use kms::xkms::messages::*;
use kms::xkms::service::kms_escrow::files::EscrowDir;
use kms::xkms::service::kms_escrow::{
    Agent, AgentCredentials, AgentDecryptionKey, AgentEncryptionKey, AgentId, ApprovalKey, Role,
    SystemClock, approve, generate_p256_secret_key, p256,
};
use kms::xkms::shared_secret::{self, Conversion, KeyUse};
use kms::xkms::{Parsed, SoapVersion, parse_message, serialize_request};
use rsa::traits::PublicKeyParts as _;
use support::Server;
use xkms_common::{post, start};

fn req_header(id: &str) -> RequestHeader {
    RequestHeader {
        message: MessageHeader {
            id: id.into(),
            service: Some("http://localhost/xkms".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn name_binding(name: &str) -> KeyBindingCore {
    KeyBindingCore {
        id: Some("Ibinding".into()),
        key_info: Some(KeyInfo {
            id: None,
            items: vec![KeyInfoItem::KeyName(name.into())],
        }),
        ..Default::default()
    }
}

fn sign_kba(request: &mut Request, phrase: &str) {
    let key = shared_secret::derive_key(phrase, Conversion::SaslPrep, KeyUse::Authentication, 20)
        .unwrap();
    sign_key_binding_authentication(
        request,
        &SigningKey::Hmac(key),
        &SignOptions::new(SignatureMethod::HmacSha1),
    )
    .unwrap();
}

const REVOCATION_PHRASE: &str = "Help I Have Revealed My Key";

fn register(name: &str, phrase: &str, sk: Option<&rsa::PrivateKey>, usage: KeyUsage) -> Request {
    let mut core = name_binding(name);
    core.key_usage = vec![usage];
    if let Some(sk) = sk {
        core.key_info
            .as_mut()
            .unwrap()
            .items
            .push(KeyInfoItem::KeyValue(KeyValue::Rsa {
                modulus: sk.n_bytes().to_vec(),
                exponent: sk.e_bytes().to_vec(),
            }));
    }
    let code = shared_secret::revocation_code(REVOCATION_PHRASE, Conversion::SaslPrep).unwrap();
    let mut request = Request::Register(RegisterRequest {
        header: req_header(&format!("Ireg{name}")),
        prototype_key_binding: PrototypeKeyBinding {
            core,
            validity_interval: None,
            revocation_code_identifier: Some(
                shared_secret::revocation_code_identifier(&code).to_vec(),
            ),
        },
        authentication: Authentication::default(),
        proof_of_possession: None,
    });
    if let Some(sk) = sk {
        sign_proof_of_possession(
            &mut request,
            &SigningKey::Rsa(Box::new(sk.clone())),
            &SignOptions::new(SignatureMethod::RsaSha256),
        )
        .unwrap();
    }
    sign_kba(&mut request, phrase);
    request
}

fn query(name: &str) -> QueryKeyBinding {
    QueryKeyBinding {
        core: KeyBindingCore {
            key_info: Some(KeyInfo {
                id: None,
                items: vec![KeyInfoItem::KeyName(name.into())],
            }),
            ..Default::default()
        },
        time_instant: None,
    }
}

fn result_of(answer: &[u8]) -> XkmsResult {
    match parse_message(answer) {
        Ok(Parsed::Message(_, Message::Result(r))) => r,
        other => panic!(
            "not a result ({other:?}): {}",
            String::from_utf8_lossy(answer)
        ),
    }
}

/// Over plain HTTP (SOAP 1.2).
fn over_http(served: &Server, request: &Request) -> XkmsResult {
    let (status, head, body) = post(
        &served.http,
        "application/soap+xml; charset=utf-8",
        &serialize_request(SoapVersion::Soap12, request),
    );
    assert_eq!(status, 200);
    assert!(
        head.contains("Content-Type: application/soap+xml"),
        "{head}"
    );
    result_of(&body)
}

/// Over HTTPS with the admin certificate (SOAP 1.1).
async fn over_https(served: &Server, request: &Request) -> XkmsResult {
    let tls = support::client_tls(&served.certs(), "admin");
    let mut client = HttpsClient::connect(&served.https, tls, ClientOptions::default())
        .await
        .unwrap()
        .with_path("/xkms");
    let body = client
        .request(
            Encoding::Xml,
            &serialize_request(SoapVersion::Soap11, request),
        )
        .await
        .unwrap();
    result_of(&body)
}

fn key_status(r: &XkmsResult) -> Status {
    match r {
        XkmsResult::Validate(v) | XkmsResult::Revoke(v) => v.key_bindings[0].status.clone(),
        other => panic!("no KeyBinding in {other:?}"),
    }
}

fn rsa_key() -> rsa::PrivateKey {
    let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
    rsa::PrivateKey::new(&mut rng, 2048).unwrap()
}

struct AgentKeys {
    id: AgentId,
    decryption: AgentDecryptionKey,
    signer: p256::ecdsa::SigningKey,
}

/// Two escrow agents in the data directory's escrow, as `kms escrow agent add` would record them.
fn add_agents(data_dir: &Path) -> Vec<AgentKeys> {
    let escrow = EscrowDir::new(data_dir)
        .open(Arc::new(SystemClock))
        .unwrap();
    let mut out = Vec::new();
    for (id, role) in [("sec-1", "security"), ("legal-1", "legal")] {
        let enc = generate_p256_secret_key().unwrap();
        let sig = p256::ecdsa::SigningKey::from(&generate_p256_secret_key().unwrap());
        escrow
            .add_agent(
                "admin",
                Agent::new(
                    AgentId::new(id).unwrap(),
                    id,
                    Role::new(role).unwrap(),
                    AgentEncryptionKey::HpkeP256(enc.public_key()),
                    ApprovalKey(*sig.verifying_key()),
                )
                .unwrap(),
            )
            .unwrap();
        out.push(AgentKeys {
            id: AgentId::new(id).unwrap(),
            decryption: AgentDecryptionKey::HpkeP256(enc),
            signer: sig,
        });
    }
    out
}

/// The escrow of the data directory, waiting its turn: the server opens it too, for a moment at a time.
fn open_escrow(data_dir: &Path) -> kms::xkms::service::kms_escrow::Escrow {
    let start = std::time::Instant::now();
    loop {
        match EscrowDir::new(data_dir).open(Arc::new(SystemClock)) {
            Ok(e) => return e,
            Err(e) if start.elapsed() < support::LIVENESS => {
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("the escrow stays locked: {e}"),
        }
    }
}

/// The agents approve the one open release request, each offline with its own keys.
fn agents_approve(data_dir: &Path, agents: &[AgentKeys]) {
    let escrow = open_escrow(data_dir);
    let (request, _) = escrow.requests().unwrap().remove(0);
    assert_eq!(request.purpose, "xkms-recover");
    let package = escrow.request_package(&request.id).unwrap();
    for a in agents {
        let me = AgentCredentials {
            agent_id: a.id.clone(),
            decryption_key: &a.decryption,
            signer: &a.signer,
        };
        escrow
            .submit_approval(&approve(&package, &me, escrow.now()).unwrap())
            .unwrap();
    }
}

fn decrypt(pk: &PrivateKey, phrase: &str) -> kms::xkms::xenc::RsaKeyPair {
    let method = kms::xkms::xenc::EncryptionMethod::from_uri(
        pk.encrypted_data.algorithm.as_deref().unwrap(),
    )
    .unwrap();
    let kek = shared_secret::derive_key(
        phrase,
        Conversion::SaslPrep,
        KeyUse::PrivateKeyEncryption,
        method.key_len(),
    )
    .unwrap();
    kms::xkms::xenc::decrypt_private_key(&pk.encrypted_data, &kek).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_locate_validate_revoke_recover_over_kms_serve() {
    let dir = tempfile::tempdir().unwrap();
    let agents = add_agents(dir.path());
    let served = start(dir.path(), &["--xkms-escrow-agents", "sec-1,legal-1"]);

    // Register a client key over plain HTTP with a pass phrase from the admin command.
    let phrase = served.pass_phrase("alice");
    let sk = rsa_key();
    let request = register("alice", &phrase, Some(&sk), KeyUsage::Signature);
    let registered = over_http(&served, &request);
    assert_eq!(registered.header().result_major, ResultMajor::Success);
    // The pass phrase was for one use.
    let replay = over_http(&served, &request);
    assert_eq!(
        replay.header().result_minor,
        Some(ResultMinor::NoAuthentication)
    );

    // KMIP view: alice's own certificate finds her key with KMIP Locate.
    let certs = dir.path().join("certs");
    let out = support::kms()
        .args(["cert", "issue", "--cn", "alice", "--data-dir"])
        .arg(dir.path())
        .arg("--out-dir")
        .arg(&certs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alice = (certs.join("alice.pem"), certs.join("alice.key"));
    let located = served
        .kms_as(Some((&alice.0, &alice.1)), &["locate", "--name", "alice"])
        .unwrap();
    assert_eq!(located.lines().count(), 1, "{located}");

    // Locate and Validate over HTTPS (SOAP 1.1).
    let locate = Request::Locate(LocateRequest {
        header: req_header("Iloc"),
        query_key_binding: query("alice"),
    });
    let XkmsResult::Locate(l) = over_https(&served, &locate).await else {
        panic!("LocateResult")
    };
    assert_eq!(
        l.unverified_key_bindings[0]
            .core
            .key_info
            .as_ref()
            .and_then(KeyInfo::key_value),
        Some(&KeyValue::Rsa {
            modulus: sk.n_bytes().to_vec(),
            exponent: sk.e_bytes().to_vec()
        })
    );
    let validate = Request::Validate(ValidateRequest {
        header: req_header("Ival"),
        query_key_binding: query("alice"),
    });
    assert_eq!(
        key_status(&over_https(&served, &validate).await).status_value,
        StatusValue::Valid
    );

    // Revoke with the revocation code, then Validate says Invalid for RevocationStatus.
    let code = shared_secret::revocation_code(REVOCATION_PHRASE, Conversion::SaslPrep).unwrap();
    let revoke = Request::Revoke(RevokeRequest {
        header: req_header("Irev"),
        revoke_key_binding: KeyBinding {
            core: name_binding("alice"),
            validity_interval: None,
            status: Status::new(StatusValue::Indeterminate),
        },
        revocation: Revocation::RevocationCode(code.to_vec()),
    });
    let revoked = over_http(&served, &revoke);
    assert_eq!(revoked.header().result_major, ResultMajor::Success);
    let s = key_status(&over_http(&served, &validate));
    assert_eq!(s.status_value, StatusValue::Invalid);
    assert_eq!(s.invalid_reasons, vec![Reason::RevocationStatus]);

    // A server-generated key, escrowed; Recover is Pending until the agents approve.
    let phrase = served.pass_phrase("carol");
    let XkmsResult::Register(reg) = over_http(
        &served,
        &register("carol", &phrase, None, KeyUsage::Encryption),
    ) else {
        panic!("RegisterResult")
    };
    assert_eq!(reg.header.result_major, ResultMajor::Success);
    let generated = decrypt(reg.private_key.as_ref().unwrap(), &phrase);

    let phrase = served.pass_phrase("carol");
    let pending = over_http(
        &served,
        &recover_request("Irecover", "carol", &phrase, None),
    );
    assert_eq!(pending.header().result_major, ResultMajor::Pending);
    let pending_request = pending_request(&pending.header().message.id, "Irecover");
    assert_eq!(
        over_http(&served, &pending_request).header().result_major,
        ResultMajor::Pending
    );
    agents_approve(dir.path(), &agents);
    let XkmsResult::Recover(done) = over_https(&served, &pending_request).await else {
        panic!("RecoverResult")
    };
    assert_eq!(done.header.result_major, ResultMajor::Success);
    let recovered = decrypt(done.private_key.as_ref().unwrap(), &phrase);
    assert_eq!(recovered.modulus, generated.modulus);
    assert_eq!(recovered.d, generated.d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_anchors_admin_identity_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), &[]);
    let certs = dir.path().join("certs");

    // The server's own certificate validates once its CA is a trust anchor.
    let der = |pem: &Path| {
        let text = std::fs::read_to_string(pem).unwrap();
        let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    };
    let validate_cert = Request::Validate(ValidateRequest {
        header: req_header("Ivalcert"),
        query_key_binding: QueryKeyBinding {
            core: KeyBindingCore {
                key_info: Some(KeyInfo {
                    id: None,
                    items: vec![KeyInfoItem::X509Data(vec![X509Item::Certificate(der(
                        &certs.join("server.pem"),
                    ))])],
                }),
                ..Default::default()
            },
            time_instant: None,
        },
    });
    let s = key_status(&over_http(&served, &validate_cert));
    assert!(s.invalid_reasons.contains(&Reason::IssuerTrust));
    let id = served
        .kms_as(
            None,
            &[
                "xkms",
                "add-trust-anchor",
                certs.join("ca.pem").to_str().unwrap(),
            ],
        )
        .unwrap();
    assert_eq!(id.lines().count(), 1);
    let s = key_status(&over_https(&served, &validate_cert).await);
    assert_eq!(s.status_value, StatusValue::Valid, "{s:?}");
    assert!(s.valid_reasons.contains(&Reason::IssuerTrust));

    // Admin commands need an admin identity.
    let out = support::kms()
        .args(["cert", "issue", "--cn", "bob", "--data-dir"])
        .arg(dir.path())
        .arg("--out-dir")
        .arg(&certs)
        .output()
        .unwrap();
    assert!(out.status.success());
    let bob = (certs.join("bob.pem"), certs.join("bob.key"));
    let refused = served.kms_as(
        Some((&bob.0, &bob.1)),
        &["xkms", "issue-passphrase", "--for", "bob"],
    );
    assert!(refused.unwrap_err().contains("admin"));

    // Bad input: a SOAP fault (HTTP 200, as SOAP clients of XKMS expect), nothing stored.
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>&b;</env:Body></env:Envelope>"#;
    for bad in [&laughs[..], b"<unclosed", b"not xml at all"] {
        let (status, _, body) = post(&served.http, "application/soap+xml", bad);
        assert_eq!(status, 200);
        assert!(matches!(parse_message(&body), Ok(Parsed::Fault(..))));
    }
    let (status, _, _) = post(&served.http, "text/plain", b"hello");
    assert_eq!(status, 415);
    // Plain HTTP serves XKMS only: no KMIP, no admin routes.
    let mut s = std::net::TcpStream::connect(&served.http).unwrap();
    use std::io::{Read, Write};
    write!(
        s,
        "POST /xkms/admin/pass-phrase HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbob"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    let located = served.kms_as(None, &["locate"]).unwrap();
    // Only the trust anchor.
    assert_eq!(located.lines().count(), 1, "{located}");
}

/// A one-request-at-a-time HTTP listener standing for the client's notification endpoint: every request's head
/// and body are passed on, each answered 204.
fn notification_listener() -> (String, std::sync::mpsc::Receiver<(String, Vec<u8>)>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            stream.set_read_timeout(Some(support::LIVENESS)).unwrap();
            let mut raw = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let n = stream.read(&mut chunk).unwrap();
                assert!(n > 0, "request cut short");
                raw.extend_from_slice(&chunk[..n]);
                let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8(raw[..split].to_vec()).unwrap();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                if raw.len() >= split + 4 + len {
                    break (head, raw[split + 4..split + 4 + len].to_vec());
                }
            };
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .unwrap();
            if tx.send((head, body)).is_err() {
                break;
            }
        }
    });
    (addr, rx)
}

fn recover_request(id: &str, name: &str, phrase: &str, notify: Option<(&str, &str)>) -> Request {
    let mut header = req_header(id);
    header.response_mechanisms = vec![ResponseMechanism::Pending];
    header.pending_notification = notify.map(|(mechanism, identifier)| PendingNotification {
        mechanism: mechanism.into(),
        identifier: identifier.into(),
    });
    let mut recover = Request::Recover(RecoverRequest {
        header,
        recover_key_binding: KeyBinding {
            core: name_binding(name),
            validity_interval: None,
            status: Status::new(StatusValue::Indeterminate),
        },
        authentication: Authentication::default(),
    });
    sign_kba(&mut recover, phrase);
    recover
}

fn pending_request(response_id: &str, original: &str) -> Request {
    let mut header = req_header("Ipending");
    header.original_request_id = Some(original.into());
    Request::Pending(PendingRequest {
        header,
        response_id: response_id.into(),
    })
}

fn major_minor(r: &XkmsResult) -> (ResultMajor, Option<ResultMinor>) {
    (
        r.header().result_major.clone(),
        r.header().result_minor.clone(),
    )
}

/// The escrow and notification flags of the pending-recovery tests. The notification endpoint is on loopback,
/// which kms serve only notifies when told to.
const PENDING_ARGS: [&str; 3] = [
    "--xkms-escrow-agents",
    "sec-1,legal-1",
    "--xkms-notify-allow-internal",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xkms_pending_recovery_is_notified_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    pending_recovery_across_a_restart(dir.path(), || start(dir.path(), &PENDING_ARGS)).await;
}

/// The same on the PostgreSQL store: the pending request is a record in the database.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xkms_pending_recovery_survives_a_restart_on_postgres() {
    let d = postgres_support::Deployment::new(postgres_support::shared_url());
    let data_dir = d.data_dir(0);
    let serve = || {
        support::Serve::new(&data_dir)
            .http()
            .args(["--store", "postgres", "--database-schema", &d.schema])
            .args([Path::new("--root-key-file"), &d.root_key])
            .env("KMS_DATABASE_URL", &d.url)
            .args(PENDING_ARGS)
            .start()
    };
    pending_recovery_across_a_restart(&data_dir, serve).await;
    postgres_support::drop_schema(&d.url, &d.schema);
}

/// Recover through escrow with a PendingNotification: Pending; a mail notification refused; `kms serve`
/// restarted (`serve` starts it on `data_dir`); unknown ids and another request's id refused, changing
/// nothing; the agents approve; the listener gets the notification; PendingRequest returns the key, once.
async fn pending_recovery_across_a_restart(data_dir: &Path, serve: impl Fn() -> Server) {
    let agents = add_agents(data_dir);
    let served = serve();
    let phrase = served.pass_phrase("carol");
    let XkmsResult::Register(reg) = over_http(
        &served,
        &register("carol", &phrase, None, KeyUsage::Encryption),
    ) else {
        panic!("RegisterResult")
    };
    let generated = decrypt(reg.private_key.as_ref().unwrap(), &phrase);

    // Mail needs a relay this server does not have: refused before anything is opened, pass phrase kept.
    let phrase = served.pass_phrase("carol");
    let mail = recover_request(
        "Irecmail",
        "carol",
        &phrase,
        Some(("urn:ietf:rfc:822", "mailto:carol@example.com")),
    );
    assert_eq!(
        major_minor(&over_http(&served, &mail)),
        (
            ResultMajor::Receiver,
            Some(ResultMinor::OptionalElementNotSupported)
        )
    );
    assert!(open_escrow(data_dir).requests().unwrap().is_empty());

    let (listener, notifications) = notification_listener();
    let url = format!("http://{listener}/notify/carol?n=1");
    let recover = recover_request(
        "Irecover",
        "carol",
        &phrase,
        Some(("urn:ietf:rfc:2616", &url)),
    );
    let pending = over_http(&served, &recover);
    assert_eq!(pending.header().result_major, ResultMajor::Pending);
    let response_id = pending.header().message.id.clone();

    // kms serve restarts between Pending and PendingRequest.
    assert!(served.terminate().success());
    let served = serve();
    let status = Request::Status(StatusRequest {
        header: req_header("Istatus"),
        response_id: response_id.clone(),
    });
    assert_eq!(
        over_http(&served, &status).header().result_major,
        ResultMajor::Pending
    );
    // Unknown ids, and the ResponseId with another request's OriginalRequestId: unknown, nothing changed.
    for (id, original) in [
        ("I0123456789abcdef0123456789abcdef", "Irecover"),
        ("not-an-id", "Irecover"),
        (response_id.as_str(), "Iother"),
    ] {
        assert_eq!(
            major_minor(&over_http(&served, &pending_request(id, original))),
            (ResultMajor::Sender, Some(ResultMinor::UnknownResponseId)),
            "{id} {original}"
        );
    }
    assert_eq!(
        over_http(&served, &pending_request(&response_id, "Irecover"))
            .header()
            .result_major,
        ResultMajor::Pending
    );

    agents_approve(data_dir, &agents);
    let (head, body) = notifications
        .recv_timeout(support::LIVENESS)
        .expect("the notification");
    assert!(
        head.starts_with("POST /notify/carol?n=1 HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Content-Type: application/soap+xml"),
        "{head}"
    );
    let XkmsResult::Status(s) = result_of(&body) else {
        panic!("a StatusResult")
    };
    assert_eq!(s.header.result_major, ResultMajor::Success);
    assert_eq!(s.header.request_id.as_deref(), Some("Irecover"));
    assert!(!String::from_utf8_lossy(&body).contains(&response_id));

    let XkmsResult::Recover(done) =
        over_https(&served, &pending_request(&response_id, "Irecover")).await
    else {
        panic!("RecoverResult")
    };
    assert_eq!(done.header.result_major, ResultMajor::Success);
    let recovered = decrypt(done.private_key.as_ref().unwrap(), &phrase);
    assert_eq!(recovered.modulus, generated.modulus);
    assert_eq!(recovered.d, generated.d);
    assert_eq!(
        major_minor(&over_http(
            &served,
            &pending_request(&response_id, "Irecover")
        )),
        (ResultMajor::Sender, Some(ResultMinor::UnknownResponseId))
    );
}
