//! What only reads: one dossier, the inbox, a citizen's lists, the public lookup, files, and
//! the counts the digest and the storage quota need. Timeliness is judged as of the `now`
//! the caller passes.

use super::{Row, procedure_facts, timeliness, visible_row};
use crate::db::schema::dossier_index;
use crate::db::schema::tenant::{attachments, dossier_events, dossiers, feedback, procedures};
use crate::services::calendar;
use crate::services::dossiers::code::{DossierCode, lookup_hash};
use crate::services::dossiers::error::DossierError;
use crate::services::dossiers::workflow::{self, Status};
use crate::services::dossiers::{
    AttachmentInfo, Caller, DossierDetail, DossierSummary, EventView, MyDossier, PublicStatus,
    Scope, TimelineStep,
};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

/// The procedure and status of a dossier the caller may see.
pub fn procedure_of(
    conn: &mut PgConnection,
    code: &DossierCode,
    caller: &Caller,
) -> Result<(String, Status), DossierError> {
    let row = visible_row(conn, code, caller)?.0;
    Ok((row.procedure_code, row.status))
}

type FileRow = (
    Uuid,
    Option<i32>,
    String,
    String,
    i64,
    String,
    bool,
    Option<serde_json::Value>,
);

/// One dossier with its files, history and the actions the caller may take.
pub fn detail(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<DossierDetail, DossierError> {
    let (row, actor) = visible_row(conn, code, caller)?;
    let proc = procedure_facts(conn, &row.procedure_code)?;
    let today = calendar::local_date(now);
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
            attachments::digitised,
            attachments::provenance,
        ))
        .load::<FileRow>(conn)?
        .into_iter()
        .map(
            |(
                id,
                document_index,
                file_name,
                media_type,
                size_bytes,
                sha256,
                digitised,
                provenance,
            )| {
                AttachmentInfo {
                    id,
                    document_index,
                    file_name,
                    media_type,
                    size_bytes,
                    sha256,
                    digitised,
                    provenance,
                }
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
    let step = step_view(conn, &row, proc.process.as_ref(), caller)?;
    let transfers = crate::services::transfers::store::sent_for(conn, scope.tenant_id, &row.code)?;
    let handover = super::handover_of(conn, row.id)?;
    // While another agency holds it, nothing is done here (but moving the appointment).
    let held = handover.held_by.is_some();
    let transferred_from = match handover.origin_tenant {
        Some(origin) => crate::services::transfers::store::tenant_name(conn, origin)?.map(|n| n.0),
        None => None,
    };
    Ok(DossierDetail {
        summary: row.summary(proc.name_vi, today, scope.due_soon_days),
        applicant_name: row.applicant_name.clone(),
        channel: row.channel,
        applicant_id_number: row.applicant_id_number.clone(),
        applicant_phone: row.applicant_phone.clone(),
        applicant_email: row.applicant_email.clone(),
        refusal_reason: row.refusal_reason.clone(),
        fee_vnd: row.fee_vnd,
        form_data: row.form_data.clone(),
        missing: serde_json::from_value(row.missing.clone()).unwrap_or_default(),
        result_note: row.result_note.clone(),
        attachments: files,
        events,
        // Where a process is declared, its steps decide (the step view lists what is possible).
        actions: workflow::available(status, actor, proc.decide_role)
            .into_iter()
            .filter(|a| {
                !held
                    && (proc.process.is_none()
                        || !matches!(a, workflow::Action::Approve | workflow::Action::Reject))
            })
            .collect(),
        rating,
        payment_status: row.payment_status,
        payments: crate::services::payments::store::for_dossier(conn, row.id)?,
        step,
        transfers,
        transferred_from,
        results: crate::services::results::store::for_dossier(conn, row.id)?
            .into_iter()
            .map(|r| r.view)
            .collect(),
        procedure_version: {
            use crate::db::schema::tenant::dossier_procedure_versions as pinned;
            pinned::table
                .find(row.id)
                .select(pinned::version)
                .first::<i32>(conn)
                .optional()?
        },
    })
}

/// The dossier's current step and what the caller may do there, for a declared process.
fn step_view(
    conn: &mut PgConnection,
    row: &super::Row,
    process: Option<&crate::services::processes::Process>,
    caller: &Caller,
) -> QueryResult<Option<crate::services::dossiers::StepView>> {
    use crate::services::processes::{StepAction, engine, units};
    let Some(process) = process else {
        return Ok(None);
    };
    type Position = (
        Option<i32>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<String>,
        Option<String>,
    );
    let (index, entered_at, due_at, awaiting, decided): Position = dossiers::table
        .find(row.id)
        .select((
            dossiers::step,
            dossiers::step_entered_at,
            dossiers::step_due_at,
            dossiers::awaiting_unit,
            dossiers::decision,
        ))
        .first(conn)?;
    let Some((index, step)) = index
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| Some((i, process.steps.get(i)?)))
    else {
        return Ok(None);
    };
    let memberships = if caller.officer || caller.leader {
        units::memberships_of(conn, caller.account)?
    } else {
        vec![]
    };
    let acting = matches!(
        row.status,
        Status::Received | Status::InReview | Status::Resubmitted
    );
    // Nothing is done here while another agency holds the dossier.
    let held = super::handover_of(conn, row.id)?.held_by.is_some();
    let actions = [
        StepAction::Forward,
        StepAction::Return,
        StepAction::AskOpinion,
        StepAction::Decide,
        StepAction::Transfer,
    ]
    .into_iter()
    .filter(|a| acting && !held && engine::act(process, index, *a, &memberships).is_ok())
    .collect();
    let transfer_to_name = match &step.transfer_to {
        Some(slug) => crate::db::schema::tenants::table
            .filter(crate::db::schema::tenants::slug.eq(slug.as_str()))
            .select(crate::db::schema::tenants::name_vi)
            .first::<String>(conn)
            .optional()?,
        None => None,
    };
    let (unit_name_vi, unit_name_en) = crate::db::schema::tenant::agencies::table
        .find(step.unit.as_str())
        .select((
            crate::db::schema::tenant::agencies::name_vi,
            crate::db::schema::tenant::agencies::name_en,
        ))
        .first::<(String, Option<String>)>(conn)
        .optional()?
        .unwrap_or_else(|| (step.unit.as_str().to_owned(), None));
    let can_give_opinion = acting
        && awaiting
            .as_deref()
            .is_some_and(|u| memberships.iter().any(|(m, _)| m.as_str() == u));
    Ok(Some(crate::services::dossiers::StepView {
        index,
        code: step.code.clone(),
        name_vi: step.name_vi.clone(),
        name_en: step.name_en.clone(),
        unit: step.unit.as_str().to_owned(),
        unit_name_vi,
        unit_name_en,
        role: step.role.as_str(),
        entered_at,
        due_at,
        awaiting_unit: awaiting,
        actions,
        can_give_opinion,
        transfer_to_name,
        held_elsewhere: held,
        decided,
    }))
}

fn events(conn: &mut PgConnection, dossier: Uuid) -> QueryResult<Vec<EventView>> {
    let rows = dossier_events::table
        .filter(dossier_events::dossier_id.eq(dossier))
        .order(dossier_events::seq)
        .select((
            dossier_events::seq,
            dossier_events::at,
            dossier_events::from_status,
            dossier_events::to_status,
            dossier_events::actor_id,
            dossier_events::actor_role,
            dossier_events::note,
            dossier_events::details,
        ))
        .load::<(
            i32,
            DateTime<Utc>,
            Option<Status>,
            Status,
            Option<Uuid>,
            String,
            Option<String>,
            serde_json::Value,
        )>(conn)?;
    // Who acted, by name, for the processing-control record (accounts are shared).
    let mut ids: Vec<Uuid> = rows.iter().filter_map(|r| r.4).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: std::collections::HashMap<Uuid, String> = crate::db::schema::accounts::table
        .filter(crate::db::schema::accounts::id.eq_any(&ids))
        .select((
            crate::db::schema::accounts::id,
            crate::db::schema::accounts::full_name,
        ))
        .load::<(Uuid, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(
            |(seq, at, from_status, to_status, actor_id, actor_role, note, details)| EventView {
                seq,
                at,
                from_status,
                to_status,
                actor_name: actor_id.and_then(|a| names.get(&a).cloned()),
                actor_role,
                note,
                details,
            },
        )
        .collect())
}

/// Statuses officers still owe work on.
fn open_statuses() -> Vec<Status> {
    Status::ALL
        .iter()
        .copied()
        .filter(|s| s.is_open())
        .collect()
}

/// Summaries of loaded rows with their procedure names, judged as of `now`.
fn summaries(rows: Vec<(Row, String)>, scope: &Scope, now: DateTime<Utc>) -> Vec<DossierSummary> {
    let today = calendar::local_date(now);
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
    /// Only dossiers at a step of this unit, or waiting for its opinion (a unit's inbox).
    pub unit: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Open dossiers, overdue (earliest due date) first, then those awaiting receipt.
pub fn inbox(
    conn: &mut PgConnection,
    scope: &Scope,
    filter: &InboxFilter,
    now: DateTime<Utc>,
) -> Result<Vec<DossierSummary>, DossierError> {
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
    if let Some(unit) = &filter.unit {
        // The unit of the dossier's current step, read from its procedure's process.
        q = q.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(
                "((procedures.process -> 'steps' -> dossiers.step ->> 'unit') = ",
            )
            .bind::<diesel::sql_types::Text, _>(unit.clone())
            .sql(" OR dossiers.awaiting_unit = ")
            .bind::<diesel::sql_types::Text, _>(unit.clone())
            // Parenthesised: diesel joins filters with AND and adds none around SQL text.
            .sql(")"),
        );
    }
    let rows: Vec<(Row, String)> = q
        .order((
            dossiers::step_due_at.asc().nulls_last(),
            dossiers::due_date.asc().nulls_last(),
            dossiers::submitted_at.asc(),
        ))
        .limit(filter.limit)
        .offset(filter.offset)
        .select((Row::as_select(), procedures::name_vi))
        .load(conn)?;
    Ok(summaries(rows, scope, now))
}

/// The caller's own dossiers in this tenant, newest first.
pub fn mine(
    conn: &mut PgConnection,
    scope: &Scope,
    account: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<DossierSummary>, DossierError> {
    let rows: Vec<(Row, String)> = dossiers::table
        .inner_join(procedures::table)
        .filter(dossiers::applicant_id.eq(account))
        .order(dossiers::submitted_at.desc())
        .limit(200)
        .select((Row::as_select(), procedures::name_vi))
        .load(conn)?;
    Ok(summaries(rows, scope, now))
}

/// A citizen's dossiers in every tenant (shared index; no tenant schema is touched).
pub fn across_tenants(
    conn: &mut PgConnection,
    account: Uuid,
) -> Result<Vec<(Uuid, MyDossier)>, DossierError> {
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
    now: DateTime<Utc>,
) -> Result<PublicStatus, DossierError> {
    let found: Option<(Row, Vec<u8>)> = dossiers::table
        .filter(dossiers::code.eq(code.as_str()))
        .select((Row::as_select(), dossiers::lookup_hash))
        .first(conn)
        .optional()?;
    let expected = lookup_hash(code, phone_digits);
    let row = match found {
        Some((row, hash)) if constant_time_eq(&hash, &expected) => row,
        _ => return Err(DossierError::NotFound { what: "dossier" }),
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
            calendar::local_date(now),
            scope.due_soon_days,
        ),
        timeline,
        transfers: crate::services::transfers::store::sent_for(conn, scope.tenant_id, &row.code)?,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An attachment's storage key, if the caller may see the dossier it belongs to.
pub fn attachment(
    conn: &mut PgConnection,
    code: &DossierCode,
    caller: &Caller,
    id: Uuid,
) -> Result<(String, String, String), DossierError> {
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
        .ok_or(DossierError::NotFound { what: "attachment" })
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

/// How many open dossiers sit at each step of each declared process, and how many of them are
/// past the step's due time (the leader's "where is it stuck" view), with the late codes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StepLoad {
    pub unit: String,
    pub procedure_code: String,
    pub step: String,
    pub open: i64,
    pub late: i64,
    /// The late dossiers, most overdue first (at most 20).
    pub late_codes: Vec<String>,
}

/// Where the open dossiers of declared processes sit, counted by PostgreSQL: one row per
/// (procedure, step) with at most 20 late codes each reaches Rust, however many dossiers there
/// are (loading every dossier with its procedure's process made this 2 s at 100,000 open; see
/// docs/BENCHMARKS.md). The processes, parsed once, name each group's unit and step.
pub fn load_by_step(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<Vec<StepLoad>> {
    use diesel::sql_types::{Array, BigInt, Int4, Text, Timestamptz};
    #[derive(QueryableByName)]
    struct Group {
        #[diesel(sql_type = Text)]
        procedure_code: String,
        #[diesel(sql_type = Int4)]
        step: i32,
        #[diesel(sql_type = BigInt)]
        open: i64,
        #[diesel(sql_type = BigInt)]
        late: i64,
        #[diesel(sql_type = Array<Text>)]
        late_codes: Vec<String>,
    }
    // The statuses as literals (they are the enum's names), so the planner matches the
    // partial index `dossiers_step_load_idx` on them.
    let open = open_statuses()
        .into_iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let groups: Vec<Group> = diesel::sql_query(format!(
        "SELECT g.procedure_code, g.step, g.open, g.late, \
                CASE WHEN g.late = 0 THEN '{{}}'::text[] ELSE ARRAY( \
                    SELECT d.code FROM dossiers d \
                     WHERE d.procedure_code = g.procedure_code AND d.step = g.step \
                       AND d.step IS NOT NULL AND d.status IN ({open}) AND d.step_due_at < $1 \
                     ORDER BY d.step_due_at LIMIT 20) END AS late_codes \
           FROM (SELECT procedure_code, step, count(*) AS open, \
                        count(*) FILTER (WHERE step_due_at < $1) AS late \
                   FROM dossiers WHERE step IS NOT NULL AND status IN ({open}) \
                  GROUP BY procedure_code, step) g"
    ))
    .bind::<Timestamptz, _>(now)
    .load(conn)?;
    let processes = processes_by_procedure(conn)?;
    let mut out: Vec<StepLoad> = groups
        .into_iter()
        .filter_map(|g| {
            let step = processes
                .get(&g.procedure_code)?
                .steps
                .get(usize::try_from(g.step).ok()?)?;
            Some(StepLoad {
                unit: step.unit.to_string(),
                step: step.code.clone(),
                procedure_code: g.procedure_code,
                open: g.open,
                late: g.late,
                late_codes: g.late_codes,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (b.late, &a.unit, &a.procedure_code, &a.step).cmp(&(
            a.late,
            &b.unit,
            &b.procedure_code,
            &b.step,
        ))
    });
    Ok(out)
}

/// One late dossier of a unit, for the leader's drill-down (no applicant data).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct LateDossier {
    pub code: String,
    pub procedure_code: String,
    pub due_date: NaiveDate,
    /// Decided (late) in the period; false: still open and past its due date.
    pub decided: bool,
    /// Calendar days past the due date (to the decision, or to today).
    pub days_late: i64,
}

/// The late dossiers of one unit: open past their due date now, and decided late in the period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct UnitLate {
    /// The unit's code; absent for dossiers no unit holds (the fixed path, unassigned).
    pub unit: Option<String>,
    pub unit_name: Option<String>,
    pub open_late: i64,
    pub decided_late: i64,
    /// Most overdue first, at most [`LATE_LISTED`].
    pub dossiers: Vec<LateDossier>,
}

/// How many late dossiers a unit lists.
pub const LATE_LISTED: usize = 100;

/// Late dossiers per unit: those open past their due date on `today` (paused ones excepted:
/// their clock is stopped), and those decided in `[from, until)` after their due date (the
/// day of decision in Vietnam's time, as the statistics judge it). A dossier belongs to the
/// unit of its current step when its procedure declares a process, else to the unit of its
/// assignee, else to none.
pub fn late_by_unit(
    conn: &mut PgConnection,
    today: NaiveDate,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<Vec<UnitLate>> {
    use crate::db::schema::tenant::{agencies, unit_members};
    use diesel::sql_types::{Array, Date, Nullable, Text, Timestamptz};
    #[derive(QueryableByName)]
    struct Late {
        #[diesel(sql_type = Text)]
        code: String,
        #[diesel(sql_type = Text)]
        procedure_code: String,
        #[diesel(sql_type = Date)]
        due_date: NaiveDate,
        #[diesel(sql_type = Nullable<Date>)]
        decided_on: Option<NaiveDate>,
        #[diesel(sql_type = Nullable<diesel::sql_types::Int4>)]
        step: Option<i32>,
        #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
        assignee_id: Option<Uuid>,
    }
    let open: Vec<String> = open_statuses()
        .into_iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    let rows: Vec<Late> = diesel::sql_query(
        "SELECT code, procedure_code, due_date, step, assignee_id, \
                CASE WHEN resolved_at IS NULL THEN NULL \
                     ELSE ((resolved_at AT TIME ZONE 'UTC') + interval '7 hours')::date END \
                  AS decided_on \
           FROM dossiers \
          WHERE due_date IS NOT NULL AND ( \
                (status = ANY($1) AND paused_on IS NULL AND due_date < $2) \
             OR (resolved_at >= $3 AND resolved_at < $4 \
                 AND ((resolved_at AT TIME ZONE 'UTC') + interval '7 hours')::date > due_date)) \
          ORDER BY due_date, code",
    )
    .bind::<Array<Text>, _>(&open)
    .bind::<Date, _>(today)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(until)
    .load(conn)?;
    let processes = processes_by_procedure(conn)?;
    // An assignee's unit: the first by code when they belong to several.
    let mut member_unit: std::collections::HashMap<Uuid, String> = Default::default();
    for (unit, account) in unit_members::table
        .order((unit_members::unit_code, unit_members::account_id))
        .select((unit_members::unit_code, unit_members::account_id))
        .load::<(String, Uuid)>(conn)?
    {
        member_unit.entry(account).or_insert(unit);
    }
    let names: std::collections::HashMap<String, String> = agencies::table
        .select((agencies::code, agencies::name_vi))
        .load(conn)?
        .into_iter()
        .collect();
    let mut units: std::collections::BTreeMap<Option<String>, UnitLate> = Default::default();
    for r in rows {
        let by_step = r.step.and_then(|i| {
            let step = processes
                .get(&r.procedure_code)?
                .steps
                .get(usize::try_from(i).ok()?)?;
            Some(step.unit.to_string())
        });
        let unit = by_step.or_else(|| r.assignee_id.and_then(|a| member_unit.get(&a).cloned()));
        let entry = units.entry(unit.clone()).or_insert_with(|| UnitLate {
            unit_name: unit.as_ref().and_then(|u| names.get(u).cloned()),
            unit,
            open_late: 0,
            decided_late: 0,
            dossiers: Vec::new(),
        });
        let decided = r.decided_on.is_some();
        if decided {
            entry.decided_late += 1;
        } else {
            entry.open_late += 1;
        }
        if entry.dossiers.len() < LATE_LISTED {
            entry.dossiers.push(LateDossier {
                days_late: (r.decided_on.unwrap_or(today) - r.due_date).num_days(),
                code: r.code,
                procedure_code: r.procedure_code,
                due_date: r.due_date,
                decided,
            });
        }
    }
    let mut out: Vec<UnitLate> = units.into_values().collect();
    out.sort_by_key(|u| std::cmp::Reverse(u.open_late + u.decided_late));
    Ok(out)
}

/// The step processes of the procedures that have one, by procedure code (a process that no
/// longer parses is left out, as if the procedure had none).
fn processes_by_procedure(
    conn: &mut PgConnection,
) -> QueryResult<std::collections::HashMap<String, crate::services::processes::Process>> {
    Ok(procedures::table
        .filter(procedures::process.is_not_null())
        .select((procedures::code, procedures::process))
        .load::<(String, Option<serde_json::Value>)>(conn)?
        .into_iter()
        .filter_map(|(code, p)| Some((code, serde_json::from_value(p?).ok()?)))
        .collect())
}
