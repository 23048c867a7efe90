//! The leader's dashboard: this year's figures for the tenant (rolled up over the tenants
//! below it), drawn as server-rendered SVG with the numbers also in tables: received, resolved,
//! on time, satisfaction, per month, per field, per intake channel (online, at the one-stop
//! desk, by post) and per unit.

use super::charts::{self, Series};
use super::i18n;
use super::session::Visitor;
use crate::auth::roles::Role;
use crate::error::AppError;
use crate::services::dossiers::Channel;
use crate::services::{calendar, stats};
use actix_web::{HttpResponse, web};
use chrono::{Datelike, NaiveDate};
use minijinja::context;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct DashboardQuery {
    /// "0" to show this tenant alone; the tenants below it are included otherwise.
    rollup: Option<String>,
}

pub async fn dashboard(v: Visitor, q: web::Query<DashboardQuery>) -> HttpResponse {
    let result = async {
        if !v.has(Role::Leader) {
            return Err(v.user().err().unwrap_or(AppError::Forbidden));
        }
        let home = v.tenant.tenant.clone();
        let children = v.state.registry.descendants(home.id);
        let rollup = q.rollup.as_deref() != Some("0") && !children.is_empty();
        let mut tenants = vec![home.clone()];
        if rollup {
            tenants.extend(children.iter().cloned());
        }
        let today = calendar::local_date(chrono::Utc::now());
        let from = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
        let to = today.succ_opt().unwrap_or(today);
        let report = crate::app::stats::report(&v.state, tenants.clone(), from, to).await?;
        let ids: Vec<uuid::Uuid> = tenants.iter().map(|t| t.id).collect();
        let (months, totals) = v
            .state
            .stats_db
            .run(move |c| {
                Ok((
                    stats::monthly(c, &ids, from, to)?,
                    stats::per_tenant(c, &ids, from, to)?,
                ))
            })
            .await?;
        let months = stats::fill_months(from, today, &months);
        // One row per tenant of the roll-up, for the comparison table.
        let per_tenant: Vec<_> = if rollup {
            tenants
                .iter()
                .map(|t| {
                    let c = totals.iter().find(|c| c.tenant_id == t.id);
                    let (received, resolved, on_time) =
                        c.map_or((0, 0, 0), |c| (c.received, c.resolved, c.resolved_on_time));
                    context! {
                        name => t.name_vi.clone(),
                        received,
                        resolved,
                        on_time => (resolved > 0).then(|| on_time as f64 * 100.0 / resolved as f64),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let locale = v.locale;
        let fmt = move |x: f64| i18n::decimal(locale, x, if x.fract() == 0.0 { 0 } else { 1 });
        let month_labels: Vec<String> = months
            .iter()
            .map(|m| format!("{:02}/{}", m.month.month(), m.month.year() % 100))
            .collect();
        let month_points: Vec<Series> = months
            .iter()
            .zip(&month_labels)
            .map(|(m, label)| Series {
                label,
                value: m.received as f64,
            })
            .collect();
        let total = &report.total;
        let per_month = charts::columns(
            "per-month",
            &v.t("dashboard.per_month"),
            &i18n::fill(
                &v.t("dashboard.per_month_desc"),
                &[("n", i18n::integer(locale, total.counts.received))],
            ),
            &month_points,
            &fmt,
            &v.t("dashboard.no_data"),
        );
        let on_time = charts::share(
            "on-time",
            &v.t("dashboard.on_time"),
            &i18n::fill(
                &v.t("dashboard.on_time_desc"),
                &[
                    (
                        "on_time",
                        i18n::integer(locale, total.counts.resolved_on_time),
                    ),
                    ("resolved", i18n::integer(locale, total.counts.resolved)),
                ],
            ),
            total.counts.resolved_on_time as f64,
            total.counts.resolved as f64,
            &fmt,
            &v.t("dashboard.no_data"),
        );
        let field_points: Vec<Series> = report
            .by_field
            .iter()
            .map(|g| Series {
                label: &g.name,
                value: g.figures.counts.received as f64,
            })
            .collect();
        let per_field = charts::bars(
            "per-field",
            &v.t("dashboard.per_field"),
            &v.t("dashboard.per_field_desc"),
            &field_points,
            &fmt,
            &v.t("dashboard.no_data"),
        );
        let satisfaction = charts::share(
            "satisfaction",
            &v.t("dashboard.satisfaction"),
            &i18n::fill(
                &v.t("dashboard.satisfaction_desc"),
                &[("n", i18n::integer(locale, total.counts.rating_count))],
            ),
            total.counts.rating_sum as f64,
            (total.counts.rating_count * 5) as f64,
            &fmt,
            &v.t("dashboard.no_ratings"),
        );
        // Received per channel: the counts add up to `received`, the shares to about 100 %.
        let by_channel: Vec<(Channel, i64, Option<f64>)> = vec![
            (
                Channel::Online,
                total.counts.received_online,
                total.online_share,
            ),
            (
                Channel::Counter,
                total.counts.received_counter,
                total.counter_share,
            ),
            (
                Channel::Postal,
                total.counts.received_postal,
                total.postal_share,
            ),
        ];
        let channel_names: Vec<String> = by_channel
            .iter()
            .map(|(c, _, _)| v.t(&format!("channel.{}", c.as_str())))
            .collect();
        let channel_points: Vec<Series> = by_channel
            .iter()
            .zip(&channel_names)
            .map(|((_, n, _), label)| Series {
                label,
                value: *n as f64,
            })
            .collect();
        let per_channel = charts::bars(
            "per-channel",
            &v.t("channel.heading"),
            &i18n::fill(
                &v.t("channel.desc"),
                &[
                    (
                        "online",
                        i18n::integer(locale, total.counts.received_online),
                    ),
                    (
                        "counter",
                        i18n::integer(locale, total.counts.received_counter),
                    ),
                    (
                        "postal",
                        i18n::integer(locale, total.counts.received_postal),
                    ),
                ],
            ),
            &channel_points,
            &fmt,
            &v.t("dashboard.no_data"),
        );
        let channels: Vec<_> = by_channel
            .iter()
            .zip(&channel_names)
            .map(|((c, n, share), name)| {
                context! {
                    code => c.as_str(),
                    name,
                    received => n,
                    share => share.map(|s| s * 100.0),
                }
            })
            .collect();
        let fields: Vec<_> = report
            .by_field
            .iter()
            .map(|g| {
                context! {
                    name => g.name.clone(),
                    received => g.figures.counts.received,
                    resolved => g.figures.counts.resolved,
                    on_time => g.figures.on_time_share.map(|s| s * 100.0),
                    satisfaction => g.figures.satisfaction,
                }
            })
            .collect();
        // Where dossiers of declared processes sit in this tenant, and which steps are late.
        let now = v.state.now();
        let steps = v
            .tenant
            .db
            .run(move |c| Ok(crate::services::dossiers::store::load_by_step(c, now)?))
            .await?;
        // Decision 766's digitisation figures of this tenant, this year.
        let digitisation = crate::app::results::digitisation(&v.tenant, today.year()).await?;
        let month_rows: Vec<_> = months
            .iter()
            .zip(&month_labels)
            .map(|(m, label)| context! { label, received => m.received, resolved => m.resolved })
            .collect();
        // This tenant's complaints past their answer date (each tenant answers its own).
        let late_complaints: Vec<_> = crate::app::complaints::overdue(&v.state, &v.tenant)
            .await?
            .into_iter()
            .map(|c| context! { code => c.code, title => c.title, due_date => c.due_date })
            .collect();
        Ok(v.page(
            "dashboard.html",
            context! {
                nav => "dashboard",
                late_complaints,
                year => today.year(),
                rollup,
                has_children => !children.is_empty(),
                units => tenants.len(),
                total => context! {
                    received => total.counts.received,
                    resolved => total.counts.resolved,
                    in_progress => total.counts.in_progress,
                    late => total.late,
                    on_time => total.on_time_share.map(|s| s * 100.0),
                    online => total.online_share.map(|s| s * 100.0),
                    received_online => total.counts.received_online,
                    received_counter => total.counts.received_counter,
                    received_postal => total.counts.received_postal,
                    days => total.average_processing_days,
                    satisfaction => total.satisfaction,
                },
                per_month, on_time, per_field, satisfaction, per_channel,
                fields, month_rows, per_tenant, channels,
                steps => minijinja::Value::from_serialize(&steps),
                digitisation => context! {
                    figures => minijinja::Value::from_serialize(&digitisation),
                    dossier_rate => digitisation.dossier_rate() * 100.0,
                    result_rate => digitisation.result_rate() * 100.0,
                },
            },
        ))
    }
    .await;
    v.respond(result)
}
