//! The connection flags every client subcommand shares, with the defaults of `kms serve`, so that next to a
//! running server a client needs no flag: it trusts DATA_DIR/certs/ca.pem and presents admin.pem/admin.key.

// The client subcommands (create, get, locate, ...) are the users of this module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use kms_kmip::transport::client::{AsyncKmipClient, ClientOptions, HttpsClient, KmipClient};
use kms_kmip::transport::tls;

use super::pki;
use super::serve::{DEFAULT_DATA_DIR, DEFAULT_HTTPS_ADDR, DEFAULT_KMIP_ADDR};

/// Where the server is and who we are: `#[command(flatten)]` it into a client subcommand's arguments.
#[derive(Clone, Debug, Args)]
pub struct ConnectionArgs {
    /// Data directory of the server (for the default --ca, --cert and --key).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Address of the server's KMIP listener (host:port; the server certificate must name the host).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_KMIP_ADDR)]
    pub kmip_addr: String,
    /// Address of the server's HTTPS listener.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_HTTPS_ADDR)]
    pub https_addr: String,
    /// CA certificate to trust [default: DATA_DIR/certs/ca.pem].
    #[arg(long, value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// Client certificate to present [default: DATA_DIR/certs/admin.pem].
    #[arg(long, value_name = "PEM")]
    pub cert: Option<PathBuf>,
    /// Private key of the client certificate [default: DATA_DIR/certs/admin.key].
    #[arg(long, value_name = "PEM")]
    pub key: Option<PathBuf>,
}

impl ConnectionArgs {
    /// The CA certificate file.
    pub fn ca_path(&self) -> PathBuf {
        self.ca
            .clone()
            .unwrap_or_else(|| pki::Paths::new(&self.data_dir).cert("ca"))
    }

    /// The client certificate file.
    pub fn cert_path(&self) -> PathBuf {
        self.cert
            .clone()
            .unwrap_or_else(|| pki::Paths::new(&self.data_dir).cert(pki::ADMIN))
    }

    /// The client key file.
    pub fn key_path(&self) -> PathBuf {
        self.key
            .clone()
            .unwrap_or_else(|| pki::Paths::new(&self.data_dir).key(pki::ADMIN))
    }

    /// The TLS client configuration these flags describe.
    ///
    /// # Errors
    ///
    /// When a PEM file cannot be read or the key does not fit the certificate.
    pub fn tls(&self) -> anyhow::Result<Arc<kms_kmip::transport::rustls::ClientConfig>> {
        tls::client_config_from_pem(&self.ca_path(), &self.cert_path(), &self.key_path())
            .with_context(|| {
                format!(
                    "loading the client identity ({})",
                    self.cert_path().display()
                )
            })
    }

    /// A blocking KMIP client connected to `--kmip-addr`.
    ///
    /// # Errors
    ///
    /// As [`Self::tls`], or when the server cannot be reached or refuses the handshake.
    pub fn kmip_client(&self) -> anyhow::Result<KmipClient> {
        KmipClient::connect(&self.kmip_addr, self.tls()?, ClientOptions::default())
            .with_context(|| format!("connecting to {}", self.kmip_addr))
    }

    /// An async KMIP client connected to `--kmip-addr`.
    ///
    /// # Errors
    ///
    /// As [`Self::kmip_client`].
    pub async fn async_kmip_client(&self) -> anyhow::Result<AsyncKmipClient> {
        AsyncKmipClient::connect(&self.kmip_addr, self.tls()?, ClientOptions::default())
            .await
            .with_context(|| format!("connecting to {}", self.kmip_addr))
    }

    /// An HTTPS client connected to `--https-addr`.
    ///
    /// # Errors
    ///
    /// As [`Self::kmip_client`].
    pub async fn https_client(&self) -> anyhow::Result<HttpsClient> {
        HttpsClient::connect(&self.https_addr, self.tls()?, ClientOptions::default())
            .await
            .with_context(|| format!("connecting to {}", self.https_addr))
    }
}
