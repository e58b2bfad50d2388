//! `kms serve --backend pkcs11` end to end against the SoftHSM2 token scripts/test creates
//! (KMS_TEST_PKCS11_MODULE, KMS_TEST_PKCS11_TOKEN, KMS_TEST_PKCS11_PIN): KMIP clients create an AES key and an EC
//! key pair held by the token, encrypt, decrypt, sign and verify; the keys cannot be read out; what the token
//! cannot do is refused with a KMIP error, not a general failure; the store's root key is wrapped by the token; a
//! restart on the same data directory uses the same keys; a wrong PIN stops the server at start with a clear message.
#![cfg(all(feature = "cli", feature = "kmip", feature = "hsm"))]
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Stdio;

use support::{Serve, Server, field};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run ./scripts/test, which creates the SoftHSM2 test token (scripts/setup/softhsm.sh)")
    })
}

/// `kms serve` with the PKCS #11 backend on `token` and its root key wrapped by the same token.
fn serve_command(data: &Path, token: &str, pin: &str) -> Serve {
    Serve::new(data)
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
        .env("KMS_PKCS11_PIN", pin)
}

fn serve(data: &Path) -> Server {
    serve_command(
        data,
        &var("KMS_TEST_PKCS11_TOKEN"),
        &var("KMS_TEST_PKCS11_PIN"),
    )
    .stderr(Stdio::inherit())
    .start()
}

#[test]
fn serve_with_the_pkcs11_backend_keeps_keys_in_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (aes, private, public, ct) = {
        let served = serve(&data);
        let aes = served.ok(&[
            "create",
            "--algorithm",
            "aes",
            "--length",
            "256",
            "--activate",
        ]);
        let aes = aes.trim().to_owned();
        let ct = served.ok(&["encrypt", &aes, "--data", "kept in the token"]);
        let pt = served.ok(&[
            "decrypt",
            &aes,
            "--data",
            field(&ct, "data"),
            "--iv",
            field(&ct, "iv"),
            "--tag",
            field(&ct, "tag"),
        ]);
        assert_eq!(pt.trim(), "kept in the token");
        // KMIP's Extractable defaults to True, but the server was not told to allow exports: Get is refused.
        let got = served.run(&["get", &aes]);
        assert!(!got.status.success());
        let err = String::from_utf8_lossy(&got.stderr);
        assert!(
            err.contains("xtractable") || err.contains("Sensitive"),
            "{err}"
        );

        let ids = served.ok(&[
            "create",
            "--algorithm",
            "ec",
            "--length",
            "256",
            "--activate",
        ]);
        let ids: Vec<&str> = ids.lines().collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        let (private, public) = (ids[0].to_owned(), ids[1].to_owned());
        let sig = served.ok(&["sign", &private, "--data", "signed in the token", "--ecdsa"]);
        let verdict = served.ok(&[
            "verify",
            &public,
            "--data",
            "signed in the token",
            "--signature",
            sig.trim(),
            "--ecdsa",
        ]);
        assert_eq!(verdict.trim(), "valid");
        assert!(!served.run(&["get", &private]).status.success());
        served.ok(&["get", &public]);
        // P-521 is not among the token's capabilities here: a KMIP error naming the parameters, not a failure of
        // the token.
        let refused = served.run(&["create", "--algorithm", "ec", "--length", "521"]);
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
    let pt = served.ok(&[
        "decrypt",
        &aes,
        "--data",
        field(&ct, "data"),
        "--iv",
        field(&ct, "iv"),
        "--tag",
        field(&ct, "tag"),
    ]);
    assert_eq!(pt.trim(), "kept in the token");
    let sig = served.ok(&["sign", &private, "--data", "again", "--ecdsa"]);
    let verdict = served.ok(&[
        "verify",
        &public,
        "--data",
        "again",
        "--signature",
        sig.trim(),
        "--ecdsa",
    ]);
    assert_eq!(verdict.trim(), "valid");
}

#[test]
fn a_wrong_pin_or_token_stops_the_server_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = serve_command(
        dir.path(),
        &var("KMS_TEST_PKCS11_TOKEN_WRONG_PIN"),
        "00000000",
    )
    .command();
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PIN"), "{err}");
    assert!(!err.contains("00000000"), "{err}");

    let out = serve_command(dir.path(), "no-such-token", &var("KMS_TEST_PKCS11_PIN"))
        .command()
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-token"));

    let out = serve_command(dir.path(), &var("KMS_TEST_PKCS11_TOKEN"), "")
        .command()
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("KMS_PKCS11_PIN"));
}
