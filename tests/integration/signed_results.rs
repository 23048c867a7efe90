//! Signed results and the citizen's wallet over HTTP (issue 19): an agency imports its
//! certificate (PKCS#12 from OpenSSL), an approved dossier's result is generated, signed,
//! downloaded and verified by `pdfsig` and by its public page; another citizen or another
//! tenant's official cannot reach it; the applicant attaches it from the wallet to an
//! extension at another tenant, whose officer sees where it came from; revoked, the page says
//! so and the wallet no longer lets it be used.

use crate::results::{openssl_p12, pdfsig, result_pdf};
use crate::world::{PDF, PHONE, PNG, WORK_PERMIT, World, tenant_file};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const EXTENSION: &str = "1.000459";

/// tinh-b also offers the extension, which asks for the permit a work-permit result is.
fn tinh_b_with_extension() -> String {
    tenant_file("tinh-b", "TB", "province", Some("bo"))
        + &format!(
            r#"
[[procedures]]
code = "{EXTENSION}"
field = "viec-lam"
name = {{ vi = "Gia hạn giấy phép lao động", en = "Extending a work permit" }}
online_level = "full"
processing_days = 5
documents = [
  {{ name = "Giấy phép lao động đã được cấp", name_en = "The work permit issued", accept = ["pdf"], from_results = ["{WORK_PERMIT}"] }},
]
"#
        )
}

/// A multipart body of text and file parts.
pub(crate) async fn parts(
    w: &World,
    method: &str,
    path: &str,
    token: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> (u16, Value) {
    let boundary = format!("----dvc{}", Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        let disposition = match file {
            Some(f) => format!("form-data; name=\"{name}\"; filename=\"{f}\""),
            None => format!("form-data; name=\"{name}\""),
        };
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut resp = awc::Client::new()
        .request(
            awc::http::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{}", w.app.base, path),
        )
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header((
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .send_body(body)
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.body().limit(1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn get_bytes(w: &World, path: &str, token: &str) -> (u16, Vec<u8>) {
    let mut resp = awc::Client::new()
        .get(format!("{}{}", w.app.base, path))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body().limit(32 << 20).await.unwrap().to_vec())
}

fn pdftotext(pdf: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("dvc-result-{}.pdf", Uuid::new_v4()));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of the QR code on the PDF's first page: poppler renders it, zbar reads it.
fn qr_on_first_page(pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("dvc-qr-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("r.pdf"), pdf).unwrap();
    let render = std::process::Command::new("pdftoppm")
        .args([
            "-r",
            "200",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            "r.pdf",
            "page",
        ])
        .current_dir(&dir)
        .status()
        .expect("pdftoppm (poppler-utils) must be installed");
    assert!(render.success());
    let out = std::process::Command::new("zbarimg")
        .args(["--raw", "-q", "page.png"])
        .current_dir(&dir)
        .output()
        .expect("zbarimg (zbar-tools) must be installed: ensure_test_tools installs it");
    std::fs::remove_dir_all(&dir).ok();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The path of an address on tinh-a's portal (`http://tinh-a.localhost:<port>/…`).
fn portal_path(url: &str) -> String {
    let Some(rest) = url.strip_prefix("http://tinh-a.localhost") else {
        panic!("{url:?} is not tinh-a's portal");
    };
    rest.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit())
        .to_owned()
}

/// A portal page as anyone sees it (no session).
async fn public_page(w: &World, path: &str) -> String {
    let mut resp = awc::Client::new()
        .get(format!("{}{}", w.app.base, path))
        .insert_header(("Host", "tinh-a.localhost"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{path}");
    // minijinja escapes `/` in text as `&#x2f;`: read it as a browser would.
    String::from_utf8(resp.body().limit(1 << 20).await.unwrap().to_vec())
        .unwrap()
        .replace("&#x2f;", "/")
}

/// Receives, reviews and approves `code` at tinh-a.
async fn approve(w: &World, code: &str) {
    for action in ["receive", "start_review", "approve"] {
        let extra = if action == "approve" {
            json!({ "note": "Cấp giấy phép lao động thời hạn 24 tháng" })
        } else {
            json!({})
        };
        let (s, b) = w
            .act(
                "tinh-a",
                code,
                w.officer_a,
                &["officer", "leader"],
                action,
                extra,
            )
            .await;
        assert_eq!(s, 200, "{action}: {b}");
    }
}

#[actix_web::test]
async fn a_result_is_signed_verified_reused_from_the_wallet_elsewhere_and_revoked() {
    let w = World::new(|_| {}).await;
    w.db.apply_texts(&[("tinh-b.toml", tinh_b_with_extension())]);
    w.app.app_state.registry.reload(&mut w.db.conn()).unwrap();
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let officer = w.token(w.officer_a, "tinh-a", &["officer", "leader"]);
    let citizen = w.token(w.citizen, "tinh-a", &[]);

    // The agency's certificate: refused for a wrong password or a non-admin, nothing kept.
    let p12 = openssl_p12("rsa", "bí mật");
    let identity = "/t/tinh-a/api/v1/signing-identity";
    let upload = |pw: &'static str| {
        vec![
            ("password", None, pw.as_bytes()),
            ("doc.0", Some("so-a.p12"), p12.as_slice()),
        ]
    };
    let (s, b) = parts(&w, "PUT", identity, &admin, &upload("sai")).await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["errors"][0]["code"], "wrong_password", "{b}");
    let (s, _) = parts(&w, "PUT", identity, &officer, &upload("bí mật")).await;
    assert_eq!(s, 403);
    assert_eq!(w.count("tinh-a", "signing_identities"), 0);
    let (s, b) = parts(&w, "PUT", identity, &admin, &upload("bí mật")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["algorithm"], "RS256");
    assert!(
        b["subject"].as_str().unwrap().contains("So Noi vu Ha Noi"),
        "{b}"
    );

    // The dossier; on receipt its documents enter the applicant's wallet.
    let code = w.submit_work_permit("tinh-a", w.citizen).await;
    let results = format!("/t/tinh-a/api/v1/dossiers/{code}/results");
    let generate = json!({ "source": "generate" });
    let (s, b) = w
        .req("POST", &results, Some(&officer), Some(generate.clone()))
        .await;
    assert_eq!(s, 409, "not approved yet: {b}");
    assert_eq!(b["code"], "not_approved");
    approve(&w, &code).await;
    let (_, wallet) = w
        .req("GET", "/t/tinh-a/api/v1/wallet", Some(&citizen), None)
        .await;
    let documents: Vec<&Value> = wallet
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "document")
        .collect();
    assert_eq!(documents.len(), 2, "{wallet}");
    assert!(
        documents.iter().any(|d| d["title"] == "Đơn đề nghị"),
        "{wallet}"
    );

    // Bad input: a result that is not a PDF, a citizen issuing one. Nothing stored.
    let (s, b) = w
        .multipart(
            &results,
            &officer,
            &json!({ "source": "upload" }),
            &[(0, "kq.png", PNG)],
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["errors"][0]["code"], "not_a_pdf", "{b}");
    let (s, _) = w
        .req("POST", &results, Some(&citizen), Some(generate.clone()))
        .await;
    assert_eq!(s, 403);
    assert_eq!(w.count("tinh-a", "results"), 0);

    // Issued: generated from the form, numbered, signed.
    let (s, issued) = w
        .req("POST", &results, Some(&officer), Some(generate.clone()))
        .await;
    assert_eq!(s, 201, "{issued}");
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(issued["number"], format!("00001/{year}/KQ"));
    assert_eq!(issued["origin"], "generated");
    let id = issued["id"].as_str().unwrap().to_owned();
    let (s, b) = w
        .req("POST", &results, Some(&officer), Some(generate.clone()))
        .await;
    assert_eq!((s, b["code"].as_str()), (409, Some("result_exists")));

    // The applicant downloads it; poppler finds the signature valid over the whole file and
    // reads the number, the applicant's answers and the decision.
    let pdf_path = format!("{results}/{id}/pdf");
    let (s, pdf) = get_bytes(&w, &pdf_path, &citizen).await;
    assert_eq!(s, 200);
    let report = pdfsig(&pdf);
    assert!(report.contains("Signature is Valid."), "{report}");
    assert!(report.contains("Total document signed"), "{report}");
    assert!(report.contains("Common Name: So Noi vu Ha Noi"), "{report}");
    let text = pdftotext(&pdf);
    for expected in [
        format!("00001/{year}/KQ"),
        "John Smith".into(),
        "03/02/1990".into(),
        "Cấp giấy phép lao động thời hạn 24 tháng".into(),
        "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH".into(),
        code.clone(),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in {text}");
    }
    let digest: String = Sha256::digest(&pdf)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(issued["sha256"], digest);

    // Nobody else reaches it: another citizen, another tenant's official.
    let other = w.token(w.citizen2, "tinh-a", &[]);
    assert_eq!(get_bytes(&w, &pdf_path, &other).await.0, 404);
    let officer_b = w.token(w.officer_b, "tinh-b", &["officer"]);
    let elsewhere = format!("/t/tinh-b/api/v1/dossiers/{code}/results/{id}/pdf");
    assert_eq!(get_bytes(&w, &elsewhere, &officer_b).await.0, 404);

    // The QR code printed on the result, read by zbar from the rendered page, leads to the
    // tenant's public verification page: valid, no personal data.
    let qr = qr_on_first_page(&pdf);
    let page = portal_path(&qr);
    assert_eq!(page, format!("/ket-qua/{id}"));
    let html = public_page(&w, &page).await;
    assert!(html.contains("Kết quả còn hiệu lực."), "{html}");
    assert!(html.contains(issued["number"].as_str().unwrap()), "{html}");
    for private in ["John Smith", "Nguyễn Văn Dân", code.as_str()] {
        assert!(!html.contains(private), "{private} on the public page");
    }
    let verify = format!("/t/tinh-a/api/v1/results/{id}");
    let (s, v) = w.req("GET", &verify, None, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "valid");
    assert_eq!(v["number"], issued["number"]);
    assert_eq!(v["sha256"], digest);
    assert_eq!(v["issuer"], "Đơn vị TA");
    let shown = v.to_string();
    for private in ["John Smith", "Nguyễn Văn Dân", code.as_str(), "0912"] {
        assert!(
            !shown.contains(private),
            "{private} on the public page: {shown}"
        );
    }
    let (s, _) = w
        .req("GET", &format!("/t/tinh-b/api/v1/results/{id}"), None, None)
        .await;
    assert_eq!(s, 404, "another tenant's portal does not know it");

    // The wallet offers it; the extension at tinh-b attaches it from there.
    let (_, wallet) = w
        .req(
            "GET",
            "/t/tinh-b/api/v1/wallet",
            Some(&w.token(w.citizen, "tinh-b", &[])),
            None,
        )
        .await;
    let item = wallet
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "result")
        .unwrap_or_else(|| panic!("no result in {wallet}"))
        .clone();
    assert_eq!(item["result_number"], issued["number"]);
    assert_eq!(item["issuer"], "Đơn vị TA");
    let item_id = item["id"].as_str().unwrap().to_owned();
    let extension = |item: &str| {
        json!({
            "procedure": EXTENSION, "phone": PHONE, "form": {},
            "wallet": [{ "document": 0, "item": item }]
        })
    };
    let before = w.count("tinh-b", "dossiers");
    // Another person's item: not found, nothing created.
    let (s, _) = w
        .req(
            "POST",
            "/t/tinh-b/api/v1/dossiers",
            Some(&w.token(w.citizen2, "tinh-b", &[])),
            Some(extension(&item_id)),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(w.count("tinh-b", "dossiers"), before);
    let citizen_b = w.token(w.citizen, "tinh-b", &[]);
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-b/api/v1/dossiers",
            Some(&citizen_b),
            Some(extension(&item_id)),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let ext_code = b["code"].as_str().unwrap().to_owned();
    let (_, d) = w
        .req(
            "GET",
            &format!("/t/tinh-b/api/v1/dossiers/{ext_code}"),
            Some(&officer_b),
            None,
        )
        .await;
    let attached = &d["attachments"][0];
    assert_eq!(attached["sha256"], digest, "{d}");
    assert_eq!(attached["provenance"]["issuer"], "Đơn vị TA", "{d}");
    assert_eq!(attached["provenance"]["result_number"], issued["number"]);
    assert_eq!(attached["provenance"]["verified"], true);
    assert!(attached["provenance"]["chosen_at"].is_string());
    let copy = format!(
        "/t/tinh-b/api/v1/dossiers/{ext_code}/attachments/{}",
        attached["id"].as_str().unwrap()
    );
    let (s, bytes) = get_bytes(&w, &copy, &officer_b).await;
    assert_eq!((s, bytes == pdf), (200, true));

    // Revoked, with its reason: the page says so, the wallet no longer lets it be used.
    let revoke = format!("{results}/{id}/revoke");
    let (s, _) = w
        .req(
            "POST",
            &revoke,
            Some(&citizen),
            Some(json!({ "reason": "không đúng" })),
        )
        .await;
    assert_eq!(s, 403);
    let (s, b) = w
        .req(
            "POST",
            &revoke,
            Some(&officer),
            Some(json!({ "reason": "" })),
        )
        .await;
    assert_eq!(
        (s, b["errors"][0]["code"].as_str()),
        (422, Some("reason_required"))
    );
    let (s, b) = w
        .req(
            "POST",
            &revoke,
            Some(&officer),
            Some(json!({ "reason": "Cấp nhầm thời hạn" })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["revoked_at"].is_string());
    let (_, v) = w.req("GET", &verify, None, None).await;
    assert_eq!(v["status"], "revoked", "{v}");
    let html = public_page(&w, &page).await;
    assert!(html.contains("đã bị thu hồi"), "{html}");
    assert!(
        !v.to_string().contains("Cấp nhầm"),
        "the reason stays inside: {v}"
    );
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-b/api/v1/dossiers",
            Some(&citizen_b),
            Some(extension(&item_id)),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["errors"][0]["code"], "revoked", "{b}");
    let (s, b) = w
        .req(
            "POST",
            &revoke,
            Some(&officer),
            Some(json!({ "reason": "Lần thứ hai" })),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (409, Some("already_revoked")));

    // A corrected result: the paper one, scanned and signed as its electronic copy (a file
    // that only looks like a PDF cannot be signed: refused, nothing stored). The
    // digitisation figures count it and leave out the revoked one.
    let paper = json!({ "source": "paper_scan" });
    let (s, b) = w
        .multipart(&results, &officer, &paper, &[(0, "hong.pdf", PDF)])
        .await;
    assert_eq!(
        (s, b["errors"][0]["code"].as_str()),
        (422, Some("unsignable_pdf"))
    );
    let scan = result_pdf();
    let (s, b) = w
        .multipart(&results, &officer, &paper, &[(0, "ban-giay.pdf", &scan)])
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["number"], format!("00002/{year}/KQ"));
    let leader = w.token(w.leader_a, "tinh-a", &["leader"]);
    let (s, stats) = w
        .req(
            "GET",
            "/t/tinh-a/api/v1/stats/digitisation",
            Some(&leader),
            None,
        )
        .await;
    assert_eq!(s, 200, "{stats}");
    assert_eq!(stats["figures"]["results_issued"], 1, "{stats}");
    assert_eq!(stats["figures"]["results_digitised"], 1, "{stats}");
    assert_eq!(stats["figures"]["dossiers_decided"], 1, "{stats}");
    let (s, _) = w
        .req(
            "GET",
            "/t/tinh-a/api/v1/stats/digitisation",
            Some(&citizen),
            None,
        )
        .await;
    assert_eq!(s, 403);
}

/// Decision 766's digitisation figures: a walk-in whose papers were scanned at the counter is a
/// digitised paper dossier, an online one is not paper at all; the API's figures equal a
/// recount of the rows.
#[actix_web::test]
async fn counter_scans_count_as_digitised_dossiers() {
    let w = World::new(|_| {}).await;
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    let walk_in = json!({
        "procedure": WORK_PERMIT,
        "channel": "counter",
        "applicant": { "full_name": "Nguyễn Thị Hoà", "id_number": "001190012345", "phone": "0987 654 321" },
        "form": { "ho_ten": "Nguyễn Thị Hoà", "ngay_sinh": "1990-05-01" }
    });
    let (s, b) = w
        .multipart(
            "/t/tinh-a/api/v1/desk/dossiers",
            &officer,
            &walk_in,
            &[(0, "scan.pdf", PDF)],
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let counter = b["code"].as_str().unwrap().to_owned();
    let online = w.submit_work_permit("tinh-a", w.citizen).await;
    // Both are received by the desk (the walk-in's papers are complete).
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
    let leader = w.token(w.leader_a, "tinh-a", &["leader"]);
    let (s, stats) = w
        .req(
            "GET",
            "/t/tinh-a/api/v1/stats/digitisation",
            Some(&leader),
            None,
        )
        .await;
    assert_eq!(s, 200, "{stats}");
    let f = &stats["figures"];
    let recount = |sql: &str| w.db.scalar_i64(sql);
    assert_eq!(
        f["dossiers_received"].as_i64().unwrap(),
        recount("SELECT count(*) AS n FROM t_tinh_a.dossiers WHERE received_at IS NOT NULL")
    );
    assert_eq!(
        f["dossiers_on_paper"].as_i64().unwrap(),
        recount(
            "SELECT count(*) AS n FROM t_tinh_a.dossiers \
             WHERE received_at IS NOT NULL AND channel <> 'online'"
        )
    );
    assert_eq!(
        f["dossiers_digitised"].as_i64().unwrap(),
        recount(
            "SELECT count(DISTINCT d.id) AS n FROM t_tinh_a.dossiers d \
             JOIN t_tinh_a.attachments a ON a.dossier_id = d.id \
             WHERE d.received_at IS NOT NULL AND a.digitised"
        )
    );
    assert_eq!(f["dossiers_received"], 2, "{stats}");
    assert_eq!(f["dossiers_on_paper"], 1, "{stats}");
    assert_eq!(f["dossiers_digitised"], 1, "{stats}");
    assert_eq!(stats["dossier_rate"], 1.0, "{stats}");
    // The scan is marked on the dossier, the online upload is not.
    let (_, d) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/dossiers/{counter}"),
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(d["attachments"][0]["digitised"], true, "{d}");
    let (_, d) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/dossiers/{online}"),
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(d["attachments"][0]["digitised"], false, "{d}");

    // Links that leave dvc lead to the tenant's portal, where its pages answer: the receipt's
    // QR code opens the public lookup, the mail's link the applicant's dossier page.
    let mut resp = awc::Client::new()
        .get(format!(
            "{}/t/tinh-a/api/v1/dossiers/{counter}/slips/receipt",
            w.app.base
        ))
        .insert_header(("Authorization", format!("Bearer {officer}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let receipt = resp.body().limit(10 << 20).await.unwrap();
    let qr = qr_on_first_page(&receipt);
    let lookup = portal_path(&qr);
    assert_eq!(lookup, format!("/tra-cuu?ma={counter}"));
    assert!(public_page(&w, &lookup).await.contains(&counter));
    let mail_link = format!("/ho-so/{online}");
    let texts = || -> Vec<String> {
        w.smtp
            .messages()
            .iter()
            .filter_map(|m| {
                mail_parser::MessageParser::default()
                    .parse(m)
                    .and_then(|p| p.body_text(0).map(std::borrow::Cow::into_owned))
            })
            .collect()
    };
    let mut body = None;
    for _ in 0..100 {
        body = texts().into_iter().find(|t| t.contains(&mail_link));
        if body.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let body = body.unwrap_or_else(|| panic!("no mail links to {mail_link}: {:?}", texts()));
    assert!(
        body.contains(&format!("http://tinh-a.localhost:8080{mail_link}")),
        "the link is the portal's: {body}"
    );
}

/// In a declared process the leader decides at one step and the clerk numbers and seals at the
/// next: the result is issued there, before the dossier is finished; not before the decision.
#[actix_web::test]
async fn the_clerks_step_after_an_approval_issues_the_result() {
    use crate::unit_processes::{file_quick, step, tinh_a_with_process};
    use diesel::connection::SimpleConnection;
    let w = World::new(|_| {}).await;
    w.db.apply_texts(&[("tinh-a.toml", tinh_a_with_process())]);
    w.app.app_state.registry.reload(&mut w.db.conn()).unwrap();
    for (unit, who, role) in [
        ("mot-cua", w.officer_a, "officer"),
        ("phong-viec-lam", w.officer_a, "officer"),
        ("lanh-dao", w.leader_a, "leader"),
        ("van-thu", w.officer_a, "officer"),
    ] {
        w.db.conn()
            .batch_execute(&format!(
                "INSERT INTO t_tinh_a.unit_members VALUES ('{unit}', '{who}', '{role}')"
            ))
            .unwrap();
    }
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let p12 = openssl_p12("ec", "mk");
    let upload = [
        ("password", None, "mk".as_bytes()),
        ("doc.0", Some("a.p12"), p12.as_slice()),
    ];
    let (s, b) = parts(
        &w,
        "PUT",
        "/t/tinh-a/api/v1/signing-identity",
        &admin,
        &upload,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["algorithm"], "ES256");

    let code = file_quick(&w, w.citizen).await;
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
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    let results = format!("/t/tinh-a/api/v1/dossiers/{code}/results");
    let generate = json!({ "source": "generate" });
    for _ in 0..2 {
        let (s, b) = step(
            &w,
            &code,
            w.officer_a,
            &["officer"],
            json!({ "action": "forward" }),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let (s, _) = w
            .req("POST", &results, Some(&officer), Some(generate.clone()))
            .await;
        assert_eq!(s, 409, "no result before the decision");
    }
    let (s, b) = step(
        &w,
        &code,
        w.leader_a,
        &["leader"],
        json!({ "action": "decide", "outcome": "approve", "note": "Đồng ý" }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["status"], "in_review",
        "the clerk's step is still to come: {b}"
    );
    let (s, issued) = w
        .req("POST", &results, Some(&officer), Some(generate))
        .await;
    assert_eq!(s, 201, "{issued}");
    let (s, b) = step(
        &w,
        &code,
        w.officer_a,
        &["officer"],
        json!({ "action": "forward" }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "approved");
    let (_, d) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/dossiers/{code}"),
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(d["results"][0]["number"], issued["number"], "{d}");
}

/// `dvc tenant signing-identity`: an OpenSSL PKCS#12 through the same use case as the API (a
/// wrong password fails and keeps nothing), and the local test CA for demos; the key is kept
/// sealed, never in clear.
#[test]
fn the_cli_imports_a_pkcs12_or_issues_a_local_test_certificate() {
    use crate::common::TestDb;
    let db = TestDb::new();
    db.apply_texts(&[("bo.toml", tenant_file("bo", "BO", "ministry", None))]);
    let master = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [9u8; 32]);
    let p12 = std::env::temp_dir().join(format!("dvc-cli-{}.p12", Uuid::new_v4()));
    std::fs::write(&p12, openssl_p12("rsa", "khoá")).unwrap();
    let dvc = |args: &[&str], password: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dvc"))
            .args(args)
            .env("DVC__DATABASE__URL", &db.url)
            .env("DVC__REDIS__PREFIX", &db.name)
            .env("DVC__LOG__FILTER", "off")
            .env("DVC_CONFIG_DIR", "/nonexistent")
            .env("DVC__AUTH__MASTER_KEY", &master)
            .env("DVC_P12_PASSWORD", password)
            .output()
            .unwrap()
    };
    let path = p12.to_string_lossy().into_owned();
    let out = dvc(&["tenant", "signing-identity", "bo", "--p12", &path], "sai");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrong PKCS#12 password"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM t_bo.signing_identities"),
        0
    );
    let out = dvc(
        &["tenant", "signing-identity", "bo", "--p12", &path],
        "khoá",
    );
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("CN=So Noi vu Ha Noi") && said.contains("RS256"),
        "{said}"
    );
    let out = dvc(&["tenant", "signing-identity", "bo", "--local-ca"], "");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("ES256"), "{said}");
    std::fs::remove_file(&p12).ok();
    // `--if-missing` (what scripts/run uses) leaves a tenant that has one as it is.
    let out = dvc(
        &[
            "tenant",
            "signing-identity",
            "bo",
            "--local-ca",
            "--if-missing",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two kept, the newest in use; no private key in clear anywhere in the row.
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM t_bo.signing_identities"),
        2
    );
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM t_bo.signing_identities WHERE in_use AND algorithm = 'ES256'"
        ),
        1
    );
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM t_bo.signing_identities \
             WHERE position('PRIVATE KEY' in chain_pem) > 0 OR position('\\x3082'::bytea in sealed_key) = 1"
        ),
        0,
        "the key is sealed"
    );
}

/// Two officials issuing the same dossier's result at once: one result, the other told so.
#[actix_web::test]
async fn two_officials_issuing_at_once_make_one_result() {
    let w = World::new(|_| {}).await;
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let p12 = openssl_p12("ec", "mk");
    let upload = [
        ("password", None, "mk".as_bytes()),
        ("doc.0", Some("a.p12"), p12.as_slice()),
    ];
    let (s, b) = parts(
        &w,
        "PUT",
        "/t/tinh-a/api/v1/signing-identity",
        &admin,
        &upload,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let code = w.submit_work_permit("tinh-a", w.citizen).await;
    approve(&w, &code).await;
    let path = format!("/t/tinh-a/api/v1/dossiers/{code}/results");
    let (a, b) = (
        w.token(w.officer_a, "tinh-a", &["officer"]),
        w.token(w.officer_a2, "tinh-a", &["officer"]),
    );
    let body = json!({ "source": "generate" });
    let ((sa, ba), (sb, bb)) = futures_util::join!(
        w.req("POST", &path, Some(&a), Some(body.clone())),
        w.req("POST", &path, Some(&b), Some(body.clone())),
    );
    let mut statuses = [sa, sb];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{ba} {bb}");
    let loser = if sa == 409 { &ba } else { &bb };
    assert_eq!(loser["code"], "result_exists", "{loser}");
    assert_eq!(w.count("tinh-a", "results"), 1);
}
