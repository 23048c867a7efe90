//! Roles: per tenant `officer`, `leader`, `tenant_admin`; platform-wide `operator`. A role in
//! one tenant grants nothing in another; the only rule that reaches across tenants is written
//! out below and tested: a leader may read the statistics of the tenants beneath their own.

use crate::db::schema::{memberships, platform_roles};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Officer,
    Leader,
    TenantAdmin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Leader => "leader",
            Self::TenantAdmin => "tenant_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Officer, Self::Leader, Self::TenantAdmin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// English name, for mail.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Officer => "dossier officer",
            Self::Leader => "leader",
            Self::TenantAdmin => "tenant administrator",
        }
    }

    /// Vietnamese name, for mail and pages.
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Officer => "cán bộ xử lý hồ sơ",
            Self::Leader => "lãnh đạo",
            Self::TenantAdmin => "quản trị đơn vị",
        }
    }
}

/// Grants `role` in `tenant`; false if it was already granted.
pub fn grant(
    conn: &mut PgConnection,
    account: Uuid,
    tenant: Uuid,
    role: Role,
    by: Option<Uuid>,
) -> QueryResult<bool> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::account_id.eq(account),
            memberships::tenant_id.eq(tenant),
            memberships::role.eq(role.as_str()),
            memberships::granted_by.eq(by),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|n| n > 0)
}

pub fn revoke(
    conn: &mut PgConnection,
    account: Uuid,
    tenant: Uuid,
    role: Role,
) -> QueryResult<bool> {
    diesel::delete(
        memberships::table
            .filter(memberships::account_id.eq(account))
            .filter(memberships::tenant_id.eq(tenant))
            .filter(memberships::role.eq(role.as_str())),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// The account's roles in one tenant.
pub fn roles_in(conn: &mut PgConnection, account: Uuid, tenant: Uuid) -> QueryResult<Vec<Role>> {
    Ok(memberships::table
        .filter(memberships::account_id.eq(account))
        .filter(memberships::tenant_id.eq(tenant))
        .select(memberships::role)
        .load::<String>(conn)?
        .iter()
        .filter_map(|r| Role::parse(r))
        .collect())
}

pub fn grant_operator(conn: &mut PgConnection, account: Uuid) -> QueryResult<bool> {
    diesel::insert_into(platform_roles::table)
        .values((
            platform_roles::account_id.eq(account),
            platform_roles::role.eq("operator"),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|n| n > 0)
}

pub fn is_operator(conn: &mut PgConnection, account: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        platform_roles::table
            .filter(platform_roles::account_id.eq(account))
            .filter(platform_roles::role.eq("operator")),
    ))
    .get_result(conn)
}

/// May someone read `target`'s statistics? Yes for its own leaders and for the leaders of any
/// tenant above it (`ancestors_of_target`, nearest first). Nothing else reaches across tenants.
pub fn can_read_statistics(leader_of: &[Uuid], target: Uuid, ancestors_of_target: &[Uuid]) -> bool {
    leader_of
        .iter()
        .any(|t| *t == target || ancestors_of_target.contains(t))
}

/// Who holds `role` in `tenant`: account, e-mail, full name, language.
pub fn holders(
    conn: &mut PgConnection,
    tenant: Uuid,
    role: Role,
) -> QueryResult<Vec<(Uuid, String, String, String)>> {
    use crate::db::schema::{accounts, memberships};
    memberships::table
        .inner_join(accounts::table.on(accounts::id.eq(memberships::account_id)))
        .filter(memberships::tenant_id.eq(tenant))
        .filter(memberships::role.eq(role.as_str()))
        .order(accounts::email)
        .select((
            accounts::id,
            accounts::email,
            accounts::full_name,
            accounts::locale,
        ))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_flow_down_the_tree_only() {
        let (ministry, division, province, other) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        // The ministry's leader reads the division (its child) and itself.
        assert!(can_read_statistics(&[ministry], division, &[ministry]));
        assert!(can_read_statistics(&[ministry], ministry, &[]));
        // The division's leader does not read the ministry (its parent) nor a sibling.
        assert!(!can_read_statistics(&[division], ministry, &[]));
        assert!(!can_read_statistics(&[division], province, &[ministry]));
        // No leadership, no reading.
        assert!(!can_read_statistics(&[], division, &[ministry]));
        assert!(!can_read_statistics(&[other], division, &[ministry]));
    }

    #[test]
    fn role_names_round_trip() {
        for r in [Role::Officer, Role::Leader, Role::TenantAdmin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("operator"), None);
    }
}
