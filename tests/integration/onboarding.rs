//! A province joins: the operator creates it as a draft under its ministry, its first admin
//! accepts the mailed invitation, invites staff, opens the portal, and the first dossier's
//! events reach the ministry. Real PostgreSQL, Redis and SMTP.

use crate::common::eventually;
use crate::world::{World, account};
use mail_parser::MessageParser;
use std::time::Duration;

const OPERATOR_TOKEN: &str = "operator-automation-token-0123456789";

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn world() -> World {
    World::new(|s| s.operator.api_token_sha256 = Some(sha256_hex(OPERATOR_TOKEN))).await
}

/// The invitation token mailed to `to`, once the mail arrives.
async fn invitation_for(w: &World, to: &str) -> String {
    let mut found = None;
    let arrived = eventually(Duration::from_secs(20), || {
        let hit = w.smtp.messages().iter().find_map(|raw| {
            let m = MessageParser::default().parse(raw)?;
            let rcpt = m.to()?.first()?.address()?.to_string();
            let text = m.body_text(0)?.to_string();
            (rcpt == to && text.contains("/loi-moi?token=")).then_some(text)
        });
        let done = hit.is_some();
        if let Some(t) = hit {
            found = Some(t);
        }
        async move { done }
    })
    .await;
    assert!(arrived, "no invitation mail for {to}");
    let text = found.unwrap();
    let at = text.find("/loi-moi?token=").unwrap() + "/loi-moi?token=".len();
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn province(admin: &str) -> serde_json::Value {
    serde_json::json!({
        "slug": "tinh-c", "code": "TC", "kind": "province", "parent": "bo",
        "name_vi": "Sở Lao động tỉnh C", "name_en": "Province C Labour Department",
        "admin_email": admin,
    })
}

fn done(onboarding: &serde_json::Value, step: &str) -> bool {
    onboarding["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["step"] == step)
        .unwrap()["done"]
        .as_bool()
        .unwrap()
}

#[actix_web::test]
async fn a_province_onboards_from_the_invitation_to_its_first_dossier() {
    let w = world().await;
    let op = Some(OPERATOR_TOKEN);
    let tenants_before =
        w.db.scalar_i64("SELECT count(*) AS n FROM platform.tenants");

    // Bad requests create nothing, and say what is wrong.
    let (s, b) = w
        .req(
            "POST",
            "/api/v1/operator/tenants",
            None,
            Some(province("a@x.vn")),
        )
        .await;
    assert_eq!(s, 401, "{b}");
    let mut bad = province("not-an-address");
    bad["slug"] = "Tinh_C".into();
    let (s, b) = w
        .req("POST", "/api/v1/operator/tenants", op, Some(bad))
        .await;
    assert_eq!(s, 400, "{b}");
    let detail = b["detail"].as_str().unwrap();
    assert!(
        detail.contains("slug") && detail.contains("admin_email"),
        "{detail}"
    );
    let mut orphan = province("a@x.vn");
    orphan["parent"] = "khong-co".into();
    let (s, _) = w
        .req("POST", "/api/v1/operator/tenants", op, Some(orphan))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        w.db.scalar_i64("SELECT count(*) AS n FROM platform.tenants"),
        tenants_before
    );

    // The operator creates the province as a draft.
    let admin = account(&w.db, "quantri.c@example.vn", "Quản trị C");
    let officer = account(&w.db, "canbo.c@example.vn", "Cán bộ C");
    let leader = account(&w.db, "lanhdao.c@example.vn", "Lãnh đạo C");
    let (s, created) = w
        .req(
            "POST",
            "/api/v1/operator/tenants",
            op,
            Some(province("quantri.c@example.vn")),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["status"], "draft");
    assert!(done(&created, "provisioned") && done(&created, "portal_registered"));
    assert!(!done(&created, "admin_joined") && !done(&created, "live"));
    assert!(
        done(&created, "catalog"),
        "the ministry's catalog is inherited"
    );
    let (s, again) = w
        .req(
            "POST",
            "/api/v1/operator/tenants",
            op,
            Some(province("x@example.vn")),
        )
        .await;
    assert_eq!((s, again["code"].as_str()), (409, Some("tenant_exists")));
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM t_tinh_c.procedures WHERE inherited_from = 'bo' AND active"
        ),
        w.db.scalar_i64("SELECT count(*) AS n FROM t_bo.procedures WHERE active")
    );
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.oauth_clients WHERE client_id = 'portal-tinh-c'"
        ),
        1
    );

    // A draft is closed to citizens, open to its set-up.
    let citizen = w.token(w.citizen, "tinh-c", &[]);
    let (s, b) = w
        .req("GET", "/t/tinh-c/api/v1/dossiers", Some(&citizen), None)
        .await;
    assert_eq!((s, b["code"].as_str()), (403, Some("tenant_not_open")));
    let (s, notice) = get_host(&w, "tinh-c.localhost", "/").await;
    assert_eq!(s, 403);
    assert!(notice.contains("đang được chuẩn bị"), "{notice}");

    // The first admin's invitation: another account cannot use it; the admin can, once.
    let token = invitation_for(&w, "quantri.c@example.vn").await;
    let accept = |t: &str| serde_json::json!({ "token": t });
    let (s, _) = w
        .req(
            "POST",
            "/t/tinh-c/api/v1/invitations/accept",
            Some(&citizen),
            Some(accept(&token)),
        )
        .await;
    assert_eq!(s, 403, "a forwarded invitation grants nothing");
    let (s, _) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/invitations/accept",
            Some(&w.token(admin, "tinh-a", &[])),
            Some(accept(&token)),
        )
        .await;
    assert_eq!(s, 404, "an invitation works only at its own tenant");
    let as_admin = w.token(admin, "tinh-c", &[]);
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-c/api/v1/invitations/accept",
            Some(&as_admin),
            Some(accept(&token)),
        )
        .await;
    assert_eq!((s, b["role"].as_str()), (200, Some("tenant_admin")), "{b}");
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-c/api/v1/invitations/accept",
            Some(&as_admin),
            Some(accept(&token)),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (409, Some("invitation_spent")));

    // The admin cannot open the portal before staff are in place, then invites them.
    let as_admin = w.token(admin, "tinh-c", &["tenant_admin"]);
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-c/api/v1/admin/go-live",
            Some(&as_admin),
            None,
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (409, Some("not_ready")), "{b}");
    assert!(b["detail"].as_str().unwrap().contains("staff"));
    for (email, role) in [
        ("canbo.c@example.vn", "officer"),
        ("lanhdao.c@example.vn", "leader"),
    ] {
        let (s, b) = w
            .req(
                "POST",
                "/t/tinh-c/api/v1/admin/invitations",
                Some(&as_admin),
                Some(serde_json::json!({ "email": email, "role": role })),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-c/api/v1/admin/invitations",
            Some(&as_admin),
            Some(serde_json::json!({ "email": "x@example.vn", "role": "king" })),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid_role")));
    for (who, email) in [
        (officer, "canbo.c@example.vn"),
        (leader, "lanhdao.c@example.vn"),
    ] {
        let token = invitation_for(&w, email).await;
        let (s, b) = w
            .req(
                "POST",
                "/t/tinh-c/api/v1/invitations/accept",
                Some(&w.token(who, "tinh-c", &[])),
                Some(accept(&token)),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, checklist) = w
        .req(
            "GET",
            "/api/v1/operator/tenants/tinh-c/onboarding",
            op,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(done(&checklist, "admin_joined") && done(&checklist, "staff"));
    assert!(!done(&checklist, "live"));

    // Live: citizens file dossiers, and the ministry hears of them.
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-c/api/v1/admin/go-live",
            Some(&as_admin),
            None,
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, _) = w
        .req(
            "POST",
            "/t/tinh-c/api/v1/admin/go-live",
            Some(&as_admin),
            None,
        )
        .await;
    assert_eq!(s, 409, "going live twice is refused");
    let code = w.submit_work_permit("tinh-c", w.citizen).await;
    assert!(code.starts_with("TC-"), "{code}");
    let as_officer = w.token(officer, "tinh-c", &["officer"]);
    let (_, d) = w
        .req(
            "GET",
            &format!("/t/tinh-c/api/v1/dossiers/{code}"),
            Some(&as_officer),
            None,
        )
        .await;
    let (s, b) = w
        .req(
            "POST",
            &format!("/t/tinh-c/api/v1/dossiers/{code}/actions"),
            Some(&as_officer),
            Some(serde_json::json!({ "action": "receive", "version": d["version"] })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        eventually(Duration::from_secs(30), || async {
            w.db.scalar_i64(
                "SELECT count(*) AS n FROM t_bo.child_dossiers WHERE source_tenant = 'tinh-c'",
            ) == 1
        })
        .await,
        "the ministry did not receive the province's dossier events"
    );

    // Every step is in the audit log.
    for action in [
        "operator.tenant_created",
        "invitation.sent",
        "invitation.accepted",
        "tenant.live",
    ] {
        assert!(
            w.db.scalar_i64(&format!(
                "SELECT count(*) AS n FROM platform.audit_log a JOIN platform.tenants t \
                 ON t.id = a.tenant_id WHERE t.slug = 'tinh-c' AND a.action = '{action}'"
            )) >= 1,
            "{action} not audited"
        );
    }
}

async fn text(w: &World, path: &str) -> String {
    let mut resp = awc::Client::default()
        .get(format!("{}{}", w.app.base, path))
        .insert_header(("Authorization", format!("Bearer {OPERATOR_TOKEN}")))
        .send()
        .await
        .unwrap();
    String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap()
}

fn row<'a>(rows: &'a serde_json::Value, tenant: &str) -> &'a serde_json::Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["tenant"] == tenant)
        .unwrap()
}

#[actix_web::test]
async fn usage_is_metered_per_tenant_and_month_for_operators() {
    let w = world().await;
    let op = Some(OPERATOR_TOKEN);
    let before = |rows: &serde_json::Value, t: &str| row(rows, t)["api_calls"].as_i64().unwrap();
    let (_, start) = w.req("GET", "/api/v1/operator/usage", op, None).await;
    w.submit_work_permit("tinh-a", w.citizen).await;
    for _ in 0..5 {
        let (s, _) = w
            .req("GET", "/t/tinh-a/api/v1/procedures", None, None)
            .await;
        assert_eq!(s, 200);
    }
    let (s, _) = w
        .req("GET", "/t/tinh-b/api/v1/procedures", None, None)
        .await;
    assert_eq!(s, 200);
    let mut conn = w.db.conn();
    let a: uuid::Uuid = {
        use diesel::prelude::*;
        use dvc::db::schema::tenants::dsl as t;
        t::tenants
            .filter(t::slug.eq("tinh-a"))
            .select(t::id)
            .first(&mut conn)
            .unwrap()
    };
    dvc::hosting::usage::record_active_account(&mut conn, a, w.citizen).unwrap();
    dvc::hosting::usage::record_active_account(&mut conn, a, w.citizen).unwrap();

    assert!(
        eventually(Duration::from_secs(20), || async {
            let (_, rows) = w.req("GET", "/api/v1/operator/usage", op, None).await;
            row(&rows, "tinh-a")["mails_sent"].as_i64() >= Some(1)
        })
        .await,
        "the receipt mail was not counted"
    );
    let (s, rows) = w
        .req("GET", "/api/v1/operator/usage?measure=true", op, None)
        .await;
    assert_eq!(s, 200, "{rows}");
    let ta = row(&rows, "tinh-a");
    assert_eq!(ta["dossiers_submitted"], 1);
    assert_eq!(ta["active_accounts"], 1, "an account counts once a month");
    // Submission + 5 catalog reads, each counted at its tenant only.
    assert!(ta["api_calls"].as_i64().unwrap() - before(&start, "tinh-a") >= 6);
    assert_eq!(
        row(&rows, "tinh-b")["api_calls"].as_i64().unwrap() - before(&start, "tinh-b"),
        1
    );
    let pdf_and_png = (crate::world::PDF.len() + crate::world::PNG.len()) as i64;
    assert_eq!(ta["storage_bytes"].as_i64(), Some(pdf_and_png));
    assert_eq!(row(&rows, "tinh-b")["dossiers_submitted"], 0);

    let csv = text(&w, "/api/v1/operator/usage?format=csv").await;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "tenant,month,dossiers_submitted,active_accounts,mails_sent,texts_sent,api_calls,storage_bytes"
        )
    );
    assert!(lines.any(|l| l.starts_with("tinh-a,") && l.contains(&format!(",{pdf_and_png}"))));
    let (s, b) = w
        .req("GET", "/api/v1/operator/usage?month=2026-13", op, None)
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid_month")));
    let (s, _) = w.req("GET", "/api/v1/operator/usage", None, None).await;
    assert_eq!(s, 401);

    // Operators see aggregates, not dossiers: neither the automation token nor an operator's
    // own sign-in opens a tenant's inbox or a dossier; what they did look at is audited.
    let (s, _) = w.req("GET", "/t/tinh-a/api/v1/inbox", op, None).await;
    assert_eq!(s, 401);
    let operator = account(&w.db, "vanhanh@example.vn", "Vận hành");
    dvc::auth::roles::grant_operator(&mut w.db.conn(), operator).unwrap();
    let as_operator = w.token(operator, "tinh-a", &[]);
    let (s, _) = w
        .req("GET", "/t/tinh-a/api/v1/inbox", Some(&as_operator), None)
        .await;
    assert_eq!(s, 403);
    let (s, _) = w
        .req("GET", "/api/v1/operator/outbox/failed", op, None)
        .await;
    assert_eq!(s, 200);
    for action in ["operator.usage_viewed", "operator.failed_mail_viewed"] {
        assert!(
            w.db.scalar_i64(&format!(
                "SELECT count(*) AS n FROM platform.audit_log WHERE action = '{action}'"
            )) >= 1,
            "{action} not audited"
        );
    }

    let metrics = String::from_utf8(
        awc::Client::default()
            .get(format!("{}/metrics", w.app.metrics_base))
            .send()
            .await
            .unwrap()
            .body()
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        metrics.contains(r#"dvc_tenant_usage{tenant="tinh-a",metric="dossiers_submitted"} 1"#),
        "{metrics}"
    );
}

/// DNS as the test says it is: the one stand-in here, since test machines have no DNS.
#[derive(Default)]
struct FakeDns(std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>);

impl dvc::hosting::domains::TxtResolver for FakeDns {
    fn txt<'a>(
        &'a self,
        name: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<String>, String>> {
        let found = self
            .0
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .unwrap_or_default();
        Box::pin(async move { Ok(found) })
    }
}

async fn get_host(w: &World, host: &str, path: &str) -> (u16, String) {
    let mut resp = awc::Client::default()
        .get(format!("{}{}", w.app.base, path))
        .insert_header(("Host", host))
        .send()
        .await
        .unwrap();
    let body = resp.body().await.unwrap();
    (
        resp.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[actix_web::test]
async fn a_custom_domain_is_routed_only_once_its_txt_record_proves_control() {
    let dns = std::sync::Arc::new(FakeDns::default());
    let w = World::with_dns(|_| {}, dns.clone()).await;
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let domain = "dichvucong.tinh-a.gov.vn";
    let body = |d: &str| Some(serde_json::json!({ "domain": d }));

    // Bad names, the platform's own domain, and non-admins are refused.
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/admin/domains",
            Some(&admin),
            body("a..b"),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid_domain")));
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/admin/domains",
            Some(&admin),
            body("x.localhost"),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("platform_domain")),
        "{b}"
    );
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    let (s, _) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/admin/domains",
            Some(&officer),
            body(domain),
        )
        .await;
    assert_eq!(s, 403);

    let (s, claim) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/admin/domains",
            Some(&admin),
            body(domain),
        )
        .await;
    assert_eq!(s, 201, "{claim}");
    assert_eq!(
        claim["record_name"],
        "_dvc-challenge.dichvucong.tinh-a.gov.vn"
    );
    assert_eq!(claim["verified"], false);
    let record = claim["record_value"].as_str().unwrap().to_owned();
    // Asking again gives the same token.
    let (_, again) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/admin/domains",
            Some(&admin),
            body(domain),
        )
        .await;
    assert_eq!(again["record_value"], record.as_str());

    // Not routed before it is proven.
    let (s, _) = get_host(&w, domain, "/api/v1/procedures").await;
    assert_eq!(s, 404);
    let verify = format!("/t/tinh-a/api/v1/admin/domains/{domain}/verify");
    let (s, b) = w.req("POST", &verify, Some(&admin), None).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (409, Some("domain_not_proven")),
        "{b}"
    );
    dns.0.lock().unwrap().insert(
        "_dvc-challenge.dichvucong.tinh-a.gov.vn".into(),
        vec!["dvc-verify=someone-elses-token".into()],
    );
    let (s, _) = w.req("POST", &verify, Some(&admin), None).await;
    assert_eq!(s, 409);
    // Another tenant may ask too, but only DNS decides.
    let admin_b = w.token(w.officer_b, "tinh-b", &["tenant_admin"]);
    let (s, _) = w
        .req(
            "POST",
            "/t/tinh-b/api/v1/admin/domains",
            Some(&admin_b),
            body(domain),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = w.req("POST", &verify, Some(&admin), None).await;
    assert_eq!(s, 404, "tinh-b's request replaced tinh-a's unproven one");
    let (_, claim) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/admin/domains",
            Some(&admin),
            body(domain),
        )
        .await;
    let record = claim["record_value"].as_str().unwrap().to_owned();
    dns.0.lock().unwrap().insert(
        "_dvc-challenge.dichvucong.tinh-a.gov.vn".into(),
        vec!["v=spf1 -all".into(), format!("\"{record}\"")],
    );
    let (s, b) = w.req("POST", &verify, Some(&admin), None).await;
    assert_eq!((s, b["verified"].as_bool()), (200, Some(true)), "{b}");

    // Routed: the domain serves tinh-a, and sign-in may come back to it.
    let (s, procs) = get_host(&w, domain, "/api/v1/procedures").await;
    assert_eq!(s, 200, "{procs}");
    assert_eq!(
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.oauth_clients WHERE client_id = 'portal-tinh-a' \
             AND 'http://{domain}:8080/auth/callback' = ANY(redirect_uris)"
        )),
        1
    );
    // A proven domain stays its tenant's: another cannot take it, and re-applying the tenant
    // files (which do not list it) keeps it.
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-b/api/v1/admin/domains",
            Some(&admin_b),
            body(domain),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (409, Some("domain_taken")));
    w.db.apply_texts(&[(
        "tinh-a.toml",
        crate::world::tenant_file("tinh-a", "TA", "province", Some("bo")),
    )]);
    assert_eq!(
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.tenant_domains WHERE domain = '{domain}'"
        )),
        1
    );
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'domain.verified'"
        ),
        1
    );

    // Proven domains are looked up again: while the record stays, so does the domain.
    let recheck = || dvc::app::upkeep::recheck_domains(&w.app.app_state, std::time::Duration::ZERO);
    assert!(recheck().await.unwrap().is_empty());
    assert_eq!(get_host(&w, domain, "/api/v1/procedures").await.0, 200);
    // The record goes: the domain leaves the tenant and its portal's sign-in addresses.
    dns.0
        .lock()
        .unwrap()
        .remove("_dvc-challenge.dichvucong.tinh-a.gov.vn");
    assert_eq!(recheck().await.unwrap(), vec![domain.to_owned()]);
    assert_eq!(get_host(&w, domain, "/api/v1/procedures").await.0, 404);
    assert_eq!(
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.oauth_clients WHERE client_id = 'portal-tinh-a' \
             AND 'http://{domain}:8080/auth/callback' = ANY(redirect_uris)"
        )),
        0
    );
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'domain.lapsed'"
        ),
        1
    );
}

/// Issue 16 (a clock passed in): the server's time is set forward instead of waiting a week.
#[actix_web::test]
async fn an_invitation_is_refused_once_its_week_is_over_and_nothing_is_granted() {
    let w = world().await;
    let op = Some(OPERATOR_TOKEN);
    let admin = account(&w.db, "quantri.c@example.vn", "Quản trị C");
    let (s, created) = w
        .req(
            "POST",
            "/api/v1/operator/tenants",
            op,
            Some(province("quantri.c@example.vn")),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let token = invitation_for(&w, "quantri.c@example.vn").await;
    let as_admin = w.token(admin, "tinh-c", &[]);
    let body = serde_json::json!({ "token": token });

    // Eight days on (the server's clock set forward, nobody waits), it has lapsed: refused,
    // and no role is granted. (The first test accepts the same invitation in time.)
    w.app.clock.advance(chrono::Duration::days(8));
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-c/api/v1/invitations/accept",
            Some(&as_admin),
            Some(body),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (409, Some("invitation_spent")),
        "{b}"
    );
    assert_eq!(b["detail"], "this invitation has expired", "{b}");
    assert_eq!(
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.memberships WHERE account_id = '{admin}'"
        )),
        0
    );
}

#[actix_web::test]
async fn a_commune_is_onboarded_under_its_province_in_one_call() {
    let w = world().await;
    let op = Some(OPERATOR_TOKEN);
    let commune = serde_json::json!({
        "slug": "xa-an-binh", "code": "XAB", "kind": "commune", "parent": "tinh-a",
        "name_vi": "Ủy ban nhân dân xã An Bình", "admin_email": "quantri@anbinh.gov.vn",
    });
    let (s, b) = w
        .req("POST", "/api/v1/operator/tenants", op, Some(commune))
        .await;
    assert_eq!(s, 201, "{b}");
    let under_province = w.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.tenants c JOIN platform.tenants p ON p.id = c.parent_id \
         WHERE c.slug = 'xa-an-binh' AND c.kind = 'commune' AND p.slug = 'tinh-a'",
    );
    assert_eq!(under_province, 1);
    invitation_for(&w, "quantri@anbinh.gov.vn").await;
    // An unknown kind is refused with the list of kinds, communes among them.
    let (s, b) = w
        .req(
            "POST",
            "/api/v1/operator/tenants",
            op,
            Some(serde_json::json!({
                "slug": "xa-b", "code": "XB", "kind": "village", "parent": "tinh-a",
                "name_vi": "Xã B", "admin_email": "b@x.vn",
            })),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("commune"), "{b}");
}
