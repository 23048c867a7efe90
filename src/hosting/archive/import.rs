//! Import: a verified archive restored in one transaction (registry row, shared rows, the
//! tenant's schema with its keys and indexes rebuilt after the load, sequences reset), its
//! files written before the rows commit.

use super::inspect::ArchiveDir;
use super::verify::{Hashing, Verified, altered, each_line, verify};
use super::{
    ACCOUNT_COLUMNS, ArchiveError, ArchivePath, BATCH, FileEntry, Manifest, Signature, Trust,
    ident, refused, tables_in_load_order,
};
use crate::db::schema::{tenant_domains, tenants};
use crate::hosting::onboard::PortalAddress;
use crate::services::storage::Storage;
use crate::services::text::hex;
use crate::tenancy::TenantStatus;
use crate::tenancy::names::{HostName, SchemaName, TenantSlug};
use crate::tenancy::provision::{TENANT_BASELINE_VERSIONS, provision_tenant};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;
use uuid::Uuid;

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
    import_showing(conn, storage, dir, trust, portal, &crate::progress::Silent)
}

/// [`import`], reporting each archive file loaded to `progress`.
pub fn import_showing(
    conn: &mut PgConnection,
    storage: &dyn Storage,
    dir: &Path,
    trust: Trust,
    portal: &PortalAddress,
    progress: &dyn crate::progress::Progress,
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
    progress.start("files", manifest.files.len() as u64);
    let loaded = conn.transaction(|conn| {
        let counts = load_rows(conn, &manifest, &folder, &slug, portal, progress)?;
        // The files last, before the rows commit: a refusal while loading writes none.
        for f in &manifest.files {
            if let Some(ArchivePath::Attachment(key)) = ArchivePath::parse(&f.path) {
                let bytes = folder.read(&f.path)?;
                if bytes.len() as u64 != f.bytes || hex(&Sha256::digest(&bytes)) != f.sha256 {
                    return Err(altered(&f.path));
                }
                storage.put(&key, &bytes)?;
                written.push(key);
                progress.advance(1);
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
    progress: &dyn crate::progress::Progress,
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
        if !matches!(
            ArchivePath::parse(&f.path),
            Some(ArchivePath::Attachment(_))
        ) {
            progress.advance(1);
        }
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
        // Never below the sequence's own minimum: Citus gives each node's sequences of a
        // distributed schema a range of their own (starting far above 1).
        diesel::sql_query(format!(
            "SELECT setval(s.seq, greatest(coalesce((SELECT max({column}) FROM {q}.{table}), 0) + 1, \
                    (SELECT seqmin FROM pg_sequence WHERE seqrelid = s.seq::regclass)), false) \
             FROM (SELECT pg_get_serial_sequence('{q}.{table}', '{}') AS seq) s",
            s.column_name
        ))
        .execute(conn)?;
    }
    Ok(())
}
