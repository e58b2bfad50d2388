//! A PostgreSQL cluster of the test's own (initdb and pg_ctl from KMS_TEST_POSTGRES_BIN, run as
//! KMS_TEST_POSTGRES_RUNAS when set), for tests that stop and restart their database: the shared server must
//! stay up for the tests running beside them. kms-core's store tests and kms's multi-server tests both include
//! this file.

use std::path::PathBuf;
use std::process::Command;

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    runas: Option<String>,
    pub port: u16,
}

impl Cluster {
    pub fn start() -> Self {
        let bin = PathBuf::from(std::env::var("KMS_TEST_POSTGRES_BIN").unwrap_or_else(|_| {
            panic!(
                "KMS_TEST_POSTGRES_BIN is not set: run ./scripts/test (the database restart tests run initdb and \
                 pg_ctl of their own)"
            )
        }));
        let runas = std::env::var("KMS_TEST_POSTGRES_RUNAS")
            .ok()
            .filter(|s| !s.is_empty());
        let dir = tempfile::tempdir().unwrap();
        if let Some(user) = &runas {
            let id = |flag: &str| -> u32 {
                let out = Command::new("id").args([flag, user]).output().unwrap();
                String::from_utf8(out.stdout)
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap()
            };
            std::os::unix::fs::chown(dir.path(), Some(id("-u")), Some(id("-g"))).unwrap();
        }
        let port = free_port();
        let cluster = Self {
            dir,
            bin,
            runas,
            port,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "kms",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_server();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// `tool` of the PostgreSQL installation, as the user that owns the cluster.
    fn command(&self, tool: &str) -> Command {
        let tool = self.bin.join(tool);
        match &self.runas {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(tool);
                c
            }
            None => Command::new(tool),
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self.command(tool).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn start_server(&self) {
        let data = self.data();
        let log = self.dir.path().join("server.log").display().to_string();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {}",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
    }

    /// Stops the server the way an operator's restart or a failover does: sessions are terminated.
    pub fn stop_server(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://kms@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
