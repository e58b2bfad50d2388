//! The device side of attestation: EK, AK, TPM2_ActivateCredential, TPM2_Quote.

use tss_esapi::abstraction::AsymmetricAlgorithmSelection;
use tss_esapi::abstraction::ek;
use tss_esapi::constants::SessionType;
use tss_esapi::handles::{AuthHandle, KeyHandle, PcrHandle, SessionHandle};
use tss_esapi::interface_types::algorithm::{AsymmetricAlgorithm, HashingAlgorithm};
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::interface_types::session_handles::{AuthSession, PolicySession};
use tss_esapi::structures::{
    Data, Digest, DigestValues, EncryptedSecret, HashScheme, IdObject, SignatureScheme,
    SymmetricDefinition,
};
use tss_esapi::traits::Marshall;
use zeroize::Zeroizing;

use super::{AkPublic, CredentialChallenge, EkPublic, PcrValue, Quote};
use crate::blob::{KeyBlob, Kind};
use crate::error::TpmError;
use crate::seal::pcr_selection;
use crate::templates;
use crate::tpm::{Inner, Tpm};

/// Longest nonce a quote carries (TPM2B_DATA holds a digest's worth; SHA-512 here).
pub const MAX_NONCE: usize = 64;

/// The endorsement key as the device reports it.
#[derive(Clone, Debug)]
pub struct Endorsement {
    /// The EK public area.
    pub public: EkPublic,
    /// The EK certificate from NV index 0x01c00002, when the TPM was manufactured with one.
    pub certificate: Option<Vec<u8>>,
}

/// An attestation key held by this TPM, as a blob to keep beside the device's other state.
#[derive(Clone)]
pub struct AttestationKey {
    blob: KeyBlob,
}

impl std::fmt::Debug for AttestationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttestationKey").finish_non_exhaustive()
    }
}

impl AttestationKey {
    /// The public area to send to the verifier.
    ///
    /// # Errors
    /// Never for a key made by [`Tpm::create_attestation_key`].
    pub fn public(&self) -> Result<AkPublic, TpmError> {
        AkPublic::from_public_area(&self.blob.public_bytes)
    }

    /// The storage encoding (a TPM-wrapped blob: useless without this TPM).
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        self.blob.encode()
    }

    /// Reads [`AttestationKey::to_bytes`].
    ///
    /// # Errors
    /// [`TpmError::MalformedBlob`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TpmError> {
        let blob = KeyBlob::decode(bytes)?;
        if blob.kind != Kind::AttestationKey {
            return Err(TpmError::MalformedBlob);
        }
        Ok(Self { blob })
    }
}

/// Creates the EK from the default template (RSA-2048, TCG EK Credential Profile template L-1) and returns its
/// handle; the caller flushes it.
fn create_ek(inner: &mut Inner) -> Result<(KeyHandle, tss_esapi::structures::Public), TpmError> {
    let template = ek::create_ek_public_from_default_template(AsymmetricAlgorithm::Rsa, None)
        .map_err(TpmError::tss("EK template"))?;
    let created = inner.with_object_slot("CreatePrimary(EK)", |ctx, _| {
        ctx.execute_with_session(Some(AuthSession::Password), |c| {
            c.create_primary(
                Hierarchy::Endorsement,
                template.clone(),
                None,
                None,
                None,
                None,
            )
        })
    })?;
    Ok((created.key_handle, created.out_public))
}

impl Tpm {
    /// The endorsement key: its public area (re-created from the default template, deterministic per TPM) and
    /// its certificate when the TPM has one.
    ///
    /// # Errors
    /// [`TpmError::Tss`].
    pub fn endorsement_key(&self) -> Result<Endorsement, TpmError> {
        self.with(|inner| {
            let public = match &inner.ek_public {
                Some(p) => p.clone(),
                None => {
                    inner.make_room(1);
                    let (handle, public) = create_ek(inner)?;
                    inner.flush(handle.into());
                    inner.ek_public = Some(public.clone());
                    public
                }
            };
            // No certificate is normal (swtpm without manufacturing); any failure reads as "none".
            let certificate = ek::retrieve_ek_pubcert(
                &mut inner.ctx,
                AsymmetricAlgorithmSelection::Rsa(RsaKeyBits::Rsa2048),
            )
            .ok();
            Ok(Endorsement {
                public: EkPublic::from_public(public)?,
                certificate,
            })
        })
    }

    /// Creates an attestation key under the storage key: restricted ECDSA P-256 / SHA-256, fixedTPM.
    ///
    /// # Errors
    /// [`TpmError::Tss`].
    pub fn create_attestation_key(&self) -> Result<AttestationKey, TpmError> {
        let template = templates::attestation_key().map_err(TpmError::tss("template"))?;
        self.with(|inner| {
            let created = inner.with_object_slot("Create(AK)", |ctx, srk| {
                ctx.execute_with_session(Some(AuthSession::Password), |c| {
                    c.create(srk, template.clone(), None, None, None, None)
                })
            })?;
            Ok(AttestationKey {
                blob: KeyBlob::new(
                    Kind::AttestationKey,
                    &inner.srk_name,
                    created.out_public,
                    Some(&created.out_private),
                )?,
            })
        })
    }

    /// Answers a credential challenge (TPM2_ActivateCredential): recovers the secret the verifier bound to `ak`'s
    /// name under this TPM's EK. Fails for a challenge made for another TPM's EK or another AK.
    ///
    /// # Errors
    /// [`TpmError::InvalidInput`] for an oversized challenge; [`TpmError::ForeignBlob`] when `ak` is not from this
    /// TPM; [`TpmError::Tss`] when the TPM rejects the challenge (integrity check failed: not for this EK/AK).
    pub fn activate_credential(
        &self,
        ak: &AttestationKey,
        challenge: &CredentialChallenge,
    ) -> Result<Zeroizing<Vec<u8>>, TpmError> {
        let id_object = IdObject::try_from(challenge.id_object.clone())
            .map_err(|_| TpmError::InvalidInput("credential blob too long".into()))?;
        let secret = EncryptedSecret::try_from(challenge.encrypted_secret.clone())
            .map_err(|_| TpmError::InvalidInput("encrypted secret too long".into()))?;
        self.with(|inner| {
            inner.make_room(2);
            let ak_handle = inner.load(&ak.blob)?;
            let result = (|| {
                let (ek, _) = create_ek(inner)?;
                let r = activate(inner, ak_handle, ek, id_object, secret);
                inner.flush(ek.into());
                r
            })();
            inner.flush(ak_handle.into());
            result
        })
    }

    /// Quotes the SHA-256 PCRs `pcrs` with `ak` over `nonce`, and reads their values for the verifier.
    ///
    /// # Errors
    /// [`TpmError::InvalidInput`] for a nonce over 64 bytes or bad PCR indices; [`TpmError::ForeignBlob`];
    /// [`TpmError::Tss`].
    pub fn quote(&self, ak: &AttestationKey, nonce: &[u8], pcrs: &[u8]) -> Result<Quote, TpmError> {
        if nonce.len() > MAX_NONCE {
            return Err(TpmError::InvalidInput(format!(
                "nonces are at most {MAX_NONCE} bytes"
            )));
        }
        let policy = crate::seal::PcrPolicy::sha256(pcrs)?;
        let selection = policy.selection()?;
        let data = Data::try_from(nonce.to_vec())
            .map_err(|_| TpmError::InvalidInput("nonce too long".into()))?;
        let (attest, signature) = self.with(|inner| {
            inner.make_room(1);
            let handle = inner.load(&ak.blob)?;
            let r = inner
                .ctx
                .execute_with_session(Some(AuthSession::Password), |c| {
                    c.quote(
                        handle,
                        data,
                        SignatureScheme::EcDsa {
                            hash_scheme: HashScheme::new(HashingAlgorithm::Sha256),
                        },
                        selection,
                    )
                })
                .map_err(TpmError::tss("Quote"));
            inner.flush(handle.into());
            r
        })?;
        Ok(Quote {
            attest: attest
                .marshall()
                .map_err(TpmError::tss("Marshal(TPMS_ATTEST)"))?,
            signature: signature
                .marshall()
                .map_err(TpmError::tss("Marshal(TPMT_SIGNATURE)"))?,
            pcrs: self.read_pcrs(policy.pcrs())?,
        })
    }

    /// The SHA-256 bank values of `pcrs`.
    ///
    /// # Errors
    /// [`TpmError::InvalidInput`] for bad indices; [`TpmError::Tss`].
    pub fn read_pcrs(&self, pcrs: &[u8]) -> Result<Vec<PcrValue>, TpmError> {
        let policy = crate::seal::PcrPolicy::sha256(pcrs)?;
        let mut out = Vec::with_capacity(policy.pcrs().len());
        self.with(|inner| {
            // TPM2_PCR_Read returns at most eight digests per call.
            for chunk in policy.pcrs().chunks(8) {
                let selection = pcr_selection(chunk)?;
                let (_, _, digests) = inner
                    .ctx
                    .execute_without_session(|c| c.pcr_read(selection))
                    .map_err(TpmError::tss("PCR_Read"))?;
                if digests.len() != chunk.len() {
                    return Err(TpmError::Unsupported(
                        "PCRs missing from the SHA-256 bank".into(),
                    ));
                }
                for (&index, d) in chunk.iter().zip(digests.value()) {
                    let value = <[u8; 32]>::try_from(d.value())
                        .map_err(|_| TpmError::Unsupported("SHA-256 PCR of odd size".into()))?;
                    out.push(PcrValue { index, value });
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Extends SHA-256 PCR `index` with `digest` (TPM2_PCR_Extend), as measured boot does.
    ///
    /// # Errors
    /// [`TpmError::InvalidInput`] for an index above 23; [`TpmError::Tss`] (e.g. a PCR this locality may not
    /// extend).
    pub fn extend_pcr(&self, index: u8, digest: [u8; 32]) -> Result<(), TpmError> {
        if index > 23 {
            return Err(TpmError::InvalidInput("PCR indices are 0 to 23".into()));
        }
        let handle = PcrHandle::try_from(u32::from(index))
            .map_err(|_| TpmError::InvalidInput(format!("PCR {index}")))?;
        let mut values = DigestValues::new();
        values.set(
            HashingAlgorithm::Sha256,
            Digest::try_from(digest.to_vec()).map_err(TpmError::tss("digest"))?,
        );
        self.with(|inner| {
            inner
                .ctx
                .execute_with_session(Some(AuthSession::Password), |c| {
                    c.pcr_extend(handle, values)
                })
                .map_err(TpmError::tss("PCR_Extend"))
        })
    }
}

/// TPM2_ActivateCredential with the AK (admin role, empty auth: password session) and the EK (user role through
/// PolicySecret(TPM_RH_ENDORSEMENT), its authPolicy in the default template).
fn activate(
    inner: &mut Inner,
    ak: KeyHandle,
    ek: KeyHandle,
    id_object: IdObject,
    secret: EncryptedSecret,
) -> Result<Zeroizing<Vec<u8>>, TpmError> {
    let session = inner
        .ctx
        .execute_without_session(|c| {
            c.start_auth_session(
                None,
                None,
                None,
                SessionType::Policy,
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
        let policy = PolicySession::try_from(session).map_err(TpmError::tss("PolicySession"))?;
        inner
            .ctx
            .execute_with_session(Some(AuthSession::Password), |c| {
                c.policy_secret(
                    policy,
                    AuthHandle::Endorsement,
                    Default::default(),
                    Default::default(),
                    Default::default(),
                    None,
                )
            })
            .map_err(TpmError::tss("PolicySecret"))?;
        inner
            .ctx
            .execute_with_sessions((Some(AuthSession::Password), Some(session), None), |c| {
                c.activate_credential(ak, ek, id_object, secret)
            })
            .map(|d| Zeroizing::new(d.value().to_vec()))
            .map_err(TpmError::tss("ActivateCredential"))
    })();
    if let Err(e) = inner.ctx.flush_context(SessionHandle::from(session).into()) {
        tracing::debug!(error = %e, "policy session already closed");
    }
    result
}
