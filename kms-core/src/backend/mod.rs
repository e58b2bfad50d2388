//! Key backends: where keys are generated and used.
//!
//! A [`KeyBackend`] creates keys and hands out opaque [`KeyRef`]s; the store persists them and only the backend
//! that issued a `KeyRef` interprets it. The operations are small capability traits ([`Cipher`], [`Signer`],
//! [`Mac`], [`KeyWrap`], [`KeyAgreement`], [`Random`]) that a backend offers through the accessors of
//! [`KeyBackend`]; which algorithms and lengths it handles is data ([`Capabilities`]), so that callers (and KMIP
//! Query) learn what a backend can do without trying.
//!
//! Backends are synchronous and `Send + Sync` (PKCS#11 and TPM calls block anyway); async code calls them through
//! `spawn_blocking` or a worker pool.

mod capabilities;
pub mod checks;
mod key_ref;
mod software;

use std::error::Error as StdError;
use std::fmt;

use zeroize::Zeroizing;

pub use capabilities::{Capabilities, Capability, Operations};
pub use key_ref::KeyRef;
pub use software::SoftwareBackend;

use crate::material::KeyMaterial;
use crate::object::{CryptographicAlgorithm, ObjectId, ObjectType, RecommendedCurve, UsageMask};

/// Errors of key backends.
///
/// [`BackendError::Crypto`] is deliberately opaque (a failed tag, signature or padding check says nothing more);
/// device failures keep their source for operators.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// A cryptographic check failed (authentication tag, signature, padding). No detail, by design.
    #[error("cryptographic failure")]
    Crypto,
    /// The backend does not do this algorithm, length, mode or operation.
    #[error("not supported by this backend: {0}")]
    Unsupported(String),
    /// The input is malformed (wrong key length, IV length, unparsable key encoding, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The key the reference names is not (or no longer) in the backend.
    #[error("key not found in the backend")]
    KeyNotFound,
    /// The key may not leave the backend.
    #[error("key not extractable")]
    NotExtractable,
    /// The reference was issued by another backend, or by a newer version of this one.
    #[error("key reference not issued by this backend")]
    ForeignKeyRef,
    /// The reference cannot be decoded.
    #[error("malformed key reference")]
    MalformedKeyRef,
    /// The device or library failed (token removed, session lost, TPM busy, ...).
    #[error("device error: {message}")]
    Device {
        /// What failed, for operators; never key material.
        message: String,
        /// Whether the same call may succeed later (after reconnecting, when the device is back).
        retryable: bool,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
}

impl BackendError {
    /// Whether the same call may succeed later.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            BackendError::Device {
                retryable: true,
                ..
            }
        )
    }
}

/// What key to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpec {
    /// A symmetric key: AES (128, 192, 256) or an HMAC key (`HmacSha*`, length in bits).
    Symmetric {
        /// AES or one of the HMAC algorithms.
        algorithm: CryptographicAlgorithm,
        /// Key length in bits; 0 asks for the backend's default where the algorithm has one (HMAC: the hash's
        /// output size).
        bits: u32,
    },
    /// An RSA key pair with exponent 65537.
    Rsa {
        /// Modulus length in bits.
        bits: u32,
    },
    /// An elliptic-curve key pair (usable for ECDSA and ECDH as its usage mask allows).
    Ec {
        /// The curve.
        curve: RecommendedCurve,
    },
}

/// How a new key may be used, which a hardware backend enforces in the token (CKA_SIGN, CKA_EXTRACTABLE, ...).
#[derive(Clone, Copy, Debug)]
pub struct KeyPolicy<'a> {
    /// The managed object the key belongs to (a token may use it as the key's label).
    pub id: &'a ObjectId,
    /// The operations the key may be used for.
    pub usage: UsageMask,
    /// Whether the key may ever leave the backend.
    pub extractable: bool,
}

/// The result of [`KeyBackend::generate`].
#[derive(Debug)]
pub enum GeneratedKey {
    /// A symmetric key.
    Symmetric(KeyRef),
    /// A key pair.
    KeyPair {
        /// The private key.
        private: KeyRef,
        /// The public key (always exportable as `SubjectPublicKeyInfo`).
        public: KeyRef,
    },
}

/// KMIP Hashing Algorithm, the ones this family implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashingAlgorithm {
    /// SHA-1 (legacy interop only: OAEP on older tokens, XKMS).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// The hash's name in FIPS 180-4: `SHA-256`.
impl fmt::Display for HashingAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HashingAlgorithm::Sha1 => "SHA-1",
            HashingAlgorithm::Sha224 => "SHA-224",
            HashingAlgorithm::Sha256 => "SHA-256",
            HashingAlgorithm::Sha384 => "SHA-384",
            HashingAlgorithm::Sha512 => "SHA-512",
        })
    }
}

/// Parameters of [`Cipher`] operations. Borrowed, as cryptoki's mechanism parameters are.
#[derive(Clone, Copy, Debug)]
pub enum CipherParams<'a> {
    /// AES-GCM. On encrypt a missing IV makes the backend choose a random 96-bit one.
    AesGcm {
        /// The IV (nonce): 12 bytes recommended; 8, 16 and 60 bytes are accepted from clients.
        iv: Option<&'a [u8]>,
        /// Additional authenticated data.
        aad: &'a [u8],
        /// Tag length in bytes (12 to 16).
        tag_len: usize,
    },
    /// AES-ECB (NIST SP 800-38A), for interoperability only: equal blocks encrypt equally.
    AesEcb {
        /// PKCS#5 padding; without it the data is whole 16-byte blocks.
        padding: bool,
    },
    /// AES-CBC (NIST SP 800-38A). On encrypt a missing IV makes the backend choose a random one.
    AesCbc {
        /// The 16-byte IV.
        iv: Option<&'a [u8]>,
        /// PKCS#5 padding; without it the data is whole 16-byte blocks.
        padding: bool,
    },
    /// ChaCha20 from block 0, without authentication: RFC 8439 §2.4 with a 12-byte nonce, or the original variant
    /// with an 8-byte nonce (the OASIS profiles' test cases). On encrypt a missing nonce makes the backend choose a
    /// random 12-byte one.
    ChaCha20 {
        /// The nonce (12 or 8 bytes).
        nonce: Option<&'a [u8]>,
    },
    /// ChaCha20-Poly1305 (RFC 8439 §2.8): 12-byte nonce, 16-byte tag, which may be truncated as GCM's. On encrypt a
    /// missing nonce makes the backend choose a random one.
    ChaCha20Poly1305 {
        /// The 12-byte nonce.
        nonce: Option<&'a [u8]>,
        /// Additional authenticated data.
        aad: &'a [u8],
        /// Tag length in bytes (12 to 16).
        tag_len: usize,
    },
    /// RSA-OAEP.
    RsaOaep {
        /// The OAEP hash.
        hash: HashingAlgorithm,
        /// The MGF1 hash (usually the same).
        mgf1_hash: HashingAlgorithm,
        /// Optional label.
        label: Option<&'a [u8]>,
    },
}

/// The output of [`Cipher::encrypt`], split as KMIP returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    /// The ciphertext (without the tag).
    pub data: Vec<u8>,
    /// The IV that was used, when the backend chose it or the mode has one.
    pub iv: Option<ShortBytes>,
    /// The authentication tag of AEAD modes.
    pub tag: Option<ShortBytes>,
}

/// A byte string of at most [`ShortBytes::CAPACITY`] bytes held inline: the IV or nonce and the tag that an
/// encryption returns besides the data. Every AEAD call returns both, and as `Vec`s they cost two allocations,
/// about a sixth of the manager's whole overhead on a 4 KiB AES-GCM call. Neither is secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShortBytes {
    len: u8,
    bytes: [u8; ShortBytes::CAPACITY],
}

impl ShortBytes {
    /// The longest value held: the 60-byte GCM IVs of NIST's and the KMIP profiles' test cases, rounded up.
    pub const CAPACITY: usize = 64;

    /// Copies `value`.
    ///
    /// # Errors
    /// [`BackendError::InvalidInput`] when it is longer than [`ShortBytes::CAPACITY`].
    pub fn new(value: &[u8]) -> Result<Self, BackendError> {
        let mut bytes = [0u8; Self::CAPACITY];
        bytes
            .get_mut(..value.len())
            .ok_or_else(|| {
                BackendError::InvalidInput(format!(
                    "an IV or tag is at most {} bytes, got {}",
                    Self::CAPACITY,
                    value.len()
                ))
            })?
            .copy_from_slice(value);
        Ok(Self {
            len: u8::try_from(value.len()).unwrap_or(u8::MAX),
            bytes,
        })
    }
}

impl std::ops::Deref for ShortBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::ops::DerefMut for ShortBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..usize::from(self.len)]
    }
}

impl AsRef<[u8]> for ShortBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl fmt::Debug for ShortBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShortBytes(")?;
        for b in &**self {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// Encryption and decryption.
pub trait Cipher: Send + Sync {
    /// Encrypts `plaintext` under `key`.
    ///
    /// # Errors
    /// [`BackendError::Unsupported`] for a mode the key cannot do, [`BackendError::InvalidInput`] for bad
    /// parameters, [`BackendError::KeyNotFound`] and device errors.
    fn encrypt(
        &self,
        key: &KeyRef,
        params: &CipherParams<'_>,
        plaintext: &[u8],
    ) -> Result<Ciphertext, BackendError>;

    /// Decrypts; `tag` is the AEAD tag for modes that have one.
    ///
    /// # Errors
    /// [`BackendError::Crypto`] when the tag or padding does not verify, and the errors of [`Cipher::encrypt`].
    fn decrypt(
        &self,
        key: &KeyRef,
        params: &CipherParams<'_>,
        ciphertext: &[u8],
        tag: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>, BackendError>;
}

/// Signature schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1v15(HashingAlgorithm),
    /// RSASSA-PSS with MGF1 over the same hash and a salt as long as the hash.
    RsaPss(HashingAlgorithm),
    /// ECDSA; signatures are DER-encoded `Ecdsa-Sig-Value` (as X.509, KMIP peers and OpenSSL use).
    Ecdsa(HashingAlgorithm),
    /// DSA (FIPS 186-4 §4.6); signatures are DER-encoded `Dss-Sig-Value` (RFC 3279 §2.2.2), as X.509 and KMIP
    /// peers use. FIPS 186-5 no longer approves making DSA signatures, only verifying them. Backends that offer
    /// DSA still sign, since KMIP clients register DSA keys and ask for DSA with SHA-224 or SHA-256, but only
    /// as SP 800-131A last allowed: with (L, N) = (2048, 224), (2048, 256) or (3072, 256), never with SHA-1, and
    /// with k derived from the key and digest (RFC 6979) rather than from a random number generator a fault
    /// could weaken. Verification also takes (1024, 160) keys and SHA-1, so that legacy signatures still check.
    /// A digest longer than N bits (SHA-384, SHA-512) is truncated to its leftmost N bits, as FIPS 186-4 §4.6
    /// says. Other sizes (the 512-bit keys of old test suites) are unsupported.
    Dsa(HashingAlgorithm),
}

/// The scheme as error messages name it: `ECDSA with SHA-256`.
impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureAlgorithm::RsaPkcs1v15(h) => write!(f, "RSASSA-PKCS1-v1_5 with {h}"),
            SignatureAlgorithm::RsaPss(h) => write!(f, "RSASSA-PSS with {h}"),
            SignatureAlgorithm::Ecdsa(h) => write!(f, "ECDSA with {h}"),
            SignatureAlgorithm::Dsa(h) => write!(f, "DSA with {h}"),
        }
    }
}

/// What is signed: the message (the backend hashes it), or a digest computed by the caller.
#[derive(Clone, Copy, Debug)]
pub enum SignInput<'a> {
    /// The message.
    Message(&'a [u8]),
    /// The digest of the message under the scheme's hash.
    Digest(&'a [u8]),
}

/// Signing and verification.
pub trait Signer: Send + Sync {
    /// Signs with a private key.
    ///
    /// # Errors
    /// [`BackendError::Unsupported`], [`BackendError::InvalidInput`] (e.g. a digest of the wrong length),
    /// [`BackendError::KeyNotFound`] and device errors.
    fn sign(
        &self,
        key: &KeyRef,
        algorithm: SignatureAlgorithm,
        input: SignInput<'_>,
    ) -> Result<Vec<u8>, BackendError>;

    /// Verifies with a public key (or the public half of a private key the backend holds).
    ///
    /// # Errors
    /// [`BackendError::Crypto`] when the signature does not verify; otherwise as [`Signer::sign`].
    fn verify(
        &self,
        key: &KeyRef,
        algorithm: SignatureAlgorithm,
        input: SignInput<'_>,
        signature: &[u8],
    ) -> Result<(), BackendError>;
}

/// HMAC.
pub trait Mac: Send + Sync {
    /// Computes the HMAC of `data` under `key` with `hash`.
    ///
    /// # Errors
    /// [`BackendError::Unsupported`], [`BackendError::KeyNotFound`] and device errors.
    fn mac(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, BackendError>;

    /// Checks `mac` in constant time.
    ///
    /// # Errors
    /// [`BackendError::Crypto`] when it does not match; otherwise as [`Mac::mac`].
    fn mac_verify(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
        mac: &[u8],
    ) -> Result<(), BackendError>;

    /// Computes HMAC with `hash` keyed by the raw bytes of a symmetric key of a cipher algorithm (an AES key).
    ///
    /// KMIP lets a key's Cryptographic Parameters, in the request or the object's attribute, choose the MAC method
    /// (KMIP 2.1 §6.1.29 MAC), so a key registered as AES with Cryptographic Parameters naming HMAC-SHA256 computes
    /// HMAC-SHA256 (the OASIS CS-AC-M-4 to 6 test cases). This is kept apart from [`Mac::mac`], which refuses
    /// such keys, so that using a cipher key as a MAC key is always the caller's explicit choice.
    ///
    /// # Errors
    /// [`BackendError::Unsupported`] unless the backend offers it (the default); otherwise as [`Mac::mac`].
    fn mac_with_cipher_key(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        let _ = (key, hash, data);
        Err(BackendError::Unsupported(
            "HMAC keyed by a cipher key".into(),
        ))
    }

    /// Checks in constant time a MAC made by [`Mac::mac_with_cipher_key`].
    ///
    /// # Errors
    /// [`BackendError::Crypto`] when it does not match; otherwise as [`Mac::mac_with_cipher_key`].
    fn mac_verify_with_cipher_key(
        &self,
        key: &KeyRef,
        hash: HashingAlgorithm,
        data: &[u8],
        mac: &[u8],
    ) -> Result<(), BackendError> {
        let _ = (key, hash, data, mac);
        Err(BackendError::Unsupported(
            "HMAC keyed by a cipher key".into(),
        ))
    }
}

/// Key wrapping algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrapAlgorithm {
    /// AES Key Wrap, RFC 3394 (NIST SP 800-38F KW).
    AesKeyWrap,
    /// AES Key Wrap with Padding, RFC 5649 (KWP).
    AesKeyWrapPadded,
    /// RSA-OAEP with the given hash (and MGF1 over it).
    RsaOaep(HashingAlgorithm),
}

/// Wrapping keys under other keys of the same backend.
pub trait KeyWrap: Send + Sync {
    /// Wraps the key value of `target` (in its canonical [`KeyFormat`](crate::KeyFormat)) under `wrapping_key`.
    ///
    /// # Errors
    /// [`BackendError::NotExtractable`] when `target` may not leave the backend even wrapped, and the usual ones.
    fn wrap(
        &self,
        wrapping_key: &KeyRef,
        algorithm: WrapAlgorithm,
        target: &KeyRef,
    ) -> Result<Vec<u8>, BackendError>;

    /// Unwraps `wrapped` into a new key of `object_type` held by the backend.
    ///
    /// # Errors
    /// [`BackendError::Crypto`] when the wrapping does not verify, and the usual ones.
    fn unwrap(
        &self,
        unwrapping_key: &KeyRef,
        algorithm: WrapAlgorithm,
        wrapped: &[u8],
        object_type: ObjectType,
        key_algorithm: CryptographicAlgorithm,
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError>;
}

/// Elliptic-curve Diffie-Hellman.
pub trait KeyAgreement: Send + Sync {
    /// Agrees a shared secret between `private_key` and the peer's `SubjectPublicKeyInfo`; the secret stays in the
    /// backend as a new raw symmetric key.
    ///
    /// # Errors
    /// [`BackendError::InvalidInput`] for a peer key on another curve or not on the curve, and the usual ones.
    fn agree(
        &self,
        private_key: &KeyRef,
        peer_public_key: &[u8],
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError>;
}

/// Random bytes from the backend's generator.
pub trait Random: Send + Sync {
    /// Fills `buf`.
    ///
    /// # Errors
    /// Device errors.
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), BackendError>;
}

/// A place where keys are generated, held and used: software, a PKCS#11 token, a TPM.
///
/// Object-safe; every operation takes `&self` and locks inside as it needs.
pub trait KeyBackend: Send + Sync {
    /// The backend's identifier, written into every [`KeyRef`] it issues (`"software"`, `"pkcs11"`, `"tpm"`).
    fn id(&self) -> &str;

    /// What the backend can do.
    fn capabilities(&self) -> &Capabilities;

    /// Generates a key inside the backend.
    ///
    /// # Errors
    /// [`BackendError::Unsupported`] for an algorithm or length the backend lacks, and device errors.
    fn generate(
        &self,
        spec: &KeySpec,
        policy: &KeyPolicy<'_>,
    ) -> Result<GeneratedKey, BackendError>;

    /// Brings existing material into the backend (KMIP Register).
    ///
    /// # Errors
    /// [`BackendError::InvalidInput`] when the material does not parse as `object_type`/`algorithm` in its format,
    /// [`BackendError::Unsupported`], and device errors.
    fn import(
        &self,
        object_type: ObjectType,
        algorithm: Option<CryptographicAlgorithm>,
        material: &KeyMaterial,
        policy: &KeyPolicy<'_>,
    ) -> Result<KeyRef, BackendError>;

    /// Returns the key value in its canonical format.
    ///
    /// # Errors
    /// [`BackendError::NotExtractable`] when the backend holds it as non-extractable, and the usual ones.
    fn export(&self, key: &KeyRef) -> Result<KeyMaterial, BackendError>;

    /// Destroys the key in the backend. Destroying an absent key is not an error (rollback and retries need that).
    ///
    /// # Errors
    /// Device errors.
    fn destroy(&self, key: &KeyRef) -> Result<(), BackendError>;

    /// Whether the key still exists in the backend (for start-up reconciliation).
    ///
    /// # Errors
    /// Device errors.
    fn exists(&self, key: &KeyRef) -> Result<bool, BackendError>;

    /// Encryption and decryption, if the backend offers them.
    fn cipher(&self) -> Option<&dyn Cipher> {
        None
    }

    /// Signing and verification, if the backend offers them.
    fn signer(&self) -> Option<&dyn Signer> {
        None
    }

    /// HMAC, if the backend offers it.
    fn mac(&self) -> Option<&dyn Mac> {
        None
    }

    /// Key wrapping, if the backend offers it.
    fn key_wrap(&self) -> Option<&dyn KeyWrap> {
        None
    }

    /// ECDH, if the backend offers it.
    fn key_agreement(&self) -> Option<&dyn KeyAgreement> {
        None
    }

    /// Random bytes, if the backend offers them.
    fn random(&self) -> Option<&dyn Random> {
        None
    }
}
