//! `kms serve` with XKMS for the end-to-end tests: started on free ports with a plain-HTTP listener, the
//! addresses read from its stdout, killed when dropped; a minimal HTTP/1.1 client for `POST /xkms`.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Generous upper bound for liveness only: nothing here measures time.
pub const LIVENESS: Duration = Duration::from_secs(120);

pub struct Served {
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub kmip: String,
    pub https: String,
    pub http: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn kms() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kms"));
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// Starts `kms serve` with `extra` arguments on port 0 everywhere and waits for the announced addresses.
pub fn start(data_dir: &Path, extra: &[&str]) -> Served {
    let child = kms()
        .args(["serve", "--data-dir"])
        .arg(data_dir)
        .args([
            "--kmip-addr",
            "127.0.0.1:0",
            "--https-addr",
            "127.0.0.1:0",
            "--http-addr",
            "127.0.0.1:0",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut served = Served {
        child: Some(child),
        data_dir: data_dir.to_owned(),
        kmip: String::new(),
        https: String::new(),
        http: String::new(),
    };
    let stdout = served.child.as_mut().and_then(|c| c.stdout.take()).unwrap();
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
        }
        if let Some(rest) = line.strip_prefix("kms: serving XKMS on https://") {
            let mut parts = rest.split(" and http://");
            served.https = parts.next().unwrap().trim_end_matches("/xkms").to_owned();
            served.http = parts
                .next()
                .expect("a plain-HTTP listener")
                .trim_end_matches("/xkms")
                .to_owned();
            return served;
        }
    }
}

impl Served {
    /// Runs a `kms` client subcommand against this server with `cert` (`admin` by default); returns stdout,
    /// or stderr as the error.
    pub fn kms_as(&self, cert: Option<(&Path, &Path)>, args: &[&str]) -> Result<String, String> {
        let mut cmd = kms();
        cmd.args(args).arg("--data-dir").arg(&self.data_dir).args([
            "--kmip-addr",
            &self.kmip,
            "--https-addr",
            &self.https,
        ]);
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
