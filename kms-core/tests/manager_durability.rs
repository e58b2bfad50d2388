//! Durability through the KeyManager on RedbStore: keys created, the manager and store dropped, the store reopened
//! from its directory: every key is there, with its attributes, and decrypts/verifies what it produced before.
#![cfg(feature = "redb")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use kms_core::backend::{CipherParams, HashingAlgorithm, SignInput, SignatureAlgorithm};
use kms_core::manager::CreateKeyPairRequest;
use kms_core::object::{CryptographicAlgorithm, Name, RecommendedCurve, UsageMask};
use kms_core::store::LocateQuery;
use kms_core::{Attributes, KeyManager, ObjectId, Principal, RedbStore, SoftwareBackend, State};

fn manager(dir: &std::path::Path) -> KeyManager {
    KeyManager::builder(Arc::new(RedbStore::open(dir).unwrap()))
        .backend(Arc::new(SoftwareBackend::new()))
        .build()
        .unwrap()
}

#[test]
fn keys_survive_dropping_and_reopening_the_manager() {
    const N: usize = 24;
    let dir = tempfile::tempdir().unwrap();
    let alice = Principal::new("alice").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let mut sealed = Vec::new();
    let signing;
    let signature;
    {
        let m = manager(dir.path());
        for i in 0..N {
            let mut a = Attributes::default();
            a.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
            a.cryptographic_length = Some(256);
            a.activation_date = Some(now);
            a.names = vec![Name::text(format!("key-{i}"))];
            let id = m.create(&alice, a).unwrap();
            let ct = m
                .encrypt(
                    &alice,
                    &id,
                    &CipherParams::AesGcm {
                        iv: None,
                        aad: b"aad",
                        tag_len: 16,
                    },
                    format!("message {i}").as_bytes(),
                )
                .unwrap();
            sealed.push((id, ct));
        }
        let mut common = Attributes::default();
        common.cryptographic_algorithm = Some(CryptographicAlgorithm::Ec);
        common.recommended_curve = Some(RecommendedCurve::P256);
        common.activation_date = Some(now);
        signing = m
            .create_key_pair(
                &alice,
                CreateKeyPairRequest {
                    common_attributes: common,
                    ..Default::default()
                },
            )
            .unwrap();
        signature = m
            .sign(
                &alice,
                &signing.private_key,
                SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
                SignInput::Message(b"durable"),
            )
            .unwrap();
        // Revoke one key so that a state change must survive too.
        m.revoke(
            &alice,
            &sealed[0].0,
            kms_core::object::RevocationReason {
                code: kms_core::object::RevocationReasonCode::Superseded,
                message: None,
            },
            None,
        )
        .unwrap();
    }

    let m = manager(dir.path());
    assert_eq!(
        m.locate(&alice, &LocateQuery::default())
            .unwrap()
            .located_items,
        N + 2
    );
    for (i, (id, ct)) in sealed.iter().enumerate() {
        let meta = m.metadata(&alice, id).unwrap();
        assert_eq!(meta.attributes.names, vec![Name::text(format!("key-{i}"))]);
        assert_eq!(
            meta.state,
            if i == 0 {
                State::Deactivated
            } else {
                State::Active
            }
        );
        assert!(
            meta.attributes
                .cryptographic_usage_mask
                .unwrap()
                .contains(UsageMask::DECRYPT)
        );
        let pt = m
            .decrypt(
                &alice,
                id,
                &CipherParams::AesGcm {
                    iv: ct.iv.as_deref(),
                    aad: b"aad",
                    tag_len: 16,
                },
                &ct.data,
                ct.tag.as_deref(),
            )
            .unwrap();
        assert_eq!(&pt[..], format!("message {i}").as_bytes());
    }
    m.verify(
        &alice,
        &signing.public_key,
        SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
        SignInput::Message(b"durable"),
        &signature,
    )
    .unwrap();
    let by_name = LocateQuery {
        name: Some("key-7".into()),
        ..LocateQuery::default()
    };
    let found: Vec<ObjectId> = m.locate(&alice, &by_name).unwrap().ids;
    assert_eq!(found, vec![sealed[7].0.clone()]);
    // Nothing is missing in the backend after the reopen.
    assert!(m.reconcile(Default::default()).unwrap().is_empty());
}
