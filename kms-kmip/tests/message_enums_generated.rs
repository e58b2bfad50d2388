//! The generated enumerations of the typed message model are current: regenerating them from `gen/input/`
//! gives the checked-in file. `KMS_KMIP_REGENERATE=1 cargo test -p kms-kmip --test message_enums_generated`
//! rewrites it.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../gen/enums.rs"]
mod enums;

use std::path::Path;

#[test]
fn generated_enums_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(dir.join("gen/input").join(p)).unwrap();
    let text = enums::generate(&read("kmip-1.4.json"), &read("kmip-2.0-additions.json"));
    let target = dir.join("src/message/enums.rs");
    let current = std::fs::read_to_string(&target).unwrap_or_default();
    if std::env::var_os("KMS_KMIP_REGENERATE").is_some() {
        if current != text {
            std::fs::write(&target, &text).unwrap();
        }
        return;
    }
    assert!(
        current == text,
        "src/message/enums.rs is stale: run KMS_KMIP_REGENERATE=1 cargo test -p kms-kmip --test message_enums_generated"
    );
}
