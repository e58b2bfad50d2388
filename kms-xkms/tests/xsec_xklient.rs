//! Interoperability with Apache Santuario's xsec-xklient (Debian xml-security-c-utils; location from
//! KMS_XSEC_XKLIENT): the requests it signs verify here, and it parses the results we emit.

mod common;

use std::process::Command;

use kms_xkms::dsig::VerifyingKey;
use kms_xkms::messages::*;
use kms_xkms::xml::write_document;
use kms_xkms::{SignatureError, parse_request};

fn xklient(args: &[&str]) -> String {
    let exe = std::env::var("KMS_XSEC_XKLIENT").unwrap_or_else(|_| "xsec-xklient".into());
    let out = Command::new(&exe).args(args).output().unwrap_or_else(|e| {
        panic!("{exe} not runnable (set KMS_XSEC_XKLIENT; Debian xml-security-c-utils): {e}")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{exe} {args:?} failed: {text}");
    text
}

#[test]
fn xsec_signed_locate_request_verifies_in_a_soap_envelope() {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
    let sk = rsa::PrivateKey::new(&mut rng, 1024).expect("keygen");
    let dir = tempfile::tempdir().expect("tmp");
    let pem = dir.path().join("key.pem");
    std::fs::write(
        &pem,
        sk.to_pkcs8_pem(LineEnding::LF).expect("pem").as_bytes(),
    )
    .expect("write");
    let out = xklient(&[
        "-t",
        "msgcreate",
        "LocateRequest",
        "http://www.example.org/XKMS",
        "-n",
        "alice",
        "-us",
        "-sr",
        pem.to_str().expect("path"),
        "unused",
    ]);
    let start = out
        .find("<xkms:LocateRequest")
        .expect("xsec printed the request");
    let end = out.find("</xkms:LocateRequest>").expect("end") + "</xkms:LocateRequest>".len();
    let request = &out[start..end];
    // xsec signs the request as its own document (inclusive C14N of SignedInfo): it must still verify
    // inside an envelope that declares more namespaces.
    let envelope = format!(
        r#"<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:x="urn:extra"><soap:Body>{request}</soap:Body></soap:Envelope>"#
    );
    let (_, Request::Locate(l)) = parse_request(envelope.as_bytes()).expect("parse") else {
        panic!("not a LocateRequest")
    };
    assert_eq!(
        l.query_key_binding
            .core
            .key_info
            .as_ref()
            .and_then(|k| k.key_names().next()),
        Some("alice")
    );
    let sig = l
        .header
        .message
        .signature
        .clone()
        .expect("message signature");
    let carried = sig
        .key_info()
        .expect("KeyInfo")
        .expect("present")
        .key_value()
        .cloned()
        .expect("KeyValue");
    let v = sig
        .verify_covers(&carried.verifying_key().expect("rsa"), &l.header.message.id)
        .expect("verifies");
    assert_eq!(v.method, kms_xkms::dsig::SignatureMethod::RsaSha1);
    sig.verify(&VerifyingKey::Rsa(sk.to_public_key()))
        .expect("verifies with our copy of the key");

    let tampered = envelope.replace("<ds:KeyName>alice<", "<ds:KeyName>mallory<");
    let (_, Request::Locate(t)) = parse_request(tampered.as_bytes()).expect("parse") else {
        panic!("locate")
    };
    let e = t
        .header
        .message
        .signature
        .expect("sig")
        .verify(&VerifyingKey::Rsa(sk.to_public_key()));
    assert_eq!(e, Err(SignatureError::DigestMismatch));
}

fn msgdump(xml: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("m.xml");
    std::fs::write(&f, xml).expect("write");
    xklient(&["msgdump", f.to_str().expect("path")])
}

#[test]
fn xsec_msgdump_reads_our_results() {
    let b = common::read("rec-2005/registerResult.xml");
    let kms_xkms::Parsed::Message(_, Message::Result(XkmsResult::Register(reg))) =
        kms_xkms::parse_message(&b).expect("parse")
    else {
        panic!("register result")
    };
    let mut kb = reg.key_bindings[0].clone();
    kb.core
        .key_info
        .as_mut()
        .expect("ki")
        .items
        .insert(0, KeyInfoItem::KeyName("alice".into()));
    let mut header = ResultHeader::new(
        "Ires1",
        Some("http://www.example.org/XKMS".into()),
        ResultMajor::Success,
    );
    header.request_id = Some("Ireq1".into());
    let locate = XkmsResult::Locate(LocateResult {
        header: header.clone(),
        unverified_key_bindings: vec![UnverifiedKeyBinding {
            core: kb.core.clone(),
            validity_interval: None,
        }],
    });
    let validate = XkmsResult::Validate(KeyBindingResult {
        header: header.clone(),
        key_bindings: vec![kb.clone()],
    });
    let mut revoked = kb.clone();
    revoked.status = Status::new(StatusValue::Invalid);
    revoked.status.invalid_reasons = vec![Reason::RevocationStatus];
    let revoke = XkmsResult::Revoke(KeyBindingResult {
        header: header.clone(),
        key_bindings: vec![revoked],
    });
    let mut no_match = header.clone();
    no_match.result_major = ResultMajor::Sender;
    no_match.result_minor = Some(ResultMinor::NoMatch);
    let empty = XkmsResult::Locate(LocateResult {
        header: no_match,
        unverified_key_bindings: vec![],
    });

    for (r, expect) in [
        (
            &locate,
            vec![
                "This is a LocateResult Message",
                "Result Major code = Success",
                "alice",
            ],
        ),
        (
            &validate,
            vec![
                "This is a ValidateResult Message",
                "Status = Valid",
                "ValidReason = IssuerTrust",
            ],
        ),
        (
            &revoke,
            vec![
                "This is a RevokeResult Message",
                "Status = Invalid",
                "InvalidReason = RevocationStatus",
            ],
        ),
        (
            &empty,
            vec![
                "This is a LocateResult Message",
                "Result Major code = Sender",
                "NoMatch",
            ],
        ),
    ] {
        let bytes = write_document(&encode_result(r));
        let out = msgdump(&bytes);
        for e in expect {
            assert!(
                out.contains(e),
                "msgdump of {} lacks {e:?}:\n{out}",
                r.element_name()
            );
        }
    }
}
