//! Helpers shared by the integration tests: vector files and the external checkers (xmllint,
//! xmlsec1), whose locations come from KMS_XMLLINT / KMS_XMLSEC1. A missing checker fails the test:
//! scripts/test always installs them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(vectors().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn vector_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["cxf", "rec-2005", "xmlsec-2003"] {
        for e in std::fs::read_dir(vectors().join(dir)).expect("vector dir") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "xml") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

fn tool(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Validates a bare XKMS document against xkms.xsd offline; returns xmllint's complaint on failure.
pub fn xmllint_validate(xml: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("m.xml");
    std::fs::write(&f, xml).expect("write");
    let schema = vectors().join("schema");
    let out = Command::new(tool("KMS_XMLLINT", "xmllint"))
        .env("XML_CATALOG_FILES", schema.join("catalog.xml"))
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(schema.join("xkms.xsd"))
        .arg(&f)
        .output()
        .unwrap_or_else(|e| {
            panic!("xmllint not runnable (set KMS_XMLLINT; Debian package libxml2-utils): {e}")
        });
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Runs xmlsec1 with `args`, the document last; returns stdout+stderr on failure.
pub fn xmlsec1(args: &[&std::ffi::OsStr], xml: &[u8]) -> Result<String, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("m.xml");
    std::fs::write(&f, xml).expect("write");
    let out = Command::new(tool("KMS_XMLSEC1", "xmlsec1"))
        .args(args)
        .arg(&f)
        .output()
        .unwrap_or_else(|e| {
            panic!("xmlsec1 not runnable (set KMS_XMLSEC1; Debian package xmlsec1): {e}")
        });
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(all)
    } else {
        Err(all)
    }
}
