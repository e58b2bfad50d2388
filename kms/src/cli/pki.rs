//! The development PKI of `kms serve`: a CA, the server's certificate and an admin client certificate in
//! DATA_DIR/certs, made on first start so a server needs no set-up; `kms cert issue` adds client identities.
//!
//! Every key is ECDSA P-256: PyKMIP's TLS 1.2 mode offers only CBC suites with RSA certificates, which rustls
//! does not implement, so an RSA server key would leave such peers without a usable suite. Private keys are
//! written with mode 0600 and never overwritten; an existing CA is reused.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

/// The Common Name of the admin client certificate, and the default admin identity.
pub const ADMIN: &str = "admin";

/// Where the development PKI lives in a data directory.
#[derive(Clone, Debug)]
pub struct Paths {
    /// DATA_DIR/certs.
    pub dir: PathBuf,
}

impl Paths {
    /// The PKI of `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("certs"),
        }
    }

    /// `NAME.pem`.
    pub fn cert(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pem"))
    }

    /// `NAME.key`.
    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }
}

/// What [`ensure`] found or made.
#[derive(Debug)]
pub struct Ensured {
    /// The files written now (empty when everything was already there).
    pub written: Vec<PathBuf>,
}

/// Makes sure DATA_DIR/certs holds ca, server and admin certificates and keys, creating what is missing.
///
/// # Errors
///
/// When a certificate exists without its key (or the reverse), files cannot be written, or the CA cannot be
/// loaded.
pub fn ensure(data_dir: &Path) -> anyhow::Result<Ensured> {
    let paths = Paths::new(data_dir);
    fs::create_dir_all(&paths.dir).with_context(|| format!("creating {}", paths.dir.display()))?;
    let mut written = Vec::new();

    let ca = match pair_state(&paths, "ca")? {
        true => load_ca(&paths)?,
        false => {
            let (ca, cert_pem, key_pem) = new_ca()?;
            write_pair(&paths, "ca", &cert_pem, &key_pem, &mut written)?;
            ca
        }
    };
    if !pair_state(&paths, "server")? {
        let (cert_pem, key_pem) = issue(&ca, Leaf::Server)?;
        write_pair(&paths, "server", &cert_pem, &key_pem, &mut written)?;
    }
    if !pair_state(&paths, ADMIN)? {
        let (cert_pem, key_pem) = issue(&ca, Leaf::Client(ADMIN))?;
        write_pair(&paths, ADMIN, &cert_pem, &key_pem, &mut written)?;
    }
    Ok(Ensured { written })
}

/// Issues a client certificate for `cn` signed by the CA of `data_dir`, written as OUT/CN.pem and OUT/CN.key.
/// Returns the two paths.
///
/// # Errors
///
/// For a name unfit for a file name, a missing CA, or files that already exist.
pub fn issue_client(
    data_dir: &Path,
    cn: &str,
    out_dir: &Path,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    check_name(cn)?;
    let paths = Paths::new(data_dir);
    if !pair_state(&paths, "ca")? {
        bail!(
            "no CA in {} (run `kms serve --data-dir {}` once to create it)",
            paths.dir.display(),
            data_dir.display()
        );
    }
    let ca = load_ca(&paths)?;
    let (cert_pem, key_pem) = issue(&ca, Leaf::Client(cn))?;
    fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let out = Paths {
        dir: out_dir.to_owned(),
    };
    let mut written = Vec::new();
    write_pair(&out, cn, &cert_pem, &key_pem, &mut written)?;
    Ok((out.cert(cn), out.key(cn)))
}

/// Common Names become file names: keep them to a safe alphabet.
fn check_name(cn: &str) -> anyhow::Result<()> {
    let ok = !cn.is_empty()
        && cn.len() <= 64
        && !cn.starts_with('.')
        && cn
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if !ok {
        bail!("invalid name {cn:?}: use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'");
    }
    Ok(())
}

/// True if NAME.pem and NAME.key both exist, false if neither does; an error for half a pair, which is never
/// silently replaced.
fn pair_state(paths: &Paths, name: &str) -> anyhow::Result<bool> {
    match (paths.cert(name).exists(), paths.key(name).exists()) {
        (true, true) => Ok(true),
        (false, false) => Ok(false),
        (true, false) => bail!(
            "{} exists without {}",
            paths.cert(name).display(),
            paths.key(name).display()
        ),
        (false, true) => bail!(
            "{} exists without {}",
            paths.key(name).display(),
            paths.cert(name).display()
        ),
    }
}

fn write_pair(
    paths: &Paths,
    name: &str,
    cert_pem: &str,
    key_pem: &Zeroizing<String>,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    // The key first: a crash in between leaves a key without a certificate, which `pair_state` reports.
    write_new(&paths.key(name), key_pem.as_bytes(), 0o600)?;
    written.push(paths.key(name));
    write_new(&paths.cert(name), cert_pem.as_bytes(), 0o644)?;
    written.push(paths.cert(name));
    Ok(())
}

fn write_new(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    // An hour back, for clocks a little behind.
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(days);
}

fn new_ca() -> anyhow::Result<(Issuer<'static, KeyPair>, String, Zeroizing<String>)> {
    let key = KeyPair::generate().context("generating the CA key")?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "kms");
    params
        .distinguished_name
        .push(DnType::CommonName, "kms development CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut params, 3650);
    let cert = params
        .self_signed(&key)
        .context("signing the CA certificate")?;
    let key_pem = Zeroizing::new(key.serialize_pem());
    Ok((Issuer::new(params, key), cert.pem(), key_pem))
}

fn load_ca(paths: &Paths) -> anyhow::Result<Issuer<'static, KeyPair>> {
    let key_pem = Zeroizing::new(
        fs::read_to_string(paths.key("ca"))
            .with_context(|| format!("reading {}", paths.key("ca").display()))?,
    );
    let cert_pem = fs::read_to_string(paths.cert("ca"))
        .with_context(|| format!("reading {}", paths.cert("ca").display()))?;
    let key = KeyPair::from_pem(&key_pem)
        .with_context(|| format!("parsing {}", paths.key("ca").display()))?;
    Issuer::from_ca_cert_pem(&cert_pem, key)
        .with_context(|| format!("parsing {}", paths.cert("ca").display()))
}

enum Leaf<'a> {
    Server,
    Client(&'a str),
}

fn issue(ca: &Issuer<'_, KeyPair>, leaf: Leaf<'_>) -> anyhow::Result<(String, Zeroizing<String>)> {
    let key = KeyPair::generate().context("generating a key")?;
    let (cn, sans, eku) = match leaf {
        Leaf::Server => (
            "localhost",
            vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        Leaf::Client(cn) => (cn, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth),
    };
    let mut params = CertificateParams::new(sans)?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "kms");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![eku];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, 825);
    let cert = params
        .signed_by(&key, ca)
        .context("signing a certificate")?;
    Ok((cert.pem(), Zeroizing::new(key.serialize_pem())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn first_start_writes_everything_once_with_private_keys_0600() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure(dir.path()).unwrap();
        assert_eq!(first.written.len(), 6);
        let paths = Paths::new(dir.path());
        for name in ["ca", "server", ADMIN] {
            let mode = fs::metadata(paths.key(name)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}.key");
            assert!(
                fs::read_to_string(paths.cert(name))
                    .unwrap()
                    .starts_with("-----BEGIN CERTIFICATE-----")
            );
        }
        let ca_before = fs::read(paths.cert("ca")).unwrap();
        assert!(ensure(dir.path()).unwrap().written.is_empty());
        assert_eq!(fs::read(paths.cert("ca")).unwrap(), ca_before);

        // A lost admin pair is re-issued by the same CA.
        fs::remove_file(paths.cert(ADMIN)).unwrap();
        assert!(
            ensure(dir.path()).is_err(),
            "half a pair must not be replaced silently"
        );
        fs::remove_file(paths.key(ADMIN)).unwrap();
        assert_eq!(ensure(dir.path()).unwrap().written.len(), 2);
        assert_eq!(fs::read(paths.cert("ca")).unwrap(), ca_before);
    }

    #[test]
    fn issued_names_are_checked_and_files_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        assert!(
            issue_client(dir.path(), "alice", &out).is_err(),
            "no CA yet"
        );
        ensure(dir.path()).unwrap();
        let (cert, key) = issue_client(dir.path(), "alice", &out).unwrap();
        assert_eq!(cert, out.join("alice.pem"));
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(
            issue_client(dir.path(), "alice", &out).is_err(),
            "overwrite"
        );
        for bad in ["", "../x", "a/b", ".hidden", "sp ace"] {
            assert!(issue_client(dir.path(), bad, &out).is_err(), "{bad:?}");
        }
    }
}
