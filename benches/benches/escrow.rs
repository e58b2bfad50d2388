//! Escrow: deposit and release for 3-of-5 and 11-of-20, and the Shamir split/combine through kms-escrow against
//! the raw vsss-rs calls, side by side in one run, with a table of medians and ratios at the end.
//!
//! - split/combine: `kms_escrow::split_key::{split, join}` (KMIP Create/Join Split Key, the same code escrow uses
//!   for the data key) against `vsss_rs::Gf256::{split_bytes, combine_bytes}` on a 32-byte secret;
//! - KMIP split keys end to end: Create Split Key + Join Split Key through `KmipService` (TTLV in and out, the
//!   parts and the joined key recorded) beside the same split+join as raw vsss-rs and kms-escrow calls;
//! - the floor of deposit and release: n HPKE seals (deposit) and m HPKE opens (recipient) with raw `hpke` calls,
//!   the public-key work that any design encrypting shares to agents and recipients performs;
//! - deposit: `Deposit::seal` (AES-256-GCM, split, one HPKE seal per agent) and `Escrow::deposit` (the same plus
//!   the redb transaction and the signed audit records, in-memory redb so the disk does not dominate);
//! - release: the whole flow for one request (request, m offline agent approvals, their submission, the policy
//!   check, the recipient opening the package) and `ReleasePackage::open` alone.
//!
//! `cargo bench -p kms-benches --bench escrow -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;
use hpke::{Kem as _, OpModeR, OpModeS};
use kms_benches::{RatioTable, run_case};
use kms_escrow::deposit::{Deposit, DepositInput};
use kms_escrow::p256::ecdsa::SigningKey;
use kms_escrow::zeroize::Zeroizing;
use kms_escrow::*;
use rand_core::UnwrapErr;
use vsss_rs::Gf256;

type Kem = hpke::kem::DhP256HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::AesGcm256;

fn raw_seal(pk: &<Kem as hpke::Kem>::PublicKey) -> (<Kem as hpke::Kem>::EncappedKey, Vec<u8>) {
    hpke::single_shot_seal_with_rng::<Aead, Kdf, Kem>(
        &OpModeS::Base,
        pk,
        b"info",
        &[0u8; 33],
        b"aad",
        &mut UnwrapErr(getrandom::SysRng),
    )
    .expect("seal")
}

struct AgentKeys {
    id: AgentId,
    decryption: AgentDecryptionKey,
    signing: SigningKey,
    agent: Agent,
}

fn agents(n: usize) -> Vec<AgentKeys> {
    (0..n)
        .map(|i| {
            let enc = generate_p256_secret_key().expect("key");
            let signing = SigningKey::from(&generate_p256_secret_key().expect("key"));
            let role = ["security", "legal", "management"][i % 3];
            let agent = Agent::new(
                AgentId::new(format!("agent-{i}")).expect("id"),
                format!("Agent {i}"),
                Role::new(role).expect("role"),
                AgentEncryptionKey::HpkeP256(enc.public_key()),
                ApprovalKey(*signing.verifying_key()),
            )
            .expect("agent");
            AgentKeys {
                id: agent.id.clone(),
                decryption: AgentDecryptionKey::HpkeP256(enc),
                signing,
                agent,
            }
        })
        .collect()
}

fn metadata() -> EscrowedKeyMetadata {
    EscrowedKeyMetadata {
        object_id: "bench-key".into(),
        object_type: "SymmetricKey".into(),
        algorithm: "AES-256".into(),
        is_signing_key: false,
    }
}

/// A KMIP client of an in-process KmipService: Create Split Key (AES-256, 3 of 5) then Join Split Key of three
/// parts, as TTLV messages. A fresh in-memory service every 1000 rounds keeps the store from growing.
struct SplitKeyClient {
    service: kms_kmip::service::KmipService,
    who: kms_core::Principal,
    create: Vec<u8>,
    rounds: usize,
}

impl SplitKeyClient {
    fn new() -> Self {
        use kms_kmip::message::enums::{
            CryptographicAlgorithm, CryptographicUsageMask, ObjectType, SplitKeyMethod,
        };
        use kms_kmip::message::operations::lifecycle::CreateSplitKeyRequest;
        use kms_kmip::message::{Attribute, Attributes, RequestPayload};
        let create = Self::message(RequestPayload::CreateSplitKey(CreateSplitKeyRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            split_key_parts: 5,
            split_key_threshold: 3,
            split_key_method: SplitKeyMethod::POLYNOMIAL_SHARING_GF_2_8,
            attributes: Attributes::new(vec![
                Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
                Attribute::CryptographicLength(256),
                Attribute::CryptographicUsageMask(
                    CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
                ),
            ]),
            ..Default::default()
        }));
        Self {
            service: kms_kmip::service::KmipService::in_memory().expect("service"),
            who: kms_core::Principal::new("bench").expect("principal"),
            create,
            rounds: 0,
        }
    }

    fn message(payload: kms_kmip::message::RequestPayload) -> Vec<u8> {
        kms_kmip::message::RequestMessage {
            header: kms_kmip::message::RequestHeader {
                protocol_version: kms_kmip::tags::Version::V2_1.into(),
                batch_count: 1,
                ..Default::default()
            },
            batch_items: vec![kms_kmip::message::RequestBatchItem::new(payload).expect("item")],
        }
        .to_bytes()
        .expect("encode")
    }

    fn payload(response: &[u8]) -> kms_kmip::message::ResponsePayload {
        let mut r = kms_kmip::message::ResponseMessage::from_bytes(response).expect("decode");
        r.batch_items
            .pop()
            .and_then(|i| i.payload)
            .expect("a successful answer")
    }

    fn create_and_join(&mut self) {
        use kms_kmip::message::ResponsePayload;
        use kms_kmip::message::enums::ObjectType;
        use kms_kmip::message::operations::lifecycle::JoinSplitKeyRequest;
        self.rounds += 1;
        if self.rounds.is_multiple_of(1000) {
            self.service = kms_kmip::service::KmipService::in_memory().expect("service");
        }
        let ResponsePayload::CreateSplitKey(parts) =
            Self::payload(&self.service.handle_ttlv(&self.who, &self.create))
        else {
            panic!("Create Split Key failed")
        };
        let join = Self::message(kms_kmip::message::RequestPayload::JoinSplitKey(
            JoinSplitKeyRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                unique_identifiers: parts.unique_identifiers[1..4].to_vec(),
                ..Default::default()
            },
        ));
        let ResponsePayload::JoinSplitKey(joined) =
            Self::payload(&self.service.handle_ttlv(&self.who, &join))
        else {
            panic!("Join Split Key failed")
        };
        black_box(joined);
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let table = RatioTable::default();
    let secret = [0x5au8; 32];
    let mut order = 0;

    for (m, n) in [(3u8, 5u8), (11, 20)] {
        let (mu, nu) = (usize::from(m), usize::from(n));
        order += 1;
        run_case(
            &mut c,
            &table,
            order,
            &format!("split 32 B {m}-of-{n}"),
            Some(100),
            vec![
                (
                    "raw vsss-rs Gf256::split_bytes",
                    Box::new(|| {
                        black_box(
                            Gf256::split_bytes(
                                mu,
                                nu,
                                black_box(&secret),
                                UnwrapErr(getrandom::SysRng),
                            )
                            .expect("split"),
                        );
                    }),
                ),
                (
                    "kms-escrow split_key::split",
                    Box::new(|| {
                        black_box(
                            split_key::split(black_box(&secret), u32::from(m), u32::from(n))
                                .expect("split"),
                        );
                    }),
                ),
            ],
        );
        let raw_shares =
            Gf256::split_bytes(mu, nu, secret, UnwrapErr(getrandom::SysRng)).expect("split");
        let parts = split_key::split(&secret, u32::from(m), u32::from(n)).expect("split");
        order += 1;
        run_case(
            &mut c,
            &table,
            order,
            &format!("combine 32 B {m}-of-{n}"),
            Some(100),
            vec![
                (
                    "raw vsss-rs Gf256::combine_bytes",
                    Box::new(|| {
                        black_box(
                            Gf256::combine_bytes(black_box(&raw_shares[..mu])).expect("combine"),
                        );
                    }),
                ),
                (
                    "kms-escrow split_key::join",
                    Box::new(|| {
                        black_box(split_key::join(black_box(&parts[..mu])).expect("join"));
                    }),
                ),
            ],
        );
    }

    // KMIP Create Split Key + Join Split Key through KmipService (TTLV both ways, five parts and the joined key
    // recorded in an in-memory store) against the arithmetic alone, which is all the escrow code adds.
    let mut kmip = SplitKeyClient::new();
    order += 1;
    run_case(
        &mut c,
        &table,
        order,
        "KMIP create+join split key 32 B 3-of-5",
        Some(20),
        vec![
            (
                "raw vsss-rs split_bytes+combine_bytes",
                Box::new(|| {
                    let shares =
                        Gf256::split_bytes(3, 5, black_box(&secret), UnwrapErr(getrandom::SysRng))
                            .expect("split");
                    black_box(Gf256::combine_bytes(&shares[..3]).expect("combine"));
                }),
            ),
            (
                "kms-escrow split_key::split+join",
                Box::new(|| {
                    let parts = split_key::split(black_box(&secret), 3, 5).expect("split");
                    black_box(split_key::join(&parts[..3]).expect("join"));
                }),
            ),
            (
                "KmipService Create+Join Split Key",
                Box::new(move || kmip.create_and_join()),
            ),
        ],
    );

    for (m, n) in [(3u8, 5usize), (11, 20)] {
        let keys = agents(n);
        let clock = Arc::new(ManualClock::new(1_800_000_000));
        let escrow = Escrow::in_memory(
            SigningKey::from(&generate_p256_secret_key().expect("key")),
            clock.clone(),
        )
        .expect("escrow");
        for k in &keys {
            escrow.add_agent("admin", k.agent.clone()).expect("agent");
        }
        let policy = EscrowPolicy::new(m, keys.iter().map(|k| k.id.clone()).collect());
        let agent_records: Vec<Agent> = keys.iter().map(|k| k.agent.clone()).collect();
        let hpke_keys: Vec<_> = (0..n)
            .map(|_| Kem::gen_keypair_with_rng(&mut UnwrapErr(getrandom::SysRng)))
            .collect();
        let hpke_pks: Vec<_> = hpke_keys.iter().map(|k| k.1.clone()).collect();
        let sealed: Vec<_> = hpke_pks[..usize::from(m)].iter().map(raw_seal).collect();
        let material = Zeroizing::new(vec![7u8; 32]);
        order += 1;
        run_case(
            &mut c,
            &table,
            order,
            &format!("deposit {m}-of-{n}"),
            Some(20),
            vec![
                (
                    "floor: n x raw hpke seal",
                    Box::new(|| {
                        for pk in &hpke_pks {
                            black_box(raw_seal(pk));
                        }
                    }),
                ),
                (
                    "Deposit::seal (crypto only)",
                    Box::new(|| {
                        black_box(
                            Deposit::seal(
                                DepositInput {
                                    id: DepositId::generate(),
                                    depositor: "bench",
                                    created_at: 1_800_000_000,
                                    metadata: metadata(),
                                    material: &material,
                                    policy: policy.clone(),
                                },
                                &agent_records,
                            )
                            .expect("seal"),
                        );
                    }),
                ),
                (
                    "Escrow::deposit (+redb, audit)",
                    Box::new(|| {
                        black_box(
                            escrow
                                .deposit("bench", metadata(), &material, policy.clone())
                                .expect("deposit"),
                        );
                    }),
                ),
            ],
        );

        let deposit = escrow
            .deposit("bench", metadata(), &material, policy.clone())
            .expect("deposit");
        let recipient = generate_p256_secret_key().expect("key");
        let release_once = || {
            let request = escrow
                .request_release(
                    "requester",
                    &deposit,
                    RecipientKey(recipient.public_key()),
                    "audit",
                    "Benchmark of the release flow.",
                )
                .expect("request");
            let package = escrow.request_package(&request.id).expect("package");
            for k in &keys[..usize::from(m)] {
                let me = AgentCredentials {
                    agent_id: k.id.clone(),
                    decryption_key: &k.decryption,
                    signer: &k.signing,
                };
                escrow
                    .submit_approval(&approve(&package, &me, clock.now()).expect("approve"))
                    .expect("submit");
            }
            escrow.release("requester", &request.id).expect("release")
        };
        let released = release_once();
        assert_eq!(
            released.open(&recipient).expect("open").material(),
            &material
        );
        order += 1;
        run_case(
            &mut c,
            &table,
            order,
            &format!("release {m}-of-{n}"),
            Some(10),
            vec![
                (
                    "floor: m x raw hpke open",
                    Box::new(|| {
                        for ((sk, _), (enc, ct)) in hpke_keys.iter().zip(&sealed) {
                            black_box(
                                hpke::single_shot_open::<Aead, Kdf, Kem>(
                                    &OpModeR::Base,
                                    sk,
                                    enc,
                                    b"info",
                                    ct,
                                    b"aad",
                                )
                                .expect("open"),
                            );
                        }
                    }),
                ),
                (
                    "ReleasePackage::open (recipient)",
                    Box::new(|| {
                        black_box(released.open(&recipient).expect("open"));
                    }),
                ),
                (
                    "request+approvals+release+open",
                    Box::new(|| {
                        black_box(release_once().open(&recipient).expect("open"));
                    }),
                ),
            ],
        );
    }

    c.final_summary();
    table.print();
}
