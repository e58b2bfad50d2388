//! `kms ttlv`: decode TTLV to KMIP JSON/XML and back, the debugging aid a KMIP integrator wants.
//!
//! `kms ttlv decode --to json|xml [--hex]` reads TTLV from stdin (raw bytes, or hex text with `--hex`) and
//! prints it; `kms ttlv encode --from json|xml [--hex]` does the reverse. Decoding then encoding gives back
//! the same bytes. Several messages back to back (a captured stream) decode to a JSON array or a `<KMIP>`
//! element holding them, which encodes back to the same stream.

use std::io::{Read, Write};

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use kms_kmip::ttlv::{self, Limits, Node};
use kms_kmip::{json, xml};

/// `kms ttlv` subcommands.
#[derive(Debug, Subcommand)]
pub enum TtlvCommand {
    /// Read TTLV from stdin and print it as KMIP JSON or XML.
    Decode {
        /// Output encoding.
        #[arg(long, value_enum)]
        to: TextFormat,
        /// Read hex text (whitespace ignored) instead of raw bytes.
        #[arg(long)]
        hex: bool,
    },
    /// Read KMIP JSON or XML from stdin and write TTLV.
    Encode {
        /// Input encoding.
        #[arg(long, value_enum)]
        from: TextFormat,
        /// Write hex text (one line) instead of raw bytes.
        #[arg(long)]
        hex: bool,
    },
}

/// A KMIP text encoding (KMIP Profiles).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TextFormat {
    /// The JSON encoding.
    Json,
    /// The XML encoding.
    Xml,
}

/// Raw input beyond this is refused: the TTLV message limit plus room for hex and several messages.
const MAX_INPUT: u64 = 4 * Limits::DEFAULT_MAX_MESSAGE_SIZE as u64;

/// Runs a `kms ttlv` subcommand.
pub fn run(cmd: TtlvCommand) -> anyhow::Result<()> {
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT + 1)
        .read_to_end(&mut input)
        .context("reading stdin")?;
    if input.len() as u64 > MAX_INPUT {
        bail!("input larger than {MAX_INPUT} bytes");
    }
    let mut stdout = std::io::stdout().lock();
    match cmd {
        TtlvCommand::Decode { to, hex } => {
            let bytes = if hex { from_hex(&input)? } else { input };
            let nodes = split_messages(&bytes)?;
            let text = match (to, nodes.as_slice()) {
                (TextFormat::Json, [one]) => json::to_string(one) + "\n",
                (TextFormat::Json, many) => json::to_string_all(many) + "\n",
                (TextFormat::Xml, [one]) => xml::to_string(one)?,
                (TextFormat::Xml, many) => xml::to_string_all(many)?,
            };
            stdout.write_all(text.as_bytes())?;
        }
        TtlvCommand::Encode { from, hex } => {
            let text = std::str::from_utf8(&input).context("input is not UTF-8")?;
            let limits = Limits::default();
            let nodes = match from {
                TextFormat::Json => json::from_str_all_with(text, &limits)?,
                TextFormat::Xml => xml::from_str_all_with(text, &limits)?,
            };
            let mut bytes = Vec::new();
            for n in &nodes {
                bytes.extend(n.to_bytes()?);
            }
            if hex {
                let mut line: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                line.push('\n');
                stdout.write_all(line.as_bytes())?;
            } else {
                stdout.write_all(&bytes)?;
            }
        }
    }
    stdout.flush()?;
    Ok(())
}

/// The messages of a TTLV stream, each decoded and checked in full.
fn split_messages(mut bytes: &[u8]) -> anyhow::Result<Vec<Node<'_>>> {
    let limits = Limits::default();
    let mut nodes = Vec::new();
    let mut offset = 0;
    if bytes.is_empty() {
        bail!("no TTLV on stdin");
    }
    while !bytes.is_empty() {
        let len = match ttlv::message_length(bytes, &limits) {
            Ok(Some(len)) if len <= bytes.len() => len,
            // A short or bad header: let the decoder name the problem.
            _ => bytes.len(),
        };
        let (message, rest) = bytes.split_at(len);
        let node = Node::decode_with(message, &limits)
            .with_context(|| format!("message at byte {offset}"))?;
        nodes.push(node);
        offset += len;
        bytes = rest;
    }
    Ok(nodes)
}

fn from_hex(input: &[u8]) -> anyhow::Result<Vec<u8>> {
    let digits: Vec<u8> = input
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        bail!("odd number of hex digits");
    }
    digits
        .chunks_exact(2)
        .map(|p| {
            let s = std::str::from_utf8(p).context("not hex")?;
            u8::from_str_radix(s, 16).with_context(|| format!("{s:?} is not hex"))
        })
        .collect()
}
