//! A dossier moving through its procedure's declared process: each action at a step is
//! checked by [`crate::services::processes::engine`] against the units the caller belongs to,
//! then recorded like any workflow action — the dossier's row with optimistic concurrency, the
//! event (which step, which unit, due when), the statistics when the decision takes effect —
//! in the caller's transaction.

use super::effects::{Recorded, record_event, record_resolved};
use super::{Handover, Row, handover_of, procedure_facts, seen, set_held_by, visible_row, written};
use crate::db::schema::tenant::dossiers;
use crate::services::calendar::{self, Calendar};
use crate::services::dossiers::error::{BadInput, Conflict, DossierError};
use crate::services::dossiers::workflow::Status;
use crate::services::dossiers::{Caller, DossierCode, DossierSummary, Scope};
use crate::services::processes::engine::{self, Move, StepError};
use crate::services::processes::{Process, StepAction, UnitCode, step_due, units};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// The decision taken at a `decide` step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approve,
    Reject,
}

impl Outcome {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }

    pub(super) fn status(self) -> Status {
        match self {
            Self::Approve => Status::Approved,
            Self::Reject => Status::Rejected,
        }
    }
}

/// An action at the dossier's current step.
#[derive(Debug, Clone)]
pub struct StepRequest {
    pub action: StepAction,
    pub version: i32,
    pub note: Option<String>,
    /// `ask_opinion`: the unit asked.
    pub unit: Option<UnitCode>,
    /// `decide`: approve or reject.
    pub outcome: Option<Outcome>,
}

/// Where the dossier is in its process.
struct Position {
    step: usize,
    awaiting: Option<String>,
    decision: Option<Outcome>,
}

fn position(
    conn: &mut PgConnection,
    row: &Row,
    handover: &Handover,
) -> Result<Position, DossierError> {
    if handover.held_by.is_some() {
        return Err(Conflict::HeldElsewhere.into());
    }
    let (step, awaiting, decision): (Option<i32>, Option<String>, Option<String>) = dossiers::table
        .find(row.id)
        .select((dossiers::step, dossiers::awaiting_unit, dossiers::decision))
        .first(conn)?;
    let step = step
        .and_then(|s| usize::try_from(s).ok())
        .filter(|_| {
            matches!(
                row.status,
                Status::Received | Status::InReview | Status::Resubmitted
            )
        })
        .ok_or(Conflict::NotAtStep)?;
    Ok(Position {
        step,
        awaiting,
        decision: decision.and_then(|d| match d.as_str() {
            "approve" => Some(Outcome::Approve),
            "reject" => Some(Outcome::Reject),
            _ => None,
        }),
    })
}

fn step_error(e: StepError) -> DossierError {
    match e {
        // Like the fixed path: whoever may never act here is refused as such.
        StepError::NotYourStep { .. } => DossierError::Forbidden,
        other => Conflict::Step(other.to_string()).into(),
    }
}

/// What the move changes on the dossier's row.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = dossiers)]
pub(super) struct StepChange {
    pub(super) version: i32,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) status: Option<Status>,
    pub(super) step: Option<Option<i32>>,
    pub(super) step_entered_at: Option<Option<DateTime<Utc>>>,
    pub(super) step_due_at: Option<Option<DateTime<Utc>>>,
    pub(super) awaiting_unit: Option<Option<String>>,
    pub(super) decision: Option<Option<String>>,
    pub(super) resolved_at: Option<Option<DateTime<Utc>>>,
    pub(super) result_note: Option<Option<String>>,
}

pub(super) fn enter_step(
    change: &mut StepChange,
    process: &Process,
    step: usize,
    now: DateTime<Utc>,
) {
    change.step = Some(i32::try_from(step).ok());
    change.step_entered_at = Some(Some(now));
    change.step_due_at = Some(
        process
            .steps
            .get(step)
            .map(|s| step_due(Calendar::vietnam(), now, s.budget)),
    );
    change.awaiting_unit = Some(None);
}

/// Takes `req` at the dossier's current step, as someone of the unit and role that step names.
pub fn act_at_step(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    caller: &Caller,
    req: &StepRequest,
    now: DateTime<Utc>,
) -> Result<DossierSummary, DossierError> {
    if !(caller.officer || caller.leader) {
        return Err(DossierError::Forbidden);
    }
    let (row, _) = visible_row(conn, code, caller)?;
    let proc = procedure_facts(conn, &row.procedure_code)?;
    let process = proc.process.clone().ok_or(Conflict::NotAtStep)?;
    // A stale page first: the step it showed may have been handed on (to a unit the caller
    // is not in), and "reload" is the useful answer then. Every official may see the dossier.
    seen(&row, req.version)?;
    let handover = handover_of(conn, row.id)?;
    let at = position(conn, &row, &handover)?;
    let memberships = units::memberships_of(conn, caller.account)?;
    let moved = engine::act(&process, at.step, req.action, &memberships).map_err(step_error)?;
    let here = &process.steps[at.step];
    let mut change = StepChange {
        version: row.version + 1,
        updated_at: now,
        ..StepChange::default()
    };
    let mut details = serde_json::json!({ "step": here.code, "unit": here.unit });
    let mut resolved = None;
    let mut handing = None;
    match moved {
        Move::To(next) => {
            enter_step(&mut change, &process, next, now);
            details["to_step"] = serde_json::json!(process.steps[next].code);
        }
        Move::AwaitOpinion => {
            let unit = req
                .unit
                .clone()
                .ok_or_else(|| Conflict::Step("ask_opinion: name the unit asked".into()))?;
            if unit == here.unit || !units::exists(conn, &unit)? {
                return Err(Conflict::Step(format!(
                    "ask_opinion: `{unit}` is not another unit of this agency"
                ))
                .into());
            }
            details["opinion_from"] = serde_json::json!(unit);
            change.awaiting_unit = Some(Some(unit.as_str().to_owned()));
        }
        // The supplement is asked with the workflow's own action (it pauses the legal clock).
        Move::AwaitApplicant => {
            return Err(Conflict::Step("use the request_supplement action".into()).into());
        }
        Move::Decided { next } => {
            let outcome = req
                .outcome
                .ok_or_else(|| Conflict::Step("decide: approve or reject".into()))?;
            details["outcome"] = serde_json::json!(outcome.as_str());
            change.decision = Some(Some(outcome.as_str().to_owned()));
            match next {
                Some(next) => {
                    enter_step(&mut change, &process, next, now);
                    details["to_step"] = serde_json::json!(process.steps[next].code);
                }
                None => resolved = Some(outcome),
            }
        }
        Move::Finished => {
            resolved = Some(at.decision.ok_or_else(|| {
                Conflict::Step("no decision was taken at an earlier step".into())
            })?);
        }
        Move::Transfer => {
            let slug = here.transfer_to.clone().ok_or_else(|| {
                Conflict::TransferRefused("the step names no tenant to transfer to".into())
            })?;
            let to = super::transfers::receiver(conn, &slug)?;
            if to.id == scope.tenant_id {
                return Err(Conflict::TransferRefused("not to this tenant itself".into()).into());
            }
            details["transferred_to"] = serde_json::json!(slug);
            handing = Some(to);
        }
    }
    if at.awaiting.is_some() && !matches!(moved, Move::AwaitOpinion) {
        // Moving on ends the wait for an opinion that did not come.
        change.awaiting_unit = Some(None);
    }
    let from = row.status;
    let to = match resolved {
        Some(outcome) => {
            change.resolved_at = Some(Some(now));
            change.result_note = Some(req.note.clone());
            change.step_due_at = Some(None);
            outcome.status()
        }
        None => Status::InReview,
    };
    change.status = Some(to);
    let updated = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(row.id))
            .filter(dossiers::version.eq(req.version)),
    )
    .set(&change)
    .execute(conn)?;
    written(updated, req.version + 1)?;
    let entered = change
        .step
        .flatten()
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| process.steps.get(i));
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
            due_date: row.due_date,
            origin_transfer: handover.origin_transfer,
            step_name: entered.map(|s| (s.name_vi.as_str(), s.name_en.as_deref())),
        },
        Some(caller.account),
        here.role.as_str(),
        req.note.as_deref(),
        details,
    )?;
    let today = calendar::local_date(now);
    if resolved.is_some() {
        record_resolved(conn, scope, &row, &proc.field_code, now)?;
    }
    if let Some(to) = &handing {
        set_held_by(conn, row.id, Some(to.id))?;
        super::transfers::hand_over(
            conn,
            scope,
            &row,
            (&proc.name_vi, proc.name_en.as_deref()),
            to,
            req.note.as_deref(),
            now,
        )?;
    }
    let mut r = row;
    r.status = to;
    r.version = change.version;
    if let Some(resolved_at) = change.resolved_at {
        r.resolved_at = resolved_at;
    }
    // A dossier another agency handed here goes back there once decided.
    if resolved.is_some() && handover.origin_transfer.is_some() {
        // The decision's note is the result's; a later step's (the clerk's) stays here.
        let decision_note = matches!(moved, Move::Decided { .. })
            .then_some(req.note.as_deref())
            .flatten();
        r.version = super::transfers::send_back(conn, scope, &r, &handover, decision_note, now)?;
        r.status = Status::Returned;
    }
    Ok(r.summary(proc.name_vi, today, scope.due_soon_days))
}

/// The tenant the dossier's current step transfers to, when it is at a `transfer` step (so
/// the caller can check that tenant offers the procedure before acting).
pub fn transfer_target(
    conn: &mut PgConnection,
    code: &DossierCode,
    caller: &Caller,
) -> Result<Option<(crate::tenancy::names::TenantSlug, String)>, DossierError> {
    let (row, _) = visible_row(conn, code, caller)?;
    let proc = procedure_facts(conn, &row.procedure_code)?;
    let step: Option<i32> = dossiers::table
        .find(row.id)
        .select(dossiers::step)
        .first(conn)?;
    Ok(proc
        .process
        .as_ref()
        .zip(step.and_then(|s| usize::try_from(s).ok()))
        .and_then(|(p, i)| p.steps.get(i))
        .and_then(|s| s.transfer_to.clone())
        .map(|slug| (slug, row.procedure_code.clone())))
}

/// The opinion a unit was asked for, given by one of its members: the wait ends, the note is
/// the opinion.
pub fn give_opinion(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    caller: &Caller,
    opinion: &str,
    version: i32,
    now: DateTime<Utc>,
) -> Result<DossierSummary, DossierError> {
    if !(caller.officer || caller.leader) {
        return Err(DossierError::Forbidden);
    }
    let (row, _) = visible_row(conn, code, caller)?;
    let proc = procedure_facts(conn, &row.procedure_code)?;
    let handover = handover_of(conn, row.id)?;
    let at = position(conn, &row, &handover)?;
    let awaited = at.awaiting.ok_or(Conflict::NotAtStep)?;
    let memberships = units::memberships_of(conn, caller.account)?;
    if !memberships.iter().any(|(u, _)| u.as_str() == awaited) {
        return Err(DossierError::Forbidden);
    }
    if opinion.trim().is_empty() {
        return Err(BadInput::ReasonRequired.into());
    }
    seen(&row, version)?;
    let updated = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(row.id))
            .filter(dossiers::version.eq(version)),
    )
    .set((
        dossiers::awaiting_unit.eq(None::<String>),
        dossiers::version.eq(version + 1),
        dossiers::updated_at.eq(now),
    ))
    .execute(conn)?;
    written(updated, version + 1)?;
    let step_code = proc
        .process
        .as_ref()
        .and_then(|p| p.steps.get(at.step))
        .map(|s| s.code.clone());
    record_event(
        conn,
        scope,
        &Recorded {
            dossier: row.id,
            code: &row.code,
            procedure_code: &row.procedure_code,
            seq: version + 1,
            from: Some(row.status),
            to: row.status,
            at: now,
            submitted_at: row.submitted_at,
            due_date: row.due_date,
            origin_transfer: None,
            step_name: None,
        },
        Some(caller.account),
        if caller.leader { "leader" } else { "officer" },
        Some(opinion.trim()),
        serde_json::json!({ "step": step_code, "opinion_of": awaited }),
    )?;
    let mut r = row;
    r.version = version + 1;
    Ok(r.summary(proc.name_vi, calendar::local_date(now), scope.due_soon_days))
}
