//! [`TpmBackend`]: kms-core's [`KeyBackend`] over a TPM 2.0.
//!
//! | Operation      | Algorithms                                                                          |
//! |----------------|-------------------------------------------------------------------------------------|
//! | generate       | RSA-2048 (e = 65537), ECDSA P-256, HMAC-SHA-256/384 (in the TPM: TPM2_Create)        |
//! | sign           | RSASSA-PSS (salt = hash length), RSASSA-PKCS1-v1_5, ECDSA (DER); SHA-256/384/512 digest computed in software, signed by TPM2_Sign |
//! | verify         | in software with the public area                                                    |
//! | decrypt        | RSA-OAEP (TPM2_RSA_Decrypt), MGF1 with the OAEP hash; encrypt in software            |
//! | mac            | TPM2_HMAC (up to 1024 bytes of data: tss-esapi 7 has no HMAC sequences)              |
//! | import         | RSA-2048 and P-256 public keys; HMAC keys (TPM2_Create with the key as sensitive data) |
//! | random         | TPM2_GetRandom                                                                       |
//!
//! Private keys never leave the TPM in the clear: [`KeyBackend::export`] gives public keys only.

mod cipher;
mod mac;
pub(crate) mod public;
pub(crate) use sign::ecdsa_der as sign_der;
mod sign;

use std::sync::Arc;

use kms_core::backend::{
    BackendError, Capabilities, Capability, Cipher, GeneratedKey, KeyBackend, KeyPolicy, KeyRef,
    KeySpec, Mac, Operations, Random, Signer,
};
use kms_core::material::{KeyFormat, KeyMaterial};
use kms_core::object::{CryptographicAlgorithm, ObjectType, RecommendedCurve, UsageMask};
use tss_esapi::interface_types::algorithm::HashingAlgorithm as TpmHash;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{Public, SensitiveData};
use zeroize::Zeroizing;

use crate::blob::{KeyBlob, Kind};
use crate::error::TpmError;
use crate::templates;
use crate::tpm::Tpm;

/// The id written into every [`KeyRef`] this backend issues.
pub const BACKEND_ID: &str = "tpm";
/// The [`KeyRef`] encoding version this backend writes and reads.
const KEY_REF_VERSION: u16 = 1;
/// Longest HMAC key accepted for import (TPM 2.0 Part 2: MAX_SYM_DATA is 128 bytes).
const MAX_HMAC_KEY: usize = 128;

/// A [`KeyBackend`] whose keys are TPM-wrapped blobs, loaded on use.
///
/// ```no_run
/// use kms_core::backend::{GeneratedKey, KeyBackend, KeyPolicy, KeySpec, SignInput, SignatureAlgorithm,
///     HashingAlgorithm};
/// use kms_core::object::{ObjectId, RecommendedCurve, UsageMask};
/// use kms_tpm::TpmBackend;
///
/// let backend = TpmBackend::open("swtpm:host=127.0.0.1,port=2321")?;
/// let id = ObjectId::random();
/// let policy = KeyPolicy { id: &id, usage: UsageMask::SIGN, extractable: false };
/// let GeneratedKey::KeyPair { private, public } =
///     backend.generate(&KeySpec::Ec { curve: RecommendedCurve::P256 }, &policy)? else { unreachable!() };
/// let signer = backend.signer().expect("the TPM backend signs");
/// let alg = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);
/// let sig = signer.sign(&private, alg, SignInput::Message(b"hello"))?;
/// signer.verify(&public, alg, SignInput::Message(b"hello"), &sig)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TpmBackend {
    tpm: Arc<Tpm>,
    capabilities: Capabilities,
}

impl std::fmt::Debug for TpmBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TpmBackend")
            .field("tpm", &self.tpm)
            .finish_non_exhaustive()
    }
}

impl TpmBackend {
    /// The backend over this process's connection to `tcti` ([`Tpm::shared`]).
    ///
    /// # Errors
    /// As [`Tpm::connect_with`].
    pub fn open(tcti: &str) -> Result<Self, TpmError> {
        Ok(Self::new(Tpm::shared(tcti)?))
    }

    /// The backend over an open connection.
    #[must_use]
    pub fn new(tpm: Arc<Tpm>) -> Self {
        Self {
            tpm,
            capabilities: capabilities(),
        }
    }

    /// The connection, for attestation and sealing next to the backend.
    #[must_use]
    pub fn tpm(&self) -> &Arc<Tpm> {
        &self.tpm
    }

    fn key_ref(blob: &KeyBlob) -> KeyRef {
        KeyRef::new(BACKEND_ID, KEY_REF_VERSION, blob.encode())
    }

    pub(crate) fn blob(key: &KeyRef) -> Result<KeyBlob, BackendError> {
        let data = key.expect(BACKEND_ID, KEY_REF_VERSION)?;
        KeyBlob::decode(data).map_err(BackendError::from)
    }

    /// TPM2_Create under the storage key.
    fn create(
        &self,
        kind: Kind,
        template: Public,
        sensitive: Option<SensitiveData>,
    ) -> Result<KeyBlob, TpmError> {
        self.tpm.with(|inner| {
            let created = inner.with_object_slot("Create", |ctx, srk| {
                ctx.execute_with_session(Some(AuthSession::Password), |c| {
                    c.create(srk, template.clone(), None, sensitive.clone(), None, None)
                })
            })?;
            KeyBlob::new(
                kind,
                &inner.srk_name,
                created.out_public,
                Some(&created.out_private),
            )
        })
    }

    fn generate_pair(&self, spec: &KeySpec, usage: UsageMask) -> Result<GeneratedKey, TpmError> {
        let (private_kind, public_kind, template) = match *spec {
            KeySpec::Rsa { bits: 2048 } => {
                let mut sign = usage.contains(UsageMask::SIGN);
                let mut decrypt = usage.intersects(UsageMask::DECRYPT | UsageMask::UNWRAP_KEY);
                if !sign && !decrypt {
                    // No TPM use named: keep both, the KeyManager's usage mask still governs.
                    (sign, decrypt) = (true, true);
                }
                (
                    Kind::RsaPrivate,
                    Kind::RsaPublic,
                    templates::rsa_2048(sign, decrypt),
                )
            }
            KeySpec::Rsa { bits } => {
                return Err(TpmError::Unsupported(format!(
                    "RSA keys of {bits} bits (the TPM backend makes RSA-2048)"
                )));
            }
            KeySpec::Ec {
                curve: RecommendedCurve::P256,
            } => (
                Kind::EcP256Private,
                Kind::EcP256Public,
                templates::ecdsa_p256(),
            ),
            KeySpec::Ec { curve } => {
                return Err(TpmError::Unsupported(format!("curve {curve:?}")));
            }
            KeySpec::Symmetric { .. } => {
                return Err(TpmError::InvalidInput(
                    "a symmetric spec is not a key pair".into(),
                ));
            }
        };
        let template = template.map_err(TpmError::tss("template"))?;
        let private = self.create(private_kind, template, None)?;
        let public = private.public_half(public_kind);
        Ok(GeneratedKey::KeyPair {
            private: Self::key_ref(&private),
            public: Self::key_ref(&public),
        })
    }

    fn generate_hmac(
        &self,
        algorithm: CryptographicAlgorithm,
        bits: u32,
    ) -> Result<KeyRef, TpmError> {
        let hash = hmac_hash(algorithm).ok_or_else(|| {
            TpmError::Unsupported(format!("generating {algorithm:?} keys in the TPM"))
        })?;
        let size = digest_len(hash) as u32 * 8;
        if bits != 0 && bits != size {
            return Err(TpmError::Unsupported(format!(
                "the TPM generates HMAC keys as long as the hash ({size} bits), not {bits}"
            )));
        }
        let template = templates::hmac(hash, true).map_err(TpmError::tss("template"))?;
        Ok(Self::key_ref(&self.create(Kind::Hmac, template, None)?))
    }
}

/// The TPM hash of an HMAC key algorithm this backend handles.
pub(crate) fn hmac_hash(algorithm: CryptographicAlgorithm) -> Option<TpmHash> {
    match algorithm {
        CryptographicAlgorithm::HmacSha256 => Some(TpmHash::Sha256),
        CryptographicAlgorithm::HmacSha384 => Some(TpmHash::Sha384),
        _ => None,
    }
}

pub(crate) fn digest_len(h: TpmHash) -> usize {
    match h {
        TpmHash::Sha1 => 20,
        TpmHash::Sha384 => 48,
        TpmHash::Sha512 => 64,
        _ => 32,
    }
}

fn capabilities() -> Capabilities {
    let asym = Operations::GENERATE | Operations::IMPORT | Operations::EXPORT;
    let mut algorithms = vec![
        Capability {
            algorithm: CryptographicAlgorithm::Rsa,
            lengths: vec![2048],
            operations: asym
                | Operations::SIGN
                | Operations::VERIFY
                | Operations::ENCRYPT
                | Operations::DECRYPT,
        },
        Capability {
            algorithm: CryptographicAlgorithm::Ec,
            lengths: vec![256],
            operations: asym | Operations::SIGN | Operations::VERIFY,
        },
        Capability {
            algorithm: CryptographicAlgorithm::Ecdsa,
            lengths: vec![256],
            operations: asym | Operations::SIGN | Operations::VERIFY,
        },
    ];
    for (algorithm, bits) in [
        (CryptographicAlgorithm::HmacSha256, 256),
        (CryptographicAlgorithm::HmacSha384, 384),
    ] {
        algorithms.push(Capability {
            algorithm,
            lengths: vec![bits],
            operations: Operations::GENERATE
                | Operations::IMPORT
                | Operations::MAC
                | Operations::MAC_VERIFY,
        });
    }
    Capabilities {
        algorithms,
        random: true,
    }
}

impl KeyBackend for TpmBackend {
    fn id(&self) -> &str {
        BACKEND_ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn generate(
        &self,
        spec: &KeySpec,
        policy: &KeyPolicy<'_>,
    ) -> Result<GeneratedKey, BackendError> {
        // `extractable` permits export, it does not demand it (KMIP's default is true): TPM keys are fixedTPM
        // whatever it says, and export answers NotExtractable for their private halves.
        Ok(match *spec {
            KeySpec::Symmetric { algorithm, bits } => {
                GeneratedKey::Symmetric(self.generate_hmac(algorithm, bits)?)
            }
            _ => self.generate_pair(spec, policy.usage)?,
        })
    }

    fn import(
        &self,
        object_type: ObjectType,
        algorithm: Option<CryptographicAlgorithm>,
        material: &KeyMaterial,
        _policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError> {
        match (object_type, material.format()) {
            (ObjectType::PublicKey, KeyFormat::SubjectPublicKeyInfo) => {
                let (public, rsa) = public::from_spki(material.bytes())?;
                let kind = if rsa {
                    Kind::RsaPublic
                } else {
                    Kind::EcP256Public
                };
                let blob = KeyBlob::new(kind, &[], public, None)?;
                Ok(Self::key_ref(&blob))
            }
            (ObjectType::SymmetricKey, KeyFormat::Raw) => {
                let algorithm = algorithm.ok_or_else(|| {
                    BackendError::InvalidInput("a symmetric key needs its algorithm".into())
                })?;
                let hash = hmac_hash(algorithm).ok_or_else(|| {
                    BackendError::Unsupported(format!("importing {algorithm:?} keys into the TPM"))
                })?;
                let key = material.bytes();
                if key.is_empty() || key.len() > MAX_HMAC_KEY {
                    return Err(BackendError::InvalidInput(format!(
                        "HMAC keys for the TPM are 1 to {MAX_HMAC_KEY} bytes, got {}",
                        key.len()
                    )));
                }
                let template = templates::hmac(hash, false).map_err(TpmError::tss("template"))?;
                let sensitive = SensitiveData::try_from(key.to_vec())
                    .map_err(|_| BackendError::InvalidInput("HMAC key too long".into()))?;
                Ok(Self::key_ref(&self.create(
                    Kind::Hmac,
                    template,
                    Some(sensitive),
                )?))
            }
            (ObjectType::PrivateKey, _) => Err(BackendError::Unsupported(
                "importing private keys into the TPM (keys are generated inside it)".into(),
            )),
            (t, f) => Err(BackendError::Unsupported(format!(
                "importing a {t:?} in {f:?} format into the TPM"
            ))),
        }
    }

    fn export(&self, key: &KeyRef) -> Result<KeyMaterial, BackendError> {
        let blob = Self::blob(key)?;
        match blob.kind {
            Kind::RsaPublic | Kind::EcP256Public => Ok(KeyMaterial::new(
                KeyFormat::SubjectPublicKeyInfo,
                Zeroizing::new(public::spki_der(&blob.public)?),
            )),
            _ => Err(BackendError::NotExtractable),
        }
    }

    fn destroy(&self, key: &KeyRef) -> Result<(), BackendError> {
        // The key exists only as the blob the store deletes; what the TPM holds is a loaded copy, flushed here.
        let blob = Self::blob(key)?;
        self.tpm.with(|inner| {
            inner.forget(&blob);
            Ok(())
        })?;
        Ok(())
    }

    fn exists(&self, key: &KeyRef) -> Result<bool, BackendError> {
        let blob = match Self::blob(key) {
            Ok(b) => b,
            Err(BackendError::MalformedKeyRef) => return Ok(false),
            Err(e) => return Err(e),
        };
        if !blob.kind.is_loadable() {
            return Ok(true);
        }
        // A blob exists for this TPM if the TPM accepts to load it.
        match self
            .tpm
            .with(|inner| inner.with_loaded(&blob, |_, _| Ok(())))
        {
            Ok(()) => Ok(true),
            Err(TpmError::ForeignBlob | TpmError::MalformedBlob) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn cipher(&self) -> Option<&dyn Cipher> {
        Some(self)
    }

    fn signer(&self) -> Option<&dyn Signer> {
        Some(self)
    }

    fn mac(&self) -> Option<&dyn Mac> {
        Some(self)
    }

    fn random(&self) -> Option<&dyn Random> {
        Some(self)
    }
}

impl Random for TpmBackend {
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), BackendError> {
        Ok(self.tpm.fill_random(buf)?)
    }
}
