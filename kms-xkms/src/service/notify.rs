//! PendingNotification (section 3.1.2): how a requester that accepted a Pending answer is told that its request
//! completed. The Recommendation defines the mechanisms (SMTP, HTTP) and leaves the content of the notification
//! to the service. Ours is the StatusResult a StatusRequest would get at that moment, with the original
//! request's Id as RequestId: enough to correlate, never the ResponseId (so the notification alone cannot fetch
//! the result) and never key material.
//!
//! The service decides when and what; a [`Notifier`] injected with [`super::XkmsService::with_notifier`] delivers,
//! so the service stays free of I/O.

use crate::messages::{PendingNotification, ResultMajor};

/// `Mechanism` of HTTP notification (RFC 2616).
pub const MECHANISM_HTTP: &str = "urn:ietf:rfc:2616";
/// `Mechanism` of mail notification (RFC 822; RFC 2822, which replaced it, is taken too).
pub const MECHANISM_SMTP: &str = "urn:ietf:rfc:822";
const MECHANISM_SMTP_2822: &str = "urn:ietf:rfc:2822";
/// Longest `Identifier` taken.
const MAX_IDENTIFIER_LEN: usize = 2048;

/// Where a notification goes: the `PendingNotification` of a request, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotificationTarget {
    /// An `http:` or `https:` URL to POST to.
    Http(String),
    /// A mail address (the `mailto:` Identifier without its scheme).
    Mail(String),
}

impl NotificationTarget {
    /// The target a `PendingNotification` names, if its Mechanism is one XKMS defines and its Identifier has
    /// the matching scheme, no control characters or spaces, and at most 2048 bytes.
    #[must_use]
    pub fn parse(p: &PendingNotification) -> Option<Self> {
        let id = p.identifier.as_str();
        if id.len() > MAX_IDENTIFIER_LEN || id.chars().any(|c| c.is_control() || c == ' ') {
            return None;
        }
        let scheme_is = |scheme: &str| {
            id.get(..scheme.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        };
        match p.mechanism.as_str() {
            MECHANISM_HTTP if scheme_is("http://") || scheme_is("https://") => {
                Some(Self::Http(id.to_owned()))
            }
            MECHANISM_SMTP | MECHANISM_SMTP_2822 if scheme_is("mailto:") => {
                let address = &id["mailto:".len()..];
                (address.contains('@') && !address.contains(['?', ',', '<', '>']))
                    .then(|| Self::Mail(address.to_owned()))
            }
            _ => None,
        }
    }
}

/// One notification to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notification {
    /// Where it goes.
    pub target: NotificationTarget,
    /// The Id of the request that went Pending.
    pub request_id: String,
    /// How it ended.
    pub result_major: ResultMajor,
    /// The message: a SOAP 1.2 envelope holding a StatusResult.
    pub body: Vec<u8>,
}

/// Why a notifier did not take a notification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The notifier cannot deliver to this target.
    #[error("notification target not supported")]
    Unsupported,
    /// Too many notifications in flight; the service offers it again later.
    #[error("too many notifications in flight")]
    Busy,
}

/// Delivers notifications of completed pending requests.
pub trait Notifier: Send + Sync {
    /// Whether this notifier can deliver to `target`. The service asks when a request would go Pending, so that
    /// a mechanism the server cannot honour is refused then (Receiver / OptionalElementNotSupported) rather than
    /// dropped later without a word.
    fn supports(&self, target: &NotificationTarget) -> bool;

    /// Takes one notification for delivery. Must not wait on the network (the service calls it from its own
    /// work): queue it and return. Delivery is best effort, as the Recommendation allows; a requester can
    /// always ask with StatusRequest.
    ///
    /// # Errors
    /// [`NotifyError::Busy`] to be offered it again later; [`NotifyError::Unsupported`].
    fn notify(&self, notification: Notification) -> Result<(), NotifyError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(mechanism: &str, identifier: &str) -> Option<NotificationTarget> {
        NotificationTarget::parse(&PendingNotification {
            mechanism: mechanism.into(),
            identifier: identifier.into(),
        })
    }

    #[test]
    fn mechanisms_need_their_scheme() {
        assert_eq!(
            target(MECHANISM_HTTP, "http://notify.example.com/bob"),
            Some(NotificationTarget::Http(
                "http://notify.example.com/bob".into()
            ))
        );
        assert_eq!(
            target(MECHANISM_SMTP_2822, "mailto:bob@example.com"),
            Some(NotificationTarget::Mail("bob@example.com".into()))
        );
        assert_eq!(target(MECHANISM_HTTP, "mailto:bob@example.com"), None);
        assert_eq!(target(MECHANISM_SMTP, "http://example.com/"), None);
        assert_eq!(target(MECHANISM_HTTP, "file:///etc/passwd"), None);
        assert_eq!(target(MECHANISM_HTTP, "http://a b/"), None);
        assert_eq!(target(MECHANISM_SMTP, "mailto:a@b?cc=c@d"), None);
        assert_eq!(target("urn:example:pigeon", "http://example.com/"), None);
    }
}
