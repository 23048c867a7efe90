//! The one-stop desk through the API, against real PostgreSQL, Redis and SMTP: a walk-in
//! registered with its scans, checked before the clock starts (completion asked, then
//! received), refused with a reason, the appointment moved with an apology, codes opening
//! with the agency identifier under concurrency, the applicant claiming the dossier once they
//! sign up, and the slips read back by poppler's `pdftotext`.

use crate::common::eventually;
use crate::world::{PDF, PNG, QUICK, WORK_PERMIT, World};
use diesel::connection::SimpleConnection;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

const AGENCY: &str = "000.00.24.H29";
const CCCD: &str = "001190012345";
const WALK_IN_PHONE: &str = "0987 654 321";

/// Gives tinh-a an agency identifier and makes the running server see it.
fn with_agency_id(w: &World) {
    let mut conn = w.db.conn();
    conn.batch_execute(&format!(
        "UPDATE platform.tenants SET agency_id = '{AGENCY}' WHERE slug = 'tinh-a'"
    ))
    .unwrap();
    w.app.app_state.registry.reload(&mut conn).unwrap();
}

fn walk_in(email: Option<&str>) -> Value {
    json!({
        "procedure": WORK_PERMIT,
        "channel": "counter",
        "applicant": {
            "full_name": "Nguyễn Thị Hoà",
            "id_number": CCCD,
            "phone": WALK_IN_PHONE,
            "email": email,
        },
        "form": { "ho_ten": "Nguyễn Thị Hoà", "ngay_sinh": "1990-05-01" }
    })
}

async fn register(w: &World, body: &Value, files: &[(usize, &str, &[u8])]) -> (u16, Value) {
    let token = w.token(w.officer_a, "tinh-a", &["officer"]);
    w.multipart("/t/tinh-a/api/v1/desk/dossiers", &token, body, files)
        .await
}

async fn detail(w: &World, code: &str) -> Value {
    let token = w.token(w.officer_a, "tinh-a", &["officer"]);
    w.req(
        "GET",
        &format!("/t/tinh-a/api/v1/dossiers/{code}"),
        Some(&token),
        None,
    )
    .await
    .1
}

/// The slip as PDF from the API, and its text as poppler reads it.
async fn slip_text(w: &World, code: &str, kind: &str) -> (u16, String) {
    let token = w.token(w.officer_a, "tinh-a", &["officer"]);
    let resp = awc::Client::default()
        .get(format!(
            "{}/t/tinh-a/api/v1/dossiers/{code}/slips/{kind}",
            w.app.base
        ))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let mut resp = resp;
    let bytes = resp.body().limit(10 << 20).await.unwrap();
    if status != 200 {
        return (status, String::from_utf8_lossy(&bytes).into_owned());
    }
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let path = std::env::temp_dir().join(format!("dvc-slip-{}.pdf", Uuid::new_v4()));
    std::fs::write(&path, &bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed: scripts/services.sh installs it");
    std::fs::remove_file(&path).ok();
    assert!(out.status.success(), "pdftotext failed");
    // Words as read, whatever the layout wrapped onto a new line of a table cell.
    let text = String::from_utf8(out.stdout).unwrap();
    (
        status,
        text.split_whitespace().collect::<Vec<_>>().join(" "),
    )
}

fn day(iso: &str) -> String {
    let d = chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d").unwrap();
    d.format("%d/%m/%Y").to_string()
}

#[actix_web::test]
async fn a_walk_in_is_checked_before_the_clock_starts_then_received_with_its_slips() {
    let w = World::new(|_| {}).await;
    with_agency_id(&w);
    let (s, b) = register(
        &w,
        &walk_in(Some("hoa@example.vn")),
        &[(0, "don-trang-1.pdf", PDF), (0, "don-trang-2.pdf", PDF)],
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let code = b["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with(&format!("{AGENCY}-")), "{code}");
    assert_eq!(b["status"], "submitted");
    let d = detail(&w, &code).await;
    assert_eq!(d["channel"], "counter");
    assert_eq!(d["applicant_id_number"], CCCD);
    assert_eq!(d["attachments"].as_array().unwrap().len(), 2, "{d}");
    // Registered by the officer, for nobody's account yet.
    let applicant: Option<Uuid> = {
        use diesel::prelude::*;
        use dvc::db::schema::dossier_index as i;
        i::table
            .filter(i::code.eq(&code))
            .select(i::account_id)
            .first(&mut w.db.conn())
            .unwrap()
    };
    assert_eq!(applicant, None);

    // The desk asks to complete it: the clock has not started, and the applicant is told what.
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "request_completion",
            json!({}),
        )
        .await;
    assert_eq!(s, 400, "a completion request lists what is missing: {b}");
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "request_completion",
            json!({ "missing": ["Ảnh 4x6 của người lao động"], "note": "Ảnh nền trắng" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "incomplete");
    assert!(b["due_date"].is_null(), "no clock before receipt: {b}");
    assert!(
        eventually(Duration::from_secs(20), || async {
            w.subjects()
                .iter()
                .any(|s| s.contains(&code) && s.contains("hoàn thiện"))
        })
        .await,
        "{:?}",
        w.subjects()
    );
    let (s, text) = slip_text(&w, &code, "completion_request").await;
    assert_eq!(s, 200, "{text}");
    assert!(
        text.contains("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ"),
        "{text}"
    );
    assert!(text.contains("Ảnh 4x6 của người lao động"), "{text}");
    // No receipt yet, and a refusal slip only for a refused dossier.
    assert_eq!(slip_text(&w, &code, "receipt").await.0, 404);
    assert_eq!(slip_text(&w, &code, "refusal").await.0, 404);

    // The papers are handed in: the desk receives, and the clock starts now.
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "receive",
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let due = b["due_date"].as_str().unwrap().to_owned();
    let (s, text) = slip_text(&w, &code, "receipt").await;
    assert_eq!(s, 200);
    for expected in [
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        code.as_str(),
        day(&due).as_str(),
        "Nguyễn Thị Hoà",
        "Cán bộ A",
        "Đơn đề nghị",
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` missing from:\n{text}"
        );
    }
    let (s, text) = slip_text(&w, &code, "processing_record").await;
    assert_eq!(s, 200);
    assert!(text.contains("Chờ bổ sung, hoàn thiện hồ sơ"), "{text}");
    assert!(text.contains("Đã tiếp nhận"), "{text}");
    // The walk-in has no account: the notices reach the phone on the dossier by text too.
    for template in ["completion_requested", "dossier_received"] {
        let n = w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.outbox WHERE channel = 'sms' \
             AND template = '{template}' AND recipient = '84987654321' \
             AND payload->>'dossier_code' = '{code}'"
        ));
        assert_eq!(n, 1, "{template}");
    }
}

#[actix_web::test]
async fn a_refusal_at_receipt_states_its_reason_and_bad_intakes_store_nothing() {
    let w = World::new(|_| {}).await;
    let mut body = walk_in(None);
    body["channel"] = json!("postal");
    let (s, b) = register(&w, &body, &[(0, "don.pdf", PDF)]).await;
    assert_eq!(s, 201, "{b}");
    let code = b["code"].as_str().unwrap().to_owned();
    assert!(
        code.starts_with("TA-"),
        "no agency identifier: the tenant code: {code}"
    );
    let version = detail(&w, &code).await["version"].clone();

    // A refusal without its reason: 422 on the field, and nothing changes.
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "refuse",
            json!({}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["errors"][0]["path"], "/note", "{b}");
    let d = detail(&w, &code).await;
    assert_eq!(
        (d["status"].clone(), d["version"].clone()),
        (json!("submitted"), version)
    );

    let reason = "Thủ tục thuộc thẩm quyền của Ủy ban nhân dân cấp xã";
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "refuse",
            json!({ "note": reason }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "refused");
    let d = detail(&w, &code).await;
    assert_eq!(d["refusal_reason"], reason);
    assert!(d["actions"].as_array().unwrap().is_empty(), "closed: {d}");
    let (s, text) = slip_text(&w, &code, "refusal").await;
    assert_eq!(s, 200);
    assert!(
        text.contains("PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ"),
        "{text}"
    );
    assert!(text.contains("Ủy ban nhân dân cấp xã"), "{text}");
    // Once received, it is too late to refuse at receipt.
    let online = w.submit_work_permit("tinh-a", w.citizen).await;
    w.act(
        "tinh-a",
        &online,
        w.officer_a,
        &["officer"],
        "receive",
        json!({}),
    )
    .await;
    let (s, _) = w
        .act(
            "tinh-a",
            &online,
            w.officer_a,
            &["officer"],
            "refuse",
            json!({ "note": reason }),
        )
        .await;
    assert_eq!(s, 409);

    // Bad intakes: each gets its field error, and nothing is stored.
    let dossiers = w.count("tinh-a", "dossiers");
    let files = walk(&w.storage);
    let mut bad_cccd = walk_in(None);
    bad_cccd["applicant"]["id_number"] = json!("999190012345");
    let mut not_offered = walk_in(None);
    not_offered["procedure"] = json!("9.999999");
    let mut online_channel = walk_in(None);
    online_channel["channel"] = json!("online");
    let mut bad_tax_code = walk_in(None);
    bad_tax_code["applicant"]["id_number"] = json!("0100109107");
    for (body, scans, path) in [
        (bad_cccd, vec![(0, "don.pdf", PDF)], "/applicant/id_number"),
        (bad_tax_code, vec![], "/applicant/id_number"),
        (not_offered, vec![], "/procedure"),
        (online_channel, vec![], "/channel"),
        // A PNG named as the PDF the document asks for.
        (walk_in(None), vec![(0, "don.pdf", PNG)], "/documents/0"),
    ] {
        let (s, b) = register(&w, &body, &scans).await;
        assert_eq!(s, 422, "{b}");
        let paths: Vec<&str> = b["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert!(paths.contains(&path), "{path} not in {paths:?}");
    }
    // A citizen is not the desk.
    let token = w.token(w.citizen, "tinh-a", &[]);
    let (s, _) = w
        .multipart(
            "/t/tinh-a/api/v1/desk/dossiers",
            &token,
            &walk_in(None),
            &[(0, "don.pdf", PDF)],
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(w.count("tinh-a", "dossiers"), dossiers);
    assert_eq!(walk(&w.storage), files, "refused scans are not kept");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[actix_web::test]
async fn a_late_dossier_gets_a_new_appointment_with_an_apology() {
    let w = World::new(|_| {}).await;
    let code = w.submit_work_permit("tinh-a", w.citizen).await;
    let (_, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "receive",
            json!({}),
        )
        .await;
    let due: chrono::NaiveDate = b["due_date"].as_str().unwrap().parse().unwrap();
    let cal = dvc::services::calendar::Calendar::vietnam();
    let later = cal.add_working_days(due, 3);
    let token = w.token(w.officer_a, "tinh-a", &["officer"]);
    let extend = |date: chrono::NaiveDate, reason: &str| {
        let body = json!({
            "version": 0, "due_date": date, "reason": reason,
        });
        (body, token.clone())
    };
    let path = format!("/t/tinh-a/api/v1/dossiers/{code}/extend");
    for (date, reason, status, field) in [
        (later, "", 422, "/reason"),
        (due, "Chờ ý kiến của cơ quan phối hợp", 422, "/due_date"),
    ] {
        let (mut body, token) = extend(date, reason);
        body["version"] = json!(w.version("tinh-a", &code).await);
        let (s, b) = w.req("POST", &path, Some(&token), Some(body)).await;
        assert_eq!(s, status, "{b}");
        assert_eq!(b["errors"][0]["path"], field, "{b}");
    }
    let (mut body, token) = extend(later, "Chờ ý kiến của cơ quan phối hợp");
    body["version"] = json!(w.version("tinh-a", &code).await);
    let (s, b) = w.req("POST", &path, Some(&token), Some(body)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["due_date"], json!(later));
    assert!(
        eventually(Duration::from_secs(20), || async {
            w.subjects()
                .iter()
                .any(|s| s.contains(&code) && s.contains("Xin lỗi"))
        })
        .await,
        "{:?}",
        w.subjects()
    );
    let (s, text) = slip_text(&w, &code, "apology").await;
    assert_eq!(s, 200);
    assert!(
        text.contains("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"),
        "{text}"
    );
    assert!(text.contains(&due.format("%d/%m/%Y").to_string()), "{text}");
    assert!(
        text.contains(&later.format("%d/%m/%Y").to_string()),
        "{text}"
    );
    assert!(text.contains("cơ quan phối hợp"), "{text}");
    // The apology reaches the applicant's phone as well.
    let apologies = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM platform.outbox WHERE channel = 'sms' \
         AND template = 'dossier_delayed' AND recipient = '84912345678' \
         AND payload->>'dossier_code' = '{code}'"
    ));
    assert_eq!(apologies, 1);
    // A dossier not yet received has no appointment to move.
    let fresh = w.submit_work_permit("tinh-a", w.citizen).await;
    let (s, _) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/dossiers/{fresh}/extend"),
            Some(&token),
            Some(json!({ "version": 1, "due_date": later, "reason": "x" })),
        )
        .await;
    assert_eq!(s, 409);
}

#[actix_web::test]
async fn twenty_four_parallel_intakes_get_distinct_codes_under_the_agency_identifier() {
    let w = World::new(|_| {}).await;
    with_agency_id(&w);
    let mut body = walk_in(None);
    body["procedure"] = json!(QUICK);
    body["form"] = json!({});
    let results = futures_util::future::join_all((0..24).map(|_| register(&w, &body, &[]))).await;
    let mut codes: Vec<String> = results
        .into_iter()
        .map(|(s, b)| {
            assert_eq!(s, 201, "{b}");
            b["code"].as_str().unwrap().to_owned()
        })
        .collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 24);
    let today = dvc::services::calendar::local_date(chrono::Utc::now());
    let prefix = format!("{AGENCY}-{}-", today.format("%y%m%d"));
    let mut seqs: Vec<u32> = codes
        .iter()
        .map(|c| c.strip_prefix(&prefix).unwrap().parse().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=24).collect::<Vec<_>>());
    // The public lookup takes the new codes (and the old ones keep working elsewhere).
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/lookup",
            None,
            Some(json!({ "code": codes[0].to_lowercase(), "phone": WALK_IN_PHONE })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

#[actix_web::test]
async fn a_counter_applicant_claims_their_dossier_by_signing_up_with_the_same_cccd_and_phone() {
    let w = World::new(|_| {}).await;
    let (s, b) = register(&w, &walk_in(Some("hoa@example.vn")), &[(0, "don.pdf", PDF)]).await;
    assert_eq!(s, 201, "{b}");
    let code = b["code"].as_str().unwrap().to_owned();
    // Someone with the same CCCD and phone but another address proves nothing.
    let stranger = crate::world::account(&w.db, "khac@example.vn", "Người Khác");
    // (A CCCD belongs to one account only; the stranger shares the phone.)
    // The applicant, signed up with the same CCCD, phone and the e-mail the desk recorded,
    // that e-mail verified by the code sent at sign-up (the helper's account is verified).
    let hoa = crate::world::account(&w.db, "hoa@example.vn", "Nguyễn Thị Hoà");
    for (who, cccd) in [(stranger, "001190054321"), (hoa, CCCD)] {
        w.db.conn()
            .batch_execute(&format!(
                "UPDATE platform.accounts SET citizen_id = '{cccd}', phone = '0987654321' \
                 WHERE id = '{who}'"
            ))
            .unwrap();
    }
    assert!(mine(&w, stranger).await.is_empty());
    // Unverified, the address proves nothing either.
    w.db.conn()
        .batch_execute(&format!(
            "UPDATE platform.accounts SET email_verified_at = NULL WHERE id = '{hoa}'"
        ))
        .unwrap();
    assert!(mine(&w, hoa).await.is_empty());
    w.db.conn()
        .batch_execute(&format!(
            "UPDATE platform.accounts SET email_verified_at = now() WHERE id = '{hoa}'"
        ))
        .unwrap();
    assert_eq!(mine(&w, hoa).await, vec![code.clone()]);
    // Now theirs in the tenant too: they follow it as its applicant.
    let token = w.token(hoa, "tinh-a", &[]);
    let (s, d) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/dossiers/{code}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["channel"], "counter");
    // Claimed once: nobody else can take it afterwards.
    assert!(mine(&w, stranger).await.is_empty());
    assert_eq!(w.count("tinh-a", "dossiers"), 1);
}

/// The codes of `who`'s dossiers across tenants, as the account API lists them.
async fn mine(w: &World, who: Uuid) -> Vec<String> {
    let token = w.account_token(who);
    let (s, b) = w
        .req("GET", "/api/v1/account/dossiers", Some(&token), None)
        .await;
    assert_eq!(s, 200, "{b}");
    b.as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn an_online_applicant_completes_what_the_desk_asked_for_before_receipt() {
    let w = World::new(|_| {}).await;
    let code = w.submit_work_permit("tinh-a", w.citizen).await;
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "request_completion",
            json!({ "missing": ["Bản sao hộ chiếu có chứng thực"] }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // The applicant may not receive their own dossier, nor refuse it.
    for action in ["receive", "refuse"] {
        let (s, _) = w
            .act(
                "tinh-a",
                &code,
                w.citizen,
                &[],
                action,
                json!({ "note": "x" }),
            )
            .await;
        assert_eq!(s, 403, "{action}");
    }
    let version = w.version("tinh-a", &code).await;
    let (s, b) = w
        .multipart(
            &format!("/t/tinh-a/api/v1/dossiers/{code}/supplement"),
            &w.token(w.citizen, "tinh-a", &[]),
            &json!({ "version": version, "note": "Đã bổ sung bản sao" }),
            &[(0, "ho-chieu.pdf", PDF)],
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "submitted", "back to the desk: {b}");
    assert!(b["due_date"].is_null());
    let d = detail(&w, &code).await;
    assert_eq!(d["missing"], json!([]));
    assert_eq!(d["attachments"].as_array().unwrap().len(), 3, "{d}");
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "receive",
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["due_date"].is_string());
}

async fn page(w: &World, path: &str) -> (u16, String) {
    let mut resp = awc::Client::default()
        .get(format!("{}{path}", w.app.base))
        .insert_header(("Host", "tinh-a.localhost"))
        .insert_header(("Accept", "text/html"))
        .send()
        .await
        .unwrap();
    let body = resp.body().limit(1 << 20).await.unwrap();
    (
        resp.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[actix_web::test]
async fn the_public_page_shows_dossiers_by_channel_and_slips_lead_to_the_lookup() {
    let w = World::new(|_| {}).await;
    let (s, b) = register(&w, &walk_in(None), &[(0, "don.pdf", PDF)]).await;
    assert_eq!(s, 201, "{b}");
    let counter = b["code"].as_str().unwrap().to_owned();
    let online = w.submit_work_permit("tinh-a", w.citizen).await;
    for code in [&counter, &online] {
        let (s, b) = w
            .act(
                "tinh-a",
                code,
                w.officer_a,
                &["officer"],
                "receive",
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, html) = page(&w, "/thong-ke").await;
    assert_eq!(s, 200, "{html}");
    for row in [
        "<th scope=\"row\">Trực tuyến</th><td>1</td><td>50 %</td>",
        "<th scope=\"row\">Trực tiếp tại Bộ phận một cửa</th><td>1</td><td>50 %</td>",
        "<th scope=\"row\">Qua dịch vụ bưu chính</th><td>0</td><td>0 %</td>",
    ] {
        assert!(html.contains(row), "{row} not in\n{html}");
    }
    // The QR code of a slip opens the public lookup with the code filled in (never the phone).
    let (s, html) = page(&w, &format!("/tra-cuu?ma={counter}")).await;
    assert_eq!(s, 200);
    assert!(html.contains(&format!("value=\"{counter}\"")), "{html}");
    let (_, html) = page(&w, "/tra-cuu?ma=%3Cscript%3E").await;
    assert!(
        !html.contains("<script>"),
        "only a well-formed code is echoed"
    );
}
