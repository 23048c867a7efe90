//! Database access: the pool, the shared (platform) handle and the tenant-scoped handle.

pub mod citus;
pub mod schema;
mod schema_name;
pub mod sql_script;
pub(crate) mod tenant_db;
mod text_enum;
pub(crate) use text_enum::text_enum;

pub use crate::error::is_connection_error;
pub use schema_name::{InvalidSchemaName, SchemaName};
pub use tenant_db::TenantDb;

use crate::config::DatabaseSettings;
use crate::error::AppError;
use diesel::PgConnection;
use diesel::connection::{CacheSize, Connection, SimpleConnection};
use diesel::r2d2::{ConnectionManager, ManageConnection, Pool, PooledConnection};
use std::collections::HashSet;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub type PgPool = Pool<DvcConnectionManager>;
pub type PgPooled = PooledConnection<DvcConnectionManager>;

/// The search path every connection starts with: a schema that is never created. A query that
/// forgot its tenant scope finds no table and fails, instead of reading somebody else's rows,
/// and an unqualified `CREATE` has nowhere to go (an existing empty schema would still accept
/// it from a superuser).
pub const QUARANTINE_SCHEMA: &str = "dvc_quarantine";

/// A pooled PostgreSQL connection that remembers which tenant schemas it has served.
///
/// A PostgreSQL backend caches catalog entries (relations, plans) for every schema it touches
/// and never gives them back; with a thousand tenants every backend would end up caching all of
/// them. The pool retires a connection once it has served more than
/// `database.max_tenants_per_connection` tenants, which bounds each backend's memory.
pub struct DvcConnection {
    conn: PgConnection,
    tenants_seen: HashSet<SchemaName>,
    /// Its server went away: the pool must not hand it out again.
    broken: bool,
}

impl DvcConnection {
    pub(crate) fn mark_broken(&mut self) {
        self.broken = true;
    }

    pub(crate) fn note_tenant(&mut self, schema: &SchemaName) {
        if !self.tenants_seen.contains(schema) {
            self.tenants_seen.insert(schema.clone());
        }
    }

    pub fn tenants_seen(&self) -> usize {
        self.tenants_seen.len()
    }
}

impl Deref for DvcConnection {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for DvcConnection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// Opens connections in quarantine and retires those that have served too many tenants.
pub struct DvcConnectionManager {
    inner: ConnectionManager<PgConnection>,
    statement_cache: bool,
    max_tenants: usize,
}

impl ManageConnection for DvcConnectionManager {
    type Connection = DvcConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DvcConnection, Self::Error> {
        let mut conn = self.inner.connect()?;
        if !self.statement_cache {
            conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        }
        conn.batch_execute(&format!("SET search_path TO {QUARANTINE_SCHEMA}"))
            .map_err(diesel::r2d2::Error::QueryError)?;
        Ok(DvcConnection {
            conn,
            tenants_seen: HashSet::new(),
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut DvcConnection) -> Result<(), Self::Error> {
        self.inner.is_valid(&mut conn.conn)
    }

    fn has_broken(&self, conn: &mut DvcConnection) -> bool {
        conn.broken
            || conn.tenants_seen.len() > self.max_tenants
            || self.inner.has_broken(&mut conn.conn)
    }
}

/// Connection pools with tenant affinity: `database.pool_shards` pools share
/// `database.pool_size` connections, and each tenant always uses the same one. A backend then
/// caches the catalog of only its shard's tenants (about tenants ÷ shards) instead of all of
/// them, while every cache stays warm.
#[derive(Clone)]
pub struct Pools {
    shards: Arc<[Shard]>,
}

/// One tenant pool, with as many async permits as it has connections: a request waits for a
/// permit on the async side, so blocking threads never sit waiting for a connection of a busy
/// shard while other tenants' work queues behind them.
#[derive(Clone)]
pub struct Shard {
    pub(crate) pool: PgPool,
    pub(crate) permits: Arc<tokio::sync::Semaphore>,
    pub(crate) wait: Duration,
}

impl Shard {
    fn new(pool: PgPool, wait: Duration) -> Self {
        let permits = Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize));
        Self {
            pool,
            permits,
            wait,
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl Pools {
    /// Builds the pools lazily: the server starts even while PostgreSQL is still coming up,
    /// and `/readyz` tells when it is reachable.
    pub fn build(settings: &DatabaseSettings) -> Self {
        let shards = settings
            .pool_shards
            .clamp(1, settings.pool_size.max(1) as usize);
        let per_shard = settings.pool_size.max(1).div_ceil(shards as u32);
        let wait = Duration::from_secs(settings.connect_timeout_secs.max(1));
        Self {
            shards: (0..shards)
                .map(|_| Shard::new(build_pool_sized(settings, per_shard), wait))
                .collect(),
        }
    }

    /// One pool for everything (CLI, tests).
    pub fn single(pool: PgPool) -> Self {
        let wait = pool.connection_timeout();
        Self {
            shards: Arc::from([Shard::new(pool, wait)]),
        }
    }

    /// The shard serving one tenant: always the same for the same tenant.
    pub fn for_tenant(&self, tenant: Uuid) -> &Shard {
        &self.shards[shard_of(tenant, self.shards.len())]
    }

    /// The pool for the shared schema (its queries touch no tenant catalog).
    pub fn shared(&self) -> &PgPool {
        &self.shards[0].pool
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Per shard: (connections open, of them idle, the most allowed) — for metrics.
    pub fn usage(&self) -> Vec<(u32, u32, u32)> {
        self.shards
            .iter()
            .map(|s| {
                let st = s.pool.state();
                (st.connections, st.idle_connections, s.pool.max_size())
            })
            .collect()
    }
}

/// Tenant ids are random UUIDs, so their low bits spread tenants evenly.
pub fn shard_of(tenant: Uuid, shards: usize) -> usize {
    (tenant.as_u128() % shards.max(1) as u128) as usize
}

/// Runs `f` with a pooled connection on the blocking pool: the background workers' way to
/// the shared schema (requests go through [`SharedDb`] and [`TenantDb`]).
pub async fn blocking<T: Send + 'static>(
    pool: &PgPool,
    f: impl FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<T> + Send + 'static,
) -> anyhow::Result<T> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        Ok::<_, anyhow::Error>(f(&mut conn)?)
    })
    .await?
}

pub fn build_pool_sized(settings: &DatabaseSettings, size: u32) -> PgPool {
    let manager = DvcConnectionManager {
        inner: ConnectionManager::<PgConnection>::new(&settings.url),
        statement_cache: settings.statement_cache,
        max_tenants: settings.max_tenants_per_connection.max(1),
    };
    Pool::builder()
        .max_size(size.max(1))
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(settings.connect_timeout_secs.max(1)))
        .max_lifetime(Some(Duration::from_secs(settings.max_lifetime_secs.max(1))))
        .test_on_check_out(false)
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

    /// Whether the database answers a trivial statement (readiness).
    pub async fn ping(&self) -> bool {
        use diesel::RunQueryDsl;
        self.run(|conn| Ok(diesel::sql_query("SELECT 1").execute(conn)?))
            .await
            .is_ok()
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
            with_one_retry(&pool, f, |conn, f| conn.build_transaction().run(f))
        })
        .await?
    }
}

/// Runs `f` in a transaction started by `run`. When the connection turns out dead before `f`
/// began (an idle pooled connection after a database restart fails at `BEGIN`), the transaction
/// is retried once on a fresh connection: nothing ran, so nothing can be applied twice. A
/// connection that failed is never returned to the pool.
pub(crate) fn with_one_retry<F, T>(
    pool: &PgPool,
    f: F,
    run: impl Fn(
        &mut DvcConnection,
        &mut dyn FnMut(&mut PgConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError>,
) -> Result<T, AppError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, AppError>,
{
    let mut f = Some(f);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut conn = pool.get()?;
        let mut once = |c: &mut PgConnection| match f.take() {
            Some(f) => f(c),
            None => Err(AppError::internal(anyhow::anyhow!(
                "transaction body ran twice"
            ))),
        };
        let result = run(&mut conn, &mut once);
        match result {
            Err(AppError::Unavailable(e))
                if e.downcast_ref::<diesel::result::Error>()
                    .is_some_and(is_connection_error) =>
            {
                conn.mark_broken();
                if f.is_none() || attempt > 1 {
                    return Err(AppError::Unavailable(e));
                }
                tracing::warn!(error = %e, "database connection lost before the transaction began; retrying once");
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_always_lands_on_one_shard_and_shards_are_used_evenly() {
        let ids: Vec<Uuid> = (0..4000).map(|_| Uuid::new_v4()).collect();
        let mut counts = [0usize; 4];
        for id in &ids {
            let shard = shard_of(*id, 4);
            assert_eq!(shard, shard_of(*id, 4));
            counts[shard] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "{counts:?}");
        }
        assert_eq!(shard_of(ids[0], 1), 0);
        assert_eq!(shard_of(ids[0], 0), 0);
    }

    #[test]
    fn pool_sizes_add_up() {
        let settings = DatabaseSettings {
            pool_size: 16,
            pool_shards: 4,
            ..DatabaseSettings::default()
        };
        let pools = Pools::build(&settings);
        assert_eq!(pools.shard_count(), 4);
        assert_eq!(pools.shared().max_size(), 4);
        let one = Pools::build(&DatabaseSettings {
            pool_size: 1,
            pool_shards: 4,
            ..DatabaseSettings::default()
        });
        assert_eq!(one.shard_count(), 1);
    }
}
