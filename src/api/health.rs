use crate::state::AppState;
use actix_web::{HttpResponse, web};
use diesel::RunQueryDsl;
use serde_json::json;
use std::time::Duration;

/// The process is alive.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "alive")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// PostgreSQL and Redis are reachable.
#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "a dependency is unreachable")
))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let postgres = state
        .shared
        .run(|conn| Ok(diesel::sql_query("SELECT 1").execute(conn)?))
        .await
        .is_ok();
    let redis = async {
        let mut conn = state.notifier.redis().conn().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    let redis = matches!(
        tokio::time::timeout(Duration::from_secs(2), redis).await,
        Ok(Ok(_))
    );
    let body = json!({
        "postgres": if postgres { "ok" } else { "unreachable" },
        "redis": if redis { "ok" } else { "unreachable" },
        "tenants": state.registry.len(),
    });
    if postgres && redis {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus metrics (text format): requests by route, status and tenant; pools; outboxes;
/// tenant migrations.
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "Prometheus text exposition", content_type = "text/plain")
))]
pub async fn metrics(req: actix_web::HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !state.settings.metrics.enabled {
        return HttpResponse::NotFound().finish();
    }
    // Through the public ingress the Host is a portal's name: metrics are for the scraper,
    // which reaches the pod by its address.
    if !state.settings.metrics.allow_domain_hosts && !scraped_by_address(&req) {
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

/// True when the request names the server by IP address or `localhost`, as a scraper does.
fn scraped_by_address(req: &actix_web::HttpRequest) -> bool {
    let host = req.connection_info().host().to_owned();
    let name = host
        .strip_prefix('[')
        .and_then(|h| h.split(']').next())
        .unwrap_or_else(|| host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h));
    name == "localhost" || name.parse::<std::net::IpAddr>().is_ok()
}

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
