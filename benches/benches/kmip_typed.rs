//! Typed KMIP message decode and encode over real messages: the typed model of `kms_kmip::message` against
//! the typed messages of `kmip-protocol` (NLnet Labs), side by side in one run, with a table of medians and
//! ratios at the end (`kms_benches::RatioTable`). One iteration handles one message, the next one of the set each
//! time, so a time is the mean over the set.
//!
//! - Inputs: the whole-message hex vectors of `kms-kmip/tests/vectors` (NLnet Labs and PyKMIP sets, vCenter
//!   traffic: small Create/Get/Locate requests, responses with key material, Query responses...).
//! - Decode: kms-kmip decodes every message (requests and responses); kmip-protocol only deserializes
//!   responses (its requests are serialize-only), so the head-to-head row runs on the responses it decodes.
//! - Encode: kmip-protocol serializes requests built with its types; the same requests, as bytes, are decoded
//!   once into the kms-kmip model, and both sides then encode the same messages.
//! - cosmian_kmip: its typed messages (`kmip_0::kmip_messages`), decoded as its server does (Protocol Version
//!   scan, generic `TTLV` tree, `from_ttlv`) and encoded back (`to_ttlv`, `TTLV::to_bytes`), in head-to-head rows
//!   on the messages it reads (`support/cosmian.rs`); the others are counted and listed with the reason.
//!
//! The table gives each column's throughput from the mean size of the messages it handles.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::Criterion;
use kmip_protocol::types::common::{
    AttributeName, CompromiseOccurrenceDate, CryptographicAlgorithm, CryptographicUsageMask,
    KeyCompressionType, KeyFormatType, ObjectType, Operation, RevocationMessage,
    RevocationReasonCode, UniqueBatchItemID, UniqueIdentifier,
};
use kmip_protocol::types::request::{
    self as kp, Attribute, Authentication, BatchCount, BatchItem, KeyWrappingSpecification,
    MaximumResponseSize, ProtocolVersionMajor, ProtocolVersionMinor, RequestHeader, RequestPayload,
    RevocationReason, TemplateAttribute,
};
use kms_benches::{RatioTable, round_robin as each, run_case};
use kms_kmip::message::{RequestMessage, ResponseMessage};
use kms_kmip::ttlv::Tag;

// Shared by kmip_codec and kmip_typed, each using part of it; `--features cosmian` builds cosmian_kmip.
#[allow(dead_code)]
#[path = "support/cosmian.rs"]
mod cosmian;

// --- inputs --------------------------------------------------------------------------------------------------

/// Messages of either kind decoded into the kms-kmip model.
enum Typed {
    Request(RequestMessage),
    Response(ResponseMessage),
}

fn kms_decode(bytes: &[u8]) -> Option<Typed> {
    // The caller knows which kind it reads; the first three bytes stand in for that knowledge here.
    if bytes.get(..3)? == Tag::REQUEST_MESSAGE.to_bytes() {
        RequestMessage::from_bytes(bytes).ok().map(Typed::Request)
    } else {
        ResponseMessage::from_bytes(bytes).ok().map(Typed::Response)
    }
}

fn kms_encode(m: &Typed, buf: &mut Vec<u8>) {
    buf.clear();
    match m {
        Typed::Request(r) => r.encode_into(buf).unwrap(),
        Typed::Response(r) => r.encode_into(buf).unwrap(),
    }
}

fn header() -> RequestHeader {
    RequestHeader(
        kp::ProtocolVersion(ProtocolVersionMajor(1), ProtocolVersionMinor(0)),
        Option::<MaximumResponseSize>::None,
        Option::<Authentication>::None,
        BatchCount(1),
    )
}

fn item(op: Operation, payload: RequestPayload) -> kp::RequestMessage {
    kp::RequestMessage(
        header(),
        vec![BatchItem(op, Option::<UniqueBatchItemID>::None, payload)],
    )
}

/// Typical client requests built with kmip-protocol's types.
fn kp_requests() -> Vec<kp::RequestMessage> {
    let id = || {
        Some(UniqueIdentifier(
            "21d28b8a-06df-43c0-b72f-2a161633ada9".into(),
        ))
    };
    vec![
        item(
            Operation::Create,
            RequestPayload::Create(
                ObjectType::SymmetricKey,
                TemplateAttribute::unnamed(vec![
                    Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
                    Attribute::CryptographicLength(256),
                    Attribute::Name("Key1".into()),
                    Attribute::CryptographicUsageMask(CryptographicUsageMask::Encrypt),
                ]),
            ),
        ),
        item(
            Operation::GetAttributes,
            RequestPayload::GetAttributes(id(), Some(vec![AttributeName("State".into())])),
        ),
        item(Operation::Activate, RequestPayload::Activate(id())),
        item(
            Operation::Locate,
            RequestPayload::Locate(vec![
                Attribute::ObjectType(ObjectType::SymmetricKey),
                Attribute::Name("Key1".into()),
            ]),
        ),
        item(
            Operation::Get,
            RequestPayload::Get(
                id(),
                Option::<KeyFormatType>::None,
                Option::<KeyCompressionType>::None,
                Option::<KeyWrappingSpecification>::None,
            ),
        ),
        item(
            Operation::Revoke,
            RequestPayload::Revoke(
                id(),
                RevocationReason(
                    RevocationReasonCode::KeyCompromise,
                    Option::<RevocationMessage>::None,
                ),
                Some(CompromiseOccurrenceDate(6)),
            ),
        ),
        item(Operation::Destroy, RequestPayload::Destroy(id())),
    ]
}

// --- the benchmarks ------------------------------------------------------------------------------------------

/// Mean length of a set of messages.
fn mean_len<M: AsRef<[u8]>>(messages: &[M]) -> f64 {
    let total: usize = messages.iter().map(|m| m.as_ref().len()).sum();
    total as f64 / messages.len().max(1) as f64
}

fn kp_decode(m: &[u8]) {
    let _ = black_box(kmip_ttlv::de::from_slice::<
        kmip_protocol::types::response::ResponseMessage,
    >(black_box(m)));
}

fn main() {
    let mut c = Criterion::default().sample_size(20).configure_from_args();
    let table = RatioTable::default();
    let all = kms_benches::kmip_vector_messages().expect("kms-kmip/tests/vectors");
    let typed: Vec<Typed> = all.iter().filter_map(|m| kms_decode(m)).collect();
    let typed_inputs: Vec<Vec<u8>> = all
        .iter()
        .filter(|m| kms_decode(m).is_some())
        .cloned()
        .collect();
    let kp_responses: Vec<Vec<u8>> = all
        .iter()
        .filter(|m| m.starts_with(&[0x42, 0x00, 0x7b]))
        .filter(|m| {
            kmip_ttlv::de::from_slice::<kmip_protocol::types::response::ResponseMessage>(m).is_ok()
        })
        .cloned()
        .collect();
    let requests = kp_requests();
    let request_bytes: Vec<Vec<u8>> = requests
        .iter()
        .map(|r| kmip_ttlv::ser::to_vec(r).unwrap())
        .collect();
    let our_requests: Vec<RequestMessage> = request_bytes
        .iter()
        .map(|b| RequestMessage::from_bytes(b).unwrap())
        .collect();
    for (r, b) in our_requests.iter().zip(&request_bytes) {
        assert_eq!(
            &r.to_bytes().unwrap(),
            b,
            "both encoders must write the same bytes"
        );
    }
    // cosmian_kmip: the messages both models read (kms-kmip refuses one malformed vector).
    let (cosmian_read, cosmian_reasons) = cosmian::failures(&all, cosmian::decode_typed, 8);
    let cosmian_inputs: Vec<Vec<u8>> = typed_inputs
        .iter()
        .filter(|m| cosmian::decode_typed(m).is_ok())
        .cloned()
        .collect();
    let cosmian_typed: Vec<cosmian::Typed> = cosmian_inputs
        .iter()
        .map(|m| cosmian::decode_typed(m).unwrap())
        .collect();
    let our_cosmian_typed: Vec<Typed> = cosmian_inputs
        .iter()
        .map(|m| kms_decode(m).unwrap())
        .collect();
    let cosmian_outputs: Vec<Vec<u8>> = cosmian_typed
        .iter()
        .filter_map(|m| cosmian::encode_typed(m).ok())
        .collect();
    assert_eq!(cosmian_outputs.len(), cosmian_typed.len());
    let cosmian_exact = cosmian_outputs
        .iter()
        .zip(&cosmian_inputs)
        .filter(|(a, b)| a == b)
        .count();
    let cosmian_label = format!("cosmian_kmip {}", cosmian::VERSION);
    let kp_label = "kmip-protocol 0.4.3";

    let decode_all = format!("typed decode, all {} messages", typed_inputs.len());
    table.set_bytes(&decode_all, "kms-kmip", mean_len(&typed_inputs));
    run_case(
        &mut c,
        &table,
        0,
        &decode_all,
        None,
        vec![each("kms-kmip", &typed_inputs, |m| {
            black_box(kms_decode(black_box(m)));
        })],
    );
    let decode_kp = format!(
        "typed decode, {} responses kmip-protocol reads",
        kp_responses.len()
    );
    for label in ["kms-kmip", kp_label] {
        table.set_bytes(&decode_kp, label, mean_len(&kp_responses));
    }
    run_case(
        &mut c,
        &table,
        1,
        &decode_kp,
        None,
        vec![
            each("kms-kmip", &kp_responses, |m| {
                black_box(kms_decode(black_box(m)));
            }),
            each(kp_label, &kp_responses, |m| kp_decode(m)),
        ],
    );
    if !cosmian_inputs.is_empty() {
        let decode_cosmian = format!(
            "typed decode, {} msgs cosmian_kmip reads",
            cosmian_inputs.len()
        );
        for label in ["kms-kmip", cosmian_label.as_str()] {
            table.set_bytes(&decode_cosmian, label, mean_len(&cosmian_inputs));
        }
        run_case(
            &mut c,
            &table,
            2,
            &decode_cosmian,
            None,
            vec![
                each("kms-kmip", &cosmian_inputs, |m| {
                    black_box(kms_decode(black_box(m)));
                }),
                each(&cosmian_label, &cosmian_inputs, |m| {
                    black_box(cosmian::decode_typed(black_box(m))).unwrap();
                }),
            ],
        );
    }
    let (mut buf_a, mut buf_b, mut buf_c) = (
        Vec::with_capacity(4096),
        Vec::with_capacity(4096),
        Vec::with_capacity(4096),
    );
    let encode_kp = format!(
        "typed encode, {} requests built with kmip-protocol",
        requests.len()
    );
    for label in ["kms-kmip", kp_label] {
        table.set_bytes(&encode_kp, label, mean_len(&request_bytes));
    }
    run_case(
        &mut c,
        &table,
        3,
        &encode_kp,
        None,
        vec![
            each("kms-kmip", &our_requests, move |r| {
                buf_a.clear();
                black_box(r).encode_into(&mut buf_a).unwrap();
                black_box(&buf_a);
            }),
            each(kp_label, &requests, |r| {
                black_box(kmip_ttlv::ser::to_vec(black_box(r)).unwrap());
            }),
        ],
    );
    if !cosmian_inputs.is_empty() {
        let encode_cosmian = format!(
            "typed encode, {} msgs cosmian_kmip reads",
            cosmian_inputs.len()
        );
        table.set_bytes(&encode_cosmian, "kms-kmip", mean_len(&cosmian_inputs));
        table.set_bytes(&encode_cosmian, &cosmian_label, mean_len(&cosmian_outputs));
        run_case(
            &mut c,
            &table,
            4,
            &encode_cosmian,
            None,
            vec![
                each("kms-kmip", &our_cosmian_typed, move |m| {
                    kms_encode(black_box(m), &mut buf_c);
                    black_box(&buf_c);
                }),
                each(&cosmian_label, &cosmian_typed, |m| {
                    black_box(cosmian::encode_typed(black_box(m))).unwrap();
                }),
            ],
        );
    }
    let encode_all = format!("typed encode, all {} messages", typed.len());
    table.set_bytes(&encode_all, "kms-kmip", mean_len(&typed_inputs));
    run_case(
        &mut c,
        &table,
        5,
        &encode_all,
        None,
        vec![each("kms-kmip", &typed, move |m| {
            kms_encode(black_box(m), &mut buf_b);
            black_box(&buf_b);
        })],
    );

    c.final_summary();
    println!(
        "typed KMIP messages: kms-kmip's typed model against kmip-protocol 0.4.3 and cosmian_kmip {}",
        cosmian::VERSION
    );
    cosmian::print_coverage(
        "typed model",
        "rows",
        cosmian_read,
        all.len(),
        cosmian_exact,
        &cosmian_reasons,
    );
    table.print();
}
