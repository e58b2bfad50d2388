//! The whole KMIP messages of the hex vector files in this directory, for the tests and benches of several
//! crates (each includes this file with `#[path]`): every JSON string of the files that is whole hex bytes
//! starting with a RequestMessage (`420078`) or ResponseMessage (`42007b`) structure.

use std::path::Path;

/// The hex vector files, by the set they come from (see README.md here).
const FILES: [&str; 3] = [
    "nlnetlabs-tests-hex.json",
    "pykmip-test_messages-hex.json",
    "vmware-vcenter-kmip-traffic-from-cosmian-logs.json",
];

/// The messages of the vector files in `dir` (this directory), as TTLV bytes, in file order.
///
/// # Errors
/// When a vector file cannot be read.
pub fn vector_messages(dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for file in FILES {
        let text = std::fs::read_to_string(dir.join(file))?;
        // Splitting at quotes puts the JSON strings at the odd positions.
        for s in text.split('"').skip(1).step_by(2) {
            let lower = s.to_ascii_lowercase();
            let is_message = lower.starts_with("42007801") || lower.starts_with("42007b01");
            if !is_message || lower.len() % 2 != 0 {
                continue;
            }
            let bytes: Option<Vec<u8>> = (0..lower.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(lower.get(i..i + 2)?, 16).ok())
                .collect();
            out.extend(bytes);
        }
    }
    Ok(out)
}
