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
