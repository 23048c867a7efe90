//! A tenant's branding: colours and contact in its registry row, and its logo kept in the shared
//! schema beside it (the portal serves it before any tenant table is touched; archives carry it).

use crate::db::schema::{tenant_logos as l, tenants as t};
use diesel::prelude::*;
use uuid::Uuid;

/// The logo's media type and bytes, if the tenant has one.
pub fn logo(conn: &mut PgConnection, tenant: Uuid) -> QueryResult<Option<(String, Vec<u8>)>> {
    l::table
        .find(tenant)
        .select((l::media_type, l::bytes))
        .first(conn)
        .optional()
}

/// Stores (or replaces) the logo. The caller has checked the picture and records the change
/// (branding digest, audit) in the same transaction.
pub fn put_logo(
    conn: &mut PgConnection,
    tenant: Uuid,
    media_type: &str,
    bytes: &[u8],
    sha256: &str,
) -> QueryResult<()> {
    diesel::insert_into(l::table)
        .values((
            l::tenant_id.eq(tenant),
            l::media_type.eq(media_type),
            l::bytes.eq(bytes),
            l::sha256.eq(sha256),
        ))
        .on_conflict(l::tenant_id)
        .do_update()
        .set((
            l::media_type.eq(media_type),
            l::bytes.eq(bytes),
            l::sha256.eq(sha256),
            l::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(drop)
}

/// Replaces the tenant's branding (colours, the logo's digest) and, when given, its contact.
pub fn set_branding(
    conn: &mut PgConnection,
    tenant: Uuid,
    branding: &serde_json::Value,
    contact: Option<&serde_json::Value>,
) -> QueryResult<()> {
    let row = diesel::update(t::table.find(tenant));
    match contact {
        Some(contact) => row
            .set((t::branding.eq(branding), t::contact.eq(contact)))
            .execute(conn),
        None => row.set(t::branding.eq(branding)).execute(conn),
    }
    .map(drop)
}
