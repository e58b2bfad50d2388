//! PostgresStore while its database restarts mid-load: only retryable errors, recovery without reopening the
//! store, and every acknowledged write still there. On a private cluster, so the other tests keep their server.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used)]

mod postgres_common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kms_core::store::contract::aes_key;
use kms_core::store::{LocateQuery, ObjectStore, PostgresOptions, PostgresStore, StoreError};
use postgres_common::cluster::Cluster;
use postgres_common::{LIVENESS, root_key};

#[test]
fn database_restart_mid_load_gives_retryable_errors_then_recovers() {
    let cluster = Cluster::start();
    let mut options = PostgresOptions::default();
    options.pool_size = 8;
    options.connect_timeout = Duration::from_secs(2);
    options.operation_timeout = Duration::from_secs(10);
    let store = PostgresStore::connect(&cluster.url(), &root_key(7), options).unwrap();

    let stop = AtomicBool::new(false);
    let acknowledged = Mutex::new(Vec::new());
    let failures = Mutex::new(Vec::<String>::new());
    let successes_after_restart = AtomicUsize::new(0);
    let restarted = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                while !stop.load(Ordering::Acquire) {
                    let mut o = aes_key("alice");
                    let result = store.put(&o).and_then(|()| {
                        // Acknowledged from here on, whatever follows.
                        acknowledged.lock().unwrap().push(o.clone());
                        o.metadata.attributes.comment = Some("updated".into());
                        store.update(&mut o)?;
                        acknowledged.lock().unwrap().push(o.clone());
                        store.get(&o.metadata.id).map(|_| ())
                    });
                    match result {
                        Ok(()) => {
                            if restarted.load(Ordering::Acquire) {
                                successes_after_restart.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            assert!(
                                matches!(e, StoreError::Unavailable(_)) && e.is_retryable(),
                                "not a retryable error: {e:?}"
                            );
                            failures.lock().unwrap().push(e.to_string());
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            });
        }
        let wait_for = |what: &str, done: &dyn Fn() -> bool| {
            let start = Instant::now();
            while !done() {
                assert!(start.elapsed() < LIVENESS, "waited too long for {what}");
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        wait_for("load before the restart", &|| {
            acknowledged.lock().unwrap().len() > 100
        });
        cluster.stop_server();
        // While the database is down, every operation fails, each with a retryable error.
        wait_for("failures while down", &|| {
            failures.lock().unwrap().len() > 10
        });
        cluster.start_server();
        restarted.store(true, Ordering::Release);
        wait_for("recovery", &|| {
            successes_after_restart.load(Ordering::Relaxed) > 100
        });
        stop.store(true, Ordering::Release);
    });

    let failures = failures.into_inner().unwrap();
    println!(
        "{} retryable failures during the restart, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    assert!(
        failures
            .iter()
            .all(|m| m.starts_with("store unavailable: ")),
        "{failures:?}"
    );
    // Every acknowledged write is there, at its latest acknowledged version.
    let acknowledged = acknowledged.into_inner().unwrap();
    let mut latest = std::collections::HashMap::new();
    for o in acknowledged {
        let v = latest.entry(o.metadata.id.clone()).or_insert(o.clone());
        if o.version > v.version {
            *v = o;
        }
    }
    for o in latest.values() {
        let stored = store.get(&o.metadata.id).unwrap();
        assert!(stored.version >= o.version, "{:?}", o.metadata.id);
        if stored.version == o.version {
            assert_eq!(&stored, o);
        }
    }
    assert!(store.locate(&LocateQuery::default()).unwrap().len() >= latest.len());
}
