//! Test support: the shared swtpm that scripts/test starts, and private swtpm processes for tests that restart a
//! TPM or need a second one.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kms_core::backend::{GeneratedKey, KeyBackend, KeyPolicy, KeyRef, KeySpec};
use kms_core::object::{ObjectId, UsageMask};
use kms_tpm::{Tpm, TpmBackend};

/// A non-extractable key pair generated in `b`.
pub fn pair(b: &TpmBackend, spec: KeySpec, usage: UsageMask) -> (KeyRef, KeyRef) {
    let id = ObjectId::random();
    let policy = KeyPolicy {
        id: &id,
        usage,
        extractable: false,
    };
    match b.generate(&spec, &policy).unwrap() {
        GeneratedKey::KeyPair { private, public } => (private, public),
        GeneratedKey::Symmetric(_) => panic!("a pair was asked for"),
    }
}

/// The connection string of the swtpm scripts/test started.
pub fn tcti() -> String {
    std::env::var("KMS_TEST_TPM_TCTI").unwrap_or_else(|_| {
        panic!(
            "KMS_TEST_TPM_TCTI is not set: run ./scripts/test, which starts swtpm and sets it \
             (or export KMS_TEST_TPM_TCTI=swtpm:host=127.0.0.1,port=N for a running swtpm)"
        )
    })
}

/// This process's connection to the shared swtpm (swtpm serves one connection at a time, so every test of a
/// process goes through the same one).
pub fn shared() -> Arc<Tpm> {
    Tpm::shared(&tcti()).expect("connect to the swtpm of KMS_TEST_TPM_TCTI")
}

/// A private swtpm process on a free port pair, with its state in `state`; killed on drop.
pub struct Swtpm {
    child: Child,
    pub port: u16,
    pub state: PathBuf,
}

fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = l.local_addr().expect("local addr").port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port pair");
}

impl Swtpm {
    /// Starts `swtpm socket --tpm2` (from PATH) on `state`.
    pub fn start(state: &Path) -> Self {
        std::fs::create_dir_all(state).expect("state dir");
        let port = free_port_pair();
        let child = Command::new("swtpm")
            .args(["socket", "--tpm2", "--tpmstate"])
            .arg(format!("dir={}", state.display()))
            .arg("--server")
            .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
            .arg("--ctrl")
            .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
            .args(["--flags", "not-need-init,startup-clear"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("swtpm on PATH (scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "swtpm did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            state: state.to_path_buf(),
        }
    }

    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    pub fn connect(&self) -> Tpm {
        Tpm::connect(&self.tcti()).expect("connect to the private swtpm")
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
