//! The load generator cannot rot: `kmip_load --suite --smoke` starts a `kms serve` process and a PyKMIP server,
//! sends a few requests of every operation with 1 and 16 connections, and must exit successfully, which it
//! only does when every answer has Result Status Success. Nothing here is timed.
//!
//! Needs the `kms` binary of this profile (built here with `cargo build -p kms --bin kms` when missing) and
//! PyKMIP (KMS_TEST_PYKMIP_PYTHON, which ./scripts/test sets).

use std::path::PathBuf;
use std::process::Command;

/// The `kms` binary beside this test's profile directory (target/debug/kms), built if missing.
fn kms_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/kmip_load-<hash>
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("profile dir");
    let bin = profile.join("kms");
    if !bin.exists() {
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "-p", "kms", "--bin", "kms"]);
        if profile.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        assert!(
            build.status().expect("cargo runs").success(),
            "building kms"
        );
    }
    bin
}

#[test]
fn suite_smoke_answers_every_request_with_success() {
    let python = std::env::var_os("KMS_TEST_PYKMIP_PYTHON").expect(
        "KMS_TEST_PYKMIP_PYTHON must point at a python with pykmip==0.11.0 (run ./scripts/test)",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kmip_load"))
        .args(["--suite", "--smoke", "--kms-bin"])
        .arg(kms_bin())
        .arg("--pykmip-python")
        .arg(python)
        .output()
        .expect("kmip_load runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kmip_load failed:\n{stdout}\n{stderr}"
    );
    // One row per operation and connection count, PyKMIP beside kms where it serves the operation.
    for label in [
        "Get (AES-256 key)",
        "Encrypt AES-256-GCM 64 B",
        "Sign ECDSA P-256 64 B",
        "Create AES-256 (durable)",
    ] {
        for conns in [1, 16] {
            assert!(
                stdout.contains(&format!("| {label} | {conns} |")),
                "no row {label} / {conns}:\n{stdout}"
            );
        }
    }
    assert!(stdout.contains(", 0 failures;"), "{stdout}");
    assert!(stdout.contains("PyKMIP 0.11 (KMIP 1.4)"), "{stdout}");
}
