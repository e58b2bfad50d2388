//! The `kms` client subcommands against `kms serve`: the built binary on a fresh data directory and free
//! ports; every client call passes the server's --data-dir and addresses, and so trusts its CA and presents
//! the admin certificate it wrote.
#![cfg(all(feature = "cli", feature = "kmip"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Server, field};

#[test]
fn client_subcommands_against_kms_serve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data);

    // A symmetric key: create, locate by name, get, encrypt/decrypt, attributes, revoke, destroy.
    let created = s.ok(&["create", "--name", "cli-aes", "--activate"]);
    let aes = created.trim().to_owned();
    assert!(!aes.is_empty() && !aes.contains('\n'), "{created:?}");
    assert_eq!(s.ok(&["locate", "--name", "cli-aes"]).trim(), aes);
    assert!(
        s.ok(&["locate", "--name", "no-such-name"])
            .trim()
            .is_empty()
    );
    let value = s.ok(&["get", &aes]);
    assert_eq!(value.trim().len(), 64, "a 256-bit key in hex: {value:?}");

    let sealed = s.ok(&["encrypt", &aes, "--data", "attack at dawn", "--aad", "h"]);
    let (ct, iv, tag) = (
        field(&sealed, "data"),
        field(&sealed, "iv"),
        field(&sealed, "tag"),
    );
    let opened = s.ok(&[
        "decrypt", &aes, "--data", ct, "--iv", iv, "--tag", tag, "--aad", "h",
    ]);
    assert_eq!(opened.trim_end(), "attack at dawn");
    // A wrong AAD fails the tag check: non-zero exit, nothing decrypted on stdout.
    let tampered = s.run(&[
        "decrypt", &aes, "--data", ct, "--iv", iv, "--tag", tag, "--aad", "x",
    ]);
    assert!(!tampered.status.success());
    assert!(!String::from_utf8_lossy(&tampered.stdout).contains("attack"));

    let attributes = s.ok(&["attributes", &aes]);
    assert!(attributes.contains("cli-aes"), "{attributes}");
    let query = s.ok(&["query"]);
    assert!(query.contains("operation: Encrypt"), "{query}");

    s.ok(&["revoke", &aes]);
    assert!(!s.run(&["encrypt", &aes, "--data", "x"]).status.success());
    s.ok(&["destroy", &aes]);
    assert!(!s.run(&["get", &aes]).status.success());

    // A key pair: sign with the private key, verify with the public key, refuse a changed message.
    let pair = s.ok(&[
        "create",
        "--algorithm",
        "ec",
        "--length",
        "256",
        "--activate",
    ]);
    let ids: Vec<&str> = pair.split_whitespace().collect();
    assert_eq!(ids.len(), 2, "{pair:?}");
    let signed = s.ok(&["sign", ids[0], "--data", "m", "--ecdsa"]);
    let signature = signed.trim();
    let verify = |id: &str, message: &str| {
        s.run(&[
            "verify",
            id,
            "--data",
            message,
            "--signature",
            signature,
            "--ecdsa",
        ])
    };
    // Which line is the public key is the subcommand's to say; one of the two verifies.
    let valid = ids.iter().any(|id| {
        let out = verify(id, "m");
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("valid")
    });
    assert!(valid, "the signature verifies");
    assert!(ids.iter().all(|id| !verify(id, "n").status.success()));
}
