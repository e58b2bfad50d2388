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
    let shares: Vec<shamir::ShareBytes> = parts
        .iter()
        .map(|p| {
            let mut s = Zeroizing::new(Vec::with_capacity(p.key_material.len() + 1));
            // Identifier bound checked above: at most split_key_parts, which fits u8 once split produced it.
            s.push(u8::try_from(p.key_part_identifier).unwrap_or(0));
            s.extend_from_slice(&p.key_material);
            s
        })
        .collect();
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
