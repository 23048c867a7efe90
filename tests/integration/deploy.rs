//! The deployment files, checked without a cluster (`tests/deploy/check.py`): the Helm chart
//! against its values schema and the values its templates read, the Dockerfile's hardening,
//! the compose file. The checker itself is shown to catch a broken chart and Dockerfile.

use std::path::Path;
use std::process::Command;

fn check(root: &Path) -> (bool, String) {
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let out = Command::new(python)
        .arg("tests/deploy/check.py")
        .env("DVC_DEPLOY_ROOT", root)
        .output()
        .expect("python3 (scripts/test installs python3-yaml and python3-jsonschema)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn the_chart_dockerfile_and_compose_file_pass_their_checks() {
    let (ok, out) = check(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(ok, "{out}");
}

#[test]
fn the_checker_catches_an_undefined_value_and_a_root_image() {
    let root = std::env::temp_dir().join(format!("dvc-deploy-{}", uuid::Uuid::new_v4()));
    copy_dir(Path::new("charts"), &root.join("charts"));
    for f in ["Dockerfile", ".dockerignore", "docker-compose.yml"] {
        std::fs::copy(f, root.join(f)).unwrap();
    }
    let svc = root.join("charts/dvc/templates/service.yaml");
    let text = std::fs::read_to_string(&svc).unwrap();
    std::fs::write(
        &svc,
        text.replace(".Values.service.port", ".Values.service.prot"),
    )
    .unwrap();
    let docker = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    std::fs::write(
        root.join("Dockerfile"),
        docker.replace("USER 10001:10001", "USER root"),
    )
    .unwrap();
    let (ok, out) = check(&root);
    std::fs::remove_dir_all(&root).unwrap();
    assert!(!ok);
    assert!(out.contains(".Values.service.prot is not defined"), "{out}");
    assert!(out.contains("non-root USER"), "{out}");
}

/// The final stage of the Dockerfile, read the way the builder reads it: its ENV pairs, USER,
/// HEALTHCHECK command and ENTRYPOINT.
struct RuntimeStage {
    env: Vec<(String, String)>,
    user: String,
    healthcheck: Vec<String>,
    entrypoint: Vec<String>,
}

fn runtime_stage() -> RuntimeStage {
    let text = std::fs::read_to_string("Dockerfile").unwrap();
    let joined = text.replace("\\\n", " ");
    let lines: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let last_from = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    let json = |s: &str| serde_json::from_str::<Vec<String>>(s.trim()).unwrap();
    let mut stage = RuntimeStage {
        env: vec![],
        user: String::new(),
        healthcheck: vec![],
        entrypoint: vec![],
    };
    for l in &lines[last_from..] {
        if let Some(rest) = l.strip_prefix("ENV ") {
            for pair in rest.split_whitespace() {
                let (k, v) = pair.split_once('=').unwrap();
                stage.env.push((k.into(), v.into()));
            }
        } else if let Some(rest) = l.strip_prefix("USER ") {
            stage.user = rest.trim().into();
        } else if let Some(rest) = l.strip_prefix("HEALTHCHECK ") {
            stage.healthcheck = json(rest.split_once(" CMD ").unwrap().1);
        } else if let Some(rest) = l.strip_prefix("ENTRYPOINT ") {
            stage.entrypoint = json(rest);
        }
    }
    stage
}

/// Runs `argv` inside the image's root filesystem as the container would: its own mount
/// namespace, the root read-only, a fresh volume on /var/lib/dvc and /tmp, the image's user
/// and environment only (plus `extra`, what the chart's Secret and ConfigMap would add).
fn in_image(
    root: &Path,
    stage: &RuntimeStage,
    extra: &[(&str, String)],
    argv: &[String],
) -> Command {
    let (uid, gid) = stage.user.split_once(':').unwrap();
    let script = r#"set -e
r=$0
mount --bind "$r" "$r"
mount -o remount,bind,ro "$r"
mount -t tmpfs -o uid=$UID_GID tmpfs "$r/var/lib/dvc"
mount -t tmpfs tmpfs "$r/tmp"
exec chroot --userspec=$USERSPEC "$r" "$@""#;
    let mut cmd = Command::new("/usr/bin/unshare");
    cmd.env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("UID_GID", format!("{uid},gid={gid}"))
        .env("USERSPEC", &stage.user)
        .args([
            "--mount",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            script,
        ])
        .arg(root)
        .args(argv);
    for (k, v) in &stage.env {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn the_image_root_filesystem_runs_dvc_read_only_as_its_user() {
    if !is_root() {
        eprintln!("skipped: mounting and chroot need root");
        return;
    }
    let db = crate::common::TestDb::new();
    let root = std::env::temp_dir().join(format!("dvc-rootfs-{}", uuid::Uuid::new_v4()));
    let built = Command::new("scripts/image-rootfs.sh")
        .arg(env!("CARGO_BIN_EXE_dvc"))
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    // Nothing but what the script put there: no shell to fall back on.
    assert!(!root.join("bin/sh").exists() && !root.join("usr/bin").exists());

    let stage = runtime_stage();
    assert_eq!(stage.entrypoint, ["dvc"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let extra = [
        ("DVC__DATABASE__URL", db.url.clone()),
        ("DVC__REDIS__URL", crate::common::redis_url()),
        ("DVC__REDIS__PREFIX", db.name.clone()),
        ("DVC__SERVER__PORT", port.to_string()),
        ("DVC__SERVER__METRICS_PORT", "0".to_owned()),
        // The chart's Secret: a test key only.
        (
            "DVC__AUTH__MASTER_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
        ),
    ];
    let run = |args: &[&str]| {
        let argv: Vec<String> = stage
            .entrypoint
            .iter()
            .cloned()
            .chain(args.iter().map(std::string::ToString::to_string))
            .collect();
        in_image(&root, &stage, &extra, &argv)
    };
    // The compose file's one-shot setup (no shell in the image), twice: the second run
    // changes nothing, in particular it does not rotate the keys the first one made.
    let mut keys = vec![];
    for _ in 0..2 {
        let out = run(&["setup", "--tenants=/app/tenants"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        keys.push(db.scalar_i64("SELECT count(*) AS n FROM platform.signing_keys"));
    }
    assert!(keys[0] > 0 && keys[0] == keys[1], "{keys:?}");
    let mut server = run(&["serve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let healthy = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        in_image(&root, &stage, &extra, &stage.healthcheck)
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let procedures = healthy.then(|| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        use std::io::{Read, Write};
        write!(
            s,
            "GET /api/v1/procedures HTTP/1.1\r\nHost: ha-noi.localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    });
    let _ = server.kill();
    let out = server.wait_with_output().unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    assert!(
        healthy,
        "HEALTHCHECK never passed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let procedures = procedures.unwrap();
    assert!(procedures.starts_with("HTTP/1.1 200"), "{procedures}");
    assert!(procedures.contains("1.000105"), "{procedures}");
}
