//! The rows a change writes beside the dossier's own, in the same transaction: the daily
//! code sequence, attachments, the event (with the cross-tenant index and the upward-sync
//! row it moves) and the mail owed to the applicant.

use super::{ProcedureFacts, Row};
use crate::db::schema::tenant::{attachments, dossier_events, dossier_sequences};
use crate::locale::Locale;
use crate::mail::TemplateKey;
use crate::services::dossiers::workflow::{Action, Status};
use crate::services::dossiers::{ActionRequest, Scope, StoredFile};
use crate::services::payments::PaymentStatus;
use crate::services::relay::{self, SharedWrite};
use crate::services::{sync, transfers};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

/// Next number of the local day, safe under concurrency: the upsert takes the row lock, so
/// two submissions never read the same value.
pub(super) fn next_sequence(conn: &mut PgConnection, day: NaiveDate) -> QueryResult<i32> {
    diesel::insert_into(dossier_sequences::table)
        .values((
            dossier_sequences::day.eq(day),
            dossier_sequences::last.eq(1),
        ))
        .on_conflict(dossier_sequences::day)
        .do_update()
        .set(dossier_sequences::last.eq(dossier_sequences::last + 1))
        .returning(dossier_sequences::last)
        .get_result(conn)
}

pub(super) fn insert_files(
    conn: &mut PgConnection,
    dossier: Uuid,
    by: Option<Uuid>,
    files: &[StoredFile],
) -> QueryResult<()> {
    if files.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = files
        .iter()
        .map(|f| {
            (
                attachments::id.eq(Uuid::new_v4()),
                attachments::dossier_id.eq(dossier),
                attachments::document_index.eq(f.document_index),
                attachments::file_name.eq(&f.file_name),
                attachments::media_type.eq(f.kind.media_type()),
                attachments::size_bytes.eq(f.size),
                attachments::sha256.eq(&f.sha256),
                attachments::storage_key.eq(f.key.as_str()),
                attachments::uploaded_by.eq(by),
                attachments::digitised.eq(f.digitised),
                attachments::provenance.eq(&f.provenance),
            )
        })
        .collect();
    diesel::insert_into(attachments::table)
        .values(rows)
        .execute(conn)
        .map(drop)
}

/// On receipt, the documents the applicant submitted (an officer has now accepted them) go to
/// their wallet, named as the procedure names them. Files that came from the wallet are
/// already there; a dossier without an account (a walk-in) has no wallet.
pub(super) fn keep_documents(
    conn: &mut PgConnection,
    scope: &Scope,
    row: &Row,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    use crate::db::schema::tenant::procedures;
    use crate::services::catalog::RequiredDocument;
    use crate::services::wallet::{ItemKind, store as wallet};
    let Some(account) = row.applicant_id else {
        return Ok(());
    };
    let documents: serde_json::Value = procedures::table
        .find(&row.procedure_code)
        .select(procedures::documents)
        .first(conn)?;
    let documents: Vec<RequiredDocument> = serde_json::from_value(documents).unwrap_or_default();
    type File = (Uuid, Option<i32>, String, String, i64, String, String);
    let files: Vec<File> = attachments::table
        .filter(attachments::dossier_id.eq(row.id))
        .filter(attachments::provenance.is_null())
        .select((
            attachments::id,
            attachments::document_index,
            attachments::file_name,
            attachments::media_type,
            attachments::size_bytes,
            attachments::sha256,
            attachments::storage_key,
        ))
        .load(conn)?;
    let items: Vec<wallet::NewItem> = files
        .into_iter()
        .map(
            |(id, index, file_name, media_type, size_bytes, sha256, key)| {
                let doc = index.and_then(|i| documents.get(usize::try_from(i).ok()?));
                wallet::NewItem {
                    account_id: account,
                    tenant_id: scope.tenant_id,
                    kind: ItemKind::Document,
                    source_id: id,
                    dossier_code: row.code.clone(),
                    procedure_code: row.procedure_code.clone(),
                    title: doc.map_or_else(|| file_name.clone(), |d| d.name.clone()),
                    title_en: doc.and_then(|d| d.name_en.clone()),
                    file_name,
                    media_type,
                    size_bytes,
                    sha256,
                    storage_key: key,
                    result_number: None,
                    added_at: now,
                }
            },
        )
        .collect();
    wallet::keep(conn, &items)
}

/// An event as recorded, for sync.
pub(super) struct Recorded<'a> {
    pub(super) dossier: Uuid,
    pub(super) code: &'a str,
    pub(super) procedure_code: &'a str,
    pub(super) seq: i32,
    pub(super) from: Option<Status>,
    pub(super) to: Status,
    pub(super) at: DateTime<Utc>,
    pub(super) submitted_at: DateTime<Utc>,
    pub(super) due_date: Option<NaiveDate>,
    /// Set on a dossier another tenant handed over: its event also goes on the transfer's
    /// timeline, which the applicant follows where they applied.
    pub(super) origin_transfer: Option<Uuid>,
    /// The step the dossier is at after the event (vi, en), for that timeline.
    pub(super) step_name: Option<(&'a str, Option<&'a str>)>,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn record_event(
    conn: &mut PgConnection,
    scope: &Scope,
    ev: &Recorded<'_>,
    actor: Option<Uuid>,
    actor_role: &str,
    note: Option<&str>,
    details: serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(dossier_events::table)
        .values((
            dossier_events::dossier_id.eq(ev.dossier),
            dossier_events::seq.eq(ev.seq),
            dossier_events::actor_id.eq(actor),
            dossier_events::actor_role.eq(actor_role),
            dossier_events::from_status.eq(ev.from),
            dossier_events::to_status.eq(ev.to),
            dossier_events::note.eq(note),
            dossier_events::details.eq(details),
            dossier_events::at.eq(ev.at),
        ))
        .execute(conn)?;
    // The submission itself wrote the index row; later events move its status.
    if ev.seq > 1 {
        update_index(conn, scope, ev)?;
    }
    if let Some(transfer) = ev.origin_transfer {
        transfers::store::add_progress(
            conn,
            transfer,
            &transfers::Milestone {
                at: ev.at,
                status: ev.to,
                step_vi: ev.step_name.map(|(vi, _)| vi.to_owned()),
                step_en: ev.step_name.and_then(|(_, en)| en.map(str::to_owned)),
            },
        )?;
    }
    sync::queue(
        conn,
        scope,
        &sync::DossierEvent {
            event_id: Uuid::new_v4(),
            source_tenant: scope.tenant_slug.clone(),
            dossier_id: ev.dossier,
            dossier_code: ev.code.to_owned(),
            procedure_code: ev.procedure_code.to_owned(),
            seq: ev.seq,
            from_status: ev.from,
            status: ev.to,
            at: ev.at,
            submitted_at: ev.submitted_at,
            due_date: ev.due_date,
        },
    )
}

fn update_index(conn: &mut PgConnection, scope: &Scope, ev: &Recorded<'_>) -> QueryResult<()> {
    relay::write(
        conn,
        scope.shared_writes,
        &SharedWrite::IndexStatus {
            tenant_id: scope.tenant_id,
            dossier_id: ev.dossier,
            status: ev.to,
            at: ev.at,
        },
    )
}

/// A notice to the applicant, written with the change (or relayed: see `services::relay`).
pub(super) fn notify(
    conn: &mut PgConnection,
    scope: &Scope,
    n: &crate::notify::Notice<'_>,
) -> QueryResult<()> {
    relay::write(
        conn,
        scope.shared_writes,
        &SharedWrite::Notice(relay::NoticeWrite::of(n, &scope.texts)),
    )
}

/// A change to the statistics counters, written with the change (or relayed).
pub(super) fn count(
    conn: &mut PgConnection,
    scope: &Scope,
    key: &crate::services::stats::Key<'_>,
    delta: crate::services::stats::Delta,
) -> QueryResult<()> {
    relay::write(conn, scope.shared_writes, &SharedWrite::counts(key, delta))
}

/// The statistics of a decision taking effect now: resolved, on time or not, and how long it
/// took since receipt. The fixed path, a process's last step and a result coming back from
/// another agency all count it here.
pub(super) fn record_resolved(
    conn: &mut PgConnection,
    scope: &Scope,
    row: &Row,
    field_code: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let today = crate::services::calendar::local_date(now);
    let on_time = row.due_date.is_none_or(|d| today <= d);
    let seconds = row
        .received_at
        .map_or(0, |r| (now - r).num_seconds().max(0));
    count(
        conn,
        scope,
        &crate::services::stats::Key {
            tenant: scope.tenant_id,
            day: today,
            procedure: &row.procedure_code,
            field: field_code,
        },
        crate::services::stats::Delta::resolved(on_time, seconds).with_fee(
            row.payment_status != PaymentStatus::None,
            matches!(
                row.payment_status,
                PaymentStatus::Paid | PaymentStatus::Refunded
            ),
        ),
    )
}

/// Whether any of the dossier's documents is a paper one scanned at the desk (every such
/// file arrives with the desk's registration or its receipt, so receipt is when it counts).
pub(super) fn has_digitised(conn: &mut PgConnection, dossier: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        attachments::table
            .filter(attachments::dossier_id.eq(dossier))
            .filter(attachments::digitised),
    ))
    .get_result(conn)
}

/// Queues the mail an action owes the applicant, in the action's transaction.
#[allow(clippy::too_many_arguments)]
pub(super) fn notify_applicant(
    conn: &mut PgConnection,
    scope: &Scope,
    row: &Row,
    proc: &ProcedureFacts,
    req: &ActionRequest,
    to: Status,
    due: Option<NaiveDate>,
    seq: i32,
) -> QueryResult<()> {
    let template = match req.action {
        Action::Receive => TemplateKey::DossierReceived,
        Action::RequestSupplement => TemplateKey::SupplementRequested,
        Action::RequestCompletion => TemplateKey::CompletionRequested,
        Action::Refuse => TemplateKey::DossierRefused,
        Action::Return => TemplateKey::ResultReady,
        _ => return Ok(()),
    };
    let locale = Locale::parse(&row.locale).unwrap_or_default();
    let procedure_name = match locale {
        Locale::En => proc.name_en.clone().unwrap_or_else(|| proc.name_vi.clone()),
        Locale::Vi => proc.name_vi.clone(),
    };
    let outcome = match (row.status, locale) {
        (Status::Approved, Locale::Vi) => "chấp thuận",
        (Status::Approved, Locale::En) => "approved",
        (_, Locale::Vi) => "từ chối",
        (_, Locale::En) => "rejected",
    };
    let payload = serde_json::json!({
        "applicant_name": row.applicant_name,
        "dossier_code": row.code,
        "procedure_name": procedure_name,
        "due_date": due.map(|d| match locale {
            Locale::Vi => d.format("%d/%m/%Y").to_string(),
            Locale::En => d.format("%Y-%m-%d").to_string(),
        }),
        "missing": req.missing,
        "note": req.note,
        "reason": req.note,
        "outcome": outcome,
        // A `partial` procedure hands the result over at the office.
        "pickup": (!proc.online_full).then_some(true),
        "link": scope.dossier_link(&row.code),
        "status": to,
    });
    notify(
        conn,
        scope,
        &crate::notify::Notice {
            tenant_id: scope.tenant_id,
            template,
            locale,
            account: row.applicant_id,
            email: row.applicant_email.as_deref(),
            phone: row.applicant_phone.as_deref(),
            payload,
            key: format!("dossier:{}:{seq}", row.id),
        },
    )?;
    Ok(())
}
