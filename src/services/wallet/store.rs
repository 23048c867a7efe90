//! The shared `wallet_items` rows. Written inside the issuing tenant's transaction (a result
//! signed, a dossier received, a result revoked), read by the citizen's own account only.

use super::{ItemKind, WalletItem};
use crate::db::schema::{tenants, wallet_items as w};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

/// An item to keep.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub account_id: Uuid,
    pub tenant_id: Uuid,
    pub kind: ItemKind,
    pub source_id: Uuid,
    pub dossier_code: String,
    pub procedure_code: String,
    pub title: String,
    pub title_en: Option<String>,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub result_number: Option<String>,
    pub added_at: DateTime<Utc>,
}

/// Keeps `items` (an item already kept is left as it is).
pub fn keep(conn: &mut PgConnection, items: &[NewItem]) -> QueryResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = items
        .iter()
        .map(|i| {
            (
                w::id.eq(Uuid::new_v4()),
                w::account_id.eq(i.account_id),
                w::tenant_id.eq(i.tenant_id),
                w::kind.eq(i.kind),
                w::source_id.eq(i.source_id),
                w::dossier_code.eq(&i.dossier_code),
                w::procedure_code.eq(&i.procedure_code),
                w::title.eq(&i.title),
                w::title_en.eq(&i.title_en),
                w::file_name.eq(&i.file_name),
                w::media_type.eq(&i.media_type),
                w::size_bytes.eq(i.size_bytes),
                w::sha256.eq(&i.sha256),
                w::storage_key.eq(&i.storage_key),
                w::result_number.eq(&i.result_number),
                w::added_at.eq(i.added_at),
            )
        })
        .collect();
    diesel::insert_into(w::table)
        .values(rows)
        .on_conflict((w::account_id, w::source_id))
        .do_nothing()
        .execute(conn)
        .map(drop)
}

/// Marks the items made from `source` (a revoked result) revoked.
pub fn revoke_source(conn: &mut PgConnection, source: Uuid, at: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(w::table.filter(w::source_id.eq(source)))
        .set(w::revoked_at.eq(at))
        .execute(conn)
        .map(drop)
}

type Row = (
    (
        Uuid,
        ItemKind,
        Uuid,
        String,
        String,
        String,
        Option<String>,
        String,
    ),
    (
        String,
        i64,
        String,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        String,
        Uuid,
    ),
    String,
);

fn load(
    conn: &mut PgConnection,
    account: Uuid,
    only: Option<&[Uuid]>,
) -> QueryResult<Vec<WalletItem>> {
    let mut q = w::table
        .inner_join(tenants::table.on(tenants::id.eq(w::tenant_id)))
        .filter(w::account_id.eq(account))
        .into_boxed();
    if let Some(ids) = only {
        q = q.filter(w::id.eq_any(ids.to_vec()));
    }
    let rows: Vec<Row> = q
        .order((w::added_at.desc(), w::id))
        .select((
            (
                w::id,
                w::kind,
                w::tenant_id,
                w::dossier_code,
                w::procedure_code,
                w::title,
                w::title_en,
                w::file_name,
            ),
            (
                w::media_type,
                w::size_bytes,
                w::sha256,
                w::result_number,
                w::added_at,
                w::revoked_at,
                w::storage_key,
                w::source_id,
            ),
            tenants::name_vi,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                (id, kind, tenant_id, dossier_code, procedure_code, title, title_en, file_name),
                (media_type, size_bytes, sha256, result_number, added_at, revoked_at, key, source),
                issuer,
            )| WalletItem {
                id,
                kind,
                issuer,
                tenant_id,
                dossier_code,
                procedure_code,
                title,
                title_en,
                file_name,
                media_type,
                size_bytes,
                sha256,
                result_number,
                added_at,
                revoked_at,
                storage_key: key,
                source_id: source,
            },
        )
        .collect())
}

/// The account's wallet, the newest first.
pub fn list(conn: &mut PgConnection, account: Uuid) -> QueryResult<Vec<WalletItem>> {
    load(conn, account, None)
}

/// The items among `ids` that are the account's own (another person's are simply absent).
pub fn own(conn: &mut PgConnection, account: Uuid, ids: &[Uuid]) -> QueryResult<Vec<WalletItem>> {
    load(conn, account, Some(ids))
}
