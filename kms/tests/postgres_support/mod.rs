//! Shared set-up of the multi-server tests: `kms serve --store postgres` processes on free ports sharing one
//! database schema, one development PKI and one root key file, and a typed KMIP 2.1 client for them.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kms::kmip::message::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, NameType, ObjectType, ResultReason,
    ResultStatus,
};
use kms::kmip::message::operations::lifecycle::{CreateRequest, IdentifierPayload};
use kms::kmip::message::types::Name;
use kms::kmip::message::{
    Attribute, Attributes, RequestBatchItem, RequestHeader, RequestMessage, RequestPayload,
    ResponseMessage, ResponsePayload, UniqueIdentifier,
};
use kms::kmip::tags::Version;
use kms::kmip::transport::client::{ClientOptions, KmipClient};
use kms::kmip::transport::rustls;

use crate::support::{Serve, Server, client_tls};

// initdb/pg_ctl control of a private cluster: kms-core's PostgreSQL store tests use the same one.
#[path = "../../../kms-core/tests/postgres_common/cluster.rs"]
mod cluster;
pub use cluster::Cluster;

/// Generous bound for liveness only: nothing here measures time.
pub const LIVENESS: Duration = Duration::from_secs(90);

/// The URL of the server the tests share (scripts/test always sets it).
pub fn shared_url() -> String {
    std::env::var("KMS_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "KMS_TEST_POSTGRES_URL is not set: run ./scripts/test, which starts a throwaway PostgreSQL \
             (or set it to a server where this role may create schemas)"
        )
    })
}

pub fn fresh_schema() -> String {
    format!("kms_test_{}", uuid_like())
}

fn uuid_like() -> String {
    // Unique enough per test run without another dependency: pid, time and a counter.
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{:x}_{:x}_{}",
        std::process::id(),
        t,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Servers of one deployment: their common database, schema, root key and PKI.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub schema: String,
    pub root_key: PathBuf,
}

impl Deployment {
    pub fn new(url: String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root_key = dir.path().join("root.key");
        let mut key = [0u8; 32];
        for (i, b) in key.iter_mut().enumerate() {
            // Not secret: a test key, distinct per run only by chance of the schema.
            *b = u8::try_from(i).unwrap() ^ 0x5c;
        }
        std::fs::write(&root_key, key).unwrap();
        std::fs::set_permissions(&root_key, std::fs::Permissions::from_mode(0o600)).unwrap();
        Self {
            dir,
            url,
            schema: fresh_schema(),
            root_key,
        }
    }

    /// The data directory of node `n`: node 0 makes the PKI on its first start; the others get a copy, so that
    /// one client identity is valid on every node (as one operator PKI would be).
    pub fn data_dir(&self, n: usize) -> PathBuf {
        let dir = self.dir.path().join(format!("node{n}"));
        if n > 0 && !dir.join("certs").exists() {
            let certs = self.dir.path().join("node0").join("certs");
            assert!(certs.exists(), "start node 0 first");
            std::fs::create_dir_all(dir.join("certs")).unwrap();
            for entry in std::fs::read_dir(&certs).unwrap() {
                let entry = entry.unwrap();
                let to = dir.join("certs").join(entry.file_name());
                std::fs::copy(entry.path(), &to).unwrap();
                let mode = entry.metadata().unwrap().permissions().mode();
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        dir
    }

    /// Starts node `n` and waits for its KMIP address.
    pub fn start(&self, n: usize) -> Server {
        self.start_with(n, &[])
    }

    /// Starts node `n` with more `kms serve` arguments.
    pub fn start_with(&self, n: usize, extra: &[&str]) -> Server {
        let data_dir = self.data_dir(n);
        // The server's log goes beside its data, for whoever debugs a failure.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("node{n}.log")))
            .unwrap();
        Serve::new(&data_dir)
            .env("RUST_LOG", "info")
            .args(["--store", "postgres", "--database-schema", &self.schema])
            .args([Path::new("--root-key-file"), &self.root_key])
            .args(extra)
            .env("KMS_DATABASE_URL", &self.url)
            .stderr(log)
            .start()
    }

    /// The admin client identity of the deployment's PKI.
    pub fn tls(&self) -> Arc<rustls::ClientConfig> {
        client_tls(&self.dir.path().join("node0").join("certs"), "admin")
    }
}

/// How a request failed: the server's answer, or no answer.
#[derive(Debug)]
pub enum Failure {
    /// A KMIP failure response.
    Kmip(Option<ResultReason>, String),
    /// The connection failed (the server is gone, or timed out).
    Transport(String),
}

/// A KMIP 2.1 client that reconnects after a transport failure.
pub struct Client {
    addr: String,
    tls: Arc<rustls::ClientConfig>,
    conn: Option<KmipClient>,
}

impl Client {
    pub fn new(addr: &str, tls: Arc<rustls::ClientConfig>) -> Self {
        Self {
            addr: addr.to_owned(),
            tls,
            conn: None,
        }
    }

    pub fn call(&mut self, payload: RequestPayload) -> Result<ResponsePayload, Failure> {
        let request = RequestMessage {
            header: RequestHeader {
                protocol_version: Version::V2_1.into(),
                batch_count: 1,
                ..Default::default()
            },
            batch_items: vec![RequestBatchItem::new(payload).unwrap()],
        }
        .to_bytes()
        .unwrap();
        if self.conn.is_none() {
            let mut options = ClientOptions::default();
            options.connect_timeout = Duration::from_secs(5);
            options.request_timeout = Duration::from_secs(60);
            self.conn = Some(
                KmipClient::connect(&self.addr, Arc::clone(&self.tls), options)
                    .map_err(|e| Failure::Transport(e.to_string()))?,
            );
        }
        let conn = self.conn.as_mut().unwrap();
        let response = match conn.request(&request) {
            Ok(r) => r,
            Err(e) => {
                self.conn = None;
                return Err(Failure::Transport(e.to_string()));
            }
        };
        let response = ResponseMessage::from_bytes(&response).unwrap();
        let item = response.batch_items.into_iter().next().unwrap();
        if item.result_status != ResultStatus::SUCCESS {
            return Err(Failure::Kmip(
                item.result_reason,
                item.result_message.unwrap_or_default(),
            ));
        }
        Ok(item.payload.unwrap())
    }

    /// Creates an AES-256 key and returns its id.
    pub fn create_aes(&mut self, name: Option<&str>) -> Result<String, Failure> {
        let mut attributes = vec![
            Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
            Attribute::CryptographicLength(256),
            Attribute::CryptographicUsageMask(
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
            ),
        ];
        if let Some(n) = name {
            attributes.push(name_attribute(n));
        }
        match self.call(RequestPayload::Create(CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: Attributes::new(attributes),
            ..Default::default()
        }))? {
            ResponsePayload::Create(c) => Ok(id_of(&c.unique_identifier)),
            other => panic!("unexpected response {other:?}"),
        }
    }
}

pub fn name_attribute(value: &str) -> Attribute {
    Attribute::Name(Name {
        name_value: value.to_owned(),
        name_type: NameType::UNINTERPRETED_TEXT_STRING,
        ..Default::default()
    })
}

pub fn identifier(id: &str) -> IdentifierPayload {
    IdentifierPayload {
        unique_identifier: Some(id.into()),
        ..Default::default()
    }
}

pub fn id_of(id: &UniqueIdentifier) -> String {
    id.as_str().unwrap().to_owned()
}

/// Leaves no schema behind on the shared server.
pub fn drop_schema(url: &str, schema: &str) {
    let _ = Command::new("psql")
        .arg(url)
        .args(["-qAtc", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")])
        .output();
}
