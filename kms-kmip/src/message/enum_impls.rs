//! [`Decode`](super::Decode) and [`Encode`](super::Encode) for the generated enumerations and masks.

kmip_enums! {
    enums: AdjustmentType, AlternativeNameType, AsynchronousIndicator, AttestationType, BatchErrorContinuationOption, BlockCipherMode, CancellationResult, CertificateRequestType, CertificateType, ClientRegistrationMethod, CredentialType, CryptographicAlgorithm, DRBGAlgorithm, DerivationMethod, DestroyAction, DigitalSignatureAlgorithm, EncodingOption, EndpointRole, FIPS186Variation, HashingAlgorithm, InteropFunction, KeyCompressionType, KeyFormatType, KeyRoleType, KeyValueLocationType, KeyWrapType, LinkType, MaskGenerator, NISTKeyType, NameType, ObjectGroupMember, ObjectType, OpaqueDataType, Operation, PaddingMethod, ProfileName, ProtectionLevel, PutFunction, QueryFunction, RNGAlgorithm, RNGMode, RecommendedCurve, ResultReason, ResultStatus, RevocationReasonCode, SecretDataType, ShreddingAlgorithm, SplitKeyMethod, State, TicketType, UniqueIdentifierEnumeration, UnwrapMode, UsageLimitsUnit, ValidationAuthorityType, ValidationType, ValidityIndicator, WrappingMethod;
    masks: CryptographicUsageMask, ProtectionStorageMask, StorageStatusMask,
}
