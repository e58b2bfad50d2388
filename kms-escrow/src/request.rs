//! Release requests, and the agent's side of the workflow: approving or denying, offline, with the agent's own
//! keys.

use serde::{Deserialize, Serialize};

use crate::agent::AgentId;
use crate::clock::UnixTime;
use crate::deposit::{
    Deposit, DepositId, EncryptedShare, EscrowedKeyMetadata, MAX_PRINCIPAL_LEN, SHARE_INFO,
    share_aad,
};
use crate::encoding::{Canonical, Hash256, b64, check_text, check_token, token_newtype};
use crate::error::{EscrowError, Result};
use crate::keys::{AgentDecryptionKey, RecipientKey, ShareEnvelope};
use crate::policy::EscrowPolicy;

/// Longest justification.
pub const MAX_JUSTIFICATION_LEN: usize = 4096;
/// Shortest justification: a stated reason, not a placeholder.
pub const MIN_JUSTIFICATION_LEN: usize = 10;
/// Tolerated difference between an agent's clock and the escrow's.
pub const CLOCK_SKEW_SECS: u64 = 300;

/// HPKE `info` for shares re-encrypted to a release recipient.
pub(crate) const RELEASE_INFO: &[u8] = b"kms-escrow/v1/release-share";

token_newtype!(
    /// A release request's identifier.
    RequestId,
    "request id"
);

impl RequestId {
    /// A fresh random identifier.
    #[must_use]
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

/// A request to release a deposit to a recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRequest {
    /// Identifier.
    pub id: RequestId,
    /// The deposit to release.
    pub deposit_id: DepositId,
    /// The deposit's policy hash (approvals are bound to it).
    pub policy_hash: Hash256,
    /// Who asks. Never allowed to approve.
    pub requester: String,
    /// Who receives the key: shares are re-encrypted to this key.
    pub recipient: RecipientKey,
    /// Stated purpose (one of the policy's purposes when it lists any).
    pub purpose: String,
    /// Free-text justification, shown to every agent.
    pub justification: String,
    /// When it was made (unix seconds).
    pub created_at: UnixTime,
    /// Earliest release (end of the waiting period).
    pub not_before: UnixTime,
    /// When it lapses.
    pub expires_at: UnixTime,
}

impl ReleaseRequest {
    /// Builds and validates a request under `policy`.
    ///
    /// # Errors
    /// [`EscrowError::Invalid`] if the requester, purpose or justification is missing, malformed or not allowed.
    pub fn new(
        deposit: &Deposit,
        requester: &str,
        recipient: RecipientKey,
        purpose: &str,
        justification: &str,
        now: UnixTime,
    ) -> Result<Self> {
        check_text("requester", requester, MAX_PRINCIPAL_LEN)?;
        check_token("purpose", purpose, 64)?;
        if !deposit.policy.allows_purpose(purpose) {
            return Err(EscrowError::invalid(
                "purpose",
                format!("{purpose} is not a purpose this deposit may be released for"),
            ));
        }
        check_text("justification", justification, MAX_JUSTIFICATION_LEN)?;
        if justification.trim().len() < MIN_JUSTIFICATION_LEN {
            return Err(EscrowError::invalid(
                "justification",
                format!("state the reason in at least {MIN_JUSTIFICATION_LEN} characters"),
            ));
        }
        Ok(Self {
            id: RequestId::generate(),
            deposit_id: deposit.id.clone(),
            policy_hash: deposit.policy_hash,
            requester: requester.to_owned(),
            recipient,
            purpose: purpose.to_owned(),
            justification: justification.to_owned(),
            created_at: now,
            not_before: now.saturating_add(deposit.policy.waiting_period_secs),
            expires_at: now.saturating_add(deposit.policy.request_validity_secs),
        })
    }

    /// SHA-256 over the canonical encoding of the request: what approvals sign and shares are bound to.
    ///
    /// # Errors
    /// [`EscrowError::InvalidKey`] if the recipient key cannot be encoded.
    pub fn digest(&self) -> Result<Hash256> {
        let recipient = self.recipient.fingerprint()?;
        let mut c = Canonical::new("kms-escrow/v1/release-request");
        c.str(self.id.as_str())
            .str(self.deposit_id.as_str())
            .hash(&self.policy_hash)
            .str(&self.requester)
            .hash(&recipient)
            .str(&self.purpose)
            .str(&self.justification)
            .u64(self.created_at)
            .u64(self.not_before)
            .u64(self.expires_at);
        Ok(c.digest())
    }

    /// Whether `agent` is the requester (an agent acts under its agent id as principal name).
    #[must_use]
    pub fn is_requester(&self, agent: &AgentId) -> bool {
        self.requester == agent.as_str()
    }
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestStatus {
    /// Collecting approvals.
    Pending,
    /// Released to the recipient.
    Released,
    /// Closed by denials.
    Denied,
    /// Lapsed unreleased.
    Expired,
}

impl RequestStatus {
    /// Lower-case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Released => "released",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }
}

/// What an agent needs, offline, to decide on a request: the request, the deposit's description and policy, and
/// the encrypted shares (each opens only with its own agent's key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRequestPackage {
    /// The request.
    pub request: ReleaseRequest,
    /// The deposit's description.
    pub metadata: EscrowedKeyMetadata,
    /// The deposit's policy.
    pub policy: EscrowPolicy,
    /// The encrypted shares.
    pub shares: Vec<EncryptedShare>,
}

/// An agent's signed approval, carrying its share re-encrypted to the recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The request approved.
    pub request_id: RequestId,
    /// [`ReleaseRequest::digest`] of the request as the agent saw it.
    pub request_digest: Hash256,
    /// The approving agent.
    pub agent_id: AgentId,
    /// The agent's share index.
    pub share_index: u8,
    /// When the agent approved (the agent's clock, unix seconds).
    pub approved_at: UnixTime,
    /// The agent's share, sealed to the recipient (HPKE, bound to the request).
    pub released_share: ShareEnvelope,
    /// ECDSA P-256/SHA-256 signature (r || s) over [`Approval::signed_digest`].
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

impl Approval {
    /// The digest the agent signs.
    #[must_use]
    pub fn signed_digest(&self) -> Hash256 {
        let mut c = Canonical::new("kms-escrow/v1/approval");
        c.str(self.request_id.as_str())
            .hash(&self.request_digest)
            .str(self.agent_id.as_str())
            .u8(self.share_index)
            .u64(self.approved_at)
            .hash(&self.released_share.digest());
        c.digest()
    }
}

/// An agent's signed refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    /// The request denied.
    pub request_id: RequestId,
    /// [`ReleaseRequest::digest`] of the request as the agent saw it.
    pub request_digest: Hash256,
    /// The denying agent.
    pub agent_id: AgentId,
    /// Why.
    pub reason: String,
    /// When (the agent's clock).
    pub denied_at: UnixTime,
    /// ECDSA P-256/SHA-256 signature (r || s) over [`Denial::signed_digest`].
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

impl Denial {
    /// The digest the agent signs.
    #[must_use]
    pub fn signed_digest(&self) -> Hash256 {
        let mut c = Canonical::new("kms-escrow/v1/denial");
        c.str(self.request_id.as_str())
            .hash(&self.request_digest)
            .str(self.agent_id.as_str())
            .str(&self.reason)
            .u64(self.denied_at);
        c.digest()
    }
}

/// An agent's private keys, as used on the agent's own machine.
pub struct AgentCredentials<'a> {
    /// The agent.
    pub agent_id: AgentId,
    /// Opens the agent's shares.
    pub decryption_key: &'a AgentDecryptionKey,
    /// Signs approvals and denials (an HSM-backed signer works as well as a software key).
    pub signer: &'a dyn signature::Signer<p256::ecdsa::Signature>,
}

impl core::fmt::Debug for AgentCredentials<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AgentCredentials")
            .field("agent_id", &self.agent_id)
            .finish_non_exhaustive()
    }
}

/// Checks what an agent checks before answering: the package is self-consistent, the agent is one of the
/// deposit's agents and not the requester, and the request is still open. Returns the request digest and the
/// agent's share index.
fn check_package(
    package: &ReleaseRequestPackage,
    agent: &AgentId,
    now: UnixTime,
) -> Result<(Hash256, u8)> {
    let request = &package.request;
    package.policy.validate()?;
    if package.policy.hash() != request.policy_hash {
        return Err(EscrowError::invalid(
            "request",
            "policy does not match the request's policy hash",
        ));
    }
    if !package.policy.allows_purpose(&request.purpose) {
        return Err(EscrowError::invalid(
            "request",
            "purpose not allowed by the policy",
        ));
    }
    if request.is_requester(agent) {
        return Err(EscrowError::RequesterCannotApprove);
    }
    let index = package
        .policy
        .share_index(agent)
        .ok_or_else(|| EscrowError::NotAnAgent(agent.to_string()))?;
    if now >= request.expires_at {
        return Err(EscrowError::RequestExpired);
    }
    if now.saturating_add(CLOCK_SKEW_SECS) < request.created_at {
        return Err(EscrowError::invalid("request", "created in the future"));
    }
    Ok((request.digest()?, index))
}

/// Associated data of a share re-encrypted to a recipient: request, deposit, index and agent.
pub(crate) fn release_share_aad(
    request_digest: &Hash256,
    deposit: &DepositId,
    index: u8,
    agent: &AgentId,
) -> Vec<u8> {
    let mut c = Canonical::new("kms-escrow/v1/release-share");
    c.hash(request_digest)
        .str(deposit.as_str())
        .u8(index)
        .str(agent.as_str());
    c.into_bytes()
}

/// The agent's approval, run on the agent's machine: checks the request, opens the agent's share, re-encrypts it
/// to the recipient bound to this request, and signs.
///
/// The agent should read [`ReleaseRequest::justification`], the purpose and the recipient's fingerprint before
/// calling this: the function checks form, a person checks substance.
///
/// # Errors
/// [`EscrowError::RequesterCannotApprove`], [`EscrowError::NotAnAgent`], [`EscrowError::RequestExpired`],
/// [`EscrowError::Invalid`] for an inconsistent package, [`EscrowError::Crypto`] if the share does not open
/// (wrong key, or a share moved from another deposit).
pub fn approve(
    package: &ReleaseRequestPackage,
    credentials: &AgentCredentials<'_>,
    now: UnixTime,
) -> Result<Approval> {
    let agent = &credentials.agent_id;
    let (request_digest, index) = check_package(package, agent, now)?;
    let request = &package.request;
    let encrypted = package
        .shares
        .iter()
        .find(|s| s.index == index && &s.agent_id == agent)
        .ok_or_else(|| {
            EscrowError::invalid("request package", format!("no share for agent {agent}"))
        })?;
    let aad = share_aad(&request.deposit_id, index, &request.policy_hash, agent);
    let share = credentials
        .decryption_key
        .open(SHARE_INFO, &encrypted.envelope, &aad)?;
    if share.first() != Some(&index) {
        return Err(EscrowError::Crypto);
    }
    let release_aad = release_share_aad(&request_digest, &request.deposit_id, index, agent);
    let (enc, ciphertext) =
        crate::crypto::hpke_seal(&request.recipient.0, RELEASE_INFO, &share, &release_aad)?;
    let mut approval = Approval {
        request_id: request.id.clone(),
        request_digest,
        agent_id: agent.clone(),
        share_index: index,
        approved_at: now,
        released_share: ShareEnvelope::Hpke { enc, ciphertext },
        signature: Vec::new(),
    };
    approval.signature = crate::keys::sign(credentials.signer, &approval.signed_digest().0)?;
    Ok(approval)
}

/// The agent's denial, run on the agent's machine.
///
/// # Errors
/// As [`approve`] for the checks; [`EscrowError::Invalid`] for an empty or overlong reason.
pub fn deny(
    package: &ReleaseRequestPackage,
    credentials: &AgentCredentials<'_>,
    reason: &str,
    now: UnixTime,
) -> Result<Denial> {
    check_text("reason", reason, MAX_JUSTIFICATION_LEN)?;
    let agent = &credentials.agent_id;
    let (request_digest, _) = check_package(package, agent, now)?;
    let mut denial = Denial {
        request_id: package.request.id.clone(),
        request_digest,
        agent_id: agent.clone(),
        reason: reason.to_owned(),
        denied_at: now,
        signature: Vec::new(),
    };
    denial.signature = crate::keys::sign(credentials.signer, &denial.signed_digest().0)?;
    Ok(denial)
}
