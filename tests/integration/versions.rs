//! Procedure versions (issue 20): a dossier keeps the version of its procedure it was filed
//! under. The tenant changes the work permit's form (a new required field, a renamed one) and
//! its fee while a dossier waits for a supplement: that dossier still answers against the form
//! its applicant saw and keeps its fee; a new one gets the new form and fee; re-applying an
//! unchanged file records no version.

use crate::world::{PDF, PHONE, WORK_PERMIT, World, tenant_file};
use serde_json::json;

/// tinh-a's file with the work permit's form and fee changed.
fn changed_tinh_a() -> String {
    tenant_file("tinh-a", "TA", "province", Some("bo"))
        .replacen("fee_vnd = 600000", "fee_vnd = 700000", 1)
        .replacen(
            "required = [\"ho_ten\", \"ngay_sinh\"]",
            "required = [\"ho_ten\", \"ngay_sinh\", \"quoc_tich\"]",
            1,
        )
        .replacen("title = \"Họ và tên\"", "title = \"Họ tên đầy đủ\"", 1)
        // The new field goes into the work permit's form (the first procedure's).
        .replacen(
            "pattern = \"[A-Z][0-9]{7}\"\n",
            "pattern = \"[A-Z][0-9]{7}\"\n\n[procedures.form_schema.properties.quoc_tich]\ntype = \"string\"\ntitle = \"Quốc tịch\"\n",
            1,
        )
}

fn versions(w: &World) -> i64 {
    w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.procedure_versions WHERE procedure_code = '{WORK_PERMIT}'"
    ))
}

#[actix_web::test]
async fn a_dossier_in_flight_keeps_the_form_and_fee_it_was_filed_under() {
    let w = World::new(|_| {}).await;
    assert_eq!(versions(&w), 1, "the first apply records version 1");
    let old = w.submit_work_permit("tinh-a", w.citizen).await;
    for action in ["receive", "start_review"] {
        let (s, b) = w
            .act("tinh-a", &old, w.officer_a, &["officer"], action, json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = w
        .act(
            "tinh-a",
            &old,
            w.officer_a,
            &["officer"],
            "request_supplement",
            json!({ "missing": ["Sửa ngày sinh"] }),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // The tenant changes the form and the fee; applying the same file again changes nothing.
    w.db.apply_texts(&[("tinh-a.toml", changed_tinh_a())]);
    assert_eq!(versions(&w), 2);
    w.db.apply_texts(&[("tinh-a.toml", changed_tinh_a())]);
    assert_eq!(versions(&w), 2, "an unchanged file records no version");
    // What `dvc tenant apply` publishes to every instance: the tenant's catalog changed.
    w.app.app_state.registry.reload(&mut w.db.conn()).unwrap();
    w.app.app_state.catalog.clear();

    // The dossier in flight: version 1, answered against version 1's form (no nationality),
    // its fee refigured under version 1's fee.
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    let (_, d) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/dossiers/{old}"),
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(d["procedure_version"], 1, "{d}");
    let version = w.version("tinh-a", &old).await;
    let (s, b) = w
        .multipart(
            &format!("/t/tinh-a/api/v1/dossiers/{old}/supplement"),
            &w.token(w.citizen, "tinh-a", &[]),
            &json!({
                "version": version,
                "note": "Đã sửa",
                "form": { "ho_ten": "John Smith", "ngay_sinh": "1990-02-04", "so_ho_chieu": "B1234567" }
            }),
            &[(0, "don.pdf", PDF)],
        )
        .await;
    assert_eq!(s, 200, "the old form still answers: {b}");
    let (_, d) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/dossiers/{old}"),
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(d["fee_vnd"], 600000, "{d}");

    // A new dossier: version 2's form (nationality required) and fee.
    let citizen = w.token(w.citizen, "tinh-a", &[]);
    let form = json!({ "ho_ten": "Jane Roe", "ngay_sinh": "1991-03-05" });
    let (s, b) = w
        .multipart(
            "/t/tinh-a/api/v1/dossiers",
            &citizen,
            &json!({ "procedure": WORK_PERMIT, "phone": PHONE, "form": form }),
            &[(0, "don.pdf", PDF)],
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(b.to_string().contains("/form/quoc_tich"), "{b}");
    let mut form = form;
    form["quoc_tich"] = json!("Nhật Bản");
    let (s, b) = w
        .multipart(
            "/t/tinh-a/api/v1/dossiers",
            &citizen,
            &json!({ "procedure": WORK_PERMIT, "phone": PHONE, "form": form }),
            &[(0, "don.pdf", PDF)],
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let new = b["code"].as_str().unwrap().to_owned();
    let (_, d) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/dossiers/{new}"),
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(
        (d["procedure_version"].as_i64(), d["fee_vnd"].as_i64()),
        (Some(2), Some(700000)),
        "{d}"
    );
    // Each dossier is pinned once, to the version it was filed under.
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM t_tinh_a.dossier_procedure_versions p \
             JOIN t_tinh_a.dossiers d ON d.id = p.dossier_id"
        ),
        2
    );
}
