//! Database access: the pool, the shared (platform) handle and the tenant-scoped handle.

pub mod schema;
pub(crate) mod tenant_db;

pub use tenant_db::TenantDb;

use crate::config::DatabaseSettings;
use crate::error::AppError;
use diesel::PgConnection;
use diesel::connection::{CacheSize, Connection, SimpleConnection};
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use std::time::Duration;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgPooled = PooledConnection<ConnectionManager<PgConnection>>;

/// The search path every connection starts with: a schema that is never created. A query that
/// forgot its tenant scope finds no table and fails, instead of reading somebody else's rows,
/// and an unqualified `CREATE` has nowhere to go (an existing empty schema would still accept
/// it from a superuser).
pub const QUARANTINE_SCHEMA: &str = "dvc_quarantine";

/// Prepares each new pooled connection.
#[derive(Debug, Clone, Copy)]
struct ConnectionSetup {
    statement_cache: bool,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        if !self.statement_cache {
            conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        }
        conn.batch_execute(&format!("SET search_path TO {QUARANTINE_SCHEMA}"))
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Builds the pool lazily: the server starts even while PostgreSQL is still coming up, and
/// `/readyz` tells when it is reachable.
pub fn build_pool(settings: &DatabaseSettings) -> PgPool {
    build_pool_sized(settings, settings.pool_size)
}

pub fn build_pool_sized(settings: &DatabaseSettings, size: u32) -> PgPool {
    let manager = ConnectionManager::<PgConnection>::new(&settings.url);
    Pool::builder()
        .max_size(size.max(1))
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(settings.connect_timeout_secs.max(1)))
        .max_lifetime(Some(Duration::from_secs(settings.max_lifetime_secs.max(1))))
        .test_on_check_out(false)
        .connection_customizer(Box::new(ConnectionSetup {
            statement_cache: settings.statement_cache,
        }))
        .build_unchecked(manager)
}

/// Handle on the shared `platform` schema. Its tables are always schema-qualified in
/// [`schema`], so it never needs a search path.
#[derive(Clone)]
pub struct SharedDb {
    pool: PgPool,
}

impl SharedDb {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn conn(&self) -> Result<PgPooled, AppError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` in a transaction on the blocking pool.
    pub async fn run<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        crate::telemetry::spawn_blocking_in_span(move || {
            let mut conn = pool.get()?;
            conn.build_transaction().run(f)
        })
        .await?
    }
}
