//! Text rows of the outbox: queued in the caller's transaction like mail, then claimed (through
//! [`crate::mail::outbox::claim`] with the text channels), and finished a batch at a time —
//! the provider's answers for a whole batch are recorded in one statement.

use super::{Channel, MobileNumber};
use crate::locale::Locale;
use crate::mail::TemplateKey;
use crate::mail::outbox::NOTIFY_CHANNEL;
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Double, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid,
};
use std::time::Duration;
use uuid::Uuid;

/// A text to send once the surrounding transaction commits.
#[derive(Debug, Clone)]
pub struct NewText {
    pub tenant_id: Option<Uuid>,
    pub channel: Channel,
    pub template: TemplateKey,
    pub locale: Locale,
    pub recipient: MobileNumber,
    pub payload: serde_json::Value,
    /// The same key twice queues one text.
    pub idempotency_key: String,
}

/// Writes the row in the caller's transaction; false when the key was already queued.
pub fn enqueue(conn: &mut PgConnection, text: &NewText) -> QueryResult<bool> {
    let inserted = diesel::sql_query(
        "INSERT INTO platform.outbox
             (tenant_id, channel, template, locale, recipient, payload, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind::<Nullable<SqlUuid>, _>(text.tenant_id)
    .bind::<Text, _>(text.channel.as_str())
    .bind::<Text, _>(text.template.as_str())
    .bind::<Text, _>(text.locale.as_str())
    .bind::<Text, _>(text.recipient.international())
    .bind::<diesel::sql_types::Jsonb, _>(&text.payload)
    .bind::<Text, _>(&text.idempotency_key)
    .execute(conn)?;
    if inserted > 0 {
        diesel::sql_query("SELECT pg_notify($1, '')")
            .bind::<Text, _>(NOTIFY_CHANNEL)
            .execute(conn)?;
    }
    Ok(inserted > 0)
}

/// Renews this worker's lease on the rows it is about to send, all at once; returns the ids
/// still its own (a row whose lease ran out and that another worker took is left alone).
pub fn renew(
    conn: &mut PgConnection,
    ids: &[i64],
    worker: &str,
    lease: Duration,
) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let rows: Vec<Id> = diesel::sql_query(
        "UPDATE platform.outbox SET locked_until = now() + make_interval(secs => $3)
         WHERE id = ANY($1) AND locked_by = $2 AND status = 'sending'
         RETURNING id",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Text, _>(worker)
    .bind::<Double, _>(lease.as_secs_f64())
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// A text the provider accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub id: i64,
    pub delivery_ref: String,
    pub segments: i16,
}

/// Records a batch of accepted texts as sent, in one statement.
pub fn mark_sent(conn: &mut PgConnection, worker: &str, sent: &[Accepted]) -> QueryResult<usize> {
    if sent.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = sent.iter().map(|s| s.id).collect();
    let refs: Vec<&str> = sent.iter().map(|s| s.delivery_ref.as_str()).collect();
    let segments: Vec<i16> = sent.iter().map(|s| s.segments).collect();
    diesel::sql_query(
        "UPDATE platform.outbox o SET status = 'sent', sent_at = now(), delivery_ref = s.ref,
             segments = s.segments, payload = o.payload - 'secret', locked_by = NULL, locked_until = NULL, last_error = NULL,
             updated_at = now()
         FROM unnest($2::bigint[], $3::text[], $4::smallint[]) AS s(id, ref, segments)
         WHERE o.id = s.id AND o.locked_by = $1 AND o.status = 'sending'",
    )
    .bind::<Text, _>(worker)
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Array<Text>, _>(refs)
    .bind::<Array<SmallInt>, _>(segments)
    .execute(conn)
}

/// Texts each tenant sent since `since` (the start of the month), by the quota's index.
pub fn sent_since(
    conn: &mut PgConnection,
    tenants: &[Uuid],
    since: chrono::DateTime<chrono::Utc>,
) -> QueryResult<Vec<(Uuid, i64)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        tenant_id: Uuid,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT tenant_id, count(*) AS n FROM platform.outbox
         WHERE tenant_id = ANY($1) AND channel <> 'email' AND status = 'sent' AND sent_at >= $2
         GROUP BY tenant_id",
    )
    .bind::<Array<SqlUuid>, _>(tenants)
    .bind::<Timestamptz, _>(since)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.tenant_id, r.n)).collect())
}

/// What a delivery report says of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    Undelivered,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
        }
    }
}

/// Records a provider's delivery report. False when no sent text of `channel` has that
/// reference (a report for something dvc did not send, or sent by another deployment). A
/// later report replaces an earlier one: providers send "accepted" before "delivered".
pub fn record_delivery(
    conn: &mut PgConnection,
    channel: Channel,
    delivery_ref: &str,
    outcome: Delivery,
) -> QueryResult<bool> {
    diesel::sql_query(
        "UPDATE platform.outbox SET delivery_status = $3, delivery_reported_at = now(),
             updated_at = now()
         WHERE channel = $1 AND delivery_ref = $2",
    )
    .bind::<Text, _>(channel.as_str())
    .bind::<Text, _>(delivery_ref)
    .bind::<Text, _>(outcome.as_str())
    .execute(conn)
    .map(|n| n == 1)
}
