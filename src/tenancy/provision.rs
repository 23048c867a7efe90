//! Creating a tenant schema at the current version.
//!
//! A new schema is created from the **baseline**: every tenant migration concatenated in version
//! order (by `build.rs`), run in one batch inside the caller's transaction, then diesel's ledger
//! is created in the schema and filled with every version. A test proves this builds exactly
//! the schema that running the migrations one by one builds; it only saves round trips and
//! savepoints. A failed provisioning leaves nothing behind.

use super::names::SchemaName;
use crate::db::sql_script::ScriptMigrations;
use crate::db::tenant_db::enter_tenant_schema;
use diesel::PgConnection;
use diesel::connection::SimpleConnection;
use diesel::migration::{CREATE_MIGRATIONS_TABLE, MigrationSource};
use diesel::pg::Pg;
use diesel_migrations::MigrationHarness;

pub const TENANT_MIGRATIONS: ScriptMigrations =
    ScriptMigrations(include!(concat!(env!("OUT_DIR"), "/tenant_scripts.rs")));
pub const PLATFORM_MIGRATIONS: ScriptMigrations =
    ScriptMigrations(include!(concat!(env!("OUT_DIR"), "/platform_scripts.rs")));

pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

include!(concat!(env!("OUT_DIR"), "/tenant_baseline.rs"));

/// Creates `schema` at the latest version from the baseline. Must run inside a transaction;
/// returns the version the schema is at.
pub fn create_tenant_schema(
    conn: &mut PgConnection,
    schema: &SchemaName,
) -> Result<Option<String>, MigrationError> {
    let ledger_rows = TENANT_BASELINE_VERSIONS
        .iter()
        .map(|v| format!("('{v}')"))
        .collect::<Vec<_>>()
        .join(", ");
    // One round trip. The schema name is a validated `SchemaName` (quoted as well); the rest
    // of the batch is the compiled-in baseline.
    let schema = schema.quoted();
    let script = format!(
        "CREATE SCHEMA {schema};\nSET LOCAL search_path TO {schema};\n{TENANT_BASELINE_SQL}\n\
         {CREATE_MIGRATIONS_TABLE};\n\
         INSERT INTO __diesel_schema_migrations (version) VALUES {ledger_rows};"
    );
    if crate::db::citus::is_citus(conn)? {
        // Citus forwards DDL of a distributed schema with the text it came in: one statement
        // at a time (see `db::sql_script`).
        conn.batch_execute(crate::db::citus::ALLOW_SHARD_LOCAL_TRIGGERS)?;
        for statement in crate::db::sql_script::statements(&script) {
            conn.batch_execute(statement)?;
        }
    } else {
        conn.batch_execute(&script)?;
    }
    Ok(TENANT_BASELINE_VERSIONS.last().map(|v| (*v).to_owned()))
}

/// Creates a new tenant's schema at the latest version and records it in
/// `platform.tenant_schema_state`. Must run inside the transaction that registers the tenant.
pub fn provision_tenant(
    conn: &mut PgConnection,
    tenant: uuid::Uuid,
    schema: &SchemaName,
) -> Result<(), MigrationError> {
    use crate::db::schema::tenant_schema_state as state;
    use diesel::prelude::*;
    let version = create_tenant_schema(conn, schema)?;
    diesel::insert_into(state::table)
        .values((
            state::tenant_id.eq(tenant),
            state::version.eq(version),
            state::status.eq(super::migrator::SchemaState::Ok),
        ))
        .execute(conn)?;
    Ok(())
}

/// Creates `schema` by running `migrations` one by one, as `dvc migrate` would from an empty
/// schema. Must run inside a transaction. The reference the baseline is checked against.
pub fn create_tenant_schema_by_migrating<S: MigrationSource<Pg>>(
    conn: &mut PgConnection,
    schema: &SchemaName,
    migrations: S,
) -> Result<Option<String>, MigrationError> {
    conn.batch_execute(&format!("CREATE SCHEMA {}", schema.quoted()))?;
    enter_tenant_schema(conn, schema)?;
    conn.run_pending_migrations(migrations)?;
    current_version(conn)
}

/// Latest migration recorded in the ledger on the current search path.
pub fn current_version(conn: &mut PgConnection) -> Result<Option<String>, MigrationError> {
    let applied = conn.applied_migrations()?;
    Ok(applied.iter().max().map(std::string::ToString::to_string))
}
