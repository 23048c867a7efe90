//! Templates from above (issue 20): the ministry publishes a procedure as a template it does
//! not offer itself, with its legal basis, conditions and paper forms; a province adopts it in
//! its tenant file with its own fee, time limit and a local document; the ministry changes the
//! template; the province is told (its version is behind) and takes the change through the
//! same use case as the admin page, keeping what it made its own. The procedure page shows
//! the legal basis, conditions and paper forms.

use crate::world::{World, tenant_file};
use serde_json::{Value, json};

const TEMPLATE: &str = "1.009001";
const OPERATOR_TOKEN: &str = "operator-automation-token-templates-01";

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The ministry's file with a template; `extra_document` is its second version's change.
fn bo(extra_document: bool) -> String {
    let photo = if extra_document {
        ", { name = \"Ảnh màu 4 x 6 cm\", name_en = \"Colour photo\", accept = [\"jpeg\", \"png\"] }"
    } else {
        ""
    };
    tenant_file("bo", "BO", "ministry", None)
        + &format!(
            r#"
[[procedures]]
code = "{TEMPLATE}"
field = "viec-lam"
name = {{ vi = "Cấp giấy phép lao động (mẫu)", en = "Work permit (template)" }}
online_level = "full"
processing_days = 10
fee_vnd = 400000
active = false
template = true
legal_basis = ["Bộ luật Lao động số 45/2019/QH14", "Nghị định số 219/2025/NĐ-CP"]
conditions = "Người lao động đủ 18 tuổi trở lên."
form_templates = [{{ name = "Mẫu số 03", url = "https://dichvucong.gov.vn/mau-03.docx" }}]
documents = [{{ name = "Văn bản đề nghị", name_en = "Application" }}{photo}]
"#
        )
}

/// tinh-a adopting the template with its own fee, time limit and a local document.
fn tinh_a() -> String {
    tenant_file("tinh-a", "TA", "province", Some("bo"))
        + &format!(
            r#"
[[inherit]]
code = "{TEMPLATE}"
fee_vnd = 450000
processing_days = 7
documents = [{{ name = "Giấy xác nhận của Ban quản lý khu công nghiệp", name_en = "Industrial zone confirmation" }}]
"#
        )
}

fn row(w: &World, tenant: &str, column: &str) -> Value {
    let schema = format!("t_{}", tenant.replace('-', "_"));
    let text = w.db.scalar_text(&format!(
        "SELECT coalesce({column}::text, 'null') AS s FROM {schema}.procedures WHERE code = '{TEMPLATE}'"
    ));
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn names(documents: &Value) -> Vec<(String, bool)> {
    documents
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap().to_owned(), d["local"] == true))
        .collect()
}

#[actix_web::test]
async fn a_province_adopts_a_ministry_template_and_takes_its_change_keeping_its_own() {
    let w = World::new(|s| s.operator.api_token_sha256 = Some(sha256_hex(OPERATOR_TOKEN))).await;
    w.db.apply_texts(&[("bo.toml", bo(false)), ("tinh-a.toml", tinh_a())]);
    w.app.app_state.registry.reload(&mut w.db.conn()).unwrap();
    w.app.app_state.catalog.clear();

    // The ministry does not offer it; its children may adopt it.
    assert_eq!(row(&w, "bo", "active"), json!(false));
    assert_eq!(row(&w, "bo", "template"), json!(true));
    let (s, _) = w
        .req(
            "GET",
            &format!("/t/bo/api/v1/procedures/{TEMPLATE}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 404, "a template only is not on the ministry's portal");

    // tinh-a's copy: the template's document then its own, its fee and time, version 1.
    assert_eq!(row(&w, "tinh-a", "fee_vnd"), json!(450_000));
    assert_eq!(row(&w, "tinh-a", "processing_days"), json!(7));
    assert_eq!(row(&w, "tinh-a", "adopted_version"), json!(1));
    assert_eq!(row(&w, "tinh-a", "template"), json!(false));
    assert_eq!(
        names(&row(&w, "tinh-a", "documents")),
        [
            ("Văn bản đề nghị".to_owned(), false),
            (
                "Giấy xác nhận của Ban quản lý khu công nghiệp".to_owned(),
                true
            )
        ]
    );
    // Its public page shows the legal basis, conditions and paper forms.
    let (s, page) = w
        .page("tinh-a.localhost", &format!("/thu-tuc/{TEMPLATE}"))
        .await;
    assert_eq!(s, 200);
    for text in [
        "Căn cứ pháp lý",
        "Nghị định số 219&#x2f;2025&#x2f;NĐ-CP",
        "Người lao động đủ 18 tuổi trở lên.",
        "Mẫu số 03",
        "https:&#x2f;&#x2f;dichvucong.gov.vn&#x2f;mau-03.docx",
    ] {
        assert!(page.contains(text), "{text} on the procedure page");
    }

    // The ministry changes the template: version 2; tinh-a is one behind.
    w.db.apply_texts(&[("bo.toml", bo(true))]);
    assert_eq!(
        w.db.scalar_i64(&format!(
            "SELECT max(version)::bigint AS n FROM t_bo.procedure_versions WHERE procedure_code = '{TEMPLATE}'"
        )),
        2
    );
    assert_eq!(row(&w, "tinh-a", "adopted_version"), json!(1));
    // Its admin is told by mail, once however often the notices run.
    let state = &w.app.app_state;
    assert_eq!(
        dvc::app::upkeep::notify_template_changes(state)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        dvc::app::upkeep::notify_template_changes(state)
            .await
            .unwrap(),
        0
    );
    let subject = format!("Đơn vị BO đã cập nhật thủ tục mẫu {TEMPLATE}");
    let told = crate::common::eventually(std::time::Duration::from_secs(20), || {
        let seen = w.subjects().iter().filter(|s| **s == subject).count();
        async move { seen == 1 }
    })
    .await;
    assert!(told, "{:?}", w.subjects());

    // A time limit of no days is refused and changes nothing.
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let (s, _) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/procedures/{TEMPLATE}/inherit"),
            Some(&admin),
            Some(json!({ "processing_days": 0 })),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(row(&w, "tinh-a", "adopted_version"), json!(1));

    // tinh-a takes the change (the admin page's button sends no fee or time): the new
    // document arrives, its own fee, time and local document stay.
    let (s, p) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/procedures/{TEMPLATE}/inherit"),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["adopted_version"], 2);
    assert_eq!(p["fee_vnd"], 450_000);
    assert_eq!(p["processing_days"], 7);
    assert_eq!(
        names(&p["documents"]),
        [
            ("Văn bản đề nghị".to_owned(), false),
            ("Ảnh màu 4 x 6 cm".to_owned(), false),
            (
                "Giấy xác nhận của Ban quản lý khu công nghiệp".to_owned(),
                true
            )
        ]
    );
    assert_eq!(
        dvc::app::upkeep::notify_template_changes(state)
            .await
            .unwrap(),
        0,
        "nothing more to tell once taken"
    );
    assert_eq!(
        p["details"]["legal_basis"][1],
        "Nghị định số 219/2025/NĐ-CP"
    );
    assert_eq!(
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'procedure.adopted' \
             AND detail->>'procedure' = '{TEMPLATE}' AND (detail->>'version')::int = 2"
        )),
        1
    );
    // A province onboarded now gets the ministry's templates in the same step, at version 2.
    let (s, created) = w
        .req(
            "POST",
            "/api/v1/operator/tenants",
            Some(OPERATOR_TOKEN),
            Some(json!({
                "slug": "tinh-d", "code": "TD", "kind": "province", "parent": "bo",
                "name_vi": "Sở Nội vụ tỉnh D", "admin_email": "quantri.d@example.vn",
            })),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(row(&w, "tinh-d", "adopted_version"), json!(2));
    assert_eq!(row(&w, "tinh-d", "fee_vnd"), json!(400_000));

    // A paper-form link that is not plain https is refused with the file.
    let bad = bo(true).replace(
        "https://dichvucong.gov.vn/mau-03.docx",
        "javascript:alert(1)",
    );
    let parsed = dvc::hosting::files::parse(std::path::Path::new("bo.toml"), &bad).unwrap();
    let refused = dvc::hosting::files::validate(vec![parsed], &Default::default()).unwrap_err();
    assert!(
        format!("{refused:?}").contains("https://"),
        "the refusal names the rule: {refused:?}"
    );
    assert_eq!(
        row(&w, "bo", "details")["form_templates"][0]["url"],
        "https://dichvucong.gov.vn/mau-03.docx"
    );
}
