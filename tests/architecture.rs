//! The layers of `src/`, checked. Every `crate::…` path in the library's sources names the
//! top-level module it reaches; a module may reach only modules of its own layer or below, and
//! the top-level modules must not form a cycle. `docs/architecture.md` draws the same layers.
//!
//! The check reads source text (no compiler plugin): comments are skipped, and each file's unit
//! tests (`#[cfg(test)] mod tests` at its end) are left out, since a test may build whatever it
//! needs. `DVC_ARCH_SRC=<dir>` points the check at another tree (e.g. an older checkout).

#![allow(clippy::unwrap_used)] // a panic here is a failed test or bench, not an outage

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top to bottom. A module may import from its own layer (without a cycle) or any layer below.
const LAYERS: &[(&str, &[&str])] = &[
    ("composition root", &["lib", "startup"]),
    ("adapters: JSON and HTML", &["api", "web"]),
    ("use cases and the HTTP edge", &["app", "http"]),
    ("what handlers and use cases share", &["state", "metrics"]),
    ("hosting: the operator's work on tenants", &["hosting"]),
    (
        "domain, stores, accounts, notices (mail, texts)",
        &["services", "auth", "notify", "texts", "mail"],
    ),
    ("tenancy core", &["tenancy"]),
    ("database and Redis", &["db", "redis_conn"]),
    (
        "foundations",
        &[
            "config",
            "error",
            "telemetry",
            "locale",
            "client_addr",
            "clock",
            "faults",
            "progress",
        ],
    ),
];

/// The binary's own modules (`main.rs`, `cli/`) sit above everything and reach the library
/// through `dvc::`, so they are not part of the library's graph.
const BINARY: &[&str] = &["main", "cli"];

/// One `crate::` path found in a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Import {
    from: String,
    to: String,
    file: String,
    line: usize,
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The top-level module a file belongs to: `src/api/x.rs` → `api`, `src/state.rs` → `state`.
fn module_of(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.strip_suffix(".rs").unwrap_or(&first).to_owned()
}

/// The source without comments and without the trailing unit-test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            // String contents are left out: a message may mention `crate::x` without using it.
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_str = false;
                    out.push('"');
                }
                '\n' => out.push('\n'),
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('/', Some('/')) => {
                // A line comment (doc comments too) runs to the end of its line.
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                    }
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
            }
            // The character literals '"' and '\\' open no string.
            ('\'', Some('"')) | ('\'', Some('\\')) => {
                out.push('\'');
                chars.next();
                if chars.peek() == Some(&'\'') || chars.peek() == Some(&'"') {
                    chars.next();
                }
            }
            ('"', _) => {
                in_str = true;
                out.push('"');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The top-level modules a piece of code names through `crate::`, with their line numbers;
/// `crate::{a::x, b}` names `a` and `b`.
fn targets(code: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut search = 0;
    while let Some(at) = code[search..].find("crate::") {
        let start = search + at;
        search = start + "crate::".len();
        // `dvc_crate::` or `some_crate::` are other names.
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let line = code[..start].matches('\n').count() + 1;
        let rest = &code[search..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        found.push((name, line));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((name, line));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every import between two different top-level modules of the library under `src`.
fn imports(src: &Path) -> (BTreeSet<String>, Vec<Import>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut modules = BTreeSet::new();
    let mut found = Vec::new();
    for path in files {
        let relative = path.strip_prefix(src).unwrap();
        let from = module_of(relative);
        if BINARY.contains(&from.as_str()) {
            continue;
        }
        modules.insert(from.clone());
        let code = code_of(&std::fs::read_to_string(&path).unwrap());
        for (to, line) in targets(&code) {
            if to != from {
                found.push(Import {
                    from: from.clone(),
                    to,
                    file: relative.display().to_string(),
                    line,
                });
            }
        }
    }
    (modules, found)
}

/// Imports that reach a higher layer.
fn upward(imports: &[Import]) -> Vec<String> {
    imports
        .iter()
        .filter_map(|i| {
            let (from, to) = (layer_of(&i.from)?, layer_of(&i.to)?);
            (to < from).then(|| {
                format!(
                    "src/{}:{}: `{}` ({}) imports `{}` ({}), a layer above it",
                    i.file, i.line, i.from, LAYERS[from].0, i.to, LAYERS[to].0
                )
            })
        })
        .collect()
}

/// A cycle among top-level modules, as `a → b → … → a`, if there is one.
fn cycle(imports: &[Import]) -> Option<Vec<String>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for i in imports {
        graph
            .entry(i.from.as_str())
            .or_default()
            .insert(i.to.as_str());
    }
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == node) {
            let mut cycle: Vec<String> = path[at..]
                .iter()
                .map(std::string::ToString::to_string)
                .collect();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, &graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

fn src_dir() -> PathBuf {
    std::env::var_os("DVC_ARCH_SRC").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        PathBuf::from,
    )
}

#[test]
fn every_top_level_module_has_a_layer() {
    let (modules, _) = imports(&src_dir());
    let unplaced: Vec<_> = modules.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "place these modules in a layer of tests/architecture.rs (and docs/architecture.md): {unplaced:?}"
    );
}

#[test]
fn imports_only_point_down() {
    let (_, found) = imports(&src_dir());
    assert!(
        found.len() > 50,
        "the check found almost no imports ({}): is it reading the sources?",
        found.len()
    );
    let wrong = upward(&found);
    assert!(
        wrong.is_empty(),
        "imports pointing up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn top_level_modules_form_no_cycle() {
    let (_, found) = imports(&src_dir());
    if let Some(c) = cycle(&found) {
        let witnesses: Vec<String> = c
            .windows(2)
            .filter_map(|pair| {
                found
                    .iter()
                    .find(|i| i.from == pair[0] && i.to == pair[1])
                    .map(|i| format!("  src/{}:{} ({} → {})", i.file, i.line, i.from, i.to))
            })
            .collect();
        panic!("import cycle {}:\n{}", c.join(" → "), witnesses.join("\n"));
    }
}

/// Lines of the library's code (comments and unit tests left out) under `dir` that mention one
/// of `words`.
fn mentions(dir: &str, words: &[&str]) -> Vec<String> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src.join(dir), &mut files);
    let mut found = Vec::new();
    for path in files {
        let code = code_of(&std::fs::read_to_string(&path).unwrap());
        for (n, line) in code.lines().enumerate() {
            if words.iter().any(|w| line.contains(w)) {
                let file = path.strip_prefix(&src).unwrap().display();
                found.push(format!("src/{file}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn adapters_hold_no_sql() {
    // A page or an endpoint extracts its input, calls a use case and maps the outcome; the
    // queries live in the stores below.
    let sql = [
        mentions("api", &["diesel", "db::schema"]),
        mentions("web", &["diesel", "db::schema"]),
    ]
    .concat();
    assert!(sql.is_empty(), "SQL in an adapter:\n{}", sql.join("\n"));
}

#[test]
fn use_cases_never_see_an_http_request() {
    let http = mentions("app", &["HttpRequest", "HttpResponse"]);
    assert!(http.is_empty(), "HTTP in a use case:\n{}", http.join("\n"));
}

// The checker itself, on made-up code.

fn import(from: &str, to: &str) -> Import {
    Import {
        from: from.into(),
        to: to.into(),
        file: format!("{from}.rs"),
        line: 1,
    }
}

#[test]
fn paths_grouped_nested_and_qualified_are_all_read() {
    let code = code_of(
        "use crate::db::TenantDb;\n\
         use crate::{auth::{roles::Role, tokens}, error::AppError};\n\
         fn f() { crate::state::go(); other_crate::web::x(); }\n\
         // crate::api::in_a_comment\n\
         const S: &str = \"crate::hosting in a string\";\n\
         #[cfg(test)]\nmod tests { use crate::startup::x; }\n",
    );
    let names: Vec<_> = targets(&code).into_iter().collect();
    assert_eq!(
        names,
        vec![
            ("db".to_string(), 1),
            ("auth".to_string(), 2),
            ("error".to_string(), 2),
            ("state".to_string(), 3),
        ]
    );
}

#[test]
fn an_upward_import_and_a_same_layer_cycle_are_caught() {
    assert_eq!(upward(&[import("db", "tenancy")]).len(), 1);
    assert!(upward(&[import("tenancy", "db"), import("api", "app")]).is_empty());
    assert!(cycle(&[import("services", "auth"), import("auth", "mail")]).is_none());
    let c = cycle(&[
        import("services", "auth"),
        import("auth", "mail"),
        import("mail", "services"),
    ])
    .expect("a cycle");
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 4);
}
