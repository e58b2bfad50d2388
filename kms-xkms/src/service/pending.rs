//! Asynchronous processing (section 3.3): Recover of an escrowed key answers Pending while the escrow agents
//! decide; PendingRequest returns the RecoverResult once the escrow releases the key, StatusRequest says
//! where it stands, and a PendingNotification is honoured when the agents' approvals are in.
//!
//! A pending recovery is kept in the KeyManager, like every other state the service keeps (trust anchors,
//! keys), so that it survives a restart on any store (memory, redb, PostgreSQL): one Secret Data object of the
//! service principal in the Object Group [`PENDING_GROUP`], named after the ResponseId. What must stay secret
//! (the recipient key the escrow releases to, the pass-phrase key the private key goes back under, and the
//! original request) is its key value, which the backend seals; what the service looks things up by (requester,
//! escrow request, expiry) are custom attributes. An index of those attributes is kept in memory, loaded from
//! the store on first use, so that nothing scans the store per request.

use std::collections::HashMap;
use std::sync::Arc;

use kms_core::manager::{ExportedKey, GetRequest};
use kms_core::object::{AttributeValue, Name};
use kms_core::store::LocateQuery;
use kms_core::{
    Attributes, KeyFormat, KeyManager, KeyMaterial, ObjectId, ObjectType, Principal, State,
};
use kms_escrow::files::EscrowDir;
use kms_escrow::{
    DepositId, Escrow, EscrowError, EscrowPolicy, RecipientKey, RequestId, RequestStatus,
    SystemClock,
};
use parking_lot::Mutex;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::kiss::Found;
use super::notify::{Notification, NotificationTarget};
use super::{XkmsService, fresh_id};
use crate::messages::{
    self, KeyBindingPrivateKeyResult, PendingRequest, RecoverRequest, Request, RequestHeader,
    ResultHeader, ResultMajor, ResultMinor, StatusRequest, StatusResult, XkmsResult,
};
use crate::{SoapVersion, serialize_result, xml};

/// Most recoveries waiting at once.
const MAX_PENDING: usize = 10_000;
/// The purpose recorded in escrow release requests.
pub const RECOVER_PURPOSE: &str = "xkms-recover";
/// The Object Group of the records of pending requests.
pub const PENDING_GROUP: &str = "xkms-pending";
const NAME_PREFIX: &str = "xkms-pending:";
const ATTR_REQUESTER: &str = "x-xkms-pending-requester";
const ATTR_ORIGINAL_REQUEST_ID: &str = "x-xkms-pending-original-request-id";
const ATTR_ESCROW_REQUEST: &str = "x-xkms-pending-escrow-request";
const ATTR_EXPIRES: &str = "x-xkms-pending-expires";
const ATTR_NOTIFY: &str = "x-xkms-pending-notify";
/// Version tag of the sealed part's layout.
const SEALED_V1: &[u8; 4] = b"XKP1";

/// Where the escrow lives.
#[derive(Clone)]
pub enum EscrowSource {
    /// An escrow this process holds open (tests, embedding).
    Shared(Arc<Escrow>),
    /// The escrow of a kms data directory, opened for each use so that `kms escrow` commands (agents adding
    /// themselves, approving) can use the same database between two XKMS calls.
    Dir(EscrowDir),
}

impl std::fmt::Debug for EscrowSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Shared(_) => f.write_str("EscrowSource::Shared"),
            Self::Dir(d) => write!(f, "EscrowSource::Dir({})", d.database().display()),
        }
    }
}

/// The escrow that keeps the private keys the service generates, and the policy deposits get.
#[derive(Clone, Debug)]
pub struct EscrowSettings {
    /// Where the escrow lives.
    pub source: EscrowSource,
    /// The m-of-n policy of each deposit.
    pub policy: EscrowPolicy,
    /// Held while a [`EscrowSource::Dir`] database is open: redb locks the file, so a second open in this
    /// process (the pending-request poll beside a request) would fail rather than wait.
    open: Arc<Mutex<()>>,
}

impl EscrowSettings {
    /// Settings depositing under `policy` into `source`.
    #[must_use]
    pub fn new(source: EscrowSource, policy: EscrowPolicy) -> Self {
        Self {
            source,
            policy,
            open: Arc::default(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&Escrow) -> Result<T, EscrowError>) -> Result<T, EscrowError> {
        match &self.source {
            EscrowSource::Shared(e) => f(e),
            EscrowSource::Dir(d) => {
                let _open = self.open.lock();
                f(&d.open(Arc::new(SystemClock))?)
            }
        }
    }

    /// Deposits the private key `id`; returns the deposit id.
    pub(crate) fn deposit(
        &self,
        manager: &KeyManager,
        who: &Principal,
        id: &ObjectId,
    ) -> Result<String, EscrowError> {
        self.with(|e| {
            kms_escrow::deposit_managed_object(e, manager, who, id, self.policy.clone())
                .map(|d| d.to_string())
        })
    }
}

/// What the index keeps of a pending recovery: its record and the fields it is looked up and bounded by.
#[derive(Clone)]
struct Entry {
    record: ObjectId,
    requester: String,
    original_request_id: String,
    escrow_request: RequestId,
    expires: OffsetDateTime,
    /// The request carried a PendingNotification that is still to be sent. Kept in memory only: after a
    /// restart a completed request is announced again, which tells the requester nothing new.
    notify: bool,
}

/// The sealed part of a record.
struct Sealed {
    recipient: p256::SecretKey,
    kek: Zeroizing<Vec<u8>>,
    found_id: ObjectId,
    request: RecoverRequest,
}

/// The index of pending recoveries, by the Id of their Pending result.
#[derive(Default)]
pub(crate) struct PendingTable {
    entries: Mutex<Option<HashMap<String, Entry>>>,
}

impl Sealed {
    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let request = xml::write_document(&messages::encode_request(&Request::Recover(
            self.request.clone(),
        )));
        let id = self.found_id.as_str().as_bytes();
        let mut out = Zeroizing::new(Vec::with_capacity(
            4 + 32 + 2 + self.kek.len() + 2 + id.len() + request.len(),
        ));
        out.extend_from_slice(SEALED_V1);
        out.extend_from_slice(&self.recipient.to_bytes());
        for part in [&self.kek[..], id] {
            // Both are short (a key of at most 32 bytes, an object id): the length fits.
            out.extend_from_slice(&u16::try_from(part.len()).unwrap_or(0).to_be_bytes());
            out.extend_from_slice(part);
        }
        out.extend_from_slice(&request);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(SEALED_V1)?;
        let (scalar, mut rest) = rest.split_at_checked(32)?;
        let recipient = p256::SecretKey::from_slice(scalar).ok()?;
        let mut part = || {
            let (len, tail) = rest.split_at_checked(2)?;
            let (value, tail) =
                tail.split_at_checked(usize::from(u16::from_be_bytes([len[0], len[1]])))?;
            rest = tail;
            Some(value)
        };
        let kek = Zeroizing::new(part()?.to_vec());
        let found_id = ObjectId::try_from(std::str::from_utf8(part()?).ok()?).ok()?;
        let doc = xml::parse(rest, &xml::Limits::default()).ok()?;
        let Ok(Request::Recover(request)) = messages::decode_request(doc) else {
            return None;
        };
        Some(Self {
            recipient,
            kek,
            found_id,
            request,
        })
    }
}

fn text(a: &Attributes, name: &str) -> Option<String> {
    match a.custom.get(name) {
        Some(AttributeValue::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

/// A ResponseId as this service makes them (`I` and 32 hex digits): anything else is unknown without a look.
fn our_response_id(id: &str) -> bool {
    id.len() == 33
        && id.starts_with('I')
        && id[1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

const RECEIVER_FAILURE: (ResultMajor, ResultMinor) = (ResultMajor::Receiver, ResultMinor::Failure);

impl XkmsService {
    /// The pending recoveries of the store, as the index holds them. Read from the store on first use.
    fn pending_index<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> Option<T> {
        let mut guard = self.pending.entries.lock();
        if guard.is_none() {
            match self.load_pending() {
                Ok(m) => *guard = Some(m),
                Err(e) => {
                    tracing::error!(target: "kms_xkms::service", error = %e, "reading the pending requests failed");
                    return None;
                }
            }
        }
        guard.as_mut().map(f)
    }

    fn load_pending(&self) -> Result<HashMap<String, Entry>, kms_core::Error> {
        let query = LocateQuery {
            object_type: Some(ObjectType::SecretData),
            object_group: Some(PENDING_GROUP.to_owned()),
            state: Some(State::PreActive),
            ..LocateQuery::default()
        };
        let mut out = HashMap::new();
        for id in self.manager.locate(&self.principal, &query)?.ids {
            let m = self.manager.metadata(&self.principal, &id)?;
            if let Some((response_id, entry)) = entry_of(&id, &m.attributes) {
                out.insert(response_id, entry);
            }
        }
        Ok(out)
    }

    /// The index entry of `response_id`: from the index, or, for a record another server wrote to a shared
    /// store, from the store by name.
    fn pending_entry(&self, response_id: &str) -> Option<Entry> {
        if !our_response_id(response_id) {
            return None;
        }
        if let Some(Some(e)) = self.pending_index(|m| m.get(response_id).cloned()) {
            return Some(e);
        }
        let query = LocateQuery {
            object_type: Some(ObjectType::SecretData),
            name: Some(format!("{NAME_PREFIX}{response_id}")),
            state: Some(State::PreActive),
            ..LocateQuery::default()
        };
        let id = self
            .manager
            .locate(&self.principal, &query)
            .ok()?
            .ids
            .pop()?;
        let m = self.manager.metadata(&self.principal, &id).ok()?;
        let (_, mut entry) = entry_of(&id, &m.attributes)?;
        entry.notify = false;
        Some(entry)
    }

    /// Drops a pending recovery: its index entry and its record (destroyed: the sealed keys are gone).
    fn forget_pending(&self, response_id: &str, entry: &Entry) {
        self.pending_index(|m| m.remove(response_id));
        if let Err(e) = self.manager.destroy(&self.principal, &entry.record) {
            tracing::warn!(target: "kms_xkms::service", error = %e, record = %entry.record, "destroying a pending request's record failed");
        }
    }

    /// Forgets the pending requests whose time is up; `None` when the index cannot be read.
    fn forget_expired(&self, now: OffsetDateTime) -> Option<()> {
        let expired: Vec<(String, Entry)> = self.pending_index(|m| {
            m.iter()
                .filter(|(_, e)| e.expires <= now)
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect()
        })?;
        for (k, e) in &expired {
            tracing::info!(target: "kms_xkms::service", request = %e.escrow_request, "pending request expired");
            self.forget_pending(k, e);
        }
        Some(())
    }

    fn sealed(&self, entry: &Entry) -> Option<Sealed> {
        let object = self
            .manager
            .get(&self.principal, &entry.record, &GetRequest::default())
            .ok()?;
        match object.key {
            ExportedKey::Plain(material) => Sealed::decode(material.bytes()),
            ExportedKey::Wrapped { .. } => None,
        }
    }

    /// Opens the escrow release request of a Recover that must wait for agents, and records it.
    pub(crate) fn start_escrow_recovery(
        &self,
        response_id: &str,
        deposit: &str,
        name: &str,
        r: &RecoverRequest,
        target: &Found,
        kek: Zeroizing<Vec<u8>>,
    ) -> Result<(), (ResultMajor, ResultMinor)> {
        let escrow = self.escrow.as_ref().ok_or(RECEIVER_FAILURE)?;
        let notify = match &r.header.pending_notification {
            None => false,
            Some(p) => {
                let supported = NotificationTarget::parse(p)
                    .is_some_and(|t| self.notifier.as_ref().is_some_and(|n| n.supports(&t)));
                if !supported {
                    return Err((
                        ResultMajor::Receiver,
                        ResultMinor::OptionalElementNotSupported,
                    ));
                }
                true
            }
        };
        let now = self.now();
        self.forget_expired(now).ok_or(RECEIVER_FAILURE)?;
        let (total, mine) = self
            .pending_index(|m| (m.len(), m.values().filter(|e| e.requester == name).count()))
            .ok_or(RECEIVER_FAILURE)?;
        if total >= MAX_PENDING {
            return Err(RECEIVER_FAILURE);
        }
        if mine >= self.config.max_pending_per_requester {
            tracing::info!(target: "kms_xkms::service", name, "too many pending requests for this requester");
            return Err((ResultMajor::Receiver, ResultMinor::Refused));
        }
        let deposit = DepositId::new(deposit).map_err(|_| RECEIVER_FAILURE)?;
        let recipient = kms_escrow::generate_p256_secret_key().map_err(|_| RECEIVER_FAILURE)?;
        let justification = format!(
            "XKMS RecoverRequest {} for key {} ({name})",
            r.header.message.id.chars().take(128).collect::<String>(),
            target.id
        );
        let release = escrow
            .with(|e| {
                e.request_release(
                    name,
                    &deposit,
                    RecipientKey(recipient.public_key()),
                    RECOVER_PURPOSE,
                    &justification,
                )
            })
            .map_err(|e| {
                tracing::error!(target: "kms_xkms::service", error = %e, "escrow release request failed");
                RECEIVER_FAILURE
            })?;
        let escrow_expiry = i64::try_from(release.expires_at)
            .ok()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .unwrap_or(now);
        let entry = Entry {
            // Replaced by the record's id once it is recorded.
            record: ObjectId::random(),
            requester: name.to_owned(),
            original_request_id: r.header.message.id.clone(),
            escrow_request: release.id.clone(),
            expires: escrow_expiry.min(now + self.config.pending_lifetime),
            notify,
        };
        let sealed = Sealed {
            recipient,
            kek,
            found_id: target.id.clone(),
            request: r.clone(),
        };
        let record = self.record_pending(response_id, &entry, &sealed).map_err(|e| {
            // The escrow request stays open until it lapses: the escrow has no way to withdraw one.
            tracing::error!(target: "kms_xkms::service", error = %e, request = %release.id, "recording a pending request failed");
            RECEIVER_FAILURE
        })?;
        tracing::info!(target: "kms_xkms::service", request = %release.id, key = %target.id, "recovery waits for escrow approvals");
        self.pending_index(|m| m.insert(response_id.to_owned(), Entry { record, ..entry }));
        Ok(())
    }

    fn record_pending(
        &self,
        response_id: &str,
        entry: &Entry,
        sealed: &Sealed,
    ) -> Result<ObjectId, kms_core::Error> {
        let mut attributes = Attributes::default();
        attributes.names = vec![Name::text(format!("{NAME_PREFIX}{response_id}"))];
        attributes.object_groups = vec![PENDING_GROUP.to_owned()];
        let custom = &mut attributes.custom;
        for (k, v) in [
            (ATTR_REQUESTER, &entry.requester),
            (ATTR_ORIGINAL_REQUEST_ID, &entry.original_request_id),
            (
                ATTR_ESCROW_REQUEST,
                &entry.escrow_request.as_str().to_owned(),
            ),
        ] {
            custom.insert(k.to_owned(), AttributeValue::Text(v.clone()));
        }
        custom.insert(
            ATTR_EXPIRES.to_owned(),
            AttributeValue::DateTime(entry.expires),
        );
        custom.insert(
            ATTR_NOTIFY.to_owned(),
            AttributeValue::Boolean(entry.notify),
        );
        // Never activated: a Pre-Active object is read and destroyed without a revocation first.
        self.manager.register(
            &self.principal,
            ObjectType::SecretData,
            KeyMaterial::new(KeyFormat::Raw, sealed.encode()),
            attributes,
        )
    }

    /// The pending entry a PendingRequest or StatusRequest names, if it is live and the OriginalRequestId, when
    /// given, is the original request's. An expired one is forgotten on the way.
    fn live_entry(&self, header: &RequestHeader, response_id: &str) -> Option<Entry> {
        let entry = self.pending_entry(response_id)?;
        if entry.expires <= self.now() {
            self.forget_pending(response_id, &entry);
            return None;
        }
        // Another requester's ResponseId with one's own OriginalRequestId: unknown, and left as it was.
        if header
            .original_request_id
            .as_ref()
            .is_some_and(|o| *o != entry.original_request_id)
        {
            return None;
        }
        Some(entry)
    }

    pub(crate) fn pending_request(&self, p: &PendingRequest, _now: OffsetDateTime) -> XkmsResult {
        let request = Request::Pending(p.clone());
        let fail = |major, minor| self.error(&request, &p.header, major, minor);
        let Some(entry) = self.live_entry(&p.header, &p.response_id) else {
            return fail(ResultMajor::Sender, ResultMinor::UnknownResponseId);
        };
        let Some(escrow) = &self.escrow else {
            return fail(ResultMajor::Receiver, ResultMinor::Failure);
        };
        let Some(sealed) = self.sealed(&entry) else {
            return fail(ResultMajor::Receiver, ResultMinor::Failure);
        };
        let released = escrow.with(|e| e.release(&entry.requester, &entry.escrow_request));
        let package = match released {
            Ok(p) => p,
            Err(EscrowError::PolicyNotSatisfied(_) | EscrowError::WaitingPeriod { .. }) => {
                return XkmsResult::Result(self.header(&p.header, ResultMajor::Pending, None));
            }
            Err(e) => {
                tracing::info!(target: "kms_xkms::service", error = %e, "escrow did not release");
                self.forget_pending(&p.response_id, &entry);
                return fail(ResultMajor::Sender, ResultMinor::Refused);
            }
        };
        // Released: the escrow request is closed, so the record has served whatever comes next.
        self.forget_pending(&p.response_id, &entry);
        let result = (|| {
            let key = package
                .open(&sealed.recipient)
                .map_err(|_| RECEIVER_FAILURE)?;
            let private_key = self.encrypt_pkcs8(key.material(), &sealed.kek)?;
            let found = self.found(&sealed.found_id)?;
            Ok::<_, (ResultMajor, ResultMinor)>((private_key, found))
        })();
        // The answer is to the original RecoverRequest (section 3.3.2).
        let original: &RequestHeader = &sealed.request.header;
        match result {
            Ok((private_key, found)) => {
                let mut header = self.header(original, ResultMajor::Success, None);
                header.message.service =
                    p.header.message.service.clone().or(header.message.service);
                XkmsResult::Recover(KeyBindingPrivateKeyResult {
                    header,
                    key_bindings: vec![self.valid_binding(&found, &original.respond_with)],
                    private_key: Some(private_key),
                })
            }
            Err((major, minor)) => fail(major, minor),
        }
    }

    /// Where the escrow request of `entry` stands, as a ResultMajor (and ResultMinor).
    fn escrow_standing(&self, entry: &Entry) -> (ResultMajor, Option<ResultMinor>) {
        let Some(escrow) = &self.escrow else {
            return (ResultMajor::Receiver, Some(ResultMinor::Failure));
        };
        let standing = escrow.with(|e| {
            let (_, status) = e.request(&entry.escrow_request)?;
            Ok(match status {
                RequestStatus::Pending => match e.check_release(&entry.escrow_request) {
                    Ok(()) => ResultMajor::Success,
                    Err(EscrowError::PolicyNotSatisfied(_) | EscrowError::WaitingPeriod { .. }) => {
                        ResultMajor::Pending
                    }
                    // What release would refuse for good: a lapsed request, a deposit or policy that changed.
                    Err(
                        EscrowError::RequestExpired
                        | EscrowError::RequestClosed(_)
                        | EscrowError::Invalid { .. }
                        | EscrowError::NotFound { .. },
                    ) => ResultMajor::Sender,
                    Err(other) => return Err(other),
                },
                // Released by another server sharing the store, which answered the PendingRequest.
                RequestStatus::Released => ResultMajor::Success,
                _ => ResultMajor::Sender,
            })
        });
        match standing {
            Ok(ResultMajor::Sender) => (ResultMajor::Sender, Some(ResultMinor::Refused)),
            Ok(major) => (major, None),
            Err(_) => (ResultMajor::Receiver, Some(ResultMinor::Failure)),
        }
    }

    pub(crate) fn status_request(&self, s: &StatusRequest, _now: OffsetDateTime) -> XkmsResult {
        let request = Request::Status(s.clone());
        let Some(entry) = self.live_entry(&s.header, &s.response_id) else {
            return self.error(
                &request,
                &s.header,
                ResultMajor::Sender,
                ResultMinor::UnknownResponseId,
            );
        };
        let (major, minor) = self.escrow_standing(&entry);
        XkmsResult::Status(StatusResult {
            header: self.header(&s.header, major, minor),
            success: None,
            failure: None,
            pending: None,
        })
    }

    /// Housekeeping of pending requests, for the server to call every second or so: forgets the expired ones
    /// and hands the notifier a notification for each request with a PendingNotification whose escrow request
    /// completed (approvals in, or denied, or lapsed). Returns how many notifications the notifier took.
    ///
    /// Nothing is opened when no request waits for a notification, so that a server without them leaves the
    /// escrow database alone.
    pub fn poll_pending(&self) -> usize {
        let now = self.now();
        if self.forget_expired(now).is_none() {
            return 0;
        }
        let Some(notifier) = &self.notifier else {
            return 0;
        };
        let waiting: Vec<(String, Entry)> = self
            .pending_index(|m| {
                m.iter()
                    .filter(|(_, e)| e.notify)
                    .map(|(k, e)| (k.clone(), e.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let mut sent = 0;
        for (response_id, entry) in waiting {
            let (major, minor) = self.escrow_standing(&entry);
            if major == ResultMajor::Pending
                || (major == ResultMajor::Receiver && minor == Some(ResultMinor::Failure))
            {
                continue;
            }
            let Some(notification) = self.notification(&entry, major, minor) else {
                continue;
            };
            match notifier.notify(notification) {
                Ok(()) => {
                    sent += 1;
                    self.pending_index(|m| {
                        if let Some(e) = m.get_mut(&response_id) {
                            e.notify = false;
                        }
                    });
                }
                Err(e) => {
                    tracing::debug!(target: "kms_xkms::service", error = %e, "notification not taken; offered again later");
                }
            }
        }
        sent
    }

    /// The notification of `entry`: a StatusResult naming the original request, sent where its
    /// PendingNotification says.
    fn notification(
        &self,
        entry: &Entry,
        major: ResultMajor,
        minor: Option<ResultMinor>,
    ) -> Option<Notification> {
        let sealed = self.sealed(entry)?;
        let original = &sealed.request.header;
        let target = NotificationTarget::parse(original.pending_notification.as_ref()?)?;
        let service = original
            .message
            .service
            .clone()
            .or_else(|| self.config.service.clone());
        let mut header = ResultHeader::new(fresh_id(), service, major.clone());
        header.result_minor = minor;
        header.request_id = Some(entry.original_request_id.clone());
        let body = serialize_result(
            SoapVersion::Soap12,
            &XkmsResult::Status(StatusResult {
                header,
                success: None,
                failure: None,
                pending: None,
            }),
        );
        Some(Notification {
            target,
            request_id: entry.original_request_id.clone(),
            result_major: major,
            body,
        })
    }
}

/// The ResponseId and index entry of the record `id`, from its attributes.
fn entry_of(id: &ObjectId, a: &Attributes) -> Option<(String, Entry)> {
    let response_id = a
        .names
        .iter()
        .find_map(|n| n.value.strip_prefix(NAME_PREFIX))?
        .to_owned();
    let expires = match a.custom.get(ATTR_EXPIRES) {
        Some(AttributeValue::DateTime(t)) => *t,
        _ => return None,
    };
    Some((
        response_id,
        Entry {
            record: id.clone(),
            requester: text(a, ATTR_REQUESTER)?,
            original_request_id: text(a, ATTR_ORIGINAL_REQUEST_ID)?,
            escrow_request: RequestId::new(text(a, ATTR_ESCROW_REQUEST)?).ok()?,
            expires,
            notify: matches!(
                a.custom.get(ATTR_NOTIFY),
                Some(AttributeValue::Boolean(true))
            ),
        },
    ))
}
