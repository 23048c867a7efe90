//! A counter applicant claiming their dossiers once they have an account. The desk indexed
//! each such dossier without an account, under a hash of the CCCD (or tax code) and phone it
//! recorded and the e-mail it was given; an account whose verified e-mail, identity number and
//! phone all match takes them over, in the shared index and in the tenant's own row.

use super::claim_hash;
use super::code::normalize_phone;
use crate::db::schema::tenant::dossiers;
use crate::db::schema::{accounts, dossier_index};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The desk's dossiers `account` may claim, by tenant (a shared-schema read). Nothing for an
/// account without a verified e-mail, an identity number or a phone.
pub fn claimable(conn: &mut PgConnection, account: Uuid) -> QueryResult<Vec<(Uuid, Vec<Uuid>)>> {
    type Who = (
        String,
        Option<DateTime<Utc>>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let Some((email, verified, citizen_id, tax_code, phone)) = accounts::table
        .find(account)
        .select((
            accounts::email,
            accounts::email_verified_at,
            accounts::citizen_id,
            accounts::tax_code,
            accounts::phone,
        ))
        .first::<Who>(conn)
        .optional()?
    else {
        return Ok(vec![]);
    };
    let (Some(_), Some(id_number), Some(phone)) = (
        verified,
        citizen_id.or(tax_code),
        phone.as_deref().and_then(normalize_phone),
    ) else {
        return Ok(vec![]);
    };
    let rows: Vec<(Uuid, Uuid)> = dossier_index::table
        .filter(dossier_index::account_id.is_null())
        .filter(dossier_index::claim_hash.eq(claim_hash(&id_number, &phone)))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(claim_email) = lower(")
                .bind::<diesel::sql_types::Text, _>(email)
                .sql(")"),
        )
        .select((dossier_index::tenant_id, dossier_index::dossier_id))
        .load(conn)?;
    let mut by_tenant: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for (tenant, dossier) in rows {
        by_tenant.entry(tenant).or_default().push(dossier);
    }
    Ok(by_tenant.into_iter().collect())
}

/// Gives `dossiers` of the tenant whose connection this is to `account`, in one transaction:
/// the index row (only while still unclaimed, so two claims never both win) and the
/// dossier's applicant. Returns how many changed hands.
pub fn claim(
    conn: &mut PgConnection,
    tenant: Uuid,
    account: Uuid,
    candidates: &[Uuid],
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let taken: Vec<Uuid> = diesel::update(
        dossier_index::table
            .filter(dossier_index::tenant_id.eq(tenant))
            .filter(dossier_index::dossier_id.eq_any(candidates))
            .filter(dossier_index::account_id.is_null()),
    )
    .set((
        dossier_index::account_id.eq(Some(account)),
        dossier_index::claim_hash.eq(None::<Vec<u8>>),
        dossier_index::updated_at.eq(now),
    ))
    .returning(dossier_index::dossier_id)
    .get_results(conn)?;
    if taken.is_empty() {
        return Ok(0);
    }
    diesel::update(
        dossiers::table
            .filter(dossiers::id.eq_any(&taken))
            .filter(dossiers::applicant_id.is_null()),
    )
    .set(dossiers::applicant_id.eq(Some(account)))
    .execute(conn)?;
    crate::auth::accounts::audit(
        conn,
        Some(account),
        Some(tenant),
        None,
        "dossiers.claimed",
        serde_json::json!({ "dossiers": taken }),
    )?;
    Ok(taken.len())
}
