//! PostgresStore: the one store contract suite, unchanged; then what only a shared database has to get right
//! (several nodes at once, migrations, the root key check, sealing in the database, bad input).
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod postgres_common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use kms_core::object::{AttributeValue, Name, ObjectId, State};
use kms_core::store::contract::aes_key;
use kms_core::store::{
    LocateQuery, ObjectStore, POSTGRES_SCHEMA_VERSION, PostgresError, PostgresOptions,
    PostgresStore, StoreError,
};
use postgres_common::{TempSchema, options_in, root_key, url};

mod contract {
    use super::postgres_common::TempSchema;

    kms_core::store_contract_tests!(TempSchema::new(), |f| &f.store);
}

fn postgres_error(e: StoreError) -> PostgresError {
    match e {
        StoreError::Storage(source) => {
            *source.downcast::<PostgresError>().expect("a PostgresError")
        }
        other => panic!("expected a storage error, got {other:?}"),
    }
}

/// Two nodes (two stores, two pools) read each other's writes at once: no cache, no delay.
#[test]
fn two_nodes_see_each_others_writes() {
    let f = TempSchema::new();
    let other = f.another_node();
    let mut o = aes_key("alice");
    f.store.put(&o).unwrap();
    assert_eq!(other.get(&o.metadata.id).unwrap(), o);
    o.metadata.state = State::Deactivated;
    other.update(&mut o).unwrap();
    assert_eq!(f.store.get(&o.metadata.id).unwrap(), o);
    f.store.delete(&o.metadata.id, o.version).unwrap();
    assert!(matches!(
        other.get(&o.metadata.id),
        Err(StoreError::NotFound)
    ));
}

/// Threads on two nodes incrementing one counter attribute with read-modify-write and retries: every increment
/// lands (a lost update is impossible), and every failed attempt was a version conflict.
#[test]
fn concurrent_read_modify_write_on_two_nodes_loses_no_update() {
    const THREADS: usize = 8;
    const EACH: i64 = 25;
    let f = TempSchema::new();
    let other = f.another_node();
    let mut o = aes_key("alice");
    o.metadata
        .attributes
        .custom
        .insert("x-counter".into(), AttributeValue::LongInteger(0));
    f.store.put(&o).unwrap();
    let conflicts = Mutex::new(0u64);
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let store: &dyn ObjectStore = if t % 2 == 0 { &f.store } else { &other };
            let (id, conflicts, barrier) = (&o.metadata.id, &conflicts, &barrier);
            s.spawn(move || {
                barrier.wait();
                for _ in 0..EACH {
                    loop {
                        let mut current = store.get(id).unwrap();
                        let Some(AttributeValue::LongInteger(n)) =
                            current.metadata.attributes.custom.get("x-counter").cloned()
                        else {
                            panic!("counter missing")
                        };
                        current
                            .metadata
                            .attributes
                            .custom
                            .insert("x-counter".into(), AttributeValue::LongInteger(n + 1));
                        match store.update(&mut current) {
                            Ok(()) => break,
                            Err(StoreError::VersionConflict { .. }) => {
                                *conflicts.lock().unwrap() += 1;
                            }
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                }
            });
        }
    });
    let last = f.store.get(&o.metadata.id).unwrap();
    let total = THREADS as i64 * EACH;
    assert_eq!(
        last.metadata.attributes.custom.get("x-counter"),
        Some(&AttributeValue::LongInteger(total))
    );
    assert_eq!(last.version, 1 + total as u64);
    // Eight writers on one object do collide; the count is reported, not asserted on (it depends on timing).
    println!(
        "{} conflicts for {total} increments",
        conflicts.into_inner().unwrap()
    );
}

/// Locate paging from one node while threads on both nodes insert: every object there before paging began comes
/// back once, in order, and nothing comes back twice, because insertion order is commit order across nodes.
#[test]
fn locate_paging_is_stable_under_inserts_from_two_nodes() {
    let f = TempSchema::new();
    let other = f.another_node();
    let group = "paging".to_owned();
    let make = || {
        let mut o = aes_key("alice");
        o.metadata.attributes.object_groups = vec![group.clone()];
        o
    };
    let before: Vec<ObjectId> = (0..60)
        .map(|_| {
            let o = make();
            f.store.put(&o).unwrap();
            o.metadata.id
        })
        .collect();
    let done = AtomicBool::new(false);
    let inserted = Mutex::new(HashSet::new());
    let mut seen = Vec::new();
    std::thread::scope(|s| {
        let inserters: Vec<_> = (0..4)
            .map(|t| {
                let store: &dyn ObjectStore = if t % 2 == 0 { &f.store } else { &other };
                let (inserted, make) = (&inserted, &make);
                s.spawn(move || {
                    for _ in 0..30 {
                        let o = make();
                        store.put(&o).unwrap();
                        inserted.lock().unwrap().insert(o.metadata.id);
                    }
                })
            })
            .collect();
        s.spawn(|| {
            for h in inserters {
                h.join().unwrap();
            }
            done.store(true, Ordering::Release);
        });
        let mut offset = 0;
        for _ in 0..100_000 {
            let finished = done.load(Ordering::Acquire);
            let page = other
                .locate(&LocateQuery {
                    object_group: Some(group.clone()),
                    offset,
                    max_items: Some(4),
                    ..LocateQuery::default()
                })
                .unwrap();
            offset += page.len();
            let short = page.len() < 4;
            seen.extend(page);
            if short && finished {
                break;
            }
        }
    });
    let unique: HashSet<&ObjectId> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an object was returned twice");
    assert_eq!(seen[..before.len()], before[..]);
    let inserted = inserted.into_inner().unwrap();
    let after: HashSet<ObjectId> = seen[before.len()..].iter().cloned().collect();
    assert_eq!(after, inserted, "every inserted object seen once");
    // And the pages, put together, are exactly the final order.
    let all = f
        .store
        .locate(&LocateQuery {
            object_group: Some(group.clone()),
            ..LocateQuery::default()
        })
        .unwrap();
    assert_eq!(seen, all);
}

/// The lifecycle is checked inside the update: no writer moves an object back, even with the right version.
#[test]
fn update_that_moves_the_lifecycle_back_is_refused_and_writes_nothing() {
    let f = TempSchema::new();
    let mut o = aes_key("alice");
    o.metadata.state = State::Destroyed;
    o.key = None;
    f.store.put(&o).unwrap();
    for back in [State::Active, State::PreActive, State::Deactivated] {
        let mut resurrect = f.store.get(&o.metadata.id).unwrap();
        resurrect.metadata.state = back;
        assert!(
            matches!(
                f.store.update(&mut resurrect),
                Err(StoreError::InvalidRequest(_))
            ),
            "{back:?}"
        );
        assert_eq!(resurrect.version, 1);
    }
    assert_eq!(f.store.get(&o.metadata.id).unwrap(), o);
    // Forward is fine: Destroyed to Destroyed Compromised.
    let mut forward = o.clone();
    forward.metadata.state = State::DestroyedCompromised;
    f.store.update(&mut forward).unwrap();
    // Several transitions in one write (a deactivation date that passed, then Destroy): Active to Destroyed.
    let mut a = aes_key("alice");
    f.store.put(&a).unwrap();
    a.metadata.state = State::Destroyed;
    a.key = None;
    f.store.update(&mut a).unwrap();
}

/// A node with another root key refuses to start, naming the cause, instead of failing every read later.
#[test]
fn node_with_another_root_key_is_refused_at_connect() {
    let f = TempSchema::new();
    let e = PostgresStore::connect(&f.url, &root_key(0x43), options_in(&f.schema)).unwrap_err();
    assert!(matches!(postgres_error(e), PostgresError::WrongRootKey));
    // The right key still opens it.
    f.another_node();
}

/// Nodes starting together on an empty schema migrate it once; a schema from a newer build is refused.
#[test]
fn concurrent_first_starts_migrate_once_and_newer_schemas_are_refused() {
    let url = url();
    let schema = postgres_common::fresh_schema_name();
    let barrier = Barrier::new(4);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (url, schema, barrier) = (&url, &schema, &barrier);
            s.spawn(move || {
                barrier.wait();
                let store =
                    PostgresStore::connect(url, &root_key(0x42), options_in(schema)).unwrap();
                assert_eq!(store.schema_version(), POSTGRES_SCHEMA_VERSION);
            });
        }
    });
    let versions = postgres_common::query_at(
        &url,
        &format!("SELECT version FROM {schema}.kms_schema_version ORDER BY version"),
        &[],
    );
    let versions: Vec<i32> = versions.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, (1..=POSTGRES_SCHEMA_VERSION).collect::<Vec<_>>());
    postgres_common::execute_at(
        &url,
        &format!("INSERT INTO {schema}.kms_schema_version (version) VALUES (999)"),
    );
    let e = PostgresStore::connect(&url, &root_key(0x42), options_in(&schema)).unwrap_err();
    assert!(matches!(
        postgres_error(e),
        PostgresError::NewerSchema { found: 999, .. }
    ));
    postgres_common::execute_at(&url, &format!("DROP SCHEMA {schema} CASCADE"));
}

/// The database holds sealed records only: no key bytes anywhere in the table, and a tampered or moved record is
/// an integrity failure, never garbage.
#[test]
fn database_holds_no_key_bytes_and_tampering_is_detected() {
    let f = TempSchema::new();
    let objects: Vec<_> = (0..5).map(|_| aes_key("alice")).collect();
    for o in &objects {
        f.store.put(o).unwrap();
    }
    let dump: Vec<u8> = f
        .query("SELECT t::text FROM kms_objects t", &[])
        .iter()
        .flat_map(|r| r.get::<_, String>(0).into_bytes())
        .collect();
    let raw: Vec<u8> = f
        .query("SELECT sealed_record FROM kms_objects", &[])
        .iter()
        .flat_map(|r| r.get::<_, Vec<u8>>(0))
        .collect();
    for o in &objects {
        let key = o.key.as_ref().unwrap().encode();
        let secret = &key[key.len() - 32..];
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!raw.windows(16).any(|w| w == &secret[..16]));
        assert!(!dump.windows(hex.len()).any(|w| w == hex.as_bytes()));
    }
    let victim = &objects[0].metadata.id;
    let record = f.store.raw_record(victim).unwrap();
    for i in [0, 5, 20, record.len() / 2, record.len() - 1] {
        let mut t = record.clone();
        t[i] ^= 0x01;
        f.store.write_raw_record(victim, &t).unwrap();
        assert!(
            matches!(f.store.get(victim), Err(StoreError::Integrity)),
            "byte {i}"
        );
    }
    // Another object's record under this id.
    let moved = f.store.raw_record(&objects[1].metadata.id).unwrap();
    f.store.write_raw_record(victim, &moved).unwrap();
    assert!(matches!(f.store.get(victim), Err(StoreError::Integrity)));
}

/// What KMIP clients can send lands and comes back exactly: NUL and non-ASCII in ids, owners, names and groups
/// (PostgreSQL text cannot hold NUL; the columns are bytea), and extreme paging values.
#[test]
fn awkward_text_round_trips_and_is_located() {
    let f = TempSchema::new();
    let mut o = aes_key("ow\0ner ü");
    o.metadata.id = ObjectId::try_from("id\0with nul 🔑").unwrap();
    o.metadata.attributes.names = vec![Name::text("na\0me"), Name::text("'; DROP TABLE x; --")];
    o.metadata.attributes.object_groups = vec!["gr\0oup".into()];
    f.store.put(&o).unwrap();
    assert_eq!(f.store.get(&o.metadata.id).unwrap(), o);
    for query in [
        LocateQuery {
            name: Some("na\0me".into()),
            ..LocateQuery::default()
        },
        LocateQuery {
            name: Some("'; DROP TABLE x; --".into()),
            ..LocateQuery::default()
        },
        LocateQuery {
            object_group: Some("gr\0oup".into()),
            visible_to: Some("ow\0ner ü".into()),
            ..LocateQuery::default()
        },
    ] {
        assert_eq!(f.store.locate(&query).unwrap(), vec![o.metadata.id.clone()]);
    }
    assert!(
        f.store
            .locate(&LocateQuery {
                name: Some("na".into()),
                ..LocateQuery::default()
            })
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .locate(&LocateQuery {
                offset: usize::MAX,
                max_items: Some(usize::MAX),
                ..LocateQuery::default()
            })
            .unwrap()
            .is_empty()
    );
    // Versions beyond what the column holds are refused before any write.
    let mut huge = o.clone();
    huge.version = u64::MAX;
    assert!(matches!(
        f.store.update(&mut huge),
        Err(StoreError::InvalidRequest(_))
    ));
    assert!(matches!(
        f.store.delete(&o.metadata.id, u64::MAX),
        Err(StoreError::InvalidRequest(_))
    ));
    assert_eq!(f.store.get(&o.metadata.id).unwrap(), o);
}

/// Bad options and URLs are refused with what is wrong; an unreachable database is a retryable error, quickly.
#[test]
fn bad_configuration_is_refused_and_unreachable_is_retryable() {
    let key = root_key(1);
    for schema in ["Public", "x; DROP SCHEMA public", "", "a-b"] {
        let e = PostgresStore::connect(&url(), &key, options_in(schema)).unwrap_err();
        assert!(
            matches!(postgres_error(e), PostgresError::Option(_)),
            "{schema}"
        );
    }
    let mut o = PostgresOptions::default();
    o.pool_size = 0;
    assert!(matches!(
        postgres_error(PostgresStore::connect(&url(), &key, o).unwrap_err()),
        PostgresError::Option(_)
    ));
    for bad in [
        "postgres://kms@127.0.0.1:notaport/x",
        "host=",
        "postgres://[::1",
    ] {
        let e = PostgresStore::connect(bad, &key, PostgresOptions::default()).unwrap_err();
        assert!(matches!(postgres_error(e), PostgresError::Url(_)), "{bad}");
    }
    // Nothing listens on a port just freed.
    let port = postgres_common::cluster::free_port();
    let mut o = PostgresOptions::default();
    o.connect_timeout = Duration::from_secs(2);
    o.operation_timeout = Duration::from_secs(5);
    let e =
        PostgresStore::connect(&format!("postgres://kms@127.0.0.1:{port}/x"), &key, o).unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(matches!(e, StoreError::Unavailable(_)));
}

/// The store is synchronous, and callers may be inside an async runtime (a mistake, but not a panic): the store
/// never nests runtimes, it hands the work to its own.
#[test]
fn calls_from_inside_an_async_runtime_do_not_panic() {
    let f = TempSchema::new();
    let o = aes_key("alice");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        f.store.put(&o).unwrap();
        assert_eq!(f.store.get(&o.metadata.id).unwrap(), o);
    });
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = std::sync::Arc::new(f.another_node());
    let id = o.metadata.id.clone();
    let got = multi.block_on(async move {
        let s = std::sync::Arc::clone(&store);
        let on_worker = tokio::spawn(async move { s.get(&id) }).await.unwrap();
        let s = std::sync::Arc::clone(&store);
        let located = tokio::task::spawn_blocking(move || s.locate(&LocateQuery::default()))
            .await
            .unwrap();
        (on_worker, located)
    });
    assert_eq!(got.0.unwrap(), o);
    assert_eq!(got.1.unwrap(), vec![o.metadata.id.clone()]);
}

/// Acknowledged writes are in the database, not in the store: a new store (a restarted node) reads them all.
#[test]
fn everything_acknowledged_survives_a_new_connection() {
    let f = TempSchema::new();
    let mut written = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..25)
                        .map(|i| {
                            let mut o = aes_key("alice");
                            f.store.put(&o).unwrap();
                            if i % 3 == 0 {
                                o.metadata.attributes.comment = Some("changed".into());
                                f.store.update(&mut o).unwrap();
                            }
                            o
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            written.extend(h.join().unwrap());
        }
    });
    let stats = f.store.put_stats();
    assert_eq!(stats.puts, 200);
    println!(
        "200 concurrent puts in {} insert transactions",
        stats.transactions
    );
    let reopened = f.another_node();
    for o in &written {
        assert_eq!(&reopened.get(&o.metadata.id).unwrap(), o);
    }
    assert_eq!(reopened.locate(&LocateQuery::default()).unwrap().len(), 200);
}

/// The CA of the shared server's TLS certificate (scripts/test makes one for its throwaway cluster).
fn postgres_ca() -> std::path::PathBuf {
    std::env::var("KMS_TEST_POSTGRES_CA")
        .unwrap_or_else(|_| {
            panic!(
                "KMS_TEST_POSTGRES_CA is not set: run ./scripts/test (or set it to the CA of the TLS certificate \
                 of the server at KMS_TEST_POSTGRES_URL)"
            )
        })
        .into()
}

fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// TLS to the database: with the server's CA the store connects over TLS (the server says so); with another CA
/// the handshake fails; `sslmode=require` without a CA is refused rather than sent in the clear.
#[test]
fn tls_to_the_database_is_used_and_verified() {
    let ca = postgres_ca();
    let schema = postgres_common::fresh_schema_name();
    let app = format!("kms-tls-{}", uuid::Uuid::new_v4().simple());
    let url = with_param(&url(), &format!("application_name={app}"));
    let mut options = options_in(&schema);
    options.tls_ca_file = Some(ca.clone());
    let store = PostgresStore::connect(&url, &root_key(0x42), options).unwrap();
    let o = aes_key("alice");
    store.put(&o).unwrap();
    assert_eq!(store.get(&o.metadata.id).unwrap(), o);
    let rows = postgres_common::query_at(
        &url,
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.application_name = $1 AND a.pid <> pg_backend_pid()",
        &[&app],
    );
    assert!(!rows.is_empty(), "the store's connections are listed");
    assert!(rows.iter().all(|r| r.get::<_, bool>(0)), "every one is TLS");
    drop(store);

    // A CA that did not issue the server's certificate: refused.
    let dir = tempfile::tempdir().unwrap();
    let other_ca = dir.path().join("other.pem");
    std::fs::write(&other_ca, OTHER_CA_PEM).unwrap();
    let mut options = options_in(&schema);
    options.tls_ca_file = Some(other_ca);
    options.connect_timeout = Duration::from_secs(3);
    options.operation_timeout = Duration::from_secs(5);
    let e = PostgresStore::connect(&url, &root_key(0x42), options).unwrap_err();
    // Configuration, not an outage: retrying cannot help.
    assert!(!e.is_retryable(), "{e:?}");
    assert!(
        e.to_string().contains("certificate") || format!("{e:?}").contains("certificate"),
        "{e:?}"
    );

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, b"not a certificate").unwrap();
    let mut options = options_in(&schema);
    options.tls_ca_file = Some(garbage);
    let e = PostgresStore::connect(&url, &root_key(0x42), options).unwrap_err();
    assert!(matches!(postgres_error(e), PostgresError::TlsCa { .. }));

    let e = PostgresStore::connect(
        &with_param(&url, "sslmode=require"),
        &root_key(0x42),
        options_in(&schema),
    )
    .unwrap_err();
    assert!(matches!(postgres_error(e), PostgresError::Option(_)));
    postgres_common::execute_at(&url, &format!("DROP SCHEMA {schema} CASCADE"));
}

/// A self-signed P-256 CA that issued nothing the test server presents (CN=kms-test-other-ca).
const OTHER_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBjjCCATWgAwIBAgIUazHyRFAXxibyuXLAfBpWVPrtaRYwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRa21zLXRlc3Qtb3RoZXItY2EwIBcNMjYxMTI5MjE0NzQwWhgP
MjEyNjExMDUyMTQ3NDBaMBwxGjAYBgNVBAMMEWttcy10ZXN0LW90aGVyLWNhMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAELRKIAHCYsdCePNAUErubuwzKUbVgOeFH
LJOfRPMePy0ZumdZ70GlH/E5RlBvmamcsPybc7JTrGa44KufMEG9KKNTMFEwHQYD
VR0OBBYEFBkVFfeaOd8p1FF+DfSWk6oEe8p5MB8GA1UdIwQYMBaAFBkVFfeaOd8p
1FF+DfSWk6oEe8p5MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIg
SLh9lWi1c7NTNc3UHX6MDRvEcCy+yaUs/BE6kKRhZtICIEg7sH/E19+xDRGzZN+r
lgtqoDlDxJH1uyUSwffPLEHy
-----END CERTIFICATE-----
";
