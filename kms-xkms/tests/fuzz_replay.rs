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
