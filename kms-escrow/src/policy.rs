//! Release policy: who must agree, how many, how fast, and for what purpose.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agent::{Agent, AgentId, Role};
use crate::encoding::{Canonical, Hash256, check_token};
use crate::error::{EscrowError, Result};

/// Most agents one deposit can have.
pub const MAX_AGENTS: usize = 64;
/// Longest validity of a request or an approval, and longest waiting period: one year.
pub const MAX_PERIOD_SECS: u64 = 366 * 24 * 3600;
const MAX_PURPOSES: usize = 32;

/// The conditions under which a deposit is released.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowPolicy {
    /// Approvals needed (m): also the Shamir threshold.
    pub threshold: u8,
    /// The escrow agents (n), in share order: share `i + 1` is encrypted to `agents[i]`.
    pub agents: Vec<AgentId>,
    /// Roles that must be represented among the approvers, with the least number of approvers of each.
    #[serde(default)]
    pub required_roles: BTreeMap<Role, u8>,
    /// How long an approval stays valid after the agent signed it.
    pub approval_validity_secs: u64,
    /// How long a release request stays open.
    pub request_validity_secs: u64,
    /// Delay between a request and the earliest release, during which anyone watching the audit log can object.
    #[serde(default)]
    pub waiting_period_secs: u64,
    /// Purposes a request may state; empty allows any stated purpose (a purpose is always required).
    #[serde(default)]
    pub allowed_purposes: Vec<String>,
    /// Whether signing private keys may be escrowed (refused by default: non-repudiation).
    #[serde(default)]
    pub allow_signing_keys: bool,
    /// Whether one agent's denial closes the request (otherwise a request is closed as denied only once too
    /// few agents are left to reach the threshold).
    #[serde(default)]
    pub denial_vetoes: bool,
}

impl EscrowPolicy {
    /// An m-of-n policy with defaults: approvals valid one day, requests open seven days, no waiting period,
    /// any purpose, no signing keys, no veto.
    #[must_use]
    pub fn new(threshold: u8, agents: Vec<AgentId>) -> Self {
        Self {
            threshold,
            agents,
            required_roles: BTreeMap::new(),
            approval_validity_secs: 24 * 3600,
            request_validity_secs: 7 * 24 * 3600,
            waiting_period_secs: 0,
            allowed_purposes: Vec::new(),
            allow_signing_keys: false,
            denial_vetoes: false,
        }
    }

    /// Requires at least `min` approvers holding `role`.
    #[must_use]
    pub fn require_role(mut self, role: Role, min: u8) -> Self {
        self.required_roles.insert(role, min);
        self
    }

    /// Checks the policy on its own.
    ///
    /// # Errors
    /// [`EscrowError::Invalid`] naming the first rule broken.
    pub fn validate(&self) -> Result<()> {
        let n = self.agents.len();
        if n > MAX_AGENTS {
            return Err(EscrowError::invalid(
                "policy",
                format!("at most {MAX_AGENTS} agents"),
            ));
        }
        if self.threshold < 2 || usize::from(self.threshold) > n {
            return Err(EscrowError::invalid(
                "policy",
                format!("threshold must be between 2 and the number of agents ({n})"),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for a in &self.agents {
            if !seen.insert(a) {
                return Err(EscrowError::invalid(
                    "policy",
                    format!("agent {a} listed twice"),
                ));
            }
        }
        for (role, min) in &self.required_roles {
            if *min == 0 {
                return Err(EscrowError::invalid(
                    "policy",
                    format!("role {role} required zero times"),
                ));
            }
        }
        for (what, v) in [
            ("approval validity", self.approval_validity_secs),
            ("request validity", self.request_validity_secs),
        ] {
            if v == 0 || v > MAX_PERIOD_SECS {
                return Err(EscrowError::invalid(
                    "policy",
                    format!("{what} must be 1..={MAX_PERIOD_SECS} s"),
                ));
            }
        }
        if self.waiting_period_secs >= self.request_validity_secs {
            return Err(EscrowError::invalid(
                "policy",
                "waiting period must end before the request expires",
            ));
        }
        if self.allowed_purposes.len() > MAX_PURPOSES {
            return Err(EscrowError::invalid(
                "policy",
                format!("at most {MAX_PURPOSES} purposes"),
            ));
        }
        for p in &self.allowed_purposes {
            check_token("purpose", p, 64)?;
        }
        Ok(())
    }

    /// Checks the policy against the agents it names: all exist and are active, and every required role can be
    /// met by the agents listed.
    ///
    /// # Errors
    /// [`EscrowError::Invalid`], [`EscrowError::NotFound`] or [`EscrowError::NotAnAgent`].
    pub fn validate_with(&self, lookup: impl Fn(&AgentId) -> Option<Agent>) -> Result<Vec<Agent>> {
        self.validate()?;
        let mut agents = Vec::with_capacity(self.agents.len());
        for id in &self.agents {
            let a = lookup(id).ok_or_else(|| EscrowError::NotFound {
                kind: "agent",
                id: id.to_string(),
            })?;
            if !a.is_active() {
                return Err(EscrowError::NotAnAgent(id.to_string()));
            }
            agents.push(a);
        }
        for (role, min) in &self.required_roles {
            let have = agents.iter().filter(|a| &a.role == role).count();
            if have < usize::from(*min) {
                return Err(EscrowError::invalid(
                    "policy",
                    format!("role {role} required {min} times but only {have} agents hold it"),
                ));
            }
        }
        Ok(agents)
    }

    /// 1-based share index of `agent`, if it is one of the policy's agents.
    #[must_use]
    pub fn share_index(&self, agent: &AgentId) -> Option<u8> {
        self.agents
            .iter()
            .position(|a| a == agent)
            .and_then(|i| u8::try_from(i + 1).ok())
    }

    /// Whether `purpose` may be stated in a request under this policy.
    #[must_use]
    pub fn allows_purpose(&self, purpose: &str) -> bool {
        self.allowed_purposes.is_empty() || self.allowed_purposes.iter().any(|p| p == purpose)
    }

    /// SHA-256 over the canonical encoding of every field; bound into every share so that a share only opens
    /// under the policy it was deposited with.
    #[must_use]
    pub fn hash(&self) -> Hash256 {
        let mut c = Canonical::new("kms-escrow/v1/policy");
        c.u8(self.threshold).u64(self.agents.len() as u64);
        for a in &self.agents {
            c.str(a.as_str());
        }
        c.u64(self.required_roles.len() as u64);
        for (role, min) in &self.required_roles {
            c.str(role.as_str()).u8(*min);
        }
        c.u64(self.approval_validity_secs)
            .u64(self.request_validity_secs)
            .u64(self.waiting_period_secs);
        let mut purposes = self.allowed_purposes.clone();
        purposes.sort();
        purposes.dedup();
        c.u64(purposes.len() as u64);
        for p in &purposes {
            c.str(p);
        }
        c.bool(self.allow_signing_keys).bool(self.denial_vetoes);
        c.digest()
    }
}
