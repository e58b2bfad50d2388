//! Quickstart: keys that outlive the process.
//!
//! Creates (or, on a later run, finds by name) an AES-256 key and an ECDSA P-256 key pair in `./kms-data` (redb store,
//! software backend, key values sealed at rest under `./kms-data/root.key`), encrypts and signs with them, drops the
//! manager, reopens the store, and decrypts and verifies with the same keys. Every operation is audited to
//! `./kms-data/audit.jsonl`.
//!
//! ```sh
//! cargo run --release -p kms --example quickstart            # or: -- /some/other/dir
//! ```

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use kms::core::audit::JsonLinesAuditSink;
use kms::core::backend::{CipherParams, HashingAlgorithm, SignInput, SignatureAlgorithm};
use kms::core::manager::CreateKeyPairRequest;
use kms::core::object::{CryptographicAlgorithm, LinkType, Name, RecommendedCurve, UsageMask};
use kms::core::store::LocateQuery;
use kms::core::{
    Attributes, KeyManager, ObjectId, ObjectType, Principal, RedbStore, SoftwareBackend,
};

const AES_NAME: &str = "quickstart-aes";
const SIGNING_NAME: &str = "quickstart-signing";

fn open(dir: &Path) -> Result<KeyManager, Box<dyn Error>> {
    let store = RedbStore::open(dir)?;
    let audit = JsonLinesAuditSink::open(dir.join("audit.jsonl"))?;
    let manager = KeyManager::builder(Arc::new(store))
        .backend(Arc::new(SoftwareBackend::new()))
        .audit_sink(Arc::new(audit))
        .build()?;
    // Parsec-style start-up check: every record's backend key must still be there.
    let missing = manager.reconcile(Default::default())?;
    if !missing.is_empty() {
        eprintln!("warning: {} objects lost their backend key", missing.len());
    }
    Ok(manager)
}

/// The id of `who`'s object named `name` of type `object_type`, if a previous run made it.
fn find(
    manager: &KeyManager,
    who: &Principal,
    name: &str,
    object_type: ObjectType,
) -> Result<Option<ObjectId>, Box<dyn Error>> {
    let query = LocateQuery {
        name: Some(name.to_owned()),
        object_type: Some(object_type),
        ..LocateQuery::default()
    };
    Ok(manager.locate(who, &query)?.ids.into_iter().next())
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "kms-data".to_owned());
    let dir = Path::new(&dir);
    let me = Principal::new("quickstart")?;

    let manager = open(dir)?;
    let aes = match find(&manager, &me, AES_NAME, ObjectType::SymmetricKey)? {
        Some(id) => {
            println!("found AES-256 key {id} from an earlier run");
            id
        }
        None => {
            let mut a = Attributes::default();
            a.cryptographic_algorithm = Some(CryptographicAlgorithm::Aes);
            a.cryptographic_length = Some(256);
            a.cryptographic_usage_mask = Some(UsageMask::ENCRYPT | UsageMask::DECRYPT);
            a.extractable = false;
            a.names = vec![Name::text(AES_NAME)];
            let id = manager.create(&me, a)?;
            manager.activate(&me, &id)?; // Pre-Active until activated (or until an Activation Date passes)
            println!("created AES-256 key {id}");
            id
        }
    };
    let (private, public) = match find(&manager, &me, SIGNING_NAME, ObjectType::PrivateKey)? {
        Some(private) => {
            let public = manager
                .metadata(&me, &private)?
                .attributes
                .links
                .iter()
                .find(|l| l.link_type == LinkType::PublicKeyLink)
                .map(|l| l.linked_object_id.clone())
                .ok_or("the private key has no public key link")?;
            println!("found ECDSA P-256 key pair {private} / {public} from an earlier run");
            (private, public)
        }
        None => {
            let mut common = Attributes::default();
            common.cryptographic_algorithm = Some(CryptographicAlgorithm::Ec);
            common.recommended_curve = Some(RecommendedCurve::P256);
            let mut private = Attributes::default();
            private.names = vec![Name::text(SIGNING_NAME)];
            private.sensitive = true;
            let ids = manager.create_key_pair(
                &me,
                CreateKeyPairRequest {
                    common_attributes: common,
                    private_key_attributes: private,
                    ..CreateKeyPairRequest::default()
                },
            )?;
            manager.activate(&me, &ids.private_key)?;
            manager.activate(&me, &ids.public_key)?;
            println!(
                "created ECDSA P-256 key pair {} / {}",
                ids.private_key, ids.public_key
            );
            (ids.private_key, ids.public_key)
        }
    };

    let message = b"quarterly numbers: up and to the right";
    let sealed = manager.encrypt(
        &me,
        &aes,
        &CipherParams::AesGcm {
            iv: None,
            aad: b"report",
            tag_len: 16,
        },
        message,
    )?;
    let ecdsa = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);
    let signature = manager.sign(&me, &private, ecdsa, SignInput::Message(message))?;
    println!(
        "encrypted {} bytes and signed them ({}-byte signature)",
        message.len(),
        signature.len()
    );

    drop(manager);
    println!("manager dropped; reopening {}", dir.display());
    let manager = open(dir)?;

    let opened = manager.decrypt(
        &me,
        &aes,
        &CipherParams::AesGcm {
            iv: sealed.iv.as_deref(),
            aad: b"report",
            tag_len: 16,
        },
        &sealed.data,
        sealed.tag.as_deref(),
    )?;
    assert_eq!(&opened[..], message);
    manager.verify(&me, &public, ecdsa, SignInput::Message(message), &signature)?;
    println!("after reopening: decrypted and verified with the same keys");
    let total = manager.locate(&me, &LocateQuery::default())?.located_items;
    println!(
        "{total} objects in {}; audit log in {}",
        dir.display(),
        dir.join("audit.jsonl").display()
    );
    Ok(())
}
