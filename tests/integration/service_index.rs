//! The service index (Decision 766) against a brute-force recount of the tenant tables: for one
//! tenant whose dossiers go through the real transitions (online, at the desk with scanned
//! papers, by post; late and on time; paid online or not; results issued, one revoked; rated),
//! and for a ministry over 50 provinces. The public page shows the figures without any personal
//! data; bad periods are refused.

use crate::common::{TestApp, TestDb, eventually};
use crate::world::{
    PAID, PDF, PHONE, QUICK, WORK_PERMIT, World, access_token, account, tenant_file,
};
use chrono::{Datelike, Duration as Days, Months, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use dvc::services::calendar::local_date;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Every figure of the index, recounted from the tenant tables of `schemas` over `[from, to)`
/// (Vietnam's days), keyed as the report's `counts` and `catalog` name them.
fn recount(
    db: &TestDb,
    schemas: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> BTreeMap<&'static str, i64> {
    let local = |col: &str| format!("(({col} AT TIME ZONE 'UTC') + interval '7 hours')::date");
    let within = |col: &str| format!("{} >= '{from}' AND {} < '{to}'", local(col), local(col));
    let queries: Vec<(&'static str, String)> = vec![
        ("received", format!("SELECT count(*) FROM {{s}}.dossiers WHERE {}", within("received_at"))),
        (
            "received_online",
            format!("SELECT count(*) FROM {{s}}.dossiers WHERE {} AND channel = 'online'", within("received_at")),
        ),
        (
            "received_counter",
            format!("SELECT count(*) FROM {{s}}.dossiers WHERE {} AND channel = 'counter'", within("received_at")),
        ),
        (
            "received_postal",
            format!("SELECT count(*) FROM {{s}}.dossiers WHERE {} AND channel = 'postal'", within("received_at")),
        ),
        (
            "received_digitised",
            format!(
                "SELECT count(*) FROM {{s}}.dossiers d WHERE {} AND EXISTS \
                 (SELECT 1 FROM {{s}}.attachments a WHERE a.dossier_id = d.id AND a.digitised)",
                within("d.received_at")
            ),
        ),
        ("resolved", format!("SELECT count(*) FROM {{s}}.dossiers WHERE {}", within("resolved_at"))),
        (
            "resolved_on_time",
            format!(
                "SELECT count(*) FROM {{s}}.dossiers WHERE {} AND (due_date IS NULL OR {} <= due_date)",
                within("resolved_at"),
                local("resolved_at")
            ),
        ),
        (
            "resolved_with_fee",
            format!(
                "SELECT count(*) FROM {{s}}.dossiers WHERE {} AND payment_status <> 'none'",
                within("resolved_at")
            ),
        ),
        (
            "resolved_paid_online",
            format!(
                "SELECT count(*) FROM {{s}}.dossiers WHERE {} AND payment_status IN ('paid', 'refunded')",
                within("resolved_at")
            ),
        ),
        (
            "results_issued",
            format!("SELECT count(*) FROM {{s}}.results WHERE {} AND revoked_at IS NULL", within("issued_at")),
        ),
        (
            "results_digitised",
            format!(
                "SELECT count(*) FROM {{s}}.results WHERE {} AND revoked_at IS NULL AND origin = 'paper_scan'",
                within("issued_at")
            ),
        ),
        ("rating_sum", format!("SELECT coalesce(sum(rating), 0) FROM {{s}}.feedback WHERE {}", within("created_at"))),
        ("rating_count", format!("SELECT count(*) FROM {{s}}.feedback WHERE {}", within("created_at"))),
        ("procedures", "SELECT count(*) FROM {s}.procedures WHERE active".to_owned()),
        (
            "complete",
            "SELECT count(*) FROM {s}.procedures WHERE active AND btrim(name_vi) <> '' \
             AND btrim(field_code) <> '' AND processing_days > 0 AND fee_vnd >= 0 \
             AND jsonb_array_length(documents) > 0 \
             AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(details->'legal_basis', '[]')) b \
                         WHERE btrim(b) <> '')"
                .to_owned(),
        ),
        (
            "full_online",
            "SELECT count(*) FROM {s}.procedures WHERE active AND online_level = 'full'".to_owned(),
        ),
        (
            "partial_online",
            "SELECT count(*) FROM {s}.procedures WHERE active AND online_level = 'partial'".to_owned(),
        ),
    ];
    let mut out = BTreeMap::new();
    for (name, sql) in queries {
        let mut total = 0;
        for s in schemas {
            total += db.scalar_i64(&format!("SELECT ({})::int8 AS n", sql.replace("{s}", s)));
        }
        out.insert(name, total);
    }
    out
}

fn share(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| ((n as f64 / d as f64).min(1.0) * 10_000.0).round() / 10_000.0)
}

/// Checks every count, every indicator's numerator, denominator and share, and every group's
/// points against the recount.
fn assert_matches(report: &Value, truth: &BTreeMap<&'static str, i64>) {
    let counts = &report["counts"];
    for k in [
        "received",
        "received_online",
        "received_counter",
        "received_postal",
        "received_digitised",
        "resolved",
        "resolved_on_time",
        "resolved_with_fee",
        "resolved_paid_online",
        "results_issued",
        "results_digitised",
        "rating_sum",
        "rating_count",
    ] {
        assert_eq!(counts[k].as_i64(), Some(truth[k]), "{k}: {report}");
    }
    for k in ["procedures", "complete", "full_online", "partial_online"] {
        assert_eq!(
            report["catalog"][k].as_i64(),
            Some(truth[k]),
            "catalog {k}: {report}"
        );
    }
    // Nothing counts complaints yet: zero, never an invented figure.
    for k in [
        "complaints_received",
        "complaints_answered",
        "complaints_answered_on_time",
    ] {
        assert_eq!(counts[k].as_i64(), Some(0), "{k}");
    }
    let expected: BTreeMap<&str, (i64, i64)> = BTreeMap::from([
        (
            "complete_procedures",
            (truth["complete"], truth["procedures"]),
        ),
        ("on_time", (truth["resolved_on_time"], truth["resolved"])),
        (
            "full_online_procedures",
            (truth["full_online"], truth["procedures"]),
        ),
        (
            "received_online",
            (truth["received_online"], truth["received"]),
        ),
        (
            "paid_online",
            (truth["resolved_paid_online"], truth["resolved_with_fee"]),
        ),
        (
            "dossiers_digitised",
            (
                truth["received_digitised"],
                truth["received_counter"] + truth["received_postal"],
            ),
        ),
        (
            "results_electronic",
            (truth["results_issued"], truth["resolved"]),
        ),
        ("rating", (truth["rating_sum"], 5 * truth["rating_count"])),
        ("complaints_on_time", (0, 0)),
    ]);
    let weights = BTreeMap::from([
        ("publicity", 18.0),
        ("progress", 20.0),
        ("online_service", 12.0),
        ("online_payment", 10.0),
        ("digitisation", 22.0),
        ("satisfaction", 18.0),
    ]);
    let groups = report["index"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), weights.len());
    let mut seen = 0;
    let mut total = 0.0;
    for g in groups {
        let code = g["code"].as_str().unwrap();
        assert_eq!(g["max_points"].as_f64(), Some(weights[code]), "{code}");
        let mut shares = Vec::new();
        for i in g["indicators"].as_array().unwrap() {
            let icode = i["code"].as_str().unwrap();
            let (n, d) = expected[icode];
            assert_eq!(
                (i["numerator"].as_i64(), i["denominator"].as_i64()),
                (Some(n), Some(d)),
                "{icode}: {i}"
            );
            assert_eq!(i["share"].as_f64(), share(n, d), "{icode}: {i}");
            assert!(!i["formula_vi"].as_str().unwrap().is_empty());
            shares.extend(share(n, d));
            seen += 1;
        }
        let mean = (!shares.is_empty()).then(|| shares.iter().sum::<f64>() / shares.len() as f64);
        match (mean, g["points"].as_f64()) {
            (None, got) => assert_eq!(got, None, "{code}: {g}"),
            (Some(m), Some(p)) => {
                assert!(
                    (p - m * weights[code]).abs() < 0.01,
                    "{code}: {p} vs {m}: {g}"
                );
                total += p;
            }
            (Some(_), None) => panic!("{code} has figures but no points: {g}"),
        }
    }
    assert_eq!(seen, expected.len());
    assert!(
        (report["index"]["points"].as_f64().unwrap() - total).abs() < 0.01,
        "{report}"
    );
}

async fn index(w_base: &TestApp, tenant: &str, query: &str) -> Value {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish();
    let mut resp = client
        .get(format!(
            "{}/t/{tenant}/api/v1/stats/service-index?{query}",
            w_base.base
        ))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.body().limit(1 << 20).await.unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(status, 200, "{query}: {v}");
    v
}

/// The months and the year the test looks at: this month, the one before, the one before
/// that, and this year.
fn periods(today: NaiveDate) -> Vec<(String, NaiveDate, NaiveDate)> {
    let first = today.with_day(1).unwrap();
    let mut out: Vec<_> = (0..3)
        .map(|i| {
            let m = first - Months::new(i);
            (
                format!("period={}", m.format("%Y-%m")),
                m,
                m + Months::new(1),
            )
        })
        .collect();
    let y = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap();
    out.push((
        format!("year={}", today.year()),
        y,
        NaiveDate::from_ymd_opt(today.year() + 1, 1, 1).unwrap(),
    ));
    out
}

async fn act_ok(w: &World, code: &str, who: Uuid, roles: &[&str], action: &str) {
    let (s, b) = w.act("tinh-a", code, who, roles, action, json!({})).await;
    assert_eq!(s, 200, "{action} {code}: {b}");
}

async fn file_quick(w: &World) -> String {
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/dossiers",
            Some(&w.token(w.citizen, "tinh-a", &[])),
            Some(json!({ "procedure": QUICK, "phone": PHONE })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["code"].as_str().unwrap().to_owned()
}

const WALK_IN_NAME: &str = "Nguyễn Thị Hoà";
const WALK_IN_ID: &str = "001190012345";

/// A walk-in at tinh-a's desk with a name, an identity number and a scanned paper, taken by the
/// officer whose token is `desk`; returns its code.
async fn take_walk_in(w: &World, desk: &str) -> String {
    let walk_in = json!({
        "procedure": WORK_PERMIT,
        "channel": "counter",
        "applicant": { "full_name": WALK_IN_NAME, "id_number": WALK_IN_ID, "phone": "0987 654 321" },
        "form": { "ho_ten": WALK_IN_NAME, "ngay_sinh": "1990-05-01" }
    });
    let (s, b) = w
        .multipart(
            "/t/tinh-a/api/v1/desk/dossiers",
            desk,
            &walk_in,
            &[(0, "scan.pdf", PDF)],
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["code"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn service_index_of_one_tenant_equals_a_brute_force_recount() {
    let w = World::new(|_| {}).await;
    // One procedure published with its legal basis: publicity is neither 0 nor 1.
    w.db.conn()
        .batch_execute(&format!(
            "UPDATE t_tinh_a.procedures SET details = '{{\"legal_basis\": [\"Nghị định 152/2020/NĐ-CP\"]}}' \
             WHERE code = '{WORK_PERMIT}'"
        ))
        .unwrap();
    w.app.app_state.catalog.clear();
    let officer = &["officer", "leader"][..];
    let a = w.officer_a;
    let now = Utc::now();

    // Received 45 days ago: one decided today (late), one left open (overdue now).
    w.app.clock.set(now - Days::days(45));
    let late_decided = w.submit_work_permit("tinh-a", w.citizen).await;
    let late_open = file_quick(&w).await;
    for code in [&late_decided, &late_open] {
        act_ok(&w, code, a, officer, "receive").await;
    }
    w.app.clock.set(now);
    act_ok(&w, &late_decided, a, officer, "start_review").await;
    act_ok(&w, &late_decided, a, officer, "approve").await;

    // A walk-in at the desk with a scanned paper: counter, digitised; approved on time.
    let desk = w.token(a, "tinh-a", &["officer"]);
    let counter = take_walk_in(&w, &desk).await;
    for action in ["receive", "start_review", "approve"] {
        act_ok(&w, &counter, a, officer, action).await;
    }
    // Online, decided on time, no fee; and one by post left open.
    let quick = file_quick(&w).await;
    for action in ["receive", "start_review", "approve"] {
        act_ok(&w, &quick, a, officer, action).await;
    }
    let postal = file_quick(&w).await;
    w.db.conn()
        .batch_execute(&format!(
            "UPDATE t_tinh_a.dossiers SET channel = 'postal' WHERE code = '{postal}'"
        ))
        .unwrap();
    act_ok(&w, &postal, a, officer, "receive").await;
    // Paid online before processing, then decided.
    let paid = {
        let (s, b) = w
            .req(
                "POST",
                "/t/tinh-a/api/v1/dossiers",
                Some(&w.token(w.citizen, "tinh-a", &[])),
                Some(
                    json!({ "procedure": PAID, "phone": PHONE, "form": { "doi_tuong": "thuong" } }),
                ),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        b["code"].as_str().unwrap().to_owned()
    };
    crate::payments::pay(&w, "tinh-a", &paid, "approve", "now").await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            w.db.scalar_text(&format!(
                "SELECT payment_status AS s FROM t_tinh_a.dossiers WHERE code = '{paid}'"
            )) == "paid"
        })
        .await
    );
    for action in ["receive", "start_review", "approve"] {
        act_ok(&w, &paid, a, officer, action).await;
    }

    // Results: generated for the walk-in (then revoked), a scanned paper one for the late one.
    // The server's clock back to the real one: it was set to `now` when the test began, and a
    // certificate made seconds later is not valid before it was made.
    w.app.clock.set(Utc::now());
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let p12 = crate::results::openssl_p12("ec", "mk");
    let (s, b) = crate::signed_results::parts(
        &w,
        "PUT",
        "/t/tinh-a/api/v1/signing-identity",
        &admin,
        &[
            ("password", None, b"mk"),
            ("doc.0", Some("a.p12"), p12.as_slice()),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let issuer = w.token(a, "tinh-a", officer);
    let (s, generated) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/dossiers/{counter}/results"),
            Some(&issuer),
            Some(json!({ "source": "generate" })),
        )
        .await;
    assert_eq!(s, 201, "{generated}");
    let pdf = crate::results::result_pdf();
    let (s, b) = w
        .multipart(
            &format!("/t/tinh-a/api/v1/dossiers/{late_decided}/results"),
            &issuer,
            &json!({ "source": "paper_scan" }),
            &[(0, "ban-giay.pdf", pdf.as_slice())],
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = w
        .req(
            "POST",
            &format!(
                "/t/tinh-a/api/v1/dossiers/{counter}/results/{}/revoke",
                generated["id"].as_str().unwrap()
            ),
            Some(&issuer),
            Some(json!({ "reason": "Sai thông tin" })),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // Ratings by the applicant, once the result is returned.
    for (code, rating) in [(&quick, 4), (&paid, 2)] {
        act_ok(&w, code, a, officer, "return").await;
        let (s, b) = w
            .req(
                "POST",
                &format!("/t/tinh-a/api/v1/dossiers/{code}/feedback"),
                Some(&w.token(w.citizen, "tinh-a", &[])),
                Some(json!({ "rating": rating })),
            )
            .await;
        assert_eq!(s, 204, "{code}: {b}");
    }

    // Each period's index equals the recount, for tinh-a alone and rolled up over nothing more.
    let today = local_date(Utc::now());
    let schemas = vec!["t_tinh_a".to_owned()];
    let mut nonzero = BTreeMap::<&str, i64>::new();
    for (query, from, to) in periods(today) {
        let truth = recount(&w.db, &schemas, from, to);
        let report = index(&w.app, "tinh-a", &query).await;
        assert_eq!(report["tenants"], json!(["tinh-a"]));
        assert_eq!(report["from"], json!(from.to_string()));
        assert_matches(&report, &truth);
        for (k, v) in &truth {
            *nonzero.entry(k).or_default() += v;
        }
    }
    // The data is not trivial: every figure the test can produce is non-zero somewhere, and
    // the shares are strictly between 0 and 1 this month.
    for (k, v) in &nonzero {
        assert!(*v > 0, "{k} is never counted: {nonzero:?}");
    }
    let this_year = index(&w.app, "tinh-a", &format!("year={}", today.year())).await;
    let truth = recount(
        &w.db,
        &schemas,
        NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(today.year() + 1, 1, 1).unwrap(),
    );
    assert!(
        truth["resolved_on_time"] > 0 && truth["resolved_on_time"] < truth["resolved"],
        "{truth:?}"
    );
    assert!(
        truth["complete"] > 0 && truth["complete"] < truth["procedures"],
        "{truth:?}"
    );
    assert!(this_year["index"]["score"].as_f64().unwrap() > 0.0);

    // The ministry's index adds its provinces (tinh-b has none of these dossiers).
    let bo = index(&w.app, "bo", &format!("year={}", today.year())).await;
    assert_eq!(bo["tenants"], json!(["bo", "tinh-a", "tinh-b"]));
    let all = recount(
        &w.db,
        &[
            "t_bo".to_owned(),
            "t_tinh_a".to_owned(),
            "t_tinh_b".to_owned(),
        ],
        NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(today.year() + 1, 1, 1).unwrap(),
    );
    assert_matches(&bo, &all);
    let alone = index(&w.app, "bo", &format!("year={}&rollup=false", today.year())).await;
    assert_eq!(alone["tenants"], json!(["bo"]));
    assert_eq!(alone["counts"]["received"], 0);

    // CSV: one line per indicator, group and the total, with the same figures.
    let client = awc::Client::new();
    let mut resp = client
        .get(format!(
            "{}/t/tinh-a/api/v1/stats/service-index?year={}&format=csv",
            w.app.base,
            today.year()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap();
    let line = csv
        .lines()
        .find(|l| l.contains(",progress,on_time,"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(
        line.contains(&format!(
            ",{},{},",
            truth["resolved_on_time"], truth["resolved"]
        )),
        "{line}"
    );
    assert_eq!(csv.lines().count(), 1 + 9 + 6 + 1, "{csv}");

    // Bad input: problem+json 400, nothing else.
    for q in [
        "period=2026-13",
        "period=26-11",
        "year=abc",
        "period=2026-11&year=2026",
        "format=xml",
    ] {
        let (s, b) = w
            .req(
                "GET",
                &format!("/t/tinh-a/api/v1/stats/service-index?{q}"),
                None,
                None,
            )
            .await;
        assert_eq!(s, 400, "{q}: {b}");
        assert!(
            b["code"].as_str().unwrap().starts_with("invalid_"),
            "{q}: {b}"
        );
    }

    // The public page: figures and formulas, no personal data, a friendly page for bad input.
    let (s, html) = w
        .page(
            "tinh-a.localhost",
            &format!("/chi-so-phuc-vu?year={}", today.year()),
        )
        .await;
    assert_eq!(s, 200, "{html}");
    for text in [
        "Chỉ số phục vụ người dân, doanh nghiệp",
        "Tiến độ giải quyết",
        "Số hồ sơ giải quyết đúng hạn ÷ số hồ sơ đã giải quyết trong kỳ",
        "Chưa có phản ánh",
        "format=csv",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    let name: String = w.db.scalar_text(&format!(
        "SELECT full_name AS s FROM platform.accounts WHERE id = '{}'",
        w.citizen
    ));
    for personal in [
        WALK_IN_NAME,
        WALK_IN_ID,
        name.as_str(),
        "0987654321",
        "0987 654 321",
        "0912345678",
        PHONE,
        "dan@example.vn",
        late_decided.as_str(),
        counter.as_str(),
    ] {
        assert!(!html.contains(personal), "the public page shows {personal}");
    }
    let (s, html) = w
        .page("tinh-a.localhost", "/chi-so-phuc-vu?period=2026-13")
        .await;
    assert_eq!(s, 400);
    assert!(html.contains("<html"), "{html}");

    // The transitions kept the months the sums of their days, for every tenant and procedure.
    let drift_sql = String::from(
        "SELECT count(*) AS n FROM (SELECT tenant_id, date_trunc('month', day)::date AS month, \
         procedure_code, sum(received) r, sum(resolved) s, sum(resolved_on_time) o, \
         sum(rating_sum) g, sum(received_digitised) d, sum(results_issued) i, \
         sum(resolved_paid_online) p, sum(paid_amount) a FROM platform.stats_daily GROUP BY 1, 2, 3) x \
         FULL JOIN platform.stats_monthly m USING (tenant_id, month, procedure_code) \
         WHERE (x.r, x.s, x.o, x.g, x.d, x.i, x.p, x.a) IS DISTINCT FROM \
               (m.received::numeric, m.resolved::numeric, m.resolved_on_time::numeric, \
                m.rating_sum::numeric, m.received_digitised::numeric, m.results_issued::numeric, \
                m.resolved_paid_online::numeric, m.paid_amount::numeric)",
    );
    assert_eq!(w.db.scalar_i64(&drift_sql), 0);
    assert!(w.db.scalar_i64("SELECT count(*) AS n FROM platform.stats_monthly") > 0);
    // The migration's backfill, run again on counters wiped, finds what the transitions counted.
    let snapshot = || {
        w.db.scalar_text(
            "SELECT coalesce(string_agg(format('%s %s %s %s %s %s %s %s', tenant_id, day, \
             procedure_code, received_digitised, results_issued, results_digitised, \
             resolved_with_fee, resolved_paid_online), E'\\n' ORDER BY tenant_id, day, procedure_code), '') AS s \
             FROM platform.stats_daily WHERE received_digitised + results_issued + results_digitised \
             + resolved_with_fee + resolved_paid_online <> 0",
        )
    };
    let counted = snapshot();
    assert!(counted.lines().count() >= 2, "{counted}");
    let up = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/platform/2026-12-09-000022_service_index/up.sql"
    ))
    .unwrap();
    let backfill = &up[up.find("DO $$").unwrap()..];
    w.db.conn()
        .batch_execute(&format!(
            "UPDATE platform.stats_daily SET received_digitised = 0, results_issued = 0, \
             results_digitised = 0, resolved_with_fee = 0, resolved_paid_online = 0; {backfill}"
        ))
        .unwrap();
    assert_eq!(snapshot(), counted);
    assert_eq!(w.db.scalar_i64(&drift_sql), 0, "the backfill's months");

    // The leader's drill-down: the two late dossiers, none of the others.
    let mut conn = w.db.conn();
    conn.batch_execute("BEGIN; SET LOCAL search_path TO t_tinh_a")
        .unwrap();
    let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap().and_utc() - Days::hours(7);
    let units = dvc::services::dossiers::store::late_by_unit(
        &mut conn,
        today,
        start(NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap()),
        start(NaiveDate::from_ymd_opt(today.year() + 1, 1, 1).unwrap()),
    )
    .unwrap();
    conn.batch_execute("ROLLBACK").unwrap();
    let late: Vec<(&str, bool)> = units
        .iter()
        .flat_map(|u| u.dossiers.iter().map(|d| (d.code.as_str(), d.decided)))
        .collect();
    let mut expected = vec![(late_decided.as_str(), true), (late_open.as_str(), false)];
    expected.sort();
    let mut got = late.clone();
    got.sort();
    assert_eq!(got, expected, "{units:?}");
    assert_eq!(
        units
            .iter()
            .map(|u| u.open_late + u.decided_late)
            .sum::<i64>(),
        2
    );
}

/// A ministry with 50 provinces below it, each with its own mix of dossiers through the real
/// transitions: the ministry's index is the recount over all 51 schemas.
#[actix_web::test]
async fn a_ministry_index_over_fifty_provinces_equals_the_recount() {
    const PROVINCES: usize = 50;
    let db = TestDb::new();
    let mut files = vec![(
        "bo.toml".to_owned(),
        tenant_file("bo", "BO", "ministry", None),
    )];
    for i in 0..PROVINCES {
        let slug = format!("tinh-{i:02}");
        files.push((
            format!("{slug}.toml"),
            tenant_file(&slug, &format!("T{i:02}"), "province", Some("bo")),
        ));
    }
    let texts: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    db.apply_texts(&texts);
    let master_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([7u8; 32])
    };
    let master = dvc::auth::keys::MasterKey::parse(&master_b64).unwrap();
    let mut conn = db.conn();
    dvc::auth::keys::rotate(&mut conn, &master).unwrap();
    let ring = dvc::auth::keys::Keyring::load(&mut conn, Some(&master)).unwrap();
    let citizen = account(&db, "dan50@example.vn", "Lê Văn Năm Mươi");
    let officer = account(&db, "canbo50@example.vn", "Cán bộ");
    let db = Arc::new(db);
    let storage = std::env::temp_dir().join(format!("dvc-index-{}", Uuid::new_v4()));
    let root = storage.to_string_lossy().into_owned();
    let app = TestApp::spawn_on(db.clone(), move |s| {
        s.auth.master_key = Some(master_b64.into());
        s.dossiers.storage_root = root;
    })
    .await;
    let token = |who: Uuid, tenant: &str, roles: &[&str]| access_token(&ring, who, tenant, roles);
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let call = |path: String, bearer: String, body: Value| {
        let client = client.clone();
        let base = app.base.clone();
        async move {
            let mut r = client
                .post(format!("{base}{path}"))
                .insert_header(("Authorization", format!("Bearer {bearer}")))
                .send_json(&body)
                .await
                .unwrap();
            let s = r.status().as_u16();
            let b: Value = serde_json::from_slice(&r.body().await.unwrap()).unwrap_or(Value::Null);
            (s, b)
        }
    };
    // Province i: i % 4 + 1 quick dossiers; channels rotate; every third received 30 days ago
    // (late when decided); even ones decided; one in five rated.
    let now = Utc::now();
    let mut n = 0usize;
    for i in 0..PROVINCES {
        let slug = format!("tinh-{i:02}");
        let citizen_token = token(citizen, &slug, &[]);
        let officer_token = token(officer, &slug, &["officer"]);
        for j in 0..(i % 4 + 1) {
            n += 1;
            let old = n.is_multiple_of(3);
            app.clock.set(if old { now - Days::days(30) } else { now });
            let (s, b) = call(
                format!("/t/{slug}/api/v1/dossiers"),
                citizen_token.clone(),
                json!({ "procedure": QUICK, "phone": PHONE }),
            )
            .await;
            assert_eq!(s, 201, "{b}");
            let code = b["code"].as_str().unwrap().to_owned();
            let channel = ["online", "counter", "postal"][(i + j) % 3];
            let schema = format!("t_{}", slug.replace('-', "_"));
            if channel != "online" {
                db.conn()
                    .batch_execute(&format!(
                        "UPDATE {schema}.dossiers SET channel = '{channel}' WHERE code = '{code}'"
                    ))
                    .unwrap();
            }
            let version = |v: i64| json!({ "action": "", "version": v });
            let mut v = b["version"].as_i64().unwrap_or(1);
            let step = |action: &str, v: i64| {
                let mut body = version(v);
                body["action"] = json!(action);
                call(
                    format!("/t/{slug}/api/v1/dossiers/{code}/actions"),
                    officer_token.clone(),
                    body,
                )
            };
            let (s, b) = step("receive", v).await;
            assert_eq!(s, 200, "{b}");
            v = b["version"].as_i64().unwrap();
            app.clock.set(now);
            if n.is_multiple_of(2) {
                let (s, b) = step("start_review", v).await;
                assert_eq!(s, 200, "{b}");
                let v = b["version"].as_i64().unwrap();
                let (s, b) = step("approve", v).await;
                assert_eq!(s, 200, "{b}");
                if n.is_multiple_of(5) {
                    let v = b["version"].as_i64().unwrap();
                    let (s, b) = step("return", v).await;
                    assert_eq!(s, 200, "{b}");
                    let (s, b) = call(
                        format!("/t/{slug}/api/v1/dossiers/{code}/feedback"),
                        citizen_token.clone(),
                        json!({ "rating": ((n / 10) % 5) as i64 + 1 }),
                    )
                    .await;
                    assert_eq!(s, 204, "{b}");
                }
            }
        }
    }
    app.clock.set(Utc::now());
    let today = local_date(Utc::now());
    let mut schemas = vec!["t_bo".to_owned()];
    schemas.extend((0..PROVINCES).map(|i| format!("t_tinh_{i:02}")));
    for (query, from, to) in periods(today) {
        let truth = recount(&db, &schemas, from, to);
        let report = index(&app, "bo", &query).await;
        assert_eq!(report["tenants"].as_array().unwrap().len(), PROVINCES + 1);
        assert_matches(&report, &truth);
    }
    let year = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap();
    let truth = recount(
        &db,
        &schemas,
        year,
        NaiveDate::from_ymd_opt(today.year() + 1, 1, 1).unwrap(),
    );
    assert_eq!(truth["received"], n as i64);
    assert!(
        truth["resolved_on_time"] > 0 && truth["resolved_on_time"] < truth["resolved"],
        "{truth:?}"
    );
    assert!(
        truth["received_counter"] > 0 && truth["received_postal"] > 0 && truth["rating_count"] > 0
    );
    // One province's own index is its part alone.
    let one = index(&app, "tinh-07", &format!("year={}", today.year())).await;
    assert_eq!(one["tenants"], json!(["tinh-07"]));
    assert_matches(
        &one,
        &recount(
            &db,
            &["t_tinh_07".to_owned()],
            year,
            NaiveDate::from_ymd_opt(today.year() + 1, 1, 1).unwrap(),
        ),
    );
    let _ = std::fs::remove_dir_all(&storage);
}

/// The page in a real browser (`tests/e2e/service_index.mjs`): axe-core on the public page (phone,
/// desktop, English) and on the leader's drill-down, no applicant's name, number or dossier code
/// on the public page, the year selector and the CSV download.
#[actix_web::test]
async fn the_service_index_page_passes_axe_and_shows_no_personal_data_in_a_real_browser() {
    use crate::browser::{PASSWORD, api_token, browser_world, run_script, sign_in_with_totp};
    let (w, port) = browser_world().await;
    let officer = api_token(&w, &port, w.officer_a, &["officer", "leader"]);
    let citizen = api_token(&w, &port, w.citizen, &[]);
    let act = |code: String, action: &'static str| {
        let (w, officer) = (&w, officer.clone());
        async move {
            let (_, d) = w
                .req(
                    "GET",
                    &format!("/t/tinh-a/api/v1/dossiers/{code}"),
                    Some(&officer),
                    None,
                )
                .await;
            let token_version = d["version"].as_i64().unwrap();
            let (s, b) = w
                .req(
                    "POST",
                    &format!("/t/tinh-a/api/v1/dossiers/{code}/actions"),
                    Some(&officer),
                    Some(json!({ "action": action, "version": token_version })),
                )
                .await;
            assert_eq!(s, 200, "{action} {code}: {b}");
        }
    };
    // A walk-in with a name and an identity number, decided; an online one received 30 days
    // ago and still open: late.
    let counter = take_walk_in(&w, &officer).await;
    for action in ["receive", "start_review", "approve"] {
        act(counter.clone(), action).await;
    }
    w.app.clock.set(Utc::now() - Days::days(30));
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/dossiers",
            Some(&citizen),
            Some(json!({ "procedure": QUICK, "phone": PHONE })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let late = b["code"].as_str().unwrap().to_owned();
    act(late.clone(), "receive").await;
    w.app.clock.set(Utc::now());
    let leader_totp = sign_in_with_totp(&w, w.leader_a);
    let name = w.db.scalar_text(&format!(
        "SELECT full_name AS s FROM platform.accounts WHERE id = '{}'",
        w.citizen
    ));
    let forbidden = json!([
        WALK_IN_NAME,
        WALK_IN_ID,
        name,
        "0987654321",
        "0987 654 321",
        "0912345678",
        PHONE,
        "dan@example.vn",
        counter,
        late,
    ]);
    let mut cmd = std::process::Command::new("node");
    cmd.arg("tests/e2e/service_index.mjs")
        .env("BASE_A", format!("http://tinh-a.localhost:{port}"))
        .env("PASSWORD", PASSWORD)
        .env("LEADER_EMAIL", "lanhdao.a@example.vn")
        .env("LEADER_TOTP", leader_totp)
        .env("LATE_CODE", &late)
        .env("FORBIDDEN", forbidden.to_string());
    let result = run_script(cmd).await;
    for done in [
        "public",
        "year_selected",
        "csv",
        "english",
        "leader_sees_late",
    ] {
        assert_eq!(result[done], true, "{done}: {result}");
    }
}
