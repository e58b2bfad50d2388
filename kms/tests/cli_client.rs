//! The `kms` client subcommands against `kms serve`: the built binary on a fresh data directory and free
//! ports; every client call passes the server's --data-dir and addresses, and so trusts its CA and presents
//! the admin certificate it wrote.
#![cfg(all(feature = "cli", feature = "kmip"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Generous upper bound for liveness only: nothing here measures time.
const LIVENESS: Duration = Duration::from_secs(60);

/// The server, killed when dropped so that a failing test leaves nothing running.
struct Served {
    child: Child,
    kmip: String,
    https: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kms() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kms"))
}

/// Starts `kms serve` on port 0 and reads the bound addresses from the line announcing them.
fn start(data_dir: &Path) -> Served {
    let child = kms()
        .args(["serve", "--data-dir"])
        .arg(data_dir)
        .args(["--kmip-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut served = Served {
        child,
        kmip: String::new(),
        https: String::new(),
    };
    let stdout = served.child.stdout.take().unwrap();
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
            .recv_timeout(LIVENESS)
            .expect("kms serve did not announce its addresses");
        if let Some(rest) = line.strip_prefix("kms: serving KMIP on ") {
            served.kmip = rest.split(' ').next().unwrap().to_owned();
            served.https = rest
                .split("https://")
                .nth(1)
                .unwrap()
                .trim_end_matches("/kmip/2_1")
                .to_owned();
            return served;
        }
    }
}

/// Runs a client subcommand against `served`.
fn client(served: &Served, data_dir: &Path, args: &[&str]) -> Output {
    kms()
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--kmip-addr", &served.kmip, "--https-addr", &served.https])
        .output()
        .unwrap()
}

/// Runs a client subcommand that must succeed; its standard output.
fn ok(served: &Served, data_dir: &Path, args: &[&str]) -> String {
    let out = client(served, data_dir, args);
    assert!(
        out.status.success(),
        "kms {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn field<'a>(output: &'a str, name: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name}= in {output:?}"))
}

#[test]
fn client_subcommands_against_kms_serve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = start(&data);

    // A symmetric key: create, locate by name, get, encrypt/decrypt, attributes, revoke, destroy.
    let created = ok(&s, &data, &["create", "--name", "cli-aes", "--activate"]);
    let aes = created.trim().to_owned();
    assert!(!aes.is_empty() && !aes.contains('\n'), "{created:?}");
    assert_eq!(ok(&s, &data, &["locate", "--name", "cli-aes"]).trim(), aes);
    assert!(
        ok(&s, &data, &["locate", "--name", "no-such-name"])
            .trim()
            .is_empty()
    );
    let value = ok(&s, &data, &["get", &aes]);
    assert_eq!(value.trim().len(), 64, "a 256-bit key in hex: {value:?}");

    let sealed = ok(
        &s,
        &data,
        &["encrypt", &aes, "--data", "attack at dawn", "--aad", "h"],
    );
    let (ct, iv, tag) = (
        field(&sealed, "data"),
        field(&sealed, "iv"),
        field(&sealed, "tag"),
    );
    let opened = ok(
        &s,
        &data,
        &[
            "decrypt", &aes, "--data", ct, "--iv", iv, "--tag", tag, "--aad", "h",
        ],
    );
    assert_eq!(opened.trim_end(), "attack at dawn");
    // A wrong AAD fails the tag check: non-zero exit, nothing decrypted on stdout.
    let tampered = client(
        &s,
        &data,
        &[
            "decrypt", &aes, "--data", ct, "--iv", iv, "--tag", tag, "--aad", "x",
        ],
    );
    assert!(!tampered.status.success());
    assert!(!String::from_utf8_lossy(&tampered.stdout).contains("attack"));

    let attributes = ok(&s, &data, &["attributes", &aes]);
    assert!(attributes.contains("cli-aes"), "{attributes}");
    let query = ok(&s, &data, &["query"]);
    assert!(query.contains("operation: Encrypt"), "{query}");

    ok(&s, &data, &["revoke", &aes]);
    assert!(
        !client(&s, &data, &["encrypt", &aes, "--data", "x"])
            .status
            .success()
    );
    ok(&s, &data, &["destroy", &aes]);
    assert!(!client(&s, &data, &["get", &aes]).status.success());

    // A key pair: sign with the private key, verify with the public key, refuse a changed message.
    let pair = ok(
        &s,
        &data,
        &[
            "create",
            "--algorithm",
            "ec",
            "--length",
            "256",
            "--activate",
        ],
    );
    let ids: Vec<&str> = pair.split_whitespace().collect();
    assert_eq!(ids.len(), 2, "{pair:?}");
    let signed = ok(&s, &data, &["sign", ids[0], "--data", "m", "--ecdsa"]);
    let signature = signed.trim();
    let verify = |id: &str, message: &str| {
        client(
            &s,
            &data,
            &[
                "verify",
                id,
                "--data",
                message,
                "--signature",
                signature,
                "--ecdsa",
            ],
        )
    };
    // Which line is the public key is the subcommand's to say; one of the two verifies.
    let valid = ids.iter().any(|id| {
        let out = verify(id, "m");
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("valid")
    });
    assert!(valid, "the signature verifies");
    assert!(ids.iter().all(|id| !verify(id, "n").status.success()));
}
