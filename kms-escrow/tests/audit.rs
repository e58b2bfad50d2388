//! The audit chain: every event recorded, checkpoints signed, any tampering found.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kms_escrow::audit::{self, AuditEvent};
use kms_escrow::*;

/// A log with agents, deposits, a request, approvals, a denial and a release, checkpointed every 4 records.
fn busy_log() -> (Fixture, Vec<AuditRecord>, AuditHead) {
    let mut f = fixture(&["security", "legal", "management"]);
    f.escrow = Escrow::in_memory(service_key(), f.clock.clone())
        .unwrap()
        .with_config(EscrowConfig {
            checkpoint_interval: 4,
        });
    for a in &f.agents {
        f.escrow.add_agent("admin", a.agent.clone()).unwrap();
    }
    let deposit = f.deposit(f.policy(2));
    let request = f.request(&deposit);
    let package = f.escrow.request_package(&request.id).unwrap();
    f.approve(&request.id, 0);
    let d = deny(
        &package,
        &f.agents[1].credentials(),
        "Not convinced.",
        f.clock.now(),
    )
    .unwrap();
    f.escrow.submit_denial(&d).unwrap();
    f.approve(&request.id, 2);
    f.escrow.release("operator", &request.id).unwrap();
    let (records, head) = f.escrow.audit_log().unwrap();
    (f, records, head.unwrap())
}

#[test]
fn every_escrow_event_is_recorded_and_the_log_verifies() {
    let (f, records, head) = busy_log();
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| match r.event {
            AuditEvent::AgentAdded { .. } => "agent",
            AuditEvent::Deposited { .. } => "deposit",
            AuditEvent::ReleaseRequested { .. } => "request",
            AuditEvent::Approved { .. } => "approval",
            AuditEvent::Denied { .. } => "denial",
            AuditEvent::Released { .. } => "release",
            AuditEvent::Checkpoint { .. } => "checkpoint",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "agent",
            "agent",
            "agent",
            "deposit",
            "checkpoint",
            "request",
            "approval",
            "denial",
            "approval",
            "checkpoint",
            "release"
        ]
    );
    let report = f.escrow.verify_audit(None).unwrap();
    assert_eq!(report.records, 11);
    assert_eq!(report.checkpoints, 2);
    assert_eq!(report.last_checkpoint, Some(9));
    assert_eq!(head.len, 11);
    // The log holds no key material: the deposited bytes appear nowhere in it.
    let text = audit::to_jsonl(&records).unwrap();
    assert!(!text.contains(&hex::encode(&*material())));
    // Export and re-read: the JSON-lines form verifies as well.
    let reread = audit::read_jsonl(&text).unwrap();
    audit::verify(
        &reread,
        &f.escrow.service_verifying_key(),
        Some(&head),
        Some(&head),
    )
    .unwrap();
}

fn check(records: &[AuditRecord], f: &Fixture, head: &AuditHead) -> Result<AuditReport> {
    audit::verify(records, &f.escrow.service_verifying_key(), Some(head), None)
}

#[test]
fn an_edited_record_is_found() {
    let (f, mut records, head) = busy_log();
    if let AuditEvent::ReleaseRequested { justification, .. } = &mut records[5].event {
        justification.push_str(" (amended)");
    }
    let err = check(&records, &f, &head).unwrap_err();
    assert!(
        matches!(err, EscrowError::AuditBroken { seq: 5, .. }),
        "{err}"
    );
    // Recomputing the edited record's hash only moves the break to the next link.
    records[5].hash = records[5].compute_hash().unwrap();
    assert!(matches!(
        check(&records, &f, &head),
        Err(EscrowError::AuditBroken { seq: 6, .. })
    ));
}

#[test]
fn a_deleted_record_is_found() {
    let (f, mut records, head) = busy_log();
    records.remove(7);
    assert!(matches!(
        check(&records, &f, &head),
        Err(EscrowError::AuditBroken { seq: 7, .. })
    ));
}

#[test]
fn reordered_records_are_found() {
    let (f, mut records, head) = busy_log();
    records.swap(6, 8);
    assert!(matches!(
        check(&records, &f, &head),
        Err(EscrowError::AuditBroken { seq: 6, .. })
    ));
    // Renumbering after the swap does not help: the links no longer match.
    let (f, mut records, head) = busy_log();
    records.swap(6, 8);
    records[6].seq = 6;
    records[8].seq = 8;
    assert!(check(&records, &f, &head).is_err());
}

#[test]
fn truncation_after_the_last_checkpoint_is_found() {
    let (f, mut records, head) = busy_log();
    records.pop(); // the release, after the last checkpoint
    let err = check(&records, &f, &head).unwrap_err();
    assert!(matches!(err, EscrowError::AuditBroken { .. }), "{err}");
    // Truncating back to a checkpoint and presenting an older head still fails against an anchor kept elsewhere.
    let (f, records, head) = busy_log();
    let old = &records[..5];
    let key = f.escrow.service_verifying_key();
    assert!(audit::verify(old, &key, None, Some(&head)).is_err());
    assert!(audit::verify(&records, &key, None, Some(&head)).is_ok());
}

#[test]
fn a_forged_checkpoint_or_head_is_found() {
    let (f, mut records, head) = busy_log();
    let mut forged_head = head.clone();
    forged_head.len -= 1;
    assert!(check(&records[..10], &f, &forged_head).is_err());
    if let AuditEvent::Checkpoint { signature } = &mut records[4].event {
        signature[0] ^= 1;
    }
    records[4].hash = records[4].compute_hash().unwrap();
    assert!(check(&records, &f, &head).is_err());
}
