//! KmipService: Derive Key with known answers (PBKDF2-HMAC-SHA256, HKDF RFC 5869) and Get wrapped with
//! RSA-OAEP, unwrapped again by Decrypt with the private key.

#![cfg(feature = "service")]

mod service_support;

use kms_kmip::message::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, DerivationMethod, HashingAlgorithm,
    KeyFormatType, ObjectType, PaddingMethod, SecretDataType, WrappingMethod,
};
use kms_kmip::message::objects::{SecretData, SymmetricKey};
use kms_kmip::message::operations::access::GetRequest;
use kms_kmip::message::operations::crypto::DecryptRequest;
use kms_kmip::message::operations::lifecycle::{
    CreateRequest, DerivationParameters, DeriveKeyRequest, RegisterRequest,
};
use kms_kmip::message::types::{
    CryptographicParameters, EncryptionKeyInformation, KeyWrappingSpecification,
};
use kms_kmip::message::{
    Attribute, Attributes, KeyValue, Object, RequestPayload, ResponseBatchItem, ResponsePayload,
    SecretBytes, UniqueIdentifier,
};
use kms_kmip::service::KmipService;
use kms_kmip::tags::Version;
use service_support::{
    activate, alice, bytes_of, hex, key_pair, ok, one, raw_block, service, text, uid,
};

/// Every request here is alice's, in KMIP 2.1.
fn send(s: &KmipService, p: RequestPayload) -> ResponseBatchItem {
    one(s, &alice(), Version::V2_1, p)
}

/// Registers an active secret with Derive Key in its usage mask.
fn base_secret(s: &KmipService, secret: &[u8]) -> String {
    let ResponsePayload::Register(r) = ok(send(
        s,
        RequestPayload::Register(RegisterRequest {
            object_type: ObjectType::SECRET_DATA,
            attributes: Attributes::new(vec![Attribute::CryptographicUsageMask(
                CryptographicUsageMask::DERIVE_KEY,
            )]),
            object: Some(Box::new(Object::SecretData(SecretData {
                secret_data_type: SecretDataType::PASSWORD,
                key_block: raw_block(secret, None),
                ..Default::default()
            }))),
            ..Default::default()
        }),
    )) else {
        panic!("register")
    };
    let id = text(&r.unique_identifier);
    activate(s, Version::V2_1, &id);
    id
}

/// The raw value of a key or secret.
fn value(s: &KmipService, id: &str) -> Vec<u8> {
    let ResponsePayload::Get(got) = ok(send(
        s,
        RequestPayload::Get(GetRequest {
            unique_identifier: uid(id),
            key_format_type: Some(KeyFormatType::RAW),
            ..Default::default()
        }),
    )) else {
        panic!("get")
    };
    let block = match got.object.map(|o| *o) {
        Some(Object::SymmetricKey(k)) => k.key_block,
        Some(Object::SecretData(k)) => k.key_block,
        other => panic!("a symmetric key or secret, got {other:?}"),
    };
    bytes_of(&block)
}

fn derive(
    s: &KmipService,
    base: &str,
    method: DerivationMethod,
    parameters: DerivationParameters,
    attributes: Vec<Attribute>,
    object_type: ObjectType,
) -> String {
    let ResponsePayload::DeriveKey(d) = ok(send(
        s,
        RequestPayload::DeriveKey(DeriveKeyRequest {
            object_type,
            unique_identifiers: vec![UniqueIdentifier::Text(base.to_owned())],
            derivation_method: method,
            derivation_parameters: parameters,
            attributes: Attributes::new(attributes),
            ..Default::default()
        }),
    )) else {
        panic!("derive")
    };
    text(&d.unique_identifier)
}

/// PBKDF2-HMAC-SHA256("password", "salt", 4096 iterations, 32 bytes), the widely published vector.
#[test]
fn pbkdf2_derives_the_known_key() {
    let s = service();
    let base = base_secret(&s, b"password");
    let derived = derive(
        &s,
        &base,
        DerivationMethod::PBKDF2,
        DerivationParameters {
            cryptographic_parameters: Some(CryptographicParameters {
                hashing_algorithm: Some(HashingAlgorithm::SHA_256),
                ..Default::default()
            }),
            salt: Some(b"salt".to_vec()),
            iteration_count: Some(4096),
            ..Default::default()
        },
        vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
            Attribute::CryptographicLength(256),
            Attribute::CryptographicUsageMask(CryptographicUsageMask::ENCRYPT),
        ],
        ObjectType::SYMMETRIC_KEY,
    );
    assert_eq!(
        value(&s, &derived),
        hex("c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")
    );
}

/// RFC 5869 A.1, the first 32 bytes of its 42-byte output (HKDF's output prefix does not depend on L).
#[test]
fn hkdf_derives_the_rfc_5869_key() {
    let s = service();
    let base = base_secret(&s, &[0x0b; 22]);
    let derived = derive(
        &s,
        &base,
        DerivationMethod::HKDF,
        DerivationParameters {
            cryptographic_parameters: Some(CryptographicParameters {
                hashing_algorithm: Some(HashingAlgorithm::SHA_256),
                ..Default::default()
            }),
            salt: Some(hex("000102030405060708090a0b0c")),
            derivation_data: Some(hex("f0f1f2f3f4f5f6f7f8f9")),
            ..Default::default()
        },
        vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
            Attribute::CryptographicLength(256),
            Attribute::CryptographicUsageMask(CryptographicUsageMask::ENCRYPT),
        ],
        ObjectType::SYMMETRIC_KEY,
    );
    assert_eq!(
        value(&s, &derived),
        hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf")
    );
}

/// Get wrapped under an RSA public key with OAEP, and the wrapped bytes decrypted by the private key.
#[test]
fn get_wrapped_with_rsa_oaep_unwraps_to_the_key() {
    let s = service();
    let (private, public) = key_pair(
        &s,
        vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::RSA),
            Attribute::CryptographicLength(2048),
        ],
        CryptographicUsageMask::DECRYPT | CryptographicUsageMask::UNWRAP_KEY,
        CryptographicUsageMask::WRAP_KEY,
    );
    activate(&s, Version::V2_1, &private);
    activate(&s, Version::V2_1, &public);

    let ResponsePayload::Create(c) = ok(send(
        &s,
        RequestPayload::Create(CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: Attributes::new(vec![
                Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
                Attribute::CryptographicLength(256),
                Attribute::CryptographicUsageMask(CryptographicUsageMask::ENCRYPT),
            ]),
            ..Default::default()
        }),
    )) else {
        panic!("create")
    };
    let aes = text(&c.unique_identifier);
    let oaep = CryptographicParameters {
        padding_method: Some(PaddingMethod::OAEP),
        hashing_algorithm: Some(HashingAlgorithm::SHA_256),
        mask_generator_hashing_algorithm: Some(HashingAlgorithm::SHA_256),
        ..Default::default()
    };
    let wrapped_get = |params: CryptographicParameters| {
        send(
            &s,
            RequestPayload::Get(GetRequest {
                unique_identifier: uid(&aes),
                key_wrapping_specification: Some(Box::new(KeyWrappingSpecification {
                    wrapping_method: WrappingMethod::ENCRYPT,
                    encryption_key_information: Some(EncryptionKeyInformation {
                        unique_identifier: UniqueIdentifier::Text(public.clone()),
                        cryptographic_parameters: Some(Box::new(params)),
                        ..Default::default()
                    }),
                    ..Default::default()
                })),
                ..Default::default()
            }),
        )
    };
    // OAEP-SHA-256 with KMIP's default MGF1 hash (SHA-1) is not a wrapping this server does: refused, not
    // silently done with MGF1-SHA-256.
    let refused = wrapped_get(CryptographicParameters {
        mask_generator_hashing_algorithm: None,
        ..oaep.clone()
    });
    assert_eq!(
        refused.result_reason,
        Some(kms_kmip::message::enums::ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS)
    );
    let ResponsePayload::Get(got) = ok(send(
        &s,
        RequestPayload::Get(GetRequest {
            unique_identifier: uid(&aes),
            key_wrapping_specification: Some(Box::new(KeyWrappingSpecification {
                wrapping_method: WrappingMethod::ENCRYPT,
                encryption_key_information: Some(EncryptionKeyInformation {
                    unique_identifier: UniqueIdentifier::Text(public),
                    cryptographic_parameters: Some(Box::new(oaep.clone())),
                    ..Default::default()
                }),
                ..Default::default()
            })),
            ..Default::default()
        }),
    )) else {
        panic!("get")
    };
    let Some(Object::SymmetricKey(SymmetricKey { key_block, .. })) = got.object.map(|o| *o) else {
        panic!("symmetric key")
    };
    let Some(KeyValue::Wrapped(wrapped)) = key_block.key_value else {
        panic!("wrapped")
    };
    assert_eq!(wrapped.expose().len(), 256, "one RSA-2048 block");
    let wrapping = key_block.key_wrapping_data.expect("Key Wrapping Data");
    let info = wrapping
        .encryption_key_information
        .expect("Encryption Key Information");
    let params = info.cryptographic_parameters.expect("parameters");
    assert_eq!(params.padding_method, Some(PaddingMethod::OAEP));
    assert_eq!(params.hashing_algorithm, Some(HashingAlgorithm::SHA_256));
    assert_eq!(
        params.mask_generator_hashing_algorithm,
        Some(HashingAlgorithm::SHA_256)
    );

    let ResponsePayload::Decrypt(d) = ok(send(
        &s,
        RequestPayload::Decrypt(DecryptRequest {
            unique_identifier: uid(&private),
            cryptographic_parameters: Some(CryptographicParameters {
                cryptographic_algorithm: Some(CryptographicAlgorithm::RSA),
                ..oaep
            }),
            data: Some(wrapped.expose().to_vec()),
            ..Default::default()
        }),
    )) else {
        panic!("decrypt")
    };
    assert_eq!(
        d.data.as_ref().map(SecretBytes::expose),
        Some(&value(&s, &aes)[..])
    );
}
