//! What writes: a submission, a workflow action (with its fee, statistics and mail), an
//! assignment, the bulk forms of both, and the applicant's rating. Each runs in the caller's
//! transaction and writes everything it causes there.

use super::effects::{
    Recorded, count, insert_files, next_sequence, notify, notify_applicant, record_event,
    record_resolved,
};
use super::{
    ProcedureFacts, Row, handover_of, load_row, procedure_facts, seen, visible_row, written,
};
use crate::db::schema::tenant::{dossiers, feedback};
use crate::db::schema::{accounts, memberships};
use crate::locale::Locale;
use crate::mail::TemplateKey;
use crate::services::calendar::{self, Calendar};
use crate::services::dossiers::code::{DossierCode, lookup_hash};
use crate::services::dossiers::error::{BadInput, Conflict, DossierError};
use crate::services::dossiers::workflow::{self, Action, Status};
use crate::services::dossiers::{
    ActionRequest, Applicant, BulkOutcome, BulkResult, Caller, DossierSummary, NewDossier, Scope,
};
use crate::services::payments::{IntentStatus, PaymentStatus};
use crate::services::relay::{self, SharedWrite};
use crate::services::stats::{self, Delta};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

/// Records a validated submission: the dossier with its code, files, first event, the
/// account's cross-tenant index row and the sync event, in the caller's transaction.
pub fn submit(
    conn: &mut PgConnection,
    scope: &Scope,
    new: &NewDossier,
    now: DateTime<Utc>,
) -> Result<DossierSummary, DossierError> {
    let proc = procedure_facts(conn, &new.procedure_code)?;
    let applicant = who_applies(conn, &new.applicant)?;
    let (full_name, email, locale) = (
        applicant.full_name.clone(),
        applicant.email.clone().unwrap_or_default(),
        applicant.locale.clone(),
    );
    let fee = crate::services::payments::FeeRule::parse(&proc.fee_rule)
        .map_err(DossierError::FeeRule)?
        .fee(proc.fee_vnd, &new.form_data);
    let today = calendar::local_date(now);
    let seq = next_sequence(conn, today)?;
    let code = DossierCode::new(&scope.code_prefix, today, seq as u32);
    let id = Uuid::new_v4();
    diesel::insert_into(dossiers::table)
        .values((
            dossiers::id.eq(id),
            dossiers::code.eq(code.as_str()),
            dossiers::procedure_code.eq(&new.procedure_code),
            dossiers::applicant_id.eq(applicant.account),
            dossiers::applicant_name.eq(&full_name),
            dossiers::applicant_email.eq(applicant.email.as_deref()),
            dossiers::applicant_id_number.eq(applicant.id_number.as_deref()),
            dossiers::applicant_phone.eq(&new.phone_digits),
            dossiers::locale.eq(&locale),
            dossiers::lookup_hash.eq(lookup_hash(&code, &new.phone_digits)),
            dossiers::channel.eq(new.channel),
            dossiers::form_data.eq(&new.form_data),
            dossiers::fee_vnd.eq(fee),
            dossiers::payment_status.eq(PaymentStatus::for_fee(fee)),
            dossiers::status.eq(Status::Submitted),
            dossiers::submitted_at.eq(now),
            dossiers::updated_at.eq(now),
        ))
        .execute(conn)?;
    crate::services::catalog::versions::pin(conn, id, &new.procedure_code)?;
    insert_files(conn, id, Some(applicant.acting), &new.files)?;
    // A desk applicant without an account is indexed under what lets them claim it later.
    let claim = applicant.account.is_none().then(|| {
        super::super::claim_hash(
            applicant.id_number.as_deref().unwrap_or(""),
            &new.phone_digits,
        )
    });
    relay::write(
        conn,
        scope.shared_writes,
        &SharedWrite::IndexEntry(relay::IndexEntry {
            tenant_id: scope.tenant_id,
            dossier_id: id,
            account_id: applicant.account,
            claim_hash: claim,
            claim_email: applicant
                .account
                .is_none()
                .then(|| applicant.email.clone())
                .flatten(),
            code: code.as_str().to_owned(),
            procedure_code: new.procedure_code.clone(),
            procedure_name: proc.name_vi.clone(),
            submitted_at: now,
        }),
    )?;
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
            origin_transfer: None,
            step_name: None,
        },
        Some(applicant.acting),
        applicant.role,
        None,
        serde_json::json!({ "files": new.files.len(), "channel": new.channel }),
    )?;
    if fee > 0 {
        // The fee is due: tell the applicant how much, and where to pay.
        let locale = Locale::parse(&locale).unwrap_or_default();
        notify(
            conn,
            scope,
            &crate::notify::Notice {
                tenant_id: scope.tenant_id,
                template: TemplateKey::PaymentDue,
                locale,
                account: applicant.account,
                email: Some(email.as_str()).filter(|e| !e.is_empty()),
                phone: Some(new.phone_digits.as_str()),
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
                key: format!("dossier:{id}:fee"),
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

/// The applicant of a new dossier as it will be recorded, and who is acting.
struct WhoApplies {
    account: Option<Uuid>,
    full_name: String,
    email: Option<String>,
    locale: String,
    id_number: Option<String>,
    /// Who the first event names: the applicant online, the officer at the desk.
    acting: Uuid,
    role: &'static str,
}

fn who_applies(conn: &mut PgConnection, applicant: &Applicant) -> Result<WhoApplies, DossierError> {
    match applicant {
        Applicant::Account(id) => {
            let (full_name, email, locale, citizen_id, tax_code): (
                String,
                String,
                String,
                Option<String>,
                Option<String>,
            ) = accounts::table
                .find(id)
                .select((
                    accounts::full_name,
                    accounts::email,
                    accounts::locale,
                    accounts::citizen_id,
                    accounts::tax_code,
                ))
                .first(conn)
                .optional()?
                .ok_or(DossierError::UnknownApplicant)?;
            Ok(WhoApplies {
                account: Some(*id),
                full_name,
                email: Some(email),
                locale,
                id_number: citizen_id.or(tax_code),
                acting: *id,
                role: "applicant",
            })
        }
        Applicant::AtDesk(d) => Ok(WhoApplies {
            account: None,
            full_name: d.full_name.clone(),
            email: d.email.as_ref().map(|e| e.as_str().to_owned()),
            locale: d.locale.as_str().to_owned(),
            id_number: Some(d.id_number.clone()),
            acting: d.officer,
            role: "officer",
        }),
    }
}

/// Applies one workflow action with optimistic concurrency, and everything it causes.
pub fn act(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    caller: &Caller,
    req: &ActionRequest,
    now: DateTime<Utc>,
) -> Result<DossierSummary, DossierError> {
    let (row, actor) = visible_row(conn, code, caller)?;
    let mut proc = procedure_facts(conn, &row.procedure_code)?;
    // A corrected form refigures the fee under the version the dossier was filed under.
    if req.form_data.is_some()
        && let Some((fee_vnd, fee_rule)) = crate::services::catalog::versions::fee_of(conn, row.id)?
    {
        proc.fee_vnd = fee_vnd;
        proc.fee_rule = fee_rule;
    }
    let from = row.status;
    let to = workflow::transition(from, req.action, actor, proc.decide_role)?;
    // Where a process is declared, the decision is taken at its step, by whoever holds it.
    if proc.process.is_some() && matches!(req.action, Action::Approve | Action::Reject) {
        return Err(Conflict::DecidedByProcess.into());
    }
    seen(&row, req.version)?;
    let handover = handover_of(conn, row.id)?;
    if handover.held_by.is_some() {
        return Err(Conflict::HeldElsewhere.into());
    }
    if req.action == Action::Receive
        && proc.online_full
        && proc.pay_before_processing
        && row.payment_status == PaymentStatus::Due
    {
        return Err(Conflict::PaymentRequired.into());
    }
    if matches!(
        req.action,
        Action::RequestSupplement | Action::RequestCompletion
    ) && req.missing.is_empty()
    {
        return Err(BadInput::MissingItems.into());
    }
    if req.action == Action::Refuse && req.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(BadInput::ReasonRequired.into());
    }
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
            if from == Status::Incomplete {
                // The papers the desk asked for were handed in: nothing is missing any more.
                change.missing = Some(serde_json::json!([]));
            }
            // A declared process starts at its first step, with that step's own due time.
            if let Some(first) = proc.process.as_ref().and_then(|p| p.steps.first()) {
                change.step = Some(Some(0));
                change.step_entered_at = Some(Some(now));
                change.step_due_at = Some(Some(crate::services::processes::step_due(
                    cal,
                    now,
                    first.budget,
                )));
            }
            details = serde_json::json!({ "due_date": due, "files": req.files.len() });
        }
        Action::RequestCompletion => {
            // Before receipt the clock has not started, so there is nothing to pause.
            change.missing = Some(serde_json::json!(req.missing));
            details = serde_json::json!({ "missing": req.missing });
        }
        Action::Complete => {
            change.missing = Some(serde_json::json!([]));
            change.form_data = req.form_data.clone();
            if let Some(form) = &req.form_data {
                refigure_fee(conn, &proc, &row, form, &mut change)?;
            }
            details = serde_json::json!({ "files": req.files.len() });
        }
        Action::Refuse => {
            change.refusal_reason = Some(req.note.clone());
            details = serde_json::json!({ "reason": req.note });
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
    written(updated, req.version + 1)?;
    insert_files(conn, row.id, Some(caller.account), &req.files)?;
    if req.action == Action::Receive {
        super::effects::keep_documents(conn, scope, &row, now)?;
    }
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
            origin_transfer: handover.origin_transfer,
            step_name: None,
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
        Action::Receive => {
            let digitised = super::effects::has_digitised(conn, row.id)?;
            count(
                conn,
                scope,
                &key,
                Delta::received(row.channel).digitised(digitised),
            )?;
        }
        Action::Approve | Action::Reject => {
            record_resolved(conn, scope, &row, &proc.field_code, now)?;
        }
        _ => {}
    }
    let mut updated_row = row.clone();
    updated_row.status = to;
    updated_row.version = change.version;
    // A supplement asked by the agency another one handed the dossier to reaches the applicant
    // too (they answer it on that agency's portal).
    notify_applicant(conn, scope, &row, &proc, req, to, due_date, change.version)?;
    // Another agency's dossier goes back there as soon as it is decided here.
    if handover.origin_transfer.is_some() && matches!(req.action, Action::Approve | Action::Reject)
    {
        updated_row.version = super::transfers::send_back(
            conn,
            scope,
            &updated_row,
            &handover,
            req.note.as_deref(),
            now,
        )?;
        updated_row.status = Status::Returned;
    }
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
    refusal_reason: Option<Option<String>>,
    step: Option<Option<i32>>,
    step_entered_at: Option<Option<DateTime<Utc>>>,
    step_due_at: Option<Option<DateTime<Utc>>>,
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
) -> Result<(), DossierError> {
    let fee = crate::services::payments::FeeRule::parse(&proc.fee_rule)
        .map_err(DossierError::FeeRule)?
        .fee(proc.fee_vnd, form);
    if fee == row.fee_vnd {
        return Ok(());
    }
    if matches!(
        row.payment_status,
        PaymentStatus::Paid | PaymentStatus::Refunded
    ) {
        return Err(Conflict::FeeChanged {
            from: row.fee_vnd,
            to: fee,
        }
        .into());
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

/// Assigns a dossier to an officer of this tenant.
pub fn assign(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    caller: &Caller,
    assignee: Uuid,
    version: Option<i32>,
    now: DateTime<Utc>,
) -> Result<DossierSummary, DossierError> {
    if !(caller.officer || caller.leader) {
        return Err(DossierError::Forbidden);
    }
    let is_officer: bool = diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::account_id.eq(assignee))
            .filter(memberships::tenant_id.eq(scope.tenant_id))
            .filter(memberships::role.eq("officer")),
    ))
    .get_result(conn)?;
    if !is_officer {
        return Err(BadInput::AssigneeNotOfficer.into());
    }
    let (row, _) = visible_row(conn, code, caller)?;
    let status = row.status;
    if !status.is_open() {
        return Err(Conflict::NotAssignable(status).into());
    }
    let expected = version.unwrap_or(row.version);
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
    written(updated, row.version)?;
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
            origin_transfer: None,
            step_name: None,
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
    now: DateTime<Utc>,
) -> Result<Vec<BulkResult>, DossierError> {
    let mut out = Vec::with_capacity(codes.len());
    for code in codes {
        let result = conn.transaction(|conn| match action {
            BulkAction::Receive => {
                let version = load_row(conn, code)?
                    .ok_or(DossierError::NotFound { what: "dossier" })?
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
                    now,
                )
            }
            BulkAction::Assign(to) => assign(conn, scope, code, caller, to, None, now),
        });
        let (outcome, detail) = match result {
            Ok(_) => (BulkOutcome::Done, None),
            // (So is a query that expected a row and found none.)
            Err(
                DossierError::NotFound { .. }
                | DossierError::Database(diesel::result::Error::NotFound),
            ) => (BulkOutcome::NotFound, None),
            Err(DossierError::Forbidden) => (BulkOutcome::Forbidden, None),
            Err(e @ (DossierError::Conflict(_) | DossierError::BadInput(_))) => {
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

/// The applicant's rating of a returned dossier: once, 1–5.
pub fn rate(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    caller: &Caller,
    rating: i16,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DossierError> {
    if !(1..=5).contains(&rating) {
        return Err(BadInput::Rating.into());
    }
    let row = load_row(conn, code)?
        .filter(|r| r.applicant_id == Some(caller.account))
        .ok_or(DossierError::NotFound { what: "dossier" })?;
    if row.status != Status::Returned {
        return Err(Conflict::NotReturned.into());
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
        return Err(Conflict::AlreadyRated.into());
    }
    let field = procedure_facts(conn, &row.procedure_code)?.field_code;
    count(
        conn,
        scope,
        &stats::Key {
            tenant: scope.tenant_id,
            day: calendar::local_date(now),
            procedure: &row.procedure_code,
            field: &field,
        },
        Delta::rating(rating),
    )?;
    Ok(())
}

/// Moves the appointment of a received dossier that will be (or already is) late, with the
/// reason: the apology slip (Phiếu xin lỗi và hẹn lại ngày trả kết quả) is made from the event
/// this writes, and the applicant is told by mail in the same transaction.
#[allow(clippy::too_many_arguments)]
pub fn extend(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    caller: &Caller,
    new_due: NaiveDate,
    reason: &str,
    version: i32,
    now: DateTime<Utc>,
) -> Result<DossierSummary, DossierError> {
    if !(caller.officer || caller.leader) {
        return Err(DossierError::Forbidden);
    }
    let (row, _) = visible_row(conn, code, caller)?;
    let status = row.status;
    let Some(old_due) = row
        .due_date
        .filter(|_| status.is_open() && !status.before_receipt())
    else {
        return Err(Conflict::NotExtendable(status).into());
    };
    if reason.trim().is_empty() {
        return Err(BadInput::ReasonRequired.into());
    }
    if new_due <= old_due || !Calendar::vietnam().is_working_day(new_due) {
        return Err(BadInput::NewDueDate { current: old_due }.into());
    }
    seen(&row, version)?;
    let updated = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(row.id))
            .filter(dossiers::version.eq(version)),
    )
    .set((
        dossiers::due_date.eq(Some(new_due)),
        dossiers::version.eq(version + 1),
        dossiers::updated_at.eq(now),
    ))
    .execute(conn)?;
    written(updated, version + 1)?;
    record_event(
        conn,
        scope,
        &Recorded {
            dossier: row.id,
            code: &row.code,
            procedure_code: &row.procedure_code,
            seq: version + 1,
            from: Some(status),
            to: status,
            at: now,
            submitted_at: row.submitted_at,
            due_date: Some(new_due),
            origin_transfer: None,
            step_name: None,
        },
        Some(caller.account),
        if caller.leader { "leader" } else { "officer" },
        Some(reason.trim()),
        serde_json::json!({ "extended": { "from": old_due, "to": new_due } }),
    )?;
    let proc = procedure_facts(conn, &row.procedure_code)?;
    let locale = Locale::parse(&row.locale).unwrap_or_default();
    let day = |d: NaiveDate| match locale {
        Locale::Vi => d.format("%d/%m/%Y").to_string(),
        Locale::En => d.format("%Y-%m-%d").to_string(),
    };
    notify(
        conn,
        scope,
        &crate::notify::Notice {
            tenant_id: scope.tenant_id,
            template: TemplateKey::DossierDelayed,
            locale,
            account: row.applicant_id,
            email: row.applicant_email.as_deref(),
            phone: row.applicant_phone.as_deref(),
            payload: serde_json::json!({
                "applicant_name": row.applicant_name,
                "dossier_code": row.code,
                "procedure_name": match locale {
                    Locale::En => proc.name_en.clone().unwrap_or_else(|| proc.name_vi.clone()),
                    Locale::Vi => proc.name_vi.clone(),
                },
                "old_due_date": day(old_due),
                "new_due_date": day(new_due),
                "reason": reason.trim(),
                "link": scope.dossier_link(&row.code),
            }),
            key: format!("dossier:{}:{}", row.id, version + 1),
        },
    )?;
    let mut r = row;
    r.due_date = Some(new_due);
    r.version = version + 1;
    Ok(r.summary(proc.name_vi, calendar::local_date(now), scope.due_soon_days))
}
