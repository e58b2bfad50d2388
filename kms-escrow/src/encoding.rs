//! Canonical binary encoding for everything that is hashed or signed, and serde helpers.
//!
//! JSON is how documents travel, but JSON is not canonical (key order, escapes, number forms), so hashes and
//! signatures are computed over this encoding instead: a domain label, then fields in a fixed order, every
//! variable-length field prefixed by its length. Two different values never encode to the same bytes.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::{EscrowError, Result};

/// A SHA-256 value (policy hash, request digest, audit chain link), written as hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Hash256(pub [u8; 32]);

impl Hash256 {
    /// The all-zero value that the first audit record links to.
    pub const ZERO: Self = Self([0; 32]);

    /// SHA-256 of `data`.
    #[must_use]
    pub fn of(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// Lower-case hex.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    ///
    /// # Errors
    /// [`EscrowError::Invalid`] if `s` is not 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)
            .map_err(|e| EscrowError::invalid("hash", e.to_string()))?;
        Ok(Self(out))
    }
}

impl core::fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Hash256({})", self.to_hex())
    }
}

impl core::fmt::Display for Hash256 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash256 {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash256 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// Builder of a canonical encoding, finished into a SHA-256 digest.
pub(crate) struct Canonical {
    buf: Vec<u8>,
}

impl Canonical {
    /// Starts an encoding under a domain label, so that a digest of one kind of document can never be taken for
    /// a digest of another kind.
    pub(crate) fn new(domain: &str) -> Self {
        let mut c = Self {
            buf: Vec::with_capacity(256),
        };
        c.str(domain);
        c
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u64(v.len() as u64);
        self.buf.extend_from_slice(v);
        self
    }

    pub(crate) fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }

    pub(crate) fn hash(&mut self, v: &Hash256) -> &mut Self {
        self.buf.extend_from_slice(&v.0);
        self
    }

    /// The encoded bytes (used directly as AEAD associated data).
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub(crate) fn digest(&self) -> Hash256 {
        Hash256::of(&self.buf)
    }
}

/// Serde helper: `Vec<u8>` as standard base64.
pub(crate) mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

/// Validates a short identifier-like string: 1..=`max` bytes of `[A-Za-z0-9._@:-]`.
pub(crate) fn check_token(what: &'static str, s: &str, max: usize) -> Result<()> {
    if s.is_empty() || s.len() > max {
        return Err(EscrowError::invalid(
            what,
            format!("length must be 1..={max}"),
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b':'))
    {
        return Err(EscrowError::invalid(
            what,
            "only letters, digits and . _ - @ : are allowed",
        ));
    }
    Ok(())
}

/// Validates free text: 1..=`max` bytes, no control characters other than newline and tab.
pub(crate) fn check_text(what: &'static str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() || s.len() > max {
        return Err(EscrowError::invalid(
            what,
            format!("must be non-empty and at most {max} bytes"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(EscrowError::invalid(
            what,
            "control characters are not allowed",
        ));
    }
    Ok(())
}

macro_rules! token_newtype {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps: 1 to 64 characters of `[A-Za-z0-9._@:-]`.
            ///
            /// # Errors
            /// [`EscrowError::Invalid`](crate::EscrowError::Invalid) otherwise.
            pub fn new(s: impl Into<String>) -> crate::error::Result<Self> {
                let s = s.into();
                crate::encoding::check_token($what, &s, 64)?;
                Ok(Self(s))
            }

            /// The string form.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = crate::error::EscrowError;
            fn try_from(s: String) -> crate::error::Result<Self> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl core::str::FromStr for $name {
            type Err = crate::error::EscrowError;
            fn from_str(s: &str) -> crate::error::Result<Self> {
                Self::new(s)
            }
        }
    };
}
pub(crate) use token_newtype;
