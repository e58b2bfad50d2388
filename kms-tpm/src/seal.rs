//! Sealing data to the TPM (TPM2_Create of a sealed data object; TPM2_Unseal), optionally to PCR values.
//!
//! A sealed blob opens only on the TPM whose storage key made it. With a [`PcrPolicy`] the object's authPolicy is
//! TPM2_PolicyPCR over the chosen SHA-256 PCRs as they were when sealing, and userWithAuth is clear, so it opens
//! only while those PCRs still hold the same values.

use tss_esapi::Context;
use tss_esapi::constants::SessionType;
use tss_esapi::constants::response_code::Tss2ResponseCodeKind;
use tss_esapi::handles::SessionHandle;
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::interface_types::session_handles::{AuthSession, PolicySession};
use tss_esapi::structures::{
    Digest, PcrSelectionList, PcrSelectionListBuilder, PcrSlot, SensitiveData, SymmetricDefinition,
};
use zeroize::Zeroizing;

use crate::blob::{KeyBlob, Kind};
use crate::error::TpmError;
use crate::templates;
use crate::tpm::Tpm;

/// Longest secret that can be sealed (TPM 2.0 Part 2: MAX_SYM_DATA).
pub const MAX_SEALED_LEN: usize = 128;
/// Encoding version of [`SealedData::to_bytes`].
const SEALED_VERSION: u8 = 1;
/// PCRs of a PC client TPM: 0 to 23.
const PCR_COUNT: u8 = 24;

/// A set of SHA-256 PCRs whose current values a secret is sealed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcrPolicy {
    pcrs: Vec<u8>,
}

impl PcrPolicy {
    /// The SHA-256 bank PCRs `pcrs` (0 to 23), sorted and without repeats.
    ///
    /// # Errors
    /// [`TpmError::InvalidInput`] for an empty set or an index above 23.
    pub fn sha256(pcrs: &[u8]) -> Result<Self, TpmError> {
        let mut pcrs = pcrs.to_vec();
        pcrs.sort_unstable();
        pcrs.dedup();
        if pcrs.is_empty() || pcrs.iter().any(|&p| p >= PCR_COUNT) {
            return Err(TpmError::InvalidInput(format!(
                "PCR indices are 0 to {}, at least one",
                PCR_COUNT - 1
            )));
        }
        Ok(Self { pcrs })
    }

    /// The PCR indices.
    #[must_use]
    pub fn pcrs(&self) -> &[u8] {
        &self.pcrs
    }

    pub(crate) fn selection(&self) -> Result<PcrSelectionList, TpmError> {
        pcr_selection(&self.pcrs)
    }
}

/// The SHA-256 selection of `pcrs`.
pub(crate) fn pcr_selection(pcrs: &[u8]) -> Result<PcrSelectionList, TpmError> {
    let slots = pcrs
        .iter()
        .map(|&p| {
            PcrSlot::try_from(1u32 << p).map_err(|_| TpmError::InvalidInput(format!("PCR {p}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    PcrSelectionListBuilder::new()
        .with_selection(HashingAlgorithm::Sha256, &slots)
        .build()
        .map_err(TpmError::tss("PCR selection"))
}

/// A secret sealed to a TPM: the sealed object's blob, and the PCRs its policy covers.
#[derive(Clone)]
pub struct SealedData {
    blob: KeyBlob,
    policy: Option<PcrPolicy>,
}

impl std::fmt::Debug for SealedData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedData")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl SealedData {
    /// The PCR policy, if any.
    #[must_use]
    pub fn policy(&self) -> Option<&PcrPolicy> {
        self.policy.as_ref()
    }

    /// Storage encoding: `version u8 || PCR count u8 || PCR indices || blob`.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let pcrs = self
            .policy
            .as_ref()
            .map(PcrPolicy::pcrs)
            .unwrap_or_default();
        let blob = self.blob.encode();
        let mut out = Zeroizing::new(Vec::with_capacity(2 + pcrs.len() + blob.len()));
        out.push(SEALED_VERSION);
        out.push(pcrs.len() as u8);
        out.extend_from_slice(pcrs);
        out.extend_from_slice(&blob);
        out
    }

    /// Reads [`SealedData::to_bytes`].
    ///
    /// # Errors
    /// [`TpmError::MalformedBlob`] when it does not decode.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TpmError> {
        let [version, n, rest @ ..] = bytes else {
            return Err(TpmError::MalformedBlob);
        };
        let n = usize::from(*n);
        if *version != SEALED_VERSION || rest.len() < n || n > usize::from(PCR_COUNT) {
            return Err(TpmError::MalformedBlob);
        }
        let policy = if n == 0 {
            None
        } else {
            Some(PcrPolicy::sha256(&rest[..n]).map_err(|_| TpmError::MalformedBlob)?)
        };
        let blob = KeyBlob::decode(&rest[n..])?;
        if blob.kind != Kind::Sealed {
            return Err(TpmError::MalformedBlob);
        }
        Ok(Self { blob, policy })
    }
}

/// Starts a policy (or trial) session with TPM2_PolicyPCR applied, runs `f` with it, and flushes it.
fn with_pcr_session<T>(
    ctx: &mut Context,
    trial: bool,
    policy: &PcrPolicy,
    f: impl FnOnce(&mut Context, AuthSession) -> Result<T, TpmError>,
) -> Result<T, TpmError> {
    let session = ctx
        .execute_without_session(|c| {
            c.start_auth_session(
                None,
                None,
                None,
                if trial {
                    SessionType::Trial
                } else {
                    SessionType::Policy
                },
                SymmetricDefinition::AES_128_CFB,
                HashingAlgorithm::Sha256,
            )
        })
        .map_err(TpmError::tss("StartAuthSession"))?
        .ok_or(TpmError::Tss {
            command: "StartAuthSession",
            source: tss_esapi::Error::WrapperError(tss_esapi::WrapperErrorKind::WrongValueFromTpm),
        })?;
    let result = (|| {
        let policy_session =
            PolicySession::try_from(session).map_err(TpmError::tss("PolicySession"))?;
        let selection = policy.selection()?;
        ctx.execute_without_session(|c| c.policy_pcr(policy_session, Digest::default(), selection))
            .map_err(TpmError::tss("PolicyPCR"))?;
        f(ctx, session)
    })();
    if let Err(e) = ctx.flush_context(SessionHandle::from(session).into()) {
        tracing::warn!(error = %e, "flushing a policy session failed");
    }
    result
}

impl Tpm {
    /// Seals `secret` (1 to 128 bytes) to this TPM, and to the current values of `policy`'s PCRs when given.
    ///
    /// # Errors
    /// [`TpmError::InvalidInput`] for an empty or too long secret; [`TpmError::Tss`].
    pub fn seal(&self, secret: &[u8], policy: Option<&PcrPolicy>) -> Result<SealedData, TpmError> {
        if secret.is_empty() || secret.len() > MAX_SEALED_LEN {
            return Err(TpmError::InvalidInput(format!(
                "sealed secrets are 1 to {MAX_SEALED_LEN} bytes, got {}",
                secret.len()
            )));
        }
        let sensitive = SensitiveData::try_from(secret.to_vec())
            .map_err(|_| TpmError::InvalidInput("secret too long".into()))?;
        self.with(|inner| {
            let auth_policy = match policy {
                Some(p) => Some(with_pcr_session(
                    &mut inner.ctx,
                    true,
                    p,
                    |ctx, session| {
                        let s = PolicySession::try_from(session)
                            .map_err(TpmError::tss("PolicySession"))?;
                        ctx.execute_without_session(|c| c.policy_get_digest(s))
                            .map_err(TpmError::tss("PolicyGetDigest"))
                    },
                )?),
                None => None,
            };
            let template =
                templates::sealed_data(auth_policy).map_err(TpmError::tss("template"))?;
            let created = inner.with_object_slot("Create", |ctx, srk| {
                ctx.execute_with_session(Some(AuthSession::Password), |c| {
                    c.create(
                        srk,
                        template.clone(),
                        None,
                        Some(sensitive.clone()),
                        None,
                        None,
                    )
                })
            })?;
            let blob = KeyBlob::new(
                Kind::Sealed,
                &inner.srk_name,
                created.out_public,
                Some(&created.out_private),
            )?;
            Ok(SealedData {
                blob,
                policy: policy.cloned(),
            })
        })
    }

    /// Unseals a secret sealed by [`Tpm::seal`] on this TPM.
    ///
    /// # Errors
    /// [`TpmError::ForeignBlob`] when another TPM (or another storage key) sealed it; [`TpmError::Crypto`] when
    /// the PCRs no longer hold the sealed values; [`TpmError::Tss`].
    pub fn unseal(&self, sealed: &SealedData) -> Result<Zeroizing<Vec<u8>>, TpmError> {
        self.with(|inner| {
            inner.make_room(1);
            let handle = inner.load(&sealed.blob)?;
            let result = match &sealed.policy {
                None => inner
                    .ctx
                    .execute_with_session(Some(AuthSession::Password), |c| c.unseal(handle.into()))
                    .map_err(TpmError::tss("Unseal")),
                Some(p) => with_pcr_session(&mut inner.ctx, false, p, |ctx, session| {
                    ctx.execute_with_session(Some(session), |c| c.unseal(handle.into()))
                        .map_err(|e| match e {
                            tss_esapi::Error::Tss2Error(rc)
                                if rc.kind() == Some(Tss2ResponseCodeKind::PolicyFail) =>
                            {
                                TpmError::Crypto
                            }
                            e => TpmError::tss("Unseal")(e),
                        })
                }),
            };
            inner.flush(handle.into());
            result.map(|d| Zeroizing::new(d.value().to_vec()))
        })
    }
}
