//! Key wrapping in the token: AES Key Wrap (CKM_AES_KEY_WRAP, RFC 3394), AES Key Wrap with Padding
//! (CKM_AES_KEY_WRAP_PAD, RFC 5649) and RSA-OAEP (CKM_RSA_PKCS_OAEP, MGF1 over the same hash, no label).

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType};
use kms_core::KeyRef;
use kms_core::backend::{BackendError, KeyPolicy, KeyWrap, WrapAlgorithm};
use kms_core::object::{CryptographicAlgorithm, ObjectType, RecommendedCurve};

use crate::Pkcs11Backend;
use crate::cipher::oaep;
use crate::encoding;
use crate::key_ref::{Kind, TokenKey};

/// Longest wrapped key accepted (an RSA-4096 PKCS#8 is about 2.4 KB).
const MAX_WRAPPED: usize = 16 * 1024 + 16;

fn mechanism(algorithm: WrapAlgorithm) -> Mechanism<'static> {
    match algorithm {
        WrapAlgorithm::AesKeyWrap => Mechanism::AesKeyWrap,
        WrapAlgorithm::AesKeyWrapPadded => Mechanism::AesKeyWrapPad,
        WrapAlgorithm::RsaOaep(h) => oaep(h, h, None),
    }
}

/// The object that does the wrapping (`wrap`) for `key`: the AES key itself, or the public half of an RSA pair.
fn wrapping_object(
    key: &TokenKey,
    algorithm: WrapAlgorithm,
    unwrap: bool,
) -> Result<Kind, BackendError> {
    match (algorithm, key.kind) {
        (WrapAlgorithm::AesKeyWrap | WrapAlgorithm::AesKeyWrapPadded, Kind::Aes(n)) => {
            Ok(Kind::Aes(n))
        }
        (WrapAlgorithm::RsaOaep(_), Kind::RsaPrivate) if unwrap => Ok(Kind::RsaPrivate),
        (WrapAlgorithm::RsaOaep(_), Kind::RsaPrivate | Kind::RsaPublic) if !unwrap => {
            Ok(Kind::RsaPublic)
        }
        (a, k) => Err(BackendError::InvalidInput(format!(
            "{a:?} cannot be done with a {k:?} key"
        ))),
    }
}

impl KeyWrap for Pkcs11Backend {
    fn wrap(
        &self,
        wrapping_key: &KeyRef,
        algorithm: WrapAlgorithm,
        target: &KeyRef,
    ) -> Result<Vec<u8>, BackendError> {
        let wk = self.decode(wrapping_key)?;
        let t = self.decode(target)?;
        if !t.kind.is_secret() {
            return Err(BackendError::InvalidInput(format!(
                "a {:?} object is not a secret key to wrap",
                t.kind
            )));
        }
        if matches!(algorithm, WrapAlgorithm::RsaOaep(_))
            && !matches!(t.kind, Kind::Aes(_) | Kind::Hmac(_))
        {
            return Err(BackendError::InvalidInput(
                "RSA-OAEP wraps symmetric keys only".into(),
            ));
        }
        // The token refuses it as well (CKA_EXTRACTABLE false); answering first keeps the error the same on
        // every token.
        if !t.extractable {
            return Err(BackendError::NotExtractable);
        }
        let wrapper = wrapping_object(&wk, algorithm, false)?;
        let mech = mechanism(algorithm);
        // Two objects: the target's handle is found inside the wrapping key's session call.
        let target_handle = self.object_handle(target)?;
        self.use_object("wrapping a key", wrapper, &wk.id, |s, h| {
            s.wrap_key(&mech, h, target_handle)
        })
    }

    fn unwrap(
        &self,
        unwrapping_key: &KeyRef,
        algorithm: WrapAlgorithm,
        wrapped: &[u8],
        object_type: ObjectType,
        key_algorithm: CryptographicAlgorithm,
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError> {
        let uk = self.decode(unwrapping_key)?;
        if wrapped.len() > MAX_WRAPPED {
            return Err(BackendError::InvalidInput("wrapped key too long".into()));
        }
        let unwrapper = wrapping_object(&uk, algorithm, true)?;
        // The kind of the new key: its length (AES) or curve (EC) is read back from the token after unwrapping.
        let provisional = match (object_type, key_algorithm) {
            (ObjectType::SymmetricKey, CryptographicAlgorithm::Aes) => Kind::Aes(32),
            (ObjectType::SymmetricKey | ObjectType::SecretData, a) => {
                match encoding::hmac_hash(a) {
                    Some(h) => Kind::Hmac(h),
                    None => {
                        return Err(BackendError::Unsupported(format!("unwrapping {a:?} keys")));
                    }
                }
            }
            (ObjectType::PrivateKey, CryptographicAlgorithm::Rsa) => Kind::RsaPrivate,
            (
                ObjectType::PrivateKey,
                CryptographicAlgorithm::Ec
                | CryptographicAlgorithm::Ecdsa
                | CryptographicAlgorithm::Ecdh,
            ) => Kind::EcPrivate(RecommendedCurve::P256),
            (other, a) => {
                return Err(BackendError::Unsupported(format!(
                    "unwrapping into a {other:?} object of {a:?}"
                )));
            }
        };
        let id = crate::backend::new_id()?;
        let mech = mechanism(algorithm);
        let template = self.template(provisional, &id, policy);
        let (handle, attrs) = self
            .use_object("unwrapping a key", unwrapper, &uk.id, |s, h| {
                let new = s
                    .unwrap_key(&mech, h, wrapped, &template)
                    .map_err(integrity_failure)?;
                let read = match provisional {
                    Kind::Aes(_) => vec![AttributeType::ValueLen],
                    Kind::EcPrivate(_) => vec![AttributeType::EcParams],
                    Kind::RsaPrivate => vec![AttributeType::Modulus, AttributeType::PublicExponent],
                    _ => Vec::new(),
                };
                match s.get_attributes(new, &read) {
                    Ok(a) => Ok((new, a)),
                    Err(e) => {
                        let _ = s.destroy_object(new);
                        Err(e)
                    }
                }
            })
            .map_err(|e| match e {
                // The unwrapped bytes did not make a key of this type: the wrapping does not verify or holds
                // something else. Nothing more to say.
                BackendError::InvalidInput(_) => BackendError::Crypto,
                other => other,
            })?;
        let kind = match provisional {
            Kind::Aes(_) => {
                let reported = attrs.iter().find_map(|a| match a {
                    Attribute::ValueLen(l) => Some(u64::from(*l)),
                    _ => None,
                });
                // SoftHSM 2.6 leaves CKA_VALUE_LEN at 0 on unwrapped keys; KW and KWP tell the length by the
                // wrapped size (8 bytes of integrity block; KWP pads AES keys to no extra semiblock). RSA-OAEP
                // does not, and AES operations do not depend on it, so such a key is recorded as 256-bit.
                let len = match (reported, algorithm) {
                    (Some(l @ (16 | 24 | 32)), _) => l as usize,
                    (_, WrapAlgorithm::AesKeyWrap | WrapAlgorithm::AesKeyWrapPadded) => {
                        wrapped.len().saturating_sub(8)
                    }
                    (_, WrapAlgorithm::RsaOaep(_)) => 32,
                };
                match len {
                    16 | 24 | 32 => Kind::Aes(len as u8),
                    _ => {
                        self.destroy_handle(handle);
                        return Err(BackendError::InvalidInput(
                            "the unwrapped key is not an AES key length".into(),
                        ));
                    }
                }
            }
            Kind::EcPrivate(_) => {
                let params = attrs.iter().find_map(|a| match a {
                    Attribute::EcParams(p) => Some(p.as_slice()),
                    _ => None,
                });
                let curve = [RecommendedCurve::P256, RecommendedCurve::P384]
                    .into_iter()
                    .find(|c| encoding::curve_oid_der(*c).ok() == params);
                match curve {
                    Some(c) => Kind::EcPrivate(c),
                    None => {
                        self.destroy_handle(handle);
                        return Err(BackendError::Unsupported(
                            "the unwrapped key's curve".into(),
                        ));
                    }
                }
            }
            other => other,
        };
        if kind == Kind::RsaPrivate {
            // The public half, from the private key's public attributes, so that verify and encrypt work.
            let public: Vec<Attribute> = attrs
                .into_iter()
                .filter(|a| matches!(a, Attribute::Modulus(_) | Attribute::PublicExponent(_)))
                .collect();
            if let Err(e) = self.create_public_object(Kind::RsaPublic, &id, &public, policy) {
                self.destroy_handle(handle);
                return Err(e);
            }
        }
        Ok(self.issue(&TokenKey {
            kind,
            extractable: self.extractable(policy),
            id,
        }))
    }
}

/// SoftHSM 2.6 answers a wrapping whose integrity check fails with CKR_GENERAL_ERROR; inside C_UnwrapKey that is
/// the wrapped data, so it is the cryptographic failure it stands for.
fn integrity_failure(e: cryptoki::error::Error) -> cryptoki::error::Error {
    use cryptoki::error::{Error, RvError};
    match crate::cipher::params_refused(e) {
        Error::Pkcs11(RvError::GeneralError, f @ cryptoki::context::Function::UnwrapKey) => {
            Error::Pkcs11(RvError::WrappedKeyInvalid, f)
        }
        other => other,
    }
}
