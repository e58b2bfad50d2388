//! KMIP Encrypt, Decrypt, Sign, Signature Verify, MAC, MAC Verify, RNG Retrieve, Hash and Check.
//!
//! Each use of a key checks, in this order: the caller's [`Rights::USE`], the object type, the state
//! ([`State::permits`](crate::State::permits) for protect or process), the Protect Stop / Process Start Dates, and
//! the Cryptographic Usage Mask. Nothing here writes to the store.

use std::cell::Cell;
use std::sync::Arc;

use sha2::Digest;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::{KeyManager, check_data_len, require_usage, usable_with};
use crate::audit::Operation;
use crate::backend::{
    CipherParams, Ciphertext, HashingAlgorithm, KeyBackend, KeyRef, SignInput, SignatureAlgorithm,
};
use crate::error::{Error, Result};
use crate::object::{CryptographicAlgorithm, ObjectId, ObjectType, Purpose, Rights, UsageMask};
use crate::principal::Principal;
use crate::store::StoredObject;

/// Most random bytes one RNG Retrieve returns.
pub const MAX_RANDOM_LEN: usize = 1 << 20;

/// What KMIP Check verifies besides the object being usable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckRequest {
    /// The usage the client intends: every bit must be in the object's mask, and the state must allow it.
    pub usage_mask: Option<UsageMask>,
    /// The Cryptographic Length the client expects.
    pub cryptographic_length: Option<u32>,
}

/// Usage bits that apply protection (and so need the Active state); the others process it.
const PROTECT_USAGE: UsageMask = UsageMask::SIGN
    .union(UsageMask::ENCRYPT)
    .union(UsageMask::WRAP_KEY)
    .union(UsageMask::MAC_GENERATE)
    .union(UsageMask::DERIVE_KEY)
    .union(UsageMask::KEY_AGREEMENT)
    .union(UsageMask::CERTIFICATE_SIGN)
    .union(UsageMask::CRL_SIGN);

/// The time of one key use, read from the clock when first needed: by a date the checks compare with, or by
/// an audit event the sink keeps. A use that needs neither does not read the clock; one that needs both sees the
/// same time in the checks and in the event.
struct CallTime<'m> {
    manager: &'m KeyManager,
    read: Cell<Option<OffsetDateTime>>,
}

impl<'m> CallTime<'m> {
    fn new(manager: &'m KeyManager) -> Self {
        Self {
            manager,
            read: Cell::new(None),
        }
    }

    fn get(&self) -> OffsetDateTime {
        if let Some(t) = self.read.get() {
            return t;
        }
        let t = self.manager.now();
        self.read.set(Some(t));
        t
    }
}

impl KeyManager {
    /// Loads a key the caller may use and checks it for `purpose` and `needed`; returns it with its backend.
    fn key_for(
        &self,
        who: &Principal,
        id: &ObjectId,
        types: &[ObjectType],
        purpose: Purpose,
        needed: UsageMask,
        now: &CallTime<'_>,
    ) -> Result<(Arc<StoredObject>, CryptographicAlgorithm, &dyn KeyBackend)> {
        let object = self.load_shared(who, id, Rights::USE)?;
        let key = usable_with(&object, types, purpose, needed, || now.get())?;
        let backend = self.backend_for(key)?;
        let algorithm = object
            .metadata
            .attributes
            .cryptographic_algorithm
            .unwrap_or(CryptographicAlgorithm::Other(0));
        Ok((object, algorithm, backend))
    }

    /// KMIP Encrypt with a symmetric key (AES-GCM) or an RSA public key (OAEP).
    ///
    /// # Errors
    /// [`Error::ItemNotFound`]; [`Error::WrongKeyLifecycleState`] unless Active;
    /// [`Error::IncompatibleCryptographicUsageMask`] without Encrypt; [`Error::IllegalObjectType`];
    /// [`Error::InvalidField`] / [`Error::UnsupportedCryptographicParameters`] for parameters the key cannot take;
    /// [`Error::PermissionDenied`] when the key's Usage Limits do not cover the data (Encrypt, Sign and MAC count
    /// against them); backend errors.
    pub fn encrypt(
        &self,
        who: &Principal,
        id: &ObjectId,
        params: &CipherParams<'_>,
        plaintext: &[u8],
    ) -> Result<Ciphertext> {
        self.encrypt_counting(who, id, params, plaintext, plaintext.len())
    }

    /// [`KeyManager::encrypt`] counting `counted` bytes against the key's Usage Limits: a stream step encrypts
    /// its whole prefix again but uses the key for its new bytes only.
    pub(super) fn encrypt_counting(
        &self,
        who: &Principal,
        id: &ObjectId,
        params: &CipherParams<'_>,
        plaintext: &[u8],
        counted: usize,
    ) -> Result<Ciphertext> {
        let now = CallTime::new(self);
        let result = (|| {
            check_data_len(plaintext)?;
            let (key, _, backend) = self.key_for(
                who,
                id,
                &[ObjectType::SymmetricKey, ObjectType::PublicKey],
                Purpose::Protect,
                UsageMask::ENCRYPT,
                &now,
            )?;
            self.counted_use(who, id, &key, counted, || {
                let cipher = backend
                    .cipher()
                    .ok_or_else(|| not_offered(backend, "encryption"))?;
                Ok(cipher.encrypt(key_of(&key)?, params, plaintext)?)
            })
        })();
        self.audited_with(who, Operation::Encrypt, Some(id), || now.get(), result)
    }

    /// KMIP Decrypt with a symmetric key (AES-GCM, `tag` being the GCM tag) or an RSA private key (OAEP).
    ///
    /// # Errors
    /// [`Error::CryptographicFailure`] for a tag or padding that does not verify, whatever the cause; otherwise as
    /// [`KeyManager::encrypt`], with Decrypt in the usage mask and any state that processes protection.
    pub fn decrypt(
        &self,
        who: &Principal,
        id: &ObjectId,
        params: &CipherParams<'_>,
        ciphertext: &[u8],
        tag: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let now = CallTime::new(self);
        let result = (|| {
            check_data_len(ciphertext)?;
            let (key, _, backend) = self.key_for(
                who,
                id,
                &[ObjectType::SymmetricKey, ObjectType::PrivateKey],
                Purpose::Process,
                UsageMask::DECRYPT,
                &now,
            )?;
            let cipher = backend
                .cipher()
                .ok_or_else(|| not_offered(backend, "decryption"))?;
            Ok(cipher.decrypt(key_of(&key)?, params, ciphertext, tag)?)
        })();
        self.audited_with(who, Operation::Decrypt, Some(id), || now.get(), result)
    }

    /// KMIP Sign with a private key.
    ///
    /// # Errors
    /// As [`KeyManager::encrypt`], with Sign in the usage mask.
    pub fn sign(
        &self,
        who: &Principal,
        id: &ObjectId,
        algorithm: SignatureAlgorithm,
        input: SignInput<'_>,
    ) -> Result<Vec<u8>> {
        let now = CallTime::new(self);
        let result = (|| {
            check_data_len(sign_input_bytes(&input))?;
            let (key, _, backend) = self.key_for(
                who,
                id,
                &[ObjectType::PrivateKey],
                Purpose::Protect,
                UsageMask::SIGN,
                &now,
            )?;
            self.counted_use(who, id, &key, sign_input_bytes(&input).len(), || {
                let signer = backend
                    .signer()
                    .ok_or_else(|| not_offered(backend, "signing"))?;
                Ok(signer.sign(key_of(&key)?, algorithm, input)?)
            })
        })();
        self.audited_with(who, Operation::Sign, Some(id), || now.get(), result)
    }

    /// KMIP Signature Verify with a public key (or a private key whose backend holds the public half).
    ///
    /// # Errors
    /// [`Error::CryptographicFailure`] when the signature does not verify; otherwise as [`KeyManager::decrypt`],
    /// with Verify in the usage mask.
    pub fn verify(
        &self,
        who: &Principal,
        id: &ObjectId,
        algorithm: SignatureAlgorithm,
        input: SignInput<'_>,
        signature: &[u8],
    ) -> Result<()> {
        let now = CallTime::new(self);
        let result = (|| {
            check_data_len(sign_input_bytes(&input))?;
            check_data_len(signature)?;
            let (key, _, backend) = self.key_for(
                who,
                id,
                &[ObjectType::PublicKey, ObjectType::PrivateKey],
                Purpose::Process,
                UsageMask::VERIFY,
                &now,
            )?;
            let signer = backend
                .signer()
                .ok_or_else(|| not_offered(backend, "verification"))?;
            Ok(signer.verify(key_of(&key)?, algorithm, input, signature)?)
        })();
        self.audited_with(
            who,
            Operation::SignatureVerify,
            Some(id),
            || now.get(),
            result,
        )
    }

    /// KMIP MAC with an HMAC key. The hash is the key's (HMAC-SHA256 keys use SHA-256); `hash`, when given, must
    /// agree with it, and is needed for keys of other algorithms: an AES key then computes HMAC over its raw bytes
    /// ([`Mac::mac_with_cipher_key`](crate::backend::Mac::mac_with_cipher_key)), as KMIP's Cryptographic
    /// Parameters allow; the Cryptographic Usage Mask still has to grant MAC Generate.
    ///
    /// # Errors
    /// [`Error::BadCryptographicParameters`] when `hash` contradicts the key's algorithm; otherwise as
    /// [`KeyManager::encrypt`], with MAC Generate in the usage mask.
    pub fn mac(
        &self,
        who: &Principal,
        id: &ObjectId,
        hash: Option<HashingAlgorithm>,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        let now = CallTime::new(self);
        let result = (|| {
            check_data_len(data)?;
            let (key, algorithm, backend) = self.key_for(
                who,
                id,
                &[ObjectType::SymmetricKey],
                Purpose::Protect,
                UsageMask::MAC_GENERATE,
                &now,
            )?;
            let hash = mac_hash(algorithm, hash)?;
            self.counted_use(who, id, &key, data.len(), || {
                let mac = backend.mac().ok_or_else(|| not_offered(backend, "MAC"))?;
                if is_cipher_key(algorithm) {
                    Ok(mac.mac_with_cipher_key(key_of(&key)?, hash, data)?)
                } else {
                    Ok(mac.mac(key_of(&key)?, hash, data)?)
                }
            })
        })();
        self.audited_with(who, Operation::Mac, Some(id), || now.get(), result)
    }

    /// KMIP MAC Verify, in constant time.
    ///
    /// # Errors
    /// [`Error::CryptographicFailure`] when the MAC does not match; otherwise as [`KeyManager::mac`], with MAC
    /// Verify in the usage mask and any state that processes protection.
    pub fn mac_verify(
        &self,
        who: &Principal,
        id: &ObjectId,
        hash: Option<HashingAlgorithm>,
        data: &[u8],
        mac_data: &[u8],
    ) -> Result<()> {
        let now = CallTime::new(self);
        let result = (|| {
            check_data_len(data)?;
            check_data_len(mac_data)?;
            let (key, algorithm, backend) = self.key_for(
                who,
                id,
                &[ObjectType::SymmetricKey],
                Purpose::Process,
                UsageMask::MAC_VERIFY,
                &now,
            )?;
            let hash = mac_hash(algorithm, hash)?;
            let mac = backend.mac().ok_or_else(|| not_offered(backend, "MAC"))?;
            if is_cipher_key(algorithm) {
                Ok(mac.mac_verify_with_cipher_key(key_of(&key)?, hash, data, mac_data)?)
            } else {
                Ok(mac.mac_verify(key_of(&key)?, hash, data, mac_data)?)
            }
        })();
        self.audited_with(who, Operation::MacVerify, Some(id), || now.get(), result)
    }

    /// KMIP RNG Retrieve: `len` random bytes from the default backend's generator.
    ///
    /// # Errors
    /// [`Error::InvalidField`] for 0 or more than [`MAX_RANDOM_LEN`] bytes; [`Error::OperationNotSupported`] when
    /// the backend has no generator; backend errors.
    pub fn random(&self, who: &Principal, len: usize) -> Result<Zeroizing<Vec<u8>>> {
        let result = (|| {
            if len == 0 || len > MAX_RANDOM_LEN {
                return Err(Error::InvalidField(format!(
                    "Data Length must be 1 to {MAX_RANDOM_LEN}"
                )));
            }
            let backend = self.default_backend();
            let rng = backend
                .random()
                .ok_or_else(|| not_offered(backend, "random bytes"))?;
            let mut out = Zeroizing::new(vec![0u8; len]);
            rng.fill_random(&mut out)?;
            Ok(out)
        })();
        self.audited(who, Operation::Rng, None, result)
    }

    /// KMIP Hash: SHA-224, SHA-256, SHA-384 or SHA-512 of `data`.
    ///
    /// # Errors
    /// [`Error::UnsupportedCryptographicParameters`] for SHA-1 (not offered for new hashes);
    /// [`Error::InvalidField`] for data over [`MAX_DATA_LEN`](super::MAX_DATA_LEN).
    pub fn hash(
        &self,
        who: &Principal,
        algorithm: HashingAlgorithm,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        let result = check_data_len(data).and_then(|()| match algorithm {
            HashingAlgorithm::Sha224 => Ok(sha2::Sha224::digest(data).to_vec()),
            HashingAlgorithm::Sha256 => Ok(sha2::Sha256::digest(data).to_vec()),
            HashingAlgorithm::Sha384 => Ok(sha2::Sha384::digest(data).to_vec()),
            HashingAlgorithm::Sha512 => Ok(sha2::Sha512::digest(data).to_vec()),
            HashingAlgorithm::Sha1 => Err(Error::UnsupportedCryptographicParameters(
                "SHA-1 is not offered by Hash".into(),
            )),
        });
        self.audited(who, Operation::Hash, None, result)
    }

    /// KMIP Check: whether the object could be used now as `request` describes.
    ///
    /// # Errors
    /// [`Error::IncompatibleCryptographicUsageMask`] when a requested usage is not in the mask;
    /// [`Error::WrongKeyLifecycleState`] when the state does not allow it (protect usages need Active, others a
    /// state that processes); [`Error::KeyValueNotPresent`] once destroyed; [`Error::InvalidField`] when the
    /// length differs; access and store errors.
    pub fn check(&self, who: &Principal, id: &ObjectId, request: &CheckRequest) -> Result<()> {
        let now = self.now();
        let result = (|| {
            let object = self.load(who, id, Rights::USE, now)?;
            let m = &object.metadata;
            if let Some(mask) = request.usage_mask {
                require_usage(m, mask)?;
            }
            let purpose = if request
                .usage_mask
                .is_some_and(|u| u.intersects(PROTECT_USAGE))
            {
                Purpose::Protect
            } else {
                Purpose::Process
            };
            if object.key.is_none() {
                return Err(Error::KeyValueNotPresent);
            }
            if !m.state.permits(purpose) {
                return Err(Error::WrongKeyLifecycleState(m.state));
            }
            if let Some(len) = request.cryptographic_length
                && m.attributes.cryptographic_length != Some(len)
            {
                return Err(Error::InvalidField(format!(
                    "the object is not {len} bits long"
                )));
            }
            Ok(())
        })();
        self.audited_at(who, Operation::Check, Some(id), now, result)
    }
}

fn key_of(object: &StoredObject) -> Result<&KeyRef> {
    object.key.as_ref().ok_or_else(|| Error::KeyValueNotPresent)
}

fn not_offered(backend: &dyn KeyBackend, what: &str) -> Error {
    Error::OperationNotSupported(format!("backend {:?} does not offer {what}", backend.id()))
}

fn sign_input_bytes<'a>(input: &SignInput<'a>) -> &'a [u8] {
    match *input {
        SignInput::Message(m) | SignInput::Digest(m) => m,
    }
}

/// Whether a key of `algorithm` is a cipher key that computes HMAC only because the caller named the hash (KMIP
/// lets Cryptographic Parameters choose the MAC method of a key registered as AES).
fn is_cipher_key(algorithm: CryptographicAlgorithm) -> bool {
    matches!(algorithm, CryptographicAlgorithm::Aes)
}

/// The HMAC hash of a key: its algorithm's, which a requested hash must match.
fn mac_hash(
    algorithm: CryptographicAlgorithm,
    requested: Option<HashingAlgorithm>,
) -> Result<HashingAlgorithm> {
    use CryptographicAlgorithm as A;
    let own = match algorithm {
        A::HmacSha1 => Some(HashingAlgorithm::Sha1),
        A::HmacSha224 => Some(HashingAlgorithm::Sha224),
        A::HmacSha256 => Some(HashingAlgorithm::Sha256),
        A::HmacSha384 => Some(HashingAlgorithm::Sha384),
        A::HmacSha512 => Some(HashingAlgorithm::Sha512),
        _ => None,
    };
    match (own, requested) {
        (Some(o), Some(r)) if o != r => Err(Error::BadCryptographicParameters(format!(
            "a {algorithm:?} key does not compute HMAC with {r:?}"
        ))),
        (Some(o), _) => Ok(o),
        (None, Some(r)) => Ok(r),
        (None, None) => Err(Error::MissingData("the MAC's hashing algorithm".into())),
    }
}
