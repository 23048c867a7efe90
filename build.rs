//! Embeds the migrations (platform and tenant) as `(name, up, down)` scripts, and concatenates
//! the tenant migrations into one baseline script (in version order) so a new tenant schema is
//! created in one round trip. A test proves the baseline builds exactly the schema that running
//! the migrations one by one builds.

use std::fmt::Write as _;
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
    let mut sql = String::new();
    let mut versions = Vec::new();
    for (name, up, _) in &tenant {
        // diesel's rule: the version is the part before the first `_`, without dashes.
        let version = name.split('_').next().unwrap_or_default().replace('-', "");
        writeln!(sql, "-- {name}\n{up}\n").expect("writing to a String");
        versions.push(version);
    }
    let out = Path::new(&out_dir).join("tenant_baseline.rs");
    let code = format!(
        "/// All tenant migrations, in order.\npub const TENANT_BASELINE_SQL: &str = {sql:?};\n\
         /// Their versions, in order.\npub const TENANT_BASELINE_VERSIONS: &[&str] = &{versions:?};\n"
    );
    std::fs::write(out, code).expect("writing the baseline");
}
