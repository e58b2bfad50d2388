//! `kms serve --backend pkcs11` end to end against the SoftHSM2 token scripts/test creates
//! (KMS_TEST_PKCS11_MODULE, KMS_TEST_PKCS11_TOKEN, KMS_TEST_PKCS11_PIN): KMIP clients create an AES key and an EC
//! key pair held by the token, encrypt, decrypt, sign and verify; the keys cannot be read out; what the token
//! cannot do is refused with a KMIP error, not a general failure; the store's root key is wrapped by the token; a
//! restart on the same data directory uses the same keys; a wrong PIN stops the server at start with a clear message.
#![cfg(all(feature = "cli", feature = "kmip", feature = "hsm"))]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Upper bound for liveness only.
const LIVENESS: Duration = Duration::from_secs(60);

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run ./scripts/test, which creates the SoftHSM2 test token (scripts/setup/softhsm.sh)")
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

fn serve_command(data: &Path, token: &str, pin: &str) -> Command {
    let mut cmd = kms();
    cmd.args(["serve", "--data-dir"])
        .arg(data)
        .args(["--kmip-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0"])
        .args([
            "--backend",
            "pkcs11",
            "--pkcs11-module",
            &var("KMS_TEST_PKCS11_MODULE"),
        ])
        .args(["--pkcs11-token", token])
        .args([
            "--root-key-pkcs11",
            token,
            "--root-key-pkcs11-module",
            &var("KMS_TEST_PKCS11_MODULE"),
        ])
        .env("KMS_PKCS11_PIN", pin);
    cmd
}

fn serve(data: &Path) -> Served {
    let mut child = serve_command(
        data,
        &var("KMS_TEST_PKCS11_TOKEN"),
        &var("KMS_TEST_PKCS11_PIN"),
    )
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

fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines().find_map(|l| l.strip_prefix(name)).unwrap()
}

#[test]
fn serve_with_the_pkcs11_backend_keeps_keys_in_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (aes, private, public, ct) = {
        let served = serve(&data);
        let aes = ok(client(
            &data,
            &served,
            &[
                "create",
                "--algorithm",
                "aes",
                "--length",
                "256",
                "--activate",
            ],
        ));
        let aes = aes.trim().to_owned();
        let ct = ok(client(
            &data,
            &served,
            &["encrypt", &aes, "--data", "kept in the token"],
        ));
        let pt = ok(client(
            &data,
            &served,
            &[
                "decrypt",
                &aes,
                "--data",
                field(&ct, "data="),
                "--iv",
                field(&ct, "iv="),
                "--tag",
                field(&ct, "tag="),
            ],
        ));
        assert_eq!(pt.trim(), "kept in the token");
        // KMIP's Extractable defaults to True, but the server was not told to allow exports: Get is refused.
        let got = client(&data, &served, &["get", &aes]);
        assert!(!got.status.success());
        let err = String::from_utf8_lossy(&got.stderr);
        assert!(
            err.contains("xtractable") || err.contains("Sensitive"),
            "{err}"
        );

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
        let sig = ok(client(
            &data,
            &served,
            &["sign", &private, "--data", "signed in the token", "--ecdsa"],
        ));
        let verdict = ok(client(
            &data,
            &served,
            &[
                "verify",
                &public,
                "--data",
                "signed in the token",
                "--signature",
                sig.trim(),
                "--ecdsa",
            ],
        ));
        assert_eq!(verdict.trim(), "valid");
        assert!(!client(&data, &served, &["get", &private]).status.success());
        ok(client(&data, &served, &["get", &public]));
        // P-521 is not among the token's capabilities here: a KMIP error naming the parameters, not a failure of
        // the token.
        let refused = client(
            &data,
            &served,
            &["create", "--algorithm", "ec", "--length", "521"],
        );
        assert!(!refused.status.success());
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !err.contains("General Failure") && !err.contains("GeneralFailure"),
            "{err}"
        );
        (aes, private, public, ct)
    };
    // The store's root key is wrapped by the token, not in a file.
    assert!(data.join("root.key.hsm").is_file());
    assert!(!data.join("root.key").exists());
    // Only references are in the store; after a restart the same token objects answer.
    let served = serve(&data);
    let pt = ok(client(
        &data,
        &served,
        &[
            "decrypt",
            &aes,
            "--data",
            field(&ct, "data="),
            "--iv",
            field(&ct, "iv="),
            "--tag",
            field(&ct, "tag="),
        ],
    ));
    assert_eq!(pt.trim(), "kept in the token");
    let sig = ok(client(
        &data,
        &served,
        &["sign", &private, "--data", "again", "--ecdsa"],
    ));
    let verdict = ok(client(
        &data,
        &served,
        &[
            "verify",
            &public,
            "--data",
            "again",
            "--signature",
            sig.trim(),
            "--ecdsa",
        ],
    ));
    assert_eq!(verdict.trim(), "valid");
}

#[test]
fn a_wrong_pin_or_token_stops_the_server_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = serve_command(
        dir.path(),
        &var("KMS_TEST_PKCS11_TOKEN_WRONG_PIN"),
        "00000000",
    );
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PIN"), "{err}");
    assert!(!err.contains("00000000"), "{err}");

    let out = serve_command(dir.path(), "no-such-token", &var("KMS_TEST_PKCS11_PIN"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-token"));

    let out = serve_command(dir.path(), &var("KMS_TEST_PKCS11_TOKEN"), "")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("KMS_PKCS11_PIN"));
}
