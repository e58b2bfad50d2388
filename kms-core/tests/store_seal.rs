//! Sealing at rest through RedbStore: root key files, no key bytes in the database file, every tampering detected.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use kms_core::object::ObjectId;
use kms_core::store::contract::aes_key;
use kms_core::store::seal::{FileRootKey, RootKeyError, RootKeyProvider, StaticRootKey};
use kms_core::store::{LocateQuery, ObjectStore, RedbOptions, RedbStore, StoreError, StoredObject};
use zeroize::Zeroizing;

fn root_key_error(e: StoreError) -> RootKeyError {
    match e {
        StoreError::Storage(source) => {
            *source.downcast::<RootKeyError>().expect("a root key error")
        }
        other => panic!("expected a storage error, got {other:?}"),
    }
}

#[test]
fn root_key_file_is_generated_0600_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let provider = FileRootKey::in_data_dir(dir.path());
    let first = provider.root_key().unwrap();
    let meta = fs::metadata(provider.path()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
    assert_eq!(provider.root_key().unwrap(), first);
    assert_ne!(*first, [0u8; 32]);
    // The file's content is the key; a second directory gets another key.
    assert_eq!(fs::read(provider.path()).unwrap(), first.to_vec());
    let other = tempfile::tempdir().unwrap();
    assert_ne!(
        FileRootKey::in_data_dir(other.path()).root_key().unwrap(),
        first
    );
    // RedbStore::open uses that same file.
    let store = RedbStore::open(dir.path()).unwrap();
    drop(store);
    assert_eq!(fs::read(provider.path()).unwrap(), first.to_vec());
}

#[test]
fn root_key_file_readable_by_group_or_others_is_refused() {
    for mode in [0o640, 0o604, 0o660, 0o644, 0o602, 0o620] {
        let dir = tempfile::tempdir().unwrap();
        let provider = FileRootKey::in_data_dir(dir.path());
        provider.root_key().unwrap();
        fs::set_permissions(provider.path(), fs::Permissions::from_mode(mode)).unwrap();
        assert!(
            matches!(provider.root_key(), Err(RootKeyError::InsecurePermissions { mode: m, .. }) if m == mode),
            "mode {mode:o}"
        );
        let e = RedbStore::open(dir.path()).unwrap_err();
        assert!(matches!(
            root_key_error(e),
            RootKeyError::InsecurePermissions { .. }
        ));
    }
}

#[test]
fn root_key_file_of_wrong_length_is_refused_and_not_replaced() {
    for len in [0usize, 16, 31, 33, 64] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FileRootKey::FILE_NAME);
        fs::write(&path, vec![7u8; len]).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let provider = FileRootKey::in_data_dir(dir.path());
        assert!(
            matches!(provider.root_key(), Err(RootKeyError::WrongLength { len: l, .. }) if l == len as u64),
            "length {len}"
        );
        assert_eq!(
            fs::read(&path).unwrap().len(),
            len,
            "a bad key file is never overwritten"
        );
    }
}

#[test]
fn existing_root_key_file_is_never_generated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.key");
    let provider = FileRootKey::existing(&path);
    assert!(matches!(provider.root_key(), Err(RootKeyError::Io { .. })));
    assert!(!path.exists());
    // Once an operator (or another node) created it, it is used as it is.
    let generated = FileRootKey::in_data_dir(dir.path()).root_key().unwrap();
    fs::copy(dir.path().join(FileRootKey::FILE_NAME), &path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(provider.root_key().unwrap(), generated);
}

#[test]
fn root_key_path_that_is_a_directory_or_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(FileRootKey::FILE_NAME)).unwrap();
    assert!(matches!(
        FileRootKey::in_data_dir(dir.path()).root_key(),
        Err(RootKeyError::NotAFile { .. })
    ));
    let dir2 = tempfile::tempdir().unwrap();
    let real = FileRootKey::in_data_dir(dir.path().join("sub"));
    fs::create_dir(dir.path().join("sub")).unwrap();
    real.root_key().unwrap();
    std::os::unix::fs::symlink(real.path(), dir2.path().join(FileRootKey::FILE_NAME)).unwrap();
    assert!(matches!(
        FileRootKey::in_data_dir(dir2.path()).root_key(),
        Err(RootKeyError::NotAFile { .. })
    ));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn database_file_contains_no_key_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let mut created: Vec<StoredObject> = (0..64).map(|_| aes_key("alice")).collect();
    for o in &created {
        store.put(o).unwrap();
    }
    // Updates write new records (and leave old pages behind in the file): those must be sealed too.
    for o in created.iter_mut().step_by(3) {
        o.metadata.attributes.comment = Some("updated".into());
        store.update(o).unwrap();
    }
    drop(store);
    let file = fs::read(dir.path().join(RedbStore::FILE_NAME)).unwrap();
    let root_key = fs::read(dir.path().join(FileRootKey::FILE_NAME)).unwrap();
    // Sanity of the search itself: ids (not secret) are found in the file.
    assert!(contains(&file, created[0].metadata.id.as_str().as_bytes()));
    for o in &created {
        let key = o.key.as_ref().unwrap();
        for chunk in key.data().chunks(8) {
            assert!(
                !contains(&file, chunk),
                "key bytes of {} in the file",
                o.metadata.id
            );
        }
        assert!(!contains(&file, &key.encode()));
    }
    for chunk in root_key.chunks(8) {
        assert!(
            !contains(&file, chunk),
            "root key bytes in the database file"
        );
    }
}

fn store_with_key(dir: &Path, key: u8) -> RedbStore {
    RedbStore::open_with(
        dir,
        &StaticRootKey::new(Zeroizing::new([key; 32])),
        RedbOptions::default(),
    )
    .unwrap()
}

#[test]
fn flipped_bit_anywhere_in_a_record_is_an_integrity_failure() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_key(dir.path(), 1);
    let o = aes_key("alice");
    store.put(&o).unwrap();
    let id = &o.metadata.id;
    let record = store.raw_record(id).unwrap();
    // Every third bit (each tampering is a durable commit), covering header, metadata, nonce, ciphertext, tag.
    for bit in (0..record.len() * 8).step_by(3) {
        let mut tampered = record.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        store.write_raw_record(id, &tampered).unwrap();
        assert!(
            matches!(store.get(id), Err(StoreError::Integrity)),
            "bit {bit} of {}",
            record.len() * 8
        );
    }
    store
        .write_raw_record(id, &record[..record.len() - 1])
        .unwrap();
    assert!(matches!(store.get(id), Err(StoreError::Integrity)));
    store.write_raw_record(id, &[]).unwrap();
    assert!(matches!(store.get(id), Err(StoreError::Integrity)));
    store.write_raw_record(id, &record).unwrap();
    assert_eq!(store.get(id).unwrap(), o);
}

#[test]
fn flipped_bit_in_the_raw_database_file_is_an_integrity_failure() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_key(dir.path(), 1);
    let o = aes_key("alice");
    store.put(&o).unwrap();
    let record = store.raw_record(&o.metadata.id).unwrap();
    drop(store);
    let path = dir.path().join(RedbStore::FILE_NAME);
    let mut file = fs::read(&path).unwrap();
    // The sealed tail (nonce, ciphertext, tag) is random-looking: it occurs in the file only where the record is.
    let tail = &record[record.len() - 40..];
    let mut flipped = 0;
    let mut at = 0;
    while let Some(pos) = file[at..].windows(tail.len()).position(|w| w == tail) {
        let pos = at + pos;
        file[pos + 20] ^= 0x10;
        flipped += 1;
        at = pos + tail.len();
    }
    assert!(flipped >= 1, "record not found in the file");
    fs::write(&path, &file).unwrap();
    let store = store_with_key(dir.path(), 1);
    assert!(matches!(
        store.get(&o.metadata.id),
        Err(StoreError::Integrity)
    ));
}

#[test]
fn record_moved_to_another_id_is_an_integrity_failure() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_key(dir.path(), 1);
    let a = aes_key("alice");
    let b = aes_key("alice");
    store.put(&a).unwrap();
    store.put(&b).unwrap();
    let record_a = store.raw_record(&a.metadata.id).unwrap();
    store.write_raw_record(&b.metadata.id, &record_a).unwrap();
    assert!(matches!(
        store.get(&b.metadata.id),
        Err(StoreError::Integrity)
    ));
    let planted = ObjectId::random();
    store.write_raw_record(&planted, &record_a).unwrap();
    assert!(matches!(store.get(&planted), Err(StoreError::Integrity)));
    assert_eq!(store.get(&a.metadata.id).unwrap(), a);
}

#[test]
fn record_rolled_back_to_another_version_is_an_integrity_failure() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_key(dir.path(), 1);
    let mut o = aes_key("alice");
    store.put(&o).unwrap();
    let id = o.metadata.id.clone();
    let v1 = store.raw_record(&id).unwrap();
    store.update(&mut o).unwrap();
    let v2 = store.raw_record(&id).unwrap();
    assert_eq!(v1.len(), v2.len());
    // The version in v2's header set back to 1.
    let mut header_rolled_back = v2.clone();
    header_rolled_back[1..9].copy_from_slice(&1u64.to_be_bytes());
    store.write_raw_record(&id, &header_rolled_back).unwrap();
    assert!(matches!(store.get(&id), Err(StoreError::Integrity)));
    // v2's header and metadata with v1's sealed key value.
    let sealed_len = 12 + 1 + o.key.as_ref().unwrap().encode().len() + 16;
    let split = v2.len() - sealed_len;
    let mut spliced = v2[..split].to_vec();
    spliced.extend_from_slice(&v1[split..]);
    store.write_raw_record(&id, &spliced).unwrap();
    assert!(matches!(store.get(&id), Err(StoreError::Integrity)));
    store.write_raw_record(&id, &v2).unwrap();
    assert_eq!(store.get(&id).unwrap(), o);
}

#[test]
fn wrong_root_key_is_an_integrity_failure_not_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let objects: Vec<StoredObject> = (0..5).map(|_| aes_key("alice")).collect();
    {
        let store = store_with_key(dir.path(), 1);
        for o in &objects {
            store.put(o).unwrap();
        }
    }
    {
        let store = store_with_key(dir.path(), 2);
        for o in &objects {
            assert!(matches!(
                store.get(&o.metadata.id),
                Err(StoreError::Integrity)
            ));
        }
        // Metadata is not secret: Locate still lists the objects, and get tells they cannot be opened.
        assert_eq!(
            store.locate(&LocateQuery::default()).unwrap().len(),
            objects.len()
        );
    }
    let store = store_with_key(dir.path(), 1);
    for o in &objects {
        assert_eq!(&store.get(&o.metadata.id).unwrap(), o);
    }
}
