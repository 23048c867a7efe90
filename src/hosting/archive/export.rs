//! Export: the tenant's rows, read in one snapshot by several connections at once, written
//! as JSON lines and hashed as they are written; its attachments copied; the manifest signed.

use super::{
    ACCOUNT_COLUMNS, ArchiveError, BATCH, FORMAT, FileEntry, MANIFEST, Manifest, ManifestKey,
    ManifestTenant, Name, PLATFORM_TABLES, SIGNATURE_FILE, ident, refused, tables_in_load_order,
};
use crate::db::PgPool;
use crate::db::schema::{tenant_schema_state, tenants};
use crate::services::storage::{Storage, StorageKey};
use crate::services::text::hex;
use crate::tenancy::names::{SchemaName, TenantSlug};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use uuid::Uuid;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
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
    progress: &dyn crate::progress::Progress,
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
                                progress.advance(1);
                                done.lock()
                                    .unwrap_or_else(std::sync::PoisonError::into_inner)[i] =
                                    Some(entry);
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
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .map(|e| e.ok_or_else(|| refused("a table was not exported")))
        .collect()
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
    export_showing(pool, storage, slug, dir, key, &crate::progress::Silent)
}

/// [`export`], reporting each table and attachment written to `progress`.
pub fn export_showing(
    pool: &PgPool,
    storage: &dyn Storage,
    slug: &TenantSlug,
    dir: &Path,
    key: Option<&ManifestKey>,
    progress: &dyn crate::progress::Progress,
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
        .run(|conn| export_snapshot(conn, pool, storage, slug, dir, progress))?;
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
    progress: &dyn crate::progress::Progress,
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
    let keys: Vec<Name> = diesel::sql_query(format!(
        "SELECT storage_key AS name FROM {q}.attachments \
         UNION SELECT storage_key FROM {q}.results ORDER BY 1"
    ))
    .load(conn)?;
    progress.start("files", (jobs.len() + keys.len()) as u64);
    let snapshot: Name =
        diesel::sql_query("SELECT pg_export_snapshot() AS name").get_result(conn)?;
    let mut files = dump_all(pool, &snapshot.name, &jobs, dir, progress)?;
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
        progress.advance(1);
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
