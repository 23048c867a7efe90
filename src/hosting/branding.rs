//! A tenant's logo, kept in the shared schema beside its registry row (the portal serves it
//! before any tenant table is touched, and archives carry it).

use crate::db::schema::tenant_logos as l;
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
