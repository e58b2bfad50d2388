//! XkmsService over an in-memory KeyManager, every exchange through SOAP bytes (encode, parse, verify,
//! process, encode) and every result checked against the schema with xmllint: X-KISS and X-KRSS, the KMIP
//! view of the same keys, pass phrases, revocation codes, recovery from the KeyManager and through escrow,
//! the two-phase protocol, Compound, X.509 validation against trust anchors, and bad input.

mod common;

use std::sync::Arc;

use kms_core::manager::{CreateKeyPairRequest, ExportedKey, GetRequest};
use kms_core::object::{Attributes, CryptographicAlgorithm, Name};
use kms_core::store::LocateQuery;
use kms_core::{KeyManager, MemoryStore, ObjectType, Principal, SoftwareBackend};
use kms_xkms::dsig::{SignOptions, SignatureMethod, SigningKey};
use kms_xkms::messages::*;
use kms_xkms::service::{
    EscrowSettings, EscrowSource, MECHANISM_HTTP, MECHANISM_SMTP, Notification, NotificationTarget,
    Notifier, NotifyError, PENDING_GROUP, RepresentPolicy, XkmsConfig, XkmsService,
};
use kms_xkms::shared_secret::{self, Conversion, KeyUse};
use kms_xkms::xml::write_document;
use kms_xkms::{Parsed, SoapVersion, parse_message, serialize_request};
use rsa::traits::PublicKeyParts as _;

const SERVICE: &str = "http://xkms.example.org/xkms";

fn manager() -> Arc<KeyManager> {
    Arc::new(
        KeyManager::builder(Arc::new(MemoryStore::new()))
            .backend(Arc::new(SoftwareBackend::new()))
            .build()
            .expect("key manager"),
    )
}

fn service() -> XkmsService {
    XkmsService::new(manager()).expect("service")
}

/// A service holding `name`'s own signing key, registered with a pass phrase issued for `name` (returned,
/// spent by the registration).
fn service_with_signing_key(
    name: &str,
) -> (XkmsService, rsa::PrivateKey, zeroize::Zeroizing<String>) {
    let svc = service();
    let sk = rsa_key();
    let phrase = svc.issue_pass_phrase(name).expect("phrase");
    exchange(
        &svc,
        &register(name, &phrase, Some(&sk), KeyUsage::Signature),
    );
    (svc, sk, phrase)
}

/// One exchange through bytes; the result must validate against the schema.
fn exchange(svc: &XkmsService, request: &Request) -> XkmsResult {
    exchange_bytes(svc, &serialize_request(SoapVersion::Soap12, request))
}

fn exchange_bytes(svc: &XkmsService, bytes: &[u8]) -> XkmsResult {
    let (version, answer) = svc.handle_soap(bytes, SoapVersion::Soap12);
    assert_eq!(version, SoapVersion::Soap12);
    let Parsed::Message(_, Message::Result(result)) =
        parse_message(&answer).expect("our answer parses")
    else {
        panic!("not a result: {}", String::from_utf8_lossy(&answer))
    };
    let bare = write_document(&encode_result(&result));
    if let Err(e) = common::xmllint_validate(&bare) {
        panic!(
            "{} is not schema-valid: {e}",
            String::from_utf8_lossy(&bare)
        );
    }
    result
}

fn major_minor(r: &XkmsResult) -> (ResultMajor, Option<ResultMinor>) {
    (
        r.header().result_major.clone(),
        r.header().result_minor.clone(),
    )
}

fn req_header(id: &str) -> RequestHeader {
    RequestHeader {
        message: MessageHeader {
            id: id.into(),
            service: Some(SERVICE.into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn rsa_key() -> rsa::PrivateKey {
    let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
    rsa::PrivateKey::new(&mut rng, 2048).expect("rsa keygen")
}

fn rsa_key_value(sk: &rsa::PrivateKey) -> KeyValue {
    KeyValue::Rsa {
        modulus: sk.n_bytes().to_vec(),
        exponent: sk.e_bytes().to_vec(),
    }
}

fn auth_key(phrase: &str) -> SigningKey {
    SigningKey::Hmac(
        shared_secret::derive_key(phrase, Conversion::SaslPrep, KeyUse::Authentication, 20)
            .expect("key"),
    )
}

const REVOCATION_PHRASE: &str = "Help I Have Revealed My Key";

fn revocation_code(phrase: &str) -> Vec<u8> {
    shared_secret::revocation_code(phrase, Conversion::SaslPrep)
        .expect("code")
        .to_vec()
}

fn binding(name: &str, key_value: Option<KeyValue>, usage: KeyUsage) -> KeyBindingCore {
    let mut items = vec![KeyInfoItem::KeyName(name.into())];
    items.extend(key_value.map(KeyInfoItem::KeyValue));
    KeyBindingCore {
        id: Some(format!("I{name}binding")),
        key_info: Some(KeyInfo { id: None, items }),
        key_usage: vec![usage],
        use_key_with: vec![UseKeyWith {
            application: "urn:ietf:rfc:2633".into(),
            identifier: format!("{name}@example.com"),
        }],
    }
}

/// A RegisterRequest for `name`, authenticated with `phrase`, with proof of possession of `sk` when given
/// (otherwise the service generates the key).
fn register(name: &str, phrase: &str, sk: Option<&rsa::PrivateKey>, usage: KeyUsage) -> Request {
    let mut request = Request::Register(RegisterRequest {
        header: req_header(&format!("Ireg{name}")),
        prototype_key_binding: PrototypeKeyBinding {
            core: binding(name, sk.map(rsa_key_value), usage),
            validity_interval: None,
            revocation_code_identifier: Some(
                shared_secret::revocation_code_identifier(&revocation_code(REVOCATION_PHRASE))
                    .to_vec(),
            ),
        },
        authentication: Authentication::default(),
        proof_of_possession: None,
    });
    if let Some(sk) = sk {
        sign_pop(&mut request, sk, SignatureMethod::RsaSha256);
    }
    sign_kba(&mut request, phrase);
    request
}

/// Signs the request's KeyBindingAuthentication with the authentication key of `phrase`.
fn sign_kba(request: &mut Request, phrase: &str) {
    sign_key_binding_authentication(
        request,
        &auth_key(phrase),
        &SignOptions::new(SignatureMethod::HmacSha1),
    )
    .expect("kba");
}

/// Signs the request's ProofOfPossession with `sk`.
fn sign_pop(request: &mut Request, sk: &rsa::PrivateKey, method: SignatureMethod) {
    sign_proof_of_possession(
        request,
        &SigningKey::Rsa(Box::new(sk.clone())),
        &SignOptions::new(method),
    )
    .expect("pop");
}

/// A key binding core naming the key `name` and nothing else.
fn named(name: &str) -> KeyBindingCore {
    KeyBindingCore {
        key_info: Some(KeyInfo {
            id: None,
            items: vec![KeyInfoItem::KeyName(name.into())],
        }),
        ..Default::default()
    }
}

/// The key binding of a Reissue, Revoke or Recover request: Id `id`, naming the key `name`.
fn named_binding(id: &str, name: &str, status: StatusValue) -> KeyBinding {
    KeyBinding {
        core: KeyBindingCore {
            id: Some(id.into()),
            ..named(name)
        },
        validity_interval: None,
        status: Status::new(status),
    }
}

fn locate(name: &str, respond_with: Vec<RespondWith>) -> Request {
    let mut header = req_header(&format!("Iloc{name}"));
    header.respond_with = respond_with;
    Request::Locate(LocateRequest {
        header,
        query_key_binding: QueryKeyBinding {
            core: named(name),
            time_instant: None,
        },
    })
}

fn validate(name: &str) -> Request {
    let Request::Locate(l) = locate(name, vec![]) else {
        unreachable!()
    };
    Request::Validate(ValidateRequest {
        header: req_header(&format!("Ival{name}")),
        query_key_binding: l.query_key_binding,
    })
}

fn revoke_with_code(name: &str, code: Vec<u8>) -> Request {
    Request::Revoke(RevokeRequest {
        header: req_header(&format!("Irev{name}")),
        revoke_key_binding: named_binding("Irevbinding", name, StatusValue::Indeterminate),
        revocation: Revocation::RevocationCode(code),
    })
}

fn recover(name: &str, phrase: &str, pending: bool) -> Request {
    let mut header = req_header(&format!("Irec{name}"));
    if pending {
        header.response_mechanisms = vec![ResponseMechanism::Pending];
    }
    let mut request = Request::Recover(RecoverRequest {
        header,
        recover_key_binding: named_binding("Irecbinding", name, StatusValue::Indeterminate),
        authentication: Authentication::default(),
    });
    sign_kba(&mut request, phrase);
    request
}

fn objects_named(m: &KeyManager, name: &str) -> usize {
    m.locate(
        &Principal::admin("test").expect("admin"),
        &LocateQuery {
            name: Some(name.into()),
            ..Default::default()
        },
    )
    .expect("locate")
    .ids
    .len()
}

fn decrypt_private_key(pk: &PrivateKey, phrase: &str) -> kms_xkms::xenc::RsaKeyPair {
    let method = kms_xkms::xenc::EncryptionMethod::from_uri(
        pk.encrypted_data.algorithm.as_deref().expect("algorithm"),
    )
    .expect("known method");
    let kek = shared_secret::derive_key(
        phrase,
        Conversion::SaslPrep,
        KeyUse::PrivateKeyEncryption,
        method.key_len(),
    )
    .expect("kek");
    kms_xkms::xenc::decrypt_private_key(&pk.encrypted_data, &kek).expect("decrypts")
}

fn status_of(r: &XkmsResult) -> Status {
    match r {
        XkmsResult::Validate(v) | XkmsResult::Revoke(v) => v.key_bindings[0].status.clone(),
        XkmsResult::Register(v) => v.key_bindings[0].status.clone(),
        other => panic!("no key binding in {}", other.element_name()),
    }
}

#[test]
fn register_locate_validate_revoke_and_the_kmip_view_of_the_key() {
    let svc = service();
    let sk = rsa_key();
    let phrase = svc.issue_pass_phrase("alice").expect("phrase");
    let request = register("alice", &phrase, Some(&sk), KeyUsage::Signature);
    let bytes = serialize_request(SoapVersion::Soap12, &request);
    let registered = exchange_bytes(&svc, &bytes);
    assert_eq!(major_minor(&registered), (ResultMajor::Success, None));
    assert_eq!(status_of(&registered).status_value, StatusValue::Valid);

    // The pass phrase was for one use: the same request again is refused and stores nothing.
    let replay = exchange_bytes(&svc, &bytes);
    assert_eq!(
        major_minor(&replay),
        (ResultMajor::Sender, Some(ResultMinor::NoAuthentication))
    );
    assert_eq!(objects_named(svc.manager(), "alice"), 1);

    // KMIP view: the key belongs to the principal named like the key, as a KMIP public key.
    let alice = Principal::new("alice").expect("principal");
    let ids = svc
        .manager()
        .locate(
            &alice,
            &LocateQuery {
                name: Some("alice".into()),
                object_type: Some(ObjectType::PublicKey),
                ..Default::default()
            },
        )
        .expect("locate")
        .ids;
    assert_eq!(ids.len(), 1);
    let meta = svc.manager().metadata(&alice, &ids[0]).expect("metadata");
    assert_eq!(meta.owner, "alice");

    // Locate by name, by UseKeyWith, by a usage the key does not have.
    let XkmsResult::Locate(found) = exchange(&svc, &locate("alice", vec![RespondWith::KeyValue]))
    else {
        panic!("locate result")
    };
    assert_eq!(found.header.result_major, ResultMajor::Success);
    assert_eq!(
        found.unverified_key_bindings[0]
            .core
            .key_info
            .as_ref()
            .and_then(KeyInfo::key_value),
        Some(&rsa_key_value(&sk))
    );
    let by_use = Request::Locate(LocateRequest {
        header: req_header("Ilocuse"),
        query_key_binding: QueryKeyBinding {
            core: KeyBindingCore {
                use_key_with: vec![UseKeyWith {
                    application: "urn:ietf:rfc:2633".into(),
                    identifier: "alice@example.com".into(),
                }],
                key_usage: vec![KeyUsage::Signature],
                ..Default::default()
            },
            time_instant: None,
        },
    });
    let XkmsResult::Locate(found) = exchange(&svc, &by_use) else {
        panic!("locate")
    };
    assert_eq!(found.unverified_key_bindings.len(), 1);
    let Request::Locate(mut wrong_usage) = locate("alice", vec![]) else {
        unreachable!()
    };
    wrong_usage.query_key_binding.core.key_usage = vec![KeyUsage::Exchange];
    assert_eq!(
        major_minor(&exchange(&svc, &Request::Locate(wrong_usage))),
        (ResultMajor::Sender, Some(ResultMinor::NoMatch))
    );

    let valid = exchange(&svc, &validate("alice"));
    let s = status_of(&valid);
    assert_eq!(s.status_value, StatusValue::Valid);
    assert!(s.valid_reasons.contains(&Reason::RevocationStatus));

    // Revoke: a wrong code is refused, the right one revokes, a second revocation is refused.
    let wrong = exchange(&svc, &revoke_with_code("alice", revocation_code("not it")));
    assert_eq!(
        major_minor(&wrong),
        (ResultMajor::Sender, Some(ResultMinor::NoAuthentication))
    );
    assert_eq!(
        status_of(&exchange(&svc, &validate("alice"))).status_value,
        StatusValue::Valid
    );
    let revoked = exchange(
        &svc,
        &revoke_with_code("alice", revocation_code(REVOCATION_PHRASE)),
    );
    assert_eq!(major_minor(&revoked), (ResultMajor::Success, None));
    assert_eq!(status_of(&revoked).status_value, StatusValue::Invalid);
    let s = status_of(&exchange(&svc, &validate("alice")));
    assert_eq!(s.status_value, StatusValue::Invalid);
    assert_eq!(s.invalid_reasons, vec![Reason::RevocationStatus]);
    let again = exchange(
        &svc,
        &revoke_with_code("alice", revocation_code(REVOCATION_PHRASE)),
    );
    assert_eq!(
        major_minor(&again),
        (ResultMajor::Sender, Some(ResultMinor::Refused))
    );
    // KMIP sees the revocation too.
    let meta = svc.manager().metadata(&alice, &ids[0]).expect("metadata");
    assert!(meta.attributes.revocation_reason.is_some());
}

#[test]
fn a_kmip_key_is_located_and_validated_over_xkms() {
    let svc = service();
    let bob = Principal::new("bob").expect("principal");
    let mut common = Attributes::default();
    common.cryptographic_algorithm = Some(CryptographicAlgorithm::Rsa);
    common.cryptographic_length = Some(2048);
    let mut public = Attributes::default();
    public.names = vec![Name::text("bob-signing")];
    let ids = svc
        .manager()
        .create_key_pair(
            &bob,
            CreateKeyPairRequest {
                common_attributes: common,
                private_key_attributes: Attributes::default(),
                public_key_attributes: public,
            },
        )
        .expect("create key pair");
    svc.manager()
        .activate(&bob, &ids.public_key)
        .expect("activate");
    let ExportedKey::Plain(spki) = svc
        .manager()
        .get(&bob, &ids.public_key, &GetRequest::default())
        .expect("get")
        .key
    else {
        panic!("plain")
    };
    use rsa::pkcs8::DecodePublicKey as _;
    let pk = rsa::PublicKey::from_public_key_der(spki.bytes()).expect("spki");

    let XkmsResult::Locate(found) = exchange(&svc, &locate("bob-signing", vec![])) else {
        panic!("locate")
    };
    assert_eq!(found.header.result_major, ResultMajor::Success);
    assert_eq!(
        found.unverified_key_bindings[0]
            .core
            .key_info
            .as_ref()
            .and_then(KeyInfo::key_value),
        Some(&KeyValue::Rsa {
            modulus: pk.n_bytes().to_vec(),
            exponent: pk.e_bytes().to_vec()
        })
    );
    assert_eq!(
        status_of(&exchange(&svc, &validate("bob-signing"))).status_value,
        StatusValue::Valid
    );
    // Locate never answers with the private half.
    assert_eq!(found.unverified_key_bindings.len(), 1);

    // A pass phrase issued for the key's name is not one for its owner: no authentication. The owner's
    // pass phrase authenticates, but XKMS recovers only keys XKMS Register generated.
    let phrase = svc.issue_pass_phrase("bob-signing").expect("phrase");
    assert_eq!(
        major_minor(&exchange(&svc, &recover("bob-signing", &phrase, false))),
        (ResultMajor::Sender, Some(ResultMinor::NoAuthentication))
    );
    let phrase = svc.issue_pass_phrase("bob").expect("phrase");
    assert_eq!(
        major_minor(&exchange(&svc, &recover("bob-signing", &phrase, false))),
        (ResultMajor::Sender, Some(ResultMinor::Refused))
    );
}

#[test]
fn a_server_generated_key_comes_back_encrypted_and_is_recovered() {
    let svc = XkmsService::new(manager()).expect("service");
    let phrase = svc.issue_pass_phrase("carol").expect("phrase");
    let XkmsResult::Register(reg) = exchange(
        &svc,
        &register("carol", &phrase, None, KeyUsage::Encryption),
    ) else {
        panic!("register")
    };
    assert_eq!(reg.header.result_major, ResultMajor::Success);
    let pair = decrypt_private_key(reg.private_key.as_ref().expect("PrivateKey"), &phrase);
    let key = pair.to_rsa().expect("valid RSA key");
    assert_eq!(
        reg.key_bindings[0]
            .core
            .key_info
            .as_ref()
            .and_then(KeyInfo::key_value),
        Some(&rsa_key_value(&key))
    );

    // Recover needs a pass phrase of its own.
    assert_eq!(
        major_minor(&exchange(&svc, &recover("carol", &phrase, false))),
        (ResultMajor::Sender, Some(ResultMinor::NoAuthentication))
    );
    let phrase2 = svc.issue_pass_phrase("carol").expect("phrase");
    let XkmsResult::Recover(rec) = exchange(&svc, &recover("carol", &phrase2, false)) else {
        panic!("recover")
    };
    assert_eq!(rec.header.result_major, ResultMajor::Success);
    let again = decrypt_private_key(rec.private_key.as_ref().expect("PrivateKey"), &phrase2);
    assert_eq!(again.modulus, pair.modulus);
    assert_eq!(again.d, pair.d);
}

/// An in-memory escrow on a manual clock with two agents (security, legal), both needed to release.
struct EscrowFixture {
    clock: Arc<kms_escrow::ManualClock>,
    escrow: Arc<kms_escrow::Escrow>,
    agents: Vec<(
        kms_escrow::AgentId,
        kms_escrow::AgentDecryptionKey,
        p256::ecdsa::SigningKey,
    )>,
}

impl EscrowFixture {
    fn new() -> Self {
        use kms_escrow::*;
        use p256::ecdsa::SigningKey as EcSigningKey;
        let clock = Arc::new(ManualClock::new(1_800_000_000));
        let escrow = Arc::new(
            Escrow::in_memory(
                EcSigningKey::from(&generate_p256_secret_key().expect("key")),
                clock.clone(),
            )
            .expect("escrow"),
        );
        let mut agents = Vec::new();
        for (id, role) in [("sec-1", "security"), ("legal-1", "legal")] {
            let enc = generate_p256_secret_key().expect("key");
            let sig = EcSigningKey::from(&generate_p256_secret_key().expect("key"));
            escrow
                .add_agent(
                    "admin",
                    Agent::new(
                        AgentId::new(id).expect("id"),
                        id,
                        Role::new(role).expect("role"),
                        AgentEncryptionKey::HpkeP256(enc.public_key()),
                        ApprovalKey(*sig.verifying_key()),
                    )
                    .expect("agent"),
                )
                .expect("add agent");
            agents.push((
                AgentId::new(id).expect("id"),
                AgentDecryptionKey::HpkeP256(enc),
                sig,
            ));
        }
        Self {
            clock,
            escrow,
            agents,
        }
    }

    fn settings(&self) -> EscrowSettings {
        let policy =
            kms_escrow::EscrowPolicy::new(2, self.agents.iter().map(|a| a.0.clone()).collect());
        EscrowSettings::new(EscrowSource::Shared(self.escrow.clone()), policy)
    }

    /// What the agents are shown of the open release request of `requester`.
    fn open_request(&self, requester: &str) -> kms_escrow::ReleaseRequestPackage {
        let (request, _) = self
            .escrow
            .requests()
            .expect("requests")
            .into_iter()
            .find(|(r, s)| r.requester == requester && *s == kms_escrow::RequestStatus::Pending)
            .expect("an open request");
        self.escrow.request_package(&request.id).expect("package")
    }

    /// Both agents approve the open release request of `requester`.
    fn approve(&self, requester: &str) {
        let package = self.open_request(requester);
        for (id, dec, sig) in &self.agents {
            let me = kms_escrow::AgentCredentials {
                agent_id: id.clone(),
                decryption_key: dec,
                signer: sig,
            };
            self.escrow
                .submit_approval(
                    &kms_escrow::approve(&package, &me, kms_escrow::Clock::now(&*self.clock))
                        .expect("approve"),
                )
                .expect("submit");
        }
    }

    /// The first agent denies the open release request of `requester`, which closes it (both are needed).
    fn deny(&self, requester: &str) {
        let package = self.open_request(requester);
        let (id, dec, sig) = &self.agents[0];
        let me = kms_escrow::AgentCredentials {
            agent_id: id.clone(),
            decryption_key: dec,
            signer: sig,
        };
        let denial = kms_escrow::deny(
            &package,
            &me,
            "not without a ticket",
            kms_escrow::Clock::now(&*self.clock),
        )
        .expect("deny");
        self.escrow.submit_denial(&denial).expect("submit");
    }
}

/// A notifier that keeps what it is given; it delivers over HTTP only.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<Notification>>);

impl Notifier for Recorder {
    fn supports(&self, target: &NotificationTarget) -> bool {
        matches!(target, NotificationTarget::Http(_))
    }

    fn notify(&self, notification: Notification) -> Result<(), NotifyError> {
        self.0.lock().expect("lock").push(notification);
        Ok(())
    }
}

/// `name` registers a server-generated key, escrowed; returns the generated key.
fn register_escrowed(svc: &XkmsService, name: &str) -> kms_xkms::xenc::RsaKeyPair {
    let phrase = svc.issue_pass_phrase(name).expect("phrase");
    let XkmsResult::Register(reg) =
        exchange(svc, &register(name, &phrase, None, KeyUsage::Encryption))
    else {
        panic!("register")
    };
    assert_eq!(reg.header.result_major, ResultMajor::Success);
    decrypt_private_key(reg.private_key.as_ref().expect("PrivateKey"), &phrase)
}

/// Recover of `name`'s key accepting Pending and asking for a notification.
fn recover_notified(name: &str, phrase: &str, mechanism: &str, identifier: &str) -> Request {
    let mut request = recover(name, phrase, true);
    if let Request::Recover(r) = &mut request {
        r.header.pending_notification = Some(PendingNotification {
            mechanism: mechanism.into(),
            identifier: identifier.into(),
        });
    }
    request
}

fn pending_request(response_id: &str, original: &str) -> Request {
    let mut header = req_header("Ipend");
    header.original_request_id = Some(original.into());
    Request::Pending(PendingRequest {
        header,
        response_id: response_id.into(),
    })
}

fn status_request(response_id: &str) -> Request {
    Request::Status(StatusRequest {
        header: req_header("Istatus"),
        response_id: response_id.into(),
    })
}

/// Live records of pending requests in the store.
fn pending_records(m: &KeyManager) -> usize {
    m.locate(
        &Principal::admin("test").expect("admin"),
        &LocateQuery {
            object_group: Some(PENDING_GROUP.into()),
            state: Some(kms_core::State::PreActive),
            ..Default::default()
        },
    )
    .expect("locate")
    .ids
    .len()
}

#[test]
fn recover_through_escrow_is_pending_until_the_agents_approve_across_a_restart() {
    let fixture = EscrowFixture::new();
    let manager = manager();
    let recorder = Arc::new(Recorder::default());
    let svc = XkmsService::new(manager.clone())
        .expect("service")
        .with_escrow(fixture.settings())
        .with_notifier(recorder.clone());
    let generated = register_escrowed(&svc, "dave");
    assert_eq!(fixture.escrow.deposits().expect("deposits").len(), 1);

    // Escrow needs approvals: a client that cannot wait is told so, and its pass phrase stays usable.
    let phrase = svc.issue_pass_phrase("dave").expect("phrase");
    assert_eq!(
        major_minor(&exchange(&svc, &recover("dave", &phrase, false))),
        (ResultMajor::Receiver, Some(ResultMinor::NotSynchronous))
    );
    let url = "http://notify.example.com/dave?n=1";
    let rec = exchange(
        &svc,
        &recover_notified("dave", &phrase, MECHANISM_HTTP, url),
    );
    assert_eq!(rec.header().result_major, ResultMajor::Pending);
    let response_id = rec.header().message.id.clone();
    assert_eq!(
        svc.poll_pending(),
        0,
        "nothing to announce before approvals"
    );

    // A restart: a new service over the same store and escrow knows the request.
    drop(svc);
    let svc = XkmsService::new(manager.clone())
        .expect("service")
        .with_escrow(fixture.settings())
        .with_notifier(recorder.clone());
    assert_eq!(
        exchange(&svc, &status_request(&response_id))
            .header()
            .result_major,
        ResultMajor::Pending
    );
    assert_eq!(
        exchange(&svc, &pending_request(&response_id, "Irecdave"))
            .header()
            .result_major,
        ResultMajor::Pending
    );
    assert_eq!(
        major_minor(&exchange(&svc, &pending_request("Iunknown", "Irecdave"))),
        (ResultMajor::Sender, Some(ResultMinor::UnknownResponseId))
    );

    fixture.approve("dave");
    assert_eq!(
        exchange(&svc, &status_request(&response_id))
            .header()
            .result_major,
        ResultMajor::Success
    );
    assert_eq!(svc.poll_pending(), 1);
    assert_eq!(svc.poll_pending(), 0, "announced once");
    let sent = recorder.0.lock().expect("lock").remove(0);
    assert_eq!(sent.target, NotificationTarget::Http(url.into()));
    assert_eq!(sent.request_id, "Irecdave");
    // The notification says which request completed and how, and nothing that would fetch the result.
    let Ok(Parsed::Message(Some(SoapVersion::Soap12), Message::Result(XkmsResult::Status(s)))) =
        parse_message(&sent.body)
    else {
        panic!("a StatusResult: {}", String::from_utf8_lossy(&sent.body))
    };
    assert_eq!(s.header.result_major, ResultMajor::Success);
    assert_eq!(s.header.request_id.as_deref(), Some("Irecdave"));
    let body = String::from_utf8_lossy(&sent.body);
    assert!(!body.contains(&response_id), "{body}");
    assert!(
        !body.contains("PrivateKey") && !body.contains("CipherValue"),
        "{body}"
    );
    common::xmllint_validate(&write_document(&encode_result(&XkmsResult::Status(s))))
        .expect("schema-valid");

    let XkmsResult::Recover(done) = exchange(&svc, &pending_request(&response_id, "Irecdave"))
    else {
        panic!("the RecoverResult")
    };
    assert_eq!(done.header.result_major, ResultMajor::Success);
    assert_eq!(done.header.request_id.as_deref(), Some("Irecdave"));
    let recovered = decrypt_private_key(done.private_key.as_ref().expect("PrivateKey"), &phrase);
    assert_eq!(recovered.modulus, generated.modulus);
    assert_eq!(recovered.d, generated.d);
    assert_eq!(
        major_minor(&exchange(&svc, &pending_request(&response_id, "Irecdave"))),
        (ResultMajor::Sender, Some(ResultMinor::UnknownResponseId))
    );
    assert_eq!(
        pending_records(&manager),
        0,
        "the record is gone with its keys"
    );
}

#[test]
fn pending_requests_refuse_what_they_cannot_honour_and_other_requesters_ids() {
    let fixture = EscrowFixture::new();
    let manager = manager();
    let now = Arc::new(std::sync::Mutex::new(time::OffsetDateTime::now_utc()));
    let clock = {
        let now = now.clone();
        Arc::new(move || *now.lock().expect("lock"))
    };
    let mut config = XkmsConfig::default();
    config.max_pending_per_requester = 1;
    let recorder = Arc::new(Recorder::default());
    let svc = XkmsService::new(manager.clone())
        .expect("service")
        .with_config(config)
        .with_escrow(fixture.settings())
        .with_notifier(recorder.clone())
        .with_clock(clock);
    register_escrowed(&svc, "dave");
    register_escrowed(&svc, "erin");

    // A mechanism the notifier cannot deliver (mail here), or none XKMS defines: refused before anything is
    // opened, and the pass phrase stays usable.
    let phrase = svc.issue_pass_phrase("dave").expect("phrase");
    for (mechanism, identifier) in [
        (MECHANISM_SMTP, "mailto:dave@example.com"),
        ("urn:example:pigeon", "http://example.com/"),
        (MECHANISM_HTTP, "file:///etc/passwd"),
    ] {
        assert_eq!(
            major_minor(&exchange(
                &svc,
                &recover_notified("dave", &phrase, mechanism, identifier)
            )),
            (
                ResultMajor::Receiver,
                Some(ResultMinor::OptionalElementNotSupported)
            )
        );
    }
    assert!(fixture.escrow.requests().expect("requests").is_empty());
    // A service with no notifier cannot honour any.
    let bare = XkmsService::new(manager.clone())
        .expect("service")
        .with_escrow(fixture.settings());
    let phrase_bare = bare.issue_pass_phrase("dave").expect("phrase");
    assert_eq!(
        major_minor(&exchange(
            &bare,
            &recover_notified("dave", &phrase_bare, MECHANISM_HTTP, "http://example.com/")
        )),
        (
            ResultMajor::Receiver,
            Some(ResultMinor::OptionalElementNotSupported)
        )
    );

    let dave = exchange(&svc, &recover("dave", &phrase, true));
    assert_eq!(dave.header().result_major, ResultMajor::Pending);
    let dave_id = dave.header().message.id.clone();
    // One pending request per requester here: the second waits its turn, its pass phrase kept.
    let again = svc.issue_pass_phrase("dave").expect("phrase");
    assert_eq!(
        major_minor(&exchange(&svc, &recover("dave", &again, true))),
        (ResultMajor::Receiver, Some(ResultMinor::Refused))
    );
    let phrase = svc.issue_pass_phrase("erin").expect("phrase");
    let erin = exchange(&svc, &recover("erin", &phrase, true));
    assert_eq!(erin.header().result_major, ResultMajor::Pending);
    let erin_id = erin.header().message.id.clone();

    // erin's ResponseId with dave's OriginalRequestId is no request at all, and erin's is untouched.
    fixture.approve("erin");
    assert_eq!(
        major_minor(&exchange(&svc, &pending_request(&erin_id, "Irecdave"))),
        (ResultMajor::Sender, Some(ResultMinor::UnknownResponseId))
    );
    let mut status = status_request(&erin_id);
    if let Request::Status(s) = &mut status {
        s.header.original_request_id = Some("Irecdave".into());
    }
    assert_eq!(
        major_minor(&exchange(&svc, &status)),
        (ResultMajor::Sender, Some(ResultMinor::UnknownResponseId))
    );
    assert_eq!(pending_records(&manager), 2);
    assert_eq!(
        exchange(&svc, &pending_request(&erin_id, "Irecerin"))
            .header()
            .result_major,
        ResultMajor::Success
    );

    // A denied request is announced too (Sender / Refused), and then refused.
    register_escrowed(&svc, "frank");
    let phrase = svc.issue_pass_phrase("frank").expect("phrase");
    let frank = exchange(
        &svc,
        &recover_notified(
            "frank",
            &phrase,
            MECHANISM_HTTP,
            "http://notify.example.com/f",
        ),
    );
    assert_eq!(frank.header().result_major, ResultMajor::Pending);
    let frank_id = frank.header().message.id.clone();
    fixture.deny("frank");
    assert_eq!(svc.poll_pending(), 1);
    let sent = recorder.0.lock().expect("lock").remove(0);
    let Ok(Parsed::Message(_, Message::Result(XkmsResult::Status(s)))) = parse_message(&sent.body)
    else {
        panic!("a StatusResult")
    };
    assert_eq!(
        (s.header.result_major, s.header.result_minor),
        (ResultMajor::Sender, Some(ResultMinor::Refused))
    );
    assert_eq!(
        major_minor(&exchange(&svc, &pending_request(&frank_id, "Irecfrank"))),
        (ResultMajor::Sender, Some(ResultMinor::Refused))
    );
    assert_eq!(
        major_minor(&exchange(&svc, &pending_request(&frank_id, "Irecfrank"))),
        (ResultMajor::Sender, Some(ResultMinor::UnknownResponseId))
    );

    // Past its lifetime a pending request is unknown, and its record is gone.
    *now.lock().expect("lock") += time::Duration::days(8);
    assert_eq!(
        major_minor(&exchange(&svc, &pending_request(&dave_id, "Irecdave"))),
        (ResultMajor::Sender, Some(ResultMinor::UnknownResponseId))
    );
    assert_eq!(pending_records(&manager), 0);
    assert_eq!(svc.poll_pending(), 0);
    assert!(recorder.0.lock().expect("lock").is_empty());
}

#[test]
fn two_phase_nonce_is_checked_without_state_and_cannot_be_replayed() {
    let (svc, _, _) = service_with_signing_key("erin");

    let Request::Locate(mut first) = locate("erin", vec![]) else {
        unreachable!()
    };
    first.header.response_mechanisms = vec![ResponseMechanism::Represent];
    let represent = exchange(&svc, &Request::Locate(first.clone()));
    assert_eq!(represent.header().result_major, ResultMajor::Represent);
    let nonce = represent.header().message.nonce.clone().expect("nonce");

    let mut second = first.clone();
    second.header.message.id = "Isecond".into();
    second.header.message.nonce = Some(nonce.clone());
    second.header.original_request_id = Some(first.header.message.id.clone());
    let answer = exchange(&svc, &Request::Locate(second.clone()));
    assert_eq!(answer.header().result_major, ResultMajor::Success);
    // The same nonce twice, a nonce for another request, a changed nonce: refused.
    assert_eq!(
        major_minor(&exchange(&svc, &Request::Locate(second.clone()))),
        (ResultMajor::Sender, Some(ResultMinor::Refused))
    );
    let represent = exchange(&svc, &Request::Locate(first.clone()));
    let mut other = second.clone();
    other.header.message.nonce = represent.header().message.nonce.clone();
    other.header.original_request_id = Some("Isomeotherrequest".into());
    assert_eq!(
        major_minor(&exchange(&svc, &Request::Locate(other))),
        (ResultMajor::Sender, Some(ResultMinor::Refused))
    );
    let mut changed = second;
    let mut n = nonce;
    n[30] ^= 1;
    changed.header.message.nonce = Some(n);
    assert_eq!(
        major_minor(&exchange(&svc, &Request::Locate(changed))),
        (ResultMajor::Sender, Some(ResultMinor::Refused))
    );

    let strict = XkmsService::new(manager())
        .expect("service")
        .with_config(XkmsConfig::default().with_represent(RepresentPolicy::Required));
    assert_eq!(
        major_minor(&exchange(&strict, &locate("erin", vec![]))),
        (ResultMajor::Sender, Some(ResultMinor::RepresentRequired))
    );
}

#[test]
fn a_guessed_pass_phrase_is_burned_and_nothing_is_stored() {
    let svc = service();
    let phrase = svc.issue_pass_phrase("frank").expect("phrase");
    let sk = rsa_key();
    for _ in 0..5 {
        let r = exchange(
            &svc,
            &register("frank", "wrong guess", Some(&sk), KeyUsage::Signature),
        );
        assert_eq!(
            major_minor(&r),
            (ResultMajor::Sender, Some(ResultMinor::NoAuthentication))
        );
    }
    let r = exchange(
        &svc,
        &register("frank", &phrase, Some(&sk), KeyUsage::Signature),
    );
    assert_eq!(
        major_minor(&r),
        (ResultMajor::Sender, Some(ResultMinor::NoAuthentication))
    );
    assert_eq!(objects_named(svc.manager(), "frank"), 0);

    // A request whose proof of possession is missing keeps the pass phrase usable.
    let phrase = svc.issue_pass_phrase("frank").expect("phrase");
    let mut no_pop = register("frank", &phrase, Some(&sk), KeyUsage::Signature);
    if let Request::Register(r) = &mut no_pop {
        r.proof_of_possession = None;
    }
    assert_eq!(
        major_minor(&exchange(&svc, &no_pop)),
        (
            ResultMajor::Sender,
            Some(ResultMinor::ProofOfPossessionRequired)
        )
    );
    // A proof of possession by another key: refused, pass phrase still good afterwards.
    let other = rsa_key();
    let mut wrong_pop = register("frank", &phrase, Some(&sk), KeyUsage::Signature);
    sign_pop(&mut wrong_pop, &other, SignatureMethod::RsaSha256);
    sign_kba(&mut wrong_pop, &phrase);
    assert_eq!(
        major_minor(&exchange(&svc, &wrong_pop)),
        (
            ResultMajor::Sender,
            Some(ResultMinor::ProofOfPossessionRequired)
        )
    );
    assert_eq!(objects_named(svc.manager(), "frank"), 0);
    let ok = exchange(
        &svc,
        &register("frank", &phrase, Some(&sk), KeyUsage::Signature),
    );
    assert_eq!(ok.header().result_major, ResultMajor::Success);
}

#[test]
fn compound_answers_each_inner_request() {
    let (svc, _, _) = service_with_signing_key("gina");
    let compound = Request::Compound(CompoundRequest {
        header: req_header("Icompound"),
        requests: vec![
            locate("gina", vec![]),
            validate("gina"),
            locate("nobody", vec![]),
        ],
    });
    let XkmsResult::Compound(c) = exchange(&svc, &compound) else {
        panic!("compound")
    };
    assert_eq!(c.header.result_major, ResultMajor::Success);
    let inner: Vec<_> = c.results.iter().map(major_minor).collect();
    assert_eq!(
        inner,
        vec![
            (ResultMajor::Success, None),
            (ResultMajor::Success, None),
            (ResultMajor::Sender, Some(ResultMinor::NoMatch)),
        ]
    );
}

fn ca(name: &str) -> (rcgen::Certificate, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("self-signed");
    (cert, rcgen::Issuer::new(params, key))
}

fn leaf(name: &str, issuer: &rcgen::Issuer<'_, rcgen::KeyPair>) -> rcgen::Certificate {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec![name.into()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.signed_by(&key, issuer).expect("signed")
}

fn validate_cert(der: &[u8]) -> Request {
    Request::Validate(ValidateRequest {
        header: req_header("Ivalcert"),
        query_key_binding: QueryKeyBinding {
            core: KeyBindingCore {
                key_info: Some(KeyInfo {
                    id: None,
                    items: vec![KeyInfoItem::X509Data(vec![X509Item::Certificate(
                        der.to_vec(),
                    )])],
                }),
                ..Default::default()
            },
            time_instant: None,
        },
    })
}

#[test]
fn certificates_are_validated_against_the_trust_anchors() {
    let svc = service();
    let (ca_cert, issuer) = ca("Test Root");
    let (_, other) = ca("Test Root");
    let good = leaf("www.example.org", &issuer);
    let forged = leaf("www.example.org", &other);

    // No anchor yet: not trusted.
    let s = status_of(&exchange(&svc, &validate_cert(good.der())));
    assert_eq!(s.status_value, StatusValue::Invalid);
    assert!(s.invalid_reasons.contains(&Reason::IssuerTrust));

    svc.add_trust_anchor(ca_cert.pem().as_bytes())
        .expect("anchor");
    let s = status_of(&exchange(&svc, &validate_cert(good.der())));
    assert_eq!(s.status_value, StatusValue::Valid, "{s:?}");
    assert!(s.valid_reasons.contains(&Reason::IssuerTrust));
    assert!(s.valid_reasons.contains(&Reason::Signature));
    // Same issuer name, other key: the signature does not verify.
    let s = status_of(&exchange(&svc, &validate_cert(forged.der())));
    assert_eq!(s.status_value, StatusValue::Invalid);
    assert!(s.invalid_reasons.contains(&Reason::Signature));
    // A TimeInstant after the certificate expired.
    let Request::Validate(mut later) = validate_cert(good.der()) else {
        unreachable!()
    };
    later.query_key_binding.time_instant =
        Some(time::OffsetDateTime::now_utc() + time::Duration::days(365 * 6000));
    let s = status_of(&exchange(&svc, &Request::Validate(later)));
    assert_eq!(s.status_value, StatusValue::Invalid);
    assert!(s.invalid_reasons.contains(&Reason::ValidityInterval));
    assert!(svc.add_trust_anchor(b"not a certificate").is_err());
}

#[test]
fn bad_input_is_answered_and_stores_nothing() {
    let svc = service();
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>&lol2;</env:Body></env:Envelope>"#;
    let deep = format!(
        r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>{}{}</env:Body></env:Envelope>"#,
        "<a>".repeat(200),
        "</a>".repeat(200)
    );
    let huge = format!(
        r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><LocateRequest xmlns="http://www.w3.org/2002/03/xkms#" Id="{}"/></env:Body></env:Envelope>"#,
        "x".repeat(2 << 20)
    );
    for bad in [
        &b"<not xml"[..],
        laughs,
        deep.as_bytes(),
        huge.as_bytes(),
        b"",
    ] {
        let (_, answer) = svc.handle_soap(bad, SoapVersion::Soap12);
        assert!(
            matches!(parse_message(&answer), Ok(Parsed::Fault(..))),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
    // A SOAP 1.1 client's broken envelope gets a SOAP 1.1 fault.
    let broken11 = br#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><oops"#;
    let (version, answer) = svc.handle_soap(broken11, SoapVersion::Soap12);
    assert_eq!(version, SoapVersion::Soap11);
    assert!(matches!(
        parse_message(&answer),
        Ok(Parsed::Fault(SoapVersion::Soap11, _))
    ));
    let wrong_ns = br#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><LocateRequest xmlns="urn:not-xkms" Id="I1"/></env:Body></env:Envelope>"#;
    let r = exchange_bytes(&svc, wrong_ns);
    assert_eq!(
        major_minor(&r),
        (ResultMajor::Sender, Some(ResultMinor::MessageNotSupported))
    );
    // A register whose signed binding was changed after signing.
    let phrase = svc.issue_pass_phrase("hank").expect("phrase");
    let sk = rsa_key();
    let bytes = serialize_request(
        SoapVersion::Soap12,
        &register("hank", &phrase, Some(&sk), KeyUsage::Signature),
    );
    let tampered = String::from_utf8(bytes)
        .expect("utf8")
        .replace("hank@example.com", "mallory@example.com");
    let r = exchange_bytes(&svc, tampered.as_bytes());
    assert_eq!(r.header().result_major, ResultMajor::Sender);
    assert_eq!(objects_named(svc.manager(), "hank"), 0);
    assert!(
        svc.manager()
            .locate(&Principal::admin("t").expect("p"), &LocateQuery::default())
            .expect("locate")
            .ids
            .is_empty()
    );
}

#[test]
fn reissue_and_revoke_authenticate_with_a_fresh_pass_phrase() {
    let (svc, sk, phrase) = service_with_signing_key("ivan");

    let reissue = |phrase: &str, pop: Option<&rsa::PrivateKey>| {
        let mut r = Request::Reissue(ReissueRequest {
            header: req_header("Ireissue"),
            reissue_key_binding: named_binding("Ireissuebinding", "ivan", StatusValue::Valid),
            authentication: Authentication::default(),
            proof_of_possession: None,
        });
        if let Some(k) = pop {
            sign_pop(&mut r, k, SignatureMethod::RsaSha1);
        }
        sign_kba(&mut r, phrase);
        r
    };
    // The registration's pass phrase is spent.
    assert_eq!(
        major_minor(&exchange(&svc, &reissue(&phrase, Some(&sk)))),
        (ResultMajor::Sender, Some(ResultMinor::NoAuthentication))
    );
    let phrase = svc.issue_pass_phrase("ivan").expect("phrase");
    // A proof of possession by another key is refused, and the pass phrase survives it.
    assert_eq!(
        major_minor(&exchange(&svc, &reissue(&phrase, Some(&rsa_key())))),
        (
            ResultMajor::Sender,
            Some(ResultMinor::ProofOfPossessionRequired)
        )
    );
    let XkmsResult::Reissue(r) = exchange(&svc, &reissue(&phrase, Some(&sk))) else {
        panic!("ReissueResult")
    };
    assert_eq!(r.header.result_major, ResultMajor::Success);
    assert_eq!(r.key_bindings[0].status.status_value, StatusValue::Valid);
    assert!(
        r.key_bindings[0]
            .validity_interval
            .as_ref()
            .and_then(|v| v.not_on_or_after)
            .is_some_and(|t| t > time::OffsetDateTime::now_utc() + time::Duration::days(300))
    );

    // Revoke by KeyBindingAuthentication instead of the revocation code.
    let phrase = svc.issue_pass_phrase("ivan").expect("phrase");
    let mut revoke = revoke_with_code("ivan", Vec::new());
    sign_kba(&mut revoke, &phrase);
    let revoked = exchange(&svc, &revoke);
    assert_eq!(major_minor(&revoked), (ResultMajor::Success, None));
    assert_eq!(status_of(&revoked).status_value, StatusValue::Invalid);
    // A revoked key is not reissued.
    let phrase = svc.issue_pass_phrase("ivan").expect("phrase");
    assert_eq!(
        major_minor(&exchange(&svc, &reissue(&phrase, Some(&sk)))),
        (ResultMajor::Sender, Some(ResultMinor::Refused))
    );
}
