//! Key material crossing the [`KeyManager`](crate::KeyManager) boundary (register, get, export).

use std::fmt;

use zeroize::Zeroizing;

/// The encoding of [`KeyMaterial`]: the canonical forms kms-core speaks. Protocol crates convert their formats
/// (KMIP Transparent keys, PKCS#1, XKMS KeyValue) to and from these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyFormat {
    /// The bytes of a symmetric key, of secret data, or of an opaque object.
    Raw,
    /// A private key as PKCS#8 `PrivateKeyInfo`, DER.
    Pkcs8,
    /// A public key as X.509 `SubjectPublicKeyInfo`, DER.
    SubjectPublicKeyInfo,
    /// An X.509 certificate, DER.
    X509Certificate,
}

/// Key material in one of the canonical [`KeyFormat`]s.
///
/// The bytes live in a zeroizing buffer and `Debug` shows only the format and length. There is no `Clone`:
/// copies of secrets are made on purpose, with [`KeyMaterial::duplicate`].
pub struct KeyMaterial {
    format: KeyFormat,
    bytes: Zeroizing<Vec<u8>>,
}

impl KeyMaterial {
    /// Wraps bytes already in `format`.
    #[must_use]
    pub fn new(format: KeyFormat, bytes: Zeroizing<Vec<u8>>) -> Self {
        Self { format, bytes }
    }

    /// The encoding of [`KeyMaterial::bytes`].
    #[must_use]
    pub fn format(&self) -> KeyFormat {
        self.format
    }

    /// The encoded material.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A second copy, also zeroizing.
    #[must_use]
    pub fn duplicate(&self) -> Self {
        Self {
            format: self.format,
            bytes: self.bytes.clone(),
        }
    }

    /// Gives up the buffer (still zeroizing).
    #[must_use]
    pub fn into_bytes(self) -> Zeroizing<Vec<u8>> {
        self.bytes
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("format", &self.format)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}
