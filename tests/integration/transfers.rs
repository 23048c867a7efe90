//! Inter-agency dossiers (liên thông, issue 18): a commune receives a dossier and forwards it to
//! its province, which decides it with its own process and sends the result back; the applicant
//! keeps one code and one timeline. A transfer the receiver cannot take changes nothing, and a
//! delivery killed in the middle of its transaction leaves the dossier in exactly one place.

use crate::unit_processes::tinh_a_with_process;
use crate::world::{PDF, PHONE, QUICK, World, account, tenant_file};
use diesel::connection::SimpleConnection;
use dvc::auth::roles::{Role, grant};
use serde_json::{Value, json};
use uuid::Uuid;

/// A commune under tinh-a that receives the quick procedure and forwards it to tinh-a
/// (4 h + 2 days + 4 h = the 3-day limit).
fn commune_file() -> String {
    let process = r#"
[procedures.process]
steps = [
  { code = "tiep-nhan", name = { vi = "Tiếp nhận" }, unit = "mot-cua", role = "officer", actions = ["forward"], budget = { hours = 4 } },
  { code = "chuyen-tinh", name = { vi = "Chuyển Sở giải quyết", en = "Forward to the department" }, unit = "mot-cua", role = "officer", actions = ["transfer"], transfer_to = "tinh-a", budget = { days = 2 } },
  { code = "tra-ket-qua", name = { vi = "Trả kết quả" }, unit = "mot-cua", role = "officer", actions = ["forward"], budget = { hours = 4 } },
]
"#;
    tenant_file("xa-a", "XA", "commune", Some("tinh-a")).replacen(
        "decide_role = \"officer\"\n",
        &format!(
            "decide_role = \"officer\"\ndocuments = [{{ name = \"Đơn đề nghị\", accept = [\"pdf\"] }}]\n{process}"
        ),
        1,
    ) + "\n[[units]]\ncode = \"mot-cua\"\nname = { vi = \"Bộ phận một cửa xã\" }\n"
}

/// The world with the commune, tinh-a's process and every official in the units they act in.
struct Liaison {
    w: World,
    /// The commune's desk officer.
    desk: Uuid,
}

async fn liaison(tweak: impl FnOnce(&mut dvc::config::Settings)) -> Liaison {
    let w = World::new(tweak).await;
    w.db.apply_texts(&[
        ("tinh-a.toml", tinh_a_with_process()),
        ("xa-a.toml", commune_file()),
    ]);
    let desk = account(&w.db, "motcua.xa@example.vn", "Cán bộ một cửa xã");
    let xa: Uuid = {
        use diesel::prelude::*;
        use dvc::db::schema::tenants::dsl as t;
        t::tenants
            .filter(t::slug.eq("xa-a"))
            .select(t::id)
            .first(&mut w.db.conn())
            .unwrap()
    };
    grant(&mut w.db.conn(), desk, xa, Role::Officer, None).unwrap();
    let mut sql =
        format!("INSERT INTO t_xa_a.unit_members VALUES ('mot-cua', '{desk}', 'officer');");
    for (unit, who, role) in [
        ("mot-cua", w.officer_a, "officer"),
        ("phong-viec-lam", w.officer_a2, "officer"),
        ("phap-che", w.officer_a, "officer"),
        ("lanh-dao", w.leader_a, "leader"),
        ("van-thu", w.officer_a, "officer"),
    ] {
        sql += &format!("INSERT INTO t_tinh_a.unit_members VALUES ('{unit}', '{who}', '{role}');");
    }
    w.db.conn().batch_execute(&sql).unwrap();
    // The running server learns about the commune.
    w.app.app_state.registry.reload(&mut w.db.conn()).unwrap();
    let (s, _) = w.req("GET", "/t/xa-a/api/v1/procedures", None, None).await;
    assert_eq!(s, 200);
    Liaison { w, desk }
}

impl Liaison {
    fn desk_token(&self) -> String {
        self.w.token(self.desk, "xa-a", &["officer"])
    }

    async fn detail(&self, tenant: &str, code: &str, token: &str) -> (u16, Value) {
        self.w
            .req(
                "GET",
                &format!("/t/{tenant}/api/v1/dossiers/{code}"),
                Some(token),
                None,
            )
            .await
    }

    /// An action at the dossier's current step, at the version the actor sees.
    async fn step(&self, tenant: &str, code: &str, token: &str, mut body: Value) -> (u16, Value) {
        let (_, d) = self.detail(tenant, code, token).await;
        body["version"] = d["version"].clone();
        self.w
            .req(
                "POST",
                &format!("/t/{tenant}/api/v1/dossiers/{code}/step"),
                Some(token),
                Some(body),
            )
            .await
    }

    async fn fixed(&self, tenant: &str, code: &str, token: &str, action: &str) -> (u16, Value) {
        let (_, d) = self.detail(tenant, code, token).await;
        self.w
            .req(
                "POST",
                &format!("/t/{tenant}/api/v1/dossiers/{code}/actions"),
                Some(token),
                Some(json!({ "action": action, "version": d["version"] })),
            )
            .await
    }

    /// A citizen's quick dossier at the commune, received and forwarded to the transfer step.
    async fn at_transfer_step(&self) -> String {
        let token = self.w.token(self.w.citizen, "xa-a", &[]);
        let (s, b) = self
            .w
            .multipart(
                "/t/xa-a/api/v1/dossiers",
                &token,
                &json!({ "procedure": QUICK, "phone": PHONE, "form": {} }),
                &[(0, "de-nghi.pdf", PDF)],
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let code = b["code"].as_str().unwrap().to_owned();
        let desk = self.desk_token();
        let (s, b) = self.fixed("xa-a", &code, &desk, "receive").await;
        assert_eq!(s, 200, "{b}");
        let (s, b) = self
            .step("xa-a", &code, &desk, json!({ "action": "forward" }))
            .await;
        assert_eq!(s, 200, "{b}");
        code
    }

    fn rows(&self, schema: &str, code: &str) -> i64 {
        self.w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM {schema}.dossiers WHERE code = '{code}'"
        ))
    }

    fn pending(&self) -> i64 {
        self.w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.dossier_transfers WHERE delivered_at IS NULL",
        )
    }

    /// Waits (a bounded while) for the in-process deliverer to empty the queue.
    async fn delivered(&self) {
        for _ in 0..100 {
            if self.pending() == 0 {
                return;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("transfers still pending");
    }

    /// `dvc transfers deliver` as a separate process, with `fault` armed if given.
    fn deliver_cli(&self, fault: Option<&str>) -> std::process::Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dvc"));
        cmd.args(["transfers", "deliver"])
            .env("DVC__DATABASE__URL", &self.w.db.url)
            .env("DVC__REDIS__PREFIX", &self.w.db.name)
            .env("DVC__LOG__FILTER", "off")
            .env("DVC__DOSSIERS__STORAGE_ROOT", &self.w.storage)
            .env("DVC_CONFIG_DIR", "/nonexistent");
        if let Some(f) = fault {
            cmd.env("DVC_FAULT", f);
        }
        cmd.output().unwrap()
    }
}

/// The processing-control record of a commune dossier as PDF, read back by poppler.
async fn slip_text(w: &World, code: &str, token: &str) -> String {
    let mut resp = awc::Client::default()
        .get(format!(
            "{}/t/xa-a/api/v1/dossiers/{code}/slips/processing_record",
            w.app.base
        ))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let bytes = resp.body().limit(10 << 20).await.unwrap();
    let path = std::env::temp_dir().join(format!("dvc-record-{}.pdf", Uuid::new_v4()));
    std::fs::write(&path, &bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils): scripts/services.sh installs it");
    std::fs::remove_file(&path).ok();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn statuses(progress: &Value) -> Vec<String> {
    progress
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_dossier_filed_at_a_commune_is_decided_by_its_province_and_returned_where_it_was_filed() {
    let l = liaison(|_| {}).await;
    let w = &l.w;
    let code = l.at_transfer_step().await;
    let desk = l.desk_token();
    // An unrelated dossier of the commune, which the province must never see.
    let other = l.at_transfer_step().await;

    let (s, b) = l
        .step(
            "xa-a",
            &code,
            &desk,
            json!({ "action": "transfer", "note": "Chuyển Sở" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "in_review");
    l.delivered().await;
    assert_eq!(l.rows("t_tinh_a", &code), 1);
    // While the province holds it, the commune can do nothing with it.
    let (s, b) = l
        .step("xa-a", &code, &desk, json!({ "action": "transfer" }))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (409, Some("held_elsewhere")),
        "{b}"
    );
    let (_, d) = l.detail("xa-a", &code, &desk).await;
    assert_eq!(d["step"]["held_elsewhere"], true, "{d}");
    assert_eq!(d["step"]["actions"], json!([]));
    assert_eq!(d["actions"], json!([]), "no workflow action offered either");

    // The province: its own first step and due date, and where the dossier came from.
    let officer_a = w.token(w.officer_a, "tinh-a", &["officer"]);
    let specialist = w.token(w.officer_a2, "tinh-a", &["officer"]);
    let leader = w.token(w.leader_a, "tinh-a", &["leader"]);
    let (s, d) = l.detail("tinh-a", &code, &officer_a).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["status"], "received");
    assert_eq!(d["step"]["code"], "tiep-nhan");
    assert_eq!(d["transferred_from"], "Đơn vị XA");
    assert_eq!(d["attachments"].as_array().unwrap().len(), 1);
    assert!(d["due_date"].is_string());
    // Its part only: the commune's other dossier is not there.
    let (s, _) = l.detail("tinh-a", &other, &officer_a).await;
    assert_eq!(s, 404);
    // The copied file reads back at the province, byte for byte.
    let file = d["attachments"][0]["id"].as_str().unwrap().to_owned();
    let (s, _) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/dossiers/{code}/attachments/{file}"),
            Some(&officer_a),
            None,
        )
        .await;
    assert_eq!(s, 200, "the copied file downloads at the province");

    let (s, b) = l
        .step("tinh-a", &code, &officer_a, json!({ "action": "forward" }))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = l
        .step(
            "tinh-a",
            &code,
            &specialist,
            json!({ "action": "ask_opinion", "unit": "phap-che", "note": "Xin ý kiến pháp lý" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, d) = l.detail("tinh-a", &code, &officer_a).await;
    let (s, b) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/dossiers/{code}/opinion"),
            Some(&officer_a),
            Some(json!({ "version": d["version"], "opinion": "Đủ điều kiện" })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = l
        .step("tinh-a", &code, &specialist, json!({ "action": "forward" }))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = l
        .step(
            "tinh-a",
            &code,
            &leader,
            json!({ "action": "decide", "outcome": "approve", "note": "Đồng ý" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = l
        .step(
            "tinh-a",
            &code,
            &officer_a,
            json!({ "action": "forward", "note": "Vào sổ số 15/LT" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Decided and sealed: the province's part ends, returned to the commune.
    assert_eq!(b["status"], "returned", "{b}");
    l.delivered().await;

    // Back at the commune, at the step after the transfer, with the province's decision.
    let (_, d) = l.detail("xa-a", &code, &desk).await;
    assert_eq!(d["status"], "in_review");
    assert_eq!(d["step"]["code"], "tra-ket-qua");
    assert_eq!(d["step"]["held_elsewhere"], false);
    let (s, b) = l
        .step("xa-a", &code, &desk, json!({ "action": "forward" }))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "approved");
    let (s, b) = l.fixed("xa-a", &code, &desk, "return").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "returned");

    // One code, one timeline: the applicant sees the province's steps where they applied.
    let citizen = w.token(w.citizen, "xa-a", &[]);
    let (s, d) = l.detail("xa-a", &code, &citizen).await;
    assert_eq!(s, 200, "{d}");
    // The department's internal notes stay there.
    for note in [
        "Vào sổ số 15/LT",
        "Đồng ý",
        "Đủ điều kiện",
        "Xin ý kiến pháp lý",
    ] {
        assert!(!d.to_string().contains(note), "{note} leaked: {d}");
    }
    let t = &d["transfers"][0];
    assert_eq!(t["to_name_vi"], "Đơn vị TA");
    assert!(t["delivered_at"].is_string());
    assert_eq!(
        statuses(&t["progress"]),
        [
            "received",
            "in_review",
            "in_review",
            "in_review",
            "in_review",
            "approved",
            "returned"
        ]
    );
    assert_eq!(t["progress"][0]["step_vi"], "Tiếp nhận");
    assert_eq!(t["progress"][5]["status"], "approved");
    // The public lookup shows the same, without names or notes.
    let (s, p) = w
        .req(
            "POST",
            "/t/xa-a/api/v1/lookup",
            None,
            Some(json!({ "code": code, "phone": PHONE })),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(statuses(&p["transfers"][0]["progress"]).len(), 7);
    assert!(
        !p.to_string().contains("Đồng ý"),
        "no officer's note in public"
    );
    // The citizen's list holds the dossier once, at the commune.
    let index = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM platform.dossier_index WHERE code = '{code}'"
    ));
    assert_eq!(index, 1);

    // The processing-control record names the department's steps among the ward's own.
    let record = slip_text(w, &code, &desk).await;
    assert!(record.contains("Đơn vị TA"), "{record}");
    assert!(record.contains("Ký duyệt"), "{record}");
    assert!(record.contains("Cơ quan liên thông"), "{record}");

    // Both tenants' statistics: each received and resolved it once.
    for slug in ["xa-a", "tinh-a"] {
        let row = w.db.scalar_i64(&format!(
            "SELECT (sum(s.received) * 10 + sum(s.resolved))::bigint AS n \
             FROM platform.stats_daily s JOIN platform.tenants t ON t.id = s.tenant_id \
             WHERE t.slug = '{slug}' AND s.procedure_code = '{QUICK}'"
        ));
        let expected = if slug == "xa-a" { 2 * 10 + 1 } else { 10 + 1 };
        assert_eq!(row, expected, "{slug}: received×10 + resolved");
    }
    // Nothing personal is left in the shared transfer rows once delivered.
    let payloads = w.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.dossier_transfers WHERE payload <> '{}'::jsonb",
    );
    assert_eq!(payloads, 0);

    // Mail: received, transferred and result ready from the commune; nothing from the province.
    let mut subjects = Vec::new();
    for _ in 0..100 {
        subjects = w.subjects();
        if subjects
            .iter()
            .any(|s| s.contains(&code) && s.contains("đã có kết quả"))
        {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let about = |needle: &str| {
        subjects
            .iter()
            .filter(|s| s.contains(&code) && s.contains(needle))
            .count()
    };
    assert_eq!(about("đã được chuyển đến Đơn vị TA"), 1, "{subjects:?}");
    assert_eq!(
        subjects.iter().filter(|s| s.contains(&code)).count(),
        3,
        "received, transferred, result: {subjects:?}"
    );
}

#[actix_web::test]
async fn a_transfer_to_a_tenant_that_does_not_offer_the_procedure_changes_nothing() {
    let l = liaison(|s| s.dossiers.transfers_in_process = false).await;
    let code = l.at_transfer_step().await;
    let desk = l.desk_token();
    // Withdrawn at the province before the transfer: refused at once, nothing written.
    l.w.db
        .conn()
        .batch_execute(&format!(
            "UPDATE t_tinh_a.procedures SET active = false WHERE code = '{QUICK}'"
        ))
        .unwrap();
    let (_, before) = l.detail("xa-a", &code, &desk).await;
    let (s, b) = l
        .step("xa-a", &code, &desk, json!({ "action": "transfer" }))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (409, Some("transfer_refused")),
        "{b}"
    );
    assert!(
        b["detail"].as_str().unwrap().contains("does not offer"),
        "{b}"
    );
    let (_, after) = l.detail("xa-a", &code, &desk).await;
    assert_eq!(after["version"], before["version"]);
    assert_eq!(l.pending(), 0);

    // Offered when handed over, withdrawn before delivery: the dossier comes back to the
    // transfer step with the reason, and the province holds nothing.
    l.w.db
        .conn()
        .batch_execute(&format!(
            "UPDATE t_tinh_a.procedures SET active = true WHERE code = '{QUICK}'"
        ))
        .unwrap();
    let (s, b) = l
        .step("xa-a", &code, &desk, json!({ "action": "transfer" }))
        .await;
    assert_eq!(s, 200, "{b}");
    l.w.db
        .conn()
        .batch_execute(&format!(
            "UPDATE t_tinh_a.procedures SET active = false WHERE code = '{QUICK}'"
        ))
        .unwrap();
    let out = l.deliver_cli(None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1 transfer(s) delivered"
    );
    assert_eq!(l.rows("t_tinh_a", &code), 0);
    // The refusal travels back as a result.
    let out = l.deliver_cli(None);
    assert!(out.status.success());
    assert_eq!(l.pending(), 0);
    let (_, d) = l.detail("xa-a", &code, &desk).await;
    assert_eq!(d["step"]["code"], "chuyen-tinh");
    assert_eq!(d["step"]["held_elsewhere"], false);
    assert_eq!(d["step"]["actions"], json!(["transfer"]));
    let last = d["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor_role"], "agency");
    assert_eq!(last["details"]["outcome"], "not_accepted");
    assert!(
        last["note"]
            .as_str()
            .unwrap()
            .contains("không còn được cung cấp")
    );
}

#[actix_web::test]
async fn a_delivery_killed_mid_way_leaves_the_dossier_in_exactly_one_place() {
    let l = liaison(|s| s.dossiers.transfers_in_process = false).await;
    let code = l.at_transfer_step().await;
    let desk = l.desk_token();
    let (s, b) = l
        .step("xa-a", &code, &desk, json!({ "action": "transfer" }))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(l.pending(), 1);

    // Killed after the province's copy is written, before its transaction commits.
    let out = l.deliver_cli(Some("transfer.before_commit"));
    assert!(!out.status.success(), "the fault aborts the process");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("transfer.before_commit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Still at the commune (held for the province, on its way), nowhere else.
    assert_eq!(l.rows("t_tinh_a", &code), 0);
    assert_eq!(l.pending(), 1);
    let (_, d) = l.detail("xa-a", &code, &desk).await;
    assert_eq!(d["step"]["held_elsewhere"], true);
    assert!(d["transfers"][0]["delivered_at"].is_null(), "{d}");

    // Restarted: delivered once; again: nothing more.
    let out = l.deliver_cli(None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1 transfer(s) delivered"
    );
    let out = l.deliver_cli(None);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0 transfer(s) delivered"
    );
    assert_eq!(l.rows("t_tinh_a", &code), 1);
    assert_eq!(l.pending(), 0);
    let copied = l.w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.attachments a JOIN t_tinh_a.dossiers d \
         ON d.id = a.dossier_id WHERE d.code = '{code}'"
    ));
    assert_eq!(copied, 1);
    // The aborted attempt's copies are not referenced; the kept one is on disk.
    let key: String = {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct K {
            #[diesel(sql_type = diesel::sql_types::Text)]
            k: String,
        }
        diesel::sql_query(format!(
            "SELECT a.storage_key AS k FROM t_tinh_a.attachments a JOIN t_tinh_a.dossiers d \
             ON d.id = a.dossier_id WHERE d.code = '{code}'"
        ))
        .get_result::<K>(&mut l.w.db.conn())
        .unwrap()
        .k
    };
    assert_eq!(std::fs::read(l.w.storage.join(&key)).unwrap(), PDF);
}

#[actix_web::test]
async fn a_process_declared_through_the_api_is_checked_like_a_file_and_a_bad_one_changes_nothing() {
    let l = liaison(|_| {}).await;
    let w = &l.w;
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    // A new unit, then a rename of it; officers may not.
    let unit = json!({ "code": "phong-moi", "name_vi": "Phòng Mới" });
    let (s, _) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/units",
            Some(&officer),
            Some(unit.clone()),
        )
        .await;
    assert_eq!(s, 403);
    let (s, b) = w
        .req("POST", "/t/tinh-a/api/v1/units", Some(&admin), Some(unit))
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, _) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/units",
            Some(&admin),
            Some(json!({ "code": "phong-moi", "name_vi": "Phòng Mới (đổi tên)" })),
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/units",
            Some(&admin),
            Some(json!({ "code": "Phòng Mới", "name_vi": "" })),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["errors"].as_array().unwrap().len(), 2, "{b}");

    let path = format!("/t/tinh-a/api/v1/procedures/{QUICK}/process");
    let stored = || {
        w.db.scalar_i64(&format!(
            "SELECT coalesce(jsonb_array_length(process->'steps'), 0)::bigint AS n \
             FROM t_tinh_a.procedures WHERE code = '{QUICK}'"
        ))
    };
    assert_eq!(stored(), 4);
    let step = |code: &str, unit: &str, actions: Value, budget: Value| {
        json!({ "code": code, "name_vi": code, "unit": unit, "role": "officer",
                "actions": actions, "budget": budget })
    };
    // Over the 3-day limit, a unit that does not exist, a transfer to a tenant without the
    // procedure: every problem named, nothing stored.
    let mut transfer = step(
        "chuyen",
        "phong-moi",
        json!(["transfer"]),
        json!({ "hours": 4 }),
    );
    transfer["transfer_to"] = json!("tinh-b");
    w.db.conn()
        .batch_execute(&format!(
            "UPDATE t_tinh_b.procedures SET active = false WHERE code = '{QUICK}'"
        ))
        .unwrap();
    let bad = json!({ "process": { "steps": [
        step("tiep-nhan", "mot-cua", json!(["forward"]), json!({ "days": 3 })),
        step("tham-dinh", "phong-khong-co", json!(["forward"]), json!({ "hours": 4 })),
        transfer,
    ] } });
    let (s, b) = w.req("PUT", &path, Some(&admin), Some(bad)).await;
    assert_eq!(s, 422, "{b}");
    let paths: Vec<&str> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/steps/1", "/steps", "/steps/2/transfer_to"], "{b}");
    assert!(b.to_string().contains("vượt thời hạn giải quyết"), "{b}");
    assert_eq!(stored(), 4, "the process before stays");
    // Down the tree (the province into its commune's inbox) is not liên thông.
    let mut down = step(
        "chuyen",
        "mot-cua",
        json!(["transfer"]),
        json!({ "hours": 4 }),
    );
    down["transfer_to"] = json!("xa-a");
    let (s, b) = w
        .req(
            "PUT",
            &path,
            Some(&admin),
            Some(json!({ "process": { "steps": [down] } })),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(b.to_string().contains("neither above this tenant"), "{b}");
    assert_eq!(stored(), 4);
    // Only the tenant's admin declares it.
    let good = json!({ "process": { "steps": [
        step("tiep-nhan", "mot-cua", json!(["forward"]), json!({ "hours": 4 })),
        step("xu-ly", "phong-moi", json!(["decide"]), json!({ "days": 2 })),
    ] } });
    let (s, _) = w
        .req("PUT", &path, Some(&officer), Some(good.clone()))
        .await;
    assert_eq!(s, 403);
    let (s, b) = w.req("PUT", &path, Some(&admin), Some(good)).await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(stored(), 2);
    let (_, p) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/procedures/{QUICK}"),
            None,
            None,
        )
        .await;
    assert_eq!(p["process"]["steps"][1]["unit"], "phong-moi", "{p}");
    // Back to the fixed path.
    let (s, _) = w
        .req("PUT", &path, Some(&admin), Some(json!({ "process": null })))
        .await;
    assert_eq!(s, 204);
    assert_eq!(stored(), 0);
    let audited = w.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.audit_log WHERE action IN \
         ('procedure.process_set', 'unit.created', 'unit.renamed')",
    );
    assert_eq!(audited, 4);
}

#[test]
fn a_file_transferring_to_a_tenant_without_the_procedure_is_refused_at_its_line() {
    let db = crate::common::TestDb::new();
    db.apply_texts(&[("bo.toml", tenant_file("bo", "BO", "ministry", None))]);
    // The commune forwards its quick procedure to `bo`, which does not offer it once it is
    // withdrawn there; and to a tenant that does not exist.
    db.conn()
        .batch_execute(&format!(
            "UPDATE t_bo.procedures SET active = false WHERE code = '{QUICK}'"
        ))
        .unwrap();
    for (target, says) in [
        ("bo", "`bo` does not offer procedure"),
        ("khong-co", "`khong-co` is not a tenant"),
    ] {
        let text = commune_file()
            .replace("parent = \"tinh-a\"\n", "parent = \"bo\"\n")
            .replace(
                "transfer_to = \"tinh-a\"",
                &format!("transfer_to = \"{target}\""),
            );
        let file = dvc::hosting::files::parse(std::path::Path::new("xa-a.toml"), &text).unwrap();
        let line = text
            .lines()
            .position(|l| l == "[procedures.process]")
            .unwrap()
            + 1;
        let err = dvc::hosting::apply::apply_files(&db.pool(1), vec![file]).unwrap_err();
        let problems = err.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(&format!("xa-a.toml:{line}:")),
            "{}",
            problems[0]
        );
        assert!(problems[0].contains(says), "{}", problems[0]);
        assert_eq!(
            db.scalar_i64("SELECT count(*) AS n FROM platform.tenants WHERE slug = 'xa-a'"),
            0,
            "nothing written"
        );
    }
}
