//! KMIP Create Split Key and Join Split Key (KMIP 1.2 §4.38-4.39, 2.1 §6.1.9 and §6.1.27).
//!
//! The manager keeps the lifecycle (parts recorded all together or not at all), access control, links and the
//! check that joined parts give back the key that was split. The sharing arithmetic is not here: it comes in as a
//! [`SecretSharing`], which kms-escrow's GF(2^8) Shamir implements, so that escrow and KMIP split keys share one
//! implementation and kms-core does not depend on the escrow crate (escrow is a client of the manager).
//!
//! Each part is an object of type [`ObjectType::SplitKey`] whose key value is its share, with the Split Key
//! fields in [`Attributes::split_key`]. Parts link to each other in Key Part Identifier order (Previous Link,
//! Next Link) and, when an existing key was split, to it (Parent Link); a joined key links to the parts it came
//! from (Parent Link).

use std::collections::BTreeSet;
use std::fmt;

use hmac::{Hmac, KeyInit, Mac as _};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::KeyManager;
use super::create::{new_metadata, policy_of, symmetric_spec};
use crate::audit::Operation;
use crate::backend::KeyPolicy;
use crate::error::{Error, Result};
use crate::material::{KeyFormat, KeyMaterial};
use crate::object::{
    Attributes, CryptographicAlgorithm, Link, LinkType, ObjectId, ObjectType, Rights, SplitKeyInfo,
    SplitKeyMethod, UsageMask,
};
use crate::principal::Principal;
use crate::store::StoredObject;

/// Most parts one split makes: GF(2^8) has 255 non-zero abscissas.
pub const MAX_SPLIT_KEY_PARTS: u32 = 255;

/// Largest secret that is split (the registered-material limit of the manager).
const MAX_SECRET_LEN: usize = 64 << 10;

/// Domain separation of the key check value.
const KCV_DOMAIN: &[u8] = b"kms-core split key check value v1\0";

/// One share of a secret, as a [`SecretSharing`] scheme makes and takes it.
pub struct SharePart {
    /// Key Part Identifier: 1 to the number of parts (the share's abscissa).
    pub key_part_identifier: u32,
    /// The share: one value per byte of the secret for the GF(2^8) method.
    pub value: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for SharePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharePart")
            .field("key_part_identifier", &self.key_part_identifier)
            .field("len", &self.value.len())
            .finish_non_exhaustive()
    }
}

/// A secret sharing scheme: splits a secret into parts of which a threshold joins it again.
///
/// Object-safe. Implementations must draw their coefficients from a cryptographic generator and keep every
/// secret and share in zeroizing buffers.
pub trait SecretSharing: Send + Sync {
    /// The Split Key Method the scheme implements.
    fn method(&self) -> SplitKeyMethod;

    /// Splits `secret` into `parts` shares, any `threshold` of which join to it; the shares come back in Key
    /// Part Identifier order, 1 to `parts`.
    ///
    /// # Errors
    /// [`Error::InvalidField`] for parameters the scheme cannot do.
    fn split(&self, secret: &[u8], threshold: u32, parts: u32) -> Result<Vec<SharePart>>;

    /// Joins shares of one split of `parts` shares with `threshold`. Shamir sharing has no integrity: wrong
    /// shares give a wrong secret, not an error (the manager checks the result).
    ///
    /// # Errors
    /// [`Error::InvalidField`] for shares the scheme cannot join (too few, repeated, of different lengths).
    fn join(&self, threshold: u32, parts: u32, shares: &[SharePart]) -> Result<Zeroizing<Vec<u8>>>;
}

/// What KMIP Create Split Key carries.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateSplitKeyRequest {
    /// Object Type of the key that is split: Symmetric Key, or Secret Data when an existing object is split.
    pub object_type: ObjectType,
    /// Unique Identifier of an existing key to split; without it a new key is generated (never recorded
    /// whole: only its parts exist afterwards).
    pub base: Option<ObjectId>,
    /// Split Key Parts (N).
    pub split_key_parts: u32,
    /// Split Key Threshold (M).
    pub split_key_threshold: u32,
    /// Split Key Method.
    pub split_key_method: SplitKeyMethod,
    /// Prime Field Size, big-endian (Polynomial Sharing Prime Field only).
    pub prime_field_size: Option<Vec<u8>>,
    /// Attributes of the parts, and the Cryptographic Algorithm and Length of a key to generate.
    pub attributes: Attributes,
}

/// What KMIP Join Split Key carries.
#[derive(Clone, Debug, PartialEq)]
pub struct JoinSplitKeyRequest {
    /// Object Type of the joined object: Symmetric Key or Secret Data.
    pub object_type: ObjectType,
    /// Unique Identifiers of the parts (at least the threshold, of one split).
    pub parts: Vec<ObjectId>,
    /// Attributes of the joined object; the algorithm, length and usage mask default to the parts'.
    pub attributes: Attributes,
}

impl KeyManager {
    /// KMIP Create Split Key: splits a new key, or the existing key `request.base`, into parts recorded as Split
    /// Key objects owned by the caller, and returns their ids in Key Part Identifier order.
    ///
    /// Splitting hands the key out in pieces, so an existing key must be one the caller may Get in plaintext
    /// (read right, Extractable, not Sensitive). The parts are recorded all together or not at all. `sharing` must
    /// implement the requested method.
    ///
    /// # Errors
    /// [`Error::InvalidField`] unless `2 <= threshold <= parts <= 255`; [`Error::UnsupportedCryptographicParameters`]
    /// for a method `sharing` does not implement; [`Error::IllegalObjectType`] for an object type other than
    /// Symmetric Key or Secret Data or one that differs from the base key's; [`Error::MissingData`] without the
    /// algorithm and length of a key to generate; [`Error::NonUniqueNameAttribute`] for a Name (every part
    /// would carry it); for the base key as [`KeyManager::get`]; store and backend errors (after which no part
    /// is left).
    pub fn create_split_key(
        &self,
        who: &Principal,
        request: CreateSplitKeyRequest,
        sharing: &dyn SecretSharing,
    ) -> Result<Vec<ObjectId>> {
        let base = request.base.clone();
        let result = self.create_split_key_inner(who, request, sharing);
        let subject = result
            .as_ref()
            .ok()
            .and_then(|ids| ids.first())
            .or(base.as_ref())
            .cloned();
        self.audited(who, Operation::CreateSplitKey, subject.as_ref(), result)
    }

    fn create_split_key_inner(
        &self,
        who: &Principal,
        request: CreateSplitKeyRequest,
        sharing: &dyn SecretSharing,
    ) -> Result<Vec<ObjectId>> {
        let CreateSplitKeyRequest {
            object_type,
            base,
            split_key_parts: n,
            split_key_threshold: m,
            split_key_method: method,
            prime_field_size,
            mut attributes,
        } = request;
        if method != sharing.method() {
            return Err(Error::UnsupportedCryptographicParameters(format!(
                "Split Key Method {method}: this server implements {} only",
                sharing.method()
            )));
        }
        if prime_field_size.is_some() && method != SplitKeyMethod::PolynomialSharingPrimeField {
            return Err(Error::InvalidField(
                "Prime Field Size belongs to Polynomial Sharing Prime Field only".into(),
            ));
        }
        if m < 2 || m > n || n > MAX_SPLIT_KEY_PARTS {
            return Err(Error::InvalidField(format!(
                "need 2 <= Split Key Threshold ({m}) <= Split Key Parts ({n}) <= {MAX_SPLIT_KEY_PARTS}"
            )));
        }
        if !matches!(
            object_type,
            ObjectType::SymmetricKey | ObjectType::SecretData
        ) {
            return Err(Error::IllegalObjectType);
        }
        if !attributes.names.is_empty() {
            // A Name is unique among the owner's objects, and every part would carry it.
            return Err(Error::NonUniqueNameAttribute);
        }
        let now = self.now();
        let mut parent = Vec::new();
        let secret = match &base {
            Some(id) => {
                let object = self.load(who, id, Rights::READ, now)?;
                if object.metadata.object_type != object_type {
                    return Err(Error::IllegalObjectType);
                }
                let b = &object.metadata.attributes;
                attributes.cryptographic_algorithm = b.cryptographic_algorithm;
                attributes.cryptographic_length = b.cryptographic_length;
                if attributes.cryptographic_usage_mask.is_none() {
                    attributes.cryptographic_usage_mask = b.cryptographic_usage_mask;
                }
                parent.push(Link {
                    link_type: LinkType::ParentLink,
                    linked_object_id: id.clone(),
                });
                self.export_plain(&object)?.into_bytes()
            }
            None if object_type == ObjectType::SymmetricKey => {
                self.generate_secret(&mut attributes)?
            }
            None => {
                return Err(Error::MissingData(
                    "the Unique Identifier of the Secret Data to split".into(),
                ));
            }
        };
        if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
            return Err(Error::InvalidField(format!(
                "a split key is 1 to {MAX_SECRET_LEN} bytes"
            )));
        }
        let split_id = ObjectId::random().to_string();
        let key_check_value = key_check_value(&secret, &split_id)?;
        let shares = sharing.split(&secret, m, n)?;
        drop(secret);
        if shares.len() != n as usize
            || shares
                .iter()
                .zip(1..)
                .any(|(s, i)| s.key_part_identifier != i)
        {
            return Err(Error::InvalidField(
                "the secret sharing scheme returned parts out of order".into(),
            ));
        }
        let ids: Vec<ObjectId> = (0..n).map(|_| ObjectId::random()).collect();
        let mut objects = Vec::with_capacity(ids.len());
        for (i, share) in shares.iter().enumerate() {
            let mut a = attributes.clone();
            a.links.extend(parent.iter().cloned());
            if i > 0 {
                a.links.push(Link {
                    link_type: LinkType::PreviousLink,
                    linked_object_id: ids[i - 1].clone(),
                });
            }
            if let Some(next) = ids.get(i + 1) {
                a.links.push(Link {
                    link_type: LinkType::NextLink,
                    linked_object_id: next.clone(),
                });
            }
            let mut metadata = new_metadata(who, &ids[i], ObjectType::SplitKey, a, now)?;
            metadata.attributes.split_key = Some(SplitKeyInfo {
                split_key_parts: n,
                key_part_identifier: share.key_part_identifier,
                split_key_threshold: m,
                split_key_method: method,
                prime_field_size: prime_field_size.clone(),
                split_id: split_id.clone(),
                key_check_value: key_check_value.to_vec(),
            });
            objects.push(metadata);
        }
        let mut recorded: Vec<StoredObject> = Vec::with_capacity(objects.len());
        for (metadata, share) in objects.into_iter().zip(shares) {
            // The backend holds a share as plain secret bytes: what it is to KMIP is the record's business.
            let material = KeyMaterial::new(KeyFormat::Raw, share.value);
            let stored = self
                .default_backend()
                .import(
                    ObjectType::SecretData,
                    None,
                    &material,
                    &policy_of(&metadata),
                )
                .map_err(Error::from)
                .and_then(|key| {
                    let object = StoredObject {
                        metadata,
                        key: Some(key),
                        version: 1,
                    };
                    self.record_new(&object).map(|()| object)
                });
            match stored {
                Ok(object) => recorded.push(object),
                Err(e) => {
                    for object in &recorded {
                        self.forget(object);
                    }
                    return Err(e);
                }
            }
        }
        Ok(ids)
    }

    /// A new symmetric key from the default backend, as the request's algorithm and length say; the backend's
    /// copy is destroyed once read, since only the parts are kept.
    fn generate_secret(&self, attributes: &mut Attributes) -> Result<Zeroizing<Vec<u8>>> {
        let (algorithm, bits) = symmetric_spec(attributes)?;
        let backend = self.generator_of(algorithm)?;
        let transient = ObjectId::random();
        let policy = KeyPolicy {
            id: &transient,
            usage: UsageMask::empty(),
            extractable: true,
        };
        let key = self.generate_symmetric(backend, algorithm, bits, &policy)?;
        let exported = backend.export(&key);
        self.discard_key(&key);
        Ok(exported?.into_bytes())
    }

    /// KMIP Join Split Key: joins parts of one split and records the key as a new object of the caller.
    ///
    /// Every part must be visible to the caller with the read right and still have its key value; at least the
    /// split's threshold of distinct parts must be given. The joined secret is checked against the split's key
    /// check value before anything is recorded.
    ///
    /// # Errors
    /// [`Error::ItemNotFound`] for a part the caller may not see; [`Error::IllegalObjectType`] for an object that
    /// is not a Split Key or a requested type other than Symmetric Key or Secret Data; [`Error::ObjectDestroyed`]
    /// for a destroyed part; [`Error::InvalidField`] for parts of different splits, repeated parts or fewer than
    /// the threshold; [`Error::UnsupportedCryptographicParameters`] for parts of a method `sharing` does not
    /// implement; [`Error::CryptographicFailure`] when the parts do not join to the key that was split (a
    /// corrupted part); otherwise as [`KeyManager::register`].
    pub fn join_split_key(
        &self,
        who: &Principal,
        request: JoinSplitKeyRequest,
        sharing: &dyn SecretSharing,
    ) -> Result<ObjectId> {
        let first = request.parts.first().cloned();
        let result = self.join_split_key_inner(who, request, sharing);
        let subject = result.as_ref().ok().or(first.as_ref()).cloned();
        self.audited(who, Operation::JoinSplitKey, subject.as_ref(), result)
    }

    fn join_split_key_inner(
        &self,
        who: &Principal,
        request: JoinSplitKeyRequest,
        sharing: &dyn SecretSharing,
    ) -> Result<ObjectId> {
        let JoinSplitKeyRequest {
            object_type,
            parts,
            mut attributes,
        } = request;
        if !matches!(
            object_type,
            ObjectType::SymmetricKey | ObjectType::SecretData
        ) {
            return Err(Error::IllegalObjectType);
        }
        if parts.is_empty() || parts.len() > MAX_SPLIT_KEY_PARTS as usize {
            return Err(Error::InvalidField(format!(
                "Join Split Key takes 1 to {MAX_SPLIT_KEY_PARTS} parts"
            )));
        }
        let mut objects = Vec::with_capacity(parts.len());
        for id in &parts {
            let object = self.load_shared(who, id, Rights::READ)?;
            if object.metadata.object_type != ObjectType::SplitKey {
                return Err(Error::IllegalObjectType);
            }
            if !object.metadata.state.has_key_material() {
                return Err(Error::ObjectDestroyed);
            }
            objects.push(object);
        }
        let info = |o: &StoredObject| {
            o.metadata.attributes.split_key.clone().ok_or_else(|| {
                Error::InvalidField("a Split Key without its Split Key fields".into())
            })
        };
        let first = info(&objects[0])?;
        let mut seen = BTreeSet::new();
        for object in &objects {
            let i = info(object)?;
            if i.split_id != first.split_id
                || i.split_key_parts != first.split_key_parts
                || i.split_key_threshold != first.split_key_threshold
                || i.split_key_method != first.split_key_method
            {
                return Err(Error::InvalidField(
                    "the parts come from different splits".into(),
                ));
            }
            if !seen.insert(i.key_part_identifier) {
                return Err(Error::InvalidField(format!(
                    "Key Part Identifier {} given twice",
                    i.key_part_identifier
                )));
            }
        }
        if first.split_key_method != sharing.method() {
            return Err(Error::UnsupportedCryptographicParameters(format!(
                "Split Key Method {}: this server implements {} only",
                first.split_key_method,
                sharing.method()
            )));
        }
        if (seen.len() as u64) < u64::from(first.split_key_threshold) {
            return Err(Error::InvalidField(format!(
                "{} parts given, the Split Key Threshold is {}",
                seen.len(),
                first.split_key_threshold
            )));
        }
        let mut shares = Vec::with_capacity(objects.len());
        for object in &objects {
            let key = object
                .key
                .as_ref()
                .ok_or_else(|| Error::KeyValueNotPresent)?;
            let value = self.backend_for(key)?.export(key)?.into_bytes();
            shares.push(SharePart {
                key_part_identifier: info(object)?.key_part_identifier,
                value,
            });
        }
        let secret = sharing.join(first.split_key_threshold, first.split_key_parts, &shares)?;
        drop(shares);
        let check = key_check_value(&secret, &first.split_id)?;
        if !bool::from(check.as_slice().ct_eq(&first.key_check_value)) {
            return Err(Error::CryptographicFailure);
        }

        let p = &objects[0].metadata.attributes;
        if attributes.cryptographic_algorithm.is_none() {
            attributes.cryptographic_algorithm = p.cryptographic_algorithm;
        }
        if attributes.cryptographic_usage_mask.is_none() {
            attributes.cryptographic_usage_mask = p.cryptographic_usage_mask;
        }
        if object_type == ObjectType::SymmetricKey && attributes.cryptographic_algorithm.is_none() {
            attributes.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
        }
        attributes.links.extend(objects.iter().map(|o| Link {
            link_type: LinkType::ParentLink,
            linked_object_id: o.metadata.id.clone(),
        }));
        // The joined key is recorded as a Register of its value would record it.
        let material = KeyMaterial::new(KeyFormat::Raw, secret);
        self.register_inner(who, object_type, &material, attributes)
    }
}

/// HMAC-SHA256 keyed with the secret over the split id: equal only for the secret that was split.
fn key_check_value(secret: &[u8], split_id: &str) -> Result<[u8; 32]> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret)
        .map_err(|_| Error::InvalidField("empty secret".into()))?;
    mac.update(KCV_DOMAIN);
    mac.update(split_id.as_bytes());
    Ok(mac.finalize().into_bytes().into())
}
