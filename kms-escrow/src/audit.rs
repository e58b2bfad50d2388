//! The audit log: append-only, hash-chained records of every escrow event, with checkpoints signed by the
//! escrow's service key, and a verifier.
//!
//! Record `i` carries `seq = i`, the hash of record `i - 1` (zero for the first) and its own hash over the
//! canonical encoding of everything else. Every `checkpoint_interval` records a checkpoint record signs the chain
//! so far; after every append the escrow also signs the head (last sequence number and hash). The verifier
//! recomputes the chain (an edit, deletion or reordering breaks it), checks every checkpoint signature and the
//! head (records removed from the end no longer match it) and, given an anchor kept elsewhere (a head exported
//! earlier), that the log still contains the anchored record (a rollback of both log and head to an older,
//! validly signed state). No record holds key material: only identifiers, roles, hashes and the people's words.

use p256::ecdsa::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::agent::{AgentId, AgentStatus, Role};
use crate::clock::UnixTime;
use crate::deposit::DepositId;
use crate::encoding::{Canonical, Hash256, b64};
use crate::error::{EscrowError, Result};
use crate::request::RequestId;

/// An escrow event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum AuditEvent {
    /// An agent was added.
    AgentAdded {
        /// The agent.
        agent_id: AgentId,
        /// Its name.
        display_name: String,
        /// Its role.
        role: Role,
        /// Encryption scheme of its key.
        scheme: String,
        /// SHA-256 of its encryption key (SubjectPublicKeyInfo DER).
        encryption_key_sha256: Hash256,
        /// SHA-256 of its approval key.
        approval_key_sha256: Hash256,
    },
    /// An agent was retired or reinstated.
    AgentStatusChanged {
        /// The agent.
        agent_id: AgentId,
        /// Its new status.
        status: AgentStatus,
    },
    /// A key was deposited.
    Deposited {
        /// The deposit.
        deposit_id: DepositId,
        /// The managed object escrowed.
        object_id: String,
        /// Its type.
        object_type: String,
        /// Its algorithm.
        algorithm: String,
        /// Whether it is a signing key.
        is_signing_key: bool,
        /// The policy's hash.
        policy_hash: Hash256,
        /// m.
        threshold: u8,
        /// The n agents.
        agents: Vec<AgentId>,
    },
    /// A release was requested.
    ReleaseRequested {
        /// The request.
        request_id: RequestId,
        /// The deposit.
        deposit_id: DepositId,
        /// Who asked.
        requester: String,
        /// Stated purpose.
        purpose: String,
        /// Justification.
        justification: String,
        /// SHA-256 of the recipient's key.
        recipient_sha256: Hash256,
        /// What approvals sign.
        request_digest: Hash256,
        /// End of the waiting period.
        not_before: UnixTime,
        /// Expiry.
        expires_at: UnixTime,
    },
    /// An agent approved.
    Approved {
        /// The request.
        request_id: RequestId,
        /// The agent.
        agent_id: AgentId,
        /// Its share index.
        share_index: u8,
        /// When it signed.
        approved_at: UnixTime,
    },
    /// An agent denied.
    Denied {
        /// The request.
        request_id: RequestId,
        /// The agent.
        agent_id: AgentId,
        /// The agent's reason.
        reason: String,
        /// Whether this denial closed the request.
        request_closed: bool,
    },
    /// A request lapsed.
    RequestExpired {
        /// The request.
        request_id: RequestId,
    },
    /// A deposit was released.
    Released {
        /// The request.
        request_id: RequestId,
        /// The deposit.
        deposit_id: DepositId,
        /// The agents whose approvals counted.
        approvers: Vec<AgentId>,
    },
    /// The service key signed the chain up to the previous record.
    Checkpoint {
        /// ECDSA P-256/SHA-256 (r || s) over the checkpoint digest.
        #[serde(with = "b64")]
        signature: Vec<u8>,
    },
}

/// One record of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position, from 0.
    pub seq: u64,
    /// When (unix seconds).
    pub time: UnixTime,
    /// Who acted (principal or agent id; `escrow` for the service itself).
    pub actor: String,
    /// What happened.
    pub event: AuditEvent,
    /// Hash of the previous record.
    pub prev_hash: Hash256,
    /// Hash of this record.
    pub hash: Hash256,
}

impl AuditRecord {
    /// Recomputes the record's hash.
    ///
    /// # Errors
    /// [`EscrowError::Encoding`] if the event cannot be serialised.
    pub fn compute_hash(&self) -> Result<Hash256> {
        // serde_json of the typed event is deterministic (fixed field order, no unordered maps), and any change to
        // what the event says changes it.
        let event = serde_json::to_vec(&self.event)?;
        let mut c = Canonical::new("kms-escrow/v1/audit-record");
        c.u64(self.seq)
            .u64(self.time)
            .str(&self.actor)
            .bytes(&event)
            .hash(&self.prev_hash);
        Ok(c.digest())
    }
}

fn checkpoint_digest(seq: u64, time: UnixTime, prev_hash: &Hash256) -> Hash256 {
    let mut c = Canonical::new("kms-escrow/v1/audit-checkpoint");
    c.u64(seq).u64(time).hash(prev_hash);
    c.digest()
}

/// The signed head of the log: the last record's sequence number and hash. Kept beside the log, and exported to
/// serve as an anchor for later verifications.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    /// Number of records.
    pub len: u64,
    /// Hash of the last record (zero for an empty log).
    pub hash: Hash256,
    /// When it was signed.
    pub time: UnixTime,
    /// ECDSA P-256/SHA-256 (r || s) over the head digest.
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

impl AuditHead {
    fn digest(len: u64, hash: &Hash256, time: UnixTime) -> Hash256 {
        let mut c = Canonical::new("kms-escrow/v1/audit-head");
        c.u64(len).hash(hash).u64(time);
        c.digest()
    }

    pub(crate) fn sign(key: &SigningKey, len: u64, hash: Hash256, time: UnixTime) -> Result<Self> {
        let signature = crate::keys::sign(key, &Self::digest(len, &hash, time).0)?;
        Ok(Self {
            len,
            hash,
            time,
            signature,
        })
    }

    fn verify(&self, key: &VerifyingKey) -> Result<()> {
        crate::keys::ApprovalKey(*key).verify(
            &Self::digest(self.len, &self.hash, self.time).0,
            &self.signature,
        )
    }
}

/// Appends records, adding signed checkpoints.
pub(crate) struct Appender<'a> {
    pub(crate) key: &'a SigningKey,
    pub(crate) checkpoint_interval: u64,
    pub(crate) len: u64,
    pub(crate) last_hash: Hash256,
}

impl Appender<'_> {
    /// Appends one event, and a checkpoint after it when one is due; returns the records to store.
    pub(crate) fn append(
        &mut self,
        time: UnixTime,
        actor: &str,
        event: AuditEvent,
    ) -> Result<Vec<AuditRecord>> {
        let mut out = vec![self.push(time, actor, event)?];
        if self.checkpoint_interval > 0
            && (self.len + 1).is_multiple_of(self.checkpoint_interval + 1)
        {
            let sig = crate::keys::sign(
                self.key,
                &checkpoint_digest(self.len, time, &self.last_hash).0,
            )?;
            out.push(self.push(time, "escrow", AuditEvent::Checkpoint { signature: sig })?);
        }
        Ok(out)
    }

    fn push(&mut self, time: UnixTime, actor: &str, event: AuditEvent) -> Result<AuditRecord> {
        let mut r = AuditRecord {
            seq: self.len,
            time,
            actor: actor.to_owned(),
            event,
            prev_hash: self.last_hash,
            hash: Hash256::ZERO,
        };
        r.hash = r.compute_hash()?;
        self.len += 1;
        self.last_hash = r.hash;
        Ok(r)
    }

    pub(crate) fn head(&self, time: UnixTime) -> Result<AuditHead> {
        AuditHead::sign(self.key, self.len, self.last_hash, time)
    }
}

/// What a successful verification found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Records verified.
    pub records: u64,
    /// Signed checkpoints among them.
    pub checkpoints: u64,
    /// Sequence number of the last checkpoint, if any.
    pub last_checkpoint: Option<u64>,
    /// Hash of the last record.
    pub head_hash: Hash256,
}

fn broken(seq: u64, reason: impl Into<String>) -> EscrowError {
    EscrowError::AuditBroken {
        seq,
        reason: reason.into(),
    }
}

/// Verifies a log against the service's public key.
///
/// `head` is the signed head stored with the log: required to detect records removed from the end. `anchor` is
/// a head exported earlier and kept elsewhere: the log must still contain the record it names.
///
/// # Errors
/// [`EscrowError::AuditBroken`] naming the first record found wrong and what is wrong with it.
pub fn verify(
    records: &[AuditRecord],
    service_key: &VerifyingKey,
    head: Option<&AuditHead>,
    anchor: Option<&AuditHead>,
) -> Result<AuditReport> {
    let mut prev = Hash256::ZERO;
    let mut checkpoints = 0;
    let mut last_checkpoint = None;
    for (i, r) in records.iter().enumerate() {
        let seq = i as u64;
        if r.seq != seq {
            return Err(broken(
                seq,
                format!("found record {} here: records deleted or reordered", r.seq),
            ));
        }
        if r.prev_hash != prev {
            return Err(broken(seq, "does not link to the previous record"));
        }
        if r.compute_hash()? != r.hash {
            return Err(broken(
                seq,
                "content does not match its hash: record edited",
            ));
        }
        if let AuditEvent::Checkpoint { signature } = &r.event {
            let d = checkpoint_digest(seq, r.time, &r.prev_hash);
            crate::keys::ApprovalKey(*service_key)
                .verify(&d.0, signature)
                .map_err(|_| broken(seq, "checkpoint signature does not verify"))?;
            checkpoints += 1;
            last_checkpoint = Some(seq);
        }
        prev = r.hash;
    }
    let len = records.len() as u64;
    if let Some(h) = head {
        h.verify(service_key)
            .map_err(|_| broken(len, "head signature does not verify"))?;
        if h.len != len || h.hash != prev {
            return Err(broken(
                len.min(h.len),
                format!(
                    "log has {len} records but the signed head says {}: log truncated or head stale",
                    h.len
                ),
            ));
        }
    }
    if let Some(a) = anchor {
        a.verify(service_key)
            .map_err(|_| broken(a.len, "anchor signature does not verify"))?;
        let ok = match a.len {
            0 => true,
            n => records
                .get(usize::try_from(n - 1).unwrap_or(usize::MAX))
                .is_some_and(|r| r.hash == a.hash),
        };
        if !ok {
            return Err(broken(
                a.len.saturating_sub(1),
                "anchored record missing or different: log rolled back or rewritten",
            ));
        }
    }
    Ok(AuditReport {
        records: len,
        checkpoints,
        last_checkpoint,
        head_hash: prev,
    })
}

/// Reads a JSON-lines export.
///
/// # Errors
/// [`EscrowError::Encoding`] naming nothing more than serde's message if a line is not a record.
pub fn read_jsonl(text: &str) -> Result<Vec<AuditRecord>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(EscrowError::from))
        .collect()
}

/// Writes records as JSON lines.
///
/// # Errors
/// [`EscrowError::Encoding`] if a record cannot be serialised.
pub fn to_jsonl(records: &[AuditRecord]) -> Result<String> {
    let mut out = String::new();
    for r in records {
        out.push_str(&serde_json::to_string(r)?);
        out.push('\n');
    }
    Ok(out)
}
