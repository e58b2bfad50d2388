//! Who is calling: the identity every [`KeyManager`](crate::KeyManager) operation carries.

use std::fmt;

/// The caller of a [`KeyManager`](crate::KeyManager) operation.
///
/// Protocol layers build it from what they authenticated (a TLS client certificate's subject, an XKMS signer).
/// Objects belong to the principal that created or registered them; others see them only through a
/// [`Grant`](crate::object::Grant). Administrators see and manage every object.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    name: String,
    admin: bool,
}

impl Principal {
    /// Longest name accepted: names are stored in every object's owner and grants.
    pub const MAX_NAME_LEN: usize = 1024;

    /// An ordinary principal.
    ///
    /// # Errors
    /// [`Error::InvalidField`](crate::Error::InvalidField) when the name is empty or longer than
    /// [`Principal::MAX_NAME_LEN`].
    pub fn new(name: impl Into<String>) -> crate::Result<Self> {
        Self::with_admin(name, false)
    }

    /// An administrator: sees and manages every object.
    ///
    /// # Errors
    /// As [`Principal::new`].
    pub fn admin(name: impl Into<String>) -> crate::Result<Self> {
        Self::with_admin(name, true)
    }

    fn with_admin(name: impl Into<String>, admin: bool) -> crate::Result<Self> {
        let name = name.into();
        if name.is_empty() || name.len() > Self::MAX_NAME_LEN {
            return Err(crate::Error::InvalidField(format!(
                "principal name must be 1 to {} bytes",
                Self::MAX_NAME_LEN
            )));
        }
        Ok(Self { name, admin })
    }

    /// The name objects record as their owner and grants refer to.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this principal is an administrator.
    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.admin
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("name", &self.name)
            .field("admin", &self.admin)
            .finish()
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}
