//! Key escrow for the kms crate family.
