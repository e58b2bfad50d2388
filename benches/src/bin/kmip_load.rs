//! KMIP load generator: persistent mutual-TLS connections, each sending requests one after the other;
//! reports throughput and latency percentiles.
//!
//! ```text
//! # the issue's load in one command: a release `kms serve` (own temp data dir, redb store) and a PyKMIP
//! # server, Get / Encrypt / Sign / Create with 1 and 16 connections, one table with ratios
//! cargo build --release -p kms -p kms-benches
//! cargo run --release -p kms-benches --bin kmip_load -- --suite --runs 3
//! # the same, a few requests per cell: does it still work (benches/tests/kmip_load.rs runs this)
//! cargo run -p kms-benches --bin kmip_load -- --suite --smoke
//! # one operation against a running `kms serve` (defaults: ./kms-data certs, 127.0.0.1:5696)
//! cargo run --release -p kms-benches --bin kmip_load -- --request encrypt --connections 16 --requests 2000
//! # the transport alone (the floor): an in-process server answering Operation Not Supported
//! cargo run --release -p kms-benches --bin kmip_load -- --in-process --connections 16
//! ```
//!
//! Requests: `discover-versions` (every server answers it), `file:PATH` (one TTLV request message, sent as
//! is), or a KMIP 2.1 operation on objects a set-up connection created first: `create`, `get`, `encrypt`
//! (AES-256-GCM, 64 bytes), `sign` (ECDSA P-256). With `--in-process --service` the in-process server runs
//! the real KMIP service over an in-memory key manager.

#[path = "kmip_load/requests.rs"]
mod requests;
#[path = "kmip_load/suite.rs"]
mod suite;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use kms_kmip::service::KmipService;
use kms_kmip::tags::Version;
use kms_kmip::transport::client::{AsyncKmipClient, ClientOptions};
use kms_kmip::transport::{
    ClientIdentity, Encoding, Limits, OperationNotSupported, RequestHandler, tls,
};
use kms_kmip::ttlv::{self, Tag, Writer};

use requests::Op;

#[derive(Debug, Parser)]
#[command(
    name = "kmip_load",
    about = "KMIP load generator over persistent mutual-TLS connections",
    after_help = "The issue's whole load (kms serve and PyKMIP, Get/Encrypt/Sign/Create, 1 and 16 connections):\n  \
                  cargo build --release -p kms -p kms-benches\n  \
                  cargo run --release -p kms-benches --bin kmip_load -- --suite --runs 3"
)]
#[allow(clippy::struct_excessive_bools)]
struct Args {
    /// Run the whole suite: start a `kms serve` (release binary beside this one, or --kms-bin) on a fresh data
    /// directory and a PyKMIP server, load both, print one table with ratios.
    #[arg(long)]
    suite: bool,
    /// With --suite: a few requests per cell, to check that everything answers Success (no timing).
    #[arg(long)]
    smoke: bool,
    /// With --suite: repeat the matrix this many times and report medians.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// With --suite: seconds of measurement per cell (after the warm-up).
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// With --suite: the operations (comma-separated: get, encrypt, sign, create).
    #[arg(long, value_delimiter = ',', default_value = "get,encrypt,sign,create")]
    ops: Vec<String>,
    /// With --suite: the connection counts (comma-separated).
    #[arg(
        long = "suite-connections",
        value_delimiter = ',',
        default_value = "1,16"
    )]
    suite_connections: Vec<usize>,
    /// With --suite: the `kms` binary [default: `kms` beside this binary].
    #[arg(long)]
    kms_bin: Option<PathBuf>,
    /// With --suite: the PyKMIP virtualenv's python [default: $KMS_TEST_PYKMIP_PYTHON, else
    /// target/pykmip-venv/bin/python].
    #[arg(long)]
    pykmip_python: Option<PathBuf>,
    /// With --suite: leave PyKMIP out.
    #[arg(long)]
    no_pykmip: bool,
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
    /// What to send: `discover-versions`, `file:PATH` (a TTLV request message), `create`, `get`, `encrypt` or
    /// `sign`.
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
    /// Worker threads of the client runtime (1: a current-thread runtime, no cross-thread wake-ups).
    #[arg(long, default_value_t = 1)]
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

/// The request of `spec`, and whether its answers are expected to succeed (those of the Operation Not
/// Supported floor are not). Keyed operations create their objects over `client` first.
async fn request_of(spec: &str, client: &mut AsyncKmipClient) -> Result<(Vec<u8>, bool), String> {
    if let Some(op) = Op::from_name(spec) {
        return Ok((requests::prepare(op, client, Version::V2_1).await?, true));
    }
    if spec == "discover-versions" {
        return Ok((discover_versions(), true));
    }
    if let Some(path) = spec.strip_prefix("file:") {
        let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        ttlv::validate(&bytes, &ttlv::Limits::new())
            .map_err(|e| format!("{path}: not a TTLV message: {e}"))?;
        return Ok((bytes, false));
    }
    Err(format!(
        "unknown request {spec:?}: discover-versions, file:PATH, create, get, encrypt or sign"
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

/// How long each connection loads the server.
#[derive(Clone, Copy, Debug)]
pub enum Measure {
    /// This many requests per connection.
    Requests(usize),
    /// Requests for this long.
    For(Duration),
}

/// What one load measured.
pub struct Outcome {
    /// Every measured request's latency, sorted.
    pub latencies: Vec<Duration>,
    /// From the common start to the last connection's last answer.
    pub elapsed: Duration,
    /// Requests that failed or (when checked) did not answer Success.
    pub failures: usize,
}

impl Outcome {
    /// Measured requests per second.
    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p` quantile (0..=1) of the latencies, nearest rank.
    pub fn percentile(&self, p: f64) -> Duration {
        let sorted = &self.latencies;
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }
}

/// Opens `connections` connections to `addr`, warms each up with `warmup` requests, then sends `request` on
/// all of them at once, one in flight per connection, for `measure`. With `check`, an answer counts as a
/// failure unless every batch item says Success.
///
/// # Errors
///
/// When a connection cannot be opened.
pub async fn load(
    addr: &str,
    tls: &Arc<rustls::ClientConfig>,
    request: Arc<[u8]>,
    check: bool,
    connections: usize,
    warmup: usize,
    measure: Measure,
) -> Result<Outcome, String> {
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        clients.push(
            AsyncKmipClient::connect(addr, Arc::clone(tls), ClientOptions::default())
                .await
                .map_err(|e| format!("connect {addr}: {e}"))?,
        );
    }
    // All connections start together, after their warm-up.
    let barrier = Arc::new(tokio::sync::Barrier::new(connections + 1));
    let start_at = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut tasks = Vec::with_capacity(connections);
    for mut client in clients {
        let request = Arc::clone(&request);
        let barrier = Arc::clone(&barrier);
        let start_at = Arc::clone(&start_at);
        tasks.push(tokio::spawn(async move {
            let mut failures = 0usize;
            for _ in 0..warmup {
                match client.request(&request).await {
                    Ok(response) if !check || requests::all_succeeded(&response) => {}
                    _ => failures += 1,
                }
            }
            barrier.wait().await;
            let start = *start_at.get_or_init(Instant::now);
            let (limit, until) = match measure {
                Measure::Requests(n) => (n, None),
                Measure::For(d) => (usize::MAX, Some(start + d)),
            };
            let mut latencies = Vec::with_capacity(limit.min(1 << 16));
            let mut now = start;
            while latencies.len() < limit && until.is_none_or(|u| now < u) {
                let sent = now;
                let ok = match client.request(&request).await {
                    Ok(response) => !check || requests::all_succeeded(&response),
                    Err(_) => false,
                };
                now = Instant::now();
                latencies.push(now - sent);
                if !ok {
                    failures += 1;
                }
            }
            let _ = client.close().await;
            (latencies, failures, now)
        }));
    }
    barrier.wait().await;
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut end = None::<Instant>;
    for task in tasks {
        let (l, f, finished) = task.await.map_err(|e| e.to_string())?;
        latencies.extend(l);
        failures += f;
        end = Some(end.map_or(finished, |e| e.max(finished)));
    }
    let start = start_at.get().copied().unwrap_or_else(Instant::now);
    latencies.sort_unstable();
    Ok(Outcome {
        latencies,
        elapsed: end.map_or(Duration::ZERO, |e| e.saturating_duration_since(start)),
        failures,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
    if args.suite {
        let ops = args
            .ops
            .iter()
            .map(|name| Op::from_name(name).ok_or_else(|| format!("unknown operation {name:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        runtime.block_on(suite::run(suite::SuiteArgs {
            kms_bin: args.kms_bin,
            pykmip_python: args.pykmip_python,
            no_pykmip: args.no_pykmip,
            smoke: args.smoke,
            runs: args.runs,
            seconds: args.seconds,
            ops,
            connections: args.suite_connections,
        }))?;
        return Ok(());
    }
    runtime.block_on(run(args))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
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

    let mut setup =
        AsyncKmipClient::connect(&addr, Arc::clone(&client_tls), ClientOptions::default()).await?;
    let (request, succeeds) = request_of(&args.request, &mut setup).await?;
    let _ = setup.close().await;
    // The Operation Not Supported floor answers failures by design.
    let check = succeeds && (!args.in_process || args.service);
    let outcome = load(
        &addr,
        &client_tls,
        Arc::from(request),
        check,
        args.connections,
        args.warmup,
        Measure::Requests(args.requests),
    )
    .await?;
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
        outcome.latencies.len(),
        outcome.throughput(),
        outcome.percentile(0.50).as_secs_f64() * 1e3,
        outcome.percentile(0.99).as_secs_f64() * 1e3,
        outcome
            .latencies
            .last()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
        outcome.failures
    );
    if let Some(shutdown) = _server {
        shutdown.shutdown();
    }
    Ok(())
}
