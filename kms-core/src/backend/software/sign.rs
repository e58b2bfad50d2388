//! RSASSA-PKCS1-v1_5 and RSASSA-PSS (RFC 8017 §8, signed with a salt as long as the hash, verified with any
//! salt length), ECDSA (FIPS 186-5) and DSA (FIPS 186-4, within the limits [`SignatureAlgorithm::Dsa`] gives), the
//! last two with DER signatures.

use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};

use super::SoftwareBackend;
use super::cache::Parsed;
use super::hash::prehash;
use super::key_data::Kind;
use crate::backend::{
    BackendError, HashingAlgorithm, KeyRef, SignInput, SignatureAlgorithm, Signer,
};
use crate::object::RecommendedCurve;

const PRIVATE: &[Kind] = &[
    Kind::RsaPrivate,
    Kind::EcPrivate(RecommendedCurve::P256),
    Kind::EcPrivate(RecommendedCurve::P384),
    Kind::DsaPrivate,
];
const ANY_ASYMMETRIC: &[Kind] = &[
    Kind::RsaPrivate,
    Kind::EcPrivate(RecommendedCurve::P256),
    Kind::EcPrivate(RecommendedCurve::P384),
    Kind::DsaPrivate,
    Kind::RsaPublic,
    Kind::EcPublic(RecommendedCurve::P256),
    Kind::EcPublic(RecommendedCurve::P384),
    Kind::DsaPublic,
];

/// Runs `$body` with `$d` the hash type of `$h` (the RSA crate takes the hash as a type parameter).
macro_rules! with_hash_type {
    ($h:expr, $d:ident => $body:expr) => {
        match $h {
            HashingAlgorithm::Sha1 => {
                type $d = sha1::Sha1;
                $body
            }
            HashingAlgorithm::Sha224 => {
                type $d = sha2::Sha224;
                $body
            }
            HashingAlgorithm::Sha256 => {
                type $d = sha2::Sha256;
                $body
            }
            HashingAlgorithm::Sha384 => {
                type $d = sha2::Sha384;
                $body
            }
            HashingAlgorithm::Sha512 => {
                type $d = sha2::Sha512;
                $body
            }
        }
    };
}

fn hash_of(algorithm: SignatureAlgorithm) -> HashingAlgorithm {
    match algorithm {
        SignatureAlgorithm::RsaPkcs1v15(h)
        | SignatureAlgorithm::RsaPss(h)
        | SignatureAlgorithm::Ecdsa(h)
        | SignatureAlgorithm::Dsa(h) => h,
    }
}

fn mismatch(algorithm: SignatureAlgorithm, kind: Kind) -> BackendError {
    kind.cannot_be_used_for(&algorithm.to_string())
}

fn signing_failed(e: impl std::error::Error + Send + Sync + 'static) -> BackendError {
    BackendError::Device {
        message: "signing failed".into(),
        retryable: false,
        source: Some(Box::new(e)),
    }
}

impl Signer for SoftwareBackend {
    fn sign(
        &self,
        key: &KeyRef,
        algorithm: SignatureAlgorithm,
        input: SignInput<'_>,
    ) -> Result<Vec<u8>, BackendError> {
        let data = Self::decode(key)?;
        let hash = hash_of(algorithm);
        if hash == HashingAlgorithm::Sha1 {
            // SHA-1 signatures are forgeable by chosen-prefix collisions; they are verified for interop only.
            return Err(BackendError::Unsupported(
                "SHA-1 signatures are verified, not made".into(),
            ));
        }
        let parsed = self.parsed(key, &data, PRIVATE, "signing")?;
        let digest = prehash(hash, input)?;
        let digest = digest.as_bytes();
        match (&*parsed, algorithm) {
            (Parsed::RsaPrivate(k), SignatureAlgorithm::RsaPss(h)) => {
                with_hash_type!(h, D => k.pss_sign_prehash::<D>(digest)).map_err(signing_failed)
            }
            (Parsed::RsaPrivate(k), SignatureAlgorithm::RsaPkcs1v15(h)) => {
                with_hash_type!(h, D => k.pkcs1v15_sign_prehash::<D>(digest))
                    .map_err(signing_failed)
            }
            (Parsed::P256Private(k), SignatureAlgorithm::Ecdsa(_)) => {
                let sig: p256::ecdsa::DerSignature = k
                    .sign_prehash(digest)
                    .map_err(|_| ecdsa_digest_error(hash, "P-256"))?;
                Ok(sig.as_bytes().to_vec())
            }
            (Parsed::P384Private(k), SignatureAlgorithm::Ecdsa(_)) => {
                let sig: p384::ecdsa::DerSignature = k
                    .sign_prehash(digest)
                    .map_err(|_| ecdsa_digest_error(hash, "P-384"))?;
                Ok(sig.as_bytes().to_vec())
            }
            (Parsed::DsaPrivate(k), SignatureAlgorithm::Dsa(h)) => {
                let l = k.verifying_key().components().p().bit_width();
                if l < 2048 {
                    return Err(BackendError::Unsupported(format!(
                        "{l}-bit DSA keys verify legacy signatures, they no longer sign (SP 800-131A)"
                    )));
                }
                let sig = with_hash_type!(h, D => k.sign_prehashed_rfc6979::<D>(digest))
                    .map_err(signing_failed)?;
                dsa::pkcs8::der::Encode::to_der(&sig).map_err(signing_failed)
            }
            _ => Err(mismatch(algorithm, data.kind)),
        }
    }

    fn verify(
        &self,
        key: &KeyRef,
        algorithm: SignatureAlgorithm,
        input: SignInput<'_>,
        signature: &[u8],
    ) -> Result<(), BackendError> {
        let data = Self::decode(key)?;
        let parsed = self.parsed(key, &data, ANY_ASYMMETRIC, "verification")?;
        let digest = prehash(hash_of(algorithm), input)?;
        let digest = digest.as_bytes();
        let ok = match (&*parsed, algorithm) {
            (p, SignatureAlgorithm::RsaPss(h)) => {
                let k = rsa_public(p).ok_or_else(|| mismatch(algorithm, data.kind))?;
                // Any salt length verifies, as OpenSSL's default (RSA_PSS_SALTLEN_AUTO): signers differ (the
                // hash length, or the maximum as OpenSSL signs by default), and the salt is in the signature.
                with_hash_type!(h, D => k.verify(
                    rsa::pss::Pss::<D> { blinded: false, digest: <D as sha2::Digest>::new(), salt_len: None },
                    digest,
                    signature,
                ))
                .is_ok()
            }
            (p, SignatureAlgorithm::RsaPkcs1v15(h)) => {
                let k = rsa_public(p).ok_or_else(|| mismatch(algorithm, data.kind))?;
                with_hash_type!(h, D => k.pkcs1v15_verify_prehash::<D>(digest, signature)).is_ok()
            }
            (Parsed::P256Private(k), SignatureAlgorithm::Ecdsa(_)) => {
                verify_p256(k.verifying_key(), digest, signature)
            }
            (Parsed::P256Public(k), SignatureAlgorithm::Ecdsa(_)) => {
                verify_p256(k, digest, signature)
            }
            (Parsed::P384Private(k), SignatureAlgorithm::Ecdsa(_)) => {
                verify_p384(k.verifying_key(), digest, signature)
            }
            (Parsed::P384Public(k), SignatureAlgorithm::Ecdsa(_)) => {
                verify_p384(k, digest, signature)
            }
            (Parsed::DsaPrivate(k), SignatureAlgorithm::Dsa(_)) => {
                verify_dsa(k.verifying_key(), digest, signature)
            }
            (Parsed::DsaPublic(k), SignatureAlgorithm::Dsa(_)) => verify_dsa(k, digest, signature),
            _ => return Err(mismatch(algorithm, data.kind)),
        };
        if ok {
            Ok(())
        } else {
            Err(BackendError::Crypto)
        }
    }
}

fn rsa_public(parsed: &Parsed) -> Option<&rsa::PublicKey> {
    match parsed {
        Parsed::RsaPrivate(k) => Some(k.as_public_key()),
        Parsed::RsaPublic(k) => Some(k),
        _ => None,
    }
}

fn verify_p256(key: &p256::ecdsa::VerifyingKey, digest: &[u8], signature: &[u8]) -> bool {
    p256::ecdsa::DerSignature::from_bytes(signature)
        .is_ok_and(|sig| key.verify_prehash(digest, &sig).is_ok())
}

fn verify_p384(key: &p384::ecdsa::VerifyingKey, digest: &[u8], signature: &[u8]) -> bool {
    p384::ecdsa::DerSignature::from_bytes(signature)
        .is_ok_and(|sig| key.verify_prehash(digest, &sig).is_ok())
}

/// A `Dss-Sig-Value` that does not parse, or has r or s out of `[1, q)`, fails like a wrong one.
fn verify_dsa(key: &dsa::VerifyingKey, digest: &[u8], signature: &[u8]) -> bool {
    <dsa::Signature as dsa::pkcs8::der::Decode>::from_der(signature)
        .is_ok_and(|sig| key.verify_prehash(digest, &sig).is_ok())
}

fn ecdsa_digest_error(hash: HashingAlgorithm, curve: &str) -> BackendError {
    BackendError::InvalidInput(format!(
        "a {hash:?} digest is too short for ECDSA on {curve}"
    ))
}
