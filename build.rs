//! Embeds the migrations (platform and tenant) as `(name, up, down)` scripts, and the tenant
//! baseline (`migrations/tenant_baseline.sql`, the tenant migrations squashed by
//! `scripts/squash-tenant-baseline`) that creates a new tenant schema in one round trip. A
//! baseline older than the newest tenant migration stops the build; a test proves the baseline
//! builds exactly the schema that running the migrations one by one builds.

use std::path::Path;

/// The migrations under `dir`, in version order: `(directory name, up.sql, down.sql)`.
fn scripts(dir: &Path) -> Vec<(String, String, String)> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a migrations folder")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let read = |file: &str| {
                let path = dir.join(&name).join(file);
                println!("cargo:rerun-if-changed={}", path.display());
                std::fs::read_to_string(&path).unwrap_or_default()
            };
            let (up, down) = (read("up.sql"), read("down.sql"));
            (name, up, down)
        })
        .collect()
}

fn main() {
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let platform = scripts(Path::new("migrations/platform"));
    let tenant = scripts(Path::new("migrations/tenant"));
    for (scripts, file) in [
        (&platform, "platform_scripts.rs"),
        (&tenant, "tenant_scripts.rs"),
    ] {
        std::fs::write(Path::new(&out_dir).join(file), format!("&{scripts:?}"))
            .expect("writing the scripts");
    }
    let baseline_path = Path::new("migrations/tenant_baseline.sql");
    println!("cargo:rerun-if-changed={}", baseline_path.display());
    let sql = std::fs::read_to_string(baseline_path).expect("migrations/tenant_baseline.sql");
    let newest = tenant
        .last()
        .map(|(name, _, _)| name.as_str())
        .unwrap_or_default();
    let squashed_at = sql
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("-- squashed-at: "))
        .unwrap_or_default();
    assert!(
        squashed_at == newest,
        "migrations/tenant_baseline.sql was squashed at `{squashed_at}`, but the newest tenant \
         migration is `{newest}`: run scripts/squash-tenant-baseline"
    );
    // diesel's rule: the version is the part before the first `_`, without dashes.
    let versions: Vec<String> = tenant
        .iter()
        .map(|(name, _, _)| name.split('_').next().unwrap_or_default().replace('-', ""))
        .collect();
    let out = Path::new(&out_dir).join("tenant_baseline.rs");
    let code = format!(
        "/// The tenant schema at the newest migration.\npub const TENANT_BASELINE_SQL: &str = {sql:?};\n\
         /// Their versions, in order.\npub const TENANT_BASELINE_VERSIONS: &[&str] = &{versions:?};\n"
    );
    std::fs::write(out, code).expect("writing the baseline");
}
