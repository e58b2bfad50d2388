//! The store's tables, created and migrated by the store itself.
//!
//! `kms_schema_version` lists the migrations applied. Every node runs [`migrate`] when it opens the store, under a
//! transaction-scoped advisory lock, so nodes starting together apply each migration once and a node never runs
//! against tables half made. A database whose version is newer than this build knows is refused, not guessed at.
//!
//! `kms_meta` keeps the root key check: a record sealed under the root key when the tables were made. A node
//! whose root key cannot open it refuses to start, instead of failing every read later (or, worse, writing
//! records no other node can open).

use super::error::{PostgresError, db};
use crate::object::{Attributes, ObjectId, ObjectMetadata, ObjectType, State};
use crate::store::StoreError;
use crate::store::seal::Sealer;

/// Advisory lock key of migrations (ASCII "kms_schm"): one per database, as the lock space is.
const MIGRATION_LOCK: i64 = 0x6b6d_735f_7363_686d;

/// The migrations, in order; entry `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: objects with their indexed columns, the meta table.
    r"
CREATE TABLE kms_objects (
    -- Insertion order: assigned under the insert lock, so that it is also commit order (stable Locate paging).
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    id              bytea   NOT NULL,
    version         bigint  NOT NULL CHECK (version >= 1),
    object_type     integer NOT NULL,
    state           integer NOT NULL,
    owner           bytea   NOT NULL,
    readers         bytea[] NOT NULL,
    algorithm       bigint,
    length          bigint,
    usage_mask      bigint,
    names           bytea[] NOT NULL,
    object_groups   bytea[] NOT NULL,
    initial_s       bigint,
    initial_ns      integer,
    activation_s    bigint,
    activation_ns   integer,
    deactivation_s  bigint,
    deactivation_ns integer,
    sealed_record   bytea   NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (seq)
);
CREATE INDEX kms_objects_owner ON kms_objects (owner, seq);
CREATE INDEX kms_objects_readers ON kms_objects USING gin (readers);
CREATE INDEX kms_objects_type ON kms_objects (object_type, seq);
CREATE INDEX kms_objects_algorithm ON kms_objects (algorithm, seq);
CREATE INDEX kms_objects_state ON kms_objects (state, seq);
CREATE INDEX kms_objects_names ON kms_objects USING gin (names);
CREATE INDEX kms_objects_groups ON kms_objects USING gin (object_groups);
CREATE INDEX kms_objects_initial ON kms_objects (initial_s, initial_ns);
CREATE INDEX kms_objects_activation ON kms_objects (activation_s, activation_ns);
CREATE INDEX kms_objects_deactivation ON kms_objects (deactivation_s, deactivation_ns);
CREATE TABLE kms_meta (
    key   text  PRIMARY KEY,
    value bytea NOT NULL
);
",
];

/// The schema version this build creates and reads.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

const ROOT_KEY_CHECK: &str = "root_key_check";

/// The record sealed as the root key check: nothing secret, only proof of the key.
fn root_key_check_object() -> Result<ObjectMetadata, StoreError> {
    Ok(ObjectMetadata {
        id: ObjectId::try_from("kms-core/postgres/root-key-check")
            .map_err(|_| StoreError::InvalidRequest("root key check id"))?,
        object_type: ObjectType::SecretData,
        state: State::PreActive,
        owner: String::new(),
        grants: Vec::new(),
        attributes: Attributes::default(),
    })
}

/// Creates or migrates the tables in the connection's current schema and checks the root key, in one
/// transaction. Returns the schema version.
pub(super) async fn migrate(
    client: &mut deadpool_postgres::Client,
    create_schema: Option<&str>,
    sealer: &Sealer,
) -> Result<i32, StoreError> {
    let txn = client.transaction().await.map_err(db)?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db)?;
    if let Some(schema) = create_schema {
        // The name was validated as a plain identifier; quoting keeps its case.
        txn.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .await
            .map_err(db)?;
    }
    txn.batch_execute(
        "CREATE TABLE IF NOT EXISTS kms_schema_version (
            version    integer     PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(db)?;
    let found: i32 = txn
        .query_one(
            "SELECT coalesce(max(version), 0) FROM kms_schema_version",
            &[],
        )
        .await
        .map_err(db)?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(PostgresError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        }
        .into());
    }
    let start = usize::try_from(found).unwrap_or(0);
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(start) {
        txn.batch_execute(migration).await.map_err(db)?;
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        txn.execute(
            "INSERT INTO kms_schema_version (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(db)?;
        tracing::info!(version, "kms PostgreSQL schema migrated");
    }
    check_root_key(&txn, sealer).await?;
    txn.commit().await.map_err(db)?;
    Ok(SCHEMA_VERSION)
}

async fn check_root_key(
    client: &tokio_postgres::Transaction<'_>,
    sealer: &Sealer,
) -> Result<(), StoreError> {
    let check = root_key_check_object()?;
    let stored = client
        .query_opt(
            "SELECT value FROM kms_meta WHERE key = $1",
            &[&ROOT_KEY_CHECK],
        )
        .await
        .map_err(db)?;
    match stored {
        Some(row) => {
            let record: Vec<u8> = row.get(0);
            match sealer.open_record(&check.id, &record) {
                Ok(_) => Ok(()),
                Err(StoreError::Integrity) => Err(PostgresError::WrongRootKey.into()),
                Err(e) => Err(e),
            }
        }
        None => {
            let record = sealer.seal(&check, None, 1)?;
            client
                .execute(
                    "INSERT INTO kms_meta (key, value) VALUES ($1, $2)",
                    &[&ROOT_KEY_CHECK, &record],
                )
                .await
                .map_err(db)?;
            Ok(())
        }
    }
}

/// Whether `name` is a schema name used as is: a plain lower-case identifier, no quoting games.
pub(super) fn valid_schema_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for ok in ["kms", "_x", "kms_test_0123456789abcdef", &"a".repeat(63)] {
            assert!(valid_schema_name(ok), "{ok}");
        }
        for bad in [
            "",
            "Kms",
            "1kms",
            "kms-test",
            "k\"ms",
            "kms; drop",
            "ümlaut",
            &"a".repeat(64),
        ] {
            assert!(!valid_schema_name(bad), "{bad}");
        }
    }
}
