//! Statistics by intake channel (online, at the one-stop desk, by post) against a brute-force
//! recount of the dossier rows: per day, per procedure and in total, through the leader's and
//! the public API and through the store's own query; the roll-up adds the channels of the units
//! below. Dossiers are switched to `counter` or `postal` by SQL before the desk receives them
//! through the real `receive` action.

use crate::world::{PHONE, QUICK, WORK_PERMIT, World};
use chrono::{Duration as Days, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};
use dvc::services::calendar::local_date;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Received dossiers per channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ByChannel {
    received: i64,
    online: i64,
    counter: i64,
    postal: i64,
}

impl ByChannel {
    fn add(&mut self, channel: &str, n: i64) {
        self.received += n;
        match channel {
            "online" => self.online += n,
            "counter" => self.counter += n,
            "postal" => self.postal += n,
            other => panic!("unknown channel {other}"),
        }
    }

    fn from_json(v: &Value) -> Self {
        let n = |k: &str| {
            v[k].as_i64()
                .unwrap_or_else(|| panic!("{k} missing in {v}"))
        };
        Self {
            received: n("received"),
            online: n("received_online"),
            counter: n("received_counter"),
            postal: n("received_postal"),
        }
    }

    fn share(n: i64, of: i64) -> Option<f64> {
        (of > 0).then(|| (n as f64 / of as f64 * 100.0).round() / 100.0)
    }

    /// The shares as the API words them.
    fn assert_shares(&self, figures: &Value) {
        let got = |k: &str| figures[k].as_f64();
        assert_eq!(
            got("online_share"),
            Self::share(self.online, self.received),
            "{figures}"
        );
        assert_eq!(
            got("counter_share"),
            Self::share(self.counter, self.received),
            "{figures}"
        );
        assert_eq!(
            got("postal_share"),
            Self::share(self.postal, self.received),
            "{figures}"
        );
    }
}

#[derive(Debug, QueryableByName)]
struct Row {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = Text)]
    procedure_code: String,
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The brute-force recount: received dossiers per Vietnam-local day, procedure and channel,
/// straight from the dossier rows.
fn recount(w: &World, schema: &str) -> Vec<Row> {
    diesel::sql_query(format!(
        "SELECT ((received_at AT TIME ZONE 'UTC') + interval '7 hours')::date AS day,
                procedure_code, channel, count(*)::int8 AS n
           FROM {schema}.dossiers WHERE received_at IS NOT NULL
          GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    ))
    .load(&mut w.db.conn())
    .expect("recount")
}

fn per_day(rows: &[Row]) -> BTreeMap<NaiveDate, ByChannel> {
    let mut out: BTreeMap<NaiveDate, ByChannel> = BTreeMap::new();
    for r in rows {
        out.entry(r.day).or_default().add(&r.channel, r.n);
    }
    out
}

fn per_procedure(rows: &[Row]) -> BTreeMap<String, ByChannel> {
    let mut out: BTreeMap<String, ByChannel> = BTreeMap::new();
    for r in rows {
        out.entry(r.procedure_code.clone())
            .or_default()
            .add(&r.channel, r.n);
    }
    out
}

fn total(rows: &[Row]) -> ByChannel {
    let mut t = ByChannel::default();
    for r in rows {
        t.add(&r.channel, r.n);
    }
    t
}

/// What one dossier of the test does.
#[derive(Debug, Clone, Copy)]
struct Plan {
    tenant: &'static str,
    procedure: &'static str,
    channel: &'static str,
    receive: bool,
}

/// Files the dossier online, switches its channel by SQL as the desk would have recorded it,
/// and has the tenant's officer receive it through the API.
async fn run(w: &World, p: Plan) -> String {
    let code = if p.procedure == WORK_PERMIT {
        w.submit_work_permit(p.tenant, w.citizen).await
    } else {
        let (s, b) = w
            .req(
                "POST",
                &format!("/t/{}/api/v1/dossiers", p.tenant),
                Some(&w.token(w.citizen, p.tenant, &[])),
                Some(json!({ "procedure": QUICK, "phone": PHONE })),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        b["code"].as_str().unwrap().to_owned()
    };
    if p.channel != "online" {
        w.db.conn()
            .batch_execute(&format!(
                "UPDATE t_{}.dossiers SET channel = '{}' WHERE code = '{code}'",
                p.tenant.replace('-', "_"),
                p.channel
            ))
            .expect("set the channel");
    }
    if p.receive {
        let officer = if p.tenant == "tinh-a" {
            w.officer_a
        } else {
            w.officer_b
        };
        let (s, b) = w
            .act(p.tenant, &code, officer, &["officer"], "receive", json!({}))
            .await;
        assert_eq!(s, 200, "receive {code} ({p:?}): {b}");
    }
    code
}

fn tenant_id(w: &World, slug: &str) -> Uuid {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    diesel::sql_query(format!(
        "SELECT id FROM platform.tenants WHERE slug = '{slug}'"
    ))
    .get_result::<Id>(&mut w.db.conn())
    .expect("tenant id")
    .id
}

#[actix_web::test]
async fn channel_statistics_against_a_brute_force_recount() {
    let w = World::new(|_| {}).await;
    const CHANNELS: [&str; 3] = ["online", "counter", "postal"];
    // Three days, each with its own mix; every fourth dossier is filed and not received (it
    // must not count, whatever its channel).
    let now = Utc::now();
    let mut n = 0usize;
    for days_ago in [2i64, 1, 0] {
        w.app.clock.set(now - Days::days(days_ago));
        let count = 5 + days_ago as usize * 2;
        for i in 0..count {
            n += 1;
            let plan = Plan {
                tenant: if n.is_multiple_of(5) {
                    "tinh-b"
                } else {
                    "tinh-a"
                },
                procedure: if n.is_multiple_of(2) {
                    QUICK
                } else {
                    WORK_PERMIT
                },
                channel: CHANNELS[(n * 7 + i) % 3],
                receive: !n.is_multiple_of(4),
            };
            run(&w, plan).await;
        }
    }
    w.app.clock.set(Utc::now());

    let today = local_date(now);
    let (from, to) = (today - Days::days(2), today + Days::days(1));
    let rows_a = recount(&w, "t_tinh_a");
    let rows_b = recount(&w, "t_tinh_b");
    let truth_a = total(&rows_a);
    let days_a = per_day(&rows_a);
    // The mix is not trivial: every channel, every day, and some dossiers left unreceived.
    assert_eq!(days_a.len(), 3, "{days_a:?}");
    assert!(
        truth_a.online > 0 && truth_a.counter > 0 && truth_a.postal > 0,
        "{truth_a:?}"
    );
    assert!(total(&rows_b).received > 0 && total(&rows_b).received < 5);
    let filed_a = w.count("tinh-a", "dossiers");
    assert!(truth_a.received < filed_a, "{truth_a:?} of {filed_a}");

    let leader = w.token(w.leader_a, "tinh-a", &["leader"]);
    let stats = |from: NaiveDate, to: NaiveDate, public: bool| {
        let w = &w;
        let leader = leader.clone();
        async move {
            let (path, token) = if public {
                ("stats/public", None)
            } else {
                ("stats", Some(leader))
            };
            let (s, r) = w
                .req(
                    "GET",
                    &format!("/t/tinh-a/api/v1/{path}?from={from}&to={to}&rollup=false"),
                    token.as_deref(),
                    None,
                )
                .await;
            assert_eq!(s, 200, "{r}");
            r
        }
    };

    // Per day: the API's figures are the recount's, and the channels add up to `received`.
    for (day, truth) in &days_a {
        let r = stats(*day, *day + Days::days(1), false).await;
        let got = ByChannel::from_json(&r["total"]);
        assert_eq!(got, *truth, "{day}: {r}");
        assert_eq!(got.online + got.counter + got.postal, got.received);
        truth.assert_shares(&r["total"]);
    }

    // The whole period, in total and per procedure; the public view says the same.
    let r = stats(from, to, false).await;
    assert_eq!(ByChannel::from_json(&r["total"]), truth_a, "{r}");
    truth_a.assert_shares(&r["total"]);
    let online_share = r["total"]["online_share"].as_f64().unwrap();
    assert!(online_share > 0.0 && online_share < 1.0, "{r}");
    let procs: BTreeMap<String, ByChannel> = r["by_procedure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["code"].as_str().unwrap().to_owned(),
                ByChannel::from_json(&g["figures"]),
            )
        })
        .filter(|(_, c)| c.received > 0)
        .collect();
    assert_eq!(procs, per_procedure(&rows_a), "{r}");
    for g in r["by_procedure"].as_array().unwrap() {
        ByChannel::from_json(&g["figures"]).assert_shares(&g["figures"]);
    }
    let public = stats(from, to, true).await;
    assert_eq!(public["total"], r["total"]);

    // The store's own query, as the use cases call it, per day and over the period.
    let a = tenant_id(&w, "tinh-a");
    let mut conn = w.db.conn();
    for (day, truth) in &days_a {
        let counts = dvc::services::stats::counts(&mut conn, &[a], *day, *day + Days::days(1))
            .expect("counts");
        let mut got = ByChannel::default();
        for c in counts.values() {
            got.received += c.received;
            got.online += c.received_online;
            got.counter += c.received_counter;
            got.postal += c.received_postal;
        }
        assert_eq!(got, *truth, "{day}");
    }

    // The ministry's roll-up adds its units' channels.
    let bo = w.token(w.leader_bo, "bo", &["leader"]);
    let (s, all) = w
        .req(
            "GET",
            &format!("/t/bo/api/v1/stats?from={from}&to={to}"),
            Some(&bo),
            None,
        )
        .await;
    assert_eq!(s, 200, "{all}");
    let mut both = truth_a;
    let truth_b = total(&rows_b);
    both.received += truth_b.received;
    both.online += truth_b.online;
    both.counter += truth_b.counter;
    both.postal += truth_b.postal;
    assert_eq!(ByChannel::from_json(&all["total"]), both, "{all}");
    both.assert_shares(&all["total"]);
}
