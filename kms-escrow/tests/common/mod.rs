//! Shared fixtures: agents with fresh keys, an in-memory escrow on a manual clock.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use kms_escrow::*;
use p256::ecdsa::SigningKey;
use zeroize::Zeroizing;

pub const T0: u64 = 1_800_000_000;

pub struct AgentKeys {
    pub id: AgentId,
    pub role: Role,
    pub decryption: AgentDecryptionKey,
    pub signing: SigningKey,
    pub agent: Agent,
}

impl AgentKeys {
    pub fn new(id: &str, role: &str) -> Self {
        let enc = generate_p256_secret_key().unwrap();
        let sig = SigningKey::from(&generate_p256_secret_key().unwrap());
        let agent = Agent::new(
            AgentId::new(id).unwrap(),
            format!("Agent {id}"),
            Role::new(role).unwrap(),
            AgentEncryptionKey::HpkeP256(enc.public_key()),
            ApprovalKey(*sig.verifying_key()),
        )
        .unwrap();
        Self {
            id: agent.id.clone(),
            role: agent.role.clone(),
            decryption: AgentDecryptionKey::HpkeP256(enc),
            signing: sig,
            agent,
        }
    }

    pub fn credentials(&self) -> AgentCredentials<'_> {
        AgentCredentials {
            agent_id: self.id.clone(),
            decryption_key: &self.decryption,
            signer: &self.signing,
        }
    }
}

pub struct Fixture {
    pub escrow: Escrow,
    pub clock: Arc<ManualClock>,
    pub agents: Vec<AgentKeys>,
    pub recipient: p256::SecretKey,
}

pub fn service_key() -> SigningKey {
    SigningKey::from(&generate_p256_secret_key().unwrap())
}

pub fn agents(roles: &[&str]) -> Vec<AgentKeys> {
    roles
        .iter()
        .enumerate()
        .map(|(i, r)| AgentKeys::new(&format!("agent-{i}"), r))
        .collect()
}

pub fn fixture(roles: &[&str]) -> Fixture {
    let clock = Arc::new(ManualClock::new(T0));
    let escrow = Escrow::in_memory(service_key(), clock.clone()).unwrap();
    let agents = agents(roles);
    for a in &agents {
        escrow.add_agent("admin", a.agent.clone()).unwrap();
    }
    Fixture {
        escrow,
        clock,
        agents,
        recipient: generate_p256_secret_key().unwrap(),
    }
}

pub fn metadata() -> EscrowedKeyMetadata {
    EscrowedKeyMetadata {
        object_id: "obj-1".into(),
        object_type: "SymmetricKey".into(),
        algorithm: "AES-256".into(),
        is_signing_key: false,
    }
}

pub fn material() -> Zeroizing<Vec<u8>> {
    Zeroizing::new((0u8..32).collect())
}

impl Fixture {
    pub fn policy(&self, m: u8) -> EscrowPolicy {
        EscrowPolicy::new(m, self.agents.iter().map(|a| a.id.clone()).collect())
    }

    pub fn deposit(&self, policy: EscrowPolicy) -> DepositId {
        self.escrow
            .deposit("depositor", metadata(), &material(), policy)
            .unwrap()
    }

    pub fn request(&self, deposit: &DepositId) -> ReleaseRequest {
        self.escrow
            .request_release(
                "requester",
                deposit,
                RecipientKey(self.recipient.public_key()),
                "employee-departure",
                "Employee left; their archive must be read by the legal team.",
            )
            .unwrap()
    }

    pub fn approve(&self, request: &RequestId, agent: usize) -> Approval {
        let package = self.escrow.request_package(request).unwrap();
        let approval = approve(
            &package,
            &self.agents[agent].credentials(),
            self.clock.now(),
        )
        .unwrap();
        self.escrow.submit_approval(&approval).unwrap();
        approval
    }
}
