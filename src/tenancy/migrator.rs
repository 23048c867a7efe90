//! `dvc migrate`: the shared schema first, then every tenant schema in parallel with bounded
//! concurrency. Each tenant is migrated under its own advisory lock, with diesel's ledger
//! inside its own schema, and its outcome is recorded in `platform.tenant_schema_state`.
//! A failing tenant is reported and does not stop the others; a rerun resumes.

use super::names::{SchemaName, TenantSlug};
use super::provision::{MigrationError, PLATFORM_MIGRATIONS, current_version};
use crate::db::QUARANTINE_SCHEMA;
use crate::db::schema::{tenant_schema_state, tenants};
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_migrations::MigrationHarness;
use std::collections::VecDeque;
use std::sync::Mutex;
use uuid::Uuid;

/// Outcome of migrating one tenant.
#[derive(Debug)]
pub struct TenantOutcome {
    pub slug: TenantSlug,
    pub applied: usize,
    pub result: Result<Option<String>, String>,
}

#[derive(Debug, Default)]
pub struct MigrationReport {
    pub tenants: Vec<TenantOutcome>,
}

impl MigrationReport {
    pub fn failed(&self) -> impl Iterator<Item = &TenantOutcome> {
        self.tenants.iter().filter(|t| t.result.is_err())
    }

    pub fn is_success(&self) -> bool {
        self.failed().next().is_none()
    }
}

fn connect(url: &str) -> ConnectionResult<PgConnection> {
    let mut conn = PgConnection::establish(url)?;
    conn.batch_execute(&format!("SET search_path TO {QUARANTINE_SCHEMA}"))
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    Ok(conn)
}

/// Session-level advisory lock keyed by a name, so two `dvc migrate` runs never work on the
/// same schema at once.
fn with_advisory_lock<T>(
    conn: &mut PgConnection,
    key: &str,
    f: impl FnOnce(&mut PgConnection) -> T,
) -> QueryResult<T> {
    diesel::sql_query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(key)
        .execute(conn)?;
    let out = f(conn);
    diesel::sql_query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
        .bind::<Text, _>(key)
        .execute(conn)?;
    Ok(out)
}

crate::db::text_enum! {
    /// How a tenant's schema came out of its last migration (`tenant_schema_state.status`).
    pub enum SchemaState("migration state") {
        /// At the version recorded beside it.
        Ok = "ok",
        /// The last attempt failed; `error` and `attempts` say how and how often.
        Failed = "failed",
    }
}

/// Every tenant's schema version and last migration outcome (`ok` or `failed`), as recorded
/// in `platform.tenant_schema_state`.
pub fn schema_states(
    conn: &mut diesel::PgConnection,
) -> diesel::QueryResult<Vec<(uuid::Uuid, Option<String>, SchemaState)>> {
    use crate::db::schema::tenant_schema_state as s;
    use diesel::prelude::*;
    s::table
        .select((s::tenant_id, s::version, s::status))
        .load(conn)
}

/// Creates the `platform` schema if needed and applies its pending migrations.
pub fn migrate_platform(url: &str) -> Result<usize, MigrationError> {
    let mut conn = connect(url)?;
    let citus = crate::db::citus::is_citus(&mut conn)?;
    with_advisory_lock(&mut conn, "dvc:migrate:platform", |conn| {
        let migrate = |conn: &mut PgConnection| {
            conn.batch_execute("CREATE SCHEMA IF NOT EXISTS platform")?;
            conn.batch_execute("SET search_path TO platform")?;
            let applied = conn.run_pending_migrations(PLATFORM_MIGRATIONS)?.len();
            conn.batch_execute(&format!("SET search_path TO {QUARANTINE_SCHEMA}"))?;
            Ok::<_, MigrationError>(applied)
        };
        if citus {
            // The shared schema is not a tenant: it stays on the coordinator.
            crate::db::citus::on_coordinator(conn, migrate)
        } else {
            migrate(conn)
        }
    })?
}

/// Migrates every tenant schema, `concurrency` at a time, with the migrations `source` gives
/// (the embedded ones in production; tests pass a folder with an extra migration).
pub fn migrate_tenants<S, F>(
    url: &str,
    concurrency: usize,
    source: F,
) -> Result<MigrationReport, MigrationError>
where
    S: MigrationSource<Pg>,
    F: Fn() -> S + Sync,
{
    migrate_tenants_showing(url, concurrency, source, &crate::progress::Silent)
}

/// [`migrate_tenants`], reporting each tenant done to `progress`.
pub fn migrate_tenants_showing<S, F>(
    url: &str,
    concurrency: usize,
    source: F,
    progress: &dyn crate::progress::Progress,
) -> Result<MigrationReport, MigrationError>
where
    S: MigrationSource<Pg>,
    F: Fn() -> S + Sync,
{
    let mut conn = connect(url)?;
    let citus = crate::db::citus::is_citus(&mut conn)?;
    let rows: Vec<(Uuid, String, String)> = tenants::table
        .select((tenants::id, tenants::slug, tenants::schema_name))
        .order(tenants::slug)
        .load(&mut conn)?;
    drop(conn);
    progress.start("tenants", rows.len() as u64);
    let queue = Mutex::new(rows.into_iter().collect::<VecDeque<_>>());
    let outcomes = Mutex::new(Vec::new());
    let workers = concurrency.clamp(1, 64);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Result<(), MigrationError> {
                    let mut conn = connect(url)?;
                    if citus {
                        // For this session's migrations (see `ALLOW_SHARD_LOCAL_TRIGGERS`).
                        conn.batch_execute("SET citus.enable_unsafe_triggers TO on")?;
                    }
                    loop {
                        let next = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .pop_front();
                        let Some((id, slug, schema)) = next else {
                            return Ok(());
                        };
                        let outcome = migrate_one(&mut conn, id, &slug, &schema, source())?;
                        outcomes
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(outcome);
                        progress.advance(1);
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("migration worker panicked".into()))
            })
            .collect::<Result<Vec<()>, _>>()
    })?;
    let mut tenants = outcomes
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(MigrationReport { tenants })
}

/// Migrates one tenant. Errors of the tenant's own migrations go into the outcome; an `Err`
/// means the connection itself is unusable.
fn migrate_one<S: MigrationSource<Pg>>(
    conn: &mut PgConnection,
    id: Uuid,
    slug: &str,
    schema: &str,
    source: S,
) -> Result<TenantOutcome, MigrationError> {
    let slug = TenantSlug::parse(slug)?;
    let schema = SchemaName::parse(schema)?;
    let result = with_advisory_lock(conn, &format!("dvc:migrate:{schema}"), |conn| {
        let result = apply_in_schema(conn, &schema, source);
        // Back to quarantine whatever happened, before the connection serves the next tenant.
        conn.batch_execute(&format!("SET search_path TO {QUARANTINE_SCHEMA}"))?;
        Ok::<_, diesel::result::Error>(result)
    })??;
    let outcome = match result {
        Ok((applied, version)) => {
            record_state(conn, id, version.as_deref(), None)?;
            TenantOutcome {
                slug,
                applied,
                result: Ok(version),
            }
        }
        Err(e) => {
            let message = e.to_string();
            tracing::error!(tenant = %slug, error = %message, "tenant migration failed");
            record_state(conn, id, None, Some(&message))?;
            TenantOutcome {
                slug,
                applied: 0,
                result: Err(message),
            }
        }
    };
    Ok(outcome)
}

fn apply_in_schema<S: MigrationSource<Pg>>(
    conn: &mut PgConnection,
    schema: &SchemaName,
    source: S,
) -> Result<(usize, Option<String>), MigrationError> {
    diesel::sql_query("SELECT set_config('search_path', $1, false)")
        .bind::<Text, _>(schema.quoted())
        .execute(conn)?;
    let applied = conn.run_pending_migrations(source)?.len();
    Ok((applied, current_version(conn)?))
}

/// Records the outcome: on success the version and zero attempts; on failure the error and
/// one more failed attempt, keeping the last good version.
fn record_state(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    version: Option<&str>,
    error: Option<&str>,
) -> QueryResult<()> {
    use tenant_schema_state::dsl as s;
    let now = diesel::dsl::now;
    match error {
        None => diesel::insert_into(s::tenant_schema_state)
            .values((
                s::tenant_id.eq(tenant_id),
                s::version.eq(version),
                s::status.eq(SchemaState::Ok),
                s::attempts.eq(0),
            ))
            .on_conflict(s::tenant_id)
            .do_update()
            .set((
                s::version.eq(version),
                s::status.eq(SchemaState::Ok),
                s::error.eq(None::<String>),
                s::attempts.eq(0),
                s::updated_at.eq(now),
            ))
            .execute(conn),
        Some(err) => diesel::insert_into(s::tenant_schema_state)
            .values((
                s::tenant_id.eq(tenant_id),
                s::status.eq(SchemaState::Failed),
                s::error.eq(err),
                s::attempts.eq(1),
            ))
            .on_conflict(s::tenant_id)
            .do_update()
            .set((
                s::status.eq(SchemaState::Failed),
                s::error.eq(err),
                s::attempts.eq(s::attempts + 1),
                s::updated_at.eq(now),
            ))
            .execute(conn),
    }
    .map(drop)
}
