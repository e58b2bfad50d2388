//! The KMIP service (feature `service`): a decoded request message in, a response message out, with no I/O.
//!
//! [`KmipService`] turns each batch item into [`KeyManager`] calls for the caller's [`Principal`], and answers
//! in the request's protocol version (KMIP 1.0-1.4, 2.0, 2.1). Batches follow KMIP 2.1 §6.3.9-§6.3.10 (1.4
//! §6.7-6.9): items run in order; the ID Placeholder carries the Unique Identifier an item produced to the next
//! item that omits one; on a failure the Batch Error Continuation Option decides: Stop (the default) answers
//! the items run so far, Continue runs the rest, Undo destroys what the batch created and marks the earlier
//! items Operation Undone.
//!
//! Every failure carries a Result Reason (from [`kms_core::Error::result_reason`], in the client's version:
//! a reason KMIP 2.0 added reaches a 1.x client as the 1.x reason that covered it, and a missing object is
//! Object Not Found in 2.x, Item Not Found in 1.x) and a Result Message that never holds key material. A
//! request's Maximum Response Size is honoured (Response Too Large). A request that is not TTLV answers Invalid Message; a well-formed one with a wrong
//! item type, an unknown enumeration value or an item its payload does not define answers Invalid Field.

mod computed;
mod convert;
mod formats;
mod ops;
mod split_key;
mod transfer;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use kms_core::{Error as CoreError, KeyManager, ObjectId, Principal};

use crate::message::enums::{BatchErrorContinuationOption, Operation, ResultReason, ResultStatus};
use crate::message::{
    DateTime, Encoder, Error as MessageError, ProtocolVersion, RequestMessage, ResponseBatchItem,
    ResponseHeader, ResponseMessage,
};
use crate::tags::Version;
use crate::ttlv::{self, Tag};

/// The protocol versions this service speaks, preferred first (the Discover Versions answer).
pub const SUPPORTED_VERSIONS: [Version; 7] = [
    Version::V2_1,
    Version::V2_0,
    Version::V1_4,
    Version::V1_3,
    Version::V1_2,
    Version::V1_1,
    Version::V1_0,
];

/// The KMIP service over a [`KeyManager`]. `Send + Sync`; share it in an `Arc`.
#[derive(Debug, Clone)]
pub struct KmipService {
    manager: Arc<KeyManager>,
    limits: ttlv::Limits,
}

/// What a batch carries from one item to the next.
#[derive(Default)]
struct BatchState {
    /// The ID Placeholder (KMIP 2.1 §6.3.10).
    placeholder: Option<ObjectId>,
    /// Objects the batch created, destroyed again by the Undo option.
    created: Vec<ObjectId>,
    /// Whether the batch runs under the Undo option, which needs to know what each item changed.
    undoable: bool,
    /// Objects the batch activated, put back to Pre-Active by the Undo option.
    activations: Vec<(ObjectId, kms_core::manager::Activation)>,
}

impl KmipService {
    /// A service over `manager`, decoding requests within the default TTLV limits.
    #[must_use]
    pub fn new(manager: Arc<KeyManager>) -> Self {
        Self {
            manager,
            limits: ttlv::Limits::default(),
        }
    }

    /// A service over a fresh in-memory key manager (MemoryStore, SoftwareBackend): nothing persists; for
    /// tests, demonstrations and load measurements.
    ///
    /// # Errors
    ///
    /// When the key manager cannot be built.
    pub fn in_memory() -> Result<Self, CoreError> {
        let manager = KeyManager::builder(Arc::new(kms_core::MemoryStore::new()))
            .backend(Arc::new(kms_core::SoftwareBackend::new()))
            .build()?;
        Ok(Self::new(Arc::new(manager)))
    }

    /// Decodes requests within `limits` (the transport's message size, at most).
    #[must_use]
    pub fn with_limits(mut self, limits: ttlv::Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The key manager behind the service.
    #[must_use]
    pub fn manager(&self) -> &Arc<KeyManager> {
        &self.manager
    }

    /// Answers one TTLV request message from `who` with a TTLV response message. Never fails: malformed input
    /// gets a KMIP error response.
    #[must_use]
    pub fn handle_ttlv(&self, who: &Principal, request: &[u8]) -> Vec<u8> {
        match RequestMessage::from_bytes_with(request, &self.limits) {
            Ok(message) => encode_response(&self.handle_message(who, &message)),
            Err(e) => {
                let (reason, text) = decode_failure(&e);
                let summary = peek(request, &self.limits);
                encode_response(&failure_message(&summary, reason, &text))
            }
        }
    }

    /// Answers a decoded request message from `who`.
    #[must_use]
    pub fn handle_message(&self, who: &Principal, request: &RequestMessage) -> ResponseMessage {
        let Some(version) = request
            .header
            .protocol_version
            .version()
            .filter(|v| SUPPORTED_VERSIONS.contains(v))
        else {
            let summary = Summary {
                version: Version::V1_0,
                items: request
                    .batch_items
                    .iter()
                    .map(|i| (Some(i.operation), i.unique_batch_item_id.clone()))
                    .collect(),
            };
            return failure_message(
                &summary,
                ResultReason::INVALID_MESSAGE,
                "protocol version not supported",
            );
        };
        let option = request
            .header
            .batch_error_continuation_option
            .unwrap_or(BatchErrorContinuationOption::STOP);
        let mut state = BatchState {
            undoable: option == BatchErrorContinuationOption::UNDO,
            ..BatchState::default()
        };
        let mut items: Vec<ResponseBatchItem> = Vec::with_capacity(request.batch_items.len());
        for item in &request.batch_items {
            let result = if item.payload.extensions().is_some_and(|x| !x.is_empty()) {
                Err(CoreError::InvalidField(
                    "the request payload holds items its operation does not define".into(),
                )
                .into())
            } else if item
                .message_extension
                .as_ref()
                .is_some_and(|x| x.criticality_indicator)
            {
                Err(CoreError::OperationNotSupported("critical message extension".into()).into())
            } else {
                ops::execute(self, who, version, item, &mut state)
            };
            let mut answer = match result {
                Ok(payload) => ResponseBatchItem::success(item.operation, payload),
                Err(e) => ResponseBatchItem::failure(
                    Some(item.operation),
                    e.reason(version),
                    Some(e.message()),
                ),
            };
            answer
                .unique_batch_item_id
                .clone_from(&item.unique_batch_item_id);
            let failed = answer.result_status != ResultStatus::SUCCESS;
            items.push(answer);
            if failed {
                if option == BatchErrorContinuationOption::CONTINUE {
                    continue;
                }
                if option == BatchErrorContinuationOption::UNDO {
                    self.undo(who, &mut state, &mut items);
                }
                break;
            }
        }
        let response = response_message(version, request, items);
        match request.header.maximum_response_size {
            Some(max) if response_too_large(&response, max) => {
                // KMIP 2.1 §9.2 Maximum Response Size: the whole answer is refused, item by item.
                let items = response
                    .batch_items
                    .iter()
                    .map(|item| {
                        let mut failure = ResponseBatchItem::failure(
                            item.operation,
                            ResultReason::RESPONSE_TOO_LARGE,
                            Some(format!(
                                "the response exceeds the Maximum Response Size {max}"
                            )),
                        );
                        failure
                            .unique_batch_item_id
                            .clone_from(&item.unique_batch_item_id);
                        failure
                    })
                    .collect();
                response_message(version, request, items)
            }
            _ => response,
        }
    }

    /// The Undo option: reverses the batch's activations, destroys what it created and marks the items that
    /// had succeeded Undone.
    fn undo(&self, who: &Principal, state: &mut BatchState, items: &mut [ResponseBatchItem]) {
        for (id, activation) in state.activations.drain(..).rev() {
            // An object changed since by another request of the same batch stays as it is (undo_activate checks).
            let _ = self.manager.undo_activate(who, &id, &activation);
        }
        for id in state.created.drain(..).rev() {
            // Pre-Active objects destroy at once; an object activated in the batch is revoked first.
            if self.manager.destroy(who, &id).is_err() {
                let reason = kms_core::object::RevocationReason {
                    code: kms_core::object::RevocationReasonCode::CessationOfOperation,
                    message: Some("batch undone".into()),
                };
                let _ = self.manager.revoke(who, &id, reason, None);
                let _ = self.manager.destroy(who, &id);
            }
        }
        for item in items.iter_mut() {
            // The payload stays: it names what the item had done, now undone (the BL-M-2 profile case).
            if item.result_status == ResultStatus::SUCCESS {
                item.result_status = ResultStatus::OPERATION_UNDONE;
            }
        }
    }
}

/// Why a batch item failed: a kms-core error, or an answer the service gives itself.
#[derive(Debug)]
pub(crate) enum Failure {
    /// kms-core's error, its Result Reason from [`kms_core::Error::result_reason`].
    Core(CoreError),
    /// A Result Reason kms-core has no error for (General Failure where the profiles answer it, Response
    /// Too Large), with its Result Message.
    Reason(ResultReason, String),
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Self {
        Self::Core(e)
    }
}

impl Failure {
    /// General Failure: what the KMIP profiles answer for a request the server refuses without a more
    /// specific reason (an unusable tag length, a Quantum Safe object the server cannot make).
    pub(crate) fn general(message: impl Into<String>) -> Self {
        Self::Reason(ResultReason::GENERAL_FAILURE, message.into())
    }

    /// The Result Reason in `version`'s terms.
    fn reason(&self, version: Version) -> ResultReason {
        let reason = match self {
            Self::Core(CoreError::ItemNotFound) if version >= Version::V2_0 => {
                // KMIP 2.0 added Object Not Found for a Unique Identifier that names nothing.
                ResultReason::OBJECT_NOT_FOUND
            }
            Self::Core(e) => ResultReason(e.result_reason() as u32),
            Self::Reason(r, _) => *r,
        };
        reason_in(version, reason)
    }

    /// The Result Message: kms-core's errors never hold key material; storage and backend errors may hold
    /// paths and internals, which are the operator's business, not the client's.
    fn message(&self) -> String {
        match self {
            // A client should know that trying again may succeed (a database restarting, a lost update race).
            Self::Core(e @ (CoreError::Store(_) | CoreError::Backend(_))) if e.is_retryable() => {
                "temporarily unavailable: retry the request".to_owned()
            }
            Self::Core(CoreError::Store(_) | CoreError::Backend(_)) => {
                "internal server error".to_owned()
            }
            Self::Core(other) => other.to_string(),
            Self::Reason(_, m) => m.clone(),
        }
    }
}

/// A Result Reason a 1.x client knows: the reasons KMIP 2.0 added are answered with the 1.x reason that
/// covered the case before (KMIP 1.4 §11.10), so a 1.x client never reads a value its version lacks.
/// Whether `response`, encoded, is longer than `max` bytes.
fn response_too_large(response: &ResponseMessage, max: i32) -> bool {
    let max = usize::try_from(max).unwrap_or(0);
    encode_response(response).len() > max
}

fn reason_in(version: Version, reason: ResultReason) -> ResultReason {
    use ResultReason as R;
    if version >= Version::V2_0 || reason.since() == Some(1) {
        return reason;
    }
    match reason {
        R::WRONG_KEY_LIFECYCLE_STATE
        | R::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK
        | R::ATTRIBUTE_READ_ONLY
        | R::READ_ONLY_ATTRIBUTE
        | R::NOT_AUTHORIZED
        | R::USAGE_LIMIT_EXCEEDED => R::PERMISSION_DENIED,
        R::OBJECT_DESTROYED => R::KEY_VALUE_NOT_PRESENT,
        R::OBJECT_NOT_FOUND | R::ATTRIBUTE_NOT_FOUND | R::ATTRIBUTE_INSTANCE_NOT_FOUND => {
            R::ITEM_NOT_FOUND
        }
        R::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS
        | R::UNSUPPORTED_ATTRIBUTE
        | R::KEY_WRAP_TYPE_NOT_SUPPORTED
        | R::UNSUPPORTED_PROTOCOL_VERSION => R::FEATURE_NOT_SUPPORTED,
        R::INTERNAL_SERVER_ERROR | R::SERVER_LIMIT_EXCEEDED => R::GENERAL_FAILURE,
        R::NON_UNIQUE_NAME_ATTRIBUTE => R::OBJECT_ALREADY_EXISTS,
        // Bad Cryptographic Parameters, Invalid Attribute (Value), Single/Multi-valued, Illegal/Invalid
        // Object Type, Unknown Tag/Enumeration, Missing IV, Codec Error, ...: all malformed requests.
        _ => R::INVALID_FIELD,
    }
}

fn decode_failure(e: &MessageError) -> (ResultReason, String) {
    match e {
        MessageError::Ttlv(_) | MessageError::UnexpectedMessage { .. } => {
            (ResultReason::INVALID_MESSAGE, e.to_string())
        }
        MessageError::UnknownVersion { .. } => (
            ResultReason::INVALID_MESSAGE,
            "protocol version not supported".to_owned(),
        ),
        _ => (ResultReason::INVALID_FIELD, e.to_string()),
    }
}

fn now() -> DateTime {
    DateTime(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    )
}

fn response_message(
    version: Version,
    request: &RequestMessage,
    batch_items: Vec<ResponseBatchItem>,
) -> ResponseMessage {
    let correlation = version >= Version::V1_4;
    ResponseMessage {
        header: ResponseHeader {
            protocol_version: version.into(),
            time_stamp: now(),
            client_correlation_value: request
                .header
                .client_correlation_value
                .clone()
                .filter(|_| correlation),
            server_correlation_value: request
                .header
                .server_correlation_value
                .clone()
                .filter(|_| correlation),
            batch_count: i32::try_from(batch_items.len()).unwrap_or(i32::MAX),
            ..Default::default()
        },
        batch_items,
    }
}

/// What an error response echoes of a request that did not decode.
struct Summary {
    version: Version,
    items: Vec<(Option<Operation>, Option<Vec<u8>>)>,
}

/// Reads the protocol version and each batch item's Operation and Unique Batch Item ID, as far as the request
/// is readable.
fn peek(request: &[u8], limits: &ttlv::Limits) -> Summary {
    let mut summary = Summary {
        version: Version::V1_0,
        items: Vec::new(),
    };
    let Ok(message) = ttlv::decode_with(request, limits) else {
        return summary;
    };
    if message.tag() != Tag::REQUEST_MESSAGE {
        return summary;
    }
    let Ok(children) = message.children() else {
        return summary;
    };
    for child in children.flatten() {
        if child.tag() == Tag::REQUEST_HEADER {
            let version = child.children().ok().and_then(|fields| {
                let field = fields
                    .flatten()
                    .find(|f| f.tag() == Tag::PROTOCOL_VERSION)?;
                let (mut major, mut minor) = (None, None);
                for part in field.children().ok()?.flatten() {
                    if part.tag() == Tag::PROTOCOL_VERSION_MAJOR {
                        major = part.as_integer().ok();
                    } else if part.tag() == Tag::PROTOCOL_VERSION_MINOR {
                        minor = part.as_integer().ok();
                    }
                }
                ProtocolVersion::new(major?, minor?).version()
            });
            if let Some(v) = version.filter(|v| SUPPORTED_VERSIONS.contains(v)) {
                summary.version = v;
            }
        } else if child.tag() == Tag::BATCH_ITEM {
            let (mut operation, mut id) = (None, None);
            if let Ok(fields) = child.children() {
                for field in fields.flatten() {
                    if field.tag() == Tag::OPERATION {
                        operation = field.as_enumeration().ok().map(Operation);
                    } else if field.tag() == Tag::UNIQUE_BATCH_ITEM_ID {
                        id = field.as_byte_string().ok().map(<[u8]>::to_vec);
                    }
                }
            }
            summary.items.push((operation, id));
        }
    }
    summary
}

fn failure_message(summary: &Summary, reason: ResultReason, text: &str) -> ResponseMessage {
    let mut items: Vec<ResponseBatchItem> = summary
        .items
        .iter()
        .map(|(operation, id)| {
            let mut item = ResponseBatchItem::failure(*operation, reason, Some(text.to_owned()));
            item.unique_batch_item_id.clone_from(id);
            item
        })
        .collect();
    if items.is_empty() {
        items.push(ResponseBatchItem::failure(
            None,
            reason,
            Some(text.to_owned()),
        ));
    }
    ResponseMessage {
        header: ResponseHeader {
            protocol_version: summary.version.into(),
            time_stamp: now(),
            batch_count: i32::try_from(items.len()).unwrap_or(i32::MAX),
            ..Default::default()
        },
        batch_items: items,
    }
}

/// Encodes a response; a batch item its version cannot express (or that does not encode) is replaced by a
/// failure, so the client always gets a readable answer.
fn encode_response(response: &ResponseMessage) -> Vec<u8> {
    if let Ok(bytes) = response.to_bytes() {
        return bytes;
    }
    let version = response.version().unwrap_or(Version::V1_0);
    let mut fixed = response.clone();
    for item in &mut fixed.batch_items {
        let mut buf = Vec::new();
        let mut e = Encoder::new(&mut buf, version);
        if crate::message::Encode::encode(&*item, Tag::BATCH_ITEM, &mut e).is_err() {
            let mut failure = ResponseBatchItem::failure(
                item.operation
                    .filter(|op| op.since() != Some(2) || version >= Version::V2_0),
                ResultReason::GENERAL_FAILURE,
                Some(format!(
                    "the response cannot be expressed in KMIP {version}"
                )),
            );
            failure.unique_batch_item_id = item.unique_batch_item_id.take();
            *item = failure;
        }
    }
    fixed.to_bytes().unwrap_or_default()
}

#[cfg(feature = "server")]
impl crate::transport::RequestHandler for KmipService {
    fn handle(
        &self,
        identity: &crate::transport::ClientIdentity,
        encoding: crate::transport::Encoding,
        request: &[u8],
    ) -> Vec<u8> {
        let _ = encoding; // TTLV only: other encodings arrive through `Transcoding`.
        let principal = if identity.is_admin() {
            Principal::admin(identity.name())
        } else {
            Principal::new(identity.name())
        };
        match principal {
            Ok(who) => self.handle_ttlv(&who, request),
            Err(e) => {
                let summary = peek(request, &self.limits);
                encode_response(&failure_message(
                    &summary,
                    ResultReason::AUTHENTICATION_NOT_SUCCESSFUL,
                    &format!("client identity not usable: {e}"),
                ))
            }
        }
    }
}
