//! Release: approvals checked against the policy, and the package only the recipient can open.
//!
//! The escrow service never reconstructs the key. Agents re-encrypt their shares to the recipient, the service
//! checks the signed approvals against the policy and hands over the package; the recipient combines the shares,
//! checks the key check value and decrypts the material. A compromised escrow server therefore holds nothing
//! it could release on its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::agent::{Agent, AgentId};
use crate::clock::UnixTime;
use crate::crypto;
use crate::deposit::{Deposit, DepositId, EscrowedKeyMetadata, material_aad};
use crate::encoding::{Hash256, b64};
use crate::error::{EscrowError, Result};
use crate::policy::EscrowPolicy;
use crate::request::{Approval, CLOCK_SKEW_SECS, RELEASE_INFO, ReleaseRequest, release_share_aad};

/// Selects the approvals that count under `policy` for `request` at `now`, or says why the policy is not met.
///
/// An approval counts when its signature verifies under the agent's approval key, it is for this exact request
/// (digest), its agent is active, holds the share index claimed, is not the requester, has not counted already,
/// and it was given after the request and less than the policy's approval validity ago.
///
/// # Errors
/// [`EscrowError::WaitingPeriod`], [`EscrowError::RequestExpired`], or [`EscrowError::PolicyNotSatisfied`] with
/// the count, missing roles and why each uncounted approval was not counted.
pub fn evaluate_approvals<'a>(
    policy: &EscrowPolicy,
    request: &ReleaseRequest,
    approvals: &'a [Approval],
    agent: impl Fn(&AgentId) -> Option<Agent>,
    now: UnixTime,
) -> Result<Vec<&'a Approval>> {
    if now < request.not_before {
        return Err(EscrowError::WaitingPeriod {
            not_before: request.not_before,
        });
    }
    if now >= request.expires_at {
        return Err(EscrowError::RequestExpired);
    }
    let digest = request.digest()?;
    let mut counted: BTreeMap<&AgentId, (&'a Approval, Agent)> = BTreeMap::new();
    let mut not_counted = Vec::new();
    for a in approvals {
        let why = (|| {
            if a.request_id != request.id || a.request_digest != digest {
                return Some("for another request");
            }
            let Some(ag) = agent(&a.agent_id) else {
                return Some("unknown agent");
            };
            if !ag.is_active() {
                return Some("agent retired");
            }
            if policy.share_index(&a.agent_id) != Some(a.share_index) {
                return Some("not an agent of this deposit");
            }
            if request.is_requester(&a.agent_id) {
                return Some("requester cannot approve");
            }
            if ag
                .approval_key
                .verify(&a.signed_digest().0, &a.signature)
                .is_err()
            {
                return Some("signature does not verify");
            }
            if a.approved_at.saturating_add(CLOCK_SKEW_SECS) < request.created_at
                || a.approved_at > now.saturating_add(CLOCK_SKEW_SECS)
            {
                return Some("approval time outside the request's life");
            }
            if a.approved_at.saturating_add(policy.approval_validity_secs) <= now {
                return Some("approval expired");
            }
            if counted.contains_key(&a.agent_id) {
                return Some("agent already counted");
            }
            counted.insert(&a.agent_id, (a, ag));
            None
        })();
        if let Some(why) = why {
            not_counted.push(format!("{} ({why})", a.agent_id));
        }
    }
    let mut problems = Vec::new();
    if counted.len() < usize::from(policy.threshold) {
        problems.push(format!(
            "{} valid approvals of {} needed",
            counted.len(),
            policy.threshold
        ));
    }
    for (role, min) in &policy.required_roles {
        let have = counted.values().filter(|(_, ag)| &ag.role == role).count();
        if have < usize::from(*min) {
            problems.push(format!("role {role} needs {min} approvers, has {have}"));
        }
    }
    if !problems.is_empty() {
        if !not_counted.is_empty() {
            problems.push(format!("not counted: {}", not_counted.join(", ")));
        }
        return Err(EscrowError::PolicyNotSatisfied(problems.join("; ")));
    }
    Ok(counted.into_values().map(|(a, _)| a).collect())
}

/// What the recipient receives: the deposit's ciphertext and the approvals carrying shares sealed to the
/// recipient. Only the recipient's private key opens it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePackage {
    /// The request that was granted.
    pub request: ReleaseRequest,
    /// The deposit.
    pub deposit_id: DepositId,
    /// What the key is.
    pub metadata: EscrowedKeyMetadata,
    /// The deposit's policy hash.
    pub policy_hash: Hash256,
    /// AES-256-GCM nonce of the material.
    #[serde(with = "b64")]
    pub material_nonce: Vec<u8>,
    /// The material under the data key.
    #[serde(with = "b64")]
    pub material_ciphertext: Vec<u8>,
    /// Key check value of the data key.
    pub key_check_value: Hash256,
    /// The approvals that counted.
    pub approvals: Vec<Approval>,
    /// When the escrow released it.
    pub released_at: UnixTime,
}

impl ReleasePackage {
    pub(crate) fn new(
        deposit: &Deposit,
        request: &ReleaseRequest,
        approvals: Vec<Approval>,
        now: UnixTime,
    ) -> Self {
        Self {
            request: request.clone(),
            deposit_id: deposit.id.clone(),
            metadata: deposit.metadata.clone(),
            policy_hash: deposit.policy_hash,
            material_nonce: deposit.material_nonce.clone(),
            material_ciphertext: deposit.material_ciphertext.clone(),
            key_check_value: deposit.key_check_value,
            approvals,
            released_at: now,
        }
    }

    /// Opens the package with the recipient's private key: opens each share, combines them, checks the key check
    /// value, decrypts the material.
    ///
    /// # Errors
    /// [`EscrowError::Crypto`] if the key is not the recipient's or a share or the material does not open;
    /// [`EscrowError::KeyCheckFailed`] if the shares open but do not reconstruct the data key (a wrong share).
    pub fn open(&self, recipient: &p256::SecretKey) -> Result<ReleasedKey> {
        if recipient.public_key() != self.request.recipient.0
            || self.request.deposit_id != self.deposit_id
        {
            return Err(EscrowError::Crypto);
        }
        let digest = self.request.digest()?;
        let mut shares: BTreeMap<u8, Zeroizing<Vec<u8>>> = BTreeMap::new();
        for a in &self.approvals {
            if a.request_digest != digest || a.request_id != self.request.id {
                return Err(EscrowError::Crypto);
            }
            let crate::keys::ShareEnvelope::Hpke { enc, ciphertext } = &a.released_share else {
                return Err(EscrowError::Crypto);
            };
            let aad = release_share_aad(&digest, &self.deposit_id, a.share_index, &a.agent_id);
            let share = crypto::hpke_open(recipient, RELEASE_INFO, enc, ciphertext, &aad)?;
            if share.first() != Some(&a.share_index) {
                return Err(EscrowError::Crypto);
            }
            shares.insert(a.share_index, share);
        }
        let shares: Zeroizing<Vec<Vec<u8>>> = Zeroizing::new(
            shares
                .into_values()
                .map(|mut s| std::mem::take(&mut *s))
                .collect(),
        );
        if shares.len() < 2 {
            return Err(EscrowError::PolicyNotSatisfied(
                "fewer than two shares in the package".into(),
            ));
        }
        let data_key = crate::shamir::combine(&shares)?;
        let data_key: Zeroizing<[u8; crypto::DATA_KEY_LEN]> = Zeroizing::new(
            data_key
                .as_slice()
                .try_into()
                .map_err(|_| EscrowError::KeyCheckFailed)?,
        );
        let kcv = crypto::key_check_value(data_key.as_ref(), self.deposit_id.as_str())?;
        if !crypto::ct_eq(&kcv, &self.key_check_value.0) {
            return Err(EscrowError::KeyCheckFailed);
        }
        let material = crypto::aes_gcm_open(
            &data_key,
            &self.material_nonce,
            &self.material_ciphertext,
            &material_aad(&self.deposit_id, &self.metadata, &self.policy_hash),
        )?;
        Ok(ReleasedKey {
            metadata: self.metadata.clone(),
            material,
        })
    }
}

/// A released key, in the recipient's hands.
pub struct ReleasedKey {
    /// What the key is.
    pub metadata: EscrowedKeyMetadata,
    material: Zeroizing<Vec<u8>>,
}

impl ReleasedKey {
    /// The key material.
    #[must_use]
    pub fn material(&self) -> &Zeroizing<Vec<u8>> {
        &self.material
    }

    /// Takes the key material.
    #[must_use]
    pub fn into_material(self) -> Zeroizing<Vec<u8>> {
        self.material
    }
}

impl core::fmt::Debug for ReleasedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReleasedKey")
            .field("metadata", &self.metadata)
            .field("material", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::agent::Role;
    use crate::deposit::DepositInput;
    use crate::keys::{
        AgentDecryptionKey, AgentEncryptionKey, ApprovalKey, RecipientKey, ShareEnvelope,
    };
    use crate::request::{AgentCredentials, approve};

    /// A malicious or faulty agent sends a share that decrypts fine but holds wrong bytes: the reconstruction
    /// is caught by the key check value and reported as an error, never returned as a key.
    #[test]
    fn a_corrupted_share_is_caught_by_the_key_check_value() {
        let keys: Vec<(AgentId, AgentDecryptionKey, p256::ecdsa::SigningKey, Agent)> =
            ["a", "b", "c"]
                .iter()
                .map(|id| {
                    let enc = crypto::generate_p256_secret_key().unwrap();
                    let sig =
                        p256::ecdsa::SigningKey::from(&crypto::generate_p256_secret_key().unwrap());
                    let agent = Agent::new(
                        AgentId::new(*id).unwrap(),
                        *id,
                        Role::new("security").unwrap(),
                        AgentEncryptionKey::HpkeP256(enc.public_key()),
                        ApprovalKey(*sig.verifying_key()),
                    )
                    .unwrap();
                    (
                        agent.id.clone(),
                        AgentDecryptionKey::HpkeP256(enc),
                        sig,
                        agent,
                    )
                })
                .collect();
        let policy = EscrowPolicy::new(2, keys.iter().map(|k| k.0.clone()).collect());
        let agents: Vec<Agent> = keys.iter().map(|k| k.3.clone()).collect();
        let material = Zeroizing::new(vec![0x5au8; 32]);
        let deposit = Deposit::seal(
            DepositInput {
                id: DepositId::new("dep-1").unwrap(),
                depositor: "alice",
                created_at: 1000,
                metadata: EscrowedKeyMetadata {
                    object_id: "o".into(),
                    object_type: "SymmetricKey".into(),
                    algorithm: "AES-256".into(),
                    is_signing_key: false,
                },
                material: &material,
                policy: policy.clone(),
            },
            &agents,
        )
        .unwrap();
        let recipient = crypto::generate_p256_secret_key().unwrap();
        let request = ReleaseRequest::new(
            &deposit,
            "bob",
            RecipientKey(recipient.public_key()),
            "audit",
            "Recovery drill for the auditors.",
            1000,
        )
        .unwrap();
        let package = crate::request::ReleaseRequestPackage {
            request: request.clone(),
            metadata: deposit.metadata.clone(),
            policy,
            shares: deposit.shares.clone(),
        };
        let approvals: Vec<Approval> = keys[..2]
            .iter()
            .map(|(id, dec, sig, _)| {
                let creds = AgentCredentials {
                    agent_id: id.clone(),
                    decryption_key: dec,
                    signer: sig,
                };
                approve(&package, &creds, 1001).unwrap()
            })
            .collect();
        let good = ReleasePackage::new(&deposit, &request, approvals.clone(), 1002);
        assert_eq!(good.open(&recipient).unwrap().material(), &material);

        // Agent "b" decrypts its share, flips one ordinate bit, and seals it to the recipient properly.
        let digest = request.digest().unwrap();
        let (id, dec, _, _) = &keys[1];
        let aad = crate::deposit::share_aad(&deposit.id, 2, &deposit.policy_hash, id);
        let mut share = dec
            .open(
                crate::deposit::SHARE_INFO,
                &deposit.shares[1].envelope,
                &aad,
            )
            .unwrap();
        share[5] ^= 0x01;
        let release_aad = release_share_aad(&digest, &deposit.id, 2, id);
        let (enc, ciphertext) =
            crypto::hpke_seal(&recipient.public_key(), RELEASE_INFO, &share, &release_aad).unwrap();
        let mut bad = approvals;
        bad[1].released_share = ShareEnvelope::Hpke { enc, ciphertext };
        let corrupted = ReleasePackage::new(&deposit, &request, bad, 1002);
        assert!(matches!(
            corrupted.open(&recipient),
            Err(EscrowError::KeyCheckFailed)
        ));

        // A share whose ciphertext was altered in transit fails authentication instead.
        let mut tampered = good.clone();
        if let ShareEnvelope::Hpke { ciphertext, .. } = &mut tampered.approvals[0].released_share {
            ciphertext[0] ^= 1;
        }
        assert!(matches!(
            tampered.open(&recipient),
            Err(EscrowError::Crypto)
        ));
    }
}
