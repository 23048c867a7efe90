//! Scale-out on a real Citus cluster. Ignored in the ordinary suite (it needs the cluster);
//! `scripts/test-citus` starts one and runs these with `--run-ignored all`.

use crate::world::World;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(QueryableByName)]
struct Node {
    #[diesel(sql_type = Text)]
    nodename: String,
    #[diesel(sql_type = Integer)]
    nodeport: i32,
}

/// The worker that holds `schema`'s tables.
fn placement(conn: &mut PgConnection, schema: &str) -> (String, i32) {
    let node: Node = diesel::sql_query(
        "SELECT DISTINCT nodename, nodeport FROM citus_shards
         WHERE table_name::text LIKE $1 || '.%'",
    )
    .bind::<Text, _>(schema)
    .get_result(conn)
    .expect("the schema sits on one worker");
    (node.nodename, node.nodeport)
}

/// One submission as a citizen's browser would make it: its status, its code when accepted,
/// how long it took.
async fn submit(w: &World, tenant: &str) -> (u16, Option<String>, Duration) {
    let started = Instant::now();
    let (status, body) = w.try_submit_work_permit(tenant, w.citizen).await;
    let code = body["code"].as_str().map(str::to_owned);
    (status, code, started.elapsed())
}

#[actix_web::test]
#[ignore = "needs a Citus cluster: scripts/test-citus"]
async fn a_tenant_moves_between_workers_under_load_and_nothing_is_lost() {
    let w = World::new(|_| {}).await;
    let mut conn = w.db.conn();
    let before = placement(&mut conn, "t_tinh_a");
    let workers: Vec<String> = std::env::var("DVC_TEST_CITUS_WORKERS")
        .expect("scripts/test-citus names the workers")
        .split(',')
        .map(str::to_owned)
        .collect();
    let target = workers
        .iter()
        .find(|w| **w != format!("{}:{}", before.0, before.1))
        .expect("another worker")
        .clone();
    let (host, port) = target.rsplit_once(':').unwrap();
    let (host, port) = (host.to_owned(), port.parse::<i32>().unwrap());

    // Citizens submit to the moving tenant and to another one, all along.
    let stop = Arc::new(AtomicBool::new(false));
    let moving: Arc<std::sync::Mutex<Option<(Instant, Instant)>>> = Arc::default();
    let url = w.db.url.clone();
    let (stop2, moving2) = (stop.clone(), moving.clone());
    let mover = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        let mut conn = PgConnection::establish(&url).unwrap();
        let started = Instant::now();
        diesel::sql_query("SELECT citus_schema_move('t_tinh_a'::regnamespace, $1, $2)")
            .bind::<Text, _>(&host)
            .bind::<Integer, _>(port)
            .execute(&mut conn)
            .expect("the schema moves");
        *moving2.lock().unwrap() = Some((started, Instant::now()));
        std::thread::sleep(Duration::from_millis(800));
        stop2.store(true, Ordering::Relaxed);
    });
    let submitter = |tenant: &'static str| {
        let (w, stop) = (&w, stop.clone());
        async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let at = Instant::now();
                let (status, code, took) = submit(w, tenant).await;
                seen.push((tenant, at, status, code, took));
            }
            seen
        }
    };
    let results = futures_util::future::join_all([
        submitter("tinh-a"),
        submitter("tinh-a"),
        submitter("tinh-a"),
        submitter("tinh-b"),
    ])
    .await;
    mover.join().unwrap();
    let all: Vec<_> = results.into_iter().flatten().collect();

    let after = placement(&mut conn, "t_tinh_a");
    assert_ne!(after, before, "the schema moved");
    assert_eq!(after.1, port);
    // Every answer is an acceptance or a refusal the client can retry; none is half of one.
    for (tenant, _, status, code, _) in &all {
        assert!(
            (*status == 201 && code.is_some()) || [500, 503].contains(status),
            "{tenant}: {status}"
        );
    }
    for (tenant, schema) in [("tinh-a", "t_tinh_a"), ("tinh-b", "t_tinh_b")] {
        let accepted: Vec<&String> = all
            .iter()
            .filter(|r| r.0 == tenant && r.2 == 201)
            .filter_map(|r| r.3.as_ref())
            .collect();
        assert!(accepted.len() >= 5, "{tenant} kept accepting");
        // Every accepted dossier exists, exactly once, and nothing else does.
        let stored =
            w.db.scalar_i64(&format!("SELECT count(*) AS n FROM {schema}.dossiers"));
        assert_eq!(stored, accepted.len() as i64, "{tenant}");
        for code in &accepted {
            assert_eq!(
                w.db.scalar_i64(&format!(
                    "SELECT count(*) AS n FROM {schema}.dossiers WHERE code = '{code}'"
                )),
                1,
                "{code}"
            );
        }
    }
    // Every notice was queued once: no (dossier, template) twice in the outbox.
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM (SELECT payload ->> 'dossier_code', template, channel
             FROM platform.outbox WHERE payload ? 'dossier_code'
             GROUP BY 1, 2, 3 HAVING count(*) > 1) twice"
        ),
        0
    );

    // What clients saw: the slowest answer while the move ran, against the usual one.
    let (from, to) = moving.lock().unwrap().expect("the move ran");
    let mut usual: Vec<Duration> = all
        .iter()
        .filter(|r| r.0 == "tinh-a" && (r.1 + r.4 < from || r.1 > to))
        .map(|r| r.4)
        .collect();
    usual.sort();
    let during = all
        .iter()
        .filter(|r| r.0 == "tinh-a" && r.1 < to && r.1 + r.4 > from)
        .map(|r| r.4)
        .max()
        .unwrap_or_default();
    let refused = all.iter().filter(|r| r.2 != 201).count();
    println!(
        "citus schema move: {:.0} ms; tinh-a submissions: {} accepted, {refused} refused; \
         median answer outside the move {:.0} ms, slowest during it {:.0} ms",
        (to - from).as_secs_f64() * 1e3,
        all.iter().filter(|r| r.0 == "tinh-a" && r.2 == 201).count(),
        usual
            .get(usual.len() / 2)
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
        during.as_secs_f64() * 1e3,
    );
}

#[test]
#[ignore = "needs a Citus cluster: scripts/test-citus"]
fn migrate_fails_naming_a_tenant_schema_left_on_the_coordinator() {
    use crate::common::{TestDb, tenant_toml};
    use diesel::connection::SimpleConnection;
    let db = TestDb::new();
    db.apply_texts(&[("alpha.toml", tenant_toml("alpha", "ALPHA", 1))]);
    // A tenant made while schema-based sharding was off (a database moved to Citus without
    // `citus_schema_distribute`): its schema stays on the coordinator.
    let database = &db.name;
    db.conn()
        .batch_execute(&format!(
            "ALTER DATABASE {database} SET citus.enable_schema_based_sharding = off"
        ))
        .unwrap();
    db.apply_texts(&[("beta.toml", tenant_toml("beta", "BETA", 1))]);
    db.conn()
        .batch_execute(&format!(
            "ALTER DATABASE {database} RESET citus.enable_schema_based_sharding"
        ))
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dvc"))
        .arg("migrate")
        .env("DVC__DATABASE__URL", &db.url)
        .env("DVC__LOG__FILTER", "off")
        .env("DVC_CONFIG_DIR", "/nonexistent")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("citus: 1 tenant schema(s) distributed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("NOT DISTRIBUTED  t_beta.dossiers"),
        "{stdout}"
    );
    assert!(!stdout.contains("NOT DISTRIBUTED  t_alpha."), "{stdout}");
}
