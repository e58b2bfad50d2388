//! Server and session operations: Query, Discover Versions, Poll, Cancel, and the 2.x Interop, Log and Set
//! Endpoint Role (KMIP 1.4 §4.24-4.25, 4.39-4.40; KMIP 2.1 §6.1).

use crate::message::attributes::Attributes;
use crate::message::enums::{
    AttestationType, CancellationResult, ClientRegistrationMethod, DestroyAction, EndpointRole,
    InteropFunction, ObjectType, Operation, ProfileName, QueryFunction, RNGMode,
    ShreddingAlgorithm, UnwrapMode, ValidationAuthorityType, ValidationType,
};
use crate::message::operations::lifecycle::ProtectionStorageMasks;
use crate::message::types::{ProtocolVersion, RNGParameters};

kmip_struct! {
    /// Query request payload.
    pub struct QueryRequest {
        /// Query Functions.
        query_functions: vec QueryFunction = QUERY_FUNCTION,
    }
}

kmip_struct! {
    /// Server Information (KMIP 1.x: vendor-defined, kept in `extensions`; KMIP 2.x: the fields below).
    pub struct ServerInformation {
        /// Server Name (2.0+).
        server_name: opt String = SERVER_NAME,
        /// Server Serial Number (2.0+).
        server_serial_number: opt String = SERVER_SERIAL_NUMBER,
        /// Server Version (2.0+).
        server_version: opt String = SERVER_VERSION,
        /// Server Load (2.0+).
        server_load: opt String = SERVER_LOAD,
        /// Product Name (2.0+).
        product_name: opt String = PRODUCT_NAME,
        /// Build Level (2.0+).
        build_level: opt String = BUILD_LEVEL,
        /// Build Date (2.0+).
        build_date: opt String = BUILD_DATE,
        /// Cluster Info (2.0+).
        cluster_info: opt String = CLUSTER_INFO,
        /// Alternate Failover Endpoints (2.0+).
        alternate_failover_endpoints: vec String = ALTERNATE_FAILOVER_ENDPOINTS,
    }
}

kmip_struct! {
    /// Extension Information (KMIP 1.4 §2.1.9).
    pub struct ExtensionInformation {
        /// Extension Name.
        extension_name: req String = EXTENSION_NAME,
        /// Extension Tag.
        extension_tag: opt i32 = EXTENSION_TAG,
        /// Extension Type.
        extension_type: opt i32 = EXTENSION_TYPE,
        /// Extension Enumeration (2.0+).
        extension_enumeration: opt i32 = EXTENSION_ENUMERATION,
        /// Extension Attribute (2.0+).
        extension_attribute: opt bool = EXTENSION_ATTRIBUTE,
        /// Extension Parent Structure Tag (2.0+).
        extension_parent_structure_tag: opt i32 = EXTENSION_PARENT_STRUCTURE_TAG,
        /// Extension Description (2.0+).
        extension_description: opt String = EXTENSION_DESCRIPTION,
    }
}

kmip_struct! {
    /// Profile Version (KMIP 2.0).
    pub struct ProfileVersion {
        /// Profile Version Major.
        major: req i32 = PROFILE_VERSION_MAJOR,
        /// Profile Version Minor.
        minor: req i32 = PROFILE_VERSION_MINOR,
    }
}

kmip_struct! {
    /// Profile Information (KMIP 1.4 §2.1.19).
    pub struct ProfileInformation {
        /// Profile Name.
        profile_name: req ProfileName = PROFILE_NAME,
        /// Profile Version (2.0+).
        profile_version: opt ProfileVersion = PROFILE_VERSION,
        /// Server URI.
        server_uri: opt String = SERVER_URI,
        /// Server Port.
        server_port: opt i32 = SERVER_PORT,
    }
}

kmip_struct! {
    /// Validation Information (KMIP 1.4 §2.1.20).
    pub struct ValidationInformation {
        /// Validation Authority Type.
        validation_authority_type: req ValidationAuthorityType = VALIDATION_AUTHORITY_TYPE,
        /// Validation Authority Country.
        validation_authority_country: opt String = VALIDATION_AUTHORITY_COUNTRY,
        /// Validation Authority URI.
        validation_authority_uri: opt String = VALIDATION_AUTHORITY_URI,
        /// Validation Version Major.
        validation_version_major: req i32 = VALIDATION_VERSION_MAJOR,
        /// Validation Version Minor.
        validation_version_minor: opt i32 = VALIDATION_VERSION_MINOR,
        /// Validation Type.
        validation_type: req ValidationType = VALIDATION_TYPE,
        /// Validation Level.
        validation_level: req i32 = VALIDATION_LEVEL,
        /// Validation Certificate Identifier.
        validation_certificate_identifier: opt String = VALIDATION_CERTIFICATE_IDENTIFIER,
        /// Validation Certificate URI.
        validation_certificate_uri: opt String = VALIDATION_CERTIFICATE_URI,
        /// Validation Vendor URI.
        validation_vendor_uri: opt String = VALIDATION_VENDOR_URI,
        /// Validation Profiles.
        validation_profiles: vec String = VALIDATION_PROFILE,
    }
}

kmip_struct! {
    /// Capability Information (KMIP 1.4 §2.1.21).
    pub struct CapabilityInformation {
        /// Streaming Capability.
        streaming_capability: opt bool = STREAMING_CAPABILITY,
        /// Asynchronous Capability.
        asynchronous_capability: opt bool = ASYNCHRONOUS_CAPABILITY,
        /// Attestation Capability.
        attestation_capability: opt bool = ATTESTATION_CAPABILITY,
        /// Batch Undo Capability.
        batch_undo_capability: opt bool = BATCH_UNDO_CAPABILITY,
        /// Batch Continue Capability.
        batch_continue_capability: opt bool = BATCH_CONTINUE_CAPABILITY,
        /// Unwrap Mode.
        unwrap_mode: opt UnwrapMode = UNWRAP_MODE,
        /// Destroy Action.
        destroy_action: opt DestroyAction = DESTROY_ACTION,
        /// Shredding Algorithm.
        shredding_algorithm: opt ShreddingAlgorithm = SHREDDING_ALGORITHM,
        /// RNG Mode.
        rng_mode: opt RNGMode = RNG_MODE,
        /// Quantum Safe Capability (2.0+).
        quantum_safe_capability: opt bool = QUANTUM_SAFE_CAPABILITY,
    }
}

kmip_struct! {
    /// Object Defaults (KMIP 2.0): the attributes a server applies to new objects of a type.
    pub struct ObjectDefaults {
        /// Object Type.
        object_type: req ObjectType = OBJECT_TYPE,
        /// Attributes.
        attributes: req Attributes = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Defaults Information (KMIP 2.0).
    pub struct DefaultsInformation {
        /// Object Defaults.
        object_defaults: vec ObjectDefaults = OBJECT_DEFAULTS,
    }
}

kmip_struct! {
    /// Query response payload.
    pub struct QueryResponse {
        /// Operations supported.
        operations: vec Operation = OPERATION,
        /// Object Types supported.
        object_types: vec ObjectType = OBJECT_TYPE,
        /// Vendor Identification.
        vendor_identification: opt String = VENDOR_IDENTIFICATION,
        /// Server Information.
        server_information: opt Box<ServerInformation> = SERVER_INFORMATION,
        /// Application Namespaces.
        application_namespaces: vec String = APPLICATION_NAMESPACE,
        /// Extension Information.
        extension_information: vec ExtensionInformation = EXTENSION_INFORMATION,
        /// Attestation Types.
        attestation_types: vec AttestationType = ATTESTATION_TYPE,
        /// RNG Parameters.
        rng_parameters: vec RNGParameters = RNG_PARAMETERS,
        /// Profile Information.
        profile_information: vec ProfileInformation = PROFILE_INFORMATION,
        /// Validation Information.
        validation_information: vec ValidationInformation = VALIDATION_INFORMATION,
        /// Capability Information.
        capability_information: vec CapabilityInformation = CAPABILITY_INFORMATION,
        /// Client Registration Methods.
        client_registration_methods: vec ClientRegistrationMethod = CLIENT_REGISTRATION_METHOD,
        /// Defaults Information (2.0+).
        defaults_information: opt DefaultsInformation = DEFAULTS_INFORMATION @ V2_0,
        /// Protection Storage Masks (2.0+).
        protection_storage_masks: vec ProtectionStorageMasks = PROTECTION_STORAGE_MASKS @ V2_0,
    }
}

kmip_struct! {
    /// Discover Versions request and response payload.
    pub struct DiscoverVersionsPayload {
        /// Protocol Versions, preferred first.
        protocol_versions: vec ProtocolVersion = PROTOCOL_VERSION,
    }
}

kmip_struct! {
    /// Poll request payload.
    pub struct PollRequest {
        /// Asynchronous Correlation Value.
        asynchronous_correlation_value: req Vec<u8> = ASYNCHRONOUS_CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// Cancel request payload.
    pub struct CancelRequest {
        /// Asynchronous Correlation Value.
        asynchronous_correlation_value: req Vec<u8> = ASYNCHRONOUS_CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// Cancel response payload.
    pub struct CancelResponse {
        /// Asynchronous Correlation Value.
        asynchronous_correlation_value: req Vec<u8> = ASYNCHRONOUS_CORRELATION_VALUE,
        /// Cancellation Result.
        cancellation_result: req CancellationResult = CANCELLATION_RESULT,
    }
}

kmip_struct! {
    /// Interop request payload (2.0+, test-harness control used by the KMIP profiles' test cases).
    pub struct InteropRequest {
        /// Interop Function.
        interop_function: req InteropFunction = INTEROP_FUNCTION,
        /// Interop Identifier.
        interop_identifier: opt String = INTEROP_IDENTIFIER,
    }
}

kmip_struct! {
    /// Log request payload (2.0+).
    pub struct LogRequest {
        /// Log Message.
        log_message: req String = LOG_MESSAGE,
    }
}

kmip_struct! {
    /// An empty payload (responses of Interop, Log...); kept items are extensions.
    pub struct EmptyPayload {}
}

kmip_struct! {
    /// Set Endpoint Role request and response payload (2.0+; KMIP 2.1 §6.1): the role asked for, and the
    /// role granted.
    pub struct SetEndpointRolePayload {
        /// Client or Server.
        endpoint_role: req EndpointRole = ENDPOINT_ROLE,
    }
}
