//! DSA keys through the KeyManager and the software backend (Register, Get, refusals, nothing stored on a bad
//! key) and the Fresh attribute (true when made, false once the key value is served, kept across a reopen).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use kms_core::backend::{HashingAlgorithm, SignInput, SignatureAlgorithm};
use kms_core::dsa::{DsaPrivateKey, DsaPublicKey};
use kms_core::manager::{Attribute, AttributeName, ExportedKey, GetRequest};
use kms_core::object::CryptographicAlgorithm;
use kms_core::store::LocateQuery;
use kms_core::{
    Attributes, Error, KeyFormat, KeyManager, KeyMaterial, MemoryStore, ObjectId, ObjectStore,
    ObjectType, Principal, SoftwareBackend, UsageMask,
};
use zeroize::Zeroizing;

// The 512-bit key of the OASIS KMIP 2.1 Baseline test cases BL-M-12-21 and BL-M-13-21.
const P: &str = "fca682ce8e12caba26efccf7110e526db078b05edecbcd1eb4a208f3ae1617ae01f35b91a47e6df63413c5e12ed0899bcd132acd50d99151bdc43ee737592e17";
const Q: &str = "962eddcc369cba8ebb260ee6b6a126d9346e38c5";
const G: &str = "678471b27a9cf44ee91a49c5147db1a9aaf244f05a434d6486931d2d14271b9e35030b71fd73da179069b32e2935630e1c2062354d0da20a6c416e50be794ca4";
const X: &str = "095411d740d2443fa3f97d1ed9a0411bb45e7131";
const Y: &str = "b3cb74d988dea7160a64a4edbb7f70404fa4c08a4208c19d76357a6a9df200cce79faecb22e3419be9b01128cbd998a2d9307101705e4a952462f34728ac5fcf";

fn manager(store: Arc<dyn ObjectStore>) -> KeyManager {
    KeyManager::builder(store)
        .backend(Arc::new(SoftwareBackend::new()))
        .build()
        .unwrap()
}

fn alice() -> Principal {
    Principal::new("alice").unwrap()
}

fn dsa_attributes(algorithm: Option<CryptographicAlgorithm>, usage: UsageMask) -> Attributes {
    let mut a = Attributes::default();
    a.cryptographic_algorithm = algorithm;
    a.cryptographic_length = Some(512);
    a.cryptographic_usage_mask = Some(usage);
    a
}

fn private_der() -> Zeroizing<Vec<u8>> {
    DsaPrivateKey::new(
        &hex::decode(P).unwrap(),
        &hex::decode(Q).unwrap(),
        &hex::decode(G).unwrap(),
        &hex::decode(X).unwrap(),
    )
    .unwrap()
    .to_pkcs8_der()
    .unwrap()
}

fn public_der() -> Vec<u8> {
    DsaPublicKey::new(
        &hex::decode(P).unwrap(),
        &hex::decode(Q).unwrap(),
        &hex::decode(G).unwrap(),
        &hex::decode(Y).unwrap(),
    )
    .unwrap()
    .to_spki_der()
    .unwrap()
}

/// Registers the OASIS private key as alice's, in PKCS#8.
fn register_private(m: &KeyManager, attributes: Attributes) -> Result<ObjectId, Error> {
    m.register(
        &alice(),
        ObjectType::PrivateKey,
        KeyMaterial::new(KeyFormat::Pkcs8, private_der()),
        attributes,
    )
}

/// Registers the OASIS public key as alice's, as a SubjectPublicKeyInfo.
fn register_public(m: &KeyManager, attributes: Attributes) -> Result<ObjectId, Error> {
    m.register(
        &alice(),
        ObjectType::PublicKey,
        KeyMaterial::new(
            KeyFormat::SubjectPublicKeyInfo,
            Zeroizing::new(public_der()),
        ),
        attributes,
    )
}

fn plain(m: &KeyManager, id: &ObjectId) -> KeyMaterial {
    match m.get(&alice(), id, &GetRequest::default()).unwrap().key {
        ExportedKey::Plain(k) => k,
        ExportedKey::Wrapped { .. } => panic!("asked for plaintext"),
    }
}

fn fresh(m: &KeyManager, id: &ObjectId) -> Option<bool> {
    let got = m
        .get_attributes(&alice(), id, &[AttributeName::Fresh])
        .unwrap();
    match got.as_slice() {
        [] => None,
        [Attribute::Fresh(b)] => Some(*b),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn dsa_keys_register_and_get_round_trip() {
    let m = manager(Arc::new(MemoryStore::new()));
    // With the algorithm given, and without (told apart by the encoding's id-dsa).
    for algorithm in [Some(CryptographicAlgorithm::Dsa), None] {
        let private = register_private(&m, dsa_attributes(algorithm, UsageMask::SIGN)).unwrap();
        let got = plain(&m, &private);
        assert_eq!(got.format(), KeyFormat::Pkcs8);
        assert_eq!(got.bytes(), &private_der()[..]);
        let key = DsaPrivateKey::from_pkcs8_der(got.bytes()).unwrap();
        assert_eq!(key.x(), &hex::decode(X).unwrap()[..]);

        let public = register_public(&m, dsa_attributes(algorithm, UsageMask::VERIFY)).unwrap();
        let got = plain(&m, &public);
        assert_eq!(got.format(), KeyFormat::SubjectPublicKeyInfo);
        assert_eq!(got.bytes(), &public_der()[..]);
        assert_eq!(
            DsaPublicKey::from_spki_der(got.bytes()).unwrap().y(),
            &hex::decode(Y).unwrap()[..]
        );
    }
}

/// DER tag-length-value (definite length, short or long form).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn int(magnitude: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    if magnitude.first().is_none_or(|b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(magnitude);
    tlv(0x02, &v)
}

const ID_DSA: [u8; 9] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x01];

/// A PKCS#8 DSA key written by hand, so that its components can be anything.
fn pkcs8(p: &[u8], q: &[u8], g: &[u8], x: &[u8]) -> Vec<u8> {
    let params = tlv(0x30, &[int(p), int(q), int(g)].concat());
    let algorithm = tlv(0x30, &[&ID_DSA[..], &params].concat());
    tlv(0x30, &[int(&[0]), algorithm, tlv(0x04, &int(x))].concat())
}

/// A SubjectPublicKeyInfo DSA key written by hand.
fn spki(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Vec<u8> {
    let params = tlv(0x30, &[int(p), int(q), int(g)].concat());
    let algorithm = tlv(0x30, &[&ID_DSA[..], &params].concat());
    let bits = [&[0u8][..], &int(y)].concat();
    tlv(0x30, &[algorithm, tlv(0x03, &bits)].concat())
}

#[test]
fn bad_dsa_keys_are_refused_and_nothing_is_stored() {
    let m = manager(Arc::new(MemoryStore::new()));
    let (p, q, g, x, y) = (
        hex::decode(P).unwrap(),
        hex::decode(Q).unwrap(),
        hex::decode(G).unwrap(),
        hex::decode(X).unwrap(),
        hex::decode(Y).unwrap(),
    );
    // The hand-written encoder agrees with the library's on a good key, so the bad ones differ only in a value.
    assert_eq!(pkcs8(&p, &q, &g, &x), &private_der()[..]);
    assert_eq!(spki(&p, &q, &g, &y), public_der());
    let mut p_even = p.clone();
    *p_even.last_mut().unwrap() &= 0xFE;
    let mut absurd = vec![0xFF; 8192 / 8];
    absurd[0] = 0x7F;
    let cases: Vec<(ObjectType, Vec<u8>)> = vec![
        (ObjectType::PrivateKey, pkcs8(&p, &q, &[1], &x)),
        (ObjectType::PrivateKey, pkcs8(&p, &q, &p, &x)),
        (ObjectType::PrivateKey, pkcs8(&p, &q, &g, &[0])),
        (ObjectType::PrivateKey, pkcs8(&p, &q, &g, &q)),
        (ObjectType::PrivateKey, pkcs8(&p_even, &q, &g, &x)),
        (ObjectType::PrivateKey, pkcs8(&p, &p, &g, &x)),
        (ObjectType::PrivateKey, pkcs8(&absurd, &q, &g, &x)),
        (ObjectType::PrivateKey, pkcs8(&p[..16], &q, &g[..8], &x)),
        (ObjectType::PublicKey, spki(&p, &q, &g, &[1])),
        (ObjectType::PublicKey, spki(&p, &q, &g, &p)),
        (ObjectType::PublicKey, spki(&absurd, &q, &g, &y)),
        (ObjectType::PublicKey, spki(&p, &[3], &g, &y)),
        (ObjectType::PrivateKey, pkcs8(&p, &q, &g, &x)[..40].to_vec()),
    ];
    for (i, (object_type, der)) in cases.into_iter().enumerate() {
        let (format, usage) = if object_type == ObjectType::PrivateKey {
            (KeyFormat::Pkcs8, UsageMask::SIGN)
        } else {
            (KeyFormat::SubjectPublicKeyInfo, UsageMask::VERIFY)
        };
        let result = m.register(
            &alice(),
            object_type,
            KeyMaterial::new(format, Zeroizing::new(der)),
            dsa_attributes(Some(CryptographicAlgorithm::Dsa), usage),
        );
        assert!(
            matches!(result, Err(Error::InvalidField(_))),
            "case {i}: {result:?}"
        );
    }
    let located = m.locate(&alice(), &LocateQuery::default()).unwrap();
    assert_eq!(located.located_items, 0);
}

/// The OASIS key is kept, but is of no size FIPS 186-4 allows: DSA with it is unsupported, and refusing it changes
/// nothing (signing with DSA keys of the FIPS sizes: tests/dsa_sign.rs).
#[test]
fn the_512_bit_key_does_not_sign_or_verify_and_nothing_changes() {
    let m = manager(Arc::new(MemoryStore::new()));
    let mut a = dsa_attributes(Some(CryptographicAlgorithm::Dsa), UsageMask::SIGN);
    a.activation_date = Some(time::OffsetDateTime::now_utc());
    let private = register_private(&m, a).unwrap();
    let mut a = dsa_attributes(Some(CryptographicAlgorithm::Dsa), UsageMask::VERIFY);
    a.activation_date = Some(time::OffsetDateTime::now_utc());
    let public = register_public(&m, a).unwrap();
    let before = [&private, &public].map(|id| m.get_attributes(&alice(), id, &[]).unwrap());
    for h in [HashingAlgorithm::Sha1, HashingAlgorithm::Sha256] {
        let algorithm = SignatureAlgorithm::Dsa(h);
        let signed = m.sign(&alice(), &private, algorithm, SignInput::Message(b"m"));
        let expected = if h == HashingAlgorithm::Sha1 {
            "SHA-1 signatures are verified, not made"
        } else {
            "512-bit P"
        };
        assert!(
            matches!(&signed, Err(Error::UnsupportedCryptographicParameters(why)) if why.contains(expected)),
            "{signed:?}"
        );
        let verified = m.verify(
            &alice(),
            &public,
            algorithm,
            SignInput::Message(b"m"),
            &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
        );
        assert!(
            matches!(&verified, Err(Error::UnsupportedCryptographicParameters(why)) if why.contains("512-bit P")),
            "{verified:?}"
        );
    }
    let after = [&private, &public].map(|id| m.get_attributes(&alice(), id, &[]).unwrap());
    assert_eq!(before, after);
    assert_eq!(plain(&m, &private).bytes(), &private_der()[..]);
}

#[test]
fn fresh_turns_false_once_served_and_clients_may_give_it_at_register() {
    let m = manager(Arc::new(MemoryStore::new()));
    let id = register_private(
        &m,
        dsa_attributes(Some(CryptographicAlgorithm::Dsa), UsageMask::SIGN),
    )
    .unwrap();
    assert_eq!(fresh(&m, &id), Some(true));
    // Reading attributes serves no key value.
    assert_eq!(fresh(&m, &id), Some(true));
    let got = m.get(&alice(), &id, &GetRequest::default()).unwrap();
    assert_eq!(got.attributes.fresh, Some(false));
    assert_eq!(fresh(&m, &id), Some(false));
    let _ = plain(&m, &id);
    assert_eq!(fresh(&m, &id), Some(false));
    // Only the server changes it afterwards.
    assert!(matches!(
        m.set_attribute(&alice(), &id, Attribute::Fresh(true)),
        Err(Error::AttributeReadOnly(_))
    ));
    assert_eq!(fresh(&m, &id), Some(false));

    // A refused Get (Sensitive) serves nothing: the object stays Fresh.
    let mut a = dsa_attributes(Some(CryptographicAlgorithm::Dsa), UsageMask::VERIFY);
    a.sensitive = true;
    let sensitive = register_public(&m, a).unwrap();
    assert!(matches!(
        m.get(&alice(), &sensitive, &GetRequest::default()),
        Err(Error::Sensitive)
    ));
    assert_eq!(fresh(&m, &sensitive), Some(true));

    // A client may register a key it has already handed out as not Fresh.
    let mut a = dsa_attributes(Some(CryptographicAlgorithm::Dsa), UsageMask::SIGN);
    a.fresh = Some(false);
    let seen = register_private(&m, a).unwrap();
    assert_eq!(fresh(&m, &seen), Some(false));
}

#[test]
fn concurrent_first_gets_all_succeed_and_write_fresh_once() {
    // Two attempts: a Get that loses the race to turn Fresh false must find nothing left to write on its second.
    let store = Arc::new(MemoryStore::new());
    let m = Arc::new(
        KeyManager::builder(store.clone())
            .backend(Arc::new(SoftwareBackend::new()))
            .max_update_attempts(2)
            .build()
            .unwrap(),
    );
    for _ in 0..20 {
        let id = register_private(
            &m,
            dsa_attributes(Some(CryptographicAlgorithm::Dsa), UsageMask::SIGN),
        )
        .unwrap();
        let registered = store.get(&id).unwrap().version;
        let start = Arc::new(std::sync::Barrier::new(16));
        let gets: Vec<_> = (0..16)
            .map(|_| {
                let (m, id, start) = (Arc::clone(&m), id.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    m.get(&alice(), &id, &GetRequest::default()).map(|_| ())
                })
            })
            .collect();
        for get in gets {
            get.join().unwrap().unwrap();
        }
        assert_eq!(fresh(&m, &id), Some(false));
        assert_eq!(store.get(&id).unwrap().version, registered + 1);
    }
}

/// Fresh as each store keeps it: served and unserved keys, then the store reopened twice by `open`.
fn fresh_survives_reopening(open: impl Fn() -> Arc<dyn ObjectStore>) {
    let (served, unserved) = {
        let m = manager(open());
        let register = || {
            register_public(
                &m,
                dsa_attributes(Some(CryptographicAlgorithm::Dsa), UsageMask::VERIFY),
            )
            .unwrap()
        };
        let (served, unserved) = (register(), register());
        let _ = plain(&m, &served);
        (served, unserved)
    };
    let m = manager(open());
    assert_eq!(fresh(&m, &served), Some(false));
    assert_eq!(fresh(&m, &unserved), Some(true));
    assert_eq!(plain(&m, &unserved).bytes(), &public_der()[..]);
    drop(m);
    let m = manager(open());
    assert_eq!(fresh(&m, &unserved), Some(false));
}

#[cfg(feature = "redb")]
#[test]
fn fresh_stays_false_across_a_reopen_of_the_redb_store() {
    let dir = tempfile::tempdir().unwrap();
    fresh_survives_reopening(|| Arc::new(kms_core::RedbStore::open(dir.path()).unwrap()));
}

#[cfg(feature = "postgres")]
mod postgres_common;

#[cfg(feature = "postgres")]
#[test]
fn fresh_stays_false_across_a_reopen_of_the_postgres_store() {
    let schema = postgres_common::fresh_schema_name();
    let url = postgres_common::url();
    fresh_survives_reopening(|| {
        Arc::new(
            kms_core::store::PostgresStore::connect(
                &url,
                &postgres_common::root_key(0x51),
                postgres_common::options_in(&schema),
            )
            .unwrap(),
        )
    });
    postgres_common::execute_at(&url, &format!("DROP SCHEMA {schema} CASCADE"));
}
