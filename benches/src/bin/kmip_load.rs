//! KMIP load generator: N persistent mutual-TLS connections, each sending requests one after the other, for a
//! fixed number of requests; reports throughput and latency percentiles.
//!
//! ```text
//! # against a running `kms serve` (defaults: ./kms-data certs, 127.0.0.1:5696)
//! cargo run --release -p kms-benches --bin kmip_load -- --connections 16 --requests 2000
//! # against any KMIP server (PyKMIP's recipe certificates, say)
//! cargo run --release -p kms-benches --bin kmip_load -- --addr 127.0.0.1:15698 \
//!     --ca $DIR/certs/ca.crt --cert $DIR/certs/client.crt --key $DIR/certs/client.key
//! # the transport alone: an in-process server answering Operation Not Supported
//! cargo run --release -p kms-benches --bin kmip_load -- --in-process --connections 16
//! ```
//!
//! Requests come from a [`RequestFactory`]: `discover-versions` (every server answers it), `file:PATH` (one
//! TTLV request message, sent as is), or a KMIP 2.1 operation: `create` (an AES-256 key per request), and
//! `get`, `encrypt` (AES-GCM, 64 bytes) on one AES key a set-up request created and activated first. With
//! `--in-process --service` the in-process server runs the real KMIP service over an in-memory key manager.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use kms_kmip::message::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, ObjectType, ResultStatus,
};
use kms_kmip::message::operations::access::GetRequest;
use kms_kmip::message::operations::crypto::EncryptRequest;
use kms_kmip::message::operations::lifecycle::{CreateRequest, IdentifierPayload};
use kms_kmip::message::{
    Attribute, Attributes, RequestBatchItem, RequestHeader, RequestMessage, RequestPayload,
    ResponseMessage, ResponsePayload, SecretBytes,
};
use kms_kmip::service::KmipService;
use kms_kmip::tags::Version;
use kms_kmip::transport::client::{AsyncKmipClient, ClientOptions};
use kms_kmip::transport::{
    ClientIdentity, Encoding, Limits, OperationNotSupported, RequestHandler, tls,
};
use kms_kmip::ttlv::{self, Tag, Writer};

#[derive(Debug, Parser)]
#[command(
    name = "kmip_load",
    about = "KMIP load generator over persistent mutual-TLS connections"
)]
struct Args {
    /// Server address (host:port).
    #[arg(long, default_value = "127.0.0.1:5696")]
    addr: String,
    /// Data directory of a `kms serve`, for the default --ca, --cert and --key.
    #[arg(long, default_value = "./kms-data")]
    data_dir: PathBuf,
    /// CA certificate [default: DATA_DIR/certs/ca.pem].
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Client certificate [default: DATA_DIR/certs/admin.pem].
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Client key [default: DATA_DIR/certs/admin.key].
    #[arg(long)]
    key: Option<PathBuf>,
    /// Concurrent connections (one client each, one request in flight per connection).
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Requests per connection (after the warm-up).
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Requests per connection before measuring.
    #[arg(long, default_value_t = 100)]
    warmup: usize,
    /// What to send: `discover-versions`, `file:PATH` (a TTLV request message), `create`, `get` or `encrypt`.
    #[arg(long, default_value = "discover-versions")]
    request: String,
    /// Start an in-process server (fresh PKI, Operation Not Supported handler) and load it: the transport's cost.
    #[arg(long)]
    in_process: bool,
    /// With --in-process: call the handler on the blocking pool, as for a handler that may block (the default
    /// handler is called inline), to measure the hand-off.
    #[arg(long)]
    blocking_pool: bool,
    /// With --in-process: serve the KMIP service (in-memory KeyManager, software backend) instead of the
    /// Operation Not Supported handler.
    #[arg(long)]
    service: bool,
    /// Worker threads of the client runtime.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Worker threads of the in-process server's own runtime.
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
}

/// A handler that always asks for the blocking pool.
struct OnBlockingPool<H>(H);

impl<H: RequestHandler> RequestHandler for OnBlockingPool<H> {
    fn handle(&self, identity: &ClientIdentity, encoding: Encoding, request: &[u8]) -> Vec<u8> {
        self.0.handle(identity, encoding, request)
    }
}

/// A boxed handler with its own `may_block` answer (the service's, or the cheap placeholder's).
struct Inline(Box<dyn RequestHandler>);

impl RequestHandler for Inline {
    fn handle(&self, identity: &ClientIdentity, encoding: Encoding, request: &[u8]) -> Vec<u8> {
        self.0.handle(identity, encoding, request)
    }

    fn may_block(&self, encoding: Encoding, request: &[u8]) -> bool {
        self.0.may_block(encoding, request)
    }
}

/// Makes the request that connection `connection` sends as its `seq`-th.
trait RequestFactory: Send + Sync {
    fn make(&self, connection: usize, seq: usize) -> Vec<u8>;
}

/// The same bytes every time.
struct Fixed(Vec<u8>);

impl RequestFactory for Fixed {
    fn make(&self, _: usize, _: usize) -> Vec<u8> {
        self.0.clone()
    }
}

/// DiscoverVersions (KMIP 1.1+), in KMIP 1.2 so that every server, PyKMIP included, answers it.
fn discover_versions() -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = Writer::new(&mut buf);
    w.structure(Tag::REQUEST_MESSAGE, |w| {
        w.structure(Tag::REQUEST_HEADER, |w| {
            w.structure(Tag::PROTOCOL_VERSION, |w| {
                w.integer(Tag::PROTOCOL_VERSION_MAJOR, 1);
                w.integer(Tag::PROTOCOL_VERSION_MINOR, 2);
            });
            w.integer(Tag::BATCH_COUNT, 1);
        });
        w.structure(Tag::BATCH_ITEM, |w| {
            w.enumeration(Tag::OPERATION, 0x1E);
            w.structure(Tag::REQUEST_PAYLOAD, |_| {});
        });
    });
    // The writer only fails past 4 GiB.
    let _ = w.finish();
    buf
}

/// A KMIP 2.1 request message with one batch item.
fn request_2_1(payload: RequestPayload) -> Result<Vec<u8>, String> {
    RequestMessage {
        header: RequestHeader {
            protocol_version: Version::V2_1.into(),
            batch_count: 1,
            ..Default::default()
        },
        batch_items: vec![RequestBatchItem::new(payload).map_err(|e| e.to_string())?],
    }
    .to_bytes()
    .map_err(|e| e.to_string())
}

fn create_aes() -> Result<Vec<u8>, String> {
    request_2_1(RequestPayload::Create(CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes: Attributes::new(vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
            Attribute::CryptographicLength(256),
            Attribute::CryptographicUsageMask(
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
            ),
        ]),
        ..Default::default()
    }))
}

/// Sends one request and returns the first batch item's payload, failing on anything but Success.
async fn setup_call(
    client: &mut AsyncKmipClient,
    request: Vec<u8>,
) -> Result<ResponsePayload, String> {
    let response = client.request(&request).await.map_err(|e| e.to_string())?;
    let message = ResponseMessage::from_bytes(&response).map_err(|e| e.to_string())?;
    let item = message
        .batch_items
        .into_iter()
        .next()
        .ok_or("empty response")?;
    if item.result_status != ResultStatus::SUCCESS {
        return Err(format!(
            "set-up failed: {:?} {:?}",
            item.result_reason, item.result_message
        ));
    }
    item.payload
        .ok_or_else(|| "set-up response without payload".to_owned())
}

/// The factories that need a key: creates and activates one with `client`, then builds the request on it.
async fn keyed_factory(
    spec: &str,
    client: &mut AsyncKmipClient,
) -> Result<Box<dyn RequestFactory>, String> {
    let ResponsePayload::Create(created) = setup_call(client, create_aes()?).await? else {
        return Err("set-up: not a Create response".into());
    };
    let id = created.unique_identifier;
    setup_call(
        client,
        request_2_1(RequestPayload::Activate(IdentifierPayload {
            unique_identifier: Some(id.clone()),
            ..Default::default()
        }))?,
    )
    .await?;
    let request = match spec {
        "get" => request_2_1(RequestPayload::Get(GetRequest {
            unique_identifier: Some(id),
            ..Default::default()
        }))?,
        "encrypt" => request_2_1(RequestPayload::Encrypt(EncryptRequest {
            unique_identifier: Some(id),
            data: Some(SecretBytes::new(vec![0x5a; 64])),
            ..Default::default()
        }))?,
        other => return Err(format!("no keyed request {other:?}")),
    };
    Ok(Box::new(Fixed(request)))
}

fn factory(spec: &str) -> Result<Box<dyn RequestFactory>, String> {
    if spec == "create" {
        return Ok(Box::new(Fixed(create_aes()?)));
    }
    if spec == "discover-versions" {
        return Ok(Box::new(Fixed(discover_versions())));
    }
    if let Some(path) = spec.strip_prefix("file:") {
        let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        ttlv::validate(&bytes, &ttlv::Limits::new())
            .map_err(|e| format!("{path}: not a TTLV message: {e}"))?;
        return Ok(Box::new(Fixed(bytes)));
    }
    Err(format!(
        "unknown request {spec:?}: discover-versions, file:PATH, create, get or encrypt"
    ))
}

/// A throw-away PKI for the in-process server: CA, server (127.0.0.1) and one client, all ECDSA P-256.
struct EphemeralPki {
    ca: rustls::pki_types::CertificateDer<'static>,
    server: (rustls::pki_types::CertificateDer<'static>, Vec<u8>),
    client: (rustls::pki_types::CertificateDer<'static>, Vec<u8>),
}

fn ephemeral_pki() -> Result<EphemeralPki, rcgen::Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "kmip_load CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let leaf = |cn: &str, sans: Vec<String>, eku| -> Result<_, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(sans)?;
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![eku];
        Ok((p.signed_by(&key, &ca)?.der().clone(), key.serialize_der()))
    };
    Ok(EphemeralPki {
        server: leaf(
            "localhost",
            vec!["127.0.0.1".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?,
        client: leaf("load", Vec::new(), ExtendedKeyUsagePurpose::ClientAuth)?,
        ca: ca.der().clone(),
    })
}

fn key_der(der: &[u8]) -> rustls::pki_types::PrivateKeyDer<'static> {
    rustls::pki_types::PrivateKeyDer::Pkcs8(der.to_vec().into())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let keyed = matches!(args.request.as_str(), "get" | "encrypt");
    let mut factory: Option<Arc<dyn RequestFactory>> = if keyed {
        None
    } else {
        Some(Arc::from(factory(&args.request)?))
    };
    let mut _server = None;
    let (addr, client_tls) = if args.in_process {
        let pki = ephemeral_pki()?;
        let server_tls = tls::server_config(
            std::slice::from_ref(&pki.ca),
            vec![pki.server.0.clone()],
            key_der(&pki.server.1),
        )?;
        let config = kms_kmip::transport::server::ServerConfig::new(server_tls);
        // The server gets its own runtime and threads, as a separate process would.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (blocking_pool, server_threads) = (args.blocking_pool, args.server_threads.max(1));
        let service = if args.service {
            Some(KmipService::in_memory()?)
        } else {
            None
        };
        std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(server_threads)
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let handler: Box<dyn RequestHandler> = match service {
                    Some(service) => Box::new(service),
                    None => Box::new(OperationNotSupported::new(Limits::new().ttlv())),
                };
                let builder = if blocking_pool {
                    kms_kmip::transport::server::Server::builder(
                        config,
                        OnBlockingPool(Inline(handler)),
                    )
                } else {
                    kms_kmip::transport::server::Server::builder(config, Inline(handler))
                };
                let Ok(server) = builder.kmip(([127, 0, 0, 1], 0).into()).bind().await else {
                    return;
                };
                let _ = ready_tx.send((server.kmip_addr(), server.shutdown_handle()));
                server.run().await;
            });
        });
        let (addr, shutdown) = ready_rx.recv()?;
        let addr = addr.ok_or("no address")?.to_string();
        _server = Some(shutdown);
        let client_tls = tls::client_config(&[pki.ca], vec![pki.client.0], key_der(&pki.client.1))?;
        (addr, client_tls)
    } else {
        let certs = args.data_dir.join("certs");
        let ca = args.ca.clone().unwrap_or_else(|| certs.join("ca.pem"));
        let cert = args.cert.clone().unwrap_or_else(|| certs.join("admin.pem"));
        let key = args.key.clone().unwrap_or_else(|| certs.join("admin.key"));
        (
            args.addr.clone(),
            tls::client_config_from_pem(&ca, &cert, &key)?,
        )
    };

    let mut clients = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        clients.push(
            AsyncKmipClient::connect(&addr, Arc::clone(&client_tls), ClientOptions::default())
                .await?,
        );
    }
    if factory.is_none() {
        let first = clients.first_mut().ok_or("no connections")?;
        factory = Some(Arc::from(keyed_factory(&args.request, first).await?));
    }
    let factory = factory.ok_or("no request factory")?;
    // All connections start together, after their warm-up.
    let barrier = Arc::new(tokio::sync::Barrier::new(args.connections + 1));
    let mut tasks = Vec::with_capacity(args.connections);
    for (n, mut client) in clients.into_iter().enumerate() {
        let factory = Arc::clone(&factory);
        let barrier = Arc::clone(&barrier);
        let (warmup, requests) = (args.warmup, args.requests);
        tasks.push(tokio::spawn(async move {
            let mut failures = 0usize;
            for seq in 0..warmup {
                if client.request(&factory.make(n, seq)).await.is_err() {
                    failures += 1;
                }
            }
            barrier.wait().await;
            let mut latencies = Vec::with_capacity(requests);
            for seq in warmup..warmup + requests {
                let request = factory.make(n, seq);
                let start = Instant::now();
                match client.request(&request).await {
                    Ok(response)
                        if ttlv::decode(&response)
                            .is_ok_and(|m| m.tag() == Tag::RESPONSE_MESSAGE) => {}
                    _ => failures += 1,
                }
                latencies.push(start.elapsed());
            }
            (latencies, failures)
        }));
    }
    barrier.wait().await;
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(args.connections * args.requests);
    let mut failures = 0;
    for task in tasks {
        let (l, f) = task.await?;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let throughput = latencies.len() as f64 / elapsed.as_secs_f64();
    println!(
        "| target | request | connections | requests | ops/s | p50 | p99 | max | failures |\n|---|---|---|---|---|---|---|---|---|"
    );
    println!(
        "| {} | {} | {} | {} | {:.0} | {:.3} ms | {:.3} ms | {:.3} ms | {} |",
        if args.in_process && args.service {
            "in-process KMIP service (in-memory)"
        } else if args.in_process && args.blocking_pool {
            "in-process, blocking pool"
        } else if args.in_process {
            "in-process (transport only)"
        } else {
            addr.as_str()
        },
        args.request,
        args.connections,
        latencies.len(),
        throughput,
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        failures
    );
    if let Some(shutdown) = _server {
        shutdown.shutdown();
    }
    Ok(())
}
