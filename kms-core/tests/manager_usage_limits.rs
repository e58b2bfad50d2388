//! KMIP Usage Limits: Encrypt, Sign and MAC count against the key's limit, atomically, and refuse with
//! Permission Denied once it is spent; Decrypt does not count; the count reads back.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use kms_core::backend::CipherParams;
use kms_core::manager::{Attribute, AttributeName};
use kms_core::object::{CryptographicAlgorithm, ObjectId, UsageLimits, UsageLimitsUnit};
use kms_core::{
    Attributes, Error, KeyFormat, KeyManager, MemoryStore, ObjectType, Principal, SoftwareBackend,
    UsageMask,
};
use zeroize::Zeroizing;

fn manager() -> KeyManager {
    KeyManager::builder(Arc::new(MemoryStore::new()))
        .backend(Arc::new(SoftwareBackend::new()))
        // Enough retries that eight threads on one key never run out: the test is about the count.
        .max_update_attempts(1_000)
        .build()
        .unwrap()
}

fn alice() -> Principal {
    Principal::new("alice").unwrap()
}

/// An active AES-128 key limited to `total` units.
fn limited_key(m: &KeyManager, total: u64, unit: UsageLimitsUnit) -> ObjectId {
    let mut a = Attributes::default();
    a.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
    a.cryptographic_usage_mask = Some(UsageMask::ENCRYPT | UsageMask::DECRYPT);
    a.usage_limits = Some(UsageLimits::new(total, unit));
    let material = kms_core::KeyMaterial::new(KeyFormat::Raw, Zeroizing::new(vec![9u8; 16]));
    let id = m
        .register(&alice(), ObjectType::SymmetricKey, material, a)
        .unwrap();
    m.activate(&alice(), &id).unwrap();
    id
}

const GCM: CipherParams<'static> = CipherParams::AesGcm {
    iv: None,
    aad: b"",
    tag_len: 16,
};

fn remaining(m: &KeyManager, id: &ObjectId) -> u64 {
    let found = m
        .get_attributes(&alice(), id, &[AttributeName::UsageLimits])
        .unwrap();
    match found.as_slice() {
        [Attribute::UsageLimits(l)] => l.count,
        other => panic!("Usage Limits read back as {other:?}"),
    }
}

#[test]
fn bytes_are_counted_until_the_limit_and_then_refused() {
    let m = manager();
    let id = limited_key(&m, 32, UsageLimitsUnit::Byte);
    let sealed = m.encrypt(&alice(), &id, &GCM, &[0u8; 20]).unwrap();
    assert_eq!(remaining(&m, &id), 12);
    assert!(matches!(
        m.encrypt(&alice(), &id, &GCM, &[0u8; 13]),
        Err(Error::PermissionDenied)
    ));
    // A refused use costs nothing; decryption does not count.
    assert_eq!(remaining(&m, &id), 12);
    let params = CipherParams::AesGcm {
        iv: sealed.iv.as_deref(),
        aad: b"",
        tag_len: 16,
    };
    m.decrypt(&alice(), &id, &params, &sealed.data, sealed.tag.as_deref())
        .unwrap();
    assert_eq!(remaining(&m, &id), 12);
    m.encrypt(&alice(), &id, &GCM, &[0u8; 12]).unwrap();
    assert_eq!(remaining(&m, &id), 0);
    assert!(matches!(
        m.encrypt(&alice(), &id, &GCM, &[0u8; 1]),
        Err(Error::PermissionDenied)
    ));
}

#[test]
fn concurrent_uses_never_exceed_the_limit() {
    let m = Arc::new(manager());
    let id = limited_key(&m, 40, UsageLimitsUnit::Object);
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (m, id) = (Arc::clone(&m), id.clone());
            std::thread::spawn(move || {
                (0..10)
                    .filter(|_| match m.encrypt(&alice(), &id, &GCM, b"x") {
                        Ok(_) => true,
                        Err(Error::PermissionDenied) => false,
                        Err(e) => panic!("unexpected {e}"),
                    })
                    .count()
            })
        })
        .collect();
    let allowed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(allowed, 40);
    assert_eq!(remaining(&m, &id), 0);
}

#[test]
fn the_client_sets_the_total_and_the_count_starts_over() {
    let m = manager();
    let id = limited_key(&m, 2, UsageLimitsUnit::Object);
    m.encrypt(&alice(), &id, &GCM, b"x").unwrap();
    assert_eq!(remaining(&m, &id), 1);
    m.set_attribute(
        &alice(),
        &id,
        Attribute::UsageLimits(UsageLimits {
            total: 5,
            count: 0,
            unit: UsageLimitsUnit::Object,
        }),
    )
    .unwrap();
    assert_eq!(remaining(&m, &id), 5);
}

#[test]
fn a_use_the_backend_refuses_is_given_back() {
    let m = manager();
    let id = limited_key(&m, 3, UsageLimitsUnit::Object);
    m.encrypt(&alice(), &id, &GCM, b"x").unwrap();
    assert_eq!(remaining(&m, &id), 2);
    // A 5-byte GCM IV passes the manager's checks and is refused by the backend.
    let bad_iv = CipherParams::AesGcm {
        iv: Some(&[1u8; 5]),
        aad: b"",
        tag_len: 16,
    };
    for _ in 0..4 {
        assert!(matches!(
            m.encrypt(&alice(), &id, &bad_iv, b"x"),
            Err(Error::InvalidField(_))
        ));
    }
    assert_eq!(remaining(&m, &id), 2);
    // Giving back never raises the count above a total the client lowered meanwhile.
    m.set_attribute(
        &alice(),
        &id,
        Attribute::UsageLimits(UsageLimits {
            total: 1,
            count: 0,
            unit: UsageLimitsUnit::Object,
        }),
    )
    .unwrap();
    assert!(m.encrypt(&alice(), &id, &bad_iv, b"x").is_err());
    assert_eq!(remaining(&m, &id), 1);
    m.encrypt(&alice(), &id, &GCM, b"x").unwrap();
    assert_eq!(remaining(&m, &id), 0);
}
