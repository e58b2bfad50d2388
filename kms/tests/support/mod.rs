//! `kms serve` for the end-to-end tests: the built binary on a data directory of the test's and port 0 everywhere,
//! the bound addresses read from the line it prints on stdout, killed when dropped so that a failing test leaves
//! nothing running; clients with the identities of the PKI it writes to DATA_DIR/certs.
//!
//! What differs between tests (backend flags, env vars such as a PIN or a database URL, where the log goes, a
//! plain-HTTP listener) is given to [`Serve`]; restarts are a second [`Serve::start`] on the same directory.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use kms::kmip::transport::{rustls, tls};

/// Generous upper bound for liveness only: nothing here measures time. The swtpm serves one connection at a
/// time, so a server on it may wait its turn.
pub const LIVENESS: Duration = Duration::from_secs(120);

/// The `kms` binary under test.
pub fn kms() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kms"))
}

/// A `kms serve` command being put together: `--data-dir`, `--kmip-addr 127.0.0.1:0` and
/// `--https-addr 127.0.0.1:0`, `RUST_LOG=warn`, its stderr discarded unless told otherwise.
pub struct Serve {
    cmd: Command,
    data_dir: PathBuf,
    http: bool,
    stderr: Option<Stdio>,
}

impl Serve {
    pub fn new(data_dir: &Path) -> Self {
        let mut cmd = kms();
        cmd.env("RUST_LOG", "warn")
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args(["--kmip-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0"]);
        Self {
            cmd,
            data_dir: data_dir.to_owned(),
            http: false,
            stderr: None,
        }
    }

    /// A plain-HTTP listener on port 0 too; [`Serve::start`] then waits for the XKMS line announcing it.
    pub fn http(mut self) -> Self {
        self.cmd.args(["--http-addr", "127.0.0.1:0"]);
        self.http = true;
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn stderr(mut self, stderr: impl Into<Stdio>) -> Self {
        self.stderr = Some(stderr.into());
        self
    }

    /// The command itself, for a test that runs it to its end (a server that must refuse to start).
    pub fn command(self) -> Command {
        self.cmd
    }

    /// Starts the server and waits for the line announcing its addresses (and, with [`Serve::http`], the XKMS
    /// line after it). Stdout is drained from then on so the server never blocks on a full pipe.
    pub fn start(self) -> Server {
        let Self {
            mut cmd,
            data_dir,
            http,
            stderr,
        } = self;
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(stderr.unwrap_or_else(Stdio::null))
            .spawn()
            .unwrap();
        // From here on the guard kills the server if anything below fails.
        let mut server = Server {
            child: Some(child),
            data_dir,
            kmip: String::new(),
            https: String::new(),
            http: String::new(),
            stdout: Vec::new(),
        };
        let stdout = server.child.as_mut().and_then(|c| c.stdout.take()).unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Once the test has its addresses nobody listens; the lines are still read.
                let _ = tx.send(line);
            }
        });
        loop {
            let line = rx
                .recv_timeout(LIVENESS)
                .expect("kms serve did not announce its addresses");
            if let Some(rest) = line.strip_prefix("kms: serving KMIP on ") {
                server.kmip = rest.split(' ').next().unwrap().to_owned();
                server.https = rest
                    .split("https://")
                    .nth(1)
                    .unwrap()
                    .trim_end_matches("/kmip/2_1")
                    .to_owned();
                if !http {
                    server.stdout.push(line);
                    return server;
                }
            }
            if let Some(rest) = line.strip_prefix("kms: serving XKMS on https://") {
                let mut parts = rest.split(" and http://");
                server.https = parts.next().unwrap().trim_end_matches("/xkms").to_owned();
                server.http = parts
                    .next()
                    .expect("a plain-HTTP listener")
                    .trim_end_matches("/xkms")
                    .to_owned();
                server.stdout.push(line);
                return server;
            }
            server.stdout.push(line);
        }
    }
}

/// A running `kms serve`, killed when dropped.
pub struct Server {
    /// `None` once stopped.
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub kmip: String,
    pub https: String,
    /// Empty unless started with [`Serve::http`].
    pub http: String,
    /// Its stdout up to and including the line announcing the addresses.
    pub stdout: Vec<String>,
}

impl Server {
    /// `kms serve` on `data_dir` with nothing else set.
    pub fn start(data_dir: &Path) -> Self {
        Serve::new(data_dir).start()
    }

    /// The PKI the server wrote (or found) on its first start.
    pub fn certs(&self) -> PathBuf {
        self.data_dir.join("certs")
    }

    /// A `kms` client subcommand against this server: its data directory (so its CA and admin identity) and
    /// addresses.
    pub fn client(&self, args: &[&str]) -> Command {
        let mut cmd = kms();
        cmd.args(args).arg("--data-dir").arg(&self.data_dir).args([
            "--kmip-addr",
            &self.kmip,
            "--https-addr",
            &self.https,
        ]);
        cmd
    }

    /// Runs a client subcommand.
    pub fn run(&self, args: &[&str]) -> Output {
        self.client(args).output().unwrap()
    }

    /// Runs a client subcommand that must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kms {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// SIGKILL: no shutdown, no flush, whatever was in flight is cut.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, and the exit status. Waiting is bounded only for liveness: a server that ignores SIGTERM fails
    /// the test instead of hanging it.
    pub fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        rx.recv_timeout(LIVENESS)
            .expect("kms serve did not exit after SIGTERM")
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A mutual-TLS client identity `name` (`name.pem`, `name.key`) of the PKI in `certs`, trusting its CA.
pub fn client_tls(certs: &Path, name: &str) -> Arc<rustls::ClientConfig> {
    client_tls_from(
        certs,
        &certs.join(format!("{name}.pem")),
        &certs.join(format!("{name}.key")),
    )
}

/// A mutual-TLS client identity from `cert` and `key`, trusting the CA of the PKI in `certs`.
pub fn client_tls_from(certs: &Path, cert: &Path, key: &Path) -> Arc<rustls::ClientConfig> {
    tls::client_config_from_pem(&certs.join("ca.pem"), cert, key).unwrap()
}

/// The value of `name=` on a line of a client's output.
pub fn field<'a>(output: &'a str, name: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name}= in {output:?}"))
}
