//! Creating a tenant schema at the current version.
//!
//! A new schema is created by running the very same tenant migrations that `dvc migrate`
//! applies to existing tenants, inside the caller's transaction, so a new tenant is identical
//! to an old one migrated forward, and a failed provisioning leaves nothing behind.

use super::names::SchemaName;
use crate::db::tenant_db::enter_tenant_schema;
use diesel::PgConnection;
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const TENANT_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/tenant");
pub const PLATFORM_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/platform");

pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Creates `schema` and migrates it to the latest version. Must run inside a transaction;
/// returns the version the schema is at.
pub fn create_tenant_schema<S: MigrationSource<Pg>>(
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
    Ok(applied.iter().max().map(|v| v.to_string()))
}
