//! Procedure versions: what an applicant saw and paid under — names, form, documents, fee and
//! its rule — numbered per procedure. The store records a new version after an upsert that
//! changed any of it; a dossier is pinned to the version current when it was filed, and
//! everything later done to it (its form checked again, its fee refigured, its answers shown)
//! reads that version, whatever the procedure has become since.

use super::RequiredDocument;
use crate::db::schema::tenant::{dossier_procedure_versions as pinned, procedure_versions as v};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text};
use uuid::Uuid;

/// One version of a procedure, as applicants saw it.
#[derive(Debug, Clone)]
pub struct ProcedureVersion {
    pub code: String,
    pub version: i32,
    pub name_vi: String,
    pub name_en: Option<String>,
    pub form_schema: serde_json::Value,
    pub documents: Vec<RequiredDocument>,
    pub fee_vnd: i64,
    pub fee_rule: crate::services::payments::FeeRule,
}

/// Records a new version of each of `codes` whose content differs from its latest version (or
/// that has none). One statement; the caller's upsert holds the procedures' row locks, so two
/// changes of one procedure number their versions one after the other.
pub fn record(conn: &mut PgConnection, codes: &[&str]) -> QueryResult<()> {
    if codes.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        // Read through a materialized CTE, then inserted: Citus 12.1 pushes a plain
        // `INSERT … SELECT` between two tables of a distributed schema down to the worker with a
        // broken filter (`WHERE ( IS NOT NULL)`). On one PostgreSQL it is the same plan.
        "WITH changed AS MATERIALIZED ( \
             SELECT p.code, coalesce(l.version, 0) + 1, p.name_vi, p.name_en, p.form_schema, \
                    p.documents, p.fee_vnd, p.fee_rule, d.digest \
             FROM procedures p \
             CROSS JOIN LATERAL (SELECT md5(concat_ws(chr(31), p.name_vi, p.name_en, \
                    p.form_schema, p.documents::text, p.fee_vnd::text, p.fee_rule)) AS digest) d \
             LEFT JOIN LATERAL (SELECT version, digest FROM procedure_versions x \
                    WHERE x.procedure_code = p.code ORDER BY version DESC LIMIT 1) l ON true \
             WHERE p.code = ANY($1) AND l.digest IS DISTINCT FROM d.digest) \
         INSERT INTO procedure_versions (procedure_code, version, name_vi, name_en, form_schema, \
                                         documents, fee_vnd, fee_rule, digest) \
         SELECT * FROM changed",
    )
    .bind::<Array<Text>, _>(codes)
    .execute(conn)
    .map(drop)
}

/// Pins a new dossier to its procedure's current version.
pub fn pin(conn: &mut PgConnection, dossier: Uuid, code: &str) -> QueryResult<()> {
    let latest: Option<i32> = v::table
        .filter(v::procedure_code.eq(code))
        .select(diesel::dsl::max(v::version))
        .first(conn)?;
    match latest {
        Some(version) => diesel::insert_into(pinned::table)
            .values((
                pinned::dossier_id.eq(dossier),
                pinned::procedure_code.eq(code),
                pinned::version.eq(version),
            ))
            .execute(conn)
            .map(drop),
        None => Ok(()),
    }
}

type Row = (
    String,
    i32,
    String,
    Option<String>,
    String,
    serde_json::Value,
    i64,
    String,
);

fn decode(row: Row) -> QueryResult<ProcedureVersion> {
    let (code, version, name_vi, name_en, form, documents, fee_vnd, fee_rule) = row;
    let bad = |e: serde_json::Error| diesel::result::Error::DeserializationError(Box::new(e));
    Ok(ProcedureVersion {
        code,
        version,
        name_vi,
        name_en,
        form_schema: serde_json::from_str(&form).map_err(bad)?,
        documents: serde_json::from_value(documents).map_err(bad)?,
        fee_vnd,
        fee_rule: serde_json::from_str(&fee_rule).unwrap_or_default(),
    })
}

/// The version dossier `dossier` was filed under (none for a dossier of a procedure that has
/// no version, which the migration that brought versions leaves out).
pub fn of_dossier(conn: &mut PgConnection, dossier: Uuid) -> QueryResult<Option<ProcedureVersion>> {
    let row: Option<Row> = pinned::table
        .inner_join(
            v::table.on(v::procedure_code
                .eq(pinned::procedure_code)
                .and(v::version.eq(pinned::version))),
        )
        .filter(pinned::dossier_id.eq(dossier))
        .select((
            v::procedure_code,
            v::version,
            v::name_vi,
            v::name_en,
            v::form_schema,
            v::documents,
            v::fee_vnd,
            v::fee_rule,
        ))
        .first(conn)
        .optional()?;
    row.map(decode).transpose()
}

/// The fee and fee rule (as stored) of the version dossier `dossier` was filed under: what its
/// fee is refigured with when its form is corrected.
pub fn fee_of(conn: &mut PgConnection, dossier: Uuid) -> QueryResult<Option<(i64, String)>> {
    pinned::table
        .inner_join(
            v::table.on(v::procedure_code
                .eq(pinned::procedure_code)
                .and(v::version.eq(pinned::version))),
        )
        .filter(pinned::dossier_id.eq(dossier))
        .select((v::fee_vnd, v::fee_rule))
        .first(conn)
        .optional()
}

/// The number of a procedure's current version; `None` before any.
pub fn latest(conn: &mut PgConnection, code: &str) -> QueryResult<Option<i32>> {
    v::table
        .filter(v::procedure_code.eq(code))
        .select(diesel::dsl::max(v::version))
        .first(conn)
}

/// The current version number of every procedure, by code (one grouped read).
pub fn latest_all(conn: &mut PgConnection) -> QueryResult<std::collections::HashMap<String, i32>> {
    let rows: Vec<(String, Option<i32>)> = v::table
        .group_by(v::procedure_code)
        .select((v::procedure_code, diesel::dsl::max(v::version)))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(code, n)| n.map(|n| (code, n)))
        .collect())
}
