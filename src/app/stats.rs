//! Use cases behind `api::stats` and the portal pages that do the same (moved out of the
//! JSON adapter so both adapters call them).

use crate::error::AppError;
use crate::services::calendar;
use crate::services::stats::{self, Report, TenantCounts};
use crate::state::AppState;
use crate::tenancy::{CurrentTenant, Tenant};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// First day (YYYY-MM-DD); default: 1 January of this year.
    pub(crate) from: Option<NaiveDate>,
    /// Day after the last (exclusive); default: tomorrow.
    pub(crate) to: Option<NaiveDate>,
    /// Include every tenant below this one (roll-up). Default true.
    pub(crate) rollup: Option<bool>,
    /// One tenant below this one instead of this tenant.
    pub(crate) tenant: Option<String>,
}

pub(crate) fn period(p: &StatsParams) -> Result<(NaiveDate, NaiveDate), AppError> {
    let today = calendar::local_date(chrono::Utc::now());
    let from = p
        .from
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
    let to = p.to.unwrap_or_else(|| today.succ_opt().unwrap_or(today));
    if to <= from || (to - from).num_days() > 3660 {
        return Err(AppError::bad_request(
            "invalid_period",
            "from must be before to, and the period at most ten years",
        ));
    }
    Ok((from, to))
}

/// Sums the counters of `tenants` (one query on the shared aggregates) and names procedures
/// and fields from the tenants' cached catalogs.
pub(crate) async fn report(
    state: &AppState,
    tenants: Vec<Arc<Tenant>>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Report, AppError> {
    let ids: Vec<uuid::Uuid> = tenants.iter().map(|t| t.id).collect();
    let counts = state
        .stats_db
        .run(move |conn| Ok(stats::counts(conn, &ids, from, to)?))
        .await?;
    let mut procedure_names = HashMap::new();
    let mut field_names = HashMap::new();
    for t in &tenants {
        if counts.keys().all(|(p, _)| procedure_names.contains_key(p)) {
            break;
        }
        let current = CurrentTenant {
            tenant: t.clone(),
            db: t.db(&state.pools),
        };
        let catalog = crate::app::procedures::cached_catalog(state, &current).await?;
        for p in catalog.procedures() {
            procedure_names
                .entry(p.code.clone())
                .or_insert_with(|| p.name.clone());
            field_names
                .entry(p.field.code.clone())
                .or_insert_with(|| p.field.name.clone());
        }
    }
    let named = TenantCounts::named(
        counts,
        |p| procedure_names.get(p).cloned(),
        |f| field_names.get(f).cloned(),
    );
    Ok(named.report(
        from,
        to,
        tenants.iter().map(|t| t.slug.as_str().to_owned()).collect(),
    ))
}

pub(crate) fn with_descendants(
    state: &AppState,
    tenant: &Arc<Tenant>,
    rollup: bool,
) -> Vec<Arc<Tenant>> {
    let mut list = vec![tenant.clone()];
    if rollup {
        list.extend(state.registry.descendants(tenant.id));
    }
    list
}
