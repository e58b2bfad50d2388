//! KMIP split keys (KMIP 2.1 §2.2.6 "Split Key", §6.1.9 Create Split Key, §6.1.27 Join Split Key) as plain Rust
//! types, backed by the same GF(2^8) Shamir code as escrow. The KMIP service maps these to TTLV.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{EscrowError, Result};
use crate::shamir;

/// KMIP Split Key Method enumeration (KMIP 2.1 §11.46).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u32)]
pub enum SplitKeyMethod {
    /// XOR (not produced here).
    Xor = 0x0000_0001,
    /// Polynomial Sharing GF(2^16) (not produced here).
    PolynomialSharingGf2_16 = 0x0000_0002,
    /// Polynomial Sharing Prime Field (not produced here).
    PolynomialSharingPrimeField = 0x0000_0003,
    /// Polynomial Sharing GF(2^8): Shamir over GF(2^8) with the AES polynomial, the method implemented here.
    PolynomialSharingGf2_8 = 0x0000_0004,
}

impl TryFrom<u32> for SplitKeyMethod {
    type Error = EscrowError;

    fn try_from(v: u32) -> Result<Self> {
        Ok(match v {
            1 => Self::Xor,
            2 => Self::PolynomialSharingGf2_16,
            3 => Self::PolynomialSharingPrimeField,
            4 => Self::PolynomialSharingGf2_8,
            _ => {
                return Err(EscrowError::invalid(
                    "Split Key Method",
                    format!("unknown value {v:#x}"),
                ));
            }
        })
    }
}

/// One part of a split key: KMIP's Split Key object.
#[derive(Clone, PartialEq, Eq)]
pub struct SplitKeyPart {
    /// Split Key Parts: total number of parts (N).
    pub split_key_parts: u32,
    /// Key Part Identifier: this part's abscissa, 1..=N.
    pub key_part_identifier: u32,
    /// Split Key Threshold: parts needed to join (M).
    pub split_key_threshold: u32,
    /// Split Key Method.
    pub split_key_method: SplitKeyMethod,
    /// The part's key material: the ordinates, one byte per byte of the secret.
    pub key_material: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for SplitKeyPart {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SplitKeyPart")
            .field("split_key_parts", &self.split_key_parts)
            .field("key_part_identifier", &self.key_part_identifier)
            .field("split_key_threshold", &self.split_key_threshold)
            .field("split_key_method", &self.split_key_method)
            .field("key_material", &"<redacted>")
            .finish()
    }
}

/// Create Split Key: splits `secret` into `parts` parts, any `threshold` of which join to it.
///
/// # Errors
/// [`EscrowError::Invalid`] unless `2 <= threshold <= parts <= 255` and the secret is 1 to 64 KiB.
pub fn split(secret: &[u8], threshold: u32, parts: u32) -> Result<Vec<SplitKeyPart>> {
    let m = u8::try_from(threshold)
        .map_err(|_| EscrowError::invalid("Split Key Threshold", "above 255"))?;
    let n =
        u8::try_from(parts).map_err(|_| EscrowError::invalid("Split Key Parts", "above 255"))?;
    let shares = shamir::split(m, n, secret)?;
    Ok(shares
        .into_iter()
        .map(|share| SplitKeyPart {
            split_key_parts: parts,
            key_part_identifier: u32::from(share[0]),
            split_key_threshold: threshold,
            split_key_method: SplitKeyMethod::PolynomialSharingGf2_8,
            key_material: Zeroizing::new(share[1..].to_vec()),
        })
        .collect())
}

/// Join Split Key: recombines parts of one split.
///
/// Shamir sharing carries no integrity: parts that are consistent in their fields but hold wrong material join
/// to a wrong secret. Escrow adds a key check value for that reason; KMIP callers rely on the key's own checks.
///
/// # Errors
/// [`EscrowError::Invalid`] if the parts disagree on N, M or the method, use a method other than Polynomial
/// Sharing GF(2^8), repeat an identifier, are fewer than the threshold or differ in length.
pub fn join(parts: &[SplitKeyPart]) -> Result<Zeroizing<Vec<u8>>> {
    let first = parts
        .first()
        .ok_or_else(|| EscrowError::invalid("Split Key", "no parts"))?;
    if first.split_key_method != SplitKeyMethod::PolynomialSharingGf2_8 {
        return Err(EscrowError::invalid(
            "Split Key Method",
            "only Polynomial Sharing GF(2^8) is supported",
        ));
    }
    for p in parts {
        if p.split_key_parts != first.split_key_parts
            || p.split_key_threshold != first.split_key_threshold
            || p.split_key_method != first.split_key_method
        {
            return Err(EscrowError::invalid(
                "Split Key",
                "parts come from different splits",
            ));
        }
        if p.key_part_identifier == 0 || p.key_part_identifier > p.split_key_parts {
            return Err(EscrowError::invalid(
                "Key Part Identifier",
                "outside 1..=Split Key Parts",
            ));
        }
    }
    let threshold = usize::try_from(first.split_key_threshold).unwrap_or(usize::MAX);
    if parts.len() < threshold {
        return Err(EscrowError::invalid(
            "Split Key",
            format!(
                "{} parts given, threshold is {}",
                parts.len(),
                first.split_key_threshold
            ),
        ));
    }
    let shares: Zeroizing<Vec<Vec<u8>>> = Zeroizing::new(
        parts
            .iter()
            .map(|p| {
                let mut s = Vec::with_capacity(p.key_material.len() + 1);
                // Identifier bound checked above: at most split_key_parts, which fits u8 once split produced it.
                s.push(u8::try_from(p.key_part_identifier).unwrap_or(0));
                s.extend_from_slice(&p.key_material);
                s
            })
            .collect(),
    );
    shamir::combine(&shares)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn split_join_round_trip_with_kmip_fields() {
        let secret = [0x42u8; 32];
        let parts = split(&secret, 3, 5).unwrap();
        assert_eq!(parts.len(), 5);
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p.key_part_identifier, u32::try_from(i + 1).unwrap());
            assert_eq!(p.split_key_parts, 5);
            assert_eq!(p.split_key_threshold, 3);
            assert_eq!(p.split_key_method as u32, 4);
            assert_eq!(p.key_material.len(), 32);
        }
        assert_eq!(&join(&parts[1..4]).unwrap()[..], &secret);
        assert_eq!(
            &join(&[parts[4].clone(), parts[0].clone(), parts[2].clone()]).unwrap()[..],
            &secret
        );
    }

    /// Parts computed by hand outside this code: f(x) = s + a1*x + a2*x^2 per byte over GF(2^8) with the AES
    /// reduction polynomial x^8 + x^4 + x^3 + x + 1 (as Vault's and most GF(2^8) Shamir tools use), secret
    /// "KMIP", a1 = 17 a5 3c ee, a2 = 81 02 ff 5d. Any three parts must join to the secret.
    #[test]
    fn join_matches_hand_computed_polynomial_sharing_gf2_8() {
        let parts: Vec<SplitKeyPart> = [
            (1, "ddea8ae3"),
            (2, "5714e0f8"),
            (3, "c1b3234b"),
            (4, "dfcfd062"),
            (5, "496813d1"),
        ]
        .iter()
        .map(|(x, y)| SplitKeyPart {
            split_key_parts: 5,
            key_part_identifier: *x,
            split_key_threshold: 3,
            split_key_method: SplitKeyMethod::PolynomialSharingGf2_8,
            key_material: Zeroizing::new(hex::decode(y).unwrap()),
        })
        .collect();
        for pick in [[0, 1, 2], [0, 2, 4], [1, 3, 4], [2, 3, 4]] {
            let chosen: Vec<_> = pick.iter().map(|&i| parts[i].clone()).collect();
            assert_eq!(&join(&chosen).unwrap()[..], b"KMIP");
        }
        // Two parts of a degree-2 polynomial give something else (and no error: Shamir has no integrity).
        let two = [parts[0].clone(), parts[1].clone()];
        let mut two_of_three = two.to_vec();
        for p in &mut two_of_three {
            p.split_key_threshold = 2;
        }
        assert_ne!(&join(&two_of_three).unwrap()[..], b"KMIP");
    }

    proptest::proptest! {
        #[test]
        fn any_threshold_subset_joins(
            secret in proptest::collection::vec(proptest::num::u8::ANY, 1..64),
            n in 2u32..12,
            m_seed in 0u32..100,
            order_seed in 0u64..1000,
        ) {
            let m = 2 + m_seed % (n - 1);
            let mut parts = split(&secret, m, n).unwrap();
            // A deterministic shuffle, then the first m parts.
            let len = parts.len();
            for i in 0..len {
                let j = usize::try_from((order_seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64)) % len as u64).unwrap();
                parts.swap(i, j);
            }
            let joined = join(&parts[..usize::try_from(m).unwrap()]).unwrap();
            proptest::prop_assert_eq!(&joined[..], &secret[..]);
        }
    }

    #[test]
    fn join_refuses_inconsistent_parts() {
        let parts = split(b"secret key", 2, 3).unwrap();
        assert!(join(&parts[..1]).is_err());
        let mut other = parts[1].clone();
        other.split_key_threshold = 3;
        assert!(join(&[parts[0].clone(), other]).is_err());
        let mut xor = parts[1].clone();
        xor.split_key_method = SplitKeyMethod::Xor;
        assert!(join(&[xor, parts[0].clone()]).is_err());
        let mut zero = parts[1].clone();
        zero.key_part_identifier = 0;
        assert!(join(&[parts[0].clone(), zero]).is_err());
        assert!(split(b"k", 2, 256).is_err());
        assert!(format!("{:?}", parts[0]).contains("redacted"));
        assert_eq!(
            SplitKeyMethod::try_from(4).unwrap(),
            SplitKeyMethod::PolynomialSharingGf2_8
        );
        assert!(SplitKeyMethod::try_from(9).is_err());
    }
}
