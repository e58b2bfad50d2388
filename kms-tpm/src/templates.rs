//! Public-area templates of the child keys (TPM 2.0 Part 2 §12.2, TPMT_PUBLIC).
//!
//! Every key is fixedTPM and fixedParent (it can never be duplicated out of this TPM), userWithAuth with an empty
//! auth value (the store's sealing and the KeyManager's access control guard who may use it), and noDA. Schemes
//! are left Null so that one key serves the schemes its usage allows, chosen per call.

use tss_esapi::attributes::{ObjectAttributes, ObjectAttributesBuilder};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::structures::{
    Digest, EccPoint, EccScheme, HashScheme, HmacScheme, KeyDerivationFunctionScheme,
    KeyedHashScheme, Public, PublicBuilder, PublicEccParametersBuilder, PublicKeyRsa,
    PublicKeyedHashParameters, PublicRsaParametersBuilder, RsaExponent, RsaScheme,
    SymmetricDefinitionObject,
};

fn attributes(
    sign: bool,
    decrypt: bool,
    generated: bool,
    restricted: bool,
) -> tss_esapi::Result<ObjectAttributes> {
    ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(generated)
        .with_user_with_auth(true)
        .with_no_da(true)
        .with_restricted(restricted)
        .with_sign_encrypt(sign)
        .with_decrypt(decrypt)
        .build()
}

/// RSA-2048, e = 65537, for signing and/or OAEP decryption.
pub(crate) fn rsa_2048(sign: bool, decrypt: bool) -> tss_esapi::Result<Public> {
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Rsa)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes(sign, decrypt, true, false)?)
        .with_rsa_parameters(
            PublicRsaParametersBuilder::new()
                .with_symmetric(SymmetricDefinitionObject::Null)
                .with_scheme(RsaScheme::Null)
                .with_key_bits(RsaKeyBits::Rsa2048)
                .with_exponent(RsaExponent::default())
                .with_is_signing_key(sign)
                .with_is_decryption_key(decrypt)
                .with_restricted(false)
                .build()?,
        )
        .with_rsa_unique_identifier(PublicKeyRsa::default())
        .build()
}

/// ECDSA P-256.
pub(crate) fn ecdsa_p256() -> tss_esapi::Result<Public> {
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes(true, false, true, false)?)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new()
                .with_symmetric(SymmetricDefinitionObject::Null)
                .with_ecc_scheme(EccScheme::Null)
                .with_curve(EccCurve::NistP256)
                .with_key_derivation_function_scheme(KeyDerivationFunctionScheme::Null)
                // The builder's consistency check wants a fixed scheme for signing keys; the TPM does not (a
                // Null scheme takes the one TPM2_Sign names), and the sign attribute is set above.
                .with_is_signing_key(false)
                .with_restricted(false)
                .build()?,
        )
        .with_ecc_unique_identifier(EccPoint::default())
        .build()
}

/// The attestation key: a restricted ECDSA P-256 / SHA-256 signing key, so it signs only TPM-generated structures
/// (quotes, certifications) and never an outside digest that could mimic one (TPM 2.0 Part 1 §25.2).
pub(crate) fn attestation_key() -> tss_esapi::Result<Public> {
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes(true, false, true, true)?)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new()
                .with_symmetric(SymmetricDefinitionObject::Null)
                .with_ecc_scheme(EccScheme::EcDsa(HashScheme::new(HashingAlgorithm::Sha256)))
                .with_curve(EccCurve::NistP256)
                .with_key_derivation_function_scheme(KeyDerivationFunctionScheme::Null)
                .with_is_signing_key(true)
                .with_restricted(true)
                .build()?,
        )
        .with_ecc_unique_identifier(EccPoint::default())
        .build()
}

/// An HMAC key with `hash`; `generated` is false when the caller supplies the key bytes (import).
pub(crate) fn hmac(hash: HashingAlgorithm, generated: bool) -> tss_esapi::Result<Public> {
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::KeyedHash)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes(true, false, generated, false)?)
        .with_keyed_hash_parameters(PublicKeyedHashParameters::new(KeyedHashScheme::Hmac {
            hmac_scheme: HmacScheme::new(hash),
        }))
        .with_keyed_hash_unique_identifier(Digest::default())
        .build()
}

/// A sealed data object: no scheme, neither sign nor decrypt, so TPM2_Unseal is the only use. With a policy, the
/// empty auth value no longer opens it (userWithAuth clear): only a session that satisfied the policy does.
pub(crate) fn sealed_data(policy: Option<Digest>) -> tss_esapi::Result<Public> {
    let attributes = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_user_with_auth(policy.is_none())
        .with_no_da(true)
        .build()?;
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::KeyedHash)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_auth_policy(policy.unwrap_or_default())
        .with_keyed_hash_parameters(PublicKeyedHashParameters::new(KeyedHashScheme::Null))
        .with_keyed_hash_unique_identifier(Digest::default())
        .build()
}
