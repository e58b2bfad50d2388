//! A real XKMS client no one here wrote, Apache Santuario's `xsec-xklient` (Debian xml-security-c-utils,
//! location from KMS_XSEC_XKLIENT), against `kms serve` over plain HTTP: Locate, Register with proof of
//! possession and a pass phrase from `kms xkms issue-passphrase`, Validate, the two-phase protocol, Revoke
//! with its (2004-converted) revocation code, a server-generated key it decrypts, and Recover.
//!
//! xsec-xklient writes its request line as `POST /xkmsHTTP/1.0`, which no HTTP server accepts; the service
//! stays strict and this test puts a small loopback relay in front of it that repairs that one line.
#![cfg(all(feature = "cli", feature = "kmip", feature = "xkms"))]
#![allow(clippy::unwrap_used)]

mod support;
mod xkms_common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;

use xkms_common::start;

fn xklient() -> String {
    std::env::var("KMS_XSEC_XKLIENT").expect(
        "KMS_XSEC_XKLIENT is not set: run ./scripts/test, which installs xml-security-c-utils and sets it",
    )
}

/// Runs `xsec-xklient request ARGS...`; returns its output.
fn request(args: &[&str]) -> String {
    let out = Command::new(xklient())
        .arg("request")
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "xsec-xklient {args:?}: {text}");
    text
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// A loopback relay to `target` that inserts the missing space before `HTTP/1.` in the request line.
fn relay(target: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let target = target.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n") && head.len() < 8192 {
                    if client.read_exact(&mut byte).is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let line = String::from_utf8_lossy(&head).into_owned();
                let line = match line.rfind("HTTP/1.") {
                    Some(i) if i > 0 && !line[..i].ends_with(' ') => {
                        format!("{} {}", &line[..i], &line[i..])
                    }
                    _ => line,
                };
                let Ok(mut server) = TcpStream::connect(&target) else {
                    return;
                };
                if server.write_all(line.as_bytes()).is_err() {
                    return;
                }
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || copy(c2, s2));
                copy(server, client);
            });
        }
    });
    addr
}

fn write_rsa_key(path: &Path) -> String {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::traits::PublicKeyParts as _;
    let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
    let sk = rsa::PrivateKey::new(&mut rng, 2048).unwrap();
    std::fs::write(
        path,
        sk.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(sk.n_bytes())
}

/// The lines of xsec-xklient's dump that say how the request was answered.
fn verdict(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("Result Major code")
                || l.starts_with("Result Minor code")
                || l.starts_with("Status =")
                || l.starts_with("InvalidReason")
        })
        .map(str::to_owned)
        .collect()
}

/// The `Modulus = ` line of an RSAKeyPair dump, or the modulus of an RSA KeyValue.
fn modulus(out: &str) -> Option<String> {
    out.lines().map(str::trim).find_map(|l| {
        l.strip_prefix("Modulus = ")
            .or_else(|| l.strip_prefix("Base64 encoded modulus  = "))
            .map(str::to_owned)
    })
}

#[test]
fn xsec_xklient_registers_locates_validates_revokes_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path(), &[]);
    let url = format!("http://{}/xkms", relay(served.http.clone()));
    let key = dir.path().join("alice.pem");
    let alice_modulus = write_rsa_key(&key);
    let key = key.to_str().unwrap();

    assert_eq!(
        verdict(&request(&["LocateRequest", &url, "-n", "Alice"])),
        ["Result Major code = Sender", "Result Minor code = NoMatch"]
    );

    // Register with proof of possession (RSA-SHA1, inclusive C14N over the request taken out of the
    // envelope) and KeyBindingAuthentication under the issued pass phrase.
    let phrase = served.pass_phrase("Alice");
    let register = [
        "RegisterRequest",
        &url,
        "-n",
        "Alice",
        "-us",
        "-vr",
        key,
        "unused",
        "-v",
        "Rev Code",
        "-a",
        &phrase,
    ];
    let out = request(&register);
    assert_eq!(
        verdict(&out),
        ["Result Major code = Success", "Status = Valid"],
        "{out}"
    );
    assert_eq!(modulus(&out).as_deref(), Some(alice_modulus.as_str()));
    // The same pass phrase again: spent.
    assert_eq!(
        verdict(&request(&register)),
        [
            "Result Major code = Sender",
            "Result Minor code = NoAuthentication"
        ]
    );
    // KMIP sees the key.
    let located = served.kms_as(None, &["locate", "--name", "Alice"]).unwrap();
    assert_eq!(located.lines().count(), 1);

    let out = request(&["LocateRequest", &url, "-n", "Alice"]);
    assert_eq!(verdict(&out), ["Result Major code = Success"]);
    assert_eq!(modulus(&out).as_deref(), Some(alice_modulus.as_str()));
    assert_eq!(
        verdict(&request(&["ValidateRequest", &url, "-n", "Alice"])),
        ["Result Major code = Success", "Status = Valid"]
    );

    // Two-phase: Represent with a nonce, then the answer.
    let out = request(&["--two-phase", "LocateRequest", &url, "-n", "Alice"]);
    assert_eq!(
        verdict(&out),
        [
            "Result Major code = Represent",
            "Result Major code = Success"
        ],
        "{out}"
    );

    // Revoke with the revocation code (xsec-xklient converts it the 2004 way; the identifier it registered
    // was computed the same way, and the service only compares the two).
    let out = request(&["RevokeRequest", &url, "-n", "Alice", "-v", "Rev Code"]);
    assert_eq!(
        verdict(&out),
        [
            "Result Major code = Success",
            "Status = Invalid",
            "InvalidReason = RevocationStatus"
        ],
        "{out}"
    );
    assert_eq!(
        verdict(&request(&["ValidateRequest", &url, "-n", "Alice"])),
        [
            "Result Major code = Success",
            "Status = Invalid",
            "InvalidReason = RevocationStatus"
        ]
    );

    // A key the service generates: xsec-xklient decrypts the PrivateKey with the pass phrase and writes it.
    let phrase = served.pass_phrase("Bob");
    let bob = dir.path().join("bob.pem");
    let out = request(&[
        "RegisterRequest",
        &url,
        "-n",
        "Bob",
        "-ue",
        "-r",
        "http://www.w3.org/2002/03/xkms#PrivateKey",
        "-k",
        &phrase,
        "-p",
        bob.to_str().unwrap(),
        "secret",
        "-a",
        &phrase,
    ]);
    assert!(out.contains("RSAKeyPair found"), "{out}");
    assert!(bob.exists());
    let generated = modulus(&out).expect("the decrypted key's modulus");

    // Recover it with a new pass phrase.
    let phrase = served.pass_phrase("Bob");
    let bob2 = dir.path().join("bob2.pem");
    let out = request(&[
        "RecoverRequest",
        &url,
        "-n",
        "Bob",
        "-k",
        &phrase,
        "-p",
        bob2.to_str().unwrap(),
        "secret",
        "-a",
        &phrase,
    ]);
    assert_eq!(
        verdict(&out),
        ["Result Major code = Success", "Status = Valid"],
        "{out}"
    );
    assert!(out.contains("RSAKeyPair found"), "{out}");
    assert_eq!(modulus(&out).as_deref(), Some(generated.as_str()));
}
