//! The shared transfer rows. Every function runs on the caller's connection, inside the
//! caller's transaction: the sender's when a transfer is queued, the receiver's when it is
//! delivered (the row lock taken by [`claim`] is what makes a delivery happen once).

use super::model::{Kind, Milestone};
use crate::db::schema::dossier_transfers as t;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

/// A transfer to queue.
#[derive(Debug, Clone)]
pub struct NewTransfer<'a> {
    pub kind: Kind,
    pub answers: Option<Uuid>,
    pub dossier_code: &'a str,
    pub procedure_code: &'a str,
    pub from_tenant: Uuid,
    pub to_tenant: Uuid,
    pub payload: serde_json::Value,
}

/// A transfer as stored, claimed for delivery.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = t)]
pub struct Transfer {
    pub id: Uuid,
    pub kind: String,
    pub answers: Option<Uuid>,
    pub dossier_code: String,
    pub procedure_code: String,
    pub from_tenant: Uuid,
    pub to_tenant: Uuid,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Transfer {
    pub fn kind(&self) -> Option<Kind> {
        self.kind.parse().ok()
    }
}

/// Writes a pending transfer, due now; returns its id.
pub fn queue(
    conn: &mut PgConnection,
    new: &NewTransfer<'_>,
    now: DateTime<Utc>,
) -> QueryResult<Uuid> {
    let id = Uuid::new_v4();
    diesel::insert_into(t::table)
        .values((
            t::id.eq(id),
            t::kind.eq(new.kind.as_str()),
            t::answers.eq(new.answers),
            t::dossier_code.eq(new.dossier_code),
            t::procedure_code.eq(new.procedure_code),
            t::from_tenant.eq(new.from_tenant),
            t::to_tenant.eq(new.to_tenant),
            t::payload.eq(&new.payload),
            t::created_at.eq(now),
            t::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Transfers waiting for delivery whose next attempt is due, oldest first.
pub fn due(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> QueryResult<Vec<Uuid>> {
    t::table
        .filter(t::delivered_at.is_null())
        .filter(t::next_attempt_at.le(now))
        .order(t::next_attempt_at)
        .limit(limit)
        .select(t::id)
        .load(conn)
}

/// The transfer, read without a lock (to learn where it goes).
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Transfer>> {
    t::table
        .find(id)
        .select(Transfer::as_select())
        .first(conn)
        .optional()
}

/// Locks the pending transfer for delivery in the caller's transaction; `None` when it was
/// delivered meanwhile (by another worker, or before a crash that lost only the answer).
pub fn claim(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Transfer>> {
    t::table
        .find(id)
        .filter(t::delivered_at.is_null())
        .for_update()
        .select(Transfer::as_select())
        .first(conn)
        .optional()
}

/// Marks the claimed transfer delivered and drops its payload: the receiver has the copy,
/// and the shared schema keeps no personal data it does not need.
pub fn delivered(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(t::table.find(id))
        .set((
            t::delivered_at.eq(Some(now)),
            t::payload.eq(serde_json::json!({})),
            t::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .map(drop)
}

/// A failed attempt: tried again after a delay growing with the attempts (30 s doubling, at
/// most an hour), so an unreachable tenant does not keep the deliverer busy.
pub fn failed(
    conn: &mut PgConnection,
    id: Uuid,
    error: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let attempts: i32 = t::table.find(id).select(t::attempts).first(conn)?;
    diesel::update(t::table.find(id).filter(t::delivered_at.is_null()))
        .set((
            t::attempts.eq(attempts + 1),
            t::last_error.eq(Some(error.chars().take(500).collect::<String>())),
            t::next_attempt_at.eq(now + retry_after(attempts + 1)),
        ))
        .execute(conn)
        .map(drop)
}

/// 30 s after the first failure, doubling, at most an hour.
pub fn retry_after(attempts: i32) -> chrono::Duration {
    let exp = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    chrono::Duration::seconds((30_i64 << exp).min(3600))
}

/// Adds a step of the receiver's part to the transfer's timeline (in the receiver's event
/// transaction).
pub fn add_progress(conn: &mut PgConnection, id: Uuid, m: &Milestone) -> QueryResult<()> {
    use diesel::sql_types::{Jsonb, Uuid as SqlUuid};
    let item = serde_json::to_value([m]).unwrap_or_default();
    diesel::sql_query(
        "UPDATE platform.dossier_transfers SET progress = progress || $1 WHERE id = $2",
    )
    .bind::<Jsonb, _>(item)
    .bind::<SqlUuid, _>(id)
    .execute(conn)
    .map(drop)
}

/// A dossier's transfers out of `from_tenant`, as its sender (and its applicant) see them:
/// where it went, when, and the receiver's steps so far.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TransferView {
    pub to_tenant: Uuid,
    pub to_name_vi: String,
    pub to_name_en: Option<String>,
    pub sent_at: DateTime<Utc>,
    /// When the receiver took it in (absent while on its way).
    pub delivered_at: Option<DateTime<Utc>>,
    pub progress: Vec<Milestone>,
}

pub fn sent_for(
    conn: &mut PgConnection,
    from_tenant: Uuid,
    code: &str,
) -> QueryResult<Vec<TransferView>> {
    use crate::db::schema::tenants;
    type Sent = (
        Uuid,
        String,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        serde_json::Value,
    );
    let rows: Vec<Sent> = t::table
        .inner_join(tenants::table.on(tenants::id.eq(t::to_tenant)))
        .filter(t::from_tenant.eq(from_tenant))
        .filter(t::dossier_code.eq(code))
        .filter(t::kind.eq(Kind::Dossier.as_str()))
        .order(t::created_at)
        .select((
            t::to_tenant,
            tenants::name_vi,
            tenants::name_en,
            t::created_at,
            t::delivered_at,
            t::progress,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(to_tenant, to_name_vi, to_name_en, sent_at, delivered_at, progress)| TransferView {
                to_tenant,
                to_name_vi,
                to_name_en,
                sent_at,
                delivered_at,
                progress: serde_json::from_value(progress).unwrap_or_default(),
            },
        )
        .collect())
}

/// A transfer waiting for delivery, for the operator.
#[derive(Debug, Clone, Queryable)]
pub struct Pending {
    pub id: Uuid,
    pub kind: String,
    pub dossier_code: String,
    pub from_slug: String,
    pub to_slug: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// The oldest transfers not delivered yet.
pub fn pending(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<Pending>> {
    use crate::db::schema::tenants;
    let (from, to) = diesel::alias!(tenants as from_t, tenants as to_t);
    t::table
        .inner_join(from.on(from.field(tenants::id).eq(t::from_tenant)))
        .inner_join(to.on(to.field(tenants::id).eq(t::to_tenant)))
        .filter(t::delivered_at.is_null())
        .order(t::created_at)
        .limit(limit)
        .select((
            t::id,
            t::kind,
            t::dossier_code,
            from.field(tenants::slug),
            to.field(tenants::slug),
            t::attempts,
            t::last_error,
        ))
        .load(conn)
}

/// A tenant's name (vi, en), for "handed to" and "came from" lines.
pub fn tenant_name(
    conn: &mut PgConnection,
    id: Uuid,
) -> QueryResult<Option<(String, Option<String>)>> {
    use crate::db::schema::tenants;
    tenants::table
        .find(id)
        .select((tenants::name_vi, tenants::name_en))
        .first(conn)
        .optional()
}

#[cfg(test)]
mod tests {
    use super::retry_after;

    #[test]
    fn retries_back_off_to_an_hour() {
        let secs: Vec<i64> = [1, 2, 3, 7, 8, 50]
            .into_iter()
            .map(|a| retry_after(a).num_seconds())
            .collect();
        assert_eq!(secs, [30, 60, 120, 1920, 3600, 3600]);
    }
}
