//! Notification mail end to end: the outbox, the worker and a real SMTP server (aiosmtpd).

use crate::common::{SmtpServer, TestDb, eventually, settings_for, tenant_toml};
use diesel::prelude::*;
use dvc::config::Settings;
use dvc::locale::Locale;
use dvc::mail::outbox::{self, NewMail};
use dvc::mail::worker::Worker;
use dvc::mail::{Email, TemplateKey};
use dvc::texts::Channel;
use mail_parser::MessageParser;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

struct Mailroom {
    db: Arc<TestDb>,
    smtp: SmtpServer,
    settings: Settings,
    alpha: Uuid,
    beta: Uuid,
}

impl Mailroom {
    fn new() -> Self {
        let db = TestDb::new();
        let alpha = tenant_toml("alpha", "ALPHA", 1).replacen(
            "[[fields]]",
            "[branding]\nprimary_color = \"#123456\"\n\n[contact]\nemail = \"lienhe@alpha.gov.vn\"\n\n[[fields]]",
            1,
        );
        let beta = tenant_toml("beta", "BETA", 1).replacen(
            "[[fields]]",
            "[branding]\nprimary_color = \"#654321\"\n\n[[fields]]",
            1,
        );
        let report = db.apply_texts(&[("alpha.toml", alpha), ("beta.toml", beta)]);
        let smtp = SmtpServer::start();
        let mut settings = settings_for(&db);
        settings.smtp.port = smtp.port;
        settings.smtp.timeout_secs = 3;
        settings.mail.poll_interval_secs = 1;
        settings.mail.backoff_base_secs = 1;
        settings.mail.backoff_max_secs = 1;
        settings.mail.lease_secs = 2;
        let id = |slug: &str| {
            report
                .tenants
                .iter()
                .find(|t| t.slug.as_str() == slug)
                .unwrap()
                .id
        };
        Self {
            alpha: id("alpha"),
            beta: id("beta"),
            db: Arc::new(db),
            smtp,
            settings,
        }
    }

    fn enqueue(&self, to: &str, template: TemplateKey, locale: Locale, payload: serde_json::Value) {
        self.enqueue_for(self.alpha, to, template, locale, payload);
    }

    fn enqueue_for(
        &self,
        tenant: Uuid,
        to: &str,
        template: TemplateKey,
        locale: Locale,
        payload: serde_json::Value,
    ) {
        let mail = NewMail {
            tenant_id: Some(tenant),
            template,
            locale,
            recipient: Email::parse(to).unwrap(),
            payload,
            idempotency_key: Uuid::new_v4().to_string(),
        };
        assert!(outbox::enqueue(&mut self.db.conn(), &mail).unwrap());
    }

    /// Starts a worker; it stops when the returned sender is dropped or set.
    fn worker(
        &self,
    ) -> (
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    ) {
        let pool = self.db.pool(2);
        let worker = Arc::new(Worker::new(&self.settings, pool).unwrap());
        let (tx, rx) = tokio::sync::watch::channel(false);
        (tx, tokio::spawn(worker.run(rx)))
    }

    async fn wait_for(&self, n: usize) -> bool {
        eventually(Duration::from_secs(15), || async {
            self.smtp.messages().len() >= n
        })
        .await
    }

    fn count(&self, status: &str) -> i64 {
        self.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.outbox WHERE status = '{status}'"
        ))
    }
}

fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    MessageParser::default().parse(raw).expect("a MIME message")
}

fn sample_payload(key: TemplateKey) -> serde_json::Value {
    let common = json!({
        "full_name": "Nguyễn Văn An", "applicant_name": "Trần Thị Bình", "officer_name": "Lê Văn Cường",
        "dossier_code": "ALPHA-261128-0007", "procedure_name": "Cấp giấy phép lao động",
        "due_date": "05/12/2026", "missing": ["Giấy chứng nhận sức khỏe"], "note": "Bản sao chưa rõ",
        "outcome": "đã phê duyệt", "amount": "600.000 ₫", "receipt_number": "BL-000123",
        "paid_at": "28/11/2026 10:00", "role": "cán bộ", "device": "Firefox trên Linux",
        "ip": "127.0.0.1", "time": "28/11/2026 10:00", "expires_minutes": 30, "expires_days": 7,
        "date": "28/11/2026", "new_count": 4, "overdue_count": 1,
        "link": "https://alpha.localhost/h/ALPHA-261128-0007",
        "reason": "Thủ tục không thuộc thẩm quyền", "agency": "Sở Lao động Alpha",
        "old_due_date": "05/12/2026", "new_due_date": "12/12/2026",
        "to_name": "Sở Lao động - Thương binh và Xã hội Hà Nội",
        "parent": "Bộ Nội vụ", "procedure_code": "1.000105", "version": 3, "adopted": 2,
        "filer_name": "Phạm Thị Dung", "complaint_code": "PAKN-261207-0001", "code": "482913",
        "title": "Hồ sơ trễ hẹn", "answer": "Sở đã giải quyết hồ sơ và xin lỗi vì sự chậm trễ.",
        "published": true
    });
    match key {
        TemplateKey::PasswordReset => json!({
            "full_name": "Nguyễn Văn An", "expires_minutes": 30,
            "secret": {"link": "https://alpha.localhost/reset?token=s3cr3t"}
        }),
        _ => common,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_template_arrives_branded_in_both_languages() {
    let room = Mailroom::new();
    let mut expected = 0;
    for key in TemplateKey::ALL {
        for locale in Locale::ALL {
            let to = format!("{}.{}@example.vn", key.as_str(), locale.as_str());
            room.enqueue(&to, key, locale, sample_payload(key));
            expected += 1;
        }
    }
    // One message of the other tenant: it carries its own branding, and alpha's never do.
    room.enqueue_for(
        room.beta,
        "beta.vi@example.vn",
        TemplateKey::Test,
        Locale::Vi,
        json!({}),
    );
    expected += 1;
    let (stop, run) = room.worker();
    assert!(
        room.wait_for(expected).await,
        "only {} of {expected} arrived",
        room.smtp.messages().len()
    );
    stop.send(true).unwrap();
    run.await.unwrap();
    let raws = room.smtp.messages();
    assert_eq!(raws.len(), expected, "each message exactly once");
    for raw in &raws {
        let m = parse(raw);
        let to = m
            .to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .to_string();
        if to == "beta.vi@example.vn" {
            assert_eq!(
                m.from().unwrap().first().unwrap().name().unwrap(),
                "Sở thử nghiệm BETA"
            );
            let html = m.body_html(0).unwrap();
            assert!(html.contains("#654321") && !html.contains("#123456"));
            assert!(!html.contains("lienhe@alpha.gov.vn"));
            continue;
        }
        assert!(!m.body_html(0).unwrap().contains("#654321"), "{to}");
        let vi = to.contains(".vi@");
        let from = m.from().unwrap().first().unwrap();
        assert_eq!(from.address().unwrap(), "no-reply@dichvucong.localhost");
        let expected_name = if vi {
            "Sở thử nghiệm ALPHA"
        } else {
            "Test department ALPHA"
        };
        assert_eq!(from.name().unwrap(), expected_name, "{to}");
        let subject = m.subject().unwrap();
        assert!(
            !subject.is_empty() && !subject.contains("{{"),
            "{to}: {subject}"
        );
        let text = m.body_text(0).unwrap();
        let html = m.body_html(0).unwrap();
        assert!(!text.contains("{{") && !html.contains("{{"), "{to}");
        assert!(html.contains("#123456"), "tenant colour in {to}");
        assert!(
            html.contains("lienhe@alpha.gov.vn"),
            "tenant contact in {to}"
        );
        if vi {
            assert!(text.contains("Thư này được gửi tự động"), "{to}: {text}");
        } else {
            assert!(
                text.contains("This message was sent automatically"),
                "{to}: {text}"
            );
        }
    }
    let dossier = raws
        .iter()
        .map(|r| parse(r))
        .find(|m| {
            m.to().unwrap().first().unwrap().address().unwrap() == "dossier_received.vi@example.vn"
        })
        .unwrap();
    assert_eq!(
        dossier.subject().unwrap(),
        "Hồ sơ ALPHA-261128-0007 đã được tiếp nhận"
    );
    assert!(
        dossier
            .body_text(0)
            .unwrap()
            .contains("Theo dõi hồ sơ: https://alpha.localhost/h/ALPHA-261128-0007")
    );
    // The reset link was a secret: used in the mail, gone from the outbox once sent.
    let reset = raws
        .iter()
        .map(|r| parse(r))
        .find(|m| {
            m.to().unwrap().first().unwrap().address().unwrap() == "password_reset.vi@example.vn"
        })
        .unwrap();
    assert!(reset.body_text(0).unwrap().contains("token=s3cr3t"));
    assert_eq!(
        room.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.outbox WHERE payload::text LIKE '%s3cr3t%'"
        ),
        0
    );
    assert_eq!(room.count("sent"), expected as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_test_message_arrives_with_a_utf8_subject() {
    let room = Mailroom::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dvc"))
        .args(["mail", "test", "operator@example.vn", "--tenant", "alpha"])
        .env("DVC__DATABASE__URL", &room.db.url)
        .env("DVC__LOG__FILTER", "off")
        .env("DVC_CONFIG_DIR", "/nonexistent")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (stop, run) = room.worker();
    assert!(room.wait_for(1).await);
    stop.send(true).unwrap();
    run.await.unwrap();
    let raw = &room.smtp.messages()[0];
    // The header is encoded (RFC 2047), the decoded subject is exact Vietnamese.
    assert!(String::from_utf8_lossy(raw).contains("Subject: =?utf-8?"));
    let m = parse(raw);
    assert_eq!(
        m.subject().unwrap(),
        "Thư thử nghiệm từ Sở thử nghiệm ALPHA"
    );
    assert!(
        m.body_text(0)
            .unwrap()
            .contains("Hà Nội, Thành phố Hồ Chí Minh")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_while_smtp_is_down() {
    let mut room = Mailroom::new();
    room.smtp.stop();
    for i in 0..5 {
        room.enqueue(
            &format!("down{i}@example.vn"),
            TemplateKey::Test,
            Locale::Vi,
            json!({}),
        );
    }
    let (stop, run) = room.worker();
    // Attempts fail and are scheduled again, nothing is parked.
    assert!(
        eventually(Duration::from_secs(10), || async {
            room.db.scalar_i64("SELECT count(*) AS n FROM platform.outbox WHERE attempts >= 1 AND status = 'pending'") == 5
        })
        .await
    );
    assert_eq!(room.count("failed"), 0);
    room.smtp.resume();
    assert!(room.wait_for(5).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(true).unwrap();
    run.await.unwrap();
    assert_eq!(room.smtp.messages().len(), 5);
    assert_eq!(room.count("sent"), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_send_each_row_exactly_once() {
    let room = Mailroom::new();
    for i in 0..60 {
        room.enqueue(
            &format!("pair{i}@example.vn"),
            TemplateKey::Test,
            Locale::En,
            json!({}),
        );
    }
    let (stop_a, run_a) = room.worker();
    let (stop_b, run_b) = room.worker();
    assert!(room.wait_for(60).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_a.send(true).unwrap();
    stop_b.send(true).unwrap();
    run_a.await.unwrap();
    run_b.await.unwrap();
    let raws = room.smtp.messages();
    assert_eq!(raws.len(), 60);
    let mut ids: Vec<String> = raws
        .iter()
        .map(|r| parse(r).message_id().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 60);
    assert_eq!(
        room.db
            .scalar_i64("SELECT count(DISTINCT locked_by) AS n FROM platform.outbox"),
        0,
        "no row left claimed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_a_worker_that_died_are_delivered_once_after_the_lease() {
    let room = Mailroom::new();
    for i in 0..4 {
        room.enqueue(
            &format!("orphan{i}@example.vn"),
            TemplateKey::Test,
            Locale::Vi,
            json!({}),
        );
    }
    // A worker claims the rows and dies before sending: this is the state it leaves behind.
    let claimed = outbox::claim(
        &mut room.db.conn(),
        "dead-worker",
        &[Channel::Email],
        10,
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(claimed.len(), 4);
    let (stop, run) = room.worker();
    assert!(room.wait_for(4).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(true).unwrap();
    run.await.unwrap();
    assert_eq!(room.smtp.messages().len(), 4);
    assert_eq!(room.count("sent"), 4);
    // The dead worker coming back cannot finish rows it no longer holds.
    assert_eq!(
        outbox::mark_sent(&mut room.db.conn(), claimed[0].id, "dead-worker", "<x>").unwrap(),
        0
    );
}

/// Issue 15, item 15: a row that waited in a slow worker's batch past its lease, and was taken
/// by another worker meanwhile, is not sent by the slow one as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_renews_its_lease_before_sending_and_leaves_rows_it_lost() {
    let room = Mailroom::new();
    room.enqueue("cham@example.vn", TemplateKey::Test, Locale::Vi, json!({}));
    let conn = &mut room.db.conn();
    let slow = outbox::claim(conn, "slow-worker", &[Channel::Email], 10, Duration::ZERO).unwrap();
    assert_eq!(slow.len(), 1);
    std::thread::sleep(Duration::from_millis(20));
    let other = outbox::claim(
        conn,
        "other-worker",
        &[Channel::Email],
        10,
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(
        other.len(),
        1,
        "the lapsed lease lets another worker take the row"
    );
    let lease = Duration::from_secs(30);
    assert!(!outbox::renew(conn, slow[0].id, "slow-worker", lease).unwrap());
    assert!(outbox::renew(conn, other[0].id, "other-worker", lease).unwrap());
    // The real worker, with the row held by someone else, sends nothing.
    let (stop, run) = room.worker();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.send(true).unwrap();
    run.await.unwrap();
    assert_eq!(room.smtp.messages().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_is_parked_visible_and_retryable() {
    let room = Mailroom::new();
    room.enqueue(
        "someone+reject@example.vn",
        TemplateKey::Test,
        Locale::Vi,
        json!({}),
    );
    room.enqueue(
        "someone+tempfail@example.vn",
        TemplateKey::Test,
        Locale::Vi,
        json!({}),
    );
    let (stop, run) = room.worker();
    assert!(
        eventually(Duration::from_secs(10), || async {
            room.count("failed") == 1
        })
        .await
    );
    let failed = outbox::failed(&mut room.db.conn(), 10).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].recipient, "someone+reject@example.vn");
    assert_eq!(failed[0].attempts, 1, "a 5xx is not retried");
    assert!(failed[0].last_error.as_deref().unwrap().contains("550"));
    // The 4xx one keeps being retried, never parked before max_attempts.
    assert!(
        eventually(Duration::from_secs(10), || async {
            room.db.scalar_i64("SELECT max(attempts)::int8 AS n FROM platform.outbox WHERE recipient LIKE '%tempfail%'") >= 2
        })
        .await
    );
    assert_eq!(room.count("failed"), 1);
    // An operator retries it through the CLI: attempted again (and refused again).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dvc"))
        .args(["mail", "retry", &failed[0].id.to_string()])
        .env("DVC__DATABASE__URL", &room.db.url)
        .env("DVC__LOG__FILTER", "off")
        .env("DVC_CONFIG_DIR", "/nonexistent")
        .output()
        .unwrap();
    assert!(out.status.success());
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_dvc"))
        .args(["mail", "status"])
        .env("DVC__DATABASE__URL", &room.db.url)
        .env("DVC__LOG__FILTER", "off")
        .env("DVC_CONFIG_DIR", "/nonexistent")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("alpha"));
    assert!(
        eventually(Duration::from_secs(10), || async {
            room.db.scalar_i64(&format!(
                "SELECT count(*) AS n FROM platform.outbox WHERE id = {} AND status = 'failed' AND updated_at > now() - interval '5 seconds' AND attempts = 1",
                failed[0].id
            )) == 1
        })
        .await
    );
    stop.send(true).unwrap();
    run.await.unwrap();
    assert!(room.smtp.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_transaction_sends_nothing() {
    let room = Mailroom::new();
    let mail = NewMail {
        tenant_id: Some(room.alpha),
        template: TemplateKey::Test,
        locale: Locale::Vi,
        recipient: Email::parse("rollback@example.vn").unwrap(),
        payload: json!({}),
        idempotency_key: "rolled-back".into(),
    };
    let result: Result<(), diesel::result::Error> = room.db.conn().transaction(|conn| {
        outbox::enqueue(conn, &mail)?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(result.is_err());
    room.enqueue("kept@example.vn", TemplateKey::Test, Locale::Vi, json!({}));
    let (stop, run) = room.worker();
    assert!(room.wait_for(1).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(true).unwrap();
    run.await.unwrap();
    let raws = room.smtp.messages();
    assert_eq!(raws.len(), 1);
    assert_eq!(
        parse(&raws[0])
            .to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap(),
        "kept@example.vn"
    );
    assert_eq!(
        room.db
            .scalar_i64("SELECT count(*) AS n FROM platform.outbox"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_attempts_are_neutralised() {
    let room = Mailroom::new();
    room.enqueue(
        "inject@example.vn",
        TemplateKey::RoleGranted,
        Locale::Vi,
        json!({
            "full_name": "<script>alert('x')</script> <b>An</b>",
            "role": "cán bộ\r\nBcc: attacker@evil.example",
            "link": "https://alpha.localhost/\"><script>x</script>"
        }),
    );
    let (stop, run) = room.worker();
    assert!(room.wait_for(1).await);
    stop.send(true).unwrap();
    run.await.unwrap();
    let raw = &room.smtp.messages()[0];
    let m = parse(raw);
    assert!(m.header("Bcc").is_none());
    assert!(
        !String::from_utf8_lossy(raw)
            .to_lowercase()
            .contains("\nbcc:")
    );
    assert_eq!(
        m.subject().unwrap(),
        "Bạn được giao vai trò cán bộ Bcc: attacker@evil.example tại Sở thử nghiệm ALPHA"
    );
    let html = m.body_html(0).unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("\"><script>"), "{html}");
    // The text part carries the name as written: it is plain text.
    assert!(m.body_text(0).unwrap().contains("<b>An</b>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_over_its_rate_waits_for_the_next_minute() {
    let mut room = Mailroom::new();
    room.settings.mail.per_tenant_per_minute = 2;
    for i in 0..4 {
        room.enqueue(
            &format!("rate{i}@example.vn"),
            TemplateKey::Test,
            Locale::Vi,
            json!({}),
        );
    }
    let (stop, run) = room.worker();
    assert!(room.wait_for(2).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.send(true).unwrap();
    run.await.unwrap();
    // Unless the minute turned during the test, exactly two went out; the rest wait, unspent.
    let sent = room.smtp.messages().len();
    assert!((2..=4).contains(&sent), "{sent}");
    let waiting = room.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.outbox WHERE status = 'pending' AND attempts = 0 AND next_attempt_at > now()",
    );
    assert_eq!(waiting as usize, 4 - sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_overrides_a_template_through_its_file() {
    let room = Mailroom::new();
    let with_override = format!(
        "{}\n[mail.templates.test.vi]\nsubject = \"Thư riêng của {{{{ tenant.name }}}}\"\nbody = \"Nội dung riêng.\"\n",
        tenant_toml("alpha", "ALPHA", 1)
    );
    room.db.apply_texts(&[("alpha.toml", with_override)]);
    room.enqueue(
        "custom@example.vn",
        TemplateKey::Test,
        Locale::Vi,
        json!({}),
    );
    room.enqueue("stock@example.vn", TemplateKey::Test, Locale::En, json!({}));
    let (stop, run) = room.worker();
    assert!(room.wait_for(2).await);
    stop.send(true).unwrap();
    run.await.unwrap();
    let raws = room.smtp.messages();
    let by_to = |to: &str| {
        raws.iter()
            .map(|r| parse(r))
            .find(|m| m.to().unwrap().first().unwrap().address().unwrap() == to)
            .unwrap()
    };
    let custom = by_to("custom@example.vn");
    assert_eq!(
        custom.subject().unwrap(),
        "Thư riêng của Sở thử nghiệm ALPHA"
    );
    assert!(custom.body_text(0).unwrap().starts_with("Nội dung riêng."));
    // Other languages keep the built-in template.
    assert_eq!(
        by_to("stock@example.vn").subject().unwrap(),
        "Test message from Test department ALPHA"
    );
}

#[test]
fn a_broken_override_is_refused_with_its_location() {
    let db = TestDb::new();
    for (bad, why) in [
        (
            "[mail.templates.test.vi]\nsubject = \"{{ unclosed\"\n",
            "does not compile",
        ),
        (
            "[mail.templates.no_such_mail.vi]\nsubject = \"x\"\n",
            "unknown mail template",
        ),
        (
            "[mail.templates.test.fr]\nsubject = \"x\"\n",
            "unknown language",
        ),
    ] {
        let text = format!("{}\n{bad}", tenant_toml("alpha", "ALPHA", 1));
        let parsed = dvc::hosting::files::parse(std::path::Path::new("alpha.toml"), &text).unwrap();
        let err = dvc::hosting::apply::apply_files(&db.pool(1), vec![parsed]).unwrap_err();
        let problems = err.problems().join("\n");
        assert!(problems.contains(why), "{problems}");
        assert!(problems.starts_with("alpha.toml:"), "{problems}");
    }
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.tenants"),
        0
    );
}

const OPERATOR_TOKEN: &str = "operator-secret-token";

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[actix_web::test]
async fn operators_see_and_retry_the_outbox_through_the_api_with_the_worker_in_process() {
    let room = Mailroom::new();
    room.enqueue("fine@example.vn", TemplateKey::Test, Locale::Vi, json!({}));
    room.enqueue(
        "nobody+reject@example.vn",
        TemplateKey::Test,
        Locale::Vi,
        json!({}),
    );
    let settings = room.settings.clone();
    let app = crate::common::TestApp::spawn_on(room.db.clone(), move |s| {
        *s = settings.clone();
        s.mail.worker_in_process = true;
        s.operator.api_token_sha256 = Some(sha256_hex(OPERATOR_TOKEN));
    })
    .await;
    assert!(room.wait_for(1).await, "the in-process worker delivers");
    assert!(
        eventually(Duration::from_secs(10), || async {
            room.count("failed") == 1
        })
        .await
    );

    let auth = format!("Bearer {OPERATOR_TOKEN}");
    let (status, ctype, body) = app.call("GET", "/api/v1/operator/outbox", &[]).await;
    assert_eq!(
        (status, ctype.as_str()),
        (401, "application/problem+json"),
        "{body}"
    );
    let (status, _, _) = app
        .call(
            "GET",
            "/api/v1/operator/outbox",
            &[("Authorization", "Bearer wrong")],
        )
        .await;
    assert_eq!(status, 401);
    let (status, _, counts) = app
        .call(
            "GET",
            "/api/v1/operator/outbox",
            &[("Authorization", &auth)],
        )
        .await;
    assert_eq!(status, 200, "{counts}");
    let count_of = |s: &str| {
        counts
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == s && c["tenant"] == "alpha")
            .map(|c| c["count"].as_i64().unwrap())
    };
    assert_eq!(count_of("sent"), Some(1));
    assert_eq!(count_of("failed"), Some(1));
    let (_, _, failed) = app
        .call(
            "GET",
            "/api/v1/operator/outbox/failed?limit=10",
            &[("Authorization", &auth)],
        )
        .await;
    let row = &failed.as_array().unwrap()[0];
    assert_eq!(row["recipient"], "nobody+reject@example.vn");
    assert!(row["last_error"].as_str().unwrap().contains("550"));
    let id = row["id"].as_i64().unwrap();
    let (status, _, _) = app
        .call(
            "POST",
            &format!("/api/v1/operator/outbox/{id}/retry"),
            &[("Authorization", &auth)],
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, body) = app
        .call(
            "POST",
            "/api/v1/operator/outbox/999999/retry",
            &[("Authorization", &auth)],
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = app
        .call(
            "GET",
            "/api/v1/operator/outbox/failed?limit=0",
            &[("Authorization", &auth)],
        )
        .await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn the_operator_api_needs_an_operator() {
    let app = crate::common::TestApp::with_two_tenants(1, 1).await;
    let (status, _, _) = app
        .call(
            "GET",
            "/api/v1/operator/outbox",
            &[("Authorization", "Bearer anything")],
        )
        .await;
    assert_eq!(status, 401, "an unknown token is nobody");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_worker_finish_or_release_its_claim() {
    let room = Mailroom::new();
    for i in 0..200 {
        room.enqueue(
            &format!("term{i}@example.vn"),
            TemplateKey::Test,
            Locale::Vi,
            json!({}),
        );
    }
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_dvc"))
            .arg("worker")
            .env("DVC__DATABASE__URL", &room.db.url)
            .env("DVC__REDIS__PREFIX", &room.db.name)
            .env("DVC__SMTP__PORT", room.smtp.port.to_string())
            .env("DVC__MAIL__CONCURRENCY", "1")
            .env("DVC__MAIL__BATCH_SIZE", "200")
            .env("DVC__LOG__FILTER", "off")
            .env("DVC_CONFIG_DIR", "/nonexistent")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = spawn();
    assert!(room.wait_for(1).await);
    let term = std::process::Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let exit = tokio::task::spawn_blocking(move || first.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert_eq!(
        room.count("sending"),
        0,
        "claimed rows were finished or given back"
    );
    let sent_by_first = room.smtp.messages().len();
    assert!(
        sent_by_first < 200,
        "the first worker stopped early ({sent_by_first})"
    );
    let mut second = spawn();
    assert!(room.wait_for(200).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = second.kill();
    let _ = second.wait();
    let raws = room.smtp.messages();
    assert_eq!(raws.len(), 200, "each message exactly once");
    assert_eq!(room.count("sent"), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_mail_passes_dkim_verification() {
    let mut room = Mailroom::new();
    let dir = std::env::temp_dir().join(format!("dvc-dkim-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("dkim.pem");
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    openssl(&[
        "genrsa",
        "-traditional",
        "-out",
        key.to_str().unwrap(),
        "2048",
    ]);
    // The PEM body of the public key is the base64 a DKIM DNS record carries.
    let public_b64 = |pem_key: &std::path::Path| {
        let pem = openssl(&["rsa", "-in", pem_key.to_str().unwrap(), "-pubout"]);
        String::from_utf8(pem)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    };
    room.settings.mail.dkim_selector = Some("dvc2026".into());
    room.settings.mail.dkim_private_key_file = Some(key.clone());
    room.enqueue(
        "signed@example.vn",
        TemplateKey::DossierReceived,
        Locale::Vi,
        sample_payload(TemplateKey::DossierReceived),
    );
    let (stop, run) = room.worker();
    assert!(room.wait_for(1).await);
    stop.send(true).unwrap();
    run.await.unwrap();
    let stored = dir.join("message.eml");
    std::fs::write(&stored, &room.smtp.messages()[0]).unwrap();
    let raw = String::from_utf8_lossy(&room.smtp.messages()[0]).to_string();
    assert!(
        raw.contains("DKIM-Signature:") || raw.contains("dkim-signature:"),
        "{raw}"
    );
    assert!(raw.contains("s=dvc2026") && raw.contains("d=dichvucong.localhost"));
    let verify = |pubkey: &str| {
        std::process::Command::new("/usr/bin/python3")
            .args([
                "tests/smtp/dkim_verify.py",
                stored.to_str().unwrap(),
                pubkey,
            ])
            .output()
            .unwrap()
    };
    let ok = verify(&public_b64(&key));
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    // A different key does not verify: the check can fail.
    let other = dir.join("other.pem");
    openssl(&[
        "genrsa",
        "-traditional",
        "-out",
        other.to_str().unwrap(),
        "2048",
    ]);
    assert!(!verify(&public_b64(&other)).status.success());
    std::fs::remove_dir_all(dir).unwrap();
}
