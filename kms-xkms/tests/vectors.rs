//! Every vector parses; what we re-emit from each validates against xkms.xsd and parses back to the
//! same model.

mod common;

use kms_xkms::messages::{
    Message, Request, RespondWith, ResultMajor, ResultMinor, XkmsResult, encode_message,
};
use kms_xkms::xml::write_document;
use kms_xkms::{DecodeErrorKind, Error, FaultCode, Parsed, SoapVersion, parse_message};

fn reencode_and_validate(name: &str, m: &Message) {
    let bytes = write_document(&encode_message(m));
    if let Err(e) = common::xmllint_validate(&bytes) {
        panic!(
            "{name}: our encoding is not schema-valid: {e}\n{}",
            String::from_utf8_lossy(&bytes)
        );
    }
    let Parsed::Message(None, again) = parse_message(&bytes).expect("reparse") else {
        panic!("{name}: reparse gave something else");
    };
    let bytes2 = write_document(&encode_message(&again));
    assert_eq!(
        bytes, bytes2,
        "{name}: encode(parse(encode(m))) differs from encode(m)"
    );
}

#[test]
fn every_vector_parses_and_reencodes_schema_valid() {
    let files = common::vector_files();
    assert!(files.len() >= 45, "vector files missing: {}", files.len());
    let mut messages = 0;
    let mut faults = 0;
    let mut unsupported = 0;
    for f in &files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_owned();
        let bytes = std::fs::read(f).expect("read");
        match parse_message(&bytes) {
            Ok(Parsed::Message(_, m)) => {
                messages += 1;
                reencode_and_validate(&name, &m);
            }
            Ok(Parsed::Fault(_, fault)) => {
                faults += 1;
                assert!(!fault.reason.is_empty(), "{name}: fault without reason");
            }
            // The xmlsec tests' InvalidRequest is meant to be refused as MessageNotSupported.
            Err(Error::Decode(e)) if name.contains("bad-request-name") => {
                assert!(
                    matches!(e.kind, DecodeErrorKind::UnsupportedMessage { .. }),
                    "{name}: {e}"
                );
                assert!(e.path.ends_with("/InvalidRequest"), "{name}: {}", e.path);
                unsupported += 1;
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
    assert_eq!(faults, 4);
    assert_eq!(unsupported, 3);
    assert_eq!(messages, files.len() - 7);
}

#[test]
fn cxf_lenient_ids_and_missing_service() {
    let b = common::read("cxf/test-requests_request-validate.xml");
    let Parsed::Message(Some(SoapVersion::Soap11), Message::Request(Request::Validate(v))) =
        parse_message(&b).expect("parse")
    else {
        panic!("not a SOAP 1.1 ValidateRequest");
    };
    assert_eq!(
        v.header.message.id,
        "CN=www.anothersts.com, L=CGN, ST=NRW, C=DE, O=AnotherSTS"
    );
    assert_eq!(v.header.message.service, None);
    let key_info = v.query_key_binding.core.key_info.expect("KeyInfo");
    assert_eq!(key_info.certificates().count(), 1);
}

#[test]
fn draft_2003_short_values_and_soap_namespace() {
    let b = common::read("xmlsec-2003/soap12-locate-example-1.xml");
    let Parsed::Message(Some(SoapVersion::Soap12), Message::Request(Request::Locate(l))) =
        parse_message(&b).expect("parse")
    else {
        panic!("not a SOAP 1.2 LocateRequest");
    };
    assert_eq!(l.header.respond_with[0], RespondWith::KeyName);
    assert_eq!(
        l.header.respond_with[6],
        RespondWith::Other("Multiple".into())
    );
    let b = common::read("xmlsec-2003/compound-example-1-no-match.xml");
    let Parsed::Message(None, Message::Result(XkmsResult::Compound(c))) =
        parse_message(&b).expect("parse")
    else {
        panic!("not a CompoundResult");
    };
    assert_eq!(c.header.result_major, ResultMajor::Sender);
    assert_eq!(c.results.len(), 2);
    assert_eq!(
        c.results[1].header().result_minor,
        Some(ResultMinor::NoMatch)
    );
    let b = common::read("xmlsec-2003/soap11-bad-request-name-msg-invalid.xml");
    let Parsed::Fault(SoapVersion::Soap11, f) = parse_message(&b).expect("parse") else {
        panic!("not a fault");
    };
    assert_eq!(f.code, Some(FaultCode::Sender));
}

#[test]
fn rec_register_result_model() {
    let b = common::read("rec-2005/registerResult.xml");
    let Parsed::Message(None, Message::Result(XkmsResult::Register(r))) =
        parse_message(&b).expect("parse")
    else {
        panic!("not a RegisterResult");
    };
    assert_eq!(r.header.result_major, ResultMajor::Success);
    assert_eq!(
        r.header.request_id.as_deref(),
        Some("I1494ac4351b7de5c174d455b7000e18f")
    );
    let kb = &r.key_bindings[0];
    assert_eq!(
        kb.core
            .key_info
            .as_ref()
            .expect("KeyInfo")
            .certificates()
            .count(),
        2
    );
    // The literal line break in the attribute is normalized to a space (XML 1.0 section 3.3.3).
    assert_eq!(
        kb.core.use_key_with[0].identifier,
        r#"C="US"           O="Alice Corp" CN="Alice Aardvark""#
    );
    assert_eq!(kb.status.valid_reasons.len(), 4);
}
