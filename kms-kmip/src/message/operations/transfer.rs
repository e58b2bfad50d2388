//! Import and Export (KMIP 1.4 §4.27-4.28; KMIP 2.1 §6.1).

use crate::message::attributes::Attributes;
use crate::message::enums::{KeyCompressionType, KeyFormatType, KeyWrapType, ObjectType};
use crate::message::objects::Object;
use crate::message::types::{KeyWrappingSpecification, UniqueIdentifier};

kmip_struct! {
    /// Import request payload.
    pub struct ImportRequest {
        /// Unique Identifier to give the object.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Object Type.
        object_type: req ObjectType = OBJECT_TYPE,
        /// Replace Existing.
        replace_existing: opt bool = REPLACE_EXISTING,
        /// Key Wrap Type.
        key_wrap_type: opt KeyWrapType = KEY_WRAP_TYPE,
        /// The object's attributes: 1.x `Attribute` items, 2.x an `Attributes` structure.
        attributes: inline Attributes = ATTRIBUTE | ATTRIBUTES,
        /// The object.
        object: object Object = SYMMETRIC_KEY,
    }
}

kmip_struct! {
    /// Export request payload.
    pub struct ExportRequest {
        /// Unique Identifier.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Key Format Type.
        key_format_type: opt KeyFormatType = KEY_FORMAT_TYPE,
        /// Key Wrap Type.
        key_wrap_type: opt KeyWrapType = KEY_WRAP_TYPE,
        /// Key Compression Type.
        key_compression_type: opt KeyCompressionType = KEY_COMPRESSION_TYPE,
        /// Key Wrapping Specification.
        key_wrapping_specification: opt Box<KeyWrappingSpecification> = KEY_WRAPPING_SPECIFICATION,
    }
}

kmip_struct! {
    /// Export response payload.
    pub struct ExportResponse {
        /// Object Type.
        object_type: req ObjectType = OBJECT_TYPE,
        /// Unique Identifier.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// The object's attributes: 1.x `Attribute` items, 2.x an `Attributes` structure.
        attributes: inline Attributes = ATTRIBUTE | ATTRIBUTES,
        /// The object.
        object: object Object = SYMMETRIC_KEY,
    }
}
