//! Complaints and recommendations (Phản ánh, kiến nghị): filed by anyone with a verified
//! contact, answered by the tenant's officials, published with consent.

use crate::app::complaints::{self, AnswerBody, Filed, Filer};
use crate::auth::principal::Principal;
use crate::error::{AppError, Problem};
use crate::services::complaints::store::{Complaint, Published};
use crate::services::complaints::{ComplaintStatus, FilingInput};
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// File a complaint or recommendation. Signed in: filed at once (201). Otherwise a code goes to
/// the e-mail or mobile given (202) and is entered at `…/verify`.
#[utoipa::path(post, path = "/api/v1/complaints", tag = "complaints", operation_id = "file_complaint",
    request_body = FilingInput, security((), ("bearer" = [])),
    responses((status = 201, body = Filed), (status = 202, body = Filed),
        (status = 400, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn file(
    req: HttpRequest,
    tenant: CurrentTenant,
    principal: Option<Principal>,
    body: web::Json<FilingInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let filer = Filer {
        account: principal.as_ref().map(|p| p.account),
        locale: crate::locale::Locale::parse(&tenant.tenant.locale).unwrap_or_default(),
    };
    let ip = crate::client_addr::of(&req);
    let filed = complaints::file(&state, &tenant, filer, body.into_inner(), ip.as_deref()).await?;
    Ok(if filed.status == ComplaintStatus::Open {
        HttpResponse::Created().json(filed)
    } else {
        HttpResponse::Accepted().json(filed)
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The six digits sent to the filer.
    code: String,
}

#[derive(Debug, Deserialize)]
pub struct ComplaintPath {
    code: String,
}

/// Enter the code sent to the filer: the complaint is filed and its deadline runs.
#[utoipa::path(post, path = "/api/v1/complaints/{code}/verify", tag = "complaints",
    operation_id = "verify_complaint", params(("code" = String, Path)), request_body = VerifyBody,
    responses((status = 200, body = Filed), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn verify(
    req: HttpRequest,
    tenant: CurrentTenant,
    path: web::Path<ComplaintPath>,
    body: web::Json<VerifyBody>,
    state: web::Data<AppState>,
) -> Result<web::Json<Filed>, AppError> {
    let ip = crate::client_addr::of(&req);
    let code = path.into_inner().code;
    Ok(web::Json(
        complaints::verify(&state, &tenant, code, body.into_inner().code, ip.as_deref()).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `open`, `answered` or `published` (default: every filed complaint).
    status: Option<String>,
}

/// The tenant's complaints, open ones first by due date (officials).
#[utoipa::path(get, path = "/api/v1/complaints", tag = "complaints", operation_id = "list_complaints",
    params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = [Complaint]), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    principal: Principal,
    params: web::Query<ListParams>,
) -> Result<web::Json<Vec<Complaint>>, AppError> {
    let status = match params.status.as_deref() {
        None => None,
        Some(s) => Some(
            s.parse::<ComplaintStatus>()
                .ok()
                .filter(|s| *s != ComplaintStatus::Unverified)
                .ok_or_else(|| {
                    AppError::bad_request("invalid_status", "status: open, answered or published")
                })?,
        ),
    };
    Ok(web::Json(complaints::list(&principal, status).await?))
}

/// One complaint (officials).
#[utoipa::path(get, path = "/api/v1/complaints/{code}", tag = "complaints", operation_id = "show_complaint",
    params(("code" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Complaint), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn show(
    principal: Principal,
    path: web::Path<ComplaintPath>,
) -> Result<web::Json<Complaint>, AppError> {
    Ok(web::Json(
        complaints::show(&principal, path.into_inner().code).await?,
    ))
}

/// Answer an open complaint, and publish it when the filer agreed (officials).
#[utoipa::path(post, path = "/api/v1/complaints/{code}/answer", tag = "complaints",
    operation_id = "answer_complaint", params(("code" = String, Path)), request_body = AnswerBody,
    security(("bearer" = [])),
    responses((status = 200, body = Complaint), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn answer(
    principal: Principal,
    path: web::Path<ComplaintPath>,
    body: web::Json<AnswerBody>,
    state: web::Data<AppState>,
) -> Result<web::Json<Complaint>, AppError> {
    Ok(web::Json(
        complaints::answer(
            &state,
            &principal,
            path.into_inner().code,
            body.into_inner(),
        )
        .await?,
    ))
}

/// Published questions and answers (public, no personal data).
#[utoipa::path(get, path = "/api/v1/complaints/published", tag = "complaints",
    operation_id = "published_complaints",
    responses((status = 200, body = [Published])))]
pub async fn published(tenant: CurrentTenant) -> Result<web::Json<Vec<Published>>, AppError> {
    Ok(web::Json(complaints::published(&tenant).await?))
}
