//! The `CurrentTenant` extractor: the request's tenant, resolved by `tenancy::resolver` with
//! this deployment's base domain and issuer host, admitted for its status, with its handle.

use crate::error::AppError;
use crate::state::AppState;
use crate::tenancy::resolver::{PATH_PARAM, ResolvedTenant, admits, issuer_host, resolve_on};
use crate::tenancy::{CurrentTenant, Tenant};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use std::future::{Ready, ready};
use std::sync::Arc;
use tracing_actix_web::RootSpan;

/// How a request of this deployment is resolved: [`resolve_on`] with the state's base domain
/// and issuer host. Everything that resolves a live request's tenant should call this.
pub fn resolve_request(
    state: &AppState,
    host_header: Option<&str>,
    path_slug: Option<&str>,
) -> Result<Arc<Tenant>, AppError> {
    resolve_on(
        &state.registry,
        host_header,
        path_slug,
        &state.base_domain,
        issuer_host(&state.settings.auth.issuer).as_ref(),
    )
}

impl FromRequest for CurrentTenant {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(current_tenant(req))
    }
}

/// The extractor's work, for callers that hold only the request.
pub(crate) fn current_tenant(req: &HttpRequest) -> Result<CurrentTenant, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing")))?;
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .map(|v| {
            v.to_str()
                .map_err(|_| AppError::InvalidTenant("Host header is not ASCII".into()))
        })
        .transpose()?
        .or_else(|| req.uri().host());
    let tenant = resolve_request(state, host, req.match_info().get(PATH_PARAM))?;
    admits(tenant.status, req.path())?;
    if let Some(span) = req.extensions().get::<RootSpan>() {
        span.record("tenant", tenant.slug.as_str());
    }
    req.extensions_mut()
        .insert(ResolvedTenant(tenant.slug.as_str().to_owned()));
    let db = tenant.db(&state.pools);
    Ok(CurrentTenant { tenant, db })
}
