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

fn settings(url: &str, gateway: &str) -> Settings {
    let mut s = Settings::default();
    s.database.url = url.to_owned();
    s.texts.provider = TextProviderKind::Http;
    s.texts.sms_url = Some(format!("{gateway}/send"));
    s.texts.per_tenant_per_minute = 0;
    s.texts.poll_interval_secs = 1;
    s
}

fn payload(i: usize) -> serde_json::Value {
    serde_json::json!({"dossier_code": format!("HNI-261207-{i:04}"), "due_date": "14/12/2026",
        "link": format!("https://ha-noi.dichvucong.localhost/ho-so/HNI-261207-{i:04}")})
}

/// The same requests the worker makes, posted straight from an HTTP client.
fn bare(gateway: &str, n: usize, concurrency: usize) -> f64 {
    let url = format!("{gateway}/send");
    actix_web::rt::System::new().block_on(async move {
        let client = dvc::texts::provider::http_client();
        let started = Instant::now();
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
        n as f64 / started.elapsed().as_secs_f64()
    })
}

fn count_sent(conn: &mut PgConnection) -> i64 {
    diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM platform.outbox WHERE status = 'sent')",
    ))
    .get_result(conn)
    .unwrap()
}

/// The same number of texts queued (not timed), then delivered by the worker.
fn through_worker(s: &Settings, n: usize) -> f64 {
    let pool = build_pool_sized(&s.database, 4);
    let mut pooled = pool.get().unwrap();
    let conn: &mut PgConnection = &mut pooled;
    conn.batch_execute("DELETE FROM platform.outbox").unwrap();
    let tenant: uuid::Uuid = dvc::db::schema::tenants::table
        .select(dvc::db::schema::tenants::id)
        .first(conn)
        .unwrap();
    let to = MobileNumber::parse("0912345678").unwrap();
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
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let worker = TextWorker::new(s, pool.clone()).spawn(stopped);
    while count_sent(conn) < n as i64 {
        std::thread::sleep(Duration::from_millis(2));
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    stop.send(true).unwrap();
    worker.join().unwrap();
    rate
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
    let gateway = start_gateway();
    let s = settings(url, &gateway);
    let concurrency = s.texts.concurrency;
    // Warm both paths (connections, plans) before measuring.
    bare(&gateway, 200, concurrency);
    through_worker(&s, 200);
    let (mut bares, mut workers, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    // Alternating, so drift of the machine falls on both.
    for _ in 0..rounds {
        let b = bare(&gateway, n, concurrency);
        let w = through_worker(&s, n);
        bares.push(b);
        workers.push(w);
        ratios.push(w / b);
    }
    println!(
        "texts throughput: {n} texts × {rounds} rounds, gateway latency {latency} ms, concurrency {concurrency}, batch {}: \
         bare HTTP client {:.0} msg/s, text worker {:.0} msg/s, ratio {:.2} (median of rounds; \
         each round: {})",
        s.texts.batch_size,
        median(bares),
        median(workers),
        median(ratios.clone()),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}
