//! `GET /api/v1/procedures` and `GET /api/v1/procedures/{code}`.

use crate::app::procedures::*;
use crate::error::{AppError, Problem};
use crate::services::catalog::store;
use crate::services::catalog::{Procedure, ProcedureCode, ProcedurePage};
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};

/// List the tenant's procedures (Danh sách thủ tục hành chính).
#[utoipa::path(
    get,
    path = "/api/v1/procedures",
    operation_id = "list_procedures",
    tag = "catalog",
    params(ListParams),
    responses(
        (status = 200, body = ProcedurePage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, description = "tenant suspended", content_type = "application/problem+json"),
        (status = 404, body = Problem, description = "unknown tenant", content_type = "application/problem+json"),
    )
)]
pub async fn list(
    tenant: CurrentTenant,
    params: web::Query<ListParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let query = params.into_inner().parse()?;
    if state.settings.catalog.cache {
        let json = cached_catalog(&state, &tenant)
            .await?
            .page_json(&query)
            .map_err(AppError::internal)?;
        return Ok(HttpResponse::Ok()
            .content_type(ContentType::json())
            .body(json));
    }
    let page = tenant
        .db
        .run(move |conn| Ok(store::query_page(conn, &query)?))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One procedure by code (Chi tiết thủ tục).
#[utoipa::path(
    get,
    path = "/api/v1/procedures/{code}",
    operation_id = "show_procedure",
    tag = "catalog",
    params(("code" = String, Path, description = "Procedure code, e.g. `1.000105`")),
    responses(
        (status = 200, body = Procedure),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    tenant: CurrentTenant,
    path: web::Path<CodePath>,
    state: web::Data<AppState>,
) -> Result<web::Json<Procedure>, AppError> {
    let code = ProcedureCode::parse(&path.code)
        .map_err(|e| AppError::bad_request("invalid_procedure_code", e.to_string()))?;
    let found = if state.settings.catalog.cache {
        cached_catalog(&state, &tenant)
            .await?
            .procedures()
            .iter()
            .find(|p| p.code == code.as_str())
            .cloned()
    } else {
        tenant
            .db
            .run(move |conn| Ok(store::find_active(conn, code.as_str())?))
            .await?
    };
    found
        .map(web::Json)
        .ok_or(AppError::NotFound { what: "procedure" })
}
