//! Every KeyManager operation's happy path, over MemoryStore and the SoftwareBackend.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kms_core::backend::{
    CipherParams, HashingAlgorithm, SignInput, SignatureAlgorithm, WrapAlgorithm,
};
use kms_core::manager::{
    Attribute, AttributeName, CheckRequest, CreateKeyPairRequest, DerivationMethod, ExportedKey,
    GetRequest, KeyWrappingSpec, ReconcileOptions,
};
use kms_core::object::{
    CryptographicAlgorithm, LinkType, Name, RevocationReason, RevocationReasonCode, Rights,
    UsageMask,
};
use kms_core::store::LocateQuery;
use kms_core::{Attributes, Error, KeyFormat, ObjectType, State};

fn gcm<'a>(iv: Option<&'a [u8]>, aad: &'a [u8]) -> CipherParams<'a> {
    CipherParams::AesGcm {
        iv,
        aad,
        tag_len: 16,
    }
}

#[test]
fn create_sets_dates_and_pre_active_until_activated() {
    let f = fixture();
    let id = f.manager.create(&alice(), aes(256)).unwrap();
    let m = f.manager.metadata(&alice(), &id).unwrap();
    assert_eq!(m.state, State::PreActive);
    assert_eq!(m.object_type, ObjectType::SymmetricKey);
    assert_eq!(m.owner, "alice");
    assert_eq!(m.attributes.initial_date, Some(t0()));
    assert_eq!(
        m.attributes.cryptographic_usage_mask,
        Some(UsageMask::ENCRYPT | UsageMask::DECRYPT | UsageMask::WRAP_KEY | UsageMask::UNWRAP_KEY)
    );
    f.clock.advance(time::Duration::seconds(5));
    f.manager.activate(&alice(), &id).unwrap();
    let m = f.manager.metadata(&alice(), &id).unwrap();
    assert_eq!(m.state, State::Active);
    assert_eq!(
        m.attributes.activation_date,
        Some(t0() + time::Duration::seconds(5))
    );
    assert_eq!(
        m.attributes.last_change_date,
        Some(t0() + time::Duration::seconds(5))
    );
}

#[test]
fn activation_date_not_in_future_gives_active_and_dates_are_honoured_on_read() {
    let f = fixture();
    let mut a = aes(128);
    a.activation_date = Some(t0());
    let now_active = f.manager.create(&alice(), a).unwrap();
    assert_eq!(
        f.manager.metadata(&alice(), &now_active).unwrap().state,
        State::Active
    );

    let mut a = aes(128);
    a.activation_date = Some(t0() + time::Duration::hours(1));
    a.deactivation_date = Some(t0() + time::Duration::hours(2));
    let later = f.manager.create(&alice(), a).unwrap();
    assert_eq!(
        f.manager.metadata(&alice(), &later).unwrap().state,
        State::PreActive
    );
    assert!(matches!(
        f.manager.encrypt(&alice(), &later, &gcm(None, b""), b"x"),
        Err(Error::WrongKeyLifecycleState(State::PreActive))
    ));
    f.clock.advance(time::Duration::minutes(90));
    assert_eq!(
        f.manager.metadata(&alice(), &later).unwrap().state,
        State::Active
    );
    let ct = f
        .manager
        .encrypt(&alice(), &later, &gcm(None, b""), b"x")
        .unwrap();
    f.clock.advance(time::Duration::hours(1));
    assert_eq!(
        f.manager.metadata(&alice(), &later).unwrap().state,
        State::Deactivated
    );
    // Deactivated: no more protection, but processing still works.
    assert!(matches!(
        f.manager.encrypt(&alice(), &later, &gcm(None, b""), b"x"),
        Err(Error::WrongKeyLifecycleState(State::Deactivated))
    ));
    let pt = f
        .manager
        .decrypt(
            &alice(),
            &later,
            &gcm(ct.iv.as_deref(), b""),
            &ct.data,
            ct.tag.as_deref(),
        )
        .unwrap();
    assert_eq!(&pt[..], b"x");
    // Locate by state sees the date-driven state.
    let q = LocateQuery {
        state: Some(State::Deactivated),
        ..LocateQuery::default()
    };
    assert_eq!(f.manager.locate(&alice(), &q).unwrap().ids, vec![later]);
}

#[test]
fn aes_gcm_encrypt_decrypt_round_trip_with_aad() {
    let f = fixture();
    let id = active_aes(&f, &alice());
    let ct = f
        .manager
        .encrypt(&alice(), &id, &gcm(None, b"hdr"), b"secret message")
        .unwrap();
    assert_ne!(ct.data, b"secret message");
    let pt = f
        .manager
        .decrypt(
            &alice(),
            &id,
            &gcm(ct.iv.as_deref(), b"hdr"),
            &ct.data,
            ct.tag.as_deref(),
        )
        .unwrap();
    assert_eq!(&pt[..], b"secret message");
}

#[test]
fn ec_and_rsa_key_pairs_sign_verify_and_are_linked() {
    let f = fixture();
    let mut common = ec_p256();
    common.activation_date = Some(t0());
    let pair = f
        .manager
        .create_key_pair(
            &alice(),
            CreateKeyPairRequest {
                common_attributes: common,
                ..Default::default()
            },
        )
        .unwrap();
    let private = f.manager.metadata(&alice(), &pair.private_key).unwrap();
    let public = f.manager.metadata(&alice(), &pair.public_key).unwrap();
    assert_eq!(private.object_type, ObjectType::PrivateKey);
    assert_eq!(public.object_type, ObjectType::PublicKey);
    assert_eq!(private.attributes.cryptographic_length, Some(256));
    assert!(
        private.attributes.links.iter().any(
            |l| l.link_type == LinkType::PublicKeyLink && l.linked_object_id == pair.public_key
        )
    );
    assert!(
        public
            .attributes
            .links
            .iter()
            .any(|l| l.link_type == LinkType::PrivateKeyLink
                && l.linked_object_id == pair.private_key)
    );
    let alg = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);
    let sig = f
        .manager
        .sign(&alice(), &pair.private_key, alg, SignInput::Message(b"m"))
        .unwrap();
    f.manager
        .verify(
            &alice(),
            &pair.public_key,
            alg,
            SignInput::Message(b"m"),
            &sig,
        )
        .unwrap();
    assert!(matches!(
        f.manager.verify(
            &alice(),
            &pair.public_key,
            alg,
            SignInput::Message(b"n"),
            &sig
        ),
        Err(Error::CryptographicFailure)
    ));

    let mut common = rsa(2048);
    common.activation_date = Some(t0());
    let pair = f
        .manager
        .create_key_pair(
            &alice(),
            CreateKeyPairRequest {
                common_attributes: common,
                ..Default::default()
            },
        )
        .unwrap();
    let alg = SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256);
    let sig = f
        .manager
        .sign(&alice(), &pair.private_key, alg, SignInput::Message(b"m"))
        .unwrap();
    f.manager
        .verify(
            &alice(),
            &pair.public_key,
            alg,
            SignInput::Message(b"m"),
            &sig,
        )
        .unwrap();
    // RSA-OAEP: encrypt with the public key, decrypt with the private key.
    let oaep = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha256,
        mgf1_hash: HashingAlgorithm::Sha256,
        label: None,
    };
    let ct = f
        .manager
        .encrypt(&alice(), &pair.public_key, &oaep, b"k")
        .unwrap();
    let pt = f
        .manager
        .decrypt(&alice(), &pair.private_key, &oaep, &ct.data, None)
        .unwrap();
    assert_eq!(&pt[..], b"k");
}

#[test]
fn hmac_mac_and_verify() {
    let f = fixture();
    let mut a = hmac256();
    a.activation_date = Some(t0());
    let id = f.manager.create(&alice(), a).unwrap();
    let mac = f.manager.mac(&alice(), &id, None, b"data").unwrap();
    assert_eq!(mac.len(), 32);
    f.manager
        .mac_verify(&alice(), &id, None, b"data", &mac)
        .unwrap();
    assert!(matches!(
        f.manager.mac_verify(&alice(), &id, None, b"datA", &mac),
        Err(Error::CryptographicFailure)
    ));
    assert!(matches!(
        f.manager
            .mac(&alice(), &id, Some(HashingAlgorithm::Sha512), b"data"),
        Err(Error::BadCryptographicParameters(_))
    ));
}

#[test]
fn register_every_object_type_and_get_back() {
    let f = fixture();
    let mut a = aes(0);
    a.cryptographic_length = None;
    let key = [7u8; 32];
    let sym = f
        .manager
        .register(&alice(), ObjectType::SymmetricKey, raw(&key), a)
        .unwrap();
    assert_eq!(
        f.manager
            .metadata(&alice(), &sym)
            .unwrap()
            .attributes
            .cryptographic_length,
        Some(256)
    );
    let got = f
        .manager
        .get(&alice(), &sym, &GetRequest::default())
        .unwrap();
    match got.key {
        ExportedKey::Plain(m) => {
            assert_eq!(m.format(), KeyFormat::Raw);
            assert_eq!(m.bytes(), &key);
        }
        ExportedKey::Wrapped { .. } => panic!("asked for plaintext"),
    }
    for (t, bytes) in [
        (ObjectType::SecretData, b"password".as_slice()),
        (ObjectType::OpaqueObject, b"\x00\x01opaque".as_slice()),
    ] {
        let id = f
            .manager
            .register(&alice(), t, raw(bytes), Attributes::default())
            .unwrap();
        let got = f
            .manager
            .get(&alice(), &id, &GetRequest::default())
            .unwrap();
        assert_eq!(got.object_type, t);
        let ExportedKey::Plain(m) = got.key else {
            panic!()
        };
        assert_eq!(m.bytes(), bytes);
    }
    // Public and private keys and a certificate: take them from a generated pair exported in plaintext.
    let pair = f
        .manager
        .create_key_pair(
            &alice(),
            CreateKeyPairRequest {
                common_attributes: ec_p256(),
                ..Default::default()
            },
        )
        .unwrap();
    let ExportedKey::Plain(private) = f
        .manager
        .get(&alice(), &pair.private_key, &GetRequest::default())
        .unwrap()
        .key
    else {
        panic!()
    };
    let ExportedKey::Plain(public) = f
        .manager
        .get(&alice(), &pair.public_key, &GetRequest::default())
        .unwrap()
        .key
    else {
        panic!()
    };
    assert_eq!(private.format(), KeyFormat::Pkcs8);
    assert_eq!(public.format(), KeyFormat::SubjectPublicKeyInfo);
    let mut ec = Attributes::default();
    ec.cryptographic_algorithm = Some(CryptographicAlgorithm::Ec);
    let p = f
        .manager
        .register(&bob(), ObjectType::PrivateKey, private, ec.clone())
        .unwrap();
    let q = f
        .manager
        .register(&bob(), ObjectType::PublicKey, public, ec)
        .unwrap();
    assert_eq!(
        f.manager.metadata(&bob(), &p).unwrap().object_type,
        ObjectType::PrivateKey
    );
    assert_eq!(
        f.manager.metadata(&bob(), &q).unwrap().object_type,
        ObjectType::PublicKey
    );
    let cert = include_bytes!("vectors/manager/p256-self-signed.der");
    let c = f
        .manager
        .register(
            &bob(),
            ObjectType::Certificate,
            kms_core::KeyMaterial::new(
                KeyFormat::X509Certificate,
                zeroize::Zeroizing::new(cert.to_vec()),
            ),
            Attributes::default(),
        )
        .unwrap();
    let ExportedKey::Plain(m) = f
        .manager
        .get(&bob(), &c, &GetRequest::default())
        .unwrap()
        .key
    else {
        panic!()
    };
    assert_eq!(m.bytes(), cert);
}

#[test]
fn get_wrapped_under_aes_kw_and_unwrap_into_a_new_object() {
    let f = fixture();
    let kek = active_aes(&f, &alice());
    let mut a = aes(128);
    a.sensitive = true; // sensitive keys leave only wrapped
    let target = f.manager.create(&alice(), a).unwrap();
    assert!(matches!(
        f.manager.get(&alice(), &target, &GetRequest::default()),
        Err(Error::Sensitive)
    ));
    let spec = KeyWrappingSpec {
        wrapping_key_id: kek.clone(),
        algorithm: WrapAlgorithm::AesKeyWrap,
    };
    let got = f
        .manager
        .get(
            &alice(),
            &target,
            &GetRequest {
                key_wrapping: Some(spec),
            },
        )
        .unwrap();
    let ExportedKey::Wrapped { bytes, format, .. } = got.key else {
        panic!("asked for wrapped")
    };
    assert_eq!(format, KeyFormat::Raw);
    assert_eq!(bytes.len(), 16 + 8);
    assert_eq!(
        f.manager
            .wrap(&alice(), &kek, WrapAlgorithm::AesKeyWrap, &target)
            .unwrap()
            .len(),
        24
    );

    let mut b = aes(128);
    b.activation_date = Some(t0());
    let copy = f
        .manager
        .unwrap(
            &alice(),
            &kek,
            WrapAlgorithm::AesKeyWrap,
            &bytes,
            ObjectType::SymmetricKey,
            b,
        )
        .unwrap();
    // The unwrapped copy decrypts what the original encrypts.
    f.manager.activate(&alice(), &target).unwrap();
    let ct = f
        .manager
        .encrypt(&alice(), &target, &gcm(None, b""), b"same key")
        .unwrap();
    let pt = f
        .manager
        .decrypt(
            &alice(),
            &copy,
            &gcm(ct.iv.as_deref(), b""),
            &ct.data,
            ct.tag.as_deref(),
        )
        .unwrap();
    assert_eq!(&pt[..], b"same key");
    // Tampered wrapping is the opaque failure.
    let mut bad = bytes.clone();
    bad[3] ^= 1;
    assert!(matches!(
        f.manager.unwrap(
            &alice(),
            &kek,
            WrapAlgorithm::AesKeyWrap,
            &bad,
            ObjectType::SymmetricKey,
            aes(128)
        ),
        Err(Error::CryptographicFailure)
    ));
}

#[test]
fn attribute_operations() {
    let f = fixture();
    let mut a = aes(256);
    a.names = vec![Name::text("payments")];
    let id = f.manager.create(&alice(), a).unwrap();
    let who = alice();

    let list = f.manager.get_attribute_list(&who, &id).unwrap();
    for n in [
        AttributeName::UniqueIdentifier,
        AttributeName::State,
        AttributeName::Name,
        AttributeName::InitialDate,
    ] {
        assert!(list.contains(&n), "{n:?}");
    }
    assert_eq!(
        f.manager
            .get_attributes(
                &who,
                &id,
                &[AttributeName::CryptographicLength, AttributeName::Comment]
            )
            .unwrap(),
        vec![Attribute::CryptographicLength(256)]
    );

    f.manager
        .add_attribute(&who, &id, Attribute::Name(Name::text("payments-2026")))
        .unwrap();
    f.manager
        .add_attribute(&who, &id, Attribute::ObjectGroup("finance".into()))
        .unwrap();
    f.manager
        .add_attribute(&who, &id, Attribute::Comment("first".into()))
        .unwrap();
    assert!(matches!(
        f.manager
            .add_attribute(&who, &id, Attribute::Comment("again".into())),
        Err(Error::AttributeSingleValued(_))
    ));
    f.manager
        .set_attribute(&who, &id, Attribute::Comment("second".into()))
        .unwrap();
    assert!(matches!(
        f.manager
            .set_attribute(&who, &id, Attribute::Name(Name::text("x"))),
        Err(Error::MultiValuedAttribute(_))
    ));
    f.manager
        .modify_attribute(
            &who,
            &id,
            Some(Attribute::Name(Name::text("payments"))),
            Attribute::Name(Name::text("payments-old")),
        )
        .unwrap();
    f.manager
        .modify_attribute(&who, &id, None, Attribute::Comment("third".into()))
        .unwrap();
    f.manager
        .set_attribute(
            &who,
            &id,
            Attribute::Custom(
                "x-team".into(),
                kms_core::object::AttributeValue::Text("core".into()),
            ),
        )
        .unwrap();

    let m = f.manager.metadata(&who, &id).unwrap();
    assert_eq!(
        m.attributes.names,
        vec![Name::text("payments-2026"), Name::text("payments-old")]
    );
    assert_eq!(m.attributes.object_groups, vec!["finance".to_owned()]);
    assert_eq!(m.attributes.comment.as_deref(), Some("third"));
    assert!(m.attributes.custom.contains_key("x-team"));

    f.manager
        .delete_attribute(
            &who,
            &id,
            AttributeName::Name,
            Some(Attribute::Name(Name::text("payments-old"))),
        )
        .unwrap();
    f.manager
        .delete_attribute(&who, &id, AttributeName::Comment, None)
        .unwrap();
    f.manager
        .delete_attribute(&who, &id, AttributeName::Custom("x-team".into()), None)
        .unwrap();
    assert!(matches!(
        f.manager
            .delete_attribute(&who, &id, AttributeName::Comment, None),
        Err(Error::AttributeNotFound(_))
    ));
    let m = f.manager.metadata(&who, &id).unwrap();
    assert_eq!(m.attributes.names, vec![Name::text("payments-2026")]);
    assert!(m.attributes.comment.is_none() && m.attributes.custom.is_empty());

    // Setting the Activation Date to now activates a Pre-Active key.
    f.manager
        .set_attribute(&who, &id, Attribute::ActivationDate(t0()))
        .unwrap();
    assert_eq!(f.manager.metadata(&who, &id).unwrap().state, State::Active);
    assert!(matches!(
        f.manager
            .set_attribute(&who, &id, Attribute::ActivationDate(t0())),
        Err(Error::WrongKeyLifecycleState(State::Active))
    ));
}

#[test]
fn names_are_unique_per_owner_among_live_objects() {
    let f = fixture();
    let mut a = aes(256);
    a.names = vec![Name::text("db")];
    let first = f.manager.create(&alice(), a.clone()).unwrap();
    assert!(matches!(
        f.manager.create(&alice(), a.clone()),
        Err(Error::NonUniqueNameAttribute)
    ));
    // Another owner may use the name.
    f.manager.create(&bob(), a.clone()).unwrap();
    let other = f.manager.create(&alice(), aes(128)).unwrap();
    assert!(matches!(
        f.manager
            .add_attribute(&alice(), &other, Attribute::Name(Name::text("db"))),
        Err(Error::NonUniqueNameAttribute)
    ));
    // Once the first is destroyed, the name is free again.
    f.manager.destroy(&alice(), &first).unwrap();
    f.manager.create(&alice(), a).unwrap();
}

#[test]
fn locate_filters_offset_and_max_items() {
    let f = fixture();
    let mut ids = Vec::new();
    for i in 0..5u32 {
        let mut a = aes(if i % 2 == 0 { 256 } else { 128 });
        a.object_groups = vec!["g".into()];
        ids.push(f.manager.create(&alice(), a).unwrap());
    }
    f.manager.create(&bob(), aes(256)).unwrap();
    let q = LocateQuery {
        length: Some(256),
        ..LocateQuery::default()
    };
    let found = f.manager.locate(&alice(), &q).unwrap();
    assert_eq!(
        found.ids,
        vec![ids[0].clone(), ids[2].clone(), ids[4].clone()]
    );
    assert_eq!(found.located_items, 3);
    let q = LocateQuery {
        object_group: Some("g".into()),
        offset: 1,
        max_items: Some(2),
        ..LocateQuery::default()
    };
    let found = f.manager.locate(&alice(), &q).unwrap();
    assert_eq!(found.ids, ids[1..3].to_vec());
    assert_eq!(found.located_items, 5);
    // Administrators see everything; visible_to set by the caller is ignored.
    let q = LocateQuery {
        visible_to: Some("bob".into()),
        ..LocateQuery::default()
    };
    assert_eq!(f.manager.locate(&admin(), &q).unwrap().located_items, 6);
    assert_eq!(f.manager.locate(&alice(), &q).unwrap().located_items, 5);
}

#[test]
fn revoke_and_destroy_follow_the_table_and_set_dates() {
    let f = fixture();
    let id = active_aes(&f, &alice());
    f.clock.advance(time::Duration::seconds(10));
    let reason = RevocationReason {
        code: RevocationReasonCode::CessationOfOperation,
        message: Some("retired".into()),
    };
    f.manager
        .revoke(&alice(), &id, reason.clone(), None)
        .unwrap();
    let m = f.manager.metadata(&alice(), &id).unwrap();
    assert_eq!(m.state, State::Deactivated);
    assert_eq!(
        m.attributes.deactivation_date,
        Some(t0() + time::Duration::seconds(10))
    );
    assert_eq!(m.attributes.revocation_reason, Some(reason));
    f.manager.destroy(&alice(), &id).unwrap();
    let stored = f.stored(&id);
    assert_eq!(stored.metadata.state, State::Destroyed);
    assert!(stored.key.is_none(), "destroy drops the key value");
    assert_eq!(
        stored.metadata.attributes.destroy_date,
        Some(t0() + time::Duration::seconds(10))
    );
    assert!(matches!(
        f.manager.get(&alice(), &id, &GetRequest::default()),
        Err(Error::ObjectDestroyed)
    ));
    // A destroyed key can still be reported compromised.
    let occurred = t0() - time::Duration::days(3);
    let compromise = RevocationReason {
        code: RevocationReasonCode::KeyCompromise,
        message: None,
    };
    f.manager
        .revoke(&alice(), &id, compromise, Some(occurred))
        .unwrap();
    let m = f.manager.metadata(&alice(), &id).unwrap();
    assert_eq!(m.state, State::DestroyedCompromised);
    assert_eq!(m.attributes.compromise_occurrence_date, Some(occurred));
    assert_eq!(
        m.attributes.compromise_date,
        Some(t0() + time::Duration::seconds(10))
    );
    assert_eq!(f.backend.live_keys(), 0);
}

#[test]
fn compromised_key_still_decrypts_but_does_not_encrypt() {
    let f = fixture();
    let id = active_aes(&f, &alice());
    let ct = f
        .manager
        .encrypt(&alice(), &id, &gcm(None, b""), b"old data")
        .unwrap();
    let compromise = RevocationReason {
        code: RevocationReasonCode::KeyCompromise,
        message: None,
    };
    f.manager.revoke(&alice(), &id, compromise, None).unwrap();
    assert_eq!(
        f.manager.metadata(&alice(), &id).unwrap().state,
        State::Compromised
    );
    assert!(
        f.manager
            .encrypt(&alice(), &id, &gcm(None, b""), b"x")
            .is_err()
    );
    let pt = f
        .manager
        .decrypt(
            &alice(),
            &id,
            &gcm(ct.iv.as_deref(), b""),
            &ct.data,
            ct.tag.as_deref(),
        )
        .unwrap();
    assert_eq!(&pt[..], b"old data");
}

#[test]
fn rekey_links_moves_names_and_keeps_attributes() {
    let f = fixture();
    let mut a = aes(192);
    a.names = vec![Name::text("orders")];
    a.object_groups = vec!["shop".into()];
    a.activation_date = Some(t0());
    a.deactivation_date = Some(t0() + time::Duration::days(30));
    let old = f.manager.create(&alice(), a).unwrap();
    f.clock.advance(time::Duration::days(1));
    let new = f.manager.rekey(&alice(), &old, None).unwrap();
    let o = f.manager.metadata(&alice(), &old).unwrap();
    let n = f.manager.metadata(&alice(), &new).unwrap();
    assert!(o.attributes.names.is_empty());
    assert_eq!(n.attributes.names, vec![Name::text("orders")]);
    assert_eq!(n.attributes.object_groups, vec!["shop".to_owned()]);
    assert_eq!(n.attributes.cryptographic_length, Some(192));
    assert_eq!(
        n.attributes.initial_date,
        Some(t0() + time::Duration::days(1))
    );
    assert_eq!(
        n.attributes.activation_date,
        Some(t0() + time::Duration::days(1))
    );
    assert_eq!(
        n.attributes.deactivation_date,
        Some(t0() + time::Duration::days(31))
    );
    assert_eq!(n.state, State::Active);
    assert!(
        o.attributes
            .links
            .iter()
            .any(|l| l.link_type == LinkType::ReplacementObjectLink && l.linked_object_id == new)
    );
    assert!(
        n.attributes
            .links
            .iter()
            .any(|l| l.link_type == LinkType::ReplacedObjectLink && l.linked_object_id == old)
    );
    // A different key.
    let ExportedKey::Plain(k1) = f
        .manager
        .get(&alice(), &old, &GetRequest::default())
        .unwrap()
        .key
    else {
        panic!()
    };
    let ExportedKey::Plain(k2) = f
        .manager
        .get(&alice(), &new, &GetRequest::default())
        .unwrap()
        .key
    else {
        panic!()
    };
    assert_ne!(k1.bytes(), k2.bytes());
    // With an offset, the new key waits.
    let later = f
        .manager
        .rekey(&alice(), &new, Some(time::Duration::hours(1)))
        .unwrap();
    assert_eq!(
        f.manager.metadata(&alice(), &later).unwrap().state,
        State::PreActive
    );
}

#[test]
fn rekey_key_pair_makes_a_linked_pair() {
    let f = fixture();
    let mut private = Attributes::default();
    private.names = vec![Name::text("signing")];
    let pair = f
        .manager
        .create_key_pair(
            &alice(),
            CreateKeyPairRequest {
                common_attributes: ec_p256(),
                private_key_attributes: private,
                ..Default::default()
            },
        )
        .unwrap();
    let new = f
        .manager
        .rekey_key_pair(&alice(), &pair.private_key, None)
        .unwrap();
    let np = f.manager.metadata(&alice(), &new.private_key).unwrap();
    assert_eq!(np.attributes.names, vec![Name::text("signing")]);
    assert!(np.attributes.links.iter().any(|l| l.link_type == LinkType::PublicKeyLink && l.linked_object_id == new.public_key));
    assert!(
        np.attributes
            .links
            .iter()
            .any(|l| l.link_type == LinkType::ReplacedObjectLink
                && l.linked_object_id == pair.private_key)
    );
    let op = f.manager.metadata(&alice(), &pair.public_key).unwrap();
    assert!(
        op.attributes
            .links
            .iter()
            .any(|l| l.link_type == LinkType::ReplacementObjectLink
                && l.linked_object_id == new.public_key)
    );
    let alg = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);
    let sig = f
        .manager
        .sign(&alice(), &new.private_key, alg, SignInput::Message(b"m"))
        .unwrap();
    f.manager
        .verify(
            &alice(),
            &new.public_key,
            alg,
            SignInput::Message(b"m"),
            &sig,
        )
        .unwrap();
}

#[test]
fn derive_with_hkdf_and_pbkdf2() {
    let f = fixture();
    let mut base = aes(256);
    base.activation_date = Some(t0());
    base.cryptographic_usage_mask = Some(UsageMask::DERIVE_KEY);
    let base_id = f.manager.create(&alice(), base).unwrap();
    let method = DerivationMethod::Hkdf {
        hash: HashingAlgorithm::Sha256,
        salt: b"salt".to_vec(),
        info: b"ctx".to_vec(),
    };
    let mut target = aes(128);
    target.activation_date = Some(t0());
    let d1 = f
        .manager
        .derive(&alice(), &base_id, &method, target.clone())
        .unwrap();
    let d2 = f
        .manager
        .derive(&alice(), &base_id, &method, target.clone())
        .unwrap();
    let ExportedKey::Plain(k1) = f
        .manager
        .get(&alice(), &d1, &GetRequest::default())
        .unwrap()
        .key
    else {
        panic!()
    };
    let ExportedKey::Plain(k2) = f
        .manager
        .get(&alice(), &d2, &GetRequest::default())
        .unwrap()
        .key
    else {
        panic!()
    };
    assert_eq!(k1.bytes(), k2.bytes(), "same inputs, same key");
    assert_eq!(k1.bytes().len(), 16);
    let m = f.manager.metadata(&alice(), &d1).unwrap();
    assert!(m.attributes.links.iter().any(
        |l| l.link_type == LinkType::DerivationBaseObjectLink && l.linked_object_id == base_id
    ));
    let b = f.manager.metadata(&alice(), &base_id).unwrap();
    assert!(
        b.attributes
            .links
            .iter()
            .any(|l| l.link_type == LinkType::DerivedKeyLink && l.linked_object_id == d1)
    );
    f.manager
        .encrypt(&alice(), &d1, &gcm(None, b""), b"x")
        .unwrap();

    // PBKDF2 from a password held as Secret Data (default usage: Derive Key).
    let mut s = Attributes::default();
    s.activation_date = Some(t0());
    let password = f
        .manager
        .register(
            &alice(),
            kms_core::ObjectType::SecretData,
            raw(b"correct horse"),
            s,
        )
        .unwrap();
    let method = DerivationMethod::Pbkdf2 {
        hash: HashingAlgorithm::Sha256,
        salt: b"NaCl".to_vec(),
        iterations: 1000,
    };
    let d3 = f
        .manager
        .derive(&alice(), &password, &method, aes(256))
        .unwrap();
    let ExportedKey::Plain(k3) = f
        .manager
        .get(&alice(), &d3, &GetRequest::default())
        .unwrap()
        .key
    else {
        panic!()
    };
    let mut expected = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"correct horse", b"NaCl", 1000, &mut expected);
    assert_eq!(k3.bytes(), &expected);
}

#[test]
fn random_hash_and_check() {
    let f = fixture();
    let r = f.manager.random(&alice(), 32).unwrap();
    assert_eq!(r.len(), 32);
    assert_ne!(&r[..], &[0u8; 32]);
    // FIPS 180-2 "abc".
    assert_eq!(
        hex::encode(
            f.manager
                .hash(&alice(), HashingAlgorithm::Sha256, b"abc")
                .unwrap()
        ),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        f.manager
            .hash(&alice(), HashingAlgorithm::Sha384, b"abc")
            .unwrap()
            .len(),
        48
    );
    assert_eq!(
        f.manager
            .hash(&alice(), HashingAlgorithm::Sha512, b"abc")
            .unwrap()
            .len(),
        64
    );

    let id = active_aes(&f, &alice());
    f.manager
        .check(
            &alice(),
            &id,
            &CheckRequest {
                usage_mask: Some(UsageMask::ENCRYPT),
                cryptographic_length: Some(256),
            },
        )
        .unwrap();
    assert!(matches!(
        f.manager.check(
            &alice(),
            &id,
            &CheckRequest {
                usage_mask: Some(UsageMask::SIGN),
                ..Default::default()
            }
        ),
        Err(Error::IncompatibleCryptographicUsageMask(_))
    ));
    assert!(matches!(
        f.manager.check(
            &alice(),
            &id,
            &CheckRequest {
                cryptographic_length: Some(128),
                ..Default::default()
            }
        ),
        Err(Error::InvalidField(_))
    ));
}

#[test]
fn reconcile_reports_and_marks_records_whose_backend_key_vanished() {
    let f = fixture();
    let kept = f.manager.create(&alice(), aes(256)).unwrap();
    let lost = f.manager.create(&alice(), aes(256)).unwrap();
    f.backend.lose(f.stored(&lost).key.as_ref().unwrap());
    let missing = f.manager.reconcile(ReconcileOptions::default()).unwrap();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].id, lost);
    assert_eq!(f.stored(&lost).version, 1, "reporting only changes nothing");
    f.manager
        .reconcile(ReconcileOptions { mark: true })
        .unwrap();
    assert!(
        f.stored(&lost)
            .metadata
            .attributes
            .custom
            .contains_key("y-kms-backend-key-missing")
    );
    assert!(
        !f.stored(&kept)
            .metadata
            .attributes
            .custom
            .contains_key("y-kms-backend-key-missing")
    );
    // Clients cannot clear the mark.
    assert!(matches!(
        f.manager.delete_attribute(
            &alice(),
            &lost,
            AttributeName::Custom("y-kms-backend-key-missing".into()),
            None
        ),
        Err(Error::AttributeReadOnly(_))
    ));
}

#[test]
fn grants_give_exactly_the_granted_rights() {
    let f = fixture();
    let id = active_aes(&f, &alice());
    f.manager.grant(&alice(), &id, "bob", Rights::USE).unwrap();
    // USE: bob can encrypt, but not read, locate, modify or manage.
    let ct = f
        .manager
        .encrypt(&bob(), &id, &gcm(None, b""), b"for bob")
        .unwrap();
    f.manager
        .decrypt(
            &bob(),
            &id,
            &gcm(ct.iv.as_deref(), b""),
            &ct.data,
            ct.tag.as_deref(),
        )
        .unwrap();
    assert!(matches!(
        f.manager.get(&bob(), &id, &GetRequest::default()),
        Err(Error::ItemNotFound)
    ));
    assert!(
        f.manager
            .locate(&bob(), &LocateQuery::default())
            .unwrap()
            .ids
            .is_empty()
    );
    // READ added: bob sees it, and what he may not do is now a plain denial.
    f.manager.grant(&alice(), &id, "bob", Rights::READ).unwrap();
    assert_eq!(
        f.manager
            .locate(&bob(), &LocateQuery::default())
            .unwrap()
            .ids,
        vec![id.clone()]
    );
    f.manager.get(&bob(), &id, &GetRequest::default()).unwrap();
    assert!(matches!(
        f.manager
            .set_attribute(&bob(), &id, Attribute::Comment("bob was here".into())),
        Err(Error::PermissionDenied)
    ));
    assert!(matches!(
        f.manager.revoke(
            &bob(),
            &id,
            RevocationReason {
                code: RevocationReasonCode::Unspecified,
                message: None
            },
            None
        ),
        Err(Error::PermissionDenied)
    ));
    assert!(matches!(
        f.manager.grant(&bob(), &id, "carol", Rights::READ),
        Err(Error::PermissionDenied)
    ));
    f.manager
        .grant(&alice(), &id, "bob", Rights::MODIFY)
        .unwrap();
    f.manager
        .set_attribute(&bob(), &id, Attribute::Comment("bob was here".into()))
        .unwrap();
    // Taking USE back stops use at once.
    f.manager
        .revoke_grant(&alice(), &id, "bob", Rights::USE)
        .unwrap();
    assert!(matches!(
        f.manager.encrypt(&bob(), &id, &gcm(None, b""), b"x"),
        Err(Error::PermissionDenied)
    ));
    f.manager
        .revoke_grant(&alice(), &id, "bob", Rights::all())
        .unwrap();
    assert!(matches!(
        f.manager.get(&bob(), &id, &GetRequest::default()),
        Err(Error::ItemNotFound)
    ));
    assert!(f.stored(&id).metadata.grants.is_empty());
}

#[test]
fn key_manager_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<kms_core::KeyManager>();
}

#[test]
fn protect_stop_and_process_start_dates_narrow_use() {
    let f = fixture();
    let mut a = aes(256);
    a.activation_date = Some(t0());
    a.protect_stop_date = Some(t0() + time::Duration::hours(1));
    a.process_start_date = Some(t0() + time::Duration::minutes(1));
    let id = f.manager.create(&alice(), a).unwrap();
    let ct = f
        .manager
        .encrypt(&alice(), &id, &gcm(None, b""), b"x")
        .unwrap();
    let params = gcm(ct.iv.as_deref(), b"");
    assert!(matches!(
        f.manager
            .decrypt(&alice(), &id, &params, &ct.data, ct.tag.as_deref()),
        Err(Error::WrongKeyLifecycleState(State::Active))
    ));
    f.clock.advance(time::Duration::hours(2));
    assert!(matches!(
        f.manager.encrypt(&alice(), &id, &gcm(None, b""), b"x"),
        Err(Error::WrongKeyLifecycleState(State::Active))
    ));
    f.manager
        .decrypt(&alice(), &id, &params, &ct.data, ct.tag.as_deref())
        .unwrap();
}

#[test]
fn a_past_deactivation_date_set_later_deactivates_at_once() {
    let f = fixture();
    let id = active_aes(&f, &alice());
    f.clock.advance(time::Duration::hours(1));
    f.manager
        .set_attribute(
            &alice(),
            &id,
            Attribute::DeactivationDate(t0() + time::Duration::minutes(30)),
        )
        .unwrap();
    let stored = f.stored(&id);
    assert_eq!(
        stored.metadata.state,
        State::Deactivated,
        "persisted with the change"
    );
}

#[test]
fn rsa_oaep_wraps_under_a_public_key_and_unwraps_with_the_private_key() {
    let f = fixture();
    let mut common = rsa(2048);
    common.activation_date = Some(t0());
    let pair = f
        .manager
        .create_key_pair(
            &alice(),
            CreateKeyPairRequest {
                common_attributes: common,
                ..Default::default()
            },
        )
        .unwrap();
    let target = active_aes(&f, &alice());
    let oaep = WrapAlgorithm::RsaOaep(HashingAlgorithm::Sha256);
    let wrapped = f
        .manager
        .wrap(&alice(), &pair.public_key, oaep, &target)
        .unwrap();
    assert_eq!(wrapped.len(), 256);
    let mut a = aes(256);
    a.activation_date = Some(t0());
    let copy = f
        .manager
        .unwrap(
            &alice(),
            &pair.private_key,
            oaep,
            &wrapped,
            ObjectType::SymmetricKey,
            a,
        )
        .unwrap();
    let ct = f
        .manager
        .encrypt(&alice(), &target, &gcm(None, b""), b"same")
        .unwrap();
    let pt = f
        .manager
        .decrypt(
            &alice(),
            &copy,
            &gcm(ct.iv.as_deref(), b""),
            &ct.data,
            ct.tag.as_deref(),
        )
        .unwrap();
    assert_eq!(&pt[..], b"same");
}

#[test]
fn locate_by_dates_and_usage() {
    let f = fixture();
    let early = f.manager.create(&alice(), aes(256)).unwrap();
    f.clock.advance(time::Duration::days(1));
    let late = f.manager.create(&alice(), hmac256()).unwrap();
    let q = LocateQuery {
        initial_date: kms_core::store::DateRange {
            from: Some(t0() + time::Duration::hours(1)),
            to: None,
        },
        ..LocateQuery::default()
    };
    assert_eq!(
        f.manager.locate(&alice(), &q).unwrap().ids,
        vec![late.clone()]
    );
    let q = LocateQuery {
        usage_mask: Some(UsageMask::ENCRYPT),
        ..LocateQuery::default()
    };
    assert_eq!(f.manager.locate(&alice(), &q).unwrap().ids, vec![early]);
    let q = LocateQuery {
        algorithm: Some(CryptographicAlgorithm::HmacSha256),
        ..LocateQuery::default()
    };
    assert_eq!(f.manager.locate(&alice(), &q).unwrap().ids, vec![late]);
}

#[test]
fn export_from_one_manager_and_import_into_another_keeps_id_state_and_attributes() {
    use kms_core::manager::ImportRequest;
    let source = fixture();
    let mut a = aes(256);
    a.names = vec![Name::text("migrating")];
    a.activation_date = Some(t0());
    let id = source.manager.create(&alice(), a).unwrap();
    let ct = source
        .manager
        .encrypt(&alice(), &id, &gcm(None, b""), b"carried over")
        .unwrap();
    let reason = RevocationReason {
        code: RevocationReasonCode::Superseded,
        message: None,
    };
    source
        .manager
        .revoke(&alice(), &id, reason.clone(), None)
        .unwrap();
    // KMIP Export is Get: key value and attributes.
    let exported = source
        .manager
        .get(&alice(), &id, &GetRequest::default())
        .unwrap();
    let ExportedKey::Plain(material) = exported.key else {
        panic!()
    };

    let target = fixture();
    target.clock.advance(time::Duration::days(1));
    let request = |material| ImportRequest {
        id: id.clone(),
        object_type: exported.object_type,
        replace_existing: false,
        state: Some(exported.state),
        attributes: exported.attributes.clone(),
        material,
    };
    assert_eq!(
        target
            .manager
            .import(&alice(), request(material.duplicate()))
            .unwrap(),
        id
    );
    let m = target.manager.metadata(&alice(), &id).unwrap();
    assert_eq!(m.state, State::Deactivated);
    assert_eq!(m.attributes.revocation_reason, Some(reason));
    assert_eq!(
        m.attributes.initial_date,
        Some(t0()),
        "the original Initial Date is kept"
    );
    assert_eq!(m.attributes.names, vec![Name::text("migrating")]);
    let pt = target
        .manager
        .decrypt(
            &alice(),
            &id,
            &gcm(ct.iv.as_deref(), b""),
            &ct.data,
            ct.tag.as_deref(),
        )
        .unwrap();
    assert_eq!(&pt[..], b"carried over");

    assert!(matches!(
        target
            .manager
            .import(&alice(), request(material.duplicate())),
        Err(Error::ObjectAlreadyExists)
    ));
    let mut replace = request(material.duplicate());
    replace.replace_existing = true;
    assert!(matches!(
        target.manager.import(&bob(), replace),
        Err(Error::ItemNotFound)
    ));
    drop(material);
    let mut replace = request(raw(&[9u8; 32]));
    replace.replace_existing = true;
    target.manager.import(&alice(), replace).unwrap();
    assert_eq!(target.stored(&id).version, 2);
    assert_eq!(
        target.backend.live_keys(),
        1,
        "the replaced backend key is gone"
    );
    assert!(
        matches!(
            target.manager.decrypt(
                &alice(),
                &id,
                &gcm(ct.iv.as_deref(), b""),
                &ct.data,
                ct.tag.as_deref()
            ),
            Err(Error::CryptographicFailure)
        ),
        "the key value was replaced"
    );
}
