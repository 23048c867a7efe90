//! What dvc does differently when its database is a Citus coordinator (see docs/scaling.md):
//! the shared `platform` schema stays on the coordinator while every tenant schema is
//! distributed, each whole on one worker, by schema-based sharding.

use diesel::PgConnection;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Bool;

/// Whether the database has the Citus extension (a coordinator of a cluster).
pub fn is_citus(conn: &mut PgConnection) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Bool)]
        found: bool,
    }
    diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') AS found")
        .get_result::<Found>(conn)
        .map(|f| f.found)
}

/// What `database.shared_writes = "auto"` means for this database: `relay` on a Citus
/// coordinator, `direct` elsewhere — and `direct` when the database cannot be asked (writes
/// made directly are right on either; relayed ones need a drainer).
pub fn resolve_shared_writes(
    setting: crate::config::SharedWrites,
    pool: &super::PgPool,
) -> crate::config::SharedWrites {
    use crate::config::SharedWrites;
    if setting != SharedWrites::Auto {
        return setting;
    }
    let citus = pool
        .get()
        .map_err(|e| e.to_string())
        .and_then(|mut c| is_citus(&mut c).map_err(|e| e.to_string()));
    match citus {
        Ok(true) => SharedWrites::Relay,
        Ok(false) => SharedWrites::Direct,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell whether the database is Citus; shared writes are made directly");
            SharedWrites::Direct
        }
    }
}

/// Runs `f` with schema-based sharding off for this session, so a schema it creates stays on
/// the coordinator (the shared `platform` schema), then turns it back on.
pub fn on_coordinator<T, E: From<diesel::result::Error>>(
    conn: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E> {
    conn.batch_execute("SET citus.enable_schema_based_sharding TO off")?;
    let out = f(conn);
    conn.batch_execute("RESET citus.enable_schema_based_sharding")?;
    out
}

/// Lets this transaction create triggers on distributed tables. Citus refuses them by default
/// because a trigger that reached other shards would be wrong; dvc's one trigger
/// (`dossier_events_append_only`) only raises an error on its own row, so it is safe on the
/// worker that holds the schema.
pub const ALLOW_SHARD_LOCAL_TRIGGERS: &str = "SET LOCAL citus.enable_unsafe_triggers TO on";

/// Tables of tenant schemas that Citus does not know as distributed: each should be, on the
/// worker that holds its schema. Empty when every tenant schema is fully distributed.
pub fn undistributed_tenant_tables(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT format('%I.%I', n.nspname, c.relname) AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN platform.tenants t ON t.schema_name = n.nspname
         WHERE c.relkind IN ('r', 'p')
           AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid)
         ORDER BY 1",
    )
    .load(conn)?;
    Ok(tables.into_iter().map(|t| t.name).collect())
}

/// How many tenant schemas Citus distributes, and on how many workers they sit.
pub fn distributed_schemas(conn: &mut PgConnection) -> QueryResult<(i64, i64)> {
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        schemas: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        nodes: i64,
    }
    diesel::sql_query(
        "SELECT count(DISTINCT s.schema_name)::bigint AS schemas,
                (SELECT count(DISTINCT (sh.nodename, sh.nodeport)) FROM citus_shards sh
                 WHERE sh.colocation_id IN (SELECT colocation_id FROM citus_schemas))::bigint AS nodes
         FROM citus_schemas s JOIN platform.tenants t ON t.schema_name = s.schema_name::text",
    )
    .get_result::<Counts>(conn)
    .map(|c| (c.schemas, c.nodes))
}
