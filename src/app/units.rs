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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitBody {
    /// 1–40 of a–z, 0–9 and inner hyphens (`phong-viec-lam`).
    pub(crate) code: String,
    pub(crate) name_vi: String,
    #[serde(default)]
    pub(crate) name_en: Option<String>,
}

/// Creates a unit (true) or renames an existing one (false). Tenant admins.
pub(crate) async fn save_unit(principal: &Principal, body: UnitBody) -> Result<bool, AppError> {
    use crate::app::dossiers::field_error;
    principal.require(Role::TenantAdmin)?;
    let mut errors = Vec::new();
    let code = UnitCode::parse(body.code.trim());
    if code.is_err() {
        errors.push(field_error(
            "/code".into(),
            "invalid_unit",
            "Mã đơn vị: 1–40 ký tự a–z, 0–9 và dấu gạch nối ở giữa",
            "Unit code: 1–40 of a–z, 0–9 and inner hyphens",
        ));
    }
    let name_vi = body.name_vi.trim().to_owned();
    let name_en = body
        .name_en
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let bad = |n: &str| n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control);
    if bad(&name_vi) {
        errors.push(field_error(
            "/name_vi".into(),
            "required",
            "Tên đơn vị: bắt buộc, tối đa 200 ký tự",
            "Unit name: required, at most 200 characters",
        ));
    }
    if name_en.as_deref().is_some_and(bad) {
        errors.push(field_error(
            "/name_en".into(),
            "invalid",
            "Tên tiếng Anh: tối đa 200 ký tự",
            "English name: at most 200 characters",
        ));
    }
    let Ok(code) = code else {
        return Err(AppError::Invalid { errors });
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid { errors });
    }
    let (by, tenant) = (principal.account, principal.tenant.tenant.id);
    principal
        .tenant
        .db
        .run(move |conn| {
            let created = units::upsert(conn, &code, &name_vi, name_en.as_deref())?;
            accounts::audit(
                conn,
                Some(by),
                Some(tenant),
                None,
                if created {
                    "unit.created"
                } else {
                    "unit.renamed"
                },
                serde_json::json!({ "unit": code, "name_vi": name_vi }),
            )?;
            Ok(created)
        })
        .await
}
