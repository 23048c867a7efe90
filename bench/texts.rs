//! Text worker throughput against a local brandname gateway, as a ratio to a bare HTTP client
//! posting the same requests with the same concurrency. Driven by `bench/texts.sh`:
//!
//! ```text
//! cargo run --release --example texts -- <db-url> <messages> <rounds> <gateway latency ms>
//! ```
//!
//! With a latency of 0 the gateway answers at once (a test double on loopback), so every cost
//! of the worker — claiming, leases, quota and rate checks, rendering, recording — shows in the
//! ratio; with a real gateway's latency both sides wait on it the same way.

#![allow(clippy::unwrap_used)] // a panic here is a failed bench, not an outage

use actix_web::{App, HttpResponse, HttpServer, web};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use dvc::config::{Settings, TextProviderKind};
use dvc::db::build_pool_sized;
use dvc::locale::Locale;
use dvc::mail::TemplateKey;
use dvc::texts::outbox::{NewText, enqueue};
use dvc::texts::worker::TextWorker;
use dvc::texts::{Channel, MobileNumber};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static ACCEPTED: AtomicU64 = AtomicU64::new(0);
/// How long the gateway takes to answer, in milliseconds.
static LATENCY_MS: AtomicU64 = AtomicU64::new(0);

async fn gateway(_body: web::Json<serde_json::Value>) -> HttpResponse {
    let latency = LATENCY_MS.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let n = ACCEPTED.fetch_add(1, Ordering::Relaxed);
    HttpResponse::Ok().json(serde_json::json!({"CodeResult": "100", "SMSID": format!("S{n}")}))
}

/// The gateway on its own thread and runtime; returns its base URL.
fn start_gateway() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| App::new().route("/send", web::post().to(gateway)))
                .workers(1)
                .bind("127.0.0.1:0")
                .unwrap();
            tx.send(server.addrs()[0].port()).unwrap();
            server.run().await.unwrap();
        });
    });
    format!("http://127.0.0.1:{}", rx.recv().unwrap())
}

/// Busy and total CPU time of the whole machine so far (clock ticks, from `/proc/stat`): the
/// bench, the gateway and PostgreSQL all count.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// A measured run: texts per second, and the machine's busy share of its cores meanwhile.
#[derive(Clone, Copy)]
struct Run {
    rate: f64,
    busy: f64,
}

impl Run {
    fn since(n: usize, started: Instant, (busy0, total0): (u64, u64)) -> Self {
        let elapsed = started.elapsed().as_secs_f64();
        let (busy1, total1) = cpu_ticks();
        Self {
            rate: n as f64 / elapsed,
            busy: (busy1 - busy0) as f64 / (total1 - total0).max(1) as f64,
        }
    }

    /// Machine CPU time per text, in microseconds.
    fn cpu_per_text(self, cores: f64) -> f64 {
        self.busy * cores * 1e6 / self.rate
    }
}

fn settings(url: &str, gateway: &str) -> Settings {
    let mut s = Settings::default();
    s.database.url = url.to_owned();
    s.texts.provider = TextProviderKind::Http;
    s.texts.sms_url = Some(format!("{gateway}/send"));
    s.texts.per_tenant_per_minute = 0;
    s.texts.poll_interval_secs = 1;
    if let Some(batch) = std::env::var("BATCH").ok().and_then(|b| b.parse().ok()) {
        s.texts.batch_size = batch;
    }
    s
}

fn payload(i: usize) -> serde_json::Value {
    serde_json::json!({"dossier_code": format!("HNI-261207-{i:04}"), "due_date": "14/12/2026",
        "link": format!("https://ha-noi.dichvucong.localhost/ho-so/HNI-261207-{i:04}")})
}

/// The same requests the worker makes, posted straight from an HTTP client.
fn bare(gateway: &str, n: usize, concurrency: usize) -> Run {
    let url = format!("{gateway}/send");
    actix_web::rt::System::new().block_on(async move {
        let client = dvc::texts::provider::http_client();
        let (started, cpu) = (Instant::now(), cpu_ticks());
        futures_util::stream::iter(0..n)
            .map(|i| {
                let (client, url) = (&client, &url);
                async move {
                    let body = serde_json::json!({
                        "ApiKey": "", "SecretKey": "", "Phone": "0912345678",
                        "Content": format!("Ho so HNI-261207-{i:04} da duoc tiep nhan, hen tra ket qua 14/12/2026. Tra cuu: https://ha-noi.dichvucong.localhost/ho-so/HNI-261207-{i:04}"),
                        "Brandname": "DICHVUCONG", "SmsType": "2", "IsUnicode": "0",
                        "RequestId": format!("bare-{i}"), "CallbackUrl": null,
                    });
                    let mut r = client.post(url).send_json(&body).await.unwrap();
                    assert!(r.status().is_success());
                    let _: serde_json::Value = r.json().await.unwrap();
                }
            })
            .buffer_unordered(concurrency)
            .collect::<Vec<()>>()
            .await;
        Run::since(n, started, cpu)
    })
}

fn count_sent(conn: &mut PgConnection) -> i64 {
    diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM platform.outbox WHERE status = 'sent')",
    ))
    .get_result(conn)
    .unwrap()
}

/// The same number of texts queued in one transaction; the clock runs from its commit (which
/// wakes the idle worker) until every text is recorded as sent, as a burst of notices would.
fn through_worker(s: &Settings, n: usize) -> Run {
    let pool = build_pool_sized(&s.database, 8);
    let mut pooled = pool.get().unwrap();
    let conn: &mut PgConnection = &mut pooled;
    // Last round's rows go, and their dead versions with them (autovacuum would, in service).
    conn.batch_execute("DELETE FROM platform.outbox").unwrap();
    conn.batch_execute("VACUUM platform.outbox").unwrap();
    let tenant: uuid::Uuid = dvc::db::schema::tenants::table
        .select(dvc::db::schema::tenants::id)
        .first(conn)
        .unwrap();
    let to = MobileNumber::parse("0912345678").unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = TextWorker::new(s, pool.clone()).spawn(stopped);
    std::thread::sleep(Duration::from_millis(300)); // listening and idle
    let accepted_before = ACCEPTED.load(Ordering::Relaxed);
    let (mut started, mut cpu) = (Instant::now(), cpu_ticks());
    conn.transaction(|c| {
        for i in 0..n {
            enqueue(
                c,
                &NewText {
                    tenant_id: Some(tenant),
                    channel: Channel::Sms,
                    template: TemplateKey::DossierReceived,
                    locale: Locale::Vi,
                    recipient: to.clone(),
                    payload: payload(i),
                    idempotency_key: format!("bench-{i}-{}", uuid::Uuid::new_v4()),
                },
            )?;
        }
        (started, cpu) = (Instant::now(), cpu_ticks());
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    // Wait on the gateway's own count (no load on the database), then for the last records.
    while ACCEPTED.load(Ordering::Relaxed) - accepted_before < n as u64 {
        std::thread::sleep(Duration::from_millis(1));
    }
    while count_sent(conn) < n as i64 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let run = Run::since(n, started, cpu);
    stop.send(true).unwrap();
    worker.join().unwrap();
    run
}

/// The run with the median rate.
fn median_run(mut v: Vec<Run>) -> Run {
    v.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    v[v.len() / 2]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, n, rounds) = (&args[1], args[2].parse().unwrap(), args[3].parse().unwrap());
    let latency: u64 = args.get(4).map_or(0, |l| l.parse().unwrap());
    LATENCY_MS.store(latency, Ordering::Relaxed);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get) as f64;
    let gateway = start_gateway();
    let s = settings(url, &gateway);
    let concurrency = s.texts.concurrency;
    // Warm both paths (connections, plans) before measuring.
    bare(&gateway, 200, concurrency);
    through_worker(&s, 200);
    let (mut bares, mut workers) = (Vec::new(), Vec::new());
    // Alternating, so drift of the machine falls on both.
    for _ in 0..rounds {
        bares.push(bare(&gateway, n, concurrency));
        workers.push(through_worker(&s, n));
    }
    let ratios: Vec<f64> = bares
        .iter()
        .zip(&workers)
        .map(|(b, w)| w.rate / b.rate)
        .collect();
    let (b, w) = (median_run(bares), median_run(workers));
    println!(
        "texts throughput: {n} texts × {rounds} rounds, gateway latency {latency} ms, concurrency {concurrency}, batch {}: \
         bare HTTP client {:.0} msg/s (machine {:.0} % busy, {:.0} µs CPU/text), \
         text worker {:.0} msg/s ({:.0} % busy, {:.0} µs CPU/text), ratio {:.2} (median of rounds; each round: {})",
        s.texts.batch_size,
        b.rate,
        b.busy * 100.0,
        b.cpu_per_text(cores),
        w.rate,
        w.busy * 100.0,
        w.cpu_per_text(cores),
        median(ratios.clone()),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}
