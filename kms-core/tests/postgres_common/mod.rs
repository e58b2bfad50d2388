//! Shared set-up of the PostgreSQL store tests: the server scripts/test provides (KMS_TEST_POSTGRES_URL), a fresh
//! schema per store fixture, and private clusters for tests that restart their database.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::time::Duration;

use kms_core::store::seal::StaticRootKey;
use kms_core::store::{PostgresOptions, PostgresStore};
use zeroize::Zeroizing;

pub mod cluster;

/// The URL of the server the tests share. Without it the test fails: the PostgreSQL tests always run.
pub fn url() -> String {
    std::env::var("KMS_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "KMS_TEST_POSTGRES_URL is not set: run ./scripts/test, which starts a throwaway PostgreSQL \
             (or set it to a server where this role may create schemas and databases)"
        )
    })
}

pub fn root_key(byte: u8) -> StaticRootKey {
    StaticRootKey::new(Zeroizing::new([byte; 32]))
}

pub fn fresh_schema_name() -> String {
    format!("kms_test_{}", uuid::Uuid::new_v4().simple())
}

/// Runs SQL statements (no parameters) on `url` through a short-lived connection of their own.
pub fn execute_at(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        let _ = task.await;
    });
}

/// Runs one query with parameters on `url` and returns its rows.
pub fn query_at(
    url: &str,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Vec<tokio_postgres::Row> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(connection);
        let rows = client.query(sql, params).await.unwrap();
        drop(client);
        let _ = task.await;
        rows
    })
}

/// Options for a store in `schema`.
pub fn options_in(schema: &str) -> PostgresOptions {
    let mut o = PostgresOptions::default();
    o.schema = Some(schema.to_owned());
    o.pool_size = 8;
    o
}

/// A store in a schema of its own on the shared server, dropped with the fixture.
pub struct TempSchema {
    pub store: PostgresStore,
    pub schema: String,
    pub url: String,
}

impl TempSchema {
    pub fn new() -> Self {
        let url = url();
        let schema = fresh_schema_name();
        let store = PostgresStore::connect(&url, &root_key(0x42), options_in(&schema)).unwrap();
        Self { store, schema, url }
    }

    /// Another node: a second store (its own pool and runtime) on the same schema and root key.
    pub fn another_node(&self) -> PostgresStore {
        PostgresStore::connect(&self.url, &root_key(0x42), options_in(&self.schema)).unwrap()
    }

    /// A query in the fixture's schema.
    pub fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Vec<tokio_postgres::Row> {
        query_at(
            &self.url,
            &sql.replace("kms_", &format!("{}.kms_", self.schema)),
            params,
        )
    }
}

impl Drop for TempSchema {
    fn drop(&mut self) {
        execute_at(
            &self.url,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema),
        );
    }
}

/// Generous bound for liveness only: nothing here measures time.
pub const LIVENESS: Duration = Duration::from_secs(60);
