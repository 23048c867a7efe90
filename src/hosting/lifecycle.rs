//! Tenant lifecycle: draft → active ⇄ suspended → archived → (purged). Data is kept until an
//! archived tenant's grace period ends.

use crate::db::schema::tenants;
use crate::tenancy::TenantStatus;
use crate::tenancy::names::TenantSlug;
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("no tenant `{0}`")]
    NotFound(TenantSlug),
    #[error("a {from} tenant cannot become {to}", from = .from.as_str(), to = .to.as_str())]
    Invalid {
        from: TenantStatus,
        to: TenantStatus,
    },
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// The tenant's id and status, its row locked until the transaction ends.
fn lock_status(
    conn: &mut PgConnection,
    slug: &TenantSlug,
) -> Result<(Uuid, TenantStatus), LifecycleError> {
    let (id, status): (Uuid, String) = tenants::table
        .filter(tenants::slug.eq(slug.as_str()))
        .select((tenants::id, tenants::status))
        .for_update()
        .first(conn)
        .optional()?
        .ok_or_else(|| LifecycleError::NotFound(slug.clone()))?;
    Ok((
        id,
        TenantStatus::parse(&status).unwrap_or(TenantStatus::Archived),
    ))
}

/// The moves suspend and resume may make (going live and archiving have their own steps).
pub fn may_switch(from: TenantStatus, to: TenantStatus) -> bool {
    matches!(
        (from, to),
        (TenantStatus::Active, TenantStatus::Suspended)
            | (TenantStatus::Suspended, TenantStatus::Active)
    )
}

/// Suspends or resumes a tenant; returns its id, for the change event.
pub fn set_status(
    conn: &mut PgConnection,
    slug: &TenantSlug,
    status: TenantStatus,
) -> Result<Uuid, LifecycleError> {
    conn.transaction(|conn| {
        let (id, from) = lock_status(conn, slug)?;
        if from == status {
            return Ok(id);
        }
        if !may_switch(from, status) {
            return Err(LifecycleError::Invalid { from, to: status });
        }
        diesel::update(tenants::table.find(id))
            .set((
                tenants::status.eq(status),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        Ok(id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_live_tenants_are_suspended_and_only_suspended_ones_resumed() {
        use TenantStatus::*;
        assert!(may_switch(Active, Suspended));
        assert!(may_switch(Suspended, Active));
        for (from, to) in [
            (Draft, Active),
            (Archived, Active),
            (Draft, Suspended),
            (Archived, Suspended),
        ] {
            assert!(!may_switch(from, to), "{from:?} → {to:?}");
        }
    }
}

/// Marks an exported tenant archived: its portal answers 410, and its schema may be dropped
/// once `grace` has passed. A tenant with live children cannot go (they would lose their parent).
pub fn archive(
    conn: &mut PgConnection,
    slug: &TenantSlug,
    grace: chrono::Duration,
) -> Result<Uuid, LifecycleError> {
    conn.transaction(|conn| {
        let (id, from) = lock_status(conn, slug)?;
        let children: i64 = tenants::table
            .filter(tenants::parent_id.eq(id))
            .filter(tenants::status.ne(TenantStatus::Archived))
            .count()
            .get_result(conn)?;
        if from == TenantStatus::Archived || children > 0 {
            return Err(LifecycleError::Invalid {
                from,
                to: TenantStatus::Archived,
            });
        }
        diesel::update(tenants::table.find(id))
            .set((
                tenants::status.eq(TenantStatus::Archived),
                tenants::archived_at.eq(diesel::dsl::now),
                tenants::purge_after.eq(chrono::Utc::now() + grace),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        Ok(id)
    })
}

/// An archived tenant whose grace period is over.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: Uuid,
    pub slug: TenantSlug,
}

pub fn due_for_purge(conn: &mut PgConnection) -> Result<Vec<Due>, LifecycleError> {
    let rows: Vec<(Uuid, String)> = tenants::table
        .filter(tenants::status.eq(TenantStatus::Archived))
        .filter(tenants::purge_after.le(diesel::dsl::now))
        .select((tenants::id, tenants::slug))
        .order(tenants::slug)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, s)| TenantSlug::parse(&s).ok().map(|slug| Due { id, slug }))
        .collect())
}

/// Drops an archived tenant's schema and every shared row that names it (found through the
/// foreign keys to `platform.tenants`), then its registry row, in one transaction. Returns
/// the storage keys of its attachments, for the caller to delete once this has committed.
/// The audit log keeps its entries (they hold the id, not a reference).
pub fn purge(conn: &mut PgConnection, due: &Due) -> Result<Vec<String>, LifecycleError> {
    use diesel::connection::SimpleConnection;
    #[derive(QueryableByName)]
    struct Reference {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
    }
    #[derive(QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::Text)]
        storage_key: String,
    }
    conn.transaction(|conn| {
        let still_due: i64 = tenants::table
            .find(due.id)
            .filter(tenants::status.eq(TenantStatus::Archived))
            .filter(tenants::purge_after.le(diesel::dsl::now))
            .count()
            .get_result(conn)?;
        if still_due == 0 {
            return Ok(Vec::new());
        }
        let schema = due.slug.schema_name().quoted();
        let keys: Vec<Key> =
            diesel::sql_query(format!("SELECT storage_key FROM {schema}.attachments"))
                .load(conn)?;
        conn.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
        let refs: Vec<Reference> = diesel::sql_query(
            "SELECT ch.relname::text AS table_name, a.attname::text AS column_name \
               FROM pg_constraint k JOIN pg_class ch ON ch.oid = k.conrelid \
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
               JOIN pg_namespace n ON n.oid = ch.relnamespace \
              WHERE k.contype = 'f' AND k.confrelid = 'platform.tenants'::regclass \
                AND n.nspname = 'platform' AND ch.relname <> 'tenants'",
        )
        .load(conn)?;
        for r in refs {
            let ok = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            if ok(&r.table_name) && ok(&r.column_name) {
                diesel::sql_query(format!(
                    "DELETE FROM platform.\"{}\" WHERE \"{}\" = $1",
                    r.table_name, r.column_name
                ))
                .bind::<diesel::sql_types::Uuid, _>(due.id)
                .execute(conn)?;
            }
        }
        // Archived children keep their rows; they no longer have this parent.
        diesel::update(tenants::table.filter(tenants::parent_id.eq(due.id)))
            .set(tenants::parent_id.eq(None::<Uuid>))
            .execute(conn)?;
        diesel::delete(tenants::table.find(due.id)).execute(conn)?;
        crate::auth::accounts::audit(
            conn,
            None,
            Some(due.id),
            None,
            "operator.tenant_purged",
            serde_json::json!({ "slug": due.slug.as_str() }),
        )?;
        Ok(keys.into_iter().map(|k| k.storage_key).collect())
    })
}
