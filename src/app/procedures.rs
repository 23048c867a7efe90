//! Use cases behind `api::procedures` and the portal pages that do the same (moved out of the
//! JSON adapter so both adapters call them).

use crate::error::AppError;
use crate::services::catalog::cache::CachedCatalog;
use crate::services::catalog::store;
use crate::services::catalog::{DEFAULT_PER_PAGE, FieldCode, MAX_PER_PAGE, ProcedureQuery};
use crate::services::text::SearchTerms;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Field (lĩnh vực) code, e.g. `viec-lam`.
    pub(crate) field: Option<String>,
    /// Keyword; matches code and names, with or without Vietnamese diacritics.
    pub(crate) q: Option<String>,
    /// Page number, from 1.
    pub(crate) page: Option<u32>,
    /// Items per page, 1–100 (default 20).
    pub(crate) per_page: Option<u32>,
}

impl ListParams {
    pub(crate) fn parse(self) -> Result<ProcedureQuery, AppError> {
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

#[derive(Debug, Deserialize)]
pub struct CodePath {
    pub(crate) code: String,
}
