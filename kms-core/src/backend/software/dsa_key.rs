//! Stored DSA keys (canonical PKCS#8 / SubjectPublicKeyInfo, see `crate::dsa`) as the `dsa` crate's keys.
//!
//! The keys are built from their components here rather than by the crate's own PKCS#8 and SPKI decoding: that
//! decoding gives each integer the precision of its encoding, while the crate's modular arithmetic needs `g` and
//! `y` at the precision of `p` (crypto-bigint asserts it in debug builds), so a key with a short `g` (such as 2)
//! or `y` panicked. Here `g`, `x` and `y` all take `p`'s precision.

use dsa::BoxedUint;
use p256::elliptic_curve::bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use zeroize::Zeroizing;

use crate::backend::BackendError;
use crate::dsa::{DsaDomain, DsaPrivateKey, DsaPublicKey};

/// The (L, N) pairs of FIPS 186-4 §4.2, the only sizes the `dsa` crate computes with.
const SIZES: [(u32, u32); 4] = [(1024, 160), (2048, 224), (2048, 256), (3072, 256)];

/// A stored key's DER no longer parses: the record is damaged (it was checked when stored).
fn damaged<E>(_: E) -> BackendError {
    BackendError::MalformedKeyRef
}

/// Storing a DSA key checks its structure only; the `dsa` crate also wants `y^q = 1 (mod p)` (for a private key,
/// `y = g^x`), which fails when `g` does not generate a subgroup of order `q` or `y` does not belong to it.
fn inconsistent<E>(_: E) -> BackendError {
    BackendError::InvalidInput(
        "the DSA key's G or Y is not of order Q modulo P: the key cannot sign or verify".into(),
    )
}

/// The domain parameters as the crate takes them, with `p`'s precision for the key's other integers. Refuses a
/// key of another size than [`SIZES`] as unsupported: such keys (512-bit ones from old test suites) are valid
/// to keep, not to use.
fn components(domain: &DsaDomain) -> Result<(dsa::Components, u32), BackendError> {
    let (l, n) = domain.sizes();
    if !SIZES.contains(&(l, n)) {
        return Err(BackendError::Unsupported(format!(
            "DSA with a {l}-bit P and a {n}-bit Q: only the FIPS 186-4 sizes (L, N) = (1024, 160), (2048, 224), \
             (2048, 256) and (3072, 256) sign or verify"
        )));
    }
    // p and q are exactly L and N bits, so their encodings' precisions are the ones the crate's sizes expect.
    let p = BoxedUint::from_be_slice_vartime(domain.p());
    let precision = p.bits_precision();
    let q = BoxedUint::from_be_slice_vartime(domain.q());
    let g = BoxedUint::from_be_slice(domain.g(), precision).map_err(damaged)?;
    let components = dsa::Components::from_components(p, q, g).map_err(inconsistent)?;
    Ok((components, precision))
}

/// The signing key of a stored `DsaPrivate` key.
pub(crate) fn signing_key(pkcs8: &[u8]) -> Result<dsa::SigningKey, BackendError> {
    let key = DsaPrivateKey::from_pkcs8_der(pkcs8).map_err(damaged)?;
    let (components, precision) = components(key.domain())?;
    let x = Zeroizing::new(BoxedUint::from_be_slice(key.x(), precision).map_err(damaged)?);
    // y = g^x mod p, in constant time: x is secret.
    let params = BoxedMontyParams::new(components.p().clone());
    let y = BoxedMontyForm::new((**components.g()).clone(), &params)
        .pow(&x)
        .retrieve();
    let public = dsa::VerifyingKey::from_components(components, y).map_err(inconsistent)?;
    dsa::SigningKey::from_components(public, (*x).clone()).map_err(inconsistent)
}

/// The verifying key of a stored `DsaPublic` key.
pub(crate) fn verifying_key(spki: &[u8]) -> Result<dsa::VerifyingKey, BackendError> {
    let key = DsaPublicKey::from_spki_der(spki).map_err(damaged)?;
    let (components, precision) = components(key.domain())?;
    let y = BoxedUint::from_be_slice(key.y(), precision).map_err(damaged)?;
    dsa::VerifyingKey::from_components(components, y).map_err(inconsistent)
}
