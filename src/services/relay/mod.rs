//! The shared-table writes a tenant transaction causes — the citizen's cross-tenant dossier
//! index, the upward-sync and notice outboxes, the statistics counters — made in one of two
//! ways (`database.shared_writes`):
//!
//! - **direct**: in the tenant's transaction itself. On one PostgreSQL that is one commit.
//! - **relay**: as a row of the tenant's own `shared_relay` table, in the same transaction,
//!   with a `NOTIFY`; the [`Drainer`] applies the rows to the shared tables. On Citus the
//!   tenant's schema lives on a worker and the shared tables on the coordinator, and Citus
//!   commits such a transaction on the worker, then on the coordinator — not atomically (no
//!   two-phase commit for plain coordinator tables). Relayed, no transaction writes two nodes.
//!   It costs throughput there (one more routed statement, and the drain): see
//!   `docs/scaling.md`.
//!
//! A relayed write lands exactly once: it commits with the change that caused it, is applied
//! with its key recorded in `platform.relay_applied` (one transaction, shared tables only), then
//! deleted from the relay (another, tenant tables only), so a drainer dying between the two, or
//! two racing, apply it once.

use super::dossiers::Status;
use super::stats::{self, Delta};
use super::sync::{self, DossierEvent, Target};
pub use crate::config::SharedWrites;
use crate::db::schema::dossier_index;
use crate::db::schema::tenant::shared_relay;
use crate::locale::Locale;
use crate::mail::TemplateKey;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod drainer;
pub use drainer::Drainer;

/// Where relayed writes are announced; the payload is the tenant's id.
pub const NOTIFY_CHANNEL: &str = "dvc_relay";

/// A citizen's entry in the cross-tenant index, as the submission writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub tenant_id: Uuid,
    pub dossier_id: Uuid,
    pub account_id: Option<Uuid>,
    /// For a desk applicant without an account: what lets them claim it later.
    pub claim_hash: Option<Vec<u8>>,
    pub claim_email: Option<String>,
    pub code: String,
    pub procedure_code: String,
    pub procedure_name: String,
    pub submitted_at: DateTime<Utc>,
}

/// A notice to an applicant, owned (see [`crate::notify::Notice`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeWrite {
    pub tenant_id: Uuid,
    pub template: TemplateKey,
    pub locale: Locale,
    pub account: Option<Uuid>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub payload: serde_json::Value,
    pub key: String,
    pub texts: crate::notify::TextPolicy,
}

/// One write to the shared tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SharedWrite {
    IndexEntry(IndexEntry),
    IndexStatus {
        tenant_id: Uuid,
        dossier_id: Uuid,
        status: Status,
        at: DateTime<Utc>,
    },
    Event {
        tenant_id: Uuid,
        targets: Vec<Target>,
        event: DossierEvent,
    },
    Counts {
        tenant_id: Uuid,
        day: NaiveDate,
        procedure: String,
        field: String,
        delta: Delta,
    },
    Notice(NoticeWrite),
}

impl NoticeWrite {
    pub fn of(n: &crate::notify::Notice<'_>, texts: &crate::notify::TextPolicy) -> Self {
        Self {
            tenant_id: n.tenant_id,
            template: n.template,
            locale: n.locale,
            account: n.account,
            email: n.email.map(str::to_owned),
            phone: n.phone.map(str::to_owned),
            payload: n.payload.clone(),
            key: n.key.clone(),
            texts: texts.clone(),
        }
    }
}

impl SharedWrite {
    pub fn counts(k: &stats::Key<'_>, delta: Delta) -> Self {
        Self::Counts {
            tenant_id: k.tenant,
            day: k.day,
            procedure: k.procedure.to_owned(),
            field: k.field.to_owned(),
            delta,
        }
    }

    fn tenant(&self) -> Uuid {
        match self {
            Self::IndexEntry(e) => e.tenant_id,
            Self::Notice(n) => n.tenant_id,
            Self::IndexStatus { tenant_id, .. }
            | Self::Event { tenant_id, .. }
            | Self::Counts { tenant_id, .. } => *tenant_id,
        }
    }
}

/// Queues the write in the tenant's relay (`relay`) or makes it now (otherwise: `auto` is
/// resolved at start-up, and direct is right everywhere), in the caller's tenant-scoped
/// transaction.
pub fn write(conn: &mut PgConnection, mode: SharedWrites, w: &SharedWrite) -> QueryResult<()> {
    match mode {
        SharedWrites::Direct | SharedWrites::Auto => apply(conn, w),
        SharedWrites::Relay => {
            let body = serde_json::to_value(w)
                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
            diesel::insert_into(shared_relay::table)
                .values((
                    shared_relay::key.eq(Uuid::new_v4()),
                    shared_relay::write.eq(body),
                ))
                .execute(conn)?;
            // Delivered at commit, once per transaction and tenant however many rows.
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<diesel::sql_types::Text, _>(NOTIFY_CHANNEL)
                .bind::<diesel::sql_types::Text, _>(w.tenant().to_string())
                .execute(conn)
                .map(drop)
        }
    }
}

/// Writes it to the shared tables.
pub fn apply(conn: &mut PgConnection, w: &SharedWrite) -> QueryResult<()> {
    match w {
        SharedWrite::IndexEntry(e) => diesel::insert_into(dossier_index::table)
            .values((
                dossier_index::tenant_id.eq(e.tenant_id),
                dossier_index::dossier_id.eq(e.dossier_id),
                dossier_index::account_id.eq(e.account_id),
                dossier_index::claim_hash.eq(&e.claim_hash),
                dossier_index::claim_email.eq(&e.claim_email),
                dossier_index::code.eq(&e.code),
                dossier_index::procedure_code.eq(&e.procedure_code),
                dossier_index::procedure_name.eq(&e.procedure_name),
                dossier_index::status.eq(Status::Submitted),
                dossier_index::submitted_at.eq(e.submitted_at),
                dossier_index::updated_at.eq(e.submitted_at),
            ))
            .execute(conn)
            .map(drop),
        SharedWrite::IndexStatus {
            tenant_id,
            dossier_id,
            status,
            at,
        } => diesel::update(
            dossier_index::table
                .filter(dossier_index::tenant_id.eq(tenant_id))
                .filter(dossier_index::dossier_id.eq(dossier_id)),
        )
        .set((
            dossier_index::status.eq(status),
            dossier_index::updated_at.eq(at),
        ))
        .execute(conn)
        .map(drop),
        SharedWrite::Event {
            tenant_id,
            targets,
            event,
        } => sync::queue_to(conn, *tenant_id, targets, event),
        SharedWrite::Counts {
            tenant_id,
            day,
            procedure,
            field,
            delta,
        } => stats::record(
            conn,
            stats::Key {
                tenant: *tenant_id,
                day: *day,
                procedure,
                field,
            },
            *delta,
        ),
        SharedWrite::Notice(n) => crate::notify::applicant(
            conn,
            &n.texts,
            &crate::notify::Notice {
                tenant_id: n.tenant_id,
                template: n.template,
                locale: n.locale,
                account: n.account,
                email: n.email.as_deref(),
                phone: n.phone.as_deref(),
                payload: n.payload.clone(),
                key: n.key.clone(),
            },
        )
        .map(drop),
    }
}

/// Why a drain stopped.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    /// A row this release cannot read (written by a newer one): left in place, and the rows
    /// after it wait behind it, so order is kept.
    #[error("relay row {id} cannot be read: {source}")]
    Unreadable { id: i64, source: serde_json::Error },
}

/// The rows one [`apply_batch`] took, for [`forget_batch`].
#[derive(Debug, Default)]
pub struct Batch {
    pub ids: Vec<i64>,
    pub keys: Vec<Uuid>,
}

/// Applies up to `limit` of the tenant's relayed writes, oldest first, recording their keys in
/// `platform.relay_applied`; a write whose key is there already is skipped. Runs in the
/// caller's tenant-scoped transaction, which writes only shared tables: on Citus it commits on
/// the coordinator alone. The rows stay in the relay until [`forget_batch`].
///
/// Two drainers of one tenant take turns (the row locks, then the keys' unique index), so each
/// write is applied once and in the order it was made.
pub fn apply_batch(conn: &mut PgConnection, tenant: Uuid, limit: i64) -> Result<Batch, DrainError> {
    use crate::db::schema::relay_applied;
    let rows: Vec<(i64, Uuid, serde_json::Value)> = shared_relay::table
        .order(shared_relay::id)
        .limit(limit)
        .select((shared_relay::id, shared_relay::key, shared_relay::write))
        .for_update()
        .load(conn)?;
    let batch = Batch {
        ids: rows.iter().map(|r| r.0).collect(),
        keys: rows.iter().map(|r| r.1).collect(),
    };
    let fresh: Vec<Uuid> = diesel::insert_into(relay_applied::table)
        .values(
            batch
                .keys
                .iter()
                .map(|k| {
                    (
                        relay_applied::key.eq(*k),
                        relay_applied::tenant_id.eq(tenant),
                    )
                })
                .collect::<Vec<_>>(),
        )
        .on_conflict_do_nothing()
        .returning(relay_applied::key)
        .get_results(conn)?;
    for (id, key, write) in rows {
        if !fresh.contains(&key) {
            continue;
        }
        let w: SharedWrite = serde_json::from_value(write)
            .map_err(|source| DrainError::Unreadable { id, source })?;
        apply(conn, &w)?;
    }
    Ok(batch)
}

/// Deletes an applied batch from the tenant's relay (its keys stay in the ledger: see
/// [`prune_ledger`]).
pub fn forget_batch(conn: &mut PgConnection, batch: &Batch) -> QueryResult<()> {
    diesel::delete(shared_relay::table.filter(shared_relay::id.eq_any(&batch.ids)))
        .execute(conn)
        .map(drop)
}

/// How long applied keys are kept: a batch's rows are deleted moments after it is applied, so
/// this only has to outlast a tenant's node being unreachable between the two.
pub const LEDGER_DAYS: i32 = 7;

/// Forgets keys applied more than [`LEDGER_DAYS`] ago.
pub fn prune_ledger(conn: &mut PgConnection) -> QueryResult<usize> {
    use crate::db::schema::relay_applied;
    let cutoff = Utc::now() - chrono::Duration::days(LEDGER_DAYS.into());
    diesel::delete(relay_applied::table.filter(relay_applied::applied_at.lt(cutoff))).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_write_reads_back_as_written() {
        let at = DateTime::parse_from_rfc3339("2026-12-08T01:02:03Z")
            .unwrap()
            .to_utc();
        let tenant = Uuid::new_v4();
        let writes = [
            SharedWrite::IndexEntry(IndexEntry {
                tenant_id: tenant,
                dossier_id: Uuid::new_v4(),
                account_id: None,
                claim_hash: Some(vec![1, 2, 3]),
                claim_email: None,
                code: "000.00.01.H26-261208-0001".into(),
                procedure_code: "1.001978".into(),
                procedure_name: "Giải quyết hưởng trợ cấp thất nghiệp".into(),
                submitted_at: at,
            }),
            SharedWrite::IndexStatus {
                tenant_id: tenant,
                dossier_id: Uuid::new_v4(),
                status: Status::Received,
                at,
            },
            SharedWrite::Counts {
                tenant_id: tenant,
                day: at.date_naive(),
                procedure: "1.001978".into(),
                field: "lao-dong".into(),
                delta: Delta::resolved(true, 3600),
            },
            SharedWrite::Notice(NoticeWrite {
                tenant_id: tenant,
                template: TemplateKey::DossierReceived,
                locale: Locale::Vi,
                account: Some(Uuid::new_v4()),
                email: Some("dan@example.vn".into()),
                phone: None,
                payload: serde_json::json!({ "dossier_code": "X" }),
                key: "dossier:x:2".into(),
                texts: crate::notify::TextPolicy {
                    sms: true,
                    zalo: vec![TemplateKey::DossierReceived],
                },
            }),
        ];
        for w in writes {
            let json = serde_json::to_value(&w).unwrap();
            assert_eq!(w.tenant(), tenant);
            assert_eq!(serde_json::from_value::<SharedWrite>(json).unwrap(), w);
        }
    }

    #[test]
    fn a_write_of_an_unknown_kind_is_refused_not_guessed() {
        let json = serde_json::json!({ "kind": "index_rewrite", "tenant_id": Uuid::new_v4() });
        assert!(serde_json::from_value::<SharedWrite>(json).is_err());
    }
}
