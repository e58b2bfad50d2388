//! `kms ttlv` end to end: the built binary decodes TTLV to JSON/XML and encodes it back to the same bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#![cfg(all(feature = "cli", feature = "kmip"))]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn kms(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kms"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

fn ok(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let out = kms(args, stdin);
    assert!(
        out.status.success(),
        "kms {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[path = "../../kms-kmip/tests/vectors/messages.rs"]
mod vector_files;

/// The messages of the kms-kmip vectors (NLnet Labs and PyKMIP sets, vCenter traffic).
fn messages() -> Vec<Vec<u8>> {
    vector_files::vector_messages(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../kms-kmip/tests/vectors"),
    )
    .unwrap()
}

/// Lower-case hex, as `kms ttlv --hex` writes it.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn hex_decode_then_encode_gives_back_the_bytes() {
    let all = messages();
    assert!(all.len() > 90);
    // Every tenth message through both encodings keeps the test quick; the codec tests cover all of them.
    for message in all.iter().step_by(10) {
        let hex = hex(message);
        for format in ["json", "xml"] {
            let text = ok(&["ttlv", "decode", "--to", format, "--hex"], hex.as_bytes());
            let back = ok(&["ttlv", "encode", "--from", format, "--hex"], &text);
            assert_eq!(String::from_utf8(back).unwrap().trim(), hex, "{format}");
        }
    }
}

#[test]
fn raw_bytes_and_message_streams() {
    let all = messages();
    let mut stream = all[0].clone();
    stream.extend(&all[1]);
    for format in ["json", "xml"] {
        let text = ok(&["ttlv", "decode", "--to", format], &stream);
        assert_eq!(
            ok(&["ttlv", "encode", "--from", format], &text),
            stream,
            "{format}"
        );
    }
    let xml = String::from_utf8(ok(&["ttlv", "decode", "--to", "xml"], &all[0])).unwrap();
    assert!(xml.starts_with("<RequestMessage>"), "{xml}");
    let json = String::from_utf8(ok(&["ttlv", "decode", "--to", "json"], &all[0])).unwrap();
    assert!(json.contains("\"tag\": \"RequestMessage\""), "{json}");
}

#[test]
fn bad_input_fails_with_a_message() {
    let out = kms(
        &["ttlv", "decode", "--to", "json", "--hex"],
        b"42007801000000",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("truncated"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kms(&["ttlv", "encode", "--from", "xml"], b"<Nope/>");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a KMIP tag name"));
}
