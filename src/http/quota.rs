//! Fairness between tenants: each tenant's requests per minute, from its plan, counted over
//! every instance in Redis (GCRA, the same limiter as sign-in attempts). A tenant over its
//! limit gets 429 with `Retry-After`; the others are served as usual. Tenants without a limit
//! in their plan, and the health and metrics endpoints, are never counted. While Redis is
//! away nothing is limited: serving matters more.

use super::tenant::resolve_request;
use crate::auth::rate_limit::Quota;
use crate::error::AppError;
use crate::state::AppState;
use crate::tenancy::resolver::ResolvedTenant;
use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{HttpMessage, ResponseError, web};
use futures_util::future::{LocalBoxFuture, Ready, ready};
use std::rc::Rc;
use std::time::Duration;

/// The middleware (`App::wrap(TenantQuota)`).
pub struct TenantQuota;

impl<S, B> Transform<S, ServiceRequest> for TenantQuota
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = TenantQuotaService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(TenantQuotaService {
            service: Rc::new(service),
        }))
    }
}

pub struct TenantQuotaService<S> {
    service: Rc<S>,
}

/// The tenant a request names and its limit, before routing (so the `/t/{slug}/` prefix is
/// read by hand: path parameters are not matched yet).
fn limit_of(req: &ServiceRequest, state: &AppState) -> Option<(uuid::Uuid, String, u32)> {
    let (tenant, slug, limit) = tenant_of(req, state)?;
    // Metered here, where every request's tenant is known before routing.
    if req.path().contains("/api/") {
        state.api_calls.count(tenant);
    }
    Some((tenant, slug, limit?))
}

fn tenant_of(req: &ServiceRequest, state: &AppState) -> Option<(uuid::Uuid, String, Option<u32>)> {
    if matches!(req.path(), "/healthz" | "/readyz" | "/metrics") {
        return None;
    }
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    let path_slug = req
        .path()
        .strip_prefix("/t/")
        .and_then(|rest| rest.split('/').next());
    let tenant = resolve_request(state, host, path_slug).ok()?;
    Some((
        tenant.id,
        tenant.slug.as_str().to_owned(),
        tenant.plan.requests_per_minute,
    ))
}

impl<S, B> Service<ServiceRequest> for TenantQuotaService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let limited = state.as_ref().and_then(|s| limit_of(&req, s));
        Box::pin(async move {
            if let (Some((tenant, slug, per_minute)), Some(state)) = (limited, state) {
                let quota = Quota {
                    limit: per_minute,
                    period: Duration::from_secs(60),
                };
                match state
                    .rate_limiter
                    .check("t", &format!("{tenant}:requests"), quota)
                    .await
                {
                    Ok(Some(wait)) => {
                        // Counted in the metrics under its tenant like any other answer.
                        req.extensions_mut().insert(ResolvedTenant(slug));
                        let refused = AppError::TooManyRequests {
                            retry_after_secs: crate::error::retry_after(wait),
                        }
                        .error_response();
                        return Ok(req.into_response(refused).map_into_right_body());
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "tenant rate limit unavailable"),
                }
            }
            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        })
    }
}
