//! The lifecycle through the KeyManager against an independent model of KMIP 2.1's State transitions (§4.57):
//! random operation sequences (proptest), and every (state, operation) pair exhaustively.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kms_core::backend::CipherParams;
use kms_core::manager::{ExportedKey, GetRequest};
use kms_core::object::{RevocationReason, RevocationReasonCode};
use kms_core::{Error, ObjectId, ObjectType, State};
use proptest::prelude::*;

#[derive(Clone, Copy, Debug)]
enum Op {
    Activate,
    Revoke(RevocationReasonCode),
    Destroy,
    Encrypt,
    Decrypt,
    Get,
}

const REASONS: [RevocationReasonCode; 7] = [
    RevocationReasonCode::Unspecified,
    RevocationReasonCode::KeyCompromise,
    RevocationReasonCode::CaCompromise,
    RevocationReasonCode::AffiliationChanged,
    RevocationReasonCode::Superseded,
    RevocationReasonCode::CessationOfOperation,
    RevocationReasonCode::PrivilegeWithdrawn,
];

/// What the specification says, written out without kms-core's table: the next state, or None when the
/// operation must fail with Wrong Key Lifecycle State (or Object Destroyed, for Get once destroyed).
fn model(state: State, op: Op) -> Option<State> {
    use State::*;
    match op {
        Op::Activate => (state == PreActive).then_some(Active),
        Op::Revoke(code) => {
            let compromise = matches!(
                code,
                RevocationReasonCode::KeyCompromise | RevocationReasonCode::CaCompromise
            );
            match (state, compromise) {
                (PreActive | Active, false) => Some(Deactivated),
                (PreActive | Active | Deactivated, true) => Some(Compromised),
                (Destroyed, true) => Some(DestroyedCompromised),
                _ => None,
            }
        }
        Op::Destroy => match state {
            PreActive | Deactivated => Some(Destroyed),
            Compromised => Some(DestroyedCompromised),
            _ => None,
        },
        // Protect: Active only. Process: Active, Deactivated, Compromised.
        Op::Encrypt => (state == Active).then_some(state),
        Op::Decrypt => matches!(state, Active | Deactivated | Compromised).then_some(state),
        Op::Get => (!matches!(state, Destroyed | DestroyedCompromised)).then_some(state),
    }
}

struct Subject {
    f: Fixture,
    id: ObjectId,
    sealed: (Vec<u8>, Vec<u8>, Vec<u8>),
}

/// A Pre-Active AES key, and a ciphertext made under the same key value by a twin object that stays Active.
fn subject() -> Subject {
    let f = fixture();
    let key = [0x42u8; 32];
    let id = f
        .manager
        .register(&alice(), ObjectType::SymmetricKey, raw(&key), aes(256))
        .unwrap();
    let mut twin_attributes = aes(256);
    twin_attributes.activation_date = Some(t0());
    let twin = f
        .manager
        .register(
            &alice(),
            ObjectType::SymmetricKey,
            raw(&key),
            twin_attributes,
        )
        .unwrap();
    let ct = f
        .manager
        .encrypt(
            &alice(),
            &twin,
            &CipherParams::AesGcm {
                iv: None,
                aad: b"",
                tag_len: 16,
            },
            b"plaintext",
        )
        .unwrap();
    Subject {
        f,
        id,
        sealed: (ct.data, ct.iv.unwrap().to_vec(), ct.tag.unwrap().to_vec()),
    }
}

fn run(s: &Subject, op: Op) -> Result<(), Error> {
    let m = &s.f.manager;
    let who = alice();
    match op {
        Op::Activate => m.activate(&who, &s.id),
        Op::Revoke(code) => m.revoke(
            &who,
            &s.id,
            RevocationReason {
                code,
                message: None,
            },
            None,
        ),
        Op::Destroy => m.destroy(&who, &s.id),
        Op::Encrypt => m
            .encrypt(
                &who,
                &s.id,
                &CipherParams::AesGcm {
                    iv: None,
                    aad: b"",
                    tag_len: 16,
                },
                b"x",
            )
            .map(|_| ()),
        Op::Decrypt => {
            let (data, iv, tag) = &s.sealed;
            let pt = m.decrypt(
                &who,
                &s.id,
                &CipherParams::AesGcm {
                    iv: Some(iv),
                    aad: b"",
                    tag_len: 16,
                },
                data,
                Some(tag),
            )?;
            assert_eq!(&pt[..], b"plaintext");
            Ok(())
        }
        Op::Get => match m.get(&who, &s.id, &GetRequest::default())?.key {
            ExportedKey::Plain(k) => {
                assert_eq!(k.bytes(), &[0x42u8; 32]);
                Ok(())
            }
            ExportedKey::Wrapped { .. } => panic!("asked for plaintext"),
        },
    }
}

/// Applies `op` and checks the result, the new state, the dates and the record version against the model.
fn step(s: &Subject, state: State, op: Op) -> State {
    let before = s.f.stored(&s.id);
    assert_eq!(before.metadata.state, state);
    let result = run(s, op);
    let after = s.f.stored(&s.id);
    match model(state, op) {
        Some(next) => {
            assert!(
                result.is_ok(),
                "{state:?} --{op:?}--> must succeed, got {result:?}"
            );
            assert_eq!(after.metadata.state, next, "{state:?} --{op:?}");
            let changes = next != state;
            // The first Get also writes: it turns Fresh false.
            let served = matches!(op, Op::Get) && before.metadata.attributes.fresh == Some(true);
            assert_eq!(
                after.version,
                before.version + u64::from(changes || served),
                "{state:?} --{op:?}: version"
            );
            let a = &after.metadata.attributes;
            match next {
                State::Active if changes => assert!(a.activation_date.is_some()),
                State::Deactivated if changes => {
                    assert!(a.deactivation_date.is_some() && a.revocation_reason.is_some())
                }
                State::Compromised | State::DestroyedCompromised
                    if changes && matches!(op, Op::Revoke(_)) =>
                {
                    assert!(a.compromise_date.is_some() && a.compromise_occurrence_date.is_some());
                }
                State::Destroyed | State::DestroyedCompromised if matches!(op, Op::Destroy) => {
                    assert!(a.destroy_date.is_some());
                    assert!(after.key.is_none());
                }
                _ => {}
            }
            next
        }
        None => {
            let expected_ok = match (&result, op) {
                (Err(Error::ObjectDestroyed), Op::Get) => true,
                (Err(Error::WrongKeyLifecycleState(s)), _) => *s == state,
                _ => false,
            };
            assert!(
                expected_ok,
                "{state:?} --{op:?}--> must fail, got {result:?}"
            );
            assert_eq!(after, before, "a refused {op:?} changed the record");
            state
        }
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Activate),
        (0..REASONS.len()).prop_map(|i| Op::Revoke(REASONS[i])),
        Just(Op::Destroy),
        Just(Op::Encrypt),
        Just(Op::Decrypt),
        Just(Op::Get),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_follow_the_kmip_table(ops in proptest::collection::vec(op_strategy(), 1..16)) {
        let s = subject();
        let mut state = State::PreActive;
        for op in ops {
            state = step(&s, state, op);
        }
    }
}

/// Paths from Pre-Active to each state.
fn path_to(target: State) -> Vec<Op> {
    use RevocationReasonCode as R;
    match target {
        State::PreActive => vec![],
        State::Active => vec![Op::Activate],
        State::Deactivated => vec![Op::Activate, Op::Revoke(R::Superseded)],
        State::Compromised => vec![Op::Revoke(R::KeyCompromise)],
        State::Destroyed => vec![Op::Destroy],
        State::DestroyedCompromised => vec![Op::Destroy, Op::Revoke(R::CaCompromise)],
    }
}

#[test]
fn every_state_and_operation_pair() {
    let ops = [
        Op::Activate,
        Op::Revoke(RevocationReasonCode::Unspecified),
        Op::Revoke(RevocationReasonCode::KeyCompromise),
        Op::Destroy,
        Op::Encrypt,
        Op::Decrypt,
        Op::Get,
    ];
    let mut allowed = 0;
    for target in State::ALL {
        for op in ops {
            let s = subject();
            let mut state = State::PreActive;
            for p in path_to(target) {
                state = step(&s, state, p);
            }
            assert_eq!(state, target);
            if model(state, op).is_some() {
                allowed += 1;
            }
            step(&s, state, op);
        }
    }
    // 6 states x 7 operations; the table allows 18 of them (transitions and uses together).
    assert_eq!(allowed, 18);
}
