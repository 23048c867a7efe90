//! Test harness: a fresh database per test, real PostgreSQL and Redis, the real server on port 0.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use dvc::config::{LogFormat, Settings};
use dvc::db::{PgPool, build_pool_sized};
use dvc::hosting::apply::{ApplyReport, apply_files};
use dvc::hosting::files;
use dvc::tenancy::migrator::migrate_platform;
use std::path::Path;
use uuid::Uuid;

pub fn admin_url() -> String {
    std::env::var("DVC_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("DVC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The test database's URL. Plain connections (no TLS, no GSSAPI) to the local server: the
/// database is dropped while a test's servers still run, so their pool threads keep
/// reconnecting as the process exits, and through OpenSSL or krb5 those attempts race the
/// libraries' exit-time cleanup (SIGSEGV, or SIGABRT in `k5_mutex_lock`) after a passing test.
fn url_for(db: &str) -> String {
    let admin = admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{db}?sslmode=disable&gssencmode=disable")
}

/// A database of its own, with the platform schema migrated; dropped at the end of the test.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> Self {
        let name = format!("dvc_test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url()).expect("connect to PostgreSQL");
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
            ))
            .expect("create test database");
        let url = url_for(&name);
        if let Some(workers) = citus_workers() {
            make_citus_cluster(&name, &url, &workers);
        }
        migrate_platform(&url).expect("migrate platform schema");
        Self { name, url }
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to test database")
    }

    pub fn pool(&self, size: u32) -> PgPool {
        build_pool_sized(&settings_for(self).database, size)
    }

    /// Applies tenant files from a folder.
    pub fn apply_dir(&self, dir: &Path) -> ApplyReport {
        let pool = self.pool(2);
        dvc::hosting::apply::apply_path(&pool, dir).expect("apply tenant files")
    }

    /// Applies tenant files given as (file name, text).
    pub fn apply_texts(&self, texts: &[(&str, String)]) -> ApplyReport {
        let parsed = texts
            .iter()
            .map(|(name, text)| files::parse(Path::new(name), text).expect("valid tenant file"))
            .collect();
        apply_files(&self.pool(2), parsed).expect("apply tenant files")
    }

    /// Tenants `alpha` (ALPHA, `na` procedures) and `beta` (BETA, `nb`), so every test sees
    /// at least two tenants.
    pub fn apply_two(&self, na: usize, nb: usize) -> ApplyReport {
        self.apply_texts(&[
            ("alpha.toml", tenant_toml("alpha", "ALPHA", na)),
            ("beta.toml", tenant_toml("beta", "BETA", nb)),
        ])
    }

    /// One text value (`SELECT … AS s`).
    pub fn scalar_text(&self, sql: &str) -> String {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            s: String,
        }
        diesel::sql_query(sql)
            .get_result::<Row>(&mut self.conn())
            .expect(sql)
            .s
    }

    pub fn scalar_i64(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<Row>(&mut self.conn())
            .expect(sql)
            .n
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let drop_on = |url: &str| {
            if let Ok(mut admin) = PgConnection::establish(url) {
                let _ = admin.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ));
            }
        };
        drop_on(&admin_url());
        for worker in citus_workers().unwrap_or_default() {
            drop_on(&format!("postgres://postgres@{worker}/postgres"));
        }
    }
}

/// With `DVC_TEST_CITUS_WORKERS=host:port,host:port` (set by `scripts/test-citus`), the admin
/// URL is a Citus coordinator and every test database is a cluster of its own: the database on
/// the coordinator and each worker, the extension in each, the workers registered.
fn citus_workers() -> Option<Vec<String>> {
    let workers = std::env::var("DVC_TEST_CITUS_WORKERS").ok()?;
    Some(
        workers
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

fn make_citus_cluster(name: &str, url: &str, workers: &[String]) {
    for worker in workers {
        let mut admin = PgConnection::establish(&format!("postgres://postgres@{worker}/postgres"))
            .expect("connect to a Citus worker");
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
            ))
            .expect("create the test database on a worker");
        PgConnection::establish(&format!("postgres://postgres@{worker}/{name}"))
            .and_then(|mut c| {
                c.batch_execute("CREATE EXTENSION citus")
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
            })
            .expect("citus on a worker");
    }
    let coordinator =
        std::env::var("DVC_TEST_CITUS_COORDINATOR").unwrap_or_else(|_| "127.0.0.1:9700".into());
    let (host, port) = coordinator.rsplit_once(':').expect("host:port");
    let mut conn = PgConnection::establish(url).expect("connect to the coordinator");
    let mut script =
        format!("CREATE EXTENSION citus; SELECT citus_set_coordinator_host('{host}', {port});");
    for worker in workers {
        let (h, p) = worker.rsplit_once(':').expect("host:port");
        script.push_str(&format!("SELECT citus_add_node('{h}', {p});"));
    }
    for statement in dvc::db::sql_script::statements(&script) {
        // Adding a node opens connections to it, which a busy worker may refuse for a moment.
        let mut tries = 0;
        while let Err(e) = conn.batch_execute(statement) {
            tries += 1;
            assert!(tries < 5, "set up the Citus cluster: {e}");
            std::thread::sleep(std::time::Duration::from_millis(300 * tries));
        }
    }
}

/// Settings for a test: its own database, a Redis prefix of its own, port 0.
pub fn settings_for(db: &TestDb) -> Settings {
    let mut s = Settings::default();
    s.database.url = db.url.clone();
    s.database.pool_size = 4;
    // Shared tables written in the tenant's transaction even on Citus (`auto` would relay
    // there): what a test reads right after a request is already there. `relay` tests say so.
    s.database.shared_writes = dvc::config::SharedWrites::Direct;
    s.redis.url = redis_url();
    s.redis.prefix = db.name.clone();
    s.server.port = 0;
    s.server.metrics_port = Some(0);
    s.server.workers = 2;
    s.server.shutdown_timeout_secs = 1;
    s.log.format = LogFormat::Pretty;
    s.log.filter = "warn".into();
    // Texts on, to the sandbox: what a test's workers send stays in a directory of its own.
    s.texts.enabled = true;
    s.texts.sandbox_dir = std::env::temp_dir().join(format!("dvc-texts-{}", db.name));
    s
}

/// A tenant file for tests: `n` procedures whose codes and names carry the tenant's mark, so
/// any row from another tenant is recognisable.
pub fn tenant_toml(slug: &str, code: &str, n: usize) -> String {
    let mark = code.to_ascii_lowercase();
    let mut s = format!(
        r#"slug = "{slug}"
code = "{code}"
kind = "province"
domains = ["dichvucong.{slug}.gov.vn"]
name = {{ vi = "Sở thử nghiệm {code}", en = "Test department {code}" }}

[[fields]]
code = "viec-lam"
name = {{ vi = "Việc làm", en = "Employment" }}

[[fields]]
code = "an-toan"
name = {{ vi = "An toàn lao động" }}
"#
    );
    for i in 0..n {
        let field = if i % 2 == 0 { "viec-lam" } else { "an-toan" };
        s.push_str(&format!(
            r#"
[[procedures]]
code = "{code}.{i:04}"
field = "{field}"
name = {{ vi = "Thủ tục {mark} số {i}: cấp giấy phép lao động" }}
online_level = "full"
processing_days = {days}
"#,
            days = i % 30 + 1
        ));
    }
    s
}

pub struct TestApp {
    pub base: String,
    /// Where `/metrics` answers (its own listener).
    pub metrics_base: String,
    pub db: std::sync::Arc<TestDb>,
    pub app_state: actix_web::web::Data<dvc::state::AppState>,
    /// The server's clock: the system's until a test sets or advances it.
    pub clock: std::sync::Arc<dvc::clock::ShiftedClock>,
    client: awc::Client,
}

impl TestApp {
    /// Boots the real server on port 0 against `db`.
    pub async fn spawn_on(db: std::sync::Arc<TestDb>, tweak: impl FnOnce(&mut Settings)) -> Self {
        // No DNS on test machines: custom domains are checked against a resolver of the
        // test's own (see `spawn_with_dns`).
        Self::spawn_with_dns(
            db,
            tweak,
            std::sync::Arc::new(dvc::hosting::domains::NoResolver),
        )
        .await
    }

    pub async fn spawn_with_dns(
        db: std::sync::Arc<TestDb>,
        tweak: impl FnOnce(&mut Settings),
        dns: std::sync::Arc<dyn dvc::hosting::domains::TxtResolver>,
    ) -> Self {
        let mut settings = settings_for(&db);
        tweak(&mut settings);
        dvc::telemetry::init(&settings.log);
        let clock = std::sync::Arc::new(dvc::clock::ShiftedClock::new());
        let app = dvc::Application::build_wired(settings, dns, clock.clone())
            .await
            .expect("build app");
        let base = format!("http://127.0.0.1:{}", app.port());
        let metrics_base = format!(
            "http://127.0.0.1:{}",
            app.metrics_port().expect("metrics on in tests")
        );
        let app_state = app.state();
        tokio::spawn(app.run_until_stopped());
        let client = awc::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .finish();
        Self {
            base,
            metrics_base,
            db,
            app_state,
            clock,
            client,
        }
    }

    /// A fresh database with tenants `alpha` (ALPHA, `na` procedures) and `beta` (BETA, `nb`).
    pub async fn with_two_tenants(na: usize, nb: usize) -> Self {
        let db = TestDb::new();
        db.apply_two(na, nb);
        Self::spawn_on(std::sync::Arc::new(db), |_| {}).await
    }

    /// GET with an optional Host header; returns status, content type and JSON body.
    pub async fn get(&self, host: Option<&str>, path: &str) -> (u16, String, serde_json::Value) {
        let mut req = self.client.get(format!("{}{}", self.base, path));
        if let Some(h) = host {
            req = req.insert_header(("Host", h));
        }
        Self::answer(req).await
    }

    /// Any method, with extra headers.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, String, serde_json::Value) {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        Self::answer(req).await
    }

    /// A JSON request.
    pub async fn call_json(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, String, serde_json::Value) {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        Self::read(req.send_json(body).await.expect("request")).await
    }

    async fn answer(req: awc::ClientRequest) -> (u16, String, serde_json::Value) {
        Self::read(req.send().await.expect("request")).await
    }

    /// Status, content type and JSON body (null when the body is not JSON).
    async fn read<S>(mut resp: awc::ClientResponse<S>) -> (u16, String, serde_json::Value)
    where
        S: futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>>
            + Unpin,
    {
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = resp.body().limit(8 << 20).await.expect("body");
        let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (status, ctype, json)
    }
}

/// Polls `check` every 20 ms until it holds or `within` runs out.
pub async fn eventually<F, Fut>(within: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A real SMTP server (aiosmtpd, `tests/smtp/server.py`) of the test's own, on a free port,
/// delivering to a maildir the test reads.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl SmtpServer {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = std::env::temp_dir().join(format!("dvc-maildir-{}", Uuid::new_v4()));
        let mut server = Self {
            port,
            maildir,
            child: None,
        };
        server.resume();
        server
    }

    /// Starts (again) on the same port and maildir.
    pub fn resume(&mut self) {
        use std::io::BufRead;
        let python = if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        let mut child = std::process::Command::new(python)
            .arg("tests/smtp/server.py")
            .arg(self.port.to_string())
            .arg(&self.maildir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd (scripts/test installs python3-aiosmtpd)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "SMTP server did not start");
        self.child = Some(child);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every message received so far, raw.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in entries.flatten() {
                    out.push(std::fs::read(e.path()).unwrap());
                }
            }
        }
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}
