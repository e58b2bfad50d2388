//! KmipService: streamed Encrypt and Decrypt (Init Indicator, Final Indicator, Correlation Value; KMIP 2.1
//! §6.1.19 and §6.1.13), in process.

#![cfg(feature = "service")]

mod service_support;

use kms_kmip::message::enums::{
    BlockCipherMode, CryptographicUsageMask, PaddingMethod, ResultReason,
};
use kms_kmip::message::operations::crypto::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse,
};
use kms_kmip::message::types::CryptographicParameters;
use kms_kmip::message::{RequestPayload, ResponsePayload, SecretBytes};
use kms_kmip::service::KmipService;
use kms_kmip::tags::Version;
use service_support::{activate, alice, bob, created_aes, failed, ok, one, service, uid};

/// The IV of the first step: 12 bytes for GCM, a block for CBC.
fn iv(params: &CryptographicParameters) -> Vec<u8> {
    if params.block_cipher_mode == Some(BlockCipherMode::CBC) {
        vec![7; 16]
    } else {
        vec![7; 12]
    }
}

/// The additional data of the first step, in GCM.
fn aad(params: &CryptographicParameters) -> Option<Vec<u8>> {
    (params.block_cipher_mode == Some(BlockCipherMode::GCM)).then(|| b"header".to_vec())
}

/// An active AES-256 key of alice's for Encrypt and Decrypt.
fn key(s: &KmipService) -> String {
    let id = created_aes(
        s,
        &alice(),
        Version::V2_1,
        256,
        CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
    );
    activate(s, Version::V2_1, &id);
    id
}

fn gcm() -> CryptographicParameters {
    CryptographicParameters {
        block_cipher_mode: Some(BlockCipherMode::GCM),
        tag_length: Some(16),
        ..Default::default()
    }
}

fn cbc_padded() -> CryptographicParameters {
    CryptographicParameters {
        block_cipher_mode: Some(BlockCipherMode::CBC),
        padding_method: Some(PaddingMethod::PKCS5),
        ..Default::default()
    }
}

/// The stream's step: `(init, final, correlation)`.
type Step<'a> = (bool, bool, Option<&'a [u8]>);

fn encrypt(
    id: &str,
    params: &CryptographicParameters,
    data: &[u8],
    (init, last, correlation): Step<'_>,
) -> RequestPayload {
    RequestPayload::Encrypt(EncryptRequest {
        unique_identifier: uid(id),
        cryptographic_parameters: Some(params.clone()),
        data: Some(SecretBytes::new(data.to_vec())),
        iv_counter_nonce: init.then(|| iv(params)),
        correlation_value: correlation.map(<[u8]>::to_vec),
        init_indicator: init.then_some(true),
        final_indicator: last.then_some(true),
        authenticated_encryption_additional_data: aad(params).filter(|_| init),
        ..Default::default()
    })
}

fn decrypt(
    id: &str,
    params: &CryptographicParameters,
    data: &[u8],
    tag: Option<&[u8]>,
    (init, last, correlation): Step<'_>,
) -> RequestPayload {
    RequestPayload::Decrypt(DecryptRequest {
        unique_identifier: uid(id),
        cryptographic_parameters: Some(params.clone()),
        data: Some(data.to_vec()),
        iv_counter_nonce: init.then(|| iv(params)),
        correlation_value: correlation.map(<[u8]>::to_vec),
        init_indicator: init.then_some(true),
        final_indicator: last.then_some(true),
        authenticated_encryption_additional_data: aad(params).filter(|_| init),
        authenticated_encryption_tag: tag.map(<[u8]>::to_vec),
        ..Default::default()
    })
}

fn encrypted(s: &KmipService, p: RequestPayload) -> EncryptResponse {
    match ok(one(s, &alice(), Version::V2_1, p)) {
        ResponsePayload::Encrypt(e) => e,
        other => panic!("not an encrypt: {other:?}"),
    }
}

fn decrypted(s: &KmipService, p: RequestPayload) -> DecryptResponse {
    match ok(one(s, &alice(), Version::V2_1, p)) {
        ResponsePayload::Decrypt(d) => d,
        other => panic!("not a decrypt: {other:?}"),
    }
}

/// Encrypts `parts` as one stream: the concatenated outputs, and the tag.
fn stream(
    s: &KmipService,
    id: &str,
    params: &CryptographicParameters,
    parts: &[&[u8]],
) -> (Vec<u8>, Option<Vec<u8>>) {
    let first = encrypted(s, encrypt(id, params, parts[0], (true, false, None)));
    let correlation = first.correlation_value.expect("a Correlation Value");
    let mut out = first.data.expect("data");
    assert_eq!(first.authenticated_encryption_tag, None);
    for (i, part) in parts.iter().enumerate().skip(1) {
        let last = i == parts.len() - 1;
        let step = encrypted(
            s,
            encrypt(id, params, part, (false, last, Some(&correlation))),
        );
        out.extend(step.data.expect("data"));
        if last {
            assert_eq!(step.correlation_value, None);
            return (out, step.authenticated_encryption_tag);
        }
        assert_eq!(step.correlation_value.as_deref(), Some(&correlation[..]));
    }
    unreachable!("at least two parts")
}

#[test]
fn streamed_encrypt_answers_as_it_goes_and_equals_one_shot() {
    let s = service();
    let id = key(&s);
    let message: Vec<u8> = (0..100u8).collect();
    for params in [gcm(), cbc_padded()] {
        let whole = encrypted(&s, encrypt(&id, &params, &message, (true, true, None)));
        let (streamed, tag) = stream(
            &s,
            &id,
            &params,
            &[
                &message[..20],
                &message[20..21],
                &message[21..64],
                &message[64..],
            ],
        );
        assert_eq!(Some(streamed.clone()), whole.data);
        assert_eq!(tag, whole.authenticated_encryption_tag);

        // Streamed Decrypt answers nothing before the last step, then the whole plaintext.
        let first = decrypted(
            &s,
            decrypt(&id, &params, &streamed[..50], None, (true, false, None)),
        );
        assert_eq!(first.data.as_ref().map(|d| d.expose().len()), Some(0));
        let correlation = first.correlation_value.expect("a Correlation Value");
        let last = decrypted(
            &s,
            decrypt(
                &id,
                &params,
                &streamed[50..],
                tag.as_deref(),
                (false, true, Some(&correlation)),
            ),
        );
        assert_eq!(
            last.data.map(|d| d.expose().to_vec()),
            Some(message.clone())
        );
    }
}

#[test]
fn a_stream_is_its_callers_and_ends_with_its_last_step() {
    let s = service();
    let id = key(&s);
    let first = encrypted(&s, encrypt(&id, &gcm(), b"first part", (true, false, None)));
    let correlation = first.correlation_value.expect("a Correlation Value");

    // Another caller cannot continue it (to whom it is as unknown as any value), nor can another key or a
    // Decrypt.
    failed(
        &one(
            &s,
            &bob(),
            Version::V2_1,
            encrypt(&id, &gcm(), b"x", (false, false, Some(&correlation))),
        ),
        ResultReason::INVALID_FIELD,
    );
    let other = key(&s);
    failed(
        &one(
            &s,
            &alice(),
            Version::V2_1,
            encrypt(&other, &gcm(), b"x", (false, false, Some(&correlation))),
        ),
        ResultReason::INVALID_FIELD,
    );
    failed(
        &one(
            &s,
            &alice(),
            Version::V2_1,
            decrypt(&id, &gcm(), b"x", None, (false, false, Some(&correlation))),
        ),
        ResultReason::INVALID_FIELD,
    );

    // Its owner still can; after the last step the Correlation Value names nothing.
    let last = encrypted(
        &s,
        encrypt(&id, &gcm(), b"", (false, true, Some(&correlation))),
    );
    assert!(last.authenticated_encryption_tag.is_some());
    for step in [
        (false, false, Some(&correlation[..])),
        (false, true, Some(&correlation[..])),
        // Unknown values, and indicators that contradict each other.
        (false, false, Some(&b"not a stream"[..])),
        (false, true, None),
        (true, false, Some(&correlation[..])),
    ] {
        failed(
            &one(
                &s,
                &alice(),
                Version::V2_1,
                encrypt(&id, &gcm(), b"x", step),
            ),
            ResultReason::INVALID_FIELD,
        );
    }
}

#[test]
fn a_streamed_decrypt_with_a_wrong_tag_releases_nothing() {
    let s = service();
    let id = key(&s);
    let (ciphertext, tag) = stream(&s, &id, &gcm(), &[b"attack at", b" dawn"]);
    let mut tag = tag.expect("tag");
    tag[0] ^= 1;
    let first = decrypted(
        &s,
        decrypt(&id, &gcm(), &ciphertext[..4], None, (true, false, None)),
    );
    assert_eq!(first.data.as_ref().map(|d| d.expose().len()), Some(0));
    let correlation = first.correlation_value.expect("a Correlation Value");
    failed(
        &one(
            &s,
            &alice(),
            Version::V2_1,
            decrypt(
                &id,
                &gcm(),
                &ciphertext[4..],
                Some(&tag),
                (false, true, Some(&correlation)),
            ),
        ),
        ResultReason::CRYPTOGRAPHIC_FAILURE,
    );
}
