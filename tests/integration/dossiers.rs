//! Dossiers end to end: submission with attachments, the workflow with its roles, deadlines,
//! mail, tracking, feedback, statistics and upward sync — real PostgreSQL, Redis and SMTP.

use crate::common::eventually;
use crate::world::{PDF, PHONE, PNG, QUICK, WORK_PERMIT, World};
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn a_full_online_dossier_lives_its_whole_life_in_two_tenants_at_once() {
    let w = World::new(|_| {}).await;
    // One citizen files in two provinces at the same moment.
    let (code_a, code_b) = tokio::join!(
        w.submit_work_permit("tinh-a", w.citizen),
        w.submit_work_permit("tinh-b", w.citizen)
    );
    assert!(code_a.starts_with("TA-"), "{code_a}");
    assert!(code_b.starts_with("TB-"), "{code_b}");

    // The citizen's dossiers from one account, across tenants, with the platform app's token;
    // a tenant portal's token is not enough.
    let token_b = w.token(w.citizen, "tinh-b", &[]);
    let (s, _) = w
        .req("GET", "/api/v1/account/dossiers", Some(&token_b), None)
        .await;
    assert_eq!(s, 401);
    let app_token = w.account_token(w.citizen);
    let (s, mine) = w
        .req("GET", "/api/v1/account/dossiers", Some(&app_token), None)
        .await;
    assert_eq!(s, 200, "{mine}");
    let mut tenants: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["tenant"].as_str().unwrap())
        .collect();
    tenants.sort();
    assert_eq!(tenants, ["tinh-a", "tinh-b"]);

    for (tenant, code, officer) in [
        ("tinh-a", &code_a, w.officer_a),
        ("tinh-b", &code_b, w.officer_b),
    ] {
        let leader = if tenant == "tinh-a" {
            w.leader_a
        } else {
            w.leader_bo
        };
        let (s, b) = w
            .act(tenant, code, officer, &["officer"], "receive", json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
        assert!(b["due_date"].is_string(), "{b}");
        assert_eq!(b["timeliness"], "on_time");
        let (s, _) = w
            .act(
                tenant,
                code,
                officer,
                &["officer"],
                "start_review",
                json!({}),
            )
            .await;
        assert_eq!(s, 200);
        let (s, b) = w
            .act(
                tenant,
                code,
                officer,
                &["officer"],
                "request_supplement",
                json!({ "missing": ["Bản sao hộ chiếu có chứng thực"], "note": "Thiếu bản sao" }),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["status"], "supplement_requested");

        // The citizen answers on the same dossier with a new file.
        let version = w.version(tenant, code).await;
        let (s, b) = w
            .multipart(
                &format!("/t/{tenant}/api/v1/dossiers/{code}/supplement"),
                &w.token(w.citizen, tenant, &[]),
                &json!({ "version": version, "note": "Đã bổ sung" }),
                &[(0, "ban-sao.pdf", PDF)],
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["status"], "resubmitted");
        let (s, _) = w
            .act(
                tenant,
                code,
                officer,
                &["officer"],
                "start_review",
                json!({}),
            )
            .await;
        assert_eq!(s, 200);
        if tenant == "tinh-a" {
            let (s, b) = w
                .act(
                    tenant,
                    code,
                    leader,
                    &["leader"],
                    "approve",
                    json!({ "note": "Đồng ý" }),
                )
                .await;
            assert_eq!(s, 200, "{b}");
        } else {
            // An officer alone may not decide a leader-decided procedure; the same person
            // holding the leader role too may.
            let (s, _) = w
                .act(tenant, code, officer, &["officer"], "approve", json!({}))
                .await;
            assert_eq!(s, 403);
            let (s, _) = w
                .act(
                    tenant,
                    code,
                    officer,
                    &["officer", "leader"],
                    "reject",
                    json!({ "note": "Không đủ điều kiện" }),
                )
                .await;
            assert_eq!(s, 200);
        }
        let (s, b) = w
            .act(tenant, code, officer, &["officer"], "return", json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["status"], "returned");
    }

    // The citizen sees the timeline and the files.
    let token_a = w.token(w.citizen, "tinh-a", &[]);
    let (s, d) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/dossiers/{code_a}"),
            Some(&token_a),
            None,
        )
        .await;
    assert_eq!(s, 200, "{d}");
    let steps: Vec<&str> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "submitted",
            "received",
            "in_review",
            "supplement_requested",
            "resubmitted",
            "in_review",
            "approved",
            "returned"
        ]
    );
    assert_eq!(d["attachments"].as_array().unwrap().len(), 3);
    assert_eq!(d["actions"], json!([]));
    assert_eq!(d["rating"], serde_json::Value::Null);
    let file_id = d["attachments"][0]["id"].as_str().unwrap();
    let (s, _) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/dossiers/{code_a}/attachments/{file_id}"),
            Some(&token_a),
            None,
        )
        .await;
    assert_eq!(s, 200);

    // Feedback: once, 1–5.
    let fb = |rating: i64| json!({ "rating": rating, "comment": "Nhanh, chu đáo" });
    let path = format!("/t/tinh-a/api/v1/dossiers/{code_a}/feedback");
    assert_eq!(
        w.req("POST", &path, Some(&token_a), Some(fb(6))).await.0,
        400
    );
    assert_eq!(
        w.req("POST", &path, Some(&token_a), Some(fb(5))).await.0,
        204
    );
    assert_eq!(
        w.req("POST", &path, Some(&token_a), Some(fb(4))).await.0,
        409
    );

    // Public lookup by code and phone: status and dates, no personal data.
    let lookup = |phone: &str| Some(json!({ "code": code_a, "phone": phone }));
    let (s, p) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/lookup",
            None,
            lookup("+84912345678"),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["status"], "returned");
    let text = p.to_string();
    assert!(!text.contains("John") && !text.contains("Dân") && !text.contains("0912"));
    let (s, _) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/lookup",
            None,
            lookup("0900000000"),
        )
        .await;
    assert_eq!(s, 404);
    // The phone never travels in the URL.
    let (s, _) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/lookup?code={code_a}&phone=%2B84912345678"),
            None,
            None,
        )
        .await;
    assert!(s == 404 || s == 405, "{s}");

    // Mail for each dossier, in Vietnamese: the fee due, received, supplement request, result.
    let expected: Vec<String> = [&code_a, &code_b]
        .iter()
        .flat_map(|c| {
            [
                format!("Hồ sơ {c}: vui lòng nộp phí, lệ phí"),
                format!("Hồ sơ {c} đã được tiếp nhận"),
                format!("Hồ sơ {c} cần bổ sung"),
                format!("Hồ sơ {c} đã có kết quả"),
            ]
        })
        .collect();
    assert!(
        eventually(Duration::from_secs(20), || async {
            let subjects = w.subjects();
            expected.iter().all(|e| subjects.contains(e))
        })
        .await,
        "{:?}",
        w.subjects()
    );

    // Statistics: tinh-a's leader sees tinh-a; the ministry's leader sees both provinces.
    let (s, st) = w
        .req(
            "GET",
            "/t/tinh-a/api/v1/stats",
            Some(&w.token(w.leader_a, "tinh-a", &["leader"])),
            None,
        )
        .await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["total"]["received"], 1);
    assert_eq!(st["total"]["resolved"], 1);
    assert_eq!(st["total"]["resolved_on_time"], 1);
    assert_eq!(st["total"]["satisfaction"], 5.0);
    let bo = w.token(w.leader_bo, "bo", &["leader"]);
    let (s, st) = w.req("GET", "/t/bo/api/v1/stats", Some(&bo), None).await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["total"]["received"], 2);
    assert_eq!(st["total"]["resolved"], 2);
    assert_eq!(st["tenants"], json!(["bo", "tinh-a", "tinh-b"]));
    // A province's leader may not read the ministry's roll-up nor a sibling.
    let (s, _) = w
        .req(
            "GET",
            "/t/tinh-a/api/v1/stats?tenant=tinh-b",
            Some(&w.token(w.leader_a, "tinh-a", &["leader"])),
            None,
        )
        .await;
    assert_eq!(s, 403);

    // Upward sync: the ministry hears every event of both provinces, ending at `returned`.
    assert!(
        eventually(Duration::from_secs(20), || async {
            w.db.scalar_i64(
                "SELECT count(*) AS n FROM t_bo.child_dossiers WHERE status = 'returned'",
            ) == 2
        })
        .await
    );
    let (s, kids) = w
        .req("GET", "/t/bo/api/v1/sync/dossiers", Some(&bo), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(kids.as_array().unwrap().len(), 2);
    assert_eq!(
        w.db.scalar_i64("SELECT count(*) AS n FROM t_bo.sync_inbox"),
        w.db.scalar_i64("SELECT count(*) AS n FROM platform.webhook_outbox"),
    );
}

#[actix_web::test]
async fn forbidden_transitions_wrong_roles_and_other_peoples_dossiers_are_refused() {
    let w = World::new(|_| {}).await;
    let code = w.submit_work_permit("tinh-a", w.citizen).await;
    let officer = |a: &str| (w.officer_a, vec!["officer"], a.to_owned());
    // The applicant may not receive; an officer may not withdraw for the applicant.
    let (s, _) = w
        .act("tinh-a", &code, w.citizen, &[], "receive", json!({}))
        .await;
    assert_eq!(s, 403);
    let (who, roles, _) = officer("withdraw");
    assert_eq!(
        w.act("tinh-a", &code, who, &roles, "withdraw", json!({}))
            .await
            .0,
        403
    );
    // Not possible from `submitted`: approve, return, request a supplement.
    for action in ["start_review", "request_supplement", "return"] {
        let (s, b) = w
            .act(
                "tinh-a",
                &code,
                w.officer_a,
                &["officer"],
                action,
                json!({ "missing": ["x"] }),
            )
            .await;
        assert_eq!(s, 409, "{action}: {b}");
        assert_eq!(b["code"], "invalid_transition");
    }
    let (s, _) = w
        .act(
            "tinh-a",
            &code,
            w.leader_a,
            &["leader"],
            "approve",
            json!({}),
        )
        .await;
    assert_eq!(s, 409);
    // A stale version is refused.
    let token = w.token(w.officer_a, "tinh-a", &["officer"]);
    let (s, b) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/dossiers/{code}/actions"),
            Some(&token),
            Some(json!({ "action": "receive", "version": 7 })),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(b["code"], "version_conflict");
    // After receipt the applicant can no longer withdraw.
    assert_eq!(
        w.act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "receive",
            json!({})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        w.act("tinh-a", &code, w.citizen, &[], "withdraw", json!({}))
            .await
            .0,
        409
    );
    // A supplement request must say what is missing.
    assert_eq!(
        w.act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "start_review",
            json!({})
        )
        .await
        .0,
        200
    );
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "request_supplement",
            json!({}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    // The officer may not decide a leader-decided procedure.
    assert_eq!(
        w.act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "approve",
            json!({})
        )
        .await
        .0,
        403
    );

    // IDOR: another citizen, the same code at another tenant, an official of another tenant.
    let path = format!("/t/tinh-a/api/v1/dossiers/{code}");
    let other = w.token(w.citizen2, "tinh-a", &[]);
    assert_eq!(w.req("GET", &path, Some(&other), None).await.0, 404);
    let (s, _) = w
        .act("tinh-a", &code, w.citizen2, &[], "withdraw", json!({}))
        .await;
    assert_eq!(s, 404);
    let at_b = w.token(w.citizen, "tinh-b", &[]);
    assert_eq!(w.req("GET", &path, Some(&at_b), None).await.0, 401);
    let b_path = format!("/t/tinh-b/api/v1/dossiers/{code}");
    assert_eq!(w.req("GET", &b_path, Some(&at_b), None).await.0, 404);
    let officer_b = w.token(w.officer_b, "tinh-b", &["officer"]);
    assert_eq!(w.req("GET", &b_path, Some(&officer_b), None).await.0, 404);
    // The other citizen's own list and lookups show nothing of it.
    let (_, list) = w
        .req("GET", "/t/tinh-a/api/v1/dossiers", Some(&other), None)
        .await;
    assert_eq!(list, json!([]));
    // Citizens have no inbox.
    assert_eq!(
        w.req("GET", "/t/tinh-a/api/v1/inbox", Some(&other), None)
            .await
            .0,
        403
    );
    // No token at all.
    assert_eq!(w.req("GET", &path, None, None).await.0, 401);
}

#[actix_web::test]
async fn two_officers_acting_at_once_one_wins_the_other_gets_409() {
    let w = World::new(|_| {}).await;
    let code = w.submit_work_permit("tinh-a", w.citizen).await;
    let token_1 = w.token(w.officer_a, "tinh-a", &["officer"]);
    let token_2 = w.token(w.officer_a2, "tinh-a", &["officer"]);
    let path = format!("/t/tinh-a/api/v1/dossiers/{code}/actions");
    let body = json!({ "action": "receive", "version": 1 });
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let token = if i % 2 == 0 { &token_1 } else { &token_2 };
            w.req("POST", &path, Some(token), Some(body.clone()))
        })
        .collect();
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(w.count("tinh-a", "dossier_events"), 2);
    assert_eq!(
        w.db.scalar_i64("SELECT sum(received)::int8 AS n FROM platform.stats_daily"),
        1
    );
}

#[actix_web::test]
async fn bad_attachments_and_form_data_are_refused_with_field_errors_and_nothing_is_stored() {
    let w = World::new(|_| {}).await;
    let token = w.token(w.citizen, "tinh-a", &[]);
    let path = "/t/tinh-a/api/v1/dossiers";
    let good = json!({
        "procedure": WORK_PERMIT,
        "phone": PHONE,
        "form": { "ho_ten": "John Smith", "ngay_sinh": "1990-02-03" }
    });
    let error_paths = |b: &serde_json::Value| -> Vec<String> {
        b["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|x| x["path"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut big = PDF.to_vec();
    big.resize(1024 * 1024 + 10, b' ');
    type Files<'a> = Vec<(usize, &'a str, &'a [u8])>;
    let cases: Vec<(&str, Files, &str)> = vec![
        // A PNG pretending to be a PDF, an executable named .pdf.
        ("lying extension", vec![(0, "don.pdf", PNG)], "/documents/0"),
        (
            "executable",
            vec![(0, "don.pdf", b"MZ\x90\0 not a pdf")],
            "/documents/0",
        ),
        (
            "type not accepted here",
            vec![(0, "anh.png", PNG)],
            "/documents/0",
        ),
        ("oversized", vec![(0, "don.pdf", &big)], "/documents/0"),
        (
            "path traversal",
            vec![(0, "../../etc/passwd.pdf", PDF)],
            "/documents/0",
        ),
        (
            "windows path",
            vec![(0, "..\\..\\boot.pdf", PDF)],
            "/documents/0",
        ),
        (
            "mandatory missing",
            vec![(1, "anh.png", PNG)],
            "/documents/0",
        ),
        (
            "unknown document",
            vec![(0, "don.pdf", PDF), (7, "x.pdf", PDF)],
            "/documents/7",
        ),
    ];
    for (what, files, path_expected) in cases {
        let (s, b) = w.multipart(path, &token, &good, &files).await;
        assert!(s == 422 || s == 413, "{what}: {s} {b}");
        if s == 422 {
            assert!(
                error_paths(&b).contains(&path_expected.to_owned()),
                "{what}: {b}"
            );
            assert!(b["errors"][0]["message"].as_str().unwrap().len() > 3);
        }
    }
    // Form data against the schema: every error at once, with JSON Pointers.
    let (s, b) = w
        .multipart(
            path,
            &token,
            &json!({
                "procedure": WORK_PERMIT,
                "phone": "12345",
                "form": { "ngay_sinh": "1990-02-30", "so_ho_chieu": "123", "thua": 1 }
            }),
            &[(0, "don.pdf", PDF)],
        )
        .await;
    assert_eq!(s, 422, "{b}");
    let mut paths = error_paths(&b);
    paths.sort();
    assert_eq!(
        paths,
        [
            "/form/ho_ten",
            "/form/ngay_sinh",
            "/form/so_ho_chieu",
            "/form/thua",
            "/phone"
        ],
        "{b}"
    );
    assert_eq!(b["code"], "validation_failed");
    // Unknown procedure, malformed parts.
    let (s, _) = w
        .req(
            "POST",
            path,
            Some(&token),
            Some(json!({ "procedure": "9.999", "phone": PHONE })),
        )
        .await;
    assert_eq!(s, 400);
    // Nothing was stored: no dossier, no file, no mail, no sync event.
    assert_eq!(w.count("tinh-a", "dossiers"), 0);
    assert_eq!(w.count("tinh-a", "attachments"), 0);
    assert_eq!(
        w.db.scalar_i64("SELECT count(*) AS n FROM platform.outbox"),
        0
    );
    assert_eq!(
        w.db.scalar_i64("SELECT count(*) AS n FROM platform.webhook_outbox"),
        0
    );
    let files = walk(&w.storage);
    assert!(files.is_empty(), "{files:?}");
    // And a good one goes through, its file stored once with its checksum.
    w.submit_work_permit("tinh-a", w.citizen).await;
    assert_eq!(walk(&w.storage).len(), 2);
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
    out
}

#[actix_web::test]
async fn codes_stay_unique_under_concurrent_submissions() {
    let w = World::new(|_| {}).await;
    let token = w.token(w.citizen, "tinh-a", &[]);
    let submissions: Vec<_> = (0..24)
        .map(|_| {
            w.req(
                "POST",
                "/t/tinh-a/api/v1/dossiers",
                Some(&token),
                Some(json!({ "procedure": QUICK, "phone": PHONE })),
            )
        })
        .collect();
    let mut codes: Vec<String> = futures_util::future::join_all(submissions)
        .await
        .into_iter()
        .map(|(s, b)| {
            assert_eq!(s, 201, "{b}");
            b["code"].as_str().unwrap().to_owned()
        })
        .collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 24);
    let mut seqs: Vec<u32> = codes
        .iter()
        .map(|c| c.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=24).collect::<Vec<_>>());
}

#[actix_web::test]
async fn officers_inbox_bulk_actions_assignment_and_withdrawal() {
    let w = World::new(|_| {}).await;
    let token = w.token(w.citizen, "tinh-a", &[]);
    let mut codes = Vec::new();
    for _ in 0..3 {
        let (s, b) = w
            .req(
                "POST",
                "/t/tinh-a/api/v1/dossiers",
                Some(&token),
                Some(json!({ "procedure": QUICK, "phone": PHONE })),
            )
            .await;
        assert_eq!(s, 201);
        codes.push(b["code"].as_str().unwrap().to_owned());
    }
    // The applicant withdraws the third before it is received.
    assert_eq!(
        w.act("tinh-a", &codes[2], w.citizen, &[], "withdraw", json!({}))
            .await
            .0,
        200
    );
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    let (s, r) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/dossiers/bulk",
            Some(&officer),
            Some(json!({ "action": "receive", "codes": codes })),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let outcomes: Vec<&str> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["done", "done", "conflict"]);
    // Assign both to the second officer; a citizen cannot be an assignee.
    let (s, r) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/dossiers/bulk",
            Some(&officer),
            Some(json!({ "action": "assign", "codes": &codes[..2], "assignee": w.officer_a2 })),
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        r.as_array().unwrap().iter().all(|x| x["outcome"] == "done"),
        "{r}"
    );
    let (s, _) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/dossiers/{}/assign", codes[0]),
            Some(&officer),
            Some(json!({ "assignee": w.citizen })),
        )
        .await;
    assert_eq!(s, 400);
    let officer2 = w.token(w.officer_a2, "tinh-a", &["officer"]);
    let (s, inbox) = w
        .req(
            "GET",
            "/t/tinh-a/api/v1/inbox?assignee=me",
            Some(&officer2),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(inbox.as_array().unwrap().len(), 2);
    // Withdrawn dossiers are not in the inbox.
    let (_, all) = w
        .req("GET", "/t/tinh-a/api/v1/inbox", Some(&officer), None)
        .await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|d| d["code"] != codes[2].as_str())
    );
}

#[actix_web::test]
async fn public_lookup_is_rate_limited() {
    let w = World::new(|s| s.dossiers.lookup_per_minute = 3).await;
    let code = w.submit_work_permit("tinh-a", w.citizen).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let body = json!({ "code": code, "phone": "0900000001" });
        statuses.push(
            w.req("POST", "/t/tinh-a/api/v1/lookup", None, Some(body))
                .await
                .0,
        );
    }
    assert_eq!(&statuses[..3], [404, 404, 404]);
    assert_eq!(statuses[4], 429, "{statuses:?}");
}

#[actix_web::test]
async fn tenant_admins_manage_the_catalog_and_adopt_the_ministrys_procedures() {
    let w = World::new(|_| {}).await;
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    let body = json!({
        "name": { "vi": "Đăng ký nội quy lao động", "en": "Registering labour regulations" },
        "field": "viec-lam",
        "online_level": "full",
        "processing_days": 7,
        "fee_vnd": 0,
        "documents": [{ "name": "Nội quy lao động", "accept": ["pdf"], "max_size_mb": 5 }],
        "form_schema": { "type": "object", "properties": {
            "ten_doanh_nghiep": { "type": "string", "title": "Tên doanh nghiệp" },
            "so_lao_dong": { "type": "integer", "title": "Số lao động", "minimum": 1 }
        }, "required": ["ten_doanh_nghiep"] }
    });
    let path = "/t/tinh-a/api/v1/procedures/1.000999";
    assert_eq!(
        w.req("PUT", path, Some(&officer), Some(body.clone()))
            .await
            .0,
        403
    );
    let (s, p) = w.req("PUT", path, Some(&admin), Some(body.clone())).await;
    assert_eq!(s, 200, "{p}");
    // Field order survives storage (the portal renders fields in this order).
    let keys: Vec<&String> = p["form_schema"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["ten_doanh_nghiep", "so_lao_dong"]);
    let (s, shown) = w.req("GET", path, None, None).await;
    assert_eq!(s, 200);
    assert_eq!(shown["processing_days"], 7);
    // A broken form schema or an unknown field is refused.
    let mut bad = body.clone();
    bad["form_schema"] = json!({ "type": "object", "properties": { "x": { "type": "string" } } });
    assert_eq!(w.req("PUT", path, Some(&admin), Some(bad)).await.0, 400);
    let mut bad = body.clone();
    bad["field"] = json!("khong-co");
    assert_eq!(w.req("PUT", path, Some(&admin), Some(bad)).await.0, 400);

    // The ministry defines a procedure; the province adopts it with its own fee.
    w.db.apply_texts(&[(
        "bo.toml",
        crate::world::tenant_file("bo", "BO", "ministry", None)
            .replace("code = \"2.000001\"", "code = \"2.000777\""),
    )]);
    let (s, p) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/procedures/2.000777/inherit",
            Some(&admin),
            Some(json!({ "fee_vnd": 50000 })),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["inherited_from"], "bo");
    assert_eq!(p["fee_vnd"], 50000);
    assert_eq!(p["processing_days"], 3);
    let (s, _) = w
        .req("GET", "/t/tinh-a/api/v1/procedures/2.000777", None, None)
        .await;
    assert_eq!(s, 200);
    // The ministry has no parent to adopt from.
    let bo_admin = w.token(w.leader_bo, "bo", &["tenant_admin"]);
    let (s, _) = w
        .req(
            "POST",
            "/t/bo/api/v1/procedures/2.000777/inherit",
            Some(&bo_admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 404);
    // Withdrawn procedures leave the public catalog.
    assert_eq!(w.req("DELETE", path, Some(&admin), None).await.0, 204);
    assert_eq!(w.req("GET", path, None, None).await.0, 404);
}

#[actix_web::test]
async fn statistics_are_read_from_the_configured_replica() {
    // A replica that cannot be reached: statistics say so (503); everything else still works.
    let w = World::new(|s| {
        s.database.read_url = Some("postgres://postgres@127.0.0.1:1/replica".into());
        s.database.connect_timeout_secs = 1;
    })
    .await;
    let leader = w.token(w.leader_a, "tinh-a", &["leader"]);
    let (s, b) = w
        .req("GET", "/t/tinh-a/api/v1/stats", Some(&leader), None)
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (503, Some("service_unavailable")),
        "{b}"
    );
    assert_eq!(
        w.req("GET", "/t/tinh-a/api/v1/stats/public", None, None)
            .await
            .0,
        503
    );
    assert_eq!(
        w.req("GET", "/t/tinh-a/api/v1/procedures", None, None)
            .await
            .0,
        200
    );
    w.submit_work_permit("tinh-a", w.citizen).await;

    // A reachable replica (here the same database) serves them.
    let url = w.db.url.clone();
    let w2 = World::new(move |s| s.database.read_url = Some(url)).await;
    let leader = w2.token(w2.leader_a, "tinh-a", &["leader"]);
    assert_eq!(
        w2.req("GET", "/t/tinh-a/api/v1/stats", Some(&leader), None)
            .await
            .0,
        200
    );
}

/// Issue 16 (time comes from the clock): the store takes the server's time, so a deadline
/// over a holiday is tested on any day. Received on Friday 13/02/2026, the eve of the Tết
/// Bính Ngọ break, the work permit's 5 working days skip the five days off.
#[actix_web::test]
async fn the_due_date_is_counted_from_the_servers_clock_across_tet() {
    use chrono::{Datelike, NaiveDate, Weekday};
    let w = World::new(|_| {}).await;
    let friday = NaiveDate::from_ymd_opt(2026, 2, 13).unwrap();
    assert_eq!(friday.weekday(), Weekday::Fri);
    // 09:00 in Vietnam (UTC+7).
    w.app
        .clock
        .set(friday.and_hms_opt(2, 0, 0).unwrap().and_utc());

    let code = w.submit_work_permit("tinh-a", w.citizen).await;
    // The code carries the local day of submission.
    assert!(code.starts_with("TA-260213-"), "{code}");
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
    assert!(
        b["received_at"]
            .as_str()
            .is_some_and(|at| at.starts_with("2026-02-13T02:")),
        "{b}"
    );

    // The expected date, counted here by hand: the days off of config/holidays/2026.toml
    // that fall in reach (Monday 16 to Friday 20 February), weekends, and the procedure's
    // `processing_days = 5` counted from the day after receipt.
    let days_off: Vec<NaiveDate> = (16..=20)
        .map(|d| NaiveDate::from_ymd_opt(2026, 2, d).unwrap())
        .collect();
    let mut due = friday;
    let mut left = 5;
    while left > 0 {
        due = due.succ_opt().unwrap();
        let weekend = matches!(due.weekday(), Weekday::Sat | Weekday::Sun);
        if !weekend && !days_off.contains(&due) {
            left -= 1;
        }
    }
    assert_eq!(due, NaiveDate::from_ymd_opt(2026, 2, 27).unwrap());
    assert_eq!(b["due_date"], due.to_string(), "{b}");
    assert_eq!(b["timeliness"], "on_time", "{b}");
}

/// A dossier's history is append-only in the database itself (a trigger in the tenant
/// schema), whoever connects — also on Citus, where the trigger runs on the worker that holds
/// the tenant's schema (scripts/test-citus runs this test there).
#[actix_web::test]
async fn a_dossiers_history_cannot_be_rewritten_even_from_sql() {
    use diesel::connection::SimpleConnection;
    let w = World::new(|_| {}).await;
    let code = w.submit_work_permit("tinh-a", w.citizen).await;
    let events = |w: &World| {
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM t_tinh_a.dossier_events e \
             JOIN t_tinh_a.dossiers d ON d.id = e.dossier_id WHERE d.code = '{code}'"
        ))
    };
    let before = events(&w);
    assert!(before >= 1, "submission recorded an event");
    let mut conn = w.db.conn();
    for statement in [
        "UPDATE t_tinh_a.dossier_events SET note = 'rewritten'",
        "DELETE FROM t_tinh_a.dossier_events",
    ] {
        let refused = conn.batch_execute(statement).unwrap_err().to_string();
        assert!(refused.contains("append-only"), "{statement}: {refused}");
    }
    assert_eq!(events(&w), before);
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM t_tinh_a.dossier_events WHERE note = 'rewritten'"
        ),
        0
    );
}
