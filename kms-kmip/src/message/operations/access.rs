//! Locating, reading and changing objects and their attributes (KMIP 1.4 §4.8-4.18, 4.25-4.26; KMIP 2.1 §6.1).

use crate::message::attributes::{AttributeReference, Attributes, IndexedAttribute};
use crate::message::codec::{DateTime, Interval, RawItem};
use crate::message::enums::{
    AdjustmentType, CryptographicUsageMask, KeyCompressionType, KeyFormatType, KeyWrapType,
    ObjectGroupMember, ObjectType, StorageStatusMask, ValidityIndicator,
};
use crate::message::objects::{Certificate, Object};
use crate::message::types::{KeyWrappingSpecification, UniqueIdentifier};

kmip_struct! {
    /// Locate request payload.
    pub struct LocateRequest {
        /// Maximum Items.
        maximum_items: opt i32 = MAXIMUM_ITEMS,
        /// Offset Items (1.3+).
        offset_items: opt i32 = OFFSET_ITEMS,
        /// Storage Status Mask.
        storage_status_mask: opt StorageStatusMask = STORAGE_STATUS_MASK,
        /// Object Group Member (1.2+).
        object_group_member: opt ObjectGroupMember = OBJECT_GROUP_MEMBER,
        /// The filter: 1.x `Attribute` items, 2.x an `Attributes` structure.
        attributes: inline Attributes = ATTRIBUTE | ATTRIBUTES,
    }
}

kmip_struct! {
    /// Locate response payload.
    pub struct LocateResponse {
        /// Located Items (1.3+): how many matched.
        located_items: opt i32 = LOCATED_ITEMS,
        /// Unique Identifiers found.
        unique_identifiers: vec UniqueIdentifier = UNIQUE_IDENTIFIER,
    }
}

kmip_struct! {
    /// Check request and response payload.
    pub struct CheckPayload {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Usage Limits Count.
        usage_limits_count: opt i64 = USAGE_LIMITS_COUNT,
        /// Cryptographic Usage Mask.
        cryptographic_usage_mask: opt CryptographicUsageMask = CRYPTOGRAPHIC_USAGE_MASK,
        /// Lease Time.
        lease_time: opt Interval = LEASE_TIME,
    }
}

kmip_struct! {
    /// Get request payload.
    pub struct GetRequest {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Key Format Type.
        key_format_type: opt KeyFormatType = KEY_FORMAT_TYPE,
        /// Key Wrap Type (1.4+).
        key_wrap_type: opt KeyWrapType = KEY_WRAP_TYPE,
        /// Key Compression Type.
        key_compression_type: opt KeyCompressionType = KEY_COMPRESSION_TYPE,
        /// Key Wrapping Specification.
        key_wrapping_specification: opt Box<KeyWrappingSpecification> = KEY_WRAPPING_SPECIFICATION,
    }
}

kmip_struct! {
    /// Get response payload.
    pub struct GetResponse {
        /// Object Type.
        object_type: req ObjectType = OBJECT_TYPE,
        /// Unique Identifier.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// The object.
        object: object Object = SYMMETRIC_KEY,
    }
}

kmip_struct! {
    /// Get Attributes request payload.
    pub struct GetAttributesRequest {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// The attributes wanted (1.x Attribute Name / 2.x Attribute Reference); none means all.
        attribute_references: vec AttributeReference = ATTRIBUTE_NAME | ATTRIBUTE_REFERENCE,
    }
}

kmip_struct! {
    /// Get Attributes response payload.
    pub struct GetAttributesResponse {
        /// Unique Identifier.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// The attributes: 1.x `Attribute` items, 2.x an `Attributes` structure.
        attributes: inline Attributes = ATTRIBUTE | ATTRIBUTES,
    }
}

kmip_struct! {
    /// Get Attribute List response payload.
    pub struct GetAttributeListResponse {
        /// Unique Identifier.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// The attributes the object has (1.x Attribute Name / 2.x Attribute Reference).
        attribute_references: vec AttributeReference = ATTRIBUTE_NAME | ATTRIBUTE_REFERENCE,
    }
}

kmip_struct! {
    /// Add Attribute request payload (1.x `Attribute`, 2.x New Attribute).
    pub struct AddAttributeRequest {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// The attribute to add.
        attribute: req IndexedAttribute = ATTRIBUTE | NEW_ATTRIBUTE,
    }
}

kmip_struct! {
    /// Response payload of Add, Modify and Delete Attribute: the identifier, and in 1.x the attribute.
    pub struct AttributeChangeResponse {
        /// Unique Identifier.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// The attribute as added, modified or deleted (1.x only).
        attribute: opt IndexedAttribute = ATTRIBUTE,
    }
}

kmip_struct! {
    /// Set Attribute request payload (2.0+).
    pub struct SetAttributeRequest {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// New Attribute.
        new_attribute: req IndexedAttribute = NEW_ATTRIBUTE,
    }
}

kmip_struct! {
    /// Adjust Attribute request payload (2.0+; KMIP 2.1 §6.1.2). The response is the Unique Identifier.
    pub struct AdjustAttributeRequest {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// The attribute to adjust.
        attribute_reference: req AttributeReference = ATTRIBUTE_REFERENCE,
        /// Increment, Decrement or Negate.
        adjustment_type: req AdjustmentType = ADJUSTMENT_TYPE,
        /// How much to increment or decrement by, typed as the server reads it (a number, or an Interval for
        /// dates).
        adjustment_value: opt RawItem = ADJUSTMENT_VALUE,
    }
}

kmip_struct! {
    /// Modify Attribute request payload (1.x `Attribute`; 2.x Current Attribute and New Attribute).
    pub struct ModifyAttributeRequest {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Current Attribute (2.0+): which instance to modify.
        current_attribute: opt IndexedAttribute = CURRENT_ATTRIBUTE @ V2_0,
        /// The new value (1.x `Attribute` with its index; 2.x New Attribute).
        attribute: req IndexedAttribute = ATTRIBUTE | NEW_ATTRIBUTE,
    }
}

kmip_struct! {
    /// Delete Attribute request payload (1.x Attribute Name and Index; 2.x Current Attribute or Attribute
    /// Reference).
    pub struct DeleteAttributeRequest {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Current Attribute (2.0+): the instance to delete.
        current_attribute: opt IndexedAttribute = CURRENT_ATTRIBUTE @ V2_0,
        /// Attribute Name (1.x) / Attribute Reference (2.x).
        attribute_reference: opt AttributeReference = ATTRIBUTE_NAME | ATTRIBUTE_REFERENCE,
        /// Attribute Index (1.x).
        attribute_index: opt i32 = ATTRIBUTE_INDEX,
    }
}

kmip_struct! {
    /// Validate request payload.
    pub struct ValidateRequest {
        /// Certificates of the chain.
        certificates: vec Certificate = CERTIFICATE,
        /// Unique Identifiers of certificates of the chain.
        unique_identifiers: vec UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Validity Date.
        validity_date: opt DateTime = VALIDITY_DATE,
    }
}

kmip_struct! {
    /// Validate response payload.
    pub struct ValidateResponse {
        /// Validity Indicator.
        validity_indicator: req ValidityIndicator = VALIDITY_INDICATOR,
    }
}
