//! A tenant's members and their roles, managed by its tenant admins.

use crate::app::members::*;
use crate::auth::principal::Principal;
use crate::error::{AppError, Problem};
use crate::state::AppState;
use actix_web::{HttpResponse, web};

/// Members of this tenant (Thành viên của đơn vị). Tenant admins only.
#[utoipa::path(get, path = "/api/v1/members", operation_id = "list_members", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = [Member]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<Member>>, AppError> {
    Ok(web::Json(members_of(&state, &principal).await?))
}

/// Grant a role in this tenant (Giao vai trò). Tenant admins only. A member of this tenant gets
/// it at once and is told by mail (201, or 200 when they had it); anyone else — with or without
/// an account, the answer does not say — is sent an invitation to accept (202), so a grant can
/// neither sign a stranger out nor tell which addresses have accounts.
#[utoipa::path(post, path = "/api/v1/members", tag = "accounts",
    security(("bearer" = [])), request_body = MemberBody,
    responses((status = 201), (status = 200, description = "already granted"),
        (status = 202, description = "not a member yet: an invitation was mailed"), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn grant(
    principal: Principal,
    body: web::Json<MemberBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    Ok(
        match grant_role(&state, &principal, body.into_inner()).await? {
            Granted::Now => HttpResponse::Created().finish(),
            Granted::Already => HttpResponse::Ok().finish(),
            Granted::Invited => HttpResponse::Accepted().finish(),
        },
    )
}

/// Take a role away (Thu hồi vai trò). Tenant admins only.
#[utoipa::path(delete, path = "/api/v1/members", tag = "accounts",
    security(("bearer" = [])), request_body = MemberBody,
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke(
    principal: Principal,
    body: web::Json<MemberBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    revoke_role(&state, &principal, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
