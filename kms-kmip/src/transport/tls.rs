//! TLS configurations for the transports: rustls with the ring provider, TLS 1.2 and 1.3 only, the
//! provider's AEAD suites for ECDSA and RSA keys (ECDHE with AES-GCM or ChaCha20-Poly1305), mutual TLS.
//!
//! TLS 1.2 stays enabled because KMIP peers such as PyKMIP 0.11 speak only TLS 1.2; nothing older is ever
//! negotiated. A server configuration always requires a client certificate that chains to the configured
//! CA: there is no plaintext and no anonymous KMIP.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{RootCertStore, SupportedProtocolVersion};

use super::Error;

/// The protocol versions the transports accept: TLS 1.3 and TLS 1.2, nothing older.
pub static PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The ALPN protocol of the HTTPS listener.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

/// The crypto provider of the transports: rustls' ring provider with its default suites and groups.
#[must_use]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads every certificate of a PEM file.
///
/// # Errors
///
/// [`Error::Pem`] if the file cannot be read or parsed, [`Error::NoCertificate`] if it holds none.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = |source| Error::Pem {
        what: "certificate",
        path: path.to_owned(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem)?;
    if certs.is_empty() {
        return Err(Error::NoCertificate(path.to_owned()));
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, PKCS#1 or SEC1) of a PEM file.
///
/// # Errors
///
/// [`Error::Pem`] if the file cannot be read or holds no private key.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| Error::Pem {
        what: "private key",
        path: path.to_owned(),
        source,
    })
}

/// A trust store holding `ca`.
///
/// # Errors
///
/// [`Error::TrustAnchor`] if a certificate cannot serve as a trust anchor.
pub fn root_store(ca: &[CertificateDer<'_>]) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in ca {
        roots.add(cert.clone()).map_err(Error::TrustAnchor)?;
    }
    Ok(roots)
}

/// A server configuration presenting `cert_chain`/`key` and requiring a client certificate issued by `ca`.
///
/// # Errors
///
/// [`Error::TrustAnchor`] or [`Error::Verifier`] for unusable CA certificates, [`Error::TlsConfig`] if the
/// key does not fit the certificate or the provider cannot serve it.
#[cfg(feature = "server")]
pub fn server_config(
    ca: &[CertificateDer<'_>],
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let provider = provider();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(root_store(ca)?),
        Arc::clone(&provider),
    )
    .build()
    .map_err(Error::Verifier)?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(Error::TlsConfig)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(cert_chain, key)
        .map_err(Error::TlsConfig)?;
    Ok(Arc::new(config))
}

/// [`server_config`] from PEM files.
///
/// # Errors
///
/// As [`load_certificates`], [`load_private_key`] and [`server_config`].
#[cfg(feature = "server")]
pub fn server_config_from_pem(
    ca: &Path,
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    server_config(
        &load_certificates(ca)?,
        load_certificates(cert)?,
        load_private_key(key)?,
    )
}

/// A client configuration trusting `ca` and presenting `cert_chain`/`key` when the server asks.
///
/// # Errors
///
/// [`Error::TrustAnchor`] for unusable CA certificates, [`Error::TlsConfig`] if the key does not fit the
/// certificate.
#[cfg(feature = "client")]
pub fn client_config(
    ca: &[CertificateDer<'_>],
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ClientConfig>, Error> {
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(Error::TlsConfig)?
        .with_root_certificates(root_store(ca)?)
        .with_client_auth_cert(cert_chain, key)
        .map_err(Error::TlsConfig)?;
    Ok(Arc::new(config))
}

/// [`client_config`] from PEM files.
///
/// # Errors
///
/// As [`load_certificates`], [`load_private_key`] and [`client_config`].
#[cfg(feature = "client")]
pub fn client_config_from_pem(
    ca: &Path,
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ClientConfig>, Error> {
    client_config(
        &load_certificates(ca)?,
        load_certificates(cert)?,
        load_private_key(key)?,
    )
}

/// The identity of a verified client certificate: its subject Common Name, its RFC 4514 subject, and
/// whether `admins` lists the name. `None` if the certificate cannot be parsed or has no Common Name.
#[cfg(feature = "server")]
#[must_use]
pub fn client_identity(
    cert: &CertificateDer<'_>,
    admins: &[String],
) -> Option<super::ClientIdentity> {
    use x509_cert::der::Decode;

    let cert = x509_cert::Certificate::from_der(cert.as_ref()).ok()?;
    let subject = cert.tbs_certificate().subject();
    let name = String::from(subject.common_name().ok()??);
    if name.is_empty() {
        return None;
    }
    let admin = admins.contains(&name);
    Some(super::ClientIdentity::new(name, subject.to_string(), admin))
}
