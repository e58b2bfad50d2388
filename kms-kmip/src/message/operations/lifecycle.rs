//! Object creation and lifecycle operations (KMIP 1.4 §4.1-4.4, 4.6, 4.19-4.23; KMIP 2.1 §6.1).

use crate::message::attributes::Attributes;
use crate::message::codec::{BigInteger, DateTime, Interval};
use crate::message::enums::{
    CertificateRequestType, DerivationMethod, ObjectType, ProtectionStorageMask, SecretDataType,
    SplitKeyMethod,
};
use crate::message::objects::Object;
use crate::message::types::{CryptographicParameters, RevocationReason, UniqueIdentifier};

kmip_struct! {
    /// Protection Storage Masks (KMIP 2.0): acceptable storage protections, any of which will do.
    pub struct ProtectionStorageMasks {
        /// Protection Storage Mask.
        masks: vec ProtectionStorageMask = PROTECTION_STORAGE_MASK,
    }
}

kmip_struct! {
    /// Create request payload.
    pub struct CreateRequest {
        /// Object Type.
        object_type: req ObjectType = OBJECT_TYPE,
        /// Template-Attribute (1.x) / Attributes (2.x).
        attributes: req Attributes = TEMPLATE_ATTRIBUTE | ATTRIBUTES,
        /// Protection Storage Masks (2.0+).
        protection_storage_masks: opt ProtectionStorageMasks = PROTECTION_STORAGE_MASKS @ V2_0,
    }
}

kmip_struct! {
    /// Create response payload.
    pub struct CreateResponse {
        /// Object Type.
        object_type: req ObjectType = OBJECT_TYPE,
        /// Unique Identifier.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Template-Attribute: attributes the server set implicitly (1.x).
        attributes: opt Attributes = TEMPLATE_ATTRIBUTE | ATTRIBUTES,
    }
}

kmip_struct! {
    /// Create Key Pair request payload.
    pub struct CreateKeyPairRequest {
        /// Common Template-Attribute (1.x) / Common Attributes (2.x).
        common_attributes: opt Attributes = COMMON_TEMPLATE_ATTRIBUTE | COMMON_ATTRIBUTES,
        /// Private Key Template-Attribute (1.x) / Private Key Attributes (2.x).
        private_key_attributes: opt Attributes = PRIVATE_KEY_TEMPLATE_ATTRIBUTE | PRIVATE_KEY_ATTRIBUTES,
        /// Public Key Template-Attribute (1.x) / Public Key Attributes (2.x).
        public_key_attributes: opt Attributes = PUBLIC_KEY_TEMPLATE_ATTRIBUTE | PUBLIC_KEY_ATTRIBUTES,
        /// Common Protection Storage Masks (2.0+).
        common_protection_storage_masks: opt ProtectionStorageMasks = COMMON_PROTECTION_STORAGE_MASKS @ V2_0,
        /// Private Protection Storage Masks (2.0+).
        private_protection_storage_masks: opt ProtectionStorageMasks = PRIVATE_PROTECTION_STORAGE_MASKS @ V2_0,
        /// Public Protection Storage Masks (2.0+).
        public_protection_storage_masks: opt ProtectionStorageMasks = PUBLIC_PROTECTION_STORAGE_MASKS @ V2_0,
    }
}

kmip_struct! {
    /// Create Key Pair response payload (also Re-key Key Pair's).
    pub struct CreateKeyPairResponse {
        /// Private Key Unique Identifier.
        private_key_unique_identifier: req UniqueIdentifier = PRIVATE_KEY_UNIQUE_IDENTIFIER,
        /// Public Key Unique Identifier.
        public_key_unique_identifier: req UniqueIdentifier = PUBLIC_KEY_UNIQUE_IDENTIFIER,
        /// Private Key Template-Attribute (1.x).
        private_key_attributes: opt Attributes = PRIVATE_KEY_TEMPLATE_ATTRIBUTE | PRIVATE_KEY_ATTRIBUTES,
        /// Public Key Template-Attribute (1.x).
        public_key_attributes: opt Attributes = PUBLIC_KEY_TEMPLATE_ATTRIBUTE | PUBLIC_KEY_ATTRIBUTES,
    }
}

kmip_struct! {
    /// Register request payload.
    pub struct RegisterRequest {
        /// Object Type.
        object_type: req ObjectType = OBJECT_TYPE,
        /// Template-Attribute (1.x) / Attributes (2.x).
        attributes: req Attributes = TEMPLATE_ATTRIBUTE | ATTRIBUTES,
        /// The object.
        object: object Object = SYMMETRIC_KEY,
        /// Protection Storage Masks (2.0+).
        protection_storage_masks: opt ProtectionStorageMasks = PROTECTION_STORAGE_MASKS @ V2_0,
    }
}

kmip_struct! {
    /// Register response payload (also Re-key, Derive Key, Certify, Re-certify and Join Split Key's).
    pub struct RegisterResponse {
        /// Unique Identifier.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Template-Attribute: attributes the server set implicitly (1.x).
        attributes: opt Attributes = TEMPLATE_ATTRIBUTE | ATTRIBUTES,
    }
}

kmip_struct! {
    /// Re-key request payload.
    pub struct ReKeyRequest {
        /// Unique Identifier of the existing key.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Offset from the initialization date.
        offset: opt Interval = OFFSET,
        /// Template-Attribute (1.x) / Attributes (2.x).
        attributes: opt Attributes = TEMPLATE_ATTRIBUTE | ATTRIBUTES,
        /// Protection Storage Masks (2.0+).
        protection_storage_masks: opt ProtectionStorageMasks = PROTECTION_STORAGE_MASKS @ V2_0,
    }
}

kmip_struct! {
    /// Re-key Key Pair request payload.
    pub struct ReKeyKeyPairRequest {
        /// Private Key Unique Identifier of the existing pair.
        private_key_unique_identifier: opt UniqueIdentifier = PRIVATE_KEY_UNIQUE_IDENTIFIER,
        /// Offset.
        offset: opt Interval = OFFSET,
        /// Common Template-Attribute (1.x) / Common Attributes (2.x).
        common_attributes: opt Attributes = COMMON_TEMPLATE_ATTRIBUTE | COMMON_ATTRIBUTES,
        /// Private Key Template-Attribute (1.x) / Private Key Attributes (2.x).
        private_key_attributes: opt Attributes = PRIVATE_KEY_TEMPLATE_ATTRIBUTE | PRIVATE_KEY_ATTRIBUTES,
        /// Public Key Template-Attribute (1.x) / Public Key Attributes (2.x).
        public_key_attributes: opt Attributes = PUBLIC_KEY_TEMPLATE_ATTRIBUTE | PUBLIC_KEY_ATTRIBUTES,
        /// Common Protection Storage Masks (2.0+).
        common_protection_storage_masks: opt ProtectionStorageMasks = COMMON_PROTECTION_STORAGE_MASKS @ V2_0,
        /// Private Protection Storage Masks (2.0+).
        private_protection_storage_masks: opt ProtectionStorageMasks = PRIVATE_PROTECTION_STORAGE_MASKS @ V2_0,
        /// Public Protection Storage Masks (2.0+).
        public_protection_storage_masks: opt ProtectionStorageMasks = PUBLIC_PROTECTION_STORAGE_MASKS @ V2_0,
    }
}

kmip_struct! {
    /// Derivation Parameters (KMIP 1.4 §4.6).
    pub struct DerivationParameters {
        /// Cryptographic Parameters.
        cryptographic_parameters: opt CryptographicParameters = CRYPTOGRAPHIC_PARAMETERS,
        /// Initialization Vector.
        initialization_vector: opt Vec<u8> = INITIALIZATION_VECTOR,
        /// Derivation Data.
        derivation_data: opt Vec<u8> = DERIVATION_DATA,
        /// Salt.
        salt: opt Vec<u8> = SALT,
        /// Iteration Count.
        iteration_count: opt i32 = ITERATION_COUNT,
    }
}

kmip_struct! {
    /// Derive Key request payload.
    pub struct DeriveKeyRequest {
        /// Object Type of the derived object.
        object_type: req ObjectType = OBJECT_TYPE,
        /// Unique Identifiers of the base object(s).
        unique_identifiers: vec UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Derivation Method.
        derivation_method: req DerivationMethod = DERIVATION_METHOD,
        /// Derivation Parameters.
        derivation_parameters: req DerivationParameters = DERIVATION_PARAMETERS,
        /// Template-Attribute (1.x) / Attributes (2.x).
        attributes: req Attributes = TEMPLATE_ATTRIBUTE | ATTRIBUTES,
    }
}

kmip_struct! {
    /// Certify (and Re-certify) request payload.
    pub struct CertifyRequest {
        /// Unique Identifier of the public key or certificate.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Certificate Request Type.
        certificate_request_type: opt CertificateRequestType = CERTIFICATE_REQUEST_TYPE,
        /// Certificate Request Value.
        certificate_request_value: opt Vec<u8> = CERTIFICATE_REQUEST_VALUE,
        /// Offset (Re-certify).
        offset: opt Interval = OFFSET,
        /// Template-Attribute (1.x) / Attributes (2.x).
        attributes: opt Attributes = TEMPLATE_ATTRIBUTE | ATTRIBUTES,
        /// Protection Storage Masks (2.0+).
        protection_storage_masks: opt ProtectionStorageMasks = PROTECTION_STORAGE_MASKS @ V2_0,
    }
}

kmip_struct! {
    /// A payload holding only an optional Unique Identifier: requests of Activate, Destroy, Archive, Recover,
    /// Get Attribute List, Obtain Lease..., and responses that answer with the identifier.
    pub struct IdentifierPayload {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
    }
}

kmip_struct! {
    /// Revoke request payload.
    pub struct RevokeRequest {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Revocation Reason.
        revocation_reason: req RevocationReason = REVOCATION_REASON,
        /// Compromise Occurrence Date.
        compromise_occurrence_date: opt DateTime = COMPROMISE_OCCURRENCE_DATE,
    }
}

kmip_struct! {
    /// Obtain Lease response payload.
    pub struct ObtainLeaseResponse {
        /// Unique Identifier.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Lease Time.
        lease_time: req Interval = LEASE_TIME,
        /// Last Change Date.
        last_change_date: req DateTime = LAST_CHANGE_DATE,
    }
}

kmip_struct! {
    /// Get Usage Allocation request payload.
    pub struct GetUsageAllocationRequest {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Usage Limits Count.
        usage_limits_count: opt i64 = USAGE_LIMITS_COUNT,
    }
}

kmip_struct! {
    /// Create Split Key request payload.
    pub struct CreateSplitKeyRequest {
        /// Object Type.
        object_type: req ObjectType = OBJECT_TYPE,
        /// Unique Identifier of the key to split.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Split Key Parts.
        split_key_parts: req i32 = SPLIT_KEY_PARTS,
        /// Split Key Threshold.
        split_key_threshold: req i32 = SPLIT_KEY_THRESHOLD,
        /// Split Key Method.
        split_key_method: req SplitKeyMethod = SPLIT_KEY_METHOD,
        /// Prime Field Size.
        prime_field_size: opt BigInteger = PRIME_FIELD_SIZE,
        /// Template-Attribute (1.x) / Attributes (2.x).
        attributes: req Attributes = TEMPLATE_ATTRIBUTE | ATTRIBUTES,
    }
}

kmip_struct! {
    /// Create Split Key response payload.
    pub struct CreateSplitKeyResponse {
        /// Unique Identifiers of the parts.
        unique_identifiers: vec UniqueIdentifier = UNIQUE_IDENTIFIER,
    }
}

kmip_struct! {
    /// Join Split Key request payload.
    pub struct JoinSplitKeyRequest {
        /// Object Type of the joined object.
        object_type: req ObjectType = OBJECT_TYPE,
        /// Unique Identifiers of the parts.
        unique_identifiers: vec UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Secret Data Type when joining into Secret Data.
        secret_data_type: opt SecretDataType = SECRET_DATA_TYPE,
        /// Template-Attribute (1.x) / Attributes (2.x).
        attributes: opt Attributes = TEMPLATE_ATTRIBUTE | ATTRIBUTES,
    }
}
