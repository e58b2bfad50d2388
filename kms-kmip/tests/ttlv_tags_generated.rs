//! The generated tag tables are current: regenerating them from `gen/input/` gives the checked-in file.
//! `KMS_KMIP_REGENERATE=1 cargo test -p kms-kmip --test ttlv_tags_generated` rewrites it.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../gen/generate.rs"]
mod generate;

use std::path::Path;

#[test]
fn generated_tables_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(dir.join("gen/input").join(p)).unwrap();
    let (a, b, c, d) = (
        read("kmip-1.4.json"),
        read("kmip-2.0-additions.json"),
        read("kmip-2.1-additions.json"),
        read("versions.json"),
    );
    let text = generate::generate(&generate::Inputs {
        kmip_1_4: &a,
        kmip_2_0: &b,
        kmip_2_1: &c,
        versions: &d,
    });
    let target = dir.join("src/tags/generated.rs");
    let current = std::fs::read_to_string(&target).unwrap_or_default();
    if std::env::var_os("KMS_KMIP_REGENERATE").is_some() {
        if current != text {
            std::fs::write(&target, &text).unwrap();
        }
        return;
    }
    assert!(
        current == text,
        "src/tags/generated.rs is stale: run KMS_KMIP_REGENERATE=1 cargo test -p kms-kmip --test ttlv_tags_generated"
    );
}

#[test]
fn names_normalise_as_the_profiles_specify() {
    for (spec, xml) in [
        ("Activation Date", "ActivationDate"),
        ("SHA-256", "SHA_256"),
        ("3DES", "DES3"),
        ("X.509", "X_509"),
        ("PKCS#1", "PKCS_1"),
        ("ANSI X9.31", "ANSIX9_31"),
        ("HMAC-SHA256", "HMAC_SHA256"),
        ("Uninterpreted Text String", "UninterpretedTextString"),
        ("On-line storage", "OnLineStorage"),
        ("Template-Attribute", "TemplateAttribute"),
        ("Username and Password", "UsernameAndPassword"),
    ] {
        assert_eq!(generate::normalize(spec), xml, "{spec}");
    }
}
