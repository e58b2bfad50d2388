//! KMIP Derive Key: HKDF (RFC 5869) and PBKDF2 (RFC 8018) from a symmetric key or secret data.
//!
//! The backends have no derivation primitive, so the manager reads the base value from its backend (which must let
//! it: a backend holding it as non-extractable answers [`Error::NotExtractable`]), derives in a zeroizing buffer,
//! and imports the result into the same backend.

use zeroize::Zeroizing;

use super::create::{new_metadata, policy_of, symmetric_spec};
use super::{KeyManager, usable};
use crate::audit::Operation;
use crate::backend::HashingAlgorithm;
use crate::error::{Error, Result};
use crate::material::{KeyFormat, KeyMaterial};
use crate::object::{Attributes, Link, LinkType, ObjectId, ObjectType, Purpose, Rights, UsageMask};
use crate::principal::Principal;
use crate::store::StoredObject;

/// Most PBKDF2 iterations accepted: enough for any password policy, bounded so one request cannot hold a core
/// for minutes.
pub const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
/// Longest salt or info accepted.
pub const MAX_DERIVATION_INPUT: usize = 4096;

/// KMIP Derivation Method with its Derivation Parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DerivationMethod {
    /// HKDF (extract then expand) with HMAC over `hash`.
    Hkdf {
        /// SHA-256, SHA-384 or SHA-512.
        hash: HashingAlgorithm,
        /// The salt (empty for none).
        salt: Vec<u8>,
        /// The info string.
        info: Vec<u8>,
    },
    /// PBKDF2 with HMAC over `hash`.
    Pbkdf2 {
        /// SHA-256, SHA-384 or SHA-512.
        hash: HashingAlgorithm,
        /// The salt.
        salt: Vec<u8>,
        /// Iteration Count, 1 to [`MAX_PBKDF2_ITERATIONS`].
        iterations: u32,
    },
}

impl KeyManager {
    /// KMIP Derive Key: a new symmetric key from the base object `base_id` (a symmetric key or secret data with
    /// Derive Key in its usage mask, Active). `attributes` give the new key's Cryptographic Algorithm and Length.
    /// The new key gets a Derivation Base Object Link; the base gets a Derived Key Link.
    ///
    /// # Errors
    /// [`Error::MissingData`] without algorithm or length; [`Error::InvalidField`] for a bad length or parameter;
    /// [`Error::UnsupportedCryptographicParameters`] for SHA-1/SHA-224; [`Error::IllegalObjectType`],
    /// [`Error::WrongKeyLifecycleState`], [`Error::IncompatibleCryptographicUsageMask`] for the base;
    /// [`Error::NotExtractable`] when the base's backend will not let its value out; access, backend and store
    /// errors (after which nothing derived remains).
    pub fn derive(
        &self,
        who: &Principal,
        base_id: &ObjectId,
        method: &DerivationMethod,
        attributes: Attributes,
    ) -> Result<ObjectId> {
        let result = self.derive_inner(who, base_id, method, attributes);
        self.emit(
            who,
            Operation::DeriveKey,
            Some(result.as_ref().ok().unwrap_or(base_id).clone()),
            result.as_ref().err(),
        );
        result
    }

    fn derive_inner(
        &self,
        who: &Principal,
        base_id: &ObjectId,
        method: &DerivationMethod,
        mut attributes: Attributes,
    ) -> Result<ObjectId> {
        let (algorithm, bits) = symmetric_spec(&mut attributes)?;
        let out_len = (bits / 8) as usize;
        check_method(method, out_len)?;
        let now = self.now();
        let base = self.load(who, base_id, Rights::USE, now)?;
        let base_key = usable(
            &base,
            &[ObjectType::SymmetricKey, ObjectType::SecretData],
            Purpose::Protect,
            UsageMask::DERIVE_KEY,
            now,
        )?;
        let backend = self.backend_for(base_key)?;
        let secret = backend.export(base_key)?;
        let derived = derive_bytes(method, secret.bytes(), out_len)?;
        drop(secret);

        let id = ObjectId::random();
        attributes.links.push(Link {
            link_type: LinkType::DerivationBaseObjectLink,
            linked_object_id: base_id.clone(),
        });
        let metadata = new_metadata(who, &id, ObjectType::SymmetricKey, attributes, now)?;
        self.check_names_unique(who.name(), &metadata.attributes.names, &[])?;
        let key = backend.import(
            ObjectType::SymmetricKey,
            Some(algorithm),
            &KeyMaterial::new(KeyFormat::Raw, derived),
            &policy_of(&metadata),
        )?;
        let object = StoredObject {
            metadata,
            key: Some(key),
            version: 1,
        };
        self.record_new(&object)?;
        let linked = self.update_object(who, base_id, Rights::USE, |o, _| {
            o.metadata.attributes.links.push(Link {
                link_type: LinkType::DerivedKeyLink,
                linked_object_id: id.clone(),
            });
            Ok(())
        });
        if let Err(e) = linked {
            self.forget(&object);
            return Err(e);
        }
        Ok(id)
    }
}

fn check_method(method: &DerivationMethod, out_len: usize) -> Result<()> {
    let (hash, inputs) = match method {
        DerivationMethod::Hkdf { hash, salt, info } => (hash, [salt.len(), info.len()]),
        DerivationMethod::Pbkdf2 {
            hash,
            salt,
            iterations,
        } => {
            if *iterations == 0 || *iterations > MAX_PBKDF2_ITERATIONS {
                return Err(Error::InvalidField(format!(
                    "Iteration Count must be 1 to {MAX_PBKDF2_ITERATIONS}"
                )));
            }
            (hash, [salt.len(), 0])
        }
    };
    if inputs.iter().any(|l| *l > MAX_DERIVATION_INPUT) {
        return Err(Error::InvalidField(format!(
            "salt and info must be at most {MAX_DERIVATION_INPUT} bytes"
        )));
    }
    let hash_len = match hash {
        HashingAlgorithm::Sha256 => 32,
        HashingAlgorithm::Sha384 => 48,
        HashingAlgorithm::Sha512 => 64,
        other => {
            return Err(Error::UnsupportedCryptographicParameters(format!(
                "derivation with {other:?}"
            )));
        }
    };
    // RFC 5869 §2.3: HKDF output is at most 255 hash lengths.
    if matches!(method, DerivationMethod::Hkdf { .. }) && out_len > 255 * hash_len {
        return Err(Error::InvalidField("HKDF output too long".into()));
    }
    Ok(())
}

fn derive_bytes(
    method: &DerivationMethod,
    secret: &[u8],
    out_len: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(vec![0u8; out_len]);
    let bad = |_| Error::InvalidField("HKDF output too long".into());
    match method {
        DerivationMethod::Hkdf { hash, salt, info } => {
            let salt = (!salt.is_empty()).then_some(salt.as_slice());
            match hash {
                HashingAlgorithm::Sha256 => {
                    hkdf::Hkdf::<sha2::Sha256>::new(salt, secret)
                        .expand(info, &mut out)
                        .map_err(bad)?;
                }
                HashingAlgorithm::Sha384 => {
                    hkdf::Hkdf::<sha2::Sha384>::new(salt, secret)
                        .expand(info, &mut out)
                        .map_err(bad)?;
                }
                HashingAlgorithm::Sha512 => {
                    hkdf::Hkdf::<sha2::Sha512>::new(salt, secret)
                        .expand(info, &mut out)
                        .map_err(bad)?;
                }
                other => {
                    return Err(Error::UnsupportedCryptographicParameters(format!(
                        "derivation with {other:?}"
                    )));
                }
            }
        }
        DerivationMethod::Pbkdf2 {
            hash,
            salt,
            iterations,
        } => match hash {
            HashingAlgorithm::Sha256 => {
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(secret, salt, *iterations, &mut out);
            }
            HashingAlgorithm::Sha384 => {
                pbkdf2::pbkdf2_hmac::<sha2::Sha384>(secret, salt, *iterations, &mut out);
            }
            HashingAlgorithm::Sha512 => {
                pbkdf2::pbkdf2_hmac::<sha2::Sha512>(secret, salt, *iterations, &mut out);
            }
            other => {
                return Err(Error::UnsupportedCryptographicParameters(format!(
                    "derivation with {other:?}"
                )));
            }
        },
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 5869 Appendix A.1 (HKDF-SHA256, basic test case).
    #[test]
    fn hkdf_sha256_rfc5869_a1() {
        let ikm = [0x0bu8; 22];
        let salt = hex::decode("000102030405060708090a0b0c").unwrap();
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
        let method = DerivationMethod::Hkdf {
            hash: HashingAlgorithm::Sha256,
            salt,
            info,
        };
        let okm = derive_bytes(&method, &ikm, 42).unwrap();
        assert_eq!(
            okm.as_slice(),
            hex::decode("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865").unwrap().as_slice()
        );
    }

    /// RFC 7914 §11 (PBKDF2-HMAC-SHA256, "passwd"/"salt", 1 iteration).
    #[test]
    fn pbkdf2_sha256_rfc7914() {
        let method = DerivationMethod::Pbkdf2 {
            hash: HashingAlgorithm::Sha256,
            salt: b"salt".to_vec(),
            iterations: 1,
        };
        let out = derive_bytes(&method, b"passwd", 64).unwrap();
        assert_eq!(
            out.as_slice(),
            hex::decode("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783").unwrap().as_slice()
        );
    }
}
