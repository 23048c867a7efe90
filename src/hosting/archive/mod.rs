//! A tenant's complete archive: `dvc tenant export` writes it, `dvc tenant import` restores it
//! into another deployment (or this one, after the tenant was purged).
//!
//! Layout (documented for operators in `docs/onboarding.md`):
//! - `manifest.json`: format, tenant, schema version, and every other file with its size,
//!   row count and SHA-256, in load order;
//! - `manifest.sig`: HMAC-SHA256 of `manifest.json` under a key derived from the deployment's
//!   master key ([`ManifestKey`]), so the checksums are vouched for by more than themselves;
//! - `platform/{table}.jsonl`: the tenant's rows of shared tables (its registry row, domains,
//!   logo, statistics, dossier index, usage, memberships, and the accounts those and its
//!   dossiers refer to, without password hashes);
//! - `tenant/{table}.jsonl`: every table of its schema, one JSON object per row, ordered by
//!   primary key, parents before children;
//! - `attachments/{storage key}`: the files, byte for byte.
//!
//! Rows are read in one repeatable-read snapshot with timestamps in UTC, so two exports of the
//! same data are byte-identical. Import trusts nothing in the archive beyond what it checks,
//! and checks everything before writing anything: the signature (unless `--allow-unsigned`),
//! every checksum, that nothing in the folder is a link or a special file, that every shared
//! row belongs to the manifest's own tenant (one registry row, the tenant itself; memberships
//! of that tenant for accounts the archive carries) and that every attachment key is under
//! that tenant's prefix. Then it loads everything in one transaction and writes the files
//! before it commits: a tampered, foreign or partial archive changes nothing.
//!
//! This module holds the manifest, the errors and what export and import share (the names of
//! the shared tables, the tables of a schema in load order); [`export()`] is in `export`,
//! [`verify()`] in `verify` (with [`ArchivePath`] and [`Trust`]), [`import()`] in `import`.

mod export;
mod import;
mod inspect;
mod signature;
mod verify;

pub use export::{Exported, export, export_showing};
pub use import::{Imported, import, import_showing};
pub use signature::{ManifestKey, SIGNATURE_FILE, Signature};
pub use verify::{ArchivePath, Trust, Verified, verify};

use crate::tenancy::names::{SchemaName, TenantSlug};
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

pub const FORMAT: &str = "dvc-tenant-archive/1";
const MANIFEST: &str = "manifest.json";
/// Rows per fetch on export and per statement on import.
const BATCH: usize = 5000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: String,
    pub created_at: String,
    pub tenant: ManifestTenant,
    /// The tenant schema's migration version; import needs the same.
    pub schema_version: Option<String>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestTenant {
    pub id: Uuid,
    pub slug: String,
    pub code: String,
    /// Resolved by slug on import (ids differ between deployments).
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("no tenant `{0}`")]
    NoTenant(TenantSlug),
    #[error("the archive is refused: {0}")]
    Refused(String),
    #[error("tenant `{0}` (or its id or code) already exists here")]
    Exists(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("provisioning the schema failed: {0}")]
    Provision(String),
}

fn refused(why: impl Into<String>) -> ArchiveError {
    ArchiveError::Refused(why.into())
}

/// Shared tables holding a tenant's rows: file name, the tenant column's query, and order.
/// Accounts and memberships are handled apart (they are not keyed by tenant alone).
const PLATFORM_TABLES: [(&str, &str); 7] = [
    ("tenant_domains", "domain"),
    ("tenant_logos", "tenant_id"),
    ("stats_daily", "day, procedure_code"),
    ("stats_open", "procedure_code"),
    ("dossier_index", "dossier_id"),
    ("usage_monthly", "month"),
    ("memberships", "account_id, role"),
];

/// Account columns that travel (never the password hash: imported accounts set a new one).
const ACCOUNT_COLUMNS: &str = "id, kind, email, email_verified_at, full_name, citizen_id, \
                               tax_code, phone, locale, created_at, updated_at";

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// A table or column name read from the catalog, fit to splice into SQL.
fn ident(name: &str) -> Result<String, ArchiveError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    ok.then(|| format!("\"{name}\""))
        .ok_or_else(|| refused(format!("unexpected name `{name}`")))
}

/// The schema's tables, parents before children (foreign keys inside the schema).
fn tables_in_load_order(
    conn: &mut PgConnection,
    schema: &SchemaName,
) -> Result<Vec<String>, ArchiveError> {
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> '__diesel_schema_migrations' \
          ORDER BY 1",
    )
    .bind::<Text, _>(schema.as_str())
    .load(conn)?;
    #[derive(QueryableByName)]
    struct Edge {
        #[diesel(sql_type = Text)]
        child: String,
        #[diesel(sql_type = Text)]
        parent: String,
    }
    let edges: Vec<Edge> = diesel::sql_query(
        "SELECT ch.relname::text AS child, pa.relname::text AS parent FROM pg_constraint k \
           JOIN pg_class ch ON ch.oid = k.conrelid JOIN pg_class pa ON pa.oid = k.confrelid \
           JOIN pg_namespace n ON n.oid = ch.relnamespace \
          WHERE k.contype = 'f' AND n.nspname = $1 AND ch.oid <> pa.oid",
    )
    .bind::<Text, _>(schema.as_str())
    .load(conn)?;
    let names: Vec<String> = tables.into_iter().map(|t| t.name).collect();
    let deps: BTreeMap<&str, BTreeSet<&str>> = names
        .iter()
        .map(|t| {
            let parents = edges
                .iter()
                .filter(|e| e.child == *t)
                .map(|e| e.parent.as_str())
                .collect();
            (t.as_str(), parents)
        })
        .collect();
    load_order(&deps).ok_or_else(|| refused("foreign keys form a cycle"))
}

/// Topological order of `deps` (table → the tables it refers to), ties by name.
pub fn load_order(deps: &BTreeMap<&str, BTreeSet<&str>>) -> Option<Vec<String>> {
    let mut done: Vec<String> = Vec::new();
    while done.len() < deps.len() {
        let next = deps.iter().find(|(t, parents)| {
            !done.iter().any(|d| d == *t)
                && parents
                    .iter()
                    .all(|p| done.iter().any(|d| d == p) || !deps.contains_key(p))
        })?;
        done.push((*next.0).to_owned());
    }
    Some(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_load_before_children() {
        let deps: BTreeMap<&str, BTreeSet<&str>> = [
            ("attachments", ["dossiers"].into()),
            ("dossiers", ["procedures"].into()),
            ("fields", BTreeSet::new()),
            ("procedures", ["fields"].into()),
            ("payments", ["dossiers"].into()),
        ]
        .into();
        let order = load_order(&deps).unwrap();
        let at = |t: &str| order.iter().position(|x| x == t).unwrap();
        assert!(at("fields") < at("procedures"));
        assert!(at("procedures") < at("dossiers"));
        assert!(at("dossiers") < at("attachments") && at("dossiers") < at("payments"));
        let cycle: BTreeMap<&str, BTreeSet<&str>> =
            [("a", ["b"].into()), ("b", ["a"].into())].into();
        assert_eq!(load_order(&cycle), None);
    }
}
