//! The escrow service: agents, deposits, requests, approvals and the audit log, persisted in one redb file.
//!
//! Every state change and its audit records are written in one redb transaction, so the log never misses an
//! event that happened and never shows one that did not.

use std::path::Path;
use std::sync::Arc;

use p256::ecdsa::{SigningKey, VerifyingKey};
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use zeroize::Zeroizing;

use crate::agent::{Agent, AgentId, AgentStatus};
use crate::audit::{self, Appender, AuditEvent, AuditHead, AuditRecord, AuditReport};
use crate::clock::{Clock, UnixTime};
use crate::deposit::{Deposit, DepositId, DepositInput, EscrowedKeyMetadata};
use crate::encoding::{Hash256, check_text};
use crate::error::{EscrowError, Result};
use crate::keys::RecipientKey;
use crate::policy::EscrowPolicy;
use crate::release::{ReleasePackage, evaluate_approvals};
use crate::request::{
    Approval, CLOCK_SKEW_SECS, Denial, ReleaseRequest, ReleaseRequestPackage, RequestId,
    RequestStatus,
};

const AGENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("escrow_agents");
const DEPOSITS: TableDefinition<&str, &[u8]> = TableDefinition::new("escrow_deposits");
const REQUESTS: TableDefinition<&str, &[u8]> = TableDefinition::new("escrow_requests");
const APPROVALS: TableDefinition<&str, &[u8]> = TableDefinition::new("escrow_approvals");
const DENIALS: TableDefinition<&str, &[u8]> = TableDefinition::new("escrow_denials");
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("escrow_audit");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("escrow_meta");
const HEAD_KEY: &str = "audit-head";

/// Tuning of the escrow service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EscrowConfig {
    /// Ordinary audit records between two signed checkpoints.
    pub checkpoint_interval: u64,
}

impl Default for EscrowConfig {
    fn default() -> Self {
        Self {
            checkpoint_interval: 16,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredRequest {
    request: ReleaseRequest,
    status: RequestStatus,
}

/// The escrow service.
pub struct Escrow {
    db: Database,
    service_key: SigningKey,
    clock: Arc<dyn Clock>,
    config: EscrowConfig,
}

impl core::fmt::Debug for Escrow {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Escrow")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn approval_key(request: &RequestId, agent: &AgentId) -> String {
    // Neither identifier can contain '/', so the key is unambiguous and a prefix scan finds one request's rows.
    format!("{request}/{agent}")
}

fn get_json<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<T>> {
    match table.get(key)? {
        Some(v) => Ok(Some(serde_json::from_slice(v.value())?)),
        None => Ok(None),
    }
}

fn all_json<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for row in table.iter()? {
        let (_, v) = row?;
        out.push(serde_json::from_slice(v.value())?);
    }
    Ok(out)
}

/// What releasing the deposit `s` asks for is judged on: the deposit and the approvals recorded for request `id`.
/// A policy edited in the store no longer matches the hash its shares are bound to, so such a deposit is refused
/// rather than approvals evaluated against it.
fn release_inputs(
    deposits: &impl ReadableTable<&'static str, &'static [u8]>,
    approvals: &impl ReadableTable<&'static str, &'static [u8]>,
    s: &StoredRequest,
    id: &RequestId,
) -> Result<(Deposit, Vec<Approval>)> {
    let deposit: Deposit = get_json(deposits, s.request.deposit_id.as_str())?
        .ok_or_else(|| not_found("deposit", &s.request.deposit_id))?;
    deposit.check_consistency()?;
    if deposit.policy_hash != s.request.policy_hash {
        return Err(EscrowError::invalid(
            "request",
            "deposit policy changed since the request",
        ));
    }
    Ok((deposit, prefixed_json(approvals, &format!("{id}/"))?))
}

fn prefixed_json<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    prefix: &str,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for row in table.range(prefix..)? {
        let (k, v) = row?;
        if !k.value().starts_with(prefix) {
            break;
        }
        out.push(serde_json::from_slice(v.value())?);
    }
    Ok(out)
}

fn not_found(kind: &'static str, id: impl ToString) -> EscrowError {
    EscrowError::NotFound {
        kind,
        id: id.to_string(),
    }
}

impl Escrow {
    /// Opens (creating if needed) the escrow database at `path`.
    ///
    /// # Errors
    /// [`EscrowError::Storage`] if the file cannot be opened or is not an escrow database.
    pub fn open(
        path: impl AsRef<Path>,
        service_key: SigningKey,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let db = Database::create(path)?;
        Self::init(db, service_key, clock)
    }

    /// An escrow held in memory only (tests, benchmarks).
    ///
    /// # Errors
    /// [`EscrowError::Storage`] if the in-memory database cannot be created.
    pub fn in_memory(service_key: SigningKey, clock: Arc<dyn Clock>) -> Result<Self> {
        let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?;
        Self::init(db, service_key, clock)
    }

    fn init(db: Database, service_key: SigningKey, clock: Arc<dyn Clock>) -> Result<Self> {
        let tx = db.begin_write()?;
        {
            tx.open_table(AGENTS)?;
            tx.open_table(DEPOSITS)?;
            tx.open_table(REQUESTS)?;
            tx.open_table(APPROVALS)?;
            tx.open_table(DENIALS)?;
            tx.open_table(AUDIT)?;
            tx.open_table(META)?;
        }
        tx.commit()?;
        Ok(Self {
            db,
            service_key,
            clock,
            config: EscrowConfig::default(),
        })
    }

    /// Replaces the configuration.
    #[must_use]
    pub fn with_config(mut self, config: EscrowConfig) -> Self {
        self.config = config;
        self
    }

    /// The public half of the service key that signs audit checkpoints and heads.
    #[must_use]
    pub fn service_verifying_key(&self) -> VerifyingKey {
        *self.service_key.verifying_key()
    }

    /// The current time of the escrow's clock.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Runs `f` in a write transaction, then appends the audit events it produced and the new signed head in
    /// the same transaction, and commits. If `f` fails nothing is written.
    fn write<T>(
        &self,
        actor: &str,
        f: impl FnOnce(&WriteTransaction, &mut Vec<AuditEvent>) -> Result<T>,
    ) -> Result<T> {
        let now = self.clock.now();
        let tx = self.db.begin_write()?;
        let mut events = Vec::new();
        let out = f(&tx, &mut events)?;
        if !events.is_empty() {
            let mut meta = tx.open_table(META)?;
            let head: Option<AuditHead> = get_json(&meta, HEAD_KEY)?;
            let mut appender = Appender {
                key: &self.service_key,
                checkpoint_interval: self.config.checkpoint_interval,
                len: head.as_ref().map_or(0, |h| h.len),
                last_hash: head.map_or(Hash256::ZERO, |h| h.hash),
            };
            let mut audit_table = tx.open_table(AUDIT)?;
            for e in events {
                for r in appender.append(now, actor, e)? {
                    audit_table.insert(r.seq, serde_json::to_vec(&r)?.as_slice())?;
                }
            }
            let head = appender.head(now)?;
            meta.insert(HEAD_KEY, serde_json::to_vec(&head)?.as_slice())?;
        }
        tx.commit()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&redb::ReadTransaction) -> Result<T>) -> Result<T> {
        let tx = self.db.begin_read()?;
        f(&tx)
    }

    // ---- agents ----

    /// Adds an escrow agent.
    ///
    /// # Errors
    /// [`EscrowError::AlreadyExists`] if the id is taken; [`EscrowError::Storage`].
    pub fn add_agent(&self, actor: &str, mut agent: Agent) -> Result<()> {
        check_text("actor", actor, crate::deposit::MAX_PRINCIPAL_LEN)?;
        agent.added_at = self.clock.now();
        agent.status = AgentStatus::Active;
        let event = AuditEvent::AgentAdded {
            agent_id: agent.id.clone(),
            display_name: agent.display_name.clone(),
            role: agent.role.clone(),
            scheme: agent.encryption_key.scheme().to_owned(),
            encryption_key_sha256: agent.encryption_key.fingerprint()?,
            approval_key_sha256: agent.approval_key.fingerprint()?,
        };
        self.write(actor, |tx, events| {
            let mut t = tx.open_table(AGENTS)?;
            if t.get(agent.id.as_str())?.is_some() {
                return Err(EscrowError::AlreadyExists {
                    kind: "agent",
                    id: agent.id.to_string(),
                });
            }
            t.insert(agent.id.as_str(), serde_json::to_vec(&agent)?.as_slice())?;
            events.push(event);
            Ok(())
        })
    }

    /// Retires or reinstates an agent. A retired agent's approvals no longer count; deposits that name it keep
    /// their shares (re-deposit to replace it).
    ///
    /// # Errors
    /// [`EscrowError::NotFound`]; [`EscrowError::Storage`].
    pub fn set_agent_status(&self, actor: &str, id: &AgentId, status: AgentStatus) -> Result<()> {
        check_text("actor", actor, crate::deposit::MAX_PRINCIPAL_LEN)?;
        self.write(actor, |tx, events| {
            let mut t = tx.open_table(AGENTS)?;
            let mut agent: Agent =
                get_json(&t, id.as_str())?.ok_or_else(|| not_found("agent", id))?;
            agent.status = status;
            t.insert(id.as_str(), serde_json::to_vec(&agent)?.as_slice())?;
            events.push(AuditEvent::AgentStatusChanged {
                agent_id: id.clone(),
                status,
            });
            Ok(())
        })
    }

    /// One agent.
    ///
    /// # Errors
    /// [`EscrowError::NotFound`]; [`EscrowError::Storage`].
    pub fn agent(&self, id: &AgentId) -> Result<Agent> {
        self.read(|tx| {
            get_json(&tx.open_table(AGENTS)?, id.as_str())?.ok_or_else(|| not_found("agent", id))
        })
    }

    /// All agents, by id.
    ///
    /// # Errors
    /// [`EscrowError::Storage`].
    pub fn agents(&self) -> Result<Vec<Agent>> {
        self.read(|tx| all_json(&tx.open_table(AGENTS)?))
    }

    fn agent_lookup(&self) -> Result<impl Fn(&AgentId) -> Option<Agent>> {
        let agents = self.agents()?;
        Ok(move |id: &AgentId| agents.iter().find(|a| &a.id == id).cloned())
    }

    // ---- deposits ----

    /// Escrows key material under `policy`.
    ///
    /// # Errors
    /// [`EscrowError::SigningKeyRefused`]; [`EscrowError::Invalid`] for a bad policy or input;
    /// [`EscrowError::NotFound`] / [`EscrowError::NotAnAgent`] for unknown or retired agents;
    /// [`EscrowError::Crypto`]; [`EscrowError::Storage`].
    pub fn deposit(
        &self,
        depositor: &str,
        metadata: EscrowedKeyMetadata,
        material: &Zeroizing<Vec<u8>>,
        policy: EscrowPolicy,
    ) -> Result<DepositId> {
        let agents = policy.validate_with(self.agent_lookup()?)?;
        let deposit = Deposit::seal(
            DepositInput {
                id: DepositId::generate(),
                depositor,
                created_at: self.clock.now(),
                metadata,
                material,
                policy,
            },
            &agents,
        )?;
        let id = deposit.id.clone();
        self.write(depositor, |tx, events| {
            let mut t = tx.open_table(DEPOSITS)?;
            if t.get(deposit.id.as_str())?.is_some() {
                return Err(EscrowError::AlreadyExists {
                    kind: "deposit",
                    id: deposit.id.to_string(),
                });
            }
            t.insert(
                deposit.id.as_str(),
                serde_json::to_vec(&deposit)?.as_slice(),
            )?;
            events.push(AuditEvent::Deposited {
                deposit_id: deposit.id.clone(),
                object_id: deposit.metadata.object_id.clone(),
                object_type: deposit.metadata.object_type.clone(),
                algorithm: deposit.metadata.algorithm.clone(),
                is_signing_key: deposit.metadata.is_signing_key,
                policy_hash: deposit.policy_hash,
                threshold: deposit.policy.threshold,
                agents: deposit.policy.agents.clone(),
            });
            Ok(())
        })?;
        Ok(id)
    }

    /// One deposit.
    ///
    /// # Errors
    /// [`EscrowError::NotFound`]; [`EscrowError::Storage`].
    pub fn get_deposit(&self, id: &DepositId) -> Result<Deposit> {
        self.read(|tx| {
            get_json(&tx.open_table(DEPOSITS)?, id.as_str())?
                .ok_or_else(|| not_found("deposit", id))
        })
    }

    /// All deposits.
    ///
    /// # Errors
    /// [`EscrowError::Storage`].
    pub fn deposits(&self) -> Result<Vec<Deposit>> {
        self.read(|tx| all_json(&tx.open_table(DEPOSITS)?))
    }

    /// Deposits that can no longer be released as their policy stands, because retired agents leave fewer
    /// active agents than the threshold or than a required role needs; with the reason for each. These need a
    /// new deposit (release and re-deposit under a new policy) before more agents leave.
    ///
    /// # Errors
    /// [`EscrowError::Storage`].
    pub fn deposits_at_risk(&self) -> Result<Vec<(DepositId, String)>> {
        let agents = self.agents()?;
        let active = |id: &AgentId| {
            agents
                .iter()
                .find(|a| &a.id == id)
                .filter(|a| a.is_active())
        };
        let mut out = Vec::new();
        for d in self.deposits()? {
            let live: Vec<&Agent> = d.policy.agents.iter().filter_map(active).collect();
            let mut reasons = Vec::new();
            if live.len() < usize::from(d.policy.threshold) {
                reasons.push(format!(
                    "{} active agents, threshold {}",
                    live.len(),
                    d.policy.threshold
                ));
            }
            for (role, min) in &d.policy.required_roles {
                let have = live.iter().filter(|a| &a.role == role).count();
                if have < usize::from(*min) {
                    reasons.push(format!("role {role}: {have} active agents, {min} required"));
                }
            }
            if !reasons.is_empty() {
                out.push((d.id, reasons.join("; ")));
            }
        }
        Ok(out)
    }

    // ---- requests ----

    /// Opens a release request.
    ///
    /// # Errors
    /// [`EscrowError::NotFound`] for an unknown deposit; [`EscrowError::Invalid`] for a missing or disallowed
    /// purpose or justification; [`EscrowError::Storage`].
    pub fn request_release(
        &self,
        requester: &str,
        deposit_id: &DepositId,
        recipient: RecipientKey,
        purpose: &str,
        justification: &str,
    ) -> Result<ReleaseRequest> {
        let deposit = self.get_deposit(deposit_id)?;
        deposit.check_consistency()?;
        let request = ReleaseRequest::new(
            &deposit,
            requester,
            recipient,
            purpose,
            justification,
            self.clock.now(),
        )?;
        let event = AuditEvent::ReleaseRequested {
            request_id: request.id.clone(),
            deposit_id: deposit_id.clone(),
            requester: requester.to_owned(),
            purpose: request.purpose.clone(),
            justification: request.justification.clone(),
            recipient_sha256: request.recipient.fingerprint()?,
            request_digest: request.digest()?,
            not_before: request.not_before,
            expires_at: request.expires_at,
        };
        self.write(requester, |tx, events| {
            let mut t = tx.open_table(REQUESTS)?;
            let stored = StoredRequest {
                request: request.clone(),
                status: RequestStatus::Pending,
            };
            t.insert(request.id.as_str(), serde_json::to_vec(&stored)?.as_slice())?;
            events.push(event);
            Ok(())
        })?;
        Ok(request)
    }

    fn stored_request(&self, id: &RequestId) -> Result<StoredRequest> {
        self.read(|tx| {
            get_json(&tx.open_table(REQUESTS)?, id.as_str())?
                .ok_or_else(|| not_found("request", id))
        })
    }

    /// A request and where it stands.
    ///
    /// # Errors
    /// [`EscrowError::NotFound`]; [`EscrowError::Storage`].
    pub fn request(&self, id: &RequestId) -> Result<(ReleaseRequest, RequestStatus)> {
        let s = self.stored_request(id)?;
        Ok((s.request, s.status))
    }

    /// All requests and where they stand.
    ///
    /// # Errors
    /// [`EscrowError::Storage`].
    pub fn requests(&self) -> Result<Vec<(ReleaseRequest, RequestStatus)>> {
        let all: Vec<StoredRequest> = self.read(|tx| all_json(&tx.open_table(REQUESTS)?))?;
        Ok(all.into_iter().map(|s| (s.request, s.status)).collect())
    }

    /// What the agents need to decide on a request, offline.
    ///
    /// # Errors
    /// [`EscrowError::NotFound`]; [`EscrowError::Storage`].
    pub fn request_package(&self, id: &RequestId) -> Result<ReleaseRequestPackage> {
        let s = self.stored_request(id)?;
        let deposit = self.get_deposit(&s.request.deposit_id)?;
        Ok(ReleaseRequestPackage {
            request: s.request,
            metadata: deposit.metadata,
            policy: deposit.policy,
            shares: deposit.shares,
        })
    }

    /// Approvals recorded for a request.
    ///
    /// # Errors
    /// [`EscrowError::Storage`].
    pub fn approvals(&self, id: &RequestId) -> Result<Vec<Approval>> {
        self.read(|tx| prefixed_json(&tx.open_table(APPROVALS)?, &format!("{id}/")))
    }

    /// Denials recorded for a request.
    ///
    /// # Errors
    /// [`EscrowError::Storage`].
    pub fn denials(&self, id: &RequestId) -> Result<Vec<Denial>> {
        self.read(|tx| prefixed_json(&tx.open_table(DENIALS)?, &format!("{id}/")))
    }

    /// Loads a pending request inside a write transaction; an expired one is closed (and the closure recorded)
    /// by the caller through the returned flag.
    fn pending_in(
        tx: &WriteTransaction,
        id: &RequestId,
        now: UnixTime,
    ) -> Result<(StoredRequest, bool)> {
        let t = tx.open_table(REQUESTS)?;
        let s: StoredRequest =
            get_json(&t, id.as_str())?.ok_or_else(|| not_found("request", id))?;
        if s.status != RequestStatus::Pending {
            return Err(EscrowError::RequestClosed(s.status.as_str()));
        }
        let expired = now >= s.request.expires_at;
        Ok((s, expired))
    }

    fn close_in(tx: &WriteTransaction, mut s: StoredRequest, status: RequestStatus) -> Result<()> {
        let mut t = tx.open_table(REQUESTS)?;
        s.status = status;
        t.insert(s.request.id.as_str(), serde_json::to_vec(&s)?.as_slice())?;
        Ok(())
    }

    /// Checks what both approvals and denials need: a pending, unexpired request, this exact request, one of its
    /// active agents, not the requester, an answer not given before, a valid signature.
    #[allow(clippy::too_many_arguments)] // one call per answer kind; a struct would only rename the list
    fn check_answer(
        &self,
        tx: &WriteTransaction,
        request_id: &RequestId,
        request_digest: &Hash256,
        agent_id: &AgentId,
        signed: &Hash256,
        signature: &[u8],
        time: UnixTime,
    ) -> Result<(StoredRequest, Deposit, Agent)> {
        let now = self.clock.now();
        let (s, expired) = Self::pending_in(tx, request_id, now)?;
        if expired {
            return Err(EscrowError::RequestExpired);
        }
        if s.request.is_requester(agent_id) {
            return Err(EscrowError::RequesterCannotApprove);
        }
        if &s.request.digest()? != request_digest {
            return Err(EscrowError::invalid(
                "answer",
                "signed over a different request",
            ));
        }
        let deposit: Deposit = get_json(&tx.open_table(DEPOSITS)?, s.request.deposit_id.as_str())?
            .ok_or_else(|| not_found("deposit", &s.request.deposit_id))?;
        let agent: Agent = get_json(&tx.open_table(AGENTS)?, agent_id.as_str())?
            .ok_or_else(|| EscrowError::NotAnAgent(agent_id.to_string()))?;
        if !agent.is_active() || deposit.policy.share_index(agent_id).is_none() {
            return Err(EscrowError::NotAnAgent(agent_id.to_string()));
        }
        let key = approval_key(request_id, agent_id);
        if tx.open_table(APPROVALS)?.get(key.as_str())?.is_some()
            || tx.open_table(DENIALS)?.get(key.as_str())?.is_some()
        {
            return Err(EscrowError::DuplicateApproval(agent_id.to_string()));
        }
        agent.approval_key.verify(&signed.0, signature)?;
        if time.saturating_add(CLOCK_SKEW_SECS) < s.request.created_at
            || time > now.saturating_add(CLOCK_SKEW_SECS)
        {
            return Err(EscrowError::invalid(
                "answer",
                "signing time outside the request's life",
            ));
        }
        Ok((s, deposit, agent))
    }

    /// Records an agent's approval after checking it.
    ///
    /// # Errors
    /// [`EscrowError::RequesterCannotApprove`], [`EscrowError::DuplicateApproval`], [`EscrowError::NotAnAgent`],
    /// [`EscrowError::RequestExpired`] (the request is then closed as expired), [`EscrowError::RequestClosed`],
    /// [`EscrowError::Crypto`] for a bad signature, [`EscrowError::Invalid`].
    pub fn submit_approval(&self, approval: &Approval) -> Result<()> {
        let actor = approval.agent_id.to_string();
        let r = self.write(&actor, |tx, events| {
            let (_, deposit, _) = self.check_answer(
                tx,
                &approval.request_id,
                &approval.request_digest,
                &approval.agent_id,
                &approval.signed_digest(),
                &approval.signature,
                approval.approved_at,
            )?;
            if deposit.policy.share_index(&approval.agent_id) != Some(approval.share_index) {
                return Err(EscrowError::invalid(
                    "approval",
                    "share index is not the agent's",
                ));
            }
            let key = approval_key(&approval.request_id, &approval.agent_id);
            tx.open_table(APPROVALS)?
                .insert(key.as_str(), serde_json::to_vec(approval)?.as_slice())?;
            events.push(AuditEvent::Approved {
                request_id: approval.request_id.clone(),
                agent_id: approval.agent_id.clone(),
                share_index: approval.share_index,
                approved_at: approval.approved_at,
            });
            Ok(())
        });
        self.expire_on(r, &approval.request_id)
    }

    /// Records an agent's denial after checking it; returns the request's status afterwards (closed as denied
    /// when the policy makes denials vetoes, or when too few agents are left to reach the threshold).
    ///
    /// # Errors
    /// As [`Escrow::submit_approval`].
    pub fn submit_denial(&self, denial: &Denial) -> Result<RequestStatus> {
        check_text(
            "reason",
            &denial.reason,
            crate::request::MAX_JUSTIFICATION_LEN,
        )?;
        let actor = denial.agent_id.to_string();
        let r = self.write(&actor, |tx, events| {
            let (s, deposit, _) = self.check_answer(
                tx,
                &denial.request_id,
                &denial.request_digest,
                &denial.agent_id,
                &denial.signed_digest(),
                &denial.signature,
                denial.denied_at,
            )?;
            let key = approval_key(&denial.request_id, &denial.agent_id);
            let mut t = tx.open_table(DENIALS)?;
            t.insert(key.as_str(), serde_json::to_vec(denial)?.as_slice())?;
            let denials = prefixed_json::<Denial>(&t, &format!("{}/", denial.request_id))?.len();
            drop(t);
            let n = deposit.policy.agents.len();
            let closed = deposit.policy.denial_vetoes
                || n.saturating_sub(denials) < usize::from(deposit.policy.threshold);
            events.push(AuditEvent::Denied {
                request_id: denial.request_id.clone(),
                agent_id: denial.agent_id.clone(),
                reason: denial.reason.clone(),
                request_closed: closed,
            });
            if closed {
                Self::close_in(tx, s, RequestStatus::Denied)?;
                Ok(RequestStatus::Denied)
            } else {
                Ok(RequestStatus::Pending)
            }
        });
        self.expire_on(r, &denial.request_id)
    }

    /// When an operation failed because the request lapsed, records the lapse before returning the error.
    fn expire_on<T>(&self, r: Result<T>, id: &RequestId) -> Result<T> {
        if matches!(r, Err(EscrowError::RequestExpired)) {
            self.expire_one(id)?;
        }
        r
    }

    fn expire_one(&self, id: &RequestId) -> Result<bool> {
        let now = self.clock.now();
        self.write("escrow", |tx, events| {
            let (s, expired) = match Self::pending_in(tx, id, now) {
                Ok(v) => v,
                Err(EscrowError::RequestClosed(_)) => return Ok(false),
                Err(e) => return Err(e),
            };
            if !expired {
                return Ok(false);
            }
            Self::close_in(tx, s, RequestStatus::Expired)?;
            events.push(AuditEvent::RequestExpired {
                request_id: id.clone(),
            });
            Ok(true)
        })
    }

    /// Closes every pending request whose time has run out, recording each; returns their ids.
    ///
    /// # Errors
    /// [`EscrowError::Storage`].
    pub fn expire_requests(&self) -> Result<Vec<RequestId>> {
        let mut out = Vec::new();
        for (r, status) in self.requests()? {
            if status == RequestStatus::Pending && self.expire_one(&r.id)? {
                out.push(r.id);
            }
        }
        Ok(out)
    }

    /// Whether [`Escrow::release`] would release the request now, without releasing it or recording anything:
    /// for a watcher that tells the requester when to come back (XKMS PendingNotification).
    ///
    /// # Errors
    /// As [`Escrow::release`], except that an expired request is reported, not closed.
    pub fn check_release(&self, id: &RequestId) -> Result<()> {
        let lookup = self.agent_lookup()?;
        let now = self.clock.now();
        self.read(|tx| {
            let s: StoredRequest = get_json(&tx.open_table(REQUESTS)?, id.as_str())?
                .ok_or_else(|| not_found("request", id))?;
            if s.status != RequestStatus::Pending {
                return Err(EscrowError::RequestClosed(s.status.as_str()));
            }
            let (deposit, approvals) = release_inputs(
                &tx.open_table(DEPOSITS)?,
                &tx.open_table(APPROVALS)?,
                &s,
                id,
            )?;
            evaluate_approvals(&deposit.policy, &s.request, &approvals, &lookup, now).map(|_| ())
        })
    }

    /// Releases a deposit: checks the recorded approvals against the policy and, if they satisfy it, records the
    /// release and returns the package for the recipient.
    ///
    /// # Errors
    /// [`EscrowError::PolicyNotSatisfied`] (too few approvals, a missing role, expired approvals),
    /// [`EscrowError::WaitingPeriod`], [`EscrowError::RequestExpired`] (the request is then closed as expired),
    /// [`EscrowError::RequestClosed`], [`EscrowError::NotFound`], [`EscrowError::Storage`].
    pub fn release(&self, actor: &str, id: &RequestId) -> Result<ReleasePackage> {
        check_text("actor", actor, crate::deposit::MAX_PRINCIPAL_LEN)?;
        let lookup = self.agent_lookup()?;
        let now = self.clock.now();
        let r = self.write(actor, |tx, events| {
            let (s, expired) = Self::pending_in(tx, id, now)?;
            if expired {
                return Err(EscrowError::RequestExpired);
            }
            let (deposit, approvals) = release_inputs(
                &tx.open_table(DEPOSITS)?,
                &tx.open_table(APPROVALS)?,
                &s,
                id,
            )?;
            let counted: Vec<Approval> =
                evaluate_approvals(&deposit.policy, &s.request, &approvals, &lookup, now)?
                    .into_iter()
                    .cloned()
                    .collect();
            events.push(AuditEvent::Released {
                request_id: id.clone(),
                deposit_id: deposit.id.clone(),
                approvers: counted.iter().map(|a| a.agent_id.clone()).collect(),
            });
            let package = ReleasePackage::new(&deposit, &s.request, counted, now);
            Self::close_in(tx, s, RequestStatus::Released)?;
            Ok(package)
        });
        self.expire_on(r, id)
    }

    // ---- audit ----

    /// The audit log and its signed head.
    ///
    /// # Errors
    /// [`EscrowError::Storage`], [`EscrowError::Encoding`].
    pub fn audit_log(&self) -> Result<(Vec<AuditRecord>, Option<AuditHead>)> {
        self.read(|tx| {
            let t = tx.open_table(AUDIT)?;
            let mut records = Vec::with_capacity(usize::try_from(t.len()?).unwrap_or(0));
            for row in t.iter()? {
                let (_, v) = row?;
                records.push(serde_json::from_slice(v.value())?);
            }
            let head = get_json(&tx.open_table(META)?, HEAD_KEY)?;
            Ok((records, head))
        })
    }

    /// Verifies the stored audit log against the service key, its signed head and an optional external anchor.
    ///
    /// # Errors
    /// [`EscrowError::AuditBroken`]; [`EscrowError::Storage`].
    pub fn verify_audit(&self, anchor: Option<&AuditHead>) -> Result<AuditReport> {
        let (records, head) = self.audit_log()?;
        if head.is_none() && !records.is_empty() {
            return Err(EscrowError::AuditBroken {
                seq: 0,
                reason: "signed head missing".into(),
            });
        }
        audit::verify(
            &records,
            &self.service_verifying_key(),
            head.as_ref(),
            anchor,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::agent::Role;
    use crate::clock::ManualClock;
    use crate::keys::{AgentDecryptionKey, AgentEncryptionKey, ApprovalKey};
    use crate::request::{AgentCredentials, approve};

    /// Someone with write access to the database lowers a deposit's threshold: the release is refused, and even
    /// with the policy hash rewritten too, the shares (bound to the original hash) no longer open for the agents.
    #[test]
    fn a_policy_weakened_in_the_store_is_refused() {
        let key = |_| crate::crypto::generate_p256_secret_key().unwrap();
        let clock = Arc::new(ManualClock::new(1_800_000_000));
        let escrow = Escrow::in_memory(SigningKey::from(&key(0)), clock.clone()).unwrap();
        let mut creds = Vec::new();
        for id in ["a", "b", "c"] {
            let (enc, sig) = (key(0), SigningKey::from(&key(0)));
            let agent = Agent::new(
                AgentId::new(id).unwrap(),
                id,
                Role::new("security").unwrap(),
                AgentEncryptionKey::HpkeP256(enc.public_key()),
                ApprovalKey(*sig.verifying_key()),
            )
            .unwrap();
            escrow.add_agent("admin", agent).unwrap();
            creds.push((
                AgentId::new(id).unwrap(),
                AgentDecryptionKey::HpkeP256(enc),
                sig,
            ));
        }
        let ids = creds.iter().map(|c| c.0.clone()).collect();
        let material = Zeroizing::new(vec![1u8; 32]);
        let meta = EscrowedKeyMetadata {
            object_id: "o".into(),
            object_type: "SymmetricKey".into(),
            algorithm: "AES-256".into(),
            is_signing_key: false,
        };
        let dep = escrow
            .deposit("d", meta, &material, EscrowPolicy::new(3, ids))
            .unwrap();
        let recipient = key(0);
        let request = escrow
            .request_release(
                "r",
                &dep,
                RecipientKey(recipient.public_key()),
                "audit",
                "Recovery drill, quarterly.",
            )
            .unwrap();
        let package = escrow.request_package(&request.id).unwrap();
        for (id, dec, sig) in &creds[..2] {
            let me = AgentCredentials {
                agent_id: id.clone(),
                decryption_key: dec,
                signer: sig,
            };
            escrow
                .submit_approval(&approve(&package, &me, clock.now()).unwrap())
                .unwrap();
        }
        let tamper = |rehash: bool| {
            let mut d = escrow.get_deposit(&dep).unwrap();
            d.policy.threshold = 2;
            if rehash {
                d.policy_hash = d.policy.hash();
            }
            let tx = escrow.db.begin_write().unwrap();
            tx.open_table(DEPOSITS)
                .unwrap()
                .insert(dep.as_str(), serde_json::to_vec(&d).unwrap().as_slice())
                .unwrap();
            tx.commit().unwrap();
        };
        tamper(false);
        assert!(matches!(
            escrow.release("r", &request.id),
            Err(EscrowError::Invalid { .. })
        ));
        tamper(true);
        assert!(matches!(
            escrow.release("r", &request.id),
            Err(EscrowError::Invalid { .. })
        ));
        // A fresh request under the rewritten policy: the agents' shares do not open under the forged hash.
        let request = escrow
            .request_release(
                "r",
                &dep,
                RecipientKey(recipient.public_key()),
                "audit",
                "Recovery drill, quarterly.",
            )
            .unwrap();
        let package = escrow.request_package(&request.id).unwrap();
        let (id, dec, sig) = &creds[0];
        let me = AgentCredentials {
            agent_id: id.clone(),
            decryption_key: dec,
            signer: sig,
        };
        assert!(matches!(
            approve(&package, &me, clock.now()),
            Err(EscrowError::Crypto)
        ));
    }
}
