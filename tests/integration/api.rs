//! The procedures API end to end: resolution by host, domain and path; errors as problem+json;
//! filtering, diacritic-insensitive search and paging; cached and uncached paths agreeing;
//! catalog changes reaching the cache.

use crate::common::{TestApp, eventually, tenant_toml};
use dvc::tenancy::notify::Notifier;
use std::sync::Arc;
use std::time::Duration;

fn assert_problem(status: u16, ctype: &str, body: &serde_json::Value, want: u16, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(ctype, "application/problem+json", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], want);
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
}

#[actix_web::test]
async fn tenant_is_resolved_by_subdomain_own_domain_and_path() {
    let app = TestApp::with_two_tenants(4, 3).await;
    for (host, path) in [
        (Some("alpha.localhost"), "/api/v1/procedures"),
        (Some("ALPHA.localhost:8080"), "/api/v1/procedures"),
        (Some("dichvucong.alpha.gov.vn"), "/api/v1/procedures"),
        (None, "/t/alpha/api/v1/procedures"),
        (Some("localhost"), "/t/alpha/api/v1/procedures"),
        (Some("alpha.localhost"), "/t/alpha/api/v1/procedures"),
    ] {
        let (status, _, body) = app.get(host, path).await;
        assert_eq!(status, 200, "{host:?} {path}: {body}");
        assert_eq!(body["total"], 4, "{host:?} {path}");
    }
}

#[actix_web::test]
async fn unknown_suspended_and_malformed_tenants_get_clear_errors() {
    let app = TestApp::with_two_tenants(2, 2).await;
    let cases: &[(Option<&str>, &str, u16, &str)] = &[
        (
            Some("nowhere.localhost"),
            "/api/v1/procedures",
            404,
            "tenant_not_found",
        ),
        (
            None,
            "/t/nowhere/api/v1/procedures",
            404,
            "tenant_not_found",
        ),
        (
            Some("dichvucong.unknown.gov.vn"),
            "/api/v1/procedures",
            404,
            "tenant_not_found",
        ),
        (
            Some("localhost"),
            "/api/v1/procedures",
            404,
            "tenant_not_resolved",
        ),
        (
            Some("Bad_Slug.localhost"),
            "/api/v1/procedures",
            400,
            "invalid_tenant",
        ),
        (
            Some("x.localhost"),
            "/api/v1/procedures",
            400,
            "invalid_tenant",
        ),
        (None, "/t/Bad_Slug/api/v1/procedures", 400, "invalid_tenant"),
        (None, "/t/t_alpha/api/v1/procedures", 400, "invalid_tenant"),
        (
            None,
            "/t/alpha%22%3BDROP%20SCHEMA%20platform%3B--/api/v1/procedures",
            400,
            "invalid_tenant",
        ),
        (
            None,
            "/t/alpha'%20OR%201=1/api/v1/procedures",
            400,
            "invalid_tenant",
        ),
        (
            Some("alpha.localhost"),
            "/t/beta/api/v1/procedures",
            400,
            "tenant_conflict",
        ),
    ];
    for (host, path, want, code) in cases {
        let (status, ctype, body) = app.get(*host, path).await;
        assert_problem(status, &ctype, &body, *want, code);
    }
    // Nothing above touched the shared schema.
    assert_eq!(
        app.db
            .scalar_i64("SELECT count(*) AS n FROM platform.tenants"),
        2
    );

    let mut conn = app.db.conn();
    let slug = dvc::tenancy::TenantSlug::parse("beta").unwrap();
    dvc::hosting::lifecycle::set_status(&mut conn, &slug, dvc::tenancy::TenantStatus::Suspended)
        .unwrap();
    app.app_state.registry.reload(&mut conn).unwrap();
    let (status, ctype, body) = app.get(Some("beta.localhost"), "/api/v1/procedures").await;
    assert_problem(status, &ctype, &body, 403, "tenant_suspended");
    let (status, _, _) = app.get(Some("alpha.localhost"), "/api/v1/procedures").await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn filter_search_and_paging() {
    let app = TestApp::with_two_tenants(25, 3).await;
    let host = Some("alpha.localhost");
    let (_, _, body) = app
        .get(host, "/api/v1/procedures?field=viec-lam&per_page=5&page=2")
        .await;
    assert_eq!(body["total"], 13);
    assert_eq!(body["page"], 2);
    let codes: Vec<_> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        codes,
        [
            "ALPHA.0010",
            "ALPHA.0012",
            "ALPHA.0014",
            "ALPHA.0016",
            "ALPHA.0018"
        ]
    );
    for item in body["items"].as_array().unwrap() {
        assert_eq!(item["field"]["code"], "viec-lam");
        assert_eq!(item["field"]["name"], "Việc làm");
    }
    // Diacritic- and case-insensitive keyword search.
    for q in [
        "gi%E1%BA%A5y%20ph%C3%A9p",
        "GIAY%20PHEP",
        "giay%20phep%20lao",
        "s%E1%BB%91%2017",
    ] {
        let (status, _, body) = app
            .get(host, &format!("/api/v1/procedures?q={q}&per_page=100"))
            .await;
        assert_eq!(status, 200);
        assert!(body["total"].as_u64().unwrap() >= 1, "{q}: {body}");
    }
    let (_, _, body) = app
        .get(host, "/api/v1/procedures?q=giay%20phep&per_page=100")
        .await;
    assert_eq!(body["total"], 25);
    let (_, _, body) = app.get(host, "/api/v1/procedures?q=so%2017").await;
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"][0]["code"], "ALPHA.0017");
    let (_, _, body) = app.get(host, "/api/v1/procedures?q=that%20nghiep").await;
    assert_eq!(body["total"], 0);
    // A page past the end still tells the total.
    let (status, _, body) = app.get(host, "/api/v1/procedures?page=50").await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 25);
    assert_eq!(body["items"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn bad_queries_and_codes_are_rejected() {
    let app = TestApp::with_two_tenants(2, 2).await;
    let host = Some("alpha.localhost");
    for (path, want, code) in [
        ("/api/v1/procedures?per_page=0", 400, "invalid_per_page"),
        ("/api/v1/procedures?per_page=1000", 400, "invalid_per_page"),
        ("/api/v1/procedures?page=0", 400, "invalid_page"),
        ("/api/v1/procedures?page=abc", 400, "invalid_query"),
        ("/api/v1/procedures?field=%27%3Bdrop", 400, "invalid_field"),
        (
            "/api/v1/procedures/..%2F..%2Fetc",
            400,
            "invalid_procedure_code",
        ),
        ("/api/v1/procedures/NOPE.1", 404, "not_found"),
    ] {
        let (status, ctype, body) = app.get(host, path).await;
        assert_problem(status, &ctype, &body, want, code);
    }
    let long_q = "a".repeat(101);
    let (status, _, _) = app
        .get(host, &format!("/api/v1/procedures?q={long_q}"))
        .await;
    assert_eq!(status, 400);
    let (status, _, body) = app.get(host, "/api/v1/procedures/ALPHA.0001").await;
    assert_eq!(status, 200);
    assert_eq!(body["code"], "ALPHA.0001");
    // Another tenant's code is not found through this tenant.
    let (status, _, _) = app.get(host, "/api/v1/procedures/BETA.0001").await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn cached_and_uncached_paths_answer_the_same() {
    let cached = TestApp::with_two_tenants(25, 7).await;
    let uncached = TestApp::spawn_on(cached.db.clone(), |s| s.catalog.cache = false).await;
    for path in [
        "/api/v1/procedures",
        "/api/v1/procedures?per_page=100",
        "/api/v1/procedures?field=an-toan&page=2&per_page=3",
        "/api/v1/procedures?q=GIAY%20phep&per_page=7&page=3",
        "/api/v1/procedures?q=so%201",
        "/api/v1/procedures?page=99",
        "/api/v1/procedures/ALPHA.0003",
    ] {
        for host in ["alpha.localhost", "beta.localhost"] {
            let a = cached.get(Some(host), path).await;
            let b = uncached.get(Some(host), path).await;
            assert_eq!(a, b, "{host}{path}");
        }
    }
}

#[actix_web::test]
async fn a_catalog_change_reaches_the_cache_through_redis() {
    let app = TestApp::with_two_tenants(3, 3).await;
    let host = Some("alpha.localhost");
    let (_, _, before) = app.get(host, "/api/v1/procedures/ALPHA.0001").await;
    assert_eq!(before["name"], "Thủ tục alpha số 1: cấp giấy phép lao động");
    let changed =
        tenant_toml("alpha", "ALPHA", 4).replace("Thủ tục alpha số 1:", "Thủ tục đã sửa:");
    let report = app.db.apply_texts(&[("alpha.toml", changed)]);
    let settings = crate::common::settings_for(&app.db);
    Notifier::new(&settings.redis.url, &settings.redis.prefix)
        .unwrap()
        .publish(&report.events())
        .await
        .unwrap();
    let app = std::rc::Rc::new(app);
    let seen = eventually(Duration::from_secs(2), || {
        let app = app.clone();
        async move {
            let (_, _, now) = app.get(host, "/api/v1/procedures/ALPHA.0001").await;
            now["name"] == "Thủ tục đã sửa: cấp giấy phép lao động"
        }
    })
    .await;
    assert!(seen, "cache was not invalidated");
    let (_, _, body) = app.get(host, "/api/v1/procedures").await;
    assert_eq!(body["total"], 4);
}

#[actix_web::test]
async fn health_readiness_and_openapi() {
    let app = TestApp::with_two_tenants(1, 1).await;
    let (status, _, body) = app.get(None, "/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, _, body) = app.get(None, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["postgres"], "ok");
    assert_eq!(body["redis"], "ok");
    assert_eq!(body["tenants"], 2);
    let (status, _, doc) = app.get(None, "/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/procedures"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/procedures/{code}"]["get"].is_object());
    assert!(doc["components"]["schemas"]["ProcedurePage"].is_object());
    for (path, method) in [
        ("/api/v1/dossiers", "post"),
        ("/api/v1/dossiers/{code}/actions", "post"),
        ("/api/v1/dossiers/{code}/supplement", "post"),
        ("/api/v1/inbox", "get"),
        ("/api/v1/lookup", "post"),
        ("/api/v1/stats", "get"),
        ("/api/v1/stats/public", "get"),
        ("/api/v1/sync/events", "post"),
        ("/api/v1/account/dossiers", "get"),
        ("/api/v1/procedures/{code}/inherit", "post"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    // Every schema reference resolves: nothing the document names is missing.
    let text = doc.to_string();
    let mut missing = Vec::new();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        if !doc["components"]["schemas"][name].is_object() {
            missing.push(name.to_owned());
        }
    }
    assert!(missing.is_empty(), "unresolved schemas: {missing:?}");
}

#[actix_web::test]
async fn readiness_fails_when_postgres_is_unreachable() {
    let db = Arc::new(crate::common::TestDb::new());
    let app = TestApp::spawn_on(db, |s| {
        s.database.url = "postgres://postgres@127.0.0.1:1/none".into();
        s.database.connect_timeout_secs = 1;
    })
    .await;
    let (status, _, body) = app.get(None, "/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(body["postgres"], "unreachable");
}

#[actix_web::test]
async fn unknown_routes_answer_problem_json() {
    let app = TestApp::with_two_tenants(1, 1).await;
    let (status, ctype, body) = app
        .get(Some("alpha.localhost"), "/api/v1/nothing-here")
        .await;
    assert_problem(status, &ctype, &body, 404, "not_found");
}

#[actix_web::test]
async fn an_exhausted_pool_answers_503_with_retry_after() {
    let db = Arc::new(crate::common::TestDb::new());
    db.apply_two(2, 2);
    let app = TestApp::spawn_on(db, |s| {
        s.catalog.cache = false;
        s.database.pool_size = 1;
        s.database.connect_timeout_secs = 1;
    })
    .await;
    let pool = app.app_state.shared.pool().clone();
    let held = tokio::task::spawn_blocking(move || pool.get().unwrap())
        .await
        .unwrap();
    let (status, ctype, body) = app.get(Some("alpha.localhost"), "/api/v1/procedures").await;
    assert_problem(status, &ctype, &body, 503, "service_unavailable");
    drop(held);
    let (status, _, _) = app.get(Some("alpha.localhost"), "/api/v1/procedures").await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn metrics_count_requests_by_route_status_and_tenant() {
    let app = TestApp::with_two_tenants(3, 1).await;
    for _ in 0..3 {
        app.get(None, "/t/alpha/api/v1/procedures").await;
    }
    app.get(None, "/t/beta/api/v1/procedures/nope!").await;
    let mut resp = awc::Client::default()
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let body = String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap();
    let line = |needle: &str| {
        body.lines()
            .find(|l| l.starts_with("dvc_http_requests_total{") && l.contains(needle))
            .map(str::to_owned)
    };
    let alpha = line("tenant=\"alpha\"").expect(&body);
    assert!(
        alpha.contains("route=\"/t/{tenant}/api/v1/procedures\""),
        "{alpha}"
    );
    assert!(alpha.contains("status=\"200\""), "{alpha}");
    assert!(alpha.trim_end().ends_with(" 3"), "{alpha}");
    let beta = line("tenant=\"beta\"").expect(&body);
    assert!(beta.contains("status=\"400\""), "{beta}");
    assert!(body.contains("dvc_http_request_duration_seconds_bucket{"));
    assert!(body.contains("dvc_db_pool_connections{"));
    assert!(
        body.contains("dvc_tenant_schemas{status=\"ok\"} 2"),
        "{body}"
    );
    assert!(body.contains("dvc_webhook_outbox_events{status=\"pending\"} 0"));
    assert!(body.contains("dvc_metrics_snapshot_ok 1"));
    // The public listener has none, whatever the request says about its host (issue 15,
    // item 6: `Forwarded: host=` used to pass the check).
    for host in [None, Some("alpha.localhost"), Some("127.0.0.1")] {
        let (status, _, _) = app.get(host, "/metrics").await;
        assert_eq!(status, 404, "{host:?}");
    }
    let (status, _, _) = app
        .call("GET", "/metrics", &[("Forwarded", "host=127.0.0.1")])
        .await;
    assert_eq!(status, 404);
    // Nor does the metrics listener answer anything else.
    let other = awc::Client::default()
        .get(format!("{}/t/alpha/api/v1/procedures", app.metrics_base))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
}
