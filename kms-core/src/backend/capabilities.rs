//! What a backend can do, as data.

use bitflags::bitflags;

use crate::object::CryptographicAlgorithm;

bitflags! {
    /// Operations a backend performs with keys of one algorithm.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Operations: u32 {
        /// Generate keys.
        const GENERATE = 1 << 0;
        /// Import (register) existing material.
        const IMPORT = 1 << 1;
        /// Export extractable keys.
        const EXPORT = 1 << 2;
        /// Encrypt.
        const ENCRYPT = 1 << 3;
        /// Decrypt.
        const DECRYPT = 1 << 4;
        /// Sign.
        const SIGN = 1 << 5;
        /// Verify.
        const VERIFY = 1 << 6;
        /// Compute a MAC.
        const MAC = 1 << 7;
        /// Verify a MAC.
        const MAC_VERIFY = 1 << 8;
        /// Wrap other keys.
        const WRAP = 1 << 9;
        /// Unwrap keys.
        const UNWRAP = 1 << 10;
        /// Key agreement.
        const KEY_AGREEMENT = 1 << 11;
    }
}

/// One algorithm a backend handles: the key lengths and the operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capability {
    /// The key algorithm.
    pub algorithm: CryptographicAlgorithm,
    /// The key lengths in bits it handles for this algorithm.
    pub lengths: Vec<u32>,
    /// What it does with such keys.
    pub operations: Operations,
}

/// Everything a backend can do, and whether it gives random bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// One entry per algorithm.
    pub algorithms: Vec<Capability>,
    /// Whether [`KeyBackend::random`](super::KeyBackend::random) is available.
    pub random: bool,
}

impl Capabilities {
    /// Whether the backend performs `operations` on `algorithm` keys of `bits` (any length when `None`).
    #[must_use]
    pub fn supports(
        &self,
        algorithm: CryptographicAlgorithm,
        bits: Option<u32>,
        operations: Operations,
    ) -> bool {
        self.algorithms.iter().any(|c| {
            c.algorithm == algorithm
                && c.operations.contains(operations)
                && bits.is_none_or(|b| c.lengths.contains(&b))
        })
    }
}
