//! Runs one hot-path case N times, for counting instructions where wall-clock time is too noisy (a shared
//! machine): `valgrind --tool=callgrind` on two runs with different N gives the instructions of one operation as
//! the difference divided by the difference of N, the set-up cancelling out.
//!
//! ```text
//! cargo build --release -p kms-benches --example instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/instructions CASE N
//! ```
//!
//! `instructions list` prints the cases. The criterion benches (`software_backend`, `kmip_codec`) time the same
//! operations.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit};
use kms_core::backend::{CipherParams, KeyBackend, KeyPolicy};
use kms_core::object::{CryptographicAlgorithm, ObjectId, UsageMask};
use kms_core::{
    Attributes, KeyFormat, KeyManager, KeyMaterial, MemoryStore, ObjectType, Principal,
    SoftwareBackend,
};
use kms_kmip::ttlv::{self, Document, DocumentBuffer, Limits, Node};
use zeroize::Zeroizing;

const CASES: &[&str] = &[
    "aes-gcm-64-raw",
    "aes-gcm-64-backend",
    "aes-gcm-64-manager",
    "aes-gcm-4k-raw",
    "aes-gcm-4k-backend",
    "aes-gcm-4k-manager",
    "ttlv-validate",
    "ttlv-tree",
    "ttlv-document",
    "ttlv-document-reused",
    "ttlv-from-item",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args.get(1).map_or("list", String::as_str);
    let n: u64 = args.get(2).map_or(1000, |s| s.parse().expect("N"));
    if !CASES.contains(&case) {
        println!("cases (then N, the repetitions): {}", CASES.join(" "));
        return;
    }

    if let Some(kind) = case.strip_prefix("ttlv-") {
        // One repetition decodes every message once.
        let messages = kms_benches::kmip_vector_messages().expect("kms-kmip/tests/vectors");
        let limits = Limits::default();
        let mut buffer = DocumentBuffer::new();
        for _ in 0..n {
            for m in &messages {
                match kind {
                    "validate" => ttlv::validate(black_box(m), &limits).unwrap(),
                    "document" => {
                        black_box(Document::decode_with(black_box(m), &limits).unwrap());
                    }
                    "document-reused" => {
                        let doc = Document::decode_with_buffer(black_box(m), &limits, &mut buffer)
                            .unwrap();
                        buffer = black_box(doc).into_buffer();
                    }
                    "from-item" => {
                        let item = ttlv::decode_with(black_box(m), &limits).unwrap();
                        black_box(Node::from_item(&item).unwrap());
                    }
                    _ => {
                        black_box(Node::decode_with(black_box(m), &limits).unwrap());
                    }
                }
            }
        }
        return;
    }

    // AES-256-GCM as the software_backend bench runs it: fixed key and IV, no AAD, 16-byte tag.
    let len = if case.starts_with("aes-gcm-64-") {
        64
    } else {
        4096
    };
    let msg = vec![0x5au8; len];
    let key = [0x42u8; 32];
    let iv = [7u8; 12];
    let params = CipherParams::AesGcm {
        iv: Some(&iv),
        aad: b"",
        tag_len: 16,
    };
    if case.ends_with("-raw") {
        let gcm = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
        for _ in 0..n {
            black_box(gcm.encrypt((&iv).into(), black_box(&msg[..])).unwrap());
        }
    } else if case.ends_with("-backend") {
        let backend = SoftwareBackend::new();
        let id = ObjectId::random();
        let policy = KeyPolicy {
            id: &id,
            usage: UsageMask::all(),
            extractable: false,
        };
        let key_ref = backend
            .import(
                ObjectType::SymmetricKey,
                Some(CryptographicAlgorithm::Aes),
                &KeyMaterial::new(KeyFormat::Raw, Zeroizing::new(key.to_vec())),
                &policy,
            )
            .unwrap();
        let cipher = backend.cipher().unwrap();
        for _ in 0..n {
            black_box(cipher.encrypt(&key_ref, &params, black_box(&msg)).unwrap());
        }
    } else {
        let manager = KeyManager::builder(Arc::new(MemoryStore::new()))
            .backend(Arc::new(SoftwareBackend::new()))
            .build()
            .unwrap();
        let who = Principal::new("bench").unwrap();
        let mut attributes = Attributes::default();
        attributes.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
        attributes.extractable = false;
        let id = manager
            .register(
                &who,
                ObjectType::SymmetricKey,
                KeyMaterial::new(KeyFormat::Raw, Zeroizing::new(key.to_vec())),
                attributes,
            )
            .unwrap();
        manager.activate(&who, &id).unwrap();
        for _ in 0..n {
            black_box(
                manager
                    .encrypt(&who, &id, &params, black_box(&msg))
                    .unwrap(),
            );
        }
    }
}
