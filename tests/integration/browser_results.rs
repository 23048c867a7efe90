//! Signed results and the citizen's wallet in a real browser (issue 19; Debian's Chromium
//! driven by `tests/e2e/results.mjs`, in phases so the API and the database can be read
//! between them).
//!
//! tinh-a imports its certificate (an OpenSSL PKCS#12) through the API as its admin; a
//! citizen's work-permit dossier there is filed, received and approved through the API. Then, in
//! the browser: tinh-a's officer signs and issues the generated result on the processing page;
//! the applicant finds it on their dossier page, downloads it (pdfsig finds the signature
//! valid), opens its public verification page (in Vietnamese and English, no personal data;
//! signed out, at the address its QR code carries, read with zbar) and
//! their wallet, and attaches it from the wallet to an extension at tinh-b, whose officer sees
//! where the file came from; tinh-a's officer revokes it and the verification page says so.
//! Afterwards the database holds one result at tinh-a, revoked; one attachment at tinh-b whose
//! provenance names it; the wallet's copy marked revoked.

use crate::browser::{
    PASSWORD, artifacts, browser_world, run_script, sign_in_with_totp, tenant_api_token as token,
};
use crate::results::{openssl_p12, pdfsig};
use crate::world::{PDF, PHONE, PNG, WORK_PERMIT, World, tenant_file};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::process::Command;
use uuid::Uuid;

/// tinh-b's extension of a work permit, whose one document a work-permit result answers.
const EXTENSION: &str = "1.000459";

/// tinh-b with the extension (as in signed_results.rs).
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

/// tinh-a's admin imports the agency's PKCS#12 through the API (`PUT …/signing-identity`).
async fn import_identity(w: &World, port: &str) {
    let admin = token(w, port, w.admin_a, "tinh-a", &["tenant_admin"]);
    let p12 = openssl_p12("ec", "mật khẩu chứng thư");
    let boundary = format!("----dvc{}", Uuid::new_v4().simple());
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nmật khẩu chứng thư\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"doc.0\"; filename=\"so-a.p12\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&p12);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut resp = awc::Client::new()
        .put(format!("{}/t/tinh-a/api/v1/signing-identity", w.app.base))
        .insert_header(("Authorization", format!("Bearer {admin}")))
        .insert_header((
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .send_body(body)
        .await
        .unwrap();
    let answer = resp.body().await.unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(w.count("tinh-a", "signing_identities"), 1);
}

/// The citizen's work permit at tinh-a, filed, received, reviewed and approved through the
/// API; returns its code.
async fn approved_work_permit(w: &World, port: &str) -> String {
    let citizen = token(w, port, w.citizen, "tinh-a", &[]);
    let (s, b) = w
        .multipart(
            "/t/tinh-a/api/v1/dossiers",
            &citizen,
            &json!({
                "procedure": WORK_PERMIT,
                "phone": PHONE,
                "form": { "ho_ten": "John Smith", "ngay_sinh": "1990-02-03", "so_ho_chieu": "B1234567" }
            }),
            &[(0, "Đơn đề nghị.pdf", PDF), (1, "anh.png", PNG)],
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let code = b["code"].as_str().unwrap().to_owned();
    let official = token(w, port, w.officer_a, "tinh-a", &["officer", "leader"]);
    let base = format!("/t/tinh-a/api/v1/dossiers/{code}");
    for action in ["receive", "start_review", "approve"] {
        let (s, d) = w.req("GET", &base, Some(&official), None).await;
        assert_eq!(s, 200, "{d}");
        let mut body = json!({ "action": action, "version": d["version"] });
        if action == "approve" {
            body["note"] = json!("Cấp giấy phép lao động thời hạn 24 tháng");
        }
        let (s, b) = w
            .req(
                "POST",
                &format!("{base}/actions"),
                Some(&official),
                Some(body),
            )
            .await;
        assert_eq!(s, 200, "{action}: {b}");
    }
    code
}

/// The text of the QR code on the PDF's first page: poppler renders it, zbar reads it (as in
/// signed_results.rs).
fn qr_on_first_page(pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("dvc-qr-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("r.pdf"), pdf).unwrap();
    let render = Command::new("pdftoppm")
        .args(["-r", "200", "-png", "-f", "1", "-l", "1", "-singlefile"])
        .args(["r.pdf", "page"])
        .current_dir(&dir)
        .status()
        .expect("pdftoppm (poppler-utils) must be installed");
    assert!(render.success());
    let out = Command::new("zbarimg")
        .args(["--raw", "-q", "page.png"])
        .current_dir(&dir)
        .output()
        .expect("zbarimg (zbar-tools) must be installed: ensure_test_tools installs it");
    std::fs::remove_dir_all(&dir).ok();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The hex SHA-256 of `bytes`.
fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[actix_web::test]
async fn a_signed_result_is_issued_verified_reused_from_the_wallet_and_revoked_in_a_real_browser() {
    let (w, port) = browser_world().await;
    w.db.apply_texts(&[("tinh-b.toml", tinh_b_with_extension())]);
    w.app.app_state.registry.reload(&mut w.db.conn()).unwrap();
    import_identity(&w, &port).await;
    let code = approved_work_permit(&w, &port).await;
    let officer_totp = sign_in_with_totp(&w, w.officer_a);
    let citizen_totp = sign_in_with_totp(&w, w.citizen);
    let officer_b_totp = sign_in_with_totp(&w, w.officer_b);

    std::fs::create_dir_all(artifacts()).unwrap();
    let run = Uuid::new_v4().simple().to_string();
    // Signed-in browser states, from one phase to a later one (a second sign-in with the same
    // authenticator code would be a replay).
    let officer_state = artifacts().join(format!("results-officer-{run}.json"));
    let citizen_state = artifacts().join(format!("results-citizen-{run}.json"));
    let script = |phase: &str, extra: &[(&str, &str)]| {
        let mut cmd = Command::new("node");
        cmd.arg("tests/e2e/results.mjs")
            .env("PHASE", phase)
            .env("OFFICER_STATE", &officer_state)
            .env("CITIZEN_STATE", &citizen_state)
            .env("BASE_TA", format!("http://tinh-a.localhost:{port}"))
            .env("BASE_TB", format!("http://tinh-b.localhost:{port}"))
            .env("PASSWORD", PASSWORD)
            .env("CODE", &code)
            .env("EXTENSION", EXTENSION)
            .env("PHONE", PHONE)
            .env("OFFICER_EMAIL", "canbo.a@example.vn")
            .env("OFFICER_TOTP", &officer_totp)
            .env("CITIZEN_EMAIL", "dan@example.vn")
            .env("CITIZEN_TOTP", &citizen_totp)
            .env("OFFICER_B_EMAIL", "canbo.b@example.vn")
            .env("OFFICER_B_TOTP", &officer_b_totp)
            // What the public page must never show: the applicant, their answers, the dossier.
            .env(
                "PRIVATE",
                format!("Nguyễn Văn Dân|John Smith|B1234567|{code}|0912"),
            );
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    };
    let result_row = |what: &str| {
        w.db.scalar_i64(&format!(
            "SELECT ({what})::bigint AS n FROM t_tinh_a.results r JOIN t_tinh_a.dossiers d \
             ON d.id = r.dossier_id WHERE d.code = '{code}'"
        ))
    };

    // (1) The officer issues the generated result in the browser (a missing file for an upload
    // refused first, nothing kept).
    let result = run_script(script("issue", &[])).await;
    for done in ["issue_form", "missing_file_refused", "issued"] {
        assert_eq!(result[done], true, "{done}: {result}");
    }
    let id = result["result_id"].as_str().unwrap().to_owned();
    let number = result["number"].as_str().unwrap().to_owned();
    assert_eq!(
        w.count("tinh-a", "results"),
        1,
        "the refused attempt kept nothing"
    );
    assert_eq!(
        result_row(&format!(
            "(r.id = '{id}' AND r.number = '{number}' AND r.origin = 'generated' \
             AND r.revoked_at IS NULL AND r.issued_by = '{}')::int",
            w.officer_a
        )),
        1
    );
    // The stored file: signed over the whole document, valid for poppler.
    let stored = w.db.scalar_text(&format!(
        "SELECT storage_key AS s FROM t_tinh_a.results WHERE id = '{id}'"
    ));
    let signed = std::fs::read(w.storage.join(&stored)).unwrap();
    let report = pdfsig(&signed);
    assert!(report.contains("Signature is Valid."), "{report}");
    assert!(report.contains("Total document signed"), "{report}");
    let digest = sha256(&signed);
    assert_eq!(
        w.db.scalar_text(&format!(
            "SELECT sha256 AS s FROM t_tinh_a.results WHERE id = '{id}'"
        )),
        digest
    );

    // Its QR code leads to the verification page on tinh-a's portal, which the browser opens.
    let qr = qr_on_first_page(&signed);
    assert_eq!(qr, format!("http://tinh-a.localhost:{port}/ket-qua/{id}"));

    // (2)–(3) The applicant: dossier page, download, verification page, wallet; then the
    // extension at tinh-b with the result chosen from the wallet.
    let result = run_script(script(
        "citizen",
        &[("RESULT_ID", &id), ("NUMBER", &number), ("QR_URL", &qr)],
    ))
    .await;
    for done in [
        "listed_on_dossier",
        "downloaded",
        "verified_vi",
        "verified_en",
        "no_personal_data",
        "in_wallet",
        "suggested",
        "applied",
    ] {
        assert_eq!(result[done], true, "{done}: {result}");
    }
    assert_eq!(
        result["sha256"],
        digest.as_str(),
        "the page's digest is the file's"
    );
    // What the browser downloaded is the stored, signed file.
    let downloaded =
        std::fs::read(artifacts().join(format!("results/{code}-ket-qua.pdf"))).unwrap();
    assert_eq!(sha256(&downloaded), digest);
    assert!(pdfsig(&downloaded).contains("Signature is Valid."));
    let ext = result["extension_code"].as_str().unwrap().to_owned();
    assert!(ext.starts_with("TB-"), "{ext}");
    let attached = |what: &str| {
        w.db.scalar_i64(&format!(
            "SELECT ({what})::bigint AS n FROM t_tinh_b.attachments a JOIN t_tinh_b.dossiers d \
             ON d.id = a.dossier_id WHERE d.code = '{ext}'"
        ))
    };
    assert_eq!(attached("count(*)"), 1);
    assert_eq!(
        attached(&format!(
            "bool_and(a.document_index = 0 AND a.sha256 = '{digest}' \
             AND a.provenance->>'kind' = 'result' AND a.provenance->>'result_number' = '{number}' \
             AND a.provenance->>'issuer' = 'Đơn vị TA' AND a.provenance->>'dossier_code' = '{code}' \
             AND (a.provenance->>'verified')::bool)::int"
        )),
        1,
        "the copy names tinh-a's result"
    );

    // (4) tinh-b's officer sees where the file came from.
    let result = run_script(script(
        "receiver",
        &[("EXT_CODE", &ext), ("NUMBER", &number), ("SHA256", &digest)],
    ))
    .await;
    for done in ["provenance_shown", "copy_downloaded"] {
        assert_eq!(result[done], true, "{done}: {result}");
    }

    // (5) tinh-a's officer revokes it (an empty reason refused first); the public page, the
    // wallet and the review page follow.
    let result = run_script(script("revoke", &[("RESULT_ID", &id), ("NUMBER", &number)])).await;
    let _ = std::fs::remove_file(&officer_state);
    let _ = std::fs::remove_file(&citizen_state);
    for done in [
        "empty_reason_refused",
        "revoked",
        "issue_form_back",
        "verification_revoked",
        "wallet_revoked",
        "no_longer_offered",
    ] {
        assert_eq!(result[done], true, "{done}: {result}");
    }

    // The database: tinh-a's one result, revoked with its reason by the officer; tinh-b's
    // extension with its one attachment from the wallet; the wallet's copy revoked too.
    assert_eq!(w.count("tinh-a", "results"), 1);
    assert_eq!(
        result_row(&format!(
            "(r.revoked_at IS NOT NULL AND r.revoke_reason = 'Cấp nhầm thời hạn giấy phép' \
             AND r.revoked_by = '{}')::int",
            w.officer_a
        )),
        1
    );
    assert_eq!(w.count("tinh-b", "dossiers"), 1, "the extension only");
    assert_eq!(w.count("tinh-b", "attachments"), 1);
    let wallet = |what: &str| {
        w.db.scalar_i64(&format!(
            "SELECT ({what})::bigint AS n FROM platform.wallet_items WHERE account_id = '{}' \
             AND kind = 'result'",
            w.citizen
        ))
    };
    assert_eq!(wallet("count(*)"), 1);
    assert_eq!(
        wallet(&format!(
            "bool_and(source_id = '{id}' AND result_number = '{number}' AND sha256 = '{digest}' \
             AND revoked_at IS NOT NULL)::int"
        )),
        1
    );
    // One issue and one revocation audited, by tinh-a's officer.
    assert_eq!(
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.audit_log WHERE actor_id = '{}' \
             AND action IN ('result.issue', 'result.revoke')",
            w.officer_a
        )),
        2
    );
    for shot in [
        "desktop/results-issue",
        "desktop/results-issued",
        "phone/results-dossier",
        "phone/results-verification",
        "desktop/results-verification-en",
        "phone/results-wallet",
        "phone/results-review",
        "desktop/results-provenance",
        "desktop/results-revoked",
        "desktop/results-verification-revoked",
    ] {
        assert!(artifacts().join(format!("{shot}.png")).exists(), "{shot}");
    }
}
