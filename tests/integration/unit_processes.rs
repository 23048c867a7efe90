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

#[actix_web::test]
async fn admins_put_officials_in_units_and_nobody_else_gets_in() {
    use crate::world::{World, tenant_file};
    use serde_json::json;
    let w = World::new(|_| {}).await;
    let units = r#"
[[units]]
code = "mot-cua"
name = { vi = "Bộ phận một cửa" }

[[units]]
code = "phong-viec-lam"
name = { vi = "Phòng Việc làm" }
"#;
    w.db.apply_texts(&[(
        "tinh-a.toml",
        tenant_file("tinh-a", "TA", "province", Some("bo")) + units,
    )]);
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    let path = "/t/tinh-a/api/v1/units/phong-viec-lam/members";
    let body = |email: &str, role: &str| Some(json!({ "email": email, "role": role }));
    // An officer may read the units, not change them.
    let (s, _) = w
        .req(
            "POST",
            path,
            Some(&officer),
            body("canbo.a@example.vn", "officer"),
        )
        .await;
    assert_eq!(s, 403);
    let (s, b) = w
        .req(
            "POST",
            path,
            Some(&admin),
            body("canbo.a@example.vn", "officer"),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, _) = w
        .req(
            "POST",
            path,
            Some(&admin),
            body("canbo.a@example.vn", "officer"),
        )
        .await;
    assert_eq!(s, 200, "already there");
    // A citizen, an official of another tenant, an unknown unit or role: refused, nothing added.
    let (s, b) = w
        .req(
            "POST",
            path,
            Some(&admin),
            body("dan@example.vn", "officer"),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    let (s, _) = w
        .req(
            "POST",
            path,
            Some(&admin),
            body("canbo.b@example.vn", "officer"),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/units/phong-khac/members",
            Some(&admin),
            body("canbo.a@example.vn", "officer"),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = w
        .req(
            "POST",
            path,
            Some(&admin),
            body("canbo.a@example.vn", "chief"),
        )
        .await;
    assert_eq!(s, 400);
    let (s, list) = w
        .req("GET", "/t/tinh-a/api/v1/units", Some(&officer), None)
        .await;
    assert_eq!(s, 200, "{list}");
    let units = list.as_array().unwrap();
    assert_eq!(units.len(), 2);
    assert_eq!(
        units[1]["members"],
        json!([{ "account": w.officer_a, "role": "officer" }])
    );
    assert_eq!(units[0]["members"], json!([]));
    // The engine's view of who holds which step.
    let held = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.unit_members WHERE account_id = '{}'",
        w.officer_a
    ));
    assert_eq!(held, 1);
    let (s, _) = w
        .req(
            "DELETE",
            path,
            Some(&admin),
            body("canbo.a@example.vn", "officer"),
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = w
        .req(
            "DELETE",
            path,
            Some(&admin),
            body("canbo.a@example.vn", "officer"),
        )
        .await;
    assert_eq!(s, 404);
    let audited = w.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.audit_log WHERE action LIKE 'unit.member_%'",
    );
    assert_eq!(audited, 2);
}
