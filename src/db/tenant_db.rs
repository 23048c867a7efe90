//! The only way to reach a tenant's tables.

use super::{Pools, SchemaName, Shard};
use crate::error::AppError;
use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

/// A tenant-scoped database handle, handed out by the tenant resolver.
///
/// Each call checks out a pooled connection, opens a transaction, points `search_path` at the
/// tenant schema with `set_config(…, true)` (so the setting dies with the transaction and never
/// leaks into the pool, and works behind PgBouncer in transaction mode), runs the closure and
/// commits.
#[derive(Clone)]
pub struct TenantDb {
    shard: Shard,
    schema: SchemaName,
}

impl TenantDb {
    /// Built for a tenant record that came out of the registry (see `Tenant::db`: the
    /// resolver does this for every request; workers and the CLI for the tenant they work on).
    pub fn for_tenant(pools: &Pools, tenant_id: uuid::Uuid, schema: &SchemaName) -> Self {
        Self {
            shard: pools.for_tenant(tenant_id).clone(),
            schema: schema.clone(),
        }
    }

    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }

    /// Runs `f` in a tenant-scoped transaction on the blocking pool.
    pub async fn run<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        // Wait for a connection of this tenant's shard here, not on a blocking thread.
        let permit =
            tokio::time::timeout(self.shard.wait, self.shard.permits.clone().acquire_owned())
                .await
                .map_err(|_| {
                    AppError::Unavailable(anyhow::anyhow!("no connection free for {}", self.schema))
                })?
                .map_err(AppError::internal)?;
        let this = self.clone();
        crate::telemetry::spawn_blocking_in_span(move || {
            let _permit = permit;
            this.run_blocking(f)
        })
        .await?
    }

    /// Same as [`run`](Self::run) for callers already off the async runtime (CLI, workers).
    pub fn run_blocking<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError>,
    {
        super::with_one_retry(&self.shard.pool, f, |conn, f| {
            conn.note_tenant(&self.schema);
            conn.transaction(|conn| {
                enter_tenant_schema(conn, &self.schema)?;
                f(conn)
            })
        })
    }
}

/// Points the current transaction at one tenant schema. The schema is bound as a parameter,
/// never spliced into SQL. Must be called inside a transaction.
pub(crate) fn enter_tenant_schema(conn: &mut PgConnection, schema: &SchemaName) -> QueryResult<()> {
    diesel::sql_query("SELECT set_config('search_path', $1, true)")
        .bind::<Text, _>(schema.quoted())
        .execute(conn)
        .map(drop)
}
