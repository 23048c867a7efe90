//! Use cases behind `api::onboarding` and the portal pages that do the same (moved out of the
//! JSON adapter so both adapters call them).

use crate::auth::invitations::{self, AcceptError};
use crate::auth::principal::Principal;
use crate::auth::roles::Role;
use crate::error::AppError;
use crate::hosting::onboard::{self, ChecklistItem, GoLiveError, PortalAddress};
use crate::mail::Email;
use crate::state::AppState;
use crate::tenancy::Tenant;
use crate::tenancy::notify::TenancyEvent;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a tenant stands in its onboarding.
#[derive(Debug, Serialize, ToSchema)]
pub struct Onboarding {
    pub slug: String,
    pub status: crate::tenancy::TenantStatus,
    pub checklist: Vec<ChecklistItem>,
    /// Invitations not accepted yet (and not expired).
    pub pending_invitations: Vec<invitations::Pending>,
}

/// Reloads this instance's registry at once and tells the others.
pub(crate) async fn announce(state: &AppState, tenant: Uuid) -> Result<(), AppError> {
    let registry = state.registry.clone();
    state
        .shared
        .run(move |c| Ok(registry.reload(c).map(drop)?))
        .await?;
    if let Err(e) = state
        .notifier
        .publish(&[TenancyEvent::TenantChanged(tenant)])
        .await
    {
        // Other instances reload within the registry refresh period anyway.
        tracing::warn!(error = %e, "tenant change not announced");
    }
    Ok(())
}

pub(crate) fn portal_address(state: &AppState) -> PortalAddress {
    PortalAddress {
        base_domain: state.base_domain.clone(),
        public_origin: state.settings.server.public_origin.clone(),
    }
}

/// The checklist of one tenant, from the platform tables and its own schema.
pub(crate) async fn onboarding_of(
    state: &AppState,
    tenant: Arc<Tenant>,
) -> Result<Onboarding, AppError> {
    let offered = tenant
        .db(&state.pools)
        .run(|c| Ok(onboard::offered_procedures(c)?))
        .await?;
    let t = tenant.clone();
    let (mut facts, pending) = state
        .shared
        .run(move |c| {
            Ok((
                onboard::platform_facts(c, &t)?,
                invitations::pending(c, t.id)?,
            ))
        })
        .await?;
    facts.procedures = offered;
    Ok(Onboarding {
        slug: tenant.slug.as_str().to_owned(),
        status: tenant.status,
        checklist: onboard::checklist(&facts),
        pending_invitations: pending,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    pub email: String,
    /// officer, leader or tenant_admin
    pub role: String,
}

/// Checks and sends one invitation (shared with the admin page).
pub(crate) async fn invite_member(
    state: &AppState,
    principal: &Principal,
    email: &str,
    role: &str,
) -> Result<(), AppError> {
    principal.require(Role::TenantAdmin)?;
    let email =
        Email::parse(email).map_err(|e| AppError::bad_request("invalid_email", e.to_string()))?;
    let role = Role::parse(role).ok_or_else(|| {
        AppError::bad_request("invalid_role", "role: officer, leader or tenant_admin")
    })?;
    let tenant = principal.tenant.tenant.clone();
    let portal = portal_address(state);
    let by = principal.account;
    state
        .shared
        .run(move |c| Ok(onboard::invite(c, &tenant, &email, role, &portal, Some(by)).map(drop)?))
        .await
}

pub(crate) async fn switch_live(state: &AppState, principal: &Principal) -> Result<(), AppError> {
    principal.require(Role::TenantAdmin)?;
    let tenant = principal.tenant.tenant.clone();
    let offered = principal
        .tenant
        .db
        .run(|c| Ok(onboard::offered_procedures(c)?))
        .await?;
    let by = principal.account;
    let id = tenant.id;
    state
        .shared
        .run(move |c| {
            let mut facts = onboard::platform_facts(c, &tenant)?;
            facts.procedures = offered;
            onboard::go_live(c, tenant.id, &facts, by).map_err(|e| match e {
                GoLiveError::Query(q) => q.into(),
                other => AppError::Conflict {
                    code: "not_ready",
                    detail: other.to_string(),
                },
            })
        })
        .await?;
    announce(state, id).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedRole {
    pub role: String,
}

/// Spends an invitation for the signed-in account (shared with the invitation page): the
/// role, or why not. A malformed token is not looked up.
pub(crate) async fn accept_invitation(
    state: &AppState,
    principal: &Principal,
    token: &str,
) -> Result<Result<Role, AcceptError>, AppError> {
    if !invitations::well_formed(token) {
        return Ok(Err(AcceptError::Unknown));
    }
    let (tenant, account, token) = (
        principal.tenant.tenant.id,
        principal.account,
        token.to_owned(),
    );
    let now = state.now();
    let outcome = state
        .shared
        .run(move |c| Ok(invitations::accept(c, tenant, &token, account, now)?))
        .await?;
    match outcome {
        Ok(accepted) => {
            crate::app::auth::revoke_sessions(state, accepted.ended_sessions).await?;
            Ok(Ok(accepted.role))
        }
        Err(refused) => Ok(Err(refused)),
    }
}

pub(crate) fn invitation_problem(e: AcceptError) -> AppError {
    match e {
        AcceptError::Unknown => AppError::NotFound { what: "invitation" },
        AcceptError::OtherAccount | AcceptError::Unverified => AppError::Forbidden,
        e @ (AcceptError::Used | AcceptError::Expired) => AppError::Conflict {
            code: "invitation_spent",
            detail: e.to_string(),
        },
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainBody {
    /// The tenant's own host name, e.g. `dichvucong.laocai.gov.vn`.
    pub domain: String,
}

pub(crate) fn domain_problem(e: crate::hosting::domains::DomainError) -> AppError {
    use crate::hosting::domains::DomainError as D;
    match e {
        D::PlatformDomain(_) => AppError::bad_request("platform_domain", e.to_string()),
        D::Taken(_) => AppError::Conflict {
            code: "domain_taken",
            detail: e.to_string(),
        },
        D::NotClaimed(_) => AppError::NotFound {
            what: "domain request",
        },
        D::NotProven { .. } => AppError::Conflict {
            code: "domain_not_proven",
            detail: e.to_string(),
        },
    }
}

pub(crate) fn parse_domain(s: &str) -> Result<crate::tenancy::HostName, AppError> {
    crate::tenancy::HostName::parse(s.trim().trim_end_matches('.'))
        .map_err(|e| AppError::bad_request("invalid_domain", e.to_string()))
}

/// Records a request for a domain (shared with the admin page).
pub(crate) async fn request_domain(
    state: &AppState,
    principal: &Principal,
    domain: &str,
) -> Result<crate::hosting::domains::Claim, AppError> {
    principal.require(Role::TenantAdmin)?;
    let domain = parse_domain(domain)?;
    let (tenant, by, base) = (
        principal.tenant.tenant.id,
        principal.account,
        state.base_domain.clone(),
    );
    state
        .shared
        .run(move |c| {
            crate::hosting::domains::claim(c, tenant, &domain, &base, by)?.map_err(domain_problem)
        })
        .await
}

/// The tenant's domain requests (shared with the admin page).
pub(crate) async fn domains_of(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<crate::hosting::domains::Claim>, AppError> {
    principal.require(Role::TenantAdmin)?;
    let tenant = principal.tenant.tenant.id;
    state
        .shared
        .run(move |c| Ok(crate::hosting::domains::claims_of(c, tenant)?))
        .await
}

/// The domain in `…/domains/{domain}/verify` (the tenant may also be in the path).
#[derive(Debug, Deserialize)]
pub struct DomainPath {
    pub(crate) domain: String,
}

/// Checks a requested domain's TXT record and routes it when proven (shared with the admin
/// page).
pub(crate) async fn check_domain(
    state: &AppState,
    principal: &Principal,
    domain: &str,
) -> Result<crate::hosting::domains::Claim, AppError> {
    use crate::hosting::domains;
    principal.require(Role::TenantAdmin)?;
    let domain = parse_domain(domain)?;
    let (tenant, by) = (principal.tenant.tenant.id, principal.account);
    let d = domain.clone();
    let token = state
        .shared
        .run(move |c| domains::pending_token(c, tenant, &d)?.map_err(domain_problem))
        .await?;
    let records = state
        .dns
        .txt(&domains::challenge_name(&domain))
        .await
        .map_err(|e| AppError::Unavailable(anyhow::anyhow!("DNS lookup failed: {e}")))?;
    let claim = state
        .shared
        .run(move |c| {
            domains::record_check(c, tenant, &domain, &token, &records, by)?.map_err(domain_problem)
        })
        .await?;
    announce(state, tenant).await?;
    // The portal's sign-in callback on the new host.
    if let Some(t) = state.registry.by_id(tenant) {
        let portal = portal_address(state);
        state
            .shared
            .run(move |c| Ok(portal.register(c, &t).map(drop)?))
            .await?;
    }
    Ok(claim)
}
