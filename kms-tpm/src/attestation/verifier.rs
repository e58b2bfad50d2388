//! The verifier side of attestation, in software: TPM2_MakeCredential and quote verification.

use aes::cipher::KeyIvInit as _;
use getrandom::SysRng;
use hmac::{Hmac, KeyInit as _, Mac as _};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::interface_types::structure_tags::AttestationType;
use tss_esapi::structures::{Attest, AttestInfo, Public, Signature, SymmetricDefinitionObject};
use tss_esapi::traits::UnMarshall;
use zeroize::Zeroizing;

use super::{
    AkPublic, CredentialChallenge, EkPublic, MAX_EVIDENCE, PcrValue, Quote, VerificationError,
};
use crate::error::TpmError;

/// Longest credential: a digest of the EK's name algorithm (SHA-256).
pub const MAX_CREDENTIAL: usize = 32;

/// What a verified quote reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedQuote {
    /// The quoted PCR values.
    pub pcrs: Vec<PcrValue>,
    /// TPMS_CLOCK_INFO.clock: milliseconds the TPM has been powered since its last TPM2_Clear.
    pub clock: u64,
    /// TPMS_CLOCK_INFO.resetCount: TPM resets (reboots) since the last TPM2_Clear.
    pub reset_count: u32,
    /// The TPM's firmware version.
    pub firmware_version: u64,
}

/// KDFa (TPM 2.0 Part 1 §11.4.10.2): SP 800-108 counter-mode KDF with HMAC-SHA-256;
/// `label` is used with its terminating zero octet.
fn kdfa(
    key: &[u8],
    label: &str,
    context_u: &[u8],
    context_v: &[u8],
    bits: u32,
) -> Zeroizing<Vec<u8>> {
    let len = (bits as usize).div_ceil(8);
    let mut out = Zeroizing::new(Vec::with_capacity(len + 32));
    let mut counter: u32 = 1;
    while out.len() < len {
        // HMAC accepts keys of any length.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
            break;
        };
        mac.update(&counter.to_be_bytes());
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(context_u);
        mac.update(context_v);
        mac.update(&bits.to_be_bytes());
        out.extend_from_slice(&mac.finalize().into_bytes());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// TPM2_MakeCredential in software (TPM 2.0 Part 1 §24, Part 3 §12.6): protects `credential` so that only the
/// TPM holding `ek` and a loaded object named `ak_name` recovers it, with TPM2_ActivateCredential.
///
/// The EK must be an RSA-2048 key with SHA-256 name algorithm and AES-128-CFB (the default template L-1): the seed
/// is encrypted with RSA-OAEP-SHA-256 and label "IDENTITY", the credential with AES-128-CFB under
/// KDFa(seed, "STORAGE", name), and the whole is integrity-protected by HMAC-SHA-256 under KDFa(seed, "INTEGRITY").
///
/// # Errors
/// [`TpmError::InvalidInput`] for a credential not 1 to 32 bytes or a malformed name;
/// [`VerificationError::UnsupportedEndorsementKey`] for another kind of EK.
pub fn make_credential(
    ek: &EkPublic,
    ak_name: &[u8],
    credential: &[u8],
) -> Result<CredentialChallenge, TpmError> {
    if credential.is_empty() || credential.len() > MAX_CREDENTIAL {
        return Err(TpmError::InvalidInput(format!(
            "credentials are 1 to {MAX_CREDENTIAL} bytes"
        )));
    }
    if ak_name.len() != 34 || ak_name[..2] != [0x00, 0x0B] {
        return Err(TpmError::InvalidInput(
            "AK names are SHA-256 names (34 bytes)".into(),
        ));
    }
    let unsupported =
        |why| -> TpmError { VerificationError::UnsupportedEndorsementKey(why).into() };
    let Public::Rsa { parameters, .. } = ek.public() else {
        return Err(unsupported("not RSA"));
    };
    if ek.public().name_hashing_algorithm() != HashingAlgorithm::Sha256 {
        return Err(unsupported("name algorithm is not SHA-256"));
    }
    if parameters.symmetric_definition_object() != SymmetricDefinitionObject::AES_128_CFB {
        return Err(unsupported("symmetric algorithm is not AES-128-CFB"));
    }
    let ek_key = crate::backend::public::rsa_key(ek.public())?;
    if rsa::traits::PublicKeyParts::size(&ek_key) != 256 {
        return Err(unsupported("not RSA-2048"));
    }

    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|_| TpmError::Unsupported("no OS random".into()))?;
    let encrypted_secret = ek_key
        .encrypt(
            &mut SysRng,
            rsa::Oaep::<Sha256>::new_with_label(b"IDENTITY\0".to_vec()),
            seed.as_ref(),
        )
        .map_err(|_| unsupported("RSA-OAEP failed"))?;

    let sym_key = kdfa(seed.as_ref(), "STORAGE", ak_name, &[], 128);
    let mut enc_identity = Zeroizing::new(Vec::with_capacity(2 + credential.len()));
    enc_identity.extend_from_slice(&(credential.len() as u16).to_be_bytes());
    enc_identity.extend_from_slice(credential);
    let key: [u8; 16] = sym_key[..].try_into().map_err(|_| TpmError::Crypto)?;
    cfb_mode::Encryptor::<aes::Aes128>::new(&key.into(), &[0u8; 16].into())
        .encrypt(&mut enc_identity);

    let hmac_key = kdfa(seed.as_ref(), "INTEGRITY", &[], &[], 256);
    let mut mac = Hmac::<Sha256>::new_from_slice(&hmac_key).map_err(|_| TpmError::Crypto)?;
    mac.update(&enc_identity);
    mac.update(ak_name);
    let outer = mac.finalize().into_bytes();

    let mut id_object = Vec::with_capacity(2 + outer.len() + enc_identity.len());
    id_object.extend_from_slice(&(outer.len() as u16).to_be_bytes());
    id_object.extend_from_slice(&outer);
    id_object.extend_from_slice(&enc_identity);
    Ok(CredentialChallenge {
        id_object,
        encrypted_secret,
    })
}

/// Verifies a quote signed by `ak` over `nonce`: the structure is a TPM-generated TPM2_Quote, its extra data is
/// the nonce, the AK's ECDSA signature verifies, the reported PCR values hash to the quoted digest, and, when
/// `expected` is given, those PCRs are quoted and hold exactly those values.
///
/// # Errors
/// [`TpmError::Verification`] saying which check failed.
pub fn verify_quote(
    ak: &AkPublic,
    quote: &Quote,
    nonce: &[u8],
    expected: Option<&[PcrValue]>,
) -> Result<VerifiedQuote, TpmError> {
    use VerificationError as V;
    if quote.attest.len() > MAX_EVIDENCE
        || quote.signature.len() > MAX_EVIDENCE
        || quote.pcrs.len() > 24
    {
        return Err(V::Malformed("quote").into());
    }
    // The signature first: nothing in an unauthenticated structure is worth reading.
    let signature =
        Signature::unmarshall(&quote.signature).map_err(|_| V::Malformed("quote signature"))?;
    let Signature::EcDsa(sig) = signature else {
        return Err(V::BadSignature.into());
    };
    if sig.hashing_algorithm() != HashingAlgorithm::Sha256 {
        return Err(V::BadSignature.into());
    }
    let der = crate::backend::sign_der(sig.signature_r().value(), sig.signature_s().value())
        .map_err(|_| V::BadSignature)?;
    let key = crate::backend::public::p256_key(ak.public()).map_err(|_| V::BadSignature)?;
    let digest = Sha256::digest(&quote.attest);
    let sig = p256::ecdsa::DerSignature::from_bytes(&der).map_err(|_| V::BadSignature)?;
    key.verify_prehash(&digest, &sig)
        .map_err(|_| V::BadSignature)?;

    let attest = Attest::unmarshall(&quote.attest).map_err(|_| V::NotAQuote)?;
    if attest.attestation_type() != AttestationType::Quote {
        return Err(V::NotAQuote.into());
    }
    if !bool::from(attest.extra_data().value().ct_eq(nonce)) {
        return Err(V::NonceMismatch.into());
    }
    let AttestInfo::Quote { info } = attest.attested() else {
        return Err(V::NotAQuote.into());
    };
    let mut quoted = Vec::new();
    for selection in info.pcr_selection().get_selections() {
        if selection.hashing_algorithm() != HashingAlgorithm::Sha256 {
            return Err(V::PcrSelectionMismatch.into());
        }
        for slot in selection.selected() {
            quoted.push(u32::from(slot).trailing_zeros() as u8);
        }
    }
    quoted.sort_unstable();
    let mut reported = quote.pcrs.clone();
    reported.sort_by_key(|p| p.index);
    if reported.iter().map(|p| p.index).collect::<Vec<_>>() != quoted {
        return Err(V::PcrSelectionMismatch.into());
    }
    let mut h = Sha256::new();
    for p in &reported {
        h.update(p.value);
    }
    if !bool::from(h.finalize().as_slice().ct_eq(info.pcr_digest().value())) {
        return Err(V::PcrDigestMismatch.into());
    }
    if let Some(expected) = expected {
        for e in expected {
            let got = reported
                .iter()
                .find(|p| p.index == e.index)
                .ok_or(V::PcrSelectionMismatch)?;
            if !bool::from(got.value.ct_eq(&e.value)) {
                return Err(V::PcrValueMismatch(e.index).into());
            }
        }
    }
    Ok(VerifiedQuote {
        pcrs: reported,
        clock: attest.clock_info().clock(),
        reset_count: attest.clock_info().reset_count(),
        firmware_version: attest.firmware_version(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KDFa is SP 800-108 in counter mode; check the structure against an independent HMAC computation.
    #[test]
    fn kdfa_is_counter_mode_hmac() {
        let key = [7u8; 32];
        let out = kdfa(&key, "STORAGE", b"name", b"", 384);
        assert_eq!(out.len(), 48);
        let block = |i: u32| {
            let mut m = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            m.update(&i.to_be_bytes());
            m.update(b"STORAGE\0name");
            m.update(&384u32.to_be_bytes());
            m.finalize().into_bytes().to_vec()
        };
        assert_eq!(&out[..32], &block(1)[..]);
        assert_eq!(&out[32..], &block(2)[..16]);
    }
}
