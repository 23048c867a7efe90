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

/// tinh-a's file with units and a four-step process on the quick procedure (3 days = 24 h).
pub(crate) fn tinh_a_with_process() -> String {
    use crate::world::tenant_file;
    let process = r#"
[procedures.process]
steps = [
  { code = "tiep-nhan", name = { vi = "Tiếp nhận" }, unit = "mot-cua", role = "officer", actions = ["forward"], budget = { hours = 4 } },
  { code = "tham-dinh", name = { vi = "Thẩm định" }, unit = "phong-viec-lam", role = "officer", actions = ["forward", "return", "ask_opinion", "request_supplement"], budget = { days = 1 } },
  { code = "ky-duyet", name = { vi = "Ký duyệt" }, unit = "lanh-dao", role = "leader", actions = ["return", "decide"], budget = { hours = 4 } },
  { code = "van-thu", name = { vi = "Vào sổ, đóng dấu" }, unit = "van-thu", role = "officer", actions = ["forward"], budget = { hours = 4 } },
]
"#;
    let units = r#"
[[units]]
code = "mot-cua"
name = { vi = "Bộ phận một cửa" }

[[units]]
code = "phong-viec-lam"
name = { vi = "Phòng Việc làm" }

[[units]]
code = "phap-che"
name = { vi = "Phòng Pháp chế" }

[[units]]
code = "lanh-dao"
name = { vi = "Lãnh đạo Sở" }

[[units]]
code = "van-thu"
name = { vi = "Văn thư" }
"#;
    tenant_file("tinh-a", "TA", "province", Some("bo")).replacen(
        "decide_role = \"officer\"\n",
        &format!("decide_role = \"officer\"\n{process}"),
        1,
    ) + units
}

pub(crate) async fn file_quick(w: &crate::world::World, citizen: uuid::Uuid) -> String {
    let token = w.token(citizen, "tinh-a", &[]);
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/dossiers",
            Some(&token),
            Some(serde_json::json!({ "procedure": crate::world::QUICK, "phone": crate::world::PHONE, "form": {} })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["code"].as_str().unwrap().to_owned()
}

pub(crate) fn step_of(w: &crate::world::World, code: &str) -> i64 {
    w.db.scalar_i64(&format!(
        "SELECT coalesce(step, -1)::bigint AS n FROM t_tinh_a.dossiers WHERE code = '{code}'"
    ))
}

pub(crate) async fn step(
    w: &crate::world::World,
    code: &str,
    who: uuid::Uuid,
    roles: &[&str],
    mut body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let token = w.token(who, "tinh-a", roles);
    body["version"] = serde_json::json!(w.version("tinh-a", code).await);
    w.req(
        "POST",
        &format!("/t/tinh-a/api/v1/dossiers/{code}/step"),
        Some(&token),
        Some(body),
    )
    .await
}

async fn unit_inbox(w: &crate::world::World, unit: &str) -> Vec<String> {
    let token = w.token(w.officer_a2, "tinh-a", &["officer"]);
    let (s, b) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/inbox?unit={unit}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    b.as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_dossier_walks_a_declared_process_step_by_step_by_the_units_that_hold_them() {
    use crate::world::World;
    use diesel::connection::SimpleConnection;
    use serde_json::json;
    let w = World::new(|_| {}).await;
    w.db.apply_texts(&[("tinh-a.toml", tinh_a_with_process())]);
    for (unit, who, role) in [
        ("mot-cua", w.officer_a, "officer"),
        ("phong-viec-lam", w.officer_a2, "officer"),
        ("phap-che", w.officer_a, "officer"),
        ("lanh-dao", w.leader_a, "leader"),
        ("van-thu", w.officer_a, "officer"),
    ] {
        w.db.conn()
            .batch_execute(&format!(
                "INSERT INTO t_tinh_a.unit_members VALUES ('{unit}', '{who}', '{role}')"
            ))
            .unwrap();
    }
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
    assert_eq!(step_of(&w, &code), 0);
    let due_later = w.db.scalar_i64(&format!(
        "SELECT (step_due_at > step_entered_at)::int::bigint AS n FROM t_tinh_a.dossiers WHERE code = '{code}'"
    ));
    assert_eq!(due_later, 1, "the first step has its own due time");
    // The specialist cannot act at the desk's step.
    let (s, _) = step(
        &w,
        &code,
        w.officer_a2,
        &["officer"],
        json!({ "action": "forward" }),
    )
    .await;
    assert_eq!(s, 403);
    let (s, b) = step(
        &w,
        &code,
        w.officer_a,
        &["officer"],
        json!({ "action": "forward" }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "in_review");
    assert_eq!(step_of(&w, &code), 1);
    // The division's inbox has it; the desk's no longer.
    assert_eq!(unit_inbox(&w, "phong-viec-lam").await, vec![code.clone()]);
    assert!(unit_inbox(&w, "mot-cua").await.is_empty());
    // Another unit's opinion, asked and given.
    let (s, b) = step(
        &w,
        &code,
        w.officer_a2,
        &["officer"],
        json!({ "action": "ask_opinion", "unit": "phap-che", "note": "Xin ý kiến pháp lý" }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(unit_inbox(&w, "phap-che").await, vec![code.clone()]);
    let version = w.version("tinh-a", &code).await;
    let (s, b) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/dossiers/{code}/opinion"),
            Some(&w.token(w.officer_a, "tinh-a", &["officer"])),
            Some(json!({ "version": version, "opinion": "Đủ điều kiện theo quy định" })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(unit_inbox(&w, "phap-che").await.is_empty());
    // Not a decision step; then on to the leader.
    let (s, _) = step(
        &w,
        &code,
        w.officer_a2,
        &["officer"],
        json!({ "action": "decide", "outcome": "approve" }),
    )
    .await;
    assert_eq!(s, 409);
    let (s, _) = step(
        &w,
        &code,
        w.officer_a2,
        &["officer"],
        json!({ "action": "forward" }),
    )
    .await;
    assert_eq!(s, 200);
    // The fixed path's approval is not how this procedure is decided.
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.leader_a,
            &["leader"],
            "approve",
            json!({}),
        )
        .await;
    assert_eq!((s, b["code"].clone()), (409, json!("decided_by_process")));
    let (s, _) = step(
        &w,
        &code,
        w.leader_a,
        &["leader"],
        json!({ "action": "decide" }),
    )
    .await;
    assert_eq!(s, 409, "a decision says approve or reject");
    let (s, b) = step(
        &w,
        &code,
        w.leader_a,
        &["leader"],
        json!({ "action": "decide", "outcome": "approve", "note": "Đồng ý" }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "in_review", "the clerk's step still comes");
    assert_eq!(step_of(&w, &code), 3);
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
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "return",
            json!({}),
        )
        .await;
    assert_eq!((s, b["status"].clone()), (200, json!("returned")));
    // Every hand-over is in the history, with the step and unit.
    let steps = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.dossier_events e JOIN t_tinh_a.dossiers d \
         ON d.id = e.dossier_id WHERE d.code = '{code}' AND e.details ? 'step'"
    ));
    assert_eq!(steps, 6, "forward, ask, opinion, forward, decide, finish");
    let resolved =
        w.db.scalar_i64("SELECT coalesce(sum(resolved), 0)::bigint AS n FROM platform.stats_daily");
    assert_eq!(resolved, 1);

    // Two people forwarding the same step at once: one wins, the other is told it changed.
    let other = file_quick(&w, w.citizen2).await;
    w.act(
        "tinh-a",
        &other,
        w.officer_a,
        &["officer"],
        "receive",
        json!({}),
    )
    .await;
    let version = w.version("tinh-a", &other).await;
    let token = w.token(w.officer_a, "tinh-a", &["officer"]);
    let path = format!("/t/tinh-a/api/v1/dossiers/{other}/step");
    let send = || {
        w.req(
            "POST",
            &path,
            Some(&token),
            Some(json!({ "action": "forward", "version": version })),
        )
    };
    let (a, b) = futures_util::join!(send(), send());
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(step_of(&w, &other), 1);
}

#[actix_web::test]
async fn leaders_see_where_dossiers_sit_and_which_steps_are_late() {
    use crate::world::World;
    use diesel::connection::SimpleConnection;
    use serde_json::json;
    let w = World::new(|_| {}).await;
    w.db.apply_texts(&[("tinh-a.toml", tinh_a_with_process())]);
    w.db.conn()
        .batch_execute(&format!(
            "INSERT INTO t_tinh_a.unit_members VALUES ('mot-cua', '{}', 'officer')",
            w.officer_a
        ))
        .unwrap();
    let mut codes = Vec::new();
    for citizen in [w.citizen, w.citizen2, w.citizen] {
        let code = file_quick(&w, citizen).await;
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
        codes.push(code);
    }
    // One moves on; of the two left at the desk, one is past the step's due time.
    let (s, _) = step(
        &w,
        &codes[2],
        w.officer_a,
        &["officer"],
        json!({ "action": "forward" }),
    )
    .await;
    assert_eq!(s, 200);
    w.db.conn()
        .batch_execute(&format!(
            "UPDATE t_tinh_a.dossiers SET step_due_at = now() - interval '1 hour' WHERE code = '{}'",
            codes[1]
        ))
        .unwrap();
    let (s, _) = w
        .req(
            "GET",
            "/t/tinh-a/api/v1/steps/load",
            Some(&w.token(w.officer_a, "tinh-a", &["officer"])),
            None,
        )
        .await;
    assert_eq!(s, 403, "leaders only");
    let (s, b) = w
        .req(
            "GET",
            "/t/tinh-a/api/v1/steps/load",
            Some(&w.token(w.leader_a, "tinh-a", &["leader"])),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let loads = b.as_array().unwrap();
    assert_eq!(loads.len(), 2, "{b}");
    // Late first.
    assert_eq!(
        (
            loads[0]["unit"].clone(),
            loads[0]["step"].clone(),
            loads[0]["open"].clone(),
            loads[0]["late"].clone()
        ),
        (json!("mot-cua"), json!("tiep-nhan"), json!(2), json!(1))
    );
    assert_eq!(loads[0]["late_codes"], json!([codes[1]]));
    assert_eq!(
        (
            loads[1]["unit"].clone(),
            loads[1]["open"].clone(),
            loads[1]["late"].clone()
        ),
        (json!("phong-viec-lam"), json!(1), json!(0))
    );

    // The catalog API rewriting the procedure keeps the process its tenant file declared.
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let (s, b) = w
        .req(
            "PUT",
            &format!("/t/tinh-a/api/v1/procedures/{}", crate::world::QUICK),
            Some(&admin),
            Some(json!({
                "name": { "vi": "Xác nhận thông tin hộ gia đình (sửa)" },
                "field": "bao-tro", "online_level": "partial", "processing_days": 3,
            })),
        )
        .await;
    assert!(s == 200 || s == 201, "{s} {b}");
    assert_eq!(
        w.db.scalar_i64(&format!(
            "SELECT jsonb_array_length(process->'steps')::bigint AS n FROM t_tinh_a.procedures \
             WHERE code = '{}' AND name_vi LIKE '%(sửa)'",
            crate::world::QUICK
        )),
        4
    );
}

#[test]
fn an_adopted_process_comes_with_the_procedure_if_the_adopter_has_its_units() {
    let db = TestDb::new();
    db.apply_texts(&[("so-a.toml", file(4))]);
    let child = |units: &str| {
        format!(
            r#"slug = "xa-b"
code = "XAB"
kind = "commune"
parent = "so-a"
name = {{ vi = "Xã B" }}
{units}
[[inherit]]
code = "1.000105"
"#
        )
    };
    let apply = |text: String| {
        let parsed = dvc::hosting::files::parse(std::path::Path::new("xa-b.toml"), &text).unwrap();
        dvc::hosting::apply::apply_files(&db.pool(2), vec![parsed])
    };
    let err = apply(child("")).unwrap_err();
    assert!(err.to_string().contains("needs unit `mot-cua`"), "{err}");
    let units = r#"
[[units]]
code = "mot-cua"
name = { vi = "Bộ phận một cửa" }

[[units]]
code = "phong-viec-lam"
name = { vi = "Công chức văn hóa - xã hội" }

[[units]]
code = "lanh-dao"
name = { vi = "Lãnh đạo xã" }
"#;
    apply(child(units)).unwrap();
    assert_eq!(
        db.scalar_i64(
            "SELECT jsonb_array_length(process->'steps')::bigint AS n FROM t_xa_b.procedures \
             WHERE code = '1.000105' AND inherited_from = 'so-a'"
        ),
        3
    );
}

#[test]
fn an_adopter_may_declare_its_own_process_for_an_inherited_procedure() {
    let db = TestDb::new();
    db.apply_texts(&[("so-a.toml", file(4))]);
    // The commune has only a desk and a leader, not the parent's division: its own two steps.
    let child = |budget: &str, unit: &str| {
        format!(
            r#"slug = "xa-c"
code = "XAC"
kind = "commune"
parent = "so-a"
name = {{ vi = "Xã C" }}

[[units]]
code = "mot-cua"
name = {{ vi = "Bộ phận một cửa" }}

[[units]]
code = "lanh-dao"
name = {{ vi = "Lãnh đạo xã" }}

[[inherit]]
code = "1.000105"
processing_days = 4
process = {{ steps = [
  {{ code = "tiep-nhan", name = {{ vi = "Tiếp nhận" }}, unit = "mot-cua", role = "officer", actions = ["forward"], budget = {{ hours = 4 }} }},
  {{ code = "ky-duyet", name = {{ vi = "Ký duyệt" }}, unit = "{unit}", role = "leader", actions = ["decide"], budget = {budget} }},
] }}
"#
        )
    };
    let apply = |text: String| {
        let parsed = dvc::hosting::files::parse(std::path::Path::new("xa-c.toml"), &text)
            .map_err(|e| format!("{e:?}"))?;
        dvc::hosting::apply::apply_files(&db.pool(2), vec![parsed])
            .map_err(|e| e.problems().join("\n"))
    };
    // Over its own 4-day limit, and a unit it does not have: said at the [[inherit]], nothing
    // written.
    let err = apply(child("{ days = 4 }", "phong-viec-lam")).unwrap_err();
    assert!(err.contains("xa-c.toml:"), "{err}");
    assert!(err.contains("[[inherit]] `1.000105`: process"), "{err}");
    assert!(err.contains("unit `phong-viec-lam`"), "{err}");
    assert!(err.contains("more than the time limit of 4"), "{err}");
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.tenants WHERE slug = 'xa-c'"),
        0
    );
    apply(child("{ days = 3 }", "lanh-dao")).unwrap();
    assert_eq!(
        db.scalar_i64(
            "SELECT jsonb_array_length(process->'steps')::bigint AS n FROM t_xa_c.procedures \
             WHERE code = '1.000105' AND inherited_from = 'so-a' AND processing_days = 4 \
             AND process->'steps'->1->>'unit' = 'lanh-dao'"
        ),
        2
    );
}
