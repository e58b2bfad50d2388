//! `kms ttlv`: decode TTLV to KMIP JSON/XML and back.

use clap::Subcommand;

/// `kms ttlv` subcommands.
#[derive(Debug, Subcommand)]
pub enum TtlvCommand {}

/// Runs a `kms ttlv` subcommand.
pub fn run(cmd: TtlvCommand) -> anyhow::Result<()> {
    match cmd {}
}
