//! The Recommendation's X-KRSS signatures verify (and stop verifying after any change of the signed
//! bytes); signatures we make verify with our verifier and with xmlsec1.

mod common;

use std::ffi::OsStr;

use kms_xkms::dsig::{SignOptions, SignatureMethod, SigningKey, VerifyingKey};
use kms_xkms::messages::{
    Authentication, KeyInfo, KeyInfoItem, KeyUsage, KeyValue, Message, PrototypeKeyBinding,
    RegisterRequest, Request, RequestHeader, UseKeyWith, XmlSignature, encode_request,
    sign_key_binding_authentication, sign_message, sign_proof_of_possession,
};
use kms_xkms::shared_secret::{Conversion, KeyUse, derive_key};
use kms_xkms::xml::{C14nMethod, write_document};
use kms_xkms::{Parsed, SignatureError, parse_message};
use zeroize::Zeroizing;

fn auth_key() -> Zeroizing<Vec<u8>> {
    derive_key("024837", Conversion::SaslPrep, KeyUse::Authentication, 20).expect("derive")
}

struct Signed {
    binding_id: String,
    kba: XmlSignature,
    pop: XmlSignature,
    key_value: KeyValue,
}

fn rec_signed(bytes: &[u8]) -> Result<Signed, String> {
    let parsed = parse_message(bytes).map_err(|e| e.to_string())?;
    match parsed {
        Parsed::Message(_, Message::Request(Request::Register(r))) => Ok(Signed {
            binding_id: r.prototype_key_binding.core.id.clone().ok_or("no Id")?,
            kba: r
                .authentication
                .key_binding_authentication
                .ok_or("no KBA")?,
            pop: r.proof_of_possession.ok_or("no PoP")?,
            key_value: r
                .prototype_key_binding
                .core
                .key_info
                .and_then(|k| k.key_value().cloned())
                .ok_or("no KeyValue")?,
        }),
        Parsed::Message(_, Message::Request(Request::Reissue(r))) => Ok(Signed {
            binding_id: r.reissue_key_binding.core.id.clone().ok_or("no Id")?,
            kba: r
                .authentication
                .key_binding_authentication
                .ok_or("no KBA")?,
            pop: r.proof_of_possession.ok_or("no PoP")?,
            // The ReissueRequest carries Alice's certificate; her RSAKeyValue is the RegisterRequest's.
            key_value: alice_key_value(),
        }),
        _ => Err("not a Register/Reissue request".into()),
    }
}

fn alice_key_value() -> KeyValue {
    let b = common::read("rec-2005/registerRequest.xml");
    rec_signed(&b).expect("register").key_value
}

fn verify_both(bytes: &[u8]) -> Result<(), String> {
    let s = rec_signed(bytes)?;
    s.kba
        .verify_covers(&VerifyingKey::Hmac(auth_key()), &s.binding_id)
        .map_err(|e| format!("KBA: {e}"))?;
    let pk = s.key_value.verifying_key().ok_or("RSAKeyValue unusable")?;
    s.pop
        .verify_covers(&pk, &s.binding_id)
        .map_err(|e| format!("PoP: {e}"))?;
    Ok(())
}

#[test]
fn rec_register_and_reissue_signatures_verify() {
    for f in [
        "rec-2005/registerRequest.xml",
        "rec-2005/reissueRequest.xml",
    ] {
        verify_both(&common::read(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn rec_signatures_fail_after_any_change_of_signed_bytes() {
    for f in [
        "rec-2005/registerRequest.xml",
        "rec-2005/reissueRequest.xml",
    ] {
        let original = common::read(f);
        let text = String::from_utf8(original.clone()).expect("utf8");
        // The signed content: the key binding (both references) and each SignedInfo.
        let mut spans = Vec::new();
        for (open, close) in [
            ("<PrototypeKeyBinding", "</PrototypeKeyBinding>"),
            ("<ReissueKeyBinding", "</ReissueKeyBinding>"),
        ] {
            if let (Some(a), Some(b)) = (text.find(open), text.find(close)) {
                spans.push((a, b + close.len()));
            }
        }
        let mut from = 0;
        while let Some(a) = text[from..].find("<SignedInfo>") {
            let a = from + a;
            let b = a + text[a..].find("</SignedInfo>").expect("end") + "</SignedInfo>".len();
            spans.push((a, b));
            from = b;
        }
        assert_eq!(spans.len(), 3, "{f}");
        let mut tried = 0;
        for (a, b) in spans {
            // Every 7th byte plus both ends: a few hundred mutations per file.
            let positions = (a..b).step_by(7).chain([a, b - 1]);
            for pos in positions {
                let mut m = original.clone();
                m[pos] = if m[pos] == b'X' { b'Y' } else { b'X' };
                assert!(
                    verify_both(&m).is_err(),
                    "{f}: still verifies after changing byte {pos} ({:?})",
                    original[pos] as char
                );
                tried += 1;
            }
        }
        assert!(tried > 150, "{f}: only {tried} mutations");
    }
}

#[test]
fn signature_covering_another_element_is_refused() {
    let b = common::read("rec-2005/registerRequest.xml");
    let s = rec_signed(&b).expect("parse");
    let e = s
        .kba
        .verify_covers(
            &VerifyingKey::Hmac(auth_key()),
            "I1494ac4351b7de5c174d455b7000e18f",
        )
        .expect_err("wrong element");
    assert_eq!(e, SignatureError::WrongReference);
    let wrong =
        derive_key("024838", Conversion::SaslPrep, KeyUse::Authentication, 20).expect("derive");
    assert_eq!(
        s.kba.verify(&VerifyingKey::Hmac(wrong)),
        Err(SignatureError::BadSignature)
    );
}

fn rsa_key() -> rsa::PrivateKey {
    let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
    rsa::PrivateKey::new(&mut rng, 1024).expect("rsa keygen")
}

fn register_request(key_value: KeyValue) -> Request {
    Request::Register(RegisterRequest {
        header: RequestHeader {
            message: kms_xkms::messages::MessageHeader {
                id: "Ireq1".into(),
                service: Some("http://www.example.org/XKMS".into()),
                ..Default::default()
            },
            ..Default::default()
        },
        prototype_key_binding: PrototypeKeyBinding {
            core: kms_xkms::messages::KeyBindingCore {
                id: Some("Ibinding1".into()),
                key_info: Some(KeyInfo {
                    id: None,
                    items: vec![
                        KeyInfoItem::KeyName("alice".into()),
                        KeyInfoItem::KeyValue(key_value),
                    ],
                }),
                key_usage: vec![KeyUsage::Signature],
                use_key_with: vec![UseKeyWith {
                    application: "urn:ietf:rfc:2633".into(),
                    identifier: "alice@example.com".into(),
                }],
            },
            validity_interval: None,
            revocation_code_identifier: Some(
                kms_xkms::shared_secret::revocation_code_identifier(
                    &kms_xkms::shared_secret::revocation_code(
                        "Help I Have Revealed My Key",
                        Conversion::SaslPrep,
                    )
                    .expect("code"),
                )
                .to_vec(),
            ),
        },
        authentication: Authentication::default(),
        proof_of_possession: None,
    })
}

fn xmlsec_verify(
    doc: &[u8],
    key_args: &[&OsStr],
    signature_parent: &str,
) -> Result<String, String> {
    let xpath = format!("//*[local-name()='{signature_parent}']/*[local-name()='Signature']");
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("--verify"),
        OsStr::new("--id-attr:Id"),
        OsStr::new("http://www.w3.org/2002/03/xkms#:PrototypeKeyBinding"),
        OsStr::new("--node-xpath"),
        OsStr::new(&xpath),
    ];
    args.extend_from_slice(key_args);
    common::xmlsec1(&args, doc)
}

#[test]
fn our_register_request_signatures_verify_here_and_with_xmlsec1() {
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let sk = rsa_key();
    let pair = kms_xkms::xenc::RsaKeyPair::from_rsa(&sk).expect("components");
    let pem = sk
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let key_value = KeyValue::Rsa {
        modulus: pair.modulus.clone(),
        exponent: pair.exponent.clone(),
    };
    for (c14n, pop_method) in [
        (
            C14nMethod::Exclusive {
                inclusive_prefixes: vec![],
            },
            SignatureMethod::RsaSha1,
        ),
        (
            C14nMethod::Exclusive {
                inclusive_prefixes: vec!["ds".into(), "#default".into()],
            },
            SignatureMethod::RsaSha256,
        ),
        (C14nMethod::Inclusive, SignatureMethod::RsaSha256),
    ] {
        let mut req = register_request(key_value.clone());
        let mut kba_opts = SignOptions::new(SignatureMethod::HmacSha1);
        kba_opts.c14n = c14n.clone();
        sign_key_binding_authentication(&mut req, &SigningKey::Hmac(auth_key()), &kba_opts)
            .expect("kba");
        let mut pop_opts = SignOptions::new(pop_method);
        pop_opts.c14n = c14n.clone();
        pop_opts.digest = kms_xkms::dsig::DigestMethod::Sha256;
        sign_proof_of_possession(&mut req, &SigningKey::Rsa(Box::new(sk.clone())), &pop_opts)
            .expect("pop");
        let bytes = write_document(&encode_request(&req));
        common::xmllint_validate(&bytes).expect("schema-valid");
        verify_both_own(&bytes).unwrap_or_else(|e| panic!("{c14n:?}: {e}"));

        let dir = tempfile::tempdir().expect("tmp");
        let hk = dir.path().join("hmac.bin");
        std::fs::write(&hk, &auth_key()[..]).expect("write");
        let pk = dir.path().join("pub.pem");
        std::fs::write(&pk, &pem).expect("write");
        xmlsec_verify(
            &bytes,
            &[OsStr::new("--hmackey"), hk.as_os_str()],
            "KeyBindingAuthentication",
        )
        .unwrap_or_else(|e| panic!("xmlsec1 KBA {c14n:?}: {e}"));
        xmlsec_verify(
            &bytes,
            &[OsStr::new("--pubkey-pem"), pk.as_os_str()],
            "ProofOfPossession",
        )
        .unwrap_or_else(|e| panic!("xmlsec1 PoP {c14n:?}: {e}"));
        // And xmlsec1 notices a change of the signed binding.
        let tampered = String::from_utf8(bytes.clone())
            .expect("utf8")
            .replace("alice@example.com", "mallory@example.com");
        assert!(
            xmlsec_verify(
                tampered.as_bytes(),
                &[OsStr::new("--hmackey"), hk.as_os_str()],
                "KeyBindingAuthentication"
            )
            .is_err()
        );
    }
}

fn verify_both_own(bytes: &[u8]) -> Result<(), String> {
    let Parsed::Message(_, Message::Request(Request::Register(r))) =
        parse_message(bytes).map_err(|e| e.to_string())?
    else {
        return Err("not a RegisterRequest".into());
    };
    let id = r.prototype_key_binding.core.id.clone().ok_or("no id")?;
    let kv = r
        .prototype_key_binding
        .core
        .key_info
        .as_ref()
        .and_then(|k| k.key_value())
        .ok_or("no kv")?;
    r.authentication
        .key_binding_authentication
        .ok_or("no kba")?
        .verify_covers(&VerifyingKey::Hmac(auth_key()), &id)
        .map_err(|e| format!("KBA: {e}"))?;
    r.proof_of_possession
        .ok_or("no pop")?
        .verify_covers(&kv.verifying_key().ok_or("kv")?, &id)
        .map_err(|e| format!("PoP: {e}"))?;
    Ok(())
}

#[test]
fn ecdsa_message_signature_enveloped_verifies_here_and_with_xmlsec1() {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let mut b = [0u8; 32];
    b[31] = 7;
    b[0] = 0x42;
    let sk = p256::ecdsa::SigningKey::from_slice(&b).expect("p256 key");
    let vk = *sk.verifying_key();
    let req = register_request(KeyValue::Ec {
        named_curve: kms_xkms::messages::P256_CURVE_URI.into(),
        public_key: vk.to_sec1_point(false).as_bytes().to_vec(),
    });
    let signed = sign_message(
        &Message::Request(req),
        &SigningKey::EcdsaP256(sk.clone()),
        &SignOptions {
            method: SignatureMethod::EcdsaSha256,
            digest: kms_xkms::dsig::DigestMethod::Sha256,
            c14n: C14nMethod::Exclusive {
                inclusive_prefixes: vec![],
            },
        },
    )
    .expect("sign");
    let bytes = write_document(&signed);
    common::xmllint_validate(&bytes).expect("schema-valid");
    let Parsed::Message(_, Message::Request(r)) = parse_message(&bytes).expect("parse") else {
        panic!("not a request");
    };
    let sig = r
        .header()
        .message
        .signature
        .clone()
        .expect("message signature");
    let v = sig
        .verify_covers(&VerifyingKey::EcdsaP256(vk), "Ireq1")
        .expect("verifies");
    assert_eq!(v.method, SignatureMethod::EcdsaSha256);
    // The proof-of-possession key in the binding is the same P-256 key: usable for verification.
    let Request::Register(reg) = &r else {
        panic!("register")
    };
    let kv = reg
        .prototype_key_binding
        .core
        .key_info
        .as_ref()
        .and_then(|k| k.key_value())
        .expect("kv");
    sig.verify(&kv.verifying_key().expect("p256"))
        .expect("verifies with KeyValue key");

    let dir = tempfile::tempdir().expect("tmp");
    let pk = dir.path().join("pub.pem");
    std::fs::write(
        &pk,
        p256::PublicKey::from(vk)
            .to_public_key_pem(LineEnding::LF)
            .expect("pem"),
    )
    .expect("write");
    let args: Vec<&OsStr> = vec![
        OsStr::new("--verify"),
        OsStr::new("--id-attr:Id"),
        OsStr::new("http://www.w3.org/2002/03/xkms#:RegisterRequest"),
        OsStr::new("--pubkey-pem"),
        pk.as_os_str(),
    ];
    common::xmlsec1(&args, &bytes).unwrap_or_else(|e| panic!("xmlsec1: {e}"));
}

#[test]
fn typed_helpers_on_the_recommendations_requests() {
    let Parsed::Message(_, Message::Request(Request::Register(r))) =
        parse_message(&common::read("rec-2005/registerRequest.xml")).expect("parse")
    else {
        panic!("register")
    };
    r.verify_key_binding_authentication(&VerifyingKey::Hmac(auth_key()))
        .expect("KBA");
    r.verify_proof_of_possession()
        .expect("PoP under the binding's own KeyValue");
    let Parsed::Message(_, Message::Request(Request::Reissue(q))) =
        parse_message(&common::read("rec-2005/reissueRequest.xml")).expect("parse")
    else {
        panic!("reissue")
    };
    q.verify_key_binding_authentication(&VerifyingKey::Hmac(auth_key()))
        .expect("KBA");
    q.verify_proof_of_possession(&alice_key_value().verifying_key().expect("rsa"))
        .expect("PoP");
    let Parsed::Message(_, Message::Request(Request::Revoke(v))) =
        parse_message(&common::read("rec-2005/revokeRequest.xml")).expect("parse")
    else {
        panic!("revoke")
    };
    // The RevocationCode of the RevokeRequest matches the identifier registered in the RegisterRequest.
    let id = r
        .prototype_key_binding
        .revocation_code_identifier
        .as_deref()
        .expect("identifier");
    assert!(v.revocation_code_matches(id));
    assert!(!v.revocation_code_matches(&[0; 20]));
    assert_eq!(
        v.verify_key_binding_authentication(&VerifyingKey::Hmac(auth_key())),
        Err(SignatureError::Missing("KeyBindingAuthentication"))
    );
}

#[test]
fn inclusive_c14n_signed_in_place_inside_the_envelope_also_verifies() {
    use kms_xkms::dsig::sign_in_place;
    use kms_xkms::soap::SOAP12_NS;
    use kms_xkms::xml::{Document, Element, Limits, parse};
    // A standard signer that signs the request in place: inclusive C14N then renders the envelope's
    // namespace declarations too, unlike xsec-xklient (which signs the request as its own document).
    let req = register_request(alice_key_value());
    let envelope = Element::new(Some(SOAP12_NS), Some("env"), "Envelope")
        .declare(Some("env"), SOAP12_NS)
        .declare(Some("extra"), "urn:extra")
        .with_child(
            Element::new(Some(SOAP12_NS), Some("env"), "Body").with_child(encode_request(&req)),
        );
    let mut doc = Document::new(envelope);
    let mut options = SignOptions::new(SignatureMethod::HmacSha1);
    options.c14n = C14nMethod::Inclusive;
    sign_in_place(
        &mut doc,
        &[0, 0],
        0,
        "Ireq1",
        &SigningKey::Hmac(auth_key()),
        &options,
    )
    .expect("sign");
    let bytes = write_document(&doc.root);
    assert!(parse(&bytes, &Limits::default()).is_ok());
    let (_, parsed) = kms_xkms::parse_request(&bytes).expect("parse");
    let sig = parsed
        .header()
        .message
        .signature
        .clone()
        .expect("signature");
    sig.verify_covers(&VerifyingKey::Hmac(auth_key()), "Ireq1")
        .expect("verifies in place");
    // Taken out of the envelope (no inherited declarations) the same signature no longer verifies.
    let Parsed::Message(None, Message::Request(bare)) = parse_message(&write_document(
        &kms_xkms::messages::encode_request(&parsed),
    ))
    .expect("reparse") else {
        panic!("request")
    };
    assert!(
        bare.header()
            .message
            .signature
            .clone()
            .expect("sig")
            .verify(&VerifyingKey::Hmac(auth_key()))
            .is_err()
    );
}
