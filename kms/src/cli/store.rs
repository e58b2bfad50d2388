//! `kms serve --store`: the object store and the root key that seals it.
//!
//! Each store is behind its own feature of the `kms` crate and adds one variant to [`StoreKind`] and its options to
//! [`StoreArgs`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use kms_core::ObjectStore;
use kms_core::store::{FileRootKey, RedbOptions, RootKeyProvider};

/// Where managed objects are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// The embedded redb database in DATA_DIR/objects.redb.
    Redb,
    /// A PostgreSQL database that several servers share (--database-url; every server needs the same root key,
    /// e.g. one --root-key-file).
    #[cfg(feature = "postgres")]
    Postgres,
}

/// `kms serve` options that choose and configure the object store.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The object store.
    #[arg(long, value_enum, value_name = "STORE", default_value = "redb")]
    store: StoreKind,
    /// A root key file that must exist (32 bytes, mode 0600), e.g. one shared by several servers. Default:
    /// DATA_DIR/root.key, generated on first start.
    #[arg(long, value_name = "PATH")]
    root_key_file: Option<PathBuf>,
    /// With --store postgres: the database, as a libpq URL (postgres://user@host:port/db) or key=value string.
    /// Prefer the environment variable when the URL has a password: the command line is visible to other users.
    #[cfg(feature = "postgres")]
    #[arg(
        long,
        value_name = "URL",
        env = "KMS_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// With --store postgres: the schema holding the tables (created when missing), so that several kms
    /// clusters can share one database. Default: the connection's search_path (normally public).
    #[cfg(feature = "postgres")]
    #[arg(long, value_name = "NAME")]
    database_schema: Option<String>,
    /// With --store postgres: most database connections this server opens.
    #[cfg(feature = "postgres")]
    #[arg(long, value_name = "N", default_value_t = 16)]
    database_pool_size: usize,
    /// With --store postgres: TLS to the database, verified against this CA certificate file (PEM); the
    /// connection is then TLS or nothing.
    #[cfg(feature = "postgres")]
    #[arg(long, value_name = "PATH")]
    database_ca_file: Option<PathBuf>,
    /// Seal the root key to this TPM (a TCTI string, e.g. device:/dev/tpmrm0): DATA_DIR/root.tpm, generated and
    /// sealed on first start, opens only on this TPM.
    #[cfg(feature = "tpm")]
    #[arg(long, value_name = "TCTI", conflicts_with = "root_key_file")]
    // One root key: with both features, asking for the TPM and the token at once is refused, not resolved.
    #[cfg_attr(feature = "hsm", arg(conflicts_with = "root_key_pkcs11"))]
    root_key_tpm: Option<String>,
    /// Keep the root key wrapped by a non-extractable AES key in the PKCS#11 token with this label (module
    /// --root-key-pkcs11-module, user PIN in KMS_PKCS11_PIN): DATA_DIR/root.key.hsm, generated on first start,
    /// opens only with that token.
    #[cfg(feature = "hsm")]
    #[arg(
        long,
        value_name = "LABEL",
        conflicts_with = "root_key_file",
        requires = "root_key_pkcs11_module"
    )]
    root_key_pkcs11: Option<String>,
    /// The PKCS#11 module for --root-key-pkcs11.
    #[cfg(feature = "hsm")]
    #[arg(long, value_name = "PATH", requires = "root_key_pkcs11")]
    root_key_pkcs11_module: Option<PathBuf>,
}

/// An opened store, and whether this process is its only writer.
pub struct OpenedStore {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// True when no other process writes to the store, so the key manager may cache objects.
    pub exclusive: bool,
}

fn root_key(args: &StoreArgs, data_dir: &Path) -> Box<dyn RootKeyProvider> {
    #[cfg(feature = "tpm")]
    if let Some(tcti) = &args.root_key_tpm {
        return Box::new(kms_tpm::TpmRootKey::in_data_dir_with_tcti(tcti, data_dir));
    }
    #[cfg(feature = "hsm")]
    if let (Some(label), Some(module)) = (&args.root_key_pkcs11, &args.root_key_pkcs11_module) {
        return Box::new(kms_hsm::HsmRootKey::in_data_dir(
            module,
            kms_hsm::TokenSelector::Label(label.clone()),
            kms_hsm::PIN_ENV,
            data_dir,
        ));
    }
    match &args.root_key_file {
        Some(path) => Box::new(FileRootKey::existing(path)),
        None => Box::new(FileRootKey::in_data_dir(data_dir)),
    }
}

/// Opens the chosen store, sealed under the chosen root key.
///
/// # Errors
/// When the store or its root key cannot be opened.
pub fn open_store(args: &StoreArgs, data_dir: &Path) -> anyhow::Result<OpenedStore> {
    let root_key = root_key(args, data_dir);
    match args.store {
        StoreKind::Redb => {
            let store =
                kms_core::RedbStore::open_with(data_dir, root_key.as_ref(), RedbOptions::default())
                    .with_context(|| {
                        format!("opening the object store in {}", data_dir.display())
                    })?;
            Ok(OpenedStore {
                store: Arc::new(store),
                exclusive: true,
            })
        }
        #[cfg(feature = "postgres")]
        StoreKind::Postgres => {
            let url = args.database_url.as_deref().context(
                "--store postgres needs --database-url URL (or the KMS_DATABASE_URL environment variable)",
            )?;
            let mut options = kms_core::store::PostgresOptions::default();
            options.schema.clone_from(&args.database_schema);
            options.pool_size = args.database_pool_size;
            options.tls_ca_file.clone_from(&args.database_ca_file);
            // Not the URL in the message: it may carry a password.
            let store = kms_core::store::PostgresStore::connect(url, root_key.as_ref(), options)
                .context("opening the PostgreSQL object store")?;
            Ok(OpenedStore {
                store: Arc::new(store),
                // Other servers write to the same database.
                exclusive: false,
            })
        }
    }
}
