//! Runs the fuzz targets' checks (`fuzz/src/lib.rs`) as ordinary tests: on seeds made from the vectors, and on
//! every input saved under `fuzz/corpus/*`, `fuzz/artifacts/*` and `fuzz/regressions/*` (crashes once found,
//! committed so that they are checked on every run).
//!
//! `write_seed_corpora` also (re)writes the seed corpora `fuzz/corpus/{ttlv,xml,json}_decode/` from the vectors:
//! a few dozen small files per target, named by content, so rewriting them changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

#[path = "ttlv_support/mod.rs"]
mod support;

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use std::path::{Path, PathBuf};

use kms_kmip::ttlv::Node;
use kms_kmip::{json, xml};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 3] = [
    ("ttlv_decode", checks::check_ttlv),
    ("xml_decode", checks::check_xml),
    ("json_decode", checks::check_json),
];

/// FNV-1a, to name seeds by content without a hashing dependency.
fn name_of(data: &[u8]) -> String {
    let h = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("seed-{h:016x}")
}

/// Seeds per target: every third hex vector; and the same messages plus some OASIS test-case messages as XML
/// and JSON.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut nodes: Vec<Node<'static>> = Vec::new();
    for (i, (_, bytes)) in support::all_ttlv().into_iter().enumerate() {
        if i % 3 == 0 {
            nodes.push(Node::decode(&bytes).unwrap().into_owned());
            out.push(("ttlv_decode", bytes));
        }
    }
    for (i, (_, text)) in support::oasis_files().into_iter().enumerate() {
        if i % 12 == 0 {
            nodes.extend(xml::from_str_all(&text).unwrap().into_iter().take(2));
        }
    }
    for n in &nodes {
        out.push(("xml_decode", xml::to_string(n).unwrap().into_bytes()));
        out.push(("json_decode", json::to_string(n).into_bytes()));
    }
    out
}

#[test]
fn write_seed_corpora() {
    let seeds = seeds();
    assert!(seeds.len() > 60);
    for (target, data) in seeds {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name_of(&data));
        if std::fs::read(&path).ok().as_deref() != Some(&data[..]) {
            std::fs::write(&path, &data).unwrap();
        }
    }
}

#[test]
fn seeds_pass_the_checks() {
    for (target, data) in seeds() {
        let check = TARGETS.iter().find(|(t, _)| *t == target).unwrap().1;
        check(&data);
    }
}

#[test]
fn saved_inputs_pass_the_checks() {
    let mut count = 0;
    for kind in ["corpus", "artifacts", "regressions"] {
        for (target, check) in TARGETS {
            let dir = fuzz_dir().join(kind).join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_file() {
                    let data = std::fs::read(&path).unwrap();
                    let result = std::panic::catch_unwind(|| check(&data));
                    assert!(
                        result.is_ok(),
                        "{} fails the {target} check",
                        path.display()
                    );
                    count += 1;
                }
            }
        }
    }
    println!("{count} saved fuzz inputs replayed");
}
