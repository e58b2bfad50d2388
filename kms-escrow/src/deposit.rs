//! Deposits: key material encrypted under a fresh data key, the data key split among the agents.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::agent::{Agent, AgentId};
use crate::clock::UnixTime;
use crate::crypto;
use crate::encoding::{Canonical, Hash256, b64, check_text, token_newtype};
use crate::error::{EscrowError, Result};
use crate::keys::ShareEnvelope;
use crate::policy::EscrowPolicy;
use crate::shamir;

/// Largest key material accepted for escrow.
pub const MAX_MATERIAL_LEN: usize = 64 * 1024;
/// Longest principal name (depositor, requester).
pub const MAX_PRINCIPAL_LEN: usize = 256;

/// HPKE `info` for shares sealed to agents.
pub(crate) const SHARE_INFO: &[u8] = b"kms-escrow/v1/share";

token_newtype!(
    /// A deposit's identifier (a UUID when the escrow generates it).
    DepositId,
    "deposit id"
);

impl DepositId {
    /// A fresh random identifier.
    #[must_use]
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

/// What is escrowed, described without its material (the managed object's id and kind).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowedKeyMetadata {
    /// The managed object's identifier in the key manager.
    pub object_id: String,
    /// KMIP Object Type (for example `SymmetricKey`, `PrivateKey`).
    pub object_type: String,
    /// Algorithm and length (for example `AES-256`, `RSA-3072`).
    pub algorithm: String,
    /// Whether the key is a signing private key (refused unless the policy allows it).
    pub is_signing_key: bool,
}

impl EscrowedKeyMetadata {
    fn validate(&self) -> Result<()> {
        check_text("object id", &self.object_id, 256)?;
        check_text("object type", &self.object_type, 64)?;
        check_text("algorithm", &self.algorithm, 64)
    }

    fn encode(&self, c: &mut Canonical) {
        c.str(&self.object_id)
            .str(&self.object_type)
            .str(&self.algorithm)
            .bool(self.is_signing_key);
    }
}

/// One agent's share, encrypted to that agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedShare {
    /// 1-based share index (the Shamir abscissa).
    pub index: u8,
    /// The agent it is encrypted to.
    pub agent_id: AgentId,
    /// The encryption.
    pub envelope: ShareEnvelope,
}

/// An escrowed key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deposit {
    /// Identifier.
    pub id: DepositId,
    /// Who deposited it.
    pub depositor: String,
    /// When (unix seconds).
    pub created_at: UnixTime,
    /// What it is.
    pub metadata: EscrowedKeyMetadata,
    /// The release policy.
    pub policy: EscrowPolicy,
    /// [`EscrowPolicy::hash`] at deposit time.
    pub policy_hash: Hash256,
    /// AES-256-GCM nonce of the material.
    #[serde(with = "b64")]
    pub material_nonce: Vec<u8>,
    /// The material under the data key (AES-256-GCM, associated data binding id, metadata and policy).
    #[serde(with = "b64")]
    pub material_ciphertext: Vec<u8>,
    /// HMAC-SHA256 of the deposit id under the data key: tells a wrong reconstruction from the right one.
    pub key_check_value: Hash256,
    /// The data key's shares, one per agent, in policy order.
    pub shares: Vec<EncryptedShare>,
}

/// Associated data of the material encryption.
pub(crate) fn material_aad(
    id: &DepositId,
    metadata: &EscrowedKeyMetadata,
    policy_hash: &Hash256,
) -> Vec<u8> {
    let mut c = Canonical::new("kms-escrow/v1/material");
    c.str(id.as_str());
    metadata.encode(&mut c);
    c.hash(policy_hash);
    c.into_bytes()
}

/// Associated data of a share sealed to an agent: deposit, index, policy and agent, so that a share copied
/// into another deposit, moved to another index or read under another policy does not open.
pub(crate) fn share_aad(
    id: &DepositId,
    index: u8,
    policy_hash: &Hash256,
    agent: &AgentId,
) -> Vec<u8> {
    let mut c = Canonical::new("kms-escrow/v1/share");
    c.str(id.as_str())
        .u8(index)
        .hash(policy_hash)
        .str(agent.as_str());
    c.into_bytes()
}

/// Everything needed to seal a deposit.
pub struct DepositInput<'a> {
    /// Identifier to give the deposit.
    pub id: DepositId,
    /// Who deposits.
    pub depositor: &'a str,
    /// When.
    pub created_at: UnixTime,
    /// What is escrowed.
    pub metadata: EscrowedKeyMetadata,
    /// The key material.
    pub material: &'a Zeroizing<Vec<u8>>,
    /// The release policy.
    pub policy: EscrowPolicy,
}

impl Deposit {
    /// Seals key material: encrypts it under a fresh AES-256 data key, splits the data key m-of-n and encrypts
    /// each share to its agent. `agents` are the policy's agents in policy order (see
    /// [`EscrowPolicy::validate_with`]).
    ///
    /// # Errors
    /// [`EscrowError::SigningKeyRefused`] for a signing key under a policy that does not allow it;
    /// [`EscrowError::Invalid`] for bad metadata, material or policy; [`EscrowError::Crypto`] or
    /// [`EscrowError::Rng`] if encryption fails.
    pub fn seal(input: DepositInput<'_>, agents: &[Agent]) -> Result<Self> {
        let DepositInput {
            id,
            depositor,
            created_at,
            metadata,
            material,
            policy,
        } = input;
        check_text("depositor", depositor, MAX_PRINCIPAL_LEN)?;
        metadata.validate()?;
        policy.validate()?;
        if metadata.is_signing_key && !policy.allow_signing_keys {
            return Err(EscrowError::SigningKeyRefused);
        }
        if material.is_empty() || material.len() > MAX_MATERIAL_LEN {
            return Err(EscrowError::invalid(
                "key material",
                format!("length must be 1..={MAX_MATERIAL_LEN} bytes"),
            ));
        }
        if agents.len() != policy.agents.len()
            || agents.iter().zip(&policy.agents).any(|(a, id)| &a.id != id)
        {
            return Err(EscrowError::invalid(
                "agents",
                "must be the policy's agents in policy order",
            ));
        }
        let n = u8::try_from(agents.len())
            .map_err(|_| EscrowError::invalid("policy", "too many agents"))?;
        let policy_hash = policy.hash();

        let data_key = crypto::random_key()?;
        let (nonce, material_ciphertext) = crypto::aes_gcm_seal(
            &data_key,
            material,
            &material_aad(&id, &metadata, &policy_hash),
        )?;
        let key_check_value = Hash256(crypto::key_check_value(data_key.as_ref(), id.as_str())?);

        let shares = shamir::split(policy.threshold, n, data_key.as_ref())?;
        let mut sealed = Vec::with_capacity(shares.len());
        for (i, (share, agent)) in shares.iter().zip(agents).enumerate() {
            let index = u8::try_from(i + 1)
                .map_err(|_| EscrowError::invalid("policy", "too many agents"))?;
            if share.first() != Some(&index) {
                return Err(EscrowError::Crypto);
            }
            let aad = share_aad(&id, index, &policy_hash, &agent.id);
            sealed.push(EncryptedShare {
                index,
                agent_id: agent.id.clone(),
                envelope: agent.encryption_key.seal(SHARE_INFO, share, &aad)?,
            });
        }
        Ok(Self {
            id,
            depositor: depositor.to_owned(),
            created_at,
            metadata,
            policy,
            policy_hash,
            material_nonce: nonce.to_vec(),
            material_ciphertext,
            key_check_value,
            shares: sealed,
        })
    }

    /// The share encrypted to `agent`.
    #[must_use]
    pub fn share_for(&self, agent: &AgentId) -> Option<&EncryptedShare> {
        self.shares.iter().find(|s| &s.agent_id == agent)
    }

    /// Checks the deposit's internal consistency (after loading it from a file or a store).
    ///
    /// # Errors
    /// [`EscrowError::Invalid`] if the policy hash or the shares do not match the policy.
    pub fn check_consistency(&self) -> Result<()> {
        self.policy.validate()?;
        if self.policy.hash() != self.policy_hash {
            return Err(EscrowError::invalid(
                "deposit",
                "policy hash does not match the policy",
            ));
        }
        if self.shares.len() != self.policy.agents.len()
            || self
                .shares
                .iter()
                .enumerate()
                .any(|(i, s)| usize::from(s.index) != i + 1 || s.agent_id != self.policy.agents[i])
        {
            return Err(EscrowError::invalid(
                "deposit",
                "shares do not follow the policy's agents",
            ));
        }
        Ok(())
    }
}
