//! Tenancy benchmarks and their set-up, driven by `bench/run.sh`.
//!
//! ```text
//! cargo run --release --example tenancy -- setup <db-url> <tenants> <procedures-per-tenant> [first]
//! cargo run --release --example tenancy -- registry <db-url>          # registry reload, median of 9
//! cargo run --release --example tenancy -- pgbench-script            # the catalog SQL for pgbench
//! cargo run --release --example tenancy -- migrate <db-url>           # one new migration, all tenants
//! cargo run --release --example tenancy -- provision <db-url> <new>   # dvc vs plain SQL
//! ```

#![allow(clippy::unwrap_used)] // a panic here is a failed test or bench, not an outage

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::FileBasedMigrations;
use dvc::config::Settings;
use dvc::db::build_pool_sized;
use dvc::hosting::apply::apply_files;
use dvc::hosting::files;
use dvc::tenancy::migrator::migrate_tenants;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn tenant_file(slug: &str, code: &str, procedures: usize) -> String {
    let mut s = format!(
        "slug = \"{slug}\"\ncode = \"{code}\"\nkind = \"province\"\n\
         name = {{ vi = \"Sở Lao động - Thương binh và Xã hội {code}\" }}\n\n\
         [[fields]]\ncode = \"viec-lam\"\nname = {{ vi = \"Việc làm\", en = \"Employment\" }}\n\n\
         [[fields]]\ncode = \"an-toan-lao-dong\"\nname = {{ vi = \"An toàn, vệ sinh lao động\" }}\n"
    );
    for i in 0..procedures {
        let field = if i % 2 == 0 {
            "viec-lam"
        } else {
            "an-toan-lao-dong"
        };
        s.push_str(&format!(
            "\n[[procedures]]\ncode = \"1.{i:06}\"\nfield = \"{field}\"\n\
             name = {{ vi = \"Cấp giấy phép lao động cho người lao động nước ngoài số {i}\", en = \"Issuing work permits {i}\" }}\n\
             online_level = \"full\"\nprocessing_days = {days}\nfee_vnd = 600000\n\
             documents = [{{ name = \"Văn bản đề nghị\", name_en = \"Application\" }}, {{ name = \"Giấy chứng nhận sức khỏe\" }}]\n",
            days = i % 20 + 3
        ));
    }
    s
}

fn parsed(slug: &str, code: &str, procedures: usize) -> files::TenantFile {
    files::parse(
        Path::new(&format!("{slug}.toml")),
        &tenant_file(slug, code, procedures),
    )
    .expect("generated file is valid")
}

fn settings(url: &str) -> Settings {
    let mut s = Settings::default();
    s.database.url = url.to_owned();
    s
}

/// Tenants `bench-{first}` … `bench-{tenants}` (so a database grows from 1,000 to 10,000
/// without re-applying the first thousand).
fn setup(url: &str, tenants: usize, procedures: usize, first: usize) {
    let pool = build_pool_sized(&settings(url).database, 2);
    let started = Instant::now();
    for chunk in (first..=tenants).collect::<Vec<_>>().chunks(100) {
        let batch = chunk
            .iter()
            .map(|i| parsed(&format!("bench-{i:04}"), &format!("B{i:04}"), procedures))
            .collect();
        apply_files(&pool, batch).expect("apply");
    }
    println!(
        "set up tenants {first}..={tenants} x {procedures} procedures in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// What `dvc serve` pays to load (and every minute reload) the tenant registry.
fn registry(url: &str) {
    let mut conn = PgConnection::establish(url).unwrap();
    let registry = dvc::tenancy::Registry::new();
    let mut times = Vec::new();
    let mut n = 0;
    for _ in 0..9 {
        let t = Instant::now();
        n = registry.reload(&mut conn).expect("reload");
        times.push(t.elapsed());
    }
    println!(
        "registry: {n} tenants loaded, median {:.1} ms",
        median(times).as_secs_f64() * 1e3
    );
}

fn pgbench_script() {
    let sql = dvc::services::catalog::store::PAGE_SQL
        .replace("$1", "NULL")
        .replace("$2", "NULL")
        .replace("$3", "20")
        .replace("$4", "0")
        .replace('\n', " ");
    println!("\\set n random(1, :tenants)");
    println!("BEGIN;");
    // `bench-{i:04}` is at least four digits: bench-0001 … bench-9999, bench-10000.
    println!(
        "SELECT set_config('search_path', 't_bench_' || lpad(:n::text, greatest(4, length(:n::text)), '0'), true);"
    );
    println!("{sql};");
    println!("COMMIT;");
}

fn extra_migrations() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dvc-bench-migrations-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for entry in std::fs::read_dir("migrations/tenant").expect("run from the repository root") {
        let entry = entry.unwrap();
        let to = dir.join(entry.file_name());
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(entry.path()).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
    }
    let extra = dir.join("2099-01-01-000001_bench_column");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(
        extra.join("up.sql"),
        "ALTER TABLE procedures ADD COLUMN bench_note text;\n\
         CREATE INDEX procedures_bench_note_idx ON procedures (bench_note);",
    )
    .unwrap();
    std::fs::write(
        extra.join("down.sql"),
        "ALTER TABLE procedures DROP COLUMN bench_note;",
    )
    .unwrap();
    dir
}

fn migrate(url: &str, concurrency: usize) {
    let dir = extra_migrations();
    let started = Instant::now();
    let report = migrate_tenants(url, concurrency, || {
        FileBasedMigrations::from_path(&dir).unwrap()
    })
    .expect("migrate");
    let elapsed = started.elapsed();
    let applied: usize = report.tenants.iter().map(|t| t.applied).sum();
    println!(
        "migrate: {} tenants, {applied} migrations applied, {} failed, concurrency {concurrency}, {:.2} s",
        report.tenants.len(),
        report.failed().count(),
        elapsed.as_secs_f64()
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn provision(url: &str, new: usize, procedures: usize) {
    let pool = build_pool_sized(&settings(url).database, 2);
    let existing: i64 = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM platform.tenants)",
    ))
    .get_result::<i64>(&mut **pool.get().unwrap())
    .unwrap();
    // What provisioning runs, sent as plain SQL: the squashed tenant baseline.
    let tenant_ddl = std::fs::read_to_string("migrations/tenant_baseline.sql")
        .expect("run from the repository root");
    let mut dvc_times = Vec::new();
    let mut sql_times = Vec::new();
    let mut conn = PgConnection::establish(url).unwrap();
    // Alternate blocks of ten, so neither side always meets a warmer or larger catalog.
    for block in (0..new).collect::<Vec<_>>().chunks(10) {
        // Numbered after the existing tenants, so a rerun provisions new ones again.
        let files = block
            .iter()
            .map(|i| {
                let n = existing as usize + i;
                parsed(&format!("prov-{n:07}"), &format!("P{n:07}"), procedures)
            })
            .collect();
        let report = apply_files(&pool, files).expect("provision");
        dvc_times.extend(report.tenants.iter().map(|t| t.elapsed));
        for i in block {
            // The same tables and indexes provisioning leaves in the schema: the tenant tables
            // and diesel's ledger (without its rows, the registry rows or the catalog).
            let t = Instant::now();
            conn.batch_execute(&format!(
                "BEGIN; CREATE SCHEMA plain_{i:04}; SET LOCAL search_path TO plain_{i:04}; {tenant_ddl} {}; COMMIT;",
                diesel::migration::CREATE_MIGRATIONS_TABLE
            ))
            .expect("plain SQL");
            sql_times.push(t.elapsed());
        }
    }
    for i in 0..new {
        conn.batch_execute(&format!("DROP SCHEMA plain_{i:04} CASCADE"))
            .unwrap();
    }
    let (d, s) = (median(dvc_times), median(sql_times));
    println!(
        "provision: {new} new tenants at {existing} existing: dvc median {:.1} ms (schema + migrations + registry + {procedures} procedures), plain SQL median {:.1} ms (schema + the same tables and indexes, ledger included), ratio {:.2}",
        d.as_secs_f64() * 1e3,
        s.as_secs_f64() * 1e3,
        d.as_secs_f64() / s.as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let num = |i: usize, default: usize| arg(i).parse().unwrap_or(default);
    match arg(0).as_str() {
        "setup" => setup(&arg(1), num(2, 1000), num(3, 20), num(4, 1)),
        "registry" => registry(&arg(1)),
        "pgbench-script" => pgbench_script(),
        "migrate" => migrate(&arg(1), num(2, 4)),
        "provision" => provision(&arg(1), num(2, 100), num(3, 20)),
        _ => eprintln!("usage: see the comment at the top of bench/tenancy.rs"),
    }
}
