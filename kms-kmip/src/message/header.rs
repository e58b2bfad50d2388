//! Message headers and batch items (KMIP 1.4 §6-7, KMIP 2.1 §8-9).

use super::Error;
use super::codec::{
    DateTime, Decode, Encode, Encoder, RawItem, decode_enum, encode_extensions, missing, raw,
};
use super::enums::{
    AsynchronousIndicator, AttestationType, BatchErrorContinuationOption, Operation, ResultReason,
    ResultStatus,
};
use super::operations::{RequestPayload, ResponsePayload};
use super::types::{Authentication, Nonce, ProtocolVersion};
use crate::tags::Version;
use crate::ttlv::{Item, ItemType, Tag, Value};

/// Asynchronous Indicator: a Boolean in KMIP 1.x, an Enumeration (Mandatory, Optional, Prohibited) in 2.x.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsynchronousIndicatorValue {
    /// KMIP 1.x: whether the client accepts an asynchronous response.
    Boolean(bool),
    /// KMIP 2.x.
    Enumeration(AsynchronousIndicator),
}

impl Decode for AsynchronousIndicatorValue {
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        match *item.value() {
            Value::Boolean(b) => Ok(Self::Boolean(b)),
            Value::Enumeration(_) => Ok(Self::Enumeration(decode_enum(item)?)),
            _ => Err(item.wrong_type(ItemType::Boolean).into()),
        }
    }
}

impl Encode for AsynchronousIndicatorValue {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        match self {
            Self::Boolean(b) => {
                if e.is_v2() {
                    return Err(Error::NotInVersion {
                        what: "a Boolean Asynchronous Indicator",
                        version: e.version(),
                    });
                }
                e.w.boolean(tag, *b);
            }
            Self::Enumeration(v) => {
                e.require(Version::V2_0, "an Asynchronous Indicator enumeration")?;
                e.w.enumeration(tag, v.0);
            }
        }
        Ok(())
    }
}

kmip_struct! {
    /// Request Header.
    pub struct RequestHeader {
        /// Protocol Version.
        protocol_version: req ProtocolVersion = PROTOCOL_VERSION,
        /// Maximum Response Size.
        maximum_response_size: opt i32 = MAXIMUM_RESPONSE_SIZE,
        /// Client Correlation Value (1.4+).
        client_correlation_value: opt String = CLIENT_CORRELATION_VALUE,
        /// Server Correlation Value (1.4+).
        server_correlation_value: opt String = SERVER_CORRELATION_VALUE,
        /// Asynchronous Indicator.
        asynchronous_indicator: opt AsynchronousIndicatorValue = ASYNCHRONOUS_INDICATOR,
        /// Attestation Capable Indicator (1.2+).
        attestation_capable_indicator: opt bool = ATTESTATION_CAPABLE_INDICATOR,
        /// Attestation Types (1.2+).
        attestation_types: vec AttestationType = ATTESTATION_TYPE,
        /// Authentication.
        authentication: opt Authentication = AUTHENTICATION,
        /// Batch Error Continuation Option.
        batch_error_continuation_option: opt BatchErrorContinuationOption = BATCH_ERROR_CONTINUATION_OPTION,
        /// Batch Order Option.
        batch_order_option: opt bool = BATCH_ORDER_OPTION,
        /// Time Stamp.
        time_stamp: opt DateTime = TIME_STAMP,
        /// Batch Count.
        batch_count: req i32 = BATCH_COUNT,
    }
}

kmip_struct! {
    /// Response Header.
    pub struct ResponseHeader {
        /// Protocol Version.
        protocol_version: req ProtocolVersion = PROTOCOL_VERSION,
        /// Time Stamp.
        time_stamp: req DateTime = TIME_STAMP,
        /// Nonce (1.2+).
        nonce: opt Nonce = NONCE,
        /// Server Hashed Password (2.0+).
        server_hashed_password: opt Vec<u8> = SERVER_HASHED_PASSWORD @ V2_0,
        /// Attestation Types (1.2+).
        attestation_types: vec AttestationType = ATTESTATION_TYPE,
        /// Client Correlation Value (1.4+).
        client_correlation_value: opt String = CLIENT_CORRELATION_VALUE,
        /// Server Correlation Value (1.4+).
        server_correlation_value: opt String = SERVER_CORRELATION_VALUE,
        /// Batch Count.
        batch_count: req i32 = BATCH_COUNT,
    }
}

kmip_struct! {
    /// Message Extension (KMIP 1.4 §6.16).
    pub struct MessageExtension {
        /// Vendor Identification.
        vendor_identification: req String = VENDOR_IDENTIFICATION,
        /// Criticality Indicator: the receiver must fail if it does not understand the extension.
        criticality_indicator: req bool = CRITICALITY_INDICATOR,
        /// Vendor Extension (any structure).
        vendor_extension: opt RawItem = VENDOR_EXTENSION,
    }
}

/// A batch item of a request.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestBatchItem {
    /// Operation.
    pub operation: Operation,
    /// Ephemeral (2.0+): do not keep the objects the operation creates.
    pub ephemeral: Option<bool>,
    /// Unique Batch Item ID (required when the batch has more than one item).
    pub unique_batch_item_id: Option<Vec<u8>>,
    /// Request Payload, typed by the operation.
    pub payload: RequestPayload,
    /// Message Extension.
    pub message_extension: Option<MessageExtension>,
    /// Items the model does not define.
    pub extensions: Vec<RawItem>,
}

impl RequestBatchItem {
    /// A batch item for `payload` (its operation is the payload's).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidValue`] for a [`RequestPayload::Other`] payload, whose operation is unknown: build
    /// the struct directly for those.
    pub fn new(payload: RequestPayload) -> Result<Self, Error> {
        let operation = payload.operation().ok_or(Error::InvalidValue {
            offset: 0,
            tag: Tag::REQUEST_PAYLOAD,
            reason: "untyped payload: give the operation explicitly",
        })?;
        Ok(Self {
            operation,
            ephemeral: None,
            unique_batch_item_id: None,
            payload,
            message_extension: None,
            extensions: Vec::new(),
        })
    }
}

fn check_operation(op: Operation, e: &Encoder<'_>) -> Result<(), Error> {
    if op.since() == Some(2) && !e.is_v2() {
        return Err(Error::NotInVersion {
            what: "this operation",
            version: e.version(),
        });
    }
    Ok(())
}

impl Decode for RequestBatchItem {
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        let mut operation = None;
        let mut ephemeral = None;
        let mut unique_batch_item_id = None;
        let mut payload = None;
        let mut message_extension = None;
        let mut extensions = Vec::new();
        for child in item.children()? {
            let child = child?;
            match child.tag() {
                Tag::OPERATION if operation.is_none() => {
                    operation = Some(decode_enum::<Operation>(&child)?)
                }
                Tag::EPHEMERAL if ephemeral.is_none() => ephemeral = Some(child.as_boolean()?),
                Tag::UNIQUE_BATCH_ITEM_ID if unique_batch_item_id.is_none() => {
                    unique_batch_item_id = Some(child.as_byte_string()?.to_vec());
                }
                Tag::REQUEST_PAYLOAD if payload.is_none() => {
                    // The Operation precedes the payload in every valid message; without it the payload
                    // cannot be typed and is kept as is.
                    payload = Some(match operation {
                        Some(op) => RequestPayload::decode_for(op, &child)?,
                        None => RequestPayload::Other(raw(&child)?),
                    });
                }
                Tag::MESSAGE_EXTENSION if message_extension.is_none() => {
                    message_extension = Some(MessageExtension::decode(&child)?);
                }
                _ => extensions.push(raw(&child)?),
            }
        }
        Ok(Self {
            operation: operation.ok_or_else(|| missing(item, Tag::OPERATION))?,
            ephemeral,
            unique_batch_item_id,
            payload: payload.ok_or_else(|| missing(item, Tag::REQUEST_PAYLOAD))?,
            message_extension,
            extensions,
        })
    }
}

impl Encode for RequestBatchItem {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        check_operation(self.operation, e)?;
        let s = e.w.begin_structure(tag);
        e.w.enumeration(Tag::OPERATION, self.operation.0);
        if let Some(v) = self.ephemeral {
            e.require(Version::V2_0, "Ephemeral")?;
            e.w.boolean(Tag::EPHEMERAL, v);
        }
        if let Some(v) = &self.unique_batch_item_id {
            e.w.byte_string(Tag::UNIQUE_BATCH_ITEM_ID, v);
        }
        self.payload.encode(Tag::REQUEST_PAYLOAD, e)?;
        if let Some(v) = &self.message_extension {
            v.encode(Tag::MESSAGE_EXTENSION, e)?;
        }
        encode_extensions(&self.extensions, e);
        e.w.end_structure(s);
        Ok(())
    }
}

/// A batch item of a response.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseBatchItem {
    /// Operation (may be absent in a failure response to an unparsable request).
    pub operation: Option<Operation>,
    /// Unique Batch Item ID of the request item this answers.
    pub unique_batch_item_id: Option<Vec<u8>>,
    /// Result Status.
    pub result_status: ResultStatus,
    /// Result Reason (required on failure).
    pub result_reason: Option<ResultReason>,
    /// Result Message.
    pub result_message: Option<String>,
    /// Asynchronous Correlation Value (for a pending result).
    pub asynchronous_correlation_value: Option<Vec<u8>>,
    /// Response Payload, typed by the operation.
    pub payload: Option<ResponsePayload>,
    /// Message Extension.
    pub message_extension: Option<MessageExtension>,
    /// Items the model does not define.
    pub extensions: Vec<RawItem>,
}

impl ResponseBatchItem {
    /// A successful batch item carrying `payload`.
    #[must_use]
    pub fn success(operation: Operation, payload: Option<ResponsePayload>) -> Self {
        Self {
            operation: Some(operation),
            unique_batch_item_id: None,
            result_status: ResultStatus::SUCCESS,
            result_reason: None,
            result_message: None,
            asynchronous_correlation_value: None,
            payload,
            message_extension: None,
            extensions: Vec::new(),
        }
    }

    /// A failed batch item.
    #[must_use]
    pub fn failure(
        operation: Option<Operation>,
        reason: ResultReason,
        message: Option<String>,
    ) -> Self {
        Self {
            operation,
            unique_batch_item_id: None,
            result_status: ResultStatus::OPERATION_FAILED,
            result_reason: Some(reason),
            result_message: message,
            asynchronous_correlation_value: None,
            payload: None,
            message_extension: None,
            extensions: Vec::new(),
        }
    }
}

impl Decode for ResponseBatchItem {
    fn decode(item: &Item<'_>) -> Result<Self, Error> {
        let mut operation = None;
        let mut unique_batch_item_id = None;
        let mut result_status = None;
        let mut result_reason = None;
        let mut result_message = None;
        let mut asynchronous_correlation_value = None;
        let mut payload = None;
        let mut message_extension = None;
        let mut extensions = Vec::new();
        for child in item.children()? {
            let child = child?;
            match child.tag() {
                Tag::OPERATION if operation.is_none() => {
                    operation = Some(decode_enum::<Operation>(&child)?)
                }
                Tag::UNIQUE_BATCH_ITEM_ID if unique_batch_item_id.is_none() => {
                    unique_batch_item_id = Some(child.as_byte_string()?.to_vec());
                }
                Tag::RESULT_STATUS if result_status.is_none() => {
                    result_status = Some(decode_enum::<ResultStatus>(&child)?);
                }
                Tag::RESULT_REASON if result_reason.is_none() => {
                    result_reason = Some(decode_enum::<ResultReason>(&child)?);
                }
                Tag::RESULT_MESSAGE if result_message.is_none() => {
                    result_message = Some(child.as_text_string()?.to_owned());
                }
                Tag::ASYNCHRONOUS_CORRELATION_VALUE if asynchronous_correlation_value.is_none() => {
                    asynchronous_correlation_value = Some(child.as_byte_string()?.to_vec());
                }
                Tag::RESPONSE_PAYLOAD if payload.is_none() => {
                    let typed = match operation {
                        Some(op) => ResponsePayload::decode_for(op, &child),
                        None => Ok(ResponsePayload::Other(raw(&child)?)),
                    };
                    payload = Some(match typed {
                        Ok(p) => p,
                        // A failed item's payload carries whatever the server had: keep it untyped
                        // rather than reject the whole response.
                        Err(_) if result_status.is_some_and(|s| s != ResultStatus::SUCCESS) => {
                            ResponsePayload::Other(raw(&child)?)
                        }
                        Err(e) => return Err(e),
                    });
                }
                Tag::MESSAGE_EXTENSION if message_extension.is_none() => {
                    message_extension = Some(MessageExtension::decode(&child)?);
                }
                _ => extensions.push(raw(&child)?),
            }
        }
        Ok(Self {
            operation,
            unique_batch_item_id,
            result_status: result_status.ok_or_else(|| missing(item, Tag::RESULT_STATUS))?,
            result_reason,
            result_message,
            asynchronous_correlation_value,
            payload,
            message_extension,
            extensions,
        })
    }
}

impl Encode for ResponseBatchItem {
    fn encode(&self, tag: Tag, e: &mut Encoder<'_>) -> Result<(), Error> {
        let s = e.w.begin_structure(tag);
        if let Some(op) = self.operation {
            check_operation(op, e)?;
            e.w.enumeration(Tag::OPERATION, op.0);
        }
        if let Some(v) = &self.unique_batch_item_id {
            e.w.byte_string(Tag::UNIQUE_BATCH_ITEM_ID, v);
        }
        e.w.enumeration(Tag::RESULT_STATUS, self.result_status.0);
        if let Some(v) = self.result_reason {
            e.w.enumeration(Tag::RESULT_REASON, v.0);
        }
        if let Some(v) = &self.result_message {
            e.w.text_string(Tag::RESULT_MESSAGE, v);
        }
        if let Some(v) = &self.asynchronous_correlation_value {
            e.w.byte_string(Tag::ASYNCHRONOUS_CORRELATION_VALUE, v);
        }
        if let Some(v) = &self.payload {
            v.encode(Tag::RESPONSE_PAYLOAD, e)?;
        }
        if let Some(v) = &self.message_extension {
            v.encode(Tag::MESSAGE_EXTENSION, e)?;
        }
        encode_extensions(&self.extensions, e);
        e.w.end_structure(s);
        Ok(())
    }
}
