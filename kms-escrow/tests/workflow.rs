//! The release workflow end to end, as issue 7 lists its tests.
#![allow(clippy::unwrap_used)]

mod common;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use common::*;
use kms_escrow::*;
use std::sync::Arc;
use zeroize::Zeroizing;

fn subsets(n: usize, m: usize) -> Vec<Vec<usize>> {
    (0u32..(1 << n))
        .filter(|mask| mask.count_ones() as usize == m)
        .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
        .collect()
}

#[test]
fn every_m_subset_of_agents_releases_the_key() {
    let f = fixture(&["security", "security", "legal", "legal", "management"]);
    let deposit = f.deposit(f.policy(3));
    let all = subsets(5, 3);
    assert_eq!(all.len(), 10);
    for subset in all {
        let request = f.request(&deposit);
        for &i in &subset {
            f.approve(&request.id, i);
        }
        let package = f.escrow.release("operator", &request.id).unwrap();
        let key = package.open(&f.recipient).unwrap();
        assert_eq!(key.material(), &material(), "subset {subset:?}");
        assert_eq!(key.metadata, metadata());
        assert_eq!(
            f.escrow.request(&request.id).unwrap().1,
            RequestStatus::Released
        );
    }
}

#[test]
fn m_minus_one_approvals_do_not_release() {
    let f = fixture(&["security", "legal", "management"]);
    let deposit = f.deposit(f.policy(3));
    let request = f.request(&deposit);
    f.approve(&request.id, 0);
    f.approve(&request.id, 1);
    let err = f.escrow.release("operator", &request.id).unwrap_err();
    assert!(
        matches!(err, EscrowError::PolicyNotSatisfied(ref m) if m.contains("2 valid approvals of 3")),
        "{err}"
    );
    // check_release answers as release would, and records nothing.
    assert!(matches!(
        f.escrow.check_release(&request.id),
        Err(EscrowError::PolicyNotSatisfied(_))
    ));
    // The request stays open: the third approval completes it.
    f.approve(&request.id, 2);
    f.escrow.check_release(&request.id).unwrap();
    assert_eq!(
        f.escrow.request(&request.id).unwrap().1,
        RequestStatus::Pending
    );
    assert!(
        f.escrow
            .release("operator", &request.id)
            .unwrap()
            .open(&f.recipient)
            .is_ok()
    );
    // Released requests cannot be released twice.
    assert!(matches!(
        f.escrow.release("operator", &request.id),
        Err(EscrowError::RequestClosed("released"))
    ));
    assert!(matches!(
        f.escrow.check_release(&request.id),
        Err(EscrowError::RequestClosed("released"))
    ));
}

#[test]
fn requester_cannot_approve_own_request() {
    let f = fixture(&["security", "legal", "management"]);
    let deposit = f.deposit(f.policy(2));
    let request = f
        .escrow
        .request_release(
            f.agents[0].id.as_str(),
            &deposit,
            RecipientKey(f.recipient.public_key()),
            "incident-response",
            "Investigating incident 4711 needs the backup key.",
        )
        .unwrap();
    let package = f.escrow.request_package(&request.id).unwrap();
    // The agent-side function refuses...
    let err = approve(&package, &f.agents[0].credentials(), f.clock.now()).unwrap_err();
    assert!(matches!(err, EscrowError::RequesterCannotApprove));
    // ...and so does the service, for an approval produced by a tampered tool (signed, share re-encrypted).
    let mut tampered = package.clone();
    tampered.request.requester = "someone-else".into();
    let forged = approve(&tampered, &f.agents[0].credentials(), f.clock.now()).unwrap();
    assert!(matches!(
        f.escrow.submit_approval(&forged),
        Err(EscrowError::RequesterCannotApprove)
    ));
    // Evaluation never counts it either, even if it reached the store by other means.
    f.approve(&request.id, 1);
    let mut approvals = f.escrow.approvals(&request.id).unwrap();
    let mut own = forged.clone();
    own.request_digest = request.digest().unwrap();
    approvals.push(own);
    let lookup = |id: &AgentId| f.escrow.agent(id).ok();
    let err = evaluate_approvals(&package.policy, &request, &approvals, lookup, f.clock.now())
        .unwrap_err();
    assert!(
        matches!(err, EscrowError::PolicyNotSatisfied(ref m) if m.contains("1 valid approvals of 2")),
        "{err}"
    );
}

#[test]
fn two_approvals_from_one_agent_count_once() {
    let f = fixture(&["security", "legal", "management"]);
    let deposit = f.deposit(f.policy(2));
    let request = f.request(&deposit);
    let first = f.approve(&request.id, 0);
    let package = f.escrow.request_package(&request.id).unwrap();
    f.clock.advance(10);
    let second = approve(&package, &f.agents[0].credentials(), f.clock.now()).unwrap();
    assert!(matches!(
        f.escrow.submit_approval(&second),
        Err(EscrowError::DuplicateApproval(_))
    ));
    assert!(matches!(
        f.escrow.release("operator", &request.id),
        Err(EscrowError::PolicyNotSatisfied(_))
    ));
    // The policy evaluation itself deduplicates too.
    let lookup = |id: &AgentId| f.escrow.agent(id).ok();
    let err = evaluate_approvals(
        &package.policy,
        &request,
        &[first, second],
        lookup,
        f.clock.now(),
    )
    .unwrap_err();
    assert!(
        matches!(err, EscrowError::PolicyNotSatisfied(ref m) if m.contains("already counted")),
        "{err}"
    );
}

#[test]
fn a_required_role_must_be_among_the_approvers() {
    let f = fixture(&["security", "security", "legal"]);
    let policy = f.policy(2).require_role(Role::new("legal").unwrap(), 1);
    let deposit = f.deposit(policy);
    let request = f.request(&deposit);
    f.approve(&request.id, 0);
    f.approve(&request.id, 1);
    let err = f.escrow.release("operator", &request.id).unwrap_err();
    assert!(
        matches!(err, EscrowError::PolicyNotSatisfied(ref m) if m.contains("role legal needs 1 approvers, has 0")),
        "{err}"
    );
    f.approve(&request.id, 2);
    let key = f
        .escrow
        .release("operator", &request.id)
        .unwrap()
        .open(&f.recipient)
        .unwrap();
    assert_eq!(key.material(), &material());
}

#[test]
fn a_policy_whose_role_no_agent_holds_is_refused() {
    let f = fixture(&["security", "security", "legal"]);
    let policy = f
        .policy(2)
        .require_role(Role::new("management").unwrap(), 1);
    let err = f
        .escrow
        .deposit("depositor", metadata(), &material(), policy)
        .unwrap_err();
    assert!(matches!(err, EscrowError::Invalid { .. }), "{err}");
}

#[test]
fn an_expired_approval_does_not_count() {
    let f = fixture(&["security", "legal", "management"]);
    let mut policy = f.policy(2);
    policy.approval_validity_secs = 3600;
    let deposit = f.deposit(policy);
    let request = f.request(&deposit);
    f.approve(&request.id, 0);
    f.clock.advance(3600);
    f.approve(&request.id, 1);
    let err = f.escrow.release("operator", &request.id).unwrap_err();
    assert!(
        matches!(err, EscrowError::PolicyNotSatisfied(ref m) if m.contains("approval expired")),
        "{err}"
    );
    f.approve(&request.id, 2);
    assert!(f.escrow.release("operator", &request.id).is_ok());
}

#[test]
fn the_waiting_period_holds_the_release() {
    let f = fixture(&["security", "legal", "management"]);
    let mut policy = f.policy(2);
    policy.waiting_period_secs = 48 * 3600;
    let deposit = f.deposit(policy);
    let request = f.request(&deposit);
    f.approve(&request.id, 0);
    f.approve(&request.id, 1);
    let err = f.escrow.release("operator", &request.id).unwrap_err();
    assert!(
        matches!(err, EscrowError::WaitingPeriod { not_before } if not_before == T0 + 48 * 3600)
    );
    f.clock.advance(48 * 3600);
    // Approvals given at the start of the waiting period have lapsed (one day validity): agents confirm again.
    assert!(matches!(
        f.escrow.release("operator", &request.id),
        Err(EscrowError::PolicyNotSatisfied(_))
    ));
    let f2_request = f.request(&deposit);
    f.clock.advance(48 * 3600 - 60);
    f.approve(&f2_request.id, 0);
    f.approve(&f2_request.id, 2);
    f.clock.advance(60);
    assert!(
        f.escrow
            .release("operator", &f2_request.id)
            .unwrap()
            .open(&f.recipient)
            .is_ok()
    );
}

#[test]
fn expired_requests_are_closed_and_recorded() {
    let f = fixture(&["security", "legal", "management"]);
    let deposit = f.deposit(f.policy(2));
    let request = f.request(&deposit);
    f.approve(&request.id, 0);
    f.clock.advance(7 * 24 * 3600);
    let package = f.escrow.request_package(&request.id).unwrap();
    assert!(matches!(
        approve(&package, &f.agents[1].credentials(), f.clock.now()),
        Err(EscrowError::RequestExpired)
    ));
    assert!(matches!(
        f.escrow.release("operator", &request.id),
        Err(EscrowError::RequestExpired)
    ));
    assert_eq!(
        f.escrow.request(&request.id).unwrap().1,
        RequestStatus::Expired
    );
    let other = f.request(&deposit);
    f.clock.advance(7 * 24 * 3600);
    assert_eq!(f.escrow.expire_requests().unwrap(), vec![other.id.clone()]);
    let (log, _) = f.escrow.audit_log().unwrap();
    let expired = log
        .iter()
        .filter(|r| matches!(r.event, AuditEvent::RequestExpired { .. }))
        .count();
    assert_eq!(expired, 2);
}

#[test]
fn denials_are_recorded_and_close_the_request_when_the_threshold_is_out_of_reach() {
    let f = fixture(&["security", "legal", "management"]);
    let deposit = f.deposit(f.policy(2));
    let request = f.request(&deposit);
    let package = f.escrow.request_package(&request.id).unwrap();
    let d = deny(
        &package,
        &f.agents[0].credentials(),
        "No ticket for this.",
        f.clock.now(),
    )
    .unwrap();
    assert_eq!(f.escrow.submit_denial(&d).unwrap(), RequestStatus::Pending);
    // Having denied, the agent cannot approve afterwards.
    let a = approve(&package, &f.agents[0].credentials(), f.clock.now()).unwrap();
    assert!(matches!(
        f.escrow.submit_approval(&a),
        Err(EscrowError::DuplicateApproval(_))
    ));
    let d = deny(
        &package,
        &f.agents[1].credentials(),
        "Agree, no ticket.",
        f.clock.now(),
    )
    .unwrap();
    assert_eq!(f.escrow.submit_denial(&d).unwrap(), RequestStatus::Denied);
    assert!(matches!(
        f.escrow.release("operator", &request.id),
        Err(EscrowError::RequestClosed("denied"))
    ));
    assert_eq!(f.escrow.denials(&request.id).unwrap().len(), 2);

    let mut veto = f.policy(2);
    veto.denial_vetoes = true;
    let deposit = f.deposit(veto);
    let request = f.request(&deposit);
    let package = f.escrow.request_package(&request.id).unwrap();
    let d = deny(&package, &f.agents[2].credentials(), "Veto.", f.clock.now()).unwrap();
    assert_eq!(f.escrow.submit_denial(&d).unwrap(), RequestStatus::Denied);
}

#[test]
fn a_share_moved_into_another_deposit_does_not_open() {
    let f = fixture(&["security", "legal", "management"]);
    let a = f.deposit(f.policy(2));
    let b = f.deposit(f.policy(2));
    let request = f.request(&b);
    let mut package = f.escrow.request_package(&request.id).unwrap();
    let foreign = f.escrow.get_deposit(&a).unwrap().shares[0].clone();
    package.shares[0] = foreign;
    let err = approve(&package, &f.agents[0].credentials(), f.clock.now()).unwrap_err();
    assert!(matches!(err, EscrowError::Crypto));
    // Moved to another index of the same deposit: refused as well.
    let mut package = f.escrow.request_package(&request.id).unwrap();
    let mut moved = package.shares[1].clone();
    moved.index = 1;
    moved.agent_id = f.agents[0].id.clone();
    package.shares[0] = moved;
    assert!(approve(&package, &f.agents[0].credentials(), f.clock.now()).is_err());
}

#[test]
fn the_wrong_recipient_cannot_open_a_release() {
    let f = fixture(&["security", "legal", "management"]);
    let deposit = f.deposit(f.policy(2));
    let request = f.request(&deposit);
    f.approve(&request.id, 0);
    f.approve(&request.id, 2);
    let package = f.escrow.release("operator", &request.id).unwrap();
    let other = generate_p256_secret_key().unwrap();
    assert!(matches!(package.open(&other), Err(EscrowError::Crypto)));
    // A package whose approvals were cut below two shares does not open.
    let mut cut = package.clone();
    cut.approvals.truncate(1);
    assert!(cut.open(&f.recipient).is_err());
}

#[test]
fn data_encrypted_before_deposit_decrypts_with_the_released_key() {
    let f = fixture(&["security", "legal", "management"]);
    let key = Zeroizing::new(vec![7u8; 32]);
    let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
    let nonce = Nonce::from([9u8; 12]);
    let ciphertext = cipher
        .encrypt(&nonce, b"quarterly payroll archive".as_ref())
        .unwrap();
    drop(cipher);

    let deposit = f
        .escrow
        .deposit("depositor", metadata(), &key, f.policy(2))
        .unwrap();
    drop(key);
    let request = f.request(&deposit);
    f.approve(&request.id, 1);
    f.approve(&request.id, 2);
    let released = f
        .escrow
        .release("operator", &request.id)
        .unwrap()
        .open(&f.recipient)
        .unwrap();
    let cipher = Aes256Gcm::new_from_slice(released.material()).unwrap();
    assert_eq!(
        cipher.decrypt(&nonce, ciphertext.as_ref()).unwrap(),
        b"quarterly payroll archive"
    );
}

#[test]
fn signing_keys_need_an_explicit_policy() {
    let f = fixture(&["security", "legal", "management"]);
    let mut meta = metadata();
    meta.is_signing_key = true;
    meta.object_type = "PrivateKey".into();
    let err = f
        .escrow
        .deposit("depositor", meta.clone(), &material(), f.policy(2))
        .unwrap_err();
    assert!(matches!(err, EscrowError::SigningKeyRefused));
    let mut policy = f.policy(2);
    policy.allow_signing_keys = true;
    assert!(
        f.escrow
            .deposit("depositor", meta, &material(), policy)
            .is_ok()
    );
}

#[test]
fn purpose_and_justification_are_required() {
    let f = fixture(&["security", "legal", "management"]);
    let mut policy = f.policy(2);
    policy.allowed_purposes = vec!["legal-hold".into()];
    let deposit = f.deposit(policy);
    let recipient = RecipientKey(f.recipient.public_key());
    let ask = |purpose: &str, why: &str| {
        f.escrow
            .request_release("requester", &deposit, recipient.clone(), purpose, why)
    };
    assert!(ask("", "A long enough justification").is_err());
    assert!(ask("curiosity", "A long enough justification").is_err());
    assert!(ask("legal-hold", "").is_err());
    assert!(ask("legal-hold", "because").is_err());
    assert!(ask("legal-hold", "Court order 2026-17 requires the mailbox.").is_ok());
}

#[test]
fn retired_agents_no_longer_approve() {
    let f = fixture(&["security", "legal", "management"]);
    let deposit = f.deposit(f.policy(2));
    let request = f.request(&deposit);
    f.approve(&request.id, 0);
    f.escrow
        .set_agent_status("admin", &f.agents[0].id, AgentStatus::Retired)
        .unwrap();
    f.approve(&request.id, 1);
    assert!(
        matches!(f.escrow.release("operator", &request.id), Err(EscrowError::PolicyNotSatisfied(ref m)) if m.contains("retired"))
    );
    // And are not accepted in new deposits.
    assert!(matches!(
        f.escrow
            .deposit("depositor", metadata(), &material(), f.policy(2)),
        Err(EscrowError::NotAnAgent(_))
    ));
}

#[test]
fn an_rsa_agent_whose_key_could_live_in_an_hsm_takes_part() {
    use rsa::pkcs8::EncodePublicKey;
    let clock = Arc::new(ManualClock::new(T0));
    let escrow = Escrow::in_memory(service_key(), clock.clone()).unwrap();
    let mut keys = agents(&["security", "legal"]);
    let rsa_key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
    let pem = rsa_key
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let rsa_sig = p256::ecdsa::SigningKey::from(&generate_p256_secret_key().unwrap());
    let hsm_agent = Agent::new(
        AgentId::new("hsm-officer").unwrap(),
        "HSM Officer",
        Role::new("management").unwrap(),
        AgentEncryptionKey::from_public_key_pem(&pem).unwrap(),
        ApprovalKey(*rsa_sig.verifying_key()),
    )
    .unwrap();
    for a in &keys {
        escrow.add_agent("admin", a.agent.clone()).unwrap();
    }
    escrow.add_agent("admin", hsm_agent.clone()).unwrap();
    let mut ids: Vec<AgentId> = keys.iter().map(|a| a.id.clone()).collect();
    ids.push(hsm_agent.id.clone());
    let deposit = escrow
        .deposit(
            "depositor",
            metadata(),
            &material(),
            EscrowPolicy::new(2, ids),
        )
        .unwrap();
    let recipient = generate_p256_secret_key().unwrap();
    let request = escrow
        .request_release(
            "requester",
            &deposit,
            RecipientKey(recipient.public_key()),
            "audit",
            "Annual recovery drill.",
        )
        .unwrap();
    let package = escrow.request_package(&request.id).unwrap();
    let hsm_dec = AgentDecryptionKey::RsaOaep(Box::new(rsa_key));
    let hsm_creds = AgentCredentials {
        agent_id: hsm_agent.id.clone(),
        decryption_key: &hsm_dec,
        signer: &rsa_sig,
    };
    escrow
        .submit_approval(&approve(&package, &hsm_creds, clock.now()).unwrap())
        .unwrap();
    let k = keys.remove(1);
    escrow
        .submit_approval(&approve(&package, &k.credentials(), clock.now()).unwrap())
        .unwrap();
    let released = escrow
        .release("operator", &request.id)
        .unwrap()
        .open(&recipient)
        .unwrap();
    assert_eq!(released.material(), &material());
}

#[test]
fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("escrow.redb");
    let clock = Arc::new(ManualClock::new(T0));
    let skey = service_key();
    let keys = agents(&["security", "legal", "management"]);
    let recipient = generate_p256_secret_key().unwrap();
    let request_id;
    {
        let escrow = Escrow::open(&path, skey.clone(), clock.clone()).unwrap();
        for a in &keys {
            escrow.add_agent("admin", a.agent.clone()).unwrap();
        }
        let ids = keys.iter().map(|a| a.id.clone()).collect();
        let deposit = escrow
            .deposit(
                "depositor",
                metadata(),
                &material(),
                EscrowPolicy::new(2, ids),
            )
            .unwrap();
        let request = escrow
            .request_release(
                "requester",
                &deposit,
                RecipientKey(recipient.public_key()),
                "audit",
                "Annual recovery drill.",
            )
            .unwrap();
        let package = escrow.request_package(&request.id).unwrap();
        escrow
            .submit_approval(&approve(&package, &keys[0].credentials(), clock.now()).unwrap())
            .unwrap();
        request_id = request.id;
    }
    let escrow = Escrow::open(&path, skey, clock.clone()).unwrap();
    assert_eq!(escrow.agents().unwrap().len(), 3);
    assert_eq!(escrow.deposits().unwrap().len(), 1);
    assert_eq!(escrow.approvals(&request_id).unwrap().len(), 1);
    assert_eq!(
        escrow.request(&request_id).unwrap().1,
        RequestStatus::Pending
    );
    let package = escrow.request_package(&request_id).unwrap();
    escrow
        .submit_approval(&approve(&package, &keys[2].credentials(), clock.now()).unwrap())
        .unwrap();
    let released = escrow
        .release("operator", &request_id)
        .unwrap()
        .open(&recipient)
        .unwrap();
    assert_eq!(released.material(), &material());
    let report = escrow.verify_audit(None).unwrap();
    assert_eq!(report.records, escrow.audit_log().unwrap().0.len() as u64);
    drop(escrow);
    let escrow = Escrow::open(&path, service_key(), clock).unwrap();
    // Reopened with another service key, the old checkpoints no longer verify: the key is part of the trust.
    assert!(escrow.verify_audit(None).is_err());
}

#[test]
fn deposits_left_unreleasable_by_retirements_are_reported() {
    let f = fixture(&["security", "legal", "management"]);
    let plain = f.deposit(f.policy(2));
    let with_legal = f.deposit(f.policy(2).require_role(Role::new("legal").unwrap(), 1));
    assert!(f.escrow.deposits_at_risk().unwrap().is_empty());
    f.escrow
        .set_agent_status("admin", &f.agents[1].id, AgentStatus::Retired)
        .unwrap();
    let at_risk = f.escrow.deposits_at_risk().unwrap();
    assert_eq!(at_risk.len(), 1);
    assert_eq!(at_risk[0].0, with_legal);
    assert!(at_risk[0].1.contains("role legal"));
    f.escrow
        .set_agent_status("admin", &f.agents[2].id, AgentStatus::Retired)
        .unwrap();
    let mut ids: Vec<DepositId> = f
        .escrow
        .deposits_at_risk()
        .unwrap()
        .into_iter()
        .map(|d| d.0)
        .collect();
    ids.sort();
    let mut expected = vec![plain, with_legal];
    expected.sort();
    assert_eq!(ids, expected);
}

#[test]
fn the_escrow_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Escrow>();
    let f = fixture(&["security", "legal", "management"]);
    let policy = f.policy(2);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                f.escrow
                    .deposit("depositor", metadata(), &material(), policy.clone())
                    .unwrap()
            });
        }
    });
    assert_eq!(f.escrow.deposits().unwrap().len(), 4);
    f.escrow.verify_audit(None).unwrap();
}
