//! Request and response payloads, a file per family of operations, and the dispatch on the Operation.

pub mod access;
pub mod crypto;
pub mod lifecycle;
pub mod server;
pub mod transfer;

use self::access::{
    AddAttributeRequest, AdjustAttributeRequest, AttributeChangeResponse, CheckPayload,
    DeleteAttributeRequest, GetAttributeListResponse, GetAttributesRequest, GetAttributesResponse,
    GetRequest, GetResponse, LocateRequest, LocateResponse, ModifyAttributeRequest,
    SetAttributeRequest, ValidateRequest, ValidateResponse,
};
use self::crypto::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, HashRequest, HashResponse,
    MACRequest, MACResponse, MACVerifyRequest, MACVerifyResponse, RNGRetrieveRequest,
    RNGRetrieveResponse, RNGSeedRequest, RNGSeedResponse, SignRequest, SignResponse,
    SignatureVerifyRequest, SignatureVerifyResponse,
};
use self::lifecycle::{
    CertifyRequest, CreateKeyPairRequest, CreateKeyPairResponse, CreateRequest, CreateResponse,
    CreateSplitKeyRequest, CreateSplitKeyResponse, DeriveKeyRequest, GetUsageAllocationRequest,
    IdentifierPayload, JoinSplitKeyRequest, ObtainLeaseResponse, ReKeyKeyPairRequest, ReKeyRequest,
    RegisterRequest, RegisterResponse, RevokeRequest,
};
use self::server::{
    CancelRequest, CancelResponse, DiscoverVersionsPayload, EmptyPayload, InteropRequest,
    LogRequest, PollRequest, QueryRequest, QueryResponse, SetEndpointRolePayload,
};
use self::transfer::{ExportRequest, ExportResponse, ImportRequest};
use super::Error;
use super::codec::{Decode, Encode, Encoder, RawItem, raw};
use super::enums::Operation;
use crate::ttlv::{Item, Tag};

macro_rules! payloads {
    ($( $(#[$doc:meta])* $variant:ident = $op:ident ($req:ty, $resp:ty) ),* $(,)?) => {
        /// A request payload, typed by the batch item's Operation.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum RequestPayload {
            $( $(#[$doc])* $variant($req), )*
            /// The payload of an operation this model does not type (Notify, Put, Login, PKCS#11, an
            /// extension...), kept as decoded.
            Other(RawItem),
        }

        /// A response payload, typed by the batch item's Operation.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum ResponsePayload {
            $( $(#[$doc])* $variant($resp), )*
            /// The payload of an operation this model does not type, kept as decoded.
            Other(RawItem),
        }

        impl RequestPayload {
            /// Items of the payload structure the model does not define (for [`Self::Other`], `None`: the whole
            /// payload is untyped).
            #[must_use]
            pub fn extensions(&self) -> Option<&[RawItem]> {
                match self {
                    $( Self::$variant(p) => Some(&p.extensions), )*
                    Self::Other(_) => None,
                }
            }

            /// Decodes the Request Payload `item` of a batch item whose Operation is `operation`.
            ///
            /// # Errors
            ///
            /// The payload does not match the operation's payload structure.
            pub fn decode_for(operation: Operation, item: &Item<'_>) -> Result<Self, Error> {
                Ok(match operation {
                    $( Operation::$op => Self::$variant(<$req as Decode>::decode(item)?), )*
                    _ => Self::Other(raw(item)?),
                })
            }

            /// The operation this payload belongs to (`None` for [`Self::Other`]).
            #[must_use]
            pub const fn operation(&self) -> Option<Operation> {
                match self {
                    $( Self::$variant(_) => Some(Operation::$op), )*
                    Self::Other(_) => None,
                }
            }
        }

        impl Encode for RequestPayload {
            fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
                match self {
                    $( Self::$variant(p) => p.encode(tag, e), )*
                    Self::Other(n) => Encode::encode(n, tag, e),
                }
            }
        }

        impl ResponsePayload {
            /// Items of the payload structure the model does not define (for [`Self::Other`], `None`: the whole
            /// payload is untyped).
            #[must_use]
            pub fn extensions(&self) -> Option<&[RawItem]> {
                match self {
                    $( Self::$variant(p) => Some(&p.extensions), )*
                    Self::Other(_) => None,
                }
            }

            /// Decodes the Response Payload `item` of a batch item whose Operation is `operation`.
            ///
            /// # Errors
            ///
            /// The payload does not match the operation's payload structure.
            pub fn decode_for(operation: Operation, item: &Item<'_>) -> Result<Self, Error> {
                Ok(match operation {
                    $( Operation::$op => Self::$variant(<$resp as Decode>::decode(item)?), )*
                    _ => Self::Other(raw(item)?),
                })
            }

            /// The operation this payload belongs to (`None` for [`Self::Other`]).
            #[must_use]
            pub const fn operation(&self) -> Option<Operation> {
                match self {
                    $( Self::$variant(_) => Some(Operation::$op), )*
                    Self::Other(_) => None,
                }
            }
        }

        impl Encode for ResponsePayload {
            fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
                match self {
                    $( Self::$variant(p) => p.encode(tag, e), )*
                    Self::Other(n) => Encode::encode(n, tag, e),
                }
            }
        }
    };
}

payloads! {
    /// Create.
    Create = CREATE (CreateRequest, CreateResponse),
    /// Create Key Pair.
    CreateKeyPair = CREATE_KEY_PAIR (CreateKeyPairRequest, CreateKeyPairResponse),
    /// Register.
    Register = REGISTER (RegisterRequest, RegisterResponse),
    /// Re-key.
    ReKey = RE_KEY (ReKeyRequest, RegisterResponse),
    /// Derive Key.
    DeriveKey = DERIVE_KEY (DeriveKeyRequest, RegisterResponse),
    /// Certify.
    Certify = CERTIFY (CertifyRequest, RegisterResponse),
    /// Re-certify.
    ReCertify = RE_CERTIFY (CertifyRequest, RegisterResponse),
    /// Locate.
    Locate = LOCATE (LocateRequest, LocateResponse),
    /// Check.
    Check = CHECK (CheckPayload, CheckPayload),
    /// Get.
    Get = GET (GetRequest, GetResponse),
    /// Get Attributes.
    GetAttributes = GET_ATTRIBUTES (GetAttributesRequest, GetAttributesResponse),
    /// Get Attribute List.
    GetAttributeList = GET_ATTRIBUTE_LIST (IdentifierPayload, GetAttributeListResponse),
    /// Add Attribute.
    AddAttribute = ADD_ATTRIBUTE (AddAttributeRequest, AttributeChangeResponse),
    /// Modify Attribute.
    ModifyAttribute = MODIFY_ATTRIBUTE (ModifyAttributeRequest, AttributeChangeResponse),
    /// Delete Attribute.
    DeleteAttribute = DELETE_ATTRIBUTE (DeleteAttributeRequest, AttributeChangeResponse),
    /// Set Attribute (2.0+).
    SetAttribute = SET_ATTRIBUTE (SetAttributeRequest, IdentifierPayload),
    /// Obtain Lease.
    ObtainLease = OBTAIN_LEASE (IdentifierPayload, ObtainLeaseResponse),
    /// Get Usage Allocation.
    GetUsageAllocation = GET_USAGE_ALLOCATION (GetUsageAllocationRequest, IdentifierPayload),
    /// Activate.
    Activate = ACTIVATE (IdentifierPayload, IdentifierPayload),
    /// Revoke.
    Revoke = REVOKE (RevokeRequest, IdentifierPayload),
    /// Destroy.
    Destroy = DESTROY (IdentifierPayload, IdentifierPayload),
    /// Archive.
    Archive = ARCHIVE (IdentifierPayload, IdentifierPayload),
    /// Recover.
    Recover = RECOVER (IdentifierPayload, IdentifierPayload),
    /// Validate.
    Validate = VALIDATE (ValidateRequest, ValidateResponse),
    /// Query.
    Query = QUERY (QueryRequest, QueryResponse),
    /// Cancel.
    Cancel = CANCEL (CancelRequest, CancelResponse),
    /// Poll: the response carries the payload of the polled operation, kept in `extensions`.
    Poll = POLL (PollRequest, EmptyPayload),
    /// Discover Versions.
    DiscoverVersions = DISCOVER_VERSIONS (DiscoverVersionsPayload, DiscoverVersionsPayload),
    /// Re-key Key Pair.
    ReKeyKeyPair = RE_KEY_KEY_PAIR (ReKeyKeyPairRequest, CreateKeyPairResponse),
    /// Encrypt.
    Encrypt = ENCRYPT (EncryptRequest, EncryptResponse),
    /// Decrypt.
    Decrypt = DECRYPT (DecryptRequest, DecryptResponse),
    /// Sign.
    Sign = SIGN (SignRequest, SignResponse),
    /// Signature Verify.
    SignatureVerify = SIGNATURE_VERIFY (SignatureVerifyRequest, SignatureVerifyResponse),
    /// MAC.
    MAC = MAC (MACRequest, MACResponse),
    /// MAC Verify.
    MACVerify = MAC_VERIFY (MACVerifyRequest, MACVerifyResponse),
    /// RNG Retrieve.
    RNGRetrieve = RNG_RETRIEVE (RNGRetrieveRequest, RNGRetrieveResponse),
    /// RNG Seed.
    RNGSeed = RNG_SEED (RNGSeedRequest, RNGSeedResponse),
    /// Hash.
    Hash = HASH (HashRequest, HashResponse),
    /// Create Split Key.
    CreateSplitKey = CREATE_SPLIT_KEY (CreateSplitKeyRequest, CreateSplitKeyResponse),
    /// Join Split Key.
    JoinSplitKey = JOIN_SPLIT_KEY (JoinSplitKeyRequest, RegisterResponse),
    /// Import.
    Import = IMPORT (ImportRequest, IdentifierPayload),
    /// Export.
    Export = EXPORT (ExportRequest, ExportResponse),
    /// Log (2.0+).
    Log = LOG (LogRequest, EmptyPayload),
    /// Interop (2.0+).
    Interop = INTEROP (InteropRequest, EmptyPayload),
    /// Adjust Attribute (2.0+).
    AdjustAttribute = ADJUST_ATTRIBUTE (AdjustAttributeRequest, IdentifierPayload),
    /// Set Endpoint Role (2.0+).
    SetEndpointRole = SET_ENDPOINT_ROLE (SetEndpointRolePayload, SetEndpointRolePayload),
}
