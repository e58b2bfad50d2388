//! OASIS KMIP for the kms crate family.
