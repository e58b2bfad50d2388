//! Cryptographic operations (KMIP 1.4 §4.29-4.38; KMIP 2.1 §6.1): the data travels in the clear inside the
//! (TLS-protected) message, so plaintext fields are zeroizing [`SecretBytes`].

use crate::message::codec::SecretBytes;
use crate::message::enums::ValidityIndicator;
use crate::message::types::{CryptographicParameters, UniqueIdentifier};

kmip_struct! {
    /// Encrypt request payload.
    pub struct EncryptRequest {
        /// Unique Identifier of the key.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Cryptographic Parameters.
        cryptographic_parameters: opt CryptographicParameters = CRYPTOGRAPHIC_PARAMETERS,
        /// Data (plaintext).
        data: opt SecretBytes = DATA,
        /// IV/Counter/Nonce.
        iv_counter_nonce: opt Vec<u8> = IV_COUNTER_NONCE,
        /// Correlation Value (streaming, 1.3+).
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
        /// Init Indicator (1.3+).
        init_indicator: opt bool = INIT_INDICATOR,
        /// Final Indicator (1.3+).
        final_indicator: opt bool = FINAL_INDICATOR,
        /// Authenticated Encryption Additional Data (1.4+).
        authenticated_encryption_additional_data: opt Vec<u8> = AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
    }
}

kmip_struct! {
    /// Encrypt response payload.
    pub struct EncryptResponse {
        /// Unique Identifier of the key.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Data (ciphertext).
        data: opt Vec<u8> = DATA,
        /// IV/Counter/Nonce the server generated.
        iv_counter_nonce: opt Vec<u8> = IV_COUNTER_NONCE,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
        /// Authenticated Encryption Tag (1.4+).
        authenticated_encryption_tag: opt Vec<u8> = AUTHENTICATED_ENCRYPTION_TAG,
    }
}

kmip_struct! {
    /// Decrypt request payload.
    pub struct DecryptRequest {
        /// Unique Identifier of the key.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Cryptographic Parameters.
        cryptographic_parameters: opt CryptographicParameters = CRYPTOGRAPHIC_PARAMETERS,
        /// Data (ciphertext).
        data: opt Vec<u8> = DATA,
        /// IV/Counter/Nonce.
        iv_counter_nonce: opt Vec<u8> = IV_COUNTER_NONCE,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
        /// Init Indicator.
        init_indicator: opt bool = INIT_INDICATOR,
        /// Final Indicator.
        final_indicator: opt bool = FINAL_INDICATOR,
        /// Authenticated Encryption Additional Data.
        authenticated_encryption_additional_data: opt Vec<u8> = AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
        /// Authenticated Encryption Tag.
        authenticated_encryption_tag: opt Vec<u8> = AUTHENTICATED_ENCRYPTION_TAG,
    }
}

kmip_struct! {
    /// Decrypt response payload.
    pub struct DecryptResponse {
        /// Unique Identifier of the key.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Data (plaintext).
        data: opt SecretBytes = DATA,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// Sign request payload.
    pub struct SignRequest {
        /// Unique Identifier of the private key.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Cryptographic Parameters.
        cryptographic_parameters: opt CryptographicParameters = CRYPTOGRAPHIC_PARAMETERS,
        /// Data.
        data: opt Vec<u8> = DATA,
        /// Digested Data (1.4+).
        digested_data: opt Vec<u8> = DIGESTED_DATA,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
        /// Init Indicator.
        init_indicator: opt bool = INIT_INDICATOR,
        /// Final Indicator.
        final_indicator: opt bool = FINAL_INDICATOR,
    }
}

kmip_struct! {
    /// Sign response payload.
    pub struct SignResponse {
        /// Unique Identifier of the private key.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Signature Data.
        signature_data: opt Vec<u8> = SIGNATURE_DATA,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// Signature Verify request payload.
    pub struct SignatureVerifyRequest {
        /// Unique Identifier of the public key.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Cryptographic Parameters.
        cryptographic_parameters: opt CryptographicParameters = CRYPTOGRAPHIC_PARAMETERS,
        /// Data.
        data: opt Vec<u8> = DATA,
        /// Digested Data.
        digested_data: opt Vec<u8> = DIGESTED_DATA,
        /// Signature Data.
        signature_data: opt Vec<u8> = SIGNATURE_DATA,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
        /// Init Indicator.
        init_indicator: opt bool = INIT_INDICATOR,
        /// Final Indicator.
        final_indicator: opt bool = FINAL_INDICATOR,
    }
}

kmip_struct! {
    /// Signature Verify response payload.
    pub struct SignatureVerifyResponse {
        /// Unique Identifier of the public key.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Validity Indicator.
        validity_indicator: req ValidityIndicator = VALIDITY_INDICATOR,
        /// Data (message recovery).
        data: opt Vec<u8> = DATA,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// MAC request payload.
    pub struct MACRequest {
        /// Unique Identifier of the MAC key.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Cryptographic Parameters.
        cryptographic_parameters: opt CryptographicParameters = CRYPTOGRAPHIC_PARAMETERS,
        /// Data.
        data: opt Vec<u8> = DATA,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
        /// Init Indicator.
        init_indicator: opt bool = INIT_INDICATOR,
        /// Final Indicator.
        final_indicator: opt bool = FINAL_INDICATOR,
    }
}

kmip_struct! {
    /// MAC response payload.
    pub struct MACResponse {
        /// Unique Identifier of the MAC key.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// MAC Data.
        mac_data: opt Vec<u8> = MAC_DATA,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// MAC Verify request payload.
    pub struct MACVerifyRequest {
        /// Unique Identifier of the MAC key.
        unique_identifier: opt UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Cryptographic Parameters.
        cryptographic_parameters: opt CryptographicParameters = CRYPTOGRAPHIC_PARAMETERS,
        /// Data.
        data: opt Vec<u8> = DATA,
        /// MAC Data.
        mac_data: opt Vec<u8> = MAC_DATA,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
        /// Init Indicator.
        init_indicator: opt bool = INIT_INDICATOR,
        /// Final Indicator.
        final_indicator: opt bool = FINAL_INDICATOR,
    }
}

kmip_struct! {
    /// MAC Verify response payload.
    pub struct MACVerifyResponse {
        /// Unique Identifier of the MAC key.
        unique_identifier: req UniqueIdentifier = UNIQUE_IDENTIFIER,
        /// Validity Indicator.
        validity_indicator: req ValidityIndicator = VALIDITY_INDICATOR,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// Hash request payload (1.4+).
    pub struct HashRequest {
        /// Cryptographic Parameters (the Hashing Algorithm).
        cryptographic_parameters: req CryptographicParameters = CRYPTOGRAPHIC_PARAMETERS,
        /// Data.
        data: opt Vec<u8> = DATA,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
        /// Init Indicator.
        init_indicator: opt bool = INIT_INDICATOR,
        /// Final Indicator.
        final_indicator: opt bool = FINAL_INDICATOR,
    }
}

kmip_struct! {
    /// Hash response payload.
    pub struct HashResponse {
        /// Data (the digest).
        data: opt Vec<u8> = DATA,
        /// Correlation Value.
        correlation_value: opt Vec<u8> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// RNG Retrieve request payload (1.3+).
    pub struct RNGRetrieveRequest {
        /// Data Length in bytes.
        data_length: req i32 = DATA_LENGTH,
    }
}

kmip_struct! {
    /// RNG Retrieve response payload.
    pub struct RNGRetrieveResponse {
        /// Data.
        data: req SecretBytes = DATA,
    }
}

kmip_struct! {
    /// RNG Seed request payload (1.3+).
    pub struct RNGSeedRequest {
        /// Data.
        data: req SecretBytes = DATA,
    }
}

kmip_struct! {
    /// RNG Seed response payload.
    pub struct RNGSeedResponse {
        /// Data Length accepted.
        data_length: req i32 = DATA_LENGTH,
    }
}
