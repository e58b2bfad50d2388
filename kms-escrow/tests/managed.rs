//! Escrow of a KeyManager object: exported through the manager (access control included), released intact.
#![cfg(feature = "key-manager")]
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use kms_core::manager::{ExportedKey, GetRequest};
use kms_core::object::CryptographicAlgorithm;
use kms_core::{Attributes, KeyManager, MemoryStore, Principal, SoftwareBackend};
use kms_escrow::*;

#[test]
fn a_managed_key_is_escrowed_through_the_key_manager_and_released_intact() {
    let manager = KeyManager::builder(Arc::new(MemoryStore::new()))
        .backend(Arc::new(SoftwareBackend::new()))
        .build()
        .unwrap();
    let alice = Principal::new("alice").unwrap();
    let mut attrs = Attributes::default();
    attrs.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
    attrs.cryptographic_length = Some(256);
    let id = manager.create(&alice, attrs).unwrap();

    let f = fixture(&["security", "legal", "management"]);
    // Someone who cannot see the object cannot escrow it.
    let mallory = Principal::new("mallory").unwrap();
    let err = deposit_managed_object(&f.escrow, &manager, &mallory, &id, f.policy(2)).unwrap_err();
    assert!(matches!(err, EscrowError::KeyManager(_)), "{err}");

    let deposit = deposit_managed_object(&f.escrow, &manager, &alice, &id, f.policy(2)).unwrap();
    let meta = f.escrow.get_deposit(&deposit).unwrap().metadata;
    assert_eq!(meta.object_id, id.to_string());
    assert_eq!(meta.object_type, "SymmetricKey");
    assert!(!meta.is_signing_key);

    let request = f.request(&deposit);
    f.approve(&request.id, 0);
    f.approve(&request.id, 1);
    let released = f
        .escrow
        .release("operator", &request.id)
        .unwrap()
        .open(&f.recipient)
        .unwrap();
    let ExportedKey::Plain(original) = manager
        .get(&alice, &id, &GetRequest::default())
        .unwrap()
        .key
    else {
        panic!("plain export expected");
    };
    assert_eq!(released.material().as_slice(), original.bytes());
}
