//! `--suite`: the load in one run. A release `kms serve` process (its own data directory, the redb
//! store, so creates are durable) and a PyKMIP server, both over mutual TLS on loopback; Get, Encrypt, Sign and
//! Create with 1 and 16 connections; kms and PyKMIP rows interleaved so that load from other processes hits
//! both alike; `--runs N` repeats the matrix and reports medians.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use kms_kmip::tags::Version;
use kms_kmip::transport::client::{AsyncKmipClient, ClientOptions};
use kms_kmip::transport::tls;

use crate::requests::{self, Op};
use crate::{Measure, Outcome, load};

/// How long a started server may take to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What the suite runs; see the flags of the same names.
pub struct SuiteArgs {
    pub kms_bin: Option<PathBuf>,
    pub pykmip_python: Option<PathBuf>,
    pub no_pykmip: bool,
    pub smoke: bool,
    pub runs: usize,
    pub seconds: f64,
    pub ops: Vec<Op>,
    pub connections: Vec<usize>,
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("kmip_load-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server process, stopped (SIGTERM, by its own PID) on drop.
struct Process {
    pid: u32,
    child: Option<Child>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if let Some(mut child) = self.child.take() {
            // Bounded: a server that ignores SIGTERM is killed.
            for _ in 0..100 {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One server under load: where it listens, how to authenticate, which protocol version it is spoken to in.
struct Target {
    name: &'static str,
    addr: String,
    tls: Arc<rustls::ClientConfig>,
    version: Version,
    /// Operations it does not serve (PyKMIP signs with RSA only).
    unsupported: &'static [Op],
    _process: Process,
    _dir: Scratch,
}

fn default_kms_bin() -> PathBuf {
    // Beside this binary: `cargo build --release -p kms -p kms-benches` puts both in target/release.
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("kms")))
        .unwrap_or_else(|| PathBuf::from("kms"))
}

fn start_kms(bin: &Path) -> Result<Target, String> {
    let dir = Scratch::new("kms").map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.0.join("serve.log")).map_err(|e| e.to_string())?;
    let mut child = Command::new(bin)
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.0.join("data"))
        .args(["--kmip-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| {
            format!(
                "{}: {e} (build it: cargo build --release -p kms)",
                bin.display()
            )
        })?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let process = Process {
        pid: child.id(),
        child: Some(child),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let addr = loop {
        let line = rx
            .recv_timeout(START_TIMEOUT)
            .map_err(|_| format!("kms serve did not start; see {}", dir.0.display()))?;
        if let Some(rest) = line.strip_prefix("kms: serving KMIP on ") {
            break rest.split(' ').next().unwrap_or_default().to_owned();
        }
    };
    let certs = dir.0.join("data/certs");
    let tls = tls::client_config_from_pem(
        &certs.join("ca.pem"),
        &certs.join("admin.pem"),
        &certs.join("admin.key"),
    )
    .map_err(|e| e.to_string())?;
    Ok(Target {
        name: "kms serve",
        addr,
        tls,
        version: Version::V2_1,
        unsupported: &[],
        _process: process,
        _dir: dir,
    })
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn start_pykmip(python: &Path) -> Result<Target, String> {
    let dir = Scratch::new("pykmip").map_err(|e| e.to_string())?;
    let port = free_port()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/interop/pykmip_server.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("DIR", &dir.0)
        .env("PORT", port.to_string())
        .env("PYKMIP_SERVER", python.with_file_name("pykmip-server"))
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "PyKMIP server did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let pid = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("the PyKMIP start script printed no PID")?;
    let process = Process { pid, child: None };
    let certs = dir.0.join("certs");
    let tls = tls::client_config_from_pem(
        &certs.join("ca.crt"),
        &certs.join("client.crt"),
        &certs.join("client.key"),
    )
    .map_err(|e| e.to_string())?;
    Ok(Target {
        name: "PyKMIP 0.11",
        addr: format!("127.0.0.1:{port}"),
        tls,
        // PyKMIP serves KMIP 1.0 to 2.0; 1.4 is the newest it implements in full.
        version: Version::V1_4,
        unsupported: &[Op::Sign],
        _process: process,
        _dir: dir,
    })
}

fn pykmip_python(args: &SuiteArgs) -> Option<PathBuf> {
    args.pykmip_python
        .clone()
        .or_else(|| std::env::var_os("KMS_TEST_PYKMIP_PYTHON").map(PathBuf::from))
        .or_else(|| {
            let venv =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pykmip-venv/bin/python");
            venv.exists().then_some(venv)
        })
}

/// The 1-, 5- and 15-minute load averages.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// One cell: a target's outcome for one (operation, connections), per run.
#[derive(Default)]
struct Cell {
    runs: Vec<Outcome>,
    skipped: Option<String>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

impl Cell {
    fn throughput(&self) -> f64 {
        median(self.runs.iter().map(Outcome::throughput).collect())
    }

    fn p(&self, q: f64) -> f64 {
        median(
            self.runs
                .iter()
                .map(|o| o.percentile(q).as_secs_f64())
                .collect(),
        )
    }

    fn failures(&self) -> usize {
        self.runs.iter().map(|o| o.failures).sum()
    }

    fn requests(&self) -> usize {
        self.runs.iter().map(|o| o.latencies.len()).sum()
    }
}

async fn run_cell(
    target: &Target,
    op: Op,
    connections: usize,
    args: &SuiteArgs,
) -> Result<Outcome, String> {
    let mut setup = AsyncKmipClient::connect(
        &target.addr,
        Arc::clone(&target.tls),
        ClientOptions::default(),
    )
    .await
    .map_err(|e| format!("{}: {e}", target.name))?;
    let request = requests::prepare(op, &mut setup, target.version)
        .await
        .map_err(|e| format!("{} {}: {e}", target.name, op.name()))?;
    let _ = setup.close().await;
    let (warmup, measure) = if args.smoke {
        (1, Measure::Requests(3))
    } else {
        (
            // PyKMIP answers ~200 requests/s in all: a short warm-up is enough for it.
            if target.unsupported.is_empty() { 50 } else { 3 },
            Measure::For(Duration::from_secs_f64(args.seconds)),
        )
    };
    load(
        &target.addr,
        &target.tls,
        Arc::from(request),
        true,
        connections,
        warmup,
        measure,
    )
    .await
    .map_err(|e| format!("{} {}: {e}", target.name, op.name()))
}

/// Runs the suite and prints its table.
///
/// # Errors
///
/// When a server cannot be started, a set-up request fails, or (with `smoke`) any request did not succeed.
pub async fn run(args: SuiteArgs) -> Result<(), String> {
    let kms_bin = args.kms_bin.clone().unwrap_or_else(default_kms_bin);
    let mut targets = vec![start_kms(&kms_bin)?];
    if !args.no_pykmip {
        let python = pykmip_python(&args).ok_or(
            "no PyKMIP: pass --pykmip-python, set KMS_TEST_PYKMIP_PYTHON (./scripts/test does) or --no-pykmip",
        )?;
        targets.push(start_pykmip(&python)?);
    }
    let load_start = loadavg();
    let mut cells: Vec<Vec<Cell>> = Vec::new();
    let rows: Vec<(Op, usize)> = args
        .ops
        .iter()
        .flat_map(|&op| args.connections.iter().map(move |&c| (op, c)))
        .collect();
    for _ in &rows {
        cells.push(targets.iter().map(|_| Cell::default()).collect());
    }
    let mut loads = Vec::new();
    for run in 0..args.runs.max(1) {
        for (r, &(op, connections)) in rows.iter().enumerate() {
            for (t, target) in targets.iter().enumerate() {
                let cell = &mut cells[r][t];
                if target.unsupported.contains(&op) {
                    cell.skipped = Some("not served".into());
                    continue;
                }
                let outcome = run_cell(target, op, connections, &args).await?;
                eprintln!(
                    "run {}: {:<11} {:<8} {:>2} conn: {:>9.0} ops/s p50 {} p99 {} ({} failures)",
                    run + 1,
                    target.name,
                    op.name(),
                    connections,
                    outcome.throughput(),
                    kms_benches::human(outcome.percentile(0.50).as_secs_f64()),
                    kms_benches::human(outcome.percentile(0.99).as_secs_f64()),
                    outcome.failures
                );
                cell.runs.push(outcome);
            }
        }
        loads.push(loadavg());
    }

    print_table(&targets, &rows, &cells, &args, &load_start, &loads);
    let failures: usize = cells.iter().flatten().map(Cell::failures).sum();
    if failures > 0 {
        return Err(format!("{failures} requests did not succeed"));
    }
    Ok(())
}

fn print_table(
    targets: &[Target],
    rows: &[(Op, usize)],
    cells: &[Vec<Cell>],
    args: &SuiteArgs,
    load_start: &str,
    loads: &[String],
) {
    let mut header = String::from("| operation | conns |");
    let mut rule = String::from("|---|---:|");
    for t in targets {
        header.push_str(&format!(
            " {} (KMIP {}) ops/s | p50 | p99 |",
            t.name, t.version
        ));
        rule.push_str("---:|---:|---:|");
    }
    if targets.len() > 1 {
        header.push_str(" kms / PyKMIP |");
        rule.push_str("---:|");
    }
    println!("\n{header}\n{rule}");
    for (r, &(op, connections)) in rows.iter().enumerate() {
        let mut line = format!("| {} | {connections} |", op.label());
        for cell in &cells[r] {
            match (&cell.skipped, cell.runs.is_empty()) {
                (Some(why), _) => line.push_str(&format!(" {why} | | |")),
                (None, true) => line.push_str(" - | | |"),
                (None, false) => line.push_str(&format!(
                    " {:.0} | {} | {} |",
                    cell.throughput(),
                    kms_benches::human(cell.p(0.50)),
                    kms_benches::human(cell.p(0.99))
                )),
            }
        }
        if let [ours, peer, ..] = cells[r].as_slice() {
            if ours.runs.is_empty() || peer.runs.is_empty() {
                line.push_str(" n/a |");
            } else {
                line.push_str(&format!(" {:.0}x |", ours.throughput() / peer.throughput()));
            }
        }
        println!("{line}");
    }
    let requests: usize = cells.iter().flatten().map(Cell::requests).sum();
    let failures: usize = cells.iter().flatten().map(Cell::failures).sum();
    println!(
        "\n{} run(s), medians over runs; {}; {requests} requests, {failures} failures; \
         load average (1/5/15 min) before: {load_start}, after each run: {}",
        args.runs.max(1),
        if args.smoke {
            "smoke: 3 requests per connection".to_owned()
        } else {
            format!("{} s per cell", args.seconds)
        },
        loads.join(" | ")
    );
}
