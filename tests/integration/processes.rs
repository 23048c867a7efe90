//! Two real `dvc serve` processes configured only through the environment: a suspension made
//! through the CLI is seen by both within a second (registry invalidation over Redis pub/sub).

use crate::common::{TestDb, tenant_toml};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env_for(cmd: &mut Command, db: &TestDb) {
    cmd.env("DVC__DATABASE__URL", &db.url)
        .env("DVC__REDIS__URL", crate::common::redis_url())
        .env("DVC__REDIS__PREFIX", &db.name)
        .env("DVC__LOG__FILTER", "warn")
        .env("DVC_CONFIG_DIR", "/nonexistent")
        .env("DVC__SERVER__METRICS_PORT", "0")
        // `dvc serve` refuses to start without one (a test key).
        .env(
            "DVC__AUTH__MASTER_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        );
}

fn start(db: &TestDb) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dvc"));
    cmd.arg("serve")
        .env("DVC__SERVER__PORT", "0")
        .env("DVC__SERVER__WORKERS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    env_for(&mut cmd, db);
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    Server { child, port }
}

/// Plain blocking HTTP/1.1 GET, enough for a status code.
fn status(port: u16, host: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn cli(db: &TestDb, args: &[&str]) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dvc"));
    cmd.args(args);
    env_for(&mut cmd, db);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn within_a_second(servers: &[&Server], want: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        if servers
            .iter()
            .all(|s| status(s.port, "alpha.localhost", "/api/v1/procedures") == want)
        {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_suspension_reaches_every_instance_within_a_second() {
    let db = TestDb::new();
    db.apply_texts(&[
        ("alpha.toml", tenant_toml("alpha", "ALPHA", 2)),
        ("beta.toml", tenant_toml("beta", "BETA", 2)),
    ]);
    let a = start(&db);
    let b = start(&db);
    assert!(within_a_second(&[&a, &b], 200));
    // Let both subscriptions settle before the change is published.
    std::thread::sleep(Duration::from_millis(300));
    cli(&db, &["tenant", "suspend", "alpha"]);
    assert!(
        within_a_second(&[&a, &b], 403),
        "suspension not seen by both"
    );
    assert_eq!(status(a.port, "beta.localhost", "/api/v1/procedures"), 200);
    cli(&db, &["tenant", "resume", "alpha"]);
    assert!(
        within_a_second(&[&a, &b], 200),
        "resumption not seen by both"
    );
}

#[test]
fn sigterm_shuts_the_server_down_gracefully() {
    let db = TestDb::new();
    db.apply_two(1, 1);
    let mut server = start(&db);
    assert_eq!(
        status(server.port, "alpha.localhost", "/api/v1/procedures"),
        200
    );
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
}

/// What the container health check runs: `dvc health` succeeds against a serving instance
/// configured only through the environment, and fails when nothing answers.
#[test]
fn the_health_command_reports_a_serving_instance() {
    let db = TestDb::new();
    db.apply_texts(&[("alpha.toml", tenant_toml("alpha", "ALPHA", 1))]);
    let server = start(&db);
    let health = |port: u16| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dvc"));
        cmd.args(["health", "--port", &port.to_string()]);
        env_for(&mut cmd, &db);
        cmd.output().unwrap().status.success()
    };
    assert!(health(server.port));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(!health(closed));
}

/// With `log.otlp_endpoint` set, request spans are exported over OTLP/HTTP (protobuf) — here
/// to a small receiver standing in for the collector — and flushed when the server stops.
#[test]
fn traces_are_exported_over_otlp_when_configured() {
    use std::io::{Read, Write};
    let db = TestDb::new();
    db.apply_texts(&[("alpha.toml", tenant_toml("alpha", "ALPHA", 1))]);
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel::<(String, Vec<u8>)>();
    std::thread::spawn(move || {
        for stream in receiver.incoming().flatten() {
            let mut stream = stream;
            let mut data = Vec::new();
            let mut buf = [0u8; 65536];
            // Read the head, then as many body bytes as Content-Length says.
            loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if data.len() >= end + 4 + len {
                        let head = text[..end].to_owned();
                        let body = data[end + 4..end + 4 + len].to_vec();
                        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
                        let _ = tx.send((head, body));
                        break;
                    }
                }
            }
        }
    });
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dvc"));
    cmd.arg("serve")
        .env("DVC__SERVER__PORT", "0")
        .env("DVC__SERVER__WORKERS", "1")
        .env(
            "DVC__LOG__OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}/v1/traces"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    env_for(&mut cmd, &db);
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server_port: u16 = line.trim().rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(
        status(server_port, "localhost", "/t/alpha/api/v1/procedures"),
        200
    );
    // SIGTERM: graceful stop, and the buffered spans are flushed.
    unsafe_sigterm(child.id());
    let _ = child.wait();
    let (head, body) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("no OTLP export arrived");
    assert!(head.starts_with("POST /v1/traces"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("application/x-protobuf"),
        "{head}"
    );
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("dvc"), "service name missing");
    assert!(
        text.contains("/t/{tenant}/api/v1/procedures"),
        "request span missing"
    );
}

fn unsafe_sigterm(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}
