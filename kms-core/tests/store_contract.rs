//! The one ObjectStore contract suite (`kms_core::store::contract`), run against every store of this crate.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod memory {
    kms_core::store_contract_tests!(kms_core::MemoryStore::new(), |s| &s);
}

mod redb {
    use kms_core::store::RedbStore;

    /// A store in a temporary directory that lives as long as the store.
    struct TempRedb {
        store: RedbStore,
        _dir: tempfile::TempDir,
    }

    impl TempRedb {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = RedbStore::open(dir.path()).expect("open");
            Self { store, _dir: dir }
        }
    }

    kms_core::store_contract_tests!(TempRedb::new(), |f| &f.store);
}

mod redb_without_group_commit {
    use kms_core::store::seal::StaticRootKey;
    use kms_core::store::{RedbOptions, RedbStore};
    use zeroize::Zeroizing;

    struct TempRedb {
        store: RedbStore,
        _dir: tempfile::TempDir,
    }

    impl TempRedb {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut options = RedbOptions::default();
            options.group_commit = false;
            let key = StaticRootKey::new(Zeroizing::new([0x42; 32]));
            let store = RedbStore::open_with(dir.path(), &key, options).expect("open");
            Self { store, _dir: dir }
        }
    }

    kms_core::store_contract_tests!(TempRedb::new(), |f| &f.store);
}
