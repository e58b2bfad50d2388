//! KeyManager Create Split Key and Join Split Key, with kms-escrow's GF(2^8) Shamir as the scheme.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use kms_core::backend::{CipherParams, KeyPolicy};
use kms_core::manager::{
    CreateSplitKeyRequest, ExportedKey, GetRequest, JoinSplitKeyRequest, SecretSharing, SharePart,
};
use kms_core::object::{LinkType, Name, ObjectId, SplitKeyMethod, UsageMask};
use kms_core::store::LocateQuery;
use kms_core::{Attributes, Error, KeyBackend, KeyFormat, KeyMaterial, ObjectType, State};
use kms_escrow::split_key::{self, SplitKeyPart};
use zeroize::Zeroizing;

/// kms-escrow's Shamir over GF(2^8), seen through kms-core's trait.
struct EscrowShamir;

fn escrow_error(e: kms_escrow::EscrowError) -> Error {
    Error::InvalidField(e.to_string())
}

impl SecretSharing for EscrowShamir {
    fn method(&self) -> SplitKeyMethod {
        SplitKeyMethod::PolynomialSharingGf2_8
    }

    fn split(&self, secret: &[u8], threshold: u32, parts: u32) -> kms_core::Result<Vec<SharePart>> {
        Ok(split_key::split(secret, threshold, parts)
            .map_err(escrow_error)?
            .into_iter()
            .map(|p| SharePart {
                key_part_identifier: p.key_part_identifier,
                value: p.key_material,
            })
            .collect())
    }

    fn join(
        &self,
        threshold: u32,
        parts: u32,
        shares: &[SharePart],
    ) -> kms_core::Result<Zeroizing<Vec<u8>>> {
        let parts: Vec<SplitKeyPart> = shares
            .iter()
            .map(|s| SplitKeyPart {
                split_key_parts: parts,
                key_part_identifier: s.key_part_identifier,
                split_key_threshold: threshold,
                split_key_method: split_key::SplitKeyMethod::PolynomialSharingGf2_8,
                key_material: s.value.clone(),
            })
            .collect();
        split_key::join(&parts).map_err(escrow_error)
    }
}

fn usage() -> UsageMask {
    UsageMask::ENCRYPT | UsageMask::DECRYPT
}

/// Create Split Key of a new AES-256 key, 3 of 5.
fn new_split(n: u32, m: u32) -> CreateSplitKeyRequest {
    let mut attributes = aes(256);
    attributes.cryptographic_usage_mask = Some(usage());
    CreateSplitKeyRequest {
        object_type: ObjectType::SymmetricKey,
        base: None,
        split_key_parts: n,
        split_key_threshold: m,
        split_key_method: SplitKeyMethod::PolynomialSharingGf2_8,
        prime_field_size: None,
        attributes,
    }
}

fn split_of(base: &ObjectId) -> CreateSplitKeyRequest {
    CreateSplitKeyRequest {
        base: Some(base.clone()),
        attributes: Attributes::default(),
        ..new_split(5, 3)
    }
}

fn join(parts: &[ObjectId]) -> JoinSplitKeyRequest {
    let mut attributes = Attributes::default();
    attributes.activation_date = Some(t0());
    JoinSplitKeyRequest {
        object_type: ObjectType::SymmetricKey,
        parts: parts.to_vec(),
        attributes,
    }
}

fn gcm<'a>(iv: Option<&'a [u8]>) -> CipherParams<'a> {
    CipherParams::AesGcm {
        iv,
        aad: b"split",
        tag_len: 16,
    }
}

fn subsets(n: usize, m: usize) -> Vec<Vec<usize>> {
    (0u32..(1 << n))
        .filter(|mask| mask.count_ones() as usize == m)
        .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
        .collect()
}

#[test]
fn create_3_of_5_records_five_linked_split_key_objects() {
    let f = fixture();
    let ids = f
        .manager
        .create_split_key(&alice(), new_split(5, 3), &EscrowShamir)
        .unwrap();
    assert_eq!(ids.len(), 5);
    let mut split_ids = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let m = f.manager.metadata(&alice(), id).unwrap();
        assert_eq!(m.object_type, ObjectType::SplitKey);
        assert_eq!(m.owner, "alice");
        assert_eq!(m.state, State::PreActive);
        let info = m.attributes.split_key.clone().unwrap();
        assert_eq!(info.split_key_parts, 5);
        assert_eq!(info.split_key_threshold, 3);
        assert_eq!(info.key_part_identifier, u32::try_from(i + 1).unwrap());
        assert_eq!(
            info.split_key_method,
            SplitKeyMethod::PolynomialSharingGf2_8
        );
        assert_eq!(info.key_check_value.len(), 32);
        assert!(!format!("{info:?}").contains("key_check_value"));
        split_ids.push(info.split_id);
        assert_eq!(m.attributes.cryptographic_length, Some(256));
        let links = |t: LinkType| -> Vec<ObjectId> {
            m.attributes
                .links
                .iter()
                .filter(|l| l.link_type == t)
                .map(|l| l.linked_object_id.clone())
                .collect()
        };
        assert_eq!(
            links(LinkType::PreviousLink),
            ids[..i]
                .iter()
                .last()
                .cloned()
                .into_iter()
                .collect::<Vec<_>>()
        );
        assert_eq!(
            links(LinkType::NextLink),
            ids.get(i + 1).cloned().into_iter().collect::<Vec<_>>()
        );
        assert!(
            links(LinkType::ParentLink).is_empty(),
            "a generated key has no object"
        );
        // A part's value is its share: as long as the key, and Get returns it.
        let got = f.manager.get(&alice(), id, &GetRequest::default()).unwrap();
        let ExportedKey::Plain(material) = got.key else {
            panic!("plain")
        };
        assert_eq!(material.bytes().len(), 32);
    }
    assert!(split_ids.windows(2).all(|w| w[0] == w[1]));
    // Only the parts exist: the generated key was never recorded whole, nor kept in the backend.
    assert_eq!(f.store.locate(&LocateQuery::default()).unwrap().len(), 5);
    assert_eq!(f.backend.live_keys(), 5);
}

#[test]
fn any_three_of_five_parts_join_to_the_key_that_was_split() {
    let f = fixture();
    let original = active_aes(&f, &alice());
    let sealed = f
        .manager
        .encrypt(&alice(), &original, &gcm(None), b"before the split")
        .unwrap();
    let parts = f
        .manager
        .create_split_key(&alice(), split_of(&original), &EscrowShamir)
        .unwrap();
    for p in &parts {
        let m = f.manager.metadata(&alice(), p).unwrap();
        assert!(
            m.attributes
                .links
                .iter()
                .any(|l| l.link_type == LinkType::ParentLink && l.linked_object_id == original)
        );
        assert_eq!(
            m.attributes.cryptographic_usage_mask,
            Some(usage() | UsageMask::WRAP_KEY | UsageMask::UNWRAP_KEY)
        );
    }
    for subset in subsets(5, 3) {
        let chosen: Vec<ObjectId> = subset.iter().rev().map(|&i| parts[i].clone()).collect();
        let joined = f
            .manager
            .join_split_key(&alice(), join(&chosen), &EscrowShamir)
            .unwrap();
        let m = f.manager.metadata(&alice(), &joined).unwrap();
        assert_eq!(m.object_type, ObjectType::SymmetricKey);
        assert_eq!(m.state, State::Active);
        assert_eq!(m.attributes.cryptographic_length, Some(256));
        let parents: Vec<_> = m
            .attributes
            .links
            .iter()
            .filter(|l| l.link_type == LinkType::ParentLink)
            .map(|l| l.linked_object_id.clone())
            .collect();
        assert_eq!(parents, chosen);
        let opened = f
            .manager
            .decrypt(
                &alice(),
                &joined,
                &gcm(sealed.iv.as_deref()),
                &sealed.data,
                sealed.tag.as_deref(),
            )
            .unwrap();
        assert_eq!(&opened[..], b"before the split", "subset {subset:?}");
    }
    // All five join too.
    f.manager
        .join_split_key(&alice(), join(&parts), &EscrowShamir)
        .unwrap();
}

#[test]
fn a_generated_split_key_joins_to_one_key_from_any_subset() {
    let f = fixture();
    let parts = f
        .manager
        .create_split_key(&alice(), new_split(4, 2), &EscrowShamir)
        .unwrap();
    let a = f
        .manager
        .join_split_key(&alice(), join(&parts[..2]), &EscrowShamir)
        .unwrap();
    let b = f
        .manager
        .join_split_key(&alice(), join(&parts[2..]), &EscrowShamir)
        .unwrap();
    let sealed = f
        .manager
        .encrypt(&alice(), &a, &gcm(None), b"data")
        .unwrap();
    let opened = f
        .manager
        .decrypt(
            &alice(),
            &b,
            &gcm(sealed.iv.as_deref()),
            &sealed.data,
            sealed.tag.as_deref(),
        )
        .unwrap();
    assert_eq!(&opened[..], b"data");
}

#[test]
fn fewer_parts_than_the_threshold_are_refused() {
    let f = fixture();
    let parts = f
        .manager
        .create_split_key(&alice(), new_split(5, 3), &EscrowShamir)
        .unwrap();
    let before = f.store.locate(&LocateQuery::default()).unwrap().len();
    for two in [&parts[..2], &parts[3..]] {
        let e = f
            .manager
            .join_split_key(&alice(), join(two), &EscrowShamir)
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidField(ref m) if m.contains("Threshold")),
            "{e:?}"
        );
    }
    // A part named twice counts once.
    let e = f
        .manager
        .join_split_key(
            &alice(),
            join(&[parts[0].clone(), parts[1].clone(), parts[0].clone()]),
            &EscrowShamir,
        )
        .unwrap_err();
    assert!(matches!(e, Error::InvalidField(_)), "{e:?}");
    assert_eq!(
        f.store.locate(&LocateQuery::default()).unwrap().len(),
        before
    );
}

#[test]
fn a_part_of_another_split_is_refused() {
    let f = fixture();
    let original = active_aes(&f, &alice());
    let first = f
        .manager
        .create_split_key(&alice(), split_of(&original), &EscrowShamir)
        .unwrap();
    // Another split of the same key, with the same N and M: its parts fit field by field but not arithmetically.
    let second = f
        .manager
        .create_split_key(&alice(), split_of(&original), &EscrowShamir)
        .unwrap();
    let mixed = [first[0].clone(), first[1].clone(), second[2].clone()];
    let e = f
        .manager
        .join_split_key(&alice(), join(&mixed), &EscrowShamir)
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidField(ref m) if m.contains("different splits")),
        "{e:?}"
    );
    // Not a split key at all.
    let e = f
        .manager
        .join_split_key(
            &alice(),
            join(&[first[0].clone(), first[1].clone(), original.clone()]),
            &EscrowShamir,
        )
        .unwrap_err();
    assert!(matches!(e, Error::IllegalObjectType), "{e:?}");
}

#[test]
fn a_corrupted_part_is_detected_by_the_key_check_value() {
    let f = fixture();
    let parts = f
        .manager
        .create_split_key(&alice(), new_split(5, 3), &EscrowShamir)
        .unwrap();
    // Flip one bit of part 2's share where it is held (as a faulty device or a tampered backup would), keeping
    // its record otherwise intact: the fields agree, the arithmetic joins, only the result is wrong.
    let mut record = f.stored(&parts[1]);
    let key = record.key.clone().unwrap();
    let mut share = f.backend.export(&key).unwrap().into_bytes();
    share[7] ^= 0x01;
    let policy = KeyPolicy {
        id: &record.metadata.id,
        usage: UsageMask::empty(),
        extractable: true,
    };
    let forged = f
        .backend
        .import(
            ObjectType::SecretData,
            None,
            &KeyMaterial::new(KeyFormat::Raw, share),
            &policy,
        )
        .unwrap();
    record.key = Some(forged);
    f.store.update(&mut record).unwrap();
    let before = f.store.locate(&LocateQuery::default()).unwrap().len();
    let e = f
        .manager
        .join_split_key(&alice(), join(&parts[..3]), &EscrowShamir)
        .unwrap_err();
    assert!(matches!(e, Error::CryptographicFailure), "{e:?}");
    assert!(!e.to_string().contains("split"), "no detail: {e}");
    assert_eq!(
        f.store.locate(&LocateQuery::default()).unwrap().len(),
        before
    );
    // The intact parts still join.
    f.manager
        .join_split_key(
            &alice(),
            join(&[parts[0].clone(), parts[2].clone(), parts[3].clone()]),
            &EscrowShamir,
        )
        .unwrap();
}

#[test]
fn parts_of_another_owner_are_not_visible() {
    let f = fixture();
    let original = active_aes(&f, &alice());
    let parts = f
        .manager
        .create_split_key(&alice(), new_split(3, 2), &EscrowShamir)
        .unwrap();
    let e = f
        .manager
        .join_split_key(&bob(), join(&parts), &EscrowShamir)
        .unwrap_err();
    assert!(matches!(e, Error::ItemNotFound), "{e:?}");
    // One part of bob's own does not open alice's either.
    let own = f
        .manager
        .create_split_key(&bob(), new_split(3, 2), &EscrowShamir)
        .unwrap();
    let e = f
        .manager
        .join_split_key(
            &bob(),
            join(&[own[0].clone(), parts[1].clone()]),
            &EscrowShamir,
        )
        .unwrap_err();
    assert!(matches!(e, Error::ItemNotFound), "{e:?}");
    // Nor can bob split alice's key.
    let e = f
        .manager
        .create_split_key(&bob(), split_of(&original), &EscrowShamir)
        .unwrap_err();
    assert!(matches!(e, Error::ItemNotFound), "{e:?}");
    // With the read right granted on every part, bob joins, and the key is his.
    for p in &parts {
        f.manager
            .grant(&alice(), p, "bob", kms_core::object::Rights::READ)
            .unwrap();
    }
    let joined = f
        .manager
        .join_split_key(&bob(), join(&parts), &EscrowShamir)
        .unwrap();
    assert_eq!(f.manager.metadata(&bob(), &joined).unwrap().owner, "bob");
}

#[test]
fn unusable_requests_are_refused_before_anything_is_recorded() {
    let f = fixture();
    let refused = |request: CreateSplitKeyRequest| {
        f.manager
            .create_split_key(&alice(), request, &EscrowShamir)
            .unwrap_err()
    };
    for method in [
        SplitKeyMethod::Xor,
        SplitKeyMethod::PolynomialSharingGf2_16,
        SplitKeyMethod::PolynomialSharingPrimeField,
    ] {
        let e = refused(CreateSplitKeyRequest {
            split_key_method: method,
            ..new_split(3, 2)
        });
        assert!(
            matches!(e, Error::UnsupportedCryptographicParameters(_)),
            "{e:?}"
        );
    }
    for (n, m) in [(5, 1), (3, 4), (256, 2), (0, 0)] {
        let e = refused(new_split(n, m));
        assert!(matches!(e, Error::InvalidField(_)), "{n}/{m}: {e:?}");
    }
    let e = refused(CreateSplitKeyRequest {
        prime_field_size: Some(vec![1, 1]),
        ..new_split(3, 2)
    });
    assert!(matches!(e, Error::InvalidField(_)), "{e:?}");
    let mut named = new_split(3, 2);
    named.attributes.names.push(Name::text("vault key"));
    assert!(matches!(refused(named), Error::NonUniqueNameAttribute));
    let mut no_length = new_split(3, 2);
    no_length.attributes.cryptographic_length = None;
    assert!(matches!(refused(no_length), Error::MissingData(_)));
    let e = refused(CreateSplitKeyRequest {
        object_type: ObjectType::SecretData,
        ..new_split(3, 2)
    });
    assert!(matches!(e, Error::MissingData(_)), "{e:?}");
    let e = refused(CreateSplitKeyRequest {
        object_type: ObjectType::PrivateKey,
        ..new_split(3, 2)
    });
    assert!(matches!(e, Error::IllegalObjectType), "{e:?}");
    // A base key of another type than the request says.
    let original = active_aes(&f, &alice());
    let e = refused(CreateSplitKeyRequest {
        object_type: ObjectType::SecretData,
        ..split_of(&original)
    });
    assert!(matches!(e, Error::IllegalObjectType), "{e:?}");
    // A key that may not leave the server may not leave it in pieces either.
    let mut kept = aes(128);
    kept.extractable = false;
    let kept = f.manager.create(&alice(), kept).unwrap();
    assert!(matches!(refused(split_of(&kept)), Error::NotExtractable));
    // The split key fields are the server's.
    let mut forged = aes(128);
    forged.split_key = f
        .manager
        .metadata(
            &alice(),
            &f.manager
                .create_split_key(&alice(), new_split(2, 2), &EscrowShamir)
                .unwrap()[0],
        )
        .unwrap()
        .attributes
        .split_key;
    assert!(matches!(
        f.manager.create(&alice(), forged),
        Err(Error::AttributeReadOnly(_))
    ));
    assert_eq!(f.store.locate(&LocateQuery::default()).unwrap().len(), 4);
}

#[test]
fn secret_data_splits_and_joins_as_secret_data() {
    let f = fixture();
    let secret = f
        .manager
        .register(
            &alice(),
            ObjectType::SecretData,
            raw(b"0123456789abcdef0123"),
            Attributes::default(),
        )
        .unwrap();
    let parts = f
        .manager
        .create_split_key(
            &alice(),
            CreateSplitKeyRequest {
                object_type: ObjectType::SecretData,
                ..split_of(&secret)
            },
            &EscrowShamir,
        )
        .unwrap();
    let joined = f
        .manager
        .join_split_key(
            &alice(),
            JoinSplitKeyRequest {
                object_type: ObjectType::SecretData,
                ..join(&parts[1..4])
            },
            &EscrowShamir,
        )
        .unwrap();
    let got = f
        .manager
        .get(&alice(), &joined, &GetRequest::default())
        .unwrap();
    assert_eq!(got.object_type, ObjectType::SecretData);
    let ExportedKey::Plain(material) = got.key else {
        panic!("plain")
    };
    assert_eq!(material.bytes(), b"0123456789abcdef0123");
}

#[test]
fn destroyed_parts_do_not_join() {
    let f = fixture();
    let parts = f
        .manager
        .create_split_key(&alice(), new_split(3, 2), &EscrowShamir)
        .unwrap();
    f.manager.destroy(&alice(), &parts[0]).unwrap();
    let e = f
        .manager
        .join_split_key(&alice(), join(&parts[..2]), &EscrowShamir)
        .unwrap_err();
    assert!(matches!(e, Error::ObjectDestroyed), "{e:?}");
    f.manager
        .join_split_key(&alice(), join(&parts[1..]), &EscrowShamir)
        .unwrap();
}

#[test]
fn a_failed_store_write_leaves_no_part_behind() {
    let store = Arc::new(FailingStore::default());
    let f = fixture_with_store(store.clone());
    *store.puts_before_failure.lock() = Some(3);
    let e = f
        .manager
        .create_split_key(&alice(), new_split(5, 3), &EscrowShamir)
        .unwrap_err();
    assert!(matches!(e, Error::Store(_)), "{e:?}");
    assert!(f.store.locate(&LocateQuery::default()).unwrap().is_empty());
    assert_eq!(
        f.backend.live_keys(),
        0,
        "every share and the generated key destroyed"
    );
    *store.puts_before_failure.lock() = None;
    f.manager
        .create_split_key(&alice(), new_split(5, 3), &EscrowShamir)
        .unwrap();
}

#[test]
fn both_operations_are_audited() {
    let f = fixture();
    let parts = f
        .manager
        .create_split_key(&alice(), new_split(3, 2), &EscrowShamir)
        .unwrap();
    let _ = f
        .manager
        .join_split_key(&bob(), join(&parts), &EscrowShamir);
    let joined = f
        .manager
        .join_split_key(&alice(), join(&parts), &EscrowShamir)
        .unwrap();
    let events = f.audit.events();
    let ops: Vec<_> = events
        .iter()
        .filter(|e| {
            matches!(
                e.operation,
                kms_core::audit::Operation::CreateSplitKey
                    | kms_core::audit::Operation::JoinSplitKey
            )
        })
        .map(|e| (e.operation, e.object_id.clone(), e.outcome))
        .collect();
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[0].1.as_ref(), Some(&parts[0]));
    assert_eq!(
        ops[1].2,
        kms_core::audit::Outcome::Failure(kms_core::ResultReason::ItemNotFound)
    );
    assert_eq!(ops[2].1.as_ref(), Some(&joined));
}

/// Records are MessagePack with structs as arrays: Attributes written before `split_key` existed lack its last
/// element, and must still read (as no split key).
#[test]
fn attributes_recorded_before_split_keys_existed_still_read() {
    let mut a = aes(256);
    a.names.push(Name::text("old record"));
    let full = rmp_serde::to_vec(&a).unwrap();
    assert_eq!(full[0], 0xdc, "an array16 of the fields");
    assert_eq!(full.last(), Some(&0xc0), "split_key, last and nil");
    let fields = u16::from_be_bytes([full[1], full[2]]);
    let mut old = vec![0xdc];
    old.extend_from_slice(&(fields - 1).to_be_bytes());
    old.extend_from_slice(&full[3..full.len() - 1]);
    let read: Attributes = rmp_serde::from_slice(&old).unwrap();
    assert_eq!(read, a);
    assert!(read.split_key.is_none());
}
