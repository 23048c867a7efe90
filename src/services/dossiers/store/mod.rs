//! Dossier storage. Every function takes a connection already scoped to one tenant by
//! [`crate::db::TenantDb`] (tenant tables unqualified) and runs inside its transaction; shared
//! tables (`platform.…`) are reached schema-qualified.
//!
//! `commands` holds what writes (submit, act, assign, bulk, rate), `effects` the rows every
//! change writes beside the dossier's (files, the event with its index and sync rows, the
//! applicant's mail), `queries` what only reads. This file keeps the row type and the reads
//! both sides need. Nothing here reads the system time: callers pass `now` from their clock.
//! Failures are [`DossierError`]s; the edge maps them to HTTP answers.

mod commands;
mod effects;
mod queries;
mod steps;
mod transfers;

pub use commands::{BulkAction, act, assign, bulk, extend, rate, submit};
pub use queries::{
    InboxFilter, LATE_LISTED, LateDossier, StepLoad, UnitLate, across_tenants, attachment,
    awaiting_receipt, detail, inbox, late_by_unit, load_by_step, lookup, mine, overdue_by_assignee,
    procedure_of, storage_used,
};
pub use steps::{Outcome, StepRequest, act_at_step, give_opinion, transfer_target};
pub use transfers::{Accepted, accept_result, accept_transfer};

use super::Channel;
use super::code::DossierCode;
use super::workflow::{Actor, DecideRole, Status};
use super::{Caller, DossierError, DossierSummary};
use crate::db::schema::tenant::{dossiers, procedures};
use crate::services::calendar::{self, Calendar};
use crate::services::payments::PaymentStatus;
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
    channel: Channel,
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
    applicant_id_number: Option<String>,
    applicant_phone: Option<String>,
    refusal_reason: Option<String>,
}

/// Where a dossier stands between tenants (liên thông); all `None` for most dossiers.
#[derive(Debug, Clone, Copy, Default, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::tenant::dossier_handovers)]
struct Handover {
    /// Handed to this tenant, which decides it now; `None` while it is here.
    held_by: Option<Uuid>,
    /// Brought here by this transfer from `origin_tenant`, where its result goes back.
    origin_tenant: Option<Uuid>,
    origin_transfer: Option<Uuid>,
}

fn handover_of(conn: &mut PgConnection, dossier: Uuid) -> QueryResult<Handover> {
    use crate::db::schema::tenant::dossier_handovers as h;
    Ok(h::table
        .find(dossier)
        .select(Handover::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_default())
}

/// Records who holds the dossier now: `Some(tenant)` once handed over, `None` once back.
fn set_held_by(conn: &mut PgConnection, dossier: Uuid, holder: Option<Uuid>) -> QueryResult<()> {
    use crate::db::schema::tenant::dossier_handovers as h;
    diesel::insert_into(h::table)
        .values((h::dossier_id.eq(dossier), h::held_by.eq(holder)))
        .on_conflict(h::dossier_id)
        .do_update()
        .set(h::held_by.eq(holder))
        .execute(conn)
        .map(drop)
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
    /// Offered now (a transfer is taken only for an active procedure).
    active: bool,
    /// The declared process; `None` keeps the fixed path.
    process: Option<crate::services::processes::Process>,
}

fn procedure_facts(conn: &mut PgConnection, code: &str) -> Result<ProcedureFacts, DossierError> {
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
        Option<serde_json::Value>,
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
        process,
        active,
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
            procedures::process,
            procedures::active,
        ))
        .first(conn)
        .optional()?
        .ok_or(DossierError::NotFound { what: "procedure" })?;
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
        active,
        // Checked when it was stored; one that no longer reads is the tenant's data, not the
        // caller's: the dossier keeps the fixed path rather than failing.
        process: process.and_then(|p| serde_json::from_value(p).ok()),
    })
}

fn load_row(conn: &mut PgConnection, code: &DossierCode) -> Result<Option<Row>, DossierError> {
    Ok(dossiers::table
        .filter(dossiers::code.eq(code.as_str()))
        .select(Row::as_select())
        .first(conn)
        .optional()?)
}

/// The row id and the applicant's account of a dossier the caller may see (for the rows that
/// hang off it, like its results), and the caller's display name.
pub fn ids_of(
    conn: &mut PgConnection,
    code: &DossierCode,
    caller: &Caller,
) -> Result<DossierIds, DossierError> {
    use crate::db::schema::accounts;
    let (row, _) = visible_row(conn, code, caller)?;
    let caller_name = accounts::table
        .find(caller.account)
        .select(accounts::full_name)
        .first::<String>(conn)
        .optional()?;
    Ok(DossierIds {
        id: row.id,
        applicant: row.applicant_id,
        caller_name,
    })
}

/// The procedure version a dossier the caller may see was filed under.
pub fn version_of(
    conn: &mut PgConnection,
    code: &DossierCode,
    caller: &Caller,
) -> Result<Option<crate::services::catalog::versions::ProcedureVersion>, DossierError> {
    let (row, _) = visible_row(conn, code, caller)?;
    Ok(crate::services::catalog::versions::of_dossier(
        conn, row.id,
    )?)
}

/// See [`ids_of`].
#[derive(Debug, Clone)]
pub struct DossierIds {
    pub id: Uuid,
    pub applicant: Option<Uuid>,
    pub caller_name: Option<String>,
}

/// Optimistic concurrency, before: the caller acted on what it saw at `version`; a dossier
/// changed since is refused with the version it is at now (409, reload).
fn seen(row: &Row, version: i32) -> Result<(), DossierError> {
    if row.version == version {
        Ok(())
    } else {
        Err(super::error::Conflict::Stale {
            current: row.version,
        }
        .into())
    }
}

/// Optimistic concurrency, after: an update guarded by the version that changed no row means
/// someone acted between our read and our write; `current` is what they left.
fn written(updated: usize, current: i32) -> Result<(), DossierError> {
    if updated == 0 {
        Err(super::error::Conflict::Stale { current }.into())
    } else {
        Ok(())
    }
}

/// The dossier if the caller may see it: its applicant, or an officer or leader of the tenant.
/// Anyone else gets "not found", so codes cannot be probed.
fn visible_row(
    conn: &mut PgConnection,
    code: &DossierCode,
    caller: &Caller,
) -> Result<(Row, Actor), DossierError> {
    let row = load_row(conn, code)?.ok_or(DossierError::NotFound { what: "dossier" })?;
    let actor = Actor {
        is_applicant: row.applicant_id == Some(caller.account),
        officer: caller.officer,
        leader: caller.leader,
    };
    if actor.is_applicant || actor.officer || actor.leader {
        Ok((row, actor))
    } else {
        Err(DossierError::NotFound { what: "dossier" })
    }
}
