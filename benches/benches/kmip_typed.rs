//! Typed KMIP message decode and encode over real messages: the typed model of `kms_kmip::message` against
//! the typed messages of `kmip-protocol` (NLnet Labs), side by side in one run, with a table of per-message
//! medians and ratios at the end.
//!
//! - Inputs: the whole-message hex vectors of `kms-kmip/tests/vectors` (NLnet Labs and PyKMIP sets, vCenter
//!   traffic: small Create/Get/Locate requests, responses with key material, Query responses...).
//! - Decode: kms-kmip decodes every message (requests and responses); kmip-protocol only deserializes
//!   responses (its requests are serialize-only), so the head-to-head row runs on the responses it decodes.
//! - Encode: kmip-protocol serializes requests built with its types; the same requests, as bytes, are decoded
//!   once into the kms-kmip model, and both sides then encode the same messages.
//! - cosmian_kmip 5.28: left out. Its `uuid = "=1.11.1"` pin resolves on its own (the workspace only asks for
//!   uuid 1), but its mandatory `cosmian_logger` brings the OpenTelemetry/OTLP/tokio stack (about 215 crates),
//!   too heavy a build for the shared bench crate that CI builds on every run.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
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
use kms_kmip::message::{RequestMessage, ResponseMessage};
use kms_kmip::ttlv::Tag;

// --- inputs --------------------------------------------------------------------------------------------------

fn messages() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kms-kmip/tests/vectors");
    let mut out = Vec::new();
    for file in [
        "nlnetlabs-tests-hex.json",
        "pykmip-test_messages-hex.json",
        "vmware-vcenter-kmip-traffic-from-cosmian-logs.json",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).expect("vectors");
        for (i, s) in text.split('"').enumerate() {
            let lower = s.to_ascii_lowercase();
            let is_message = lower.starts_with("42007801") || lower.starts_with("42007b01");
            if i % 2 == 1 && is_message && lower.bytes().all(|c| c.is_ascii_hexdigit()) {
                let bytes: Vec<u8> = (0..lower.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&lower[i..i + 2], 16).unwrap())
                    .collect();
                out.push(bytes);
            }
        }
    }
    out
}

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

// --- measurement ---------------------------------------------------------------------------------------------

/// Median time of one call of `f`, from 21 batches sized to about 50 µs each.
fn median_ns(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut probe = 0u32;
    while start.elapsed() < Duration::from_micros(50) {
        f();
        probe += 1;
    }
    let per_batch = probe.max(1);
    let mut samples: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(per_batch)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Median over messages of the per-message median time, and total bytes.
fn per_message(inputs: &[Vec<u8>], mut f: impl FnMut(&[u8])) -> (f64, usize) {
    let mut times: Vec<f64> = inputs.iter().map(|m| median_ns(|| f(m))).collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], inputs.iter().map(Vec::len).sum())
}

struct Row {
    what: &'static str,
    count: usize,
    ours: f64,
    peer: Option<f64>,
}

fn table(rows: &[Row]) {
    println!();
    println!(
        "typed KMIP messages, median per message (kms-kmip typed model vs kmip-protocol 0.4.3)"
    );
    println!("| operation | messages | kms-kmip | kmip-protocol | speed-up |");
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        let peer = r
            .peer
            .map_or_else(|| "n/a".to_owned(), |p| format!("{p:.0} ns"));
        let ratio = r
            .peer
            .map_or_else(|| "-".to_owned(), |p| format!("{:.1}x", p / r.ours));
        println!(
            "| {} | {} | {:.0} ns | {peer} | {ratio} |",
            r.what, r.count, r.ours
        );
    }
    println!(
        "cosmian_kmip: not built (its mandatory logger pulls ~215 crates incl. OpenTelemetry; see the file header)"
    );
    println!();
}

fn comparison(c: &mut Criterion) {
    let all = messages();
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

    let mut rows = Vec::new();
    let (ours, _) = per_message(&typed_inputs, |m| {
        black_box(kms_decode(black_box(m)));
    });
    rows.push(Row {
        what: "decode, all messages",
        count: typed_inputs.len(),
        ours,
        peer: None,
    });
    let (ours, _) = per_message(&kp_responses, |m| {
        black_box(kms_decode(black_box(m)));
    });
    let (peer, _) = per_message(&kp_responses, |m| {
        let _ = black_box(kmip_ttlv::de::from_slice::<
            kmip_protocol::types::response::ResponseMessage,
        >(black_box(m)));
    });
    rows.push(Row {
        what: "decode, responses kmip-protocol reads",
        count: kp_responses.len(),
        ours,
        peer: Some(peer),
    });

    let mut buf = Vec::with_capacity(4096);
    let mut ours_enc: Vec<f64> = our_requests
        .iter()
        .map(|r| {
            median_ns(|| {
                buf.clear();
                r.encode_into(&mut buf).unwrap();
                black_box(&buf);
            })
        })
        .collect();
    let mut peer_enc: Vec<f64> = requests
        .iter()
        .map(|r| median_ns(|| drop(black_box(kmip_ttlv::ser::to_vec(black_box(r)).unwrap()))))
        .collect();
    ours_enc.sort_by(f64::total_cmp);
    peer_enc.sort_by(f64::total_cmp);
    rows.push(Row {
        what: "encode, requests built with kmip-protocol",
        count: requests.len(),
        ours: ours_enc[ours_enc.len() / 2],
        peer: Some(peer_enc[peer_enc.len() / 2]),
    });
    let mut ours_all: Vec<f64> = typed
        .iter()
        .map(|m| median_ns(|| kms_encode(m, &mut buf)))
        .collect();
    ours_all.sort_by(f64::total_cmp);
    rows.push(Row {
        what: "encode, all messages",
        count: typed.len(),
        ours: ours_all[ours_all.len() / 2],
        peer: None,
    });
    table(&rows);

    let mut g = c.benchmark_group("kmip_typed");
    g.bench_function("decode/kms-kmip/all", |b| {
        b.iter(|| {
            for m in &typed_inputs {
                black_box(kms_decode(m));
            }
        });
    });
    g.bench_function("decode/kms-kmip/kp-responses", |b| {
        b.iter(|| {
            for m in &kp_responses {
                black_box(kms_decode(m));
            }
        });
    });
    g.bench_function("decode/kmip-protocol/kp-responses", |b| {
        b.iter(|| {
            for m in &kp_responses {
                let _ = black_box(kmip_ttlv::de::from_slice::<
                    kmip_protocol::types::response::ResponseMessage,
                >(m));
            }
        });
    });
    g.bench_function("encode/kms-kmip/requests", |b| {
        b.iter(|| {
            for r in &our_requests {
                buf.clear();
                r.encode_into(&mut buf).unwrap();
                black_box(&buf);
            }
        });
    });
    g.bench_function("encode/kmip-protocol/requests", |b| {
        b.iter(|| {
            for r in &requests {
                black_box(kmip_ttlv::ser::to_vec(r).unwrap());
            }
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    targets = comparison
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
