//! KmipService: derived attributes (Digest, Key Format Type), the registered format as Get's default, the
//! block cipher modes of the Basic Cryptographic profile, Result Reasons per version and Maximum Response Size;
//! Transparent RSA, EC and DSA keys both ways, DSA Sign and Signature Verify, and the Fresh attribute.

#![cfg(feature = "service")]

mod service_support;
#[path = "vectors/dsa.rs"]
mod vector_dsa;

use kms_core::dsa::{DsaPrivateKey, DsaPublicKey};
use kms_kmip::message::enums::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, DigitalSignatureAlgorithm,
    HashingAlgorithm, KeyFormatType, ObjectType, PaddingMethod, ResultReason, ResultStatus,
    ValidityIndicator,
};
use kms_kmip::message::objects::{
    SymmetricKey, TransparentDSAPrivateKey, TransparentDSAPublicKey, TransparentSymmetricKey,
};
use kms_kmip::message::operations::access::GetRequest;
use kms_kmip::message::operations::crypto::{
    DecryptRequest, EncryptRequest, HashRequest, SignRequest, SignatureVerifyRequest,
};
use kms_kmip::message::operations::lifecycle::RegisterRequest;
use kms_kmip::message::operations::transfer::ExportRequest;
use kms_kmip::message::types::CryptographicParameters;
use kms_kmip::message::{
    Attribute, AttributeReference, Attributes, BigInteger, KeyBlock, KeyMaterial, KeyValue, Object,
    RequestPayload, ResponseBatchItem, ResponsePayload, SecretBigInteger, SecretBytes,
    UniqueIdentifier,
};
use kms_kmip::service::KmipService;
use kms_kmip::tags::Version;
use kms_kmip::ttlv::Tag;
use service_support::{
    alice, bytes_of, failed, get, get_attributes, hex, key_pair, message, ok, one, p256, service,
    text, uid,
};
use vector_dsa::dsa_2048_256;
use zeroize::Zeroizing;

/// Every request here is alice's.
fn send(s: &KmipService, version: Version, p: RequestPayload) -> ResponseBatchItem {
    one(s, &alice(), version, p)
}

/// Registers an active AES key given in `format`.
fn register(s: &KmipService, key: &[u8], format: KeyFormatType, activate: bool) -> String {
    let key_material = if format == KeyFormatType::TRANSPARENT_SYMMETRIC_KEY {
        KeyMaterial::TransparentSymmetricKey(TransparentSymmetricKey {
            key: SecretBytes::new(key.to_vec()),
            ..Default::default()
        })
    } else {
        KeyMaterial::Bytes(SecretBytes::new(key.to_vec()))
    };
    let ResponsePayload::Register(r) = ok(send(
        s,
        Version::V2_1,
        RequestPayload::Register(RegisterRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: Attributes::new(vec![Attribute::CryptographicUsageMask(
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
            )]),
            object: Some(Box::new(Object::SymmetricKey(SymmetricKey {
                key_block: KeyBlock {
                    key_format_type: format,
                    key_value: Some(KeyValue::Plain {
                        key_material,
                        attributes: None,
                        extensions: Vec::new(),
                    }),
                    cryptographic_algorithm: Some(CryptographicAlgorithm::AES),
                    cryptographic_length: Some(i32::try_from(key.len() * 8).expect("len")),
                    ..Default::default()
                },
                ..Default::default()
            }))),
            ..Default::default()
        }),
    )) else {
        panic!("register")
    };
    let UniqueIdentifier::Text(id) = r.unique_identifier else {
        panic!("text id")
    };
    if activate {
        service_support::activate(s, Version::V2_1, &id);
    }
    id
}

fn derived(s: &KmipService, version: Version, id: &str) -> Vec<Attribute> {
    let ResponsePayload::GetAttributes(r) = ok(send(
        s,
        version,
        get_attributes(
            id,
            vec![
                AttributeReference::Standard(Tag::DIGEST),
                AttributeReference::Standard(Tag::KEY_FORMAT_TYPE),
            ],
        ),
    )) else {
        panic!("get attributes")
    };
    r.attributes.map(|a| a.attributes).unwrap_or_default()
}

#[test]
fn digest_and_key_format_type_follow_the_registered_format() {
    let s = service();
    let key = vec![0x5a; 32];
    let id = register(&s, &key, KeyFormatType::TRANSPARENT_SYMMETRIC_KEY, false);
    let ResponsePayload::Hash(h) = ok(send(
        &s,
        Version::V2_1,
        RequestPayload::Hash(HashRequest {
            cryptographic_parameters: CryptographicParameters {
                hashing_algorithm: Some(HashingAlgorithm::SHA_256),
                ..Default::default()
            },
            data: Some(key.clone()),
            ..Default::default()
        }),
    )) else {
        panic!("hash")
    };
    let sha256 = h.data.expect("digest");

    let v21 = derived(&s, Version::V2_1, &id);
    assert!(v21.contains(&Attribute::KeyFormatType(
        KeyFormatType::TRANSPARENT_SYMMETRIC_KEY
    )));
    let digest = v21
        .iter()
        .find_map(|a| match a {
            Attribute::Digest(d) => Some(d.clone()),
            _ => None,
        })
        .expect("a Digest");
    assert_eq!(digest.hashing_algorithm, HashingAlgorithm::SHA_256);
    assert_eq!(digest.digest_value.as_deref(), Some(&sha256[..]));

    // Key Format Type is a 2.0 attribute: a 1.4 client gets the Digest only.
    let v14 = derived(&s, Version::V1_4, &id);
    assert_eq!(v14.len(), 1, "{v14:?}");
    assert!(matches!(v14[0], Attribute::Digest(_)));

    // Get without a Key Format Type answers in the registered one.
    let ResponsePayload::Get(got) = ok(send(&s, Version::V2_1, get(&id))) else {
        panic!("get")
    };
    let Some(Object::SymmetricKey(k)) = got.object.as_deref() else {
        panic!("symmetric key")
    };
    assert_eq!(
        k.key_block.key_format_type,
        KeyFormatType::TRANSPARENT_SYMMETRIC_KEY
    );
}

fn params(
    mode: BlockCipherMode,
    padding: Option<PaddingMethod>,
) -> Option<CryptographicParameters> {
    Some(CryptographicParameters {
        block_cipher_mode: Some(mode),
        padding_method: padding,
        ..Default::default()
    })
}

fn encrypt(
    s: &KmipService,
    id: &str,
    p: Option<CryptographicParameters>,
    iv: Option<Vec<u8>>,
    data: &[u8],
) -> ResponseBatchItem {
    send(
        s,
        Version::V2_1,
        RequestPayload::Encrypt(EncryptRequest {
            unique_identifier: uid(id),
            cryptographic_parameters: p,
            data: Some(SecretBytes::new(data.to_vec())),
            iv_counter_nonce: iv,
            ..Default::default()
        }),
    )
}

fn decrypt(
    s: &KmipService,
    version: Version,
    id: &str,
    p: Option<CryptographicParameters>,
    iv: Option<Vec<u8>>,
    data: &[u8],
) -> ResponseBatchItem {
    send(
        s,
        version,
        RequestPayload::Decrypt(DecryptRequest {
            unique_identifier: uid(id),
            cryptographic_parameters: p,
            data: Some(data.to_vec()),
            iv_counter_nonce: iv,
            ..Default::default()
        }),
    )
}

/// NIST SP 800-38A F.1.1 and F.2.1 through KMIP Encrypt and Decrypt.
#[test]
fn ecb_and_cbc_answer_the_sp800_38a_vectors() {
    let s = service();
    let id = register(
        &s,
        &hex("2b7e151628aed2a6abf7158809cf4f3c"),
        KeyFormatType::RAW,
        true,
    );
    let plain = hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
    let iv = hex("000102030405060708090a0b0c0d0e0f");

    let ResponsePayload::Encrypt(e) = ok(encrypt(
        &s,
        &id,
        params(BlockCipherMode::ECB, None),
        None,
        &plain,
    )) else {
        panic!("encrypt")
    };
    assert_eq!(
        e.data.as_deref(),
        Some(&hex("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf")[..])
    );
    let cbc = params(BlockCipherMode::CBC, None);
    let ResponsePayload::Encrypt(e) = ok(encrypt(&s, &id, cbc.clone(), Some(iv.clone()), &plain))
    else {
        panic!("encrypt")
    };
    let expected = hex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2");
    assert_eq!(e.data.as_deref(), Some(&expected[..]));
    assert_eq!(e.iv_counter_nonce, None, "the client's IV is not echoed");
    let ResponsePayload::Decrypt(d) = ok(decrypt(
        &s,
        Version::V2_1,
        &id,
        cbc.clone(),
        Some(iv),
        &expected,
    )) else {
        panic!("decrypt")
    };
    assert_eq!(d.data.as_ref().map(SecretBytes::expose), Some(&plain[..]));

    // PKCS#5 padding with a server-chosen IV round-trips any length.
    let padded = params(BlockCipherMode::CBC, Some(PaddingMethod::PKCS5));
    let ResponsePayload::Encrypt(e) =
        ok(encrypt(&s, &id, padded.clone(), None, b"seventeen bytes!!"))
    else {
        panic!("encrypt")
    };
    assert_eq!(e.data.as_ref().map(Vec::len), Some(32));
    let chosen = e.iv_counter_nonce.clone().expect("the IV the server chose");
    let ciphertext = e.data.expect("data");
    let ResponsePayload::Decrypt(d) = ok(decrypt(
        &s,
        Version::V2_1,
        &id,
        padded.clone(),
        Some(chosen),
        &ciphertext,
    )) else {
        panic!("decrypt")
    };
    assert_eq!(
        d.data.as_ref().map(SecretBytes::expose),
        Some(&b"seventeen bytes!!"[..])
    );

    // A Decrypt without its IV is an Invalid Message (CS-BC-M-11).
    let missing = decrypt(&s, Version::V2_1, &id, padded, None, &ciphertext);
    assert_eq!(missing.result_reason, Some(ResultReason::INVALID_MESSAGE));
}

#[test]
fn result_reasons_are_those_of_the_client_version() {
    let s = service();
    // Pre-Active: Encrypt is refused, with a reason each version knows.
    let id = register(&s, &[1; 16], KeyFormatType::RAW, false);
    let v21 = encrypt(&s, &id, params(BlockCipherMode::ECB, None), None, &[0; 16]);
    assert_eq!(
        v21.result_reason,
        Some(ResultReason::WRONG_KEY_LIFECYCLE_STATE)
    );
    let v14 = send(
        &s,
        Version::V1_4,
        RequestPayload::Encrypt(EncryptRequest {
            unique_identifier: uid(&id),
            cryptographic_parameters: params(BlockCipherMode::ECB, None),
            data: Some(SecretBytes::new(vec![0; 16])),
            ..Default::default()
        }),
    );
    assert_eq!(v14.result_reason, Some(ResultReason::PERMISSION_DENIED));
    // A missing object: Object Not Found in 2.x, Item Not Found in 1.x.
    for (version, reason) in [
        (Version::V2_1, ResultReason::OBJECT_NOT_FOUND),
        (Version::V1_4, ResultReason::ITEM_NOT_FOUND),
    ] {
        let r = decrypt(
            &s,
            version,
            "no-such-object",
            None,
            Some(vec![0; 12]),
            &[0; 16],
        );
        assert_eq!(r.result_reason, Some(reason), "{version}");
    }
}

#[test]
fn maximum_response_size_refuses_a_larger_answer() {
    let s = service();
    let id = register(&s, &[2; 16], KeyFormatType::RAW, true);
    let get = |max| {
        let mut m = message(Version::V2_1, vec![get(&id)]);
        m.header.maximum_response_size = max;
        let r = service_support::send(&s, &alice(), &m);
        r.batch_items.into_iter().next().expect("one item")
    };
    let small = get(Some(64));
    assert_eq!(small.result_status, ResultStatus::OPERATION_FAILED);
    assert_eq!(small.result_reason, Some(ResultReason::RESPONSE_TOO_LARGE));
    ok(get(Some(4096)));
}

fn get_key(s: &KmipService, id: &str, format: KeyFormatType) -> KeyBlock {
    let ResponsePayload::Get(got) = ok(send(
        s,
        Version::V2_1,
        RequestPayload::Get(GetRequest {
            unique_identifier: uid(id),
            key_format_type: Some(format),
            ..Default::default()
        }),
    )) else {
        panic!("get")
    };
    match got.object.map(|o| *o) {
        Some(Object::PrivateKey(k)) => k.key_block,
        Some(Object::PublicKey(k)) => k.key_block,
        other => panic!("a key, got {other:?}"),
    }
}

fn register_key(s: &KmipService, object_type: ObjectType, block: KeyBlock) -> String {
    register_key_for(s, object_type, block, CryptographicUsageMask::VERIFY)
}

fn register_key_for(
    s: &KmipService,
    object_type: ObjectType,
    block: KeyBlock,
    usage: CryptographicUsageMask,
) -> String {
    let object = if object_type == ObjectType::PRIVATE_KEY {
        Object::PrivateKey(kms_kmip::message::objects::PrivateKey {
            key_block: block,
            ..Default::default()
        })
    } else {
        Object::PublicKey(kms_kmip::message::objects::PublicKey {
            key_block: block,
            ..Default::default()
        })
    };
    let ResponsePayload::Register(r) = ok(send(
        s,
        Version::V2_1,
        RequestPayload::Register(RegisterRequest {
            object_type,
            attributes: Attributes::new(vec![Attribute::CryptographicUsageMask(usage)]),
            object: Some(Box::new(object)),
            ..Default::default()
        }),
    )) else {
        panic!("register")
    };
    text(&r.unique_identifier)
}

/// An RSA pair out as Transparent RSA keys and back in: the same keys, in every other format.
#[test]
fn transparent_rsa_keys_round_trip() {
    let s = service();
    let (private, public) = key_pair(
        &s,
        vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::RSA),
            Attribute::CryptographicLength(2048),
        ],
        CryptographicUsageMask::SIGN,
        CryptographicUsageMask::VERIFY,
    );

    let transparent = get_key(&s, &public, KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY);
    let Some(KeyValue::Plain {
        key_material: KeyMaterial::TransparentRSAPublicKey(t),
        ..
    }) = &transparent.key_value
    else {
        panic!("transparent public key")
    };
    // Big Integers come back sign-extended to whole 8-byte words.
    let magnitude = |b: &[u8]| {
        b.iter()
            .copied()
            .skip_while(|x| *x == 0)
            .collect::<Vec<u8>>()
    };
    assert_eq!(magnitude(&t.public_exponent.0), [0x01, 0x00, 0x01]);
    assert_eq!(magnitude(&t.modulus.0).len(), 256, "2048 bits");
    let again = register_key(&s, ObjectType::PUBLIC_KEY, transparent);
    assert_eq!(
        bytes_of(&get_key(&s, &again, KeyFormatType::X_509)),
        bytes_of(&get_key(&s, &public, KeyFormatType::X_509))
    );

    let transparent = get_key(&s, &private, KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY);
    assert!(matches!(
        transparent.key_value,
        Some(KeyValue::Plain {
            key_material: KeyMaterial::TransparentRSAPrivateKey(_),
            ..
        })
    ));
    let again = register_key(&s, ObjectType::PRIVATE_KEY, transparent);
    assert_eq!(
        bytes_of(&get_key(&s, &again, KeyFormatType::PKCS_1)),
        bytes_of(&get_key(&s, &private, KeyFormatType::PKCS_1))
    );
}

/// A P-256 pair out as Transparent EC keys and back in: the same keys.
#[test]
fn transparent_ec_keys_round_trip() {
    use kms_kmip::message::enums::RecommendedCurve;
    let s = service();
    let (private, public) = key_pair(
        &s,
        p256(),
        CryptographicUsageMask::SIGN,
        CryptographicUsageMask::VERIFY,
    );

    let transparent = get_key(&s, &public, KeyFormatType::TRANSPARENT_EC_PUBLIC_KEY);
    let Some(KeyValue::Plain {
        key_material: KeyMaterial::TransparentECPublicKey(t),
        ..
    }) = &transparent.key_value
    else {
        panic!("transparent public key")
    };
    assert_eq!(t.recommended_curve, RecommendedCurve::P_256);
    assert_eq!(
        (t.q_string.len(), t.q_string[0]),
        (65, 0x04),
        "an uncompressed point"
    );
    let again = register_key(&s, ObjectType::PUBLIC_KEY, transparent);
    assert_eq!(
        bytes_of(&get_key(&s, &again, KeyFormatType::X_509)),
        bytes_of(&get_key(&s, &public, KeyFormatType::X_509))
    );

    let transparent = get_key(&s, &private, KeyFormatType::TRANSPARENT_EC_PRIVATE_KEY);
    let again = register_key(&s, ObjectType::PRIVATE_KEY, transparent);
    assert_eq!(
        bytes_of(&get_key(&s, &again, KeyFormatType::PKCS_8)),
        bytes_of(&get_key(&s, &private, KeyFormatType::PKCS_8))
    );
}

/// A registered X.509 certificate: its type, length and the subject's and issuer's Common Names are derived
/// from it, and read-only.
#[test]
fn certificate_attributes_are_derived_and_read_only() {
    use kms_kmip::message::IndexedAttribute;
    use kms_kmip::message::enums::CertificateType;
    use kms_kmip::message::objects::Certificate;
    use kms_kmip::message::operations::access::ModifyAttributeRequest;
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "derived attributes");
    let key = KeyPair::generate().expect("key");
    let der = params
        .self_signed(&key)
        .expect("certificate")
        .der()
        .to_vec();

    let s = service();
    let ResponsePayload::Register(r) = ok(send(
        &s,
        Version::V2_1,
        RequestPayload::Register(RegisterRequest {
            object_type: ObjectType::CERTIFICATE,
            // A Certificate Type that restates the certificate's is accepted.
            attributes: Attributes::new(vec![Attribute::CertificateType(CertificateType::X_509)]),
            object: Some(Box::new(Object::Certificate(Certificate {
                certificate_type: CertificateType::X_509,
                certificate_value: der.clone(),
                ..Default::default()
            }))),
            ..Default::default()
        }),
    )) else {
        panic!("register")
    };
    let id = text(&r.unique_identifier);
    let ResponsePayload::GetAttributes(a) = ok(send(
        &s,
        Version::V2_1,
        get_attributes(
            &id,
            vec![
                AttributeReference::Standard(Tag::CERTIFICATE_SUBJECT_CN),
                AttributeReference::Standard(Tag::CERTIFICATE_ISSUER_CN),
                AttributeReference::Standard(Tag::CERTIFICATE_LENGTH),
            ],
        ),
    )) else {
        panic!("get attributes")
    };
    let mut got = a.attributes.expect("attributes").attributes;
    got.sort_by_key(Attribute::tag);
    let mut expected = vec![
        Attribute::CertificateSubjectCN("derived attributes".into()),
        Attribute::CertificateIssuerCN("derived attributes".into()),
        Attribute::CertificateLength(i32::try_from(der.len()).expect("len")),
    ];
    expected.sort_by_key(Attribute::tag);
    assert_eq!(got, expected);

    let modify = send(
        &s,
        Version::V2_1,
        RequestPayload::ModifyAttribute(ModifyAttributeRequest {
            unique_identifier: uid(&id),
            attribute: IndexedAttribute {
                attribute: Attribute::CertificateLength(123),
                index: None,
            },
            ..Default::default()
        }),
    );
    assert_eq!(
        modify.result_reason,
        Some(ResultReason::ATTRIBUTE_READ_ONLY)
    );
}

// The 512-bit DSA key of the OASIS KMIP 2.1 Baseline test cases BL-M-12-21 and BL-M-13-21, as their KMIP Big
// Integers (sign-extended to whole 8-byte words).
const DSA_P: &str = "0000000000000000fca682ce8e12caba26efccf7110e526db078b05edecbcd1eb4a208f3ae1617ae01f35b91a47e6df63413c5e12ed0899bcd132acd50d99151bdc43ee737592e17";
const DSA_Q: &str = "00000000962eddcc369cba8ebb260ee6b6a126d9346e38c5";
const DSA_G: &str = "678471b27a9cf44ee91a49c5147db1a9aaf244f05a434d6486931d2d14271b9e35030b71fd73da179069b32e2935630e1c2062354d0da20a6c416e50be794ca4";
const DSA_X: &str = "00000000095411d740d2443fa3f97d1ed9a0411bb45e7131";
const DSA_Y: &str = "0000000000000000b3cb74d988dea7160a64a4edbb7f70404fa4c08a4208c19d76357a6a9df200cce79faecb22e3419be9b01128cbd998a2d9307101705e4a952462f34728ac5fcf";

fn dsa_block(format: KeyFormatType, key_material: KeyMaterial) -> KeyBlock {
    KeyBlock {
        key_format_type: format,
        key_value: Some(KeyValue::Plain {
            key_material,
            attributes: None,
            extensions: Vec::new(),
        }),
        cryptographic_algorithm: Some(CryptographicAlgorithm::DSA),
        cryptographic_length: Some(512),
        ..Default::default()
    }
}

fn transparent_dsa_private(p: &str, q: &str, g: &str, x: &str) -> KeyBlock {
    dsa_block(
        KeyFormatType::TRANSPARENT_DSA_PRIVATE_KEY,
        KeyMaterial::TransparentDSAPrivateKey(TransparentDSAPrivateKey {
            p: BigInteger(hex(p)),
            q: BigInteger(hex(q)),
            g: BigInteger(hex(g)),
            x: SecretBigInteger(Zeroizing::new(hex(x))),
            ..Default::default()
        }),
    )
}

fn transparent_dsa_public(p: &str, q: &str, g: &str, y: &str) -> KeyBlock {
    dsa_block(
        KeyFormatType::TRANSPARENT_DSA_PUBLIC_KEY,
        KeyMaterial::TransparentDSAPublicKey(TransparentDSAPublicKey {
            p: BigInteger(hex(p)),
            q: BigInteger(hex(q)),
            g: BigInteger(hex(g)),
            y: BigInteger(hex(y)),
            ..Default::default()
        }),
    )
}

/// DSA keys in as Transparent DSA keys, out as PKCS#8 / SubjectPublicKeyInfo (what kms-core's DSA encoder makes
/// of the components) and as Transparent again (the components, as the OASIS test cases write them); and in as
/// PKCS#8 / SubjectPublicKeyInfo, out as Transparent.
#[test]
fn transparent_dsa_keys_round_trip() {
    let s = service();
    let private_der = DsaPrivateKey::new(&hex(DSA_P), &hex(DSA_Q), &hex(DSA_G), &hex(DSA_X))
        .expect("key")
        .to_pkcs8_der()
        .expect("der");
    let public_der = DsaPublicKey::new(&hex(DSA_P), &hex(DSA_Q), &hex(DSA_G), &hex(DSA_Y))
        .expect("key")
        .to_spki_der()
        .expect("der");

    let private = register_key(
        &s,
        ObjectType::PRIVATE_KEY,
        transparent_dsa_private(DSA_P, DSA_Q, DSA_G, DSA_X),
    );
    assert_eq!(
        bytes_of(&get_key(&s, &private, KeyFormatType::PKCS_8)),
        &private_der[..]
    );
    let by_der = register_key(
        &s,
        ObjectType::PRIVATE_KEY,
        dsa_block(
            KeyFormatType::PKCS_8,
            KeyMaterial::Bytes(SecretBytes::new(private_der.to_vec())),
        ),
    );
    for id in [&private, &by_der] {
        let block = get_key(&s, id, KeyFormatType::TRANSPARENT_DSA_PRIVATE_KEY);
        let Some(KeyValue::Plain {
            key_material: KeyMaterial::TransparentDSAPrivateKey(k),
            ..
        }) = &block.key_value
        else {
            panic!("transparent private key")
        };
        assert_eq!(
            (&k.p.0, &k.q.0, &k.g.0, &k.x.0[..]),
            (&hex(DSA_P), &hex(DSA_Q), &hex(DSA_G), &hex(DSA_X)[..])
        );
        assert_eq!(
            block.cryptographic_algorithm,
            Some(CryptographicAlgorithm::DSA)
        );
    }

    let public = register_key(
        &s,
        ObjectType::PUBLIC_KEY,
        transparent_dsa_public(DSA_P, DSA_Q, DSA_G, DSA_Y),
    );
    assert_eq!(
        bytes_of(&get_key(&s, &public, KeyFormatType::X_509)),
        public_der
    );
    let by_der = register_key(
        &s,
        ObjectType::PUBLIC_KEY,
        dsa_block(
            KeyFormatType::X_509,
            KeyMaterial::Bytes(SecretBytes::new(public_der.clone())),
        ),
    );
    for id in [&public, &by_der] {
        let block = get_key(&s, id, KeyFormatType::TRANSPARENT_DSA_PUBLIC_KEY);
        let Some(KeyValue::Plain {
            key_material: KeyMaterial::TransparentDSAPublicKey(k),
            ..
        }) = &block.key_value
        else {
            panic!("transparent public key")
        };
        assert_eq!(
            (&k.p.0, &k.q.0, &k.g.0, &k.y.0),
            (&hex(DSA_P), &hex(DSA_Q), &hex(DSA_G), &hex(DSA_Y))
        );
    }
    // A DSA key has no PKCS#1 or Transparent RSA form.
    let ResponsePayload::Get(_) = ok(send(&s, Version::V2_1, get(&public))) else {
        panic!("get")
    };
    let wrong = send(
        &s,
        Version::V2_1,
        RequestPayload::Get(GetRequest {
            unique_identifier: uid(&public),
            key_format_type: Some(KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY),
            ..Default::default()
        }),
    );
    failed(&wrong, ResultReason::KEY_FORMAT_TYPE_NOT_SUPPORTED);
}

fn sign(
    s: &KmipService,
    id: &str,
    params: &CryptographicParameters,
    data: &[u8],
) -> ResponseBatchItem {
    send(
        s,
        Version::V2_1,
        RequestPayload::Sign(SignRequest {
            unique_identifier: uid(id),
            cryptographic_parameters: Some(params.clone()),
            data: Some(data.to_vec()),
            ..Default::default()
        }),
    )
}

fn verify(
    s: &KmipService,
    id: &str,
    params: &CryptographicParameters,
    data: &[u8],
    signature: &[u8],
) -> ValidityIndicator {
    let ResponsePayload::SignatureVerify(v) = ok(send(
        s,
        Version::V2_1,
        RequestPayload::SignatureVerify(SignatureVerifyRequest {
            unique_identifier: uid(id),
            cryptographic_parameters: Some(params.clone()),
            data: Some(data.to_vec()),
            signature_data: Some(signature.to_vec()),
            ..Default::default()
        }),
    )) else {
        panic!("signature verify")
    };
    v.validity_indicator
}

/// A 2048-bit DSA pair registered as Transparent DSA keys signs and verifies through Sign and Signature Verify,
/// asked for by Digital Signature Algorithm (DSA with SHA-224, SHA-256) or by Cryptographic Algorithm DSA and a
/// Hashing Algorithm (SHA-384, SHA-512, which KMIP has no DSA value for). SHA-1 only verifies; the 512-bit OASIS
/// key is kept but does not sign: both Unsupported Cryptographic Parameters.
#[test]
fn dsa_sign_and_signature_verify_round_trip() {
    let s = service();
    let [p, q, g, x, y] = dsa_2048_256();
    let sized = |block: KeyBlock| KeyBlock {
        cryptographic_length: Some(2048),
        ..block
    };
    let private = register_key_for(
        &s,
        ObjectType::PRIVATE_KEY,
        sized(transparent_dsa_private(&p, &q, &g, &x)),
        CryptographicUsageMask::SIGN,
    );
    let public = register_key(
        &s,
        ObjectType::PUBLIC_KEY,
        sized(transparent_dsa_public(&p, &q, &g, &y)),
    );
    service_support::activate(&s, Version::V2_1, &private);
    service_support::activate(&s, Version::V2_1, &public);

    let by_name = |a| CryptographicParameters {
        digital_signature_algorithm: Some(a),
        ..Default::default()
    };
    let by_hash = |h| CryptographicParameters {
        cryptographic_algorithm: Some(CryptographicAlgorithm::DSA),
        hashing_algorithm: Some(h),
        ..Default::default()
    };
    for params in [
        by_name(DigitalSignatureAlgorithm::DSA_WITH_SHA224),
        by_name(DigitalSignatureAlgorithm::DSA_WITH_SHA256),
        by_hash(HashingAlgorithm::SHA_384),
        by_hash(HashingAlgorithm::SHA_512),
    ] {
        let ResponsePayload::Sign(signed) = ok(sign(&s, &private, &params, b"message")) else {
            panic!("sign")
        };
        let signature = signed.signature_data.expect("signature");
        // A DER Dss-Sig-Value (SEQUENCE of r and s, each under 2^256), and deterministic (RFC 6979).
        assert_eq!(signature[0], 0x30, "{params:?}");
        assert!(signature.len() <= 2 + 2 * 35, "{params:?}");
        let ResponsePayload::Sign(again) = ok(sign(&s, &private, &params, b"message")) else {
            panic!("sign")
        };
        assert_eq!(again.signature_data.as_ref(), Some(&signature));

        let mut tampered = signature.clone();
        *tampered.last_mut().expect("byte") ^= 1;
        for (data, sig, expected) in [
            (&b"message"[..], &signature, ValidityIndicator::VALID),
            (b"other", &signature, ValidityIndicator::INVALID),
            (b"message", &tampered, ValidityIndicator::INVALID),
        ] {
            assert_eq!(
                verify(&s, &public, &params, data, sig),
                expected,
                "{params:?}"
            );
        }
    }

    let sha1 = by_name(DigitalSignatureAlgorithm::DSA_WITH_SHA_1);
    failed(
        &sign(&s, &private, &sha1, b"message"),
        ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
    );

    let oasis = register_key_for(
        &s,
        ObjectType::PRIVATE_KEY,
        transparent_dsa_private(DSA_P, DSA_Q, DSA_G, DSA_X),
        CryptographicUsageMask::SIGN,
    );
    service_support::activate(&s, Version::V2_1, &oasis);
    failed(
        &sign(
            &s,
            &oasis,
            &by_name(DigitalSignatureAlgorithm::DSA_WITH_SHA256),
            b"message",
        ),
        ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
    );
}

/// Components out of range, or of an absurd size, are an Invalid Field, and nothing is registered.
#[test]
fn bad_transparent_dsa_keys_are_invalid_fields() {
    let s = service();
    let absurd = format!("7f{}", "ff".repeat(1023));
    let cases = [
        transparent_dsa_private(DSA_P, DSA_Q, "01", DSA_X),
        transparent_dsa_private(DSA_P, DSA_Q, DSA_G, "00"),
        transparent_dsa_private(DSA_P, DSA_Q, DSA_G, DSA_Q),
        transparent_dsa_private(&absurd, DSA_Q, DSA_G, DSA_X),
        // Negative: the top bit of a Big Integer is its sign.
        transparent_dsa_private(&DSA_P[16..], DSA_Q, DSA_G, DSA_X),
        transparent_dsa_public(DSA_P, DSA_Q, DSA_G, DSA_P),
        transparent_dsa_public(DSA_P, DSA_P, DSA_G, DSA_Y),
    ];
    for (i, block) in cases.into_iter().enumerate() {
        let object_type = if block.key_format_type == KeyFormatType::TRANSPARENT_DSA_PRIVATE_KEY {
            ObjectType::PRIVATE_KEY
        } else {
            ObjectType::PUBLIC_KEY
        };
        let object = if object_type == ObjectType::PRIVATE_KEY {
            Object::PrivateKey(kms_kmip::message::objects::PrivateKey {
                key_block: block,
                ..Default::default()
            })
        } else {
            Object::PublicKey(kms_kmip::message::objects::PublicKey {
                key_block: block,
                ..Default::default()
            })
        };
        let item = send(
            &s,
            Version::V2_1,
            RequestPayload::Register(RegisterRequest {
                object_type,
                object: Some(Box::new(object)),
                ..Default::default()
            }),
        );
        assert_eq!(
            item.result_reason,
            Some(ResultReason::INVALID_FIELD),
            "case {i}: {:?}",
            item.result_message
        );
    }
    let ResponsePayload::Locate(located) = ok(send(
        &s,
        Version::V2_1,
        RequestPayload::Locate(Default::default()),
    )) else {
        panic!("locate")
    };
    assert!(located.unique_identifiers.is_empty());
}

fn fresh(s: &KmipService, version: Version, id: &str) -> Option<bool> {
    let ResponsePayload::GetAttributes(r) = ok(send(s, version, get_attributes(id, Vec::new())))
    else {
        panic!("get attributes")
    };
    r.attributes
        .expect("attributes")
        .attributes
        .iter()
        .find_map(|a| match a {
            Attribute::Fresh(b) => Some(*b),
            _ => None,
        })
}

/// Fresh is true until Get or Export first returns the key value; KMIP 1.0 clients, whose version has no Fresh,
/// never see it.
#[test]
fn fresh_turns_false_when_the_key_value_is_served() {
    let s = service();
    let id = register_key(
        &s,
        ObjectType::PUBLIC_KEY,
        transparent_dsa_public(DSA_P, DSA_Q, DSA_G, DSA_Y),
    );
    assert_eq!(fresh(&s, Version::V2_1, &id), Some(true));
    assert_eq!(fresh(&s, Version::V1_4, &id), Some(true));
    assert_eq!(fresh(&s, Version::V1_0, &id), None);
    get_key(&s, &id, KeyFormatType::X_509);
    assert_eq!(fresh(&s, Version::V2_1, &id), Some(false));

    let exported = register_key(
        &s,
        ObjectType::PUBLIC_KEY,
        transparent_dsa_public(DSA_P, DSA_Q, DSA_G, DSA_Y),
    );
    let ResponsePayload::Export(e) = ok(send(
        &s,
        Version::V2_1,
        RequestPayload::Export(ExportRequest {
            unique_identifier: uid(&exported),
            ..Default::default()
        }),
    )) else {
        panic!("export")
    };
    assert!(
        e.attributes
            .expect("attributes")
            .attributes
            .contains(&Attribute::Fresh(false))
    );
    assert_eq!(fresh(&s, Version::V2_1, &exported), Some(false));
}
