//! A tenant's units and who belongs to them: listed for its officials, changed by its admins.
//! Only officials of the tenant (officers, leaders) can be put in a unit.

use crate::auth::principal::Principal;
use crate::auth::roles::{self, Role};
use crate::auth::{accounts, sso};
use crate::error::AppError;
use crate::mail::Email;
use crate::services::processes::units::{self, Unit};
use crate::services::processes::{StepRole, UnitCode};
use crate::state::AppState;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitMemberBody {
    pub(crate) email: String,
    /// `officer` or `leader`: the role this person has in the unit.
    pub(crate) role: String,
}

pub(crate) async fn list(principal: &Principal) -> Result<Vec<Unit>, AppError> {
    if !(principal.is_official() || principal.has(Role::TenantAdmin)) {
        return Err(AppError::Forbidden);
    }
    principal.tenant.db.run(|conn| Ok(units::list(conn)?)).await
}

fn parse(unit: &str, body: &UnitMemberBody) -> Result<(UnitCode, Email, StepRole), AppError> {
    let unit = UnitCode::parse(unit).map_err(|_| AppError::NotFound { what: "unit" })?;
    let email = Email::parse(&body.email)
        .map_err(|e| AppError::bad_request("invalid_email", e.to_string()))?;
    let role = StepRole::parse(&body.role)
        .ok_or_else(|| AppError::bad_request("invalid_role", "role: officer or leader"))?;
    Ok((unit, email, role))
}

/// The official behind `email`: an account holding a role in this tenant, or a clear 422.
async fn official(
    state: &AppState,
    principal: &Principal,
    email: Email,
) -> Result<uuid::Uuid, AppError> {
    let tenant = principal.tenant.tenant.id;
    state
        .shared
        .run(move |c| {
            let found = sso::find_login(c, email.as_str())?;
            let official = match found {
                Some(f) => {
                    let held = roles::roles_in(c, f.id, tenant)?;
                    (held.contains(&Role::Officer) || held.contains(&Role::Leader)).then_some(f.id)
                }
                None => None,
            };
            official.ok_or_else(|| AppError::Invalid {
                errors: vec![crate::app::dossiers::field_error(
                    "/email".into(),
                    "not_official",
                    "Thư điện tử: không phải cán bộ hoặc lãnh đạo của đơn vị này",
                    "E-mail: not an officer or leader of this agency",
                )],
            })
        })
        .await
}

/// Puts an official in a unit with a role (201, or 200 when already there).
pub(crate) async fn add(
    state: &AppState,
    principal: &Principal,
    unit: &str,
    body: UnitMemberBody,
) -> Result<bool, AppError> {
    principal.require(Role::TenantAdmin)?;
    let (unit, email, role) = parse(unit, &body)?;
    let account = official(state, principal, email).await?;
    let (by, tenant) = (principal.account, principal.tenant.tenant.id);
    principal
        .tenant
        .db
        .run(move |conn| {
            if !units::exists(conn, &unit)? {
                return Err(AppError::NotFound { what: "unit" });
            }
            let added = units::add_member(conn, &unit, account, role)?;
            if added {
                accounts::audit(
                    conn,
                    Some(by),
                    Some(tenant),
                    None,
                    "unit.member_added",
                    serde_json::json!({ "unit": unit, "account": account, "role": role.as_str() }),
                )?;
            }
            Ok(added)
        })
        .await
}

/// Takes a role in a unit away (404 when it was not held).
pub(crate) async fn remove(
    state: &AppState,
    principal: &Principal,
    unit: &str,
    body: UnitMemberBody,
) -> Result<(), AppError> {
    principal.require(Role::TenantAdmin)?;
    let (unit, email, role) = parse(unit, &body)?;
    let found = state
        .shared
        .run(move |c| Ok(sso::find_login(c, email.as_str())?.map(|f| f.id)))
        .await?
        .ok_or(AppError::NotFound {
            what: "unit member",
        })?;
    let (by, tenant) = (principal.account, principal.tenant.tenant.id);
    principal
        .tenant
        .db
        .run(move |conn| {
            if !units::remove_member(conn, &unit, found, role)? {
                return Err(AppError::NotFound {
                    what: "unit member",
                });
            }
            accounts::audit(
                conn,
                Some(by),
                Some(tenant),
                None,
                "unit.member_removed",
                serde_json::json!({ "unit": unit, "account": found, "role": role.as_str() }),
            )?;
            Ok(())
        })
        .await
}
