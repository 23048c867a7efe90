//! Upward sync: every dossier event goes to the tenant's parent portal (and the national
//! portal where configured) as a signed webhook.
//!
//! Events are written to `platform.webhook_outbox` in the transaction of the change, then
//! delivered by a worker in order per dossier and endpoint, with retries and backoff. The body
//! carries no personal data. Signature: `X-Dvc-Signature: v1=<hex HMAC-SHA256(key,
//! "{timestamp}.{body}")>` with `X-Dvc-Timestamp` (Unix seconds) and `X-Dvc-Source` (slug);
//! receivers refuse stale timestamps and event ids they have seen.

use super::dossiers::{Scope, Status};
use crate::db::schema::tenant::{child_dossiers, sync_inbox};
use crate::db::schema::webhook_outbox;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Date, Integer, Nullable, Text, Timestamptz};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;
use uuid::Uuid;

pub const SIGNATURE_HEADER: &str = "X-Dvc-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Dvc-Timestamp";
pub const SOURCE_HEADER: &str = "X-Dvc-Source";

/// An endpoint a tenant reports to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `parent:{slug}` or `national`: also how the worker finds the signing key.
    pub endpoint: String,
    pub url: String,
}

/// What a parent portal learns about a dossier event.
// Both ends run this code: a status the receiver does not know (it is a release behind) makes
// the body invalid, and the sender retries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DossierEvent {
    pub event_id: Uuid,
    pub source_tenant: String,
    pub dossier_id: Uuid,
    pub dossier_code: String,
    pub procedure_code: String,
    pub seq: i32,
    pub from_status: Option<Status>,
    pub status: Status,
    pub at: DateTime<Utc>,
    pub submitted_at: DateTime<Utc>,
    pub due_date: Option<NaiveDate>,
}

/// Queues the event for every target, in the caller's transaction (or its relay).
pub fn queue(conn: &mut PgConnection, scope: &Scope, ev: &DossierEvent) -> QueryResult<()> {
    if scope.sync_targets.is_empty() {
        return Ok(());
    }
    super::relay::write(
        conn,
        scope.shared_writes,
        &super::relay::SharedWrite::Event {
            tenant_id: scope.tenant_id,
            targets: scope.sync_targets.to_vec(),
            event: ev.clone(),
        },
    )
}

/// The outbox rows of [`queue`].
pub(super) fn queue_to(
    conn: &mut PgConnection,
    tenant: Uuid,
    targets: &[Target],
    ev: &DossierEvent,
) -> QueryResult<()> {
    let body = serde_json::to_value(ev)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let rows: Vec<_> = targets
        .iter()
        .map(|t| {
            (
                webhook_outbox::tenant_id.eq(tenant),
                webhook_outbox::endpoint.eq(&t.endpoint),
                webhook_outbox::url.eq(&t.url),
                webhook_outbox::ordering_key.eq(ev.dossier_id.to_string()),
                webhook_outbox::event_id.eq(ev.event_id),
                webhook_outbox::body.eq(&body),
            )
        })
        .collect();
    diesel::insert_into(webhook_outbox::table)
        .values(rows)
        .execute(conn)
        .map(drop)
}

type HmacSha256 = Hmac<Sha256>;

/// The key a tenant signs its events to one receiving tenant with, derived from the
/// deployment's sync secret, so both ends of an in-deployment link know it without storing it.
/// It names both ends: an event signed for the parent cannot be replayed to another ancestor.
pub fn derive_key(secret: &str, source_slug: &str, receiver_slug: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(b"dvc-sync/v1/");
    mac.update(source_slug.as_bytes());
    mac.update(b"/");
    mac.update(receiver_slug.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn mac(key: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// `v1=<hex>` over `"{timestamp}.{body}"`.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(key, timestamp, body).finalize().into_bytes();
    format!("v1={}", super::text::hex(&tag))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing or malformed signature headers")]
    Malformed,
    #[error("timestamp outside the replay window")]
    Stale,
    #[error("signature does not match")]
    BadSignature,
}

/// Checks a delivery's signature (constant time) and its freshness.
pub fn verify(
    key: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
    window: Duration,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::Malformed)?;
    let hex = signature
        .trim()
        .strip_prefix("v1=")
        .ok_or(VerifyError::Malformed)?;
    if hex.len() != 64 {
        return Err(VerifyError::Malformed);
    }
    let tag: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| VerifyError::Malformed)?;
    if now.saturating_sub(ts).unsigned_abs() > window.as_secs() {
        return Err(VerifyError::Stale);
    }
    mac(key, ts, body)
        .verify_slice(&tag)
        .map_err(|_| VerifyError::BadSignature)
}

/// What recording a received event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    Applied,
    /// Older than what is already known (arrived after a later event): kept in the inbox,
    /// status unchanged.
    Superseded,
    /// This event id was already recorded: a replay, or a retry of a delivery that succeeded.
    Duplicate,
}

/// Records a verified event in the receiving (parent) tenant's schema.
pub fn receive(conn: &mut PgConnection, ev: &DossierEvent) -> QueryResult<Receipt> {
    let fresh = diesel::insert_into(sync_inbox::table)
        .values((
            sync_inbox::event_id.eq(ev.event_id),
            sync_inbox::source_tenant.eq(&ev.source_tenant),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if fresh == 0 {
        return Ok(Receipt::Duplicate);
    }
    // Only a later event moves the status: deliveries are in order, but a parked event
    // released later by an operator must not roll a dossier back.
    let changed = diesel::sql_query(
        "INSERT INTO child_dossiers (source_tenant, dossier_code, procedure_code, status, \
             last_seq, submitted_at, due_date, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (source_tenant, dossier_code) DO UPDATE SET status = excluded.status, \
             last_seq = excluded.last_seq, due_date = excluded.due_date, \
             updated_at = excluded.updated_at \
         WHERE child_dossiers.last_seq < excluded.last_seq",
    )
    .bind::<Text, _>(&ev.source_tenant)
    .bind::<Text, _>(&ev.dossier_code)
    .bind::<Text, _>(&ev.procedure_code)
    .bind::<Text, _>(ev.status)
    .bind::<Integer, _>(ev.seq)
    .bind::<Timestamptz, _>(ev.submitted_at)
    .bind::<Nullable<Date>, _>(ev.due_date)
    .bind::<Timestamptz, _>(ev.at)
    .execute(conn)?;
    Ok(if changed > 0 {
        Receipt::Applied
    } else {
        Receipt::Superseded
    })
}

/// The child tenants' dossiers as this (parent) tenant knows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChildDossier {
    pub source_tenant: String,
    pub dossier_code: String,
    pub procedure_code: String,
    pub status: Status,
    pub last_seq: i32,
    pub submitted_at: DateTime<Utc>,
    pub due_date: Option<NaiveDate>,
    pub updated_at: DateTime<Utc>,
}

pub fn child_dossiers(
    conn: &mut PgConnection,
    source: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ChildDossier>> {
    let mut q = child_dossiers::table.into_boxed();
    if let Some(s) = source {
        q = q.filter(child_dossiers::source_tenant.eq(s.to_owned()));
    }
    Ok(q.order(child_dossiers::updated_at.desc())
        .limit(limit)
        .load::<(
            String,
            String,
            String,
            Status,
            i32,
            DateTime<Utc>,
            Option<NaiveDate>,
            DateTime<Utc>,
        )>(conn)?
        .into_iter()
        .map(|(s, c, p, st, seq, sub, due, upd)| ChildDossier {
            source_tenant: s,
            dossier_code: c,
            procedure_code: p,
            status: st,
            last_seq: seq,
            submitted_at: sub,
            due_date: due,
            updated_at: upd,
        })
        .collect())
}

pub mod delivery;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_detect_tampering() {
        let key = derive_key("secret", "ha-noi", "molisa");
        assert_ne!(key, derive_key("secret", "ho-chi-minh", "molisa"));
        assert_ne!(key, derive_key("secret", "ha-noi", "national"));
        let body = br#"{"a":1}"#;
        let sig = sign(&key, 1_000, body);
        let w = Duration::from_secs(300);
        assert_eq!(verify(&key, "1000", &sig, body, 1_100, w), Ok(()));
        assert_eq!(
            verify(&key, "1000", &sig, br#"{"a":2}"#, 1_100, w),
            Err(VerifyError::BadSignature)
        );
        // The timestamp is signed: moving it forward to dodge the window breaks the signature.
        assert_eq!(
            verify(&key, "1200", &sig, body, 1_250, w),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(&key, "1000", &sig, body, 2_000, w),
            Err(VerifyError::Stale)
        );
        let other = derive_key("secret", "ho-chi-minh", "molisa");
        assert_eq!(
            verify(&other, "1000", &sig, body, 1_100, w),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(&key, "x", &sig, body, 1_100, w),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verify(&key, "1000", "v1=zz", body, 1_100, w),
            Err(VerifyError::Malformed)
        );
    }
}
