//! Hostile and broken input gives typed errors (never a panic); the SOAP binding's envelope rules.

mod common;

use kms_xkms::messages::{
    LocateResult, Request, ResultHeader, ResultMajor, ResultMinor, XkmsResult, encode_result,
};
use kms_xkms::soap::{Body, SOAP11_NS, SOAP12_NS, parse_envelope};
use kms_xkms::xml::{Limits, write_document};
use kms_xkms::{
    DecodeErrorKind, Error, Fault, FaultCode, Parsed, SoapError, SoapVersion, XmlErrorKind,
    parse_message, parse_request, serialize_fault, serialize_result,
};
use proptest::prelude::*;

fn soap12(body: &str) -> Vec<u8> {
    format!(r#"<env:Envelope xmlns:env="{SOAP12_NS}"><env:Body>{body}</env:Body></env:Envelope>"#)
        .into_bytes()
}

const LOCATE: &str = r#"<LocateRequest xmlns="http://www.w3.org/2002/03/xkms#" Id="I1" Service="urn:s"><QueryKeyBinding><KeyUsage>http://www.w3.org/2002/03/xkms#Signature</KeyUsage></QueryKeyBinding></LocateRequest>"#;

fn xml_kind(r: Result<(SoapVersion, Request), kms_xkms::RequestError>) -> XmlErrorKind {
    match r.map_err(|e| e.error) {
        Err(Error::Soap(SoapError::Xml(e))) => e.kind,
        other => panic!("expected an XML error, got {other:?}"),
    }
}

#[test]
fn good_request_in_both_soap_versions() {
    let (v, r) = parse_request(&soap12(LOCATE)).expect("1.2");
    assert_eq!(v, SoapVersion::Soap12);
    assert!(matches!(r, Request::Locate(_)));
    let b = format!(
        r#"<s:Envelope xmlns:s="{SOAP11_NS}"><s:Header><x:Trace xmlns:x="urn:x"/></s:Header><s:Body>{LOCATE}</s:Body></s:Envelope>"#
    );
    let (v, _) = parse_request(b.as_bytes()).expect("1.1 with an optional header");
    assert_eq!(v, SoapVersion::Soap11);
}

#[test]
fn malformed_xml() {
    for bad in [
        "<env:Envelope",
        "<a><b></a>",
        "",
        "<a>&#0;</a>",
        "<a x='1' x='2'/>",
        "<a/><b/>",
        "text",
    ] {
        let e = parse_request(bad.as_bytes()).expect_err(bad).error;
        assert!(matches!(e, Error::Soap(SoapError::Xml(_))), "{bad}: {e:?}");
    }
}

#[test]
fn truncated_documents_at_every_length() {
    let full = soap12(LOCATE);
    for n in 0..full.len() {
        assert!(
            parse_request(&full[..n]).is_err(),
            "prefix of {n} bytes accepted"
        );
    }
    let e = xml_kind(parse_request(&full[..full.len() - 20]));
    assert!(
        matches!(e, XmlErrorKind::Truncated | XmlErrorKind::Syntax(_)),
        "{e:?}"
    );
}

#[test]
fn wrong_namespace_and_unknown_message() {
    let e = parse_request(&soap12(
        &LOCATE.replace("2002/03/xkms#", "2002/03/xkms-other#"),
    ))
    .expect_err("ns");
    // Not an XKMS request: answered with an XKMS Result, Sender / MessageNotSupported, echoing the Id.
    let (v, answer) = e.answer(SoapVersion::Soap11, "Ianswer", Some("urn:s"));
    assert_eq!(
        (v, e.version, e.request_id.as_deref()),
        (SoapVersion::Soap12, Some(SoapVersion::Soap12), Some("I1"))
    );
    let Ok(Parsed::Message(
        Some(SoapVersion::Soap12),
        kms_xkms::messages::Message::Result(XkmsResult::Result(h)),
    )) = parse_message(&answer)
    else {
        panic!("answer is not a generic Result")
    };
    assert_eq!(
        (h.result_major, h.result_minor, h.request_id.as_deref()),
        (
            ResultMajor::Sender,
            Some(ResultMinor::MessageNotSupported),
            Some("I1")
        )
    );
    let Error::Decode(d) = e.error else {
        panic!("{e:?}")
    };
    assert!(matches!(d.kind, DecodeErrorKind::UnsupportedMessage { .. }));
    assert_eq!(d.path, "/LocateRequest");
    let e = parse_request(&soap12(&LOCATE.replace(
        "<KeyUsage>http://www.w3.org/2002/03/xkms#Signature",
        "<KeyUsage>Bogus",
    )))
    .expect_err("value");
    let (_, answer) = e.answer(SoapVersion::Soap12, "Ianswer", None);
    let Ok(Parsed::Message(_, kms_xkms::messages::Message::Result(r))) = parse_message(&answer)
    else {
        panic!("answer is not a Result")
    };
    assert_eq!(r.header().result_minor, Some(ResultMinor::Failure));
    let Error::Decode(d) = e.error else {
        panic!("{e:?}")
    };
    assert_eq!(d.path, "/LocateRequest/QueryKeyBinding/KeyUsage");
    // A wrong envelope namespace is a VersionMismatch fault.
    let b = soap12(LOCATE);
    let b = String::from_utf8(b)
        .expect("utf8")
        .replace(SOAP12_NS, "urn:not-soap");
    let Err(Error::Soap(s)) = parse_request(b.as_bytes()).map_err(|e| e.error) else {
        panic!("accepted")
    };
    assert_eq!(s.fault().code, Some(FaultCode::VersionMismatch));
    // Envelope-level errors are answered with a SOAP fault.
    let e = parse_request(b"<a><b></a>").expect_err("malformed");
    let (v, answer) = e.answer(SoapVersion::Soap11, "Ianswer", None);
    assert_eq!(v, SoapVersion::Soap11);
    let Ok(Parsed::Fault(SoapVersion::Soap11, f)) = parse_message(&answer) else {
        panic!("not a fault")
    };
    assert_eq!(f.code, Some(FaultCode::Sender));
}

#[test]
fn billion_laughs_is_refused_at_the_doctype() {
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><x>&lol3;</x></env:Body></env:Envelope>"#;
    assert_eq!(
        xml_kind(parse_request(bomb.as_bytes())),
        XmlErrorKind::DtdForbidden
    );
    let external = r#"<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>"#;
    assert_eq!(
        xml_kind(parse_request(external.as_bytes())),
        XmlErrorKind::DtdForbidden
    );
    let undeclared = soap12(&LOCATE.replace("urn:s", "&xxe;"));
    assert!(matches!(
        xml_kind(parse_request(&undeclared)),
        XmlErrorKind::UndeclaredEntity(_)
    ));
}

#[test]
fn huge_attribute_deep_nesting_and_size_limits() {
    let huge = soap12(&LOCATE.replace("urn:s", &"a".repeat(100_000)));
    assert!(matches!(
        xml_kind(parse_request(&huge)),
        XmlErrorKind::AttributeTooLarge(_)
    ));
    let deep = soap12(&format!("{}{}", "<x>".repeat(100), "</x>".repeat(100)));
    assert!(matches!(
        xml_kind(parse_request(&deep)),
        XmlErrorKind::TooDeep(64)
    ));
    let big = soap12(&format!("<x>{}</x>", "a".repeat(1 << 20)));
    assert!(matches!(
        xml_kind(parse_request(&big)),
        XmlErrorKind::DocumentTooLarge(_)
    ));
    let many = soap12(&format!("<x>{}</x>", "<y/>".repeat(30_000)));
    assert!(matches!(
        xml_kind(parse_request(&many)),
        XmlErrorKind::TooManyElements(_)
    ));
    let attrs: String = (0..100).map(|i| format!(" a{i}='1'")).collect();
    let wide = soap12(&format!("<x{attrs}/>"));
    assert!(matches!(
        xml_kind(parse_request(&wide)),
        XmlErrorKind::TooManyAttributes(_)
    ));
}

#[test]
fn envelope_rules_and_faults() {
    let two = soap12(&format!("{LOCATE}{LOCATE}"));
    assert!(matches!(
        parse_request(&two).map_err(|e| e.error),
        Err(Error::Soap(SoapError::BodyChildren(2)))
    ));
    let none = soap12("");
    assert!(matches!(
        parse_request(&none).map_err(|e| e.error),
        Err(Error::Soap(SoapError::BodyChildren(0)))
    ));
    let mu = format!(
        r#"<env:Envelope xmlns:env="{SOAP12_NS}"><env:Header><w:Security xmlns:w="urn:wsse" env:mustUnderstand="true"/></env:Header><env:Body>{LOCATE}</env:Body></env:Envelope>"#
    );
    let Err(Error::Soap(e)) = parse_request(mu.as_bytes()).map_err(|e| e.error) else {
        panic!("mustUnderstand accepted")
    };
    assert_eq!(e.fault().code, Some(FaultCode::MustUnderstand));
    let bare = LOCATE.as_bytes();
    assert!(matches!(
        parse_request(bare).map_err(|e| e.error),
        Err(Error::Soap(SoapError::NotEnvelope(_)))
    ));

    for v in [SoapVersion::Soap11, SoapVersion::Soap12] {
        let f = serialize_fault(v, &Fault::new(FaultCode::Sender, "bad <envelope>"));
        let Parsed::Fault(v2, back) = parse_message(&f).expect("fault parses") else {
            panic!("not a fault")
        };
        assert_eq!(v2, v);
        assert_eq!(back.code, Some(FaultCode::Sender));
        assert_eq!(back.reason, "bad <envelope>");
        let text = String::from_utf8(f).expect("utf8");
        assert!(
            text.contains(if v == SoapVersion::Soap11 {
                "soap:Client"
            } else {
                "env:Sender"
            }),
            "{text}"
        );
    }
}

#[test]
fn results_in_envelopes_validate_and_round_trip() {
    let mut header = ResultHeader::new("Ir1", Some("urn:s".into()), ResultMajor::Sender);
    header.result_minor = Some(ResultMinor::NoMatch);
    header.request_id = Some("CN=not an NCName".into());
    let r = XkmsResult::Locate(LocateResult {
        header,
        unverified_key_bindings: vec![],
    });
    for v in [SoapVersion::Soap11, SoapVersion::Soap12] {
        let bytes = serialize_result(v, &r);
        let (v2, body) = parse_envelope(&bytes, &Limits::default()).expect("envelope");
        assert_eq!(v2, v);
        let Body::Message(doc) = body else {
            panic!("fault")
        };
        common::xmllint_validate(&write_document(&doc.root)).expect("Body child schema-valid");
        let Parsed::Message(Some(_), kms_xkms::messages::Message::Result(back)) =
            parse_message(&bytes).expect("parse")
        else {
            panic!("not a result")
        };
        assert_eq!(back.header().result_minor, Some(ResultMinor::NoMatch));
        // The non-NCName RequestId was mapped to a stable NCName so the output stays schema-valid.
        assert!(
            back.header()
                .request_id
                .as_deref()
                .is_some_and(|id| id.starts_with('I') && !id.contains(' '))
        );
    }
    common::xmllint_validate(&write_document(&encode_result(&r))).expect("valid");
}

fn vector_bytes() -> Vec<Vec<u8>> {
    common::vector_files()
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_message(&bytes);
        let _ = parse_request(&bytes);
    }

    #[test]
    fn mutated_vectors_never_panic(
        which in 0usize..64,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let all = vector_bytes();
        let mut b = all[which % all.len()].clone();
        for (at, byte, op) in edits {
            if b.is_empty() { break; }
            let i = at.index(b.len());
            match op {
                0 => b[i] = byte,
                1 => { b.remove(i); }
                _ => b.insert(i, byte),
            }
        }
        if let Ok(Parsed::Message(_, m)) = parse_message(&b) {
            // Whatever parses re-encodes to something that parses to the same encoding.
            let once = write_document(&kms_xkms::messages::encode_message(&m));
            let Ok(Parsed::Message(_, again)) = parse_message(&once) else {
                return Err(TestCaseError::fail("re-encoding does not parse"));
            };
            prop_assert_eq!(once, write_document(&kms_xkms::messages::encode_message(&again)));
        }
    }
}

#[test]
fn duplicate_ids_are_refused() {
    let dup = LOCATE.replace("<QueryKeyBinding>", r#"<QueryKeyBinding Id="I1">"#);
    let e = parse_request(&soap12(&dup))
        .expect_err("duplicate Id")
        .error;
    let Error::Decode(d) = e else { panic!("{e:?}") };
    assert_eq!(d.path, "/LocateRequest/QueryKeyBinding");
}

#[test]
fn foreign_key_info_content_is_dropped_not_emitted_invalid() {
    let xml = r#"<LocateRequest xmlns="http://www.w3.org/2002/03/xkms#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="I1" Service="s"><QueryKeyBinding><ds:KeyInfo><Unqualified xmlns=""/><ds:Bogus/></ds:KeyInfo></QueryKeyBinding></LocateRequest>"#;
    let Ok(Parsed::Message(None, m)) = parse_message(xml.as_bytes()) else {
        panic!("parse")
    };
    let out = write_document(&kms_xkms::messages::encode_message(&m));
    common::xmllint_validate(&out).expect("still schema-valid");
}
