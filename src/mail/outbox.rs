//! The outbox table: enqueue inside the caller's transaction; claim, finish and inspect from
//! the worker and the operator tools.

use super::address::Email;
use super::channel::Channel;
use super::templates::TemplateKey;
use crate::db::schema::outbox;
use crate::locale::Locale;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Jsonb, Nullable, Text, Uuid as SqlUuid};
use std::time::Duration;
use uuid::Uuid;

/// Channel the worker listens on; `NOTIFY` is delivered only when the enqueuing transaction
/// commits, so a rolled-back change wakes nobody and sends nothing.
pub const NOTIFY_CHANNEL: &str = "dvc_outbox";

// Stored as text (`platform.outbox.status`). The worker's statements below spell these names
// in their SQL, where the partial indexes on `status` can see them.
crate::db::text_enum! {
    /// Where an outbox message stands: `pending` → `sending` (claimed under a lease) → `sent`,
    /// back to `pending` for a retry, or parked as `failed`.
    pub enum OutboxStatus("outbox status") {
        Pending = "pending",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
    }
}

/// A message to send once the surrounding transaction commits.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub tenant_id: Option<Uuid>,
    pub template: TemplateKey,
    pub locale: Locale,
    pub recipient: Email,
    /// Template values. Values under `"secret"` (reset links, tokens) are wiped once sent.
    pub payload: serde_json::Value,
    /// The same key twice queues one message: retries of the causing request are harmless.
    pub idempotency_key: String,
}

/// Writes the row in the caller's transaction. Returns false when the idempotency key was
/// already queued.
pub fn enqueue(conn: &mut PgConnection, mail: &NewMail) -> QueryResult<bool> {
    let inserted = diesel::insert_into(outbox::table)
        .values((
            outbox::tenant_id.eq(mail.tenant_id),
            outbox::template.eq(mail.template.as_str()),
            outbox::locale.eq(mail.locale.as_str()),
            outbox::recipient.eq(mail.recipient.as_str()),
            outbox::payload.eq(&mail.payload),
            outbox::idempotency_key.eq(&mail.idempotency_key),
        ))
        .on_conflict(outbox::idempotency_key)
        .do_nothing()
        .execute(conn)?;
    if inserted > 0 {
        diesel::sql_query("SELECT pg_notify($1, '')")
            .bind::<Text, _>(NOTIFY_CHANNEL)
            .execute(conn)?;
    }
    Ok(inserted > 0)
}

/// A claimed row.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub tenant_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub template: String,
    #[diesel(sql_type = Text)]
    pub locale: String,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Jsonb)]
    pub payload: serde_json::Value,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Text)]
    pub channel: Channel,
}

/// Claims up to `limit` due rows of `channels` for `worker` with a lease. Rows locked by
/// another worker's claim are skipped, so two workers never take the same row; a row whose
/// lease ran out (its worker died) is due again.
pub fn claim(
    conn: &mut PgConnection,
    worker: &str,
    channels: &[Channel],
    limit: u32,
    lease: Duration,
) -> QueryResult<Vec<Claimed>> {
    let channels: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    diesel::sql_query(
        "UPDATE platform.outbox o
         SET status = 'sending', attempts = o.attempts + 1, locked_by = $1,
             locked_until = now() + make_interval(secs => $2), updated_at = now()
         WHERE o.id IN (
             SELECT id FROM platform.outbox
             WHERE channel = ANY($4)
               AND ((status = 'pending' AND next_attempt_at <= now())
                    OR (status = 'sending' AND locked_until < now()))
             ORDER BY next_attempt_at
             LIMIT $3
             FOR UPDATE SKIP LOCKED)
         RETURNING o.id, o.tenant_id, o.template, o.locale, o.recipient, o.payload, o.attempts,
                   o.channel",
    )
    .bind::<Text, _>(worker)
    .bind::<diesel::sql_types::Double, _>(lease.as_secs_f64())
    .bind::<BigInt, _>(i64::from(limit))
    .bind::<diesel::sql_types::Array<Text>, _>(channels)
    .load(conn)
}

/// Extends this worker's lease on a row just before it is sent. `false` when the row is no
/// longer this worker's (its lease ran out and another worker claimed it): sending it now would
/// deliver it twice.
pub fn renew(conn: &mut PgConnection, id: i64, worker: &str, lease: Duration) -> QueryResult<bool> {
    diesel::sql_query(
        "UPDATE platform.outbox SET locked_until = now() + make_interval(secs => $3)
         WHERE id = $1 AND locked_by = $2 AND status = 'sending'",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(worker)
    .bind::<diesel::sql_types::Double, _>(lease.as_secs_f64())
    .execute(conn)
    .map(|n| n == 1)
}

/// Marks a row sent and wipes its secrets.
pub fn mark_sent(
    conn: &mut PgConnection,
    id: i64,
    worker: &str,
    message_id: &str,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE platform.outbox SET status = 'sent', sent_at = now(), smtp_message_id = $3,
             payload = payload - 'secret', locked_by = NULL, locked_until = NULL,
             last_error = NULL, updated_at = now()
         WHERE id = $1 AND locked_by = $2 AND status = 'sending'",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(worker)
    .bind::<Text, _>(message_id)
    .execute(conn)
}

/// Puts a row back to wait `delay` before its next attempt.
pub fn mark_retry(
    conn: &mut PgConnection,
    id: i64,
    worker: &str,
    error: &str,
    delay: Duration,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE platform.outbox SET status = 'pending', last_error = $3,
             next_attempt_at = now() + make_interval(secs => $4),
             locked_by = NULL, locked_until = NULL, updated_at = now()
         WHERE id = $1 AND locked_by = $2 AND status = 'sending'",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(worker)
    .bind::<Text, _>(error)
    .bind::<diesel::sql_types::Double, _>(delay.as_secs_f64())
    .execute(conn)
}

/// Parks a row as failed, visible to operators, who may retry it (so its payload is kept).
pub fn mark_failed(
    conn: &mut PgConnection,
    id: i64,
    worker: &str,
    error: &str,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE platform.outbox SET status = 'failed', last_error = $3,
             locked_by = NULL, locked_until = NULL, updated_at = now()
         WHERE id = $1 AND locked_by = $2 AND status = 'sending'",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(worker)
    .bind::<Text, _>(error)
    .execute(conn)
}

/// Gives back rows claimed but not attempted (shutdown, rate limit): they are due again at
/// once (or after `delay`) and the claim does not count as an attempt.
pub fn release(
    conn: &mut PgConnection,
    ids: &[i64],
    worker: &str,
    delay: Duration,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE platform.outbox SET status = 'pending', attempts = attempts - 1,
             next_attempt_at = now() + make_interval(secs => $3),
             locked_by = NULL, locked_until = NULL, updated_at = now()
         WHERE id = ANY($1) AND locked_by = $2 AND status = 'sending'",
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
    .bind::<Text, _>(worker)
    .bind::<diesel::sql_types::Double, _>(delay.as_secs_f64())
    .execute(conn)
}

/// Counts by tenant and status, for operators.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct StatusCount {
    #[diesel(sql_type = Nullable<Text>)]
    pub tenant: Option<String>,
    #[diesel(sql_type = Text)]
    pub channel: Channel,
    #[diesel(sql_type = Text)]
    pub status: OutboxStatus,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Age of the oldest row in this group that is not sent yet, in seconds.
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub oldest_unsent_secs: Option<f64>,
}

pub fn status_counts(conn: &mut PgConnection) -> QueryResult<Vec<StatusCount>> {
    diesel::sql_query(
        "SELECT t.slug AS tenant, o.channel, o.status, count(*) AS count,
                extract(epoch FROM now() - min(o.created_at) FILTER (WHERE o.status <> 'sent'))::float8
                    AS oldest_unsent_secs
         FROM platform.outbox o LEFT JOIN platform.tenants t ON t.id = o.tenant_id
         GROUP BY t.slug, o.channel, o.status ORDER BY t.slug NULLS FIRST, o.channel, o.status",
    )
    .load(conn)
}

/// A parked row, for operators.
#[derive(Debug, Clone, QueryableByName)]
pub struct FailedRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub tenant: Option<String>,
    #[diesel(sql_type = Text)]
    pub channel: Channel,
    #[diesel(sql_type = Text)]
    pub template: String,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

pub fn failed(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<FailedRow>> {
    diesel::sql_query(
        "SELECT o.id, t.slug AS tenant, o.channel, o.template, o.recipient, o.attempts,
                o.last_error, o.updated_at
         FROM platform.outbox o LEFT JOIN platform.tenants t ON t.id = o.tenant_id
         WHERE o.status = 'failed' ORDER BY o.updated_at DESC LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// Queues a failed row again with a fresh set of attempts. False if no failed row has `id`.
pub fn retry(conn: &mut PgConnection, id: i64) -> QueryResult<bool> {
    let n = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq(OutboxStatus::Failed)),
    )
    .set((
        outbox::status.eq(OutboxStatus::Pending),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(diesel::dsl::now),
        outbox::last_error.eq(None::<String>),
        outbox::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    if n > 0 {
        diesel::sql_query("SELECT pg_notify($1, '')")
            .bind::<Text, _>(NOTIFY_CHANNEL)
            .execute(conn)?;
    }
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_stored_and_sent_under_the_same_names() {
        for &s in OutboxStatus::ALL {
            assert_eq!(s.as_str().parse::<OutboxStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(format!("{s:<8}|"), format!("{:<8}|", s.as_str()));
        }
        // An unknown stored name is an error, not a panic.
        assert!(
            "queued"
                .parse::<OutboxStatus>()
                .unwrap_err()
                .contains("`queued`")
        );
        assert!("Sent".parse::<OutboxStatus>().is_err());
    }
}
