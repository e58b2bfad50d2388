//! X.509 path validation for Validate (XKMS 2.0 section 5): the chain the client sent is built up to one of
//! the configured trust anchors by issuer name, every signature is checked (RSA PKCS#1 v1.5 with SHA-1 or
//! SHA-256, ECDSA P-256 with SHA-256), every certificate must be within its validity period at the time asked
//! about, and every issuer must be a CA (basicConstraints cA).

use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::BasicConstraints;

/// Longest chain followed (the client's certificates plus anchors).
const MAX_DEPTH: usize = 8;

const RSA_SHA1: &str = "1.2.840.113549.1.1.5";
const RSA_SHA256: &str = "1.2.840.113549.1.1.11";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

/// The outcome of path validation, reason by reason (the XKMS Status reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PathCheck {
    /// A path to a trust anchor was found and every issuer was a CA.
    pub issuer_trust: bool,
    /// Every signature on the path verified.
    pub signature: bool,
    /// Every certificate on the path was valid at the time.
    pub validity_interval: bool,
}

/// Parses a DER certificate.
pub(crate) fn parse(der: &[u8]) -> Option<Certificate> {
    Certificate::from_der(der).ok()
}

/// The DER SubjectPublicKeyInfo of a certificate.
pub(crate) fn spki_der(cert: &Certificate) -> Option<Vec<u8>> {
    cert.tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .ok()
}

/// The validity period of a certificate.
pub(crate) fn validity(cert: &Certificate) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
    let v = cert.tbs_certificate().validity();
    let t = |d: std::time::Duration| {
        OffsetDateTime::from_unix_timestamp(i64::try_from(d.as_secs()).ok()?).ok()
    };
    (
        t(v.not_before.to_unix_duration()),
        t(v.not_after.to_unix_duration()),
    )
}

fn within(cert: &Certificate, at: OffsetDateTime) -> bool {
    match validity(cert) {
        (Some(from), Some(to)) => from <= at && at <= to,
        _ => false,
    }
}

fn is_ca(cert: &Certificate) -> bool {
    matches!(
        cert.tbs_certificate().get_extension::<BasicConstraints>(),
        Ok(Some((_, bc))) if bc.ca
    )
}

/// Whether `cert`'s signature verifies under `issuer`'s public key.
fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    let Ok(tbs) = cert.tbs_certificate().to_der() else {
        return false;
    };
    let Some(signature) = cert.signature().as_bytes() else {
        return false;
    };
    let Some(spki) = spki_der(issuer) else {
        return false;
    };
    let oid = cert.signature_algorithm().oid.to_string();
    match oid.as_str() {
        RSA_SHA1 | RSA_SHA256 => {
            use rsa::pkcs8::DecodePublicKey as _;
            let Ok(key) = rsa::PublicKey::from_public_key_der(&spki) else {
                return false;
            };
            let (scheme, digest) = if oid == RSA_SHA1 {
                (
                    rsa::Pkcs1v15Sign::new::<Sha1>(),
                    Sha1::digest(&tbs).to_vec(),
                )
            } else {
                (
                    rsa::Pkcs1v15Sign::new::<Sha256>(),
                    Sha256::digest(&tbs).to_vec(),
                )
            };
            key.verify(scheme, &digest, signature).is_ok()
        }
        ECDSA_SHA256 => {
            use p256::ecdsa::signature::Verifier as _;
            use p256::pkcs8::DecodePublicKey as _;
            let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(&spki) else {
                return false;
            };
            let Ok(sig) = p256::ecdsa::Signature::from_der(signature) else {
                return false;
            };
            key.verify(&tbs, &sig).is_ok()
        }
        _ => false,
    }
}

/// Validates `chain[0]` (the end entity; the rest are intermediates in any order) against `anchors` at `at`.
pub(crate) fn validate(
    chain: &[Certificate],
    anchors: &[Certificate],
    at: OffsetDateTime,
) -> PathCheck {
    let mut check = PathCheck {
        issuer_trust: false,
        signature: true,
        validity_interval: true,
    };
    let Some(mut current) = chain.first() else {
        return PathCheck {
            issuer_trust: false,
            signature: false,
            validity_interval: false,
        };
    };
    check.validity_interval &= within(current, at);
    for _ in 0..MAX_DEPTH {
        let issuer_name = current.tbs_certificate().issuer();
        // An anchor that issued it ends the path.
        let named: Vec<&Certificate> = anchors
            .iter()
            .filter(|a| a.tbs_certificate().subject() == issuer_name)
            .collect();
        if let Some(anchor) = named.iter().find(|a| signed_by(current, a)) {
            check.validity_interval &= within(anchor, at);
            check.issuer_trust = true;
            return check;
        }
        if !named.is_empty() {
            // Named as issued by an anchor whose key did not sign it: a forgery, not a missing issuer.
            check.signature = false;
            return check;
        }
        // The current certificate is itself an anchor (validating a CA certificate).
        if anchors.iter().any(|a| a == current) {
            check.issuer_trust = true;
            return check;
        }
        let Some(next) = chain[1..]
            .iter()
            .find(|c| c.tbs_certificate().subject() == issuer_name && !std::ptr::eq(*c, current))
        else {
            return check;
        };
        check.signature &= signed_by(current, next);
        check.validity_interval &= within(next, at);
        if !is_ca(next) {
            return check;
        }
        current = next;
    }
    check
}
