//! Grants: the owner (or an administrator) gives other principals [`Rights`] on an object, and takes them back.

use super::{KeyManager, check_access};
use crate::audit::Operation;
use crate::error::{Error, Result};
use crate::object::{Grant, ObjectId, Rights};
use crate::principal::Principal;

/// Most principals one object may be granted to.
pub const MAX_GRANTS: usize = 256;

impl KeyManager {
    /// Gives `grantee` the `rights` on an object (added to any it has). Only the owner or an administrator may.
    ///
    /// # Errors
    /// [`Error::ItemNotFound`] for callers who cannot see the object; [`Error::PermissionDenied`] for grantees who
    /// can but do not own it; [`Error::InvalidField`] for no rights, the owner as grantee, or more than
    /// [`MAX_GRANTS`] grantees; store errors.
    pub fn grant(
        &self,
        who: &Principal,
        id: &ObjectId,
        grantee: &str,
        rights: Rights,
    ) -> Result<()> {
        let result = (|| {
            if rights.is_empty() || grantee.is_empty() || grantee.len() > Principal::MAX_NAME_LEN {
                return Err(Error::InvalidField(
                    "a grant needs rights and a grantee".into(),
                ));
            }
            self.update_object(who, id, Rights::READ, |o, _| {
                let m = &mut o.metadata;
                owner_or_admin(who, m)?;
                if m.owner == grantee {
                    return Err(Error::InvalidField("the owner needs no grant".into()));
                }
                if let Some(g) = m.grants.iter_mut().find(|g| g.principal == grantee) {
                    g.rights |= rights;
                } else if m.grants.len() >= MAX_GRANTS {
                    return Err(Error::InvalidField(format!(
                        "at most {MAX_GRANTS} grantees per object"
                    )));
                } else {
                    m.grants.push(Grant {
                        principal: grantee.to_owned(),
                        rights,
                    });
                }
                Ok(())
            })
            .map(|_| ())
        })();
        self.audited(who, Operation::Grant, Some(id), result)
    }

    /// Takes `rights` back from `grantee` (the grant goes when no right is left). Taking back what was never given
    /// is not an error.
    ///
    /// # Errors
    /// As [`KeyManager::grant`].
    pub fn revoke_grant(
        &self,
        who: &Principal,
        id: &ObjectId,
        grantee: &str,
        rights: Rights,
    ) -> Result<()> {
        let result = self
            .update_object(who, id, Rights::READ, |o, _| {
                let m = &mut o.metadata;
                owner_or_admin(who, m)?;
                for g in &mut m.grants {
                    if g.principal == grantee {
                        g.rights.remove(rights);
                    }
                }
                m.grants.retain(|g| !g.rights.is_empty());
                Ok(())
            })
            .map(|_| ());
        self.audited(who, Operation::RevokeGrant, Some(id), result)
    }
}

fn owner_or_admin(who: &Principal, m: &crate::object::ObjectMetadata) -> Result<()> {
    if who.is_admin() || m.owner == who.name() {
        Ok(())
    } else {
        // The caller passed the READ check, so it sees the object: the honest answer is a denial.
        check_access(who, m, Rights::READ)?;
        Err(Error::PermissionDenied)
    }
}
