//! XKMS 2.0 codec and signature verification (kms-xkms), with a table of medians at the end.
//!
//! - parse: SOAP envelope + XKMS request/result into the typed model, against the floor of walking the same
//!   bytes with quick-xml's tokenizer and building nothing (what any quick-xml based parser must pay).
//! - serialize: the typed result into a SOAP envelope.
//! - verify: the Recommendation's RegisterRequest, KeyBindingAuthentication (exclusive C14N of the key binding
//!   and of SignedInfo, SHA-1 digest, HMAC-SHA1) and ProofOfPossession (same, RSA-SHA1), parse included and not.
//!
//! No Rust peer implements XKMS or XML Signature over C14N that builds here, so the ratio column compares
//! against the tokenizer floor (parse rows) and against the first column of the row.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;

use criterion::Criterion;
use kms_benches::{RatioTable, run_case};
use kms_xkms::dsig::VerifyingKey;
use kms_xkms::messages::{
    KeyBinding, KeyBindingCore, KeyBindingResult, KeyInfo, KeyInfoItem, LocateResult, Message,
    Reason, Request, ResultHeader, ResultMajor, Status, StatusValue, UnverifiedKeyBinding,
    X509Item, XkmsResult,
};
use kms_xkms::shared_secret::{Conversion, KeyUse, derive_key};
use kms_xkms::{Parsed, SoapVersion, parse_message, parse_request, serialize_result};

/// The floor: every event of the document, no tree, no model.
fn tokenizer_walk(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).expect("utf8");
    let mut r = quick_xml::Reader::from_str(text);
    let mut n = 0;
    loop {
        match r.read_event().expect("well-formed") {
            quick_xml::events::Event::Eof => return n,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                n += e.attributes().count() + 1;
            }
            _ => n += 1,
        }
    }
}

fn vector(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../kms-xkms/tests/vectors")
            .join(rel),
    )
    .expect("vector")
}

fn soap12(body: &[u8]) -> Vec<u8> {
    let body = std::str::from_utf8(body).expect("utf8").trim_start();
    let body = match body.strip_prefix("<?xml") {
        Some(rest) => &rest[rest.find("?>").expect("declaration end") + 2..],
        None => body,
    };
    format!(r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>{body}</env:Body></env:Envelope>"#)
        .into_bytes()
}

fn cert() -> Vec<u8> {
    let Parsed::Message(_, Message::Result(XkmsResult::Register(r))) =
        parse_message(&vector("rec-2005/registerResult.xml")).expect("parse")
    else {
        panic!("RegisterResult")
    };
    r.key_bindings[0]
        .core
        .key_info
        .as_ref()
        .unwrap()
        .certificates()
        .next()
        .unwrap()
        .to_vec()
}

fn core(cert: &[u8]) -> KeyBindingCore {
    KeyBindingCore {
        id: Some("Ikb1".into()),
        key_info: Some(KeyInfo {
            id: None,
            items: vec![KeyInfoItem::X509Data(vec![X509Item::Certificate(
                cert.to_vec(),
            )])],
        }),
        key_usage: vec![],
        use_key_with: vec![],
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let table = RatioTable::default();
    let cert = cert();

    // Requests: the 2003 xmlsec Locate (SOAP 1.2 as sent) and the CXF Validate with a certificate.
    let locate_req = vector("xmlsec-2003/soap12-locate-example-1.xml");
    let locate_req = String::from_utf8(locate_req)
        .unwrap()
        .replace(
            "http://www.w3.org/2002/06/soap-envelope",
            "http://www.w3.org/2003/05/soap-envelope",
        )
        .into_bytes();
    let validate_req = soap12(&vector("cxf/validateRequestOK.xml"));
    assert!(parse_request(&validate_req).is_ok());

    let mut header = ResultHeader::new(
        "Ires1",
        Some("http://www.example.org/XKMS".into()),
        ResultMajor::Success,
    );
    header.request_id = Some("Ireq1".into());
    let locate_res = XkmsResult::Locate(LocateResult {
        header: header.clone(),
        unverified_key_bindings: vec![UnverifiedKeyBinding {
            core: core(&cert),
            validity_interval: None,
        }],
    });
    let mut status = Status::new(StatusValue::Valid);
    status.valid_reasons = vec![
        Reason::Signature,
        Reason::IssuerTrust,
        Reason::RevocationStatus,
        Reason::ValidityInterval,
    ];
    let validate_res = XkmsResult::Validate(KeyBindingResult {
        header,
        key_bindings: vec![KeyBinding {
            core: core(&cert),
            validity_interval: None,
            status,
        }],
    });
    let locate_res_bytes = serialize_result(SoapVersion::Soap12, &locate_res);
    let validate_res_bytes = serialize_result(SoapVersion::Soap12, &validate_res);

    let mut order = 0;
    for (name, bytes) in [
        ("parse LocateRequest (SOAP 1.2)", &locate_req),
        ("parse ValidateRequest (SOAP 1.2)", &validate_req),
    ] {
        order += 1;
        run_case(
            &mut c,
            &table,
            order,
            name,
            None,
            vec![
                (
                    "floor: quick-xml events only",
                    Box::new(|| {
                        black_box(tokenizer_walk(black_box(bytes)));
                    }),
                ),
                (
                    "kms-xkms xml::parse (tree only)",
                    Box::new(|| {
                        black_box(
                            kms_xkms::xml::parse(
                                black_box(bytes),
                                &kms_xkms::xml::Limits::default(),
                            )
                            .expect("parse"),
                        );
                    }),
                ),
                (
                    "kms-xkms parse_request (tree + model)",
                    Box::new(|| {
                        black_box(parse_request(black_box(bytes)).expect("parse"));
                    }),
                ),
            ],
        );
    }
    for (name, bytes) in [
        ("parse LocateResult (SOAP 1.2)", &locate_res_bytes),
        ("parse ValidateResult (SOAP 1.2)", &validate_res_bytes),
    ] {
        order += 1;
        run_case(
            &mut c,
            &table,
            order,
            name,
            None,
            vec![
                (
                    "floor: quick-xml events only",
                    Box::new(|| {
                        black_box(tokenizer_walk(black_box(bytes)));
                    }),
                ),
                (
                    "kms-xkms xml::parse (tree only)",
                    Box::new(|| {
                        black_box(
                            kms_xkms::xml::parse(
                                black_box(bytes),
                                &kms_xkms::xml::Limits::default(),
                            )
                            .expect("parse"),
                        );
                    }),
                ),
                (
                    "kms-xkms parse_message (tree + model)",
                    Box::new(|| {
                        black_box(parse_message(black_box(bytes)).expect("parse"));
                    }),
                ),
            ],
        );
    }
    for (name, result) in [
        ("serialize LocateResult", &locate_res),
        ("serialize ValidateResult", &validate_res),
    ] {
        order += 1;
        run_case(
            &mut c,
            &table,
            order,
            name,
            None,
            vec![(
                "kms-xkms serialize_result",
                Box::new(|| {
                    black_box(serialize_result(SoapVersion::Soap12, black_box(result)));
                }),
            )],
        );
    }
    let (_, Request::Locate(lr)) = parse_request(&locate_req).expect("parse") else {
        panic!("locate")
    };
    let locate_typed = Request::Locate(lr);
    order += 1;
    run_case(
        &mut c,
        &table,
        order,
        "serialize LocateRequest",
        None,
        vec![(
            "kms-xkms serialize_request",
            Box::new(|| {
                black_box(kms_xkms::serialize_request(
                    SoapVersion::Soap12,
                    black_box(&locate_typed),
                ));
            }),
        )],
    );

    // The Recommendation's RegisterRequest: both signatures.
    let register = vector("rec-2005/registerRequest.xml");
    let hmac_key = VerifyingKey::Hmac(
        derive_key("024837", Conversion::SaslPrep, KeyUse::Authentication, 20).unwrap(),
    );
    let Parsed::Message(_, Message::Request(Request::Register(parsed))) =
        parse_message(&register).unwrap()
    else {
        panic!("register")
    };
    let rsa_key = parsed
        .prototype_key_binding
        .core
        .key_info
        .as_ref()
        .unwrap()
        .key_value()
        .unwrap()
        .verifying_key()
        .unwrap();
    let kba = parsed
        .authentication
        .key_binding_authentication
        .clone()
        .unwrap();
    let pop = parsed.proof_of_possession.clone().unwrap();
    order += 1;
    run_case(
        &mut c,
        &table,
        order,
        "REC RegisterRequest signatures",
        None,
        vec![
            (
                "KBA verify: C14N + SHA-1 + HMAC-SHA1",
                Box::new(|| {
                    black_box(kba.verify(black_box(&hmac_key)).expect("verifies"));
                }),
            ),
            (
                "PoP verify: C14N + SHA-1 + RSA-SHA1 (1024)",
                Box::new(|| {
                    black_box(pop.verify(black_box(&rsa_key)).expect("verifies"));
                }),
            ),
            (
                "parse + KBA verify",
                Box::new(|| {
                    let Ok(Parsed::Message(_, Message::Request(Request::Register(r)))) =
                        parse_message(black_box(&register))
                    else {
                        panic!("parse")
                    };
                    black_box(
                        r.authentication
                            .key_binding_authentication
                            .unwrap()
                            .verify(&hmac_key)
                            .expect("verifies"),
                    );
                }),
            ),
        ],
    );

    c.final_summary();
    table.print();
}
