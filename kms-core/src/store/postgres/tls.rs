//! TLS to the database: rustls with the ring provider, TLS 1.2 and 1.3, the server verified against the
//! operator's CA (certificate chain and host name), no client certificate.

use std::path::Path;
use std::sync::Arc;

use tokio_postgres_rustls::MakeRustlsConnect;

use super::error::PostgresError;
use crate::store::StoreError;

/// Largest CA file read: a bundle of a few hundred certificates.
const MAX_CA_FILE: u64 = 1 << 20;

pub(super) fn connector(ca_file: &Path) -> Result<MakeRustlsConnect, StoreError> {
    let fail = |reason: String| PostgresError::TlsCa {
        path: ca_file.to_owned(),
        reason,
    };
    let len = std::fs::metadata(ca_file)
        .map_err(|e| fail(e.to_string()))?
        .len();
    if len > MAX_CA_FILE {
        return Err(fail(format!("{len} bytes, more than the {MAX_CA_FILE} accepted")).into());
    }
    let pem = std::fs::read(ca_file).map_err(|e| fail(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| fail(e.to_string()))?;
        roots.add(cert).map_err(|e| fail(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(fail("no PEM certificate in it".into()).into());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| fail(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
