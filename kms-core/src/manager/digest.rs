//! KMIP's Digest attribute (KMIP 2.1 §4.13): a hash of the object's key material, computed on request.

use sha2::Digest as _;

use super::KeyManager;
use crate::audit::Operation;
use crate::error::Result;
use crate::material::KeyMaterial;
use crate::object::{ObjectId, Rights};
use crate::principal::Principal;

impl KeyManager {
    /// KMIP Digest: SHA-256 of the object's key material as `encode` writes it (the protocol chooses the Key
    /// Format Type the digest is over, e.g. PKCS#1 for RSA keys). Needs the right to read the object; the
    /// material reaches only `encode`, never the caller.
    ///
    /// `None` when there is nothing to digest or the backend keeps the material to itself: a destroyed
    /// object, a key its backend will not export (a non-extractable token key), or a format `encode` refuses.
    ///
    /// # Errors
    /// [`Error::ItemNotFound`](crate::Error::ItemNotFound) and store errors.
    pub fn digest(
        &self,
        who: &Principal,
        id: &ObjectId,
        encode: &dyn Fn(&KeyMaterial) -> Result<zeroize::Zeroizing<Vec<u8>>>,
    ) -> Result<Option<[u8; 32]>> {
        let now = self.now();
        let result = (|| {
            let object = self.load(who, id, Rights::READ, now)?;
            if !object.metadata.state.has_key_material() {
                return Ok(None);
            }
            let Some(key) = object.key.as_ref() else {
                return Ok(None);
            };
            let Ok(material) = self.backend_for(key)?.export(key) else {
                return Ok(None);
            };
            Ok(encode(&material)
                .ok()
                .map(|bytes| sha2::Sha256::digest(&bytes[..]).into()))
        })();
        self.audited_at(who, Operation::GetAttributes, Some(id), now, result)
    }
}
