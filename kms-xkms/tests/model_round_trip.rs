//! Every message type, with every optional field set, encodes schema-valid and decodes back to the
//! same model.

mod common;

use kms_xkms::messages::*;
use kms_xkms::xenc::EncryptedData;
use kms_xkms::xml::write_document;
use kms_xkms::{Parsed, SoapVersion, parse_message, parse_request, serialize_request};
use time::macros::datetime;

fn message_header(id: &str) -> MessageHeader {
    MessageHeader {
        id: id.into(),
        service: Some("http://www.example.org/XKMS".into()),
        nonce: Some(vec![1, 2, 3, 4, 5]),
        signature: None,
        message_extensions: vec![],
        opaque_client_data: Some(vec![b"opaque-1".to_vec(), vec![0xff, 0]]),
    }
}

fn request_header(id: &str) -> RequestHeader {
    RequestHeader {
        message: message_header(id),
        response_mechanisms: vec![
            ResponseMechanism::Pending,
            ResponseMechanism::Represent,
            ResponseMechanism::RequestSignatureValue,
        ],
        respond_with: vec![
            RespondWith::KeyName,
            RespondWith::KeyValue,
            RespondWith::X509Cert,
            RespondWith::X509Chain,
            RespondWith::X509Crl,
            RespondWith::RetrievalMethod,
            RespondWith::Pgp,
            RespondWith::PgpWeb,
            RespondWith::Spki,
            RespondWith::PrivateKey,
            RespondWith::Other("urn:example:respond-with".into()),
        ],
        pending_notification: Some(PendingNotification {
            mechanism: "urn:ietf:rfc:822".into(),
            identifier: "mailto:alice@example.com".into(),
        }),
        original_request_id: Some("Ioriginal".into()),
        response_limit: Some(5),
    }
}

fn result_header(id: &str, major: ResultMajor, minor: Option<ResultMinor>) -> ResultHeader {
    ResultHeader {
        message: message_header(id),
        result_major: major,
        result_minor: minor,
        request_id: Some("Irequest".into()),
        request_signature_value: Some(vec![9; 20]),
    }
}

fn core(id: &str) -> KeyBindingCore {
    KeyBindingCore {
        id: Some(id.into()),
        key_info: Some(KeyInfo {
            id: Some(format!("{id}-keyinfo")),
            items: vec![
                KeyInfoItem::KeyName("alice".into()),
                KeyInfoItem::KeyValue(KeyValue::Rsa {
                    modulus: vec![0xc0; 128],
                    exponent: vec![1, 0, 1],
                }),
                KeyInfoItem::KeyValue(KeyValue::Ec {
                    named_curve: P256_CURVE_URI.into(),
                    public_key: vec![4; 65],
                }),
                KeyInfoItem::X509Data(vec![
                    X509Item::Certificate(vec![0x30, 0x82, 1, 2]),
                    X509Item::SubjectName("CN=Alice".into()),
                    X509Item::IssuerSerial {
                        issuer_name: "CN=CA".into(),
                        serial_number: "12345".into(),
                    },
                    X509Item::Ski(vec![7; 20]),
                    X509Item::Crl(vec![0x30, 0]),
                ]),
            ],
        }),
        key_usage: vec![
            KeyUsage::Signature,
            KeyUsage::Encryption,
            KeyUsage::Exchange,
        ],
        use_key_with: vec![
            UseKeyWith {
                application: "urn:ietf:rfc:2633".into(),
                identifier: "alice@example.com".into(),
            },
            UseKeyWith {
                application: "urn:ietf:rfc:2459".into(),
                identifier: r#"C="US" O="Alice & Co" <x>"#.into(),
            },
        ],
    }
}

fn validity() -> Option<ValidityInterval> {
    Some(ValidityInterval {
        not_before: Some(datetime!(2026-01-01 00:00:00 UTC)),
        not_on_or_after: Some(datetime!(2027-01-01 12:30:15.5 UTC)),
    })
}

fn key_binding(id: &str, v: StatusValue) -> KeyBinding {
    KeyBinding {
        core: core(id),
        validity_interval: validity(),
        status: Status {
            status_value: v,
            valid_reasons: vec![Reason::Signature, Reason::IssuerTrust],
            indeterminate_reasons: vec![Reason::Other("urn:example:reason".into())],
            invalid_reasons: vec![Reason::RevocationStatus, Reason::ValidityInterval],
        },
    }
}

fn authentication() -> Authentication {
    Authentication {
        key_binding_authentication: None,
        not_bound_authentication: Some(NotBoundAuthentication {
            protocol: "urn:example:otp".into(),
            value: vec![1, 2, 3],
        }),
    }
}

fn query(id: &str) -> QueryKeyBinding {
    QueryKeyBinding {
        core: core(id),
        time_instant: Some(datetime!(2026-06-01 08:00:00 UTC)),
    }
}

fn requests() -> Vec<Request> {
    let locate = Request::Locate(LocateRequest {
        header: request_header("Ilocate"),
        query_key_binding: query("Iquery1"),
    });
    let validate = Request::Validate(ValidateRequest {
        header: request_header("Ivalidate"),
        query_key_binding: query("Iquery2"),
    });
    let register = Request::Register(RegisterRequest {
        header: request_header("Iregister"),
        prototype_key_binding: PrototypeKeyBinding {
            core: core("Iproto"),
            validity_interval: validity(),
            revocation_code_identifier: Some(vec![3; 20]),
        },
        authentication: authentication(),
        proof_of_possession: None,
    });
    let reissue = Request::Reissue(ReissueRequest {
        header: request_header("Ireissue"),
        reissue_key_binding: key_binding("Ireissuekb", StatusValue::Valid),
        authentication: authentication(),
        proof_of_possession: None,
    });
    let revoke_code = Request::Revoke(RevokeRequest {
        header: request_header("Irevoke1"),
        revoke_key_binding: key_binding("Irevokekb", StatusValue::Indeterminate),
        revocation: Revocation::RevocationCode(vec![2; 20]),
    });
    let revoke_auth = Request::Revoke(RevokeRequest {
        header: request_header("Irevoke2"),
        revoke_key_binding: key_binding("Irevokekb2", StatusValue::Indeterminate),
        revocation: Revocation::Authentication(authentication()),
    });
    let recover = Request::Recover(RecoverRequest {
        header: request_header("Irecover"),
        recover_key_binding: key_binding("Irecoverkb", StatusValue::Indeterminate),
        authentication: authentication(),
    });
    let compound = Request::Compound(CompoundRequest {
        header: request_header("Icompound"),
        requests: vec![
            locate.clone(),
            validate.clone(),
            register.clone(),
            reissue.clone(),
            recover.clone(),
            revoke_code.clone(),
        ],
    });
    let pending = Request::Pending(PendingRequest {
        header: request_header("Ipending"),
        response_id: "Iresponse".into(),
    });
    let status = Request::Status(StatusRequest {
        header: request_header("Istatus"),
        response_id: "Iresponse".into(),
    });
    vec![
        locate,
        validate,
        register,
        reissue,
        revoke_code,
        revoke_auth,
        recover,
        compound,
        pending,
        status,
    ]
}

fn results() -> Vec<XkmsResult> {
    let kbs = |p: &str| {
        vec![
            key_binding(&format!("{p}1"), StatusValue::Valid),
            key_binding(&format!("{p}2"), StatusValue::Invalid),
        ]
    };
    let locate = XkmsResult::Locate(LocateResult {
        header: result_header("Rlocate", ResultMajor::Success, None),
        unverified_key_bindings: vec![UnverifiedKeyBinding {
            core: core("Iukb"),
            validity_interval: validity(),
        }],
    });
    let validate = XkmsResult::Validate(KeyBindingResult {
        header: result_header("Rvalidate", ResultMajor::Success, None),
        key_bindings: kbs("Ikb-Rvalidate-"),
    });
    let private_key = Some(PrivateKey {
        encrypted_data: EncryptedData {
            id: Some("Ied".into()),
            type_uri: Some(kms_xkms::xenc::TYPE_ELEMENT.into()),
            algorithm: Some(kms_xkms::xenc::EncryptionMethod::Aes256Gcm.uri().into()),
            cipher_value: vec![0xaa; 64],
        },
    });
    let register = XkmsResult::Register(KeyBindingPrivateKeyResult {
        header: result_header("Rregister", ResultMajor::Success, None),
        key_bindings: kbs("Ikb-Rregister-"),
        private_key: private_key.clone(),
    });
    let reissue = XkmsResult::Reissue(KeyBindingResult {
        header: result_header("Rreissue", ResultMajor::Success, None),
        key_bindings: kbs("Ikb-Rreissue-"),
    });
    let revoke = XkmsResult::Revoke(KeyBindingResult {
        header: result_header("Rrevoke", ResultMajor::Success, None),
        key_bindings: kbs("Ikb-Rrevoke-"),
    });
    let recover = XkmsResult::Recover(KeyBindingPrivateKeyResult {
        header: result_header("Rrecover", ResultMajor::Success, None),
        key_bindings: kbs("Ikb-Rrecover-"),
        // xs:ID values are unique per document, and both results end up in the CompoundResult.
        private_key: private_key.map(|mut p| {
            p.encrypted_data.id = Some("Ied2".into());
            p
        }),
    });
    let compound = XkmsResult::Compound(CompoundResult {
        header: result_header("Rcompound", ResultMajor::Success, None),
        results: vec![
            locate.clone(),
            validate.clone(),
            register.clone(),
            reissue.clone(),
            recover.clone(),
            revoke.clone(),
        ],
    });
    let status = XkmsResult::Status(StatusResult {
        header: result_header("Rstatus", ResultMajor::Success, None),
        success: Some(2),
        failure: Some(1),
        pending: Some(0),
    });
    let mut out = vec![
        locate, validate, register, reissue, revoke, recover, compound, status,
    ];
    let majors = [
        ResultMajor::Success,
        ResultMajor::VersionMismatch,
        ResultMajor::Sender,
        ResultMajor::Receiver,
        ResultMajor::Represent,
        ResultMajor::Pending,
    ];
    let minors = [
        ResultMinor::NoMatch,
        ResultMinor::TooManyResponses,
        ResultMinor::Incomplete,
        ResultMinor::Failure,
        ResultMinor::Refused,
        ResultMinor::NoAuthentication,
        ResultMinor::MessageNotSupported,
        ResultMinor::UnknownResponseId,
        ResultMinor::RepresentRequired,
        ResultMinor::NotSynchronous,
        ResultMinor::OptionalElementNotSupported,
        ResultMinor::ProofOfPossessionRequired,
        ResultMinor::TimeInstantNotSupported,
        ResultMinor::TimeInstantOutOfRange,
    ];
    for (i, minor) in minors.into_iter().enumerate() {
        out.push(XkmsResult::Result(result_header(
            "Rgeneric",
            majors[i % majors.len()].clone(),
            Some(minor),
        )));
    }
    out
}

#[test]
fn every_request_round_trips_schema_valid() {
    for r in requests() {
        let bytes = write_document(&encode_request(&r));
        common::xmllint_validate(&bytes).unwrap_or_else(|e| {
            panic!(
                "{}: {e}\n{}",
                r.element_name(),
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(1500)
                    .collect::<String>()
            )
        });
        let Parsed::Message(None, Message::Request(back)) = parse_message(&bytes).expect("parse")
        else {
            panic!("{}: not a request", r.element_name());
        };
        assert_eq!(back, r, "{}", r.element_name());
        for v in [SoapVersion::Soap11, SoapVersion::Soap12] {
            let (v2, back) = parse_request(&serialize_request(v, &r)).expect("envelope");
            assert_eq!((v2, &back), (v, &r));
        }
    }
}

#[test]
fn every_result_round_trips_schema_valid() {
    for r in results() {
        let bytes = write_document(&encode_result(&r));
        common::xmllint_validate(&bytes).unwrap_or_else(|e| {
            panic!(
                "{}: {e}\n{}",
                r.element_name(),
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(1500)
                    .collect::<String>()
            )
        });
        let Parsed::Message(None, Message::Result(back)) = parse_message(&bytes).expect("parse")
        else {
            panic!("{}: not a result", r.element_name());
        };
        assert_eq!(back, r, "{}", r.element_name());
    }
}

#[test]
fn full_uris_on_the_wire() {
    let r = &results()[8];
    let text = String::from_utf8(write_document(&encode_result(r))).expect("utf8");
    assert!(
        text.contains(r#"ResultMajor="http://www.w3.org/2002/03/xkms#Success""#),
        "{text}"
    );
    assert!(
        text.contains(r#"ResultMinor="http://www.w3.org/2002/03/xkms#NoMatch""#),
        "{text}"
    );
}

#[test]
fn dates_without_timezone_are_utc() {
    let xml = br#"<LocateRequest xmlns="http://www.w3.org/2002/03/xkms#" Id="I1" Service="s"><QueryKeyBinding><TimeInstant Time="2026-03-04T05:06:07"/></QueryKeyBinding></LocateRequest>"#;
    let Parsed::Message(_, Message::Request(Request::Locate(l))) =
        parse_message(xml).expect("parse")
    else {
        panic!("locate")
    };
    assert_eq!(
        l.query_key_binding.time_instant,
        Some(datetime!(2026-03-04 05:06:07 UTC))
    );
    let bad = br#"<LocateRequest xmlns="http://www.w3.org/2002/03/xkms#" Id="I1" Service="s"><QueryKeyBinding><TimeInstant Time="yesterday"/></QueryKeyBinding></LocateRequest>"#;
    let e = parse_message(bad).expect_err("bad date");
    assert!(
        e.to_string()
            .contains("/LocateRequest/QueryKeyBinding/TimeInstant"),
        "{e}"
    );
}
