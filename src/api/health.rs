use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

/// `/healthz`: the process answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// `/readyz`: whether the dependencies answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` or `unreachable`.
    pub postgres: &'static str,
    /// `ok` or `unreachable`.
    pub redis: &'static str,
    /// Tenants in this instance's registry.
    pub tenants: usize,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "alive", body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// PostgreSQL and Redis are reachable.
#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, description = "ready", body = Readiness),
    (status = 503, description = "a dependency is unreachable", body = Readiness)
))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let postgres = state.shared.ping().await;
    let redis = async {
        let mut conn = state.notifier.redis().conn().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    let redis = matches!(
        tokio::time::timeout(Duration::from_secs(2), redis).await,
        Ok(Ok(_))
    );
    let state_of = |ok: bool| if ok { "ok" } else { "unreachable" };
    let body = Readiness {
        postgres: state_of(postgres),
        redis: state_of(redis),
        tenants: state.registry.len(),
    };
    if postgres && redis {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus metrics (text format): requests by route, status and tenant; pools; outboxes;
/// tenant migrations.
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "OpenMetrics text exposition",
        content_type = "application/openmetrics-text", body = String),
    (status = 404, description = "metrics are off, or were asked for on the public listener \
        (they are served on `server.metrics_port` only)")
))]
pub async fn metrics(req: actix_web::HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    // Only on the metrics listener (`server.metrics_port`): whatever a request says about its
    // host, the public listener never answers them.
    if !state.settings.metrics.enabled || req.app_data::<MetricsListener>().is_none() {
        return HttpResponse::NotFound().finish();
    }
    let snap = state
        .shared
        .run(|conn| Ok(crate::metrics::snapshot(conn)?))
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "metrics snapshot failed"))
        .ok();
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(snap.as_ref(), &state.pools.usage()))
}

/// Marks the application behind the metrics listener.
#[derive(Debug, Clone, Copy)]
pub struct MetricsListener;

/// Times every request and counts it by method, route pattern, status and tenant.
pub fn measure<S, B>(
    req: actix_web::dev::ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>>
+ use<S, B>
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    use actix_web::HttpMessage;
    let started = std::time::Instant::now();
    let method = req.method().as_str().to_owned();
    let fut = srv.call(req);
    async move {
        let res = fut.await?;
        let request = res.request();
        if let Some(state) = request.app_data::<web::Data<AppState>>() {
            let route = request
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into());
            let tenant = request
                .extensions()
                .get::<crate::tenancy::resolver::ResolvedTenant>()
                .map(|t| t.0.clone());
            state.metrics.observe(
                &method,
                &route,
                res.status().as_u16(),
                tenant.as_deref(),
                started.elapsed().as_secs_f64(),
            );
        }
        Ok(res)
    }
}
