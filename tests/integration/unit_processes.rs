//! Units and declared processes (issue 18's ground): a tenant file's units and a procedure's
//! steps are stored in the tenant's schema, read back by the catalog and the API, and a file
//! whose process does not fit is refused before anything is written.

use crate::common::{TestApp, TestDb};
use std::sync::Arc;

fn file(review_days: u16) -> String {
    format!(
        r#"slug = "so-a"
code = "SOA"
kind = "province"
name = {{ vi = "Sở A" }}

[[units]]
code = "mot-cua"
name = {{ vi = "Bộ phận một cửa" }}

[[units]]
code = "phong-viec-lam"
name = {{ vi = "Phòng Việc làm" }}

[[units]]
code = "lanh-dao"
name = {{ vi = "Lãnh đạo Sở" }}

[[fields]]
code = "viec-lam"
name = {{ vi = "Việc làm" }}

[[procedures]]
code = "1.000105"
field = "viec-lam"
name = {{ vi = "Cấp giấy phép lao động" }}
online_level = "full"
processing_days = 5

[procedures.process]
steps = [
  {{ code = "tiep-nhan", name = {{ vi = "Tiếp nhận" }}, unit = "mot-cua", role = "officer", actions = ["forward"], budget = {{ hours = 4 }} }},
  {{ code = "tham-dinh", name = {{ vi = "Thẩm định" }}, unit = "phong-viec-lam", role = "officer", actions = ["forward", "ask_opinion"], budget = {{ days = {review_days} }} }},
  {{ code = "ky-duyet", name = {{ vi = "Ký duyệt" }}, unit = "lanh-dao", role = "leader", actions = ["return", "decide"], budget = {{ hours = 4 }} }},
]
"#
    )
}

#[actix_web::test]
async fn units_and_a_process_are_stored_and_served_and_a_bad_one_changes_nothing() {
    let db = TestDb::new();
    db.apply_texts(&[("so-a.toml", file(4))]);
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM t_so_a.agencies"),
        3
    );
    let stored = db.scalar_i64(
        "SELECT jsonb_array_length(process->'steps')::bigint AS n FROM t_so_a.procedures \
         WHERE code = '1.000105'",
    );
    assert_eq!(stored, 3);
    let app = TestApp::spawn_on(Arc::new(db), |_| {}).await;
    let (s, _, body) = app
        .get(Some("so-a.localhost"), "/api/v1/procedures/1.000105")
        .await;
    assert_eq!(s, 200, "{body}");
    let steps = body["process"]["steps"].as_array().unwrap();
    assert_eq!(steps[1]["unit"], "phong-viec-lam");
    assert_eq!(steps[1]["budget"], serde_json::json!({ "days": 4 }));
    assert_eq!(steps[2]["actions"], serde_json::json!(["return", "decide"]));

    // 4 hours + 5 days + 4 hours is more than the 5-day limit: refused at the file's line,
    // and the stored process is the one before.
    let bad = dvc::hosting::files::parse(std::path::Path::new("so-a.toml"), &file(5)).unwrap();
    let errs = dvc::hosting::files::validate(vec![bad], &Default::default()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].to_string().starts_with("so-a.toml:29:"),
        "{}",
        errs[0]
    );
    assert!(errs[0].message.contains("48 working hours"), "{}", errs[0]);
}
