//! RSASSA-PKCS1-v1_5 (CKM_RSA_PKCS over DigestInfo), RSASSA-PSS (CKM_RSA_PKCS_PSS, salt as long as the hash)
//! and ECDSA (CKM_ECDSA). The message is hashed here, so one mechanism per scheme serves every hash and callers'
//! digests (SoftHSM offers only raw CKM_ECDSA); ECDSA signatures are converted between PKCS#11's `r || s` and
//! DER.

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::rsa::PkcsPssParams;
use kms_core::KeyRef;
use kms_core::backend::{BackendError, HashingAlgorithm, SignInput, SignatureAlgorithm, Signer};

use crate::Pkcs11Backend;
use crate::cipher::{hash_mechanism, mgf1};
use crate::encoding::{self, digest_len};
use crate::key_ref::Kind;

fn hash_of(algorithm: SignatureAlgorithm) -> HashingAlgorithm {
    match algorithm {
        SignatureAlgorithm::RsaPkcs1v15(h)
        | SignatureAlgorithm::RsaPss(h)
        | SignatureAlgorithm::Ecdsa(h)
        | SignatureAlgorithm::Dsa(h) => h,
    }
}

/// The digest the signature covers.
fn prehash(h: HashingAlgorithm, input: SignInput<'_>) -> Result<Vec<u8>, BackendError> {
    match input {
        SignInput::Message(m) => Ok(encoding::digest(h, m)),
        SignInput::Digest(d) if d.len() == digest_len(h) => Ok(d.to_vec()),
        SignInput::Digest(d) => Err(BackendError::InvalidInput(format!(
            "a {h:?} digest is {} bytes, got {}",
            digest_len(h),
            d.len()
        ))),
    }
}

/// The mechanism and the data it takes for `algorithm` over `digest`.
fn mechanism(
    algorithm: SignatureAlgorithm,
    digest: &[u8],
) -> Result<(Mechanism<'static>, Vec<u8>), BackendError> {
    Ok(match algorithm {
        SignatureAlgorithm::RsaPkcs1v15(h) => {
            let mut data = encoding::digest_info_prefix(h).to_vec();
            data.extend_from_slice(digest);
            (Mechanism::RsaPkcs, data)
        }
        SignatureAlgorithm::RsaPss(h) => (
            Mechanism::RsaPkcsPss(PkcsPssParams {
                hash_alg: hash_mechanism(h),
                mgf: mgf1(h),
                s_len: (digest_len(h) as u64).into(),
            }),
            digest.to_vec(),
        ),
        SignatureAlgorithm::Ecdsa(_) => (Mechanism::Ecdsa, digest.to_vec()),
        // CKM_DSA exists, but this backend keeps no DSA keys.
        SignatureAlgorithm::Dsa(_) => {
            return Err(BackendError::Unsupported(
                "DSA is not offered by the PKCS#11 backend".into(),
            ));
        }
    })
}

fn mismatch(algorithm: SignatureAlgorithm, kind: Kind) -> BackendError {
    BackendError::InvalidInput(format!("{algorithm:?} cannot be used with a {kind:?} key"))
}

impl Signer for Pkcs11Backend {
    fn sign(
        &self,
        key: &KeyRef,
        algorithm: SignatureAlgorithm,
        input: SignInput<'_>,
    ) -> Result<Vec<u8>, BackendError> {
        let k = self.decode(key)?;
        let hash = hash_of(algorithm);
        if hash == HashingAlgorithm::Sha1 {
            // As the software backend: SHA-1 signatures are verified for interop, never made.
            return Err(BackendError::Unsupported(
                "SHA-1 signatures are verified, not made".into(),
            ));
        }
        let digest = prehash(hash, input)?;
        let (mech, data) = mechanism(algorithm, &digest)?;
        let curve = match (k.kind, algorithm) {
            (
                Kind::RsaPrivate,
                SignatureAlgorithm::RsaPkcs1v15(_) | SignatureAlgorithm::RsaPss(_),
            ) => None,
            (Kind::EcPrivate(c), SignatureAlgorithm::Ecdsa(_)) => Some(c),
            (kind, _) => return Err(mismatch(algorithm, kind)),
        };
        let signature = self.use_key("signing", &k, |s, h| s.sign(&mech, h, &data))?;
        match curve {
            Some(c) => encoding::ecdsa_to_der(c, &signature),
            None => Ok(signature),
        }
    }

    fn verify(
        &self,
        key: &KeyRef,
        algorithm: SignatureAlgorithm,
        input: SignInput<'_>,
        signature: &[u8],
    ) -> Result<(), BackendError> {
        let k = self.decode(key)?;
        let digest = prehash(hash_of(algorithm), input)?;
        let (mech, data) = mechanism(algorithm, &digest)?;
        let public = match (k.kind, algorithm) {
            (
                Kind::RsaPrivate | Kind::RsaPublic,
                SignatureAlgorithm::RsaPkcs1v15(_) | SignatureAlgorithm::RsaPss(_),
            ) => Kind::RsaPublic,
            (Kind::EcPrivate(c) | Kind::EcPublic(c), SignatureAlgorithm::Ecdsa(_)) => {
                Kind::EcPublic(c)
            }
            (kind, _) => return Err(mismatch(algorithm, kind)),
        };
        let signature = match public {
            Kind::EcPublic(c) => encoding::ecdsa_from_der(c, signature)?,
            _ => signature.to_vec(),
        };
        match self.use_object("verifying", public, &k.id, |s, h| {
            s.verify(&mech, h, &data, &signature)
        }) {
            Ok(()) => Ok(()),
            // A signature of the wrong length or value is one failure: nothing more to tell.
            Err(BackendError::InvalidInput(_)) => Err(BackendError::Crypto),
            Err(e) => Err(e),
        }
    }
}
