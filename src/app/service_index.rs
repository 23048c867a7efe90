//! Use cases of the service index (Decision 766): a tenant's index for a month or a year, rolled
//! up over the tenants below it, for the public page and its export; and the leader's
//! drill-down to late dossiers per unit. The counters come from the shared daily aggregates in
//! one query for every tenant of a roll-up; publicity comes from each tenant's cached catalog.

use crate::error::AppError;
use crate::services::calendar;
use crate::services::dossiers::store::{self as dossier_store, UnitLate};
use crate::services::service_index::{self, CatalogFacts, Index, Period};
use crate::services::stats::{self, Counts};
use crate::state::AppState;
use crate::tenancy::{CurrentTenant, Tenant};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IndexParams {
    /// A month, `YYYY-MM` (e.g. `2026-11`); default: this month.
    pub(crate) period: Option<String>,
    /// A calendar year, `YYYY`, instead of a month.
    pub(crate) year: Option<String>,
    /// Include every tenant below this one (a ministry's or province's roll-up). Default true.
    pub(crate) rollup: Option<bool>,
    /// `json` (default) or `csv`.
    pub(crate) format: Option<String>,
}

/// The service index of a tenant (and the tenants below it) for a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceIndexReport {
    /// The tenant the index is for.
    pub tenant: String,
    pub tenant_name: String,
    /// Every tenant counted: the tenant first, then those below it in a roll-up.
    pub tenants: Vec<String>,
    /// `YYYY-MM` or `YYYY`.
    pub period: String,
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    /// Whether the period is still running (its figures will change).
    pub partial: bool,
    pub catalog: CatalogFacts,
    pub counts: Counts,
    pub index: Index,
}

/// The period a query asks for, or the caller's mistake as a 400.
pub(crate) fn period(p: &IndexParams) -> Result<Period, AppError> {
    let today = calendar::local_date(chrono::Utc::now());
    Period::parse(p.period.as_deref(), p.year.as_deref(), today)
        .map_err(|e| AppError::bad_request("invalid_period", e.to_string()))
}

/// The tenant and, when `rollup`, every tenant below it.
pub(crate) fn scope(state: &AppState, tenant: &Arc<Tenant>, rollup: bool) -> Vec<Arc<Tenant>> {
    crate::app::stats::with_descendants(state, tenant, rollup)
}

/// The index of `tenants` (the first is the one it is for) over `period`.
pub(crate) async fn index(
    state: &AppState,
    tenants: Vec<Arc<Tenant>>,
    period: Period,
) -> Result<ServiceIndexReport, AppError> {
    let (from, to) = period.bounds();
    let ids: Vec<uuid::Uuid> = tenants.iter().map(|t| t.id).collect();
    // Periods are whole months: the monthly counters answer them.
    let counts = state
        .stats_db
        .run(move |conn| Ok(stats::month_totals(conn, &ids, from, to)?))
        .await?;
    let mut catalog = CatalogFacts::default();
    for t in &tenants {
        let current = CurrentTenant {
            tenant: t.clone(),
            db: t.db(&state.pools),
        };
        let cached = crate::app::procedures::cached_catalog(state, &current).await?;
        catalog += CatalogFacts::of(cached.procedures());
    }
    let first = tenants.first().ok_or(AppError::TenantNotFound)?;
    let today = calendar::local_date(state.now());
    Ok(ServiceIndexReport {
        tenant: first.slug.as_str().to_owned(),
        tenant_name: first.name_vi.clone(),
        tenants: tenants.iter().map(|t| t.slug.as_str().to_owned()).collect(),
        period: period.label(),
        from,
        to,
        partial: today < to,
        index: service_index::compute(&counts, &catalog),
        catalog,
        counts,
    })
}

/// The index as CSV for the national reporting.
pub(crate) fn csv(report: &ServiceIndexReport) -> String {
    service_index::csv(&report.tenant, &report.period, &report.index)
}

/// The tenant's late dossiers per unit for the period (open ones as of today), through the
/// tenant's own handle.
pub(crate) async fn late_by_unit(
    state: &AppState,
    tenant: &CurrentTenant,
    period: Period,
) -> Result<Vec<UnitLate>, AppError> {
    let (from, to) = period.bounds();
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc() - chrono::Duration::hours(7))
            .ok_or_else(|| AppError::bad_request("invalid_period", "period: out of range"))
    };
    let (from, until) = (start(from)?, start(to)?);
    let today = calendar::local_date(state.now());
    tenant
        .db
        .run(move |c| Ok(dossier_store::late_by_unit(c, today, from, until)?))
        .await
}
