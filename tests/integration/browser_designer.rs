//! The procedure designer in a real browser (issue 20; Debian's Chromium driven by
//! `tests/e2e/designer.mjs`): tinh-a's admin designs and publishes a new service from nothing,
//! a citizen applies and pays, an officer processes it. Afterwards the database holds exactly
//! what was designed — the form's fields in the designed order with their rules, the two
//! documents, the fee and its amount per worker — as version 1, no draft left, the publication
//! audited; the refused inputs left no trace; the dossier's fee counted its one worker.

use crate::browser::{PASSWORD, browser_world, run_script, sign_in_with_totp};
use serde_json::{Value, json};
use std::process::Command;

const DESIGNED: &str = "2.000900";

fn procedure(w: &crate::world::World, column: &str) -> Value {
    let text = w.db.scalar_text(&format!(
        "SELECT {column}::text AS s FROM t_tinh_a.procedures WHERE code = '{DESIGNED}'"
    ));
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

#[actix_web::test]
async fn an_admin_designs_and_publishes_a_service_that_a_citizen_then_uses_in_a_real_browser() {
    let (w, port) = browser_world().await;
    let admin_totp = sign_in_with_totp(&w, w.admin_a);
    let officer_totp = sign_in_with_totp(&w, w.officer_a);
    let citizen_totp = sign_in_with_totp(&w, w.citizen);
    let mut cmd = Command::new("node");
    cmd.arg("tests/e2e/designer.mjs")
        .env("BASE_A", format!("http://tinh-a.localhost:{port}"))
        .env("PASSWORD", PASSWORD)
        .env("PROCEDURE", DESIGNED)
        .env("ADMIN_EMAIL", "quantri.a@example.vn")
        .env("ADMIN_TOTP", &admin_totp)
        .env("OFFICER_EMAIL", "canbo.a@example.vn")
        .env("OFFICER_TOTP", &officer_totp)
        .env("CITIZEN_EMAIL", "dan@example.vn")
        .env("CITIZEN_TOTP", &citizen_totp);
    let result = run_script(cmd).await;
    // The figure the issue asks for: how many page submissions the admin needed.
    eprintln!(
        "designer: {} admin page submissions ({} of them refused on purpose), {} s",
        result["admin_submissions"], result["admin_refused"], result["admin_seconds"]
    );
    let submissions = result["admin_submissions"].as_u64().unwrap();
    assert!(submissions < 40, "{submissions} submissions");
    assert_eq!(result["paid"], true);
    assert_eq!(result["imported"], true);
    // The import on the page wrote exactly its three procedures (the refused file nothing).
    assert_eq!(
        w.db.scalar_i64("SELECT count(*) AS n FROM t_tinh_a.procedures WHERE code LIKE '9.1%'"),
        3
    );
    assert_eq!(
        w.db.scalar_i64(
            "SELECT processing_days::bigint AS n FROM t_tinh_a.procedures WHERE code = '9.100002'"
        ),
        7
    );
    assert_eq!(result["returned"], true);

    // The published procedure: as designed, in order, with its rules.
    assert_eq!(procedure(&w, "active"), json!(true));
    assert_eq!(procedure(&w, "fee_vnd"), json!(200_000));
    assert_eq!(procedure(&w, "processing_days"), json!(6));
    assert_eq!(procedure(&w, "decide_role"), json!("officer"));
    assert_eq!(
        procedure(&w, "fee_rule"),
        json!({ "per_item": { "field": "nguoi_lao_dong", "amount_vnd": 50_000 } })
    );
    let schema = procedure(&w, "form_schema");
    let props = schema["properties"].as_object().unwrap();
    let names: Vec<&str> = props.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "ten_doanh_nghiep",
            "ma_so_doanh_nghiep",
            "dien_thoai_lien_he",
            "ngay_bat_dau_tuyen",
            "so_thang_tuyen",
            "hinh_thuc_lam_viec",
            "so_cccd_nguoi_dai_dien",
            "cam_ket_thuc_hien_dung_quy_dinh",
            "nguoi_lao_dong"
        ],
        "{schema}"
    );
    assert_eq!(props["ma_so_doanh_nghiep"]["pattern"], "[0-9]{10}");
    assert_eq!(props["ma_so_doanh_nghiep"]["title_en"], "Enterprise code");
    assert_eq!(props["dien_thoai_lien_he"]["format"], "phone");
    assert_eq!(props["ngay_bat_dau_tuyen"]["format"], "date");
    assert_eq!(props["so_thang_tuyen"]["type"], "integer");
    assert_eq!(props["so_thang_tuyen"]["maximum"], 12);
    assert_eq!(
        props["hinh_thuc_lam_viec"]["enumLabels"],
        json!(["Toàn thời gian", "Bán thời gian"])
    );
    assert_eq!(props["cam_ket_thuc_hien_dung_quy_dinh"]["type"], "boolean");
    assert_eq!(props["so_cccd_nguoi_dai_dien"]["format"], "cccd");
    let workers = &props["nguoi_lao_dong"];
    assert_eq!(workers["type"], "array");
    assert_eq!(workers["minItems"], 1);
    assert_eq!(
        workers["items"]["required"],
        json!(["ho_va_ten_nguoi_lao_dong", "gioi_tinh"])
    );
    assert_eq!(
        workers["items"]["properties"]["gioi_tinh"]["enum"],
        json!(["nam", "nu"])
    );
    assert_eq!(
        schema["required"],
        json!([
            "ten_doanh_nghiep",
            "ma_so_doanh_nghiep",
            "dien_thoai_lien_he",
            "ngay_bat_dau_tuyen",
            "hinh_thuc_lam_viec",
            "cam_ket_thuc_hien_dung_quy_dinh"
        ])
    );
    let documents = procedure(&w, "documents");
    assert_eq!(
        documents,
        json!([
            { "name": "Văn bản đề nghị", "name_en": "Application letter", "required": true,
              "accept": ["pdf"], "max_size_mb": 10 },
            { "name": "Hợp đồng lao động thời vụ", "name_en": "Seasonal labour contract",
              "required": true, "accept": ["pdf", "jpeg", "png"], "max_size_mb": 10 },
        ])
    );

    // One version, no draft left, the publication audited once; nothing from the refusals.
    let one = |sql: &str| w.db.scalar_i64(sql);
    assert_eq!(
        one(&format!(
            "SELECT count(*) AS n FROM t_tinh_a.procedure_versions WHERE procedure_code = '{DESIGNED}'"
        )),
        1
    );
    assert_eq!(w.count("tinh-a", "procedure_drafts"), 0);
    assert_eq!(
        one(&format!(
            "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'procedure.published' \
             AND detail->>'procedure' = '{DESIGNED}' AND (detail->>'version')::int = 1"
        )),
        1
    );
    assert_eq!(
        one("SELECT count(*) AS n FROM t_tinh_a.procedures WHERE code LIKE '2 000%'"),
        0
    );

    // The citizen's dossier: pinned to version 1, its fee 200,000 + 50,000 for one worker,
    // paid, returned.
    let code = result["code"].as_str().unwrap();
    assert_eq!(
        one(&format!(
            "SELECT count(*) AS n FROM t_tinh_a.dossiers d \
             JOIN t_tinh_a.dossier_procedure_versions v ON v.dossier_id = d.id \
             WHERE d.code = '{code}' AND v.version = 1 AND d.procedure_code = '{DESIGNED}' \
             AND d.status = 'returned'"
        )),
        1
    );
    // The contact phone typed with spaces is stored as its digits.
    assert_eq!(
        w.db.scalar_text(&format!(
            "SELECT form_data->>'dien_thoai_lien_he' AS s FROM t_tinh_a.dossiers WHERE code = '{code}'"
        )),
        "0987654321"
    );
    assert_eq!(
        one(&format!(
            "SELECT count(*) AS n FROM t_tinh_a.payments p JOIN t_tinh_a.dossiers d \
             ON d.id = p.dossier_id WHERE d.code = '{code}' AND p.amount_vnd = 250000 \
             AND p.status = 'paid'"
        )),
        1
    );
}
