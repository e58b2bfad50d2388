//! DSA keys (FIPS 186-4 §4: domain parameters p, q, g; private x, public y) in kms-core's canonical formats:
//! PKCS#8 `PrivateKeyInfo` and X.509 `SubjectPublicKeyInfo`, with the algorithm `id-dsa` and its `Dss-Parms`
//! (RFC 3279 §2.3.2). The software backend checks registered DSA keys with these types, and protocol crates
//! convert their component forms (KMIP Transparent DSA keys) through them, so both agree on what a valid key is.
//!
//! The checks are the structural ones a server can afford on every Register: sizes within
//! [`P_BITS`]/[`Q_BITS`], `p` and `q` odd, `q < p`, `1 < g < p`, `0 < x < q`, `1 < y < p`. Primality is not
//! tested here: 512-bit keys, which FIPS 186-4 no longer allows, must still register (the OASIS Baseline test
//! cases use one), and the software backend signs and verifies only with the FIPS sizes, through the `dsa`
//! crate, which checks the key further (`y^q = 1 mod p`) when it first uses it.

use std::fmt;
use std::ops::RangeInclusive;

use p256::pkcs8::der::asn1::{AnyRef, BitStringRef, OctetStringRef, UintRef};
use p256::pkcs8::der::{Decode, Encode, Reader, SliceReader, Tag};
use p256::pkcs8::spki::{AlgorithmIdentifierRef, ObjectIdentifier, SubjectPublicKeyInfoRef};
use p256::pkcs8::{PrivateKeyInfoRef, SecretDocument};
use zeroize::Zeroizing;

/// `id-dsa` (RFC 3279 §2.3.2).
pub const OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");

/// Sizes of the prime `p` accepted, in bits: from the 512 bits of old keys (and the OASIS test cases) to 4096.
pub const P_BITS: RangeInclusive<usize> = 512..=4096;
/// Sizes of the subprime `q` accepted, in bits (FIPS 186-4 N: 160, 224 or 256).
pub const Q_BITS: RangeInclusive<usize> = 160..=256;

/// Longest DER accepted: a 4096-bit key's encoding is about 1.6 KiB, so anything much longer is refused unread.
const MAX_DER: usize = 4 * 1024;

/// Why a DSA key was refused. Says which rule failed, never a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid DSA key: {0}")]
pub struct InvalidDsaKey(String);

impl From<InvalidDsaKey> for crate::Error {
    fn from(e: InvalidDsaKey) -> Self {
        crate::Error::InvalidField(e.to_string())
    }
}

fn invalid(what: impl Into<String>) -> InvalidDsaKey {
    InvalidDsaKey(what.into())
}

/// `bytes` without leading zero bytes: the magnitude of an unsigned big-endian integer.
fn trimmed(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn bits(magnitude: &[u8]) -> usize {
    match magnitude.first() {
        None => 0,
        Some(top) => (magnitude.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

/// `a < b` for trimmed magnitudes.
fn less(a: &[u8], b: &[u8]) -> bool {
    a.len() < b.len() || (a.len() == b.len() && a < b)
}

/// `a > 1` for a trimmed magnitude.
fn above_one(a: &[u8]) -> bool {
    a.len() > 1 || a.first().is_some_and(|b| *b > 1)
}

fn is_odd(a: &[u8]) -> bool {
    a.last().is_some_and(|b| b & 1 == 1)
}

/// DSA domain parameters, as unsigned big-endian magnitudes without leading zeros. Public.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsaDomain {
    p: Vec<u8>,
    q: Vec<u8>,
    g: Vec<u8>,
}

impl DsaDomain {
    /// Checks and keeps `p`, `q` and `g`, unsigned big-endian (leading zeros allowed).
    ///
    /// # Errors
    /// [`InvalidDsaKey`] when a size is outside [`P_BITS`]/[`Q_BITS`], `p` or `q` is even, `q >= p`, or `g` is
    /// not in `(1, p)`.
    pub fn new(p: &[u8], q: &[u8], g: &[u8]) -> Result<Self, InvalidDsaKey> {
        // Sizes first, so that nothing larger than the limits is copied or compared.
        let (p, q, g) = (trimmed(p), trimmed(q), trimmed(g));
        if !P_BITS.contains(&bits(p)) {
            return Err(invalid(format!(
                "P must be {} to {} bits, got {}",
                P_BITS.start(),
                P_BITS.end(),
                bits(p)
            )));
        }
        if !Q_BITS.contains(&bits(q)) {
            return Err(invalid(format!(
                "Q must be {} to {} bits, got {}",
                Q_BITS.start(),
                Q_BITS.end(),
                bits(q)
            )));
        }
        if !is_odd(p) || !is_odd(q) {
            return Err(invalid("P and Q must be odd primes"));
        }
        if !less(q, p) {
            return Err(invalid("Q must be less than P"));
        }
        if !above_one(g) || !less(g, p) {
            return Err(invalid("G must be greater than 1 and less than P"));
        }
        Ok(Self {
            p: p.to_vec(),
            q: q.to_vec(),
            g: g.to_vec(),
        })
    }

    /// The prime `p`.
    #[must_use]
    pub fn p(&self) -> &[u8] {
        &self.p
    }

    /// The subprime `q`.
    #[must_use]
    pub fn q(&self) -> &[u8] {
        &self.q
    }

    /// The generator `g`.
    #[must_use]
    pub fn g(&self) -> &[u8] {
        &self.g
    }

    /// The size of `p` in bits: what KMIP reports as the key's Cryptographic Length.
    #[must_use]
    pub fn bits(&self) -> u32 {
        u32::try_from(bits(&self.p)).unwrap_or(u32::MAX)
    }

    /// `(L, N)`: the sizes of `p` and `q` in bits, as FIPS 186-4 §4.2 names the pairs it allows.
    #[must_use]
    pub fn sizes(&self) -> (u32, u32) {
        (
            self.bits(),
            u32::try_from(bits(&self.q)).unwrap_or(u32::MAX),
        )
    }

    /// `Dss-Parms ::= SEQUENCE { p INTEGER, q INTEGER, g INTEGER }`.
    fn to_der(&self) -> Result<Vec<u8>, InvalidDsaKey> {
        let mut body = Vec::new();
        for v in [&self.p, &self.q, &self.g] {
            uint(v)?.encode_to_vec(&mut body).map_err(encoding)?;
        }
        AnyRef::new(Tag::Sequence, &body)
            .and_then(|any| any.to_der())
            .map_err(encoding)
    }

    fn from_parameters(parameters: AnyRef<'_>) -> Result<Self, InvalidDsaKey> {
        let (p, q, g) = parameters
            .sequence(|r: &mut SliceReader<'_>| {
                let p: UintRef<'_> = r.decode()?;
                let q: UintRef<'_> = r.decode()?;
                let g: UintRef<'_> = r.decode()?;
                Ok::<_, p256::pkcs8::der::Error>((p, q, g))
            })
            .map_err(|_| invalid("the parameters are not Dss-Parms"))?;
        Self::new(p.as_bytes(), q.as_bytes(), g.as_bytes())
    }

    fn algorithm<'a>(parameters: &'a [u8]) -> Result<AlgorithmIdentifierRef<'a>, InvalidDsaKey> {
        Ok(AlgorithmIdentifierRef {
            oid: OID,
            parameters: Some(AnyRef::from_der(parameters).map_err(encoding)?),
        })
    }
}

fn encoding(_: p256::pkcs8::der::Error) -> InvalidDsaKey {
    invalid("the key cannot be DER-encoded")
}

fn uint(magnitude: &[u8]) -> Result<UintRef<'_>, InvalidDsaKey> {
    UintRef::new(magnitude).map_err(encoding)
}

fn checked_der(der: &[u8]) -> Result<&[u8], InvalidDsaKey> {
    if der.len() > MAX_DER {
        return Err(invalid(format!("a DER key is at most {MAX_DER} bytes")));
    }
    Ok(der)
}

/// A DSA public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsaPublicKey {
    domain: DsaDomain,
    y: Vec<u8>,
}

impl DsaPublicKey {
    /// Checks and keeps a public key from its components, unsigned big-endian (leading zeros allowed).
    ///
    /// # Errors
    /// As [`DsaDomain::new`]; [`InvalidDsaKey`] when `y` is not in `(1, p)`.
    pub fn new(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Result<Self, InvalidDsaKey> {
        let domain = DsaDomain::new(p, q, g)?;
        let y = trimmed(y);
        if !above_one(y) || !less(y, &domain.p) {
            return Err(invalid("Y must be greater than 1 and less than P"));
        }
        Ok(Self {
            domain,
            y: y.to_vec(),
        })
    }

    /// The domain parameters.
    #[must_use]
    pub fn domain(&self) -> &DsaDomain {
        &self.domain
    }

    /// The public value `y`.
    #[must_use]
    pub fn y(&self) -> &[u8] {
        &self.y
    }

    /// Reads and checks a `SubjectPublicKeyInfo` of `id-dsa` (the key a `DSAPublicKey` INTEGER in the BIT STRING).
    ///
    /// # Errors
    /// [`InvalidDsaKey`] when the DER is longer than 4 KiB, is not such a structure, or the key fails the checks.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, InvalidDsaKey> {
        let info = SubjectPublicKeyInfoRef::from_der(checked_der(der)?)
            .map_err(|_| invalid("not a SubjectPublicKeyInfo"))?;
        if info.algorithm.oid != OID {
            return Err(invalid("not a DSA key (algorithm is not id-dsa)"));
        }
        let parameters = info
            .algorithm
            .parameters
            .ok_or_else(|| invalid("a DSA public key needs its Dss-Parms"))?;
        let domain = DsaDomain::from_parameters(parameters)?;
        let y = info
            .subject_public_key
            .as_bytes()
            .and_then(|b| UintRef::from_der(b).ok())
            .ok_or_else(|| invalid("the public key is not an INTEGER"))?;
        Self::new(&domain.p, &domain.q, &domain.g, y.as_bytes())
    }

    /// The key as a DER `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// [`InvalidDsaKey`] when DER encoding fails (it does not for a checked key).
    pub fn to_spki_der(&self) -> Result<Vec<u8>, InvalidDsaKey> {
        let parameters = self.domain.to_der()?;
        let y = uint(&self.y)?.to_der().map_err(encoding)?;
        SubjectPublicKeyInfoRef {
            algorithm: DsaDomain::algorithm(&parameters)?,
            subject_public_key: BitStringRef::new(0, &y).map_err(encoding)?,
        }
        .to_der()
        .map_err(encoding)
    }
}

/// A DSA private key. The private value lives in a zeroizing buffer and is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DsaPrivateKey {
    domain: DsaDomain,
    x: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for DsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DsaPrivateKey")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl DsaPrivateKey {
    /// Checks and keeps a private key from its components, unsigned big-endian (leading zeros allowed).
    ///
    /// # Errors
    /// As [`DsaDomain::new`]; [`InvalidDsaKey`] when `x` is not in `(0, q)`.
    pub fn new(p: &[u8], q: &[u8], g: &[u8], x: &[u8]) -> Result<Self, InvalidDsaKey> {
        let domain = DsaDomain::new(p, q, g)?;
        let x = trimmed(x);
        if x.is_empty() || !less(x, &domain.q) {
            return Err(invalid("X must be greater than 0 and less than Q"));
        }
        Ok(Self {
            domain,
            x: Zeroizing::new(x.to_vec()),
        })
    }

    /// The domain parameters.
    #[must_use]
    pub fn domain(&self) -> &DsaDomain {
        &self.domain
    }

    /// The private value `x`.
    #[must_use]
    pub fn x(&self) -> &[u8] {
        &self.x
    }

    /// Reads and checks a PKCS#8 `PrivateKeyInfo` of `id-dsa` (the key an INTEGER in the OCTET STRING).
    ///
    /// # Errors
    /// [`InvalidDsaKey`] when the DER is longer than 4 KiB, is not such a structure, or the key fails the checks.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, InvalidDsaKey> {
        let info = PrivateKeyInfoRef::from_der(checked_der(der)?)
            .map_err(|_| invalid("not a PKCS#8 PrivateKeyInfo"))?;
        if info.algorithm.oid != OID {
            return Err(invalid("not a DSA key (algorithm is not id-dsa)"));
        }
        let parameters = info
            .algorithm
            .parameters
            .ok_or_else(|| invalid("a DSA private key needs its Dss-Parms"))?;
        let domain = DsaDomain::from_parameters(parameters)?;
        let x = UintRef::from_der(info.private_key.as_bytes())
            .map_err(|_| invalid("the private key is not an INTEGER"))?;
        Self::new(&domain.p, &domain.q, &domain.g, x.as_bytes())
    }

    /// The key as a DER PKCS#8 `PrivateKeyInfo` (version 1, without the public key).
    ///
    /// # Errors
    /// [`InvalidDsaKey`] when DER encoding fails (it does not for a checked key).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, InvalidDsaKey> {
        let parameters = self.domain.to_der()?;
        let x = Zeroizing::new(uint(&self.x)?.to_der().map_err(encoding)?);
        let info = PrivateKeyInfoRef::new(
            DsaDomain::algorithm(&parameters)?,
            OctetStringRef::new(&x).map_err(encoding)?,
        );
        let doc =
            SecretDocument::try_from(info).map_err(|_| invalid("the key cannot be DER-encoded"))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }
}

/// Whether `der` is a PKCS#8 `PrivateKeyInfo` or a `SubjectPublicKeyInfo` whose algorithm is `id-dsa`: to tell a
/// DSA key from the others before checking it.
#[must_use]
pub fn is_dsa(der: &[u8]) -> bool {
    let Ok(der) = checked_der(der) else {
        return false;
    };
    PrivateKeyInfoRef::from_der(der).is_ok_and(|i| i.algorithm.oid == OID)
        || SubjectPublicKeyInfoRef::from_der(der).is_ok_and(|i| i.algorithm.oid == OID)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    // The 512-bit key of the OASIS KMIP 2.1 Baseline test cases BL-M-12-21 and BL-M-13-21.
    const P: &str = "fca682ce8e12caba26efccf7110e526db078b05edecbcd1eb4a208f3ae1617ae01f35b91a47e6df63413c5e12ed0899bcd132acd50d99151bdc43ee737592e17";
    const Q: &str = "962eddcc369cba8ebb260ee6b6a126d9346e38c5";
    const G: &str = "678471b27a9cf44ee91a49c5147db1a9aaf244f05a434d6486931d2d14271b9e35030b71fd73da179069b32e2935630e1c2062354d0da20a6c416e50be794ca4";
    const X: &str = "095411d740d2443fa3f97d1ed9a0411bb45e7131";
    const Y: &str = "b3cb74d988dea7160a64a4edbb7f70404fa4c08a4208c19d76357a6a9df200cce79faecb22e3419be9b01128cbd998a2d9307101705e4a952462f34728ac5fcf";

    #[test]
    fn round_trips_the_oasis_key() {
        let private = DsaPrivateKey::new(
            &hex::decode(P).unwrap(),
            &hex::decode(Q).unwrap(),
            &hex::decode(G).unwrap(),
            &hex::decode(X).unwrap(),
        )
        .unwrap();
        let der = private.to_pkcs8_der().unwrap();
        assert!(is_dsa(&der));
        assert_eq!(DsaPrivateKey::from_pkcs8_der(&der).unwrap(), private);
        assert_eq!(private.domain().bits(), 512);

        let mut padded = vec![0; 8];
        padded.extend(hex::decode(Y).unwrap());
        let public = DsaPublicKey::new(
            &hex::decode(P).unwrap(),
            &hex::decode(Q).unwrap(),
            &hex::decode(G).unwrap(),
            &padded,
        )
        .unwrap();
        assert_eq!(public.y(), &hex::decode(Y).unwrap()[..]);
        let der = public.to_spki_der().unwrap();
        assert!(is_dsa(&der));
        assert_eq!(DsaPublicKey::from_spki_der(&der).unwrap(), public);
        assert!(!format!("{private:?}").contains("95411d7"));
    }

    #[test]
    fn refuses_bad_components() {
        let (p, q, g, x, y) = (
            hex::decode(P).unwrap(),
            hex::decode(Q).unwrap(),
            hex::decode(G).unwrap(),
            hex::decode(X).unwrap(),
            hex::decode(Y).unwrap(),
        );
        let one = [1u8];
        let mut p_even = p.clone();
        *p_even.last_mut().unwrap() &= 0xFE;
        let huge = vec![0xFF; 4096 / 8 + 1];
        let small = [0xFF; 32];
        for (p, q, g) in [
            (&p_even[..], &q[..], &g[..]),
            (&huge[..], &q[..], &g[..]),
            (&small[..], &q[..], &g[..]),
            (&p[..], &p[..], &g[..]),
            (&p[..], &q[..], &one[..]),
            (&p[..], &q[..], &p[..]),
            (&p[..], &[][..], &g[..]),
        ] {
            assert!(DsaPublicKey::new(p, q, g, &y).is_err());
            assert!(DsaPrivateKey::new(p, q, g, &x).is_err());
        }
        assert!(DsaPrivateKey::new(&p, &q, &g, &[0, 0]).is_err());
        assert!(DsaPrivateKey::new(&p, &q, &g, &q).is_err());
        assert!(DsaPublicKey::new(&p, &q, &g, &one).is_err());
        assert!(DsaPublicKey::new(&p, &q, &g, &p).is_err());
        assert!(DsaPrivateKey::from_pkcs8_der(&[0x30; 5000]).is_err());
        assert!(DsaPublicKey::from_spki_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
        assert!(!is_dsa(&[0x30, 0x80]));
    }
}
