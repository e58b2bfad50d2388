//! ECDH (NIST SP 800-56A §5.7.1.2, the cofactor is 1 on P-256 and P-384).

use p256::pkcs8::DecodePublicKey;
use zeroize::Zeroizing;

use super::SoftwareBackend;
use super::cache::Parsed;
use super::key_data::{self, Kind};
use crate::backend::{BackendError, KeyAgreement, KeyPolicy, KeyRef};
use crate::object::RecommendedCurve;

fn bad_peer(curve: &str) -> BackendError {
    BackendError::InvalidInput(format!(
        "the peer key is not a SubjectPublicKeyInfo of a {curve} point"
    ))
}

impl KeyAgreement for SoftwareBackend {
    fn agree(
        &self,
        private_key: &KeyRef,
        peer_public_key: &[u8],
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError> {
        let data = Self::decode(private_key)?;
        let parsed = self.parsed(
            private_key,
            &data,
            &[
                Kind::EcPrivate(RecommendedCurve::P256),
                Kind::EcPrivate(RecommendedCurve::P384),
            ],
            "key agreement",
        )?;
        // The SPKI decoders check the curve OID and that the point is on the curve (and not the identity).
        let secret = match &*parsed {
            Parsed::P256Private(k) => {
                let peer = p256::PublicKey::from_public_key_der(peer_public_key)
                    .map_err(|_| bad_peer("P-256"))?;
                let shared = p256::ecdh::diffie_hellman(k.as_nonzero_scalar(), peer.as_affine());
                Zeroizing::new(shared.raw_secret_bytes().to_vec())
            }
            Parsed::P384Private(k) => {
                let peer = p384::PublicKey::from_public_key_der(peer_public_key)
                    .map_err(|_| bad_peer("P-384"))?;
                let shared = p384::ecdh::diffie_hellman(k.as_nonzero_scalar(), peer.as_affine());
                Zeroizing::new(shared.raw_secret_bytes().to_vec())
            }
            _ => {
                return Err(BackendError::InvalidInput(
                    "key agreement needs an EC private key".into(),
                ));
            }
        };
        Ok(key_data::encode(Kind::Secret, policy.extractable, &secret))
    }
}
