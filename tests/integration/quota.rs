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

#[actix_web::test]
async fn an_upload_past_the_storage_quota_gets_413_and_keeps_nothing() {
    use crate::world::{PHONE, WORK_PERMIT, World};
    use diesel::connection::SimpleConnection;
    let w = World::new(|_| {}).await;
    w.db.conn()
        .batch_execute(
            "UPDATE platform.tenants SET plan = '{\"storage_mb\": 1}' WHERE slug = 'tinh-a'",
        )
        .unwrap();
    w.app.app_state.registry.reload(&mut w.db.conn()).unwrap();
    // 700 KB each: the first fits the 1 MiB, the second would not.
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.resize(700_000, b'a');
    pdf.extend_from_slice(b"\n%%EOF\n");
    let token = w.token(w.citizen, "tinh-a", &[]);
    let data = serde_json::json!({
        "procedure": WORK_PERMIT,
        "phone": PHONE,
        "form": { "ho_ten": "John Smith", "ngay_sinh": "1990-02-03" }
    });
    let files: [(usize, &str, &[u8]); 1] = [(0, "don.pdf", &pdf)];
    let send = || w.multipart("/t/tinh-a/api/v1/dossiers", &token, &data, &files);
    let (status, body) = send().await;
    assert_eq!(status, 201, "{body}");
    let files_before = std::fs::read_dir(&w.storage).map_or(0, std::iter::Iterator::count);
    let (status, body) = send().await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "payload_too_large");
    assert_eq!(w.count("tinh-a", "dossiers"), 1);
    assert_eq!(w.count("tinh-a", "attachments"), 1);
    assert_eq!(
        std::fs::read_dir(&w.storage).map_or(0, std::iter::Iterator::count),
        files_before
    );
    // The other province has no such plan.
    let other = w.token(w.citizen, "tinh-b", &[]);
    let (status, _) = w
        .multipart(
            "/t/tinh-b/api/v1/dossiers",
            &other,
            &data,
            &[(0, "don.pdf", &pdf)],
        )
        .await;
    assert_eq!(status, 201);
}
