//! Limited-use pass phrases (XKMS 2.0 section 8.1) issued by an administrator for one key name: one use,
//! expiring, and burned after a few failed attempts so that the unsalted HMAC-SHA1 KDF cannot be guessed
//! against online.

use std::collections::HashMap;

use parking_lot::Mutex;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::shared_secret::{self, Conversion, KeyUse};

/// Characters of an issued pass phrase: lower-case letters and digits without look-alikes, so that the
/// Recommendation's SASLprep conversion and the 2004 conversion (lower-cased, spaces and punctuation
/// dropped) give the same bytes and every client derives the same keys.
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
/// 24 characters of a 32-letter alphabet: 120 bits.
const LENGTH: usize = 24;
/// Most names with an outstanding pass phrase, so that the table cannot grow without bound.
const MAX_OUTSTANDING: usize = 100_000;

/// A pass phrase waiting for its one use; only the converted bytes are kept.
struct Issued {
    secret: Zeroizing<Vec<u8>>,
    expires: OffsetDateTime,
    failures: u32,
}

/// What taking a pass phrase found.
pub(crate) enum Taken {
    /// No pass phrase (or an expired one) for this name.
    None,
    /// The converted pass phrase, set aside until [`PassPhrases::spend`], [`PassPhrases::restore`] or
    /// [`PassPhrases::fail`] settles it, so that two requests cannot use it at once.
    Secret(Zeroizing<Vec<u8>>),
}

#[derive(Default)]
struct Table {
    /// Ready for use.
    ready: HashMap<String, Issued>,
    /// Taken by a request in progress.
    taken: HashMap<String, Issued>,
}

/// The table of outstanding pass phrases, by key name.
pub(crate) struct PassPhrases {
    table: Mutex<Table>,
    lifetime: Duration,
    max_failures: u32,
}

impl PassPhrases {
    pub(crate) fn new(lifetime: Duration, max_failures: u32) -> Self {
        Self {
            table: Mutex::new(Table::default()),
            lifetime,
            max_failures,
        }
    }

    /// Issues a fresh pass phrase for `name`, replacing any outstanding one.
    pub(crate) fn issue(
        &self,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<Zeroizing<String>, super::ServiceError> {
        let mut random = Zeroizing::new([0u8; LENGTH]);
        getrandom::fill(&mut random[..]).map_err(|_| super::ServiceError::Random)?;
        // 256 is a multiple of the alphabet's 32 letters: no modulo bias.
        let phrase: Zeroizing<String> = Zeroizing::new(
            random
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
                .collect(),
        );
        let secret = shared_secret::convert(&phrase, Conversion::SaslPrep)
            .map_err(|_| super::ServiceError::Random)?;
        let mut t = self.table.lock();
        t.ready.retain(|_, i| i.expires > now);
        if t.ready.len() >= MAX_OUTSTANDING && !t.ready.contains_key(name) {
            return Err(super::ServiceError::TooManyPassPhrases);
        }
        // A pass phrase in use by a request in progress is superseded too.
        t.taken.remove(name);
        t.ready.insert(
            name.to_owned(),
            Issued {
                secret,
                expires: now + self.lifetime,
                failures: 0,
            },
        );
        Ok(phrase)
    }

    /// Sets aside and returns the pass phrase of `name` if it has not expired.
    pub(crate) fn take(&self, name: &str, now: OffsetDateTime) -> Taken {
        let mut t = self.table.lock();
        match t.ready.remove(name) {
            Some(i) if i.expires > now => {
                let secret = i.secret.clone();
                t.taken.insert(name.to_owned(), i);
                Taken::Secret(secret)
            }
            _ => Taken::None,
        }
    }

    /// The request authenticated and succeeded: the pass phrase is spent.
    pub(crate) fn spend(&self, name: &str) {
        self.table.lock().taken.remove(name);
    }

    /// The request authenticated but failed for another reason: the pass phrase stays usable (unless a new
    /// one was issued meanwhile).
    pub(crate) fn restore(&self, name: &str) {
        let mut t = self.table.lock();
        if let Some(i) = t.taken.remove(name) {
            t.ready.entry(name.to_owned()).or_insert(i);
        }
    }

    /// The signature did not verify under the pass phrase: one failure more; after `max_failures` it is burned.
    pub(crate) fn fail(&self, name: &str) {
        let mut t = self.table.lock();
        if let Some(mut i) = t.taken.remove(name) {
            i.failures += 1;
            if i.failures < self.max_failures {
                t.ready.entry(name.to_owned()).or_insert(i);
            } else {
                tracing::warn!(target: "kms_xkms::service", name, "pass phrase burned after repeated authentication failures");
            }
        }
    }
}

/// The `0x01` authentication key and the `0x04` private-key encryption key of a converted pass phrase.
pub(crate) fn authentication_key(secret: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    shared_secret::derive_from_bytes(secret, KeyUse::Authentication, 20).ok()
}

/// The PrivateKey encryption key of `len` bytes.
pub(crate) fn encryption_key(secret: &[u8], len: usize) -> Option<Zeroizing<Vec<u8>>> {
    shared_secret::derive_from_bytes(secret, KeyUse::PrivateKeyEncryption, len).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn issued_phrases_convert_alike_and_are_single_use() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let t = PassPhrases::new(Duration::hours(1), 3);
        let p = t.issue("alice", now).unwrap();
        assert_eq!(p.len(), LENGTH);
        assert_eq!(
            shared_secret::convert(&p, Conversion::SaslPrep).unwrap(),
            shared_secret::convert(&p, Conversion::Legacy2004).unwrap()
        );
        let Taken::Secret(s) = t.take("alice", now) else {
            panic!("issued")
        };
        assert_eq!(&s[..], p.as_bytes());
        assert!(matches!(t.take("alice", now), Taken::None));
        t.restore("alice");
        assert!(matches!(t.take("alice", now), Taken::Secret(..)));
        t.spend("alice");
        assert!(matches!(t.take("alice", now), Taken::None));
        t.issue("bob", now).unwrap();
        assert!(matches!(
            t.take("bob", now + Duration::hours(2)),
            Taken::None
        ));
    }

    #[test]
    fn repeated_failures_burn_the_phrase() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let t = PassPhrases::new(Duration::hours(1), 3);
        t.issue("alice", now).unwrap();
        for _ in 0..2 {
            assert!(matches!(t.take("alice", now), Taken::Secret(..)));
            t.fail("alice");
        }
        assert!(matches!(t.take("alice", now), Taken::Secret(..)));
        t.fail("alice");
        assert!(matches!(t.take("alice", now), Taken::None));
    }
}
