//! A tenant's units (phòng ban) and their members: the people a process step is matched to.

use crate::app::units::{self, UnitBody, UnitMemberBody};
use crate::auth::principal::Principal;
use crate::error::{AppError, Problem};
use crate::services::processes::units::Unit;
use crate::state::AppState;
use actix_web::{HttpResponse, web};

/// The tenant's units with their members (officials and admins of the tenant).
#[utoipa::path(get, path = "/api/v1/units", tag = "catalog", operation_id = "list_units", security(("bearer" = [])),
    responses((status = 200, body = [Unit]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(principal: Principal) -> Result<web::Json<Vec<Unit>>, AppError> {
    Ok(web::Json(units::list(&principal).await?))
}

/// Create a unit (phòng ban), or rename one (tenant admins).
#[utoipa::path(post, path = "/api/v1/units", tag = "catalog", operation_id = "save_unit",
    security(("bearer" = [])), request_body = UnitBody,
    responses((status = 201, description = "created"), (status = 200, description = "renamed"),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn save(
    principal: Principal,
    body: web::Json<UnitBody>,
) -> Result<HttpResponse, AppError> {
    Ok(if units::save_unit(&principal, body.into_inner()).await? {
        HttpResponse::Created().finish()
    } else {
        HttpResponse::Ok().finish()
    })
}

/// Put an official of this tenant in a unit with a role (tenant admins).
#[utoipa::path(post, path = "/api/v1/units/{code}/members", tag = "catalog", operation_id = "add_unit_member",
    params(("code" = String, Path)), security(("bearer" = [])), request_body = UnitMemberBody,
    responses((status = 201), (status = 200, description = "already a member with this role"),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "not an official of this tenant")))]
pub async fn add_member(
    principal: Principal,
    path: web::Path<UnitPath>,
    body: web::Json<UnitMemberBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    Ok(
        if units::add(&state, &principal, &path.code, body.into_inner()).await? {
            HttpResponse::Created().finish()
        } else {
            HttpResponse::Ok().finish()
        },
    )
}

/// Take a role in a unit away (tenant admins).
#[utoipa::path(delete, path = "/api/v1/units/{code}/members", tag = "catalog", operation_id = "remove_unit_member",
    params(("code" = String, Path)), security(("bearer" = [])), request_body = UnitMemberBody,
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn remove_member(
    principal: Principal,
    path: web::Path<UnitPath>,
    body: web::Json<UnitMemberBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    units::remove(&state, &principal, &path.code, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Named, not a tuple: the tenant's scope has a path parameter of its own.
#[derive(Debug, serde::Deserialize)]
pub struct UnitPath {
    code: String,
}
