//! Text rows of the outbox: queued in the caller's transaction like mail, then locked a batch
//! at a time by the text worker's transaction and finished in one statement before it commits.

use super::{Channel, MobileNumber};
use crate::locale::Locale;
use crate::mail::TemplateKey;
use crate::mail::outbox::NOTIFY_CHANNEL;
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Double, Integer, Jsonb, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid,
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
    .bind::<Jsonb, _>(&text.payload)
    .bind::<Text, _>(&text.idempotency_key)
    .execute(conn)?;
    if inserted > 0 {
        diesel::sql_query("SELECT pg_notify($1, '')")
            .bind::<Text, _>(NOTIFY_CHANNEL)
            .execute(conn)?;
    }
    Ok(inserted > 0)
}

/// A due text, locked by the transaction that claimed it, with what its tenant says of texts.
#[derive(Debug, Clone, QueryableByName)]
pub struct DueText {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub tenant_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub channel: Channel,
    #[diesel(sql_type = Text)]
    pub template: String,
    #[diesel(sql_type = Text)]
    pub locale: String,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Jsonb)]
    pub payload: serde_json::Value,
    /// Attempts before this one.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// The tenant's own brandname (`branding.sms_sender`), if it has one.
    #[diesel(sql_type = Nullable<Text>)]
    pub sender: Option<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub plan: Option<serde_json::Value>,
}

/// Locks up to `limit` due texts, oldest first, for the caller's open transaction. They stay
/// locked (other workers skip them) until it commits, which is when their outcomes are
/// written: nothing is written to claim them, so a text costs one row update, not two. If the
/// worker dies, its connection's transaction ends and the texts are due again at once.
///
/// Rows `sending` under the lease of an older worker are left alone until the lease runs out.
pub fn lock_due(conn: &mut PgConnection, limit: u32) -> QueryResult<Vec<DueText>> {
    // Spelled to match the partial index `outbox_texts_due_idx`: an ordered range scan that
    // stops after `limit` rows, however long the queue is.
    diesel::sql_query(
        "SELECT o.id, o.tenant_id, o.channel, o.template, o.locale, o.recipient, o.payload,
                o.attempts, t.branding ->> 'sms_sender' AS sender, t.plan
         FROM platform.outbox o LEFT JOIN platform.tenants t ON t.id = o.tenant_id
         WHERE o.channel <> 'email' AND o.status IN ('pending', 'sending')
           AND o.next_attempt_at <= now()
           AND (o.status = 'pending' OR o.locked_until < now())
         ORDER BY o.next_attempt_at
         LIMIT $1
         FOR UPDATE OF o SKIP LOCKED",
    )
    .bind::<BigInt, _>(i64::from(limit))
    .load(conn)
}

/// What became of one text of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// The provider took it, under its reference.
    Sent { reference: String, segments: i16 },
    /// Tried and failed; due again after `delay`.
    Retry { delay: Duration, error: String },
    /// Failed for good (or can never be sent): parked for operators.
    Parked { error: String },
    /// Not tried (rate limit, shutdown): due again after `delay`, no attempt counted.
    Released { delay: Duration },
}

/// One row of [`finish`]'s arrays.
struct FinishRow<'a> {
    status: &'static str,
    tried: i32,
    reference: Option<&'a str>,
    segments: Option<i16>,
    delay: f64,
    error: Option<&'a str>,
}

impl Finish {
    fn row(&self) -> FinishRow<'_> {
        let (status, tried, reference, segments, delay, error) = match self {
            Self::Sent {
                reference,
                segments,
            } => (
                "sent",
                1,
                Some(reference.as_str()),
                Some(*segments),
                0.0,
                None,
            ),
            Self::Retry { delay, error } => (
                "pending",
                1,
                None,
                None,
                delay.as_secs_f64(),
                Some(error.as_str()),
            ),
            Self::Parked { error } => ("failed", 1, None, None, 0.0, Some(error.as_str())),
            Self::Released { delay } => ("pending", 0, None, None, delay.as_secs_f64(), None),
        };
        FinishRow {
            status,
            tried,
            reference,
            segments,
            delay,
            error,
        }
    }
}

/// Writes a batch's outcomes in one statement, in the transaction that locked the rows. Rows
/// somebody else already finished (`sent` or `failed`) are left as they are.
pub fn finish(conn: &mut PgConnection, outcomes: &[(i64, Finish)]) -> QueryResult<usize> {
    if outcomes.is_empty() {
        return Ok(0);
    }
    let rows: Vec<(i64, FinishRow<'_>)> = outcomes.iter().map(|(id, f)| (*id, f.row())).collect();
    diesel::sql_query(
        "UPDATE platform.outbox o SET
             status = s.status,
             attempts = o.attempts + s.tried,
             sent_at = CASE WHEN s.status = 'sent' THEN now() ELSE o.sent_at END,
             delivery_ref = COALESCE(s.ref, o.delivery_ref),
             segments = COALESCE(s.segments, o.segments),
             payload = CASE WHEN s.status = 'sent' THEN o.payload - 'secret' ELSE o.payload END,
             next_attempt_at = CASE WHEN s.status = 'pending'
                 THEN now() + make_interval(secs => s.delay) ELSE o.next_attempt_at END,
             last_error = CASE WHEN s.status = 'sent' THEN NULL
                 ELSE COALESCE(s.error, o.last_error) END,
             locked_by = NULL, locked_until = NULL, updated_at = now()
         FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::smallint[],
                     $6::float8[], $7::text[]) AS s(id, status, tried, ref, segments, delay, error)
         WHERE o.id = s.id AND o.status IN ('pending', 'sending')",
    )
    .bind::<Array<BigInt>, _>(rows.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|(_, r)| r.status).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(rows.iter().map(|(_, r)| r.tried).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|(_, r)| r.reference).collect::<Vec<_>>())
    .bind::<Array<Nullable<SmallInt>>, _>(rows.iter().map(|(_, r)| r.segments).collect::<Vec<_>>())
    .bind::<Array<Double>, _>(rows.iter().map(|(_, r)| r.delay).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|(_, r)| r.error).collect::<Vec<_>>())
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
