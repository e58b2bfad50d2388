//! Replays the `xkms_decode` fuzz property over every saved input: the vectors, the regressions kept in
//! tests/fuzz-regressions, and the fuzz corpus and artifacts when a fuzzing run left them in this tree.

mod common;

use std::path::{Path, PathBuf};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p.file_name().is_some_and(|n| n != "README.md") {
            out.push(p);
        }
    }
}

#[test]
fn saved_inputs_keep_the_fuzz_property() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = common::vector_files();
    let before = files.len();
    files_under(&root.join("tests/fuzz-regressions"), &mut files);
    files_under(&root.join("../fuzz/corpus/xkms_decode"), &mut files);
    files_under(&root.join("../fuzz/artifacts/xkms_decode"), &mut files);
    assert!(before >= 45);
    for f in &files {
        let data = std::fs::read(f).expect("read");
        let result = std::panic::catch_unwind(|| kms_xkms::fuzzing::check_decode(&data));
        assert!(result.is_ok(), "fuzz property violated by {}", f.display());
    }
}

/// The `xkms_service` property over the same inputs and that target's own corpus and artifacts.
#[cfg(feature = "service")]
#[test]
fn saved_inputs_are_answered_by_the_service() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = common::vector_files();
    files_under(&root.join("tests/fuzz-regressions"), &mut files);
    files_under(&root.join("../fuzz/corpus/xkms_decode"), &mut files);
    files_under(&root.join("../fuzz/corpus/xkms_service"), &mut files);
    files_under(&root.join("../fuzz/artifacts/xkms_service"), &mut files);
    for f in &files {
        let data = std::fs::read(f).expect("read");
        let result = std::panic::catch_unwind(|| kms_xkms::fuzzing::check_service(&data));
        assert!(
            result.is_ok(),
            "service property violated by {}",
            f.display()
        );
        // Bare messages also go in an envelope, so that the service processes the requests among them.
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        if text.contains("Envelope") {
            continue;
        }
        let body = match text.trim_start().strip_prefix("<?xml") {
            Some(rest) => rest.split_once("?>").map_or("", |(_, b)| b),
            None => text,
        };
        let wrapped = format!(
            r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>{body}</env:Body></env:Envelope>"#
        );
        let result =
            std::panic::catch_unwind(|| kms_xkms::fuzzing::check_service(wrapped.as_bytes()));
        assert!(
            result.is_ok(),
            "service property violated by {} in an envelope",
            f.display()
        );
    }
}
