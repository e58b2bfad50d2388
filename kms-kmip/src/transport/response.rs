//! KMIP error responses the transport layer can build on its own, from the TTLV codec alone: for a request it
//! refuses before any handler sees it (too large), and the [`OperationNotSupported`] handler that a server
//! runs when it has no KMIP service behind it.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{ClientIdentity, Encoding, RequestHandler};
use crate::ttlv::{self, Tag, Writer};

/// Result Status Operation Failed (KMIP 2.1 §11.45).
const RESULT_STATUS_OPERATION_FAILED: u32 = 0x0000_0001;

/// The Result Reasons (KMIP 2.1 §11.44) the transport layer answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResultReason {
    /// Invalid Message (0x04): the request cannot be framed or parsed.
    InvalidMessage,
    /// Operation Not Supported (0x05).
    OperationNotSupported,
    /// General Failure (0x100).
    GeneralFailure,
}

impl ResultReason {
    /// The enumeration value on the wire.
    #[must_use]
    pub const fn value(self) -> u32 {
        match self {
            Self::InvalidMessage => 0x0000_0004,
            Self::OperationNotSupported => 0x0000_0005,
            Self::GeneralFailure => 0x0000_0100,
        }
    }
}

/// What the error response echoes of the request: its protocol version and, per batch item, the Operation
/// and Unique Batch Item ID.
struct RequestSummary<'a> {
    version: (i32, i32),
    items: Vec<(Option<u32>, Option<&'a [u8]>)>,
}

/// Reads what an error response must echo, or `None` if `request` is not a well-formed Request Message.
fn summarize<'a>(request: &'a [u8], limits: &ttlv::Limits) -> Option<RequestSummary<'a>> {
    let message = ttlv::decode_with(request, limits).ok()?;
    if message.tag() != Tag::REQUEST_MESSAGE {
        return None;
    }
    let mut version = None;
    let mut items = Vec::new();
    for child in message.children().ok()? {
        let child = child.ok()?;
        if child.tag() == Tag::REQUEST_HEADER {
            for field in child.children().ok()? {
                let field = field.ok()?;
                if field.tag() == Tag::PROTOCOL_VERSION {
                    let (mut major, mut minor) = (None, None);
                    for part in field.children().ok()? {
                        let part = part.ok()?;
                        if part.tag() == Tag::PROTOCOL_VERSION_MAJOR {
                            major = Some(part.as_integer().ok()?);
                        } else if part.tag() == Tag::PROTOCOL_VERSION_MINOR {
                            minor = Some(part.as_integer().ok()?);
                        }
                    }
                    version = Some((major?, minor?));
                }
            }
        } else if child.tag() == Tag::BATCH_ITEM {
            let (mut operation, mut id) = (None, None);
            for field in child.children().ok()? {
                let field = field.ok()?;
                if field.tag() == Tag::OPERATION {
                    operation = Some(field.as_enumeration().ok()?);
                } else if field.tag() == Tag::UNIQUE_BATCH_ITEM_ID {
                    id = Some(field.as_byte_string().ok()?);
                }
            }
            items.push((operation, id));
        }
    }
    Some(RequestSummary {
        version: version?,
        items,
    })
}

/// A TTLV Response Message failing every batch item of `request` with `reason` and `message`.
///
/// The response echoes the request's Protocol Version and each batch item's Operation and Unique Batch Item
/// ID when `request` is a well-formed Request Message (decoded within `limits`); otherwise it answers KMIP 1.0,
/// the version every client reads, with one batch item.
#[must_use]
pub fn error_response(
    request: &[u8],
    limits: &ttlv::Limits,
    reason: ResultReason,
    message: &str,
) -> Vec<u8> {
    let summary = summarize(request, limits).unwrap_or(RequestSummary {
        version: (1, 0),
        items: Vec::new(),
    });
    let items: &[(Option<u32>, Option<&[u8]>)] = if summary.items.is_empty() {
        &[(None, None)]
    } else {
        &summary.items
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let batch_count = i32::try_from(items.len()).unwrap_or(i32::MAX);

    let mut buf = Vec::with_capacity(128 + 96 * items.len() + message.len() * items.len());
    let mut w = Writer::new(&mut buf);
    w.structure(Tag::RESPONSE_MESSAGE, |w| {
        w.structure(Tag::RESPONSE_HEADER, |w| {
            w.structure(Tag::PROTOCOL_VERSION, |w| {
                w.integer(Tag::PROTOCOL_VERSION_MAJOR, summary.version.0);
                w.integer(Tag::PROTOCOL_VERSION_MINOR, summary.version.1);
            });
            w.date_time(Tag::TIME_STAMP, now);
            w.integer(Tag::BATCH_COUNT, batch_count);
        });
        for (operation, id) in items {
            w.structure(Tag::BATCH_ITEM, |w| {
                if let Some(operation) = operation {
                    w.enumeration(Tag::OPERATION, *operation);
                }
                if let Some(id) = id {
                    w.byte_string(Tag::UNIQUE_BATCH_ITEM_ID, id);
                }
                w.enumeration(Tag::RESULT_STATUS, RESULT_STATUS_OPERATION_FAILED);
                w.enumeration(Tag::RESULT_REASON, reason.value());
                w.text_string(Tag::RESULT_MESSAGE, message);
            });
        }
    });
    // The only failure a Writer reports is a value over 4 GiB, impossible for a message the limits admitted.
    if w.finish().is_err() {
        buf.clear();
    }
    buf
}

/// A handler for a server with no KMIP service behind it: it answers every well-formed TTLV Request Message
/// with Operation Not Supported on each batch item, and anything else with Invalid Message.
#[derive(Clone, Copy, Debug, Default)]
pub struct OperationNotSupported {
    limits: ttlv::Limits,
}

impl OperationNotSupported {
    /// The handler, decoding requests within `limits`.
    #[must_use]
    pub const fn new(limits: ttlv::Limits) -> Self {
        Self { limits }
    }
}

impl RequestHandler for OperationNotSupported {
    // `supports` is left at its default (TTLV only), so the transports only ever pass TTLV here.
    fn handle(&self, _identity: &ClientIdentity, _encoding: Encoding, request: &[u8]) -> Vec<u8> {
        let valid = ttlv::validate(request, &self.limits).is_ok()
            && summarize(request, &self.limits).is_some();
        if valid {
            error_response(
                request,
                &self.limits,
                ResultReason::OperationNotSupported,
                "this server has no KMIP service configured",
            )
        } else {
            error_response(
                request,
                &self.limits,
                ResultReason::InvalidMessage,
                "malformed request message",
            )
        }
    }

    // Decoding and writing a small message, nothing else.
    fn may_block(&self, _: Encoding, _: &[u8]) -> bool {
        false
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tags;

    #[test]
    fn result_values_match_the_generated_tables() {
        for reason in [
            ResultReason::InvalidMessage,
            ResultReason::OperationNotSupported,
            ResultReason::GeneralFailure,
        ] {
            let name = format!("{reason:?}");
            assert_eq!(
                tags::enumeration_value(Tag::RESULT_REASON, &name),
                Some(reason.value()),
                "{name}"
            );
        }
        assert_eq!(
            tags::enumeration_value(Tag::RESULT_STATUS, "OperationFailed"),
            Some(RESULT_STATUS_OPERATION_FAILED)
        );
    }

    fn request(version: (i32, i32), items: &[(u32, &[u8])]) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = Writer::new(&mut buf);
        w.structure(Tag::REQUEST_MESSAGE, |w| {
            w.structure(Tag::REQUEST_HEADER, |w| {
                w.structure(Tag::PROTOCOL_VERSION, |w| {
                    w.integer(Tag::PROTOCOL_VERSION_MAJOR, version.0);
                    w.integer(Tag::PROTOCOL_VERSION_MINOR, version.1);
                });
                w.integer(Tag::BATCH_COUNT, items.len() as i32);
            });
            for (op, id) in items {
                w.structure(Tag::BATCH_ITEM, |w| {
                    w.enumeration(Tag::OPERATION, *op);
                    w.byte_string(Tag::UNIQUE_BATCH_ITEM_ID, id);
                });
            }
        });
        w.finish().unwrap();
        buf
    }

    fn field<'a>(item: &ttlv::Item<'a>, tag: Tag) -> Option<ttlv::Item<'a>> {
        item.children()
            .unwrap()
            .map(Result::unwrap)
            .find(|c| c.tag() == tag)
    }

    #[test]
    fn not_supported_echoes_version_operation_and_batch_ids() {
        let req = request((1, 4), &[(0x0A, b"a"), (0x01, b"b")]);
        let handler = OperationNotSupported::default();
        let id = ClientIdentity::new("alice", "CN=alice", false);
        let resp = handler.handle(&id, Encoding::Ttlv, &req);
        ttlv::validate(&resp, &ttlv::Limits::new()).unwrap();
        let msg = ttlv::decode(&resp).unwrap();
        assert_eq!(msg.tag(), Tag::RESPONSE_MESSAGE);
        let header = field(&msg, Tag::RESPONSE_HEADER).unwrap();
        let version = field(&header, Tag::PROTOCOL_VERSION).unwrap();
        assert_eq!(
            field(&version, Tag::PROTOCOL_VERSION_MINOR)
                .unwrap()
                .as_integer(),
            Ok(4)
        );
        assert_eq!(
            field(&header, Tag::BATCH_COUNT).unwrap().as_integer(),
            Ok(2)
        );
        let items: Vec<_> = msg
            .children()
            .unwrap()
            .map(Result::unwrap)
            .filter(|c| c.tag() == Tag::BATCH_ITEM)
            .collect();
        assert_eq!(items.len(), 2);
        assert_eq!(
            field(&items[0], Tag::OPERATION).unwrap().as_enumeration(),
            Ok(0x0A)
        );
        assert_eq!(
            field(&items[1], Tag::UNIQUE_BATCH_ITEM_ID)
                .unwrap()
                .as_byte_string(),
            Ok(&b"b"[..])
        );
        assert_eq!(
            field(&items[1], Tag::RESULT_REASON)
                .unwrap()
                .as_enumeration(),
            Ok(0x05)
        );
    }

    #[test]
    fn garbage_gets_invalid_message_in_kmip_1_0() {
        let handler = OperationNotSupported::default();
        let id = ClientIdentity::new("alice", "CN=alice", false);
        for garbage in [
            &b""[..],
            b"\x42\x00\x78\x01\x00\x00\x00\x10",
            &[0xFF; 40],
            &request((2, 1), &[])[..20],
        ] {
            let resp = handler.handle(&id, Encoding::Ttlv, garbage);
            let msg = ttlv::decode(&resp).unwrap();
            let header = field(&msg, Tag::RESPONSE_HEADER).unwrap();
            let version = field(&header, Tag::PROTOCOL_VERSION).unwrap();
            assert_eq!(
                field(&version, Tag::PROTOCOL_VERSION_MAJOR)
                    .unwrap()
                    .as_integer(),
                Ok(1)
            );
            let item = field(&msg, Tag::BATCH_ITEM).unwrap();
            assert_eq!(
                field(&item, Tag::RESULT_REASON).unwrap().as_enumeration(),
                Ok(0x04)
            );
            assert!(field(&item, Tag::OPERATION).is_none());
        }
    }
}
