//! cosmian_kmip as a peer of the KMIP benches (`kmip_codec`, `kmip_typed`): its generic TTLV reader and writer
//! (`TTLV::from_bytes` / `TTLV::to_bytes`) and its typed messages (`from_ttlv` / `to_ttlv` of
//! `kmip_0::kmip_messages`), called the way its own `ttlv_parser` tool calls them.
//!
//! Its reader needs the KMIP flavour (1.x or 2.x tag table) before reading, which it finds by scanning the bytes
//! for the Protocol Version (`TTLV::find_version`); that scan is part of each decode timed here, as it is of
//! every message its server reads.
//!
//! cosmian_kmip and its logger take minutes to build (about 90 more crates, OpenTelemetry and gRPC among them),
//! so it comes with the `cosmian` feature of kms-benches: `cargo bench -p kms-benches --features cosmian --bench
//! kmip_codec`. Without it, the functions below refuse every message with that reason, which the benches print,
//! and the cosmian_kmip columns are left out.

pub use imp::*;

#[cfg(feature = "cosmian")]
mod imp {
    use cosmian_kmip::kmip_0::kmip_messages::{RequestMessage, ResponseMessage};
    use cosmian_kmip::ttlv::{KmipFlavor, TTLV, from_ttlv, to_ttlv};

    /// The crate version, for the column labels.
    pub const VERSION: &str = "5.28.0";

    /// The flavour of a message from its Protocol Version Major, or why there is none.
    pub fn flavor(bytes: &[u8]) -> Result<KmipFlavor, String> {
        match TTLV::find_version(bytes).map_err(|e| e.to_string())?.0 {
            1 => Ok(KmipFlavor::Kmip1),
            2 => Ok(KmipFlavor::Kmip2),
            major => Err(format!(
                "no KMIP 1.x or 2.x protocol version (major {major})"
            )),
        }
    }

    /// The generic tree of a message.
    pub fn decode(bytes: &[u8]) -> Result<TTLV, String> {
        TTLV::from_bytes(bytes, flavor(bytes)?).map_err(|e| e.to_string())
    }

    /// The bytes of a generic tree.
    pub fn encode(ttlv: &TTLV, flavor: KmipFlavor) -> Result<Vec<u8>, String> {
        ttlv.to_bytes(flavor).map_err(|e| e.to_string())
    }

    /// A message of either kind in cosmian_kmip's typed model, with the flavour it was read in.
    pub enum Typed {
        Request(Box<RequestMessage>, KmipFlavor),
        Response(Box<ResponseMessage>, KmipFlavor),
    }

    /// The typed message of `bytes`: the generic tree, then the typed model from it. As for kms-kmip, the first
    /// tag says which kind the caller expects.
    pub fn decode_typed(bytes: &[u8]) -> Result<Typed, String> {
        let flavor = flavor(bytes)?;
        let ttlv = TTLV::from_bytes(bytes, flavor).map_err(|e| e.to_string())?;
        if bytes.starts_with(&[0x42, 0x00, 0x78]) {
            let m = from_ttlv::<RequestMessage>(ttlv).map_err(|e| e.to_string())?;
            Ok(Typed::Request(Box::new(m), flavor))
        } else {
            let m = from_ttlv::<ResponseMessage>(ttlv).map_err(|e| e.to_string())?;
            Ok(Typed::Response(Box::new(m), flavor))
        }
    }

    /// The bytes of a typed message: the generic tree of the typed model, then its bytes.
    pub fn encode_typed(m: &Typed) -> Result<Vec<u8>, String> {
        let (ttlv, flavor) = match m {
            Typed::Request(r, f) => (to_ttlv(r.as_ref()), *f),
            Typed::Response(r, f) => (to_ttlv(r.as_ref()), *f),
        };
        encode(&ttlv.map_err(|e| e.to_string())?, flavor)
    }
}

#[cfg(not(feature = "cosmian"))]
mod imp {
    const OFF: &str = "kms-benches built without its `cosmian` feature (cargo bench -p kms-benches --features cosmian)";

    /// Not built: see the module documentation.
    pub const VERSION: &str = "(not built)";

    /// Stands for cosmian_kmip's types when it is not built; never made.
    #[derive(Clone, Copy)]
    pub enum Never {}
    pub type Tree = Never;
    pub type KmipFlavor = Never;
    pub type Typed = Never;

    pub fn flavor(_: &[u8]) -> Result<KmipFlavor, String> {
        Err(OFF.to_owned())
    }

    pub fn decode(_: &[u8]) -> Result<Tree, String> {
        Err(OFF.to_owned())
    }

    pub fn encode(ttlv: &Tree, _: KmipFlavor) -> Result<Vec<u8>, String> {
        match *ttlv {}
    }

    pub fn decode_typed(_: &[u8]) -> Result<Typed, String> {
        Err(OFF.to_owned())
    }

    pub fn encode_typed(m: &Typed) -> Result<Vec<u8>, String> {
        match *m {}
    }
}

/// How many of `messages` `f` takes, and the distinct reasons of the others (at most `max`, each with its
/// count), for the report printed beside the table: messages a peer cannot read are left out of its column,
/// never silently.
pub fn failures<T>(
    messages: &[Vec<u8>],
    f: impl Fn(&[u8]) -> Result<T, String>,
    max: usize,
) -> (usize, Vec<(usize, String)>) {
    let mut ok = 0;
    let mut reasons: Vec<(usize, String)> = Vec::new();
    for m in messages {
        match f(m) {
            Ok(_) => ok += 1,
            Err(e) => {
                // Keep the reasons short: the first line, without the parts that vary per message.
                let e: String = e
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(110)
                    .collect();
                match reasons.iter_mut().find(|(_, r)| *r == e) {
                    Some((n, _)) => *n += 1,
                    None => reasons.push((1, e)),
                }
            }
        }
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
    reasons.truncate(max);
    (ok, reasons)
}

/// Prints beside the table what cosmian_kmip's `model` read of the `total` messages, how many of those it wrote
/// back byte-exact, and why it refused the others (`reasons` from [`failures`]), which its `column` leaves out.
pub fn print_coverage(
    model: &str,
    column: &str,
    read: usize,
    total: usize,
    exact: usize,
    reasons: &[(usize, String)],
) {
    println!(
        "cosmian_kmip {VERSION}: its {model} reads {read} of the {total} messages ({exact} written back \
         byte-exact); the others, left out of its {column}:"
    );
    for (n, reason) in reasons {
        println!("  {n:>3} x {reason}");
    }
}
