//! Platform attestation: proving to a remote service that a key lives in a given TPM, and what that TPM measured.
//!
//! Two halves, as a cloud service and its devices need them:
//!
//! - **Device side** (methods of [`Tpm`](crate::Tpm)): read the Endorsement Key ([`Tpm::endorsement_key`]; it is
//!   re-created from the TCG default template, RSA-2048 "L-1", and its certificate read from NV when the TPM was
//!   manufactured with one), create an Attestation Key ([`Tpm::create_attestation_key`]), answer a credential
//!   challenge ([`Tpm::activate_credential`], TPM2_ActivateCredential) and quote PCRs ([`Tpm::quote`]).
//! - **Verifier side** (free functions, software only, no TPM): [`make_credential`] (TPM2_MakeCredential computed
//!   in software against the EK public key, TPM 2.0 Part 1 §24) and [`verify_quote`].
//!
//! The exchange: the device sends its EK public area (and certificate) and its AK public area; the service checks
//! the AK's attributes ([`AkPublic::from_public_area`]), makes a credential bound to the AK's name under the EK and
//! keeps the secret; only the TPM holding both that EK and a loaded object of that name can recover the secret,
//! so a device that returns it proves the AK is in the same TPM as the EK. Afterwards quotes signed by the AK
//! (with a fresh nonce) report the PCRs. See `examples/attestation.rs`.
//!
//! What the EK itself is worth is the service's call: with an EK certificate it chains to the manufacturer; a TPM
//! without one (swtpm unmanufactured) must be enrolled by its EK public key on first contact.
//!
//! [`Tpm::endorsement_key`]: crate::Tpm::endorsement_key
//! [`Tpm::create_attestation_key`]: crate::Tpm::create_attestation_key
//! [`Tpm::activate_credential`]: crate::Tpm::activate_credential
//! [`Tpm::quote`]: crate::Tpm::quote

mod device;
mod verifier;

use sha2::{Digest as _, Sha256};
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::structures::Public;
use tss_esapi::traits::UnMarshall;

pub use device::{AttestationKey, Endorsement};
pub use verifier::{VerifiedQuote, make_credential, verify_quote};

use crate::error::TpmError;

/// Longest evidence item accepted from a device (public areas, attestation structures, signatures).
const MAX_EVIDENCE: usize = 4096;

/// Why attestation evidence was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerificationError {
    /// The evidence does not parse.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The attestation key's public area lacks a property an AK must have.
    #[error("not an attestation key: {0}")]
    NotAnAttestationKey(&'static str),
    /// The endorsement key is not one this verifier handles (RSA-2048, SHA-256, AES-128-CFB: template L-1).
    #[error("unsupported endorsement key: {0}")]
    UnsupportedEndorsementKey(&'static str),
    /// The structure is not a TPM2_Quote, or not TPM-generated.
    #[error("not a TPM quote")]
    NotAQuote,
    /// The quote's extra data is not the nonce the verifier sent.
    #[error("the quote is not over the expected nonce")]
    NonceMismatch,
    /// The AK's signature over the quote does not verify.
    #[error("the quote signature does not verify")]
    BadSignature,
    /// The PCR values sent with the quote are not the ones it covers.
    #[error("the PCR values do not match the quote's digest")]
    PcrDigestMismatch,
    /// The quote covers other PCRs than the ones reported or expected.
    #[error("the quote covers other PCRs than expected")]
    PcrSelectionMismatch,
    /// A PCR holds another value than expected.
    #[error("PCR {0} does not hold the expected value")]
    PcrValueMismatch(u8),
}

/// One SHA-256 PCR and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcrValue {
    /// The PCR index (0 to 23).
    pub index: u8,
    /// Its SHA-256 bank value.
    pub value: [u8; 32],
}

/// An endorsement key's public area, as the verifier receives it.
#[derive(Clone, Debug)]
pub struct EkPublic {
    public: Public,
    bytes: Vec<u8>,
}

impl EkPublic {
    /// Parses a marshalled TPMT_PUBLIC.
    ///
    /// # Errors
    /// [`VerificationError::Malformed`] when it does not parse.
    pub fn from_public_area(bytes: &[u8]) -> Result<Self, TpmError> {
        if bytes.len() > MAX_EVIDENCE {
            return Err(VerificationError::Malformed("EK public area").into());
        }
        let public = Public::unmarshall(bytes)
            .map_err(|_| VerificationError::Malformed("EK public area"))?;
        Ok(Self {
            public,
            bytes: bytes.to_vec(),
        })
    }

    pub(crate) fn from_public(public: Public) -> Result<Self, TpmError> {
        let bytes = crate::tpm::marshal_public(&public)?;
        Ok(Self { public, bytes })
    }

    /// The marshalled TPMT_PUBLIC, what a device sends.
    #[must_use]
    pub fn public_area(&self) -> &[u8] {
        &self.bytes
    }

    /// The EK public key as `SubjectPublicKeyInfo` DER (to match against an EK certificate).
    ///
    /// # Errors
    /// [`TpmError::InvalidInput`] for a non-RSA EK.
    pub fn spki_der(&self) -> Result<Vec<u8>, TpmError> {
        crate::backend::public::spki_der(&self.public)
    }

    /// The EK's TPM name.
    ///
    /// # Errors
    /// [`TpmError::Unsupported`] for a name algorithm other than SHA-256.
    pub fn name(&self) -> Result<Vec<u8>, TpmError> {
        object_name(&self.public, &self.bytes)
    }

    pub(crate) fn public(&self) -> &Public {
        &self.public
    }
}

impl PartialEq for EkPublic {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

/// An attestation key's public area, checked to be a restricted signing key fixed to its TPM.
#[derive(Clone, Debug)]
pub struct AkPublic {
    public: Public,
    bytes: Vec<u8>,
}

impl AkPublic {
    /// Parses a marshalled TPMT_PUBLIC and checks the properties that make a quote signed by it trustworthy:
    /// fixedTPM, fixedParent, sensitiveDataOrigin (never existed outside the TPM), restricted and sign (signs only
    /// TPM-generated data), not decrypt; ECDSA P-256 with SHA-256.
    ///
    /// # Errors
    /// [`VerificationError::Malformed`] and [`VerificationError::NotAnAttestationKey`].
    pub fn from_public_area(bytes: &[u8]) -> Result<Self, TpmError> {
        if bytes.len() > MAX_EVIDENCE {
            return Err(VerificationError::Malformed("AK public area").into());
        }
        let public = Public::unmarshall(bytes)
            .map_err(|_| VerificationError::Malformed("AK public area"))?;
        let a = public.object_attributes();
        let not_ak = |why| -> TpmError { VerificationError::NotAnAttestationKey(why).into() };
        if !a.fixed_tpm() || !a.fixed_parent() {
            return Err(not_ak("not fixedTPM and fixedParent"));
        }
        if !a.sensitive_data_origin() {
            return Err(not_ak("not generated in the TPM"));
        }
        if !a.restricted() || !a.sign_encrypt() || a.decrypt() {
            return Err(not_ak("not a restricted signing key"));
        }
        if public.name_hashing_algorithm() != HashingAlgorithm::Sha256 {
            return Err(not_ak("name algorithm is not SHA-256"));
        }
        if crate::backend::public::p256_key(&public).is_err() {
            return Err(not_ak("not an ECDSA P-256 key"));
        }
        Ok(Self {
            public,
            bytes: bytes.to_vec(),
        })
    }

    /// The marshalled TPMT_PUBLIC.
    #[must_use]
    pub fn public_area(&self) -> &[u8] {
        &self.bytes
    }

    /// The AK's TPM name, which [`make_credential`] binds the credential to.
    ///
    /// # Errors
    /// Never for a checked AK (SHA-256 name algorithm); the signature is shared with [`EkPublic::name`].
    pub fn name(&self) -> Result<Vec<u8>, TpmError> {
        object_name(&self.public, &self.bytes)
    }

    pub(crate) fn public(&self) -> &Public {
        &self.public
    }
}

/// A credential challenge: TPM2_MakeCredential's output, sent to the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialChallenge {
    /// TPM2B_ID_OBJECT contents: the integrity HMAC and the encrypted credential.
    pub id_object: Vec<u8>,
    /// TPM2B_ENCRYPTED_SECRET contents: the seed, encrypted to the EK.
    pub encrypted_secret: Vec<u8>,
}

/// A quote as the device sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    /// The marshalled TPMS_ATTEST the TPM signed.
    pub attest: Vec<u8>,
    /// The marshalled TPMT_SIGNATURE.
    pub signature: Vec<u8>,
    /// The PCR values the quote covers, read right after quoting.
    pub pcrs: Vec<PcrValue>,
}

/// nameAlg || H_nameAlg(TPMT_PUBLIC) (TPM 2.0 Part 1 §16).
pub(crate) fn object_name(public: &Public, bytes: &[u8]) -> Result<Vec<u8>, TpmError> {
    if public.name_hashing_algorithm() != HashingAlgorithm::Sha256 {
        return Err(TpmError::Unsupported(
            "name algorithms other than SHA-256".into(),
        ));
    }
    // TPM_ALG_SHA256 = 0x000B.
    let mut name = vec![0x00, 0x0B];
    name.extend_from_slice(&Sha256::digest(bytes));
    Ok(name)
}
