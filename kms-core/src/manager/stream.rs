//! Streamed Encrypt and Decrypt (KMIP 2.1 §6.1.19 and §6.1.13: Init Indicator, Final Indicator, Correlation
//! Value).
//!
//! Backends encrypt in one shot. A stream keeps what its caller sent so far under a random Correlation Value;
//! each Encrypt step runs the whole prefix through the backend again and answers the ciphertext not answered yet
//! that later data cannot change: all of it in the counter modes (GCM, ChaCha20), whole blocks in ECB and CBC.
//! A prefix's ciphertext being the start of the whole's in these modes, the steps' outputs put together are the
//! one-shot ciphertext; the last step adds the tag. The IV is fixed by the first step (the backend's choice
//! when the caller gave none). Only a step's new bytes count against the key's Usage Limits.
//!
//! Decrypt steps only collect: no plaintext leaves before the last step has authenticated (AEAD) or unpadded
//! the whole, so a stream never releases plaintext that a one-shot Decrypt would refuse.
//!
//! A stream belongs to the caller and the key that opened it: any other caller or key, like an expired or
//! finished stream, gets [`Error::InvalidField`] for its Correlation Value. Bounds: [`MAX_STREAM_BYTES`] and
//! [`MAX_STREAM_STEPS`] per stream, [`MAX_STREAMS_PER_CALLER`] and [`MAX_STREAMS`] open at once, and
//! [`STREAM_IDLE`] between steps.

use std::collections::HashMap;

use parking_lot::Mutex;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use super::KeyManager;
use crate::backend::CipherParams;
use crate::error::{Error, Result};
use crate::object::{ObjectId, Rights};
use crate::principal::Principal;

/// Most bytes one stream takes in all.
pub const MAX_STREAM_BYTES: usize = 1 << 20;
/// Most steps of one stream (each Encrypt step encrypts the prefix again).
pub const MAX_STREAM_STEPS: u32 = 128;
/// Most streams one caller has open at once.
pub const MAX_STREAMS_PER_CALLER: usize = 16;
/// Most streams open at once.
pub const MAX_STREAMS: usize = 1024;
/// How long a stream waits for its next step.
pub const STREAM_IDLE: Duration = Duration::minutes(5);

/// Where a streamed Encrypt or Decrypt request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStep<'a> {
    /// The first (Init Indicator): opens a stream.
    First,
    /// A later step, naming its stream by the Correlation Value the first step answered.
    Next(&'a [u8]),
    /// The last (Final Indicator): answers the rest and closes the stream.
    Last(&'a [u8]),
}

/// The answer to one Encrypt step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptStep {
    /// The ciphertext this step adds.
    pub data: Vec<u8>,
    /// The IV the backend chose (first step, when the caller gave none).
    pub iv: Option<Vec<u8>>,
    /// The authentication tag (last step of an AEAD stream).
    pub tag: Option<Vec<u8>>,
    /// The Correlation Value of the stream, for the steps to come (none after the last).
    pub correlation_value: Option<Vec<u8>>,
}

/// The answer to one Decrypt step.
pub struct DecryptStep {
    /// The plaintext: all of it at the last step, none before.
    pub data: Zeroizing<Vec<u8>>,
    /// The Correlation Value of the stream, for the steps to come (none after the last).
    pub correlation_value: Option<Vec<u8>>,
}

impl std::fmt::Debug for DecryptStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptStep")
            .field("data", &format_args!("[REDACTED; {}]", self.data.len()))
            .field("correlation_value", &self.correlation_value)
            .finish()
    }
}

/// The cipher mode of a stream; what [`CipherParams`] borrows is kept in the [`Stream`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    AesGcm { tag_len: usize },
    AesEcb { padding: bool },
    AesCbc { padding: bool },
    ChaCha20,
    ChaCha20Poly1305 { tag_len: usize },
}

impl Mode {
    /// How much of the ciphertext of `len` bytes of plaintext no later data changes.
    fn settled(self, len: usize) -> usize {
        match self {
            Self::AesGcm { .. } | Self::ChaCha20 | Self::ChaCha20Poly1305 { .. } => len,
            // With padding the block holding the end changes when more data comes.
            Self::AesEcb { padding } | Self::AesCbc { padding } => {
                let whole = len - len % 16;
                if padding && whole == len {
                    whole.saturating_sub(16)
                } else {
                    whole
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Encrypt,
    Decrypt,
}

/// One open stream.
struct Stream {
    owner: String,
    object: ObjectId,
    direction: Direction,
    mode: Mode,
    iv: Option<Vec<u8>>,
    aad: Vec<u8>,
    /// Everything the caller sent so far.
    data: Zeroizing<Vec<u8>>,
    /// How much of the output the steps so far answered.
    answered: usize,
    steps: u32,
    touched: OffsetDateTime,
}

impl Stream {
    /// A stream of `who` on `object`, with the mode, IV and additional data of `params`.
    fn new(
        who: &Principal,
        object: &ObjectId,
        direction: Direction,
        params: &CipherParams<'_>,
        now: OffsetDateTime,
    ) -> Result<Self> {
        let (mode, iv, aad) = match *params {
            CipherParams::AesGcm { iv, aad, tag_len } => (Mode::AesGcm { tag_len }, iv, aad),
            CipherParams::AesEcb { padding } => (Mode::AesEcb { padding }, None, &[][..]),
            CipherParams::AesCbc { iv, padding } => (Mode::AesCbc { padding }, iv, &[][..]),
            CipherParams::ChaCha20 { nonce } => (Mode::ChaCha20, nonce, &[][..]),
            CipherParams::ChaCha20Poly1305 {
                nonce,
                aad,
                tag_len,
            } => (Mode::ChaCha20Poly1305 { tag_len }, nonce, aad),
            _ => {
                return Err(Error::UnsupportedCryptographicParameters(
                    "streaming takes AES (GCM, ECB, CBC) and ChaCha20 (-Poly1305) only".into(),
                ));
            }
        };
        Ok(Self {
            owner: who.name().to_owned(),
            object: object.clone(),
            direction,
            mode,
            iv: iv.map(<[u8]>::to_vec),
            aad: aad.to_vec(),
            data: Zeroizing::new(Vec::new()),
            answered: 0,
            steps: 0,
            touched: now,
        })
    }

    fn params(&self) -> CipherParams<'_> {
        let iv = self.iv.as_deref();
        match self.mode {
            Mode::AesGcm { tag_len } => CipherParams::AesGcm {
                iv,
                aad: &self.aad,
                tag_len,
            },
            Mode::AesEcb { padding } => CipherParams::AesEcb { padding },
            Mode::AesCbc { padding } => CipherParams::AesCbc { iv, padding },
            Mode::ChaCha20 => CipherParams::ChaCha20 { nonce: iv },
            Mode::ChaCha20Poly1305 { tag_len } => CipherParams::ChaCha20Poly1305 {
                nonce: iv,
                aad: &self.aad,
                tag_len,
            },
        }
    }

    /// Takes in the data of one more step.
    fn append(&mut self, data: &[u8]) -> Result<()> {
        if self.data.len() + data.len() > MAX_STREAM_BYTES {
            return Err(Error::InvalidField(format!(
                "a stream takes at most {MAX_STREAM_BYTES} bytes"
            )));
        }
        if self.steps >= MAX_STREAM_STEPS {
            return Err(Error::InvalidField(format!(
                "a stream takes at most {MAX_STREAM_STEPS} steps"
            )));
        }
        self.data.extend_from_slice(data);
        self.steps += 1;
        Ok(())
    }
}

/// The open streams of a [`KeyManager`], by Correlation Value.
#[derive(Default)]
pub(super) struct Streams {
    open: Mutex<HashMap<[u8; 16], Stream>>,
}

fn unknown() -> Error {
    Error::InvalidField("Correlation Value: no open stream of this caller for this key".into())
}

impl Streams {
    /// Whether `owner` may open one more stream: asked before a first step uses the key, and again by
    /// [`Streams::open`] (another request may have opened one meanwhile).
    fn room_for(&self, owner: &str, now: OffsetDateTime) -> Result<()> {
        let mut open = self.open.lock();
        open.retain(|_, s| now - s.touched <= STREAM_IDLE);
        if open.len() >= MAX_STREAMS {
            return Err(Error::InvalidField(format!(
                "the server has {MAX_STREAMS} streams open; finish one first"
            )));
        }
        if open.values().filter(|s| s.owner == owner).count() >= MAX_STREAMS_PER_CALLER {
            return Err(Error::InvalidField(format!(
                "a caller has at most {MAX_STREAMS_PER_CALLER} streams open; finish one first"
            )));
        }
        Ok(())
    }

    /// Opens `stream`, answering its Correlation Value.
    fn open(&self, stream: Stream, now: OffsetDateTime) -> Result<Vec<u8>> {
        self.room_for(&stream.owner, now)?;
        let id = *uuid::Uuid::new_v4().as_bytes();
        self.open.lock().insert(id, stream);
        Ok(id.to_vec())
    }

    /// Takes out the stream `correlation` names, if it is `who`'s, on `object`, in `direction` and not
    /// expired. While out, no other request can continue it.
    fn take(
        &self,
        correlation: &[u8],
        who: &Principal,
        object: &ObjectId,
        direction: Direction,
        now: OffsetDateTime,
    ) -> Result<([u8; 16], Stream)> {
        let id: [u8; 16] = correlation.try_into().map_err(|_| unknown())?;
        let mut open = self.open.lock();
        let ours = open.get(&id).is_some_and(|s| {
            s.owner == who.name()
                && &s.object == object
                && s.direction == direction
                && now - s.touched <= STREAM_IDLE
        });
        if !ours {
            return Err(unknown());
        }
        open.remove(&id).map(|s| (id, s)).ok_or_else(unknown)
    }

    /// Puts back a stream taken out with [`Streams::take`].
    fn put_back(&self, id: [u8; 16], mut stream: Stream, now: OffsetDateTime) {
        stream.touched = now;
        self.open.lock().insert(id, stream);
    }
}

impl KeyManager {
    /// One step of a streamed KMIP Encrypt with the symmetric key `id` (see the module documentation). The
    /// first step takes the parameters for the whole stream; later steps name it by its Correlation Value.
    ///
    /// # Errors
    /// [`Error::InvalidField`] for a Correlation Value that names no open stream of the caller on this key, and
    /// for a stream or a number of streams over the bounds; [`Error::UnsupportedCryptographicParameters`] for
    /// RSA-OAEP; otherwise as [`KeyManager::encrypt`]. A step that fails closes its stream.
    pub fn encrypt_stream(
        &self,
        who: &Principal,
        id: &ObjectId,
        params: &CipherParams<'_>,
        data: &[u8],
        step: StreamStep<'_>,
    ) -> Result<EncryptStep> {
        let now = self.now();
        let (correlation, mut stream) = match step {
            StreamStep::First => {
                self.streams.room_for(who.name(), now)?;
                (None, Stream::new(who, id, Direction::Encrypt, params, now)?)
            }
            StreamStep::Next(c) | StreamStep::Last(c) => {
                let (key, stream) = self.streams.take(c, who, id, Direction::Encrypt, now)?;
                (Some(key), stream)
            }
        };
        stream.append(data)?;
        let out = self.encrypt_counting(who, id, &stream.params(), &stream.data, data.len())?;
        let chosen_iv = if stream.iv.is_none() {
            // The backend chose the IV: every later step must use the same.
            stream.iv = out.iv.as_ref().map(|iv| iv.to_vec());
            stream.iv.clone()
        } else {
            None
        };
        if let StreamStep::Last(_) = step {
            return Ok(EncryptStep {
                data: out.data.get(stream.answered..).unwrap_or_default().to_vec(),
                iv: None,
                tag: out.tag.as_ref().map(|t| t.to_vec()),
                correlation_value: None,
            });
        }
        let settled = stream.mode.settled(stream.data.len()).min(out.data.len());
        let answer = out
            .data
            .get(stream.answered..settled)
            .unwrap_or_default()
            .to_vec();
        stream.answered = settled.max(stream.answered);
        let correlation_value = match correlation {
            Some(key) => {
                self.streams.put_back(key, stream, now);
                key.to_vec()
            }
            None => self.streams.open(stream, now)?,
        };
        Ok(EncryptStep {
            data: answer,
            iv: chosen_iv,
            tag: None,
            correlation_value: Some(correlation_value),
        })
    }

    /// One step of a streamed KMIP Decrypt with the symmetric key `id` (see the module documentation): the
    /// steps before the last answer no data; the last decrypts the whole, checking `tag` (AEAD modes).
    ///
    /// # Errors
    /// As [`KeyManager::encrypt_stream`], and [`KeyManager::decrypt`]'s at the last step.
    pub fn decrypt_stream(
        &self,
        who: &Principal,
        id: &ObjectId,
        params: &CipherParams<'_>,
        data: &[u8],
        tag: Option<&[u8]>,
        step: StreamStep<'_>,
    ) -> Result<DecryptStep> {
        let now = self.now();
        let (correlation, mut stream) = match step {
            StreamStep::First => {
                self.streams.room_for(who.name(), now)?;
                let stream = Stream::new(who, id, Direction::Decrypt, params, now)?;
                // Nothing is decrypted before the last step: a caller who may not use the key learns so now.
                self.load_shared(who, id, Rights::USE)?;
                (None, stream)
            }
            StreamStep::Next(c) | StreamStep::Last(c) => {
                let (key, stream) = self.streams.take(c, who, id, Direction::Decrypt, now)?;
                (Some(key), stream)
            }
        };
        stream.append(data)?;
        if let StreamStep::Last(_) = step {
            let plain = self.decrypt(who, id, &stream.params(), &stream.data, tag)?;
            return Ok(DecryptStep {
                data: plain,
                correlation_value: None,
            });
        }
        let correlation_value = match correlation {
            Some(key) => {
                self.streams.put_back(key, stream, now);
                key.to_vec()
            }
            None => self.streams.open(stream, now)?,
        };
        Ok(DecryptStep {
            data: Zeroizing::new(Vec::new()),
            correlation_value: Some(correlation_value),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::manager::ManualClock;
    use crate::object::{Attributes, CryptographicAlgorithm, UsageMask};
    use crate::{MemoryStore, SoftwareBackend};

    fn manager() -> (KeyManager, Arc<ManualClock>, ObjectId) {
        let clock = Arc::new(ManualClock::new(
            OffsetDateTime::UNIX_EPOCH + Duration::days(20_000),
        ));
        let m = KeyManager::builder(Arc::new(MemoryStore::new()))
            .backend(Arc::new(SoftwareBackend::new()))
            .clock(clock.clone())
            .build()
            .unwrap();
        let a = Attributes {
            cryptographic_algorithm: Some(CryptographicAlgorithm::Aes),
            cryptographic_length: Some(128),
            cryptographic_usage_mask: Some(UsageMask::ENCRYPT | UsageMask::DECRYPT),
            ..Attributes::default()
        };
        let who = Principal::new("alice").unwrap();
        let id = m.create(&who, a).unwrap();
        m.activate(&who, &id).unwrap();
        (m, clock, id)
    }

    const GCM: CipherParams<'static> = CipherParams::AesGcm {
        iv: Some(&[1; 12]),
        aad: &[],
        tag_len: 16,
    };

    #[test]
    fn an_idle_stream_expires() {
        let (m, clock, id) = manager();
        let who = Principal::new("alice").unwrap();
        let first = m
            .encrypt_stream(&who, &id, &GCM, b"abc", StreamStep::First)
            .unwrap();
        let c = first.correlation_value.unwrap();
        clock.advance(STREAM_IDLE - Duration::seconds(1));
        m.encrypt_stream(&who, &id, &GCM, b"def", StreamStep::Next(&c))
            .unwrap();
        // The idle time counts from the last step.
        clock.advance(STREAM_IDLE + Duration::seconds(1));
        let late = m.encrypt_stream(&who, &id, &GCM, b"ghi", StreamStep::Last(&c));
        assert!(matches!(late, Err(Error::InvalidField(_))), "{late:?}");
    }

    #[test]
    fn a_caller_has_a_bounded_number_of_streams_and_each_a_bounded_size() {
        let (m, _, id) = manager();
        let who = Principal::new("alice").unwrap();
        let mut open = Vec::new();
        for _ in 0..MAX_STREAMS_PER_CALLER {
            let step = m
                .encrypt_stream(&who, &id, &GCM, b"x", StreamStep::First)
                .unwrap();
            open.push(step.correlation_value.unwrap());
        }
        let over = m.encrypt_stream(&who, &id, &GCM, b"x", StreamStep::First);
        assert!(matches!(over, Err(Error::InvalidField(_))), "{over:?}");
        // Another caller is not held back by alice's streams.
        let bob = Principal::new("bob").unwrap();
        let theirs = m.encrypt_stream(&bob, &id, &GCM, b"x", StreamStep::First);
        assert!(matches!(theirs, Err(Error::ItemNotFound)), "{theirs:?}");

        let big = vec![0; MAX_STREAM_BYTES];
        let too_long = m.encrypt_stream(&who, &id, &GCM, &big, StreamStep::Next(&open[0]));
        assert!(
            matches!(too_long, Err(Error::InvalidField(_))),
            "{too_long:?}"
        );
    }
}
