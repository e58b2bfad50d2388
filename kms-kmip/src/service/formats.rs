//! Key format conversions between KMIP's encodings and kms-core's canonical ones (PKCS#8 for private keys,
//! SubjectPublicKeyInfo for public keys): PKCS#1 RSA keys, through the rsa crate's DER support.

use kms_core::Error as CoreError;
use rsa::pkcs1::{
    DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey,
};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use zeroize::Zeroizing;

fn invalid(what: &str) -> CoreError {
    // The parser's error says nothing about the key, but keep the message to the format only.
    CoreError::InvalidField(format!("the key material is not a valid {what}"))
}

fn encoding_failed() -> CoreError {
    CoreError::KeyFormatTypeNotSupported("the key cannot be encoded in the requested format".into())
}

/// PKCS#1 `RSAPrivateKey` → PKCS#8 `PrivateKeyInfo`.
pub(crate) fn rsa_private_pkcs1_to_pkcs8(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = RsaPrivateKey::from_pkcs1_der(der).map_err(|_| invalid("PKCS#1 RSA private key"))?;
    let doc = key.to_pkcs8_der().map_err(|_| encoding_failed())?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// PKCS#1 `RSAPublicKey` → `SubjectPublicKeyInfo`.
pub(crate) fn rsa_public_pkcs1_to_spki(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = RsaPublicKey::from_pkcs1_der(der).map_err(|_| invalid("PKCS#1 RSA public key"))?;
    let doc = key.to_public_key_der().map_err(|_| encoding_failed())?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// PKCS#8 `PrivateKeyInfo` of an RSA key → PKCS#1 `RSAPrivateKey`.
pub(crate) fn rsa_private_pkcs8_to_pkcs1(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = RsaPrivateKey::from_pkcs8_der(der).map_err(|_| {
        CoreError::KeyFormatTypeNotSupported("PKCS#1 for a key that is not RSA".into())
    })?;
    let doc = key.to_pkcs1_der().map_err(|_| encoding_failed())?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// `SubjectPublicKeyInfo` of an RSA key → PKCS#1 `RSAPublicKey`.
pub(crate) fn rsa_public_spki_to_pkcs1(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, CoreError> {
    let key = RsaPublicKey::from_public_key_der(der).map_err(|_| {
        CoreError::KeyFormatTypeNotSupported("PKCS#1 for a key that is not RSA".into())
    })?;
    let doc = key.to_pkcs1_der().map_err(|_| encoding_failed())?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}
