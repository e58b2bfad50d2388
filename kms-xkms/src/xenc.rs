//! The part of XML Encryption (<https://www.w3.org/TR/xmlenc-core/>) XKMS needs: an `xenc:EncryptedData`
//! holding the `RSAKeyPair` of a PrivateKey element, encrypted under the `0x04` shared-secret key with
//! 3DES-CBC (as in the Recommendation), AES-128/256-CBC, or AES-128/256-GCM (XML Encryption 1.1).

use std::fmt;

use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use zeroize::Zeroizing;

use crate::error::{CryptoError, DecodeError, DecodeErrorKind};
use crate::messages::XKMS_NS;
use crate::xml::{Element, Limits, parse, write_element};

/// The XML Encryption namespace.
pub const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
/// `Type` of EncryptedData whose plaintext is one element.
pub const TYPE_ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";

/// A block or AEAD cipher for EncryptedData.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncryptionMethod {
    /// `xmlenc#tripledes-cbc` (24-byte key; the Recommendation's example).
    TripleDesCbc,
    /// `xmlenc#aes128-cbc`.
    Aes128Cbc,
    /// `xmlenc#aes256-cbc`.
    Aes256Cbc,
    /// `xmlenc11#aes128-gcm`.
    Aes128Gcm,
    /// `xmlenc11#aes256-gcm`.
    Aes256Gcm,
}

impl EncryptionMethod {
    /// The Algorithm URI.
    #[must_use]
    pub fn uri(self) -> &'static str {
        match self {
            Self::TripleDesCbc => "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
            Self::Aes128Cbc => "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            Self::Aes256Cbc => "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
            Self::Aes128Gcm => "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            Self::Aes256Gcm => "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        }
    }

    /// The method named by `uri`, if supported.
    #[must_use]
    pub fn from_uri(uri: &str) -> Option<Self> {
        [
            Self::TripleDesCbc,
            Self::Aes128Cbc,
            Self::Aes256Cbc,
            Self::Aes128Gcm,
            Self::Aes256Gcm,
        ]
        .into_iter()
        .find(|m| m.uri() == uri)
    }

    /// The key length in bytes (what to ask the `0x04` shared-secret derivation for).
    #[must_use]
    pub fn key_len(self) -> usize {
        match self {
            Self::TripleDesCbc => 24,
            Self::Aes128Cbc | Self::Aes128Gcm => 16,
            Self::Aes256Cbc | Self::Aes256Gcm => 32,
        }
    }
}

/// An `xenc:EncryptedData` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedData {
    /// `Id`.
    pub id: Option<String>,
    /// `Type` (XKMS uses [`TYPE_ELEMENT`]).
    pub type_uri: Option<String>,
    /// `EncryptionMethod/@Algorithm` (kept as a URI so unknown methods still parse).
    pub algorithm: Option<String>,
    /// `CipherData/CipherValue`: IV, ciphertext and (for GCM) tag.
    pub cipher_value: Vec<u8>,
}

fn random(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut v = vec![0u8; n];
    getrandom::fill(&mut v).map_err(|_| CryptoError)?;
    Ok(v)
}

fn cbc_encrypt<C>(key: &[u8], plaintext: &[u8], bs: usize) -> Result<Vec<u8>, CryptoError>
where
    C: KeyIvInit + BlockModeEncrypt,
{
    let iv = random(bs)?;
    let mut enc = C::new_from_slices(key, &iv).map_err(|_| CryptoError)?;
    // XML Encryption padding: the last byte is the pad length; the other pad bytes are arbitrary.
    let pad = bs - plaintext.len() % bs;
    let mut buf = Zeroizing::new(Vec::with_capacity(plaintext.len() + pad));
    buf.extend_from_slice(plaintext);
    buf.extend(std::iter::repeat_n(pad as u8, pad));
    let mut out = iv;
    for chunk in buf.chunks(bs) {
        let mut block = cbc::cipher::Block::<C>::try_from(chunk).map_err(|_| CryptoError)?;
        enc.encrypt_block(&mut block);
        out.extend_from_slice(&block);
    }
    Ok(out)
}

fn cbc_decrypt<C>(key: &[u8], data: &[u8], bs: usize) -> Result<Zeroizing<Vec<u8>>, CryptoError>
where
    C: KeyIvInit + BlockModeDecrypt,
{
    if data.len() < 2 * bs || !data.len().is_multiple_of(bs) {
        return Err(CryptoError);
    }
    let (iv, ct) = data.split_at(bs);
    let mut dec = C::new_from_slices(key, iv).map_err(|_| CryptoError)?;
    let mut out = Zeroizing::new(Vec::with_capacity(ct.len()));
    for chunk in ct.chunks(bs) {
        let mut block = cbc::cipher::Block::<C>::try_from(chunk).map_err(|_| CryptoError)?;
        dec.decrypt_block(&mut block);
        out.extend_from_slice(&block);
    }
    let pad = usize::from(*out.last().ok_or(CryptoError)?);
    if pad == 0 || pad > bs {
        return Err(CryptoError);
    }
    let keep = out.len() - pad;
    out.truncate(keep);
    Ok(out)
}

fn gcm_encrypt<A: aes_gcm::KeyInit + aes_gcm::aead::Aead>(
    key: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let cipher = A::new_from_slice(key).map_err(|_| CryptoError)?;
    let iv = random(12)?;
    let nonce = aes_gcm::aead::Nonce::<A>::try_from(iv.as_slice()).map_err(|_| CryptoError)?;
    let ct = cipher.encrypt(&nonce, plaintext).map_err(|_| CryptoError)?;
    let mut out = iv;
    out.extend_from_slice(&ct);
    Ok(out)
}

fn gcm_decrypt<A: aes_gcm::KeyInit + aes_gcm::aead::Aead>(
    key: &[u8],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if data.len() < 12 + 16 {
        return Err(CryptoError);
    }
    let cipher = A::new_from_slice(key).map_err(|_| CryptoError)?;
    let (iv, ct) = data.split_at(12);
    let nonce = aes_gcm::aead::Nonce::<A>::try_from(iv).map_err(|_| CryptoError)?;
    cipher
        .decrypt(&nonce, ct)
        .map(Zeroizing::new)
        .map_err(|_| CryptoError)
}

/// Encrypts `plaintext` with a fresh random IV; returns the CipherValue (IV || ciphertext [|| tag]).
///
/// # Errors
/// [`CryptoError`] for a key of the wrong length or an RNG failure.
pub fn encrypt(
    method: EncryptionMethod,
    key: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if key.len() != method.key_len() {
        return Err(CryptoError);
    }
    match method {
        EncryptionMethod::TripleDesCbc => {
            cbc_encrypt::<cbc::Encryptor<des::TdesEde3>>(key, plaintext, 8)
        }
        EncryptionMethod::Aes128Cbc => {
            cbc_encrypt::<cbc::Encryptor<aes::Aes128>>(key, plaintext, 16)
        }
        EncryptionMethod::Aes256Cbc => {
            cbc_encrypt::<cbc::Encryptor<aes::Aes256>>(key, plaintext, 16)
        }
        EncryptionMethod::Aes128Gcm => gcm_encrypt::<Aes128Gcm>(key, plaintext),
        EncryptionMethod::Aes256Gcm => gcm_encrypt::<Aes256Gcm>(key, plaintext),
    }
}

/// Decrypts a CipherValue.
///
/// # Errors
/// [`CryptoError`], one opaque value for every failure (length, padding, tag), so that the answer is
/// no padding oracle.
pub fn decrypt(
    method: EncryptionMethod,
    key: &[u8],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if key.len() != method.key_len() {
        return Err(CryptoError);
    }
    match method {
        EncryptionMethod::TripleDesCbc => {
            cbc_decrypt::<cbc::Decryptor<des::TdesEde3>>(key, data, 8)
        }
        EncryptionMethod::Aes128Cbc => cbc_decrypt::<cbc::Decryptor<aes::Aes128>>(key, data, 16),
        EncryptionMethod::Aes256Cbc => cbc_decrypt::<cbc::Decryptor<aes::Aes256>>(key, data, 16),
        EncryptionMethod::Aes128Gcm => gcm_decrypt::<Aes128Gcm>(key, data),
        EncryptionMethod::Aes256Gcm => gcm_decrypt::<Aes256Gcm>(key, data),
    }
}

/// The `RSAKeyPair` element (section 8.2.1): an RSA private key as big-endian CryptoBinary values.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaKeyPair {
    /// Modulus.
    pub modulus: Vec<u8>,
    /// Public exponent.
    pub exponent: Vec<u8>,
    /// First prime.
    pub p: Zeroizing<Vec<u8>>,
    /// Second prime.
    pub q: Zeroizing<Vec<u8>>,
    /// `d mod (p-1)`.
    pub dp: Zeroizing<Vec<u8>>,
    /// `d mod (q-1)`.
    pub dq: Zeroizing<Vec<u8>>,
    /// `q^-1 mod p`.
    pub inverse_q: Zeroizing<Vec<u8>>,
    /// Private exponent.
    pub d: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for RsaKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKeyPair")
            .field("modulus_bytes", &self.modulus.len())
            .finish_non_exhaustive()
    }
}

fn secret(b: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(b.to_vec())
}

impl RsaKeyPair {
    /// The components of an RSA private key with two primes.
    ///
    /// # Errors
    /// [`CryptoError`] if the key lacks two primes or its CRT values.
    pub fn from_rsa(key: &rsa::PrivateKey) -> Result<Self, CryptoError> {
        let primes = key.primes();
        if primes.len() != 2 {
            return Err(CryptoError);
        }
        let coeff = key.crt_coefficient().ok_or(CryptoError)?;
        Ok(Self {
            modulus: key.n_bytes().to_vec(),
            exponent: key.e_bytes().to_vec(),
            p: secret(&primes[0].as_ref().to_be_bytes_trimmed_vartime()),
            q: secret(&primes[1].as_ref().to_be_bytes_trimmed_vartime()),
            dp: secret(&key.dp().ok_or(CryptoError)?.to_be_bytes_trimmed_vartime()),
            dq: secret(&key.dq().ok_or(CryptoError)?.to_be_bytes_trimmed_vartime()),
            inverse_q: secret(&coeff.to_be_bytes_trimmed_vartime()),
            d: secret(&key.d().to_be_bytes_trimmed_vartime()),
        })
    }

    /// The RSA private key (validated by the `rsa` crate).
    ///
    /// # Errors
    /// [`CryptoError`] if the components do not form a valid key.
    pub fn to_rsa(&self) -> Result<rsa::PrivateKey, CryptoError> {
        let u = |b: &[u8]| rsa::BoxedUint::from_be_slice_vartime(b);
        rsa::PrivateKey::from_components(
            u(&self.modulus),
            u(&self.exponent),
            u(&self.d),
            vec![u(&self.p), u(&self.q)],
        )
        .map_err(|_| CryptoError)
    }

    /// The `RSAKeyPair` element, declaring the XKMS namespace itself (it is encrypted stand-alone).
    #[must_use]
    pub fn to_element(&self) -> Element {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let x = |local: &str, v: &[u8]| Element::new(Some(XKMS_NS), None, local).with_text(b64(v));
        Element::new(Some(XKMS_NS), None, "RSAKeyPair")
            .declare(None, XKMS_NS)
            .with_child(x("Modulus", &self.modulus))
            .with_child(x("Exponent", &self.exponent))
            .with_child(x("P", &self.p))
            .with_child(x("Q", &self.q))
            .with_child(x("DP", &self.dp))
            .with_child(x("DQ", &self.dq))
            .with_child(x("InverseQ", &self.inverse_q))
            .with_child(x("D", &self.d))
    }

    /// Reads an `RSAKeyPair` element.
    ///
    /// # Errors
    /// [`DecodeError`] for a missing or non-base64 component.
    pub fn from_element(e: &Element) -> Result<Self, DecodeError> {
        use base64::Engine as _;
        if !e.is(XKMS_NS, "RSAKeyPair") {
            return Err(DecodeError::new(
                format!("/{}", e.local),
                DecodeErrorKind::UnexpectedElement(e.qname()),
            ));
        }
        let get = |local: &'static str| -> Result<Zeroizing<Vec<u8>>, DecodeError> {
            let c = e
                .child_elements()
                .find(|c| c.is(XKMS_NS, local))
                .ok_or_else(|| {
                    DecodeError::new("/RSAKeyPair", DecodeErrorKind::MissingElement(local))
                })?;
            let t: String = c
                .text()
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(t.as_bytes())
                .map(Zeroizing::new)
                .map_err(|_| {
                    DecodeError::new(
                        format!("/RSAKeyPair/{local}"),
                        DecodeErrorKind::InvalidValue {
                            what: local,
                            reason: "not base64".into(),
                        },
                    )
                })
        };
        Ok(Self {
            modulus: get("Modulus")?.to_vec(),
            exponent: get("Exponent")?.to_vec(),
            p: get("P")?,
            q: get("Q")?,
            dp: get("DP")?,
            dq: get("DQ")?,
            inverse_q: get("InverseQ")?,
            d: get("D")?,
        })
    }
}

/// Encrypts an `RSAKeyPair` into the EncryptedData of a PrivateKey element.
///
/// # Errors
/// [`CryptoError`] for a key of the wrong length or an RNG failure.
pub fn encrypt_private_key(
    pair: &RsaKeyPair,
    method: EncryptionMethod,
    key: &[u8],
) -> Result<EncryptedData, CryptoError> {
    let plaintext = Zeroizing::new(write_element(&pair.to_element()).into_bytes());
    Ok(EncryptedData {
        id: None,
        type_uri: Some(TYPE_ELEMENT.to_owned()),
        algorithm: Some(method.uri().to_owned()),
        cipher_value: encrypt(method, key, &plaintext)?,
    })
}

/// Decrypts the EncryptedData of a PrivateKey element into its `RSAKeyPair`.
///
/// # Errors
/// [`CryptoError`] for an unknown algorithm, a wrong key, or a plaintext that is not an `RSAKeyPair`
/// (deliberately indistinguishable from a wrong key).
pub fn decrypt_private_key(data: &EncryptedData, key: &[u8]) -> Result<RsaKeyPair, CryptoError> {
    let method = data
        .algorithm
        .as_deref()
        .and_then(EncryptionMethod::from_uri)
        .ok_or(CryptoError)?;
    let plaintext = decrypt(method, key, &data.cipher_value)?;
    let doc = parse(&plaintext, &Limits::default()).map_err(|_| CryptoError)?;
    RsaKeyPair::from_element(&doc.root).map_err(|_| CryptoError)
}
