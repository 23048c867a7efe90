//! Statistics against a brute-force recount of the raw rows, the roll-up against the sum of its
//! parts; upward sync when the receiver was down, and the receiving end's refusals; the officers'
//! daily digest — real PostgreSQL, Redis and SMTP.

use crate::common::{TestApp, eventually, settings_for};
use crate::world::{PHONE, QUICK, SYNC_SECRET, WORK_PERMIT, World};
use chrono::{Duration as Days, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};
use dvc::services::calendar::local_date;
use dvc::services::sync::{
    DossierEvent, SIGNATURE_HEADER, SOURCE_HEADER, TIMESTAMP_HEADER, derive_key, sign,
};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use uuid::Uuid;

/// A small deterministic PRNG (64-bit LCG, high bits out).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

/// How far a dossier goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Submitted,
    Withdrawn,
    Received,
    InReview,
    SupplementRequested,
    Resubmitted,
    Approved,
    Rejected,
    Returned,
}

const STAGES: [Stage; 9] = [
    Stage::Submitted,
    Stage::Withdrawn,
    Stage::Received,
    Stage::InReview,
    Stage::SupplementRequested,
    Stage::Resubmitted,
    Stage::Approved,
    Stage::Rejected,
    Stage::Returned,
];

#[derive(Debug, Clone, Copy)]
struct Plan {
    tenant: &'static str,
    procedure: &'static str,
    citizen: Uuid,
    stage: Stage,
    /// A supplement round before the decision (decided stages only).
    supplement_first: bool,
    approve: bool,
    rating: Option<i16>,
    /// How long before now the dossier counts as received (microseconds), so processing
    /// times are not all under a second.
    received_ago_us: i64,
    /// Its due date moved a month back once received, so its decision comes late.
    late: bool,
}

impl Plan {
    fn received(&self) -> bool {
        !matches!(self.stage, Stage::Submitted | Stage::Withdrawn)
    }

    fn resolved(&self) -> bool {
        matches!(
            self.stage,
            Stage::Approved | Stage::Rejected | Stage::Returned
        )
    }

    fn in_progress(&self) -> bool {
        self.received() && !self.resolved()
    }
}

/// Takes `action` and insists it worked.
async fn step(
    w: &World,
    p: &Plan,
    code: &str,
    who: Uuid,
    roles: &[&str],
    action: &str,
    extra: Value,
) {
    let (s, b) = w.act(p.tenant, code, who, roles, action, extra).await;
    assert_eq!(s, 200, "{action} on {code} ({p:?}): {b}");
}

/// Drives one dossier through the HTTP API as far as its plan says; returns its code.
async fn drive(w: &World, p: Plan) -> String {
    let code = if p.procedure == WORK_PERMIT {
        w.submit_work_permit(p.tenant, p.citizen).await
    } else {
        let (s, b) = w
            .req(
                "POST",
                &format!("/t/{}/api/v1/dossiers", p.tenant),
                Some(&w.token(p.citizen, p.tenant, &[])),
                Some(json!({ "procedure": QUICK, "phone": PHONE })),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        b["code"].as_str().unwrap().to_owned()
    };
    let officer = if p.tenant == "tinh-a" {
        w.officer_a
    } else {
        w.officer_b
    };
    let off: &[&str] = &["officer"];
    match p.stage {
        Stage::Submitted => return code,
        Stage::Withdrawn => {
            step(w, &p, &code, p.citizen, &[], "withdraw", json!({})).await;
            return code;
        }
        _ => {}
    }
    step(w, &p, &code, officer, off, "receive", json!({})).await;
    // Time passes: the receipt is moved back (within the statistics' period), and for some
    // dossiers the deadline too.
    // The new time is worked out here and written as a literal: Citus refuses a STABLE
    // function or operator (timestamptz − interval) beside column references in an UPDATE of a
    // distributed table (scripts/test-citus).
    let schema = format!("t_{}", p.tenant.replace('-', "_"));
    let received = chrono::DateTime::<Utc>::from_timestamp_micros(w.db.scalar_i64(&format!(
        "SELECT (extract(epoch FROM received_at) * 1000000)::bigint AS n \
         FROM {schema}.dossiers WHERE code = '{code}'"
    )))
    .expect("a time of receipt");
    let moved = received - chrono::Duration::microseconds(p.received_ago_us);
    w.db.conn()
        .batch_execute(&format!(
            "UPDATE {schema}.dossiers SET received_at = '{}', due_date = due_date - {days} \
             WHERE code = '{code}'",
            moved.to_rfc3339(),
            days = if p.late { 30 } else { 0 },
        ))
        .expect("backdate receipt");
    if p.stage == Stage::Received {
        return code;
    }
    step(w, &p, &code, officer, off, "start_review", json!({})).await;
    if p.stage == Stage::InReview {
        return code;
    }
    let supplement =
        matches!(p.stage, Stage::SupplementRequested | Stage::Resubmitted) || p.supplement_first;
    if supplement {
        let missing = json!({ "missing": ["Bản sao hộ chiếu có chứng thực"] });
        step(w, &p, &code, officer, off, "request_supplement", missing).await;
        if p.stage == Stage::SupplementRequested {
            return code;
        }
        let version = w.version(p.tenant, &code).await;
        let (s, b) = w
            .req(
                "POST",
                &format!("/t/{}/api/v1/dossiers/{code}/supplement", p.tenant),
                Some(&w.token(p.citizen, p.tenant, &[])),
                Some(json!({ "version": version, "note": "Đã bổ sung" })),
            )
            .await;
        assert_eq!(s, 200, "resubmit {code}: {b}");
        if p.stage == Stage::Resubmitted {
            return code;
        }
        step(w, &p, &code, officer, off, "start_review", json!({})).await;
    }
    // QUICK is decided by officers; the work permit by a leader (tinh-b has none of its own:
    // its officer holds both roles, as in the dossier tests).
    let (decider, roles): (Uuid, &[&str]) = match (p.procedure, p.tenant) {
        (QUICK, _) => (officer, off),
        (_, "tinh-a") => (w.leader_a, &["leader"]),
        _ => (officer, &["officer", "leader"]),
    };
    let decision = if p.approve { "approve" } else { "reject" };
    let note = json!({ "note": "Quyết định" });
    step(w, &p, &code, decider, roles, decision, note).await;
    if p.stage != Stage::Returned {
        return code;
    }
    step(w, &p, &code, officer, off, "return", json!({})).await;
    if let Some(rating) = p.rating {
        let (s, b) = w
            .req(
                "POST",
                &format!("/t/{}/api/v1/dossiers/{code}/feedback", p.tenant),
                Some(&w.token(p.citizen, p.tenant, &[])),
                Some(json!({ "rating": rating, "comment": "Góp ý" })),
            )
            .await;
        assert_eq!(s, 204, "feedback {code}: {b}");
    }
    code
}

/// Raw counters, as the statistics API reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
struct Counts {
    #[diesel(sql_type = BigInt)]
    received: i64,
    #[diesel(sql_type = BigInt)]
    received_online: i64,
    #[diesel(sql_type = BigInt)]
    resolved: i64,
    #[diesel(sql_type = BigInt)]
    resolved_on_time: i64,
    #[diesel(sql_type = BigInt)]
    processing_seconds: i64,
    #[diesel(sql_type = BigInt)]
    rating_sum: i64,
    #[diesel(sql_type = BigInt)]
    rating_count: i64,
    #[diesel(sql_type = BigInt)]
    in_progress: i64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.received += o.received;
        self.received_online += o.received_online;
        self.resolved += o.resolved;
        self.resolved_on_time += o.resolved_on_time;
        self.processing_seconds += o.processing_seconds;
        self.rating_sum += o.rating_sum;
        self.rating_count += o.rating_count;
        self.in_progress += o.in_progress;
    }
}

impl Counts {
    fn from_json(v: &Value) -> Self {
        let n = |k: &str| {
            v[k].as_i64()
                .unwrap_or_else(|| panic!("{k} missing in {v}"))
        };
        Self {
            received: n("received"),
            received_online: n("received_online"),
            resolved: n("resolved"),
            resolved_on_time: n("resolved_on_time"),
            processing_seconds: n("processing_seconds"),
            rating_sum: n("rating_sum"),
            rating_count: n("rating_count"),
            in_progress: n("in_progress"),
        }
    }

    fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, QueryableByName)]
struct Recount {
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(embed)]
    counts: Counts,
    /// The same figures counted from the event history instead of the dossier rows.
    #[diesel(sql_type = BigInt)]
    received_events: i64,
    #[diesel(sql_type = BigInt)]
    resolved_events: i64,
}

/// The Vietnam-local date of a timestamptz (UTC+7, no daylight saving).
fn local(col: &str) -> String {
    format!("(({col} AT TIME ZONE 'UTC') + interval '7 hours')::date")
}

/// Every figure of every procedure of `schema` for `[from, to)`, counted from the raw rows.
fn recount(w: &World, schema: &str, from: NaiveDate, to: NaiveDate) -> Vec<Recount> {
    let within = |col: &str| format!("{} >= $1 AND {} < $2", local(col), local(col));
    let sql = format!(
        "SELECT p.code AS code,
           (SELECT count(*) FROM {schema}.dossiers d WHERE d.procedure_code = p.code
              AND d.received_at IS NOT NULL AND {rec})::int8 AS received,
           (SELECT count(*) FROM {schema}.dossiers d WHERE d.procedure_code = p.code
              AND d.received_at IS NOT NULL AND {rec} AND d.channel = 'online')::int8
              AS received_online,
           (SELECT count(*) FROM {schema}.dossiers d WHERE d.procedure_code = p.code
              AND d.resolved_at IS NOT NULL AND {res})::int8 AS resolved,
           (SELECT count(*) FROM {schema}.dossiers d WHERE d.procedure_code = p.code
              AND d.resolved_at IS NOT NULL AND {res}
              AND {res_day} <= d.due_date)::int8 AS resolved_on_time,
           (SELECT coalesce(sum(greatest(0, trunc(extract(epoch FROM d.resolved_at - d.received_at)))), 0)
              FROM {schema}.dossiers d WHERE d.procedure_code = p.code
              AND d.resolved_at IS NOT NULL AND {res})::int8 AS processing_seconds,
           (SELECT coalesce(sum(f.rating), 0) FROM {schema}.feedback f
              JOIN {schema}.dossiers d ON d.id = f.dossier_id
              WHERE d.procedure_code = p.code AND {fb})::int8 AS rating_sum,
           (SELECT count(*) FROM {schema}.feedback f
              JOIN {schema}.dossiers d ON d.id = f.dossier_id
              WHERE d.procedure_code = p.code AND {fb})::int8 AS rating_count,
           (SELECT count(*) FROM {schema}.dossiers d WHERE d.procedure_code = p.code
              AND d.status IN ('received', 'in_review', 'supplement_requested', 'resubmitted'))::int8
              AS in_progress,
           (SELECT count(*) FROM {schema}.dossier_events e
              JOIN {schema}.dossiers d ON d.id = e.dossier_id
              WHERE d.procedure_code = p.code AND e.to_status = 'received' AND {ev})::int8
              AS received_events,
           (SELECT count(*) FROM {schema}.dossier_events e
              JOIN {schema}.dossiers d ON d.id = e.dossier_id
              WHERE d.procedure_code = p.code AND e.to_status IN ('approved', 'rejected')
              AND {ev})::int8 AS resolved_events
         FROM {schema}.procedures p ORDER BY p.code",
        rec = within("d.received_at"),
        res = within("d.resolved_at"),
        res_day = local("d.resolved_at"),
        fb = within("f.created_at"),
        ev = within("e.at"),
    );
    diesel::sql_query(sql)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .load(&mut w.db.conn())
        .expect("recount")
}

/// The recount as the API would show it: only procedures with something to show.
fn recount_map(rows: &[Recount]) -> BTreeMap<String, Counts> {
    rows.iter()
        .filter(|r| !r.counts.is_zero())
        .map(|r| (r.code.clone(), r.counts))
        .collect()
}

/// A report's groups (`by_procedure` or `by_field`) by code. A group whose counters are all zero
/// says nothing (a procedure whose open dossiers were all decided before the period); it is
/// left out, as the recount leaves it out.
fn groups(report: &Value, key: &str) -> BTreeMap<String, Counts> {
    report[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {report}"))
        .iter()
        .map(|g| {
            (
                g["code"].as_str().unwrap().to_owned(),
                Counts::from_json(&g["figures"]),
            )
        })
        .filter(|(_, c)| !c.is_zero())
        .collect()
}

fn by_procedure(report: &Value) -> BTreeMap<String, Counts> {
    groups(report, "by_procedure")
}

fn sum(map: &BTreeMap<String, Counts>) -> Counts {
    let mut total = Counts::default();
    for c in map.values() {
        total += *c;
    }
    total
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[actix_web::test]
async fn statistics_equal_a_brute_force_recount_and_roll_up_equals_the_sum_of_children() {
    let w = World::new(|_| {}).await;
    let mut rng = Lcg(0x2026_1129_0000_0001);
    let plans: Vec<Plan> = (0..40)
        .map(|i| {
            let stage = if i < STAGES.len() {
                STAGES[i]
            } else {
                STAGES[rng.below(STAGES.len() as u32) as usize]
            };
            Plan {
                tenant: if rng.below(3) < 2 { "tinh-a" } else { "tinh-b" },
                procedure: if rng.below(2) == 0 {
                    QUICK
                } else {
                    WORK_PERMIT
                },
                citizen: if rng.below(2) == 0 {
                    w.citizen
                } else {
                    w.citizen2
                },
                stage,
                supplement_first: rng.below(3) == 0,
                approve: rng.below(3) != 0,
                rating: (rng.below(4) != 0).then(|| 1 + rng.below(5) as i16),
                // Up to six hours ago: still today or yesterday, Vietnam time.
                received_ago_us: i64::from(rng.below(6 * 3600)) * 1_000_000
                    + i64::from(rng.below(1_000_000)),
                late: rng.below(4) == 0,
            }
        })
        .collect();
    // Several dossiers at once, each on its own path, so transitions of one procedure and day
    // meet on the same aggregate row.
    let codes: Vec<String> = futures_util::stream::iter(plans.iter().map(|p| drive(&w, *p)))
        .buffer_unordered(8)
        .collect()
        .await;
    assert_eq!(codes.len(), 40);

    let today = local_date(Utc::now());
    let (from, to) = (today - Days::days(1), today + Days::days(2));
    let period = format!("from={from}&to={to}");

    // The recount itself agrees with what was done, and the mix is not trivial.
    let rows_a = recount(&w, "t_tinh_a", from, to);
    for r in &rows_a {
        assert_eq!(r.received_events, r.counts.received, "{r:?}");
        assert_eq!(r.resolved_events, r.counts.resolved, "{r:?}");
    }
    let truth_a = recount_map(&rows_a);
    let mine = |p: &&Plan| p.tenant == "tinh-a";
    let count = |f: &dyn Fn(&Plan) -> bool| plans.iter().filter(mine).filter(|p| f(p)).count();
    let total_a = sum(&truth_a);
    assert_eq!(total_a.received as usize, count(&|p| p.received()));
    assert_eq!(total_a.received_online, total_a.received);
    assert_eq!(total_a.resolved as usize, count(&|p| p.resolved()));
    assert_eq!(total_a.in_progress as usize, count(&|p| p.in_progress()));
    let rated = |p: &Plan| p.stage == Stage::Returned && p.rating.is_some();
    assert_eq!(total_a.rating_count as usize, count(&rated));
    let rating_sum: i64 = plans
        .iter()
        .filter(mine)
        .filter(|p| rated(p))
        .map(|p| i64::from(p.rating.unwrap()))
        .sum();
    assert_eq!(total_a.rating_sum, rating_sum);
    assert!(
        total_a.resolved > 3 && total_a.in_progress > 3 && total_a.rating_count > 1,
        "{total_a:?}"
    );
    assert!(
        total_a.resolved_on_time > 0 && total_a.resolved_on_time < total_a.resolved,
        "{total_a:?}"
    );
    assert!(total_a.processing_seconds > 3600, "{total_a:?}");
    assert!(
        total_a.received < plans.iter().filter(mine).count() as i64,
        "{total_a:?}"
    );
    assert_eq!(truth_a.len(), 2, "{truth_a:?}");

    // (a) tinh-a's leader sees exactly the recount, per procedure, per field and in total.
    let leader_a = w.token(w.leader_a, "tinh-a", &["leader"]);
    let (s, st) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/stats?{period}"),
            Some(&leader_a),
            None,
        )
        .await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["tenants"], json!(["tinh-a"]));
    assert_eq!(by_procedure(&st), truth_a, "{st}");
    assert_eq!(Counts::from_json(&st["total"]), total_a, "{st}");
    let fields = groups(&st, "by_field");
    let field_of = |code: &str| if code == QUICK { "bao-tro" } else { "viec-lam" };
    let mut expected_fields: BTreeMap<String, Counts> = BTreeMap::new();
    for (code, c) in &truth_a {
        *expected_fields
            .entry(field_of(code).to_owned())
            .or_default() += *c;
    }
    assert_eq!(fields, expected_fields, "{st}");
    // The figures people read follow from the counters; nothing is invented.
    let t = &st["total"];
    assert_eq!(t["late"], total_a.resolved - total_a.resolved_on_time);
    assert_eq!(
        t["satisfaction"].as_f64(),
        Some(round2(
            total_a.rating_sum as f64 / total_a.rating_count as f64
        ))
    );
    assert_eq!(
        t["on_time_share"].as_f64(),
        Some(round2(
            total_a.resolved_on_time as f64 / total_a.resolved as f64
        ))
    );
    // Not for officers, not without a token.
    let officer_a = w.token(w.officer_a, "tinh-a", &["officer"]);
    let path = format!("/t/tinh-a/api/v1/stats?{period}");
    assert_eq!(w.req("GET", &path, Some(&officer_a), None).await.0, 403);
    assert_eq!(w.req("GET", &path, None, None).await.0, 401);

    // (b) The ministry's roll-up is the sum of its parts; each part is its own recount.
    let truth_b = recount_map(&recount(&w, "t_tinh_b", from, to));
    let truth_bo = recount_map(&recount(&w, "t_bo", from, to));
    assert!(truth_bo.is_empty(), "{truth_bo:?}");
    let bo = w.token(w.leader_bo, "bo", &["leader"]);
    let mut parts = BTreeMap::new();
    for tenant in ["bo", "tinh-a", "tinh-b"] {
        let (s, r) = w
            .req(
                "GET",
                &format!("/t/bo/api/v1/stats?tenant={tenant}&rollup=false&{period}"),
                Some(&bo),
                None,
            )
            .await;
        assert_eq!(s, 200, "{tenant}: {r}");
        assert_eq!(r["tenants"], json!([tenant]));
        parts.insert(tenant, r);
    }
    assert_eq!(by_procedure(&parts["tinh-a"]), truth_a);
    assert_eq!(parts["tinh-a"]["total"], st["total"]);
    assert_eq!(by_procedure(&parts["tinh-b"]), truth_b);
    assert!(sum(&truth_b).received > 0, "{truth_b:?}");
    assert_eq!(Counts::from_json(&parts["bo"]["total"]), Counts::default());
    let (s, all) = w
        .req(
            "GET",
            &format!("/t/bo/api/v1/stats?{period}"),
            Some(&bo),
            None,
        )
        .await;
    assert_eq!(s, 200, "{all}");
    assert_eq!(all["tenants"], json!(["bo", "tinh-a", "tinh-b"]));
    let mut expected_total = Counts::default();
    let mut expected_procs: BTreeMap<String, Counts> = BTreeMap::new();
    for part in parts.values() {
        expected_total += Counts::from_json(&part["total"]);
        for (code, c) in by_procedure(part) {
            *expected_procs.entry(code).or_default() += c;
        }
    }
    assert_eq!(Counts::from_json(&all["total"]), expected_total, "{all}");
    assert_eq!(by_procedure(&all), expected_procs, "{all}");
    let mut brute_total = total_a;
    brute_total += sum(&truth_b);
    assert_eq!(expected_total, brute_total);

    // (c) The public view: no token, the same figures, no personal data.
    let (s, public) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/stats/public?{period}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 200, "{public}");
    assert_eq!(public["total"], st["total"]);
    assert_eq!(by_procedure(&public), truth_a);
    let text = public.to_string();
    let mut personal = vec![
        "Nguyễn Văn Dân".to_owned(),
        "Trần Thị Hằng".to_owned(),
        "dan@example.vn".to_owned(),
        "hang@example.vn".to_owned(),
        "0912".to_owned(),
        "912345678".to_owned(),
        "John Smith".to_owned(),
        "B1234567".to_owned(),
        w.citizen.to_string(),
        w.citizen2.to_string(),
        w.officer_a.to_string(),
    ];
    personal.extend(codes.iter().cloned());
    for p in &personal {
        assert!(!text.contains(p.as_str()), "{p} in the public view: {text}");
    }
    let (s, _) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/stats/public?tenant=tinh-b&{period}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 400);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[actix_web::test]
async fn webhooks_are_delivered_later_and_in_order_when_the_receiver_was_down() {
    // The provinces report to a receiver on a port where nothing listens yet.
    let p = free_port();
    let w = World::new(move |s| {
        s.sync.receiver_base = Some(format!("http://127.0.0.1:{p}"));
        // However long the receiver stays down here, nothing is parked.
        s.sync.max_attempts = 10_000;
    })
    .await;
    let citizen = w.token(w.citizen, "tinh-a", &[]);
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/dossiers",
            Some(&citizen),
            Some(json!({ "procedure": QUICK, "phone": PHONE })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let code = b["code"].as_str().unwrap().to_owned();
    let officer: &[&str] = &["officer"];
    let act = |who: Uuid, roles: &'static [&'static str], action: &'static str, extra: Value| {
        let code = code.clone();
        let w = &w;
        async move {
            let (s, b) = w.act("tinh-a", &code, who, roles, action, extra).await;
            assert_eq!(s, 200, "{action}: {b}");
        }
    };
    act(w.officer_a, &["officer"], "receive", json!({})).await;
    // An assignment is an event too (its status does not change).
    let (s, b) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/dossiers/{code}/assign"),
            Some(&w.token(w.officer_a, "tinh-a", officer)),
            Some(json!({ "assignee": w.officer_a2 })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    act(w.officer_a2, &["officer"], "start_review", json!({})).await;
    act(
        w.officer_a2,
        &["officer"],
        "request_supplement",
        json!({ "missing": ["Sổ hộ khẩu"] }),
    )
    .await;
    let version = w.version("tinh-a", &code).await;
    let (s, b) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/dossiers/{code}/supplement"),
            Some(&citizen),
            Some(json!({ "version": version })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    act(w.officer_a2, &["officer"], "start_review", json!({})).await;
    act(w.officer_a2, &["officer"], "approve", json!({})).await;
    act(w.officer_a2, &["officer"], "return", json!({})).await;
    // Another dossier, in the other province, interleaved with the first one's events.
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-b/api/v1/dossiers",
            Some(&w.token(w.citizen2, "tinh-b", &[])),
            Some(json!({ "procedure": QUICK, "phone": PHONE })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let code_b = b["code"].as_str().unwrap().to_owned();
    let (s, b) = w
        .act("tinh-b", &code_b, w.citizen2, &[], "withdraw", json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    let events_a = w.count("tinh-a", "dossier_events");
    assert_eq!(events_a, 9);
    assert_eq!(w.count("tinh-b", "dossier_events"), 2);
    let total =
        w.db.scalar_i64("SELECT count(*) AS n FROM platform.webhook_outbox");
    assert_eq!(total, events_a + 2);

    // The worker tries, and fails: the first event of each dossier is retried (with backoff),
    // the later ones wait behind it without being attempted.
    assert!(
        eventually(Duration::from_secs(20), || async {
            w.db.scalar_i64(
                "SELECT count(*) AS n FROM platform.webhook_outbox w \
                 WHERE w.attempts >= 2 AND w.id = (SELECT min(id) FROM platform.webhook_outbox \
                 WHERE ordering_key = w.ordering_key)",
            ) == 2
        })
        .await,
        "the first events were not retried"
    );
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.webhook_outbox WHERE delivered_at IS NOT NULL \
             OR failed_at IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.webhook_outbox w WHERE w.attempts > 0 \
             AND w.id > (SELECT min(id) FROM platform.webhook_outbox \
             WHERE ordering_key = w.ordering_key)"
        ),
        0,
        "a later event was attempted before the first one was delivered"
    );
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.webhook_outbox \
             WHERE attempts > 0 AND last_error IS NULL"
        ),
        0
    );
    assert_eq!(w.count("bo", "child_dossiers"), 0);
    assert_eq!(w.count("bo", "sync_inbox"), 0);

    // The receiver comes up on that port, against the same database and with the same secret.
    // It runs a worker of its own too: two workers now race for the same outbox, and the order
    // per dossier must hold all the same.
    let smtp_port = w.smtp.port;
    let _receiver = TestApp::spawn_on(w.db.clone(), move |s| {
        s.server.port = p;
        s.sync.secret = Some(SYNC_SECRET.into());
        s.sync.max_backoff_secs = 1;
        s.sync.max_attempts = 10_000;
        s.mail.worker_in_process = true;
        s.smtp.port = smtp_port;
    })
    .await;
    let final_state = |tenant: &str, code: &str| {
        w.db.scalar_i64(&format!(
            "SELECT coalesce(max(last_seq), -1)::int8 AS n FROM t_bo.child_dossiers \
             WHERE source_tenant = '{tenant}' AND dossier_code = '{code}' \
             AND status = CASE WHEN '{tenant}' = 'tinh-a' THEN 'returned' ELSE 'withdrawn' END"
        ))
    };
    assert!(
        eventually(Duration::from_secs(30), || async {
            w.db.scalar_i64(
                "SELECT count(*) AS n FROM platform.webhook_outbox WHERE delivered_at IS NOT NULL",
            ) == total
        })
        .await,
        "not everything was delivered: {} of {total}",
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.webhook_outbox WHERE delivered_at IS NOT NULL"
        )
    );
    assert_eq!(final_state("tinh-a", &code), events_a);
    assert_eq!(final_state("tinh-b", &code_b), 2);
    assert_eq!(w.count("bo", "child_dossiers"), 2);
    assert_eq!(w.count("bo", "sync_inbox"), total);
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.webhook_outbox WHERE failed_at IS NOT NULL"
        ),
        0
    );
    // In order per dossier: by outbox id, the events' seq grows, they were delivered one after
    // the other, and the receiver recorded them in that order.
    let out_of_order = |cond: &str| {
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.webhook_outbox a \
             JOIN platform.webhook_outbox b ON b.ordering_key = a.ordering_key \
               AND b.endpoint = a.endpoint AND a.id < b.id \
             JOIN t_bo.sync_inbox ia ON ia.event_id = a.event_id \
             JOIN t_bo.sync_inbox ib ON ib.event_id = b.event_id \
             WHERE {cond}"
        ))
    };
    assert_eq!(
        out_of_order("(a.body->>'seq')::int >= (b.body->>'seq')::int"),
        0
    );
    assert_eq!(out_of_order("a.delivered_at > b.delivered_at"), 0);
    assert_eq!(out_of_order("ia.received_at > ib.received_at"), 0);
    assert_eq!(out_of_order("true"), 36 + 1, "pairs compared");
    // The later events went through at their first attempt: they had waited, not failed.
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.webhook_outbox w WHERE w.attempts <> 1 \
             AND w.id > (SELECT min(id) FROM platform.webhook_outbox \
             WHERE ordering_key = w.ordering_key)"
        ),
        0
    );
    // The ministry's officials see the final state.
    let (s, kids) = w
        .req(
            "GET",
            "/t/bo/api/v1/sync/dossiers?source=tinh-a",
            Some(&w.token(w.leader_bo, "bo", &["leader"])),
            None,
        )
        .await;
    assert_eq!(s, 200, "{kids}");
    assert_eq!(kids.as_array().unwrap().len(), 1, "{kids}");
    assert_eq!(kids[0]["dossier_code"], code.as_str());
    assert_eq!(kids[0]["status"], "returned");
    assert_eq!(kids[0]["last_seq"], events_a);
}

/// Posts `body` to `receiver`'s sync endpoint with the given headers; the HTTP status.
async fn post_event(
    w: &World,
    receiver: &str,
    source: Option<&str>,
    ts: Option<i64>,
    signature: Option<&str>,
    body: &[u8],
) -> u16 {
    let mut req = awc::Client::default()
        .post(format!("{}/t/{receiver}/api/v1/sync/events", w.app.base))
        .insert_header(("Content-Type", "application/json"));
    if let Some(s) = source {
        req = req.insert_header((SOURCE_HEADER, s));
    }
    if let Some(t) = ts {
        req = req.insert_header((TIMESTAMP_HEADER, t.to_string()));
    }
    if let Some(s) = signature {
        req = req.insert_header((SIGNATURE_HEADER, s));
    }
    req.send_body(body.to_vec())
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// Signs `body` as `source` would with `secret`, now (or `age_secs` ago), and posts it.
async fn send(
    w: &World,
    receiver: &str,
    source: &str,
    secret: &str,
    age_secs: i64,
    body: &[u8],
) -> u16 {
    let ts = Utc::now().timestamp() - age_secs;
    let sig = sign(&derive_key(secret, source, receiver), ts, body);
    post_event(w, receiver, Some(source), Some(ts), Some(&sig), body).await
}

fn event(source: &str, dossier: Uuid, seq: i32, status: &str) -> DossierEvent {
    let now = Utc::now();
    DossierEvent {
        event_id: Uuid::new_v4(),
        source_tenant: source.into(),
        dossier_id: dossier,
        dossier_code: "TA-261129-0042".into(),
        procedure_code: QUICK.into(),
        seq,
        from_status: Some("received".parse().unwrap()),
        status: status.parse().unwrap(),
        at: now,
        submitted_at: now - Days::hours(2),
        due_date: Some(local_date(now) + Days::days(5)),
    }
}

fn body(ev: &DossierEvent) -> Vec<u8> {
    serde_json::to_vec(ev).unwrap()
}

#[actix_web::test]
async fn tampered_replayed_stale_and_foreign_events_are_refused() {
    let w = World::new(|_| {}).await;
    let dossier = Uuid::new_v4();
    let child = |w: &World| {
        w.db.scalar_i64(
            "SELECT coalesce(max(last_seq * 100 + CASE status WHEN 'in_review' THEN 1 \
             WHEN 'approved' THEN 2 ELSE 9 END), 0)::int8 AS n FROM t_bo.child_dossiers",
        )
    };
    // A valid event: recorded.
    let first = body(&event("tinh-a", dossier, 3, "in_review"));
    let ts = Utc::now().timestamp();
    let sig = sign(&derive_key(SYNC_SECRET, "tinh-a", "bo"), ts, &first);
    assert_eq!(
        post_event(&w, "bo", Some("tinh-a"), Some(ts), Some(&sig), &first).await,
        202
    );
    assert_eq!(w.count("bo", "child_dossiers"), 1);
    assert_eq!(child(&w), 301);
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM t_bo.child_dossiers WHERE source_tenant = 'tinh-a' \
             AND dossier_code = 'TA-261129-0042' AND procedure_code = '2.000001' \
             AND status = 'in_review' AND due_date IS NOT NULL"
        ),
        1
    );

    // The identical request again: a replay, refused, nothing changes.
    assert_eq!(
        post_event(&w, "bo", Some("tinh-a"), Some(ts), Some(&sig), &first).await,
        409
    );
    // The same event signed afresh is still the same event.
    assert_eq!(send(&w, "bo", "tinh-a", SYNC_SECRET, 0, &first).await, 409);

    // Tampered after signing: the status changed on the way.
    let honest = event("tinh-a", dossier, 4, "approved");
    let signed = body(&honest);
    let ts = Utc::now().timestamp();
    let sig = sign(&derive_key(SYNC_SECRET, "tinh-a", "bo"), ts, &signed);
    let mut forged = honest.clone();
    forged.status = "rejected".parse().unwrap();
    assert_eq!(
        post_event(
            &w,
            "bo",
            Some("tinh-a"),
            Some(ts),
            Some(&sig),
            &body(&forged)
        )
        .await,
        401
    );
    // The timestamp is signed too: moving it does not help.
    assert_eq!(
        post_event(&w, "bo", Some("tinh-a"), Some(ts + 1), Some(&sig), &signed).await,
        401
    );
    // Correctly signed, but ten minutes old, or ten minutes ahead.
    let stale = body(&event("tinh-a", dossier, 5, "approved"));
    assert_eq!(
        send(&w, "bo", "tinh-a", SYNC_SECRET, 600, &stale).await,
        401
    );
    assert_eq!(
        send(&w, "bo", "tinh-a", SYNC_SECRET, -600, &stale).await,
        401
    );
    // Signed with another secret.
    assert_eq!(
        send(&w, "bo", "tinh-a", "not-the-sync-secret-0123456", 0, &stale).await,
        401
    );
    // Signed with tinh-b's key while claiming to be tinh-a.
    let ts = Utc::now().timestamp();
    let sig_b = sign(&derive_key(SYNC_SECRET, "tinh-b", "bo"), ts, &stale);
    assert_eq!(
        post_event(&w, "bo", Some("tinh-a"), Some(ts), Some(&sig_b), &stale).await,
        401
    );
    // Missing or malformed headers.
    let ts = Utc::now().timestamp();
    let sig = sign(&derive_key(SYNC_SECRET, "tinh-a", "bo"), ts, &stale);
    assert_eq!(
        post_event(&w, "bo", None, Some(ts), Some(&sig), &stale).await,
        401
    );
    assert_eq!(
        post_event(&w, "bo", Some("tinh-a"), None, Some(&sig), &stale).await,
        401
    );
    assert_eq!(
        post_event(&w, "bo", Some("tinh-a"), Some(ts), None, &stale).await,
        401
    );
    assert_eq!(
        post_event(&w, "bo", Some("tinh-a"), Some(ts), Some("v1=zz"), &stale).await,
        401
    );
    assert_eq!(child(&w), 301);
    assert_eq!(w.count("bo", "sync_inbox"), 1);

    // Senders that are not below the receiver, each with a valid signature of its own.
    for (receiver, source) in [
        ("tinh-a", "tinh-b"),
        ("tinh-a", "bo"),
        ("tinh-a", "tinh-a"),
        ("tinh-b", "tinh-a"),
        ("bo", "bo"),
        ("bo", "tinh-z"),
    ] {
        let b = body(&event(source, Uuid::new_v4(), 2, "received"));
        assert_eq!(
            send(&w, receiver, source, SYNC_SECRET, 0, &b).await,
            403,
            "{source} → {receiver}"
        );
    }
    // A tenant below, reporting about another one.
    let b = body(&event("tinh-a", Uuid::new_v4(), 2, "received"));
    assert_eq!(send(&w, "bo", "tinh-b", SYNC_SECRET, 0, &b).await, 403);
    let b = body(&event("tinh-b", Uuid::new_v4(), 2, "received"));
    assert_eq!(send(&w, "bo", "tinh-a", SYNC_SECRET, 0, &b).await, 403);
    for tenant in ["bo", "tinh-a", "tinh-b"] {
        let expected = i64::from(tenant == "bo");
        assert_eq!(w.count(tenant, "child_dossiers"), expected, "{tenant}");
        assert_eq!(w.count(tenant, "sync_inbox"), expected, "{tenant}");
    }

    // A newer event moves the status; an older one arriving after it is accepted (it is a
    // genuine event) but does not roll the status back.
    let newer = body(&event("tinh-a", dossier, 5, "approved"));
    assert_eq!(send(&w, "bo", "tinh-a", SYNC_SECRET, 0, &newer).await, 202);
    assert_eq!(child(&w), 502);
    let older = body(&event("tinh-a", dossier, 4, "in_review"));
    assert_eq!(send(&w, "bo", "tinh-a", SYNC_SECRET, 0, &older).await, 202);
    assert_eq!(child(&w), 502);
    assert_eq!(w.count("bo", "child_dossiers"), 1);
    assert_eq!(w.count("bo", "sync_inbox"), 3);
    // The older one replayed is a replay like any other.
    assert_eq!(send(&w, "bo", "tinh-a", SYNC_SECRET, 0, &older).await, 409);
    assert_eq!(w.count("bo", "sync_inbox"), 3);
}

#[actix_web::test]
async fn officers_get_one_overdue_digest_a_day() {
    let w = World::new(|_| {}).await;
    let citizen = w.token(w.citizen, "tinh-a", &[]);
    let mut codes = Vec::new();
    for _ in 0..5 {
        let (s, b) = w
            .req(
                "POST",
                "/t/tinh-a/api/v1/dossiers",
                Some(&citizen),
                Some(json!({ "procedure": QUICK, "phone": PHONE })),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        codes.push(b["code"].as_str().unwrap().to_owned());
    }
    let act = |i: usize, who: Uuid, roles: &'static [&'static str], action: &'static str| {
        let code = codes[i].clone();
        let w = &w;
        async move {
            let extra = json!({ "missing": ["Giấy xác nhận cư trú"] });
            let (s, b) = w.act("tinh-a", &code, who, roles, action, extra).await;
            assert_eq!(s, 200, "{action} {code}: {b}");
            b
        }
    };
    let o = w.officer_a;
    // 0: received by the officer (assigned to them), left open: overdue in 30 days.
    let b = act(0, o, &["officer"], "receive").await;
    assert!(b["due_date"].is_string(), "{b}");
    assert_eq!(b["assignee_id"], o.to_string());
    // 1: left awaiting receipt.
    // 2: withdrawn: neither new nor overdue.
    act(2, w.citizen, &[], "withdraw").await;
    // 3: decided and returned: closed, never overdue.
    for action in ["receive", "start_review", "approve", "return"] {
        act(3, o, &["officer"], action).await;
    }
    // 4: waiting for the applicant's supplement: the clock is paused.
    for action in ["receive", "start_review", "request_supplement"] {
        act(4, o, &["officer"], action).await;
    }

    let settings = settings_for(&w.db);
    let pools = dvc::db::Pools::build(&settings.database);
    let day = local_date(Utc::now()) + Days::days(30);
    let digests = |day: NaiveDate| {
        let pools = pools.clone();
        async move {
            tokio::task::spawn_blocking(move || dvc::services::reminders::send_digests(&pools, day))
                .await
                .expect("digest task")
                .expect("send_digests")
        }
    };
    assert_eq!(digests(day).await, 1);
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.outbox WHERE template = 'officer_digest' \
             AND recipient = 'canbo.a@example.vn'"
        ),
        1
    );
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.outbox WHERE template = 'officer_digest'"
        ),
        1,
        "only the officer with an overdue dossier hears about it"
    );

    let digest_mails = |w: &World| -> Vec<(String, String, String)> {
        w.smtp
            .messages()
            .iter()
            .filter_map(|m| {
                let p = mail_parser::MessageParser::default().parse(m)?;
                let subject = p.subject()?.to_owned();
                if !subject.starts_with("Tổng hợp hồ sơ") {
                    return None;
                }
                let to = p.to()?.first()?.address()?.to_owned();
                let text = p.body_text(0)?.into_owned();
                Some((to, subject, text))
            })
            .collect()
    };
    assert!(
        eventually(Duration::from_secs(20), || async {
            !digest_mails(&w).is_empty()
        })
        .await,
        "no digest arrived: {:?}",
        w.subjects()
    );
    let mails = digest_mails(&w);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let (to, subject, text) = &mails[0];
    assert_eq!(to, "canbo.a@example.vn");
    let date = day.format("%d/%m/%Y").to_string();
    assert_eq!(
        subject,
        &format!("Tổng hợp hồ sơ ngày {date}: 1 mới, 1 quá hạn")
    );
    assert!(text.contains("Hồ sơ quá hạn: 1"), "{text}");
    assert!(text.contains("Hồ sơ mới chờ tiếp nhận: 1"), "{text}");
    assert!(text.contains("Cán bộ A"), "{text}");

    // Once a day: the same day again queues nothing; the next day does.
    assert_eq!(digests(day).await, 0);
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.outbox WHERE template = 'officer_digest'"
        ),
        1
    );
    let next = day + Days::days(1);
    assert_eq!(digests(next).await, 1);
    assert!(
        eventually(Duration::from_secs(20), || async {
            digest_mails(&w).len() >= 2
        })
        .await
    );
    let mut mails = digest_mails(&w);
    mails.sort();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails.iter().all(|(to, _, _)| to == "canbo.a@example.vn"));
    let next_date = next.format("%d/%m/%Y").to_string();
    assert!(
        mails.iter().any(|(_, s, _)| s.contains(&next_date)),
        "{mails:?}"
    );
}
