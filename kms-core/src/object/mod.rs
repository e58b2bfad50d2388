//! The managed-object model, after KMIP 2.1: identifiers, object types, attributes and lifecycle.

mod attributes;
mod state;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use attributes::{
    AttributeValue, Attributes, CryptographicAlgorithm, Grant, Link, LinkType, Name, NameType,
    ObjectMetadata, RecommendedCurve, RevocationReason, RevocationReasonCode, Rights, SplitKeyInfo,
    SplitKeyMethod, UsageLimits, UsageLimitsUnit, UsageMask,
};
pub use state::{LifecycleEvent, Purpose, State};

/// KMIP Unique Identifier of a managed object.
///
/// KMIP makes it a text string chosen by the server; this family uses UUIDs (v4) for new objects but accepts any
/// text so that imported stores keep their ids.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectId(String);

impl ObjectId {
    /// Longest identifier accepted, so that ids from the wire cannot grow stores or logs without bound.
    pub const MAX_LEN: usize = 256;

    /// A fresh random identifier (UUID v4).
    #[must_use]
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// The identifier as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ObjectId {
    type Error = crate::Error;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(crate::Error::InvalidField(format!(
                "unique identifier must be 1 to {} bytes",
                Self::MAX_LEN
            )));
        }
        Ok(Self(s))
    }
}

impl TryFrom<&str> for ObjectId {
    type Error = crate::Error;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::try_from(s.to_owned())
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({})", self.0)
    }
}

/// KMIP Object Type (KMIP 2.1 §11.35), with the specification's values.
#[allow(missing_docs)] // the names are the specification's
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u32)]
pub enum ObjectType {
    Certificate = 0x01,
    SymmetricKey = 0x02,
    PublicKey = 0x03,
    PrivateKey = 0x04,
    SplitKey = 0x05,
    SecretData = 0x07,
    OpaqueObject = 0x08,
    PgpKey = 0x09,
    CertificateRequest = 0x0A,
}
