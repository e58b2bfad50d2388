//! `kms cert`: client identities signed by the development CA of a data directory.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::pki;
use super::serve::DEFAULT_DATA_DIR;

/// `kms cert` subcommands.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Issue a client certificate: OUT/NAME.pem and OUT/NAME.key (mode 0600), signed by DATA_DIR/certs/ca.
    /// NAME becomes the certificate's subject Common Name, the identity the server sees.
    Issue(IssueArgs),
}

/// `kms cert issue` options.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Data directory whose CA signs (DATA_DIR/certs/ca.pem and ca.key).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// The client's name: the certificate's subject Common Name and the file names.
    #[arg(long, value_name = "NAME")]
    cn: String,
    /// Where to write NAME.pem and NAME.key (created if missing; existing files are never overwritten).
    #[arg(long, value_name = "OUT", default_value = ".")]
    out_dir: PathBuf,
}

/// Runs a `kms cert` subcommand.
///
/// # Errors
///
/// As [`pki::issue_client`].
pub fn run(cmd: CertCommand) -> anyhow::Result<()> {
    match cmd {
        CertCommand::Issue(args) => {
            let (cert, key) = pki::issue_client(&args.data_dir, &args.cn, &args.out_dir)?;
            println!("{}", cert.display());
            println!("{}", key.display());
            Ok(())
        }
    }
}
