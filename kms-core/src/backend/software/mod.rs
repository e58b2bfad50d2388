//! [`SoftwareBackend`]: keys held in memory and used through the RustCrypto crates.
//!
//! A [`KeyRef`] of this backend carries the key material itself (see `key_data` for the encoding); the object
//! store seals every reference at rest, so nothing is sealed twice. Parsed RSA and EC keys and expanded AES-GCM
//! keys are kept in a small bounded cache so that an operation costs what the raw RustCrypto call costs.
//!
//! | Operation      | Algorithms                                                                         |
//! |----------------|------------------------------------------------------------------------------------|
//! | generate       | AES-128/192/256, HMAC-SHA-1/224/256/384/512, RSA 2048/3072/4096 (e = 65537), P-256, P-384 |
//! | encrypt/decrypt| AES-GCM (96-bit IV, 12..16-byte tag, AAD), RSA-OAEP (SHA-1/2, MGF1 same hash or SHA-1, label) |
//! | sign/verify    | RSA PKCS#1 v1.5 and PSS, ECDSA (DER); SHA-224/256/384/512 (SHA-1: verify only)      |
//! | mac            | HMAC-SHA-1/224/256/384/512, constant-time verify, truncation to 128 bits            |
//! | wrap/unwrap    | AES-KW (RFC 3394), AES-KWP (RFC 5649), RSA-OAEP                                     |
//! | key agreement  | ECDH P-256, P-384 (the result is a generic secret)                                 |
//! | random         | the operating system's generator (`getrandom`)                                      |

mod agree;
mod cache;
mod chacha;
mod cipher;
mod dsa_key;
mod formats;
mod hash;
mod key_data;
mod mac;
mod modes;
mod sign;
mod wrap;

use std::fmt;
use std::sync::Arc;

use getrandom::SysRng;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::Generate as _;
use zeroize::Zeroizing;

use self::cache::{KeyCache, Parsed};
use self::cipher::rng_error;
use self::key_data::{KeyData, Kind};
use super::{
    BackendError, Capabilities, Capability, Cipher, GeneratedKey, HashingAlgorithm, KeyAgreement,
    KeyBackend, KeyPolicy, KeyRef, KeySpec, KeyWrap, Mac, Operations, Random, Signer,
};
use crate::material::KeyMaterial;
use crate::object::{CryptographicAlgorithm, ObjectType, RecommendedCurve};

/// A [`KeyBackend`] in software, on the RustCrypto crates.
///
/// ```
/// use kms_core::backend::{CipherParams, KeyBackend, KeyPolicy, KeySpec, GeneratedKey};
/// use kms_core::object::{CryptographicAlgorithm, ObjectId, UsageMask};
/// use kms_core::SoftwareBackend;
///
/// let backend = SoftwareBackend::new();
/// let id = ObjectId::random();
/// let policy = KeyPolicy { id: &id, usage: UsageMask::ENCRYPT | UsageMask::DECRYPT, extractable: false };
/// let spec = KeySpec::Symmetric { algorithm: CryptographicAlgorithm::Aes, bits: 256 };
/// let GeneratedKey::Symmetric(key) = backend.generate(&spec, &policy)? else { unreachable!() };
///
/// let cipher = backend.cipher().expect("the software backend encrypts");
/// let params = CipherParams::AesGcm { iv: None, aad: b"header", tag_len: 16 };
/// let sealed = cipher.encrypt(&key, &params, b"hello")?;
/// let params = CipherParams::AesGcm { iv: sealed.iv.as_deref(), aad: b"header", tag_len: 16 };
/// let opened = cipher.decrypt(&key, &params, &sealed.data, sealed.tag.as_deref())?;
/// assert_eq!(&opened[..], b"hello");
/// # Ok::<(), kms_core::backend::BackendError>(())
/// ```
pub struct SoftwareBackend {
    capabilities: Capabilities,
    cache: KeyCache,
    legacy_rsa_import: bool,
}

impl SoftwareBackend {
    /// How many parsed keys (RSA, EC, expanded AES-GCM) [`SoftwareBackend::new`] keeps.
    pub const DEFAULT_CACHE_CAPACITY: usize = 256;

    /// A backend with the default parsed-key cache ([`SoftwareBackend::DEFAULT_CACHE_CAPACITY`] keys).
    #[must_use]
    pub fn new() -> Self {
        Self::with_cache_capacity(Self::DEFAULT_CACHE_CAPACITY)
    }

    /// A backend that keeps at most `capacity` parsed keys, least recently used out first (0 disables the
    /// cache: every RSA or EC operation parses its key again, every AES-GCM call expands its key).
    #[must_use]
    pub fn with_cache_capacity(capacity: usize) -> Self {
        Self {
            capabilities: capabilities(),
            cache: KeyCache::new(capacity),
            legacy_rsa_import: false,
        }
    }

    /// Lets Register and Import take RSA keys of 1024 to 2047 bits, for interoperability with peers that still
    /// hold them (the OASIS BL-M-7 and BL-M-11 test cases register 1024-bit keys). Off by default: such moduli
    /// are below NIST SP 800-131A's 112-bit security floor. Generation stays 2048, 3072 or 4096 bits.
    #[must_use]
    pub fn allow_legacy_rsa_import(mut self) -> Self {
        self.legacy_rsa_import = true;
        self
    }

    /// The RSA moduli Register and Import accept.
    fn rsa_import_bits(&self) -> &'static std::ops::RangeInclusive<usize> {
        if self.legacy_rsa_import {
            &formats::LEGACY_RSA_BITS
        } else {
            &formats::RSA_BITS
        }
    }

    fn decode(key: &KeyRef) -> Result<KeyData<'_>, BackendError> {
        KeyData::decode(key)
    }

    /// The parsed key of `key`, which must be one of `kinds`.
    fn parsed(
        &self,
        key: &KeyRef,
        data: &KeyData<'_>,
        kinds: &[Kind],
        what: &str,
    ) -> Result<Arc<Parsed>, BackendError> {
        if !kinds.contains(&data.kind) {
            return Err(data.kind.cannot_be_used_for(what));
        }
        self.cache.get(key.data(), data)
    }

    fn generate_symmetric(
        algorithm: CryptographicAlgorithm,
        bits: u32,
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError> {
        let bits = if algorithm == CryptographicAlgorithm::Aes {
            if !matches!(bits, 128 | 192 | 256) {
                return Err(BackendError::Unsupported(format!(
                    "AES keys are 128, 192 or 256 bits, not {bits}"
                )));
            }
            bits
        } else if let Some(h) = formats::hmac_hash(algorithm) {
            let (output, block) = hmac_sizes(h);
            match bits {
                // RFC 2104 §3: keys shorter than the hash output weaken HMAC; longer than a block are hashed.
                0 => output,
                b if b % 8 == 0 && (output..=block).contains(&b) => b,
                b => {
                    return Err(BackendError::Unsupported(format!(
                        "HMAC-{h:?} keys are {output} to {block} bits in whole bytes, not {b}"
                    )));
                }
            }
        } else {
            return Err(BackendError::Unsupported(format!(
                "generating {algorithm:?} keys"
            )));
        };
        let mut key = Zeroizing::new(vec![0u8; (bits / 8) as usize]);
        getrandom::fill(&mut key).map_err(rng_error)?;
        let kind = formats::symmetric_kind(algorithm, key.len())?;
        Ok(key_data::encode(kind, policy.extractable, &key))
    }

    fn generate_rsa(bits: u32, policy: &KeyPolicy<'_>) -> Result<GeneratedKey, BackendError> {
        if !matches!(bits, 2048 | 3072 | 4096) {
            return Err(BackendError::Unsupported(format!(
                "RSA keys are 2048, 3072 or 4096 bits, not {bits}"
            )));
        }
        let key =
            rsa::PrivateKey::new(&mut SysRng, bits as usize).map_err(|e| BackendError::Device {
                message: "RSA key generation failed".into(),
                retryable: true,
                source: Some(Box::new(e)),
            })?;
        let private = key.to_pkcs8_der().map_err(encoding_error)?;
        let public = key
            .as_public_key()
            .to_public_key_der()
            .map_err(encoding_error)?;
        Ok(GeneratedKey::KeyPair {
            private: key_data::encode(Kind::RsaPrivate, policy.extractable, private.as_bytes()),
            public: key_data::encode(Kind::RsaPublic, true, public.as_bytes()),
        })
    }

    fn generate_ec(
        curve: RecommendedCurve,
        policy: &KeyPolicy<'_>,
    ) -> Result<GeneratedKey, BackendError> {
        let (private, public) = match curve {
            RecommendedCurve::P256 => {
                let k = p256::SecretKey::try_generate_from_rng(&mut SysRng).map_err(rng_error)?;
                (
                    k.to_pkcs8_der().map_err(encoding_error)?,
                    k.public_key().to_public_key_der().map_err(encoding_error)?,
                )
            }
            RecommendedCurve::P384 => {
                let k = p384::SecretKey::try_generate_from_rng(&mut SysRng).map_err(rng_error)?;
                (
                    k.to_pkcs8_der().map_err(encoding_error)?,
                    k.public_key().to_public_key_der().map_err(encoding_error)?,
                )
            }
            other => {
                return Err(BackendError::Unsupported(format!("curve {other:?}")));
            }
        };
        Ok(GeneratedKey::KeyPair {
            private: key_data::encode(
                Kind::EcPrivate(curve),
                policy.extractable,
                private.as_bytes(),
            ),
            public: key_data::encode(Kind::EcPublic(curve), true, public.as_bytes()),
        })
    }
}

impl Default for SoftwareBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SoftwareBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareBackend")
            .field("cached_keys", &self.cache.len())
            .finish_non_exhaustive()
    }
}

fn encoding_error(e: impl std::error::Error + Send + Sync + 'static) -> BackendError {
    BackendError::Device {
        message: "encoding a generated key failed".into(),
        retryable: false,
        source: Some(Box::new(e)),
    }
}

/// HMAC key sizes for `h`, in bits: (hash output, hash block).
fn hmac_sizes(h: HashingAlgorithm) -> (u32, u32) {
    match h {
        HashingAlgorithm::Sha1 => (160, 512),
        HashingAlgorithm::Sha224 => (224, 512),
        HashingAlgorithm::Sha256 => (256, 512),
        HashingAlgorithm::Sha384 => (384, 1024),
        HashingAlgorithm::Sha512 => (512, 1024),
    }
}

/// What this backend does, as [`KeyBackend::capabilities`] reports it.
fn capabilities() -> Capabilities {
    let key_life = Operations::GENERATE | Operations::IMPORT | Operations::EXPORT;
    let mut algorithms = vec![
        Capability {
            algorithm: CryptographicAlgorithm::Aes,
            lengths: vec![128, 192, 256],
            operations: key_life
                | Operations::ENCRYPT
                | Operations::DECRYPT
                | Operations::WRAP
                | Operations::UNWRAP,
        },
        Capability {
            algorithm: CryptographicAlgorithm::Rsa,
            lengths: vec![2048, 3072, 4096],
            operations: key_life
                | Operations::ENCRYPT
                | Operations::DECRYPT
                | Operations::SIGN
                | Operations::VERIFY
                | Operations::WRAP
                | Operations::UNWRAP,
        },
    ];
    for (algorithm, h) in [
        (CryptographicAlgorithm::HmacSha1, HashingAlgorithm::Sha1),
        (CryptographicAlgorithm::HmacSha224, HashingAlgorithm::Sha224),
        (CryptographicAlgorithm::HmacSha256, HashingAlgorithm::Sha256),
        (CryptographicAlgorithm::HmacSha384, HashingAlgorithm::Sha384),
        (CryptographicAlgorithm::HmacSha512, HashingAlgorithm::Sha512),
    ] {
        let (output, block) = hmac_sizes(h);
        // Generation takes any whole-byte length in output..=block; these are the usual ones.
        let lengths = [output, 256, 384, 512, 1024]
            .into_iter()
            .filter(|l| (output..=block).contains(l))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        algorithms.push(Capability {
            algorithm,
            lengths,
            operations: key_life | Operations::MAC | Operations::MAC_VERIFY,
        });
    }
    let ec = key_life | Operations::SIGN | Operations::VERIFY | Operations::KEY_AGREEMENT;
    for (algorithm, operations) in [
        (CryptographicAlgorithm::Ec, ec),
        (
            CryptographicAlgorithm::Ecdsa,
            key_life | Operations::SIGN | Operations::VERIFY,
        ),
        (
            CryptographicAlgorithm::Ecdh,
            key_life | Operations::KEY_AGREEMENT,
        ),
    ] {
        algorithms.push(Capability {
            algorithm,
            lengths: vec![256, 384],
            operations,
        });
    }
    // DSA keys are imported (any size `crate::dsa` accepts) and exported, never generated; these are the sizes
    // that sign and verify (1024 verifies only, see `SignatureAlgorithm::Dsa`).
    algorithms.push(Capability {
        algorithm: CryptographicAlgorithm::Dsa,
        lengths: vec![1024, 2048, 3072],
        operations: Operations::IMPORT | Operations::EXPORT | Operations::SIGN | Operations::VERIFY,
    });
    Capabilities {
        algorithms,
        random: true,
    }
}

impl KeyBackend for SoftwareBackend {
    fn id(&self) -> &str {
        key_data::BACKEND_ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn generate(
        &self,
        spec: &KeySpec,
        policy: &KeyPolicy<'_>,
    ) -> Result<GeneratedKey, BackendError> {
        match *spec {
            KeySpec::Symmetric { algorithm, bits } => {
                Self::generate_symmetric(algorithm, bits, policy).map(GeneratedKey::Symmetric)
            }
            KeySpec::Rsa { bits } => Self::generate_rsa(bits, policy),
            KeySpec::Ec { curve } => Self::generate_ec(curve, policy),
        }
    }

    fn import(
        &self,
        object_type: ObjectType,
        algorithm: Option<CryptographicAlgorithm>,
        material: &KeyMaterial,
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError> {
        let (kind, bytes) =
            formats::import(object_type, algorithm, material, self.rsa_import_bits())?;
        Ok(key_data::encode(kind, policy.extractable, &bytes))
    }

    fn export(&self, key: &KeyRef) -> Result<KeyMaterial, BackendError> {
        formats::export(&Self::decode(key)?)
    }

    fn destroy(&self, key: &KeyRef) -> Result<(), BackendError> {
        // The material lives in the reference, which the store deletes; what the backend holds is the parsed
        // copy, dropped (and so zeroized) here. A reference that does not decode was never cached.
        key_data::issued_here(key)?;
        self.cache.remove(key.data());
        Ok(())
    }

    fn exists(&self, key: &KeyRef) -> Result<bool, BackendError> {
        // A damaged reference holds no usable key: for reconciliation that key is gone.
        match Self::decode(key) {
            Ok(_) => Ok(true),
            Err(BackendError::MalformedKeyRef) => Ok(false),
            Err(e) => Err(e),
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

    fn key_wrap(&self) -> Option<&dyn KeyWrap> {
        Some(self)
    }

    fn key_agreement(&self) -> Option<&dyn KeyAgreement> {
        Some(self)
    }

    fn random(&self) -> Option<&dyn Random> {
        Some(self)
    }
}

impl Random for SoftwareBackend {
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), BackendError> {
        getrandom::fill(buf).map_err(rng_error)
    }
}
