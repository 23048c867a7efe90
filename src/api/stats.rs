//! Statistics: the tenant's own figures for its leaders, rolled up over the tenants below it,
//! and a public transparency view without personal data.

use crate::app::service_index::{IndexParams, ServiceIndexReport};
use crate::app::stats::*;
use crate::auth::principal::Principal;
use crate::auth::roles::{Role, can_read_statistics};
use crate::error::{AppError, Problem};
use crate::services::stats::Report;
use crate::state::AppState;
use crate::tenancy::{CurrentTenant, TenantSlug};
use actix_web::{HttpResponse, web};

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

/// The service index (Bộ chỉ số phục vụ, Decision 766) of this tenant for a month or a year,
/// rolled up over the tenants below it: publicity, progress, online service, online payment,
/// digitisation and satisfaction, each with its figures, points and formula. Public: counts
/// only, no personal data. `format=csv` answers the same as CSV for the national reporting.
#[utoipa::path(
    get,
    path = "/api/v1/stats/service-index",
    operation_id = "service_index",
    tag = "statistics",
    params(IndexParams),
    responses(
        (status = 200, description = "The index (JSON, or CSV with `format=csv`)", content(
            (ServiceIndexReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn service_index(
    tenant: CurrentTenant,
    params: web::Query<IndexParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    use crate::app::service_index as si;
    let p = params.into_inner();
    let csv = match p.format.as_deref() {
        None | Some("" | "json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(AppError::bad_request(
                "invalid_format",
                "format: json or csv",
            ));
        }
    };
    let period = si::period(&p)?;
    let tenants = si::scope(&state, &tenant.tenant, p.rollup.unwrap_or(true));
    let report = si::index(&state, tenants, period).await?;
    let mut response = HttpResponse::Ok();
    response.insert_header(("Cache-Control", "public, max-age=300"));
    if csv {
        let name = format!("chi-so-phuc-vu-{}-{}.csv", report.tenant, report.period);
        Ok(response
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{name}\""),
            ))
            .body(si::csv(&report)))
    } else {
        Ok(response.json(report))
    }
}
