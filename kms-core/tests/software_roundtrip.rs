//! Round trips through the software backend: every algorithm and mode, import/export in each canonical format,
//! the extractable policy, capabilities, destroy/exists and the parsed-key cache.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod software_common;

use kms_core::backend::{
    BackendError, CipherParams, GeneratedKey, HashingAlgorithm, KeyBackend, KeySpec, Operations,
    SignInput, SignatureAlgorithm, WrapAlgorithm,
};
use kms_core::object::{CryptographicAlgorithm, RecommendedCurve};
use kms_core::{KeyFormat, KeyRef, ObjectType, SoftwareBackend};
use rsa::Generate as _;
use software_common::{
    digest, ec, import, pair, policy, raw, rsa, rsa_2048_pkcs8, rsa_public_spki, symmetric,
};

const HASHES: [HashingAlgorithm; 4] = [
    HashingAlgorithm::Sha224,
    HashingAlgorithm::Sha256,
    HashingAlgorithm::Sha384,
    HashingAlgorithm::Sha512,
];

#[test]
fn aes_gcm_every_key_and_tag_size() {
    let b = SoftwareBackend::new();
    let cipher = b.cipher().unwrap();
    for bits in [128, 192, 256] {
        let key = symmetric(&b, CryptographicAlgorithm::Aes, bits);
        assert_eq!(b.export(&key).unwrap().bytes().len(), bits as usize / 8);
        for tag_len in 12..=16 {
            for plaintext in [&b""[..], b"x", &[7u8; 4096][..]] {
                let params = CipherParams::AesGcm {
                    iv: None,
                    aad: b"aad",
                    tag_len,
                };
                let out = cipher.encrypt(&key, &params, plaintext).unwrap();
                assert_eq!(out.data.len(), plaintext.len());
                assert_eq!(out.tag.as_ref().unwrap().len(), tag_len);
                let iv = out.iv.unwrap();
                assert_eq!(iv.len(), 12);
                let params = CipherParams::AesGcm {
                    iv: Some(&iv),
                    aad: b"aad",
                    tag_len,
                };
                let back = cipher
                    .decrypt(&key, &params, &out.data, out.tag.as_deref())
                    .unwrap();
                assert_eq!(&back[..], plaintext);
            }
        }
        // Fresh random IVs.
        let params = CipherParams::AesGcm {
            iv: None,
            aad: b"",
            tag_len: 16,
        };
        let a = cipher.encrypt(&key, &params, b"same").unwrap();
        let c = cipher.encrypt(&key, &params, b"same").unwrap();
        assert_ne!(a.iv, c.iv);
    }
}

#[test]
fn rsa_oaep_with_every_hash_label_and_mgf1() {
    let b = SoftwareBackend::new();
    let (private, public) = rsa(&b);
    let cipher = b.cipher().unwrap();
    let combos = [
        (HashingAlgorithm::Sha1, HashingAlgorithm::Sha1),
        (HashingAlgorithm::Sha224, HashingAlgorithm::Sha224),
        (HashingAlgorithm::Sha256, HashingAlgorithm::Sha256),
        (HashingAlgorithm::Sha384, HashingAlgorithm::Sha384),
        (HashingAlgorithm::Sha512, HashingAlgorithm::Sha512),
        (HashingAlgorithm::Sha256, HashingAlgorithm::Sha1),
    ];
    for (hash, mgf1_hash) in combos {
        for label in [None, Some(&b"label"[..])] {
            let params = CipherParams::RsaOaep {
                hash,
                mgf1_hash,
                label,
            };
            for encryptor in [&public, &private] {
                let out = cipher.encrypt(encryptor, &params, b"secret").unwrap();
                assert_eq!(out.data.len(), 256);
                assert!(out.iv.is_none() && out.tag.is_none());
                let back = cipher.decrypt(&private, &params, &out.data, None).unwrap();
                assert_eq!(&back[..], b"secret");
            }
        }
    }
    // Label and hashes are bound into the padding.
    let enc = CipherParams::RsaOaep {
        hash: HashingAlgorithm::Sha256,
        mgf1_hash: HashingAlgorithm::Sha256,
        label: Some(b"a"),
    };
    let out = cipher.encrypt(&public, &enc, b"secret").unwrap();
    for dec in [
        CipherParams::RsaOaep {
            hash: HashingAlgorithm::Sha256,
            mgf1_hash: HashingAlgorithm::Sha256,
            label: Some(b"b"),
        },
        CipherParams::RsaOaep {
            hash: HashingAlgorithm::Sha384,
            mgf1_hash: HashingAlgorithm::Sha384,
            label: Some(b"a"),
        },
    ] {
        assert!(matches!(
            cipher.decrypt(&private, &dec, &out.data, None),
            Err(BackendError::Crypto)
        ));
    }
}

fn sign_round_trip(
    b: &SoftwareBackend,
    private: &KeyRef,
    public: &KeyRef,
    alg: SignatureAlgorithm,
    h: HashingAlgorithm,
) {
    let signer = b.signer().unwrap();
    let msg = b"message to sign";
    let d = digest(h, msg);
    for input in [SignInput::Message(msg), SignInput::Digest(&d)] {
        let sig = signer.sign(private, alg, input).unwrap();
        // Either input form verifies the other's signature: they sign the same digest.
        for verify_input in [SignInput::Message(msg), SignInput::Digest(&d)] {
            signer.verify(public, alg, verify_input, &sig).unwrap();
            signer.verify(private, alg, verify_input, &sig).unwrap();
        }
        assert!(matches!(
            signer.verify(public, alg, SignInput::Message(b"another message"), &sig),
            Err(BackendError::Crypto)
        ));
    }
}

#[test]
fn rsa_pss_and_pkcs1v15_signatures() {
    let b = SoftwareBackend::new();
    let (private, public) = rsa(&b);
    for h in HASHES {
        sign_round_trip(&b, &private, &public, SignatureAlgorithm::RsaPss(h), h);
        sign_round_trip(&b, &private, &public, SignatureAlgorithm::RsaPkcs1v15(h), h);
    }
}

#[test]
fn ecdsa_p256_and_p384_signatures() {
    let b = SoftwareBackend::new();
    for curve in [RecommendedCurve::P256, RecommendedCurve::P384] {
        let (private, public) = ec(&b, curve);
        for h in HASHES {
            sign_round_trip(&b, &private, &public, SignatureAlgorithm::Ecdsa(h), h);
        }
        // DER Ecdsa-Sig-Value: SEQUENCE { r INTEGER, s INTEGER }.
        let sig = b
            .signer()
            .unwrap()
            .sign(
                &private,
                SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256),
                SignInput::Message(b"m"),
            )
            .unwrap();
        assert_eq!(sig[0], 0x30);
        assert_eq!(usize::from(sig[1]) + 2, sig.len());
    }
}

#[test]
fn hmac_every_hash_with_default_and_explicit_lengths() {
    let b = SoftwareBackend::new();
    let mac = b.mac().unwrap();
    for (algorithm, hash, out_len, block_bits) in [
        (
            CryptographicAlgorithm::HmacSha1,
            HashingAlgorithm::Sha1,
            20,
            512,
        ),
        (
            CryptographicAlgorithm::HmacSha224,
            HashingAlgorithm::Sha224,
            28,
            512,
        ),
        (
            CryptographicAlgorithm::HmacSha256,
            HashingAlgorithm::Sha256,
            32,
            512,
        ),
        (
            CryptographicAlgorithm::HmacSha384,
            HashingAlgorithm::Sha384,
            48,
            1024,
        ),
        (
            CryptographicAlgorithm::HmacSha512,
            HashingAlgorithm::Sha512,
            64,
            1024,
        ),
    ] {
        // Length 0 asks for the default: the hash output size.
        let key = symmetric(&b, algorithm, 0);
        assert_eq!(b.export(&key).unwrap().bytes().len(), out_len);
        let long = symmetric(&b, algorithm, block_bits);
        assert_eq!(
            b.export(&long).unwrap().bytes().len(),
            block_bits as usize / 8
        );
        for k in [&key, &long] {
            let tag = mac.mac(k, hash, b"data").unwrap();
            assert_eq!(tag.len(), out_len);
            mac.mac_verify(k, hash, b"data", &tag).unwrap();
            mac.mac_verify(k, hash, b"data", &tag[..16]).unwrap();
            assert!(matches!(
                mac.mac_verify(k, hash, b"datA", &tag),
                Err(BackendError::Crypto)
            ));
        }
    }
}

#[test]
fn key_wrap_every_algorithm_and_target() {
    let b = SoftwareBackend::new();
    let wrap = b.key_wrap().unwrap();
    let cipher = b.cipher().unwrap();
    let kek = symmetric(&b, CryptographicAlgorithm::Aes, 256);
    let aes = symmetric(&b, CryptographicAlgorithm::Aes, 128);
    let hmac = symmetric(&b, CryptographicAlgorithm::HmacSha384, 0);
    let secret = b
        .import(
            ObjectType::SecretData,
            None,
            &raw(b"a passphrase of 29 characters"),
            &policy(true),
        )
        .unwrap();
    let (ec_private, _) = ec(&b, RecommendedCurve::P256);
    let (rsa_private, rsa_public) = rsa(&b);

    let cases: [(
        &KeyRef,
        ObjectType,
        CryptographicAlgorithm,
        &[WrapAlgorithm],
    ); 4] = [
        (
            &aes,
            ObjectType::SymmetricKey,
            CryptographicAlgorithm::Aes,
            &[WrapAlgorithm::AesKeyWrap, WrapAlgorithm::AesKeyWrapPadded],
        ),
        (
            &hmac,
            ObjectType::SymmetricKey,
            CryptographicAlgorithm::HmacSha384,
            &[WrapAlgorithm::AesKeyWrap, WrapAlgorithm::AesKeyWrapPadded],
        ),
        (
            &secret,
            ObjectType::SecretData,
            CryptographicAlgorithm::Aes,
            &[WrapAlgorithm::AesKeyWrapPadded],
        ),
        (
            &ec_private,
            ObjectType::PrivateKey,
            CryptographicAlgorithm::Ec,
            &[WrapAlgorithm::AesKeyWrapPadded],
        ),
    ];
    for (target, object_type, key_algorithm, algorithms) in cases {
        for &algorithm in algorithms {
            let wrapped = wrap.wrap(&kek, algorithm, target).unwrap();
            let unwrapped = wrap
                .unwrap(
                    &kek,
                    algorithm,
                    &wrapped,
                    object_type,
                    key_algorithm,
                    &policy(true),
                )
                .unwrap();
            assert_eq!(
                b.export(&unwrapped).unwrap().bytes(),
                b.export(target).unwrap().bytes(),
                "{object_type:?} {algorithm:?}"
            );
        }
    }
    // The secret is 29 bytes: KW needs whole semiblocks.
    assert!(matches!(
        wrap.wrap(&kek, WrapAlgorithm::AesKeyWrap, &secret),
        Err(BackendError::InvalidInput(_))
    ));

    for hash in [
        HashingAlgorithm::Sha1,
        HashingAlgorithm::Sha256,
        HashingAlgorithm::Sha512,
    ] {
        for wrapping in [&rsa_public, &rsa_private] {
            let wrapped = wrap
                .wrap(wrapping, WrapAlgorithm::RsaOaep(hash), &aes)
                .unwrap();
            let unwrapped = wrap
                .unwrap(
                    &rsa_private,
                    WrapAlgorithm::RsaOaep(hash),
                    &wrapped,
                    ObjectType::SymmetricKey,
                    CryptographicAlgorithm::Aes,
                    &policy(false),
                )
                .unwrap();
            // The unwrapped key works as the original: what one encrypts the other decrypts.
            let params = CipherParams::AesGcm {
                iv: None,
                aad: b"",
                tag_len: 16,
            };
            let out = cipher.encrypt(&aes, &params, b"via unwrapped key").unwrap();
            let params = CipherParams::AesGcm {
                iv: out.iv.as_deref(),
                aad: b"",
                tag_len: 16,
            };
            let back = cipher
                .decrypt(&unwrapped, &params, &out.data, out.tag.as_deref())
                .unwrap();
            assert_eq!(&back[..], b"via unwrapped key");
            // It was unwrapped as non-extractable.
            assert!(matches!(
                b.export(&unwrapped),
                Err(BackendError::NotExtractable)
            ));
        }
    }
}

#[test]
fn ecdh_agrees_on_both_curves() {
    let b = SoftwareBackend::new();
    let agree = b.key_agreement().unwrap();
    for curve in [RecommendedCurve::P256, RecommendedCurve::P384] {
        let (a_private, a_public) = ec(&b, curve);
        let (b_private, b_public) = ec(&b, curve);
        let a_spki = b.export(&a_public).unwrap();
        let b_spki = b.export(&b_public).unwrap();
        let ab = agree
            .agree(&a_private, b_spki.bytes(), &policy(true))
            .unwrap();
        let ba = agree
            .agree(&b_private, a_spki.bytes(), &policy(true))
            .unwrap();
        let ab = b.export(&ab).unwrap();
        assert_eq!(ab.format(), KeyFormat::Raw);
        assert_eq!(ab.bytes(), b.export(&ba).unwrap().bytes());
        assert_eq!(
            ab.bytes().len(),
            if curve == RecommendedCurve::P256 {
                32
            } else {
                48
            }
        );
    }
    // Against the plain RustCrypto computation.
    let (a_private, _) = ec(&b, RecommendedCurve::P256);
    let peer = p256::SecretKey::try_generate_from_rng(&mut getrandom::SysRng).unwrap();
    use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};
    let peer_spki = peer.public_key().to_public_key_der().unwrap();
    let ours = agree
        .agree(&a_private, peer_spki.as_bytes(), &policy(true))
        .unwrap();
    let a = p256::SecretKey::from_pkcs8_der(b.export(&a_private).unwrap().bytes()).unwrap();
    let expected = p256::ecdh::diffie_hellman(peer.to_nonzero_scalar(), a.public_key().as_affine());
    assert_eq!(
        b.export(&ours).unwrap().bytes(),
        &expected.raw_secret_bytes()[..]
    );
}

#[test]
fn random_bytes_differ() {
    let b = SoftwareBackend::new();
    let (mut x, mut y) = ([0u8; 64], [0u8; 64]);
    b.random().unwrap().fill_random(&mut x).unwrap();
    b.random().unwrap().fill_random(&mut y).unwrap();
    assert_ne!(x, y);
    assert_ne!(x, [0u8; 64]);
}

#[test]
fn import_export_in_every_canonical_format() {
    let b = SoftwareBackend::new();
    let check = |object_type, algorithm, format, bytes: &[u8]| {
        let k = import(&b, object_type, algorithm, format, bytes, true);
        let m = b.export(&k).unwrap();
        assert_eq!(m.format(), format, "{object_type:?}");
        assert_eq!(m.bytes(), bytes, "{object_type:?}");
    };
    check(
        ObjectType::SymmetricKey,
        Some(CryptographicAlgorithm::Aes),
        KeyFormat::Raw,
        &[1; 16],
    );
    check(
        ObjectType::SymmetricKey,
        Some(CryptographicAlgorithm::Aes),
        KeyFormat::Raw,
        &[2; 24],
    );
    check(
        ObjectType::SymmetricKey,
        Some(CryptographicAlgorithm::Aes),
        KeyFormat::Raw,
        &[3; 32],
    );
    check(
        ObjectType::SymmetricKey,
        Some(CryptographicAlgorithm::HmacSha256),
        KeyFormat::Raw,
        b"Jefe",
    );
    check(ObjectType::SecretData, None, KeyFormat::Raw, b"password");
    check(
        ObjectType::OpaqueObject,
        None,
        KeyFormat::Raw,
        b"\x00opaque\xff",
    );

    // PKCS#8 and SPKI from the RustCrypto encoders come back byte for byte.
    let pkcs8 = rsa_2048_pkcs8();
    check(
        ObjectType::PrivateKey,
        Some(CryptographicAlgorithm::Rsa),
        KeyFormat::Pkcs8,
        pkcs8,
    );
    check(ObjectType::PrivateKey, None, KeyFormat::Pkcs8, pkcs8);
    check(
        ObjectType::PublicKey,
        Some(CryptographicAlgorithm::Rsa),
        KeyFormat::SubjectPublicKeyInfo,
        &rsa_public_spki(pkcs8),
    );
    {
        use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
        let k = p256::SecretKey::try_generate_from_rng(&mut getrandom::SysRng).unwrap();
        check(
            ObjectType::PrivateKey,
            Some(CryptographicAlgorithm::Ecdsa),
            KeyFormat::Pkcs8,
            k.to_pkcs8_der().unwrap().as_bytes(),
        );
        check(
            ObjectType::PublicKey,
            Some(CryptographicAlgorithm::Ec),
            KeyFormat::SubjectPublicKeyInfo,
            k.public_key().to_public_key_der().unwrap().as_bytes(),
        );
        let k = p384::SecretKey::try_generate_from_rng(&mut getrandom::SysRng).unwrap();
        check(
            ObjectType::PrivateKey,
            Some(CryptographicAlgorithm::Ecdh),
            KeyFormat::Pkcs8,
            k.to_pkcs8_der().unwrap().as_bytes(),
        );
        check(
            ObjectType::PublicKey,
            None,
            KeyFormat::SubjectPublicKeyInfo,
            k.public_key().to_public_key_der().unwrap().as_bytes(),
        );
    }
    check(
        ObjectType::Certificate,
        None,
        KeyFormat::X509Certificate,
        include_bytes!("vectors/selfsigned_p256.der"),
    );

    // Generated pairs export as PKCS#8 and SPKI that RustCrypto reads.
    let (private, public) = ec(&b, RecommendedCurve::P384);
    use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
    let sk = p384::SecretKey::from_pkcs8_der(b.export(&private).unwrap().bytes()).unwrap();
    let pk = p384::PublicKey::from_public_key_der(b.export(&public).unwrap().bytes()).unwrap();
    assert_eq!(sk.public_key(), pk);
}

#[test]
fn rsa_generation_every_size() {
    use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
    use rsa::traits::PublicKeyParts;
    let b = SoftwareBackend::new();
    for bits in [2048u32, 3072, 4096] {
        let (private, public) = pair(&b, KeySpec::Rsa { bits });
        let sk = rsa::PrivateKey::from_pkcs8_der(b.export(&private).unwrap().bytes()).unwrap();
        let pk = rsa::PublicKey::from_public_key_der(b.export(&public).unwrap().bytes()).unwrap();
        assert_eq!(sk.size() * 8, bits as usize);
        assert_eq!(pk.e(), &rsa::BoxedUint::from(65537u32));
        assert_eq!(sk.as_public_key(), &pk);
        let sig = b
            .signer()
            .unwrap()
            .sign(
                &private,
                SignatureAlgorithm::RsaPss(HashingAlgorithm::Sha256),
                SignInput::Message(b"m"),
            )
            .unwrap();
        assert_eq!(sig.len(), bits as usize / 8);
    }
}

#[test]
fn non_extractable_keys_stay_in() {
    let b = SoftwareBackend::new();
    let spec = KeySpec::Symmetric {
        algorithm: CryptographicAlgorithm::Aes,
        bits: 256,
    };
    let GeneratedKey::Symmetric(aes) = b.generate(&spec, &policy(false)).unwrap() else {
        panic!()
    };
    assert!(matches!(b.export(&aes), Err(BackendError::NotExtractable)));
    let GeneratedKey::KeyPair { private, public } = b
        .generate(
            &KeySpec::Ec {
                curve: RecommendedCurve::P256,
            },
            &policy(false),
        )
        .unwrap()
    else {
        panic!()
    };
    assert!(matches!(
        b.export(&private),
        Err(BackendError::NotExtractable)
    ));
    // The public half is never secret.
    assert_eq!(
        b.export(&public).unwrap().format(),
        KeyFormat::SubjectPublicKeyInfo
    );
    let imported = b
        .import(
            ObjectType::SecretData,
            None,
            &raw(b"secret"),
            &policy(false),
        )
        .unwrap();
    assert!(matches!(
        b.export(&imported),
        Err(BackendError::NotExtractable)
    ));
    // Nor does it leave wrapped.
    let kek = symmetric(&b, CryptographicAlgorithm::Aes, 256);
    let wrap = b.key_wrap().unwrap();
    for (target, alg) in [
        (&aes, WrapAlgorithm::AesKeyWrap),
        (&private, WrapAlgorithm::AesKeyWrapPadded),
    ] {
        assert!(matches!(
            wrap.wrap(&kek, alg, target),
            Err(BackendError::NotExtractable)
        ));
    }
    // It is still usable.
    let params = CipherParams::AesGcm {
        iv: None,
        aad: b"",
        tag_len: 16,
    };
    b.cipher().unwrap().encrypt(&aes, &params, b"x").unwrap();
}

#[test]
fn capabilities_match_what_the_backend_does() {
    let b = SoftwareBackend::new();
    assert_eq!(b.id(), "software");
    let caps = b.capabilities();
    assert!(caps.random);
    for c in &caps.algorithms {
        if !c.operations.contains(Operations::GENERATE) {
            continue;
        }
        for &bits in &c.lengths {
            let spec = match c.algorithm {
                CryptographicAlgorithm::Rsa => continue, // rsa_generation_every_size
                CryptographicAlgorithm::Ec
                | CryptographicAlgorithm::Ecdsa
                | CryptographicAlgorithm::Ecdh => KeySpec::Ec {
                    curve: if bits == 256 {
                        RecommendedCurve::P256
                    } else {
                        RecommendedCurve::P384
                    },
                },
                algorithm => KeySpec::Symmetric { algorithm, bits },
            };
            b.generate(&spec, &policy(true))
                .unwrap_or_else(|e| panic!("{:?} {bits}: {e}", c.algorithm));
        }
    }
    assert!(caps.supports(
        CryptographicAlgorithm::Aes,
        Some(256),
        Operations::ENCRYPT | Operations::WRAP
    ));
    assert!(caps.supports(
        CryptographicAlgorithm::Rsa,
        Some(3072),
        Operations::SIGN | Operations::DECRYPT
    ));
    assert!(caps.supports(
        CryptographicAlgorithm::Ecdh,
        Some(384),
        Operations::KEY_AGREEMENT
    ));
    assert!(caps.supports(
        CryptographicAlgorithm::HmacSha512,
        None,
        Operations::MAC_VERIFY
    ));
    assert!(!caps.supports(CryptographicAlgorithm::Aes, Some(256), Operations::SIGN));
    assert!(!caps.supports(CryptographicAlgorithm::Rsa, Some(1024), Operations::SIGN));
    assert!(!caps.supports(CryptographicAlgorithm::ChaCha20, None, Operations::ENCRYPT));
    assert!(b.cipher().is_some() && b.signer().is_some() && b.mac().is_some());
    assert!(b.key_wrap().is_some() && b.key_agreement().is_some() && b.random().is_some());
}

#[test]
fn destroy_and_exists() {
    let b = SoftwareBackend::new();
    let (private, public) = ec(&b, RecommendedCurve::P256);
    let signer = b.signer().unwrap();
    let alg = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);
    let sig = signer
        .sign(&private, alg, SignInput::Message(b"m"))
        .unwrap();
    assert!(b.exists(&private).unwrap());
    b.destroy(&private).unwrap();
    b.destroy(&private).unwrap(); // destroying twice is not an error
    signer
        .verify(&public, alg, SignInput::Message(b"m"), &sig)
        .unwrap();
    let damaged = KeyRef::new("software", 1, zeroize::Zeroizing::new(vec![99, 0, 0]));
    assert!(!b.exists(&damaged).unwrap());
}

#[test]
fn the_key_cache_is_bounded_and_optional() {
    for capacity in [0, 1, 2] {
        let b = SoftwareBackend::with_cache_capacity(capacity);
        let keys: Vec<_> = (0..3).map(|_| ec(&b, RecommendedCurve::P256)).collect();
        let alg = SignatureAlgorithm::Ecdsa(HashingAlgorithm::Sha256);
        let signer = b.signer().unwrap();
        // Round-robin over more keys than the cache holds: every signature must still be by the right key.
        for _ in 0..3 {
            for (private, public) in &keys {
                let sig = signer.sign(private, alg, SignInput::Message(b"m")).unwrap();
                signer
                    .verify(public, alg, SignInput::Message(b"m"), &sig)
                    .unwrap();
            }
        }
        assert!(format!("{b:?}").contains(&format!("cached_keys: {}", capacity.min(6))));
        // AES-GCM instances share the cache: the right key is used after evictions too.
        let aes: Vec<_> = (0..3)
            .map(|_| symmetric(&b, CryptographicAlgorithm::Aes, 256))
            .collect();
        let cipher = b.cipher().unwrap();
        for _ in 0..2 {
            for (i, k) in aes.iter().enumerate() {
                let p = CipherParams::AesGcm {
                    iv: None,
                    aad: b"",
                    tag_len: 16,
                };
                let out = cipher.encrypt(k, &p, b"which key").unwrap();
                let p = CipherParams::AesGcm {
                    iv: out.iv.as_deref(),
                    aad: b"",
                    tag_len: 16,
                };
                for (j, other) in aes.iter().enumerate() {
                    let r = cipher.decrypt(other, &p, &out.data, out.tag.as_deref());
                    assert_eq!(r.is_ok(), i == j, "capacity {capacity}: key {i} vs {j}");
                }
            }
        }
    }
}
