//! The cryptographic primitives of escrow, each behind one small function with an opaque error.
//!
//! - material and RSA-wrapped shares: AES-256-GCM (12-byte random nonce, associated data binding context);
//! - shares to agents and recipients: HPKE base mode, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM
//!   (RFC 9180 suite 0x0010/0x0001/0x0002);
//! - shares to agents whose key is in an HSM: RSA-OAEP-SHA256 wraps a fresh AES-256 key (the HSM only ever
//!   performs an OAEP decryption), AES-256-GCM carries the share with the binding associated data;
//! - key check value: HMAC-SHA256 keyed by the data key over the deposit id.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use getrandom::SysRng;
use hmac::{Hmac, Mac};
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use p256::elliptic_curve::sec1::ToSec1Point;
use rand_core::UnwrapErr;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{EscrowError, Result};

pub(crate) type HpkeKem = hpke::kem::DhP256HkdfSha256;
pub(crate) type HpkeKdf = hpke::kdf::HkdfSha256;
pub(crate) type HpkeAead = hpke::aead::AesGcm256;

/// Length of an AES-256 key and of the escrow data key.
pub(crate) const DATA_KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

/// Fills `buf` from the operating system's random number generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| EscrowError::Rng)
}

/// A fresh AES-256 key.
pub(crate) fn random_key() -> Result<Zeroizing<[u8; DATA_KEY_LEN]>> {
    let mut k = Zeroizing::new([0u8; DATA_KEY_LEN]);
    fill_random(k.as_mut())?;
    Ok(k)
}

/// The RNG handed to libraries that take a `CryptoRng` (HPKE, vsss-rs). It panics only if the operating system
/// cannot supply randomness at all, where no key operation could continue anyway.
pub(crate) fn rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}

/// AES-256-GCM encryption with a random nonce; returns (nonce, ciphertext || tag).
pub(crate) fn aes_gcm_seal(
    key: &[u8; DATA_KEY_LEN],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<([u8; NONCE_LEN], Vec<u8>)> {
    let cipher = Aes256Gcm::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    let mut buf = plaintext.to_vec();
    cipher
        .encrypt_in_place(&Nonce::from(nonce), aad, &mut buf)
        .map_err(|_| EscrowError::Crypto)?;
    Ok((nonce, buf))
}

/// AES-256-GCM decryption into a zeroizing buffer.
pub(crate) fn aes_gcm_open(
    key: &[u8; DATA_KEY_LEN],
    nonce: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| EscrowError::Crypto)?;
    let cipher = Aes256Gcm::new(key.into());
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place(&Nonce::from(nonce), aad, &mut *buf)
        .map_err(|_| EscrowError::Crypto)?;
    Ok(buf)
}

/// Parses an uncompressed or compressed SEC1 P-256 point into an HPKE public key.
pub(crate) fn hpke_public_key(pk: &p256::PublicKey) -> Result<<HpkeKem as hpke::Kem>::PublicKey> {
    let point = pk.to_sec1_point(false);
    <HpkeKem as hpke::Kem>::PublicKey::from_bytes(point.as_bytes()).map_err(|_| EscrowError::Crypto)
}

/// HPKE single-shot seal; returns (encapsulated key, ciphertext || tag).
pub(crate) fn hpke_seal(
    pk: &p256::PublicKey,
    info: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<(Vec<u8>, Vec<u8>)> {
    let pk = hpke_public_key(pk)?;
    let (enc, ct) = hpke::single_shot_seal_with_rng::<HpkeAead, HpkeKdf, HpkeKem>(
        &OpModeS::Base,
        &pk,
        info,
        plaintext,
        aad,
        &mut rng(),
    )
    .map_err(|_| EscrowError::Crypto)?;
    Ok((enc.to_bytes().to_vec(), ct))
}

/// HPKE single-shot open.
pub(crate) fn hpke_open(
    sk: &p256::SecretKey,
    info: &[u8],
    enc: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let sk_bytes = Zeroizing::new(<[u8; 32]>::from(sk.to_bytes()));
    let sk = <HpkeKem as hpke::Kem>::PrivateKey::from_bytes(sk_bytes.as_ref())
        .map_err(|_| EscrowError::Crypto)?;
    let enc =
        <HpkeKem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| EscrowError::Crypto)?;
    let pt = hpke::single_shot_open::<HpkeAead, HpkeKdf, HpkeKem>(
        &OpModeR::Base,
        &sk,
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map_err(|_| EscrowError::Crypto)?;
    Ok(Zeroizing::new(pt))
}

/// Generates a P-256 key pair usable for HPKE (escrow agents' and recipients' encryption keys).
///
/// # Errors
/// Never in practice; kept fallible for a uniform key-generation interface.
pub fn generate_p256_secret_key() -> Result<p256::SecretKey> {
    let mut rng = rng();
    let (sk, _) = HpkeKem::gen_keypair_with_rng(&mut rng);
    let bytes = Zeroizing::new(sk.to_bytes().to_vec());
    p256::SecretKey::from_slice(&bytes).map_err(|_| EscrowError::Crypto)
}

/// RSA-OAEP-SHA256 encryption of `plaintext` (at most 190 bytes for 2048-bit keys).
pub(crate) fn rsa_oaep_encrypt(pk: &rsa::PublicKey, plaintext: &[u8]) -> Result<Vec<u8>> {
    pk.encrypt(&mut SysRng, rsa::Oaep::<Sha256>::new(), plaintext)
        .map_err(|_| EscrowError::Crypto)
}

/// Key check value: HMAC-SHA256(data key, domain || deposit id).
pub(crate) fn key_check_value(data_key: &[u8], deposit_id: &str) -> Result<[u8; 32]> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(data_key).map_err(|_| EscrowError::Crypto)?;
    mac.update(b"kms-escrow/v1/key-check-value");
    mac.update(&(deposit_id.len() as u64).to_be_bytes());
    mac.update(deposit_id.as_bytes());
    Ok(mac.finalize().into_bytes().into())
}

/// Constant-time equality of MACs and check values.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}
