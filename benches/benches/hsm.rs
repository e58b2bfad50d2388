//! Pkcs11Backend on SoftHSM2, side by side in one run: the same operation as a direct cryptoki call (the floor),
//! through the backend, through the KeyManager, and on the software backend for scale; then 16 threads of
//! AES-GCM through a 16-session pool against one shared session.
//!
//! Needs the SoftHSM2 token of scripts/setup/softhsm.sh (KMS_TEST_PKCS11_MODULE, KMS_TEST_PKCS11_TOKEN,
//! KMS_TEST_PKCS11_PIN, SOFTHSM2_CONF): `cargo bench -p kms-benches --bench hsm`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use kms_benches::{Column, RatioTable, run_case};
use kms_core::backend::{
    CipherParams, GeneratedKey, HashingAlgorithm, KeyBackend, KeyPolicy, KeySpec, SignInput,
    SignatureAlgorithm,
};
use kms_core::object::{CryptographicAlgorithm, ObjectId, RecommendedCurve, UsageMask};
use kms_core::{
    Attributes, KeyManager, KeyRef, MemoryStore, ObjectStore, Principal, SoftwareBackend,
};
use kms_hsm::{Pkcs11Backend, Pkcs11Config, TokenSelector};
use sha2::Digest as _;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: source the SoftHSM2 set-up of scripts/setup/softhsm.sh (scripts/test does)")
    })
}

fn open(max_sessions: usize) -> Arc<Pkcs11Backend> {
    let mut config = Pkcs11Config::new(
        var("KMS_TEST_PKCS11_MODULE"),
        TokenSelector::Label(var("KMS_TEST_PKCS11_TOKEN")),
        secrecy::SecretString::from(var("KMS_TEST_PKCS11_PIN")),
    );
    config.max_sessions = max_sessions;
    Arc::new(Pkcs11Backend::open(config).expect("open the SoftHSM2 token"))
}

const GCM: CipherParams<'static> = CipherParams::AesGcm {
    iv: None,
    aad: b"",
    tag_len: 16,
};

fn direct_gcm(s: &Session, key: ObjectHandle, data: &[u8]) -> Vec<u8> {
    let mut iv = [0u8; 12];
    getrandom::fill(&mut iv).expect("iv");
    let params = GcmParams::new(&mut iv, b"", 128u64.into()).expect("gcm params");
    s.encrypt(&Mechanism::AesGcm(params), key, data)
        .expect("direct encrypt")
}

fn generated(b: &dyn KeyBackend, spec: KeySpec, usage: UsageMask) -> KeyRef {
    let id = ObjectId::random();
    match b
        .generate(
            &spec,
            &KeyPolicy {
                id: &id,
                usage,
                extractable: false,
            },
        )
        .expect("generate")
    {
        GeneratedKey::Symmetric(k) => k,
        GeneratedKey::KeyPair { private, .. } => private,
    }
}

fn column<'a>(name: &'a str, op: impl FnMut() + 'a) -> Column<'a> {
    (name, Box::new(op))
}

fn bench(c: &mut Criterion) {
    let table = RatioTable::default();
    let hsm = open(16);
    let soft: Arc<SoftwareBackend> = Arc::new(SoftwareBackend::new());
    let who = Principal::new("bench").expect("principal");
    let store = Arc::new(MemoryStore::new());
    let manager = KeyManager::builder(store.clone())
        .default_backend(hsm.clone())
        .build()
        .expect("manager");
    let mut a = Attributes::default();
    a.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
    a.cryptographic_length = Some(256);
    a.cryptographic_usage_mask = Some(UsageMask::ENCRYPT | UsageMask::DECRYPT);
    a.extractable = false;
    let aes_id = manager.create(&who, a).expect("create");
    manager.activate(&who, &aes_id).expect("activate");
    // One token object for every column of a case: the manager's key, its reference read from the store.
    let aes = store.get(&aes_id).expect("record").key.expect("key");
    let aes_spec = KeySpec::Symmetric {
        algorithm: CryptographicAlgorithm::Aes,
        bits: 256,
    };
    let soft_aes = generated(soft.as_ref(), aes_spec, UsageMask::ENCRYPT);
    let session = hsm.context().open_rw_session(hsm.slot()).expect("session");
    let aes_handle = hsm.object_handle(&aes).expect("handle");
    let (hsm_r, soft_r, manager_r, who_r, session_r) = (&*hsm, &*soft, &manager, &who, &session);
    let (aes_r, aes_id_r, soft_aes_r) = (&aes, &aes_id, &soft_aes);

    for (order, size) in [(0, 64usize), (1, 4096)] {
        let data = vec![7u8; size];
        let data = &data;
        run_case(
            c,
            &table,
            order,
            &format!("AES-256-GCM encrypt {size} B"),
            None,
            vec![
                column("direct cryptoki", move || {
                    black_box(direct_gcm(session_r, aes_handle, data));
                }),
                column("Pkcs11Backend", move || {
                    let cipher = hsm_r.cipher().expect("cipher");
                    black_box(cipher.encrypt(aes_r, &GCM, data).expect("enc"));
                }),
                column("KeyManager(pkcs11)", move || {
                    black_box(manager_r.encrypt(who_r, aes_id_r, &GCM, data).expect("enc"));
                }),
                column("SoftwareBackend", move || {
                    let cipher = soft_r.cipher().expect("cipher");
                    black_box(cipher.encrypt(soft_aes_r, &GCM, data).expect("enc"));
                }),
            ],
        );
    }

    let mut common = Attributes::default();
    common.cryptographic_algorithm = Some(CryptographicAlgorithm::Ec);
    common.recommended_curve = Some(RecommendedCurve::P256);
    let pair = manager
        .create_key_pair(
            &who,
            kms_core::manager::CreateKeyPairRequest {
                common_attributes: common,
                ..Default::default()
            },
        )
        .expect("pair");
    manager.activate(&who, &pair.private_key).expect("activate");
    let ec = store
        .get(&pair.private_key)
        .expect("record")
        .key
        .expect("key");
    let ec_handle = hsm.object_handle(&ec).expect("handle");
    let (ec_r, ec_id_r) = (&ec, &pair.private_key);
    let msg: &[u8] = b"a message of moderate length to be signed by the token";
    let alg = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);
    run_case(
        c,
        &table,
        2,
        "ECDSA P-256 sign",
        None,
        vec![
            column("direct cryptoki", move || {
                let digest = sha2::Sha256::digest(msg);
                black_box(
                    session_r
                        .sign(&Mechanism::Ecdsa, ec_handle, &digest)
                        .expect("sign"),
                );
            }),
            column("Pkcs11Backend", move || {
                let signer = hsm_r.signer().expect("signer");
                black_box(
                    signer
                        .sign(ec_r, alg, SignInput::Message(msg))
                        .expect("sign"),
                );
            }),
            column("KeyManager(pkcs11)", move || {
                black_box(
                    manager_r
                        .sign(who_r, ec_id_r, alg, SignInput::Message(msg))
                        .expect("sign"),
                );
            }),
        ],
    );

    let hmac_spec = KeySpec::Symmetric {
        algorithm: CryptographicAlgorithm::HmacSha256,
        bits: 0,
    };
    let hmac = generated(hsm.as_ref(), hmac_spec, UsageMask::MAC_GENERATE);
    let hmac_handle = hsm.object_handle(&hmac).expect("handle");
    let hmac_r = &hmac;
    let data: &[u8] = &[3u8; 64];
    run_case(
        c,
        &table,
        3,
        "HMAC-SHA256 64 B",
        None,
        vec![
            column("direct cryptoki", move || {
                black_box(
                    session_r
                        .sign(&Mechanism::Sha256Hmac, hmac_handle, data)
                        .expect("mac"),
                );
            }),
            column("Pkcs11Backend", move || {
                let mac = hsm_r.mac().expect("mac");
                black_box(
                    mac.mac(hmac_r, HashingAlgorithm::Sha256, data)
                        .expect("mac"),
                );
            }),
        ],
    );

    // 16 threads x 64 encryptions of 1 KiB per iteration: a 16-session pool against one shared session.
    let one = open(1);
    let one_aes = generated(one.as_ref(), aes_spec, UsageMask::ENCRYPT);
    let (one_r, one_aes_r) = (&*one, &one_aes);
    run_case(
        c,
        &table,
        4,
        "16 threads x 64 AES-GCM 1 KiB",
        Some(20),
        vec![
            column("pool of 16 sessions", move || burst(hsm_r, aes_r)),
            column("one shared session", move || burst(one_r, one_aes_r)),
        ],
    );
    table.print();
}

fn burst(b: &Pkcs11Backend, key: &KeyRef) {
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                let data = [9u8; 1024];
                let cipher = b.cipher().expect("cipher");
                for _ in 0..64 {
                    black_box(cipher.encrypt(key, &GCM, &data).expect("enc"));
                }
            });
        }
    });
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
