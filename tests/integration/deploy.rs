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
