//! Signing (TPM2_Sign over a digest computed in software) and verification (in software, with the public area).

use kms_core::backend::{
    BackendError, HashingAlgorithm, KeyRef, SignInput, SignatureAlgorithm, Signer,
};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::Digest as _;
use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
use tss_esapi::interface_types::algorithm::HashingAlgorithm as TpmHash;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{Digest, HashScheme, HashcheckTicket, Signature, SignatureScheme};
use tss_esapi::tss2_esys::TPMT_TK_HASHCHECK;

use super::{TpmBackend, public};
use crate::blob::Kind;
use crate::error::TpmError;

/// The TPM hash of a signature hash; SHA-1 and SHA-224 are refused (forgeable, and absent from most TPMs).
pub(crate) fn tpm_hash(h: HashingAlgorithm) -> Result<TpmHash, TpmError> {
    match h {
        HashingAlgorithm::Sha256 => Ok(TpmHash::Sha256),
        HashingAlgorithm::Sha384 => Ok(TpmHash::Sha384),
        HashingAlgorithm::Sha512 => Ok(TpmHash::Sha512),
        other => Err(TpmError::Unsupported(format!(
            "{other:?} signatures on the TPM"
        ))),
    }
}

/// The digest a signature covers: the caller's (checked for length) or the message's, hashed here.
pub(crate) fn prehash(h: HashingAlgorithm, input: SignInput<'_>) -> Result<Vec<u8>, TpmError> {
    let len = match h {
        HashingAlgorithm::Sha256 => 32,
        HashingAlgorithm::Sha384 => 48,
        HashingAlgorithm::Sha512 => 64,
        other => {
            return Err(TpmError::Unsupported(format!(
                "{other:?} signatures on the TPM"
            )));
        }
    };
    match input {
        SignInput::Digest(d) if d.len() == len => Ok(d.to_vec()),
        SignInput::Digest(d) => Err(TpmError::InvalidInput(format!(
            "a {h:?} digest is {len} bytes, got {}",
            d.len()
        ))),
        SignInput::Message(m) => Ok(match h {
            HashingAlgorithm::Sha384 => sha2::Sha384::digest(m).to_vec(),
            HashingAlgorithm::Sha512 => sha2::Sha512::digest(m).to_vec(),
            _ => sha2::Sha256::digest(m).to_vec(),
        }),
    }
}

fn hash_of(algorithm: SignatureAlgorithm) -> Result<HashingAlgorithm, BackendError> {
    match algorithm {
        SignatureAlgorithm::RsaPkcs1v15(h)
        | SignatureAlgorithm::RsaPss(h)
        | SignatureAlgorithm::Ecdsa(h) => Ok(h),
        // TPM 2.0 has no DSA: its signature schemes are RSASSA, RSAPSS, ECDSA, ECDAA, SM2 and ECSchnorr.
        SignatureAlgorithm::Dsa(_) => Err(BackendError::Unsupported(
            "DSA is not offered by the TPM backend".into(),
        )),
    }
}

/// The null ticket: for an unrestricted key the TPM signs any digest (TPM 2.0 Part 3 §20.2).
pub(crate) fn null_ticket() -> Result<HashcheckTicket, TpmError> {
    HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
        tag: TPM2_ST_HASHCHECK,
        hierarchy: TPM2_RH_NULL,
        digest: Default::default(),
    })
    .map_err(TpmError::tss("ticket"))
}

/// An ECDSA signature as DER `Ecdsa-Sig-Value`.
pub(crate) fn ecdsa_der(r: &[u8], s: &[u8]) -> Result<Vec<u8>, TpmError> {
    let sig = p256::ecdsa::Signature::from_scalars(pad32(r)?, pad32(s)?)
        .map_err(|_| TpmError::MalformedBlob)?;
    Ok(sig.to_der().as_bytes().to_vec())
}

fn pad32(v: &[u8]) -> Result<[u8; 32], TpmError> {
    if v.len() > 32 {
        return Err(TpmError::MalformedBlob);
    }
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(v);
    Ok(out)
}

fn mismatch(algorithm: SignatureAlgorithm, kind: Kind) -> TpmError {
    TpmError::InvalidInput(format!("{algorithm:?} cannot be used with a {kind:?} key"))
}

impl TpmBackend {
    fn sign_inner(
        &self,
        key: &KeyRef,
        algorithm: SignatureAlgorithm,
        input: SignInput<'_>,
    ) -> Result<Vec<u8>, BackendError> {
        let blob = Self::blob(key)?;
        let hash = hash_of(algorithm)?;
        let scheme_hash = HashScheme::new(tpm_hash(hash)?);
        let scheme = match (blob.kind, algorithm) {
            (Kind::RsaPrivate, SignatureAlgorithm::RsaPss(_)) => SignatureScheme::RsaPss {
                hash_scheme: scheme_hash,
            },
            (Kind::RsaPrivate, SignatureAlgorithm::RsaPkcs1v15(_)) => SignatureScheme::RsaSsa {
                hash_scheme: scheme_hash,
            },
            (Kind::EcP256Private, SignatureAlgorithm::Ecdsa(_)) => SignatureScheme::EcDsa {
                hash_scheme: scheme_hash,
            },
            (kind, _) => return Err(mismatch(algorithm, kind).into()),
        };
        let digest = Digest::try_from(prehash(hash, input)?)
            .map_err(|_| BackendError::InvalidInput("digest too long".into()))?;
        let ticket = null_ticket()?;
        let signature = self.tpm.with(|inner| {
            inner.with_loaded(&blob, |ctx, handle| {
                ctx.execute_with_session(Some(AuthSession::Password), |c| {
                    c.sign(handle, digest, scheme, ticket)
                })
                .map_err(TpmError::tss("Sign"))
            })
        })?;
        Ok(match signature {
            Signature::RsaSsa(s) | Signature::RsaPss(s) => s.signature().value().to_vec(),
            Signature::EcDsa(s) => ecdsa_der(s.signature_r().value(), s.signature_s().value())?,
            _ => {
                return Err(TpmError::Tss {
                    command: "Sign",
                    source: tss_esapi::Error::WrapperError(
                        tss_esapi::WrapperErrorKind::WrongValueFromTpm,
                    ),
                }
                .into());
            }
        })
    }
}

impl Signer for TpmBackend {
    fn sign(
        &self,
        key: &KeyRef,
        algorithm: SignatureAlgorithm,
        input: SignInput<'_>,
    ) -> Result<Vec<u8>, BackendError> {
        self.sign_inner(key, algorithm, input)
    }

    fn verify(
        &self,
        key: &KeyRef,
        algorithm: SignatureAlgorithm,
        input: SignInput<'_>,
        signature: &[u8],
    ) -> Result<(), BackendError> {
        let blob = Self::blob(key)?;
        let hash = hash_of(algorithm)?;
        let digest = prehash(hash, input)?;
        let ok = match (blob.kind, algorithm) {
            (Kind::RsaPrivate | Kind::RsaPublic, SignatureAlgorithm::RsaPss(h)) => {
                let k = public::rsa_key(&blob.public)?;
                match h {
                    HashingAlgorithm::Sha384 => {
                        k.pss_verify_prehash::<sha2::Sha384>(&digest, signature)
                    }
                    HashingAlgorithm::Sha512 => {
                        k.pss_verify_prehash::<sha2::Sha512>(&digest, signature)
                    }
                    _ => k.pss_verify_prehash::<sha2::Sha256>(&digest, signature),
                }
                .is_ok()
            }
            (Kind::RsaPrivate | Kind::RsaPublic, SignatureAlgorithm::RsaPkcs1v15(h)) => {
                let k = public::rsa_key(&blob.public)?;
                match h {
                    HashingAlgorithm::Sha384 => {
                        k.pkcs1v15_verify_prehash::<sha2::Sha384>(&digest, signature)
                    }
                    HashingAlgorithm::Sha512 => {
                        k.pkcs1v15_verify_prehash::<sha2::Sha512>(&digest, signature)
                    }
                    _ => k.pkcs1v15_verify_prehash::<sha2::Sha256>(&digest, signature),
                }
                .is_ok()
            }
            (Kind::EcP256Private | Kind::EcP256Public, SignatureAlgorithm::Ecdsa(_)) => {
                let k = public::p256_key(&blob.public)?;
                p256::ecdsa::DerSignature::from_bytes(signature)
                    .is_ok_and(|sig| k.verify_prehash(&digest, &sig).is_ok())
            }
            (kind, _) => return Err(mismatch(algorithm, kind).into()),
        };
        if ok {
            Ok(())
        } else {
            Err(BackendError::Crypto)
        }
    }
}
