//! `kms serve`: the main job. KMIP over mutual TLS and HTTPS `POST /kmip/2_1`, and XKMS at `POST /xkms` (feature
//! `xkms`; also over plain HTTP with `--http-addr`), on a data directory that needs no set-up: the first start
//! writes a development PKI into DATA_DIR/certs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use kms_kmip::service::KmipService;
use kms_kmip::transport::server::{Server, ServerConfig, ShutdownHandle};
use kms_kmip::transport::{Limits, RequestHandler, Transcoding, tls};

use super::backend::{self, BackendArgs};
use super::pki;
use super::store::{self, StoreArgs};

/// Default data directory, KMIP address and HTTPS address: shared with the client subcommands.
pub const DEFAULT_DATA_DIR: &str = "./kms-data";
/// The IANA port for KMIP over TLS, on loopback.
pub const DEFAULT_KMIP_ADDR: &str = "127.0.0.1:5696";
/// Loopback HTTPS.
pub const DEFAULT_HTTPS_ADDR: &str = "127.0.0.1:8443";

/// `kms serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Data directory: object store, root key, and the development PKI in DATA_DIR/certs.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// Address of the KMIP listener (TTLV over mutual TLS). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_KMIP_ADDR)]
    kmip_addr: SocketAddr,
    /// Address of the HTTPS listener (`POST /kmip/2_1`, client certificate required). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_HTTPS_ADDR)]
    https_addr: SocketAddr,
    /// An admin identity (client certificate Common Name); repeat for several. Replaces the default, "admin".
    #[arg(long = "admin", value_name = "NAME")]
    admins: Vec<String>,
    /// Most connections open at once (KMIP and HTTPS together); further ones are closed on accept.
    #[arg(long, value_name = "N", default_value_t = Limits::new().max_connections)]
    max_connections: usize,
    /// Seconds a connection may wait for its next request before it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::new().idle_timeout.as_secs())]
    idle_timeout: u64,
    /// Largest request message in bytes (header included); larger ones are refused from their length field.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::DEFAULT_MAX_MESSAGE_SIZE)]
    max_message_size: usize,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    backend: BackendArgs,
    #[cfg(feature = "xkms")]
    #[command(flatten)]
    xkms: super::xkms::XkmsServeArgs,
}

/// The key manager behind every protocol: the chosen store (sealed under the chosen root key) and backends.
fn key_manager(args: &ServeArgs) -> anyhow::Result<Arc<kms_core::KeyManager>> {
    let opened = store::open_store(&args.store, &args.data_dir)?;
    let mut builder = kms_core::KeyManager::builder(opened.store);
    if !opened.exclusive {
        // Other servers write to the same store: a cached object could be stale.
        builder = builder.object_cache(0);
    }
    for b in backend::key_backends(&args.backend)? {
        builder = builder.backend(b);
    }
    Ok(Arc::new(
        builder.build().context("building the key manager")?,
    ))
}

/// The handler behind both listeners: the KMIP service over the key manager; JSON and XML are transcoded to TTLV.
fn kmip_handler(manager: Arc<kms_core::KeyManager>, limits: &Limits) -> impl RequestHandler {
    let service = KmipService::new(manager).with_limits(limits.ttlv());
    Transcoding::new(service, limits.ttlv())
}

/// Runs `kms serve` until SIGINT or SIGTERM, then shuts down gracefully.
///
/// # Errors
///
/// When the PKI cannot be created or loaded, a listener cannot be bound, or in-flight requests did not
/// finish within the shutdown grace period.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kms-serve")
        .build()
        .context("starting the async runtime")?;
    let drained = runtime.block_on(serve(args))?;
    // Every connection has finished (or the grace period is over): nothing left worth waiting for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    if drained {
        tracing::info!("stopped");
        Ok(())
    } else {
        anyhow::bail!("shutdown grace period over with requests still in flight")
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // cryptoki logs an error for every vendor mechanism it cannot name while a token is probed: noise, not news.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,cryptoki::mechanism=off"));
    // Another subcommand may already have installed a subscriber in this process; keep it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

async fn serve(args: ServeArgs) -> anyhow::Result<bool> {
    let ensured = pki::ensure(&args.data_dir)?;
    let paths = pki::Paths::new(&args.data_dir);
    if !ensured.written.is_empty() {
        println!("kms: wrote a development PKI to {}:", paths.dir.display());
        for path in &ensured.written {
            println!("kms:   {}", path.display());
        }
        println!(
            "kms: clients trust {} and present {} / {} (admin); `kms cert issue` makes more",
            paths.cert("ca").display(),
            paths.cert(pki::ADMIN).display(),
            paths.key(pki::ADMIN).display()
        );
    }

    let tls = tls::server_config_from_pem(
        &paths.cert("ca"),
        &paths.cert("server"),
        &paths.key("server"),
    )
    .context("loading the server's TLS configuration")?;
    let manager = key_manager(&args)?;
    let limits = Limits::new()
        .with_max_connections(args.max_connections)
        .with_idle_timeout(Duration::from_secs(args.idle_timeout))
        .with_max_message_size(args.max_message_size);
    let admins = if args.admins.is_empty() {
        vec![pki::ADMIN.to_owned()]
    } else {
        args.admins
    };
    tracing::info!(?admins, "admin identities");
    let config = ServerConfig::new(tls)
        .with_admins(admins)
        .with_limits(limits);
    let builder = Server::builder(config, kmip_handler(Arc::clone(&manager), &limits))
        .kmip(args.kmip_addr)
        .https(args.https_addr);
    #[cfg(feature = "xkms")]
    let builder = super::xkms::mount(builder, &args.xkms, Arc::clone(&manager), &args.data_dir)?;
    let server = builder.bind().await.context("binding the listeners")?;
    let kmip = server.kmip_addr().context("KMIP listener address")?;
    let https = server.https_addr().context("HTTPS listener address")?;
    tracing::info!(%kmip, %https, data_dir = %args.data_dir.display(), "serving");
    // One stable line on stdout for scripts (and tests using port 0) to read the bound addresses from.
    println!("kms: serving KMIP on {kmip} (mutual TLS) and HTTPS on https://{https}/kmip/2_1");
    #[cfg(feature = "xkms")]
    super::xkms::announce(&server, https);

    tokio::spawn(on_signals(server.shutdown_handle()));
    Ok(server.run().await)
}

/// The first SIGINT or SIGTERM starts a graceful shutdown; a second one ends the process at once.
async fn on_signals(shutdown: ShutdownHandle) {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        tracing::error!("cannot listen for SIGTERM");
        return;
    };
    let signal = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    };
    tracing::info!(
        signal,
        "shutting down: no new connections, finishing requests in flight"
    );
    shutdown.shutdown();
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::warn!("second signal: exiting without waiting");
    std::process::exit(130);
}
