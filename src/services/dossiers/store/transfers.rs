//! Inter-agency dossiers in the dossier store: the sender hands a dossier over at a `transfer`
//! step ([`hand_over`], inside the step's transaction), the receiver takes it in as a received
//! dossier of its own with its own steps and due date ([`accept_transfer`]), sends the result
//! back when it has decided ([`send_back`]), and the sender moves on with that result
//! ([`accept_result`]). Each runs in one tenant's transaction; the shared transfer row is what
//! passes between them.

use super::effects::{Recorded, insert_files, record_event, record_resolved};
use super::steps::{StepChange, enter_step};
use super::{Handover, Row, handover_of, load_row, procedure_facts, set_held_by};
use crate::db::schema::tenant::{attachments, dossier_handovers, dossiers};
use crate::db::schema::tenants;
use crate::locale::Locale;
use crate::mail::outbox::{self, NewMail};
use crate::mail::{Email, TemplateKey};
use crate::services::calendar::{self, Calendar};
use crate::services::dossiers::error::{Conflict, DossierError};
use crate::services::dossiers::workflow::Status;
use crate::services::dossiers::{Scope, StoredFile};
use crate::services::payments::PaymentStatus;
use crate::services::processes::after_transfer;
use crate::services::stats::{self, Delta};
use crate::services::transfers::{
    self, DossierPayload, FileRef, Kind, NewTransfer, ResultOutcome, ResultPayload, Transfer,
};
use crate::tenancy::names::TenantSlug;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

/// Who acts in the events a transfer records: another agency, not a person of this one.
const AGENCY: &str = "agency";

/// The tenant a transfer goes to, as the shared registry has it now.
pub(super) struct Receiver {
    pub(super) id: Uuid,
    pub(super) name_vi: String,
    pub(super) name_en: Option<String>,
}

/// The receiving tenant named by a step, if it is registered and active.
pub(super) fn receiver(
    conn: &mut PgConnection,
    slug: &TenantSlug,
) -> Result<Receiver, DossierError> {
    let found: Option<(Uuid, String, String, Option<String>)> = tenants::table
        .filter(tenants::slug.eq(slug.as_str()))
        .select((
            tenants::id,
            tenants::status,
            tenants::name_vi,
            tenants::name_en,
        ))
        .first(conn)
        .optional()?;
    match found {
        Some((id, status, name_vi, name_en)) if status == "active" => Ok(Receiver {
            id,
            name_vi,
            name_en,
        }),
        Some(_) => Err(Conflict::TransferRefused(format!("`{slug}` is not active")).into()),
        None => Err(Conflict::TransferRefused(format!("`{slug}` is not a tenant")).into()),
    }
}

/// Queues the dossier for `to` with what it needs to decide it, and tells the applicant
/// where it went. The caller has marked the row held by `to` in the same transaction.
pub(super) fn hand_over(
    conn: &mut PgConnection,
    scope: &Scope,
    row: &Row,
    procedure_name: (&str, Option<&str>),
    to: &Receiver,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Uuid, DossierError> {
    let files = attachments::table
        .filter(attachments::dossier_id.eq(row.id))
        .order(attachments::created_at)
        .select((
            attachments::document_index,
            attachments::file_name,
            attachments::media_type,
            attachments::size_bytes,
            attachments::sha256,
            attachments::storage_key,
        ))
        .load::<(Option<i32>, String, String, i64, String, String)>(conn)?
        .into_iter()
        .map(
            |(document_index, file_name, media_type, size_bytes, sha256, storage_key)| FileRef {
                document_index,
                file_name,
                media_type,
                size_bytes,
                sha256,
                storage_key,
            },
        )
        .collect();
    let lookup: Vec<u8> = dossiers::table
        .find(row.id)
        .select(dossiers::lookup_hash)
        .first(conn)?;
    let payload = DossierPayload {
        applicant_id: row.applicant_id,
        applicant_name: row.applicant_name.clone(),
        applicant_email: row.applicant_email.clone(),
        applicant_id_number: row.applicant_id_number.clone(),
        applicant_phone: row.applicant_phone.clone(),
        locale: row.locale.clone(),
        channel: row.channel,
        form_data: row.form_data.clone(),
        lookup_hash: base64::engine::general_purpose::STANDARD.encode(lookup),
        submitted_at: row.submitted_at,
        files,
        note: note.map(str::to_owned),
    };
    let id = transfers::store::queue(
        conn,
        &NewTransfer {
            kind: Kind::Dossier,
            answers: None,
            dossier_code: &row.code,
            procedure_code: &row.procedure_code,
            from_tenant: scope.tenant_id,
            to_tenant: to.id,
            payload: serde_json::to_value(&payload).map_err(|e| {
                DossierError::Database(diesel::result::Error::SerializationError(Box::new(e)))
            })?,
        },
        now,
    )?;
    if let Some(recipient) = row
        .applicant_email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
    {
        let locale = Locale::parse(&row.locale).unwrap_or_default();
        let (name, to_name) = match locale {
            Locale::En => (
                procedure_name.1.unwrap_or(procedure_name.0),
                to.name_en.as_deref().unwrap_or(&to.name_vi),
            ),
            Locale::Vi => (procedure_name.0, to.name_vi.as_str()),
        };
        outbox::enqueue(
            conn,
            &NewMail {
                tenant_id: Some(scope.tenant_id),
                template: TemplateKey::DossierTransferred,
                locale,
                recipient,
                payload: serde_json::json!({
                    "applicant_name": row.applicant_name,
                    "dossier_code": row.code,
                    "procedure_name": name,
                    "to_name": to_name,
                    "link": scope.dossier_link(&row.code),
                }),
                idempotency_key: format!("dossier:{}:transfer:{id}", row.id),
            },
        )?;
    }
    Ok(id)
}

/// What the receiver made of a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Received here, at the first step of this tenant's process (or its fixed path).
    Taken,
    /// Not taken; the reason goes back to the sender with the dossier.
    Refused(String),
}

/// Takes a transferred dossier in as received here: this tenant's procedure, steps and due
/// date, the sender's files already copied into this tenant's storage (`files`). The code
/// stays the one the applicant was given. Nothing is written when it is refused.
pub fn accept_transfer(
    conn: &mut PgConnection,
    scope: &Scope,
    transfer: &Transfer,
    payload: &DossierPayload,
    files: &[StoredFile],
    now: DateTime<Utc>,
) -> Result<Accepted, DossierError> {
    let proc = match procedure_facts(conn, &transfer.procedure_code) {
        Ok(p) if p.active => p,
        Ok(_) | Err(DossierError::NotFound { .. }) => {
            return Ok(Accepted::Refused(format!(
                "thủ tục {} không còn được cung cấp ở đây / procedure not offered here",
                transfer.procedure_code
            )));
        }
        Err(e) => return Err(e),
    };
    let taken = dossiers::table
        .filter(dossiers::code.eq(&transfer.dossier_code))
        .count()
        .get_result::<i64>(conn)?;
    if taken > 0 {
        return Ok(Accepted::Refused(format!(
            "đã có hồ sơ mã {} / a dossier with this code is already here",
            transfer.dossier_code
        )));
    }
    let lookup = base64::engine::general_purpose::STANDARD
        .decode(&payload.lookup_hash)
        .unwrap_or_default();
    let today = calendar::local_date(now);
    let cal = Calendar::vietnam();
    let due = calendar::due_date(cal, today, proc.processing_days.max(0) as u32);
    let first = proc.process.as_ref().and_then(|p| p.steps.first());
    let id = Uuid::new_v4();
    diesel::insert_into(dossiers::table)
        .values((
            dossiers::id.eq(id),
            dossiers::code.eq(&transfer.dossier_code),
            dossiers::procedure_code.eq(&transfer.procedure_code),
            dossiers::applicant_id.eq(payload.applicant_id),
            dossiers::applicant_name.eq(&payload.applicant_name),
            dossiers::applicant_email.eq(&payload.applicant_email),
            dossiers::applicant_id_number.eq(&payload.applicant_id_number),
            dossiers::applicant_phone.eq(&payload.applicant_phone),
            dossiers::locale.eq(&payload.locale),
            dossiers::lookup_hash.eq(lookup),
            dossiers::channel.eq(payload.channel),
            dossiers::form_data.eq(&payload.form_data),
            // The fee is the sender's: the applicant paid it where they applied.
            dossiers::fee_vnd.eq(0),
            dossiers::payment_status.eq(PaymentStatus::None),
            dossiers::status.eq(Status::Received),
            dossiers::submitted_at.eq(payload.submitted_at),
            dossiers::received_at.eq(Some(now)),
            dossiers::due_date.eq(Some(due)),
            dossiers::step.eq(first.map(|_| 0)),
            dossiers::step_entered_at.eq(first.map(|_| now)),
            dossiers::step_due_at
                .eq(first.map(|s| crate::services::processes::step_due(cal, now, s.budget))),
            dossiers::updated_at.eq(now),
        ))
        .execute(conn)?;
    crate::services::catalog::versions::pin(conn, id, &transfer.procedure_code)?;
    diesel::insert_into(dossier_handovers::table)
        .values((
            dossier_handovers::dossier_id.eq(id),
            dossier_handovers::origin_tenant.eq(Some(transfer.from_tenant)),
            dossier_handovers::origin_transfer.eq(Some(transfer.id)),
        ))
        .execute(conn)?;
    insert_files(conn, id, None, files)?;
    record_event(
        conn,
        scope,
        &Recorded {
            dossier: id,
            code: &transfer.dossier_code,
            procedure_code: &transfer.procedure_code,
            seq: 1,
            from: None,
            to: Status::Received,
            at: now,
            submitted_at: payload.submitted_at,
            due_date: Some(due),
            origin_transfer: Some(transfer.id),
            step_name: first.map(|s| (s.name_vi.as_str(), s.name_en.as_deref())),
        },
        None,
        AGENCY,
        payload.note.as_deref(),
        serde_json::json!({
            "transferred_from": transfer.from_tenant,
            "transfer": transfer.id,
            "due_date": due,
            "files": files.len(),
        }),
    )?;
    super::effects::count(
        conn,
        scope,
        &stats::Key {
            tenant: scope.tenant_id,
            day: today,
            procedure: &transfer.procedure_code,
            field: &proc.field_code,
        },
        Delta::received(payload.channel),
    )?;
    Ok(Accepted::Taken)
}

/// The receiver decided a transferred dossier: its part ends (returned, to the agency it came
/// from) and the result goes back there, in the decision's transaction. `row` is as the
/// decision left it (its status the decision, its version the decision's). Returns the
/// version after.
pub(super) fn send_back(
    conn: &mut PgConnection,
    scope: &Scope,
    row: &Row,
    handover: &Handover,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i32, DossierError> {
    let (status, version) = (row.status, row.version);
    let (Some(origin), Some(answers)) = (handover.origin_tenant, handover.origin_transfer) else {
        return Ok(version);
    };
    let outcome = match status {
        Status::Approved => ResultOutcome::Approve,
        _ => ResultOutcome::Reject,
    };
    let next = version + 1;
    let updated = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(row.id))
            .filter(dossiers::version.eq(version)),
    )
    .set((
        dossiers::status.eq(Status::Returned),
        dossiers::returned_at.eq(Some(now)),
        dossiers::version.eq(next),
        dossiers::updated_at.eq(now),
    ))
    .execute(conn)?;
    super::written(updated, next)?;
    transfers::store::queue(
        conn,
        &NewTransfer {
            kind: Kind::Result,
            answers: Some(answers),
            dossier_code: &row.code,
            procedure_code: &row.procedure_code,
            from_tenant: scope.tenant_id,
            to_tenant: origin,
            payload: serde_json::to_value(ResultPayload {
                outcome,
                note: note.map(str::to_owned),
                at: now,
            })
            .unwrap_or_default(),
        },
        now,
    )?;
    record_event(
        conn,
        scope,
        &Recorded {
            dossier: row.id,
            code: &row.code,
            procedure_code: &row.procedure_code,
            seq: next,
            from: Some(status),
            to: Status::Returned,
            at: now,
            submitted_at: row.submitted_at,
            due_date: row.due_date,
            origin_transfer: Some(answers),
            step_name: None,
        },
        None,
        AGENCY,
        None,
        serde_json::json!({ "returned_to": origin, "outcome": outcome }),
    )?;
    Ok(next)
}

/// The result of a dossier this tenant handed over came back: the dossier is here again and
/// goes on to the step after the transfer with that decision, or, when the transfer was the
/// last step, it is decided. A refusal by the receiver leaves it at the transfer step, with the
/// reason in its history. Returns `false` when no dossier here waits for that result.
pub fn accept_result(
    conn: &mut PgConnection,
    scope: &Scope,
    transfer: &Transfer,
    result: &ResultPayload,
    now: DateTime<Utc>,
) -> Result<bool, DossierError> {
    let code = crate::services::dossiers::DossierCode::parse(&transfer.dossier_code)
        .map_err(|_| DossierError::NotFound { what: "dossier" })?;
    let Some(row) = load_row(conn, &code)? else {
        return Ok(false);
    };
    let handover = handover_of(conn, row.id)?;
    if handover.held_by != Some(transfer.from_tenant) {
        return Ok(false);
    }
    let proc = procedure_facts(conn, &row.procedure_code)?;
    let step: Option<i32> = dossiers::table
        .find(row.id)
        .select(dossiers::step)
        .first(conn)?;
    let (Some(process), Some(at)) = (
        proc.process.as_ref(),
        step.and_then(|s| usize::try_from(s).ok()),
    ) else {
        return Err(Conflict::NotAtStep.into());
    };
    let mut change = StepChange {
        version: row.version + 1,
        updated_at: now,
        ..Default::default()
    };
    let mut to = row.status;
    let mut resolved = false;
    let decision = match result.outcome {
        ResultOutcome::Approve => Some(super::Outcome::Approve),
        ResultOutcome::Reject => Some(super::Outcome::Reject),
        ResultOutcome::NotAccepted => None,
    };
    let mut step_name = None;
    if let Some(decision) = decision {
        change.decision = Some(Some(decision.as_str().to_owned()));
        match after_transfer(process, at) {
            Some(next) => {
                enter_step(&mut change, process, next, now);
                let s = &process.steps[next];
                step_name = Some((s.name_vi.as_str(), s.name_en.as_deref()));
                to = Status::InReview;
            }
            None => {
                change.resolved_at = Some(Some(now));
                change.result_note = Some(result.note.clone());
                change.step_due_at = Some(None);
                to = decision.status();
                resolved = true;
            }
        }
    }
    change.status = Some(to);
    let updated = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(row.id))
            .filter(dossiers::version.eq(row.version)),
    )
    .set(&change)
    .execute(conn)?;
    super::written(updated, change.version)?;
    set_held_by(conn, row.id, None)?;
    record_event(
        conn,
        scope,
        &Recorded {
            dossier: row.id,
            code: &row.code,
            procedure_code: &row.procedure_code,
            seq: change.version,
            from: Some(row.status),
            to,
            at: now,
            submitted_at: row.submitted_at,
            due_date: row.due_date,
            origin_transfer: handover.origin_transfer,
            step_name,
        },
        None,
        AGENCY,
        // The other agency's notes stay there; only a refusal's reason is the sender's to read.
        // A decision's note becomes the result note when it ends the processing here.
        (result.outcome == ResultOutcome::NotAccepted)
            .then_some(result.note.as_deref())
            .flatten(),
        serde_json::json!({
            "step": process.steps[at].code,
            "result_from": transfer.from_tenant,
            "outcome": result.outcome,
        }),
    )?;
    if resolved {
        record_resolved(conn, scope, &row, &proc.field_code, now)?;
    }
    Ok(true)
}
