//! dvc behind PgBouncer in transaction mode (Debian's `pgbouncer`, 1.18: no named prepared
//! statements, so `database.statement_cache = false`). Every tenant transaction sets its own
//! search path with `set_config(…, true)`, which dies with the transaction, so server
//! connections shared by every client never carry one tenant's scope into another's work.

use crate::common::{TestApp, TestDb, admin_url};
use std::process::{Child, Command};
use std::sync::Arc;

struct Bouncer {
    child: Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_pgbouncer() -> Bouncer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("dvc-pgbouncer-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let pg = url::Url::parse(&admin_url()).unwrap();
    let (host, pg_port) = (
        pg.host_str().unwrap_or("127.0.0.1").to_owned(),
        pg.port().unwrap_or(5432),
    );
    std::fs::write(dir.join("userlist.txt"), "\"postgres\" \"postgres\"\n").unwrap();
    let ini = format!(
        "[databases]\n* = host={host} port={pg_port}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
         listen_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {d}/userlist.txt\n\
         pool_mode = transaction\ndefault_pool_size = 3\nmax_client_conn = 500\n\
         ignore_startup_parameters = extra_float_digits,options\n\
         logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n",
        d = dir.display()
    );
    std::fs::write(dir.join("pgbouncer.ini"), ini).unwrap();
    // PgBouncer refuses to run as root; the postgres account runs it where we are root.
    let _ = Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(&dir)
        .status();
    let mut cmd = Command::new("/usr/sbin/pgbouncer");
    if running_as_root() {
        cmd.args(["-u", "postgres"]);
    }
    let child = cmd
        .arg(dir.join("pgbouncer.ini"))
        .spawn()
        .expect("pgbouncer (scripts/test installs Debian's pgbouncer)");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Bouncer { child, dir, port }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[actix_web::test]
async fn tenant_scopes_never_leak_through_pgbouncer_in_transaction_mode() {
    let bouncer = start_pgbouncer();
    let db = TestDb::new();
    db.apply_two(30, 30);
    let mut through = url::Url::parse(&db.url).unwrap();
    through.set_port(Some(bouncer.port)).unwrap();
    let url = through.to_string();
    let db_name = db.name.clone();
    let app = TestApp::spawn_on(Arc::new(db), move |s| {
        s.database.url = url;
        s.database.statement_cache = false;
        s.database.pool_size = 12;
        // Every read goes to the database, through the bouncer's 3 shared server connections.
        s.catalog.cache = false;
    })
    .await;
    let requests: Vec<_> = (0..240)
        .map(|i| {
            let tenant = if i % 2 == 0 { "alpha" } else { "beta" };
            let app = &app;
            async move {
                let (s, _, body) = app
                    .get(None, &format!("/t/{tenant}/api/v1/procedures?per_page=100"))
                    .await;
                (tenant, s, body)
            }
        })
        .collect();
    for (tenant, status, body) in futures_util::future::join_all(requests).await {
        assert_eq!(status, 200, "{body}");
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 30);
        let mark = if tenant == "alpha" { "alpha" } else { "beta" };
        for p in items {
            let name = p["name"].as_str().unwrap().to_lowercase();
            assert!(name.contains(mark), "{tenant} got {name}");
        }
    }
    // The traffic really went through the bouncer.
    let log = std::fs::read_to_string(bouncer.dir.join("pgbouncer.log")).unwrap_or_default();
    assert!(log.contains(&db_name), "{log}");
}
