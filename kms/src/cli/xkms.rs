//! XKMS 2.0 in `kms serve` (`POST /xkms` on the HTTPS listener, and on a plain-HTTP listener with
//! `--http-addr`) and the administrator commands `kms xkms issue-passphrase --for NAME` and
//! `kms xkms add-trust-anchor FILE.pem`, which talk to the running server over HTTPS with the admin
//! certificate.
//!
//! Every answer, SOAP faults included, goes out with HTTP 200: the transport's handlers answer with a body
//! only, and XKMS clients such as xsec-xklient accept no other status (the SOAP 1.2 HTTP binding would send
//! faults with 400 or 500).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use kms_kmip::transport::server::{HttpRoute, Server, ServerBuilder};
use kms_kmip::transport::{ClientIdentity, Encoding, RequestHandler};
use kms_xkms::SoapVersion;
use kms_xkms::service::kms_escrow::files::EscrowDir;
use kms_xkms::service::kms_escrow::{AgentId, EscrowPolicy};
use kms_xkms::service::{EscrowSettings, EscrowSource, XkmsConfig, XkmsService};

use super::connection::ConnectionArgs;

mod notify;

/// The SOAP endpoint.
pub const XKMS_PATH: &str = "/xkms";
/// Admin endpoint: the body is a key name, the answer a fresh pass phrase.
const PASS_PHRASE_PATH: &str = "/xkms/admin/pass-phrase";
/// Admin endpoint: the body is a PEM (or DER) CA certificate.
const TRUST_ANCHOR_PATH: &str = "/xkms/admin/trust-anchor";
/// Largest admin request body (a certificate).
const MAX_ADMIN_BODY: usize = 64 << 10;

/// The XKMS options of `kms serve`.
#[derive(Debug, Args)]
pub struct XkmsServeArgs {
    /// Also serve `POST /xkms` over plain HTTP on this address (XKMS only, never KMIP), for clients that rely
    /// on message-level security (signed requests, pass phrases). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    http_addr: Option<SocketAddr>,
    /// The Service URI put in XKMS results when a request names none.
    #[arg(long, value_name = "URI")]
    xkms_service_uri: Option<String>,
    /// Escrow the private keys XKMS Register generates with these escrow agents (comma-separated ids of
    /// `kms escrow agent add`); XKMS Recover then waits for their approvals (Pending).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    xkms_escrow_agents: Vec<String>,
    /// Approvals needed to recover an escrowed key [default: all agents].
    #[arg(long, value_name = "M", requires = "xkms_escrow_agents")]
    xkms_escrow_threshold: Option<u8>,
    /// Deliver XKMS PendingNotifications (HTTP) to loopback, private and link-local addresses too (tests, a
    /// closed network). By default only public addresses are notified: the URL is the client's choice.
    #[arg(long)]
    xkms_notify_allow_internal: bool,
}

/// How often pending requests are checked for completion (and expiry).
const PENDING_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The SOAP handler: every body goes to the XKMS service, whatever the caller.
struct SoapHandler(Arc<XkmsService>);

impl RequestHandler for SoapHandler {
    fn handle(&self, _identity: &ClientIdentity, _encoding: Encoding, request: &[u8]) -> Vec<u8> {
        // A body that is not even an envelope gets a SOAP 1.2 fault.
        self.0.handle_soap(request, SoapVersion::Soap12).1
    }

    fn supports(&self, encoding: Encoding) -> bool {
        encoding == Encoding::Xml
    }
}

/// The admin handlers: only the admin identities of the HTTPS listener may call them. The answer is
/// `ok` or `error` on the first line, then the value or the reason.
struct AdminHandler {
    service: Arc<XkmsService>,
    trust_anchor: bool,
}

impl RequestHandler for AdminHandler {
    fn handle(&self, identity: &ClientIdentity, _encoding: Encoding, request: &[u8]) -> Vec<u8> {
        if !identity.is_admin() {
            tracing::warn!(client = %identity, "XKMS admin request from a non-admin refused");
            return b"error\nonly an admin identity may do this\n".to_vec();
        }
        if request.len() > MAX_ADMIN_BODY {
            return b"error\nrequest too large\n".to_vec();
        }
        if self.trust_anchor {
            match self.service.add_trust_anchor(request) {
                Ok(id) => format!("ok\n{id}\n").into_bytes(),
                Err(e) => format!("error\n{e}\n").into_bytes(),
            }
        } else {
            let Ok(name) = std::str::from_utf8(request) else {
                return b"error\nthe key name is not UTF-8\n".to_vec();
            };
            match self.service.issue_pass_phrase(name.trim()) {
                Ok(phrase) => {
                    tracing::info!(client = %identity, name = name.trim(), "XKMS pass phrase issued");
                    format!("ok\n{}\n", phrase.as_str()).into_bytes()
                }
                Err(e) => format!("error\n{e}\n").into_bytes(),
            }
        }
    }
}

fn soap_route(service: &Arc<XkmsService>) -> HttpRoute {
    HttpRoute::new(XKMS_PATH, Arc::new(SoapHandler(Arc::clone(service))))
        .with_media_type("application/soap+xml", Encoding::Xml)
        .with_media_type("text/xml", Encoding::Xml)
        .with_media_type("application/xml", Encoding::Xml)
}

/// Adds the XKMS routes to `builder`: `/xkms` and the admin routes on HTTPS, `/xkms` alone on plain HTTP
/// with `--http-addr`.
///
/// # Errors
/// When the service cannot be built or the escrow policy is not valid.
pub fn mount(
    builder: ServerBuilder,
    args: &XkmsServeArgs,
    manager: Arc<kms_core::KeyManager>,
    data_dir: &Path,
) -> anyhow::Result<ServerBuilder> {
    let mut config = XkmsConfig::default();
    if let Some(uri) = &args.xkms_service_uri {
        config = config.with_service(uri.clone());
    }
    let mut service = XkmsService::new(manager)
        .context("starting the XKMS service")?
        .with_config(config);
    if !args.xkms_escrow_agents.is_empty() {
        let agents = args
            .xkms_escrow_agents
            .iter()
            .map(|a| AgentId::new(a.as_str()))
            .collect::<Result<Vec<_>, _>>()
            .context("--xkms-escrow-agents")?;
        let n = u8::try_from(agents.len()).context("too many escrow agents")?;
        let policy = EscrowPolicy::new(args.xkms_escrow_threshold.unwrap_or(n), agents);
        policy.validate().context("the XKMS escrow policy")?;
        tracing::info!(threshold = policy.threshold, agents = ?args.xkms_escrow_agents, "XKMS escrows the keys it generates");
        service = service
            .with_escrow(EscrowSettings::new(
                EscrowSource::Dir(EscrowDir::new(data_dir)),
                policy,
            ))
            .with_notifier(Arc::new(notify::HttpNotifier::new(
                tokio::runtime::Handle::current(),
                args.xkms_notify_allow_internal,
            )));
    }
    let service = Arc::new(service);
    if !args.xkms_escrow_agents.is_empty() {
        tokio::spawn(poll_pending(Arc::clone(&service)));
    }
    let admin = |trust_anchor| {
        Arc::new(AdminHandler {
            service: Arc::clone(&service),
            trust_anchor,
        }) as Arc<dyn RequestHandler>
    };
    let mut builder = builder
        .route(soap_route(&service))
        .route(
            HttpRoute::new(PASS_PHRASE_PATH, admin(false))
                .with_media_type("application/octet-stream", Encoding::Ttlv),
        )
        .route(
            HttpRoute::new(TRUST_ANCHOR_PATH, admin(true))
                .with_media_type("application/octet-stream", Encoding::Ttlv),
        );
    if let Some(addr) = args.http_addr {
        builder = builder.http(addr).http_route(soap_route(&service));
    }
    Ok(builder)
}

/// Announces completed pending requests and forgets expired ones, for as long as the server runs.
async fn poll_pending(service: Arc<XkmsService>) {
    let mut tick = tokio::time::interval(PENDING_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let service = Arc::clone(&service);
        // The service reads the store and the escrow database: blocking work.
        if let Err(e) = tokio::task::spawn_blocking(move || service.poll_pending()).await {
            tracing::error!(error = %e, "XKMS pending-request poll failed");
        }
    }
}

/// Prints the stable line scripts and tests read the XKMS addresses from.
pub fn announce(server: &Server, https: SocketAddr) {
    match server.http_addr() {
        Some(http) => {
            tracing::info!(%https, %http, "serving XKMS");
            println!(
                "kms: serving XKMS on https://{https}{XKMS_PATH} and http://{http}{XKMS_PATH}"
            );
        }
        None => {
            tracing::info!(%https, "serving XKMS");
            println!("kms: serving XKMS on https://{https}{XKMS_PATH}");
        }
    }
}

/// `kms xkms` subcommands: administration of the XKMS service of a running `kms serve`.
#[derive(Debug, Subcommand)]
pub enum XkmsCommand {
    /// Issue a one-time pass phrase for key name NAME and print it alone on stdout: the client authenticates
    /// one Register (or Reissue, Revoke, Recover) of NAME with it.
    IssuePassphrase {
        /// The key name (the KeyName the client registers; also its KMIP owner).
        #[arg(long = "for", value_name = "NAME")]
        name: String,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Register a CA certificate (PEM) as a trust anchor of XKMS Validate.
    AddTrustAnchor {
        /// The CA certificate, PEM.
        #[arg(value_name = "FILE.pem")]
        file: PathBuf,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
}

/// Runs a `kms xkms` subcommand.
///
/// # Errors
/// When the server cannot be reached, refuses the admin identity, or refuses the request.
pub fn run(cmd: XkmsCommand) -> anyhow::Result<()> {
    let (connection, path, body) = match cmd {
        XkmsCommand::IssuePassphrase { name, connection } => {
            (connection, PASS_PHRASE_PATH, name.into_bytes())
        }
        XkmsCommand::AddTrustAnchor { file, connection } => {
            let pem =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            (connection, TRUST_ANCHOR_PATH, pem)
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let answer = runtime.block_on(async {
        let mut client = connection.https_client().await?.with_path(path);
        client
            .request(Encoding::Ttlv, &body)
            .await
            .with_context(|| format!("POST {path} to {}", connection.https_addr))
    })?;
    let answer = zeroize::Zeroizing::new(String::from_utf8(answer).context("answer not UTF-8")?);
    let mut lines = answer.lines();
    match (lines.next(), lines.next()) {
        (Some("ok"), Some(value)) => {
            println!("{value}");
            Ok(())
        }
        (Some("error"), Some(reason)) => bail!("the server refused: {reason}"),
        _ => bail!("unexpected answer from the server"),
    }
}
