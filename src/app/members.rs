//! Use cases behind `api::members` and the portal pages that do the same (moved out of the
//! JSON adapter so both adapters call them).

use crate::auth::principal::Principal;
use crate::auth::roles::{self, Role};
use crate::auth::{accounts, sso};
use crate::error::AppError;
use crate::mail::{Email, TemplateKey, outbox};
use crate::state::AppState;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    pub(crate) email: String,
    /// officer, leader or tenant_admin
    pub(crate) role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub(crate) account: Uuid,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) role: String,
}

pub(crate) fn parse(body: MemberBody) -> Result<(Email, Role), AppError> {
    let email = Email::parse(&body.email)
        .map_err(|e| AppError::bad_request("invalid_email", e.to_string()))?;
    let role = Role::parse(&body.role).ok_or_else(|| {
        AppError::bad_request("invalid_role", "role: officer, leader or tenant_admin")
    })?;
    Ok((email, role))
}

/// The tenant's members and roles, for its admins.
pub(crate) async fn members_of(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<Member>, AppError> {
    principal.require(Role::TenantAdmin)?;
    let tenant = principal.tenant.tenant.id;
    let rows = state
        .shared
        .run(move |c| {
            use crate::db::schema::{accounts as a, memberships as m};
            Ok(m::table
                .inner_join(a::table)
                .filter(m::tenant_id.eq(tenant))
                .order((a::email, m::role))
                .select((a::id, a::email, a::full_name, m::role))
                .load::<(Uuid, String, String, String)>(c)?)
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|(account, email, name, role)| Member {
            account,
            email,
            name,
            role,
        })
        .collect())
}

/// What a grant did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Granted {
    /// A member got the role (mailed; their sessions end so new tokens carry it).
    Now,
    /// The member had it.
    Already,
    /// Not a member of this tenant: an invitation went to the address instead.
    Invited,
}

/// Grants a role to a member of this tenant, or invites anyone else.
pub(crate) async fn grant_role(
    state: &AppState,
    principal: &Principal,
    body: MemberBody,
) -> Result<Granted, AppError> {
    principal.require(Role::TenantAdmin)?;
    let (email, role) = parse(body)?;
    let tenant = principal.tenant.tenant.clone();
    let by = principal.account;
    let link = state.settings.auth.issuer.clone();
    let portal = crate::app::onboarding::portal_address(state);
    let granted = state
        .shared
        .run(move |c| {
            let member = match sso::find_login(c, email.as_str())? {
                Some(found) if !roles::roles_in(c, found.id, tenant.id)?.is_empty() => found,
                _ => {
                    crate::hosting::onboard::invite(c, &tenant, &email, role, &portal, Some(by))?;
                    return Ok(Err(Granted::Invited));
                }
            };
            let profile =
                sso::profile(c, member.id)?.ok_or(AppError::NotFound { what: "account" })?;
            if !roles::grant(c, member.id, tenant.id, role, Some(by))? {
                return Ok(Err(Granted::Already));
            }
            accounts::audit(c, Some(by), Some(tenant.id), None, "role.granted",
                serde_json::json!({ "account": member.id, "role": role.as_str() }))?;
            outbox::enqueue(c, &outbox::NewMail {
                tenant_id: Some(tenant.id),
                template: TemplateKey::RoleGranted,
                locale: crate::locale::Locale::parse(&profile.locale).unwrap_or_default(),
                recipient: email,
                payload: serde_json::json!({ "full_name": profile.full_name, "role": role.label_vi(), "link": link }),
                idempotency_key: format!("role:{}:{}:{}:{}", member.id, tenant.id, role.as_str(), Uuid::new_v4()),
            })?;
            // Tokens carry roles: the member signs in again to get the new ones.
            Ok(Ok(sso::end_account_sessions(c, member.id)?))
        })
        .await?;
    match granted {
        Ok(sessions) => {
            crate::app::auth::revoke_sessions(state, sessions).await?;
            Ok(Granted::Now)
        }
        Err(other) => Ok(other),
    }
}

/// Takes a role away; its unexpired tokens die with the member's sessions.
pub(crate) async fn revoke_role(
    state: &AppState,
    principal: &Principal,
    body: MemberBody,
) -> Result<(), AppError> {
    principal.require(Role::TenantAdmin)?;
    let (email, role) = parse(body)?;
    let tenant = principal.tenant.tenant.id;
    let by = principal.account;
    let removed = state
        .shared
        .run(move |c| {
            let found = sso::find_login(c, email.as_str())?
                .ok_or(AppError::NotFound { what: "account" })?;
            let removed = roles::revoke(c, found.id, tenant, role)?;
            if !removed {
                return Ok(None);
            }
            {
                accounts::audit(
                    c,
                    Some(by),
                    Some(tenant),
                    None,
                    "role.revoked",
                    serde_json::json!({ "account": found.id, "role": role.as_str() }),
                )?;
            }
            // A role taken away must not live on in unexpired tokens.
            Ok(Some(sso::end_account_sessions(c, found.id)?))
        })
        .await?;
    match removed {
        Some(sessions) => crate::app::auth::revoke_sessions(state, sessions).await,
        None => Err(AppError::NotFound { what: "membership" }),
    }
}
