//! Fairness between tenants: a tenant over its plan's request rate gets 429 while another
//! tenant at the same moment is served normally, and the count is shared by every instance.

use crate::common::{TestApp, TestDb, tenant_toml};
use std::sync::Arc;

#[actix_web::test]
async fn a_tenant_over_its_rate_gets_429_while_another_is_served() {
    let db = TestDb::new();
    let limited = format!(
        "{}\n[plan]\nrequests_per_minute = 6\n",
        tenant_toml("alpha", "ALPHA", 2)
    );
    db.apply_texts(&[
        ("alpha.toml", limited),
        ("beta.toml", tenant_toml("beta", "BETA", 2)),
    ]);
    let db = Arc::new(db);
    // Two instances: the limit is counted once, across both.
    let one = TestApp::spawn_on(db.clone(), |_| {}).await;
    let two = TestApp::spawn_on(db.clone(), |_| {}).await;
    let (mut alpha, mut beta) = (Vec::new(), Vec::new());
    for i in 0..10 {
        let app = if i % 2 == 0 { &one } else { &two };
        alpha.push(
            app.call("GET", "/api/v1/procedures", &[("Host", "alpha.localhost")])
                .await,
        );
        beta.push(
            app.call("GET", "/api/v1/procedures", &[("Host", "beta.localhost")])
                .await,
        );
    }
    let ok = |v: &[(u16, String, serde_json::Value)]| v.iter().filter(|r| r.0 == 200).count();
    assert_eq!(ok(&alpha), 6, "alpha gets its six a minute");
    let refused: Vec<_> = alpha.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(refused.len(), 4);
    assert!(
        refused
            .iter()
            .all(|r| r.1.starts_with("application/problem+json")
                && r.2["code"] == "too_many_requests")
    );
    assert_eq!(ok(&beta), 10, "beta is not slowed by alpha");
    // The limit is per tenant, not per route: alpha's portal is refused too, and health is not.
    let (status, _, _) = one.call("GET", "/", &[("Host", "alpha.localhost")]).await;
    assert_eq!(status, 429);
    let (status, _, _) = one
        .call("GET", "/healthz", &[("Host", "alpha.localhost")])
        .await;
    assert_eq!(status, 200);
}
