//! Public keys of agents and recipients, agents' private keys, and the envelopes shares travel in.
//!
//! Keys are exchanged as PEM (SubjectPublicKeyInfo for public keys, PKCS#8 for private keys), the formats every
//! HSM and every `openssl` installation reads and writes.

use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::crypto;
use crate::encoding::{Hash256, b64};
use crate::error::{EscrowError, Result};

/// Smallest RSA modulus accepted for agents' keys.
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted (bounds the cost of an encryption).
pub const RSA_MAX_BITS: usize = 8192;
const MAX_PEM_LEN: usize = 16 * 1024;

fn check_pem_len(pem: &str) -> Result<()> {
    if pem.len() > MAX_PEM_LEN {
        return Err(EscrowError::InvalidKey("PEM too long".into()));
    }
    Ok(())
}

/// The key an escrow agent's shares are encrypted to.
#[derive(Clone, PartialEq, Eq)]
pub enum AgentEncryptionKey {
    /// HPKE with DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
    HpkeP256(p256::PublicKey),
    /// RSA-OAEP-SHA256 key-wrap plus AES-256-GCM, for agents whose private key lives in an HSM.
    RsaOaepSha256(rsa::PublicKey),
}

impl AgentEncryptionKey {
    /// Parses a SubjectPublicKeyInfo PEM holding a P-256 key (HPKE) or an RSA key of 2048 to 8192 bits (OAEP).
    ///
    /// # Errors
    /// [`EscrowError::InvalidKey`] for anything else.
    pub fn from_public_key_pem(pem: &str) -> Result<Self> {
        check_pem_len(pem)?;
        if let Ok(pk) = p256::PublicKey::from_public_key_pem(pem) {
            return Ok(Self::HpkeP256(pk));
        }
        let pk = rsa::PublicKey::from_public_key_pem(pem).map_err(|_| {
            EscrowError::InvalidKey("expected a P-256 or RSA SubjectPublicKeyInfo PEM".into())
        })?;
        let bits = pk.size() * 8;
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(EscrowError::InvalidKey(format!(
                "RSA key of {bits} bits; {RSA_MIN_BITS} to {RSA_MAX_BITS} accepted"
            )));
        }
        Ok(Self::RsaOaepSha256(pk))
    }

    /// SubjectPublicKeyInfo PEM.
    ///
    /// # Errors
    /// [`EscrowError::InvalidKey`] if encoding fails.
    pub fn to_public_key_pem(&self) -> Result<String> {
        match self {
            Self::HpkeP256(pk) => pk.to_public_key_pem(LineEnding::LF),
            Self::RsaOaepSha256(pk) => pk.to_public_key_pem(LineEnding::LF),
        }
        .map_err(|e| EscrowError::InvalidKey(e.to_string()))
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER: what an agent compares out of band.
    ///
    /// # Errors
    /// [`EscrowError::InvalidKey`] if encoding fails.
    pub fn fingerprint(&self) -> Result<Hash256> {
        let der = match self {
            Self::HpkeP256(pk) => pk.to_public_key_der(),
            Self::RsaOaepSha256(pk) => pk.to_public_key_der(),
        }
        .map_err(|e| EscrowError::InvalidKey(e.to_string()))?;
        Ok(Hash256::of(der.as_bytes()))
    }

    /// Name of the scheme, for listings and audit records.
    #[must_use]
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::HpkeP256(_) => "HPKE-P256-HKDF-SHA256-AES-256-GCM",
            Self::RsaOaepSha256(_) => "RSA-OAEP-SHA256+AES-256-GCM",
        }
    }

    /// Encrypts `plaintext` to this key with `aad` bound.
    pub(crate) fn seal(&self, info: &[u8], plaintext: &[u8], aad: &[u8]) -> Result<ShareEnvelope> {
        match self {
            Self::HpkeP256(pk) => {
                let (enc, ciphertext) = crypto::hpke_seal(pk, info, plaintext, aad)?;
                Ok(ShareEnvelope::Hpke { enc, ciphertext })
            }
            Self::RsaOaepSha256(pk) => {
                let cek = crypto::random_key()?;
                let wrapped_key = crypto::rsa_oaep_encrypt(pk, cek.as_ref())?;
                let (nonce, ciphertext) = crypto::aes_gcm_seal(&cek, plaintext, aad)?;
                Ok(ShareEnvelope::RsaOaep {
                    wrapped_key,
                    nonce: nonce.to_vec(),
                    ciphertext,
                })
            }
        }
    }
}

impl core::fmt::Debug for AgentEncryptionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let fp = self.fingerprint().map(|h| h.to_hex()).unwrap_or_default();
        write!(f, "AgentEncryptionKey({}, sha256:{fp})", self.scheme())
    }
}

/// Encryption of a share (or of anything small) to one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "kebab-case")]
pub enum ShareEnvelope {
    /// HPKE base mode: encapsulated key and ciphertext.
    Hpke {
        /// The KEM's encapsulated key (uncompressed P-256 point).
        #[serde(with = "b64")]
        enc: Vec<u8>,
        /// AEAD ciphertext with tag.
        #[serde(with = "b64")]
        ciphertext: Vec<u8>,
    },
    /// RSA-OAEP-SHA256 wrapped AES-256 key and AES-256-GCM ciphertext.
    RsaOaep {
        /// OAEP ciphertext of the content key.
        #[serde(with = "b64")]
        wrapped_key: Vec<u8>,
        /// GCM nonce.
        #[serde(with = "b64")]
        nonce: Vec<u8>,
        /// GCM ciphertext with tag.
        #[serde(with = "b64")]
        ciphertext: Vec<u8>,
    },
}

impl ShareEnvelope {
    /// SHA-256 over the envelope's bytes, what an approval signature commits to.
    pub(crate) fn digest(&self) -> Hash256 {
        let mut c = crate::encoding::Canonical::new("kms-escrow/v1/envelope");
        match self {
            Self::Hpke { enc, ciphertext } => c.u8(1).bytes(enc).bytes(ciphertext),
            Self::RsaOaep {
                wrapped_key,
                nonce,
                ciphertext,
            } => c.u8(2).bytes(wrapped_key).bytes(nonce).bytes(ciphertext),
        };
        c.digest()
    }
}

/// RSA-OAEP-SHA256 decryption by a key that may live outside this process (an HSM through PKCS#11, a smart card).
///
/// Implementations return the plaintext in a zeroizing buffer and map every failure to [`EscrowError::Crypto`]
/// or, for device errors, [`EscrowError::Storage`]-like rich errors of their own choosing.
pub trait RsaOaepDecryptor: Send + Sync {
    /// Decrypts an RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) ciphertext.
    ///
    /// # Errors
    /// [`EscrowError::Crypto`] if the ciphertext does not decrypt.
    fn decrypt_oaep_sha256(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>>;
}

impl RsaOaepDecryptor for rsa::PrivateKey {
    fn decrypt_oaep_sha256(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        // Blinded decryption: the unblinded path would expose timing of the private exponent operation.
        self.decrypt_blinded(
            &mut getrandom::SysRng,
            rsa::Oaep::<Sha256>::new(),
            ciphertext,
        )
        .map(Zeroizing::new)
        .map_err(|_| EscrowError::Crypto)
    }
}

/// An escrow agent's private decryption key.
pub enum AgentDecryptionKey {
    /// P-256 key for HPKE.
    HpkeP256(p256::SecretKey),
    /// RSA key, in software or behind an HSM.
    RsaOaep(Box<dyn RsaOaepDecryptor>),
}

impl core::fmt::Debug for AgentDecryptionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::HpkeP256(_) => f.write_str("AgentDecryptionKey::HpkeP256(<redacted>)"),
            Self::RsaOaep(_) => f.write_str("AgentDecryptionKey::RsaOaep(<redacted>)"),
        }
    }
}

impl AgentDecryptionKey {
    /// Parses a PKCS#8 PEM private key (P-256 or RSA).
    ///
    /// # Errors
    /// [`EscrowError::InvalidKey`] if the PEM holds neither.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        check_pem_len(pem)?;
        if let Ok(sk) = p256::SecretKey::from_pkcs8_pem(pem) {
            return Ok(Self::HpkeP256(sk));
        }
        let sk = rsa::PrivateKey::from_pkcs8_pem(pem).map_err(|_| {
            EscrowError::InvalidKey("expected a P-256 or RSA PKCS#8 PEM private key".into())
        })?;
        Ok(Self::RsaOaep(Box::new(sk)))
    }

    /// Opens an envelope sealed to the matching public key.
    pub(crate) fn open(
        &self,
        info: &[u8],
        envelope: &ShareEnvelope,
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        match (self, envelope) {
            (Self::HpkeP256(sk), ShareEnvelope::Hpke { enc, ciphertext }) => {
                crypto::hpke_open(sk, info, enc, ciphertext, aad)
            }
            (
                Self::RsaOaep(dec),
                ShareEnvelope::RsaOaep {
                    wrapped_key,
                    nonce,
                    ciphertext,
                },
            ) => {
                let cek = dec.decrypt_oaep_sha256(wrapped_key)?;
                let cek: Zeroizing<[u8; crypto::DATA_KEY_LEN]> =
                    Zeroizing::new(cek.as_slice().try_into().map_err(|_| EscrowError::Crypto)?);
                crypto::aes_gcm_open(&cek, nonce, ciphertext, aad)
            }
            _ => Err(EscrowError::Crypto),
        }
    }
}

/// An agent's ECDSA P-256 key that verifies its approvals and denials (kept apart from the encryption key:
/// one key, one purpose).
#[derive(Clone, PartialEq, Eq)]
pub struct ApprovalKey(pub VerifyingKey);

impl ApprovalKey {
    /// Parses a SubjectPublicKeyInfo PEM holding a P-256 key.
    ///
    /// # Errors
    /// [`EscrowError::InvalidKey`] otherwise.
    pub fn from_public_key_pem(pem: &str) -> Result<Self> {
        check_pem_len(pem)?;
        VerifyingKey::from_public_key_pem(pem)
            .map(Self)
            .map_err(|_| {
                EscrowError::InvalidKey("expected a P-256 SubjectPublicKeyInfo PEM".into())
            })
    }

    /// SubjectPublicKeyInfo PEM.
    ///
    /// # Errors
    /// [`EscrowError::InvalidKey`] if encoding fails.
    pub fn to_public_key_pem(&self) -> Result<String> {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| EscrowError::InvalidKey(e.to_string()))
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// [`EscrowError::InvalidKey`] if encoding fails.
    pub fn fingerprint(&self) -> Result<Hash256> {
        let der = self
            .0
            .to_public_key_der()
            .map_err(|e| EscrowError::InvalidKey(e.to_string()))?;
        Ok(Hash256::of(der.as_bytes()))
    }

    /// Verifies an ECDSA P-256/SHA-256 signature (64-byte r || s) over `msg`.
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        use signature::Verifier;
        let sig = Signature::from_slice(sig).map_err(|_| EscrowError::Crypto)?;
        self.0.verify(msg, &sig).map_err(|_| EscrowError::Crypto)
    }
}

impl core::fmt::Debug for ApprovalKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let fp = self.fingerprint().map(|h| h.to_hex()).unwrap_or_default();
        write!(f, "ApprovalKey(sha256:{fp})")
    }
}

/// The HPKE P-256 public key of the person or system a released key is delivered to.
#[derive(Clone, PartialEq, Eq)]
pub struct RecipientKey(pub p256::PublicKey);

impl RecipientKey {
    /// Parses a SubjectPublicKeyInfo PEM holding a P-256 key.
    ///
    /// # Errors
    /// [`EscrowError::InvalidKey`] otherwise.
    pub fn from_public_key_pem(pem: &str) -> Result<Self> {
        check_pem_len(pem)?;
        p256::PublicKey::from_public_key_pem(pem)
            .map(Self)
            .map_err(|_| {
                EscrowError::InvalidKey("expected a P-256 SubjectPublicKeyInfo PEM".into())
            })
    }

    /// SubjectPublicKeyInfo PEM.
    ///
    /// # Errors
    /// [`EscrowError::InvalidKey`] if encoding fails.
    pub fn to_public_key_pem(&self) -> Result<String> {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| EscrowError::InvalidKey(e.to_string()))
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// [`EscrowError::InvalidKey`] if encoding fails.
    pub fn fingerprint(&self) -> Result<Hash256> {
        let der = self
            .0
            .to_public_key_der()
            .map_err(|e| EscrowError::InvalidKey(e.to_string()))?;
        Ok(Hash256::of(der.as_bytes()))
    }
}

impl core::fmt::Debug for RecipientKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let fp = self.fingerprint().map(|h| h.to_hex()).unwrap_or_default();
        write!(f, "RecipientKey(sha256:{fp})")
    }
}

/// Signs `msg` with ECDSA P-256/SHA-256, returning the 64-byte r || s form.
pub(crate) fn sign(signer: &dyn signature::Signer<Signature>, msg: &[u8]) -> Result<Vec<u8>> {
    let sig = signer.try_sign(msg).map_err(|_| EscrowError::Crypto)?;
    Ok(sig.to_bytes().to_vec())
}

/// Parses a PKCS#8 PEM ECDSA P-256 signing key (an agent's approval key, the service's checkpoint key).
///
/// # Errors
/// [`EscrowError::InvalidKey`] otherwise.
pub fn signing_key_from_pkcs8_pem(pem: &str) -> Result<SigningKey> {
    check_pem_len(pem)?;
    SigningKey::from_pkcs8_pem(pem)
        .map_err(|_| EscrowError::InvalidKey("expected a P-256 PKCS#8 PEM private key".into()))
}

macro_rules! pem_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                s.serialize_str(
                    &self
                        .to_public_key_pem()
                        .map_err(serde::ser::Error::custom)?,
                )
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::from_public_key_pem(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pem_serde!(AgentEncryptionKey);
pem_serde!(ApprovalKey);
pem_serde!(RecipientKey);
