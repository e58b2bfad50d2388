//! A 2-of-3 escrow release: three agents (security, legal, management), a policy that needs two approvals with
//! one of them from legal, and a release approved by the security officer and the legal counsel.
//!
//! Run with `cargo run -p kms-escrow --example two_of_three`.

use std::sync::Arc;

use kms_escrow::{
    Agent, AgentCredentials, AgentDecryptionKey, AgentEncryptionKey, AgentId, ApprovalKey, Escrow,
    EscrowError, EscrowPolicy, EscrowedKeyMetadata, RecipientKey, Role, SystemClock, approve,
    audit::AuditEvent, generate_p256_secret_key,
};
use p256::ecdsa::SigningKey;
use zeroize::Zeroizing;

struct Person {
    id: AgentId,
    decryption: AgentDecryptionKey,
    signing: SigningKey,
}

fn main() -> Result<(), EscrowError> {
    let dir = std::env::temp_dir().join(format!("kms-escrow-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let escrow = Escrow::open(
        dir.join("escrow.redb"),
        SigningKey::from(&generate_p256_secret_key()?),
        Arc::new(SystemClock),
    )?;

    // Each agent generates two key pairs on their own machine and hands over the public halves.
    let mut people = Vec::new();
    for (id, name, role) in [
        ("sec-officer", "Sam Security", "security"),
        ("legal-counsel", "Lee Legal", "legal"),
        ("cfo", "Morgan Management", "management"),
    ] {
        let enc = generate_p256_secret_key()?;
        let sig = SigningKey::from(&generate_p256_secret_key()?);
        let agent = Agent::new(
            AgentId::new(id)?,
            name,
            Role::new(role)?,
            AgentEncryptionKey::HpkeP256(enc.public_key()),
            ApprovalKey(*sig.verifying_key()),
        )?;
        escrow.add_agent("escrow-admin", agent)?;
        people.push(Person {
            id: AgentId::new(id)?,
            decryption: AgentDecryptionKey::HpkeP256(enc),
            signing: sig,
        });
    }

    // The key to escrow: here, the AES key of a backup archive.
    let archive_key = Zeroizing::new(vec![0x42u8; 32]);
    let policy = EscrowPolicy::new(2, people.iter().map(|p| p.id.clone()).collect())
        .require_role(Role::new("legal")?, 1);
    let deposit = escrow.deposit(
        "backup-service",
        EscrowedKeyMetadata {
            object_id: "backup-archive-key-2026".into(),
            object_type: "SymmetricKey".into(),
            algorithm: "AES-256".into(),
            is_signing_key: false,
        },
        &archive_key,
        policy,
    )?;
    println!("deposited {deposit}");

    // An investigator asks for the key, to be delivered to their own P-256 key.
    let investigator = generate_p256_secret_key()?;
    let request = escrow.request_release(
        "investigator@example.org",
        &deposit,
        RecipientKey(investigator.public_key()),
        "legal-hold",
        "Court order 2026-117 requires the March backups.",
    )?;
    println!(
        "request {} by {}: {}",
        request.id, request.requester, request.justification
    );

    // Security and legal approve, each offline with their own keys.
    let package = escrow.request_package(&request.id)?;
    for p in &people[..2] {
        let me = AgentCredentials {
            agent_id: p.id.clone(),
            decryption_key: &p.decryption,
            signer: &p.signing,
        };
        let approval = approve(&package, &me, escrow.now())?;
        escrow.submit_approval(&approval)?;
        println!("approved by {}", p.id);
    }

    let released = escrow
        .release("investigator@example.org", &request.id)?
        .open(&investigator)?;
    assert_eq!(released.material(), &archive_key);
    println!(
        "released {} ({}) to the investigator",
        released.metadata.object_id, released.metadata.algorithm
    );

    let report = escrow.verify_audit(None)?;
    println!(
        "audit log verified: {} records, {} signed checkpoints",
        report.records, report.checkpoints
    );
    let (records, _) = escrow.audit_log()?;
    for r in records {
        let what = match &r.event {
            AuditEvent::AgentAdded { agent_id, role, .. } => {
                format!("agent added: {agent_id} ({role})")
            }
            AuditEvent::Deposited { deposit_id, .. } => format!("deposit: {deposit_id}"),
            AuditEvent::ReleaseRequested { purpose, .. } => {
                format!("release requested for {purpose}")
            }
            AuditEvent::Approved { agent_id, .. } => format!("approved by {agent_id}"),
            AuditEvent::Released { approvers, .. } => format!("released, approvers {approvers:?}"),
            other => format!("{other:?}"),
        };
        println!("  #{:<2} {:<26} {what}", r.seq, r.actor);
    }
    drop(escrow);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
