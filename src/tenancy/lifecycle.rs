//! Tenant lifecycle: draft → active ⇄ suspended → archived → (purged). Data is kept until an
//! archived tenant's grace period ends.

use super::model::TenantStatus;
use super::names::TenantSlug;
use crate::db::schema::tenants;
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
        let (id, from): (Uuid, String) = tenants::table
            .filter(tenants::slug.eq(slug.as_str()))
            .select((tenants::id, tenants::status))
            .for_update()
            .first(conn)
            .optional()?
            .ok_or_else(|| LifecycleError::NotFound(slug.clone()))?;
        let from = TenantStatus::parse(&from).unwrap_or(TenantStatus::Archived);
        if from == status {
            return Ok(id);
        }
        if !may_switch(from, status) {
            return Err(LifecycleError::Invalid { from, to: status });
        }
        diesel::update(tenants::table.find(id))
            .set((
                tenants::status.eq(status.as_str()),
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
