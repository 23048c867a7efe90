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

mod inspect;
mod signature;

pub use signature::{ManifestKey, SIGNATURE_FILE, Signature};

use super::onboard::PortalAddress;
use crate::db::PgPool;
use crate::db::schema::{tenant_domains, tenant_schema_state, tenants};
use crate::services::storage::{Storage, StorageKey};
use crate::services::text::hex;
use crate::tenancy::TenantStatus;
use crate::tenancy::names::{HostName, SchemaName, TenantSlug};
use crate::tenancy::provision::{TENANT_BASELINE_VERSIONS, provision_tenant};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use inspect::{ArchiveDir, Contents, Own, RowCheck, owns_key};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Read, Write};
use std::path::Path;
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
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// A file being written, hashed as it goes.
struct Hashed {
    out: std::io::BufWriter<std::fs::File>,
    hash: Sha256,
    bytes: u64,
    rows: u64,
}

impl Hashed {
    fn create(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Self {
            out: std::io::BufWriter::new(std::fs::File::create(path)?),
            hash: Sha256::new(),
            bytes: 0,
            rows: 0,
        })
    }

    fn line(&mut self, line: &str) -> std::io::Result<()> {
        for part in [line.as_bytes(), b"\n"] {
            self.out.write_all(part)?;
            self.hash.update(part);
            self.bytes += part.len() as u64;
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self, path: String) -> std::io::Result<FileEntry> {
        self.out.flush()?;
        Ok(FileEntry {
            path,
            rows: Some(self.rows),
            bytes: self.bytes,
            sha256: hex(&self.hash.finalize()),
        })
    }
}

/// Streams `query` (one text column named `line`) into `dir/path` through a cursor.
fn dump(
    conn: &mut PgConnection,
    query: &str,
    dir: &Path,
    path: String,
) -> Result<FileEntry, ArchiveError> {
    let mut file = Hashed::create(&dir.join(&path))?;
    conn.batch_execute(&format!("DECLARE dvc_export NO SCROLL CURSOR FOR {query}"))?;
    loop {
        let rows: Vec<Line> =
            diesel::sql_query(format!("FETCH {BATCH} FROM dvc_export")).load(conn)?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            file.line(&r.line)?;
        }
    }
    conn.batch_execute("CLOSE dvc_export")?;
    Ok(file.finish(path)?)
}

/// Runs the dumps on up to [`EXPORT_WORKERS`] connections that all read `snapshot` (exported
/// by the caller's open transaction, as `pg_dump -j` does); returns the entries in job order.
fn dump_all(
    pool: &PgPool,
    snapshot: &str,
    jobs: &[(String, String)],
    dir: &Path,
) -> Result<Vec<FileEntry>, ArchiveError> {
    // A snapshot id is the server's own (`00000003-0000001B-1`); checked before it is spliced.
    if snapshot.is_empty() || !snapshot.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(refused(format!("unexpected snapshot id `{snapshot}`")));
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<Option<FileEntry>>> =
        std::sync::Mutex::new(vec![None; jobs.len()]);
    // The caller's transaction holds one of the pool's connections.
    let spare = usize::try_from(pool.max_size())
        .unwrap_or(1)
        .saturating_sub(1);
    let workers = EXPORT_WORKERS.min(spare).min(jobs.len()).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Result<(), ArchiveError> {
                    pool.get()?
                        .build_transaction()
                        .repeatable_read()
                        .read_only()
                        .run(|conn| {
                            conn.batch_execute(&format!(
                                "SET TRANSACTION SNAPSHOT '{snapshot}'; SET LOCAL TimeZone = 'UTC'"
                            ))?;
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some((query, path)) = jobs.get(i) else {
                                    return Ok(());
                                };
                                let entry = dump(conn, query, dir, path.clone())?;
                                done.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(entry);
                            }
                        })
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().map_err(|_| refused("an export worker stopped"))?)
    })?;
    done.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|e| e.ok_or_else(|| refused("a table was not exported")))
        .collect()
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

/// Primary-key columns of a table, in key order, for a stable row order.
fn primary_key(
    conn: &mut PgConnection,
    schema: &SchemaName,
    table: &str,
) -> Result<Vec<String>, ArchiveError> {
    let cols: Vec<Name> = diesel::sql_query(
        "SELECT a.attname::text AS name FROM pg_index i \
           JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
           JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true \
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
          WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary ORDER BY k.ord",
    )
    .bind::<Text, _>(schema.as_str())
    .bind::<Text, _>(table)
    .load(conn)?;
    cols.into_iter().map(|c| ident(&c.name)).collect()
}

/// What an export wrote.
#[derive(Debug)]
pub struct Exported {
    pub manifest: Manifest,
    /// SHA-256 of `manifest.json`: give it to `import --checksum` to prove the archive whole.
    pub manifest_sha256: String,
    pub bytes: u64,
    /// Whether `manifest.sig` was written (no key, no signature: importing then needs
    /// `--allow-unsigned`).
    pub signed: bool,
}

/// Tables are dumped by up to this many connections at once, all reading the same snapshot.
const EXPORT_WORKERS: usize = 4;

/// Writes the archive of `slug` into `dir` (created; must be empty if it exists), and signs
/// its manifest with `key` when there is one.
pub fn export(
    pool: &PgPool,
    storage: &dyn Storage,
    slug: &TenantSlug,
    dir: &Path,
    key: Option<&ManifestKey>,
) -> Result<Exported, ArchiveError> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(refused(format!("{} is not empty", dir.display())));
    }
    std::fs::create_dir_all(dir)?;
    let manifest = pool
        .get()?
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(|conn| export_snapshot(conn, pool, storage, slug, dir))?;
    let text = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
    std::fs::write(dir.join(MANIFEST), &text)?;
    let mut bytes = manifest.files.iter().map(|f| f.bytes).sum::<u64>() + text.len() as u64;
    if let Some(key) = key {
        let signature = key.sign(&text);
        std::fs::write(dir.join(SIGNATURE_FILE), &signature)?;
        bytes += signature.len() as u64;
    }
    Ok(Exported {
        manifest_sha256: hex(&Sha256::digest(&text)),
        manifest,
        bytes,
        signed: key.is_some(),
    })
}

fn export_snapshot(
    conn: &mut PgConnection,
    pool: &PgPool,
    storage: &dyn Storage,
    slug: &TenantSlug,
    dir: &Path,
) -> Result<Manifest, ArchiveError> {
    conn.batch_execute("SET LOCAL TimeZone = 'UTC'")?;
    let (id, code, parent_id): (Uuid, String, Option<Uuid>) = tenants::table
        .filter(tenants::slug.eq(slug.as_str()))
        .select((tenants::id, tenants::code, tenants::parent_id))
        .first(conn)
        .optional()?
        .ok_or_else(|| ArchiveError::NoTenant(slug.clone()))?;
    let parent = match parent_id {
        Some(p) => Some(tenants::table.find(p).select(tenants::slug).first(conn)?),
        None => None,
    };
    let version: Option<String> = tenant_schema_state::table
        .find(id)
        .select(tenant_schema_state::version)
        .first(conn)
        .optional()?
        .flatten();
    let schema = slug.schema_name();
    let q = schema.quoted();
    // (query, file) in load order; dumped in parallel below.
    let mut jobs: Vec<(String, String)> = Vec::new();
    // The registry row without its parent's id, which means nothing elsewhere.
    jobs.push((
        format!(
            "SELECT (to_jsonb(x) - 'parent_id')::text AS line FROM platform.tenants x \
             WHERE x.id = '{id}'"
        ),
        "platform/tenants.jsonl".into(),
    ));
    jobs.push((
        format!(
            "SELECT row_to_json(x)::text AS line FROM (SELECT {ACCOUNT_COLUMNS} FROM platform.accounts \
              WHERE id IN (SELECT account_id FROM platform.memberships WHERE tenant_id = '{id}' \
                           UNION SELECT applicant_id FROM {q}.dossiers WHERE applicant_id IS NOT NULL)) x \
             ORDER BY x.id"
        ),
        "platform/accounts.jsonl".into(),
    ));
    for (table, order) in PLATFORM_TABLES {
        jobs.push((
            format!(
                "SELECT row_to_json(x)::text AS line FROM platform.{table} x \
                 WHERE x.tenant_id = '{id}' ORDER BY {order}"
            ),
            format!("platform/{table}.jsonl"),
        ));
    }
    for table in tables_in_load_order(conn, &schema)? {
        let name = ident(&table)?;
        let mut order = primary_key(conn, &schema, &table)?;
        if order.is_empty() {
            order.push("x".into());
        }
        jobs.push((
            format!(
                "SELECT row_to_json(x)::text AS line FROM {q}.{name} x ORDER BY {}",
                order
                    .iter()
                    .map(|c| if c == "x" {
                        c.clone()
                    } else {
                        format!("x.{c}")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!("tenant/{table}.jsonl"),
        ));
    }
    let snapshot: Name =
        diesel::sql_query("SELECT pg_export_snapshot() AS name").get_result(conn)?;
    let mut files = dump_all(pool, &snapshot.name, &jobs, dir)?;
    let keys: Vec<Name> = diesel::sql_query(format!(
        "SELECT storage_key AS name FROM {q}.attachments ORDER BY storage_key"
    ))
    .load(conn)?;
    for key in keys {
        let key = StorageKey::parse(&key.name)
            .ok_or_else(|| refused(format!("malformed storage key `{}`", key.name)))?;
        let bytes = storage.get(&key)?;
        let path = format!("attachments/{}", key.as_str());
        let target = dir.join(&path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, &bytes)?;
        files.push(FileEntry {
            path,
            rows: None,
            bytes: bytes.len() as u64,
            sha256: hex(&Sha256::digest(&bytes)),
        });
    }
    Ok(Manifest {
        format: FORMAT.into(),
        created_at: chrono::Utc::now().to_rfc3339(),
        tenant: ManifestTenant {
            id,
            slug: slug.as_str().to_owned(),
            code,
            parent,
        },
        schema_version: version,
        files,
    })
}

/// One file of an archive, its path parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchivePath {
    Platform(&'static str),
    Accounts,
    Tenants,
    Tenant(String),
    Attachment(StorageKey),
}

impl ArchivePath {
    /// Only the shapes export writes; nothing else is ever opened.
    pub fn parse(path: &str) -> Option<Self> {
        if let Some(key) = path.strip_prefix("attachments/") {
            return StorageKey::parse(key).map(Self::Attachment);
        }
        if let Some(name) = path
            .strip_prefix("platform/")
            .and_then(|p| p.strip_suffix(".jsonl"))
        {
            return match name {
                "tenants" => Some(Self::Tenants),
                "accounts" => Some(Self::Accounts),
                _ => PLATFORM_TABLES
                    .iter()
                    .find(|(t, _)| *t == name)
                    .map(|(t, _)| Self::Platform(t)),
            };
        }
        let name = path
            .strip_prefix("tenant/")
            .and_then(|p| p.strip_suffix(".jsonl"))?;
        ident(name).ok().map(|_| Self::Tenant(name.to_owned()))
    }
}

/// What vouches for an archive on import, besides the checksums of its own manifest.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trust<'a> {
    /// This deployment's manifest key (from `auth.master_key`): checks `manifest.sig`.
    pub key: Option<&'a ManifestKey>,
    /// SHA-256 of `manifest.json` as export printed it, when the operator has it.
    pub checksum: Option<&'a str>,
    /// Accepts an archive whose manifest is not signed with `key` (made before archives were
    /// signed, or by a deployment with another master key, or with no key here). Every other
    /// check still applies.
    pub allow_unsigned: bool,
}

/// An archive that passed every check that needs no database.
pub struct Verified {
    pub manifest: Manifest,
    pub signature: Signature,
    folder: ArchiveDir,
    /// The domains its `tenant_domains` rows claim.
    domains: Vec<String>,
}

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    fn matches(self, entry: &FileEntry) -> bool {
        self.bytes == entry.bytes && hex(&self.hash.finalize()) == entry.sha256
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Calls `each` with every non-empty line of `reader` (split on `\n`, a trailing `\r` dropped)
/// and its number from 1: the one way both the checks and the load read JSON lines.
fn each_line(
    reader: &mut impl BufRead,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    let mut buf = Vec::new();
    let mut n = 0usize;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        n += 1;
        let mut line = buf.as_slice();
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            each(n, line)?;
        }
    }
}

fn altered(path: &str) -> ArchiveError {
    refused(format!(
        "`{path}` does not match its checksum: altered or incomplete"
    ))
}

/// Reads the manifest and checks, without writing anything: that the folder holds only files
/// and folders, the manifest's checksum (when given) and signature, every file against the
/// manifest, and that every shared row and attachment is the manifest's own tenant's.
pub fn verify(dir: &Path, trust: Trust) -> Result<Verified, ArchiveError> {
    let folder = ArchiveDir::walk(dir)?;
    if !folder.contains(MANIFEST) {
        return Err(refused(format!("{MANIFEST} is missing")));
    }
    let text = folder.read(MANIFEST)?;
    if let Some(expected) = trust.checksum
        && !hex(&Sha256::digest(&text)).eq_ignore_ascii_case(expected.trim())
    {
        return Err(refused("the manifest's checksum is not the one given"));
    }
    let sig = if folder.contains(SIGNATURE_FILE) {
        Some(folder.read(SIGNATURE_FILE)?)
    } else {
        None
    };
    let signature = signature::check(trust.key, &text, sig.as_deref(), trust.allow_unsigned)?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| refused(format!("{MANIFEST}: {e}")))?;
    if manifest.format != FORMAT {
        return Err(refused(format!(
            "format `{}` is not {FORMAT}",
            manifest.format
        )));
    }
    let slug = TenantSlug::parse(&manifest.tenant.slug).map_err(|e| refused(e.to_string()))?;
    let schema = slug.schema_name();
    let own = Own {
        id: manifest.tenant.id,
        slug: slug.as_str(),
        code: &manifest.tenant.code,
        schema: schema.as_str(),
    };
    let mut contents = Contents::default();
    let mut seen = BTreeSet::new();
    for f in &manifest.files {
        let parsed = ArchivePath::parse(&f.path);
        let Some(parsed) = parsed.filter(|_| seen.insert(f.path.as_str())) else {
            return Err(refused(format!("unexpected file `{}`", f.path)));
        };
        if let ArchivePath::Attachment(key) = &parsed
            && !owns_key(own.id, key)
        {
            return Err(refused(format!(
                "`{}` is not a file of this tenant's: its storage keys start with `{}/`",
                f.path, own.id
            )));
        }
        let mut reader =
            std::io::BufReader::with_capacity(1 << 16, Hashing::new(folder.open(&f.path)?));
        // The rows are checked in the very bytes that are hashed; a checksum mismatch is
        // reported first, as it says more.
        let mut wrong = None;
        match RowCheck::of(&parsed) {
            Some(check) => each_line(&mut reader, |n, line| {
                if wrong.is_none() {
                    let checked = std::str::from_utf8(line)
                        .map_err(|e| refused(format!("{} line {n}: {e}", f.path)))
                        .and_then(|line| contents.check_line(&own, check, &f.path, n, line));
                    wrong = checked.err();
                }
                Ok(())
            })?,
            None => {
                std::io::copy(&mut reader, &mut std::io::sink())?;
            }
        }
        if !reader.into_inner().matches(f) {
            return Err(altered(&f.path));
        }
        if let Some(e) = wrong {
            return Err(e);
        }
    }
    for required in ["platform/tenants.jsonl", "tenant/dossiers.jsonl"] {
        if !seen.contains(required) {
            return Err(refused(format!("`{required}` is missing")));
        }
    }
    contents.finish()?;
    Ok(Verified {
        manifest,
        signature,
        folder,
        domains: contents.domains,
    })
}

/// What an import restored.
#[derive(Debug)]
pub struct Imported {
    pub id: Uuid,
    pub slug: TenantSlug,
    pub rows: u64,
    pub attachments: usize,
    /// Accounts that already existed here (matched by id or address) and were kept as they are.
    pub accounts_kept: u64,
    /// Whether the manifest's signature was verified, or why not (`--allow-unsigned`).
    pub signature: Signature,
}

/// Restores a verified archive: refuses (see [`verify`]) a tampered, unsigned or foreign
/// archive, a tenant that exists here, a domain that leads to another tenant here or a
/// different schema version, before writing anything; then loads the rows in one transaction
/// and writes the files before it commits (they are removed again if anything fails).
pub fn import(
    conn: &mut PgConnection,
    storage: &dyn Storage,
    dir: &Path,
    trust: Trust,
    portal: &PortalAddress,
) -> Result<Imported, ArchiveError> {
    let Verified {
        manifest,
        signature,
        folder,
        domains,
    } = verify(dir, trust)?;
    let slug = TenantSlug::parse(&manifest.tenant.slug).map_err(|e| refused(e.to_string()))?;
    let current = TENANT_BASELINE_VERSIONS.last().map(|v| (*v).to_owned());
    if manifest.schema_version != current {
        return Err(refused(format!(
            "schema version {:?} differs from this deployment's {:?}; upgrade the older side first",
            manifest.schema_version, current
        )));
    }
    let clash: i64 = tenants::table
        .filter(
            tenants::slug
                .eq(slug.as_str())
                .or(tenants::id.eq(manifest.tenant.id))
                .or(tenants::code.eq(&manifest.tenant.code)),
        )
        .count()
        .get_result(conn)?;
    if clash > 0 {
        return Err(ArchiveError::Exists(slug.as_str().to_owned()));
    }
    check_domains(conn, &domains)?;
    let mut written = Vec::new();
    let loaded = conn.transaction(|conn| {
        let counts = load_rows(conn, &manifest, &folder, &slug, portal)?;
        // The files last, before the rows commit: a refusal while loading writes none.
        for f in &manifest.files {
            if let Some(ArchivePath::Attachment(key)) = ArchivePath::parse(&f.path) {
                let bytes = folder.read(&f.path)?;
                if bytes.len() as u64 != f.bytes || hex(&Sha256::digest(&bytes)) != f.sha256 {
                    return Err(altered(&f.path));
                }
                storage.put(&key, &bytes)?;
                written.push(key);
            }
        }
        Ok(counts)
    });
    match loaded {
        Ok((rows, accounts_kept)) => Ok(Imported {
            id: manifest.tenant.id,
            slug,
            rows,
            attachments: written.len(),
            accounts_kept,
            signature,
        }),
        Err(e) => {
            for key in &written {
                let _ = storage.delete(key);
            }
            Err(e)
        }
    }
}

/// The archive's domains must be written as the registry reads them (lower case, no final
/// dot: another spelling would slip past the key and then route as someone else's) and lead
/// to no tenant here yet.
fn check_domains(conn: &mut PgConnection, domains: &[String]) -> Result<(), ArchiveError> {
    if domains.is_empty() {
        return Ok(());
    }
    let routed: BTreeSet<String> = tenant_domains::table
        .select(tenant_domains::domain)
        .load::<String>(conn)?
        .into_iter()
        .map(|d| HostName::parse(&d).map_or(d, |h| h.as_str().to_owned()))
        .collect();
    for domain in domains {
        let host = HostName::parse(domain)
            .ok()
            .filter(|h| h.as_str() == domain)
            .ok_or_else(|| {
                refused(format!(
                    "platform/tenant_domains.jsonl: `{domain}` is not a host name as dvc \
                     writes them"
                ))
            })?;
        if routed.contains(host.as_str()) {
            return Err(refused(format!(
                "platform/tenant_domains.jsonl: `{domain}` already leads to another tenant here"
            )));
        }
    }
    Ok(())
}

fn load_rows(
    conn: &mut PgConnection,
    manifest: &Manifest,
    folder: &ArchiveDir,
    slug: &TenantSlug,
    portal: &PortalAddress,
) -> Result<(u64, u64), ArchiveError> {
    let schema = slug.schema_name();
    let q = schema.quoted();
    let id = manifest.tenant.id;
    let mut rows = 0u64;
    let mut accounts_kept = 0u64;
    let entry = |path: &str| -> Result<&FileEntry, ArchiveError> {
        manifest
            .files
            .iter()
            .find(|f| f.path == path)
            .ok_or_else(|| refused(format!("`{path}` is missing")))
    };
    // Verified to be the tenant's own row alone; the filters below hold that again in SQL.
    let registered = load_file(
        conn,
        folder,
        entry("platform/tenants.jsonl")?,
        &format!(
            "INSERT INTO platform.tenants SELECT r.* FROM \
             json_populate_recordset(NULL::platform.tenants, $1::json) r \
             WHERE r.id = '{id}' AND r.schema_name = '{}'",
            schema.as_str()
        ),
    )?;
    if registered != 1 {
        return Err(refused("the tenant row did not load"));
    }
    rows += registered;
    let parent = match &manifest.tenant.parent {
        Some(p) => tenants::table
            .filter(tenants::slug.eq(p))
            .select(tenants::id)
            .first::<Uuid>(conn)
            .optional()?,
        None => None,
    };
    diesel::update(tenants::table.find(id))
        .set(tenants::parent_id.eq(parent))
        .execute(conn)?;
    // An archived tenant comes back suspended: the operator decides when it opens again.
    diesel::update(
        tenants::table
            .find(id)
            .filter(tenants::status.eq(TenantStatus::Archived.as_str())),
    )
    .set((
        tenants::status.eq(TenantStatus::Suspended.as_str()),
        tenants::archived_at.eq(None::<chrono::DateTime<chrono::Utc>>),
        tenants::purge_after.eq(None::<chrono::DateTime<chrono::Utc>>),
    ))
    .execute(conn)?;
    provision_tenant(conn, id, &schema).map_err(|e| ArchiveError::Provision(e.to_string()))?;
    let tables: BTreeSet<String> = tables_in_load_order(conn, &schema)?.into_iter().collect();
    // Keys, foreign keys and indexes are built once after the load, as pg_restore does, not
    // row by row; rebuilding them checks every row, so bad data still fails the import.
    let constraints = drop_constraints(conn, &schema)?;
    let secondary = drop_secondary_indexes(conn, &schema)?;
    for f in &manifest.files {
        match ArchivePath::parse(&f.path) {
            Some(ArchivePath::Tenants | ArchivePath::Attachment(_)) | None => {}
            Some(ArchivePath::Accounts) => {
                let inserted = load_file(
                    conn,
                    folder,
                    f,
                    &format!(
                        "INSERT INTO platform.accounts ({ACCOUNT_COLUMNS}, password_hash) \
                         SELECT {ACCOUNT_COLUMNS}, '!' FROM json_populate_recordset(NULL::platform.accounts, $1::json) \
                         ON CONFLICT DO NOTHING"
                    ),
                )?;
                accounts_kept += f.rows.unwrap_or(0).saturating_sub(inserted);
                rows += inserted;
            }
            Some(ArchivePath::Platform("memberships")) => {
                // Only this tenant's roles, and only for accounts that exist here (the
                // archive's own, or the ones already here that they matched).
                rows += load_file(
                    conn,
                    folder,
                    f,
                    &format!(
                        "INSERT INTO platform.memberships SELECT r.* FROM \
                         json_populate_recordset(NULL::platform.memberships, $1::json) r \
                         WHERE r.tenant_id = '{id}' \
                           AND EXISTS (SELECT 1 FROM platform.accounts a WHERE a.id = r.account_id)"
                    ),
                )?;
            }
            Some(ArchivePath::Platform(table)) => {
                rows += load_file(
                    conn,
                    folder,
                    f,
                    &format!(
                        "INSERT INTO platform.{table} SELECT r.* FROM \
                         json_populate_recordset(NULL::platform.{table}, $1::json) r \
                         WHERE r.tenant_id = '{id}'"
                    ),
                )?;
            }
            Some(ArchivePath::Tenant(table)) => {
                if !tables.contains(&table) {
                    return Err(refused(format!("no table `{table}` in a tenant schema")));
                }
                let name = ident(&table)?;
                rows += load_file(
                    conn,
                    folder,
                    f,
                    &format!(
                        "INSERT INTO {q}.{name} SELECT * FROM \
                         json_populate_recordset(NULL::{q}.{name}, $1::json)"
                    ),
                )?;
            }
        }
    }
    for definition in constraints.iter().chain(&secondary) {
        conn.batch_execute(definition)?;
    }
    reset_sequences(conn, &schema)?;
    let tenant = crate::tenancy::registry::load_all(conn)?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| refused("the tenant row did not load"))?;
    portal.register(conn, &tenant)?;
    crate::auth::accounts::audit(
        conn,
        None,
        Some(id),
        None,
        "operator.tenant_imported",
        serde_json::json!({ "rows": rows, "from_manifest_created_at": manifest.created_at }),
    )?;
    Ok((rows, accounts_kept))
}

/// Loads a JSON-lines file with `sql` (which takes a JSON array as `$1`), in batches; returns
/// the rows inserted. The bytes are hashed again as they are read: a file changed since it was
/// verified fails the load (and so the transaction).
fn load_file(
    conn: &mut PgConnection,
    folder: &ArchiveDir,
    entry: &FileEntry,
    sql: &str,
) -> Result<u64, ArchiveError> {
    let mut reader =
        std::io::BufReader::with_capacity(1 << 16, Hashing::new(folder.open(&entry.path)?));
    let mut batch = String::from("[");
    let mut n = 0usize;
    let mut inserted = 0u64;
    let mut flush = |batch: &mut String, n: &mut usize| -> Result<(), ArchiveError> {
        if *n > 0 {
            batch.push(']');
            inserted += diesel::sql_query(sql)
                .bind::<Text, _>(batch.as_str())
                .execute(conn)? as u64;
        }
        batch.clear();
        batch.push('[');
        *n = 0;
        Ok(())
    };
    each_line(&mut reader, |at, line| {
        let line = std::str::from_utf8(line)
            .map_err(|e| refused(format!("{} line {at}: {e}", entry.path)))?;
        if n > 0 {
            batch.push(',');
        }
        batch.push_str(line);
        n += 1;
        if n == BATCH {
            flush(&mut batch, &mut n)?;
        }
        Ok(())
    })?;
    flush(&mut batch, &mut n)?;
    if !reader.into_inner().matches(entry) {
        return Err(altered(&entry.path));
    }
    Ok(inserted)
}

/// Drops the schema's primary keys, unique and foreign-key constraints (foreign keys first);
/// returns the statements that add them back (keys first).
fn drop_constraints(
    conn: &mut PgConnection,
    schema: &SchemaName,
) -> Result<Vec<String>, ArchiveError> {
    #[derive(QueryableByName)]
    struct Constraint {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Text)]
        definition: String,
    }
    let found: Vec<Constraint> = diesel::sql_query(
        "SELECT c.relname::text AS table_name, k.conname::text AS name, k.contype::text AS kind, \
                pg_get_constraintdef(k.oid) AS definition \
           FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
           JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE n.nspname = $1 AND k.contype IN ('p', 'u', 'f') \
            AND c.relname <> '__diesel_schema_migrations' \
          ORDER BY (k.contype = 'f') DESC, c.relname, k.conname",
    )
    .bind::<Text, _>(schema.as_str())
    .load(conn)?;
    let q = schema.quoted();
    let mut restore = Vec::new();
    for k in &found {
        let (table, name) = (ident(&k.table_name)?, ident(&k.name)?);
        conn.batch_execute(&format!("ALTER TABLE {q}.{table} DROP CONSTRAINT {name}"))?;
        restore.push((
            k.kind == "f",
            format!(
                "ALTER TABLE {q}.{table} ADD CONSTRAINT {name} {}",
                k.definition
            ),
        ));
    }
    // Keys before the foreign keys that need them.
    restore.sort_by_key(|(foreign, _)| *foreign);
    Ok(restore.into_iter().map(|(_, sql)| sql).collect())
}

/// Drops the schema's indexes that back no constraint; returns their definitions (read from
/// the catalog of the schema just created from dvc's own migrations).
fn drop_secondary_indexes(
    conn: &mut PgConnection,
    schema: &SchemaName,
) -> Result<Vec<String>, ArchiveError> {
    #[derive(QueryableByName)]
    struct Index {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        definition: String,
    }
    let indexes: Vec<Index> = diesel::sql_query(
        "SELECT i.indexname::text AS name, i.indexdef::text AS definition FROM pg_indexes i \
          WHERE i.schemaname = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint k \
                JOIN pg_namespace n ON n.oid = k.connamespace \
               WHERE n.nspname = i.schemaname AND k.conname = i.indexname)",
    )
    .bind::<Text, _>(schema.as_str())
    .load(conn)?;
    let q = schema.quoted();
    for index in &indexes {
        conn.batch_execute(&format!("DROP INDEX {q}.{}", ident(&index.name)?))?;
    }
    Ok(indexes.into_iter().map(|i| i.definition).collect())
}

/// Serial columns continue after the highest restored value.
fn reset_sequences(conn: &mut PgConnection, schema: &SchemaName) -> Result<(), ArchiveError> {
    #[derive(QueryableByName)]
    struct Serial {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        column_name: String,
    }
    let serials: Vec<Serial> = diesel::sql_query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
          WHERE table_schema = $1 AND column_default LIKE 'nextval(%'",
    )
    .bind::<Text, _>(schema.as_str())
    .load(conn)?;
    let q = schema.quoted();
    for s in serials {
        let (table, column) = (ident(&s.table_name)?, ident(&s.column_name)?);
        diesel::sql_query(format!(
            "SELECT setval(pg_get_serial_sequence('{q}.{table}', '{}'), \
                    coalesce((SELECT max({column}) FROM {q}.{table}), 0) + 1, false)",
            s.column_name
        ))
        .execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_shapes_export_writes_are_read() {
        assert_eq!(
            ArchivePath::parse("platform/stats_daily.jsonl"),
            Some(ArchivePath::Platform("stats_daily"))
        );
        assert_eq!(
            ArchivePath::parse("tenant/dossiers.jsonl"),
            Some(ArchivePath::Tenant("dossiers".into()))
        );
        let key = format!("{}/2026/{}", Uuid::new_v4(), Uuid::new_v4());
        assert!(matches!(
            ArchivePath::parse(&format!("attachments/{key}")),
            Some(ArchivePath::Attachment(_))
        ));
        for bad in [
            "../etc/passwd",
            "platform/secrets.jsonl",
            "tenant/../x.jsonl",
            "tenant/Dossiers.jsonl",
            "tenant/x\".jsonl",
            "attachments/../../x",
            "attachments/a/b/c",
            "manifest.json",
        ] {
            assert_eq!(ArchivePath::parse(bad), None, "{bad}");
        }
    }

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
