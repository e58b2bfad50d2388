//! The software backend against the raw RustCrypto call on the same key and input, side by side in one run:
//! AES-256-GCM encrypt (64 B, 4 KiB), HMAC-SHA256 (64 B), ECDSA P-256 sign, RSA-2048 PSS sign, DSA-2048 sign.
//!
//! Each case is a criterion group with one function per column; then the columns run interleaved for a while
//! and a table gives each column's median time per operation and its ratio to the raw call
//! (`kms_benches::run_case` and `RatioTable`). A column is one more `(name, closure)` entry in a case. The KeyManager column runs the same operation through `KeyManager` (MemoryStore, the same backend, the
//! default tracing audit sink): access check, lifecycle and usage-mask checks, one audit event per call.
//!
//! `cargo bench -p kms-benches --bench software_backend -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use aes_gcm::aead::{Aead, KeyInit};
use criterion::Criterion;
use hmac::Mac as _;
use kms_benches::{Column, RatioTable, run_case};
use kms_core::backend::{
    CipherParams, HashingAlgorithm, KeyBackend, KeyPolicy, SignInput, SignatureAlgorithm, Signer,
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

/// The bench key `bytes` twice: imported into `backend` (for the SoftwareBackend column) and registered through
/// `manager` as an Active, non-extractable object owned by `who` (for the KeyManager column).
fn load(
    backend: &SoftwareBackend,
    manager: &KeyManager,
    who: &Principal,
    object_type: ObjectType,
    algorithm: CryptographicAlgorithm,
    format: KeyFormat,
    bytes: &[u8],
) -> (KeyRef, ObjectId) {
    let material = || KeyMaterial::new(format, Zeroizing::new(bytes.to_vec()));
    let policy_id = ObjectId::random();
    let policy = KeyPolicy {
        id: &policy_id,
        usage: UsageMask::all(),
        extractable: false,
    };
    let key_ref = backend
        .import(object_type, Some(algorithm), &material(), &policy)
        .expect("import the bench key");
    let mut attributes = Attributes::default();
    attributes.cryptographic_algorithm = Some(algorithm);
    attributes.extractable = false;
    let id = manager
        .register(who, object_type, material(), attributes)
        .expect("register the bench key");
    manager.activate(who, &id).expect("activate the bench key");
    (key_ref, id)
}

/// The SoftwareBackend and KeyManager columns of a signature case: `algorithm` over `msg` with the two copies of
/// one key that [`load`] made.
fn sign_columns<'a>(
    signer: &'a dyn Signer,
    manager: &'a KeyManager,
    who: &'a Principal,
    (key_ref, id): &'a (KeyRef, ObjectId),
    algorithm: SignatureAlgorithm,
    msg: &'a [u8],
) -> [Column<'a>; 2] {
    [
        (
            BACKEND,
            Box::new(move || {
                black_box(
                    signer
                        .sign(key_ref, algorithm, SignInput::Message(black_box(msg)))
                        .expect("sign"),
                );
            }),
        ),
        (
            MANAGER,
            Box::new(move || {
                black_box(
                    manager
                        .sign(who, id, algorithm, SignInput::Message(black_box(msg)))
                        .expect("sign"),
                );
            }),
        ),
    ]
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let table = RatioTable::default();
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
    let aes_keys = load(
        &backend,
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
        run_case(
            &mut c,
            &table,
            order,
            &case,
            None,
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
                                .encrypt(&aes_keys.0, &params, black_box(&msg))
                                .expect("encrypt"),
                        );
                    }),
                ),
                (
                    MANAGER,
                    Box::new(|| {
                        black_box(
                            manager
                                .encrypt(&who, &aes_keys.1, &params, black_box(&msg))
                                .expect("encrypt"),
                        );
                    }),
                ),
            ],
        );
    }

    // HMAC-SHA256 over 64 bytes, keyed on every call on both sides (a MAC call starts from the key).
    let hmac_key = [0x0bu8; 32];
    let hmac_keys = load(
        &backend,
        &manager,
        &who,
        ObjectType::SymmetricKey,
        CryptographicAlgorithm::HmacSha256,
        KeyFormat::Raw,
        &hmac_key,
    );
    let mac = backend.mac().expect("software backend MACs");
    let data = [0xcdu8; 64];
    run_case(
        &mut c,
        &table,
        2,
        "HMAC-SHA256 64 B",
        None,
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
                        mac.mac(&hmac_keys.0, HashingAlgorithm::Sha256, black_box(&data))
                            .expect("mac"),
                    );
                }),
            ),
            (
                MANAGER,
                Box::new(|| {
                    black_box(
                        manager
                            .mac(&who, &hmac_keys.1, None, black_box(&data))
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
    let ec_keys = load(
        &backend,
        &manager,
        &who,
        ObjectType::PrivateKey,
        CryptographicAlgorithm::Ecdsa,
        KeyFormat::Pkcs8,
        ec_key.to_pkcs8_der().expect("PKCS#8").as_bytes(),
    );
    let signer = backend.signer().expect("software backend signs");
    let msg = [0x33u8; 64];
    let [backend_column, manager_column] = sign_columns(
        signer,
        &manager,
        &who,
        &ec_keys,
        SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
        &msg,
    );
    run_case(
        &mut c,
        &table,
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
            backend_column,
            manager_column,
        ],
    );

    // RSA-2048 PSS (SHA-256, salt = 32 bytes, OS RNG for salt and blinding) on both sides.
    let rsa_key = rsa::PrivateKey::new(&mut rng, 2048).expect("RSA key");
    let rsa_keys = load(
        &backend,
        &manager,
        &who,
        ObjectType::PrivateKey,
        CryptographicAlgorithm::Rsa,
        KeyFormat::Pkcs8,
        rsa_key.to_pkcs8_der().expect("PKCS#8").as_bytes(),
    );
    let pss = rsa::pss::SigningKey::<sha2::Sha256>::new(rsa_key);
    let [backend_column, manager_column] = sign_columns(
        signer,
        &manager,
        &who,
        &rsa_keys,
        SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
        &msg,
    );
    run_case(
        &mut c,
        &table,
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
            backend_column,
            manager_column,
        ],
    );

    // DSA (2048, 256) with SHA-256, RFC 6979 nonce, DER Dss-Sig-Value on both sides.
    let dsa_key = {
        use dsa::{Components, KeySize, SigningKey};
        let components =
            Components::try_generate_from_rng_with_key_size(&mut rng, KeySize::DSA_2048_256)
                .expect("DSA domain");
        SigningKey::try_generate_from_rng_with_components(&mut rng, components).expect("DSA key")
    };
    let dsa_pkcs8 = dsa_key.to_pkcs8_der().expect("PKCS#8");
    let dsa_keys = load(
        &backend,
        &manager,
        &who,
        ObjectType::PrivateKey,
        CryptographicAlgorithm::Dsa,
        KeyFormat::Pkcs8,
        dsa_pkcs8.as_bytes(),
    );
    let [backend_column, manager_column] = sign_columns(
        signer,
        &manager,
        &who,
        &dsa_keys,
        SignatureAlgorithm::Dsa(HashingAlgorithm::Sha256),
        &msg,
    );
    run_case(
        &mut c,
        &table,
        5,
        "DSA-2048 sign",
        None,
        vec![
            (
                RAW,
                Box::new(|| {
                    let sig: dsa::Signature = dsa_key.sign(black_box(&msg));
                    black_box(signature::SignatureEncoding::to_vec(&sig));
                }),
            ),
            backend_column,
            manager_column,
        ],
    );

    c.final_summary();
    table.print();
}
