//! The typed KMIP message model: request and response messages, headers, batch items, the payload of every
//! operation, managed objects and attributes, for KMIP 1.0-1.4 and 2.0-2.1.
//!
//! Decoding reads straight from the zero-copy TTLV reader ([`crate::ttlv`]) into these structs, the payload
//! type chosen by each batch item's Operation; nothing goes through a generic tree. Items a structure does
//! not define (vendor extensions) are kept in its `extensions` and written back, so decode then encode gives
//! the same bytes for every canonical message.
//!
//! Attributes decode from either KMIP form (1.x `Attribute` name/index/value structures in
//! Template-Attributes, 2.x typed items in `Attributes`) into one [`Attribute`] enum; encoding writes the
//! form of the message's protocol version, so changing the header's version converts a message, or fails
//! with [`Error::NotInVersion`] when the target version cannot express something.
//!
//! ```
//! use kms_kmip::message::{
//!     Attribute, Attributes, RequestBatchItem, RequestHeader, RequestMessage, RequestPayload,
//!     enums::{CryptographicAlgorithm, CryptographicUsageMask, ObjectType},
//!     operations::lifecycle::CreateRequest,
//! };
//! use kms_kmip::tags::Version;
//!
//! let create = CreateRequest {
//!     object_type: ObjectType::SYMMETRIC_KEY,
//!     attributes: Attributes::new(vec![
//!         Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
//!         Attribute::CryptographicLength(256),
//!         Attribute::CryptographicUsageMask(CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT),
//!     ]),
//!     ..Default::default()
//! };
//! let mut message = RequestMessage {
//!     header: RequestHeader { protocol_version: Version::V1_4.into(), batch_count: 1, ..Default::default() },
//!     batch_items: vec![RequestBatchItem::new(RequestPayload::Create(create))?],
//! };
//! let v14 = message.to_bytes()?; // a Template-Attribute with 1.x Attribute structures
//! message.header.protocol_version = Version::V2_1.into();
//! let v21 = message.to_bytes()?; // an Attributes structure with typed items
//! assert!(v21.len() < v14.len());
//! assert_eq!(RequestMessage::from_bytes(&v14)?.batch_items, message.batch_items);
//! # Ok::<(), kms_kmip::message::Error>(())
//! ```

#[macro_use]
mod codec;
pub mod attributes;
#[rustfmt::skip]
pub mod enums;
mod error;
pub mod header;
pub mod objects;
pub mod operations;
pub mod types;

mod enum_impls;

pub use attributes::{
    Attribute, AttributeReference, Attributes, IndexedAttribute, VendorAttribute,
};
pub use codec::{
    BigInteger, DateTime, DateTimeExtended, Decode, Encode, Encoder, Interval, KmipEnum, RawItem,
    SecretBigInteger, SecretBytes,
};
pub use error::Error;
pub use header::{
    AsynchronousIndicatorValue, MessageExtension, RequestBatchItem, RequestHeader,
    ResponseBatchItem, ResponseHeader,
};
pub use objects::{KeyBlock, KeyMaterial, KeyValue, Object};
pub use operations::{RequestPayload, ResponsePayload};
pub use types::{ProtocolVersion, UniqueIdentifier};

use crate::tags::Version;
use crate::ttlv::{self, Item, Limits, Tag};

/// A Request Message.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RequestMessage {
    /// Request Header.
    pub header: RequestHeader,
    /// Batch Items.
    pub batch_items: Vec<RequestBatchItem>,
}

/// A Response Message.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ResponseMessage {
    /// Response Header.
    pub header: ResponseHeader,
    /// Batch Items.
    pub batch_items: Vec<ResponseBatchItem>,
}

fn outer<'a>(input: &'a [u8], limits: &Limits, expected: Tag) -> Result<Item<'a>, Error> {
    let item = ttlv::decode_with(input, limits)?;
    if item.tag() != expected {
        return Err(Error::UnexpectedMessage {
            expected,
            found: item.tag(),
        });
    }
    Ok(item)
}

fn version_of(v: &ProtocolVersion) -> Result<Version, Error> {
    v.version().ok_or(Error::UnknownVersion {
        major: v.major,
        minor: v.minor,
    })
}

macro_rules! message_impl {
    ($msg:ident, $tag:ident, $header_tag:ident, $header:ty, $item:ty) => {
        impl $msg {
            /// Decodes a whole message with the default [`Limits`] (16 MiB, depth 64).
            ///
            /// # Errors
            ///
            /// Any TTLV error, or a typed-model error ([`Error::WrongType`], [`Error::MissingField`],
            /// [`Error::UnknownEnumeration`]...), naming the byte offset and tag.
            pub fn from_bytes(input: &[u8]) -> Result<Self, Error> {
                Self::from_bytes_with(input, &Limits::default())
            }

            /// Decodes a whole message under `limits`.
            ///
            /// # Errors
            ///
            /// As [`Self::from_bytes`].
            pub fn from_bytes_with(input: &[u8], limits: &Limits) -> Result<Self, Error> {
                Self::decode(&outer(input, limits, Tag::$tag)?)
            }

            /// The protocol version of the header, which the encoding follows.
            ///
            /// # Errors
            ///
            /// [`Error::UnknownVersion`] for a version this crate does not know.
            pub fn version(&self) -> Result<Version, Error> {
                version_of(&self.header.protocol_version)
            }

            /// Encodes the message for the header's protocol version.
            ///
            /// # Errors
            ///
            /// [`Error::UnknownVersion`], or [`Error::NotInVersion`] for anything the version cannot express.
            pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
                let mut buf = Vec::with_capacity(256);
                self.encode_into(&mut buf)?;
                Ok(buf)
            }

            /// Appends the encoded message to `buf` (on error, `buf` holds a partial message).
            ///
            /// # Errors
            ///
            /// As [`Self::to_bytes`].
            pub fn encode_into(&self, buf: &mut Vec<u8>) -> Result<(), Error> {
                let mut e = Encoder::new(buf, self.version()?);
                self.encode(Tag::$tag, &mut e)?;
                e.finish()
            }
        }

        impl Decode for $msg {
            fn decode(item: &Item<'_>) -> Result<Self, Error> {
                let mut children = item.children()?;
                let header_item = children
                    .next_if_tag(Tag::$header_tag)?
                    .ok_or_else(|| codec::missing(item, Tag::$header_tag))?;
                let header = <$header>::decode(&header_item)?;
                let mut batch_items = Vec::new();
                for child in children {
                    let child = child?;
                    if child.tag() != Tag::BATCH_ITEM {
                        return Err(Error::InvalidValue {
                            offset: child.offset(),
                            tag: child.tag(),
                            reason: "only Batch Items may follow the header",
                        });
                    }
                    batch_items.push(<$item>::decode(&child)?);
                }
                if batch_items.is_empty() {
                    return Err(codec::missing(item, Tag::BATCH_ITEM));
                }
                Ok(Self {
                    header,
                    batch_items,
                })
            }
        }

        impl Encode for $msg {
            fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
                let s = e.w.begin_structure(tag);
                self.header.encode(Tag::$header_tag, e)?;
                for b in &self.batch_items {
                    b.encode(Tag::BATCH_ITEM, e)?;
                }
                e.w.end_structure(s);
                Ok(())
            }
        }
    };
}

message_impl!(
    RequestMessage,
    REQUEST_MESSAGE,
    REQUEST_HEADER,
    RequestHeader,
    RequestBatchItem
);
message_impl!(
    ResponseMessage,
    RESPONSE_MESSAGE,
    RESPONSE_HEADER,
    ResponseHeader,
    ResponseBatchItem
);
