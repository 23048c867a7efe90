//! Statistics: incremental daily counters per tenant and procedure, written by each transition
//! in its own transaction into the shared schema (they are published figures, without personal
//! data), so a period's figures — and a ministry's roll-up over every tenant below it — are one
//! indexed query.
//!
//! Received dossiers are counted per intake channel (online, at the one-stop desk, by post):
//! `received` is always `received_online + received_counter + received_postal`, so the online
//! share is the share of what really came online.

use crate::db::schema::{stats_daily, stats_monthly, stats_open};
use crate::services::dossiers::Channel;
use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Text, Uuid as SqlUuid};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// A change to one day's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Delta {
    pub received: i32,
    pub received_online: i32,
    pub received_counter: i32,
    pub received_postal: i32,
    pub resolved: i32,
    pub resolved_on_time: i32,
    pub processing_seconds: i64,
    pub rating_sum: i32,
    pub rating_count: i32,
    /// Change to the number of dossiers received and not yet decided.
    pub in_progress: i32,
    pub paid_count: i32,
    pub paid_amount: i64,
    /// Received with at least one paper document scanned (digitised) at the desk.
    pub received_digitised: i32,
    /// Results issued (a revocation takes one back on the day it was issued).
    pub results_issued: i32,
    /// Of those, paper results scanned and signed as their electronic copy.
    pub results_digitised: i32,
    /// Decided with a fee to pay, and of those paid online.
    pub resolved_with_fee: i32,
    pub resolved_paid_online: i32,
    pub complaints_received: i32,
    pub complaints_answered: i32,
    pub complaints_answered_on_time: i32,
}

impl Delta {
    /// One dossier received, counted under the channel it came through.
    pub fn received(channel: Channel) -> Self {
        Self {
            received: 1,
            received_online: i32::from(channel == Channel::Online),
            received_counter: i32::from(channel == Channel::Counter),
            received_postal: i32::from(channel == Channel::Postal),
            in_progress: 1,
            ..Self::default()
        }
    }

    /// Marks a receipt as one whose paper documents were scanned at the desk.
    pub fn digitised(self, digitised: bool) -> Self {
        Self {
            received_digitised: i32::from(digitised),
            ..self
        }
    }

    pub fn resolved(on_time: bool, processing_seconds: i64) -> Self {
        Self {
            resolved: 1,
            resolved_on_time: i32::from(on_time),
            processing_seconds,
            in_progress: -1,
            ..Self::default()
        }
    }

    /// Adds the payment side of a decision: whether the dossier had a fee, and whether it was
    /// paid through the online payment platform (a refund later still was an online payment).
    pub fn with_fee(self, fee: bool, paid_online: bool) -> Self {
        Self {
            resolved_with_fee: i32::from(fee),
            resolved_paid_online: i32::from(fee && paid_online),
            ..self
        }
    }

    /// A result issued: electronic from the start, or a paper one scanned (`digitised`).
    pub fn result_issued(digitised: bool) -> Self {
        Self {
            results_issued: 1,
            results_digitised: i32::from(digitised),
            ..Self::default()
        }
    }

    /// A result revoked: taken back from the counters of the day it was issued.
    pub fn result_revoked(digitised: bool) -> Self {
        Self {
            results_issued: -1,
            results_digitised: -i32::from(digitised),
            ..Self::default()
        }
    }

    /// A complaint or recommendation (phản ánh, kiến nghị) received, on the day it came in.
    pub fn complaint_received() -> Self {
        Self {
            complaints_received: 1,
            ..Self::default()
        }
    }

    /// A complaint answered, on the day of the answer; `on_time` when within its deadline.
    pub fn complaint_answered(on_time: bool) -> Self {
        Self {
            complaints_answered: 1,
            complaints_answered_on_time: i32::from(on_time),
            ..Self::default()
        }
    }

    pub fn paid(amount_vnd: i64) -> Self {
        Self {
            paid_count: 1,
            paid_amount: amount_vnd,
            ..Self::default()
        }
    }

    pub fn rating(rating: i16) -> Self {
        Self {
            rating_sum: i32::from(rating),
            rating_count: 1,
            ..Self::default()
        }
    }
}

/// Where a delta belongs.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub tenant: Uuid,
    pub day: NaiveDate,
    pub procedure: &'a str,
    pub field: &'a str,
}

/// The upsert of a delta into a counter table (`stats_daily` by day, `stats_monthly` by month):
/// the same columns in both, so one definition keeps them from drifting apart.
macro_rules! add_counts {
    ($conn:expr, $table:ident, $period:ident, $at:expr, $k:expr, $d:expr) => {{
        use $table as s;
        let (k, d) = ($k, $d);
        diesel::insert_into(s::table)
            .values((
                s::tenant_id.eq(k.tenant),
                s::$period.eq($at),
                s::procedure_code.eq(k.procedure),
                s::field_code.eq(k.field),
                s::received.eq(d.received),
                s::received_online.eq(d.received_online),
                s::received_counter.eq(d.received_counter),
                s::received_postal.eq(d.received_postal),
                s::resolved.eq(d.resolved),
                s::resolved_on_time.eq(d.resolved_on_time),
                s::processing_seconds.eq(d.processing_seconds),
                s::rating_sum.eq(d.rating_sum),
                s::rating_count.eq(d.rating_count),
                s::paid_count.eq(d.paid_count),
                s::paid_amount.eq(d.paid_amount),
                s::received_digitised.eq(d.received_digitised),
                s::results_issued.eq(d.results_issued),
                s::results_digitised.eq(d.results_digitised),
                s::resolved_with_fee.eq(d.resolved_with_fee),
                s::resolved_paid_online.eq(d.resolved_paid_online),
                s::complaints_received.eq(d.complaints_received),
                s::complaints_answered.eq(d.complaints_answered),
                s::complaints_answered_on_time.eq(d.complaints_answered_on_time),
            ))
            .on_conflict((s::tenant_id, s::$period, s::procedure_code))
            .do_update()
            .set((
                s::received.eq(s::received + d.received),
                s::received_online.eq(s::received_online + d.received_online),
                s::received_counter.eq(s::received_counter + d.received_counter),
                s::received_postal.eq(s::received_postal + d.received_postal),
                s::resolved.eq(s::resolved + d.resolved),
                s::resolved_on_time.eq(s::resolved_on_time + d.resolved_on_time),
                s::processing_seconds.eq(s::processing_seconds + d.processing_seconds),
                s::rating_sum.eq(s::rating_sum + d.rating_sum),
                s::rating_count.eq(s::rating_count + d.rating_count),
                s::paid_count.eq(s::paid_count + d.paid_count),
                s::paid_amount.eq(s::paid_amount + d.paid_amount),
                s::received_digitised.eq(s::received_digitised + d.received_digitised),
                s::results_issued.eq(s::results_issued + d.results_issued),
                s::results_digitised.eq(s::results_digitised + d.results_digitised),
                s::resolved_with_fee.eq(s::resolved_with_fee + d.resolved_with_fee),
                s::resolved_paid_online.eq(s::resolved_paid_online + d.resolved_paid_online),
                s::complaints_received.eq(s::complaints_received + d.complaints_received),
                s::complaints_answered.eq(s::complaints_answered + d.complaints_answered),
                s::complaints_answered_on_time
                    .eq(s::complaints_answered_on_time + d.complaints_answered_on_time),
            ))
            .execute($conn)
    }};
}

/// Adds `d` to the day's and the month's counters of the tenant's procedure, and to its open
/// count.
pub fn record(conn: &mut PgConnection, k: Key<'_>, d: Delta) -> QueryResult<()> {
    add_counts!(conn, stats_daily, day, k.day, k, d)?;
    let month = k.day.with_day(1).unwrap_or(k.day);
    add_counts!(conn, stats_monthly, month, month, k, d)?;
    if d.in_progress != 0 {
        use stats_open as o;
        diesel::insert_into(o::table)
            .values((
                o::tenant_id.eq(k.tenant),
                o::procedure_code.eq(k.procedure),
                o::field_code.eq(k.field),
                o::in_progress.eq(d.in_progress),
            ))
            .on_conflict((o::tenant_id, o::procedure_code))
            .do_update()
            .set(o::in_progress.eq(o::in_progress + d.in_progress))
            .execute(conn)?;
    }
    Ok(())
}

/// Raw counters: they add up across days, procedures and tenants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Counts {
    /// Every dossier received, whatever its channel.
    pub received: i64,
    /// Received through the online portal or the API.
    pub received_online: i64,
    /// Received at the one-stop desk (Bộ phận một cửa).
    pub received_counter: i64,
    /// Received by post.
    pub received_postal: i64,
    pub resolved: i64,
    pub resolved_on_time: i64,
    pub processing_seconds: i64,
    pub rating_sum: i64,
    pub rating_count: i64,
    /// Received and not yet decided, now.
    pub in_progress: i64,
    /// Paid online: count and amount in đồng.
    pub paid_count: i64,
    pub paid_amount: i64,
    /// Received with paper documents scanned (digitised) at the desk.
    pub received_digitised: i64,
    /// Results issued and not revoked.
    pub results_issued: i64,
    /// Of those, paper results scanned and signed as electronic copies.
    pub results_digitised: i64,
    /// Decided with a fee to pay.
    pub resolved_with_fee: i64,
    /// Of those, paid through the online payment platform.
    pub resolved_paid_online: i64,
    /// Complaints and recommendations (phản ánh, kiến nghị) received.
    pub complaints_received: i64,
    pub complaints_answered: i64,
    pub complaints_answered_on_time: i64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.received += o.received;
        self.received_online += o.received_online;
        self.received_counter += o.received_counter;
        self.received_postal += o.received_postal;
        self.resolved += o.resolved;
        self.resolved_on_time += o.resolved_on_time;
        self.processing_seconds += o.processing_seconds;
        self.rating_sum += o.rating_sum;
        self.rating_count += o.rating_count;
        self.in_progress += o.in_progress;
        self.paid_count += o.paid_count;
        self.paid_amount += o.paid_amount;
        self.received_digitised += o.received_digitised;
        self.results_issued += o.results_issued;
        self.results_digitised += o.results_digitised;
        self.resolved_with_fee += o.resolved_with_fee;
        self.resolved_paid_online += o.resolved_paid_online;
        self.complaints_received += o.complaints_received;
        self.complaints_answered += o.complaints_answered;
        self.complaints_answered_on_time += o.complaints_answered_on_time;
    }
}

/// Counters with the figures people read. Ratios are absent (not zero) when there is nothing
/// to divide: no rating is ever invented.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    #[serde(flatten)]
    pub counts: Counts,
    pub late: i64,
    pub on_time_share: Option<f64>,
    /// Received online ÷ received.
    pub online_share: Option<f64>,
    /// Received at the one-stop desk ÷ received.
    pub counter_share: Option<f64>,
    /// Received by post ÷ received.
    pub postal_share: Option<f64>,
    pub average_processing_days: Option<f64>,
    pub satisfaction: Option<f64>,
}

impl From<Counts> for Figures {
    fn from(c: Counts) -> Self {
        let ratio = |a: i64, b: i64| (b > 0).then(|| round2(a as f64 / b as f64));
        Self {
            counts: c,
            late: c.resolved - c.resolved_on_time,
            on_time_share: ratio(c.resolved_on_time, c.resolved),
            online_share: ratio(c.received_online, c.received),
            counter_share: ratio(c.received_counter, c.received),
            postal_share: ratio(c.received_postal, c.received),
            average_processing_days: ratio(c.processing_seconds, c.resolved * 86_400),
            satisfaction: ratio(c.rating_sum, c.rating_count),
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Group {
    pub code: String,
    pub name: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Report {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    /// Tenants included (the tenant itself first, then those below it in a roll-up).
    pub tenants: Vec<String>,
    pub total: Figures,
    pub by_field: Vec<Group>,
    pub by_procedure: Vec<Group>,
}

/// One tenant's counters over a period, per procedure, with names and fields: what a roll-up
/// adds together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantCounts {
    /// procedure code → (procedure name, field code, field name, counts)
    pub procedures: BTreeMap<String, (String, String, String, Counts)>,
}

impl TenantCounts {
    /// Counters per (procedure, field) with their names (the code where no name is known).
    pub fn named(
        counts: BTreeMap<(String, String), Counts>,
        procedure_name: impl Fn(&str) -> Option<String>,
        field_name: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let mut out = Self::default();
        for ((code, field), c) in counts {
            let name = procedure_name(&code).unwrap_or_else(|| code.clone());
            let fname = field_name(&field).unwrap_or_else(|| field.clone());
            out.merge(Self {
                procedures: BTreeMap::from([(code, (name, field, fname, c))]),
            });
        }
        out
    }

    pub fn merge(&mut self, other: TenantCounts) {
        for (code, (name, field, field_name, c)) in other.procedures {
            self.procedures
                .entry(code)
                .or_insert_with(|| (name, field, field_name, Counts::default()))
                .3 += c;
        }
    }

    pub fn report(&self, from: NaiveDate, to: NaiveDate, tenants: Vec<String>) -> Report {
        let mut total = Counts::default();
        let mut by_field: BTreeMap<&str, (&str, Counts)> = BTreeMap::new();
        let mut by_procedure = Vec::new();
        for (code, (name, field, field_name, c)) in &self.procedures {
            total += *c;
            // Counters kept under no procedure (complaints, which concern the tenant) count in
            // the total only.
            if code.is_empty() {
                continue;
            }
            by_field
                .entry(field)
                .or_insert_with(|| (field_name, Counts::default()))
                .1 += *c;
            by_procedure.push(Group {
                code: code.clone(),
                name: name.clone(),
                figures: (*c).into(),
            });
        }
        Report {
            from,
            to,
            tenants,
            total: total.into(),
            by_field: by_field
                .into_iter()
                .map(|(code, (name, c))| Group {
                    code: code.to_owned(),
                    name: name.to_owned(),
                    figures: c.into(),
                })
                .collect(),
            by_procedure,
        }
    }
}

/// The counters of a set of tenants over `[$2, $3)` per procedure, with the open counts:
/// one statement, through the primary key (tenant, day, procedure).
pub const COUNTS_SQL: &str = "\
SELECT procedure_code AS code, field_code AS field,
       sum(received)::int8 AS received, sum(received_online)::int8 AS received_online,
       sum(received_counter)::int8 AS received_counter,
       sum(received_postal)::int8 AS received_postal,
       sum(resolved)::int8 AS resolved, sum(resolved_on_time)::int8 AS resolved_on_time,
       sum(processing_seconds)::int8 AS processing_seconds,
       sum(rating_sum)::int8 AS rating_sum, sum(rating_count)::int8 AS rating_count,
       sum(in_progress)::int8 AS in_progress, sum(paid_count)::int8 AS paid_count,
       sum(paid_amount)::int8 AS paid_amount,
       sum(received_digitised)::int8 AS received_digitised,
       sum(results_issued)::int8 AS results_issued,
       sum(results_digitised)::int8 AS results_digitised,
       sum(resolved_with_fee)::int8 AS resolved_with_fee,
       sum(resolved_paid_online)::int8 AS resolved_paid_online,
       sum(complaints_received)::int8 AS complaints_received,
       sum(complaints_answered)::int8 AS complaints_answered,
       sum(complaints_answered_on_time)::int8 AS complaints_answered_on_time
FROM (
    SELECT procedure_code, field_code, received, received_online, received_counter,
           received_postal, resolved, resolved_on_time, processing_seconds, rating_sum,
           rating_count, 0 AS in_progress, paid_count, paid_amount, received_digitised, results_issued, results_digitised, resolved_with_fee, resolved_paid_online, complaints_received, complaints_answered, complaints_answered_on_time
    FROM platform.stats_daily
    WHERE tenant_id = ANY($1) AND day >= $2 AND day < $3
    UNION ALL
    SELECT procedure_code, field_code, 0, 0, 0, 0, 0, 0, 0, 0, 0, in_progress, 0, 0,
           0, 0, 0, 0, 0, 0, 0, 0
    FROM platform.stats_open
    WHERE tenant_id = ANY($1)
) x
GROUP BY procedure_code, field_code";

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    field: String,
    #[diesel(sql_type = BigInt)]
    received: i64,
    #[diesel(sql_type = BigInt)]
    received_online: i64,
    #[diesel(sql_type = BigInt)]
    received_counter: i64,
    #[diesel(sql_type = BigInt)]
    received_postal: i64,
    #[diesel(sql_type = BigInt)]
    resolved: i64,
    #[diesel(sql_type = BigInt)]
    resolved_on_time: i64,
    #[diesel(sql_type = BigInt)]
    processing_seconds: i64,
    #[diesel(sql_type = BigInt)]
    rating_sum: i64,
    #[diesel(sql_type = BigInt)]
    rating_count: i64,
    #[diesel(sql_type = BigInt)]
    in_progress: i64,
    #[diesel(sql_type = BigInt)]
    paid_count: i64,
    #[diesel(sql_type = BigInt)]
    paid_amount: i64,
    #[diesel(sql_type = BigInt)]
    received_digitised: i64,
    #[diesel(sql_type = BigInt)]
    results_issued: i64,
    #[diesel(sql_type = BigInt)]
    results_digitised: i64,
    #[diesel(sql_type = BigInt)]
    resolved_with_fee: i64,
    #[diesel(sql_type = BigInt)]
    resolved_paid_online: i64,
    #[diesel(sql_type = BigInt)]
    complaints_received: i64,
    #[diesel(sql_type = BigInt)]
    complaints_answered: i64,
    #[diesel(sql_type = BigInt)]
    complaints_answered_on_time: i64,
}

/// The totals of a set of tenants over the whole months `[$2, $3)` (first days), with the
/// open counts: one statement over the monthly counters, a dozen rows per tenant and procedure
/// for a year (the service index).
pub const MONTHS_SQL: &str = "\
SELECT '' AS code, '' AS field,
       coalesce(sum(received), 0)::int8 AS received,
       coalesce(sum(received_online), 0)::int8 AS received_online,
       coalesce(sum(received_counter), 0)::int8 AS received_counter,
       coalesce(sum(received_postal), 0)::int8 AS received_postal,
       coalesce(sum(resolved), 0)::int8 AS resolved,
       coalesce(sum(resolved_on_time), 0)::int8 AS resolved_on_time,
       coalesce(sum(processing_seconds), 0)::int8 AS processing_seconds,
       coalesce(sum(rating_sum), 0)::int8 AS rating_sum,
       coalesce(sum(rating_count), 0)::int8 AS rating_count,
       coalesce(sum(paid_count), 0)::int8 AS paid_count,
       coalesce(sum(paid_amount), 0)::int8 AS paid_amount,
       coalesce(sum(received_digitised), 0)::int8 AS received_digitised,
       coalesce(sum(results_issued), 0)::int8 AS results_issued,
       coalesce(sum(results_digitised), 0)::int8 AS results_digitised,
       coalesce(sum(resolved_with_fee), 0)::int8 AS resolved_with_fee,
       coalesce(sum(resolved_paid_online), 0)::int8 AS resolved_paid_online,
       coalesce(sum(complaints_received), 0)::int8 AS complaints_received,
       coalesce(sum(complaints_answered), 0)::int8 AS complaints_answered,
       coalesce(sum(complaints_answered_on_time), 0)::int8 AS complaints_answered_on_time,
       (SELECT coalesce(sum(in_progress), 0)::int8 FROM platform.stats_open
         WHERE tenant_id = ANY($1)) AS in_progress
FROM platform.stats_monthly
WHERE tenant_id = ANY($1) AND month >= $2 AND month < $3";

/// Totals of `tenants` over the whole months from `from`'s to the one before `to`'s (both
/// first days of a month).
pub fn month_totals(
    conn: &mut PgConnection,
    tenants: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Counts> {
    let r: CountRow = diesel::sql_query(MONTHS_SQL)
        .bind::<Array<SqlUuid>, _>(tenants)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .get_result(conn)?;
    Ok(r.counts())
}

impl CountRow {
    fn counts(&self) -> Counts {
        Counts {
            received: self.received,
            received_online: self.received_online,
            received_counter: self.received_counter,
            received_postal: self.received_postal,
            resolved: self.resolved,
            resolved_on_time: self.resolved_on_time,
            processing_seconds: self.processing_seconds,
            rating_sum: self.rating_sum,
            rating_count: self.rating_count,
            paid_count: self.paid_count,
            paid_amount: self.paid_amount,
            received_digitised: self.received_digitised,
            results_issued: self.results_issued,
            results_digitised: self.results_digitised,
            resolved_with_fee: self.resolved_with_fee,
            resolved_paid_online: self.resolved_paid_online,
            complaints_received: self.complaints_received,
            complaints_answered: self.complaints_answered,
            complaints_answered_on_time: self.complaints_answered_on_time,
            in_progress: self.in_progress,
        }
    }
}

/// The procedure codes a tenant received most dossiers for, most first (the portal's home
/// page lists them).
pub fn most_received(
    conn: &mut PgConnection,
    tenant: Uuid,
    limit: i64,
) -> QueryResult<Vec<String>> {
    use crate::db::schema::stats_daily as s;
    use diesel::dsl::sum;
    let rows: Vec<(String, Option<i64>)> = s::table
        .filter(s::tenant_id.eq(tenant))
        .group_by(s::procedure_code)
        .select((s::procedure_code, sum(s::received)))
        .order(sum(s::received).desc())
        .limit(limit)
        .load(conn)?;
    Ok(rows.into_iter().map(|(code, _)| code).collect())
}

/// Counters of `tenants` over `[from, to)`, per (procedure, field).
pub fn counts(
    conn: &mut PgConnection,
    tenants: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<BTreeMap<(String, String), Counts>> {
    let rows: Vec<CountRow> = diesel::sql_query(COUNTS_SQL)
        .bind::<Array<SqlUuid>, _>(tenants)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let c = r.counts();
            ((r.code, r.field), c)
        })
        .collect())
}

/// One month of a tenant group's counters (the dashboard's chart).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Month {
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub received: i64,
    #[diesel(sql_type = BigInt)]
    pub resolved: i64,
    #[diesel(sql_type = BigInt)]
    pub resolved_on_time: i64,
}

/// Counters of `tenants` per calendar month over `[from, to)`, months without any row left
/// out (the caller fills the gaps so a chart shows them as zero).
pub fn monthly(
    conn: &mut PgConnection,
    tenants: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<Month>> {
    diesel::sql_query(
        "SELECT date_trunc('month', day)::date AS month, \
                sum(received)::bigint AS received, sum(resolved)::bigint AS resolved, \
                sum(resolved_on_time)::bigint AS resolved_on_time \
           FROM platform.stats_daily \
          WHERE tenant_id = ANY($1) AND day >= $2 AND day < $3 \
          GROUP BY 1 ORDER BY 1",
    )
    .bind::<Array<SqlUuid>, _>(tenants)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)
}

/// One tenant's totals over a period (the roll-up's per-unit table).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct TenantTotals {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub received: i64,
    #[diesel(sql_type = BigInt)]
    pub resolved: i64,
    #[diesel(sql_type = BigInt)]
    pub resolved_on_time: i64,
}

/// Totals of each of `tenants` over `[from, to)`, in one statement; tenants without counters
/// are absent.
pub fn per_tenant(
    conn: &mut PgConnection,
    tenants: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<TenantTotals>> {
    diesel::sql_query(
        "SELECT tenant_id, sum(received)::bigint AS received, sum(resolved)::bigint AS resolved, \
                sum(resolved_on_time)::bigint AS resolved_on_time \
           FROM platform.stats_daily \
          WHERE tenant_id = ANY($1) AND day >= $2 AND day < $3 \
          GROUP BY tenant_id",
    )
    .bind::<Array<SqlUuid>, _>(tenants)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)
}

/// The months from `from`'s to `to`'s (inclusive), each with its counters or zeros.
pub fn fill_months(from: NaiveDate, to: NaiveDate, rows: &[Month]) -> Vec<Month> {
    use chrono::Datelike;
    let mut out = Vec::new();
    let mut m = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or(from);
    while m <= to && out.len() < 120 {
        out.push(
            rows.iter()
                .find(|r| r.month == m)
                .cloned()
                .unwrap_or(Month {
                    month: m,
                    received: 0,
                    resolved: 0,
                    resolved_on_time: 0,
                }),
        );
        m = m.checked_add_months(chrono::Months::new(1)).unwrap_or(to);
        if m == to {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(received: i64, resolved: i64, on_time: i64) -> Counts {
        Counts {
            received,
            received_online: received,
            resolved,
            resolved_on_time: on_time,
            processing_seconds: resolved * 86_400 * 2,
            ..Counts::default()
        }
    }

    #[test]
    fn months_without_counters_are_shown_as_zero() {
        use chrono::Datelike;
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let rows = vec![Month {
            month: d(2026, 3, 1),
            received: 4,
            resolved: 2,
            resolved_on_time: 1,
        }];
        let months = fill_months(d(2026, 1, 1), d(2026, 5, 20), &rows);
        assert_eq!(
            months.iter().map(|m| m.month.month()).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(months[2].received, 4);
        assert_eq!(months.iter().map(|m| m.received).sum::<i64>(), 4);
    }

    #[test]
    fn figures_never_invent_ratios() {
        let f: Figures = Counts::default().into();
        assert_eq!(f.satisfaction, None);
        assert_eq!(f.on_time_share, None);
        assert_eq!(f.average_processing_days, None);
        let f: Figures = c(10, 4, 3).into();
        assert_eq!(f.late, 1);
        assert_eq!(f.on_time_share, Some(0.75));
        assert_eq!(f.online_share, Some(1.0));
        assert_eq!(f.average_processing_days, Some(2.0));
    }

    #[test]
    fn a_receipt_counts_once_under_its_channel() {
        for channel in Channel::ALL {
            let d = Delta::received(*channel);
            assert_eq!(d.received, 1);
            assert_eq!(d.in_progress, 1);
            assert_eq!(
                d.received_online + d.received_counter + d.received_postal,
                1,
                "{channel:?}"
            );
        }
        assert_eq!(Delta::received(Channel::Online).received_online, 1);
        assert_eq!(Delta::received(Channel::Counter).received_counter, 1);
        assert_eq!(Delta::received(Channel::Postal).received_postal, 1);
        // Other transitions receive nothing.
        for d in [Delta::resolved(true, 60), Delta::paid(1), Delta::rating(5)] {
            assert_eq!(
                (
                    d.received,
                    d.received_online,
                    d.received_counter,
                    d.received_postal
                ),
                (0, 0, 0, 0)
            );
        }
    }

    #[test]
    fn index_counters_count_what_their_names_say() {
        let d = Delta::received(Channel::Counter).digitised(true);
        assert_eq!(
            (d.received, d.received_counter, d.received_digitised),
            (1, 1, 1)
        );
        assert_eq!(
            Delta::received(Channel::Online)
                .digitised(false)
                .received_digitised,
            0
        );
        let d = Delta::resolved(false, 10).with_fee(true, true);
        assert_eq!(
            (d.resolved, d.resolved_with_fee, d.resolved_paid_online),
            (1, 1, 1)
        );
        // No fee: nothing to pay online, whatever the payment state says.
        let d = Delta::resolved(true, 10).with_fee(false, true);
        assert_eq!((d.resolved_with_fee, d.resolved_paid_online), (0, 0));
        let (i, r) = (Delta::result_issued(true), Delta::result_revoked(true));
        assert_eq!(
            (
                i.results_issued + r.results_issued,
                i.results_digitised + r.results_digitised
            ),
            (0, 0)
        );
        assert_eq!(Delta::result_issued(false).results_digitised, 0);
        assert_eq!(Delta::complaint_received().complaints_received, 1);
        let late = Delta::complaint_answered(false);
        assert_eq!(
            (late.complaints_answered, late.complaints_answered_on_time),
            (1, 0)
        );
        let ok = Delta::complaint_answered(true);
        assert_eq!(
            (ok.complaints_answered, ok.complaints_answered_on_time),
            (1, 1)
        );
    }

    /// Counts from receipts through `channels`, the way `record` adds deltas up.
    fn received_through(channels: &[Channel]) -> Counts {
        let mut c = Counts::default();
        for ch in channels {
            let d = Delta::received(*ch);
            c += Counts {
                received: d.received.into(),
                received_online: d.received_online.into(),
                received_counter: d.received_counter.into(),
                received_postal: d.received_postal.into(),
                in_progress: d.in_progress.into(),
                ..Counts::default()
            };
        }
        c
    }

    #[test]
    fn shares_by_channel_are_of_everything_received() {
        use Channel::{Counter, Online, Postal};
        let c = received_through(&[
            Online, Counter, Counter, Postal, Online, Online, Counter, Online,
        ]);
        assert_eq!(
            (
                c.received,
                c.received_online,
                c.received_counter,
                c.received_postal
            ),
            (8, 4, 3, 1)
        );
        let f: Figures = c.into();
        assert_eq!(f.online_share, Some(0.5));
        assert_eq!(f.counter_share, Some(0.38));
        assert_eq!(f.postal_share, Some(0.13));
        // Nothing received: no share is invented.
        let f: Figures = Counts::default().into();
        assert_eq!(
            (f.online_share, f.counter_share, f.postal_share),
            (None, None, None)
        );
        // All at the desk: the online share is zero, not absent.
        let f: Figures = received_through(&[Counter, Counter]).into();
        assert_eq!(
            (f.online_share, f.counter_share, f.postal_share),
            (Some(0.0), Some(1.0), Some(0.0))
        );
    }

    proptest::proptest! {
        #[test]
        fn channels_add_up_to_what_was_received(picks in proptest::collection::vec(0usize..3, 0..200)) {
            let channels: Vec<Channel> = picks.iter().map(|i| Channel::ALL[*i]).collect();
            let c = received_through(&channels);
            let n = |ch: Channel| channels.iter().filter(|x| **x == ch).count() as i64;
            proptest::prop_assert_eq!(c.received, channels.len() as i64);
            proptest::prop_assert_eq!(c.received_online, n(Channel::Online));
            proptest::prop_assert_eq!(c.received_counter, n(Channel::Counter));
            proptest::prop_assert_eq!(c.received_postal, n(Channel::Postal));
            let f: Figures = c.into();
            if c.received > 0 {
                let total = f.online_share.unwrap() + f.counter_share.unwrap() + f.postal_share.unwrap();
                // Each share is rounded to two places.
                proptest::prop_assert!((total - 1.0).abs() <= 0.015, "{total}");
            }
        }
    }

    #[test]
    fn roll_up_is_the_sum_of_its_parts() {
        let mut a = TenantCounts::default();
        a.procedures.insert(
            "1.1".into(),
            ("A".into(), "f".into(), "F".into(), c(3, 2, 1)),
        );
        let mut b = TenantCounts::default();
        b.procedures.insert(
            "1.1".into(),
            ("A".into(), "f".into(), "F".into(), c(5, 1, 1)),
        );
        b.procedures.insert(
            "1.2".into(),
            ("B".into(), "g".into(), "G".into(), c(1, 0, 0)),
        );
        let mut all = TenantCounts::default();
        all.merge(a);
        all.merge(b);
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let r = all.report(day, day, vec![]);
        assert_eq!(r.total.counts.received, 9);
        assert_eq!(r.total.counts.resolved, 3);
        assert_eq!(r.by_procedure[0].figures.counts.received, 8);
        assert_eq!(r.by_field.len(), 2);
    }
}
