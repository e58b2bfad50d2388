//! Asynchronous processing (section 3.3): Recover of an escrowed key answers Pending while the escrow agents
//! decide; PendingRequest returns the RecoverResult once the escrow releases the key, StatusRequest says
//! where it stands.

use std::collections::HashMap;
use std::sync::Arc;

use kms_core::{KeyManager, ObjectId, Principal};
use kms_escrow::files::EscrowDir;
use kms_escrow::{
    DepositId, Escrow, EscrowError, EscrowPolicy, RecipientKey, RequestId, RequestStatus,
    SystemClock,
};
use parking_lot::Mutex;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::XkmsService;
use super::kiss::Found;
use crate::messages::{
    KeyBindingPrivateKeyResult, PendingRequest, RecoverRequest, Request, RequestHeader,
    ResultMajor, ResultMinor, StatusRequest, StatusResult, XkmsResult,
};

/// Most recoveries waiting at once.
const MAX_PENDING: usize = 10_000;
/// The purpose recorded in escrow release requests.
pub const RECOVER_PURPOSE: &str = "xkms-recover";

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
}

impl EscrowSettings {
    /// Settings depositing under `policy` into `source`.
    #[must_use]
    pub fn new(source: EscrowSource, policy: EscrowPolicy) -> Self {
        Self { source, policy }
    }

    fn with<T>(&self, f: impl FnOnce(&Escrow) -> Result<T, EscrowError>) -> Result<T, EscrowError> {
        match &self.source {
            EscrowSource::Shared(e) => f(e),
            EscrowSource::Dir(d) => f(&d.open(Arc::new(SystemClock))?),
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

/// A recovery waiting for the escrow agents.
struct PendingRecovery {
    original_request_id: String,
    request: RecoverRequest,
    found_id: ObjectId,
    name: String,
    escrow_request: RequestId,
    recipient: p256::SecretKey,
    kek: Zeroizing<Vec<u8>>,
}

/// The recoveries waiting, by the Id of their Pending result.
#[derive(Default)]
pub(crate) struct PendingTable(Mutex<HashMap<String, PendingRecovery>>);

impl XkmsService {
    pub(crate) fn start_escrow_recovery(
        &self,
        response_id: &str,
        deposit: &str,
        name: &str,
        r: &RecoverRequest,
        target: &Found,
        kek: Zeroizing<Vec<u8>>,
    ) -> Result<(), (ResultMajor, ResultMinor)> {
        let receiver = (ResultMajor::Receiver, ResultMinor::Failure);
        let escrow = self.escrow.as_ref().ok_or(receiver.clone())?;
        if self.pending.0.lock().len() >= MAX_PENDING {
            return Err(receiver);
        }
        let deposit = DepositId::new(deposit).map_err(|_| receiver.clone())?;
        let recipient = kms_escrow::generate_p256_secret_key().map_err(|_| receiver.clone())?;
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
                receiver.clone()
            })?;
        tracing::info!(target: "kms_xkms::service", request = %release.id, key = %target.id, "recovery waits for escrow approvals");
        self.pending.0.lock().insert(
            response_id.to_owned(),
            PendingRecovery {
                original_request_id: r.header.message.id.clone(),
                request: r.clone(),
                found_id: target.id.clone(),
                name: name.to_owned(),
                escrow_request: release.id,
                recipient,
                kek,
            },
        );
        Ok(())
    }

    pub(crate) fn pending_request(&self, p: &PendingRequest, _now: OffsetDateTime) -> XkmsResult {
        let request = Request::Pending(p.clone());
        let mut table = self.pending.0.lock();
        let Some(entry) = table.get(&p.response_id) else {
            return self.error(
                &request,
                &p.header,
                ResultMajor::Sender,
                ResultMinor::UnknownResponseId,
            );
        };
        if p.header
            .original_request_id
            .as_ref()
            .is_some_and(|o| *o != entry.original_request_id)
        {
            return self.error(
                &request,
                &p.header,
                ResultMajor::Sender,
                ResultMinor::UnknownResponseId,
            );
        }
        let Some(escrow) = &self.escrow else {
            return self.error(
                &request,
                &p.header,
                ResultMajor::Receiver,
                ResultMinor::Failure,
            );
        };
        let released = escrow.with(|e| e.release(&entry.name, &entry.escrow_request));
        let package = match released {
            Ok(p) => p,
            Err(EscrowError::PolicyNotSatisfied(_) | EscrowError::WaitingPeriod { .. }) => {
                return XkmsResult::Result(self.header(&p.header, ResultMajor::Pending, None));
            }
            Err(e) => {
                tracing::info!(target: "kms_xkms::service", error = %e, "escrow did not release");
                table.remove(&p.response_id);
                return self.error(
                    &request,
                    &p.header,
                    ResultMajor::Sender,
                    ResultMinor::Refused,
                );
            }
        };
        let Some(entry) = table.remove(&p.response_id) else {
            return self.error(
                &request,
                &p.header,
                ResultMajor::Sender,
                ResultMinor::UnknownResponseId,
            );
        };
        drop(table);
        let result = (|| {
            let key = package
                .open(&entry.recipient)
                .map_err(|_| (ResultMajor::Receiver, ResultMinor::Failure))?;
            let private_key = self.encrypt_pkcs8(key.material(), &entry.kek)?;
            let found = self.found(&entry.found_id)?;
            Ok::<_, (ResultMajor, ResultMinor)>((private_key, found))
        })();
        // The answer is to the original RecoverRequest (section 3.3.2).
        let original: &RequestHeader = &entry.request.header;
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
            Err((major, minor)) => self.error(&request, &p.header, major, minor),
        }
    }

    pub(crate) fn status_request(&self, s: &StatusRequest, _now: OffsetDateTime) -> XkmsResult {
        let request = Request::Status(s.clone());
        let entry = self
            .pending
            .0
            .lock()
            .get(&s.response_id)
            .map(|e| e.escrow_request.clone());
        let (Some(escrow_request), Some(escrow)) = (entry, &self.escrow) else {
            return self.error(
                &request,
                &s.header,
                ResultMajor::Sender,
                ResultMinor::UnknownResponseId,
            );
        };
        let major = match escrow.with(|e| e.request(&escrow_request)) {
            Ok((_, RequestStatus::Pending)) => ResultMajor::Pending,
            Ok((_, RequestStatus::Released)) => ResultMajor::Success,
            Ok(_) => ResultMajor::Sender,
            Err(_) => ResultMajor::Receiver,
        };
        let minor = match major {
            ResultMajor::Sender => Some(ResultMinor::Refused),
            ResultMajor::Receiver => Some(ResultMinor::Failure),
            _ => None,
        };
        XkmsResult::Status(StatusResult {
            header: self.header(&s.header, major, minor),
            success: None,
            failure: None,
            pending: None,
        })
    }
}
