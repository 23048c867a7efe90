//! The service index page (Chỉ số phục vụ, Decision 766): public on every tenant's portal,
//! rolled up over the tenants below a ministry or province, for a month or a year, with each
//! formula written out and CSV/JSON downloads; leaders get the same at `/lanh-dao/chi-so-phuc-vu`
//! with the late dossiers of each unit. Counts only on the public page: no personal data.

use super::i18n;
use super::session::Visitor;
use crate::app::service_index::{self as si, IndexParams, ServiceIndexReport};
use crate::auth::roles::Role;
use crate::error::AppError;
use crate::locale::Locale;
use crate::services::dossiers::store::UnitLate;
use crate::services::service_index::Period;
use actix_web::{HttpResponse, web};
use chrono::{Datelike, Months};
use minijinja::{Value, context};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    period: Option<String>,
    year: Option<String>,
    /// "0": this tenant alone; the tenants below it are included otherwise.
    rollup: Option<String>,
}

pub async fn public(v: Visitor, q: web::Query<PageQuery>) -> HttpResponse {
    let result = render(&v, q.into_inner(), false).await;
    v.respond(result)
}

pub async fn leader(v: Visitor, q: web::Query<PageQuery>) -> HttpResponse {
    let result = async {
        if !v.has(Role::Leader) {
            return Err(v.user().err().unwrap_or(AppError::Forbidden));
        }
        render(&v, q.into_inner(), true).await
    }
    .await;
    v.respond(result)
}

async fn render(v: &Visitor, q: PageQuery, leader: bool) -> Result<HttpResponse, AppError> {
    let params = IndexParams {
        period: q.period,
        year: q.year,
        ..IndexParams::default()
    };
    let period = si::period(&params)?;
    let home = v.tenant.tenant.clone();
    let has_children = !v.state.registry.descendants(home.id).is_empty();
    let rollup = has_children && q.rollup.as_deref() != Some("0");
    let tenants = si::scope(&v.state, &home, rollup);
    let report = si::index(&v.state, tenants, period).await?;
    let late_units = if leader {
        Some(si::late_by_unit(&v.state, &v.tenant, period).await?)
    } else {
        None
    };
    let period_query = match period {
        Period::Month { .. } => format!("period={}", report.period),
        Period::Year(_) => format!("year={}", report.period),
    };
    let rollup_value = if rollup { "1" } else { "0" };
    let mut ctx = vec![
        ("nav", Value::from("service_index")),
        (
            "action",
            Value::from(if leader {
                "/lanh-dao/chi-so-phuc-vu"
            } else {
                "/chi-so-phuc-vu"
            }),
        ),
        ("period", Value::from(report.period.clone())),
        ("period_label", Value::from(period_label(v, period))),
        (
            "api",
            Value::from(format!(
                "/api/v1/stats/service-index?{period_query}&rollup={rollup}"
            )),
        ),
        ("period_query", Value::from(period_query)),
        ("partial", Value::from(report.partial)),
        ("tenants", Value::from(report.tenants.len())),
        ("has_children", Value::from(has_children)),
        ("rollup", Value::from(rollup)),
        ("rollup_value", Value::from(rollup_value)),
        ("months", Value::from(months(v.locale, &v.state))),
        ("years", Value::from(years(&v.state))),
        ("catalog", Value::from_serialize(report.catalog)),
        ("channels", Value::from(channels(v, &report))),
    ];
    ctx.extend(groups(v, &report));
    if let Some(units) = late_units {
        ctx.push(("late_units", Value::from(late(v, units))));
    }
    Ok(v.page(
        "service_index.html",
        ctx.into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<std::collections::BTreeMap<String, Value>>()
            .into(),
    ))
}

fn percent(locale: Locale, share: f64) -> String {
    i18n::decimal(locale, share * 100.0, 1)
}

fn points(locale: Locale, x: f64) -> String {
    i18n::decimal(locale, x, if x.fract() == 0.0 { 0 } else { 2 })
}

/// The groups in the page's language, and the total.
fn groups(v: &Visitor, r: &ServiceIndexReport) -> Vec<(&'static str, Value)> {
    let en = v.locale == Locale::En;
    let pick = |vi: &'static str, e: &'static str| if en { e } else { vi };
    let list: Vec<Value> = r
        .index
        .groups
        .iter()
        .map(|g| {
            let indicators: Vec<Value> = g
                .indicators
                .iter()
                .map(|i| {
                    // No complaint yet is said so, rather than shown as a figure.
                    let empty =
                        if i.code == "complaints_on_time" && r.counts.complaints_received == 0 {
                            v.t("service_index.no_complaints")
                        } else {
                            v.t("service_index.not_applicable")
                        };
                    context! {
                        name => pick(i.name_vi, i.name_en),
                        numerator => i.numerator,
                        denominator => i.denominator,
                        share => i.share.map(|s| percent(v.locale, s)),
                        formula => pick(i.formula_vi, i.formula_en),
                        empty,
                    }
                })
                .collect();
            context! {
                code => g.code,
                name => pick(g.name_vi, g.name_en),
                max_points => points(v.locale, g.max_points),
                points => g.points.map(|p| points(v.locale, p)),
                formula => pick(g.formula_vi, g.formula_en),
                indicators,
            }
        })
        .collect();
    vec![
        ("groups", Value::from(list)),
        ("points", Value::from(points(v.locale, r.index.points))),
        (
            "max_points",
            Value::from(points(v.locale, r.index.max_points)),
        ),
        ("max_points_short", Value::from(r.index.max_points < 100.0)),
        (
            "score",
            Value::from(r.index.score.map(|s| i18n::decimal(v.locale, s, 1))),
        ),
    ]
}

fn channels(v: &Visitor, r: &ServiceIndexReport) -> Vec<Value> {
    [
        ("desk.channel_online", r.counts.received_online),
        ("desk.channel_counter", r.counts.received_counter),
        ("desk.channel_postal", r.counts.received_postal),
    ]
    .into_iter()
    .map(|(key, count)| context! { label => v.t(key), count })
    .collect()
}

fn period_label(v: &Visitor, p: Period) -> String {
    match p {
        Period::Month { year, month } => i18n::fill(
            &v.t("service_index.month_label"),
            &[("month", month.to_string()), ("year", year.to_string())],
        ),
        Period::Year(year) => i18n::fill(
            &v.t("service_index.year_label"),
            &[("year", year.to_string())],
        ),
    }
}

/// The last 24 months, this one first.
fn months(locale: Locale, state: &crate::state::AppState) -> Vec<Value> {
    let today = crate::services::calendar::local_date(state.now());
    let first = today.with_day(1).unwrap_or(today);
    (0..24)
        .filter_map(|i| first.checked_sub_months(Months::new(i)))
        .map(|m| {
            let label = i18n::fill(
                &i18n::t(locale, "service_index.month_label"),
                &[
                    ("month", m.month().to_string()),
                    ("year", m.year().to_string()),
                ],
            );
            context! { value => format!("{:04}-{:02}", m.year(), m.month()), label }
        })
        .collect()
}

/// This year and the four before it.
fn years(state: &crate::state::AppState) -> Vec<i32> {
    let y = crate::services::calendar::local_date(state.now()).year();
    (0..5).map(|i| y - i).collect()
}

fn late(v: &Visitor, units: Vec<UnitLate>) -> Vec<Value> {
    units
        .into_iter()
        .map(|u| {
            let name = u
                .unit_name
                .or(u.unit)
                .unwrap_or_else(|| v.t("service_index.no_unit"));
            let dossiers: Vec<Value> = u
                .dossiers
                .iter()
                .map(|d| {
                    context! {
                        code => d.code.clone(),
                        procedure_code => d.procedure_code.clone(),
                        due_date => i18n::date(v.locale, d.due_date),
                        decided => d.decided,
                        days_late => d.days_late,
                    }
                })
                .collect();
            context! {
                name,
                open_late => u.open_late,
                decided_late => u.decided_late,
                dossiers,
            }
        })
        .collect()
}
