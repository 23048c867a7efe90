//! Mail benchmarks, driven by `bench/mail.sh`:
//!
//! ```text
//! cargo run --release --example mail -- throughput <db-url> <smtp-port> <messages>
//! cargo run --release --example mail -- enqueue <db-url> <writes>
//! cargo run --release --example mail -- lag <db-url> <seconds> <per-second>
//! ```

#![allow(clippy::unwrap_used)] // a panic here is a failed test or bench, not an outage

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use dvc::config::Settings;
use dvc::db::{Pools, build_pool_sized};
use dvc::locale::Locale;
use dvc::mail::outbox::{self, NewMail};
use dvc::mail::templates::{Brand, Renderer};
use dvc::mail::worker::Worker;
use dvc::mail::{Email, TemplateKey};
use futures_util::StreamExt;
use lettre::message::{Mailbox, MultiPart};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn settings(url: &str, smtp_port: u16) -> Settings {
    let mut s = Settings::default();
    s.database.url = url.to_owned();
    s.smtp.port = smtp_port;
    s.mail.per_tenant_per_minute = 0;
    s
}

fn payload() -> serde_json::Value {
    serde_json::json!({
        "applicant_name": "Trần Thị Bình", "dossier_code": "HNI-261128-0007",
        "procedure_name": "Cấp giấy phép lao động cho người lao động nước ngoài",
        "due_date": "05/12/2026", "link": "https://ha-noi.localhost/h/HNI-261128-0007"
    })
}

fn count_sent(conn: &mut PgConnection) -> i64 {
    diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM platform.outbox WHERE status = 'sent')",
    ))
    .get_result(conn)
    .unwrap()
}

async fn throughput(url: &str, smtp_port: u16, n: usize) {
    let s = settings(url, smtp_port);
    let concurrency = s.mail.concurrency;
    // Bare: the same rendered message through a pooled lettre transport.
    let transport = dvc::mail::transport::build(&s.smtp).unwrap();
    let rendered = Renderer::new()
        .render(
            TemplateKey::DossierReceived,
            Locale::Vi,
            &Brand::platform(Locale::Vi),
            &payload(),
            None,
        )
        .unwrap();
    let started = Instant::now();
    futures_util::stream::iter(0..n)
        .map(|i| {
            let transport = &transport;
            let r = rendered.clone();
            async move {
                let m = lettre::Message::builder()
                    .from(Mailbox::new(
                        Some("Cổng Dịch vụ công".into()),
                        "no-reply@dichvucong.localhost".parse().unwrap(),
                    ))
                    .to(Mailbox::new(
                        None,
                        format!("bare{i}@example.vn").parse().unwrap(),
                    ))
                    .subject(r.subject)
                    .multipart(MultiPart::alternative_plain_html(r.text, r.html))
                    .unwrap();
                dvc::mail::transport::send(transport, m).await.unwrap();
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
    let bare = n as f64 / started.elapsed().as_secs_f64();

    // Outbox: the same number of rows, delivered by the worker.
    let pool = build_pool_sized(&s.database, 4);
    {
        let mut conn = pool.get().unwrap();
        conn.batch_execute("DELETE FROM platform.outbox").unwrap();
        conn.transaction(|c| {
            for i in 0..n {
                outbox::enqueue(
                    c,
                    &NewMail {
                        tenant_id: None,
                        template: TemplateKey::DossierReceived,
                        locale: Locale::Vi,
                        recipient: Email::parse(&format!("outbox{i}@example.vn")).unwrap(),
                        payload: payload(),
                        idempotency_key: format!("bench-{i}-{}", uuid::Uuid::new_v4()),
                    },
                )?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    }
    let worker = Arc::new(Worker::new(&s, pool.clone()).unwrap());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let run = tokio::spawn(worker.run(stopped));
    let mut conn = pool.get().unwrap();
    while count_sent(&mut conn) < n as i64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let through_outbox = n as f64 / started.elapsed().as_secs_f64();
    stop.send(true).unwrap();
    run.await.unwrap();
    println!(
        "mail throughput: {n} messages, concurrency {concurrency}: bare pooled lettre {bare:.0} msg/s, outbox worker {through_outbox:.0} msg/s, ratio {:.2}",
        through_outbox / bare
    );
}

fn median_us(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

fn enqueue_cost(url: &str, writes: usize) {
    let s = settings(url, 1);
    let pool = build_pool_sized(&s.database, 2);
    let registry = dvc::tenancy::Registry::new();
    registry.reload(&mut pool.get().unwrap()).unwrap();
    let tenant = registry.all().into_iter().next().expect("a tenant");
    let db = tenant.db(&Pools::single(pool));
    let write = |i: usize, with_mail: bool| {
        let t = Instant::now();
        db.run_blocking(|conn| {
            // A dossier-style write: one row in the tenant schema.
            diesel::sql_query("INSERT INTO agencies (code, name_vi) VALUES ($1, $2)")
                .bind::<diesel::sql_types::Text, _>(format!(
                    "bench-{with_mail}-{i}-{}",
                    uuid::Uuid::new_v4().simple()
                ))
                .bind::<diesel::sql_types::Text, _>("Ủy ban nhân dân phường Bến Nghé")
                .execute(conn)?;
            if with_mail {
                outbox::enqueue(
                    conn,
                    &NewMail {
                        tenant_id: Some(tenant.id),
                        template: TemplateKey::DossierReceived,
                        locale: Locale::Vi,
                        recipient: Email::parse("citizen@example.vn").unwrap(),
                        payload: payload(),
                        idempotency_key: format!("enqueue-{i}-{}", uuid::Uuid::new_v4()),
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
        t.elapsed()
    };
    let (mut plain, mut with) = (Vec::new(), Vec::new());
    for i in 0..writes {
        // Interleaved so both see the same conditions.
        plain.push(write(i, false));
        with.push(write(i, true));
    }
    let (p50, p99) = median_us(plain);
    let (w50, w99) = median_us(with);
    println!(
        "enqueue cost: {writes} writes each: without outbox row median {p50:.0} µs (p99 {p99:.0}), with outbox row + NOTIFY median {w50:.0} µs (p99 {w99:.0}); +{:.0} µs",
        w50 - p50
    );
}

async fn lag(url: &str, seconds: u64, per_second: u64) {
    let s = settings(url, 1);
    let pool = build_pool_sized(&s.database, 2);
    let mut pooled = pool.get().unwrap();
    let conn: &mut PgConnection = &mut pooled;
    conn.batch_execute("DELETE FROM platform.outbox").unwrap();
    let started = Instant::now();
    let mut i = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        outbox::enqueue(
            conn,
            &NewMail {
                tenant_id: None,
                template: TemplateKey::DossierReceived,
                locale: Locale::Vi,
                recipient: Email::parse(&format!("lag{i}@example.vn")).unwrap(),
                payload: payload(),
                idempotency_key: format!("lag-{i}-{}", uuid::Uuid::new_v4()),
            },
        )
        .unwrap();
        i += 1;
        let next = Duration::from_secs_f64(i as f64 / per_second as f64);
        if let Some(wait) = next.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    // Let the last ones go out.
    let deadline = Instant::now() + Duration::from_secs(30);
    while count_sent(conn) < i as i64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    #[derive(QueryableByName)]
    struct Lag {
        #[diesel(sql_type = diesel::sql_types::Double)]
        p50: f64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        p99: f64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        sent: i64,
    }
    let l: Lag = diesel::sql_query(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at))::float8 AS p50,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at))::float8 AS p99,
                count(*) AS sent
         FROM platform.outbox WHERE status = 'sent'",
    )
    .get_result(conn)
    .unwrap();
    println!(
        "queue lag: {i} messages at {per_second}/s over {seconds} s, {} sent: p50 {:.0} ms, p99 {:.0} ms",
        l.sent,
        l.p50 * 1e3,
        l.p99 * 1e3
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let num = |i: usize, d: u64| arg(i).parse().unwrap_or(d);
    match arg(0).as_str() {
        "throughput" => throughput(&arg(1), num(2, 1025) as u16, num(3, 2000) as usize).await,
        "enqueue" => {
            let (url, writes) = (arg(1), num(2, 2000) as usize);
            tokio::task::spawn_blocking(move || enqueue_cost(&url, writes))
                .await
                .unwrap();
        }
        "lag" => lag(&arg(1), num(2, 20), num(3, 20)).await,
        _ => eprintln!("usage: see the comment at the top of bench/mail.rs"),
    }
}
