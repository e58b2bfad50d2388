//! Between XKMS key values and the KeyManager's canonical formats: `ds:KeyValue` (RSA, EC P-256) to and from
//! X.509 SubjectPublicKeyInfo, KeyUsage to and from the KMIP Cryptographic Usage Mask, and the custom
//! attributes that carry what KMIP has no field for.

use kms_core::UsageMask;
use kms_core::object::{AttributeValue, Attributes};
use rsa::traits::PublicKeyParts as _;

use crate::dsig::VerifyingKey;
use crate::messages::{KeyUsage, KeyValue, P256_CURVE_URI, UseKeyWith};

/// Custom attribute: the `UseKeyWith` pairs, one per line as `application U+001F identifier`.
pub const ATTR_USE_KEY_WITH: &str = "x-xkms-use-key-with";
/// Custom attribute: the RevocationCodeIdentifier the client registered (bytes).
pub const ATTR_REVOCATION_CODE_IDENTIFIER: &str = "x-xkms-revocation-code-identifier";
/// Custom attribute: the escrow deposit holding the private key of a server-generated pair.
pub const ATTR_ESCROW_DEPOSIT: &str = "x-xkms-escrow-deposit";
/// Custom attribute on the public half of a pair XKMS Register generated: only such keys are recovered.
pub const ATTR_GENERATED: &str = "x-xkms-generated";
/// Object Group of the certificates that Validate trusts.
pub const TRUST_ANCHOR_GROUP: &str = "xkms-trust-anchor";

/// SubjectPublicKeyInfo DER of an RSA or P-256 key value.
pub(crate) fn key_value_to_spki(v: &KeyValue) -> Option<Vec<u8>> {
    match v.verifying_key()? {
        VerifyingKey::Rsa(k) => {
            use rsa::pkcs8::EncodePublicKey as _;
            k.to_public_key_der().ok().map(|d| d.as_bytes().to_vec())
        }
        VerifyingKey::EcdsaP256(k) => {
            use p256::pkcs8::EncodePublicKey as _;
            p256::PublicKey::from(&k)
                .to_public_key_der()
                .ok()
                .map(|d| d.as_bytes().to_vec())
        }
        VerifyingKey::Hmac(_) => None,
    }
}

/// The `ds:KeyValue` of an RSA or P-256 SubjectPublicKeyInfo.
pub(crate) fn spki_to_key_value(spki: &[u8]) -> Option<KeyValue> {
    use rsa::pkcs8::DecodePublicKey as _;
    if let Ok(k) = rsa::PublicKey::from_public_key_der(spki) {
        return Some(KeyValue::Rsa {
            modulus: k.n_bytes().to_vec(),
            exponent: k.e_bytes().to_vec(),
        });
    }
    let k = p256::PublicKey::from_public_key_der(spki).ok()?;
    Some(KeyValue::Ec {
        named_curve: P256_CURVE_URI.to_owned(),
        public_key: k.to_sec1_bytes().to_vec(),
    })
}

/// The verifying key of a SubjectPublicKeyInfo (for ProofOfPossession with a registered key).
pub(crate) fn spki_verifying_key(spki: &[u8]) -> Option<VerifyingKey> {
    spki_to_key_value(spki)?.verifying_key()
}

/// The usage bits of a public key for one XKMS KeyUsage.
pub(crate) fn public_usage(u: KeyUsage) -> UsageMask {
    match u {
        KeyUsage::Signature => UsageMask::VERIFY,
        KeyUsage::Encryption => UsageMask::ENCRYPT | UsageMask::WRAP_KEY,
        KeyUsage::Exchange => UsageMask::KEY_AGREEMENT,
    }
}

/// The usage bits of the private half for one XKMS KeyUsage.
pub(crate) fn private_usage(u: KeyUsage) -> UsageMask {
    match u {
        KeyUsage::Signature => UsageMask::SIGN,
        KeyUsage::Encryption => UsageMask::DECRYPT | UsageMask::UNWRAP_KEY,
        KeyUsage::Exchange => UsageMask::KEY_AGREEMENT,
    }
}

/// The XKMS KeyUsage values a public key's (or certificate's) usage mask allows.
pub(crate) fn key_usages(mask: Option<UsageMask>) -> Vec<KeyUsage> {
    let Some(m) = mask else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if m.intersects(UsageMask::VERIFY | UsageMask::SIGN) {
        out.push(KeyUsage::Signature);
    }
    if m.intersects(UsageMask::ENCRYPT | UsageMask::WRAP_KEY | UsageMask::DECRYPT) {
        out.push(KeyUsage::Encryption);
    }
    if m.intersects(UsageMask::KEY_AGREEMENT) {
        out.push(KeyUsage::Exchange);
    }
    out
}

/// Whether an object with `mask` may serve every one of `wanted` (no mask: the object never said, so it may).
pub(crate) fn allows(mask: Option<UsageMask>, wanted: &[KeyUsage]) -> bool {
    wanted.is_empty()
        || mask.is_none_or(|m| {
            wanted
                .iter()
                .all(|u| m.intersects(public_usage(*u) | private_usage(*u)))
        })
}

/// The UseKeyWith pairs stored on an object.
pub(crate) fn use_key_with(a: &Attributes) -> Vec<UseKeyWith> {
    match a.custom.get(ATTR_USE_KEY_WITH) {
        Some(AttributeValue::Text(t)) => t
            .lines()
            .filter_map(|l| l.split_once('\u{1f}'))
            .map(|(application, identifier)| UseKeyWith {
                application: application.to_owned(),
                identifier: identifier.to_owned(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The custom attribute value storing `pairs`, or `None` when a value cannot be stored unambiguously.
pub(crate) fn encode_use_key_with(pairs: &[UseKeyWith]) -> Option<AttributeValue> {
    let bad = |s: &str| s.contains(['\n', '\r', '\u{1f}']);
    if pairs
        .iter()
        .any(|p| bad(&p.application) || bad(&p.identifier))
    {
        return None;
    }
    Some(AttributeValue::Text(
        pairs
            .iter()
            .map(|p| format!("{}\u{1f}{}", p.application, p.identifier))
            .collect::<Vec<_>>()
            .join("\n"),
    ))
}

/// Whether the object's stored pairs match every pair the query names (application and identifier,
/// identifiers compared exactly).
pub(crate) fn matches_use_key_with(stored: &[UseKeyWith], wanted: &[UseKeyWith]) -> bool {
    wanted.iter().all(|w| {
        stored
            .iter()
            .any(|s| s.application == w.application && s.identifier == w.identifier)
    })
}
