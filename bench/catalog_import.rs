//! Catalog import (issue 20): how long a tenant admin waits for the national database's list
//! of 300 procedures to be planned (dry run) and imported, through the use case the API, the
//! admin page and `dvc tenant import-catalog` share (read the file, check every row, plan
//! against the catalog, write in one transaction with versions and audit). Each round imports
//! into a fresh tenant (everything is created), then the same file again (everything
//! unchanged), then a file with every fee changed (everything updated).
//!
//! ```text
//! bench/catalog_import.sh                                   # creates the database, then:
//! cargo run --release --example catalog_import -- <rows> <rounds> <csv-out>
//! ```
//! Settings come from the environment (`DVC__DATABASE__URL` of a migrated database).

#![allow(clippy::unwrap_used)] // a panic here is a failed test or bench, not an outage

use dvc::config::Settings;
use dvc::db::build_pool_sized;
use dvc::hosting::apply::apply_files;
use dvc::hosting::files;
use std::path::Path;
use std::time::{Duration, Instant};

/// A national-database-like list (Vietnamese headers, semicolons, multi-line cells).
fn sample(rows: usize, fee_step: u32) -> String {
    let mut out = String::from(
        "Mã thủ tục;Tên thủ tục;Lĩnh vực;Mức độ;Thời hạn giải quyết;Phí, lệ phí;Căn cứ pháp lý;Thành phần hồ sơ;Yêu cầu, điều kiện\n",
    );
    for i in 0..rows {
        let field = [
            "Việc làm",
            "Bảo trợ xã hội",
            "An toàn, vệ sinh lao động",
            "Người có công",
        ][i % 4];
        let level = if i % 2 == 0 {
            "Toàn trình"
        } else {
            "Một phần"
        };
        out.push_str(&format!(
            "1.{i:06};Thủ tục số {i} thuộc lĩnh vực {field}, cấp tỉnh;{field};{level};{} ngày làm việc;\
             {}.000 đồng;\"Luật số {i}/2025/QH15\nNghị định số {i}/2026/NĐ-CP\nThông tư số {i}/2026/TT-BNV\";\
             \"Tờ khai theo Mẫu số {i}\nBản sao giấy tờ tùy thân\nẢnh màu 4 x 6 cm\";Đủ 18 tuổi trở lên\n",
            3 + i % 20,
            100 + (i as u32 % 9) * 50 + fee_step
        ));
    }
    out
}

fn tenant_file(slug: &str, code: &str) -> String {
    format!(
        "slug = \"{slug}\"\ncode = \"{code}\"\nkind = \"province\"\nname = {{ vi = \"Sở thử {code}\" }}\n\n\
         [[fields]]\ncode = \"viec-lam\"\nname = {{ vi = \"Việc làm\" }}\n"
    )
}

fn run(
    tenant: &dvc::tenancy::CurrentTenant,
    csv: &str,
    dry_run: bool,
) -> (Duration, dvc::app::catalog_import::ImportReport) {
    let bytes = csv.as_bytes().to_vec();
    let started = Instant::now();
    let report = actix_web::rt::System::new()
        .block_on(dvc::app::catalog_import::import_catalog(
            tenant, None, bytes, dry_run,
        ))
        .unwrap();
    (started.elapsed(), report)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rows: usize = args.get(1).map_or(300, |a| a.parse().unwrap());
    let rounds: usize = args.get(2).map_or(5, |a| a.parse().unwrap());
    let settings = Settings::load().expect("settings from the environment");
    let pool = build_pool_sized(&settings.database, 2);
    let pools = dvc::db::Pools::build(&settings.database);
    let registry = dvc::tenancy::registry::Registry::new();
    let csv = sample(rows, 0);
    let changed = sample(rows, 10);
    if let Some(out) = args.get(3) {
        std::fs::write(out, &csv)?;
    }
    let mut times: [Vec<f64>; 4] = Default::default();
    for round in 0..rounds {
        let slug = format!("nhap-{round:03}");
        let file = files::parse(
            Path::new(&format!("{slug}.toml")),
            &tenant_file(&slug, &format!("NH{round:03}")),
        )
        .expect("generated file is valid");
        apply_files(&pool, vec![file])?;
        registry.reload(&mut *pools.shared().get()?)?;
        let t = registry
            .by_slug(&dvc::tenancy::TenantSlug::parse(&slug)?)
            .unwrap();
        let tenant = dvc::tenancy::CurrentTenant {
            db: dvc::db::TenantDb::for_tenant(&pools, t.id, &t.schema),
            tenant: t,
        };
        let (plan, report) = run(&tenant, &csv, true);
        assert_eq!(report.created, rows);
        let (import, report) = run(&tenant, &csv, false);
        assert_eq!(report.created, rows);
        let (again, report) = run(&tenant, &csv, false);
        assert_eq!(report.unchanged, rows);
        let (update, report) = run(&tenant, &changed, false);
        assert_eq!(report.updated, rows);
        for (k, d) in [plan, import, again, update].into_iter().enumerate() {
            times[k].push(ms(d));
        }
    }
    println!("| step ({rows} procedures, {rounds} rounds) | median ms | max ms |");
    println!("|---|---:|---:|");
    let names = [
        "dry run (new tenant: all to create)",
        "import (all created)",
        "same file again (all unchanged)",
        "every fee changed (all updated)",
    ];
    for (name, mut t) in names.into_iter().zip(times) {
        t.sort_by(f64::total_cmp);
        println!("| {name} | {:.0} | {:.0} |", t[t.len() / 2], t[t.len() - 1]);
    }
    Ok(())
}
