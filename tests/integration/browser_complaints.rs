//! Complaints and recommendations in a real browser (Debian's Chromium driven by
//! `tests/e2e/complaints.mjs`): a visitor without an account files a complaint, the code
//! texted to their phone (the sandbox provider's files, through the real outbox and worker)
//! verifies it; tinh-a's officer answers it and publishes it from the redacted draft; the
//! leader's dashboard lists the one already late and not the answered one; the public page
//! shows the answer without the filer's name or phone, in both languages. axe-core checks
//! every page. Afterwards the database holds the complaint published with nothing personal in
//! its public question, and exactly one code and one answer texted to the filer.

use crate::browser::{PASSWORD, run_script, sign_in_with_totp};
use crate::world::World;
use diesel::connection::SimpleConnection;
use std::process::Command;
use uuid::Uuid;

/// Open, its answer date long past: what the leader's dashboard must list.
const OVERDUE: &str = "PAKN-261101-0999";

/// A browser world (as `browser::browser_world`) whose texts go to `sandbox`.
async fn world(sandbox: std::path::PathBuf) -> (World, String) {
    let w = World::new(move |s| {
        let port = s.server.port;
        s.server.public_origin = format!("http://{{host}}:{port}");
        s.auth.issuer = format!("http://localhost:{port}");
        s.texts.sandbox_dir = sandbox;
    })
    .await;
    let port = w.app.base.rsplit(':').next().unwrap().to_owned();
    let state = w.app.app_state.clone();
    let tenant = state
        .registry
        .by_slug(&dvc::tenancy::TenantSlug::parse("tinh-a").unwrap())
        .unwrap();
    dvc::auth::sso::register_tenant_portal(
        &mut w.db.conn(),
        &tenant,
        &state.base_domain,
        &state.settings.server.public_origin,
    )
    .unwrap();
    (w, port)
}

#[actix_web::test]
async fn a_complaint_is_filed_verified_answered_and_published_in_a_real_browser() {
    let sandbox = std::env::temp_dir().join(format!("dvc-complaints-browser-{}", Uuid::new_v4()));
    let (w, port) = world(sandbox.clone()).await;
    let officer_totp = sign_in_with_totp(&w, w.officer_a);
    let leader_totp = sign_in_with_totp(&w, w.leader_a);
    w.db.conn()
        .batch_execute(&format!(
            "INSERT INTO t_tinh_a.complaints (id, code, kind, subject, title, body, filer_name, \
             status, filed_at, due_date, locale, consent_publish) VALUES ('{}', '{OVERDUE}', \
             'complaint', 'other', 'Chưa được trả lời đơn', 'Tôi gửi đơn đã lâu mà chưa có trả lời.', \
             'Trần Văn Bình', 'open', now() - interval '30 days', current_date - 10, 'vi', false)",
            Uuid::new_v4()
        ))
        .unwrap();

    let mut cmd = Command::new("node");
    cmd.arg("tests/e2e/complaints.mjs")
        .env("BASE_A", format!("http://tinh-a.localhost:{port}"))
        .env("SANDBOX_DIR", &sandbox)
        .env("PASSWORD", PASSWORD)
        .env("OFFICER_EMAIL", "canbo.a@example.vn")
        .env("OFFICER_TOTP", &officer_totp)
        .env("LEADER_EMAIL", "lanhdao.a@example.vn")
        .env("LEADER_TOTP", &leader_totp)
        .env("OVERDUE", OVERDUE);
    let result = run_script(cmd).await;
    let code = result["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("PAKN-"), "{result}");
    assert_eq!(result["published"], true, "{result}");

    // Published, from a question with nothing personal left.
    let text = |sql: String| w.db.scalar_text(&sql);
    assert_eq!(
        text(format!(
            "SELECT status AS s FROM t_tinh_a.complaints WHERE code = '{code}'"
        )),
        "published"
    );
    let question = text(format!(
        "SELECT public_question AS s FROM t_tinh_a.complaints WHERE code = '{code}'"
    ));
    let digits: String = question.chars().filter(char::is_ascii_digit).collect();
    assert!(
        !digits.contains("987111222") && !question.contains("0987") && !question.contains("222"),
        "{question}"
    );
    assert!(!question.contains("Phạm Thị Dung"), "{question}");
    assert!(question.contains("ngày hẹn"), "{question}");
    assert_eq!(
        text(format!(
            "SELECT filer_phone AS s FROM t_tinh_a.complaints WHERE code = '{code}'"
        )),
        "84987111222"
    );
    // The late one is still open, untouched.
    assert_eq!(
        text(format!(
            "SELECT status AS s FROM t_tinh_a.complaints WHERE code = '{OVERDUE}'"
        )),
        "open"
    );

    // One code and one answer texted to the filer, nothing else.
    let texts = |template: &str| {
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.outbox WHERE template = '{template}' \
             AND channel = 'sms' AND recipient = '84987111222'"
        ))
    };
    assert_eq!(texts("complaint_code"), 1);
    assert_eq!(texts("complaint_answered"), 1);
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.outbox WHERE recipient = '84987111222'"
        ),
        2
    );
    let _ = std::fs::remove_dir_all(&sandbox);
}
