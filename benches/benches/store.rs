//! Durable creates on RedbStore: an AES-256 key's record put and fsynced, from 1 and 64 writer threads, with group
//! commit (the default) and with one transaction (one fsync) per put, side by side.
//!
//! `cargo bench -p kms-benches --bench store` runs the criterion groups, then prints a table of creates/s and the
//! group-commit ratio from a fixed number of creates per configuration, with the machine's fsync latency beside it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use kms_core::KeyRef;
use kms_core::object::{
    Attributes, CryptographicAlgorithm, ObjectId, ObjectMetadata, ObjectType, State, UsageMask,
};
use kms_core::store::seal::StaticRootKey;
use kms_core::store::{ObjectStore, RedbOptions, RedbStore, StoredObject};
use zeroize::Zeroizing;

/// What a Create of an AES-256 key leaves in the store: metadata and a 32-byte software KeyRef.
fn aes_256_object(n: u64) -> StoredObject {
    let mut attributes = Attributes::default();
    attributes.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
    attributes.cryptographic_length = Some(256);
    attributes.cryptographic_usage_mask = Some(UsageMask::ENCRYPT | UsageMask::DECRYPT);
    let mut data = Zeroizing::new(vec![0u8; 32]);
    data[..8].copy_from_slice(&n.to_le_bytes());
    StoredObject {
        metadata: ObjectMetadata {
            id: ObjectId::random(),
            object_type: ObjectType::SymmetricKey,
            state: State::PreActive,
            owner: "bench".into(),
            grants: vec![],
            attributes,
        },
        key: Some(KeyRef::new("software", 1, data)),
        version: 1,
    }
}

/// A fresh store on the same disk as the target directory (not a tmpfs), so that fsync costs what it costs.
fn open_store(group_commit: bool) -> (tempfile::TempDir, RedbStore) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let mut options = RedbOptions::default();
    options.group_commit = group_commit;
    let key = StaticRootKey::new(Zeroizing::new([0x5a; 32]));
    let store = RedbStore::open_with(dir.path(), &key, options).expect("open store");
    (dir, store)
}

/// Puts `per_thread` objects from each of `threads` threads at once; the time from the first put to the last
/// acknowledgement.
fn create_concurrently(store: &RedbStore, threads: usize, per_thread: u64) -> Duration {
    let objects: Vec<Vec<StoredObject>> = (0..threads)
        .map(|_| (0..per_thread).map(aes_256_object).collect())
        .collect();
    let start = Instant::now();
    std::thread::scope(|s| {
        for mine in &objects {
            s.spawn(move || {
                for o in mine {
                    store.put(o).expect("put");
                }
            });
        }
    });
    start.elapsed()
}

const CONFIGS: [(usize, bool); 4] = [(1, true), (64, true), (1, false), (64, false)];

fn label(group_commit: bool) -> &'static str {
    if group_commit {
        "group_commit"
    } else {
        "txn_per_put"
    }
}

fn bench_durable_creates(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/redb_durable_create_aes256");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    for (threads, group_commit) in CONFIGS {
        let (_dir, store) = open_store(group_commit);
        group.bench_with_input(
            BenchmarkId::new(label(group_commit), format!("{threads}_threads")),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| {
                    // Always `threads` writers; time scaled back to `iters` creates.
                    let per_thread = iters.div_ceil(threads as u64);
                    let done = per_thread * threads as u64;
                    create_concurrently(&store, threads, per_thread)
                        .mul_f64(iters as f64 / done as f64)
                });
            },
        );
    }
    group.finish();
}

/// Median latency of write + fdatasync of 4 KiB on the disk under the target directory.
fn fsync_latency(dir: &Path) -> Duration {
    let path = dir.join("fsync-probe");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .expect("probe file");
    let mut samples: Vec<Duration> = (0..30)
        .map(|_| {
            let start = Instant::now();
            file.write_all(&[0u8; 4096]).expect("write");
            file.sync_data().expect("fdatasync");
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// Fixed-size runs of each configuration, printed as one table.
fn print_table() {
    let probe = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let fsync = fsync_latency(probe.path());
    let mut rates = Vec::new();
    for (threads, group_commit) in CONFIGS {
        let (_dir, store) = open_store(group_commit);
        // About 2 s per configuration at the rates expected (~300/s without group commit).
        let total: u64 = match (threads, group_commit) {
            (1, _) => 400,
            (_, true) => 12_800,
            (_, false) => 640,
        };
        let per_thread = total / threads as u64;
        create_concurrently(&store, threads, (per_thread / 10).max(1)); // warm-up
        let before = store.commit_stats();
        let elapsed = create_concurrently(&store, threads, per_thread);
        let after = store.commit_stats();
        let commits = after.commits - before.commits;
        let per_commit = if commits == 0 {
            1.0
        } else {
            (after.operations - before.operations) as f64 / commits as f64
        };
        rates.push((
            (threads, group_commit),
            (per_thread * threads as u64) as f64 / elapsed.as_secs_f64(),
            per_commit,
        ));
    }
    let rate = |threads, group_commit| {
        rates
            .iter()
            .find(|(k, _, _)| *k == (threads, group_commit))
            .map_or((f64::NAN, f64::NAN), |(_, r, b)| (*r, *b))
    };
    println!();
    println!(
        "Durable AES-256 creates/s on RedbStore (each acknowledged put fsynced; fdatasync median {:.2} ms)",
        fsync.as_secs_f64() * 1e3
    );
    println!(
        "| writer threads | group commit | puts per commit | one transaction per put | group commit / per put |"
    );
    println!(
        "|---------------:|-------------:|----------------:|------------------------:|-----------------------:|"
    );
    for threads in [1, 64] {
        let ((g, batch), (p, _)) = (rate(threads, true), rate(threads, false));
        println!(
            "| {threads:>14} | {g:>12.0} | {batch:>15.1} | {p:>23.0} | {:>21.1}x |",
            g / p
        );
    }
    println!();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_durable_creates(&mut criterion);
    criterion.final_summary();
    // Under `cargo test --benches` criterion runs each benchmark once as a smoke test; the table is for real runs.
    if std::env::args().any(|a| a == "--bench") {
        print_table();
    }
}
