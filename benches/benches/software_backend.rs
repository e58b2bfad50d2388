//! The software backend against the raw RustCrypto call on the same key and input, side by side in one run:
//! AES-256-GCM encrypt (64 B, 4 KiB), HMAC-SHA256 (64 B), ECDSA P-256 sign, RSA-2048 PSS sign.
//!
//! Each case is a criterion group with one function per column; then the columns run interleaved for a while
//! and a table gives each column's median time per operation and its ratio to the raw call (see `Recorder`). A column is one more `(name, closure)` entry in a
//! case. The KeyManager column runs the same operation through `KeyManager` (MemoryStore, the same backend, the
//! default tracing audit sink): access check, lifecycle and usage-mask checks, one audit event per call.
//!
//! `cargo bench -p kms-benches --bench software_backend -- --warm-up-time 1 --measurement-time 3`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit};
use criterion::{Criterion, Throughput};
use hmac::Mac as _;
use kms_core::backend::{
    CipherParams, HashingAlgorithm, KeyBackend, KeyPolicy, SignInput, SignatureAlgorithm,
};
use kms_core::object::{CryptographicAlgorithm, ObjectId, UsageMask};
use kms_core::{
    Attributes, KeyFormat, KeyManager, KeyMaterial, KeyRef, MemoryStore, ObjectType, Principal,
    SoftwareBackend,
};
use rsa::pkcs8::EncodePrivateKey;
use signature::Signer as _;
use zeroize::Zeroizing;

/// The reference column every other column is compared with.
const RAW: &str = "raw RustCrypto";
/// The software backend, called through its capability traits as the KeyManager calls it.
const BACKEND: &str = "SoftwareBackend";
/// The same operation through the KeyManager over the SoftwareBackend.
const MANAGER: &str = "KeyManager";

/// Registers `bytes` through the manager as an Active, non-extractable object owned by `who`.
fn register(
    manager: &KeyManager,
    who: &Principal,
    object_type: ObjectType,
    algorithm: CryptographicAlgorithm,
    format: KeyFormat,
    bytes: &[u8],
) -> ObjectId {
    let mut attributes = Attributes::default();
    attributes.cryptographic_algorithm = Some(algorithm);
    attributes.extractable = false;
    let id = manager
        .register(
            who,
            object_type,
            KeyMaterial::new(format, Zeroizing::new(bytes.to_vec())),
            attributes,
        )
        .expect("register the bench key");
    manager.activate(who, &id).expect("activate the bench key");
    id
}

/// How long each case runs its columns interleaved after criterion's own (sequential) measurement.
const INTERLEAVED: Duration = Duration::from_millis(1500);
/// Fewest interleaved rounds per case, however long they take.
const MIN_ROUNDS: u32 = 200;
/// Target length of one interleaved batch of one column.
const BATCH: Duration = Duration::from_micros(300);

/// Per-iteration times of each column of one case, one entry per interleaved round.
type ColumnTimes = BTreeMap<&'static str, Vec<f64>>;

/// Per-iteration times of every (case, column), one entry per interleaved round.
///
/// Criterion measures one column after the other; on a shared machine the load changes between them and skews
/// their ratio. The table therefore comes from rounds in which every column runs one short batch (A B C A B C
/// ...): a load change hits all columns of a round alike, and the ratio is the median of the per-round ratios.
#[derive(Default)]
struct Recorder {
    rounds: Mutex<BTreeMap<(usize, String), ColumnTimes>>,
}

impl Recorder {
    fn record(&self, order: usize, case: &str, column: &'static str, total: Duration, iters: u64) {
        let per_iter = total.as_secs_f64() / iters.max(1) as f64;
        self.rounds
            .lock()
            .expect("recorder lock")
            .entry((order, case.to_owned()))
            .or_default()
            .entry(column)
            .or_default()
            .push(per_iter);
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }

    /// The table: one row per case, per column the median time and the median per-round ratio to [`RAW`].
    fn print(&self, columns: &[&'static str]) {
        let rounds = self.rounds.lock().expect("recorder lock");
        let mut header = format!("{:<28}", "operation");
        for c in columns {
            header.push_str(&format!(" | {c:>16}"));
            if *c != RAW {
                header.push_str(&format!(" | {:>8}", "ratio"));
            }
        }
        println!("\n{header}\n{}", "-".repeat(header.len()));
        for ((_, case), times) in rounds.iter() {
            let mut line = format!("{case:<28}");
            let raw = times.get(RAW);
            for c in columns {
                match times.get(c) {
                    Some(t) => {
                        line.push_str(&format!(" | {:>16}", human(Self::median(t.clone()))));
                        if *c != RAW {
                            let ratio = raw.map_or(String::from("-"), |r| {
                                let per_round = t.iter().zip(r).map(|(x, y)| x / y).collect();
                                format!("{:.3}", Self::median(per_round))
                            });
                            line.push_str(&format!(" | {ratio:>8}"));
                        }
                    }
                    None => {
                        line.push_str(&format!(" | {:>16}", "-"));
                        if *c != RAW {
                            line.push_str(&format!(" | {:>8}", "-"));
                        }
                    }
                }
            }
            println!("{line}");
        }
        println!(
            "(interleaved rounds of {} ms batches, for {} s and at least {MIN_ROUNDS} rounds per case: median time \
             per operation, and median of the per-round ratios column / {RAW})\n",
            BATCH.as_secs_f64() * 1e3,
            INTERLEAVED.as_secs_f64()
        );
    }
}

fn human(secs: f64) -> String {
    if secs >= 1e-3 {
        format!("{:.3} ms", secs * 1e3)
    } else if secs >= 1e-6 {
        format!("{:.3} µs", secs * 1e6)
    } else {
        format!("{:.1} ns", secs * 1e9)
    }
}

/// One operation under each column's implementation.
type Column<'a> = (&'static str, Box<dyn FnMut() + 'a>);

fn bench_case(
    c: &mut Criterion,
    rec: &Recorder,
    order: usize,
    case: &str,
    bytes: Option<u64>,
    mut columns: Vec<Column<'_>>,
) {
    let mut group = c.benchmark_group(case);
    if let Some(n) = bytes {
        group.throughput(Throughput::Bytes(n));
    }
    for (name, op) in columns.iter_mut() {
        group.bench_function(*name, |b| b.iter(&mut *op));
    }
    group.finish();

    // The interleaved rounds of the table (see `Recorder`).
    let batches: Vec<u64> = columns
        .iter_mut()
        .map(|(_, op)| {
            let start = Instant::now();
            op();
            let one = start.elapsed().as_secs_f64().max(1e-9);
            (BATCH.as_secs_f64() / one).clamp(1.0, 1e6) as u64
        })
        .collect();
    let end = Instant::now() + INTERLEAVED;
    let mut rounds = 0;
    // Slow operations (RSA) get enough rounds for a stable median too.
    while Instant::now() < end || rounds < MIN_ROUNDS {
        rounds += 1;
        for ((name, op), &n) in columns.iter_mut().zip(&batches) {
            let start = Instant::now();
            for _ in 0..n {
                op();
            }
            rec.record(order, case, name, start.elapsed(), n);
        }
    }
}

fn import(
    backend: &SoftwareBackend,
    object_type: ObjectType,
    algorithm: CryptographicAlgorithm,
    format: KeyFormat,
    bytes: &[u8],
) -> KeyRef {
    let id = ObjectId::random();
    let policy = KeyPolicy {
        id: &id,
        usage: UsageMask::all(),
        extractable: false,
    };
    backend
        .import(
            object_type,
            Some(algorithm),
            &KeyMaterial::new(format, Zeroizing::new(bytes.to_vec())),
            &policy,
        )
        .expect("import the bench key")
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rec = Recorder::default();
    let backend = SoftwareBackend::new();
    let mut rng = getrandom::SysRng;
    let manager = KeyManager::builder(std::sync::Arc::new(MemoryStore::new()))
        .backend(std::sync::Arc::new(SoftwareBackend::new()))
        .build()
        .expect("manager");
    let who = Principal::new("bench").expect("principal");

    // AES-256-GCM: the same key, a fixed 96-bit IV on both sides (the backend would otherwise draw one from
    // the OS, which the raw call would also have to do), no AAD, 16-byte tag.
    let aes_key = [0x42u8; 32];
    let iv = [7u8; 12];
    let aes_ref = import(
        &backend,
        ObjectType::SymmetricKey,
        CryptographicAlgorithm::Aes,
        KeyFormat::Raw,
        &aes_key,
    );
    let aes_id = register(
        &manager,
        &who,
        ObjectType::SymmetricKey,
        CryptographicAlgorithm::Aes,
        KeyFormat::Raw,
        &aes_key,
    );
    let raw_gcm = aes_gcm::Aes256Gcm::new_from_slice(&aes_key).expect("AES-256 key");
    let cipher = backend.cipher().expect("software backend encrypts");
    let params = CipherParams::AesGcm {
        iv: Some(&iv),
        aad: b"",
        tag_len: 16,
    };
    for (order, len) in [(0, 64usize), (1, 4096)] {
        let msg = vec![0x5au8; len];
        let case = format!(
            "AES-256-GCM encrypt {}",
            if len == 64 { "64 B" } else { "4 KiB" }
        );
        bench_case(
            &mut c,
            &rec,
            order,
            &case,
            Some(len as u64),
            vec![
                (
                    RAW,
                    Box::new(|| {
                        black_box(
                            raw_gcm
                                .encrypt((&iv).into(), black_box(&msg[..]))
                                .expect("encrypt"),
                        );
                    }),
                ),
                (
                    BACKEND,
                    Box::new(|| {
                        black_box(
                            cipher
                                .encrypt(&aes_ref, &params, black_box(&msg))
                                .expect("encrypt"),
                        );
                    }),
                ),
                (
                    MANAGER,
                    Box::new(|| {
                        black_box(
                            manager
                                .encrypt(&who, &aes_id, &params, black_box(&msg))
                                .expect("encrypt"),
                        );
                    }),
                ),
            ],
        );
    }

    // HMAC-SHA256 over 64 bytes, keyed on every call on both sides (a MAC call starts from the key).
    let hmac_key = [0x0bu8; 32];
    let hmac_ref = import(
        &backend,
        ObjectType::SymmetricKey,
        CryptographicAlgorithm::HmacSha256,
        KeyFormat::Raw,
        &hmac_key,
    );
    let hmac_id = register(
        &manager,
        &who,
        ObjectType::SymmetricKey,
        CryptographicAlgorithm::HmacSha256,
        KeyFormat::Raw,
        &hmac_key,
    );
    let mac = backend.mac().expect("software backend MACs");
    let data = [0xcdu8; 64];
    bench_case(
        &mut c,
        &rec,
        2,
        "HMAC-SHA256 64 B",
        Some(64),
        vec![
            (
                RAW,
                Box::new(|| {
                    let mut m =
                        hmac::Hmac::<sha2::Sha256>::new_from_slice(&hmac_key).expect("HMAC key");
                    m.update(black_box(&data));
                    black_box(m.finalize().into_bytes());
                }),
            ),
            (
                BACKEND,
                Box::new(|| {
                    black_box(
                        mac.mac(&hmac_ref, HashingAlgorithm::Sha256, black_box(&data))
                            .expect("mac"),
                    );
                }),
            ),
            (
                MANAGER,
                Box::new(|| {
                    black_box(
                        manager
                            .mac(&who, &hmac_id, None, black_box(&data))
                            .expect("mac"),
                    );
                }),
            ),
        ],
    );

    // ECDSA P-256 over a 64-byte message (SHA-256, RFC 6979 nonce, DER signature) on both sides.
    let ec_key = {
        use rsa::Generate as _;
        p256::ecdsa::SigningKey::try_generate_from_rng(&mut rng).expect("P-256 key")
    };
    let ec_ref = import(
        &backend,
        ObjectType::PrivateKey,
        CryptographicAlgorithm::Ecdsa,
        KeyFormat::Pkcs8,
        ec_key.to_pkcs8_der().expect("PKCS#8").as_bytes(),
    );
    let ec_id = register(
        &manager,
        &who,
        ObjectType::PrivateKey,
        CryptographicAlgorithm::Ecdsa,
        KeyFormat::Pkcs8,
        ec_key.to_pkcs8_der().expect("PKCS#8").as_bytes(),
    );
    let signer = backend.signer().expect("software backend signs");
    let msg = [0x33u8; 64];
    bench_case(
        &mut c,
        &rec,
        3,
        "ECDSA P-256 sign",
        None,
        vec![
            (
                RAW,
                Box::new(|| {
                    let sig: p256::ecdsa::DerSignature = ec_key.sign(black_box(&msg));
                    black_box(sig);
                }),
            ),
            (
                BACKEND,
                Box::new(|| {
                    black_box(
                        signer
                            .sign(
                                &ec_ref,
                                SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
                                SignInput::Message(black_box(&msg)),
                            )
                            .expect("sign"),
                    );
                }),
            ),
            (
                MANAGER,
                Box::new(|| {
                    black_box(
                        manager
                            .sign(
                                &who,
                                &ec_id,
                                SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
                                SignInput::Message(black_box(&msg)),
                            )
                            .expect("sign"),
                    );
                }),
            ),
        ],
    );

    // RSA-2048 PSS (SHA-256, salt = 32 bytes, OS RNG for salt and blinding) on both sides.
    let rsa_key = rsa::PrivateKey::new(&mut rng, 2048).expect("RSA key");
    let rsa_ref = import(
        &backend,
        ObjectType::PrivateKey,
        CryptographicAlgorithm::Rsa,
        KeyFormat::Pkcs8,
        rsa_key.to_pkcs8_der().expect("PKCS#8").as_bytes(),
    );
    let rsa_id = register(
        &manager,
        &who,
        ObjectType::PrivateKey,
        CryptographicAlgorithm::Rsa,
        KeyFormat::Pkcs8,
        rsa_key.to_pkcs8_der().expect("PKCS#8").as_bytes(),
    );
    let pss = rsa::pss::SigningKey::<sha2::Sha256>::new(rsa_key);
    bench_case(
        &mut c,
        &rec,
        4,
        "RSA-2048 PSS sign",
        None,
        vec![
            (
                RAW,
                Box::new(|| {
                    black_box(pss.sign(black_box(&msg)));
                }),
            ),
            (
                BACKEND,
                Box::new(|| {
                    black_box(
                        signer
                            .sign(
                                &rsa_ref,
                                SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
                                SignInput::Message(black_box(&msg)),
                            )
                            .expect("sign"),
                    );
                }),
            ),
            (
                MANAGER,
                Box::new(|| {
                    black_box(
                        manager
                            .sign(
                                &who,
                                &rsa_id,
                                SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
                                SignInput::Message(black_box(&msg)),
                            )
                            .expect("sign"),
                    );
                }),
            ),
        ],
    );

    c.final_summary();
    rec.print(&[RAW, BACKEND, MANAGER]);
}
