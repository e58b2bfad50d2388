//! `kms serve --backend tpm` end to end against the swtpm scripts/test starts (KMS_TEST_TPM_TCTI): KMIP clients
//! create an ECDSA key pair held by the TPM, sign and verify; the private key cannot be read out; the store's root
//! key is sealed to the same TPM; a restart on the same data directory signs with the same key.
#![cfg(all(feature = "cli", feature = "kmip", feature = "tpm"))]
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Stdio;

use support::{Serve, Server};

fn tcti() -> String {
    std::env::var("KMS_TEST_TPM_TCTI").unwrap_or_else(|_| {
        panic!("KMS_TEST_TPM_TCTI is not set: run ./scripts/test, which starts swtpm and sets it")
    })
}

/// `kms serve` with the TPM backend and its root key sealed to the same TPM.
fn serve(data: &Path) -> Server {
    let tcti = tcti();
    Serve::new(data)
        .args([
            "--backend",
            "tpm",
            "--tpm-tcti",
            &tcti,
            "--root-key-tpm",
            &tcti,
        ])
        .stderr(Stdio::inherit())
        .start()
}

#[test]
fn serve_with_tpm_backend_signs_with_tpm_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (private, public, signature) = {
        let served = serve(&data);
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
        let signature = served.ok(&["sign", &private, "--data", "measured boot", "--ecdsa"]);
        let signature = signature.trim().to_owned();
        assert_eq!(
            served
                .ok(&[
                    "verify",
                    &public,
                    "--data",
                    "measured boot",
                    "--signature",
                    &signature,
                    "--ecdsa"
                ])
                .trim(),
            "valid"
        );
        assert!(
            !served
                .run(&[
                    "verify",
                    &public,
                    "--data",
                    "other",
                    "--signature",
                    &signature,
                    "--ecdsa"
                ])
                .status
                .success()
        );
        // The private key is fixedTPM: Get refuses it; the public key comes out as SPKI.
        assert!(!served.run(&["get", &private]).status.success());
        served.ok(&["get", &public]);
        (private, public, signature)
    };
    // The root key is sealed to the TPM, not in a file.
    assert!(data.join("root.tpm").is_file());
    assert!(!data.join("root.key").exists());

    // Restart: the root key unseals, the key blob loads again.
    let served = serve(&data);
    let again = served.ok(&["sign", &private, "--data", "measured boot", "--ecdsa"]);
    assert_eq!(
        served
            .ok(&[
                "verify",
                &public,
                "--data",
                "measured boot",
                "--signature",
                again.trim(),
                "--ecdsa"
            ])
            .trim(),
        "valid"
    );
    assert_eq!(
        served
            .ok(&[
                "verify",
                &public,
                "--data",
                "measured boot",
                "--signature",
                &signature,
                "--ecdsa"
            ])
            .trim(),
        "valid"
    );
}
