//! Capability probing: what the token says it can do (C_GetMechanismList, C_GetMechanismInfo), as
//! [`Capabilities`] for the key manager and KMIP Query.

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::{MechanismInfo, MechanismType};
use cryptoki::slot::Slot;
use kms_core::backend::{Capabilities, Capability, HashingAlgorithm, Operations};
use kms_core::object::CryptographicAlgorithm;

/// The mechanisms of the token with their info.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mechanisms {
    info: Vec<(MechanismType, MechanismInfo)>,
}

impl Mechanisms {
    pub(crate) fn probe(ctx: &Pkcs11, slot: Slot) -> Result<Self, cryptoki::error::Error> {
        let mut info = Vec::new();
        for m in ctx.get_mechanism_list(slot)? {
            // A mechanism the token lists but cannot describe is treated as absent.
            if let Ok(i) = ctx.get_mechanism_info(slot, m) {
                info.push((m, i));
            }
        }
        Ok(Self { info })
    }

    pub(crate) fn get(&self, m: MechanismType) -> Option<&MechanismInfo> {
        self.info.iter().find(|(t, _)| *t == m).map(|(_, i)| i)
    }

    pub(crate) fn has(&self, m: MechanismType, op: impl Fn(&MechanismInfo) -> bool) -> bool {
        self.get(m).is_some_and(op)
    }

    /// Key sizes (bits) out of `candidates` within the mechanism's range; `unit_bytes` for mechanisms that count
    /// in bytes (AES, generic secrets: PKCS#11 §2.1 of the mechanisms specification).
    fn sizes(&self, m: MechanismType, candidates: &[u32], unit_bytes: bool) -> Vec<u32> {
        let Some(i) = self.get(m) else {
            return Vec::new();
        };
        let (min, max) = (i.min_key_size(), i.max_key_size());
        candidates
            .iter()
            .copied()
            .filter(|&bits| {
                let n = if unit_bytes {
                    (bits / 8) as usize
                } else {
                    bits as usize
                };
                n >= min && n <= max
            })
            .collect()
    }

    /// Names of the mechanisms, for logs.
    pub(crate) fn len(&self) -> usize {
        self.info.len()
    }
}

pub(crate) fn hmac_mechanism(h: HashingAlgorithm) -> MechanismType {
    match h {
        HashingAlgorithm::Sha1 => MechanismType::SHA1_HMAC,
        HashingAlgorithm::Sha224 => MechanismType::SHA224_HMAC,
        HashingAlgorithm::Sha256 => MechanismType::SHA256_HMAC,
        HashingAlgorithm::Sha384 => MechanismType::SHA384_HMAC,
        HashingAlgorithm::Sha512 => MechanismType::SHA512_HMAC,
    }
}

pub(crate) fn hmac_algorithm(h: HashingAlgorithm) -> CryptographicAlgorithm {
    match h {
        HashingAlgorithm::Sha1 => CryptographicAlgorithm::HmacSha1,
        HashingAlgorithm::Sha224 => CryptographicAlgorithm::HmacSha224,
        HashingAlgorithm::Sha256 => CryptographicAlgorithm::HmacSha256,
        HashingAlgorithm::Sha384 => CryptographicAlgorithm::HmacSha384,
        HashingAlgorithm::Sha512 => CryptographicAlgorithm::HmacSha512,
    }
}

/// HMAC key sizes in bits: (hash output, hash block), as RFC 2104 advises.
pub(crate) fn hmac_sizes(h: HashingAlgorithm) -> (u32, u32) {
    match h {
        HashingAlgorithm::Sha1 => (160, 512),
        HashingAlgorithm::Sha224 => (224, 512),
        HashingAlgorithm::Sha256 => (256, 512),
        HashingAlgorithm::Sha384 => (384, 1024),
        HashingAlgorithm::Sha512 => (512, 1024),
    }
}

pub(crate) const HASHES: [HashingAlgorithm; 5] = [
    HashingAlgorithm::Sha1,
    HashingAlgorithm::Sha224,
    HashingAlgorithm::Sha256,
    HashingAlgorithm::Sha384,
    HashingAlgorithm::Sha512,
];

/// What the backend offers on this token: an operation is listed only when the token has every mechanism the
/// backend uses for it, with the right flags.
pub(crate) fn capabilities(m: &Mechanisms, rng: bool) -> Capabilities {
    type M = MechanismType;
    let mut algorithms = Vec::new();
    // Import and export move keys wrapped under a one-time AES key (KWP); without it, neither is offered.
    let kwp_unwrap =
        m.has(M::AES_KEY_WRAP_PAD, MechanismInfo::unwrap) && m.has(M::AES_KEY_GEN, |_| true);
    let kwp_wrap = m.has(M::AES_KEY_WRAP_PAD, MechanismInfo::wrap);

    // AES
    let mut ops = Operations::empty();
    let gen_sizes = m.sizes(M::AES_KEY_GEN, &[128, 192, 256], true);
    if m.has(M::AES_KEY_GEN, MechanismInfo::generate) {
        ops |= Operations::GENERATE;
    }
    if kwp_unwrap {
        ops |= Operations::IMPORT;
    }
    if kwp_wrap {
        ops |= Operations::EXPORT;
    }
    if m.has(M::AES_GCM, MechanismInfo::encrypt) {
        ops |= Operations::ENCRYPT;
    }
    if m.has(M::AES_GCM, MechanismInfo::decrypt) {
        ops |= Operations::DECRYPT;
    }
    if m.has(M::AES_KEY_WRAP, MechanismInfo::wrap) || kwp_wrap {
        ops |= Operations::WRAP;
    }
    if m.has(M::AES_KEY_WRAP, MechanismInfo::unwrap)
        || m.has(M::AES_KEY_WRAP_PAD, MechanismInfo::unwrap)
    {
        ops |= Operations::UNWRAP;
    }
    if !ops.is_empty() && !gen_sizes.is_empty() {
        algorithms.push(Capability {
            algorithm: CryptographicAlgorithm::Aes,
            lengths: gen_sizes,
            operations: ops,
        });
    }

    // RSA
    let mut ops = Operations::empty();
    let rsa_sizes = m.sizes(M::RSA_PKCS_KEY_PAIR_GEN, &[2048, 3072, 4096], false);
    if m.has(M::RSA_PKCS_KEY_PAIR_GEN, MechanismInfo::generate_key_pair) {
        ops |= Operations::GENERATE;
    }
    if kwp_unwrap {
        ops |= Operations::IMPORT;
    }
    if kwp_wrap {
        ops |= Operations::EXPORT;
    }
    if m.has(M::RSA_PKCS, MechanismInfo::sign) || m.has(M::RSA_PKCS_PSS, MechanismInfo::sign) {
        ops |= Operations::SIGN;
    }
    if m.has(M::RSA_PKCS, MechanismInfo::verify) || m.has(M::RSA_PKCS_PSS, MechanismInfo::verify) {
        ops |= Operations::VERIFY;
    }
    if m.has(M::RSA_PKCS_OAEP, MechanismInfo::encrypt) {
        ops |= Operations::ENCRYPT;
    }
    if m.has(M::RSA_PKCS_OAEP, MechanismInfo::decrypt) {
        ops |= Operations::DECRYPT;
    }
    if m.has(M::RSA_PKCS_OAEP, MechanismInfo::wrap) {
        ops |= Operations::WRAP;
    }
    if m.has(M::RSA_PKCS_OAEP, MechanismInfo::unwrap) {
        ops |= Operations::UNWRAP;
    }
    if !ops.is_empty() && !rsa_sizes.is_empty() {
        algorithms.push(Capability {
            algorithm: CryptographicAlgorithm::Rsa,
            lengths: rsa_sizes,
            operations: ops,
        });
    }

    // EC (ECDSA; the curves this backend encodes)
    let mut ops = Operations::empty();
    let ec_sizes = m.sizes(M::ECC_KEY_PAIR_GEN, &[256, 384], false);
    if m.has(M::ECC_KEY_PAIR_GEN, MechanismInfo::generate_key_pair) {
        ops |= Operations::GENERATE;
    }
    if kwp_unwrap {
        ops |= Operations::IMPORT;
    }
    if kwp_wrap {
        ops |= Operations::EXPORT;
    }
    if m.has(M::ECDSA, MechanismInfo::sign) {
        ops |= Operations::SIGN;
    }
    if m.has(M::ECDSA, MechanismInfo::verify) {
        ops |= Operations::VERIFY;
    }
    if !ops.is_empty() && !ec_sizes.is_empty() {
        for algorithm in [CryptographicAlgorithm::Ec, CryptographicAlgorithm::Ecdsa] {
            algorithms.push(Capability {
                algorithm,
                lengths: ec_sizes.clone(),
                operations: ops,
            });
        }
    }

    // HMAC over generic secrets
    for h in HASHES {
        let mech = hmac_mechanism(h);
        let mut ops = Operations::empty();
        if m.has(M::GENERIC_SECRET_KEY_GEN, MechanismInfo::generate) {
            ops |= Operations::GENERATE;
        }
        if kwp_unwrap {
            ops |= Operations::IMPORT;
        }
        if kwp_wrap {
            ops |= Operations::EXPORT;
        }
        if m.has(mech, MechanismInfo::sign) {
            ops |= Operations::MAC;
        }
        if m.has(mech, MechanismInfo::verify) {
            ops |= Operations::MAC_VERIFY;
        }
        if !ops.contains(Operations::MAC) {
            continue;
        }
        let (output, block) = hmac_sizes(h);
        let candidates: Vec<u32> = [output, 256, 384, 512, 1024]
            .into_iter()
            .filter(|l| (output..=block).contains(l))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let lengths = m.sizes(mech, &candidates, true);
        if lengths.is_empty() {
            continue;
        }
        algorithms.push(Capability {
            algorithm: hmac_algorithm(h),
            lengths,
            operations: ops,
        });
    }
    Capabilities {
        algorithms,
        random: rng,
    }
}
