//! Tenant lifecycle: suspend and resume. Data is always kept.

use super::model::TenantStatus;
use super::names::TenantSlug;
use crate::db::schema::tenants;
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("no tenant `{0}`")]
    NotFound(TenantSlug),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Sets a tenant's status and returns its id, for the change event.
pub fn set_status(
    conn: &mut PgConnection,
    slug: &TenantSlug,
    status: TenantStatus,
) -> Result<Uuid, LifecycleError> {
    diesel::update(tenants::table.filter(tenants::slug.eq(slug.as_str())))
        .set((
            tenants::status.eq(status.as_str()),
            tenants::updated_at.eq(diesel::dsl::now),
        ))
        .returning(tenants::id)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| LifecycleError::NotFound(slug.clone()))
}
