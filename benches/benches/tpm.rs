//! TPM signing: the KeyManager and TpmBackend against direct tss-esapi calls, side by side in one run, and the
//! effect of the loaded-handle cache.
//!
//! Columns of each case (ECDSA P-256 / SHA-256 and RSA-2048 PSS / SHA-256 over a 64-byte message; the digest is
//! computed in software in every column):
//! - `tss-esapi, key loaded`: one Context, the key loaded once, TPM2_Sign per call (the floor);
//! - `TpmBackend (cache)` and `KeyManager -> TpmBackend (cache)`: the backend, its handle cached after the first use;
//! - `tss-esapi, load+sign+flush` and `TpmBackend (no cache)`: every call loads the blob and flushes it after.
//!
//! swtpm serves one connection at a time, so each connection gets its own swtpm process (same binary, fresh state):
//! the simulators are identical and idle while another column runs. Needs `swtpm` on PATH.
//!
//! `cargo bench -p kms-benches --bench tpm -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use kms_benches::{RatioTable, run_case};
use kms_core::backend::{HashingAlgorithm, KeyBackend, KeyPolicy, SignInput, SignatureAlgorithm};
use kms_core::manager::CreateKeyPairRequest;
use kms_core::object::{CryptographicAlgorithm, ObjectId, RecommendedCurve, UsageMask};
use kms_core::{Attributes, KeyManager, KeyRef, MemoryStore, ObjectStore as _, Principal};
use kms_tpm::{Tpm, TpmBackend, TpmOptions};
use sha2::Digest as _;
use tss_esapi::Context;
use tss_esapi::attributes::ObjectAttributesBuilder;
use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
use tss_esapi::handles::KeyHandle;
use tss_esapi::interface_types::algorithm::{HashingAlgorithm as TpmHash, PublicAlgorithm};
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{
    Digest, EccPoint, EccScheme, HashScheme, HashcheckTicket, KeyDerivationFunctionScheme, Private,
    Public, PublicBuilder, PublicEccParametersBuilder, PublicKeyRsa, PublicRsaParametersBuilder,
    RsaExponent, RsaScheme, SignatureScheme, SymmetricDefinitionObject,
};
use tss_esapi::tss2_esys::TPMT_TK_HASHCHECK;

const MESSAGE: [u8; 64] = [0x5A; 64];

/// A private swtpm, killed on drop.
struct Swtpm {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Swtpm {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = (0..50)
            .find_map(|_| {
                let l = TcpListener::bind("127.0.0.1:0").ok()?;
                let p = l.local_addr().ok()?.port();
                (p < u16::MAX && TcpListener::bind(("127.0.0.1", p + 1)).is_ok()).then_some(p)
            })
            .expect("a free loopback port pair");
        let child = Command::new("swtpm")
            .args(["socket", "--tpm2", "--tpmstate"])
            .arg(format!("dir={}", dir.path().display()))
            .arg("--server")
            .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
            .arg("--ctrl")
            .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
            .args(["--flags", "not-need-init,startup-clear"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("swtpm on PATH (apt-get install swtpm)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "swtpm did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    #[allow(dead_code)]
    fn path(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The direct-tss-esapi side, on the same connection (and so the same swtpm) as the backend it is compared with:
/// the connection's storage key as parent and one signing key (kept loaded, or loaded per call).
struct Raw {
    tpm: Arc<Tpm>,
    srk: KeyHandle,
    public: Public,
    private: Private,
    loaded: KeyHandle,
}

fn attributes(restricted_decrypt: bool) -> tss_esapi::attributes::ObjectAttributes {
    ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_no_da(true)
        .with_restricted(restricted_decrypt)
        .with_decrypt(restricted_decrypt)
        .with_sign_encrypt(!restricted_decrypt)
        .build()
        .expect("attributes")
}

fn key_template(rsa: bool) -> Public {
    let b = PublicBuilder::new()
        .with_name_hashing_algorithm(TpmHash::Sha256)
        .with_object_attributes(attributes(false));
    if rsa {
        b.with_public_algorithm(PublicAlgorithm::Rsa)
            .with_rsa_parameters(
                PublicRsaParametersBuilder::new()
                    .with_symmetric(SymmetricDefinitionObject::Null)
                    .with_scheme(RsaScheme::Null)
                    .with_key_bits(RsaKeyBits::Rsa2048)
                    .with_exponent(RsaExponent::default())
                    .with_is_signing_key(true)
                    .build()
                    .expect("rsa parameters"),
            )
            .with_rsa_unique_identifier(PublicKeyRsa::default())
            .build()
    } else {
        b.with_public_algorithm(PublicAlgorithm::Ecc)
            .with_ecc_parameters(
                PublicEccParametersBuilder::new()
                    .with_symmetric(SymmetricDefinitionObject::Null)
                    .with_ecc_scheme(EccScheme::Null)
                    .with_curve(EccCurve::NistP256)
                    .with_key_derivation_function_scheme(KeyDerivationFunctionScheme::Null)
                    .build()
                    .expect("ecc parameters"),
            )
            .with_ecc_unique_identifier(EccPoint::default())
            .build()
    }
    .expect("key template")
}

impl Raw {
    /// One key under the connection's storage key; `keep_loaded` keeps it loaded.
    fn new(tpm: Arc<Tpm>, rsa: bool, keep_loaded: bool) -> Self {
        let (srk, public, private, loaded) = tpm.with_context(|ctx, srk| {
            ctx.execute_with_session(Some(AuthSession::Password), |ctx| {
                let key = ctx
                    .create(srk, key_template(rsa), None, None, None, None)
                    .expect("create");
                let loaded = ctx
                    .load(srk, key.out_private.clone(), key.out_public.clone())
                    .expect("load");
                if !keep_loaded {
                    ctx.flush_context(loaded.into()).expect("flush");
                }
                (srk, key.out_public, key.out_private, loaded)
            })
        });
        Self {
            tpm,
            srk,
            public,
            private,
            loaded,
        }
    }

    fn sign_with(ctx: &mut Context, handle: KeyHandle, scheme: SignatureScheme) {
        let digest = Digest::try_from(sha2::Sha256::digest(MESSAGE).to_vec()).expect("digest");
        let ticket = HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
            tag: TPM2_ST_HASHCHECK,
            hierarchy: TPM2_RH_NULL,
            digest: Default::default(),
        })
        .expect("ticket");
        black_box(ctx.sign(handle, digest, scheme, ticket).expect("sign"));
    }

    fn sign(&self, scheme: SignatureScheme) {
        let h = self.loaded;
        self.tpm.with_context(|ctx, _| {
            ctx.execute_with_session(Some(AuthSession::Password), |ctx| {
                Self::sign_with(ctx, h, scheme);
            });
        });
    }

    fn load_sign_flush(&self, scheme: SignatureScheme) {
        self.tpm.with_context(|ctx, _| {
            ctx.execute_with_session(Some(AuthSession::Password), |ctx| {
                let h = ctx
                    .load(self.srk, self.private.clone(), self.public.clone())
                    .expect("load");
                Self::sign_with(ctx, h, scheme);
                ctx.flush_context(h.into()).expect("flush");
            });
        });
    }

    /// Flushes what `new` left loaded.
    fn close(self, keep_loaded: bool) {
        self.tpm.with_context(|ctx, _| {
            if keep_loaded {
                ctx.flush_context(self.loaded.into()).expect("flush");
            }
        });
    }
}

fn manager_key(manager: &KeyManager, who: &Principal, rsa: bool) -> ObjectId {
    let mut common = Attributes::default();
    if rsa {
        common.cryptographic_algorithm = Some(CryptographicAlgorithm::Rsa);
        common.cryptographic_length = Some(2048);
    } else {
        common.cryptographic_algorithm = Some(CryptographicAlgorithm::Ec);
        common.recommended_curve = Some(RecommendedCurve::P256);
    }
    common.cryptographic_usage_mask = Some(UsageMask::SIGN | UsageMask::VERIFY);
    let ids = manager
        .create_key_pair(
            who,
            CreateKeyPairRequest {
                common_attributes: common,
                ..Default::default()
            },
        )
        .expect("create key pair");
    manager.activate(who, &ids.private_key).expect("activate");
    ids.private_key
}

fn backend_key(backend: &TpmBackend, rsa: bool) -> KeyRef {
    let id = ObjectId::random();
    let policy = KeyPolicy {
        id: &id,
        usage: UsageMask::SIGN,
        extractable: false,
    };
    let spec = if rsa {
        kms_core::backend::KeySpec::Rsa { bits: 2048 }
    } else {
        kms_core::backend::KeySpec::Ec {
            curve: RecommendedCurve::P256,
        }
    };
    match backend.generate(&spec, &policy).expect("generate") {
        kms_core::backend::GeneratedKey::KeyPair { private, .. } => private,
        kms_core::backend::GeneratedKey::Symmetric(_) => unreachable!("a pair was asked for"),
    }
}

fn bench(c: &mut Criterion) {
    let table = RatioTable::default();
    // One swtpm per connection: b for the cached backend and its raw peer, d for the uncached ones.
    let (b, d) = (Swtpm::start(), Swtpm::start());
    let cached = Arc::new(Tpm::connect(&b.tcti()).expect("connect b"));
    let uncached =
        Arc::new(Tpm::connect_with(&d.tcti(), TpmOptions { loaded_keys: 0 }).expect("connect d"));
    let backend = Arc::new(TpmBackend::new(cached.clone()));
    let backend_nc = TpmBackend::new(uncached.clone());
    let store = Arc::new(MemoryStore::new());
    let manager = KeyManager::builder(store.clone())
        .backend(backend.clone())
        .build()
        .expect("manager");
    let who = Principal::new("bench").expect("principal");

    for (order, rsa) in [(0, false), (1, true)] {
        let (name, alg, scheme) = if rsa {
            (
                "RSA-2048 PSS sign (SHA-256, 64 B)",
                SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
                SignatureScheme::RsaPss {
                    hash_scheme: HashScheme::new(TpmHash::Sha256),
                },
            )
        } else {
            (
                "ECDSA P-256 sign (SHA-256, 64 B)",
                SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
                SignatureScheme::EcDsa {
                    hash_scheme: HashScheme::new(TpmHash::Sha256),
                },
            )
        };
        // Each raw column shares its simulator with the backend column it is compared with. On b: the storage
        // key, the backend's one cached key and the raw loaded key fill the three object slots of the reference
        // implementation; on d every call loads and flushes.
        // The backend column signs with the manager's key (its KeyRef read from the store), so the two columns
        // share the one cached handle instead of evicting each other between interleaved rounds.
        let id = manager_key(&manager, &who, rsa);
        let key = store
            .get(&id)
            .expect("stored key")
            .key
            .expect("a key reference");
        let key_nc = backend_key(&backend_nc, rsa);
        cached.flush_cache();
        let raw_loaded = Raw::new(cached.clone(), rsa, true);
        let raw_flush = Raw::new(uncached.clone(), rsa, false);
        let signer = backend.signer().expect("signer");
        let signer_nc = backend_nc.signer().expect("signer");
        let before = (cached.cache_stats(), uncached.cache_stats());
        run_case(
            c,
            &table,
            order,
            name,
            Some(20),
            vec![
                (
                    "tss-esapi, key loaded",
                    Box::new(|| raw_loaded.sign(scheme)),
                ),
                (
                    "TpmBackend (cache)",
                    Box::new(|| {
                        black_box(
                            signer
                                .sign(&key, alg, SignInput::Message(&MESSAGE))
                                .expect("sign"),
                        );
                    }),
                ),
                (
                    "KeyManager -> TpmBackend (cache)",
                    Box::new(|| {
                        black_box(
                            manager
                                .sign(&who, &id, alg, SignInput::Message(&MESSAGE))
                                .expect("sign"),
                        );
                    }),
                ),
                (
                    "tss-esapi, load+sign+flush",
                    Box::new(|| raw_flush.load_sign_flush(scheme)),
                ),
                (
                    "TpmBackend (no cache)",
                    Box::new(|| {
                        black_box(
                            signer_nc
                                .sign(&key_nc, alg, SignInput::Message(&MESSAGE))
                                .expect("sign"),
                        );
                    }),
                ),
            ],
        );
        let after = (cached.cache_stats(), uncached.cache_stats());
        println!(
            "{name}: cached connection {} hits / {} loads, uncached connection {} loads",
            after.0.hits - before.0.hits,
            after.0.loads - before.0.loads,
            after.1.loads - before.1.loads,
        );
        raw_loaded.close(true);
        raw_flush.close(false);
        assert_eq!(cached.stray_objects().expect("count"), 0);
        assert_eq!(uncached.stray_objects().expect("count"), 0);
    }
    table.print();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
