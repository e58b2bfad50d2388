//! The lifecycle State of a managed object and KMIP's transition rules, in one place.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// KMIP State (KMIP 2.1 §4.57), with the specification's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u32)]
pub enum State {
    /// Exists, not yet usable for cryptographic operations.
    PreActive = 1,
    /// Usable to apply and to process cryptographic protection.
    Active = 2,
    /// No longer applies protection; may still process it (decrypt, verify).
    Deactivated = 3,
    /// Believed compromised; may only process protection, with care.
    Compromised = 4,
    /// Key material destroyed; metadata kept.
    Destroyed = 5,
    /// Destroyed and known to have been compromised.
    DestroyedCompromised = 6,
}

/// What moves an object between states (KMIP 2.1 §4.57, the transitions of the State attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LifecycleEvent {
    /// The Activate operation, or the Activation Date being reached.
    Activate,
    /// Revoke with a reason other than a compromise, or the Deactivation Date being reached.
    Deactivate,
    /// Revoke with Key Compromise or CA Compromise.
    Compromise,
    /// The Destroy operation.
    Destroy,
}

/// The two ways a key is used, which the states allow differently (KMIP: "protect" and "process").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Apply protection: encrypt, sign, MAC, wrap.
    Protect,
    /// Process protection already applied: decrypt, verify, MAC verify, unwrap.
    Process,
}

impl State {
    /// Every state, in the specification's order.
    pub const ALL: [State; 6] = [
        State::PreActive,
        State::Active,
        State::Deactivated,
        State::Compromised,
        State::Destroyed,
        State::DestroyedCompromised,
    ];

    /// The state `event` leads to from `self`.
    ///
    /// # Errors
    /// [`Error::WrongKeyLifecycleState`] when the specification has no such transition (e.g. Destroy of an Active
    /// key: it must be revoked first).
    pub fn apply(self, event: LifecycleEvent) -> Result<State, Error> {
        use LifecycleEvent as E;
        use State as S;
        match (self, event) {
            (S::PreActive, E::Activate) => Ok(S::Active),
            (S::PreActive | S::Active, E::Deactivate) => Ok(S::Deactivated),
            (S::PreActive | S::Active | S::Deactivated, E::Compromise) => Ok(S::Compromised),
            (S::PreActive | S::Deactivated, E::Destroy) => Ok(S::Destroyed),
            (S::Compromised, E::Destroy) | (S::Destroyed, E::Compromise) => {
                Ok(S::DestroyedCompromised)
            }
            (state, _) => Err(Error::WrongKeyLifecycleState(state)),
        }
    }

    /// Whether an object in this state may be used for `purpose`.
    #[must_use]
    pub fn permits(self, purpose: Purpose) -> bool {
        match purpose {
            Purpose::Protect => self == State::Active,
            Purpose::Process => matches!(
                self,
                State::Active | State::Deactivated | State::Compromised
            ),
        }
    }

    /// Whether the key material still exists.
    #[must_use]
    pub fn has_key_material(self) -> bool {
        !matches!(self, State::Destroyed | State::DestroyedCompromised)
    }
}
