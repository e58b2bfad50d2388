#![doc = include_str!("../README.md")]

pub mod agent;
pub mod audit;
pub mod clock;
mod crypto;
pub mod deposit;
pub mod encoding;
pub mod error;
pub mod files;
pub mod keys;
#[cfg(feature = "key-manager")]
pub mod managed;
pub mod policy;
pub mod release;
pub mod request;
pub mod service;
mod shamir;
pub mod split_key;

pub use agent::{Agent, AgentId, AgentStatus, Role};
pub use audit::{AuditEvent, AuditHead, AuditRecord, AuditReport};
pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use crypto::generate_p256_secret_key;
pub use deposit::{Deposit, DepositId, EscrowedKeyMetadata};
pub use encoding::Hash256;
pub use error::{EscrowError, Result};
pub use keys::{
    AgentDecryptionKey, AgentEncryptionKey, ApprovalKey, RecipientKey, RsaOaepDecryptor,
    ShareEnvelope,
};
#[cfg(feature = "key-manager")]
pub use managed::deposit_managed_object;
pub use policy::EscrowPolicy;
pub use release::{ReleasePackage, ReleasedKey, evaluate_approvals};
pub use request::{
    AgentCredentials, Approval, Denial, ReleaseRequest, ReleaseRequestPackage, RequestId,
    RequestStatus, approve, deny,
};
pub use service::{Escrow, EscrowConfig};
pub use shamir::{MAX_SECRET_LEN, MAX_SHARES};

// Re-exported so that users (the `kms` binary among them) name the same key types without a version to match.
pub use p256;
pub use zeroize;
