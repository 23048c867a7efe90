//! Tenant schema migrations: provisioning at the current version, a broken tenant that does not
//! stop the others, resuming after the fix, and the CLI's exit status.

use crate::common::{TestDb, tenant_toml};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use dvc::tenancy::migrator::migrate_tenants;
use dvc::tenancy::provision::TENANT_MIGRATIONS;
use std::path::PathBuf;

fn latest_embedded_version() -> String {
    let mut versions: Vec<String> =
        diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&TENANT_MIGRATIONS)
            .unwrap()
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
    versions.sort();
    versions.pop().unwrap()
}

fn state(db: &TestDb, slug: &str) -> (String, Option<String>, Option<String>, i32) {
    use dvc::db::schema::{tenant_schema_state as s, tenants as t};
    t::table
        .inner_join(s::table)
        .filter(t::slug.eq(slug))
        .select((s::status, s::version, s::error, s::attempts))
        .first(&mut db.conn())
        .unwrap()
}

#[test]
fn a_new_tenant_lands_at_the_current_version() {
    let db = TestDb::new();
    db.apply_two(2, 1);
    let latest = latest_embedded_version();
    for slug in ["alpha", "beta"] {
        let (status, version, error, _) = state(&db, slug);
        assert_eq!(status, "ok");
        assert_eq!(version.as_deref(), Some(latest.as_str()));
        assert_eq!(error, None);
    }
    // The ledger lives in the tenant schema and holds every migration.
    let ledger = db.scalar_i64("SELECT count(*) AS n FROM t_alpha.__diesel_schema_migrations");
    let embedded =
        diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&TENANT_MIGRATIONS)
            .unwrap()
            .len() as i64;
    assert_eq!(ledger, embedded);
    // No foreign key leaves the tenant schema.
    let crossing = db.scalar_i64(
        "SELECT count(*) AS n FROM pg_constraint c
         JOIN pg_class src ON src.oid = c.conrelid JOIN pg_namespace sn ON sn.oid = src.relnamespace
         JOIN pg_class dst ON dst.oid = c.confrelid JOIN pg_namespace dn ON dn.oid = dst.relnamespace
         WHERE c.contype = 'f' AND sn.nspname <> dn.nspname",
    );
    assert_eq!(crossing, 0);
}

/// A migrations folder holding the real tenant migrations plus one new migration.
fn migrations_with_extra() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dvc-migrations-{}", uuid::Uuid::new_v4()));
    let src = PathBuf::from("migrations/tenant");
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        let to = dir.join(entry.file_name());
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(entry.path()).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
    }
    let extra = dir.join("2099-01-01-000001_dossier_notes");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(
        extra.join("up.sql"),
        "CREATE TABLE dossier_notes (id bigint PRIMARY KEY, body text NOT NULL);",
    )
    .unwrap();
    std::fs::write(extra.join("down.sql"), "DROP TABLE dossier_notes;").unwrap();
    dir
}

#[test]
fn one_broken_tenant_does_not_stop_the_others_and_a_rerun_resumes() {
    let db = TestDb::new();
    db.apply_texts(&[
        ("alpha.toml", tenant_toml("alpha", "ALPHA", 1)),
        ("beta.toml", tenant_toml("beta", "BETA", 1)),
        ("gamma.toml", tenant_toml("gamma", "GAMMA", 1)),
    ]);
    // Break beta: the new migration's table already exists there.
    db.conn()
        .batch_execute("CREATE TABLE t_beta.dossier_notes (x int)")
        .unwrap();
    let dir = migrations_with_extra();
    let source = || FileBasedMigrations::from_path(&dir).unwrap();

    let report = migrate_tenants(&db.url, 2, source).unwrap();
    assert!(!report.is_success());
    let failed: Vec<_> = report
        .failed()
        .map(|t| t.slug.as_str().to_owned())
        .collect();
    assert_eq!(failed, vec!["beta"]);
    for t in &report.tenants {
        if t.slug.as_str() != "beta" {
            assert_eq!(t.applied, 1, "{}", t.slug);
            assert_eq!(
                t.result.as_ref().unwrap().as_deref(),
                Some("20990101000001")
            );
        }
    }
    let (status, version, error, attempts) = state(&db, "beta");
    assert_eq!(status, "failed");
    assert_ne!(version.as_deref(), Some("20990101000001"));
    assert!(error.unwrap().contains("dossier_notes"));
    assert_eq!(attempts, 1);
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 't_gamma' AND table_name = 'dossier_notes'"),
        1
    );

    // Fix and rerun: beta catches up, the others have nothing left to do.
    db.conn()
        .batch_execute("DROP TABLE t_beta.dossier_notes")
        .unwrap();
    let report = migrate_tenants(&db.url, 2, source).unwrap();
    assert!(report.is_success(), "{report:?}");
    for t in &report.tenants {
        let expected = if t.slug.as_str() == "beta" { 1 } else { 0 };
        assert_eq!(t.applied, expected, "{}", t.slug);
    }
    let (status, version, error, attempts) = state(&db, "beta");
    assert_eq!(
        (status.as_str(), version.as_deref(), error, attempts),
        ("ok", Some("20990101000001"), None, 0)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn cli_migrate_reports_a_broken_tenant_and_exits_non_zero() {
    let db = TestDb::new();
    db.apply_texts(&[
        ("alpha.toml", tenant_toml("alpha", "ALPHA", 1)),
        ("beta.toml", tenant_toml("beta", "BETA", 1)),
    ]);
    // Beta forgets its history: its first migration will collide with the existing tables.
    db.conn()
        .batch_execute("DELETE FROM t_beta.__diesel_schema_migrations")
        .unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_dvc"))
            .arg("migrate")
            .env("DVC__DATABASE__URL", &db.url)
            .env("DVC__LOG__FILTER", "off")
            .env("DVC_CONFIG_DIR", "/nonexistent")
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("beta") && stdout.contains("FAILED"),
        "{stdout}"
    );
    assert!(stdout.contains("1 ok, 1 failed"), "{stdout}");

    // Restore beta's ledger by hand, as an operator would after investigating; rerun is green.
    let mut conn = db.conn();
    conn.batch_execute("SET search_path TO t_beta").unwrap();
    conn.run_pending_migrations(TENANT_MIGRATIONS).unwrap_err();
    for m in diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&TENANT_MIGRATIONS)
        .unwrap()
    {
        diesel::sql_query("INSERT INTO t_beta.__diesel_schema_migrations (version) VALUES ($1)")
            .bind::<diesel::sql_types::Text, _>(m.name().version().to_string())
            .execute(&mut conn)
            .unwrap();
    }
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 ok, 0 failed"));
}

/// Everything that defines a schema's shape, with the schema name blanked out.
fn describe(db: &TestDb, schema: &str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }
    let sql = "
        SELECT format('column %s.%s %s %s %s %s', table_name, column_name, ordinal_position,
                      data_type, is_nullable, coalesce(column_default, '-')) AS line
        FROM information_schema.columns WHERE table_schema = $1
        UNION ALL
        SELECT format('index %s %s', indexname, replace(indexdef, $1 || '.', '')) FROM pg_indexes
        WHERE schemaname = $1
        UNION ALL
        SELECT format('constraint %s %s %s', cl.relname, c.conname, pg_get_constraintdef(c.oid))
        FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = $1
        UNION ALL
        SELECT format('trigger %s %s', t.tgname, pg_get_triggerdef(t.oid))
        FROM pg_trigger t JOIN pg_class cl ON cl.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal
        UNION ALL
        SELECT format('function %s %s', p.proname, md5(p.prosrc))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1
        UNION ALL
        SELECT format('sequence %s %s %s %s', sequence_name, data_type, start_value, increment)
        FROM information_schema.sequences WHERE sequence_schema = $1
        ORDER BY 1";
    let mut conn = db.conn();
    let mut lines: Vec<String> = diesel::sql_query(sql)
        .bind::<diesel::sql_types::Text, _>(schema)
        .load::<Line>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|l| l.line.replace(&format!("{schema}."), ""))
        .collect();
    let ledger: Vec<Line> = diesel::sql_query(format!(
        "SELECT 'ledger ' || version AS line FROM {schema}.__diesel_schema_migrations ORDER BY version"
    ))
    .load(&mut conn)
    .unwrap();
    lines.extend(ledger.into_iter().map(|l| l.line));
    lines
}

#[test]
fn the_baseline_builds_exactly_what_migrating_from_zero_builds() {
    use dvc::tenancy::TenantSlug;
    use dvc::tenancy::provision::{create_tenant_schema, create_tenant_schema_by_migrating};
    let db = TestDb::new();
    let baseline = TenantSlug::parse("by-baseline").unwrap().schema_name();
    let migrated = TenantSlug::parse("by-migrating").unwrap().schema_name();
    let mut conn = db.conn();
    let (v1, v2) = conn
        .transaction(|conn| {
            let v1 = create_tenant_schema(conn, &baseline).unwrap();
            let v2 = create_tenant_schema_by_migrating(conn, &migrated, TENANT_MIGRATIONS).unwrap();
            Ok::<_, diesel::result::Error>((v1, v2))
        })
        .unwrap();
    assert_eq!(v1, v2);
    assert_eq!(v1.as_deref(), Some(latest_embedded_version().as_str()));
    let a = describe(&db, baseline.as_str());
    let b = describe(&db, migrated.as_str());
    assert!(a.len() > 10, "{a:?}");
    assert!(
        a.iter()
            .any(|l| l.starts_with("column procedures.search_text"))
    );
    assert_eq!(a, b);
}

/// `dvc migrate` with `tty` as its terminal or not: (stdout, stderr, success). On a terminal
/// it runs inside `script`, which gives it a pseudo-terminal and copies what it drew.
fn migrate_cli(db: &TestDb, tty: bool) -> (String, String, bool) {
    let dvc = env!("CARGO_BIN_EXE_dvc");
    let mut cmd = if tty {
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &format!("{dvc} migrate"), "/dev/null"]);
        c
    } else {
        let mut c = std::process::Command::new(dvc);
        c.arg("migrate");
        c
    };
    let out = cmd
        .env("DVC__DATABASE__URL", &db.url)
        .env("DVC__LOG__FILTER", "off")
        .env("DVC_CONFIG_DIR", "/nonexistent")
        .env("TERM", "xterm")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn migrate_draws_progress_on_a_terminal_and_prints_one_line_elsewhere() {
    let db = TestDb::new();
    let texts: Vec<(String, String)> = (0..12)
        .map(|i| {
            let slug = format!("tinh-{i:02}");
            let code = format!("T{i:02}");
            (format!("{slug}.toml"), tenant_toml(&slug, &code, 1))
        })
        .collect();
    let texts: Vec<(&str, String)> = texts.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    db.apply_texts(&texts);

    let (out, err, ok) = migrate_cli(&db, false);
    assert!(ok, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one summary line off a terminal: {out}");
    assert!(
        lines[0].starts_with("migrated:") && lines[0].contains("12 tenant(s): 12 ok, 0 failed"),
        "{out}"
    );
    assert!(
        !err.contains('\u{1b}') && !err.contains('\r'),
        "no bar drawn into a pipe: {err:?}"
    );

    let (shown, _, ok) = migrate_cli(&db, true);
    assert!(ok, "{shown}");
    assert!(
        shown.contains("tenants") && shown.contains("/12"),
        "a bar with done/total on a terminal: {shown:?}"
    );
    assert!(shown.contains("12 tenant(s): 12 ok, 0 failed"), "{shown}");
}
