//! Tenant isolation under concurrency, with and without the catalog cache, down to a pool of one
//! connection, and the quarantine search path for queries that forgot their scope.

use crate::common::{TestApp, TestDb, tenant_toml};
use diesel::prelude::*;
use futures_util::future::join_all;
use std::sync::Arc;

/// Fires `n` requests at once, alternating tenants and the two ways of naming them, and checks
/// every answer holds only its own tenant's rows.
async fn hammer(app: &TestApp, n: usize) {
    let requests = (0..n).map(|i| {
        let (slug, mark, total) = if i % 2 == 0 {
            ("alpha", "ALPHA.", 30)
        } else {
            ("beta", "BETA.", 12)
        };
        let host = format!("{slug}.localhost");
        let by_host = i % 4 < 2;
        let query = match i % 3 {
            0 => "per_page=100".to_string(),
            1 => "field=viec-lam&per_page=100".to_string(),
            _ => format!(
                "q={}&per_page=100",
                mark.trim_end_matches('.').to_lowercase()
            ),
        };
        async move {
            let (status, _, body) = if by_host {
                app.get(Some(&host), &format!("/api/v1/procedures?{query}"))
                    .await
            } else {
                app.get(None, &format!("/t/{slug}/api/v1/procedures?{query}"))
                    .await
            };
            (slug, mark, total, query, status, body)
        }
    });
    for (slug, mark, total, query, status, body) in join_all(requests).await {
        assert_eq!(status, 200, "{slug} {query}: {body}");
        let items = body["items"].as_array().expect("items");
        assert!(!items.is_empty(), "{slug} {query}");
        for item in items {
            let code = item["code"].as_str().unwrap();
            assert!(code.starts_with(mark), "{slug} got {code} for {query}");
        }
        if query == "per_page=100" {
            assert_eq!(body["total"], total, "{slug}");
        }
    }
}

#[actix_web::test]
async fn parallel_requests_only_see_their_own_tenant_cached() {
    let app = TestApp::with_two_tenants(30, 12).await;
    hammer(&app, 400).await;
}

#[actix_web::test]
async fn parallel_requests_only_see_their_own_tenant_uncached_pool_of_one() {
    let db = TestDb::new();
    db.apply_texts(&[
        ("alpha.toml", tenant_toml("alpha", "ALPHA", 30)),
        ("beta.toml", tenant_toml("beta", "BETA", 12)),
    ]);
    let app = TestApp::spawn_on(Arc::new(db), |s| {
        s.catalog.cache = false;
        s.database.pool_size = 1;
    })
    .await;
    hammer(&app, 300).await;
}

#[test]
fn a_query_without_tenant_scope_fails() {
    let db = TestDb::new();
    db.apply_two(3, 2);
    let pool = db.pool(1);
    let mut pooled = pool.get().unwrap();
    let conn: &mut PgConnection = &mut pooled;
    let err = diesel::sql_query("SELECT code FROM procedures")
        .execute(conn)
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = diesel::sql_query("CREATE TABLE leak (id int)")
        .execute(conn)
        .unwrap_err();
    assert!(
        err.to_string().contains("no schema has been selected"),
        "creating an unqualified table must not succeed: {err}"
    );
}

#[test]
fn tenant_scope_does_not_leak_into_the_pooled_connection() {
    let db = TestDb::new();
    let report = db.apply_two(3, 5);
    assert_eq!(report.tenants.len(), 2);
    let pool = db.pool(1);
    let registry = dvc::tenancy::Registry::new();
    registry.reload(&mut pool.get().unwrap()).unwrap();
    let alpha = registry
        .by_slug(&dvc::tenancy::TenantSlug::parse("alpha").unwrap())
        .unwrap();
    let beta = registry
        .by_slug(&dvc::tenancy::TenantSlug::parse("beta").unwrap())
        .unwrap();
    let count = |t: &dvc::tenancy::Tenant| -> i64 {
        t.db(&dvc::db::Pools::single(pool.clone()))
            .run_blocking(|conn| {
                Ok(dvc::db::schema::tenant::procedures::table
                    .count()
                    .get_result(conn)?)
            })
            .unwrap()
    };
    // One connection, alternating tenants: each sees only its own rows.
    assert_eq!(count(&alpha), 3);
    assert_eq!(count(&beta), 5);
    assert_eq!(count(&alpha), 3);
    // Same (only) pooled connection, no scope: back in quarantine.
    let mut pooled = pool.get().unwrap();
    let conn: &mut PgConnection = &mut pooled;
    let err = dvc::db::schema::tenant::procedures::table
        .count()
        .get_result::<i64>(conn)
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn a_connection_is_retired_after_serving_too_many_tenants() {
    let db = TestDb::new();
    db.apply_texts(&[
        ("alpha.toml", tenant_toml("alpha", "ALPHA", 1)),
        ("beta.toml", tenant_toml("beta", "BETA", 1)),
        ("gamma.toml", tenant_toml("gamma", "GAMMA", 1)),
    ]);
    let mut settings = crate::common::settings_for(&db);
    settings.database.max_tenants_per_connection = 2;
    let pool = dvc::db::build_pool_sized(&settings.database, 1);
    let registry = dvc::tenancy::Registry::new();
    registry.reload(&mut pool.get().unwrap()).unwrap();
    let backend = |tenant: &str| -> i32 {
        let t = registry
            .by_slug(&dvc::tenancy::TenantSlug::parse(tenant).unwrap())
            .unwrap();
        t.db(&dvc::db::Pools::single(pool.clone()))
            .run_blocking(|conn| {
                Ok(
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
                        "pg_backend_pid()",
                    ))
                    .get_result(conn)?,
                )
            })
            .unwrap()
    };
    let first = backend("alpha");
    assert_eq!(backend("beta"), first);
    assert_eq!(backend("alpha"), first);
    // The third distinct tenant is served, then the connection is retired.
    assert_eq!(backend("gamma"), first);
    assert_ne!(backend("alpha"), first);
}
