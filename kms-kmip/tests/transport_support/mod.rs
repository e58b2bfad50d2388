//! What the transport tests share: a test PKI made with rcgen, a real handler, and a server started on
//! 127.0.0.1 port 0.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use kms_kmip::transport::server::{Server, ServerConfig, ShutdownHandle};
use kms_kmip::transport::{
    ClientIdentity, Encoding, Limits, RequestHandler, ResultReason, error_response, tls,
};
use kms_kmip::ttlv::{self, Tag, Writer};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate and its key.
pub struct Leaf {
    pub cert: CertificateDer<'static>,
    pub key: PrivatePkcs8KeyDer<'static>,
}

impl Leaf {
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

/// A CA able to issue server and client certificates.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    pub fn cert(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    fn issue(&self, cn: Option<&str>, sans: Vec<String>, eku: ExtendedKeyUsagePurpose) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name = DistinguishedName::new();
        if let Some(cn) = cn {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        params
            .distinguished_name
            .push(DnType::OrganizationName, "kms tests");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![eku];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }

    pub fn server(&self) -> Leaf {
        self.issue(
            Some("kms test server"),
            vec!["127.0.0.1".into(), "localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    pub fn client(&self, cn: &str) -> Leaf {
        self.issue(Some(cn), Vec::new(), ExtendedKeyUsagePurpose::ClientAuth)
    }

    /// A client certificate whose subject has no Common Name.
    pub fn client_without_cn(&self) -> Leaf {
        self.issue(None, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth)
    }

    pub fn client_tls(&self, leaf: &Leaf) -> Arc<rustls::ClientConfig> {
        tls::client_config(&[self.cert()], vec![leaf.cert.clone()], leaf.key()).unwrap()
    }
}

/// What the witness handler saw of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub identity: ClientIdentity,
    pub encoding: Encoding,
    pub len: usize,
}

/// A real handler for transport tests: it validates TTLV requests with the codec and answers a well-formed
/// one with a structure carrying the caller's name, its admin flag and the request itself; a malformed one
/// with the transport's Invalid Message response. JSON and XML bodies are answered with
/// `"<name> <encoding> "` followed by the body. Every call is recorded.
#[derive(Default)]
pub struct Witness {
    pub seen: Mutex<Vec<Seen>>,
}

/// The tag of the witness's answer: a vendor extension tag, so it is never mistaken for a KMIP response.
pub const WITNESS: Tag = match Tag::new(0x54_0001) {
    Some(t) => t,
    None => panic!(),
};

impl RequestHandler for Witness {
    fn handle(&self, identity: &ClientIdentity, encoding: Encoding, request: &[u8]) -> Vec<u8> {
        self.seen.lock().unwrap().push(Seen {
            identity: identity.clone(),
            encoding,
            len: request.len(),
        });
        if encoding != Encoding::Ttlv {
            let mut out = format!("{} {} ", identity.name(), encoding).into_bytes();
            out.extend_from_slice(request);
            return out;
        }
        if ttlv::validate(request, &ttlv::Limits::new()).is_err() {
            return error_response(
                request,
                &ttlv::Limits::new(),
                ResultReason::InvalidMessage,
                "malformed",
            );
        }
        witness_answer(identity.name(), identity.is_admin(), request)
    }

    fn supports(&self, _: Encoding) -> bool {
        true
    }
}

pub fn witness_answer(name: &str, admin: bool, request: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = Writer::new(&mut buf);
    w.structure(WITNESS, |w| {
        w.text_string(Tag::RESULT_MESSAGE, name);
        w.boolean(Tag::RESULT_STATUS, admin);
        w.byte_string(Tag::UNIQUE_BATCH_ITEM_ID, request);
    });
    w.finish().unwrap();
    buf
}

/// A handler that reports when a request has reached it and answers only when released: it lets a test
/// hold a request in flight without timing anything.
pub struct Gate {
    pub entered: Mutex<mpsc::Sender<()>>,
    pub release: Mutex<mpsc::Receiver<()>>,
}

impl RequestHandler for Gate {
    fn handle(&self, identity: &ClientIdentity, _: Encoding, request: &[u8]) -> Vec<u8> {
        self.entered.lock().unwrap().send(()).unwrap();
        self.release.lock().unwrap().recv().unwrap();
        witness_answer(identity.name(), identity.is_admin(), request)
    }
}

/// A small well-formed TTLV message (a Request Message with a Protocol Version) with `payload` as a byte
/// string, `payload.len()` bytes of content.
pub fn request(payload: &[u8]) -> Vec<u8> {
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
            w.enumeration(Tag::OPERATION, 0x0A);
            w.byte_string(Tag::UNIQUE_BATCH_ITEM_ID, payload);
        });
    });
    w.finish().unwrap();
    buf
}

/// Reads a witness answer: (name, admin, echoed request).
pub fn read_witness(response: &[u8]) -> (String, bool, Vec<u8>) {
    let item = ttlv::decode(response).unwrap();
    assert_eq!(item.tag(), WITNESS, "not a witness answer");
    let mut children = item.children().unwrap().map(Result::unwrap);
    let name = children
        .next()
        .unwrap()
        .as_text_string()
        .unwrap()
        .to_owned();
    let admin = children.next().unwrap().as_boolean().unwrap();
    let echoed = children.next().unwrap().as_byte_string().unwrap().to_vec();
    (name, admin, echoed)
}

/// The Result Reason of the first batch item of a KMIP response.
pub fn result_reason(response: &[u8]) -> u32 {
    let msg = ttlv::decode(response).unwrap();
    assert_eq!(msg.tag(), Tag::RESPONSE_MESSAGE);
    let item = msg
        .children()
        .unwrap()
        .map(Result::unwrap)
        .find(|c| c.tag() == Tag::BATCH_ITEM)
        .unwrap();
    item.children()
        .unwrap()
        .map(Result::unwrap)
        .find(|c| c.tag() == Tag::RESULT_REASON)
        .unwrap()
        .as_enumeration()
        .unwrap()
}

/// A test PKI: one CA, the server's certificate, and clients alice and admin.
pub struct Pki {
    pub ca: Ca,
    pub server: Leaf,
}

impl Pki {
    pub fn new() -> Self {
        let ca = Ca::new("kms test CA");
        let server = ca.server();
        Self { ca, server }
    }

    pub fn server_config(&self, limits: Limits) -> ServerConfig {
        let tls = tls::server_config(
            &[self.ca.cert()],
            vec![self.server.cert.clone()],
            self.server.key(),
        )
        .unwrap();
        ServerConfig::new(tls)
            .with_admins(["admin"])
            .with_limits(limits)
    }
}

/// A server on 127.0.0.1 (both listeners on port 0), run on the current runtime.
pub struct Running {
    pub kmip: SocketAddr,
    pub https: SocketAddr,
    pub shutdown: ShutdownHandle,
    pub done: tokio::task::JoinHandle<bool>,
}

impl Running {
    pub async fn start(pki: &Pki, limits: Limits, handler: impl RequestHandler) -> Self {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let server = Server::builder(pki.server_config(limits), handler)
            .kmip(any)
            .https(any)
            .bind()
            .await
            .unwrap();
        let kmip = server.kmip_addr().unwrap();
        let https = server.https_addr().unwrap();
        let shutdown = server.shutdown_handle();
        let done = tokio::spawn(server.run());
        Self {
            kmip,
            https,
            shutdown,
            done,
        }
    }

    pub fn kmip_addr(&self) -> String {
        self.kmip.to_string()
    }

    pub fn https_addr(&self) -> String {
        self.https.to_string()
    }

    /// Shuts the server down and returns whether every connection finished in time.
    pub async fn stop(self) -> bool {
        self.shutdown.shutdown();
        self.done.await.unwrap()
    }
}

/// Generous upper bound for liveness: a test that would otherwise hang fails instead.
pub const LIVENESS: std::time::Duration = std::time::Duration::from_secs(30);
