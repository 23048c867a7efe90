//! Onboarding over the API: operators create draft tenants and follow their checklist; a
//! tenant's admin invites its staff and switches it live; anyone invited accepts.

use super::operator::Operator;
use crate::auth::invitations::{self, AcceptError};
use crate::auth::principal::Principal;
use crate::auth::roles::Role;
use crate::db::TenantDb;
use crate::error::{AppError, Problem};
use crate::hosting::onboard::{
    self, ChecklistItem, GoLiveError, NewTenant, NewTenantRequest, OnboardError, PortalAddress,
};
use crate::mail::Email;
use crate::state::AppState;
use crate::tenancy::notify::TenancyEvent;
use crate::tenancy::{Tenant, TenantSlug};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a tenant stands in its onboarding.
#[derive(Debug, Serialize, ToSchema)]
pub struct Onboarding {
    pub slug: String,
    pub status: String,
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
    let offered = TenantDb::for_tenant(&state.pools, &tenant)
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
        status: tenant.status.as_str().to_owned(),
        checklist: onboard::checklist(&facts),
        pending_invitations: pending,
    })
}

/// Create a tenant as a draft (Tạo đơn vị mới): schema, the parent's catalog, its portal as a
/// sign-in client, and an invitation mailed to its first admin.
#[utoipa::path(post, path = "/api/v1/operator/tenants", tag = "operator",
    security(("operator_token" = [])), request_body = NewTenantRequest,
    responses((status = 201, body = Onboarding), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 409, body = Problem)))]
pub async fn create_tenant(
    operator: Operator,
    body: web::Json<NewTenantRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let new = NewTenant::parse(body.into_inner())
        .map_err(|p| AppError::bad_request("invalid_tenant_request", p.join("; ")))?;
    let portal = portal_address(&state);
    let actor = operator.account;
    let created = state
        .shared
        .run(move |c| {
            onboard::create_draft(c, &new, actor, &portal).map_err(|e| match e {
                OnboardError::SlugTaken(_) | OnboardError::CodeTaken(_) => AppError::Conflict {
                    code: "tenant_exists",
                    detail: e.to_string(),
                },
                OnboardError::NoParent(_) => AppError::bad_request("unknown_parent", e.to_string()),
                OnboardError::Query(q) => q.into(),
                OnboardError::Provision(p) => AppError::internal(anyhow::anyhow!(p)),
            })
        })
        .await?;
    announce(&state, created.id).await?;
    let tenant = state
        .registry
        .by_id(created.id)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("created tenant not loaded")))?;
    Ok(HttpResponse::Created().json(onboarding_of(&state, tenant).await?))
}

/// A tenant's onboarding checklist (Tiến độ tiếp nhận đơn vị), for operators.
#[utoipa::path(get, path = "/api/v1/operator/tenants/{slug}/onboarding", tag = "operator",
    security(("operator_token" = [])), params(("slug" = String, Path)),
    responses((status = 200, body = Onboarding), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn operator_checklist(
    _: Operator,
    slug: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<web::Json<Onboarding>, AppError> {
    let slug = TenantSlug::parse(&slug).map_err(|e| AppError::InvalidTenant(e.to_string()))?;
    let tenant = state
        .registry
        .by_slug(&slug)
        .ok_or(AppError::TenantNotFound)?;
    Ok(web::Json(onboarding_of(&state, tenant).await?))
}

/// This tenant's onboarding checklist (Tiến độ thiết lập đơn vị). Tenant admins only.
#[utoipa::path(get, path = "/api/v1/admin/onboarding", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = Onboarding), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn admin_checklist(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<web::Json<Onboarding>, AppError> {
    principal.require(Role::TenantAdmin)?;
    Ok(web::Json(
        onboarding_of(&state, principal.tenant.tenant.clone()).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    pub email: String,
    /// officer, leader or tenant_admin
    pub role: String,
}

/// Invite someone by mail to a role in this tenant (Mời tham gia đơn vị). Tenant admins only.
#[utoipa::path(post, path = "/api/v1/admin/invitations", tag = "accounts",
    security(("bearer" = [])), request_body = InviteBody,
    responses((status = 201), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn invite(
    principal: Principal,
    body: web::Json<InviteBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    invite_member(&state, &principal, &body.email, &body.role).await?;
    Ok(HttpResponse::Created().finish())
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

/// Open this tenant to citizens (Mở cổng dịch vụ công): a draft goes live once an admin, a
/// catalog and staff (an officer and a leader) are in place. Tenant admins only.
#[utoipa::path(post, path = "/api/v1/admin/go-live", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "not a draft, or steps missing")))]
pub async fn go_live(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    switch_live(&state, &principal).await?;
    Ok(HttpResponse::NoContent().finish())
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

/// Accept an invitation to this tenant (Nhận lời mời), signed in with the invited address. The
/// account's sessions end so its next sign-in carries the role.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "accounts",
    security(("bearer" = [])), request_body = AcceptBody,
    responses((status = 200, body = AcceptedRole), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "sent to another address"),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "used or expired")))]
pub async fn accept(
    principal: Principal,
    body: web::Json<AcceptBody>,
    state: web::Data<AppState>,
) -> Result<web::Json<AcceptedRole>, AppError> {
    let role = accept_invitation(&state, &principal, &body.token)
        .await?
        .map_err(invitation_problem)?;
    Ok(web::Json(AcceptedRole {
        role: role.as_str().to_owned(),
    }))
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
    let outcome = state
        .shared
        .run(move |c| Ok(invitations::accept(c, tenant, &token, account)?))
        .await?;
    match outcome {
        Ok(accepted) => {
            super::auth::revoke_sessions(state, accepted.ended_sessions).await?;
            Ok(Ok(accepted.role))
        }
        Err(refused) => Ok(Err(refused)),
    }
}

fn invitation_problem(e: AcceptError) -> AppError {
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

fn domain_problem(e: crate::hosting::domains::DomainError) -> AppError {
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

fn parse_domain(s: &str) -> Result<crate::tenancy::HostName, AppError> {
    crate::tenancy::HostName::parse(s.trim().trim_end_matches('.'))
        .map_err(|e| AppError::bad_request("invalid_domain", e.to_string()))
}

/// This tenant's own domains and requests (Tên miền riêng). Tenant admins only.
#[utoipa::path(get, path = "/api/v1/admin/domains", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = [crate::hosting::domains::Claim]), (status = 403, body = Problem)))]
pub async fn domains(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<crate::hosting::domains::Claim>>, AppError> {
    Ok(web::Json(domains_of(&state, &principal).await?))
}

/// Ask for a domain of the tenant's own (Đăng ký tên miền riêng): the answer says which TXT
/// record proves control. Tenant admins only.
#[utoipa::path(post, path = "/api/v1/admin/domains", tag = "accounts",
    security(("bearer" = [])), request_body = DomainBody,
    responses((status = 201, body = crate::hosting::domains::Claim), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn claim_domain(
    principal: Principal,
    body: web::Json<DomainBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let claim = request_domain(&state, &principal, &body.domain).await?;
    Ok(HttpResponse::Created().json(claim))
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
    domain: String,
}

/// Check the TXT record and route the domain to this tenant (Xác minh tên miền). Tenant
/// admins only.
#[utoipa::path(post, path = "/api/v1/admin/domains/{domain}/verify", tag = "accounts",
    security(("bearer" = [])),
    params(("domain" = String, Path)),
    responses((status = 200, body = crate::hosting::domains::Claim), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "record not found, or domain taken"),
        (status = 503, body = Problem, description = "DNS did not answer")))]
pub async fn verify_domain(
    principal: Principal,
    path: web::Path<DomainPath>,
    state: web::Data<AppState>,
) -> Result<web::Json<crate::hosting::domains::Claim>, AppError> {
    Ok(web::Json(
        check_domain(&state, &principal, &path.domain).await?,
    ))
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
