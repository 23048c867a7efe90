//! Accounts on the auth host: sign-up with e-mail verification and password reset, through
//! the real outbox, worker and SMTP server; answers that never reveal an account; bad input.

use crate::common::{SmtpServer, TestApp, TestDb, eventually};
use mail_parser::MessageParser;
use std::sync::Arc;
use std::time::Duration;

struct Auth {
    app: TestApp,
    smtp: SmtpServer,
}

impl Auth {
    async fn start() -> Self {
        let db = Arc::new(TestDb::new());
        db.apply_two(1, 1);
        let smtp = SmtpServer::start();
        let port = smtp.port;
        let app = TestApp::spawn_on(db, move |s| {
            s.smtp.port = port;
            s.mail.worker_in_process = true;
            s.mail.poll_interval_secs = 1;
            s.auth.issuer = "https://dangnhap.dichvucong.localhost".into();
        })
        .await;
        Self { app, smtp }
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let (status, _, json) = self.app.call_json("POST", path, &body).await;
        (status, json)
    }

    /// Waits for `n` mails and returns them as (recipient, subject, text).
    async fn mails(&self, n: usize) -> Vec<(String, String, String)> {
        assert!(
            eventually(Duration::from_secs(10), || async {
                self.smtp.messages().len() >= n
            })
            .await,
            "expected {n} mails, got {}",
            self.smtp.messages().len()
        );
        self.smtp
            .messages()
            .iter()
            .map(|raw| {
                let m = MessageParser::default().parse(raw).unwrap();
                (
                    m.to()
                        .unwrap()
                        .first()
                        .unwrap()
                        .address()
                        .unwrap()
                        .to_string(),
                    m.subject().unwrap().to_string(),
                    m.body_text(0).unwrap().to_string(),
                )
            })
            .collect()
    }

    fn count(&self, sql: &str) -> i64 {
        self.app.db.scalar_i64(sql)
    }
}

fn token_in(text: &str, path: &str) -> String {
    let at = text.find(&format!("{path}?token=")).expect("link in mail") + path.len() + 7;
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn signup(email: &str) -> serde_json::Value {
    serde_json::json!({
        "email": email, "password": "một mật khẩu đủ dài", "full_name": "Nguyễn Thị Hoa",
        "citizen_id": "001203004567", "phone": "0912 345 678", "tenant": "alpha"
    })
}

#[actix_web::test]
async fn sign_up_verify_once_and_the_link_is_single_use() {
    let t = Auth::start().await;
    let (status, body) = t
        .post("/api/v1/auth/register", signup("hoa@example.vn"))
        .await;
    assert_eq!(status, 202, "{body}");
    let mails = t.mails(1).await;
    let (to, subject, text) = &mails[0];
    assert_eq!(to, "hoa@example.vn");
    assert_eq!(subject, "Xác nhận địa chỉ thư điện tử của bạn");
    assert!(text.contains("https://dangnhap.dichvucong.localhost/verify-email?token="));
    let token = token_in(text, "/verify-email");
    assert_eq!(token.len(), 43);
    // The link was a secret: it left the outbox when the mail went out.
    assert!(
        eventually(Duration::from_secs(5), || async {
            t.count(&format!(
                "SELECT count(*) AS n FROM platform.outbox WHERE payload::text LIKE '%{token}%'"
            )) == 0
        })
        .await
    );
    // The token is stored only hashed.
    assert_eq!(
        t.count(&format!("SELECT count(*) AS n FROM platform.account_tokens WHERE encode(token_hash, 'escape') LIKE '%{token}%'")),
        0
    );
    assert_eq!(
        t.count("SELECT count(*) AS n FROM platform.accounts WHERE email_verified_at IS NULL"),
        1
    );
    let (status, _) = t
        .post(
            "/api/v1/auth/verify-email",
            serde_json::json!({ "token": token }),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        t.count("SELECT count(*) AS n FROM platform.accounts WHERE email_verified_at IS NOT NULL"),
        1
    );
    let (status, body) = t
        .post(
            "/api/v1/auth/verify-email",
            serde_json::json!({ "token": token }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_token"))
    );
    assert_eq!(t.count("SELECT count(*) AS n FROM platform.audit_log WHERE action IN ('signup', 'email.verified')"), 2);
}

#[actix_web::test]
async fn a_taken_address_answers_the_same_and_sends_nothing() {
    let t = Auth::start().await;
    let first = t
        .post("/api/v1/auth/register", signup("an@example.vn"))
        .await;
    t.mails(1).await;
    let mut again = signup("AN@example.vn");
    again["citizen_id"] = serde_json::json!("079199012345");
    let second = t.post("/api/v1/auth/register", again).await;
    assert_eq!(first, second, "same status and body");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(t.smtp.messages().len(), 1);
    assert_eq!(t.count("SELECT count(*) AS n FROM platform.accounts"), 1);
    assert_eq!(
        t.count("SELECT count(*) AS n FROM platform.audit_log WHERE action = 'signup.duplicate'"),
        1
    );
}

#[actix_web::test]
async fn password_reset_works_once_and_never_reveals_an_account() {
    let t = Auth::start().await;
    t.post("/api/v1/auth/register", signup("binh@example.vn"))
        .await;
    t.mails(1).await;
    let unknown = t
        .post(
            "/api/v1/auth/password/forgot",
            serde_json::json!({"email": "nobody@example.vn"}),
        )
        .await;
    let known = t
        .post(
            "/api/v1/auth/password/forgot",
            serde_json::json!({"email": "binh@example.vn", "tenant": "beta"}),
        )
        .await;
    assert_eq!(unknown, known);
    assert_eq!(known.0, 202);
    let mails = t.mails(2).await;
    assert_eq!(mails.len(), 2, "no mail for the unknown address");
    let (_, subject, text) = mails.iter().find(|m| m.1 == "Đặt lại mật khẩu").unwrap();
    assert_eq!(subject, "Đặt lại mật khẩu");
    let token = token_in(text, "/reset-password");
    // A second request gives a second link; using one kills the other.
    t.post(
        "/api/v1/auth/password/forgot",
        serde_json::json!({"email": "binh@example.vn"}),
    )
    .await;
    let mails = t.mails(3).await;
    let other = mails
        .iter()
        .filter(|m| m.1 == "Đặt lại mật khẩu")
        .map(|m| token_in(&m.2, "/reset-password"))
        .find(|tk| *tk != token)
        .unwrap();
    let (status, body) = t
        .post(
            "/api/v1/auth/password/reset",
            serde_json::json!({"token": token, "password": "short"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("weak_password"))
    );
    let (status, _) = t
        .post(
            "/api/v1/auth/password/reset",
            serde_json::json!({"token": token, "password": "mật khẩu mới rất dài"}),
        )
        .await;
    assert_eq!(status, 204);
    let hash: String = {
        use diesel::prelude::*;
        dvc::db::schema::accounts::table
            .select(dvc::db::schema::accounts::password_hash)
            .first(&mut t.app.db.conn())
            .unwrap()
    };
    use dvc::auth::password::{Password, verify};
    assert!(verify(
        &Password::attempt("mật khẩu mới rất dài"),
        Some(&hash)
    ));
    assert!(!verify(
        &Password::attempt("một mật khẩu đủ dài"),
        Some(&hash)
    ));
    for used in [token, other] {
        let (status, _) = t
            .post(
                "/api/v1/auth/password/reset",
                serde_json::json!({"token": used, "password": "lại một mật khẩu khác"}),
            )
            .await;
        assert_eq!(status, 400);
    }
}

#[actix_web::test]
async fn an_expired_link_is_refused() {
    let t = Auth::start().await;
    t.post("/api/v1/auth/register", signup("cuong@example.vn"))
        .await;
    let token = token_in(&t.mails(1).await[0].2, "/verify-email");
    use diesel::connection::SimpleConnection;
    t.app
        .db
        .conn()
        .batch_execute(
            "UPDATE platform.account_tokens SET expires_at = now() - interval '1 minute'",
        )
        .unwrap();
    let (status, _) = t
        .post(
            "/api/v1/auth/verify-email",
            serde_json::json!({ "token": token }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        t.count("SELECT count(*) AS n FROM platform.accounts WHERE email_verified_at IS NOT NULL"),
        0
    );
}

#[actix_web::test]
async fn bad_sign_ups_are_refused_and_write_nothing() {
    let t = Auth::start().await;
    let with = |k: &str, v: serde_json::Value| {
        let mut b = signup("dung@example.vn");
        b[k] = v;
        b
    };
    let cases = [
        (with("email", "not-an-address".into()), "invalid_email"),
        (
            with("email", "a@b.vn\r\nBcc: x@y.vn".into()),
            "invalid_email",
        ),
        (with("password", "ngắn".into()), "weak_password"),
        (
            with("password", "dung-dung-dung-123".into()),
            "weak_password",
        ),
        (with("citizen_id", "12345".into()), "invalid_citizen_id"),
        (
            with("citizen_id", "000203004567".into()),
            "invalid_citizen_id",
        ),
        (with("kind", "business".into()), "invalid_tax_code"),
        (with("tax_code", "0100109107".into()), "invalid_tax_code"),
        (with("full_name", "".into()), "invalid_full_name"),
        (with("phone", "call me".into()), "invalid_phone"),
        (with("locale", "fr".into()), "invalid_locale"),
        (with("tenant", "Bad_Slug".into()), "invalid_tenant"),
        (with("is_admin", true.into()), "invalid_body"),
    ];
    for (body, code) in cases {
        let (status, json) = t.post("/api/v1/auth/register", body).await;
        assert_eq!((status, json["code"].as_str()), (400, Some(code)), "{json}");
    }
    let (status, _, json) = t
        .app
        .call(
            "POST",
            "/api/v1/auth/register",
            &[("Content-Type", "application/json")],
        )
        .await;
    assert_eq!((status, json["code"].as_str()), (400, Some("invalid_body")));
    // A business with its tax code is fine.
    let mut business = with("kind", "business".into());
    business["tax_code"] = "0100109106".into();
    assert_eq!(t.post("/api/v1/auth/register", business).await.0, 202);
    assert_eq!(t.count("SELECT count(*) AS n FROM platform.accounts"), 1);
}

#[actix_web::test]
async fn sign_ups_from_one_address_are_rate_limited() {
    let t = Auth::start().await;
    let mut statuses = Vec::new();
    for i in 0..32 {
        let (status, body) = t
            .post(
                "/api/v1/auth/password/forgot",
                serde_json::json!({"email": format!("x{i}@example.vn")}),
            )
            .await;
        statuses.push((status, body));
    }
    let limited: Vec<_> = statuses.iter().filter(|(s, _)| *s == 429).collect();
    assert!(!limited.is_empty(), "{statuses:?}");
    assert_eq!(limited[0].1["code"], "too_many_requests");
    assert!(statuses[..30].iter().all(|(s, _)| *s == 202));
    // Two over the quota; a slow run may have earned one back (a token every 2 s).
    assert!((1..=2).contains(&limited.len()), "{}", limited.len());
}

#[actix_web::test]
async fn the_rate_limit_holds_across_two_server_instances() {
    let t = Auth::start().await;
    // A second instance of the same deployment: same database, same Redis prefix.
    let other = TestApp::spawn_on(t.app.db.clone(), |_| {}).await;
    let mut limited = 0;
    for i in 0..40 {
        let app = if i % 2 == 0 { &t.app } else { &other };
        let (status, _, _) = app
            .call_json(
                "POST",
                "/api/v1/auth/password/forgot",
                &serde_json::json!({"email": format!("y{i}@example.vn")}),
            )
            .await;
        assert!(status == 202 || status == 429, "{status}");
        if status == 429 {
            limited += 1;
        }
    }
    // 30 a minute per address in all, not 30 per instance (which would refuse none of the 20
    // each instance sees). A slow run may earn a token or two back (one every 2 s).
    assert!((8..=10).contains(&limited), "{limited}");
}

#[actix_web::test]
async fn reset_mails_to_one_address_are_limited_whoever_asks() {
    let t = Auth::start().await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, _) = t
            .post(
                "/api/v1/auth/password/forgot",
                serde_json::json!({"email": "victim@example.vn"}),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses, [202, 202, 202, 202, 202, 429]);
    // Another address is not affected.
    let (status, _) = t
        .post(
            "/api/v1/auth/password/forgot",
            serde_json::json!({"email": "other@example.vn"}),
        )
        .await;
    assert_eq!(status, 202);
}
