//! Model-based property test: random sequences of puts, updates, deletes and locates give the same answers on
//! RedbStore as on MemoryStore, the reference behaviour (and RedbStore's survive a reopen).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use kms_core::object::{Name, ObjectId, State};
use kms_core::store::contract::aes_key;
use kms_core::store::seal::StaticRootKey;
use kms_core::store::{
    LocateQuery, MemoryStore, ObjectStore, RedbOptions, RedbStore, StoreError, StoredObject,
};
use proptest::prelude::*;
use zeroize::Zeroizing;

const IDS: usize = 5;
const NAMES: [&str; 3] = ["a", "b", "c"];

#[derive(Clone, Debug)]
enum Op {
    Put {
        id: usize,
        names: Vec<usize>,
    },
    /// Update from the stored version, or from a stale one.
    Update {
        id: usize,
        names: Vec<usize>,
        state: bool,
        stale: bool,
    },
    Delete {
        id: usize,
        stale: bool,
    },
    Locate {
        name: Option<usize>,
        active: bool,
        offset: usize,
        max: Option<usize>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let names = proptest::collection::vec(0..NAMES.len(), 0..3);
    prop_oneof![
        (0..IDS, names.clone()).prop_map(|(id, names)| Op::Put { id, names }),
        (0..IDS, names, any::<bool>(), any::<bool>()).prop_map(|(id, names, state, stale)| {
            Op::Update {
                id,
                names,
                state,
                stale,
            }
        }),
        (0..IDS, any::<bool>()).prop_map(|(id, stale)| Op::Delete { id, stale }),
        (
            proptest::option::of(0..NAMES.len()),
            any::<bool>(),
            0..4usize,
            proptest::option::of(0..4usize)
        )
            .prop_map(|(name, active, offset, max)| Op::Locate {
                name,
                active,
                offset,
                max
            }),
    ]
}

/// The comparable outcome of an operation.
fn outcome<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(e) => format!("err {e}"),
    }
}

struct Model {
    ids: Vec<ObjectId>,
}

impl Model {
    fn apply(&self, store: &dyn ObjectStore, op: &Op) -> String {
        let names = |n: &[usize]| n.iter().map(|&i| Name::text(NAMES[i])).collect::<Vec<_>>();
        match op {
            Op::Put { id, names: n } => {
                let mut o = aes_key("alice");
                o.metadata.id = self.ids[*id].clone();
                o.metadata.attributes.names = names(n);
                // Same key bytes in both stores, so gets compare equal.
                o.key = Some(kms_core::KeyRef::new(
                    "software",
                    1,
                    Zeroizing::new(vec![*id as u8; 32]),
                ));
                outcome(store.put(&o))
            }
            Op::Update {
                id,
                names: n,
                state,
                stale,
            } => {
                let current = store.get(&self.ids[*id]);
                let Ok(mut o) = current else {
                    return outcome(current.map(|_| ()));
                };
                o.metadata.attributes.names = names(n);
                if *state {
                    o.metadata.state = State::Deactivated;
                }
                if *stale {
                    o.version -= 1;
                }
                let r = store.update(&mut o);
                format!("{} -> v{}", outcome(r), o.version)
            }
            Op::Delete { id, stale } => {
                let version = store.get(&self.ids[*id]).map_or(1, |o| o.version);
                outcome(store.delete(&self.ids[*id], if *stale { version + 1 } else { version }))
            }
            Op::Locate {
                name,
                active,
                offset,
                max,
            } => {
                let query = LocateQuery {
                    name: name.map(|i| NAMES[i].to_owned()),
                    state: active.then_some(State::Active),
                    offset: *offset,
                    max_items: *max,
                    ..LocateQuery::default()
                };
                outcome(store.locate(&query))
            }
        }
    }

    fn snapshot(&self, store: &dyn ObjectStore) -> Vec<Option<StoredObject>> {
        self.ids.iter().map(|id| store.get(id).ok()).collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn redb_answers_as_memory_does(ops in proptest::collection::vec(op(), 1..30)) {
        let model = Model { ids: (0..IDS).map(|_| ObjectId::random()).collect() };
        let memory = MemoryStore::new();
        let dir = tempfile::tempdir().unwrap();
        let open = || RedbStore::open_with(
            dir.path(),
            &StaticRootKey::new(Zeroizing::new([3; 32])),
            RedbOptions::default(),
        ).unwrap();
        let redb = open();
        for op in &ops {
            prop_assert_eq!(model.apply(&redb, op), model.apply(&memory, op), "{:?}", op);
        }
        prop_assert_eq!(model.snapshot(&redb), model.snapshot(&memory));
        let order = redb.locate(&LocateQuery::default()).unwrap();
        drop(redb);
        let redb = open();
        prop_assert_eq!(model.snapshot(&redb), model.snapshot(&memory));
        prop_assert_eq!(redb.locate(&LocateQuery::default()).unwrap(), order);
    }
}
