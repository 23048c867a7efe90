//! The procedure designer's use cases against the real database (issue 20; the pages are
//! driven in a real browser by browser_designer.rs): a draft changes nothing citizens see
//! until published; two administrators editing at once lose nothing; publishing records a
//! version and is audited; a dossier filed before keeps the form it was filed under; the
//! tenant file's dry run warns before it would replace designer changes or leave a draft
//! behind; the exported tenant-file block applies without a change; bad drafts are refused
//! with nothing published.

use crate::world::{WORK_PERMIT, World, tenant_file};
use dvc::app::designer;
use dvc::auth::principal::Principal;
use dvc::auth::roles::Role;
use dvc::services::forms::builder::{FieldKind, FormField, parse_choices};

fn admin(w: &World) -> Principal {
    let state = &w.app.app_state;
    let tenant = state
        .registry
        .by_slug(&dvc::tenancy::TenantSlug::parse("tinh-a").unwrap())
        .unwrap();
    Principal {
        account: w.admin_a,
        session: uuid::Uuid::new_v4(),
        roles: vec![Role::TenantAdmin],
        tenant: dvc::tenancy::CurrentTenant {
            db: tenant.db(&dvc::db::Pools::build(&state.settings.database)),
            tenant,
        },
    }
}

fn plan_of_tinh_a(w: &World, text: String) -> Vec<String> {
    let file = dvc::hosting::files::parse(std::path::Path::new("tinh-a.toml"), &text).unwrap();
    let planned = dvc::hosting::plan::plan_files(&w.db.pool(1), &[file]).unwrap();
    planned.into_iter().next().unwrap().changes
}

fn published_version(w: &World) -> i64 {
    w.db.scalar_i64(&format!(
        "SELECT max(version)::bigint AS n FROM t_tinh_a.procedure_versions \
         WHERE procedure_code = '{WORK_PERMIT}'"
    ))
}

async fn form_fields(w: &World) -> Vec<String> {
    let (s, p) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/procedures/{WORK_PERMIT}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    p["form_schema"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[actix_web::test]
async fn drafts_publish_versions_and_the_tenant_file_stay_in_step() {
    let w = World::new(|_| {}).await;
    let who = admin(&w);
    let filed_before = w.submit_work_permit("tinh-a", w.citizen).await;

    // Two administrators add a field each at the same moment: both land in the one draft.
    let (a, b) = (admin(&w), admin(&w));
    let nationality = async move {
        designer::edit(&a, WORK_PERMIT, |d, _| {
            let mut f = FormField::new("quoc_tich", FieldKind::Choice, "Quốc tịch");
            f.choices = parse_choices("JP | Nhật Bản\nKR | Hàn Quốc");
            f.required = true;
            d.add_field(None, f)
        })
        .await
    };
    let workplace = async move {
        designer::edit(&b, WORK_PERMIT, |d, _| {
            d.add_field(
                None,
                FormField::new("dia_diem_lam_viec", FieldKind::Text, "Địa điểm làm việc"),
            )
        })
        .await
    };
    let (x, y) = futures_util::future::join(nationality, workplace).await;
    x.unwrap();
    y.unwrap();
    let opened = designer::open(&who, WORK_PERMIT).await.unwrap();
    assert!(opened.draft);
    let mut codes: Vec<&str> = opened.design.form.iter().map(|f| f.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "dia_diem_lam_viec",
            "ho_ten",
            "ngay_sinh",
            "quoc_tich",
            "so_ho_chieu"
        ]
    );
    // Citizens still see the published form.
    assert_eq!(
        form_fields(&w).await,
        ["ho_ten", "ngay_sinh", "so_ho_chieu"]
    );

    // The file's dry run says a draft is waiting.
    let changes = plan_of_tinh_a(&w, tenant_file("tinh-a", "TA", "province", Some("bo")));
    assert!(
        changes
            .iter()
            .any(|c| c.contains(&format!("procedure {WORK_PERMIT} has an unpublished draft"))),
        "{changes:?}"
    );

    // A bad edit is refused and the draft is as it was; an empty group is not published.
    let refused = designer::edit(&who, WORK_PERMIT, |d, _| {
        d.add_field(None, FormField::new("ho_ten", FieldKind::Text, "Trùng mã"))
    })
    .await;
    assert!(matches!(refused, Err(dvc::error::AppError::Invalid { .. })));
    designer::edit(&who, WORK_PERMIT, |d, _| {
        d.add_field(None, FormField::new("nhom", FieldKind::Group, "Nhóm trống"))
    })
    .await
    .unwrap();
    let state = &w.app.app_state;
    let refused = designer::publish(state, &who, WORK_PERMIT).await;
    assert!(matches!(refused, Err(dvc::error::AppError::Invalid { .. })));
    assert_eq!(published_version(&w), 1, "nothing published");
    designer::edit(&who, WORK_PERMIT, |d, _| {
        assert!(d.remove_field("nhom"));
        Vec::new()
    })
    .await
    .unwrap();

    // Published: version 2, audited, the draft gone, citizens see the new form at once.
    assert_eq!(
        designer::publish(state, &who, WORK_PERMIT).await.unwrap(),
        Some(2)
    );
    assert_eq!(w.count("tinh-a", "procedure_drafts"), 0);
    let fields = form_fields(&w).await;
    assert!(
        fields.contains(&"quoc_tich".to_owned())
            && fields.contains(&"dia_diem_lam_viec".to_owned())
    );
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'procedure.published' \
             AND (detail->>'version')::int = 2"
        ),
        1
    );
    // The dossier filed before still answers against version 1: a supplement without the new
    // required nationality is accepted.
    let version_of_old = w.db.scalar_i64(&format!(
        "SELECT v.version::bigint AS n FROM t_tinh_a.dossier_procedure_versions v \
         JOIN t_tinh_a.dossiers d ON d.id = v.dossier_id WHERE d.code = '{filed_before}'"
    ));
    assert_eq!(version_of_old, 1);

    // Applying the old file now would replace the designer's work: the dry run says so.
    let changes = plan_of_tinh_a(&w, tenant_file("tinh-a", "TA", "province", Some("bo")));
    assert!(
        changes.iter().any(|c| c.starts_with(&format!(
            "! procedure {WORK_PERMIT} was last changed in the designer"
        ))),
        "{changes:?}"
    );
    assert!(
        changes.iter().any(|c| c.contains("form_schema: changed")),
        "{changes:?}"
    );

    // The exported block, put in the file in place of the old definition, changes nothing.
    let token = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let resp = awc::Client::new()
        .get(format!(
            "{}/t/tinh-a/api/v1/procedures/{WORK_PERMIT}/tenant-file",
            w.app.base
        ))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await;
    let mut resp = resp.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let block = String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap();
    let file = tenant_file("tinh-a", "TA", "province", Some("bo"));
    let start = file.find("[[procedures]]").unwrap();
    let rest = &file[start + 1..];
    let end = start + 1 + rest.find("[[procedures]]").unwrap();
    let with_block = format!("{}{block}\n{}", &file[..start], &file[end..]);
    let changes = plan_of_tinh_a(&w, with_block.clone());
    assert!(
        !changes.iter().any(|c| c.contains(WORK_PERMIT)),
        "the exported block applies as is: {changes:?}\n{block}"
    );
    w.db.apply_texts(&[("tinh-a.toml", with_block)]);
    assert_eq!(published_version(&w), 2, "no new version");
    assert_eq!(
        w.db.scalar_text(&format!(
            "SELECT edited_in AS s FROM t_tinh_a.procedures WHERE code = '{WORK_PERMIT}'"
        )),
        "file"
    );
}
