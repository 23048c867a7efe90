//! Dossier storage. Every function takes a connection already scoped to one tenant by
//! [`crate::db::TenantDb`] (tenant tables unqualified) and runs inside its transaction; shared
//! tables (`platform.…`) are reached schema-qualified.

use super::code::{DossierCode, lookup_hash};
use super::workflow::{self, Action, Actor, DecideRole, Status, WorkflowError};
use super::{
    ActionRequest, AttachmentInfo, BulkOutcome, BulkResult, Caller, DossierDetail, DossierSummary,
    EventView, MyDossier, NewDossier, PublicStatus, Scope, StoredFile, TimelineStep,
};
use crate::db::schema::tenant::{
    attachments, dossier_events, dossier_sequences, dossiers, feedback, procedures,
};
use crate::db::schema::{accounts, dossier_index, memberships};
use crate::error::AppError;
use crate::locale::Locale;
use crate::mail::outbox::{self, NewMail};
use crate::mail::{Email, TemplateKey};
use crate::services::calendar::{self, Calendar};
use crate::services::payments::{IntentStatus, PaymentStatus};
use crate::services::stats::{self, Delta};
use crate::services::sync;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

/// A dossier row as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dossiers)]
struct Row {
    id: Uuid,
    code: String,
    procedure_code: String,
    applicant_id: Option<Uuid>,
    applicant_name: String,
    applicant_email: Option<String>,
    locale: String,
    channel: String,
    form_data: serde_json::Value,
    fee_vnd: i64,
    status: Status,
    version: i32,
    assignee_id: Option<Uuid>,
    submitted_at: DateTime<Utc>,
    received_at: Option<DateTime<Utc>>,
    due_date: Option<NaiveDate>,
    paused_on: Option<NaiveDate>,
    missing: serde_json::Value,
    resolved_at: Option<DateTime<Utc>>,
    result_note: Option<String>,
    payment_status: PaymentStatus,
}

impl Row {
    fn summary(
        &self,
        procedure_name: String,
        today: NaiveDate,
        due_soon_days: u32,
    ) -> DossierSummary {
        let status = self.status;
        // While the clock is paused for a supplement, the dossier is judged as of the pause.
        let today = self.paused_on.map_or(today, |p| p.min(today));
        DossierSummary {
            code: self.code.clone(),
            procedure_code: self.procedure_code.clone(),
            procedure_name,
            status,
            status_label: status.label_vi(),
            status_label_en: status.label_en(),
            submitted_at: self.submitted_at,
            received_at: self.received_at,
            due_date: self.due_date,
            timeliness: timeliness(
                status,
                self.due_date,
                self.resolved_at,
                today,
                due_soon_days,
            ),
            assignee_id: self.assignee_id,
            version: self.version,
        }
    }
}

fn timeliness(
    status: Status,
    due: Option<NaiveDate>,
    resolved_at: Option<DateTime<Utc>>,
    today: NaiveDate,
    due_soon_days: u32,
) -> Option<calendar::Timeliness> {
    let due = due?;
    if status == Status::Withdrawn {
        return None;
    }
    Some(calendar::timeliness(
        Calendar::vietnam(),
        due,
        today,
        resolved_at.map(calendar::local_date),
        due_soon_days,
    ))
}

/// The procedure facts a dossier transaction needs.
struct ProcedureFacts {
    field_code: String,
    fee_rule: String,
    pay_before_processing: bool,
    name_vi: String,
    name_en: Option<String>,
    processing_days: i32,
    fee_vnd: i64,
    decide_role: DecideRole,
    online_full: bool,
}

fn procedure_facts(conn: &mut PgConnection, code: &str) -> Result<ProcedureFacts, AppError> {
    type Facts = (
        String,
        String,
        Option<String>,
        i32,
        i64,
        String,
        String,
        String,
        bool,
    );
    let (
        field_code,
        name_vi,
        name_en,
        processing_days,
        fee_vnd,
        decide,
        level,
        fee_rule,
        pay_first,
    ): Facts = procedures::table
        .filter(procedures::code.eq(code))
        .select((
            procedures::field_code,
            procedures::name_vi,
            procedures::name_en,
            procedures::processing_days,
            procedures::fee_vnd,
            procedures::decide_role,
            procedures::online_level,
            procedures::fee_rule,
            procedures::pay_before_processing,
        ))
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound { what: "procedure" })?;
    Ok(ProcedureFacts {
        field_code,
        fee_rule,
        pay_before_processing: pay_first,
        name_vi,
        name_en,
        processing_days,
        fee_vnd,
        decide_role: DecideRole::parse(&decide).unwrap_or(DecideRole::Leader),
        online_full: level == "full",
    })
}

/// Next number of the local day, safe under concurrency: the upsert takes the row lock, so
/// two submissions never read the same value.
fn next_sequence(conn: &mut PgConnection, day: NaiveDate) -> QueryResult<i32> {
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

fn insert_files(
    conn: &mut PgConnection,
    dossier: Uuid,
    by: Uuid,
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
                attachments::uploaded_by.eq(Some(by)),
            )
        })
        .collect();
    diesel::insert_into(attachments::table)
        .values(rows)
        .execute(conn)
        .map(drop)
}

/// An event as recorded, for sync.
struct Recorded<'a> {
    dossier: Uuid,
    code: &'a str,
    procedure_code: &'a str,
    seq: i32,
    from: Option<Status>,
    to: Status,
    at: DateTime<Utc>,
    submitted_at: DateTime<Utc>,
    due_date: Option<NaiveDate>,
}

#[allow(clippy::too_many_arguments)]
fn record_event(
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
    diesel::update(
        dossier_index::table
            .filter(dossier_index::tenant_id.eq(scope.tenant_id))
            .filter(dossier_index::dossier_id.eq(ev.dossier)),
    )
    .set((
        dossier_index::status.eq(ev.to),
        dossier_index::updated_at.eq(ev.at),
    ))
    .execute(conn)
    .map(drop)
}

/// Records a validated submission: the dossier with its code, files, first event, the
/// account's cross-tenant index row and the sync event, in the caller's transaction.
pub fn submit(
    conn: &mut PgConnection,
    scope: &Scope,
    new: &NewDossier,
) -> Result<DossierSummary, AppError> {
    let proc = procedure_facts(conn, &new.procedure_code)?;
    let (full_name, email, locale): (String, String, String) = accounts::table
        .find(new.applicant)
        .select((accounts::full_name, accounts::email, accounts::locale))
        .first(conn)
        .optional()?
        .ok_or(AppError::Unauthorized)?;
    let fee = crate::services::payments::FeeRule::parse(&proc.fee_rule)
        .map_err(|e| AppError::internal(anyhow::anyhow!(e)))?
        .fee(proc.fee_vnd, &new.form_data);
    let now = Utc::now();
    let today = calendar::local_date(now);
    let seq = next_sequence(conn, today)?;
    let code = DossierCode::new(&scope.tenant_code, today, seq as u32);
    let id = Uuid::new_v4();
    diesel::insert_into(dossiers::table)
        .values((
            dossiers::id.eq(id),
            dossiers::code.eq(code.as_str()),
            dossiers::procedure_code.eq(&new.procedure_code),
            dossiers::applicant_id.eq(Some(new.applicant)),
            dossiers::applicant_name.eq(&full_name),
            dossiers::applicant_email.eq(Some(&email)),
            dossiers::locale.eq(&locale),
            dossiers::lookup_hash.eq(lookup_hash(&code, &new.phone_digits)),
            dossiers::channel.eq("online"),
            dossiers::form_data.eq(&new.form_data),
            dossiers::fee_vnd.eq(fee),
            dossiers::payment_status.eq(PaymentStatus::for_fee(fee)),
            dossiers::status.eq(Status::Submitted),
            dossiers::submitted_at.eq(now),
            dossiers::updated_at.eq(now),
        ))
        .execute(conn)?;
    insert_files(conn, id, new.applicant, &new.files)?;
    diesel::insert_into(dossier_index::table)
        .values((
            dossier_index::tenant_id.eq(scope.tenant_id),
            dossier_index::dossier_id.eq(id),
            dossier_index::account_id.eq(new.applicant),
            dossier_index::code.eq(code.as_str()),
            dossier_index::procedure_code.eq(&new.procedure_code),
            dossier_index::procedure_name.eq(&proc.name_vi),
            dossier_index::status.eq(Status::Submitted),
            dossier_index::submitted_at.eq(now),
            dossier_index::updated_at.eq(now),
        ))
        .execute(conn)?;
    record_event(
        conn,
        scope,
        &Recorded {
            dossier: id,
            code: code.as_str(),
            procedure_code: &new.procedure_code,
            seq: 1,
            from: None,
            to: Status::Submitted,
            at: now,
            submitted_at: now,
            due_date: None,
        },
        Some(new.applicant),
        "applicant",
        None,
        serde_json::json!({ "files": new.files.len() }),
    )?;
    if fee > 0
        && let Ok(recipient) = Email::parse(&email)
    {
        // The fee is due: tell the applicant how much, and where to pay.
        let locale = Locale::parse(&locale).unwrap_or_default();
        outbox::enqueue(
            conn,
            &NewMail {
                tenant_id: Some(scope.tenant_id),
                template: TemplateKey::PaymentDue,
                locale,
                recipient,
                payload: serde_json::json!({
                    "applicant_name": full_name,
                    "dossier_code": code.as_str(),
                    "procedure_name": match locale {
                        Locale::En => proc.name_en.clone().unwrap_or_else(|| proc.name_vi.clone()),
                        Locale::Vi => proc.name_vi.clone(),
                    },
                    "amount": crate::services::payments::format_vnd(fee),
                    "link": scope.dossier_link(code.as_str()),
                }),
                idempotency_key: format!("dossier:{id}:fee"),
            },
        )?;
    }
    Ok(DossierSummary {
        code: code.to_string(),
        procedure_code: new.procedure_code.clone(),
        procedure_name: proc.name_vi,
        status: Status::Submitted,
        status_label: Status::Submitted.label_vi(),
        status_label_en: Status::Submitted.label_en(),
        submitted_at: now,
        received_at: None,
        due_date: None,
        timeliness: None,
        assignee_id: None,
        version: 1,
    })
}

fn load_row(conn: &mut PgConnection, code: &DossierCode) -> Result<Option<Row>, AppError> {
    Ok(dossiers::table
        .filter(dossiers::code.eq(code.as_str()))
        .select(Row::as_select())
        .first(conn)
        .optional()?)
}

/// The dossier if the caller may see it: its applicant, or an officer or leader of the tenant.
/// Anyone else gets "not found", so codes cannot be probed.
fn visible_row(
    conn: &mut PgConnection,
    code: &DossierCode,
    caller: &Caller,
) -> Result<(Row, Actor), AppError> {
    let row = load_row(conn, code)?.ok_or(AppError::NotFound { what: "dossier" })?;
    let actor = Actor {
        is_applicant: row.applicant_id == Some(caller.account),
        officer: caller.officer,
        leader: caller.leader,
    };
    if actor.is_applicant || actor.officer || actor.leader {
        Ok((row, actor))
    } else {
        Err(AppError::NotFound { what: "dossier" })
    }
}

/// The procedure of a dossier the caller may see.
pub fn procedure_of(
    conn: &mut PgConnection,
    code: &DossierCode,
    caller: &Caller,
) -> Result<String, AppError> {
    Ok(visible_row(conn, code, caller)?.0.procedure_code)
}

/// One dossier with its files, history and the actions the caller may take.
pub fn detail(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    caller: &Caller,
) -> Result<DossierDetail, AppError> {
    let (row, actor) = visible_row(conn, code, caller)?;
    let proc = procedure_facts(conn, &row.procedure_code)?;
    let today = calendar::local_date(Utc::now());
    let files = attachments::table
        .filter(attachments::dossier_id.eq(row.id))
        .order((
            attachments::document_index.asc(),
            attachments::created_at.asc(),
        ))
        .select((
            attachments::id,
            attachments::document_index,
            attachments::file_name,
            attachments::media_type,
            attachments::size_bytes,
            attachments::sha256,
        ))
        .load::<(Uuid, Option<i32>, String, String, i64, String)>(conn)?
        .into_iter()
        .map(
            |(id, document_index, file_name, media_type, size_bytes, sha256)| AttachmentInfo {
                id,
                document_index,
                file_name,
                media_type,
                size_bytes,
                sha256,
            },
        )
        .collect();
    let events = events(conn, row.id)?;
    let rating = feedback::table
        .find(row.id)
        .select(feedback::rating)
        .first::<i16>(conn)
        .optional()?;
    let status = row.status;
    Ok(DossierDetail {
        summary: row.summary(proc.name_vi, today, scope.due_soon_days),
        applicant_name: row.applicant_name.clone(),
        channel: row.channel.clone(),
        fee_vnd: row.fee_vnd,
        form_data: row.form_data.clone(),
        missing: serde_json::from_value(row.missing.clone()).unwrap_or_default(),
        result_note: row.result_note.clone(),
        attachments: files,
        events,
        actions: workflow::available(status, actor, proc.decide_role),
        rating,
        payment_status: row.payment_status,
        payments: crate::services::payments::store::for_dossier(conn, row.id)?,
    })
}

fn events(conn: &mut PgConnection, dossier: Uuid) -> Result<Vec<EventView>, AppError> {
    let rows = dossier_events::table
        .filter(dossier_events::dossier_id.eq(dossier))
        .order(dossier_events::seq)
        .select((
            dossier_events::seq,
            dossier_events::at,
            dossier_events::from_status,
            dossier_events::to_status,
            dossier_events::actor_role,
            dossier_events::note,
            dossier_events::details,
        ))
        .load::<(
            i32,
            DateTime<Utc>,
            Option<Status>,
            Status,
            String,
            Option<String>,
            serde_json::Value,
        )>(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(seq, at, from_status, to_status, actor_role, note, details)| EventView {
                seq,
                at,
                from_status,
                to_status,
                actor_role,
                note,
                details,
            },
        )
        .collect())
}

/// Applies one workflow action with optimistic concurrency, and everything it causes.
pub fn act(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    caller: &Caller,
    req: &ActionRequest,
) -> Result<DossierSummary, AppError> {
    let (row, actor) = visible_row(conn, code, caller)?;
    let proc = procedure_facts(conn, &row.procedure_code)?;
    let from = row.status;
    let to =
        workflow::transition(from, req.action, actor, proc.decide_role).map_err(|e| match e {
            WorkflowError::WrongRole { .. } => AppError::Forbidden,
            WorkflowError::NotFrom { .. } => AppError::Conflict {
                code: "invalid_transition",
                detail: e.to_string(),
            },
        })?;
    if row.version != req.version {
        return Err(stale(row.version));
    }
    if req.action == Action::Receive
        && proc.online_full
        && proc.pay_before_processing
        && row.payment_status == PaymentStatus::Due
    {
        return Err(AppError::Conflict {
            code: "payment_required",
            detail: "the fee of this fully online dossier is not paid yet".into(),
        });
    }
    if req.action == Action::RequestSupplement && req.missing.is_empty() {
        return Err(AppError::bad_request(
            "missing_items_required",
            "missing: list what the applicant must supplement",
        ));
    }
    let now = Utc::now();
    let today = calendar::local_date(now);
    let cal = Calendar::vietnam();
    let mut change = Change {
        version: row.version + 1,
        updated_at: now,
        ..Default::default()
    };
    let mut details = serde_json::json!({});
    match req.action {
        Action::Receive => {
            let due = calendar::due_date(cal, today, proc.processing_days.max(0) as u32);
            change.received_at = Some(Some(now));
            change.due_date = Some(Some(due));
            if row.assignee_id.is_none() {
                change.assignee_id = Some(Some(caller.account));
            }
            details = serde_json::json!({ "due_date": due });
        }
        Action::RequestSupplement => {
            change.paused_on = Some(Some(today));
            change.missing = Some(serde_json::json!(req.missing));
            details = serde_json::json!({ "missing": req.missing });
        }
        Action::Resubmit => {
            if let (Some(due), Some(paused)) = (row.due_date, row.paused_on) {
                let extended = calendar::extend_for_pause(cal, due, paused, today);
                change.due_date = Some(Some(extended));
                details = serde_json::json!({ "due_date": extended, "files": req.files.len() });
            }
            change.paused_on = Some(None);
            change.missing = Some(serde_json::json!([]));
            change.form_data = req.form_data.clone();
            if let Some(form) = &req.form_data {
                refigure_fee(conn, &proc, &row, form, &mut change)?;
            }
        }
        Action::Approve | Action::Reject => {
            change.resolved_at = Some(Some(now));
            change.result_note = req.note.clone().map(Some);
        }
        Action::Return => change.returned_at = Some(Some(now)),
        Action::StartReview | Action::Withdraw => {}
    }
    let updated = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(row.id))
            .filter(dossiers::version.eq(req.version)),
    )
    .set((dossiers::status.eq(to), &change))
    .execute(conn)?;
    if updated == 0 {
        // Someone else acted between our read and our write.
        return Err(stale(req.version + 1));
    }
    insert_files(conn, row.id, caller.account, &req.files)?;
    let due_date = change.due_date.unwrap_or(row.due_date);
    record_event(
        conn,
        scope,
        &Recorded {
            dossier: row.id,
            code: &row.code,
            procedure_code: &row.procedure_code,
            seq: change.version,
            from: Some(from),
            to,
            at: now,
            submitted_at: row.submitted_at,
            due_date,
        },
        Some(caller.account),
        actor.recorded_role(req.action),
        req.note.as_deref(),
        details,
    )?;
    let key = stats::Key {
        tenant: scope.tenant_id,
        day: today,
        procedure: &row.procedure_code,
        field: &proc.field_code,
    };
    match req.action {
        Action::Receive => stats::record(conn, key, Delta::received(row.channel == "online"))?,
        Action::Approve | Action::Reject => {
            let on_time = row.due_date.is_none_or(|d| today <= d);
            let seconds = row
                .received_at
                .map_or(0, |r| (now - r).num_seconds().max(0));
            stats::record(conn, key, Delta::resolved(on_time, seconds))?;
        }
        _ => {}
    }
    notify_applicant(conn, scope, &row, &proc, req, to, due_date, change.version)?;
    let mut updated_row = row.clone();
    updated_row.status = to;
    updated_row.version = change.version;
    updated_row.due_date = due_date;
    if let Some(a) = change.assignee_id {
        updated_row.assignee_id = a;
    }
    if let Some(r) = change.received_at {
        updated_row.received_at = r;
    }
    if let Some(r) = change.resolved_at {
        updated_row.resolved_at = r;
    }
    Ok(updated_row.summary(proc.name_vi, today, scope.due_soon_days))
}

fn stale(current: i32) -> AppError {
    AppError::Conflict {
        code: "version_conflict",
        detail: format!(
            "the dossier was changed by someone else (now at version {current}); reload it"
        ),
    }
}

/// What an action changes besides the status (set with it).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = dossiers)]
struct Change {
    version: i32,
    updated_at: DateTime<Utc>,
    received_at: Option<Option<DateTime<Utc>>>,
    due_date: Option<Option<NaiveDate>>,
    paused_on: Option<Option<NaiveDate>>,
    missing: Option<serde_json::Value>,
    form_data: Option<serde_json::Value>,
    assignee_id: Option<Option<Uuid>>,
    resolved_at: Option<Option<DateTime<Utc>>>,
    returned_at: Option<Option<DateTime<Utc>>>,
    result_note: Option<Option<String>>,
    fee_vnd: Option<i64>,
    payment_status: Option<PaymentStatus>,
}

/// New form data may change the fee (a listed worker more, another category). Unpaid, the
/// fee follows the data and any open payment intent is cancelled; once paid, a change is
/// refused — an officer settles the difference.
fn refigure_fee(
    conn: &mut PgConnection,
    proc: &ProcedureFacts,
    row: &Row,
    form: &serde_json::Value,
    change: &mut Change,
) -> Result<(), AppError> {
    let fee = crate::services::payments::FeeRule::parse(&proc.fee_rule)
        .map_err(|e| AppError::internal(anyhow::anyhow!(e)))?
        .fee(proc.fee_vnd, form);
    if fee == row.fee_vnd {
        return Ok(());
    }
    if matches!(
        row.payment_status,
        PaymentStatus::Paid | PaymentStatus::Refunded
    ) {
        return Err(AppError::Conflict {
            code: "fee_changed",
            detail: format!(
                "the new data changes the fee from {} to {} đồng after it was paid",
                row.fee_vnd, fee
            ),
        });
    }
    use crate::db::schema::tenant::payments;
    diesel::update(
        payments::table
            .filter(payments::dossier_id.eq(row.id))
            .filter(payments::status.eq(IntentStatus::Pending)),
    )
    .set((
        payments::status.eq(IntentStatus::Cancelled),
        payments::response_code.eq("fee_changed"),
    ))
    .execute(conn)?;
    change.fee_vnd = Some(fee);
    change.payment_status = Some(PaymentStatus::for_fee(fee));
    Ok(())
}

/// Queues the mail an action owes the applicant, in the action's transaction.
#[allow(clippy::too_many_arguments)]
fn notify_applicant(
    conn: &mut PgConnection,
    scope: &Scope,
    row: &Row,
    proc: &ProcedureFacts,
    req: &ActionRequest,
    to: Status,
    due: Option<NaiveDate>,
    seq: i32,
) -> Result<(), AppError> {
    let template = match req.action {
        Action::Receive => TemplateKey::DossierReceived,
        Action::RequestSupplement => TemplateKey::SupplementRequested,
        Action::Return => TemplateKey::ResultReady,
        _ => return Ok(()),
    };
    let Some(recipient) = row
        .applicant_email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
    else {
        return Ok(());
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
        "outcome": outcome,
        // A `partial` procedure hands the result over at the office.
        "pickup": (!proc.online_full).then_some(true),
        "link": scope.dossier_link(&row.code),
        "status": to,
    });
    outbox::enqueue(
        conn,
        &NewMail {
            tenant_id: Some(scope.tenant_id),
            template,
            locale,
            recipient,
            payload,
            idempotency_key: format!("dossier:{}:{seq}", row.id),
        },
    )?;
    Ok(())
}

/// Assigns a dossier to an officer of this tenant.
pub fn assign(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    caller: &Caller,
    assignee: Uuid,
    version: Option<i32>,
) -> Result<DossierSummary, AppError> {
    if !(caller.officer || caller.leader) {
        return Err(AppError::Forbidden);
    }
    let is_officer: bool = diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::account_id.eq(assignee))
            .filter(memberships::tenant_id.eq(scope.tenant_id))
            .filter(memberships::role.eq("officer")),
    ))
    .get_result(conn)?;
    if !is_officer {
        return Err(AppError::bad_request(
            "assignee_not_officer",
            "assignee: not an officer of this tenant",
        ));
    }
    let (row, _) = visible_row(conn, code, caller)?;
    let status = row.status;
    if !status.is_open() {
        return Err(AppError::Conflict {
            code: "invalid_transition",
            detail: format!("a `{}` dossier cannot be assigned", status.as_str()),
        });
    }
    let expected = version.unwrap_or(row.version);
    let now = Utc::now();
    let updated = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(row.id))
            .filter(dossiers::version.eq(expected)),
    )
    .set((
        dossiers::assignee_id.eq(Some(assignee)),
        dossiers::version.eq(expected + 1),
        dossiers::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(stale(row.version));
    }
    record_event(
        conn,
        scope,
        &Recorded {
            dossier: row.id,
            code: &row.code,
            procedure_code: &row.procedure_code,
            seq: expected + 1,
            from: Some(status),
            to: status,
            at: now,
            submitted_at: row.submitted_at,
            due_date: row.due_date,
        },
        Some(caller.account),
        if caller.leader { "leader" } else { "officer" },
        None,
        serde_json::json!({ "assignee": assignee }),
    )?;
    let mut r = row;
    r.assignee_id = Some(assignee);
    r.version = expected + 1;
    let name = procedure_facts(conn, &r.procedure_code)?.name_vi;
    Ok(r.summary(name, calendar::local_date(now), scope.due_soon_days))
}

/// Receives or assigns many dossiers; each one succeeds or fails on its own (a savepoint
/// each), and the answer says which.
pub fn bulk(
    conn: &mut PgConnection,
    scope: &Scope,
    caller: &Caller,
    codes: &[DossierCode],
    action: BulkAction,
) -> Result<Vec<BulkResult>, AppError> {
    let mut out = Vec::with_capacity(codes.len());
    for code in codes {
        let result = conn.transaction(|conn| match action {
            BulkAction::Receive => {
                let version = load_row(conn, code)?
                    .ok_or(AppError::NotFound { what: "dossier" })?
                    .version;
                act(
                    conn,
                    scope,
                    code,
                    caller,
                    &ActionRequest {
                        action: Action::Receive,
                        version,
                        note: None,
                        missing: vec![],
                        form_data: None,
                        files: vec![],
                    },
                )
            }
            BulkAction::Assign(to) => assign(conn, scope, code, caller, to, None),
        });
        let (outcome, detail) = match result {
            Ok(_) => (BulkOutcome::Done, None),
            Err(AppError::NotFound { .. }) => (BulkOutcome::NotFound, None),
            Err(AppError::Forbidden) => (BulkOutcome::Forbidden, None),
            Err(e @ (AppError::Conflict { .. } | AppError::BadRequest { .. })) => {
                (BulkOutcome::Conflict, Some(e.to_string()))
            }
            Err(e) => return Err(e),
        };
        out.push(BulkResult {
            code: code.to_string(),
            outcome,
            detail,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
pub enum BulkAction {
    Receive,
    Assign(Uuid),
}

/// Statuses officers still owe work on.
fn open_statuses() -> Vec<Status> {
    Status::ALL.into_iter().filter(|s| s.is_open()).collect()
}

/// Summaries of loaded rows with their procedure names, judged as of today.
fn summaries(rows: Vec<(Row, String)>, scope: &Scope) -> Vec<DossierSummary> {
    let today = calendar::local_date(Utc::now());
    rows.into_iter()
        .map(|(r, name)| r.summary(name, today, scope.due_soon_days))
        .collect()
}

/// Filters of the officers' inbox.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub status: Option<Status>,
    pub assignee: Option<Uuid>,
    pub procedure: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Open dossiers, overdue (earliest due date) first, then those awaiting receipt.
pub fn inbox(
    conn: &mut PgConnection,
    scope: &Scope,
    filter: &InboxFilter,
) -> Result<Vec<DossierSummary>, AppError> {
    let open = open_statuses();
    let mut q = dossiers::table
        .inner_join(procedures::table)
        .filter(dossiers::status.eq_any(open))
        .into_boxed();
    if let Some(s) = filter.status {
        q = q.filter(dossiers::status.eq(s));
    }
    if let Some(a) = filter.assignee {
        q = q.filter(dossiers::assignee_id.eq(a));
    }
    if let Some(p) = &filter.procedure {
        q = q.filter(dossiers::procedure_code.eq(p.clone()));
    }
    let rows: Vec<(Row, String)> = q
        .order((
            dossiers::due_date.asc().nulls_last(),
            dossiers::submitted_at.asc(),
        ))
        .limit(filter.limit)
        .offset(filter.offset)
        .select((Row::as_select(), procedures::name_vi))
        .load(conn)?;
    Ok(summaries(rows, scope))
}

/// The caller's own dossiers in this tenant, newest first.
pub fn mine(
    conn: &mut PgConnection,
    scope: &Scope,
    account: Uuid,
) -> Result<Vec<DossierSummary>, AppError> {
    let rows: Vec<(Row, String)> = dossiers::table
        .inner_join(procedures::table)
        .filter(dossiers::applicant_id.eq(account))
        .order(dossiers::submitted_at.desc())
        .limit(200)
        .select((Row::as_select(), procedures::name_vi))
        .load(conn)?;
    Ok(summaries(rows, scope))
}

/// A citizen's dossiers in every tenant (shared index; no tenant schema is touched).
pub fn across_tenants(
    conn: &mut PgConnection,
    account: Uuid,
) -> Result<Vec<(Uuid, MyDossier)>, AppError> {
    let rows = dossier_index::table
        .filter(dossier_index::account_id.eq(account))
        .order(dossier_index::submitted_at.desc())
        .limit(500)
        .select((
            dossier_index::tenant_id,
            dossier_index::code,
            dossier_index::procedure_code,
            dossier_index::procedure_name,
            dossier_index::status,
            dossier_index::submitted_at,
            dossier_index::updated_at,
        ))
        // The status is read as text: this list spans every tenant, so a row this release
        // cannot name (written by a newer one) is left out instead of failing the whole list.
        .load::<(
            Uuid,
            String,
            String,
            String,
            String,
            DateTime<Utc>,
            DateTime<Utc>,
        )>(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(t, code, pc, pn, st, sub, upd)| {
            let status = Status::parse(&st)?;
            Some((
                t,
                MyDossier {
                    tenant: String::new(),
                    code,
                    procedure_code: pc,
                    procedure_name: pn,
                    status,
                    status_label: status.label_vi(),
                    submitted_at: sub,
                    updated_at: upd,
                },
            ))
        })
        .collect())
}

/// Bytes of every attachment this tenant keeps (its plan's storage quota).
pub fn storage_used(conn: &mut PgConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Used {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        bytes: i64,
    }
    // (The sum of a bigint is a numeric in PostgreSQL: cast back, the total fits.)
    diesel::sql_query("SELECT coalesce(sum(size_bytes), 0)::bigint AS bytes FROM attachments")
        .get_result::<Used>(conn)
        .map(|u| u.bytes)
}

/// Public status by code and the applicant's phone digits. A wrong phone looks exactly like
/// an unknown code.
pub fn lookup(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    phone_digits: &str,
) -> Result<PublicStatus, AppError> {
    let found: Option<(Row, Vec<u8>)> = dossiers::table
        .filter(dossiers::code.eq(code.as_str()))
        .select((Row::as_select(), dossiers::lookup_hash))
        .first(conn)
        .optional()?;
    let expected = lookup_hash(code, phone_digits);
    let row = match found {
        Some((row, hash)) if constant_time_eq(&hash, &expected) => row,
        _ => return Err(AppError::NotFound { what: "dossier" }),
    };
    let name = procedure_facts(conn, &row.procedure_code)?.name_vi;
    let status = row.status;
    let timeline = events(conn, row.id)?
        .into_iter()
        .filter(|e| e.from_status != Some(e.to_status))
        .map(|e| TimelineStep {
            status: e.to_status,
            at: e.at,
        })
        .collect();
    Ok(PublicStatus {
        code: row.code.clone(),
        procedure_name: name,
        status,
        status_label: status.label_vi(),
        status_label_en: status.label_en(),
        submitted_at: row.submitted_at,
        due_date: row.due_date,
        timeliness: timeliness(
            status,
            row.due_date,
            row.resolved_at,
            calendar::local_date(Utc::now()),
            scope.due_soon_days,
        ),
        timeline,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The applicant's rating of a returned dossier: once, 1–5.
pub fn rate(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    caller: &Caller,
    rating: i16,
    comment: Option<&str>,
) -> Result<(), AppError> {
    if !(1..=5).contains(&rating) {
        return Err(AppError::bad_request(
            "invalid_rating",
            "rating: from 1 to 5",
        ));
    }
    let row = load_row(conn, code)?
        .filter(|r| r.applicant_id == Some(caller.account))
        .ok_or(AppError::NotFound { what: "dossier" })?;
    if row.status != Status::Returned {
        return Err(AppError::Conflict {
            code: "not_returned",
            detail: "a dossier can be rated once its result is returned".into(),
        });
    }
    let inserted = diesel::insert_into(feedback::table)
        .values((
            feedback::dossier_id.eq(row.id),
            feedback::rating.eq(rating),
            feedback::comment.eq(comment),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if inserted == 0 {
        return Err(AppError::Conflict {
            code: "already_rated",
            detail: "this dossier has already been rated".into(),
        });
    }
    let field = procedure_facts(conn, &row.procedure_code)?.field_code;
    stats::record(
        conn,
        stats::Key {
            tenant: scope.tenant_id,
            day: calendar::local_date(Utc::now()),
            procedure: &row.procedure_code,
            field: &field,
        },
        Delta::rating(rating),
    )?;
    Ok(())
}

/// An attachment's storage key, if the caller may see the dossier it belongs to.
pub fn attachment(
    conn: &mut PgConnection,
    code: &DossierCode,
    caller: &Caller,
    id: Uuid,
) -> Result<(String, String, String), AppError> {
    let (row, _) = visible_row(conn, code, caller)?;
    attachments::table
        .filter(attachments::id.eq(id))
        .filter(attachments::dossier_id.eq(row.id))
        .select((
            attachments::storage_key,
            attachments::file_name,
            attachments::media_type,
        ))
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound { what: "attachment" })
}

/// Overdue open dossiers per assignee (None: not yet assigned), for the daily digest.
pub fn overdue_by_assignee(
    conn: &mut PgConnection,
    today: NaiveDate,
) -> QueryResult<Vec<(Option<Uuid>, i64)>> {
    use diesel::dsl::count_star;
    let open = open_statuses();
    dossiers::table
        .filter(dossiers::status.eq_any(open))
        .filter(dossiers::due_date.lt(today))
        .filter(dossiers::paused_on.is_null())
        .group_by(dossiers::assignee_id)
        .select((dossiers::assignee_id, count_star()))
        .load(conn)
}

/// Dossiers submitted and not yet received.
pub fn awaiting_receipt(conn: &mut PgConnection) -> QueryResult<i64> {
    dossiers::table
        .filter(dossiers::status.eq(Status::Submitted))
        .count()
        .get_result(conn)
}
