//! KMIP Create, Create Key Pair and Register.

use time::OffsetDateTime;

use super::{KeyManager, apply_dates};
use crate::audit::Operation;
use crate::backend::{GeneratedKey, KeyPolicy, KeySpec, Operations};
use crate::error::{Error, Result};
use crate::material::{KeyFormat, KeyMaterial};
use crate::object::{
    Attributes, CryptographicAlgorithm, Link, LinkType, ObjectId, ObjectMetadata, ObjectType,
    RecommendedCurve, State, UsageMask,
};
use crate::principal::Principal;
use crate::store::StoredObject;

/// Largest key value accepted by Register (a 16384-bit RSA PKCS#8 key or a certificate chain fits easily).
const MAX_MATERIAL_LEN: usize = 64 << 10;

/// The attributes of KMIP Create Key Pair: common to both keys, and specific to each (which win).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CreateKeyPairRequest {
    /// Common Attributes: the algorithm (RSA, EC, ECDSA, ECDH), the length or the curve, and anything both keys
    /// share.
    pub common_attributes: Attributes,
    /// Private Key Attributes.
    pub private_key_attributes: Attributes,
    /// Public Key Attributes.
    pub public_key_attributes: Attributes,
}

/// The two objects of a key pair.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyPairIds {
    /// Private Key Unique Identifier.
    pub private_key: ObjectId,
    /// Public Key Unique Identifier.
    pub public_key: ObjectId,
}

impl KeyManager {
    /// KMIP Create: generates a symmetric key (AES, or an HMAC key) in the default backend.
    ///
    /// `attributes` must give the Cryptographic Algorithm and Length; without a Cryptographic Usage Mask the key
    /// gets the usual one for its algorithm (encrypt, decrypt, wrap, unwrap for AES; MAC generate and verify for
    /// HMAC). The key is Pre-Active, or Active when its Activation Date is not in the future.
    ///
    /// # Errors
    /// [`Error::MissingData`] without algorithm or length; [`Error::InvalidField`] for a length the algorithm does
    /// not have; [`Error::UnsupportedCryptographicParameters`] when the backend cannot generate it;
    /// [`Error::AttributeReadOnly`] for server-managed attributes in the template;
    /// [`Error::NonUniqueNameAttribute`]; store and backend errors (after which no key is left in the backend).
    pub fn create(&self, who: &Principal, attributes: Attributes) -> Result<ObjectId> {
        let result = self.create_inner(who, attributes);
        self.emit(
            who,
            Operation::Create,
            result.as_ref().ok().cloned(),
            result.as_ref().err(),
        );
        result
    }

    fn create_inner(&self, who: &Principal, mut attributes: Attributes) -> Result<ObjectId> {
        let (algorithm, bits) = symmetric_spec(&mut attributes)?;
        let backend = self.generator_of(algorithm)?;
        let now = self.now();
        let id = ObjectId::random();
        let metadata = new_metadata(who, &id, ObjectType::SymmetricKey, attributes, now)?;
        self.check_names_unique(who.name(), &metadata.attributes.names, &[])?;
        let policy = policy_of(&metadata);
        let key = self.generate_symmetric(backend, algorithm, bits, &policy)?;
        self.record_new(&StoredObject {
            metadata,
            key: Some(key),
            version: 1,
        })?;
        Ok(id)
    }

    /// KMIP Create Key Pair: generates an RSA or EC key pair in the default backend and links the two objects
    /// (Public Key Link on the private key, Private Key Link on the public key).
    ///
    /// RSA takes the modulus length as Cryptographic Length; EC takes the Recommended Curve (or a Cryptographic
    /// Length of 256, 384 or 521). Attributes specific to one key win over the common ones.
    ///
    /// # Errors
    /// As [`KeyManager::create`]; [`Error::NonUniqueNameAttribute`] also when both keys would carry one name.
    pub fn create_key_pair(
        &self,
        who: &Principal,
        request: CreateKeyPairRequest,
    ) -> Result<KeyPairIds> {
        let result = self.create_key_pair_inner(who, request);
        self.emit(
            who,
            Operation::CreateKeyPair,
            result.as_ref().ok().map(|p| p.private_key.clone()),
            result.as_ref().err(),
        );
        result
    }

    fn create_key_pair_inner(
        &self,
        who: &Principal,
        request: CreateKeyPairRequest,
    ) -> Result<KeyPairIds> {
        let mut private = merge(&request.common_attributes, &request.private_key_attributes);
        let mut public = merge(&request.common_attributes, &request.public_key_attributes);
        let spec = key_pair_spec(&private)?;
        let pair_algorithm = private.cryptographic_algorithm;
        for attributes in [&mut private, &mut public] {
            attributes.cryptographic_algorithm = pair_algorithm;
            complete_pair_attributes(attributes, &spec);
        }
        let algorithm = private
            .cryptographic_algorithm
            .unwrap_or(CryptographicAlgorithm::Rsa);
        // Both objects belong to one owner, so one name on both would already break uniqueness.
        if private
            .names
            .iter()
            .any(|n| public.names.iter().any(|m| m.value == n.value))
        {
            return Err(Error::NonUniqueNameAttribute);
        }
        if private.cryptographic_usage_mask.is_none() {
            private.cryptographic_usage_mask =
                Some(default_usage(ObjectType::PrivateKey, algorithm));
        }
        if public.cryptographic_usage_mask.is_none() {
            public.cryptographic_usage_mask = Some(default_usage(ObjectType::PublicKey, algorithm));
        }
        let now = self.now();
        let ids = KeyPairIds {
            private_key: ObjectId::random(),
            public_key: ObjectId::random(),
        };
        private.links.push(Link {
            link_type: LinkType::PublicKeyLink,
            linked_object_id: ids.public_key.clone(),
        });
        public.links.push(Link {
            link_type: LinkType::PrivateKeyLink,
            linked_object_id: ids.private_key.clone(),
        });
        let private_meta =
            new_metadata(who, &ids.private_key, ObjectType::PrivateKey, private, now)?;
        let public_meta = new_metadata(who, &ids.public_key, ObjectType::PublicKey, public, now)?;
        self.check_names_unique(who.name(), &private_meta.attributes.names, &[])?;
        self.check_names_unique(who.name(), &public_meta.attributes.names, &[])?;
        let (private_key, public_key) =
            self.generate_key_pair(self.default_backend(), &spec, &policy_of(&private_meta))?;
        let private_object = StoredObject {
            metadata: private_meta,
            key: Some(private_key),
            version: 1,
        };
        let public_object = StoredObject {
            metadata: public_meta,
            key: Some(public_key),
            version: 1,
        };
        if let Err(e) = self.record_new(&private_object) {
            if let Some(k) = &public_object.key {
                self.discard_key(k);
            }
            return Err(e);
        }
        if let Err(e) = self.record_new(&public_object) {
            self.forget(&private_object);
            return Err(e);
        }
        Ok(ids)
    }

    /// KMIP Register: brings existing material under management, in the default backend.
    ///
    /// The material must be in the canonical format of its type: [`KeyFormat::Raw`] for symmetric keys, secret
    /// data and opaque objects, [`KeyFormat::Pkcs8`] for private keys, [`KeyFormat::SubjectPublicKeyInfo`] for
    /// public keys, [`KeyFormat::X509Certificate`] for certificates. A symmetric key needs its Cryptographic
    /// Algorithm; its length is taken from the material.
    ///
    /// # Errors
    /// [`Error::KeyFormatTypeNotSupported`] for a format that does not fit the type; [`Error::InvalidField`] when
    /// the material does not parse or has the wrong length; [`Error::OperationNotSupported`] for split keys, PGP
    /// keys and certificate requests; otherwise as [`KeyManager::create`].
    pub fn register(
        &self,
        who: &Principal,
        object_type: ObjectType,
        material: KeyMaterial,
        attributes: Attributes,
    ) -> Result<ObjectId> {
        let result = self.register_inner(who, object_type, &material, attributes);
        self.emit(
            who,
            Operation::Register,
            result.as_ref().ok().cloned(),
            result.as_ref().err(),
        );
        result
    }

    pub(super) fn register_inner(
        &self,
        who: &Principal,
        object_type: ObjectType,
        material: &KeyMaterial,
        mut attributes: Attributes,
    ) -> Result<ObjectId> {
        check_material(object_type, material, &mut attributes)?;
        let now = self.now();
        let id = ObjectId::random();
        let metadata = new_metadata(who, &id, object_type, attributes, now)?;
        self.check_names_unique(who.name(), &metadata.attributes.names, &[])?;
        let key = self.default_backend().import(
            object_type,
            metadata.attributes.cryptographic_algorithm,
            material,
            &policy_of(&metadata),
        )?;
        self.record_new(&StoredObject {
            metadata,
            key: Some(key),
            version: 1,
        })?;
        Ok(id)
    }

    /// Removes a just-recorded object and its backend key (rollback of a multi-object operation).
    pub(super) fn forget(&self, object: &StoredObject) {
        // The tombstone goes in first, so that no concurrent reader can cache the record being deleted.
        self.cache.evict(&object.metadata.id);
        if let Err(e) = self.store.delete(&object.metadata.id, object.version) {
            tracing::error!(target: "kms_core::manager", error = %e, id = %object.metadata.id, "rollback could not delete a record");
        }
        if let Some(key) = &object.key {
            self.discard_key(key);
        }
    }
}

/// The metadata of a new object: checks the client's attributes, sets the server-managed ones and the state.
pub(super) fn new_metadata(
    who: &Principal,
    id: &ObjectId,
    object_type: ObjectType,
    mut attributes: Attributes,
    now: OffsetDateTime,
) -> Result<ObjectMetadata> {
    reject_server_managed(&attributes)?;
    super::attributes::check_limits(&attributes)?;
    for d in [
        &mut attributes.activation_date,
        &mut attributes.deactivation_date,
        &mut attributes.process_start_date,
        &mut attributes.protect_stop_date,
        &mut attributes.original_creation_date,
    ] {
        *d = d.map(super::whole_seconds);
    }
    check_date_order(&attributes)?;
    attributes.initial_date = Some(now);
    attributes.last_change_date = Some(now);
    attributes.always_sensitive = attributes.sensitive;
    attributes.never_extractable = !attributes.extractable;
    // KMIP lets the client give Fresh when it registers an object (a key it made and kept unseen); otherwise a new
    // object has been served to no one.
    attributes.fresh = Some(attributes.fresh.unwrap_or(true));
    let mut metadata = ObjectMetadata {
        id: id.clone(),
        object_type,
        state: State::PreActive,
        owner: who.name().to_owned(),
        grants: Vec::new(),
        attributes,
    };
    apply_dates(&mut metadata, now);
    Ok(metadata)
}

/// Deactivation before activation would make a key that is never usable; refuse it rather than guess.
pub(super) fn check_date_order(a: &Attributes) -> Result<()> {
    if let (Some(act), Some(deact)) = (a.activation_date, a.deactivation_date)
        && deact < act
    {
        return Err(Error::InvalidAttributeValue(
            "Deactivation Date is before Activation Date".into(),
        ));
    }
    Ok(())
}

fn reject_server_managed(a: &Attributes) -> Result<()> {
    let set = [
        ("Initial Date", a.initial_date.is_some()),
        ("Destroy Date", a.destroy_date.is_some()),
        ("Compromise Date", a.compromise_date.is_some()),
        (
            "Compromise Occurrence Date",
            a.compromise_occurrence_date.is_some(),
        ),
        ("Last Change Date", a.last_change_date.is_some()),
        ("Revocation Reason", a.revocation_reason.is_some()),
        ("Split Key", a.split_key.is_some()),
    ];
    if let Some((name, _)) = set.iter().find(|(_, present)| *present) {
        return Err(Error::AttributeReadOnly((*name).into()));
    }
    if let Some(name) = a
        .custom
        .keys()
        .find(|k| super::attributes::is_server_custom(k))
    {
        return Err(Error::AttributeReadOnly(name.clone()));
    }
    Ok(())
}

pub(super) fn policy_of(m: &ObjectMetadata) -> KeyPolicy<'_> {
    KeyPolicy {
        id: &m.id,
        usage: m
            .attributes
            .cryptographic_usage_mask
            .unwrap_or(UsageMask::empty()),
        extractable: m.attributes.extractable,
    }
}

impl KeyManager {
    /// The default backend, when it generates `algorithm` keys.
    pub(super) fn generator_of(
        &self,
        algorithm: CryptographicAlgorithm,
    ) -> Result<&dyn crate::backend::KeyBackend> {
        let backend = self.default_backend();
        if backend
            .capabilities()
            .supports(algorithm, None, Operations::GENERATE)
        {
            Ok(backend)
        } else {
            Err(Error::UnsupportedCryptographicParameters(format!(
                "backend {:?} does not generate {algorithm:?} keys",
                backend.id()
            )))
        }
    }

    /// A new symmetric key from `backend`. A backend answering with a pair is broken: nothing of it is left behind.
    pub(super) fn generate_symmetric(
        &self,
        backend: &dyn crate::backend::KeyBackend,
        algorithm: CryptographicAlgorithm,
        bits: u32,
        policy: &KeyPolicy<'_>,
    ) -> Result<crate::backend::KeyRef> {
        match backend.generate(&KeySpec::Symmetric { algorithm, bits }, policy)? {
            GeneratedKey::Symmetric(key) => Ok(key),
            GeneratedKey::KeyPair { private, public } => {
                self.discard_key(&private);
                self.discard_key(&public);
                Err(Error::Backend(crate::backend::BackendError::InvalidInput(
                    "backend returned a key pair for a symmetric key".into(),
                )))
            }
        }
    }

    /// A new key pair (private, public) from `backend`. A backend answering with one symmetric key is broken:
    /// nothing of it is left behind.
    pub(super) fn generate_key_pair(
        &self,
        backend: &dyn crate::backend::KeyBackend,
        spec: &KeySpec,
        policy: &KeyPolicy<'_>,
    ) -> Result<(crate::backend::KeyRef, crate::backend::KeyRef)> {
        match backend.generate(spec, policy)? {
            GeneratedKey::KeyPair { private, public } => Ok((private, public)),
            GeneratedKey::Symmetric(key) => {
                self.discard_key(&key);
                Err(Error::Backend(crate::backend::BackendError::InvalidInput(
                    "backend returned a symmetric key for a key pair".into(),
                )))
            }
        }
    }
}

/// The algorithm and length of a new symmetric key (Create, Derive Key, Create Split Key), checked, with the
/// usage mask defaulted for the algorithm when the request has none.
pub(super) fn symmetric_spec(attributes: &mut Attributes) -> Result<(CryptographicAlgorithm, u32)> {
    let algorithm = attributes
        .cryptographic_algorithm
        .ok_or_else(|| Error::MissingData("Cryptographic Algorithm".into()))?;
    let bits = attributes
        .cryptographic_length
        .ok_or_else(|| Error::MissingData("Cryptographic Length".into()))?;
    check_symmetric_length(algorithm, bits)?;
    if attributes.cryptographic_usage_mask.is_none() {
        attributes.cryptographic_usage_mask =
            Some(default_usage(ObjectType::SymmetricKey, algorithm));
    }
    Ok((algorithm, bits))
}

/// The lengths each symmetric algorithm has.
pub(super) fn check_symmetric_length(algorithm: CryptographicAlgorithm, bits: u32) -> Result<()> {
    use CryptographicAlgorithm as A;
    let ok = match algorithm {
        A::Aes => matches!(bits, 128 | 192 | 256),
        A::ChaCha20 | A::ChaCha20Poly1305 => bits == 256,
        A::TripleDes => matches!(bits, 112 | 168 | 192),
        A::Rsa | A::Dsa | A::Ecdsa | A::Ec | A::Ecdh | A::Dh | A::Ed25519 => {
            return Err(Error::InvalidField(format!(
                "{algorithm:?} is not a symmetric algorithm"
            )));
        }
        // HMAC and other keys: whole bytes, at most 1 KiB.
        _ => bits > 0 && bits.is_multiple_of(8) && bits <= 8192,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidField(format!(
            "{bits} bits is not a valid Cryptographic Length for {algorithm:?}"
        )))
    }
}

fn key_pair_spec(a: &Attributes) -> Result<KeySpec> {
    use CryptographicAlgorithm as A;
    match a.cryptographic_algorithm {
        Some(A::Rsa) => {
            let bits = a
                .cryptographic_length
                .ok_or_else(|| Error::MissingData("Cryptographic Length".into()))?;
            if !(1024..=16384).contains(&bits) || !bits.is_multiple_of(8) {
                return Err(Error::InvalidField(format!(
                    "{bits} bits is not a valid RSA modulus length"
                )));
            }
            Ok(KeySpec::Rsa { bits })
        }
        Some(A::Ec | A::Ecdsa | A::Ecdh) => {
            let curve = match (a.recommended_curve, a.cryptographic_length) {
                (Some(c), None) => c,
                (Some(c), Some(l)) if l == c.bits() => c,
                (None, Some(256)) => RecommendedCurve::P256,
                (None, Some(384)) => RecommendedCurve::P384,
                (None, Some(521)) => RecommendedCurve::P521,
                (None, None) => {
                    return Err(Error::MissingData("Recommended Curve".into()));
                }
                (_, Some(l)) => {
                    return Err(Error::InvalidField(format!(
                        "{l} bits is not the length of a supported curve"
                    )));
                }
            };
            Ok(KeySpec::Ec { curve })
        }
        Some(other) => Err(Error::InvalidField(format!(
            "{other:?} is not a key-pair algorithm"
        ))),
        None => Err(Error::MissingData("Cryptographic Algorithm".into())),
    }
}

pub(super) fn complete_pair_attributes(a: &mut Attributes, spec: &KeySpec) {
    match *spec {
        KeySpec::Rsa { bits } => a.cryptographic_length = Some(bits),
        KeySpec::Ec { curve } => {
            a.recommended_curve = Some(curve);
            a.cryptographic_length = Some(curve.bits());
        }
        KeySpec::Symmetric { bits, .. } => a.cryptographic_length = Some(bits),
    }
}

/// The spec a key pair with these attributes was made from (for Re-key Key Pair).
pub(super) fn spec_of_pair(a: &Attributes) -> Result<KeySpec> {
    key_pair_spec(a)
}

/// The usual Cryptographic Usage Mask of a new object that was given none.
pub(super) fn default_usage(
    object_type: ObjectType,
    algorithm: CryptographicAlgorithm,
) -> UsageMask {
    use CryptographicAlgorithm as A;
    use ObjectType as T;
    match (object_type, algorithm) {
        (
            T::SymmetricKey,
            A::HmacSha1 | A::HmacSha224 | A::HmacSha256 | A::HmacSha384 | A::HmacSha512,
        ) => UsageMask::MAC_GENERATE | UsageMask::MAC_VERIFY,
        (T::SymmetricKey, _) => {
            UsageMask::ENCRYPT | UsageMask::DECRYPT | UsageMask::WRAP_KEY | UsageMask::UNWRAP_KEY
        }
        (T::PrivateKey, A::Rsa) => UsageMask::SIGN | UsageMask::DECRYPT | UsageMask::UNWRAP_KEY,
        (T::PublicKey, A::Rsa) => UsageMask::VERIFY | UsageMask::ENCRYPT | UsageMask::WRAP_KEY,
        (T::PrivateKey, A::Ecdh) => UsageMask::KEY_AGREEMENT,
        (T::PublicKey, A::Ecdh) => UsageMask::KEY_AGREEMENT,
        (T::PrivateKey, _) => UsageMask::SIGN,
        (T::PublicKey | T::Certificate, _) => UsageMask::VERIFY,
        (T::SecretData, _) => UsageMask::DERIVE_KEY,
        _ => UsageMask::empty(),
    }
}

/// The canonical [`KeyFormat`] of each registrable object type.
pub(super) fn canonical_format(object_type: ObjectType) -> Result<KeyFormat> {
    match object_type {
        ObjectType::SymmetricKey | ObjectType::SecretData | ObjectType::OpaqueObject => {
            Ok(KeyFormat::Raw)
        }
        ObjectType::PrivateKey => Ok(KeyFormat::Pkcs8),
        ObjectType::PublicKey => Ok(KeyFormat::SubjectPublicKeyInfo),
        ObjectType::Certificate => Ok(KeyFormat::X509Certificate),
        other => Err(Error::OperationNotSupported(format!(
            "objects of type {other:?}"
        ))),
    }
}

/// Common attributes overlaid with one key's: single values of the specific set win, lists are joined, and the
/// stricter of each flag is kept (sensitive if either says so, extractable only if both allow it).
fn merge(common: &Attributes, specific: &Attributes) -> Attributes {
    let mut m = common.clone();
    let s = specific;
    macro_rules! prefer {
        ($($f:ident),*) => { $( if s.$f.is_some() { m.$f = s.$f.clone(); } )* };
    }
    prefer!(
        cryptographic_algorithm,
        cryptographic_length,
        cryptographic_usage_mask,
        recommended_curve,
        contact_information,
        description,
        comment,
        initial_date,
        activation_date,
        process_start_date,
        protect_stop_date,
        deactivation_date,
        destroy_date,
        compromise_occurrence_date,
        compromise_date,
        last_change_date,
        original_creation_date,
        revocation_reason,
        usage_limits
    );
    m.names.extend(s.names.iter().cloned());
    m.object_groups.extend(s.object_groups.iter().cloned());
    m.links.extend(s.links.iter().cloned());
    m.sensitive = common.sensitive || s.sensitive;
    m.extractable = common.extractable && s.extractable;
    m.custom
        .extend(s.custom.iter().map(|(k, v)| (k.clone(), v.clone())));
    m
}

/// Checks registered material against its type (canonical format, size, symmetric key length) and completes the
/// Cryptographic Length and Usage Mask.
pub(super) fn check_material(
    object_type: ObjectType,
    material: &KeyMaterial,
    attributes: &mut Attributes,
) -> Result<()> {
    let expected = canonical_format(object_type)?;
    if material.format() != expected {
        return Err(Error::KeyFormatTypeNotSupported(format!(
            "{object_type:?} is registered as {expected:?}, not {:?}",
            material.format()
        )));
    }
    if material.bytes().is_empty() || material.bytes().len() > MAX_MATERIAL_LEN {
        return Err(Error::InvalidField(format!(
            "key value must be 1 to {MAX_MATERIAL_LEN} bytes"
        )));
    }
    if object_type == ObjectType::SymmetricKey {
        let algorithm = attributes
            .cryptographic_algorithm
            .ok_or_else(|| Error::MissingData("Cryptographic Algorithm".into()))?;
        let bits = u32::try_from(material.bytes().len() * 8)
            .map_err(|_| Error::InvalidField("key value too long".into()))?;
        if attributes.cryptographic_length.is_some_and(|l| l != bits) {
            return Err(Error::InvalidField(format!(
                "Cryptographic Length says {} bits, the key value has {bits}",
                attributes.cryptographic_length.unwrap_or_default()
            )));
        }
        check_symmetric_length(algorithm, bits)?;
        attributes.cryptographic_length = Some(bits);
    }
    if attributes.cryptographic_usage_mask.is_none() {
        attributes.cryptographic_usage_mask = Some(default_usage(
            object_type,
            attributes
                .cryptographic_algorithm
                .unwrap_or(CryptographicAlgorithm::Other(0)),
        ));
    }
    Ok(())
}
