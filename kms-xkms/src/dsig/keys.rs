//! Keys for signing and verification, as plain RustCrypto types.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use rsa::Pkcs1v15Sign;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::SignatureMethod;
use crate::error::SignatureError;

/// A key that checks signatures.
#[derive(Clone)]
pub enum VerifyingKey {
    /// An HMAC key (for KeyBindingAuthentication: the `0x01` shared-secret key).
    Hmac(Zeroizing<Vec<u8>>),
    /// An RSA public key.
    Rsa(rsa::PublicKey),
    /// A P-256 public key.
    EcdsaP256(p256::ecdsa::VerifyingKey),
}

/// A key that makes signatures.
#[derive(Clone)]
pub enum SigningKey {
    /// An HMAC key.
    Hmac(Zeroizing<Vec<u8>>),
    /// An RSA private key.
    Rsa(Box<rsa::PrivateKey>),
    /// A P-256 private key.
    EcdsaP256(p256::ecdsa::SigningKey),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hmac(_) => f.write_str("VerifyingKey::Hmac(<redacted>)"),
            Self::Rsa(_) => f.write_str("VerifyingKey::Rsa"),
            Self::EcdsaP256(_) => f.write_str("VerifyingKey::EcdsaP256"),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hmac(_) => f.write_str("SigningKey::Hmac(<redacted>)"),
            Self::Rsa(_) => f.write_str("SigningKey::Rsa(<redacted>)"),
            Self::EcdsaP256(_) => f.write_str("SigningKey::EcdsaP256(<redacted>)"),
        }
    }
}

fn fits(method: SignatureMethod, hmac: bool, rsa: bool, ec: bool) -> Result<(), SignatureError> {
    let ok = match method {
        SignatureMethod::HmacSha1 | SignatureMethod::HmacSha256 => hmac,
        SignatureMethod::RsaSha1 | SignatureMethod::RsaSha256 => rsa,
        SignatureMethod::EcdsaSha256 => ec,
    };
    if ok {
        Ok(())
    } else {
        Err(SignatureError::KeyMismatch)
    }
}

fn hmac(method: SignatureMethod, key: &[u8], data: &[u8]) -> Result<Vec<u8>, SignatureError> {
    // RFC 2104 HMAC takes keys of any length; an empty key is refused as a programming error.
    if key.is_empty() {
        return Err(SignatureError::KeyMismatch);
    }
    Ok(match method {
        SignatureMethod::HmacSha1 => {
            let mut m = <Hmac<Sha1> as KeyInit>::new_from_slice(key)
                .map_err(|_| SignatureError::KeyMismatch)?;
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
                .map_err(|_| SignatureError::KeyMismatch)?;
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
    })
}

fn rsa_scheme(method: SignatureMethod, data: &[u8]) -> (Pkcs1v15Sign, Vec<u8>) {
    match method {
        SignatureMethod::RsaSha1 => (Pkcs1v15Sign::new::<Sha1>(), Sha1::digest(data).to_vec()),
        _ => (Pkcs1v15Sign::new::<Sha256>(), Sha256::digest(data).to_vec()),
    }
}

impl VerifyingKey {
    pub(crate) fn check_method(&self, method: SignatureMethod) -> Result<(), SignatureError> {
        match self {
            Self::Hmac(_) => fits(method, true, false, false),
            Self::Rsa(_) => fits(method, false, true, false),
            Self::EcdsaP256(_) => fits(method, false, false, true),
        }
    }

    /// Verifies `signature` over `data` (the canonical SignedInfo).
    ///
    /// # Errors
    /// [`SignatureError::KeyMismatch`] if the key does not fit `method`;
    /// [`SignatureError::BadSignature`] if the value does not verify.
    pub fn verify(
        &self,
        method: SignatureMethod,
        data: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        self.check_method(method)?;
        match self {
            Self::Hmac(k) => {
                let expected = hmac(method, k, data)?;
                if crate::shared_secret::constant_time_eq(&expected, signature) {
                    Ok(())
                } else {
                    Err(SignatureError::BadSignature)
                }
            }
            Self::Rsa(k) => {
                let (scheme, hashed) = rsa_scheme(method, data);
                k.verify(scheme, &hashed, signature)
                    .map_err(|_| SignatureError::BadSignature)
            }
            Self::EcdsaP256(k) => {
                let sig = p256::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| SignatureError::BadSignature)?;
                k.verify(data, &sig)
                    .map_err(|_| SignatureError::BadSignature)
            }
        }
    }
}

impl SigningKey {
    pub(crate) fn check_method(&self, method: SignatureMethod) -> Result<(), SignatureError> {
        match self {
            Self::Hmac(_) => fits(method, true, false, false),
            Self::Rsa(_) => fits(method, false, true, false),
            Self::EcdsaP256(_) => fits(method, false, false, true),
        }
    }

    /// The matching verifying key.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            Self::Hmac(k) => VerifyingKey::Hmac(k.clone()),
            Self::Rsa(k) => VerifyingKey::Rsa(k.to_public_key()),
            Self::EcdsaP256(k) => VerifyingKey::EcdsaP256(*k.verifying_key()),
        }
    }

    /// Signs `data` (the canonical SignedInfo).
    ///
    /// # Errors
    /// [`SignatureError::KeyMismatch`] if the key does not fit `method`;
    /// [`SignatureError::SigningFailed`] on a key error.
    pub fn sign(&self, method: SignatureMethod, data: &[u8]) -> Result<Vec<u8>, SignatureError> {
        self.check_method(method)?;
        match self {
            Self::Hmac(k) => hmac(method, k, data),
            Self::Rsa(k) => {
                let (scheme, hashed) = rsa_scheme(method, data);
                k.sign(scheme, &hashed)
                    .map_err(|_| SignatureError::SigningFailed)
            }
            Self::EcdsaP256(k) => {
                let sig: p256::ecdsa::Signature = k
                    .try_sign(data)
                    .map_err(|_| SignatureError::SigningFailed)?;
                Ok(sig.to_bytes().to_vec())
            }
        }
    }
}
