//! The contract every [`ObjectStore`] passes: one generic suite, run unchanged against each store.
//!
//! Each check is a function taking the store under test; [`store_contract_tests!`](crate::store_contract_tests)
//! turns them into one `#[test]` each for a store factory, so a store in another crate (PostgreSQL) runs the very
//! same suite:
//!
//! ```ignore
//! mod memory {
//!     kms_core::store_contract_tests!(kms_core::MemoryStore::new(), |s| &s);
//! }
//! mod redb {
//!     // The fixture keeps its temporary directory alive; the closure borrows the store from it.
//!     kms_core::store_contract_tests!(TempRedb::new(), |f| &f.store);
//! }
//! ```
//!
//! Each check starts from an empty store and uses fresh random ids, so stores whose factory shares one database
//! between tests still pass, provided the factory empties it or the checks' ids cannot collide (they are UUIDs).

#![allow(clippy::missing_panics_doc)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};

use time::OffsetDateTime;
use time::macros::datetime;
use zeroize::Zeroizing;

use super::{DateRange, LocateQuery, ObjectStore, StoreError, StoredObject};
use crate::backend::KeyRef;
use crate::object::{
    AttributeValue, Attributes, CryptographicAlgorithm, Grant, Link, LinkType, Name, ObjectId,
    ObjectMetadata, ObjectType, RecommendedCurve, RevocationReason, RevocationReasonCode, Rights,
    State, UsageMask,
};

/// Generates one `#[test]` per contract check for a store.
///
/// `$fixture` builds a fresh fixture per test; `|f| store` borrows the `&dyn ObjectStore`-compatible store from
/// it (`|s| &s` when the fixture is the store itself).
#[macro_export]
macro_rules! store_contract_tests {
    ($fixture:expr, |$f:ident| $store:expr) => {
        $crate::store_contract_tests!(@each $fixture, |$f| $store;
            put_then_get_round_trips,
            put_requires_version_one,
            put_of_an_existing_id_is_already_exists,
            concurrent_puts_of_one_id_exactly_one_wins,
            get_of_an_unknown_id_is_not_found,
            update_increments_the_version,
            update_from_a_stale_version_conflicts_and_writes_nothing,
            update_of_an_unknown_id_is_not_found,
            concurrent_updates_from_one_version_exactly_one_wins,
            delete_checks_the_version_then_removes,
            locate_applies_every_filter,
            locate_by_name_follows_updates_and_deletes,
            locate_pages_with_offset_and_max_items,
            locate_paging_is_stable_under_concurrent_inserts,
            concurrent_writers_from_many_threads,
        );
    };
    (@each $fixture:expr, |$f:ident| $store:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let $f = $fixture;
                $crate::store::contract::$check($store);
            }
        )*
    };
}

fn id() -> ObjectId {
    ObjectId::random()
}

/// An active AES-256 key of `owner` with a 32-byte software [`KeyRef`]: what a Create leaves in the store.
#[must_use]
pub fn aes_key(owner: &str) -> StoredObject {
    let attributes = Attributes {
        cryptographic_algorithm: Some(CryptographicAlgorithm::Aes),
        cryptographic_length: Some(256),
        cryptographic_usage_mask: Some(UsageMask::ENCRYPT | UsageMask::DECRYPT),
        initial_date: Some(datetime!(2026-01-01 0:00 UTC)),
        ..Attributes::default()
    };
    let key_id = uuid::Uuid::new_v4();
    let mut data = Zeroizing::new(key_id.as_bytes().to_vec());
    data.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    StoredObject {
        metadata: ObjectMetadata {
            id: id(),
            object_type: ObjectType::SymmetricKey,
            state: State::Active,
            owner: owner.to_owned(),
            grants: vec![],
            attributes,
        },
        key: Some(KeyRef::new("software", 1, data)),
        version: 1,
    }
}

/// An object using every kind of attribute, to check that nothing is lost on the way through a store.
fn rich_object() -> StoredObject {
    let mut o = aes_key("alice");
    let a = &mut o.metadata.attributes;
    a.cryptographic_algorithm = Some(CryptographicAlgorithm::Other(0x8000_0001));
    a.cryptographic_usage_mask = Some(UsageMask::SIGN | UsageMask::from_bits_retain(0x4000_0000));
    a.recommended_curve = Some(RecommendedCurve::P384);
    a.names = vec![Name::text("rich"), Name::text("second name")];
    a.object_groups = vec!["g1".into(), "g2".into()];
    a.links = vec![Link {
        link_type: LinkType::ReplacementObjectLink,
        linked_object_id: id(),
    }];
    a.sensitive = true;
    a.always_sensitive = true;
    a.extractable = false;
    a.never_extractable = true;
    a.contact_information = Some("security@example.invalid".into());
    a.description = Some("a description with ünïcode".into());
    a.comment = Some(String::new());
    a.activation_date = Some(datetime!(2026-02-03 04:05:06.789 UTC));
    a.process_start_date = Some(datetime!(2026-02-04 0:00 UTC));
    a.protect_stop_date = Some(datetime!(2027-02-04 0:00 UTC));
    a.deactivation_date = Some(datetime!(2028-01-01 0:00 +02:00));
    a.compromise_occurrence_date = Some(datetime!(2026-03-01 0:00 UTC));
    a.last_change_date = Some(OffsetDateTime::UNIX_EPOCH);
    a.original_creation_date = Some(datetime!(1999-12-31 23:59:59 UTC));
    a.revocation_reason = Some(RevocationReason {
        code: RevocationReasonCode::Superseded,
        message: Some("rotated".into()),
    });
    a.custom
        .insert("x-text".into(), AttributeValue::Text("t".into()));
    a.custom.insert("x-int".into(), AttributeValue::Integer(-7));
    a.custom
        .insert("x-long".into(), AttributeValue::LongInteger(i64::MIN));
    a.custom
        .insert("x-big".into(), AttributeValue::BigInteger(vec![0xff, 0]));
    a.custom
        .insert("x-enum".into(), AttributeValue::Enumeration(3));
    a.custom
        .insert("x-bool".into(), AttributeValue::Boolean(true));
    a.custom
        .insert("x-bytes".into(), AttributeValue::Bytes(vec![1, 2, 3]));
    a.custom.insert(
        "x-date".into(),
        AttributeValue::DateTime(datetime!(2030-01-01 12:00 UTC)),
    );
    a.custom
        .insert("x-interval".into(), AttributeValue::Interval(86_400));
    o.metadata.state = State::Deactivated;
    o.metadata.grants = vec![Grant {
        principal: "bob".into(),
        rights: Rights::READ | Rights::USE,
    }];
    o
}

fn put(store: &dyn ObjectStore, o: &StoredObject) {
    store.put(o).expect("put");
}

fn all(store: &dyn ObjectStore, query: LocateQuery) -> Vec<ObjectId> {
    store.locate(&query).expect("locate")
}

/// Put, then get: the same object comes back, with and without a key value.
pub fn put_then_get_round_trips(store: &dyn ObjectStore) {
    let rich = rich_object();
    put(store, &rich);
    assert_eq!(store.get(&rich.metadata.id).expect("get"), rich);
    let mut destroyed = aes_key("alice");
    destroyed.key = None;
    destroyed.metadata.state = State::Destroyed;
    put(store, &destroyed);
    assert_eq!(store.get(&destroyed.metadata.id).expect("get"), destroyed);
}

/// A put with a version other than 1 is refused and stores nothing.
pub fn put_requires_version_one(store: &dyn ObjectStore) {
    for version in [0, 2, u64::MAX] {
        let mut o = aes_key("alice");
        o.version = version;
        assert!(matches!(store.put(&o), Err(StoreError::InvalidRequest(_))));
        assert!(matches!(
            store.get(&o.metadata.id),
            Err(StoreError::NotFound)
        ));
    }
}

/// A second put of an id is refused and the first object is kept.
pub fn put_of_an_existing_id_is_already_exists(store: &dyn ObjectStore) {
    let first = aes_key("alice");
    put(store, &first);
    let mut second = aes_key("mallory");
    second.metadata.id = first.metadata.id.clone();
    assert!(matches!(store.put(&second), Err(StoreError::AlreadyExists)));
    assert_eq!(store.get(&first.metadata.id).expect("get"), first);
    assert_eq!(all(store, LocateQuery::default()), vec![first.metadata.id]);
}

/// Threads putting one id at once: exactly one succeeds, the others get AlreadyExists.
pub fn concurrent_puts_of_one_id_exactly_one_wins(store: &dyn ObjectStore) {
    const THREADS: usize = 8;
    for _round in 0..5 {
        let the_id = id();
        let barrier = Barrier::new(THREADS);
        let results = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (barrier, results, the_id) = (&barrier, &results, &the_id);
                s.spawn(move || {
                    let mut o = aes_key(&format!("owner{t}"));
                    o.metadata.id = the_id.clone();
                    barrier.wait();
                    let r = store.put(&o);
                    results.lock().expect("lock").push((t, r));
                });
            }
        });
        let results = results.into_inner().expect("lock");
        let winners: Vec<usize> = results
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        assert!(
            results
                .iter()
                .all(|(_, r)| r.is_ok() || matches!(r, Err(StoreError::AlreadyExists)))
        );
        let stored = store.get(&the_id).expect("get");
        assert_eq!(stored.metadata.owner, format!("owner{}", winners[0]));
    }
}

/// Get of an id never put: NotFound.
pub fn get_of_an_unknown_id_is_not_found(store: &dyn ObjectStore) {
    assert!(matches!(store.get(&id()), Err(StoreError::NotFound)));
}

/// Update stores the new content and moves the version (in the store and in the caller's copy) one up.
pub fn update_increments_the_version(store: &dyn ObjectStore) {
    let mut o = aes_key("alice");
    put(store, &o);
    o.metadata.state = State::Deactivated;
    o.metadata.attributes.names.push(Name::text("renamed"));
    store.update(&mut o).expect("update");
    assert_eq!(o.version, 2);
    assert_eq!(store.get(&o.metadata.id).expect("get"), o);
    o.key = None;
    store.update(&mut o).expect("update");
    assert_eq!(o.version, 3);
    assert_eq!(store.get(&o.metadata.id).expect("get"), o);
}

/// An update from a version that is no longer current fails with VersionConflict and writes nothing.
pub fn update_from_a_stale_version_conflicts_and_writes_nothing(store: &dyn ObjectStore) {
    let o = aes_key("alice");
    put(store, &o);
    let mut winner = store.get(&o.metadata.id).expect("get");
    let mut loser = winner.clone();
    winner.metadata.attributes.description = Some("winner".into());
    store.update(&mut winner).expect("update");
    loser.metadata.attributes.description = Some("loser".into());
    match store.update(&mut loser) {
        Err(
            e @ StoreError::VersionConflict {
                expected: 1,
                found: 2,
            },
        ) => {
            assert!(e.is_retryable());
        }
        other => panic!("expected a version conflict, got {other:?}"),
    }
    assert_eq!(
        loser.version, 1,
        "a failed update leaves the caller's version"
    );
    assert_eq!(store.get(&o.metadata.id).expect("get"), winner);
    // Re-reading and retrying succeeds.
    let mut retry = store.get(&o.metadata.id).expect("get");
    retry.metadata.attributes.description = Some("loser, retried".into());
    store.update(&mut retry).expect("update");
    assert_eq!(store.get(&o.metadata.id).expect("get").version, 3);
}

/// Update of an id never put: NotFound, and nothing is created.
pub fn update_of_an_unknown_id_is_not_found(store: &dyn ObjectStore) {
    let mut o = aes_key("alice");
    assert!(matches!(store.update(&mut o), Err(StoreError::NotFound)));
    assert!(matches!(
        store.get(&o.metadata.id),
        Err(StoreError::NotFound)
    ));
    assert_eq!(o.version, 1);
}

/// Writers updating one object from the same version at once: exactly one wins, the others conflict. A lost
/// update is impossible.
pub fn concurrent_updates_from_one_version_exactly_one_wins(store: &dyn ObjectStore) {
    const THREADS: usize = 8;
    let o = aes_key("alice");
    put(store, &o);
    for round in 0..5u64 {
        let base = store.get(&o.metadata.id).expect("get");
        assert_eq!(base.version, round + 1);
        let barrier = Barrier::new(THREADS);
        let results = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (barrier, results, base) = (&barrier, &results, &base);
                s.spawn(move || {
                    let mut mine = base.clone();
                    mine.metadata.attributes.description = Some(format!("writer {t}"));
                    barrier.wait();
                    let r = store.update(&mut mine);
                    results.lock().expect("lock").push((t, r));
                });
            }
        });
        let results = results.into_inner().expect("lock");
        let winners: Vec<usize> = results
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        for (_, r) in &results {
            if let Err(e) = r {
                assert!(
                    matches!(e, StoreError::VersionConflict { expected, found }
                        if *expected == round + 1 && *found == round + 2),
                    "{e:?}"
                );
            }
        }
        let stored = store.get(&o.metadata.id).expect("get");
        assert_eq!(stored.version, round + 2);
        assert_eq!(
            stored.metadata.attributes.description,
            Some(format!("writer {}", winners[0]))
        );
    }
}

/// Delete refuses a stale version, then removes the object from get and locate; the id can be put again.
pub fn delete_checks_the_version_then_removes(store: &dyn ObjectStore) {
    let mut o = aes_key("alice");
    let other = aes_key("alice");
    put(store, &o);
    put(store, &other);
    store.update(&mut o).expect("update");
    assert!(matches!(
        store.delete(&o.metadata.id, 1),
        Err(StoreError::VersionConflict {
            expected: 1,
            found: 2
        })
    ));
    assert_eq!(store.get(&o.metadata.id).expect("get"), o);
    store.delete(&o.metadata.id, 2).expect("delete");
    assert!(matches!(
        store.get(&o.metadata.id),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(&o.metadata.id, 2),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(store.delete(&id(), 1), Err(StoreError::NotFound)));
    assert_eq!(
        all(store, LocateQuery::default()),
        vec![other.metadata.id.clone()]
    );
    // Put again under the same id: a new object, the newest in insertion order.
    let mut again = aes_key("bob");
    again.metadata.id = o.metadata.id.clone();
    put(store, &again);
    assert_eq!(store.get(&o.metadata.id).expect("get"), again);
    assert_eq!(
        all(store, LocateQuery::default()),
        vec![other.metadata.id, again.metadata.id]
    );
}

/// Every Locate filter selects exactly the matching objects, oldest first.
pub fn locate_applies_every_filter(store: &dyn ObjectStore) {
    let mut a = aes_key("alice");
    a.metadata.attributes.names = vec![Name::text("payroll")];
    a.metadata.attributes.object_groups = vec!["finance".into()];
    a.metadata.attributes.activation_date = Some(datetime!(2026-01-10 0:00 UTC));
    let mut b = aes_key("alice");
    b.metadata.attributes.cryptographic_length = Some(128);
    b.metadata.state = State::PreActive;
    b.metadata.attributes.cryptographic_usage_mask = Some(UsageMask::WRAP_KEY);
    b.metadata.attributes.initial_date = Some(datetime!(2025-06-01 0:00 UTC));
    let mut c = aes_key("bob");
    c.metadata.object_type = ObjectType::PrivateKey;
    c.metadata.attributes.cryptographic_algorithm = Some(CryptographicAlgorithm::Rsa);
    c.metadata.attributes.cryptographic_length = Some(2048);
    c.metadata.attributes.cryptographic_usage_mask = Some(UsageMask::SIGN);
    c.metadata.attributes.names = vec![Name::text("payroll")];
    c.metadata.attributes.deactivation_date = Some(datetime!(2027-01-01 0:00 UTC));
    c.metadata.grants = vec![Grant {
        principal: "alice".into(),
        rights: Rights::READ,
    }];
    let mut d = aes_key("bob");
    d.metadata.attributes.object_groups = vec!["finance".into(), "hr".into()];
    d.metadata.grants = vec![Grant {
        principal: "alice".into(),
        rights: Rights::USE,
    }];
    d.metadata.attributes.activation_date = Some(datetime!(2026-03-01 0:00 UTC));
    for o in [&a, &b, &c, &d] {
        put(store, o);
    }
    let (a, b, c, d) = (a.metadata.id, b.metadata.id, c.metadata.id, d.metadata.id);
    let q = LocateQuery::default;
    let cases: Vec<(&str, LocateQuery, Vec<&ObjectId>)> = vec![
        ("no filter", q(), vec![&a, &b, &c, &d]),
        (
            "visible to alice: own and READ-granted, not USE-only",
            LocateQuery {
                visible_to: Some("alice".into()),
                ..q()
            },
            vec![&a, &b, &c],
        ),
        (
            "visible to bob",
            LocateQuery {
                visible_to: Some("bob".into()),
                ..q()
            },
            vec![&c, &d],
        ),
        (
            "visible to nobody",
            LocateQuery {
                visible_to: Some("carol".into()),
                ..q()
            },
            vec![],
        ),
        (
            "object type",
            LocateQuery {
                object_type: Some(ObjectType::PrivateKey),
                ..q()
            },
            vec![&c],
        ),
        (
            "algorithm",
            LocateQuery {
                algorithm: Some(CryptographicAlgorithm::Aes),
                ..q()
            },
            vec![&a, &b, &d],
        ),
        (
            "length",
            LocateQuery {
                length: Some(128),
                ..q()
            },
            vec![&b],
        ),
        (
            "state",
            LocateQuery {
                state: Some(State::Active),
                ..q()
            },
            vec![&a, &c, &d],
        ),
        (
            "name",
            LocateQuery {
                name: Some("payroll".into()),
                ..q()
            },
            vec![&a, &c],
        ),
        (
            "unknown name",
            LocateQuery {
                name: Some("payrol".into()),
                ..q()
            },
            vec![],
        ),
        (
            "object group",
            LocateQuery {
                object_group: Some("finance".into()),
                ..q()
            },
            vec![&a, &d],
        ),
        (
            "usage mask: every bit required",
            LocateQuery {
                usage_mask: Some(UsageMask::ENCRYPT | UsageMask::DECRYPT),
                ..q()
            },
            vec![&a, &d],
        ),
        (
            "usage mask: one bit",
            LocateQuery {
                usage_mask: Some(UsageMask::SIGN),
                ..q()
            },
            vec![&c],
        ),
        (
            "initial date before",
            LocateQuery {
                initial_date: DateRange {
                    from: None,
                    to: Some(datetime!(2025-12-31 0:00 UTC)),
                },
                ..q()
            },
            vec![&b],
        ),
        (
            "initial date from, inclusive",
            LocateQuery {
                initial_date: DateRange {
                    from: Some(datetime!(2026-01-01 0:00 UTC)),
                    to: None,
                },
                ..q()
            },
            vec![&a, &c, &d],
        ),
        (
            "activation date range (objects without the date never match)",
            LocateQuery {
                activation_date: DateRange {
                    from: Some(datetime!(2026-01-01 0:00 UTC)),
                    to: Some(datetime!(2026-02-01 0:00 UTC)),
                },
                ..q()
            },
            vec![&a],
        ),
        (
            "deactivation date",
            LocateQuery {
                deactivation_date: DateRange {
                    from: Some(datetime!(2027-01-01 0:00 UTC)),
                    to: Some(datetime!(2027-01-01 0:00 UTC)),
                },
                ..q()
            },
            vec![&c],
        ),
        (
            "name and owner together",
            LocateQuery {
                name: Some("payroll".into()),
                visible_to: Some("bob".into()),
                ..q()
            },
            vec![&c],
        ),
        (
            "name with offset",
            LocateQuery {
                name: Some("payroll".into()),
                offset: 1,
                ..q()
            },
            vec![&c],
        ),
        (
            "several filters",
            LocateQuery {
                algorithm: Some(CryptographicAlgorithm::Aes),
                state: Some(State::Active),
                object_group: Some("finance".into()),
                visible_to: Some("alice".into()),
                ..q()
            },
            vec![&a],
        ),
    ];
    for (what, query, expected) in cases {
        let expected: Vec<ObjectId> = expected.into_iter().cloned().collect();
        assert_eq!(all(store, query), expected, "{what}");
    }
}

/// The name filter sees renames and deletes at once (stores that index names must keep the index exact).
pub fn locate_by_name_follows_updates_and_deletes(store: &dyn ObjectStore) {
    let by_name = |n: &str| {
        all(
            store,
            LocateQuery {
                name: Some(n.into()),
                ..LocateQuery::default()
            },
        )
    };
    let mut x = aes_key("alice");
    x.metadata.attributes.names = vec![Name::text("old"), Name::text("kept")];
    let mut y = aes_key("alice");
    y.metadata.attributes.names = vec![Name::text("kept")];
    put(store, &x);
    put(store, &y);
    assert_eq!(by_name("old"), vec![x.metadata.id.clone()]);
    x.metadata.attributes.names = vec![Name::text("kept"), Name::text("new")];
    store.update(&mut x).expect("update");
    assert!(by_name("old").is_empty());
    assert_eq!(by_name("new"), vec![x.metadata.id.clone()]);
    assert_eq!(
        by_name("kept"),
        vec![x.metadata.id.clone(), y.metadata.id.clone()],
        "a rename keeps the object's place in insertion order"
    );
    store.delete(&x.metadata.id, x.version).expect("delete");
    assert!(by_name("new").is_empty());
    assert_eq!(by_name("kept"), vec![y.metadata.id.clone()]);
}

/// Offset and Maximum Items cut the ordered result into pages that add up to it exactly.
pub fn locate_pages_with_offset_and_max_items(store: &dyn ObjectStore) {
    let ids: Vec<ObjectId> = (0..23)
        .map(|_| {
            let o = aes_key("alice");
            put(store, &o);
            o.metadata.id
        })
        .collect();
    assert_eq!(all(store, LocateQuery::default()), ids);
    let mut paged = Vec::new();
    for page in 0..4 {
        let got = all(
            store,
            LocateQuery {
                offset: page * 7,
                max_items: Some(7),
                ..LocateQuery::default()
            },
        );
        assert_eq!(got.len(), if page < 3 { 7 } else { 2 });
        paged.extend(got);
    }
    assert_eq!(paged, ids);
    let page = |offset, max_items| {
        all(
            store,
            LocateQuery {
                offset,
                max_items,
                ..LocateQuery::default()
            },
        )
    };
    assert!(page(23, None).is_empty());
    assert!(page(usize::MAX, Some(5)).is_empty());
    assert!(page(0, Some(0)).is_empty());
    assert_eq!(page(20, None), ids[20..].to_vec());
    assert_eq!(page(0, Some(usize::MAX)), ids);
}

/// Paging through Locate while another thread inserts: every object present before paging began is returned
/// exactly once, in insertion order, and nothing is returned twice.
pub fn locate_paging_is_stable_under_concurrent_inserts(store: &dyn ObjectStore) {
    let group = format!("paging-{}", uuid::Uuid::new_v4());
    let make = || {
        let mut o = aes_key("alice");
        o.metadata.attributes.object_groups = vec![group.clone()];
        o
    };
    let before: Vec<ObjectId> = (0..40)
        .map(|_| {
            let o = make();
            put(store, &o);
            o.metadata.id
        })
        .collect();
    let inserted = Mutex::new(Vec::new());
    let done = AtomicBool::new(false);
    let mut seen = Vec::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..40 {
                let o = make();
                put(store, &o);
                inserted.lock().expect("lock").push(o.metadata.id);
            }
            done.store(true, Ordering::Release);
        });
        let mut offset = 0;
        // Bounded: 80 objects in pages of 3 need ~27 full pages; an inserter that stalls cannot hang the test.
        for _ in 0..100_000 {
            let finished = done.load(Ordering::Acquire);
            let page = all(
                store,
                LocateQuery {
                    object_group: Some(group.clone()),
                    offset,
                    max_items: Some(3),
                    ..LocateQuery::default()
                },
            );
            offset += page.len();
            let short = page.len() < 3;
            seen.extend(page);
            if short && finished {
                break;
            }
        }
    });
    let inserted = inserted.into_inner().expect("lock");
    let unique: HashSet<&ObjectId> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an object was returned twice");
    assert_eq!(
        seen[..before.len()],
        before[..],
        "pre-existing objects in order"
    );
    assert_eq!(
        seen[before.len()..],
        inserted[..],
        "new objects in insertion order"
    );
}

/// Many threads putting, updating and reading at once: every write lands, at its version.
pub fn concurrent_writers_from_many_threads(store: &dyn ObjectStore) {
    const THREADS: usize = 16;
    const EACH: usize = 20;
    let written = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let written = &written;
            s.spawn(move || {
                let mut mine = Vec::new();
                for i in 0..EACH {
                    let mut o = aes_key(&format!("writer{t}"));
                    put(store, &o);
                    if i % 2 == 0 {
                        o.metadata.attributes.comment = Some(format!("{t}/{i}"));
                        store.update(&mut o).expect("update");
                    }
                    assert_eq!(store.get(&o.metadata.id).expect("get"), o);
                    mine.push(o);
                }
                written.lock().expect("lock").extend(mine);
            });
        }
    });
    let written = written.into_inner().expect("lock");
    assert_eq!(written.len(), THREADS * EACH);
    for o in &written {
        assert_eq!(&store.get(&o.metadata.id).expect("get"), o);
    }
    let located: HashSet<ObjectId> = all(store, LocateQuery::default()).into_iter().collect();
    let expected: HashSet<ObjectId> = written.into_iter().map(|o| o.metadata.id).collect();
    assert_eq!(located, expected);
}
