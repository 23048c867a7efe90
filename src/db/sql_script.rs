//! Splits a SQL script (a migration, the tenant baseline) into its statements, so each is sent
//! on its own. Citus forwards some DDL to the worker that holds a schema with the text of the
//! query it arrived in; a multi-statement string is refused there ("cannot insert multiple
//! commands into a prepared statement"). One statement per query keeps every node happy and
//! costs nothing on a single PostgreSQL.
//!
//! Lexical only — no parser is needed to find statement ends: a `;` ends a statement unless it
//! is inside a string (`'…'`, `E'…'`), a quoted identifier (`"…"`), a dollar-quoted body
//! (`$$…$$`, `$tag$…$tag$`) or a comment (`-- …`, nested `/* … */`). Written here rather than
//! taken from a crate: the one that parses PostgreSQL exactly (`pg_query`) builds PostgreSQL's
//! parser in C, far more than finding semicolons needs.

use diesel::connection::BoxableConnection;
use diesel::migration::{
    Migration, MigrationMetadata, MigrationName, MigrationSource, MigrationVersion,
};
use diesel::pg::Pg;

/// The statements of `script`, trimmed, without empty ones (a script of comments only has none).
pub fn statements(script: &str) -> Vec<&str> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    let mut meaningful = false;
    while i < bytes.len() {
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = script[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(bytes, i);
                continue;
            }
            b'\'' | b'"' => {
                meaningful = true;
                i = quoted_end(bytes, i, bytes[i]);
                continue;
            }
            b'$' => {
                if let Some(tag_len) = dollar_tag(&script[i..]) {
                    meaningful = true;
                    let tag = &script[i..i + tag_len];
                    i = script[i + tag_len..]
                        .find(tag)
                        .map_or(bytes.len(), |n| i + tag_len + n + tag_len);
                    continue;
                }
                meaningful = true;
            }
            b';' => {
                if meaningful {
                    out.push(script[start..i].trim());
                }
                start = i + 1;
                meaningful = false;
            }
            c if !c.is_ascii_whitespace() => meaningful = true,
            _ => {}
        }
        i += 1;
    }
    if meaningful {
        out.push(script[start..].trim());
    }
    out
}

/// Past the end of the (nested) block comment that starts at `i`.
fn block_comment_end(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Past the closing quote of the string or identifier that opens at `i`. A doubled quote is
/// part of it; a backslash escapes the next character only in `E'…'` strings (in a standard
/// string `'\'` is a whole string).
fn quoted_end(bytes: &[u8], mut i: usize, quote: u8) -> usize {
    let escapes = quote == b'\'' && i > 0 && matches!(bytes[i - 1], b'E' | b'e');
    i += 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if escapes => i += 2,
            c if c == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The length of a dollar-quote tag (`$$`, `$body$`) at the start of `s`, if one is there. A
/// positional parameter (`$1`) is not one: a tag does not start with a digit.
fn dollar_tag(s: &str) -> Option<usize> {
    let rest = &s[1..];
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let name = &rest[..name_len];
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    (rest[name_len..].starts_with('$')).then_some(name_len + 2)
}

/// Migrations embedded by `build.rs` as `(directory name, up.sql, down.sql)`, run one
/// statement at a time (see the module's note), in diesel's ledger like any other migrations.
#[derive(Clone, Copy)]
pub struct ScriptMigrations(pub &'static [(&'static str, &'static str, &'static str)]);

impl MigrationSource<Pg> for ScriptMigrations {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<Pg>>>> {
        Ok(self
            .0
            .iter()
            .map(|&(name, up, down)| {
                // diesel's rule: the version is the part before the first `_`, without dashes.
                let version = name.split('_').next().unwrap_or_default().replace('-', "");
                Box::new(Script {
                    name: ScriptName {
                        name: name.to_owned(),
                        version,
                    },
                    up,
                    down,
                }) as Box<dyn Migration<Pg>>
            })
            .collect())
    }
}

struct Script {
    name: ScriptName,
    up: &'static str,
    down: &'static str,
}

struct ScriptName {
    name: String,
    version: String,
}

impl std::fmt::Display for ScriptName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl MigrationName for ScriptName {
    fn version(&self) -> MigrationVersion<'_> {
        MigrationVersion::from(self.version.as_str())
    }
}

/// Every migration runs in a transaction (diesel's default).
struct InTransaction;

impl MigrationMetadata for InTransaction {}

fn run_script(conn: &mut dyn BoxableConnection<Pg>, script: &str) -> diesel::migration::Result<()> {
    for statement in statements(script) {
        conn.batch_execute(statement)?;
    }
    Ok(())
}

impl Migration<Pg> for Script {
    fn run(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        run_script(conn, self.up).map_err(|e| format!("{}: {e}", self.name).into())
    }

    fn revert(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        run_script(conn, self.down).map_err(|e| format!("{} (down): {e}", self.name).into())
    }

    fn metadata(&self) -> &dyn MigrationMetadata {
        &InTransaction
    }

    fn name(&self) -> &dyn MigrationName {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn semicolons_end_statements_outside_quotes_bodies_and_comments() {
        let script = r#"
-- a comment; with a semicolon
CREATE TABLE a (x text DEFAULT 'it''s; fine', "odd;name" int);
/* block; /* nested; */ still comment; */
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'no; never';
END;
$$;
CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $body$ SELECT 'a;b' $body$;
SELECT E'escaped \' quote; here', $1::int;
COMMENT ON TABLE a IS 'last one without a semicolon'"#;
        let found = statements(script);
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(found[0].starts_with("-- a comment") && found[0].ends_with("int)"));
        assert!(found[1].contains("RAISE EXCEPTION 'no; never';\nEND;\n$$"));
        assert!(found[2].ends_with("$body$ SELECT 'a;b' $body$"));
        assert_eq!(found[3], r"SELECT E'escaped \' quote; here', $1::int");
        assert_eq!(
            found[4],
            "COMMENT ON TABLE a IS 'last one without a semicolon'"
        );
    }

    #[test]
    fn comments_and_blank_statements_are_not_statements() {
        assert!(statements("-- only a comment\n/* and this */ ;\n ; ").is_empty());
        assert_eq!(statements("SELECT 1;;SELECT 2"), ["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn every_migration_splits_into_statements_that_rejoin_to_the_script() {
        // Dropping the comments, the pieces are the script: nothing lost at a boundary.
        for dir in ["migrations/platform", "migrations/tenant"] {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path().join("up.sql");
                let script = std::fs::read_to_string(&path).unwrap();
                let pieces = statements(&script);
                assert!(!pieces.is_empty(), "{}", path.display());
                let squeeze = |s: &str| -> String {
                    s.lines()
                        .filter(|l| !l.trim_start().starts_with("--"))
                        .flat_map(|l| l.chars())
                        .filter(|c| !c.is_whitespace() && *c != ';')
                        .collect()
                };
                assert_eq!(
                    squeeze(&pieces.join(";\n")),
                    squeeze(&script),
                    "{}",
                    path.display()
                );
            }
        }
    }
}
