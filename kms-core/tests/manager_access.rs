//! Access control: a second identity cannot see, use, change or destroy the first one's objects, and the answer is
//! the one a missing object gets (same error, same audit outcome).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kms_core::audit::Outcome;
use kms_core::backend::{
    CipherParams, HashingAlgorithm, SignInput, SignatureAlgorithm, WrapAlgorithm,
};
use kms_core::manager::{
    Attribute, AttributeName, CheckRequest, CreateKeyPairRequest, DerivationMethod, GetRequest,
    KeyWrappingSpec,
};
use kms_core::object::{Name, RevocationReason, RevocationReasonCode, Rights};
use kms_core::store::LocateQuery;
use kms_core::{Error, ObjectId, Principal};

const GCM: CipherParams<'static> = CipherParams::AesGcm {
    iv: None,
    aad: b"",
    tag_len: 16,
};

/// Every operation that names an object, as `who` on `id`; the results' errors.
fn every_operation(
    f: &Fixture,
    who: &Principal,
    id: &ObjectId,
    private: &ObjectId,
) -> Vec<(&'static str, Result<(), Error>)> {
    let m = &f.manager;
    let reason = RevocationReason {
        code: RevocationReasonCode::Unspecified,
        message: None,
    };
    let ecdsa = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);
    vec![
        ("get", m.get(who, id, &GetRequest::default()).map(|_| ())),
        ("metadata", m.metadata(who, id).map(|_| ())),
        ("get_attributes", m.get_attributes(who, id, &[]).map(|_| ())),
        (
            "get_attribute_list",
            m.get_attribute_list(who, id).map(|_| ()),
        ),
        (
            "add_attribute",
            m.add_attribute(who, id, Attribute::ObjectGroup("x".into())),
        ),
        (
            "set_attribute",
            m.set_attribute(who, id, Attribute::Comment("x".into())),
        ),
        (
            "modify_attribute",
            m.modify_attribute(who, id, None, Attribute::Comment("y".into())),
        ),
        (
            "delete_attribute",
            m.delete_attribute(who, id, AttributeName::Name, None),
        ),
        ("activate", m.activate(who, id)),
        ("revoke", m.revoke(who, id, reason, None)),
        ("destroy", m.destroy(who, id)),
        ("rekey", m.rekey(who, id, None).map(|_| ())),
        (
            "rekey_key_pair",
            m.rekey_key_pair(who, private, None).map(|_| ()),
        ),
        ("encrypt", m.encrypt(who, id, &GCM, b"x").map(|_| ())),
        (
            "decrypt",
            m.decrypt(who, id, &GCM, b"x", Some(&[0; 16])).map(|_| ()),
        ),
        (
            "sign",
            m.sign(who, private, ecdsa, SignInput::Message(b"x"))
                .map(|_| ()),
        ),
        (
            "verify",
            m.verify(who, private, ecdsa, SignInput::Message(b"x"), b"sig")
                .map(|_| ()),
        ),
        (
            "mac",
            m.mac(who, id, Some(HashingAlgorithm::Sha256), b"x")
                .map(|_| ()),
        ),
        (
            "mac_verify",
            m.mac_verify(who, id, Some(HashingAlgorithm::Sha256), b"x", b"m")
                .map(|_| ()),
        ),
        (
            "wrap (target)",
            m.wrap(who, id, WrapAlgorithm::AesKeyWrap, id).map(|_| ()),
        ),
        (
            "get wrapped",
            m.get(
                who,
                id,
                &GetRequest {
                    key_wrapping: Some(KeyWrappingSpec {
                        wrapping_key_id: id.clone(),
                        algorithm: WrapAlgorithm::AesKeyWrap,
                    }),
                },
            )
            .map(|_| ()),
        ),
        (
            "unwrap",
            m.unwrap(
                who,
                id,
                WrapAlgorithm::AesKeyWrap,
                &[0; 24],
                kms_core::ObjectType::SymmetricKey,
                aes(128),
            )
            .map(|_| ()),
        ),
        (
            "derive",
            m.derive(
                who,
                id,
                &DerivationMethod::Hkdf {
                    hash: HashingAlgorithm::Sha256,
                    salt: vec![],
                    info: vec![],
                },
                aes(128),
            )
            .map(|_| ()),
        ),
        ("check", m.check(who, id, &CheckRequest::default())),
        ("grant", m.grant(who, id, "mallory", Rights::all())),
        (
            "revoke_grant",
            m.revoke_grant(who, id, "alice", Rights::all()),
        ),
    ]
}

#[test]
fn a_second_identity_gets_item_not_found_for_everything_and_nothing_changes() {
    let f = fixture();
    let mut a = aes(256);
    a.names = vec![Name::text("alice-key")];
    a.activation_date = Some(t0());
    let id = f.manager.create(&alice(), a).unwrap();
    let mut c = ec_p256();
    c.activation_date = Some(t0());
    let pair = f
        .manager
        .create_key_pair(
            &alice(),
            CreateKeyPairRequest {
                common_attributes: c,
                ..Default::default()
            },
        )
        .unwrap();
    let before = f.snapshot();
    let keys_before = f.backend.live_keys();
    let _ = f.audit.take();

    for (op, result) in every_operation(&f, &bob(), &id, &pair.private_key) {
        assert!(
            matches!(result, Err(Error::ItemNotFound)),
            "{op}: {result:?}"
        );
    }
    let bob_events = f.audit.take();
    // Same operations on ids that do not exist: the same errors and the same audit outcomes.
    let missing = ObjectId::random();
    let missing_private = ObjectId::random();
    for (op, result) in every_operation(&f, &bob(), &missing, &missing_private) {
        assert!(
            matches!(result, Err(Error::ItemNotFound)),
            "{op} on a missing id: {result:?}"
        );
    }
    let missing_events = f.audit.take();
    assert_eq!(bob_events.len(), missing_events.len());
    for (a, b) in bob_events.iter().zip(&missing_events) {
        assert_eq!((a.operation, a.outcome), (b.operation, b.outcome));
        assert_eq!(
            a.outcome,
            Outcome::Failure(kms_core::ResultReason::ItemNotFound)
        );
    }

    // Locate shows bob nothing of alice's, even by name.
    assert!(
        f.manager
            .locate(&bob(), &LocateQuery::default())
            .unwrap()
            .ids
            .is_empty()
    );
    let by_name = LocateQuery {
        name: Some("alice-key".into()),
        ..LocateQuery::default()
    };
    assert!(f.manager.locate(&bob(), &by_name).unwrap().ids.is_empty());
    assert_eq!(
        f.manager.locate(&alice(), &by_name).unwrap().ids,
        vec![id.clone()]
    );

    assert_eq!(f.snapshot(), before, "a refused caller changed nothing");
    assert_eq!(f.backend.live_keys(), keys_before);
    // And alice still uses her key.
    f.manager.encrypt(&alice(), &id, &GCM, b"x").unwrap();
}

#[test]
fn administrators_see_and_manage_everything() {
    let f = fixture();
    let id = active_aes(&f, &alice());
    f.manager
        .get(&admin(), &id, &GetRequest::default())
        .unwrap();
    f.manager.encrypt(&admin(), &id, &GCM, b"x").unwrap();
    f.manager.grant(&admin(), &id, "bob", Rights::READ).unwrap();
    f.manager
        .revoke(
            &admin(),
            &id,
            RevocationReason {
                code: RevocationReasonCode::Superseded,
                message: None,
            },
            None,
        )
        .unwrap();
    f.manager.destroy(&admin(), &id).unwrap();
    assert_eq!(f.stored(&id).metadata.owner, "alice", "the owner stays");
}

#[test]
fn a_use_grant_does_not_allow_export_even_wrapped() {
    let f = fixture();
    let kek = active_aes(&f, &bob());
    let secret = active_aes(&f, &alice());
    f.manager
        .grant(&alice(), &secret, "bob", Rights::USE)
        .unwrap();
    let spec = KeyWrappingSpec {
        wrapping_key_id: kek.clone(),
        algorithm: WrapAlgorithm::AesKeyWrap,
    };
    assert!(matches!(
        f.manager.get(
            &bob(),
            &secret,
            &GetRequest {
                key_wrapping: Some(spec)
            }
        ),
        Err(Error::ItemNotFound)
    ));
    assert!(matches!(
        f.manager
            .wrap(&bob(), &kek, WrapAlgorithm::AesKeyWrap, &secret),
        Err(Error::ItemNotFound)
    ));
    // Nor can alice wrap her key under bob's key, which she cannot see.
    assert!(matches!(
        f.manager
            .wrap(&alice(), &kek, WrapAlgorithm::AesKeyWrap, &secret),
        Err(Error::ItemNotFound)
    ));
}
