//! The one error type of the crate.

/// Why an escrow operation failed.
///
/// Cryptographic failures are deliberately opaque ([`EscrowError::Crypto`]): which step of a decryption or a
/// signature check failed is not reported, so that no answer can serve as an oracle. Policy and workflow failures
/// are precise, because the people running the escrow need to know what is missing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EscrowError {
    /// A decryption, an authentication tag or a signature did not verify (detail withheld on purpose).
    #[error("cryptographic operation failed")]
    Crypto,
    /// The reconstructed data key does not match the deposit's key check value: at least one share was wrong.
    #[error("key check value mismatch: the shares do not reconstruct the escrowed key")]
    KeyCheckFailed,
    /// The system random number generator failed.
    #[error("random number generator failure")]
    Rng,
    /// An input was malformed or outside the limits.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which input.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A key (PEM, SEC1, SPKI) could not be parsed or is of an unsupported kind or size.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The named item does not exist.
    #[error("{kind} not found: {id}")]
    NotFound {
        /// Agent, deposit or request.
        kind: &'static str,
        /// Its identifier.
        id: String,
    },
    /// An item with this identifier already exists.
    #[error("{kind} already exists: {id}")]
    AlreadyExists {
        /// Agent, deposit or request.
        kind: &'static str,
        /// Its identifier.
        id: String,
    },
    /// The key is a signing private key and the policy does not allow escrowing signing keys
    /// (escrowing them would undermine non-repudiation).
    #[error("signing private keys are not escrowed unless the policy allows it explicitly")]
    SigningKeyRefused,
    /// The requester of a release tried to approve their own request.
    #[error("the requester of a release cannot approve it")]
    RequesterCannotApprove,
    /// This agent has already approved or denied this request.
    #[error("agent {0} has already answered this request")]
    DuplicateApproval(String),
    /// The agent is not one of the deposit's escrow agents, or has been retired.
    #[error("agent {0} is not an active escrow agent of this deposit")]
    NotAnAgent(String),
    /// The approvals do not satisfy the deposit's policy.
    #[error("release policy not satisfied: {0}")]
    PolicyNotSatisfied(String),
    /// The release request's waiting period has not elapsed.
    #[error("waiting period runs until {not_before} (unix seconds)")]
    WaitingPeriod {
        /// Earliest release time, unix seconds.
        not_before: u64,
    },
    /// The release request expired before it was released.
    #[error("release request expired")]
    RequestExpired,
    /// The release request is no longer pending (released, denied or expired).
    #[error("release request is {0}, not pending")]
    RequestClosed(&'static str),
    /// The audit log failed verification.
    #[error("audit log verification failed at record {seq}: {reason}")]
    AuditBroken {
        /// Sequence number of the first record found wrong.
        seq: u64,
        /// What was found.
        reason: String,
    },
    /// The persistent store failed.
    #[error("storage: {0}")]
    Storage(String),
    /// A stored or exchanged document could not be (de)serialised.
    #[error("encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    /// The key manager refused or failed (the escrowed object's export through kms-core).
    #[cfg(feature = "key-manager")]
    #[error("key manager: {0}")]
    KeyManager(#[from] kms_core::Error),
    /// File input/output failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl EscrowError {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

impl From<redb::Error> for EscrowError {
    fn from(e: redb::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

macro_rules! storage_from {
    ($($t:ty),*) => {$(
        impl From<$t> for EscrowError {
            fn from(e: $t) -> Self {
                Self::Storage(e.to_string())
            }
        }
    )*};
}
storage_from!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// The result type of this crate.
pub type Result<T, E = EscrowError> = core::result::Result<T, E>;
