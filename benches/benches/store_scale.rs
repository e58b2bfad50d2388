//! RedbStore against PostgresStore at scale: durable creates/s and Locate latency with 10^5 and 10^6 objects, with
//! one PostgreSQL node and with two nodes (two stores, each with its own pool, on one database), in one run.
//!
//! `cargo bench -p kms-benches --bench store_scale` needs a PostgreSQL server: KMS_BENCH_POSTGRES_URL, else
//! KMS_TEST_POSTGRES_URL (scripts/setup/postgres.sh starts a throwaway one; sourcing it in a shell as scripts/test
//! does gives the variable). Each run works in a fresh schema and drops it at the end. KMS_BENCH_STORE_SIZES
//! (default `100000,1000000`) chooses the sizes; the stores grow from one size to the next.
//!
//! Creates are timed as fixed-size runs of 64 writer threads (two nodes: 32 on each), printed as a table; Locate
//! latency runs as criterion groups through `run_case`, side by side, then printed as a ratio table.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::Criterion;
use kms_benches::{RatioTable, run_case};
use kms_core::KeyRef;
use kms_core::object::{
    Attributes, CryptographicAlgorithm, Grant, Name, ObjectId, ObjectMetadata, ObjectType, Rights,
    State, UsageMask,
};
use kms_core::store::seal::StaticRootKey;
use kms_core::store::{
    LocateQuery, ObjectStore, PostgresOptions, PostgresStore, RedbOptions, RedbStore, StoredObject,
};
use zeroize::Zeroizing;

const OWNERS: u64 = 50;
const GROUPS: u64 = 100;
const WRITERS: usize = 64;

/// Object `n` of the population: unique name, one of 100 groups and 50 owners, a mix of states and algorithms,
/// and a grant to the next owner, so that every Locate filter has something to select.
fn object(n: u64) -> StoredObject {
    let mut a = Attributes::default();
    a.cryptographic_algorithm = Some(if n.is_multiple_of(4) {
        CryptographicAlgorithm::HmacSha256
    } else {
        CryptographicAlgorithm::Aes
    });
    a.cryptographic_length = Some(256);
    a.cryptographic_usage_mask = Some(UsageMask::ENCRYPT | UsageMask::DECRYPT);
    a.names = vec![Name::text(format!("key-{n}"))];
    a.object_groups = vec![format!("group-{}", n % GROUPS)];
    let mut data = Zeroizing::new(vec![0u8; 32]);
    data[..8].copy_from_slice(&n.to_le_bytes());
    StoredObject {
        metadata: ObjectMetadata {
            id: ObjectId::random(),
            object_type: ObjectType::SymmetricKey,
            state: if n.is_multiple_of(3) {
                State::PreActive
            } else {
                State::Active
            },
            owner: format!("user{}", n % OWNERS),
            grants: vec![Grant {
                principal: format!("user{}", (n + 1) % OWNERS),
                rights: Rights::READ,
            }],
            attributes: a,
        },
        key: Some(KeyRef::new("software", 1, data)),
        version: 1,
    }
}

/// Puts objects `next..next+count` from `WRITERS` threads spread over `stores`; creates per second.
fn create(stores: &[&dyn ObjectStore], next: &AtomicU64, count: u64) -> f64 {
    if count == 0 {
        return f64::NAN;
    }
    let end = next.load(Ordering::Relaxed) + count;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..WRITERS {
            let store = stores[t % stores.len()];
            s.spawn(move || {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= end {
                        break;
                    }
                    store.put(&object(n)).expect("put");
                }
            });
        }
    });
    // The counter overshoots by one per thread; keep it at the end of the range.
    next.store(end, Ordering::Relaxed);
    count as f64 / start.elapsed().as_secs_f64()
}

fn postgres_url() -> Option<String> {
    std::env::var("KMS_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("KMS_TEST_POSTGRES_URL"))
        .ok()
}

fn sizes() -> Vec<u64> {
    std::env::var("KMS_BENCH_STORE_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn key() -> StaticRootKey {
    StaticRootKey::new(Zeroizing::new([0x5a; 32]))
}

fn open_redb(dir: &Path) -> RedbStore {
    RedbStore::open_with(dir, &key(), RedbOptions::default()).expect("open redb")
}

fn open_postgres(url: &str, schema: &str) -> PostgresStore {
    let mut options = PostgresOptions::default();
    options.schema = Some(schema.to_owned());
    options.pool_size = 32;
    options.operation_timeout = Duration::from_secs(120);
    PostgresStore::connect(url, &key(), options).expect("connect to PostgreSQL")
}

/// The Locate cases: a name (one hit, by index), a group's first page, an owner's active keys (access filter
/// and state), and a page deep into everything (Offset Items half the store).
fn queries(size: u64) -> Vec<(&'static str, LocateQuery)> {
    vec![
        (
            "name (1 hit)",
            LocateQuery {
                name: Some(format!("key-{}", size / 2)),
                ..LocateQuery::default()
            },
        ),
        (
            "group, first 10",
            LocateQuery {
                object_group: Some("group-7".into()),
                max_items: Some(10),
                ..LocateQuery::default()
            },
        ),
        (
            "visible to an owner + Active + HMAC, first 100",
            LocateQuery {
                visible_to: Some("user3".into()),
                state: Some(State::Active),
                algorithm: Some(CryptographicAlgorithm::HmacSha256),
                max_items: Some(100),
                ..LocateQuery::default()
            },
        ),
        (
            "offset size/2, 10 items",
            LocateQuery {
                offset: usize::try_from(size / 2).unwrap_or(usize::MAX),
                max_items: Some(10),
                ..LocateQuery::default()
            },
        ),
    ]
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let smoke = !std::env::args().any(|a| a == "--bench");
    let Some(url) = postgres_url() else {
        println!(
            "store_scale: no PostgreSQL (set KMS_BENCH_POSTGRES_URL, or source scripts/setup/postgres.sh as \
             scripts/test does); nothing to compare"
        );
        return;
    };
    // Under `cargo test --benches` (a smoke run) the sizes are tiny.
    let sizes = if smoke { vec![200] } else { sizes() };
    let schema = format!("kms_bench_{}", std::process::id());
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let redb = open_redb(dir.path());
    let node_a = open_postgres(&url, &schema);
    let node_b = open_postgres(&url, &schema);
    let table = RatioTable::default();
    let mut creates = Vec::new();
    let (redb_next, pg_next) = (AtomicU64::new(0), AtomicU64::new(0));
    for (order, &size) in sizes.iter().enumerate() {
        // Grow both stores to `size` (the growth's average rate is a figure too), then time fixed runs at that
        // size: PostgreSQL with one node, then two; RedbStore as many creates, so both stores stay the same size.
        let grow_redb = create(
            &[&redb],
            &redb_next,
            size.saturating_sub(redb_next.load(Ordering::Relaxed)),
        );
        let grow_pg = create(
            &[&node_a],
            &pg_next,
            size.saturating_sub(pg_next.load(Ordering::Relaxed)),
        );
        let run = if smoke { 64 } else { 10_000 };
        let at_redb = create(&[&redb], &redb_next, 2 * run);
        let at_pg1 = create(&[&node_a], &pg_next, run);
        let at_pg2 = create(&[&node_a, &node_b], &pg_next, run);
        let stats = node_a.put_stats();
        let objects = redb_next.load(Ordering::Relaxed);
        assert_eq!(objects, pg_next.load(Ordering::Relaxed));
        creates.push((objects, grow_redb, grow_pg, at_redb, at_pg1, at_pg2, stats));
        // As it goes too, so that a long run that is cut short still tells something.
        println!(
            "store_scale @{objects}: creates/s growing redb {grow_redb:.0} postgres {grow_pg:.0}; at size redb \
             {at_redb:.0}, postgres 1 node {at_pg1:.0}, 2 nodes {at_pg2:.0}"
        );

        for (i, (what, query)) in queries(size).into_iter().enumerate() {
            // Both stores hold the same objects, so the same answers, or the comparison means nothing.
            let expected = redb.locate(&query).expect("locate");
            assert_eq!(node_a.locate(&query).expect("locate").len(), expected.len());
            let busy = AtomicBool::new(true);
            let load = AtomicBool::new(false);
            std::thread::scope(|s| {
                // "two nodes": node B runs the same query in a loop meanwhile.
                let (busy_ref, node_b, q) = (&busy, &node_b, &query);
                let load_ref = &load;
                s.spawn(move || {
                    while busy_ref.load(Ordering::Acquire) {
                        if load_ref.load(Ordering::Acquire) {
                            node_b.locate(q).expect("locate");
                        } else {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                });
                run_case(
                    &mut criterion,
                    &table,
                    order * 10 + i,
                    &format!("locate {what} @{objects}"),
                    Some(10),
                    vec![
                        (
                            "RedbStore",
                            Box::new(|| {
                                redb.locate(&query).expect("locate");
                            }),
                        ),
                        (
                            "PostgresStore, 1 node",
                            Box::new(|| {
                                load.store(false, Ordering::Release);
                                node_a.locate(&query).expect("locate");
                            }),
                        ),
                        (
                            "PostgresStore, 2nd node querying too",
                            Box::new(|| {
                                load.store(true, Ordering::Release);
                                node_a.locate(&query).expect("locate");
                            }),
                        ),
                    ],
                );
                busy.store(false, Ordering::Release);
            });
        }
    }
    criterion.final_summary();
    if !smoke {
        println!();
        println!(
            "Durable AES-256 creates/s, {WRITERS} writer threads (two nodes: {} on each), every put committed before \
             it returns",
            WRITERS / 2
        );
        println!(
            "| objects | RedbStore growing | Postgres growing | RedbStore at size | Postgres 1 node | Postgres 2 nodes | 2 nodes / 1 | Redb / Postgres 1 |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (size, gr, gp, r, p1, p2, _) in &creates {
            println!(
                "| {size} | {gr:.0} | {gp:.0} | {r:.0} | {p1:.0} | {p2:.0} | {:.2}x | {:.2}x |",
                p2 / p1,
                r / p1
            );
        }
        if let Some((.., stats)) = creates.last() {
            println!(
                "(node A: {} puts in {} insert transactions, {:.1} per transaction)",
                stats.puts,
                stats.transactions,
                stats.puts as f64 / stats.transactions.max(1) as f64
            );
        }
        table.print();
    }
    drop(node_a);
    drop(node_b);
    drop_schema(&url, &schema);
}

/// Leaves nothing behind on the server: the schema of this run goes.
fn drop_schema(url: &str, schema: &str) {
    let _ = std::process::Command::new("psql")
        .arg(url)
        .args(["-qAtc", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")])
        .status();
}
