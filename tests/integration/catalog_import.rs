//! Catalog import (issue 20): a list of 300 procedures in the shape the national procedure
//! database publishes, as CSV and as an Excel workbook written by openpyxl (an independent
//! writer of the format). A dry run reports and writes nothing; the import creates them (and
//! their fields) in one go, with versions and an audit entry; the same file again changes
//! nothing; a changed fee is reported as exactly that; one bad row refuses the whole file with
//! its line and column, and nothing is written.

use crate::world::World;
use serde_json::Value;

/// A national-database-like list: `n` procedures over three fields, Vietnamese headers,
/// semicolons, multi-line legal basis and documents.
pub fn sample_csv(n: usize, fee_of_first: u32) -> String {
    let mut out = String::from(
        "Mã thủ tục;Tên thủ tục;Lĩnh vực;Mức độ;Thời hạn giải quyết;Phí, lệ phí;Căn cứ pháp lý;Thành phần hồ sơ;Yêu cầu, điều kiện\n",
    );
    for i in 0..n {
        let field = ["Việc làm", "Bảo trợ xã hội", "An toàn, vệ sinh lao động"][i % 3];
        let level = if i % 2 == 0 {
            "Toàn trình"
        } else {
            "Một phần"
        };
        let fee = if i == 0 {
            format!("{fee_of_first} đồng")
        } else if i % 4 == 0 {
            "Không".to_owned()
        } else {
            format!("{}.000 đồng/hồ sơ", 100 + i % 7 * 50)
        };
        out.push_str(&format!(
            "9.{i:06};Thủ tục thử nghiệm số {i} về {field};{field};{level};{} ngày làm việc;{fee};\
             \"Luật số {i}/2025/QH15\nNghị định số {i}/2026/NĐ-CP\";\"Tờ khai số {i}\nBản sao giấy tờ tùy thân\";\
             Đủ 18 tuổi\n",
            3 + i % 20
        ));
    }
    out
}

async fn import(w: &World, token: &str, body: Vec<u8>, dry_run: bool) -> (u16, Value) {
    let resp = awc::Client::new()
        .post(format!(
            "{}/t/tinh-a/api/v1/catalog/import?dry_run={dry_run}",
            w.app.base
        ))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "text/csv"))
        .send_body(body)
        .await;
    let mut resp = resp.expect("request");
    let status = resp.status().as_u16();
    let body = resp.body().limit(1 << 24).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn procedures(w: &World) -> i64 {
    w.count("tinh-a", "procedures")
}

#[actix_web::test]
async fn three_hundred_procedures_are_planned_imported_and_reimported() {
    let w = World::new(|_| {}).await;
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let before = procedures(&w);

    // A dry run: the plan, nothing written.
    let csv = sample_csv(300, 600_000).into_bytes();
    let (s, plan) = import(&w, &admin, csv.clone(), true).await;
    assert_eq!(s, 200, "{plan}");
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["created"], 300);
    assert_eq!(plan["items"].as_array().unwrap().len(), 300);
    // tinh-a has `viec-lam` and `bao-tro`: two fields are new.
    let new_fields: Vec<&str> = plan["new_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    assert_eq!(new_fields, ["bao-tro-xa-hoi", "an-toan-ve-sinh-lao-dong"]);
    assert_eq!(procedures(&w), before, "a dry run writes nothing");

    // Only a tenant admin imports.
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    assert_eq!(import(&w, &officer, csv.clone(), false).await.0, 403);

    let (s, done) = import(&w, &admin, csv.clone(), false).await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(
        (done["created"].as_u64(), done["dry_run"].as_bool()),
        (Some(300), Some(false))
    );
    assert_eq!(procedures(&w), before + 300);
    let one = |sql: &str| w.db.scalar_i64(sql);
    assert_eq!(
        one(
            "SELECT count(*) AS n FROM t_tinh_a.procedure_versions WHERE procedure_code LIKE '9.%'"
        ),
        300
    );
    assert_eq!(
        one("SELECT count(*) AS n FROM platform.audit_log WHERE action = 'catalog.imported'"),
        1
    );
    // What the first row said, as the catalog API serves it.
    let (s, p) = w
        .req("GET", "/t/tinh-a/api/v1/procedures/9.000000", None, None)
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["fee_vnd"], 600_000);
    assert_eq!(p["online_level"], "full");
    assert_eq!(p["processing_days"], 3);
    assert_eq!(p["field"]["code"], "viec-lam");
    assert_eq!(p["details"]["legal_basis"][1], "Nghị định số 0/2026/NĐ-CP");
    assert_eq!(p["details"]["conditions"], "Đủ 18 tuổi");
    assert_eq!(p["documents"][1]["name"], "Bản sao giấy tờ tùy thân");
    let (_, p4) = w
        .req("GET", "/t/tinh-a/api/v1/procedures/9.000004", None, None)
        .await;
    assert_eq!(p4["fee_vnd"], 0, "“Không” is free");

    // The same file again: nothing to do. A changed fee: exactly that.
    let (s, again) = import(&w, &admin, csv, true).await;
    assert_eq!((s, again["unchanged"].as_u64()), (200, Some(300)));
    let changed = sample_csv(300, 650_000).into_bytes();
    let (s, plan) = import(&w, &admin, changed, false).await;
    assert_eq!(s, 200);
    assert_eq!(
        (plan["updated"].as_u64(), plan["unchanged"].as_u64()),
        (Some(1), Some(299))
    );
    assert_eq!(
        plan["items"][0]["change"],
        serde_json::json!({ "update": ["fee_vnd"] })
    );
    assert_eq!(
        one(
            "SELECT count(*) AS n FROM t_tinh_a.procedure_versions WHERE procedure_code = '9.000000'"
        ),
        2
    );

    // One bad row among good ones: the whole file is refused, by line and column.
    let bad = sample_csv(5, 1).replace("9.000003;", "9 000 003;")
        + "9.999999;Thiếu;Việc làm;mức 9;5;0;;;\n";
    let count = procedures(&w);
    let (s, refused) = import(&w, &admin, bad.into_bytes(), false).await;
    assert_eq!(s, 422, "{refused}");
    let messages: Vec<&str> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        messages[0].starts_with("Dòng 5, cột “Mã thủ tục”"),
        "{messages:?}"
    );
    assert!(
        messages[1].starts_with("Dòng 7, cột “Mức độ”"),
        "{messages:?}"
    );
    assert_eq!(procedures(&w), count, "nothing written");
    // Not a table at all.
    let (s, _) = import(&w, &admin, b"\x00\x01 not a list".to_vec(), true).await;
    assert_eq!(s, 422);
}

#[actix_web::test]
async fn an_excel_workbook_written_by_openpyxl_imports_the_same() {
    let w = World::new(|_| {}).await;
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let dir = std::env::temp_dir().join(format!("dvc-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv_path = dir.join("list.csv");
    let xlsx_path = dir.join("list.xlsx");
    std::fs::write(&csv_path, sample_csv(20, 600_000)).unwrap();
    let script = "import csv, sys, openpyxl\n\
        wb = openpyxl.Workbook(); ws = wb.active; ws.title = 'Danh muc'\n\
        for row in csv.reader(open(sys.argv[1], encoding='utf-8'), delimiter=';'): ws.append(row)\n\
        wb.save(sys.argv[2])\n";
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(&csv_path)
        .arg(&xlsx_path)
        .output()
        .expect("python3 with openpyxl (scripts/services.sh ensure_test_tools)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (s, report) = import(&w, &admin, std::fs::read(&xlsx_path).unwrap(), false).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["created"], 20);
    let (_, p) = w
        .req("GET", "/t/tinh-a/api/v1/procedures/9.000001", None, None)
        .await;
    assert_eq!(p["name"], "Thủ tục thử nghiệm số 1 về Bảo trợ xã hội");
    assert_eq!(p["online_level"], "partial");
    assert_eq!(p["fee_vnd"], 150_000);
    assert_eq!(p["documents"][0]["name"], "Tờ khai số 1");
    std::fs::remove_dir_all(&dir).unwrap();
}
