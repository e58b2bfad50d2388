//! PyKMIP 0.11.0 interoperability: the PyKMIP client (scripts/interop/pykmip_client.py) against `kms serve`
//! in KMIP 1.2, 1.4 and 2.0: create, create key pair, register, get, get attributes, locate, activate,
//! RSA-OAEP encrypt/decrypt, sign/verify, MAC, revoke, destroy.
//!
//! KMS_TEST_PYKMIP_PYTHON must name a python with `pykmip==0.11.0` installed (scripts/test sets it up); the
//! test fails without it rather than pass without having run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(data_dir: &Path) -> (Served, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kms"))
        .args(["serve", "--data-dir"])
        .arg(data_dir)
        .args(["--kmip-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kms serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let served = Served(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("kms serve announces its addresses");
        if let Some(rest) = line.strip_prefix("kms: serving KMIP on ") {
            let addr = rest.split(' ').next().expect("address").to_owned();
            return (served, addr);
        }
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/interop/pykmip_client.py")
}

#[test]
fn pykmip_client_against_kms_serve_in_kmip_1_2_1_4_2_0() {
    let python = std::env::var_os("KMS_TEST_PYKMIP_PYTHON").expect(
        "KMS_TEST_PYKMIP_PYTHON must point at a python with pykmip==0.11.0 (see scripts/test)",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (_served, addr) = start(dir.path());
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let certs = dir.path().join("certs");
    let mut failed = Vec::new();
    for version in ["1.2", "1.4", "2.0"] {
        let output = Command::new(&python)
            .arg(script())
            .args([host, port])
            .arg(certs.join("ca.pem"))
            .arg(certs.join("admin.pem"))
            .arg(certs.join("admin.key"))
            .arg(version)
            .env("PYTHONWARNINGS", "ignore")
            .output()
            .expect("python runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let passed = stdout.lines().filter(|l| l.starts_with("ok ")).count();
        eprintln!("PyKMIP client, KMIP {version}: {passed} operations ok");
        for line in stdout.lines().filter(|l| !l.starts_with("ok ")) {
            eprintln!("  {line}");
        }
        if !output.status.success() || passed < 18 {
            failed.push(format!(
                "KMIP {version}: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .rev()
                    .take(20)
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
