//! Command-line interface: one module per subcommand family.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[cfg(feature = "kmip")]
mod backend;
#[cfg(feature = "kmip")]
mod cert;
#[cfg(feature = "kmip")]
mod client;
#[cfg(feature = "kmip")]
mod connection;
#[cfg(feature = "escrow")]
mod escrow;
#[cfg(feature = "kmip")]
mod pki;
#[cfg(feature = "kmip")]
mod serve;
#[cfg(feature = "kmip")]
mod store;
#[cfg(feature = "kmip")]
mod ttlv;
#[cfg(all(feature = "kmip", feature = "xkms"))]
mod xkms;

/// Key management: serve KMIP and XKMS, and talk to a running server.
#[derive(Debug, Parser)]
#[command(name = "kms", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode and encode KMIP TTLV (debugging aid for integrators).
    #[cfg(feature = "kmip")]
    #[command(subcommand)]
    Ttlv(ttlv::TtlvCommand),
    /// Serve KMIP over mutual TLS and HTTPS (`POST /kmip/2_1`), and XKMS (`POST /xkms`); writes a development PKI
    /// on first start.
    #[cfg(feature = "kmip")]
    Serve(Box<serve::ServeArgs>),
    /// Client certificates signed by the development CA.
    #[cfg(feature = "kmip")]
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Key escrow: agents, deposits, m-of-n release, audit log.
    #[cfg(feature = "escrow")]
    Escrow(escrow::EscrowArgs),
    /// XKMS administration of a running `kms serve`: one-time pass phrases, trust anchors.
    #[cfg(all(feature = "kmip", feature = "xkms"))]
    #[command(subcommand)]
    Xkms(xkms::XkmsCommand),
    /// KMIP client subcommands (create, get, locate, encrypt, ...) against a running `kms serve`.
    #[cfg(feature = "kmip")]
    #[command(flatten)]
    Client(client::ClientCommand),
}

/// Parses the command line, runs the subcommand and turns its error into a message and exit status 1.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        #[cfg(feature = "kmip")]
        Command::Ttlv(cmd) => ttlv::run(cmd),
        #[cfg(feature = "kmip")]
        Command::Serve(args) => serve::run(*args),
        #[cfg(feature = "kmip")]
        Command::Cert(cmd) => cert::run(cmd),
        #[cfg(feature = "escrow")]
        Command::Escrow(args) => escrow::run(args),
        #[cfg(all(feature = "kmip", feature = "xkms"))]
        Command::Xkms(cmd) => xkms::run(cmd),
        #[cfg(feature = "kmip")]
        Command::Client(cmd) => client::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kms: {e:#}");
            ExitCode::FAILURE
        }
    }
}
