//! Declared-process benchmarks (issue 18) and their set-up, driven by `bench/processes.sh`.
//!
//! ```text
//! cargo run --release --example processes -- setup <tenants>            # ministry + provinces, officials
//! cargo run --release --example processes -- fill <per_tenant>          # received dossiers, both paths (SQL)
//! cargo run --release --example processes -- tokens <out>               # officials' tokens, every province
//! cargo run --release --example processes -- drive <tokens> <base> <conns> <secs> <rounds>
//! cargo run --release --example processes -- setup-load <communes>      # tinh-tai + communes below it
//! cargo run --release --example processes -- fill-load <n> <open%> <late%>  # tinh-tai's dossiers (SQL)
//! cargo run --release --example processes -- leader-token <slug> <out>  # `slug token` for bench/stats.lua
//! cargo run --release --example processes -- load-sql <runs>            # the load view in process, and SQL
//! cargo run --release --example processes -- profile <slug> <n>         # statements of both paths, timed
//! ```
//! Settings come from the environment (`DVC__DATABASE__URL`, `DVC__AUTH__MASTER_KEY`, …).
//!
//! `drive` is the throughput driver: `conns` concurrent HTTP/1.1 keep-alive clients (awc, one
//! thread), each taking the next received dossier (round-robin over the provinces) and walking
//! it through its whole path with the version every answer returns, so every request is a
//! valid action. Rounds alternate the declared five-step process (`POST …/step`: desk forward →
//! specialist forward → division head forward → leader decides → clerk forwards) and the fixed
//! path (`POST …/actions`: start_review → approve → return) on the same server, after a
//! warm-up that walks one dossier of every province on each path.

#![allow(clippy::unwrap_used)] // a panic here is a failed test or bench, not an outage

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use dvc::config::Settings;
use dvc::db::build_pool_sized;
use dvc::hosting::apply::apply_files;
use dvc::hosting::files;
use dvc::services::calendar::{self, Calendar};
use dvc::services::processes::{Budget, step_due};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

const CITIZEN: &str = "11111111-1111-4111-8111-111111111111";
/// The officials: (name in the tokens file, account, tenant roles in the token).
const OFFICIALS: [(&str, &str, &str); 5] = [
    ("desk", "33333333-3333-4333-8333-000000000001", "officer"),
    (
        "specialist",
        "33333333-3333-4333-8333-000000000002",
        "officer",
    ),
    ("head", "33333333-3333-4333-8333-000000000003", "officer"),
    ("leader", "33333333-3333-4333-8333-000000000004", "leader"),
    ("clerk", "33333333-3333-4333-8333-000000000005", "officer"),
];
/// Unit memberships of the officials: (official, unit, role in the unit).
const MEMBERS: [(&str, &str, &str); 5] = [
    ("desk", "mot-cua", "officer"),
    ("specialist", "phong-chuyen-mon", "officer"),
    ("head", "phong-chuyen-mon", "leader"),
    ("leader", "lanh-dao", "leader"),
    ("clerk", "van-thu", "officer"),
];
const PROCESS_PROC: &str = "1.000001";
const FIXED_PROC: &str = "1.000002";
/// The province of the load view, and its code.
const LOAD_SLUG: &str = "tinh-tai";
const LOAD_PROCS: [&str; 4] = ["1.000001", "1.000003", "1.000004", "1.000005"];

fn account(official: &str) -> &'static str {
    OFFICIALS.iter().find(|o| o.0 == official).unwrap().1
}

const UNITS: &str = r#"
[[units]]
code = "mot-cua"
name = { vi = "Bộ phận một cửa" }

[[units]]
code = "phong-chuyen-mon"
name = { vi = "Phòng Việc làm" }

[[units]]
code = "lanh-dao"
name = { vi = "Lãnh đạo Sở" }

[[units]]
code = "van-thu"
name = { vi = "Văn thư" }

[[fields]]
code = "viec-lam"
name = { vi = "Việc làm" }
"#;

/// A procedure with the five-step process (48 working hours of a 10-day limit).
fn process_procedure(code: &str) -> String {
    format!(
        r#"
[[procedures]]
code = "{code}"
field = "viec-lam"
name = {{ vi = "Cấp giấy phép lao động cho người nước ngoài {code}" }}
online_level = "full"
processing_days = 10
pay_before_processing = false

[procedures.process]
steps = [
  {{ code = "tiep-nhan", name = {{ vi = "Tiếp nhận, chuyển xử lý" }}, unit = "mot-cua", role = "officer", actions = ["forward"], budget = {{ hours = 4 }} }},
  {{ code = "tham-dinh", name = {{ vi = "Thẩm định" }}, unit = "phong-chuyen-mon", role = "officer", actions = ["forward", "return", "ask_opinion", "request_supplement"], budget = {{ days = 3 }} }},
  {{ code = "truong-phong", name = {{ vi = "Trưởng phòng xem xét" }}, unit = "phong-chuyen-mon", role = "leader", actions = ["forward", "return"], budget = {{ days = 1 }} }},
  {{ code = "ky-duyet", name = {{ vi = "Lãnh đạo phê duyệt" }}, unit = "lanh-dao", role = "leader", actions = ["return", "decide"], budget = {{ days = 1 }} }},
  {{ code = "vao-so", name = {{ vi = "Vào sổ, đóng dấu" }}, unit = "van-thu", role = "officer", actions = ["forward"], budget = {{ hours = 4 }} }},
]
"#
    )
}

fn tenant_file(
    slug: &str,
    code: &str,
    kind: &str,
    parent: Option<&str>,
    procedures: &str,
) -> String {
    let parent = parent.map_or(String::new(), |p| format!("parent = \"{p}\"\n"));
    format!(
        "slug = \"{slug}\"\ncode = \"{code}\"\nkind = \"{kind}\"\n{parent}\
         name = {{ vi = \"Đơn vị {code}\" }}\n{UNITS}{procedures}"
    )
}

/// A province for the throughput run: one procedure with the process, one on the fixed path.
fn province(slug: &str, code: &str, parent: Option<&str>) -> files::TenantFile {
    let fixed = format!(
        r#"
[[procedures]]
code = "{FIXED_PROC}"
field = "viec-lam"
name = {{ vi = "Cấp lại giấy phép lao động" }}
online_level = "full"
processing_days = 10
pay_before_processing = false
"#
    );
    let procs = process_procedure(PROCESS_PROC) + &fixed;
    let text = tenant_file(slug, code, "province", parent, &procs);
    files::parse(Path::new(&format!("{slug}.toml")), &text).expect("generated file is valid")
}

fn settings() -> Settings {
    Settings::load().expect("settings from the environment")
}

fn conn(s: &Settings) -> PgConnection {
    PgConnection::establish(&s.database.url).expect("database")
}

fn schema_of(slug: &str) -> String {
    format!("t_{}", slug.replace('-', "_"))
}

/// The officials' accounts, and their unit memberships in `schema`'s tenant (SQL).
fn accounts_sql() -> String {
    let mut sql = format!(
        "INSERT INTO platform.accounts (id, kind, email, full_name, locale, password_hash, \
         email_verified_at) VALUES ('{CITIZEN}', 'citizen', 'dan@example.vn', 'Nguyễn Văn Dân', \
         'vi', 'x', now())"
    );
    for (name, id, _) in OFFICIALS {
        sql.push_str(&format!(
            ", ('{id}', 'citizen', '{name}@bench.example.vn', 'Cán bộ {name}', 'vi', 'x', now())"
        ));
    }
    sql + " ON CONFLICT DO NOTHING;"
}

fn members_sql(schema: &str) -> String {
    let values: Vec<String> = MEMBERS
        .iter()
        .map(|(who, unit, role)| format!("('{unit}', '{}', '{role}')", account(who)))
        .collect();
    format!(
        "INSERT INTO {schema}.unit_members (unit_code, account_id, role) VALUES {} \
         ON CONFLICT DO NOTHING;",
        values.join(", ")
    )
}

fn setup(tenants: usize) -> anyhow::Result<()> {
    let s = settings();
    let pool = build_pool_sized(&s.database, 2);
    let started = Instant::now();
    let ministry = files::parse(
        Path::new("bo-proc.toml"),
        &tenant_file("bo-proc", "BOP", "ministry", None, ""),
    )
    .expect("generated file is valid");
    apply_files(&pool, vec![ministry])?;
    for chunk in (1..=tenants).collect::<Vec<_>>().chunks(100) {
        let batch = chunk
            .iter()
            .map(|i| {
                province(
                    &format!("proc-{i:04}"),
                    &format!("P{i:04}"),
                    Some("bo-proc"),
                )
            })
            .collect();
        apply_files(&pool, batch)?;
    }
    let mut c = conn(&s);
    c.batch_execute(&accounts_sql())?;
    for i in 1..=tenants {
        c.batch_execute(&members_sql(&schema_of(&format!("proc-{i:04}"))))?;
    }
    println!(
        "set up 1 ministry and {tenants} provinces below it (units, officials, a five-step \
         process and a fixed-path procedure each) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `per_tenant` received dossiers of each procedure in every province, as `receive` leaves
/// them (version 2, the legal due date set; the process's at step 0 with that step's due
/// time), with their two events and the applicant's index row.
fn fill(per_tenant: usize) -> anyhow::Result<()> {
    let s = settings();
    let mut c = conn(&s);
    let started = Instant::now();
    let now = chrono::Utc::now();
    let cal = Calendar::vietnam();
    let due = calendar::due_date(cal, calendar::local_date(now), 10);
    let step0_due = step_due(cal, now, Budget::Hours(4));
    let desk = account("desk");
    let slugs: Vec<(uuid::Uuid, String, String)> = dvc::db::schema::tenants::table
        .filter(dvc::db::schema::tenants::slug.like("proc-%"))
        .select((
            dvc::db::schema::tenants::id,
            dvc::db::schema::tenants::slug,
            dvc::db::schema::tenants::code,
        ))
        .order(dvc::db::schema::tenants::slug)
        .load(&mut c)?;
    for (id, slug, code) in &slugs {
        let schema = schema_of(slug);
        c.batch_execute(&format!(
            "BEGIN;
             SET LOCAL search_path = {schema};
             INSERT INTO dossiers (id, code, procedure_code, applicant_id, applicant_name,
                 applicant_email, locale, lookup_hash, channel, form_data, fee_vnd, status,
                 version, assignee_id, submitted_at, received_at, due_date, step,
                 step_entered_at, step_due_at, updated_at)
             SELECT gen_random_uuid(), '{code}-251201-' || (p * 100000 + g),
                 CASE p WHEN 1 THEN '{PROCESS_PROC}' ELSE '{FIXED_PROC}' END,
                 '{CITIZEN}', 'Nguyễn Văn Dân', 'dan@example.vn', 'vi', '\\x00', 'online', '{{}}',
                 0, 'received', 2, '{desk}', '{now}'::timestamptz - interval '1 hour', '{now}',
                 '{due}', CASE p WHEN 1 THEN 0 END, CASE p WHEN 1 THEN '{now}'::timestamptz END,
                 CASE p WHEN 1 THEN '{step0_due}'::timestamptz END, '{now}'
             FROM generate_series(1, 2) p, generate_series(1, {per_tenant}) g;
             INSERT INTO dossier_events (dossier_id, seq, actor_id, actor_role, from_status,
                 to_status, details, at)
             SELECT id, 1, '{CITIZEN}'::uuid, 'applicant', NULL, 'submitted', '{{}}'::jsonb,
                 submitted_at
             FROM dossiers WHERE code LIKE '{code}-251201-%'
             UNION ALL
             SELECT id, 2, '{desk}'::uuid, 'officer', 'submitted', 'received', '{{}}'::jsonb,
                 received_at
             FROM dossiers WHERE code LIKE '{code}-251201-%';
             INSERT INTO platform.dossier_index (tenant_id, dossier_id, account_id, code,
                 procedure_code, procedure_name, status, submitted_at, updated_at)
             SELECT '{id}', id, '{CITIZEN}', code, procedure_code, 'Giấy phép lao động',
                 'received', submitted_at, updated_at
             FROM dossiers WHERE code LIKE '{code}-251201-%';
             COMMIT;"
        ))?;
    }
    c.batch_execute("ANALYZE platform.dossier_index")?;
    println!(
        "{} received dossiers in each of {} provinces in {:.1} s",
        2 * per_tenant,
        slugs.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn keyring(s: &Settings) -> anyhow::Result<dvc::auth::keys::Keyring> {
    let master = dvc::auth::keys::MasterKey::parse(
        s.auth
            .master_key
            .as_ref()
            .map_or("", |k| secrecy::ExposeSecret::expose_secret(k)),
    )?;
    Ok(dvc::auth::keys::Keyring::load(&mut conn(s), Some(&master))?)
}

fn token(
    s: &Settings,
    ring: &dvc::auth::keys::Keyring,
    slug: &str,
    sub: &str,
    roles: &[&str],
) -> anyhow::Result<String> {
    let now = chrono::Utc::now().timestamp();
    Ok(dvc::auth::tokens::issue(
        ring,
        &dvc::auth::tokens::AccessClaims {
            iss: s.auth.issuer.trim_end_matches('/').to_owned(),
            sub: uuid::Uuid::parse_str(sub)?,
            aud: slug.to_owned(),
            client_id: format!("portal-{slug}"),
            sid: uuid::Uuid::new_v4(),
            iat: now,
            exp: now + 3 * 3600,
            nbf: None,
            jti: uuid::Uuid::new_v4(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        },
    )?)
}

/// `slug official token` lines: the five officials of every province.
fn tokens(out: &str) -> anyhow::Result<()> {
    let s = settings();
    let ring = keyring(&s)?;
    let slugs: Vec<String> = dvc::db::schema::tenants::table
        .filter(dvc::db::schema::tenants::slug.like("proc-%"))
        .select(dvc::db::schema::tenants::slug)
        .order(dvc::db::schema::tenants::slug)
        .load(&mut conn(&s))?;
    let mut lines = String::new();
    for slug in slugs {
        for (name, id, role) in OFFICIALS {
            let t = token(&s, &ring, &slug, id, &[role])?;
            lines.push_str(&format!("{slug} {name} {t}\n"));
        }
    }
    std::fs::write(out, lines)?;
    Ok(())
}

fn leader_token(slug: &str, out: &str) -> anyhow::Result<()> {
    let s = settings();
    let ring = keyring(&s)?;
    let t = token(&s, &ring, slug, account("leader"), &["leader"])?;
    std::fs::write(out, format!("{slug} {t}\n"))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The driver.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PathKind {
    Process,
    Fixed,
}

/// One request of a dossier's path: (official, endpoint, body without the version).
type Act = (&'static str, &'static str, &'static str);

const PROCESS_ACTS: [Act; 5] = [
    ("desk", "step", r#""action":"forward""#),
    ("specialist", "step", r#""action":"forward""#),
    ("head", "step", r#""action":"forward""#),
    ("leader", "step", r#""action":"decide","outcome":"approve""#),
    ("clerk", "step", r#""action":"forward""#),
];
const FIXED_ACTS: [Act; 3] = [
    ("specialist", "actions", r#""action":"start_review""#),
    ("leader", "actions", r#""action":"approve""#),
    ("desk", "actions", r#""action":"return""#),
];

impl PathKind {
    fn acts(self) -> &'static [Act] {
        match self {
            Self::Process => &PROCESS_ACTS,
            Self::Fixed => &FIXED_ACTS,
        }
    }
}

/// A dossier on its way: which province (index), its code, the next action and its version.
#[derive(Clone, Debug)]
struct Walk {
    tenant: usize,
    code: String,
    next: usize,
    version: i32,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: BTreeMap<u16, usize>,
    samples: Vec<String>,
    dossiers_done: usize,
}

struct Shared {
    base: String,
    slugs: Vec<String>,
    /// Per province: official name → token.
    tokens: Vec<BTreeMap<String, String>>,
    queues: [RefCell<VecDeque<Walk>>; 2],
    /// How many more dossiers this round may start (the warm-up's limit).
    starts_left: std::cell::Cell<usize>,
}

fn queue_of(shared: &Shared, kind: PathKind) -> &RefCell<VecDeque<Walk>> {
    &shared.queues[kind as usize]
}

#[derive(serde::Deserialize)]
struct Summary {
    version: i32,
}

async fn worker(
    client: awc::Client,
    shared: Rc<Shared>,
    kind: PathKind,
    deadline: Instant,
    tally: Rc<RefCell<Tally>>,
) {
    let acts = kind.acts();
    let mut current: Option<Walk> = None;
    while Instant::now() < deadline {
        let mut walk = match current.take() {
            Some(w) => w,
            None => {
                let left = shared.starts_left.get();
                let next = if left == 0 {
                    None
                } else {
                    queue_of(&shared, kind).borrow_mut().pop_front()
                };
                match next {
                    Some(w) => {
                        shared.starts_left.set(left - 1);
                        w
                    }
                    None => return,
                }
            }
        };
        let (who, endpoint, body) = acts[walk.next];
        let slug = &shared.slugs[walk.tenant];
        let url = format!(
            "{}/t/{slug}/api/v1/dossiers/{}/{endpoint}",
            shared.base, walk.code
        );
        let json = format!("{{{body},\"version\":{}}}", walk.version);
        let started = Instant::now();
        let sent = client
            .post(url)
            .insert_header((
                "Authorization",
                format!("Bearer {}", shared.tokens[walk.tenant][who]),
            ))
            .insert_header(("Content-Type", "application/json"))
            .send_body(json)
            .await;
        // (The tally is borrowed only between awaits: the other clients share it.)
        let answer = match sent {
            Ok(mut resp) => Ok((
                resp.status().as_u16(),
                resp.body().await.unwrap_or_default(),
            )),
            Err(e) => Err(e),
        };
        let mut t = tally.borrow_mut();
        match answer {
            Ok((status, bytes)) => {
                t.latencies_us
                    .push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
                if status == 200 {
                    let summary: Summary = serde_json::from_slice(&bytes).unwrap();
                    walk.version = summary.version;
                    walk.next += 1;
                    if walk.next < acts.len() {
                        current = Some(walk);
                    } else {
                        t.dossiers_done += 1;
                    }
                } else {
                    *t.errors.entry(status).or_default() += 1;
                    if t.samples.len() < 5 {
                        t.samples.push(format!(
                            "{status} {}: {}",
                            walk.code,
                            String::from_utf8_lossy(&bytes)
                        ));
                    }
                }
            }
            Err(e) => {
                *t.errors.entry(0).or_default() += 1;
                if t.samples.len() < 5 {
                    t.samples.push(format!("{}: {e}", walk.code));
                }
            }
        }
    }
    // Time is up mid-path: the next round of this path goes on from here.
    if let Some(w) = current {
        queue_of(&shared, kind).borrow_mut().push_front(w);
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64) * p).ceil() as usize;
    f64::from(sorted[i.clamp(1, sorted.len()) - 1]) / 1000.0
}

struct RoundResult {
    actions: usize,
    secs: f64,
    tally: Tally,
}

async fn round(
    client: &awc::Client,
    shared: &Rc<Shared>,
    kind: PathKind,
    conns: usize,
    secs: f64,
    starts: usize,
) -> RoundResult {
    shared.starts_left.set(starts);
    let tally = Rc::new(RefCell::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let handles: Vec<_> = (0..conns)
        .map(|_| {
            actix_web::rt::spawn(worker(
                client.clone(),
                shared.clone(),
                kind,
                deadline,
                tally.clone(),
            ))
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let mut tally = Rc::try_unwrap(tally).ok().unwrap().into_inner();
    tally.latencies_us.sort_unstable();
    RoundResult {
        actions: tally.latencies_us.len() - tally.errors.values().sum::<usize>(),
        secs,
        tally,
    }
}

fn drive(
    tokens_file: &str,
    base: &str,
    conns: usize,
    secs: f64,
    rounds: usize,
) -> anyhow::Result<()> {
    // Tokens and the dossiers waiting at each province, read from the database.
    let mut slugs: Vec<String> = Vec::new();
    let mut tokens: Vec<BTreeMap<String, String>> = Vec::new();
    for line in std::fs::read_to_string(tokens_file)?.lines() {
        let mut parts = line.split(' ');
        let (slug, who, token) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        if slugs.last().map(String::as_str) != Some(slug) {
            slugs.push(slug.to_owned());
            tokens.push(BTreeMap::new());
        }
        tokens
            .last_mut()
            .unwrap()
            .insert(who.to_owned(), token.to_owned());
    }
    let s = settings();
    let mut c = conn(&s);
    let mut per_tenant: Vec<[Vec<(String, i32)>; 2]> = Vec::new();
    for slug in &slugs {
        #[derive(QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = diesel::sql_types::Text)]
            code: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            procedure_code: String,
            #[diesel(sql_type = diesel::sql_types::Integer)]
            version: i32,
        }
        let rows: Vec<Waiting> = diesel::sql_query(format!(
            "SELECT code, procedure_code, version FROM {}.dossiers WHERE status = 'received' \
             ORDER BY code",
            schema_of(slug)
        ))
        .load(&mut c)?;
        let mut both: [Vec<(String, i32)>; 2] = [vec![], vec![]];
        for r in rows {
            let k = if r.procedure_code == PROCESS_PROC {
                PathKind::Process
            } else {
                PathKind::Fixed
            };
            both[k as usize].push((r.code, r.version));
        }
        per_tenant.push(both);
    }
    // Round-robin over the provinces: the first dossier of each, then the second, …
    let mut queues = [VecDeque::new(), VecDeque::new()];
    for (k, q) in queues.iter_mut().enumerate() {
        let deepest = per_tenant.iter().map(|t| t[k].len()).max().unwrap_or(0);
        for j in 0..deepest {
            for (tenant, t) in per_tenant.iter().enumerate() {
                if let Some((code, version)) = t[k].get(j) {
                    q.push_back(Walk {
                        tenant,
                        code: code.clone(),
                        next: 0,
                        version: *version,
                    });
                }
            }
        }
    }
    println!(
        "{} provinces; waiting: {} dossiers on the process, {} on the fixed path; {conns} \
         connections, {secs} s per round",
        slugs.len(),
        queues[0].len(),
        queues[1].len()
    );
    let [q0, q1] = queues;
    let shared = Rc::new(Shared {
        base: base.to_owned(),
        slugs,
        tokens,
        queues: [RefCell::new(q0), RefCell::new(q1)],
        starts_left: std::cell::Cell::new(0),
    });
    let provinces = shared.slugs.len();
    actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::builder()
            .connector(awc::Connector::new().limit(conns))
            .timeout(Duration::from_secs(30))
            .finish();
        // Warm-up: one whole dossier in every province on each path (every schema's
        // statements prepared on the connections that serve it), at most a minute.
        for kind in [PathKind::Process, PathKind::Fixed] {
            let r = round(&client, &shared, kind, conns, 60.0, provinces).await;
            println!(
                "warm-up {kind:?}: {} actions in {:.1} s, errors {:?} {:?}",
                r.actions, r.secs, r.tally.errors, r.tally.samples
            );
        }
        let mut all: [Vec<RoundResult>; 2] = [vec![], vec![]];
        for i in 0..rounds {
            for kind in [PathKind::Process, PathKind::Fixed] {
                let r = round(&client, &shared, kind, conns, secs, usize::MAX).await;
                let l = &r.tally.latencies_us;
                println!(
                    "round {} {kind:?}: {:.0} actions/s (p50 {:.1} ms, p99 {:.1} ms), {} \
                     dossiers finished, errors {:?} {:?}",
                    i + 1,
                    r.actions as f64 / r.secs,
                    percentile(l, 0.50),
                    percentile(l, 0.99),
                    r.tally.dossiers_done,
                    r.tally.errors,
                    r.tally.samples
                );
                all[kind as usize].push(r);
            }
        }
        for kind in [PathKind::Process, PathKind::Fixed] {
            let rs = &all[kind as usize];
            let actions: usize = rs.iter().map(|r| r.actions).sum();
            let secs: f64 = rs.iter().map(|r| r.secs).sum();
            let mut l: Vec<u32> = rs
                .iter()
                .flat_map(|r| r.tally.latencies_us.iter().copied())
                .collect();
            l.sort_unstable();
            let errors: usize = rs
                .iter()
                .map(|r| r.tally.errors.values().sum::<usize>())
                .sum();
            // One line per path for bench/processes.sh.
            println!(
                "RESULT {} {:.0} {:.1} {:.1} {errors} {actions}",
                match kind {
                    PathKind::Process => "process",
                    PathKind::Fixed => "fixed",
                },
                actions as f64 / secs,
                percentile(&l, 0.50),
                percentile(&l, 0.99),
            );
        }
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The load view.

fn setup_load(communes: usize) -> anyhow::Result<()> {
    let s = settings();
    let pool = build_pool_sized(&s.database, 2);
    let started = Instant::now();
    let procs: String = LOAD_PROCS.iter().map(|p| process_procedure(p)).collect();
    let text = tenant_file(LOAD_SLUG, "TTAI", "province", None, &procs);
    apply_files(
        &pool,
        vec![files::parse(Path::new("tinh-tai.toml"), &text).expect("generated file is valid")],
    )?;
    for chunk in (1..=communes).collect::<Vec<_>>().chunks(100) {
        let batch = chunk
            .iter()
            .map(|i| {
                let slug = format!("xa-{i:03}");
                let text = tenant_file(
                    &slug,
                    &format!("X{i:03}"),
                    "commune",
                    Some(LOAD_SLUG),
                    &process_procedure(PROCESS_PROC),
                );
                files::parse(Path::new(&format!("{slug}.toml")), &text)
                    .expect("generated file is valid")
            })
            .collect();
        apply_files(&pool, batch)?;
    }
    let mut c = conn(&s);
    c.batch_execute(&accounts_sql())?;
    c.batch_execute(&members_sql(&schema_of(LOAD_SLUG)))?;
    println!(
        "set up {LOAD_SLUG} (4 procedures with the five-step process) and {communes} communes \
         below it in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Replaces `tinh-tai`'s dossiers with `n` of them over its four procedures: `open_pct` % still
/// at a step (spread evenly over the five), of which `late_pct` % are past the step's due time
/// (by up to ten days); the rest resolved and returned over the past year, their last step
/// kept as `act_at_step` leaves it.
fn fill_load(n: usize, open_pct: u32, late_pct: u32) -> anyhow::Result<()> {
    let s = settings();
    let mut c = conn(&s);
    let schema = schema_of(LOAD_SLUG);
    let started = Instant::now();
    let procs = LOAD_PROCS
        .iter()
        .map(|p| format!("'{p}'"))
        .collect::<Vec<_>>()
        .join(", ");
    c.batch_execute(&format!(
        "BEGIN;
         SET LOCAL search_path = {schema};
         TRUNCATE dossier_events, dossiers CASCADE;
         INSERT INTO dossiers (id, code, procedure_code, applicant_id, applicant_name, locale,
             lookup_hash, channel, form_data, fee_vnd, status, version, submitted_at,
             received_at, due_date, resolved_at, returned_at, decision, step, step_entered_at,
             step_due_at, updated_at)
         SELECT gen_random_uuid(), 'TTAI-' || to_char(d, 'YYMMDD') || '-' || lpad(g::text, 6, '0'),
             (ARRAY[{procs}])[1 + pr], '{CITIZEN}', 'Nguyễn Văn Dân', 'vi', '\\x00',
             'online', '{{}}', 0,
             CASE WHEN open THEN CASE WHEN st = 0 THEN 'received' ELSE 'in_review' END
                  ELSE 'returned' END,
             CASE WHEN open THEN 2 + st ELSE 8 END,
             d, d + interval '1 hour', (d + interval '14 days')::date,
             CASE WHEN NOT open THEN d + interval '6 days' END,
             CASE WHEN NOT open THEN d + interval '7 days' END,
             CASE WHEN NOT open OR st = 4 THEN 'approve' END,
             CASE WHEN open THEN st ELSE 4 END,
             CASE WHEN open THEN now() - interval '1 hour' ELSE d + interval '6 days' END,
             CASE WHEN NOT open THEN NULL
                  WHEN late THEN now() - (1 + g % 240) * interval '1 hour'
                  ELSE now() + (1 + g % 240) * interval '1 hour' END,
             d
         FROM (SELECT g,
                   (g % 100) < {open_pct} AS open,
                   abs(hashtext('late' || g)) % 100 < {late_pct} AS late,
                   abs(hashtext('step' || g)) % 5 AS st,
                   abs(hashtext('proc' || g)) % 4 AS pr,
                   CASE WHEN (g % 100) < {open_pct} THEN now() - (g % 10) * interval '1 day'
                        ELSE now() - (10 + g % 355) * interval '1 day' END AS d
               FROM generate_series(1, {n}) g) x;
         COMMIT;
         ANALYZE {schema}.dossiers;"
    ))?;
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        open: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        late: i64,
    }
    let k: Counts = diesel::sql_query(format!(
        "SELECT count(*) FILTER (WHERE status IN ('received', 'in_review')) AS open, \
         count(*) FILTER (WHERE step_due_at < now()) AS late FROM {schema}.dossiers"
    ))
    .get_result(&mut c)?;
    println!(
        "{LOAD_SLUG}: {n} dossiers, {} open at a step, {} of them late, in {:.1} s",
        k.open,
        k.late,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The SQL the load view runs today (as `load_by_step` builds it), and a proposal that lets
/// PostgreSQL count and pick the late codes, for `EXPLAIN ANALYZE` and timing side by side.
const OPEN: &str = "('submitted', 'received', 'in_review', 'supplement_requested', \
                    'resubmitted', 'incomplete')";

fn current_sql() -> String {
    format!(
        "SELECT d.code, d.procedure_code, d.step, d.step_due_at, p.process FROM dossiers d \
         JOIN procedures p ON p.code = d.procedure_code \
         WHERE d.step IS NOT NULL AND d.status IN {OPEN} ORDER BY d.step_due_at ASC NULLS LAST"
    )
}

fn proposed_sql() -> String {
    format!(
        "SELECT g.procedure_code, g.step, g.open, g.late, \
                ARRAY(SELECT l.code FROM dossiers l \
                      WHERE l.procedure_code = g.procedure_code AND l.step = g.step \
                        AND l.status IN {OPEN} AND l.step_due_at < now() \
                      ORDER BY l.step_due_at LIMIT 20) AS late_codes \
         FROM (SELECT procedure_code, step, count(*) AS open, \
                      count(*) FILTER (WHERE step_due_at < now()) AS late \
               FROM dossiers WHERE step IS NOT NULL AND status IN {OPEN} \
               GROUP BY procedure_code, step) g"
    )
}

fn load_sql(runs: usize) -> anyhow::Result<()> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    #[derive(QueryableByName)]
    #[allow(dead_code)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::Text)]
        code: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Jsonb>)]
        process: Option<serde_json::Value>,
    }
    #[derive(QueryableByName)]
    #[allow(dead_code)]
    struct Code {
        #[diesel(sql_type = diesel::sql_types::Text)]
        code: String,
    }
    #[derive(QueryableByName)]
    #[allow(dead_code)]
    struct Group {
        #[diesel(sql_type = diesel::sql_types::Text)]
        procedure_code: String,
    }
    let s = settings();
    let mut c = conn(&s);
    c.batch_execute(&format!("SET search_path = {}", schema_of(LOAD_SLUG)))?;
    let time = |c: &mut PgConnection, what: &str, f: &dyn Fn(&mut PgConnection) -> usize| {
        let mut ms: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                f(c);
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        println!(
            "{what}, {runs} runs on one connection: median {:.1} ms, max {:.1} ms, {} rows",
            ms[ms.len() / 2],
            ms[ms.len() - 1],
            f(c)
        );
    };
    time(&mut c, "load_by_step in process (no HTTP)", &|c| {
        dvc::services::dossiers::store::load_by_step(c, chrono::Utc::now())
            .unwrap()
            .len()
    });
    let without_process = current_sql().replace(", p.process FROM", " FROM");
    time(
        &mut c,
        "the former load_by_step SQL, rows fetched with the process JSON of each",
        &|c| {
            diesel::sql_query(current_sql())
                .load::<Held>(c)
                .unwrap()
                .len()
        },
    );
    time(&mut c, "the former SQL without the process column", &|c| {
        diesel::sql_query(without_process.clone())
            .load::<Code>(c)
            .unwrap()
            .len()
    });
    time(
        &mut c,
        "proposed SQL (counts and late codes in PostgreSQL)",
        &|c| {
            diesel::sql_query(proposed_sql())
                .load::<Group>(c)
                .unwrap()
                .len()
        },
    );
    let explain = |c: &mut PgConnection, name: &str, sql: &str| -> anyhow::Result<()> {
        println!("-- {name}");
        let lines: Vec<Line> =
            diesel::sql_query(format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")).load(c)?;
        for l in lines {
            println!("{}", l.line);
        }
        Ok(())
    };
    explain(&mut c, "current", &current_sql())?;
    explain(&mut c, "proposed", &proposed_sql())?;
    // The partial index came with migration 2026-12-07-000006; without it, for comparison
    // (dropped in a transaction that is rolled back).
    c.batch_execute("BEGIN; DROP INDEX dossiers_step_load_idx; ANALYZE dossiers")?;
    time(&mut c, "proposed SQL without the partial index", &|c| {
        diesel::sql_query(proposed_sql())
            .load::<Group>(c)
            .unwrap()
            .len()
    });
    explain(
        &mut c,
        "proposed, without the partial index",
        &proposed_sql(),
    )?;
    c.batch_execute("ROLLBACK")?;
    Ok(())
}

/// Where an action's time goes, without HTTP: `n` received dossiers of each path in `slug`
/// walked through the store functions the handlers call (one connection, a transaction per
/// action as the handlers run them), every statement timed through diesel's instrumentation.
fn profile(slug: &str, n: usize) -> anyhow::Result<()> {
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use dvc::services::dossiers::store::{self, Outcome, StepRequest};
    use dvc::services::dossiers::{Action, ActionRequest, Caller, DossierCode, Scope};
    use dvc::services::processes::StepAction;
    use std::sync::{Arc, Mutex};

    type Log = Arc<Mutex<(Option<Instant>, Vec<(String, Duration)>)>>;
    struct Timer(Log);
    impl Instrumentation for Timer {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            let mut log = self.0.lock().unwrap();
            match event {
                InstrumentationEvent::StartQuery { .. } => log.0 = Some(Instant::now()),
                InstrumentationEvent::FinishQuery { query, .. } => {
                    let sql = query.to_string();
                    let sql = sql.split(" -- binds").next().unwrap_or("");
                    let key: String = sql.chars().take(90).collect();
                    let took = log.0.take().map_or(Duration::ZERO, |t| t.elapsed());
                    log.1.push((key, took));
                }
                _ => {}
            }
        }
    }

    let s = settings();
    let mut c = conn(&s);
    let (tenant_id, code): (uuid::Uuid, String) = dvc::db::schema::tenants::table
        .filter(dvc::db::schema::tenants::slug.eq(slug))
        .select((dvc::db::schema::tenants::id, dvc::db::schema::tenants::code))
        .first(&mut c)?;
    let parent = "bo-proc";
    let scope = Scope {
        tenant_id,
        tenant_slug: slug.to_owned(),
        tenant_code: code.clone(),
        code_prefix: code,
        links_base: "http://localhost:8080".into(),
        portal_origin: format!("http://{slug}.localhost:8080"),
        due_soon_days: 2,
        sync_targets: Arc::new(vec![dvc::services::sync::Target {
            endpoint: format!("parent:{parent}"),
            url: format!("http://127.0.0.1:9/t/{parent}/api/v1/sync/events"),
        }]),
        texts: dvc::notify::TextPolicy::default(),
        shared_writes: dvc::config::SharedWrites::Direct,
    };
    c.batch_execute(&format!("SET search_path = {}", schema_of(slug)))?;
    #[derive(QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        code: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        version: i32,
    }
    let waiting = |c: &mut PgConnection, procedure: &str| -> anyhow::Result<Vec<Waiting>> {
        Ok(diesel::sql_query(format!(
            "SELECT code, version FROM dossiers WHERE status = 'received' \
             AND procedure_code = '{procedure}' ORDER BY code LIMIT {n}"
        ))
        .load(c)?)
    };
    let process = waiting(&mut c, PROCESS_PROC)?;
    let fixed = waiting(&mut c, FIXED_PROC)?;
    let log: Log = Arc::new(Mutex::new((None, Vec::new())));
    c.set_instrumentation(Timer(log.clone()));
    let caller = |who: &str| Caller {
        account: uuid::Uuid::parse_str(account(who)).unwrap(),
        officer: OFFICIALS.iter().any(|o| o.0 == who && o.2 == "officer"),
        leader: OFFICIALS.iter().any(|o| o.0 == who && o.2 == "leader"),
    };
    for (name, dossiers) in [("process", process), ("fixed", fixed)] {
        log.lock().unwrap().1.clear();
        let mut actions = 0usize;
        let started = Instant::now();
        for d in dossiers {
            let code = DossierCode::parse(&d.code)?;
            let mut version = d.version;
            let acts = if name == "process" {
                &PROCESS_ACTS[..]
            } else {
                &FIXED_ACTS[..]
            };
            for (who, _, body) in acts {
                let who = caller(who);
                let now = chrono::Utc::now();
                let summary = c
                    .transaction(|c| {
                        if name == "process" {
                            let req = StepRequest {
                                action: if body.contains("decide") {
                                    StepAction::Decide
                                } else {
                                    StepAction::Forward
                                },
                                version,
                                note: None,
                                unit: None,
                                outcome: body.contains("decide").then_some(Outcome::Approve),
                            };
                            store::act_at_step(c, &scope, &code, &who, &req, now)
                        } else {
                            let action = if body.contains("start_review") {
                                Action::StartReview
                            } else if body.contains("approve") {
                                Action::Approve
                            } else {
                                Action::Return
                            };
                            let req = ActionRequest {
                                action,
                                version,
                                note: None,
                                missing: vec![],
                                form_data: None,
                                files: vec![],
                            };
                            store::act(c, &scope, &code, &who, &req, now)
                        }
                    })
                    .map_err(|e| anyhow::anyhow!("{}: {e}", d.code))?;
                version = summary.version;
                actions += 1;
            }
        }
        let total = started.elapsed();
        let log = log.lock().unwrap();
        let mut by: BTreeMap<&str, (usize, Duration)> = BTreeMap::new();
        for (sql, took) in &log.1 {
            let e = by.entry(sql.as_str()).or_default();
            e.0 += 1;
            e.1 += *took;
        }
        let mut rows: Vec<_> = by.into_iter().collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.1.1));
        let per = |d: Duration| d.as_secs_f64() * 1e6 / actions as f64;
        println!(
            "{name}: {actions} actions in {:.0} ms, {:.0} µs per action (statements {:.0} µs), \
             {:.1} statements per action",
            total.as_secs_f64() * 1000.0,
            per(total),
            per(log.1.iter().map(|x| x.1).sum()),
            log.1.len() as f64 / actions as f64
        );
        for (sql, (count, took)) in rows {
            println!(
                "  {:6.2} per action {:7.0} µs per action  {sql}",
                count as f64 / actions as f64,
                per(took)
            );
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match arg(0).as_str() {
        "setup" => setup(arg(1).parse().unwrap_or(1000)),
        "fill" => fill(arg(1).parse().unwrap_or(15)),
        "tokens" => tokens(&arg(1)),
        "drive" => drive(
            &arg(1),
            &arg(2),
            arg(3).parse().unwrap_or(64),
            arg(4).parse().unwrap_or(10.0),
            arg(5).parse().unwrap_or(2),
        ),
        "setup-load" => setup_load(arg(1).parse().unwrap_or(300)),
        "fill-load" => fill_load(
            arg(1).parse().unwrap_or(100_000),
            arg(2).parse().unwrap_or(10),
            arg(3).parse().unwrap_or(20),
        ),
        "leader-token" => leader_token(&arg(1), &arg(2)),
        "load-sql" => load_sql(arg(1).parse().unwrap_or(20)),
        "profile" => profile(&arg(1), arg(2).parse().unwrap_or(200)),
        _ => {
            eprintln!("usage: see the comment at the top of bench/processes.rs");
            Ok(())
        }
    }
}
