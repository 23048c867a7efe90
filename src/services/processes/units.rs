//! A tenant's units and the officials who belong to them, with the role each has there (what
//! a process step's `unit` and `role` are matched against). Runs on a connection scoped to
//! the tenant by [`crate::db::TenantDb`].

use super::model::{StepRole, UnitCode};
use crate::db::schema::tenant::{agencies, unit_members};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Unit {
    pub code: String,
    pub name_vi: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub members: Vec<UnitMember>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UnitMember {
    pub account: Uuid,
    /// `officer` or `leader`.
    pub role: String,
}

/// Every unit with its members, in code order.
pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<Unit>> {
    let units: Vec<(String, String, Option<String>)> = agencies::table
        .order(agencies::code)
        .select((agencies::code, agencies::name_vi, agencies::name_en))
        .load(conn)?;
    let members: Vec<(String, Uuid, String)> = unit_members::table
        .order((
            unit_members::unit_code,
            unit_members::role,
            unit_members::account_id,
        ))
        .select((
            unit_members::unit_code,
            unit_members::account_id,
            unit_members::role,
        ))
        .load(conn)?;
    Ok(units
        .into_iter()
        .map(|(code, name_vi, name_en)| Unit {
            members: members
                .iter()
                .filter(|(u, _, _)| *u == code)
                .map(|(_, account, role)| UnitMember {
                    account: *account,
                    role: role.clone(),
                })
                .collect(),
            code,
            name_vi,
            name_en,
        })
        .collect())
}

pub fn exists(conn: &mut PgConnection, unit: &UnitCode) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        agencies::table.filter(agencies::code.eq(unit.as_str())),
    ))
    .get_result(conn)
}

/// Puts `account` in `unit` with `role`; false when it was already there.
pub fn add_member(
    conn: &mut PgConnection,
    unit: &UnitCode,
    account: Uuid,
    role: StepRole,
) -> QueryResult<bool> {
    diesel::insert_into(unit_members::table)
        .values((
            unit_members::unit_code.eq(unit.as_str()),
            unit_members::account_id.eq(account),
            unit_members::role.eq(role.as_str()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|n| n == 1)
}

/// Takes `account`'s `role` in `unit` away; false when it had none.
pub fn remove_member(
    conn: &mut PgConnection,
    unit: &UnitCode,
    account: Uuid,
    role: StepRole,
) -> QueryResult<bool> {
    diesel::delete(
        unit_members::table
            .filter(unit_members::unit_code.eq(unit.as_str()))
            .filter(unit_members::account_id.eq(account))
            .filter(unit_members::role.eq(role.as_str())),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// The units `account` belongs to, with its role in each: who may act at which step.
pub fn memberships_of(
    conn: &mut PgConnection,
    account: Uuid,
) -> QueryResult<Vec<(UnitCode, StepRole)>> {
    let rows: Vec<(String, String)> = unit_members::table
        .filter(unit_members::account_id.eq(account))
        .select((unit_members::unit_code, unit_members::role))
        .load(conn)?;
    // The CHECK constraints keep both columns valid; anything else is skipped, not trusted.
    Ok(rows
        .into_iter()
        .filter_map(|(u, r)| Some((UnitCode::parse(&u).ok()?, StepRole::parse(&r)?)))
        .collect())
}

/// Creates a unit, or renames it when the code exists; returns whether it was new.
pub fn upsert(
    conn: &mut PgConnection,
    code: &UnitCode,
    name_vi: &str,
    name_en: Option<&str>,
) -> QueryResult<bool> {
    let existed = exists(conn, code)?;
    diesel::insert_into(agencies::table)
        .values((
            agencies::code.eq(code.as_str()),
            agencies::name_vi.eq(name_vi),
            agencies::name_en.eq(name_en),
        ))
        .on_conflict(agencies::code)
        .do_update()
        .set((agencies::name_vi.eq(name_vi), agencies::name_en.eq(name_en)))
        .execute(conn)?;
    Ok(!existed)
}

/// Every unit's code, to check a process against.
pub fn codes(conn: &mut PgConnection) -> QueryResult<std::collections::HashSet<UnitCode>> {
    Ok(agencies::table
        .select(agencies::code)
        .load::<String>(conn)?
        .into_iter()
        .filter_map(|c| UnitCode::parse(&c).ok())
        .collect())
}
