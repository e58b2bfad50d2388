//! XkmsService (kms-xkms) over an in-memory KeyManager, and `POST /xkms` over HTTP with 16 clients.
//!
//! - Locate and Validate, parse + process + serialize (`XkmsService::handle_soap`) beside each part on its
//!   own: parsing the SOAP request, processing the typed request, serializing the typed result.
//! - HTTP: 16 clients, each on its own keep-alive connection and thread, send 4 requests per iteration to the
//!   kms-kmip transport serving XKMS (the route `kms serve` mounts). The floor is the same transport with a
//!   handler that echoes the body; plain HTTP and HTTPS (mutual TLS) side by side. The requests/s table
//!   follows the ratio table.
//!
//! No Rust XKMS service exists to compare with; the ratios compare against the first column of each row.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use criterion::Criterion;
use kms_benches::{RatioTable, human, run_case};
use kms_core::manager::CreateKeyPairRequest;
use kms_core::object::{Attributes, CryptographicAlgorithm, Name, RecommendedCurve};
use kms_core::{KeyManager, MemoryStore, Principal, SoftwareBackend};
use kms_kmip::transport::server::{HttpRoute, Server, ServerConfig};
use kms_kmip::transport::{ClientIdentity, Encoding, OperationNotSupported, RequestHandler, tls};
use kms_xkms::messages::{
    KeyBindingCore, KeyInfo, KeyInfoItem, LocateRequest, MessageHeader, QueryKeyBinding, Request,
    RequestHeader, ValidateRequest, encode_result,
};
use kms_xkms::service::XkmsService;
use kms_xkms::{SoapVersion, parse_request, serialize_request, serialize_result};

/// One client connection: sends a body, returns the answer's body.
type Sender = Box<dyn FnMut(&[u8]) -> Vec<u8> + Send>;

const CLIENTS: usize = 16;
const PER_CLIENT: usize = 4;
const KEYS: usize = 200;

fn service() -> Arc<XkmsService> {
    let manager = Arc::new(
        KeyManager::builder(Arc::new(MemoryStore::new()))
            .backend(Arc::new(SoftwareBackend::new()))
            .build()
            .unwrap(),
    );
    // KMIP-created P-256 pairs, each public key named user-N: XKMS serves the KMIP keys.
    for i in 0..KEYS {
        let who = Principal::new(format!("user-{i}")).unwrap();
        let mut common = Attributes::default();
        common.cryptographic_algorithm = Some(CryptographicAlgorithm::Ec);
        common.recommended_curve = Some(RecommendedCurve::P256);
        let mut public = Attributes::default();
        public.names = vec![Name::text(format!("user-{i}"))];
        let ids = manager
            .create_key_pair(
                &who,
                CreateKeyPairRequest {
                    common_attributes: common,
                    private_key_attributes: Attributes::default(),
                    public_key_attributes: public,
                },
            )
            .unwrap();
        manager.activate(&who, &ids.public_key).unwrap();
    }
    Arc::new(XkmsService::new(manager).unwrap())
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

fn header(id: &str) -> RequestHeader {
    RequestHeader {
        message: MessageHeader {
            id: id.into(),
            service: Some("http://localhost/xkms".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn locate() -> Request {
    Request::Locate(LocateRequest {
        header: header("Ilocate"),
        query_key_binding: query("user-42"),
    })
}

fn validate() -> Request {
    Request::Validate(ValidateRequest {
        header: header("Ivalidate"),
        query_key_binding: query("user-42"),
    })
}

/// What `kms serve` mounts at /xkms.
struct Soap(Arc<XkmsService>);

impl RequestHandler for Soap {
    fn handle(&self, _: &ClientIdentity, _: Encoding, request: &[u8]) -> Vec<u8> {
        self.0.handle_soap(request, SoapVersion::Soap12).1
    }
    fn supports(&self, encoding: Encoding) -> bool {
        encoding == Encoding::Xml
    }
}

/// The transport floor: the body back, on the same blocking pool.
struct Echo;

impl RequestHandler for Echo {
    fn handle(&self, _: &ClientIdentity, _: Encoding, request: &[u8]) -> Vec<u8> {
        request.to_vec()
    }
    fn supports(&self, encoding: Encoding) -> bool {
        encoding == Encoding::Xml
    }
}

struct Pki {
    ca: rustls::pki_types::CertificateDer<'static>,
    server: (rustls::pki_types::CertificateDer<'static>, Vec<u8>),
    client: (rustls::pki_types::CertificateDer<'static>, Vec<u8>),
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "xkms bench CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf = |cn: &str, sans: Vec<String>, eku| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(sans).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![eku];
        (
            p.signed_by(&key, &ca).unwrap().der().clone(),
            key.serialize_der(),
        )
    };
    Pki {
        server: leaf(
            "localhost",
            vec!["127.0.0.1".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        client: leaf("bench", Vec::new(), ExtendedKeyUsagePurpose::ClientAuth),
        ca: ca.der().clone(),
    }
}

fn key_der(der: &[u8]) -> rustls::pki_types::PrivateKeyDer<'static> {
    rustls::pki_types::PrivateKeyDer::Pkcs8(der.to_vec().into())
}

/// The server on its own runtime and threads, as `kms serve` would run: (plain HTTP, HTTPS) addresses.
fn serve(service: Arc<XkmsService>, pki: &Pki) -> (SocketAddr, SocketAddr) {
    let server_tls = tls::server_config(
        std::slice::from_ref(&pki.ca),
        vec![pki.server.0.clone()],
        key_der(&pki.server.1),
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let soap = || {
                HttpRoute::new("/xkms", Arc::new(Soap(Arc::clone(&service))))
                    .with_media_type("application/soap+xml", Encoding::Xml)
            };
            let echo = || {
                HttpRoute::new("/echo", Arc::new(Echo))
                    .with_media_type("application/soap+xml", Encoding::Xml)
            };
            let server = Server::builder(
                ServerConfig::new(server_tls),
                OperationNotSupported::default(),
            )
            .https(([127, 0, 0, 1], 0).into())
            .route(soap())
            .route(echo())
            .http(([127, 0, 0, 1], 0).into())
            .http_route(soap())
            .http_route(echo())
            .bind()
            .await
            .unwrap();
            tx.send((server.http_addr().unwrap(), server.https_addr().unwrap()))
                .unwrap();
            server.run().await;
        });
    });
    rx.recv().unwrap()
}

/// One HTTP/1.1 exchange on a keep-alive connection; returns the body.
fn exchange<S: Read + Write>(s: &mut BufReader<S>, path: &str, body: &[u8]) -> Vec<u8> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/soap+xml\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    // One write, so that plain TCP and TLS both send the request in one go.
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    let w = s.get_mut();
    w.write_all(&request).unwrap();
    w.flush().unwrap();
    let mut length = 0usize;
    let mut status = String::new();
    s.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    loop {
        let mut line = String::new();
        s.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap();
        }
    }
    let mut out = vec![0u8; length];
    s.read_exact(&mut out).unwrap();
    out
}

/// 16 client threads on persistent connections; `run()` makes each send PER_CLIENT requests and waits.
struct Clients {
    go: Vec<mpsc::Sender<()>>,
    done: mpsc::Receiver<()>,
}

impl Clients {
    fn new(connect: impl Fn() -> Sender + Sync, body: &[u8], check: fn(&[u8])) -> Self {
        let (done_tx, done) = mpsc::channel();
        let mut go = Vec::new();
        for _ in 0..CLIENTS {
            let (tx, rx) = mpsc::channel::<()>();
            let mut send = connect();
            // Warm the connection (TLS handshake, first request) before any timing.
            check(&send(body));
            let body = body.to_vec();
            let done_tx = done_tx.clone();
            std::thread::spawn(move || {
                while rx.recv().is_ok() {
                    for _ in 0..PER_CLIENT {
                        black_box(send(&body));
                    }
                    if done_tx.send(()).is_err() {
                        return;
                    }
                }
            });
            go.push(tx);
        }
        Self { go, done }
    }

    fn run(&self) {
        for g in &self.go {
            g.send(()).unwrap();
        }
        for _ in 0..CLIENTS {
            self.done.recv().unwrap();
        }
    }
}

fn plain(addr: SocketAddr, path: &'static str) -> Sender {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut s = BufReader::new(tcp);
    Box::new(move |body| exchange(&mut s, path, body))
}

fn secure(addr: SocketAddr, config: Arc<rustls::ClientConfig>, path: &'static str) -> Sender {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let mut s = BufReader::new(rustls::StreamOwned::new(conn, tcp));
    Box::new(move |body| exchange(&mut s, path, body))
}

fn is_success(answer: &[u8]) {
    let text = std::str::from_utf8(answer).unwrap();
    assert!(
        text.contains("ResultMajor=\"http://www.w3.org/2002/03/xkms#Success\""),
        "{text}"
    );
}

fn is_echo(_: &[u8]) {}

fn bench(c: &mut Criterion) {
    let table = RatioTable::default();
    let svc = service();
    for (order, name, request) in [(0, "Locate", locate()), (1, "Validate", validate())] {
        let bytes = serialize_request(SoapVersion::Soap12, &request);
        let answer = svc.handle_soap(&bytes, SoapVersion::Soap12).1;
        is_success(&answer);
        let result = svc.process(request.clone());
        run_case(
            c,
            &table,
            order,
            &format!("{name}: parse+process+serialize"),
            None,
            vec![
                (
                    "handle_soap (all three)",
                    Box::new(|| {
                        black_box(svc.handle_soap(black_box(&bytes), SoapVersion::Soap12));
                    }),
                ),
                (
                    "parse_request only",
                    Box::new(|| {
                        black_box(parse_request(black_box(&bytes)).unwrap());
                    }),
                ),
                (
                    "process only (typed request)",
                    Box::new(|| {
                        black_box(svc.process(black_box(request.clone())));
                    }),
                ),
                (
                    "serialize_result only",
                    Box::new(|| {
                        black_box(serialize_result(SoapVersion::Soap12, black_box(&result)));
                    }),
                ),
            ],
        );
        black_box(encode_result(&result));
    }

    let pki = pki();
    let (http, https) = serve(Arc::clone(&svc), &pki);
    let client_tls = tls::client_config(
        std::slice::from_ref(&pki.ca),
        vec![pki.client.0.clone()],
        key_der(&pki.client.1),
    )
    .unwrap();
    let locate_bytes = serialize_request(SoapVersion::Soap12, &locate());
    let validate_bytes = serialize_request(SoapVersion::Soap12, &validate());
    let runs: Vec<(&str, Clients)> = vec![
        (
            "plain HTTP, echo handler (floor)",
            Clients::new(|| plain(http, "/echo"), &locate_bytes, is_echo),
        ),
        (
            "plain HTTP, XKMS Locate",
            Clients::new(|| plain(http, "/xkms"), &locate_bytes, is_success),
        ),
        (
            "plain HTTP, XKMS Validate",
            Clients::new(|| plain(http, "/xkms"), &validate_bytes, is_success),
        ),
        (
            "HTTPS, echo handler (floor)",
            Clients::new(
                || secure(https, Arc::clone(&client_tls), "/echo"),
                &locate_bytes,
                is_echo,
            ),
        ),
        (
            "HTTPS, XKMS Locate",
            Clients::new(
                || secure(https, Arc::clone(&client_tls), "/xkms"),
                &locate_bytes,
                is_success,
            ),
        ),
    ];
    let per_iteration = (CLIENTS * PER_CLIENT) as f64;
    let mut rates = Vec::new();
    for (i, (label, clients)) in runs.iter().enumerate() {
        let mut samples = Vec::new();
        let mut group =
            c.benchmark_group(format!("HTTP, {CLIENTS} clients x {PER_CLIENT} requests"));
        group.sample_size(20);
        group.bench_function(*label, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    clients.run();
                }
                let elapsed = start.elapsed();
                table.add(
                    (10, &format!("HTTP: {CLIENTS}x{PER_CLIENT} requests")),
                    (i, label),
                    elapsed,
                    iters,
                );
                samples.push(elapsed.as_secs_f64() / iters as f64);
                elapsed
            });
        });
        group.finish();
        samples.sort_by(f64::total_cmp);
        if let Some(m) = samples.get(samples.len() / 2) {
            rates.push((*label, per_iteration / m, m / per_iteration));
        }
    }
    table.print();
    println!(
        "{:<36} | {:>12} | {:>16}",
        "HTTP, 16 clients", "requests/s", "time per request"
    );
    println!("{}", "-".repeat(70));
    for (label, rate, per) in rates {
        println!("{label:<36} | {rate:>12.0} | {:>16}", human(per));
    }
    println!();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
