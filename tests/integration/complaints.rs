//! Complaints and recommendations over HTTP, their whole life: filed without an account
//! (the code texted to the phone through the real outbox and worker), verified, listed for
//! officials with a working-day deadline, late on the leader's dashboard, answered, refused
//! publication while personal data is left, published, and shown to the public without it.

use crate::common::eventually;
use crate::world::World;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

const FILER_PHONE: &str = "0987 111 222";

fn sandbox(dir: &std::path::Path) -> Vec<Value> {
    dvc::texts::provider::Sandbox::read_all(dir)
}

async fn world() -> (World, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("dvc-complaints-{}", Uuid::new_v4()));
    let sandbox_dir = dir.clone();
    let w = World::new(move |s| s.texts.sandbox_dir = sandbox_dir).await;
    (w, dir)
}

fn filing() -> Value {
    json!({
        "kind": "complaint", "subject": "official", "subject_ref": "Cán bộ tiếp nhận buổi sáng",
        "title": "Cán bộ hẹn trả sai ngày",
        "body": "Tôi là Phạm Thị Dung, số điện thoại 0987 111 222, CCCD 001190012345. \
                 Cán bộ một cửa ghi ngày hẹn sai trên giấy hẹn.",
        "name": "Phạm Thị Dung", "phone": FILER_PHONE, "consent_publish": true
    })
}

fn complaints_in(w: &World) -> i64 {
    w.count("tinh-a", "complaints")
}

#[actix_web::test]
async fn a_complaint_lives_from_filing_to_publication() {
    let (w, dir) = world().await;
    let (status, filed) = w
        .req("POST", "/t/tinh-a/api/v1/complaints", None, Some(filing()))
        .await;
    assert_eq!(status, 202, "{filed}");
    assert_eq!(filed["status"], "unverified");
    assert_eq!(filed["code_sent_by"], "sms");
    let code = filed["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("PAKN-"), "{code}");

    // The code reaches the phone through the outbox (the sandbox provider), once.
    assert!(
        eventually(Duration::from_secs(20), || async {
            sandbox(&dir)
                .iter()
                .any(|t| t["body"].as_str().unwrap_or_default().contains(&code))
        })
        .await
    );
    let text = sandbox(&dir)
        .into_iter()
        .find(|t| t["body"].as_str().unwrap_or_default().contains(&code))
        .unwrap();
    assert_eq!(text["to"], "84987111222");
    let body = text["body"].as_str().unwrap();
    assert!(
        body.starts_with(&format!("Ma xac minh phan anh, kien nghi {code}: ")),
        "{body}"
    );
    let secret = body.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(secret.len(), 6);
    // Once sent, the code is no longer kept in the outbox.
    let kept = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM platform.outbox WHERE payload::text LIKE '%{secret}%'"
    ));
    assert_eq!(kept, 0);

    // Officials do not see it before it is verified.
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    let (_, list) = w
        .req("GET", "/t/tinh-a/api/v1/complaints", Some(&officer), None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");

    // A wrong code is refused (and counted); the right one files it.
    let verify = format!("/t/tinh-a/api/v1/complaints/{code}/verify");
    let wrong = if secret == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (status, problem) = w
        .req("POST", &verify, None, Some(json!({ "code": wrong })))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "/code");
    let (status, opened) = w
        .req("POST", &verify, None, Some(json!({ "code": secret })))
        .await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(opened["status"], "open");
    let today = dvc::services::calendar::local_date(chrono::Utc::now());
    let due =
        dvc::services::complaints::due_date(dvc::services::calendar::Calendar::vietnam(), today);
    assert_eq!(opened["due_date"], json!(due));
    // A second verification finds nothing to verify.
    let (status, _) = w
        .req("POST", &verify, None, Some(json!({ "code": secret })))
        .await;
    assert_eq!(status, 404);

    let (_, list) = w
        .req(
            "GET",
            "/t/tinh-a/api/v1/complaints?status=open",
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(list[0]["code"], code.as_str(), "{list}");
    assert_eq!(list[0]["filer_phone"], "84987111222");

    // Eleven working days later it is late: the leader's dashboard lists what this finds.
    let mut conn = w.db.conn();
    diesel::connection::SimpleConnection::batch_execute(&mut conn, "SET search_path TO t_tinh_a")
        .unwrap();
    let store = dvc::services::complaints::store::overdue;
    assert!(
        store(&mut conn, due).unwrap().is_empty(),
        "due today is not late"
    );
    let late = store(&mut conn, due.succ_opt().unwrap()).unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].code, code);

    // Publishing with personal data left is refused, and changes nothing.
    let answer_path = format!("/t/tinh-a/api/v1/complaints/{code}/answer");
    let answer = "Sở đã kiểm tra, điều chỉnh ngày hẹn và nhắc nhở cán bộ tiếp nhận.";
    let (status, problem) = w
        .req(
            "POST",
            &answer_path,
            Some(&officer),
            Some(json!({ "answer": answer, "publish": true,
                "public_question": "Phạm Thị Dung phản ánh cán bộ ghi sai ngày hẹn, gọi 0987111222." })),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "/public_question");
    assert_eq!(problem["errors"][0]["code"], "personal_data");
    // A citizen may not answer.
    let citizen = w.token(w.citizen, "tinh-a", &[]);
    let (status, _) = w
        .req(
            "POST",
            &answer_path,
            Some(&citizen),
            Some(json!({ "answer": answer })),
        )
        .await;
    assert_eq!(status, 403);
    // The draft the answer page offers has the personal data removed already.
    let (_, shown) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/complaints/{code}"),
            Some(&officer),
            None,
        )
        .await;
    let draft = dvc::services::complaints::redacted(
        shown["body"].as_str().unwrap(),
        shown["filer_name"].as_str().unwrap(),
    );
    assert!(
        dvc::services::complaints::personal_data(&draft, "Phạm Thị Dung").is_empty(),
        "{draft}"
    );
    let (status, answered) = w
        .req(
            "POST",
            &answer_path,
            Some(&officer),
            Some(json!({ "answer": answer, "publish": true, "public_question": draft })),
        )
        .await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["status"], "published");
    let (status, _) = w
        .req(
            "POST",
            &answer_path,
            Some(&officer),
            Some(json!({ "answer": answer })),
        )
        .await;
    assert_eq!(status, 409, "answered once");

    // The filer hears the answer on the phone they gave.
    let answered_texts = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM platform.outbox WHERE template = 'complaint_answered' \
         AND channel = 'sms' AND recipient = '84987111222' AND payload->>'complaint_code' = '{code}'"
    ));
    assert_eq!(answered_texts, 1);

    // The public sees the question and answer, and nothing personal.
    let (status, public) = w
        .req("GET", "/t/tinh-a/api/v1/complaints/published", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(public[0]["answer"], answer);
    let (status, page) = w.page("tinh-a.localhost", "/phan-anh-kien-nghi").await;
    assert_eq!(status, 200);
    assert!(page.contains("điều chỉnh ngày hẹn"), "{page}");
    for personal in [
        "Phạm Thị Dung",
        "0987",
        "84987111222",
        "001190012345",
        "hẹn trả sai ngày",
    ] {
        assert!(!page.contains(personal), "{personal} on the public page");
        assert!(
            !public.to_string().contains(personal),
            "{personal} in the public API"
        );
    }
    // Counted for the service index, once each: received, answered on time.
    let counted = w.db.scalar_text(
        "SELECT concat_ws('/', sum(complaints_received), sum(complaints_answered), \
           sum(complaints_answered_on_time)) AS s FROM platform.stats_daily d \
         JOIN platform.tenants t ON t.id = d.tenant_id WHERE t.slug = 'tinh-a'",
    );
    assert_eq!(counted, "1/1/1");
    // Audited.
    let audited = w.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.audit_log WHERE action IN \
         ('complaint.filed', 'complaint.verified', 'complaint.answered')",
    );
    assert_eq!(audited, 3);
}

#[actix_web::test]
async fn bad_filings_are_refused_with_their_fields_and_store_nothing() {
    let (w, _dir) = world().await;
    let post = |body: Value| {
        let w = &w;
        async move {
            w.req("POST", "/t/tinh-a/api/v1/complaints", None, Some(body))
                .await
        }
    };
    let mut no_contact = filing();
    no_contact.as_object_mut().unwrap().remove("phone");
    let (status, p) = post(no_contact).await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["path"], "/contact");
    let mut landline = filing();
    landline["phone"] = json!("024 3826 1234");
    let (status, p) = post(landline).await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["path"], "/phone");
    let mut unit = filing();
    unit["subject"] = json!("unit");
    unit["subject_ref"] = json!("khong-co");
    let (status, p) = post(unit).await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["code"], "unknown_unit");
    let mut unknown = filing();
    unknown["mood"] = json!("angry");
    let (status, _) = post(unknown).await;
    assert_eq!(status, 400);
    assert_eq!(complaints_in(&w), 0);
    let outbox = w
        .db
        .scalar_i64("SELECT count(*) AS n FROM platform.outbox WHERE template = 'complaint_code'");
    assert_eq!(outbox, 0, "no code sent for a refused filing");

    // A signed-in citizen's complaint is filed at once, without a code.
    let citizen = w.token(w.citizen, "tinh-a", &[]);
    let mut mine = filing();
    for k in ["name", "phone"] {
        mine.as_object_mut().unwrap().remove(k);
    }
    let (status, filed) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/complaints",
            Some(&citizen),
            Some(mine),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["status"], "open");
    assert!(filed["due_date"].is_string());
    // Officials only.
    let (status, _) = w
        .req("GET", "/t/tinh-a/api/v1/complaints", Some(&citizen), None)
        .await;
    assert_eq!(status, 403);
    // Another tenant's officials see none of it.
    let other = w.token(w.officer_b, "tinh-b", &["officer"]);
    let (status, list) = w
        .req("GET", "/t/tinh-b/api/v1/complaints", Some(&other), None)
        .await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(0)));
    let code = filed["code"].as_str().unwrap();
    let (status, _) = w
        .req(
            "GET",
            &format!("/t/tinh-b/api/v1/complaints/{code}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(status, 404);
    // Publication needs the filer's consent.
    let mut private = filing();
    private["consent_publish"] = json!(false);
    for k in ["name", "phone"] {
        private.as_object_mut().unwrap().remove(k);
    }
    let (_, filed) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/complaints",
            Some(&citizen),
            Some(private),
        )
        .await;
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    let (status, p) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/complaints/{}/answer", filed["code"].as_str().unwrap()),
            Some(&officer),
            Some(json!({"answer": "Đã xử lý.", "publish": true, "public_question": "Ngày hẹn ghi sai."})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["code"], "no_consent");
}

#[actix_web::test]
async fn five_wrong_codes_close_the_verification() {
    let (w, _dir) = world().await;
    let (_, filed) = w
        .req("POST", "/t/tinh-a/api/v1/complaints", None, Some(filing()))
        .await;
    let verify = format!(
        "/t/tinh-a/api/v1/complaints/{}/verify",
        filed["code"].as_str().unwrap()
    );
    let secret_hash = w.db.scalar_text(&format!(
        "SELECT encode(verify_hash, 'hex') AS s FROM t_tinh_a.complaints WHERE code = '{}'",
        filed["code"].as_str().unwrap()
    ));
    assert_eq!(secret_hash.len(), 64);
    // Every code but one is wrong; the stored hash tells which.
    let id: Uuid =
        w.db.scalar_text(&format!(
            "SELECT id::text AS s FROM t_tinh_a.complaints WHERE code = '{}'",
            filed["code"].as_str().unwrap()
        ))
        .parse()
        .unwrap();
    let hash_of = |guess: &str| {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(id.as_bytes());
        h.update(guess.as_bytes());
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let wrong: Vec<String> = (0..7u32)
        .map(|n| format!("{n:06}"))
        .filter(|g| hash_of(g) != secret_hash)
        .take(6)
        .collect();
    for guess in &wrong[..5] {
        let (status, _) = w
            .req("POST", &verify, None, Some(json!({ "code": guess })))
            .await;
        assert_eq!(status, 422);
    }
    let (status, p) = w
        .req("POST", &verify, None, Some(json!({ "code": wrong[5] })))
        .await;
    assert_eq!(status, 409, "{p}");
    assert_eq!(p["code"], "too_many_attempts");
}

#[actix_web::test]
async fn without_texts_a_phone_alone_cannot_receive_the_code() {
    let w = World::new(|s| s.texts.enabled = false).await;
    let (status, p) = w
        .req("POST", "/t/tinh-a/api/v1/complaints", None, Some(filing()))
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["code"], "email_required");
    assert_eq!(complaints_in(&w), 0);
    // With an e-mail the code goes by mail.
    let mut with_email = filing();
    with_email["email"] = json!("dung@example.vn");
    let (status, filed) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/complaints",
            None,
            Some(with_email),
        )
        .await;
    assert_eq!(status, 202, "{filed}");
    assert_eq!(filed["code_sent_by"], "email");
    let texts =
        w.db.scalar_i64("SELECT count(*) AS n FROM platform.outbox WHERE channel <> 'email'");
    assert_eq!(texts, 0, "texts off: nothing queued for a phone");
}
