//! Statistics: incremental daily aggregates per procedure (written by each transition in its
//! own transaction), summed over a period, per procedure and field, and rolled up over tenants.

use crate::db::schema::tenant::stats_daily;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A change to one day's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta {
    pub received: i32,
    pub received_online: i32,
    pub resolved: i32,
    pub resolved_on_time: i32,
    pub processing_seconds: i64,
    pub rating_sum: i32,
    pub rating_count: i32,
}

impl Delta {
    pub fn received(online: bool) -> Self {
        Self {
            received: 1,
            received_online: i32::from(online),
            ..Self::default()
        }
    }

    pub fn resolved(on_time: bool, processing_seconds: i64) -> Self {
        Self {
            resolved: 1,
            resolved_on_time: i32::from(on_time),
            processing_seconds,
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

/// Adds `delta` to the day's row of the procedure (creating it).
pub fn record(
    conn: &mut PgConnection,
    day: NaiveDate,
    procedure: &str,
    d: Delta,
) -> QueryResult<()> {
    use stats_daily as s;
    diesel::insert_into(s::table)
        .values((
            s::day.eq(day),
            s::procedure_code.eq(procedure),
            s::received.eq(d.received),
            s::received_online.eq(d.received_online),
            s::resolved.eq(d.resolved),
            s::resolved_on_time.eq(d.resolved_on_time),
            s::processing_seconds.eq(d.processing_seconds),
            s::rating_sum.eq(d.rating_sum),
            s::rating_count.eq(d.rating_count),
        ))
        .on_conflict((s::day, s::procedure_code))
        .do_update()
        .set((
            s::received.eq(s::received + d.received),
            s::received_online.eq(s::received_online + d.received_online),
            s::resolved.eq(s::resolved + d.resolved),
            s::resolved_on_time.eq(s::resolved_on_time + d.resolved_on_time),
            s::processing_seconds.eq(s::processing_seconds + d.processing_seconds),
            s::rating_sum.eq(s::rating_sum + d.rating_sum),
            s::rating_count.eq(s::rating_count + d.rating_count),
        ))
        .execute(conn)
        .map(drop)
}

/// Raw counters: they add up across days, procedures and tenants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Counts {
    pub received: i64,
    pub received_online: i64,
    pub resolved: i64,
    pub resolved_on_time: i64,
    pub processing_seconds: i64,
    pub rating_sum: i64,
    pub rating_count: i64,
    /// Received and not yet decided, now.
    pub in_progress: i64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.received += o.received;
        self.received_online += o.received_online;
        self.resolved += o.resolved;
        self.resolved_on_time += o.resolved_on_time;
        self.processing_seconds += o.processing_seconds;
        self.rating_sum += o.rating_sum;
        self.rating_count += o.rating_count;
        self.in_progress += o.in_progress;
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
    pub online_share: Option<f64>,
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

/// Sums of the daily aggregates over `[$1, $2)` per procedure; reads only the period's rows
/// through the primary key (day, procedure).
pub const PERIOD_SQL: &str = "\
SELECT s.procedure_code AS code, p.name_vi AS name, p.field_code AS field, f.name_vi AS field_name,
       sum(s.received)::int8 AS received, sum(s.received_online)::int8 AS received_online,
       sum(s.resolved)::int8 AS resolved, sum(s.resolved_on_time)::int8 AS resolved_on_time,
       sum(s.processing_seconds)::int8 AS processing_seconds,
       sum(s.rating_sum)::int8 AS rating_sum, sum(s.rating_count)::int8 AS rating_count,
       0::int8 AS in_progress
FROM stats_daily s
JOIN procedures p ON p.code = s.procedure_code
JOIN fields f ON f.code = p.field_code
WHERE s.day >= $1 AND s.day < $2
GROUP BY s.procedure_code, p.name_vi, p.field_code, f.name_vi";

/// Dossiers received and not yet decided, per procedure, now (through the open-dossiers index).
pub const IN_PROGRESS_SQL: &str = "\
SELECT d.procedure_code AS code, p.name_vi AS name, p.field_code AS field, f.name_vi AS field_name,
       0::int8 AS received, 0::int8 AS received_online, 0::int8 AS resolved,
       0::int8 AS resolved_on_time, 0::int8 AS processing_seconds, 0::int8 AS rating_sum,
       0::int8 AS rating_count, count(*)::int8 AS in_progress
FROM dossiers d
JOIN procedures p ON p.code = d.procedure_code
JOIN fields f ON f.code = p.field_code
WHERE d.status IN ('received', 'in_review', 'supplement_requested', 'resubmitted')
GROUP BY d.procedure_code, p.name_vi, p.field_code, f.name_vi";

#[derive(QueryableByName)]
struct AggregateRow {
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    field: String,
    #[diesel(sql_type = Text)]
    field_name: String,
    #[diesel(sql_type = BigInt)]
    received: i64,
    #[diesel(sql_type = BigInt)]
    received_online: i64,
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
}

/// The tenant's counters for `[from, to)`: two small queries, one over the daily aggregates
/// and one counting open dossiers.
pub fn tenant_counts(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<TenantCounts> {
    let mut rows: Vec<AggregateRow> = diesel::sql_query(PERIOD_SQL)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .load(conn)?;
    rows.extend(diesel::sql_query(IN_PROGRESS_SQL).load::<AggregateRow>(conn)?);
    let mut out = TenantCounts::default();
    for r in rows {
        let counts = Counts {
            received: r.received,
            received_online: r.received_online,
            resolved: r.resolved,
            resolved_on_time: r.resolved_on_time,
            processing_seconds: r.processing_seconds,
            rating_sum: r.rating_sum,
            rating_count: r.rating_count,
            in_progress: r.in_progress,
        };
        out.procedures
            .entry(r.code)
            .or_insert_with(|| (r.name, r.field, r.field_name, Counts::default()))
            .3 += counts;
    }
    Ok(out)
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
