//! Receiving end of upward sync: a parent tenant records its child tenants' dossier events,
//! after checking the signature, the freshness and that the sender really is below it.

use crate::auth::principal::Principal;
use crate::error::{AppError, Problem};
use crate::services::sync::{self, ChildDossier, DossierEvent, Receipt, VerifyError};
use crate::state::AppState;
use crate::tenancy::{CurrentTenant, TenantSlug};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::time::Duration;
use utoipa::IntoParams;

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Receive a dossier event from a tenant below this one (signed webhook).
#[utoipa::path(
    post,
    path = "/api/v1/sync/events",
    tag = "sync",
    request_body = DossierEvent,
    responses(
        (status = 202, description = "recorded"),
        (status = 401, body = Problem, description = "bad or stale signature", content_type = "application/problem+json"),
        (status = 403, body = Problem, description = "sender is not below this tenant", content_type = "application/problem+json"),
        (status = 409, body = Problem, description = "event already recorded (replay)", content_type = "application/problem+json"),
    ),
    security(("sync_signature" = []))
)]
pub async fn receive(
    tenant: CurrentTenant,
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let secret = state
        .settings
        .sync
        .secret
        .as_ref()
        .map(ExposeSecret::expose_secret)
        .ok_or(AppError::NotFound { what: "sync" })?;
    let source = header(&req, sync::SOURCE_HEADER)
        .and_then(|s| TenantSlug::parse(s).ok())
        .ok_or(AppError::Unauthorized)?;
    let (ts, sig) = header(&req, sync::TIMESTAMP_HEADER)
        .zip(header(&req, sync::SIGNATURE_HEADER))
        .ok_or(AppError::Unauthorized)?;
    let key = sync::derive_key(secret, source.as_str(), tenant.tenant.slug.as_str());
    let window = Duration::from_secs(state.settings.sync.replay_window_secs);
    sync::verify(&key, ts, sig, &body, chrono::Utc::now().timestamp(), window).map_err(|e| {
        tracing::warn!(source = %source, error = %e, "sync event refused");
        match e {
            VerifyError::Malformed | VerifyError::Stale | VerifyError::BadSignature => {
                AppError::Unauthorized
            }
        }
    })?;
    // Only tenants below this one report here, and only about themselves.
    let sender = state
        .registry
        .by_slug(&source)
        .filter(|t| state.registry.ancestors(t.id).contains(&tenant.tenant.id))
        .ok_or(AppError::Forbidden)?;
    let event: DossierEvent = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?;
    if event.source_tenant != sender.slug.as_str() {
        return Err(AppError::Forbidden);
    }
    let receipt = tenant
        .db
        .run(move |conn| Ok(sync::receive(conn, &event)?))
        .await?;
    match receipt {
        Receipt::Duplicate => Err(AppError::Conflict {
            code: "duplicate_event",
            detail: "this event was already recorded".into(),
        }),
        Receipt::Applied | Receipt::Superseded => Ok(HttpResponse::Accepted().finish()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChildParams {
    /// Only this child tenant.
    source: Option<String>,
}

/// Dossiers of the tenants below, as their events reported them (Hồ sơ của đơn vị cấp dưới).
#[utoipa::path(
    get,
    path = "/api/v1/sync/dossiers",
    tag = "sync",
    params(ChildParams),
    responses((status = 200, body = [ChildDossier])),
    security(("bearer" = []))
)]
pub async fn children(
    principal: Principal,
    params: web::Query<ChildParams>,
) -> Result<HttpResponse, AppError> {
    if !principal.is_official() {
        return Err(AppError::Forbidden);
    }
    let source = params
        .into_inner()
        .source
        .map(|s| TenantSlug::parse(&s).map_err(|e| AppError::InvalidTenant(e.to_string())))
        .transpose()?;
    let list = principal
        .tenant
        .db
        .run(move |conn| {
            Ok(sync::child_dossiers(
                conn,
                source
                    .as_ref()
                    .map(super::super::tenancy::names::TenantSlug::as_str),
                500,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}
