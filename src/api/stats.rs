//! Statistics: the tenant's own figures for its leaders, rolled up over the tenants below it,
//! and a public transparency view without personal data.

use crate::auth::principal::Principal;
use crate::auth::roles::{Role, can_read_statistics};
use crate::error::{AppError, Problem};
use crate::services::calendar;
use crate::services::stats::{self, Report, TenantCounts};
use crate::state::AppState;
use crate::tenancy::{CurrentTenant, Tenant, TenantSlug};
use actix_web::{HttpResponse, web};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// First day (YYYY-MM-DD); default: 1 January of this year.
    from: Option<NaiveDate>,
    /// Day after the last (exclusive); default: tomorrow.
    to: Option<NaiveDate>,
    /// Include every tenant below this one (roll-up). Default true.
    rollup: Option<bool>,
    /// One tenant below this one instead of this tenant.
    tenant: Option<String>,
}

fn period(p: &StatsParams) -> Result<(NaiveDate, NaiveDate), AppError> {
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
            db: crate::db::TenantDb::for_tenant(&state.pools, t),
        };
        let catalog = super::procedures::cached_catalog(state, &current).await?;
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

fn with_descendants(state: &AppState, tenant: &Arc<Tenant>, rollup: bool) -> Vec<Arc<Tenant>> {
    let mut list = vec![tenant.clone()];
    if rollup {
        list.extend(state.registry.descendants(tenant.id));
    }
    list
}

/// Statistics for leaders (Thống kê): received, resolved, on time, late, in progress, online
/// share, average processing days and satisfaction, per field and procedure, rolled up over
/// the tenants below.
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    tag = "statistics",
    params(StatsParams),
    responses(
        (status = 200, body = Report),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn leader(
    principal: Principal,
    params: web::Query<StatsParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    principal.require(Role::Leader)?;
    let p = params.into_inner();
    let (from, to) = period(&p)?;
    let home = principal.tenant.tenant.clone();
    let target = match p.tenant.as_deref() {
        None | Some("") => home.clone(),
        Some(slug) => {
            let slug =
                TenantSlug::parse(slug).map_err(|e| AppError::InvalidTenant(e.to_string()))?;
            let t = state
                .registry
                .by_slug(&slug)
                .ok_or(AppError::TenantNotFound)?;
            if !can_read_statistics(&[home.id], t.id, &state.registry.ancestors(t.id)) {
                return Err(AppError::Forbidden);
            }
            t
        }
    };
    let tenants = with_descendants(&state, &target, p.rollup.unwrap_or(true));
    Ok(HttpResponse::Ok().json(report(&state, tenants, from, to).await?))
}

/// Public transparency figures (Công khai kết quả giải quyết): aggregates only, no personal
/// data, for anyone.
#[utoipa::path(
    get,
    path = "/api/v1/stats/public",
    tag = "statistics",
    params(StatsParams),
    responses((status = 200, body = Report))
)]
pub async fn public(
    tenant: CurrentTenant,
    params: web::Query<StatsParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    if p.tenant.is_some() {
        return Err(AppError::bad_request(
            "invalid_query",
            "tenant: not available on the public view",
        ));
    }
    let (from, to) = period(&p)?;
    let tenants = with_descendants(&state, &tenant.tenant, p.rollup.unwrap_or(false));
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(report(&state, tenants, from, to).await?))
}
