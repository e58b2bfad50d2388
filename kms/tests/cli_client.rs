//! The `kms` client subcommands against `kms serve`: the built binary on a fresh data directory and free
//! ports; every client call passes the server's --data-dir and addresses, and so trusts its CA and presents
//! the admin certificate it wrote.
#![cfg(all(feature = "cli", feature = "kmip"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
#[path = "../../kms-kmip/tests/vectors/dsa.rs"]
mod vector_dsa;

use dsa::signature::hazmat::PrehashVerifier;
use kms::kmip::message::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, KeyFormatType, ObjectType, ResultStatus,
};
use kms::kmip::message::objects::{
    PrivateKey, PublicKey, TransparentDSAPrivateKey, TransparentDSAPublicKey,
};
use kms::kmip::message::operations::lifecycle::RegisterRequest;
use kms::kmip::message::{
    Attribute, Attributes, BigInteger, KeyBlock, KeyMaterial, KeyValue, Object, RequestBatchItem,
    RequestHeader, RequestMessage, RequestPayload, ResponseMessage, ResponsePayload,
    SecretBigInteger,
};
use kms::kmip::tags::Version;
use kms::kmip::transport::client::{ClientOptions, KmipClient};
use sha2::Digest;
use support::{Server, client_tls, field};
use vector_dsa::dsa_2048_256;
use zeroize::Zeroizing;

#[test]
fn client_subcommands_against_kms_serve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data);

    // A symmetric key: create, locate by name, get, encrypt/decrypt, attributes, revoke, destroy.
    let created = s.ok(&["create", "--name", "cli-aes", "--activate"]);
    let aes = created.trim().to_owned();
    assert!(!aes.is_empty() && !aes.contains('\n'), "{created:?}");
    assert_eq!(s.ok(&["locate", "--name", "cli-aes"]).trim(), aes);
    assert!(
        s.ok(&["locate", "--name", "no-such-name"])
            .trim()
            .is_empty()
    );
    let value = s.ok(&["get", &aes]);
    assert_eq!(value.trim().len(), 64, "a 256-bit key in hex: {value:?}");

    let sealed = s.ok(&["encrypt", &aes, "--data", "attack at dawn", "--aad", "h"]);
    let (ct, iv, tag) = (
        field(&sealed, "data"),
        field(&sealed, "iv"),
        field(&sealed, "tag"),
    );
    let opened = s.ok(&[
        "decrypt", &aes, "--data", ct, "--iv", iv, "--tag", tag, "--aad", "h",
    ]);
    assert_eq!(opened.trim_end(), "attack at dawn");
    // A wrong AAD fails the tag check: non-zero exit, nothing decrypted on stdout.
    let tampered = s.run(&[
        "decrypt", &aes, "--data", ct, "--iv", iv, "--tag", tag, "--aad", "x",
    ]);
    assert!(!tampered.status.success());
    assert!(!String::from_utf8_lossy(&tampered.stdout).contains("attack"));

    let attributes = s.ok(&["attributes", &aes]);
    assert!(attributes.contains("cli-aes"), "{attributes}");
    let query = s.ok(&["query"]);
    assert!(query.contains("operation: Encrypt"), "{query}");

    s.ok(&["revoke", &aes]);
    assert!(!s.run(&["encrypt", &aes, "--data", "x"]).status.success());
    s.ok(&["destroy", &aes]);
    assert!(!s.run(&["get", &aes]).status.success());

    // A key pair: sign with the private key, verify with the public key, refuse a changed message.
    let pair = s.ok(&[
        "create",
        "--algorithm",
        "ec",
        "--length",
        "256",
        "--activate",
    ]);
    let ids: Vec<&str> = pair.split_whitespace().collect();
    assert_eq!(ids.len(), 2, "{pair:?}");
    let signed = s.ok(&["sign", ids[0], "--data", "m", "--ecdsa"]);
    let signature = signed.trim();
    let verify = |id: &str, message: &str| {
        s.run(&[
            "verify",
            id,
            "--data",
            message,
            "--signature",
            signature,
            "--ecdsa",
        ])
    };
    // Which line is the public key is the subcommand's to say; one of the two verifies.
    let valid = ids.iter().any(|id| {
        let out = verify(id, "m");
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("valid")
    });
    assert!(valid, "the signature verifies");
    assert!(ids.iter().all(|id| !verify(id, "n").status.success()));

    // DSA parameters name the wrong algorithm for an EC key: the server refuses, and says why.
    let refused = s.run(&["sign", ids[0], "--data", "m", "--dsa"]);
    assert!(!refused.status.success());
    let reason = String::from_utf8_lossy(&refused.stderr);
    assert!(
        reason.contains("Invalid Field"),
        "the KMIP Result Reason on stderr: {reason}"
    );
}

/// Registers a DSA key over KMIP with the library client (the CLI has no Register); its Unique Identifier.
fn register_dsa(
    server: &Server,
    object_type: ObjectType,
    key_material: KeyMaterial,
    usage: CryptographicUsageMask,
) -> String {
    let key_format_type = if object_type == ObjectType::PRIVATE_KEY {
        KeyFormatType::TRANSPARENT_DSA_PRIVATE_KEY
    } else {
        KeyFormatType::TRANSPARENT_DSA_PUBLIC_KEY
    };
    let key_block = KeyBlock {
        key_format_type,
        key_value: Some(KeyValue::Plain {
            key_material,
            attributes: None,
            extensions: Vec::new(),
        }),
        cryptographic_algorithm: Some(CryptographicAlgorithm::DSA),
        cryptographic_length: Some(2048),
        ..Default::default()
    };
    let object = if object_type == ObjectType::PRIVATE_KEY {
        Object::PrivateKey(PrivateKey {
            key_block,
            ..Default::default()
        })
    } else {
        Object::PublicKey(PublicKey {
            key_block,
            ..Default::default()
        })
    };
    let request = RequestMessage {
        header: RequestHeader {
            protocol_version: Version::V2_1.into(),
            batch_count: 1,
            ..Default::default()
        },
        batch_items: vec![
            RequestBatchItem::new(RequestPayload::Register(RegisterRequest {
                object_type,
                attributes: Attributes::new(vec![Attribute::CryptographicUsageMask(usage)]),
                object: Some(Box::new(object)),
                ..Default::default()
            }))
            .unwrap(),
        ],
    };
    let mut client = KmipClient::connect(
        &server.kmip,
        client_tls(&server.certs(), "admin"),
        ClientOptions::default(),
    )
    .unwrap();
    let response = client.request(&request.to_bytes().unwrap()).unwrap();
    client.close().unwrap();
    let item = ResponseMessage::from_bytes(&response)
        .unwrap()
        .batch_items
        .into_iter()
        .next()
        .unwrap();
    assert_eq!(
        item.result_status,
        ResultStatus::SUCCESS,
        "{:?}: {:?}",
        item.result_reason,
        item.result_message
    );
    let Some(ResponsePayload::Register(r)) = item.payload else {
        panic!("not a Register response")
    };
    r.unique_identifier.as_str().unwrap().to_owned()
}

/// `kms sign --dsa` and `kms verify --dsa` on a DSA pair registered over KMIP: the signature verifies through the
/// server and, independently, with the `dsa` crate on SHA-256("m"); a changed message does not verify; the pair
/// refuses RSA parameters; `--dsa` with `--ecdsa` is refused before any request.
#[test]
fn dsa_sign_and_verify_against_kms_serve() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data"));
    // As KMIP Big Integers: magnitudes behind zero words that keep the sign bit clear.
    let [p, q, g, x, y] = dsa_2048_256().map(|c| hex::decode(c).unwrap());

    let private = register_dsa(
        &s,
        ObjectType::PRIVATE_KEY,
        KeyMaterial::TransparentDSAPrivateKey(TransparentDSAPrivateKey {
            p: BigInteger(p.clone()),
            q: BigInteger(q.clone()),
            g: BigInteger(g.clone()),
            x: SecretBigInteger(Zeroizing::new(x)),
            ..Default::default()
        }),
        CryptographicUsageMask::SIGN,
    );
    let public = register_dsa(
        &s,
        ObjectType::PUBLIC_KEY,
        KeyMaterial::TransparentDSAPublicKey(TransparentDSAPublicKey {
            p: BigInteger(p.clone()),
            q: BigInteger(q.clone()),
            g: BigInteger(g.clone()),
            y: BigInteger(y.clone()),
            ..Default::default()
        }),
        CryptographicUsageMask::VERIFY,
    );
    // Registered objects start Pre-Active.
    s.ok(&["activate", &private]);
    s.ok(&["activate", &public]);

    let signed = s.ok(&["sign", &private, "--data", "m", "--dsa"]);
    let signature = signed.trim();
    let verify = |message: &str| {
        s.run(&[
            "verify",
            &public,
            "--data",
            message,
            "--signature",
            signature,
            "--dsa",
        ])
    };
    let valid = verify("m");
    assert!(
        valid.status.success(),
        "{}",
        String::from_utf8_lossy(&valid.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&valid.stdout).trim(), "valid");
    let changed = verify("n");
    assert!(!changed.status.success());
    assert!(!String::from_utf8_lossy(&changed.stdout).contains("valid"));

    // The same signature checked outside the server: a DER Dss-Sig-Value over SHA-256 of the message.
    let der = hex::decode(signature).unwrap();
    // The crate takes the key's size from the numbers' precision, so without the Big Integers' zero words.
    let uint = |big_integer: &[u8]| {
        let zeros = big_integer.iter().take_while(|&&b| b == 0).count();
        let magnitude = &big_integer[zeros..];
        let bits = u32::try_from(magnitude.len() * 8).unwrap();
        dsa::BoxedUint::from_be_slice(magnitude, bits).unwrap()
    };
    let components = dsa::Components::from_components(uint(&p), uint(&q), uint(&g)).unwrap();
    let key = dsa::VerifyingKey::from_components(components, uint(&y)).unwrap();
    let parsed = dsa::Signature::try_from(&der[..]).unwrap();
    key.verify_prehash(&sha2::Sha256::digest(b"m"), &parsed)
        .expect("the dsa crate accepts the server's signature");
    assert!(
        key.verify_prehash(&sha2::Sha256::digest(b"n"), &parsed)
            .is_err()
    );

    // Without --dsa the CLI asks for RSA PKCS#1 v1.5, which a DSA key cannot do.
    let refused = s.run(&["sign", &private, "--data", "m"]);
    assert!(!refused.status.success());
    let reason = String::from_utf8_lossy(&refused.stderr);
    assert!(
        reason.contains("Invalid Field"),
        "the KMIP Result Reason on stderr: {reason}"
    );

    // The two algorithm flags exclude each other: clap's usage error, exit status 2.
    let both = s.run(&["sign", &private, "--data", "m", "--dsa", "--ecdsa"]);
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
}
