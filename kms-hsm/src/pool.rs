//! A pool of logged-in sessions, so that concurrent callers do not serialise on one session.
//!
//! A cryptoki [`Session`] is `Send + !Sync` (PKCS#11 §5.6: one thread at a time per session), so each call takes a
//! session out of the pool for its duration. Sessions are opened lazily up to the configured maximum; beyond it
//! callers wait. Errors that say the session or the login is gone are recovered here, once per call: a dead
//! session is dropped and the call runs again on a fresh one; a lost login is restored; a token that went away
//! empties the pool and the call is tried once more.

use std::time::Duration;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use kms_core::backend::BackendError;
use parking_lot::{Condvar, Mutex};
use secrecy::SecretString;

use crate::error::{self, Recovery};

struct State {
    idle: Vec<Session>,
    /// Sessions open: idle plus lent out.
    open: usize,
}

pub(crate) struct SessionPool {
    ctx: Pkcs11,
    slot: Slot,
    pin: SecretString,
    max: usize,
    wait: Duration,
    state: Mutex<State>,
    returned: Condvar,
}

impl SessionPool {
    pub(crate) fn new(
        ctx: Pkcs11,
        slot: Slot,
        pin: SecretString,
        max: usize,
        wait: Duration,
    ) -> Self {
        Self {
            ctx,
            slot,
            pin,
            max: max.clamp(1, crate::Pkcs11Config::MAX_SESSIONS_LIMIT),
            wait,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    pub(crate) fn context(&self) -> &Pkcs11 {
        &self.ctx
    }

    pub(crate) fn slot(&self) -> Slot {
        self.slot
    }

    /// Opens a read-write session and makes sure the application is logged in as the user (the login state is
    /// per application and token, shared by all its sessions: PKCS#11 §5.6).
    pub(crate) fn open_logged_in(&self) -> Result<Session, CkError> {
        let session = self.ctx.open_rw_session(self.slot)?;
        self.login(&session)?;
        Ok(session)
    }

    fn login(&self, session: &Session) -> Result<(), CkError> {
        if session.get_session_info()?.session_state() == SessionState::RwUser {
            return Ok(());
        }
        match session.login(UserType::User, Some(&self.pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Takes an idle session or opens one, waiting while `max` are lent out.
    fn take(&self) -> Result<Session, BackendError> {
        let mut state = self.state.lock();
        loop {
            if let Some(s) = state.idle.pop() {
                return Ok(s);
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return self.open_logged_in().map_err(|e| {
                    self.state.lock().open -= 1;
                    self.returned.notify_one();
                    error::map("opening a session", e)
                });
            }
            if self.returned.wait_for(&mut state, self.wait).timed_out() {
                return Err(BackendError::Device {
                    message: format!(
                        "no PKCS#11 session free after {:?} ({} in use)",
                        self.wait, self.max
                    ),
                    retryable: true,
                    source: None,
                });
            }
        }
    }

    /// Puts a session opened with [`SessionPool::open_logged_in`] into the pool.
    pub(crate) fn adopt(&self, session: Session) {
        let mut state = self.state.lock();
        state.open += 1;
        state.idle.push(session);
    }

    fn give_back(&self, session: Session) {
        self.state.lock().idle.push(session);
        self.returned.notify_one();
    }

    fn discard(&self, session: Session) {
        // Closing a session the token already forgot fails harmlessly; cryptoki logs and ignores it on drop.
        drop(session);
        self.state.lock().open -= 1;
        self.returned.notify_one();
    }

    fn discard_idle(&self) {
        let idle = {
            let mut state = self.state.lock();
            state.open -= state.idle.len();
            std::mem::take(&mut state.idle)
        };
        drop(idle);
        self.returned.notify_all();
    }

    /// Runs `f` on a pooled session, recovering once from a lost session, login or token.
    pub(crate) fn with<T>(
        &self,
        what: &'static str,
        mut f: impl FnMut(&Session) -> Result<T, CkError>,
    ) -> Result<T, BackendError> {
        let mut session = self.take()?;
        let first = f(&session);
        let err = match first {
            Ok(v) => {
                self.give_back(session);
                return Ok(v);
            }
            Err(e) => e,
        };
        match error::recovery(&err) {
            Recovery::None => {
                self.give_back(session);
                return Err(error::map(what, err));
            }
            Recovery::Login => {
                tracing::warn!(target: "kms_hsm", what, "PKCS#11 login lost; logging in again");
                if let Err(e) = self.login(&session) {
                    self.discard(session);
                    return Err(error::map("logging in again", e));
                }
            }
            Recovery::NewSession => {
                tracing::warn!(target: "kms_hsm", what, error = %err, "PKCS#11 session lost; opening another");
                self.discard(session);
                session = self.take()?;
            }
            Recovery::Reconnect => {
                tracing::warn!(target: "kms_hsm", what, error = %err, "PKCS#11 token error; reopening sessions");
                self.discard(session);
                self.discard_idle();
                session = self.take()?;
            }
        }
        let second = f(&session);
        match second {
            Ok(v) => {
                self.give_back(session);
                Ok(v)
            }
            Err(e) => {
                if error::recovery(&e) == Recovery::None {
                    self.give_back(session);
                } else {
                    self.discard(session);
                }
                Err(error::map(what, e))
            }
        }
    }
}
