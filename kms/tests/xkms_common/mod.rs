//! `kms serve` with XKMS for the end-to-end tests: [`crate::support`]'s server with a plain-HTTP listener, client
//! subcommands under other identities, and a minimal HTTP/1.1 client for `POST /xkms`.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use crate::support::{LIVENESS, Serve, Server};

/// Starts `kms serve` with a plain-HTTP listener and `extra` arguments.
pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
    Serve::new(data_dir).http().args(extra).start()
}

// An inherent impl beside the type's module: these two serve only the XKMS tests.
impl Server {
    /// Runs a `kms` client subcommand against this server with `cert` (`admin` by default); returns stdout,
    /// or stderr as the error.
    pub fn kms_as(&self, cert: Option<(&Path, &Path)>, args: &[&str]) -> Result<String, String> {
        let mut cmd = self.client(args);
        if let Some((c, k)) = cert {
            cmd.arg("--cert").arg(c).arg("--key").arg(k);
        }
        let out = cmd.output().unwrap();
        if out.status.success() {
            Ok(String::from_utf8(out.stdout).unwrap())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `kms xkms issue-passphrase --for NAME` with the admin certificate.
    pub fn pass_phrase(&self, name: &str) -> String {
        let out = self
            .kms_as(None, &["xkms", "issue-passphrase", "--for", name])
            .unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "the pass phrase alone on stdout: {out:?}");
        lines[0].to_owned()
    }
}

/// `POST /xkms` over plain HTTP/1.1; returns the status code, the headers as received and the body.
pub fn post(addr: &str, content_type: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIVENESS)).unwrap();
    write!(
        s,
        "POST /xkms HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap();
    (status, head, raw[split + 4..].to_vec())
}
