//! `kms serve --backend tpm` end to end against the swtpm scripts/test starts (KMS_TEST_TPM_TCTI): KMIP clients
//! create an ECDSA key pair held by the TPM, sign and verify; the private key cannot be read out; the store's root
//! key is sealed to the same TPM; a restart on the same data directory signs with the same key.
#![cfg(all(feature = "cli", feature = "kmip", feature = "tpm"))]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Upper bound for liveness only (the swtpm serves one connection at a time, so the server may wait its turn).
const LIVENESS: Duration = Duration::from_secs(120);

fn tcti() -> String {
    std::env::var("KMS_TEST_TPM_TCTI").unwrap_or_else(|_| {
        panic!("KMS_TEST_TPM_TCTI is not set: run ./scripts/test, which starts swtpm and sets it")
    })
}

fn kms() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kms"));
    cmd.env("RUST_LOG", "warn");
    cmd
}

struct Served {
    child: Child,
    kmip: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Served {
    let tcti = tcti();
    let mut child = kms()
        .args(["serve", "--data-dir"])
        .arg(data)
        .args(["--kmip-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0"])
        .args([
            "--backend",
            "tpm",
            "--tpm-tcti",
            &tcti,
            "--root-key-tpm",
            &tcti,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut served = Served {
        child,
        kmip: String::new(),
    };
    loop {
        let line = rx
            .recv_timeout(LIVENESS)
            .expect("kms serve did not announce its addresses");
        if let Some(rest) = line.strip_prefix("kms: serving KMIP on ") {
            served.kmip = rest.split(' ').next().unwrap().to_owned();
            return served;
        }
    }
}

fn client(data: &Path, served: &Served, args: &[&str]) -> Output {
    kms()
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .args(["--kmip-addr", &served.kmip])
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn serve_with_tpm_backend_signs_with_tpm_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (private, public, signature) = {
        let served = serve(&data);
        let ids = ok(client(
            &data,
            &served,
            &[
                "create",
                "--algorithm",
                "ec",
                "--length",
                "256",
                "--activate",
            ],
        ));
        let ids: Vec<&str> = ids.lines().collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        let (private, public) = (ids[0].to_owned(), ids[1].to_owned());
        let signature = ok(client(
            &data,
            &served,
            &["sign", &private, "--data", "measured boot", "--ecdsa"],
        ));
        let signature = signature.trim().to_owned();
        assert_eq!(
            ok(client(
                &data,
                &served,
                &[
                    "verify",
                    &public,
                    "--data",
                    "measured boot",
                    "--signature",
                    &signature,
                    "--ecdsa"
                ]
            ))
            .trim(),
            "valid"
        );
        assert!(
            !client(
                &data,
                &served,
                &[
                    "verify",
                    &public,
                    "--data",
                    "other",
                    "--signature",
                    &signature,
                    "--ecdsa"
                ]
            )
            .status
            .success()
        );
        // The private key is fixedTPM: Get refuses it; the public key comes out as SPKI.
        assert!(!client(&data, &served, &["get", &private]).status.success());
        ok(client(&data, &served, &["get", &public]));
        (private, public, signature)
    };
    // The root key is sealed to the TPM, not in a file.
    assert!(data.join("root.tpm").is_file());
    assert!(!data.join("root.key").exists());

    // Restart: the root key unseals, the key blob loads again.
    let served = serve(&data);
    let again = ok(client(
        &data,
        &served,
        &["sign", &private, "--data", "measured boot", "--ecdsa"],
    ));
    assert_eq!(
        ok(client(
            &data,
            &served,
            &[
                "verify",
                &public,
                "--data",
                "measured boot",
                "--signature",
                again.trim(),
                "--ecdsa"
            ]
        ))
        .trim(),
        "valid"
    );
    assert_eq!(
        ok(client(
            &data,
            &served,
            &[
                "verify",
                &public,
                "--data",
                "measured boot",
                "--signature",
                &signature,
                "--ecdsa"
            ]
        ))
        .trim(),
        "valid"
    );
}
