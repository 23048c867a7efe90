//! Dossier benchmarks and their set-up, driven by `bench/dossiers.sh`.
//!
//! ```text
//! cargo run --release --example dossiers -- setup <tenants>        # ministry + provinces, accounts
//! cargo run --release --example dossiers -- setup-stats <children>  # bo-stats + stats-NN
//! cargo run --release --example dossiers -- tokens <role> <out>    # one access token per province
//! cargo run --release --example dossiers -- pgbench-script         # the submission's inserts
//! cargo run --release --example dossiers -- fill <slug> <n>        # n dossiers + aggregates (SQL)
//! cargo run --release --example dossiers -- payments <tenants> <n> <out>  # pending payments, signed IPNs
//! cargo run --release --example dossiers -- explain <slug>…        # plans of the statistics SQL
//! ```
//! Settings come from the environment (`DVC__DATABASE__URL`, `DVC__AUTH__MASTER_KEY`, …).

#![allow(clippy::unwrap_used)] // a panic here is a failed test or bench, not an outage

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use dvc::config::Settings;
use dvc::db::build_pool_sized;
use dvc::hosting::apply::apply_files;
use dvc::hosting::files;
use std::path::Path;
use std::time::Instant;

const CITIZEN: &str = "11111111-1111-4111-8111-111111111111";
const LEADER: &str = "22222222-2222-4222-8222-222222222222";

/// A province with the procedure the benchmark submits to: a five-field form (validated on
/// every submission), no mandatory documents.
fn tenant_file(slug: &str, code: &str, kind: &str, parent: Option<&str>) -> String {
    let parent = parent.map_or(String::new(), |p| format!("parent = \"{p}\"\n"));
    format!(
        r#"slug = "{slug}"
code = "{code}"
kind = "{kind}"
{parent}name = {{ vi = "Sở Lao động - Thương binh và Xã hội {code}" }}

[[fields]]
code = "viec-lam"
name = {{ vi = "Việc làm", en = "Employment" }}

[[fields]]
code = "bao-tro"
name = {{ vi = "Bảo trợ xã hội" }}

[[procedures]]
code = "1.001978"
field = "viec-lam"
name = {{ vi = "Giải quyết hưởng trợ cấp thất nghiệp", en = "Unemployment benefit" }}
online_level = "full"
processing_days = 20
documents = [{{ name = "Đề nghị hưởng trợ cấp thất nghiệp", required = false }}]

[procedures.form_schema]
type = "object"
required = ["ho_ten", "ngay_sinh", "so_cccd", "noi_lam_viec"]

[procedures.form_schema.properties.ho_ten]
type = "string"
title = "Họ và tên"
maxLength = 100

[procedures.form_schema.properties.ngay_sinh]
type = "string"
format = "date"
title = "Ngày sinh"

[procedures.form_schema.properties.so_cccd]
type = "string"
format = "cccd"
title = "Số căn cước công dân"

[procedures.form_schema.properties.noi_lam_viec]
type = "string"
title = "Nơi làm việc trước khi nghỉ"
maxLength = 300

[procedures.form_schema.properties.so_thang_dong_bhtn]
type = "integer"
title = "Số tháng đóng bảo hiểm thất nghiệp"
minimum = 12

[[procedures]]
code = "2.000286"
field = "bao-tro"
name = {{ vi = "Trợ giúp xã hội khẩn cấp" }}
online_level = "partial"
processing_days = 5
"#
    )
}

fn parsed(slug: &str, code: &str, kind: &str, parent: Option<&str>) -> files::TenantFile {
    files::parse(
        Path::new(&format!("{slug}.toml")),
        &tenant_file(slug, code, kind, parent),
    )
    .expect("generated file is valid")
}

fn settings() -> Settings {
    Settings::load().expect("settings from the environment")
}

fn conn(s: &Settings) -> PgConnection {
    PgConnection::establish(&s.database.url).expect("database")
}

fn setup(tenants: usize) -> anyhow::Result<()> {
    let s = settings();
    let pool = build_pool_sized(&s.database, 2);
    let started = Instant::now();
    let ministry = parsed("bo-bench", "BOB", "ministry", None);
    apply_files(&pool, vec![ministry])?;
    for chunk in (1..=tenants).collect::<Vec<_>>().chunks(100) {
        let batch = chunk
            .iter()
            .map(|i| {
                parsed(
                    &format!("bench-{i:04}"),
                    &format!("B{i:04}"),
                    "province",
                    Some("bo-bench"),
                )
            })
            .collect();
        apply_files(&pool, batch)?;
    }
    let mut c = conn(&s);
    c.batch_execute(&format!(
        "INSERT INTO platform.accounts (id, kind, email, full_name, locale, password_hash, \
         email_verified_at) VALUES ('{CITIZEN}', 'citizen', 'dan@example.vn', 'Nguyễn Văn Dân', \
         'vi', 'x', now()), ('{LEADER}', 'citizen', 'lanhdao@example.vn', 'Lãnh đạo', 'vi', 'x', \
         now()) ON CONFLICT DO NOTHING"
    ))?;
    println!(
        "set up 1 ministry and {tenants} provinces below it in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A ministry `bo-stats` with `children` provinces `stats-NN` below it.
fn setup_stats(children: usize) -> anyhow::Result<()> {
    let s = settings();
    let pool = build_pool_sized(&s.database, 2);
    let mut batch = vec![parsed("bo-stats", "BOS", "ministry", None)];
    for i in 1..=children {
        batch.push(parsed(
            &format!("stats-{i:02}"),
            &format!("S{i:02}"),
            "province",
            Some("bo-stats"),
        ));
    }
    apply_files(&pool, batch)?;
    Ok(())
}

/// For the IPN benchmark: `tenants` provinces get a merchant account (sandbox provider, a known
/// secret) and `per_tenant` dossiers each with a pending payment; writes one signed IPN path per
/// payment (each settles a different payment) to `out`.
fn payments(tenants: usize, per_tenant: usize, out: &str) -> anyhow::Result<()> {
    let s = settings();
    let master = dvc::auth::keys::MasterKey::parse(
        s.auth
            .master_key
            .as_ref()
            .map_or("", |k| secrecy::ExposeSecret::expose_secret(k)),
    )?;
    let mut c = conn(&s);
    let mut lines = String::new();
    for i in 1..=tenants {
        let slug = format!("bench-{i:04}");
        let schema = format!("t_bench_{i:04}");
        let tenant: uuid::Uuid = dvc::db::schema::tenants::table
            .filter(dvc::db::schema::tenants::slug.eq(&slug))
            .select(dvc::db::schema::tenants::id)
            .first(&mut c)?;
        let merchant = format!("B{i:04}");
        let secret = format!("bench-secret-{i}");
        dvc::services::payments::merchant::set(
            &mut c,
            &master,
            tenant,
            "sandbox",
            &merchant,
            "http://127.0.0.1:9/sandbox/gateway",
            secret.as_bytes(),
        )?;
        c.batch_execute(&format!(
            "BEGIN;
             SET LOCAL search_path = {schema};
             INSERT INTO dossiers (id, code, procedure_code, applicant_id, applicant_name,
                 applicant_email, locale, lookup_hash, channel, form_data, fee_vnd, status,
                 payment_status)
             SELECT gen_random_uuid(), 'P-' || g, '1.001978', '{CITIZEN}', 'Nguyễn Văn Dân',
                 'dan@example.vn', 'vi', '\\x00', 'online', '{{}}', 600000, 'submitted', 'due'
             FROM generate_series(1, {per_tenant}) g;
             INSERT INTO payments (id, dossier_id, reference, amount_vnd, status, provider)
             SELECT gen_random_uuid(), id, 'BP' || replace(code, '-', ''), 600000, 'pending', 'sandbox'
             FROM dossiers WHERE code LIKE 'P-%';
             COMMIT;"
        ))?;
        for g in 1..=per_tenant {
            let mut p = dvc::services::payments::gateway::Notification {
                merchant: merchant.clone(),
                reference: format!("BPP{g}"),
                amount_vnd: 600_000,
                response_code: "00".into(),
                transaction_no: format!("{}", 14_000_000 + g),
                bank_code: "NCB".into(),
            }
            .to_params();
            dvc::services::payments::gateway::sign(secret.as_bytes(), &mut p);
            lines.push_str(&format!(
                "/t/{slug}/api/v1/payments/ipn?{}\n",
                dvc::services::payments::gateway::query_string(&p)
            ));
        }
    }
    std::fs::write(out, lines)?;
    Ok(())
}

/// `slug token` lines, one per tenant, for wrk's Lua script.
fn tokens(role: &str, out: &str) -> anyhow::Result<()> {
    let s = settings();
    let master = dvc::auth::keys::MasterKey::parse(
        s.auth
            .master_key
            .as_ref()
            .map_or("", |k| secrecy::ExposeSecret::expose_secret(k)),
    )?;
    let mut c = conn(&s);
    let ring = dvc::auth::keys::Keyring::load(&mut c, Some(&master))?;
    let slugs: Vec<String> = dvc::db::schema::tenants::table
        .select(dvc::db::schema::tenants::slug)
        .order(dvc::db::schema::tenants::slug)
        .load(&mut c)?;
    let (sub, roles) = match role {
        "leader" => (LEADER, vec!["leader".to_owned()]),
        _ => (CITIZEN, vec![]),
    };
    let now = chrono::Utc::now().timestamp();
    let mut lines = String::new();
    for slug in slugs {
        let token = dvc::auth::tokens::issue(
            &ring,
            &dvc::auth::tokens::AccessClaims {
                iss: s.auth.issuer.trim_end_matches('/').to_owned(),
                sub: uuid::Uuid::parse_str(sub)?,
                aud: slug.clone(),
                client_id: format!("portal-{slug}"),
                sid: uuid::Uuid::new_v4(),
                iat: now,
                exp: now + 3 * 3600,
                nbf: None,
                jti: uuid::Uuid::new_v4(),
                roles: roles.clone(),
            },
        )?;
        lines.push_str(&format!("{slug} {token}\n"));
    }
    std::fs::write(out, lines)?;
    Ok(())
}

/// What one submission writes, as one pgbench transaction: the daily sequence, the dossier,
/// its first event, the citizen's index row and the upward-sync event — over a random tenant.
fn pgbench_script() {
    println!(
        r#"\set t random(1, :tenants)
BEGIN;
SELECT set_config('search_path', 't_bench_' || lpad(:t::text, 4, '0'), true);
INSERT INTO dossier_sequences (day, last) VALUES (current_date, 1) ON CONFLICT (day) DO UPDATE SET last = dossier_sequences.last + 1 RETURNING last;
INSERT INTO dossiers (id, code, procedure_code, applicant_id, applicant_name, applicant_email, locale, lookup_hash, channel, form_data, fee_vnd, status, submitted_at, updated_at) VALUES (gen_random_uuid(), 'PG-' || gen_random_uuid(), '1.001978', '{CITIZEN}', 'Nguyễn Văn Dân', 'dan@example.vn', 'vi', '\x00', 'online', '{{"ho_ten":"Nguyễn Văn Dân","ngay_sinh":"1990-02-03","so_cccd":"001090012345","noi_lam_viec":"Công ty TNHH Thử nghiệm","so_thang_dong_bhtn":36}}', 0, 'submitted', now(), now()) RETURNING id AS did \gset
INSERT INTO dossier_events (dossier_id, seq, actor_id, actor_role, from_status, to_status, details, at) VALUES (:did, 1, '{CITIZEN}', 'applicant', NULL, 'submitted', '{{"files":0}}', now());
INSERT INTO platform.dossier_index (tenant_id, dossier_id, account_id, code, procedure_code, procedure_name, status, submitted_at, updated_at) VALUES ((SELECT id FROM platform.tenants WHERE slug = 'bench-' || lpad(:t::text, 4, '0')), :did, '{CITIZEN}', 'PG-' || :did, '1.001978', 'Giải quyết hưởng trợ cấp thất nghiệp', 'submitted', now(), now());
INSERT INTO platform.webhook_outbox (tenant_id, endpoint, url, ordering_key, event_id, body) VALUES ((SELECT id FROM platform.tenants WHERE slug = 'bench-' || lpad(:t::text, 4, '0')), 'parent', 'http://127.0.0.1:9/t/bo-bench/api/v1/sync/events', :did, gen_random_uuid(), '{{"seq":1,"status":"submitted"}}');
END;"#
    );
}

/// `n` dossiers in `slug` spread over the past year, with the statistics aggregates the
/// workflow would have written for them.
fn fill(slug: &str, n: usize) -> anyhow::Result<()> {
    let s = settings();
    let mut c = conn(&s);
    let schema = format!("t_{}", slug.replace('-', "_"));
    let started = Instant::now();
    c.batch_execute(&format!(
        "BEGIN;
         SET LOCAL search_path = {schema};
         INSERT INTO dossiers (id, code, procedure_code, applicant_id, applicant_name, locale,
             lookup_hash, channel, form_data, fee_vnd, status, version, submitted_at, received_at,
             due_date, resolved_at, returned_at, updated_at)
         SELECT gen_random_uuid(), 'F-' || g, CASE WHEN g % 3 = 0 THEN '2.000286' ELSE '1.001978' END,
             '{CITIZEN}', 'Nguyễn Văn Dân', 'vi', '\\x00',
             CASE WHEN g % 10 = 0 THEN 'counter' ELSE 'online' END, '{{}}', 0,
             CASE WHEN g % 20 = 0 THEN 'in_review' WHEN g % 20 = 1 THEN 'submitted' ELSE 'returned' END,
             5, d, d + interval '2 hours', (d + interval '7 days')::date,
             CASE WHEN g % 20 > 1 THEN d + (g % 11) * interval '1 day' END,
             CASE WHEN g % 20 > 1 THEN d + (g % 11) * interval '1 day' END, d
         FROM (SELECT g, now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second' AS d
               FROM generate_series(1, {n}) g) x;
         INSERT INTO feedback (dossier_id, rating)
         SELECT id, 1 + abs(hashtext(code)) % 5 FROM dossiers WHERE status = 'returned' AND right(code, 1) IN ('3', '7');
         DELETE FROM platform.stats_daily WHERE tenant_id = (SELECT id FROM platform.tenants WHERE slug = '{slug}');
         DELETE FROM platform.stats_open WHERE tenant_id = (SELECT id FROM platform.tenants WHERE slug = '{slug}');
         INSERT INTO platform.stats_daily (tenant_id, day, procedure_code, field_code, received,
             received_online, resolved, resolved_on_time, processing_seconds, rating_sum, rating_count)
         SELECT (SELECT id FROM platform.tenants WHERE slug = '{slug}'), day, x.procedure_code,
                p.field_code, sum(r), sum(ro), sum(res), sum(ot), sum(ps), sum(rs), sum(rc) FROM (
           SELECT (received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, procedure_code,
                  1 AS r, (channel = 'online')::int AS ro, 0 AS res, 0 AS ot, 0::int8 AS ps,
                  0 AS rs, 0 AS rc
           FROM dossiers WHERE received_at IS NOT NULL
           UNION ALL
           SELECT (resolved_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, procedure_code, 0, 0, 1,
                  ((resolved_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date <= due_date)::int,
                  extract(epoch FROM resolved_at - received_at)::int8, 0, 0
           FROM dossiers WHERE resolved_at IS NOT NULL
           UNION ALL
           SELECT (d.resolved_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, d.procedure_code,
                  0, 0, 0, 0, 0, f.rating, 1
           FROM feedback f JOIN dossiers d ON d.id = f.dossier_id) x
         JOIN procedures p ON p.code = x.procedure_code
         GROUP BY day, x.procedure_code, p.field_code;
         INSERT INTO platform.stats_open (tenant_id, procedure_code, field_code, in_progress)
         SELECT (SELECT id FROM platform.tenants WHERE slug = '{slug}'), d.procedure_code,
                p.field_code, count(*)
         FROM dossiers d JOIN procedures p ON p.code = d.procedure_code
         WHERE d.status IN ('received', 'in_review', 'supplement_requested', 'resubmitted')
         GROUP BY d.procedure_code, p.field_code;
         COMMIT;
         ANALYZE {schema}.dossiers; ANALYZE platform.stats_daily; ANALYZE platform.stats_open;"
    ))?;
    println!(
        "{slug}: {n} dossiers with their aggregates in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Plans of the statistics query for one tenant and for a ministry with its tree.
fn explain(slugs: &[String]) -> anyhow::Result<()> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let s = settings();
    let mut c = conn(&s);
    for slug in slugs {
        // The tenant and every tenant below it, as the roll-up asks.
        let ids = format!(
            "ARRAY(SELECT id FROM platform.tenants WHERE slug = '{slug}' \
             OR parent_id = (SELECT id FROM platform.tenants WHERE slug = '{slug}'))"
        );
        let sql = dvc::services::stats::COUNTS_SQL
            .replace("$1", &ids)
            .replace("$2", "(current_date - 365)")
            .replace("$3", "(current_date + 1)");
        println!("-- {slug} and the tenants below it, one year");
        let lines: Vec<Line> =
            diesel::sql_query(format!("EXPLAIN (ANALYZE, COSTS OFF) {sql}")).load(&mut c)?;
        for l in lines {
            println!("{}", l.line);
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match arg(0).as_str() {
        "setup" => setup(arg(1).parse().unwrap_or(1000)),
        "setup-stats" => setup_stats(arg(1).parse().unwrap_or(50)),
        "tokens" => tokens(&arg(1), &arg(2)),
        "pgbench-script" => {
            pgbench_script();
            Ok(())
        }
        "fill" => fill(&arg(1), arg(2).parse().unwrap_or(100_000)),
        "payments" => payments(
            arg(1).parse().unwrap_or(100),
            arg(2).parse().unwrap_or(200),
            &arg(3),
        ),
        "explain" => explain(&args[1..]),
        _ => {
            eprintln!("usage: see the comment at the top of bench/dossiers.rs");
            Ok(())
        }
    }
}
