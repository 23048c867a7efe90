//! Text messages end to end: the outbox, the text worker, and a brandname SMS gateway and
//! Zalo's notification API served by the test over HTTP the way providers serve them — down,
//! refusing, throttled by quota — plus the sandbox a developer reads, fed by a real dossier.

use crate::common::{TestApp, TestDb, eventually, settings_for, tenant_toml};
use crate::world::World;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use dvc::config::{Settings, TextProviderKind};
use dvc::locale::Locale;
use dvc::mail::TemplateKey;
use dvc::texts::outbox::{NewText, enqueue};
use dvc::texts::worker::TextWorker;
use dvc::texts::{Channel, MobileNumber};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// How the provider answers.
#[derive(Clone, Debug, PartialEq)]
enum Mode {
    Accept,
    /// 503: the provider is having trouble.
    Down,
    /// 400: the request itself is refused.
    BadRequest,
    /// 200 with a gateway error code.
    Code(&'static str),
}

struct Seen {
    mode: Mode,
    /// Requests the provider accepted, in order.
    accepted: Vec<Value>,
    refused: usize,
}

/// A brandname gateway (`POST /send`) and a Zalo notification API (`POST /zns`).
struct Provider {
    base: String,
    seen: Arc<Mutex<Seen>>,
}

impl Provider {
    fn start() -> Self {
        let seen = Arc::new(Mutex::new(Seen {
            mode: Mode::Accept,
            accepted: Vec::new(),
            refused: 0,
        }));
        let data = web::Data::from(seen.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/send", web::post().to(gateway))
                .route("/zns", web::post().to(zns))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Self {
            base: format!("http://127.0.0.1:{port}"),
            seen,
        }
    }

    fn set(&self, mode: Mode) {
        self.seen.lock().unwrap().mode = mode;
    }

    fn accepted(&self) -> Vec<Value> {
        self.seen.lock().unwrap().accepted.clone()
    }

    fn refused(&self) -> usize {
        self.seen.lock().unwrap().refused
    }
}

async fn gateway(seen: web::Data<Mutex<Seen>>, body: web::Json<Value>) -> HttpResponse {
    let mut s = seen.lock().unwrap();
    match s.mode.clone() {
        Mode::Down => {
            s.refused += 1;
            HttpResponse::ServiceUnavailable().finish()
        }
        Mode::BadRequest => {
            s.refused += 1;
            HttpResponse::BadRequest().json(json!({"error": "Phone is not valid"}))
        }
        Mode::Code(code) => {
            s.refused += 1;
            HttpResponse::Ok().json(json!({"CodeResult": code, "ErrorMessage": "Phone invalid"}))
        }
        Mode::Accept => {
            s.accepted.push(body.into_inner());
            let id = format!("S{}", s.accepted.len());
            HttpResponse::Ok().json(json!({"CodeResult": "100", "SMSID": id}))
        }
    }
}

async fn zns(
    seen: web::Data<Mutex<Seen>>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut s = seen.lock().unwrap();
    if req
        .headers()
        .get("access_token")
        .and_then(|v| v.to_str().ok())
        != Some("zalo-token")
    {
        s.refused += 1;
        return HttpResponse::Ok()
            .json(json!({"error": -124, "message": "Access token is invalid"}));
    }
    s.accepted.push(body.into_inner());
    let id = format!("Z{}", s.accepted.len());
    HttpResponse::Ok().json(json!({"error": 0, "message": "Success", "data": {"msg_id": id}}))
}

struct Room {
    db: Arc<TestDb>,
    provider: Provider,
    settings: Settings,
    alpha: Uuid,
    beta: Uuid,
}

impl Room {
    fn new(plan: &str) -> Self {
        let db = TestDb::new();
        let alpha = tenant_toml("alpha", "ALPHA", 1).replacen(
            "[[fields]]",
            &format!("[branding]\nsms_sender = \"SO-ALPHA\"\n\n{plan}\n[[fields]]"),
            1,
        );
        let report = db.apply_texts(&[
            ("alpha.toml", alpha),
            ("beta.toml", tenant_toml("beta", "BETA", 1)),
        ]);
        let id = |slug: &str| {
            report
                .tenants
                .iter()
                .find(|t| t.slug.as_str() == slug)
                .unwrap()
                .id
        };
        let provider = Provider::start();
        let mut settings = settings_for(&db);
        let t = &mut settings.texts;
        t.provider = TextProviderKind::Http;
        t.sms_url = Some(format!("{}/send", provider.base));
        t.zalo_url = Some(format!("{}/zns", provider.base));
        t.zalo_access_token = Some("zalo-token".into());
        t.zalo_templates
            .insert("dossier_received".into(), "tpl-received".into());
        t.report_token = Some("report-token-123".into());
        t.backoff_base_secs = 1;
        t.backoff_max_secs = 1;
        t.poll_interval_secs = 1;
        t.batch_size = 25;
        Self {
            alpha: id("alpha"),
            beta: id("beta"),
            db: Arc::new(db),
            provider,
            settings,
        }
    }

    fn enqueue(&self, tenant: Uuid, channel: Channel, locale: Locale, code: &str) -> i64 {
        let text = NewText {
            tenant_id: Some(tenant),
            channel,
            template: TemplateKey::DossierReceived,
            locale,
            recipient: MobileNumber::parse("0912 345 678").unwrap(),
            payload: json!({"dossier_code": code, "due_date": "14/12/2026",
                "link": format!("https://alpha.localhost/ho-so/{code}"),
                "procedure_name": "Cấp giấy phép lao động"}),
            idempotency_key: Uuid::new_v4().to_string(),
        };
        assert!(enqueue(&mut self.db.conn(), &text).unwrap());
        self.db
            .scalar_i64("SELECT max(id) AS n FROM platform.outbox")
    }

    fn worker(
        &self,
    ) -> (
        tokio::sync::watch::Sender<bool>,
        std::thread::JoinHandle<()>,
    ) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let handle = TextWorker::new(&self.settings, self.db.pool(4)).spawn(rx);
        (tx, handle)
    }

    fn field(&self, id: i64, column: &str) -> String {
        self.db.scalar_text(&format!(
            "SELECT coalesce({column}::text, '') AS s FROM platform.outbox WHERE id = {id}"
        ))
    }

    fn count(&self, status: &str) -> i64 {
        self.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.outbox WHERE status = '{status}'"
        ))
    }
}

fn stop(
    worker: (
        tokio::sync::watch::Sender<bool>,
        std::thread::JoinHandle<()>,
    ),
) {
    worker.0.send(true).unwrap();
    worker.1.join().unwrap();
}

#[actix_web::test]
async fn a_text_waits_out_a_provider_that_is_down_and_arrives_once() {
    let room = Room::new("");
    room.provider.set(Mode::Down);
    let id = room.enqueue(room.alpha, Channel::Sms, Locale::Vi, "ALPHA-261207-0001");
    let worker = room.worker();
    assert!(
        eventually(Duration::from_secs(20), || async {
            room.field(id, "attempts").parse::<i32>().unwrap_or(0) >= 2
        })
        .await,
        "the worker kept trying"
    );
    // Waiting for its next attempt (or in it, when a lane has just taken it again).
    assert!(["pending", "sending"].contains(&room.field(id, "status").as_str()));
    assert!(
        room.field(id, "last_error").contains("503"),
        "{}",
        room.field(id, "last_error")
    );
    assert!(room.provider.accepted().is_empty());
    room.provider.set(Mode::Accept);
    assert!(
        eventually(Duration::from_secs(20), || async {
            room.field(id, "status") == "sent"
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop(worker);
    let accepted = room.provider.accepted();
    assert_eq!(accepted.len(), 1, "delivered once: {accepted:?}");
    // At least the first attempt met the outage (the attempt counted as the switch came may
    // have gone through).
    assert!(room.provider.refused() >= 1);
    let sms = &accepted[0];
    assert_eq!(sms["RequestId"], format!("dvc-{id}"));
    assert_eq!(sms["Phone"], "0912345678");
    assert_eq!(sms["Brandname"], "SO-ALPHA");
    assert_eq!(sms["IsUnicode"], "0");
    // The gateway takes the GSM alphabet only (the default): Vietnamese without marks.
    assert_eq!(
        sms["Content"],
        "Ho so ALPHA-261207-0001 da duoc tiep nhan, hen tra ket qua 14/12/2026. \
         Tra cuu: https://alpha.localhost/ho-so/ALPHA-261207-0001"
    );
    assert_eq!(room.field(id, "delivery_ref"), "S1");
    assert_eq!(room.field(id, "segments"), "1");
}

#[actix_web::test]
async fn two_workers_send_each_text_once() {
    let room = Room::new("");
    let mut ids = Vec::new();
    for i in 0..150 {
        let tenant = if i % 2 == 0 { room.alpha } else { room.beta };
        ids.push(room.enqueue(tenant, Channel::Sms, Locale::Vi, &format!("X-{i:04}")));
    }
    let (one, two) = (room.worker(), room.worker());
    assert!(
        eventually(Duration::from_secs(60), || async {
            room.count("sent") == 150
        })
        .await,
        "sent: {}",
        room.count("sent")
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop(one);
    stop(two);
    let mut requested: Vec<String> = room
        .provider
        .accepted()
        .iter()
        .map(|r| r["RequestId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(requested.len(), 150, "each text went to the gateway once");
    requested.sort();
    requested.dedup();
    assert_eq!(requested.len(), 150, "no text twice");
    // Every row carries the reference of its one accepted request.
    let refs = room.db.scalar_i64(
        "SELECT count(DISTINCT delivery_ref) AS n FROM platform.outbox WHERE channel = 'sms'",
    );
    assert_eq!(refs, 150);
}

#[actix_web::test]
async fn texts_locked_by_a_worker_that_dies_are_sent_by_another_once() {
    use diesel::connection::SimpleConnection;
    let room = Room::new("");
    let ids: Vec<i64> = (0..3)
        .map(|i| room.enqueue(room.alpha, Channel::Sms, Locale::Vi, &format!("D-{i}")))
        .collect();
    // A worker that locked the batch and then died before recording anything: its
    // transaction holds the rows while its connection lives.
    let mut dying = room.db.conn();
    dying.batch_execute("BEGIN").unwrap();
    let locked = dvc::texts::outbox::lock_due(&mut dying, 10).unwrap();
    assert_eq!(locked.iter().map(|t| t.id).collect::<Vec<_>>(), ids);
    assert_eq!(locked[0].sender.as_deref(), Some("SO-ALPHA"));
    let worker = room.worker();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        room.provider.accepted().is_empty(),
        "locked texts are skipped"
    );
    drop(dying);
    assert!(
        eventually(Duration::from_secs(20), || async {
            room.count("sent") == 3
        })
        .await,
        "sent: {}",
        room.count("sent")
    );
    stop(worker);
    assert_eq!(room.provider.accepted().len(), 3, "each once");
    for id in ids {
        assert_eq!(
            room.field(id, "attempts"),
            "1",
            "the dead claim is no attempt"
        );
    }
}

#[actix_web::test]
async fn a_refusing_provider_parks_the_text_visibly_and_an_operator_sends_it_again() {
    let room = Room::new("");
    room.provider.set(Mode::BadRequest);
    let bad = room.enqueue(room.alpha, Channel::Sms, Locale::Vi, "ALPHA-1");
    let worker = room.worker();
    assert!(
        eventually(Duration::from_secs(20), || async {
            room.field(bad, "status") == "failed"
        })
        .await
    );
    room.provider.set(Mode::Code("118"));
    let coded = room.enqueue(room.alpha, Channel::Sms, Locale::En, "ALPHA-2");
    assert!(
        eventually(Duration::from_secs(20), || async {
            room.field(coded, "status") == "failed"
        })
        .await
    );
    assert_eq!(room.field(bad, "attempts"), "1", "a 4xx is not retried");
    assert!(room.field(bad, "last_error").contains("HTTP 400"));
    assert!(room.field(coded, "last_error").contains("gateway code 118"));
    let failed = dvc::mail::outbox::failed(&mut room.db.conn(), 10).unwrap();
    assert_eq!(failed.len(), 2);
    assert!(
        failed
            .iter()
            .all(|f| f.channel == Channel::Sms && f.recipient == "84912345678")
    );
    // The operator fixes the cause and sends it again: it goes, once.
    room.provider.set(Mode::Accept);
    assert!(dvc::mail::outbox::retry(&mut room.db.conn(), coded).unwrap());
    assert!(
        eventually(Duration::from_secs(20), || async {
            room.field(coded, "status") == "sent"
        })
        .await
    );
    stop(worker);
    let accepted = room.provider.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0]["Content"],
        "Application ALPHA-2 was received; result due 14/12/2026. \
         Track it: https://alpha.localhost/ho-so/ALPHA-2"
    );
    assert_eq!(room.field(bad, "status"), "failed");
}

#[actix_web::test]
async fn the_monthly_quota_parks_what_is_over_it_and_usage_counts_what_went() {
    let room = Room::new("[plan]\ntexts_per_month = 3\n");
    let ids: Vec<i64> = (0..5)
        .map(|i| room.enqueue(room.alpha, Channel::Sms, Locale::Vi, &format!("Q-{i}")))
        .collect();
    let other = room.enqueue(room.beta, Channel::Sms, Locale::Vi, "B-1");
    let worker = room.worker();
    assert!(
        eventually(Duration::from_secs(20), || async {
            room.count("sent") == 4 && room.count("failed") == 2
        })
        .await,
        "sent {} failed {}",
        room.count("sent"),
        room.count("failed")
    );
    stop(worker);
    assert_eq!(
        room.field(other, "status"),
        "sent",
        "another tenant's quota is its own"
    );
    let parked: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| room.field(*id, "status") == "failed")
        .collect();
    assert_eq!(parked.len(), 2);
    for id in parked {
        assert!(
            room.field(id, "last_error")
                .contains("monthly text quota reached")
        );
    }
    let month = dvc::hosting::usage::month_of(chrono::Utc::now());
    let usage = dvc::hosting::usage::report(&mut room.db.conn(), month).unwrap();
    let alpha = usage.iter().find(|u| u.tenant == "alpha").unwrap();
    assert_eq!((alpha.texts_sent, alpha.mails_sent), (3, 0));
}

#[actix_web::test]
async fn zalo_notifications_carry_the_registered_template_and_delivery_reports_are_recorded() {
    let room = Room::new("");
    let zalo = room.enqueue(room.alpha, Channel::Zalo, Locale::Vi, "ALPHA-Z1");
    let sms = room.enqueue(room.alpha, Channel::Sms, Locale::Vi, "ALPHA-S1");
    let worker = room.worker();
    assert!(
        eventually(Duration::from_secs(20), || async {
            room.count("sent") == 2
        })
        .await
    );
    stop(worker);
    let accepted = room.provider.accepted();
    let z = accepted
        .iter()
        .find(|r| r.get("template_id").is_some())
        .unwrap();
    assert_eq!(z["template_id"], "tpl-received");
    assert_eq!(z["phone"], "84912345678");
    assert_eq!(z["tracking_id"], format!("dvc-{zalo}"));
    assert_eq!(z["template_data"]["dossier_code"], "ALPHA-Z1");
    let (zref, sref) = (
        room.field(zalo, "delivery_ref"),
        room.field(sms, "delivery_ref"),
    );
    assert!(zref.starts_with('Z') && sref.starts_with('S'));

    // The providers report back to dvc.
    let app = TestApp::spawn_on(room.db.clone(), |s| {
        s.texts.report_token = Some("report-token-123".into());
    })
    .await;
    let post = |path: String, body: Value| {
        let app = &app;
        async move { app.call_json("POST", &path, &body).await.0 }
    };
    let sms_hook = "/hooks/texts/sms/report-token-123".to_owned();
    assert_eq!(
        post(
            sms_hook.clone(),
            json!({"SMSID": sref, "Status": "ACCEPTD"})
        )
        .await,
        204
    );
    assert_eq!(
        room.field(sms, "delivery_status"),
        "",
        "not final: nothing recorded"
    );
    assert_eq!(
        post(
            sms_hook.clone(),
            json!({"SMSID": sref, "Status": "DELIVRD"})
        )
        .await,
        204
    );
    assert_eq!(room.field(sms, "delivery_status"), "delivered");
    let zalo_hook = "/hooks/texts/zalo/report-token-123".to_owned();
    let received = json!({"event_name": "user_received_message", "message": {"msg_id": zref}});
    assert_eq!(post(zalo_hook, received).await, 204);
    assert_eq!(room.field(zalo, "delivery_status"), "delivered");
    // Refused, and nothing recorded: a wrong token, an unknown text, a malformed report.
    let undelivered = json!({"SMSID": sref, "Status": "UNDELIV"});
    assert_eq!(
        post("/hooks/texts/sms/wrong".into(), undelivered.clone()).await,
        404
    );
    assert_eq!(
        post("/hooks/texts/email/report-token-123".into(), undelivered).await,
        404
    );
    assert_eq!(
        post(
            sms_hook.clone(),
            json!({"SMSID": "nope", "Status": "DELIVRD"})
        )
        .await,
        404
    );
    let (status, ctype, problem) = app
        .call_json("POST", &sms_hook, &json!({"Status": "DELIVRD"}))
        .await;
    assert_eq!((status, ctype.as_str()), (400, "application/problem+json"));
    assert_eq!(problem["code"], "invalid_delivery_report", "{problem}");
    assert_eq!(room.field(sms, "delivery_status"), "delivered");
}

/// The files the sandbox wrote, as JSON.
fn sandbox(dir: &std::path::Path) -> Vec<Value> {
    dvc::texts::provider::Sandbox::read_all(dir)
}

#[actix_web::test]
async fn officers_actions_reach_the_applicant_by_text_in_their_language() {
    let dir = std::env::temp_dir().join(format!("dvc-texts-world-{}", Uuid::new_v4()));
    let sandbox_dir = dir.clone();
    let w = World::new(move |s| {
        s.texts.sandbox_dir = sandbox_dir;
        // A gateway that takes Unicode: the sandbox shows the marks as sent.
        s.texts.sms_plain = false;
    })
    .await;
    // The second citizen reads English and has chosen e-mail only… for now.
    w.db.scalar_i64(&format!(
        "WITH u AS (UPDATE platform.accounts SET locale = 'en' WHERE id = '{}' RETURNING 1) \
         SELECT count(*) AS n FROM u",
        w.citizen2
    ));
    let vi = w.submit_work_permit("tinh-a", w.citizen).await;
    let en = w.submit_work_permit("tinh-a", w.citizen2).await;
    for code in [&vi, &en] {
        let (status, body) = w
            .act(
                "tinh-a",
                code,
                w.officer_a,
                &["officer"],
                "receive",
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let find = |texts: &[Value], code: &str, what: &str| {
        texts
            .iter()
            .find(|t| {
                let body = t["body"].as_str().unwrap_or_default();
                body.contains(code) && body.contains(what)
            })
            .cloned()
    };
    // A receipt and a fee notice for each.
    let wanted = [
        (&vi, "tiếp nhận"),
        (&vi, "phí"),
        (&en, "received"),
        (&en, "fee"),
    ];
    assert!(
        eventually(Duration::from_secs(20), || async {
            let texts = sandbox(&dir);
            wanted
                .iter()
                .all(|(code, what)| find(&texts, code, what).is_some())
        })
        .await,
        "{:?}",
        sandbox(&dir)
    );
    let texts = sandbox(&dir);
    let body_of = |code: &str, what: &str| find(&texts, code, what).unwrap();
    // Dates as each language writes them.
    let due = |code: &str| {
        let format = if code == en {
            "YYYY-MM-DD"
        } else {
            "DD/MM/YYYY"
        };
        w.db.scalar_text(&format!(
            "SELECT to_char(due_date, '{format}') AS s FROM t_tinh_a.dossiers WHERE code = '{code}'"
        ))
    };
    let t = body_of(&vi, "tiếp nhận");
    assert_eq!(t["to"], "84912345678");
    assert_eq!(t["channel"], "sms");
    assert_eq!(
        t["body"],
        format!(
            "Hồ sơ {vi} đã được tiếp nhận, hẹn trả kết quả {}. Tra cứu: http://tinh-a.localhost:8080/ho-so/{vi}",
            due(&vi)
        )
    );
    let t = body_of(&en, "received");
    assert_eq!(
        t["body"],
        format!(
            "Application {en} was received; result due {}. Track it: http://tinh-a.localhost:8080/ho-so/{en}",
            due(&en)
        )
    );
    let fee = body_of(&vi, "phí");
    assert_eq!(
        fee["body"],
        format!(
            "Hồ sơ {vi} cần nộp phí, lệ phí 600.000 ₫. Thanh toán: http://tinh-a.localhost:8080/ho-so/{vi}"
        )
    );
    // The same notice went by mail too, once each.
    let received_mails = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM platform.outbox WHERE channel = 'email' \
         AND template = 'dossier_received' AND payload->>'dossier_code' IN ('{vi}', '{en}')"
    ));
    assert_eq!(received_mails, 2);

    // Having turned texts off, the applicant hears by mail only.
    dvc::notify::set_preferences(
        &mut w.db.conn(),
        w.citizen,
        dvc::notify::Preferences {
            email: true,
            sms: false,
            zalo: false,
        },
    )
    .unwrap();
    let (status, body) = w
        .act(
            "tinh-a",
            &vi,
            w.officer_a,
            &["officer"],
            "start_review",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = w
        .act(
            "tinh-a",
            &vi,
            w.officer_a,
            &["officer"],
            "request_supplement",
            json!({"missing": ["Giấy chứng nhận sức khỏe"], "note": "Bản sao chưa rõ"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let by_channel = |channel: &str| {
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.outbox WHERE channel = '{channel}' \
             AND template = 'supplement_requested'"
        ))
    };
    assert_eq!((by_channel("email"), by_channel("sms")), (1, 0));
}
