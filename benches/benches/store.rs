//! Durable creates on RedbStore: an AES-256 key's record put and fsynced, from 1 and 64 writer threads, with group
//! commit (the default) and with one transaction (one fsync) per put, side by side.
//!
//! `cargo bench -p kms-benches --bench store` runs the criterion groups and interleaved rounds
//! (`kms_benches::run_case`), then prints the table of median times per batch of creates with the ratio group
//! commit / one transaction per put, the machine's fsync latency and the puts per group commit.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::Criterion;
use kms_benches::{RatioTable, human, run_case};
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

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let table = RatioTable::default();
    let probe = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let fsync = fsync_latency(probe.path());
    // One iteration: every writer thread puts `per_thread` new AES-256 objects, each acknowledged durably.
    let mut batching = Vec::new();
    for (order, (threads, per_thread)) in [(1usize, 16u64), (64, 2)].into_iter().enumerate() {
        let (_per_put_dir, per_put) = open_store(false);
        let (_group_dir, group) = open_store(true);
        let case = format!(
            "{} durable creates, {threads} writer thread{}",
            threads as u64 * per_thread,
            if threads == 1 { "" } else { "s" }
        );
        let before = group.commit_stats();
        run_case(
            &mut c,
            &table,
            order,
            &case,
            Some(10),
            vec![
                (
                    "one transaction per put",
                    Box::new(|| {
                        create_concurrently(&per_put, threads, per_thread);
                    }),
                ),
                (
                    "group commit",
                    Box::new(|| {
                        create_concurrently(&group, threads, per_thread);
                    }),
                ),
            ],
        );
        let after = group.commit_stats();
        let commits = (after.commits - before.commits).max(1);
        batching.push((
            threads,
            (after.operations - before.operations) as f64 / commits as f64,
        ));
    }
    c.final_summary();
    println!(
        "Durable AES-256 creates on RedbStore, each acknowledged put fsynced (fdatasync median {}); creates/s = \
         creates of the case / median time",
        human(fsync.as_secs_f64())
    );
    for (threads, per_commit) in batching {
        println!("group commit, {threads} writer threads: {per_commit:.1} puts per commit");
    }
    table.print();
}
