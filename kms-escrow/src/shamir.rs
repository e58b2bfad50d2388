//! Shamir secret sharing over GF(2^8), through vsss-rs 6 (constant-time field arithmetic, uniform coefficients).
//!
//! A share is `x || y`: one byte of abscissa (1..=255) then one byte of ordinate per byte of secret. Everything
//! that holds share or secret bytes here is a `Zeroizing` buffer; vsss-rs returns plain `Vec`s, which are moved
//! into `Zeroizing` at once so that they are wiped when dropped.

use vsss_rs::Gf256;
use zeroize::Zeroizing;

use crate::error::{EscrowError, Result};

/// Largest secret that is split (bounds memory and time: each byte costs one polynomial).
pub const MAX_SECRET_LEN: usize = 64 * 1024;
/// Largest number of shares: GF(2^8) has 255 non-zero abscissas.
pub const MAX_SHARES: u8 = 255;

/// One share: abscissa then ordinates.
pub(crate) type ShareBytes = Zeroizing<Vec<u8>>;

/// Splits `secret` into `count` shares of which any `threshold` reconstruct it. Share `i` (0-based) has
/// abscissa `i + 1`.
pub(crate) fn split(threshold: u8, count: u8, secret: &[u8]) -> Result<Vec<ShareBytes>> {
    if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
        return Err(EscrowError::invalid(
            "secret",
            format!("length must be 1..={MAX_SECRET_LEN} bytes"),
        ));
    }
    if threshold < 2 || threshold > count {
        return Err(EscrowError::invalid(
            "threshold",
            format!("need 2 <= threshold ({threshold}) <= shares ({count})"),
        ));
    }
    let shares = Gf256::split_bytes(
        usize::from(threshold),
        usize::from(count),
        secret,
        crate::crypto::rng(),
    )
    .map_err(|e| EscrowError::invalid("shamir split", e.to_string()))?;
    Ok(shares.into_iter().map(Zeroizing::new).collect())
}

/// Recombines shares (at least the threshold, all of one split). With fewer shares than the threshold, or a
/// wrong share, the result is a wrong secret, not an error: callers check it (key check value).
///
/// Takes plain vectors so that vsss-rs reads them without a copy; callers keep them in a
/// `Zeroizing<Vec<Vec<u8>>>`, which wipes every inner vector.
pub(crate) fn combine(shares: &[Vec<u8>]) -> Result<Zeroizing<Vec<u8>>> {
    if shares.len() < 2 || shares.len() > usize::from(MAX_SHARES) {
        return Err(EscrowError::invalid("shares", "need 2 to 255 shares"));
    }
    let len = shares[0].len();
    if !(2..=MAX_SECRET_LEN + 1).contains(&len) || shares.iter().any(|s| s.len() != len) {
        return Err(EscrowError::invalid(
            "shares",
            "shares differ in length or are empty",
        ));
    }
    let secret =
        Gf256::combine_bytes(shares).map_err(|e| EscrowError::invalid("shares", e.to_string()))?;
    Ok(Zeroizing::new(secret))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn subsets(n: usize, m: usize) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize == m {
                out.push((0..n).filter(|i| mask & (1 << i) != 0).collect());
            }
        }
        out
    }

    #[test]
    fn every_m_subset_reconstructs_and_m_minus_one_does_not() {
        let secret = b"0123456789abcdef0123456789abcdef";
        for (m, n) in [(2u8, 3u8), (3, 5), (4, 7)] {
            let shares = split(m, n, secret).unwrap();
            assert_eq!(shares.len(), usize::from(n));
            for subset in subsets(usize::from(n), usize::from(m)) {
                let picked: Vec<Vec<u8>> = subset.iter().map(|&i| shares[i].to_vec()).collect();
                assert_eq!(
                    &combine(&picked).unwrap()[..],
                    secret,
                    "subset {subset:?} of {m}-of-{n}"
                );
            }
            for subset in subsets(usize::from(n), usize::from(m) - 1)
                .into_iter()
                .filter(|s| s.len() >= 2)
            {
                let picked: Vec<Vec<u8>> = subset.iter().map(|&i| shares[i].to_vec()).collect();
                assert_ne!(
                    &combine(&picked).unwrap()[..],
                    secret,
                    "m-1 subset {subset:?}"
                );
            }
        }
    }

    #[test]
    fn abscissas_are_one_based_indices() {
        let shares = split(2, 4, b"k").unwrap();
        let xs: Vec<u8> = shares.iter().map(|s| s[0]).collect();
        assert_eq!(xs, vec![1, 2, 3, 4]);
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(split(1, 3, b"k").is_err());
        assert!(split(4, 3, b"k").is_err());
        assert!(split(2, 3, b"").is_err());
        assert!(combine(&[]).is_err());
        let shares = split(2, 3, b"key").unwrap();
        let dup = vec![shares[0].to_vec(), shares[0].to_vec()];
        assert!(combine(&dup).is_err());
        let mut short = shares[1].clone();
        short.pop();
        assert!(combine(&[shares[0].to_vec(), short.to_vec()]).is_err());
    }
}
