//! Storage of procedure drafts (the designer's work before publication), one per code, in the
//! tenant's schema like the rest of its catalog.

use super::design::Design;
use crate::db::schema::tenant::procedure_drafts as d;
use diesel::prelude::*;
use uuid::Uuid;

/// A draft as stored.
#[derive(Debug, Clone)]
pub struct Draft {
    pub code: String,
    pub design: Design,
    /// The published version it started from; `None` for a new procedure.
    pub based_on: Option<i32>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

type Row = (
    String,
    serde_json::Value,
    Option<i32>,
    chrono::DateTime<chrono::Utc>,
);

fn draft((code, design, based_on, updated_at): Row) -> QueryResult<Draft> {
    let design = serde_json::from_value(design)
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    Ok(Draft {
        code,
        design,
        based_on,
        updated_at,
    })
}

pub fn find(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Draft>> {
    d::table
        .filter(d::code.eq(code))
        .select((d::code, d::design, d::based_on, d::updated_at))
        .first::<Row>(conn)
        .optional()?
        .map(draft)
        .transpose()
}

/// The draft of `code`, its row locked until the transaction ends (an edit reads, changes
/// and writes it back).
pub fn lock(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Draft>> {
    d::table
        .filter(d::code.eq(code))
        .select((d::code, d::design, d::based_on, d::updated_at))
        .for_update()
        .first::<Row>(conn)
        .optional()?
        .map(draft)
        .transpose()
}

/// Every draft, by code.
pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<Draft>> {
    d::table
        .order(d::code)
        .select((d::code, d::design, d::based_on, d::updated_at))
        .load::<Row>(conn)?
        .into_iter()
        .map(draft)
        .collect()
}

/// Creates or replaces the draft of `code` (keeping the version it started from).
pub fn save(
    conn: &mut PgConnection,
    code: &str,
    design: &Design,
    based_on: Option<i32>,
    by: Uuid,
) -> QueryResult<()> {
    let json = to_json(design)?;
    diesel::insert_into(d::table)
        .values(row(code, &json, based_on, by))
        .on_conflict(d::code)
        .do_update()
        .set((
            d::design.eq(&json),
            d::updated_by.eq(by),
            // Bound, not `now()` (Citus: immutable functions only in `DO UPDATE SET`).
            d::updated_at.eq(chrono::Utc::now()),
        ))
        .execute(conn)
        .map(drop)
}

/// Starts the draft of `code` unless one exists already (then nothing changes).
pub fn start(
    conn: &mut PgConnection,
    code: &str,
    design: &Design,
    based_on: Option<i32>,
    by: Uuid,
) -> QueryResult<()> {
    let json = to_json(design)?;
    diesel::insert_into(d::table)
        .values(row(code, &json, based_on, by))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(drop)
}

fn to_json(design: &Design) -> QueryResult<serde_json::Value> {
    serde_json::to_value(design).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

/// The columns of a new draft row.
#[allow(clippy::type_complexity)] // diesel's own spelling of four column values
fn row<'a>(
    code: &'a str,
    json: &'a serde_json::Value,
    based_on: Option<i32>,
    by: Uuid,
) -> (
    diesel::dsl::Eq<d::code, &'a str>,
    diesel::dsl::Eq<d::design, &'a serde_json::Value>,
    diesel::dsl::Eq<d::based_on, Option<i32>>,
    diesel::dsl::Eq<d::updated_by, Uuid>,
) {
    (
        d::code.eq(code),
        d::design.eq(json),
        d::based_on.eq(based_on),
        d::updated_by.eq(by),
    )
}

pub fn delete(conn: &mut PgConnection, code: &str) -> QueryResult<bool> {
    diesel::delete(d::table.filter(d::code.eq(code)))
        .execute(conn)
        .map(|n| n > 0)
}
