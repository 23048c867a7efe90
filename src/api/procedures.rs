//! `GET /api/v1/procedures` and `GET /api/v1/procedures/{code}`.

use crate::error::{AppError, Problem};
use crate::services::catalog::cache::CachedCatalog;
use crate::services::catalog::store;
use crate::services::catalog::{
    DEFAULT_PER_PAGE, FieldCode, MAX_PER_PAGE, Procedure, ProcedureCode, ProcedurePage,
    ProcedureQuery,
};
use crate::services::text::SearchTerms;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Field (lĩnh vực) code, e.g. `viec-lam`.
    field: Option<String>,
    /// Keyword; matches code and names, with or without Vietnamese diacritics.
    q: Option<String>,
    /// Page number, from 1.
    page: Option<u32>,
    /// Items per page, 1–100 (default 20).
    per_page: Option<u32>,
}

impl ListParams {
    fn parse(self) -> Result<ProcedureQuery, AppError> {
        let field = self
            .field
            .filter(|f| !f.is_empty())
            .map(|f| FieldCode::parse(&f))
            .transpose()
            .map_err(|e| AppError::bad_request("invalid_field", e.to_string()))?;
        let q = self.q.unwrap_or_default();
        if q.chars().count() > 100 {
            return Err(AppError::bad_request(
                "invalid_query",
                "q: at most 100 characters",
            ));
        }
        let page = self.page.unwrap_or(1);
        if page == 0 || page > 100_000 {
            return Err(AppError::bad_request(
                "invalid_page",
                "page: from 1 to 100000",
            ));
        }
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(AppError::bad_request(
                "invalid_per_page",
                format!("per_page: from 1 to {MAX_PER_PAGE}"),
            ));
        }
        Ok(ProcedureQuery {
            field,
            terms: SearchTerms::parse(&q),
            page,
            per_page,
        })
    }
}

/// The tenant's whole active catalog, from the cache when it holds it.
pub(crate) async fn cached_catalog(
    state: &AppState,
    tenant: &CurrentTenant,
) -> Result<Arc<CachedCatalog>, AppError> {
    let id = tenant.tenant.id;
    if let Some(hit) = state.catalog.get(id) {
        return Ok(hit);
    }
    let ticket = state.catalog.ticket();
    let loaded = Arc::new(CachedCatalog::new(
        tenant.db.run(|conn| Ok(store::load_active(conn)?)).await?,
    ));
    state.catalog.store(id, ticket, loaded.clone());
    Ok(loaded)
}

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

#[derive(Debug, Deserialize)]
pub struct CodePath {
    code: String,
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
