//! Onboarding over the API: operators create draft tenants and follow their checklist; a
//! tenant's admin invites its staff and switches it live; anyone invited accepts.

use super::operator::Operator;
use crate::app::onboarding::*;
use crate::auth::principal::Principal;
use crate::auth::roles::Role;
use crate::error::{AppError, Problem};
use crate::hosting::onboard::{self, NewTenant, NewTenantRequest, OnboardError};
use crate::state::AppState;
use crate::tenancy::TenantSlug;
use actix_web::{HttpResponse, web};

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
