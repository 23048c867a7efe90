//! `dvc tenant apply`: the demo tenants, idempotence, never destroying, and bad files that
//! write nothing.

use crate::common::{TestDb, tenant_toml};
use std::path::{Path, PathBuf};

fn temp_dir(files: &[(&str, String)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dvc-tenants-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

fn dvc(db: &TestDb, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dvc"))
        .args(args)
        .env("DVC__DATABASE__URL", &db.url)
        .env("DVC__REDIS__PREFIX", &db.name)
        .env("DVC__LOG__FILTER", "off")
        .env("DVC_CONFIG_DIR", "/nonexistent")
        .output()
        .unwrap()
}

#[test]
fn demo_tenants_apply_and_reapply_idempotently() {
    let db = TestDb::new();
    let first = db.apply_dir(Path::new("tenants"));
    assert_eq!(first.tenants.len(), 6);
    // Parents first.
    assert_eq!(first.tenants[0].slug.as_str(), "molisa");
    let count = |sql: &str| db.scalar_i64(sql);
    let tenants = count("SELECT count(*) AS n FROM platform.tenants");
    let children = count("SELECT count(*) AS n FROM platform.tenants WHERE parent_id IS NOT NULL");
    let hn = count("SELECT count(*) AS n FROM t_ha_noi.procedures");
    assert_eq!((tenants, children), (6, 5));
    // The demo commune's units and its procedure's declared process.
    assert_eq!(
        count("SELECT count(*) AS n FROM t_phuong_ba_dinh.agencies"),
        4
    );
    assert_eq!(
        count(
            "SELECT jsonb_array_length(process->'steps')::bigint AS n \
             FROM t_phuong_ba_dinh.procedures WHERE code = '2.000286'"
        ),
        4
    );
    assert!(hn >= 5);
    let second = db.apply_dir(Path::new("tenants"));
    assert!(
        second
            .tenants
            .iter()
            .all(|t| t.action == dvc::hosting::apply::ApplyAction::Updated)
    );
    assert_eq!(count("SELECT count(*) AS n FROM platform.tenants"), tenants);
    assert_eq!(count("SELECT count(*) AS n FROM t_ha_noi.procedures"), hn);
    assert_eq!(
        count("SELECT count(*) AS n FROM pg_namespace WHERE nspname LIKE 't\\_%'"),
        6
    );
}

#[test]
fn a_child_inherits_its_parents_procedures_with_its_own_fee_and_time() {
    let db = TestDb::new();
    db.apply_dir(Path::new("tenants"));
    // The demo city adopts one of the ministry's procedures with its own time limit.
    let row = |sql: &str| db.scalar_i64(sql);
    assert_eq!(
        row(
            "SELECT processing_days::int8 AS n FROM t_ho_chi_minh.procedures WHERE code = '1.000454'"
        ),
        15
    );
    assert_eq!(
        row("SELECT processing_days::int8 AS n FROM t_molisa.procedures WHERE code = '1.000454'"),
        20
    );
    assert_eq!(
        row("SELECT count(*) AS n FROM t_ho_chi_minh.procedures WHERE inherited_from = 'molisa'"),
        7
    );
    // The ministry's work-permit templates: not offered by the ministry, adopted by both
    // provinces with their own fee per worker and their own documents after the template's.
    assert_eq!(
        row("SELECT count(*) AS n FROM t_molisa.procedures WHERE template AND NOT active"),
        6
    );
    let per_worker = |schema: &str| {
        row(&format!(
            "SELECT (fee_rule::jsonb->'per_item'->>'amount_vnd')::bigint AS n \
             FROM {schema}.procedures WHERE code = '1.000105'"
        ))
    };
    assert_eq!(
        (
            per_worker("t_molisa"),
            per_worker("t_ha_noi"),
            per_worker("t_ho_chi_minh")
        ),
        (600_000, 400_000, 600_000)
    );
    assert_eq!(
        row(
            "SELECT count(*) AS n FROM t_ha_noi.procedures, jsonb_array_elements(documents) d \
             WHERE code = '1.000105' AND (d->>'local')::bool"
        ),
        1
    );
    // Their forms, written in the file as strings of JSON, are stored as the objects they hold.
    assert_eq!(
        row("SELECT count(*) AS n FROM t_molisa.procedures \
             WHERE template AND jsonb_typeof(form_schema::jsonb) = 'object' \
             AND form_schema::jsonb->'properties' ? 'nguoi_lao_dong'"),
        6
    );
    // A code the parent does not offer is an error naming it, and writes nothing for the child.
    let bad = crate::common::tenant_toml("con", "CON", 1).replace(
        "kind = \"province\"\n",
        "kind = \"province\"\nparent = \"molisa\"\n",
    ) + "\n[[inherit]]\ncode = \"9.999999\"\nfee_vnd = 1\n";
    let parsed = dvc::hosting::files::parse(Path::new("con.toml"), &bad).unwrap();
    let err = dvc::hosting::apply::apply_files(&db.pool(1), vec![parsed]).unwrap_err();
    assert!(err.to_string().contains("9.999999"), "{err}");
    assert_eq!(
        row("SELECT count(*) AS n FROM platform.tenants WHERE slug = 'con'"),
        0
    );
    // Inheriting without a parent is refused when the file is checked.
    let orphan =
        crate::common::tenant_toml("mo-coi", "MOC", 1) + "\n[[inherit]]\ncode = \"1.000454\"\n";
    let parsed = dvc::hosting::files::parse(Path::new("mo-coi.toml"), &orphan).unwrap();
    let err = dvc::hosting::apply::apply_files(&db.pool(1), vec![parsed]).unwrap_err();
    assert!(
        err.problems()
            .iter()
            .any(|p| p.contains("without a parent")),
        "{err}"
    );
}

#[test]
fn apply_never_destroys_and_updates_in_place() {
    let db = TestDb::new();
    db.apply_two(5, 4);
    let fewer = tenant_toml("alpha", "ALPHA", 2).replace("Sở thử nghiệm ALPHA", "Sở đổi tên ALPHA");
    db.apply_texts(&[("alpha.toml", fewer)]);
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM t_alpha.procedures"),
        5
    );
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.tenants WHERE name_vi = 'Sở đổi tên ALPHA'"
        ),
        1
    );
    // The other tenant is untouched.
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM t_beta.procedures"),
        4
    );
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.tenants WHERE name_vi = 'Sở thử nghiệm BETA'"
        ),
        1
    );
}

#[test]
fn a_bad_file_is_located_and_nothing_is_written() {
    let db = TestDb::new();
    let good = tenant_toml("alpha", "ALPHA", 2);
    let bad = tenant_toml("beta", "BETA", 2)
        .replace("online_level = \"full\"", "online_level = \"muc-do-7\"");
    let dir = temp_dir(&[("alpha.toml", good), ("beta.toml", bad)]);
    let out = dvc(&db, &["tenant", "apply", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let expected = format!("{}:", dir.join("beta.toml").display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(
        stderr.contains("unknown online level `muc-do-7`"),
        "{stderr}"
    );
    // Line of the first procedure's online_level in the generated file.
    let line = tenant_toml("beta", "BETA", 2)
        .lines()
        .position(|l| l.starts_with("online_level"))
        .unwrap()
        + 1;
    assert!(stderr.contains(&format!("beta.toml:{line}:")), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.tenants"),
        0
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM pg_namespace WHERE nspname LIKE 't\\_%'"),
        0
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn injection_through_tenant_files_is_refused() {
    let db = TestDb::new();
    let cases = [
        tenant_toml("alpha", "ALPHA", 1).replace(
            "slug = \"alpha\"",
            "slug = \"alpha\\\"; DROP SCHEMA platform CASCADE; --\"",
        ),
        tenant_toml("alpha", "ALPHA", 1).replace("slug = \"alpha\"", "slug = \"t_alpha\""),
        tenant_toml("alpha", "ALPHA", 1).replace(
            "kind = \"province\"",
            "kind = \"province\"\nparent = \"../x\"",
        ),
        tenant_toml("alpha", "ALPHA", 1)
            .replace("domains = [", "domains = [\"evil.gov.vn\\r\\nX: y\", "),
        tenant_toml("alpha", "ALPHA", 1).replace(
            "[[fields]]",
            "[branding]\nlogo = \"../../etc/passwd.png\"\n\n[[fields]]",
        ),
    ];
    for text in cases {
        let dir = temp_dir(&[("alpha.toml", text)]);
        let out = dvc(&db, &["tenant", "apply", dir.to_str().unwrap()]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("alpha.toml:"));
        std::fs::remove_dir_all(dir).unwrap();
    }
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.tenants"),
        0
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'platform'"),
        1
    );
}

#[test]
fn cli_lists_suspends_and_resumes() {
    let db = TestDb::new();
    db.apply_two(1, 1);
    let out = dvc(&db, &["tenant", "suspend", "alpha"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = String::from_utf8_lossy(&dvc(&db, &["tenant", "list"]).stdout).to_string();
    assert!(
        list.lines()
            .any(|l| l.starts_with("alpha") && l.contains("suspended")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("beta") && l.contains("active")),
        "{list}"
    );
    assert!(dvc(&db, &["tenant", "resume", "alpha"]).status.success());
    let list = String::from_utf8_lossy(&dvc(&db, &["tenant", "list"]).stdout).to_string();
    assert!(
        list.lines()
            .any(|l| l.starts_with("alpha") && l.contains("active")),
        "{list}"
    );
    let out = dvc(&db, &["tenant", "suspend", "Nope;drop"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid tenant slug"));
    let out = dvc(&db, &["tenant", "suspend", "nobody"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tenant `nobody`"));
}

#[test]
fn applying_registers_each_tenant_portal_as_a_client() {
    let db = TestDb::new();
    let dir = temp_dir(&[
        ("alpha.toml", tenant_toml("alpha", "ALPHA", 1)),
        ("beta.toml", tenant_toml("beta", "BETA", 1)),
    ]);
    let out = dvc(&db, &["tenant", "apply", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use diesel::prelude::*;
    use dvc::db::schema::oauth_clients as c;
    let (uris, returns, in_process): (Vec<String>, Vec<String>, bool) = c::table
        .find("portal-alpha")
        .select((
            c::redirect_uris,
            c::post_logout_redirect_uris,
            c::in_process_only,
        ))
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(
        uris,
        [
            "http://alpha.localhost:8080/auth/callback",
            "http://dichvucong.alpha.gov.vn:8080/auth/callback",
        ]
    );
    // The sign-out page is where a logout returns, never where a code is sent.
    assert_eq!(
        returns,
        [
            "http://alpha.localhost:8080/da-dang-xuat",
            "http://dichvucong.alpha.gov.vn:8080/da-dang-xuat"
        ]
    );
    assert!(in_process, "a portal redeems its codes inside dvc only");
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.oauth_clients"),
        2
    );
    // Idempotent.
    assert!(
        dvc(&db, &["tenant", "apply", dir.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.oauth_clients"),
        2
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn dry_run_prints_what_would_change_and_writes_nothing() {
    let db = TestDb::new();
    db.apply_dir(Path::new("tenants"));
    let mut files: Vec<(&str, String)> = Vec::new();
    for name in [
        "molisa.toml",
        "molisa-dolab.toml",
        "molisa-dosh.toml",
        "ha-noi.toml",
        "ho-chi-minh.toml",
    ] {
        files.push((
            name,
            std::fs::read_to_string(Path::new("tenants").join(name)).unwrap(),
        ));
    }
    // Hà Nội: a new fee, a new domain, a new procedure; and a province that does not exist yet.
    let hn = &mut files[3].1;
    *hn = hn
        .replacen(
            "code = \"1.000459\"\nfee_per_item_vnd = 300000",
            "code = \"1.000459\"\nfee_per_item_vnd = 350000",
            1,
        )
        .replacen(
            "domains = [\"dichvucong.ldtbxh.hanoi.gov.vn\"]",
            "domains = [\"dichvucong.ldtbxh.hanoi.gov.vn\", \"dvc.hanoi.gov.vn\"]",
            1,
        )
        + "\n[[procedures]]\ncode = \"9.000001\"\nfield = \"viec-lam\"\n\
           name = { vi = \"Thủ tục mới thử nghiệm\" }\nonline_level = \"partial\"\nprocessing_days = 3\n";
    // TP.HCM adopts the ministry's procedure with a shorter time limit than before.
    files[4].1 = files[4]
        .1
        .replacen("processing_days = 15", "processing_days = 10", 1);
    files.push(("quang-ninh.toml", tenant_toml("quang-ninh", "QNI", 2)));
    let dir = temp_dir(&files);
    let out = dvc(
        &db,
        &["tenant", "apply", dir.to_str().unwrap(), "--dry-run"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |slug: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(slug) && l[slug.len()..].starts_with(' '))
            .map(|l| l.split_whitespace().last().unwrap().to_owned())
    };
    assert_eq!(line("molisa").as_deref(), Some("unchanged"), "{stdout}");
    assert_eq!(
        line("molisa-dosh").as_deref(),
        Some("unchanged"),
        "{stdout}"
    );
    assert_eq!(line("ho-chi-minh").as_deref(), Some("update"), "{stdout}");
    assert!(
        stdout.contains("~ adopted procedure 1.000454 processing_days: 15 → 10"),
        "{stdout}"
    );
    assert_eq!(line("ha-noi").as_deref(), Some("update"), "{stdout}");
    assert_eq!(line("quang-ninh").as_deref(), Some("create"), "{stdout}");
    assert!(
        stdout.contains("~ adopted procedure 1.000459 fee_per_item_vnd: 300000 → 350000"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("1.000459 definition"),
        "the tenant's own amount is not a change at the parent: {stdout}"
    );
    assert!(stdout.contains("+ domain dvc.hanoi.gov.vn"), "{stdout}");
    assert!(
        stdout.contains("+ procedure 9.000001 Thủ tục mới thử nghiệm"),
        "{stdout}"
    );
    // Nothing was written.
    assert_eq!(
        db.scalar_i64(
            "SELECT (fee_rule::jsonb->'per_item'->>'amount_vnd')::bigint AS n \
             FROM t_ha_noi.procedures WHERE code = '1.000459'"
        ),
        300000
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.tenants WHERE slug = 'quang-ninh'"),
        0
    );
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.tenant_domains WHERE domain = 'dvc.hanoi.gov.vn'"
        ),
        0
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_tenant_file_with_onboarding_creates_a_draft_and_invites_its_admin_once() {
    let db = TestDb::new();
    let draft = format!(
        "{}\n[onboarding]\nadmin_email = \"quantri@gamma.gov.vn\"\n",
        tenant_toml("gamma", "GAMMA", 1)
    );
    let bad = format!(
        "{}\n[onboarding]\nadmin_email = \"not an address\"\n",
        tenant_toml("delta", "DELTA", 1)
    );
    let refused = dvc(
        &db,
        &[
            "tenant",
            "apply",
            temp_dir(&[("delta.toml", bad)]).to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("delta.toml"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.tenants"),
        0
    );

    let dir = temp_dir(&[("gamma.toml", draft)]);
    for _ in 0..2 {
        let out = dvc(&db, &["tenant", "apply", dir.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.tenants WHERE slug = 'gamma' AND status = 'draft' \
             AND live_at IS NULL"
        ),
        1
    );
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.invitations WHERE email = 'quantri@gamma.gov.vn' \
             AND role = 'tenant_admin'"
        ),
        1,
        "invited once, not on every apply"
    );
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.outbox WHERE template = 'tenant_invitation' \
             AND recipient = 'quantri@gamma.gov.vn'"
        ),
        1
    );
    // The operator can invite again (an invitation expired), and a bad role is refused.
    let out = dvc(
        &db,
        &[
            "tenant",
            "invite",
            "gamma",
            "--email",
            "canbo@gamma.gov.vn",
            "--role",
            "officer",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = dvc(
        &db,
        &[
            "tenant",
            "invite",
            "gamma",
            "--email",
            "x@gamma.gov.vn",
            "--role",
            "king",
        ],
    );
    assert!(!out.status.success());
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.invitations"),
        2
    );
}

#[test]
fn the_cli_exports_imports_archives_purges_and_reports_usage() {
    let db = TestDb::new();
    db.apply_two(2, 1);
    let storage = std::env::temp_dir().join(format!("dvc-cli-storage-{}", uuid::Uuid::new_v4()));
    let with_storage = |db: &TestDb, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dvc"))
            .args(args)
            .env("DVC__DATABASE__URL", &db.url)
            .env("DVC__REDIS__PREFIX", &db.name)
            .env("DVC__LOG__FILTER", "off")
            .env("DVC_CONFIG_DIR", "/nonexistent")
            .env("DVC__DOSSIERS__STORAGE_ROOT", &storage)
            .env(
                "DVC__AUTH__MASTER_KEY",
                "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
            )
            .output()
            .unwrap()
    };
    let archive = std::env::temp_dir().join(format!("dvc-cli-archive-{}", uuid::Uuid::new_v4()));
    let out = with_storage(
        &db,
        &["tenant", "export", "alpha", archive.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    let checksum = printed
        .lines()
        .find_map(|l| l.strip_prefix("manifest sha256 "))
        .expect("the manifest's checksum is printed")
        .to_owned();
    // Into another deployment: a wrong checksum is refused, the printed one accepted.
    let other = TestDb::new();
    let dir = archive.to_str().unwrap();
    let refused = with_storage(&other, &["tenant", "import", dir, "--checksum", "00"]);
    assert!(!refused.status.success());
    let out = with_storage(&other, &["tenant", "import", dir, "--checksum", &checksum]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        other.scalar_i64("SELECT count(*) AS n FROM t_alpha.procedures"),
        db.scalar_i64("SELECT count(*) AS n FROM t_alpha.procedures")
    );

    // Archive with no grace, then purge: gone here, audited.
    let kept = std::env::temp_dir().join(format!("dvc-cli-archive-{}", uuid::Uuid::new_v4()));
    let out = with_storage(
        &db,
        &[
            "tenant",
            "archive",
            "beta",
            "--export-to",
            kept.to_str().unwrap(),
            "--grace-days",
            "0",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dry = with_storage(&db, &["tenant", "purge", "--dry-run"]);
    assert!(String::from_utf8_lossy(&dry.stdout).contains("beta: would be purged"));
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.tenants WHERE slug = 'beta'"),
        1
    );
    assert!(with_storage(&db, &["tenant", "purge"]).status.success());
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.tenants WHERE slug = 'beta'"),
        0
    );
    for action in [
        "operator.tenant_exported",
        "operator.tenant_archived",
        "operator.tenant_purged",
    ] {
        assert!(
            db.scalar_i64(&format!(
                "SELECT count(*) AS n FROM platform.audit_log WHERE action = '{action}'"
            )) >= 1,
            "{action}"
        );
    }

    // The usage report: a header and a line per tenant left.
    let csv = with_storage(&db, &["usage", "--csv"]);
    assert!(csv.status.success());
    let csv = String::from_utf8_lossy(&csv.stdout).to_string();
    assert!(csv.starts_with("tenant,month,dossiers_submitted"), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("alpha,")), "{csv}");
    assert!(!csv.lines().any(|l| l.starts_with("beta,")), "{csv}");
    assert!(
        !with_storage(&db, &["usage", "--month", "2026-13"])
            .status
            .success()
    );
    for d in [archive, kept, storage] {
        let _ = std::fs::remove_dir_all(d);
    }
}
