//! The limited-use shared secret (XKMS 2.0 section 8.1): a pass phrase turned into keys with
//! `K = HMAC-SHA1(key = T, message = converted pass phrase)`.
//!
//! This KDF is one unsalted HMAC over a low-entropy secret; it exists for wire compatibility only.
//! Pass phrases must be single-use, short-lived and rate-limited by the service.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

type HmacSha1 = Hmac<Sha1>;

/// The identifier `T` that separates the keys derived from one pass phrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum KeyUse {
    /// `0x1`: the HMAC key of KeyBindingAuthentication.
    Authentication = 1,
    /// `0x2`: the RevocationCode.
    RevocationCode = 2,
    /// `0x3`: the RevocationCodeIdentifier, computed over the raw RevocationCode
    /// (see [`revocation_code_identifier`]).
    RevocationCodeIdentifier = 3,
    /// `0x4`: the key that encrypts a PrivateKey element.
    PrivateKeyEncryption = 4,
}

/// How the pass phrase string becomes bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Conversion {
    /// The Recommendation: SASLprep (RFC 4013), then UTF-8; case and spaces are kept.
    #[default]
    SaslPrep,
    /// The 2004 Candidate Recommendation: lower-cased, with spaces, control characters and punctuation
    /// removed. The Recommendation's own example messages (and xsec-xklient's revocation codes) were
    /// computed this way, so it stays available as an explicit opt-in.
    Legacy2004,
}

/// A pass phrase that cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SharedSecretError {
    /// SASLprep refused the string (prohibited character, bad bidirectional text, unassigned code
    /// point). The string itself is never included.
    #[error("pass phrase rejected by SASLprep")]
    SaslPrep,
    /// The conversion produced an empty string.
    #[error("pass phrase is empty after conversion")]
    Empty,
    /// More key bytes were requested than this key use allows.
    #[error("requested key length {0} not supported for this key use")]
    KeyLength(usize),
}

/// Converts a pass phrase into the bytes that are MACed.
///
/// # Errors
/// [`SharedSecretError::SaslPrep`] for strings RFC 4013 prohibits; [`SharedSecretError::Empty`] for
/// nothing left.
pub fn convert(
    pass_phrase: &str,
    conversion: Conversion,
) -> Result<Zeroizing<Vec<u8>>, SharedSecretError> {
    let out: Zeroizing<String> = match conversion {
        Conversion::SaslPrep => Zeroizing::new(
            stringprep::saslprep(pass_phrase)
                .map_err(|_| SharedSecretError::SaslPrep)?
                .into_owned(),
        ),
        Conversion::Legacy2004 => {
            let mut s = Zeroizing::new(String::with_capacity(pass_phrase.len()));
            for c in pass_phrase.chars() {
                if c.is_whitespace() || c.is_control() || is_punctuation(c) {
                    continue;
                }
                s.extend(c.to_lowercase());
            }
            s
        }
    };
    if out.is_empty() {
        return Err(SharedSecretError::Empty);
    }
    Ok(Zeroizing::new(out.as_bytes().to_vec()))
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '\u{A1}'..='\u{BF}' | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205E}' | '\u{3000}'..='\u{303F}')
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Zeroizing<[u8; 20]> {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = <HmacSha1 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(msg);
    let mut out = Zeroizing::new([0u8; 20]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// Derives `len` key bytes for `key_use` from already converted pass-phrase bytes.
///
/// Up to 20 bytes: `HMAC-SHA1(T, s)` truncated. Longer keys (only for
/// [`KeyUse::PrivateKeyEncryption`], e.g. 3DES or AES-256): `B1 = HMAC-SHA1(0x04, s)`, then
/// `Bi+1 = HMAC-SHA1(Bi with its first byte XORed with 0x04, s)`, concatenated and truncated.
///
/// # Errors
/// [`SharedSecretError::KeyLength`] for 0 bytes, more than 20 bytes for other key uses, or more than
/// 64 bytes.
pub fn derive_from_bytes(
    secret: &[u8],
    key_use: KeyUse,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, SharedSecretError> {
    let t = key_use as u8;
    if len == 0 || len > 64 || (len > 20 && key_use != KeyUse::PrivateKeyEncryption) {
        return Err(SharedSecretError::KeyLength(len));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(len + 20));
    let mut block = hmac_sha1(&[t], secret);
    out.extend_from_slice(&block[..]);
    while out.len() < len {
        let mut k = Zeroizing::new(*block);
        k[0] ^= 0x04;
        block = hmac_sha1(&k[..], secret);
        out.extend_from_slice(&block[..]);
    }
    out.truncate(len);
    Ok(out)
}

/// Converts `pass_phrase` and derives `len` bytes for `key_use` (see [`derive_from_bytes`]).
///
/// # Errors
/// See [`convert`] and [`derive_from_bytes`].
pub fn derive_key(
    pass_phrase: &str,
    conversion: Conversion,
    key_use: KeyUse,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, SharedSecretError> {
    let s = convert(pass_phrase, conversion)?;
    derive_from_bytes(&s, key_use, len)
}

/// The 20-byte RevocationCode the client sends in a RevokeRequest.
///
/// # Errors
/// See [`convert`].
pub fn revocation_code(
    pass_phrase: &str,
    conversion: Conversion,
) -> Result<Zeroizing<Vec<u8>>, SharedSecretError> {
    derive_key(pass_phrase, conversion, KeyUse::RevocationCode, 20)
}

/// `RevocationCodeIdentifier = HMAC-SHA1(key 0x03, RevocationCode)`, over the raw code bytes.
#[must_use]
pub fn revocation_code_identifier(revocation_code: &[u8]) -> [u8; 20] {
    *hmac_sha1(&[KeyUse::RevocationCodeIdentifier as u8], revocation_code)
}

/// Whether `revocation_code` hashes to `identifier`, compared in constant time.
#[must_use]
pub fn revocation_code_matches(revocation_code: &[u8], identifier: &[u8]) -> bool {
    revocation_code_identifier(revocation_code)
        .ct_eq(identifier)
        .into()
}

/// Constant-time equality of two byte strings (lengths are not secret).
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}
