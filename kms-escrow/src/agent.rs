//! Escrow agents: the people (or offices) who each hold one share and approve releases.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::encoding::token_newtype;
use crate::error::Result;
use crate::keys::{AgentEncryptionKey, ApprovalKey};

const MAX_NAME_LEN: usize = 128;

token_newtype!(
    /// An escrow agent's identifier (also the principal name they act under).
    AgentId,
    "agent id"
);
token_newtype!(
    /// A duty an agent holds (for example `security`, `legal`, `management`); policies require roles to be
    /// represented among the approvers of a release (segregation of duties).
    Role,
    "role"
);

/// Whether an agent may take part in new deposits and releases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentStatus {
    /// In service.
    Active,
    /// No longer in service: not chosen for new deposits, approvals no longer accepted.
    Retired,
}

/// An escrow agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Identifier, unique in the escrow.
    pub id: AgentId,
    /// Human-readable name.
    pub display_name: String,
    /// The duty the agent holds.
    pub role: Role,
    /// Key shares are encrypted to.
    pub encryption_key: AgentEncryptionKey,
    /// Key that verifies the agent's approvals and denials.
    pub approval_key: ApprovalKey,
    /// In service or retired.
    pub status: AgentStatus,
    /// When the agent was added (unix seconds).
    pub added_at: UnixTime,
}

impl Agent {
    /// A new, active agent.
    ///
    /// # Errors
    /// [`EscrowError::Invalid`](crate::EscrowError::Invalid) if the display name is empty, too long (128 bytes) or holds control characters.
    pub fn new(
        id: AgentId,
        display_name: impl Into<String>,
        role: Role,
        encryption_key: AgentEncryptionKey,
        approval_key: ApprovalKey,
    ) -> Result<Self> {
        let display_name = display_name.into();
        crate::encoding::check_text("display name", &display_name, MAX_NAME_LEN)?;
        Ok(Self {
            id,
            display_name,
            role,
            encryption_key,
            approval_key,
            status: AgentStatus::Active,
            added_at: 0,
        })
    }

    /// Whether the agent is in service.
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.status == AgentStatus::Active
    }
}
