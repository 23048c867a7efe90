//! The one-stop desk's API: register a dossier handed in at the counter or by post, move an
//! appointment with an apology, and claim the desk's dossiers once one has an account.

use crate::app::desk::{self, DeskIntake, ExtendBody};
use crate::app::dossiers::{CodePath, parse_code};
use crate::auth::principal::Principal;
use crate::error::{AppError, Problem};
use crate::http::upload::{self, Upload};
use crate::services::dossiers::DossierSummary;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

/// Register a dossier at the desk (Tiếp nhận hồ sơ trực tiếp / qua bưu chính), for an
/// applicant who may have no account. `application/json` (a [`DeskIntake`]) or
/// `multipart/form-data` with a `data` part holding it and the scans as `doc.{index}` parts.
/// The dossier starts `submitted`: the completeness check (receive, request_completion,
/// refuse) follows as an action.
#[utoipa::path(
    post,
    path = "/api/v1/desk/dossiers",
    operation_id = "register_at_desk",
    tag = "desk",
    request_body(content = DeskIntake, description = "JSON, or multipart with `data` + `doc.{i}` scans"),
    responses(
        (status = 201, body = DossierSummary),
        (status = 403, body = Problem, description = "not an officer of this tenant", content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, description = "field errors: nothing was stored", content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn register(
    principal: Principal,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let limit = state.settings.dossiers.max_request_mb as usize * 1024 * 1024;
    let Upload { data, files, .. } = upload::read(&req, payload, limit).await?;
    let intake: DeskIntake = serde_json::from_value(data)
        .map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?;
    let summary = desk::register(&state, &principal, intake, files).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/dossiers/{}", summary.code)))
        .json(summary))
}

/// Move the appointment of a received dossier, with the reason (Phiếu xin lỗi và hẹn lại
/// ngày trả kết quả): the applicant is told by mail and the apology slip can be printed.
#[utoipa::path(
    post,
    path = "/api/v1/dossiers/{code}/extend",
    operation_id = "extend_appointment",
    tag = "desk",
    params(("code" = String, Path)),
    request_body = ExtendBody,
    responses(
        (status = 200, body = DossierSummary),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, description = "stale version, or no appointment to move", content_type = "application/problem+json"),
        (status = 422, body = Problem, description = "no reason, or a date not after the current one", content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn extend(
    principal: Principal,
    path: web::Path<CodePath>,
    body: web::Json<ExtendBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let summary = desk::extend(&state, &principal, code, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(summary))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Claimed {
    /// Dossiers the desk registered that now belong to this account.
    pub claimed: usize,
}

/// Claim the dossiers a desk registered for me (Nhận hồ sơ đã nộp trực tiếp): those whose
/// recorded CCCD or tax code, phone and e-mail match my account's, its e-mail verified.
#[utoipa::path(
    post,
    path = "/api/v1/account/dossiers/claim",
    operation_id = "claim_desk_dossiers",
    tag = "desk",
    responses(
        (status = 200, body = Claimed),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn claim(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let (account, _) = crate::http::bearer::bearer_account(&req, &state).await?;
    let claimed = desk::claim(&state, account).await?;
    Ok(HttpResponse::Ok().json(Claimed { claimed }))
}

/// A dossier's slip as PDF (`receipt`, `completion_request`, `refusal`, `apology`,
/// `processing_record`), for its applicant or the tenant's officials; 404 for a slip the
/// dossier does not have yet. `?lang=en` for the English version.
#[utoipa::path(
    get,
    path = "/api/v1/dossiers/{code}/slips/{kind}",
    operation_id = "dossier_slip",
    tag = "desk",
    params(("code" = String, Path), ("kind" = String, Path), ("lang" = Option<String>, Query)),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn slip(
    principal: Principal,
    path: web::Path<SlipPath>,
    q: web::Query<SlipQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let kind =
        crate::app::slips::parse_kind(&path.kind).ok_or(AppError::NotFound { what: "slip" })?;
    let locale = q
        .lang
        .as_deref()
        .and_then(crate::locale::Locale::parse)
        .unwrap_or_default();
    let data = crate::app::slips::slip(&state, &principal, code, kind, locale).await?;
    let file = format!("{}-{}.pdf", data.dossier_code, kind.slug());
    let bytes = crate::services::slips::pdf(&data).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header(("Cache-Control", "private, no-store"))
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"{file}\""),
        ))
        .body(bytes))
}

// Named, not a tuple: the tenant's scope has a path parameter of its own.
#[derive(Debug, serde::Deserialize)]
pub struct SlipPath {
    code: String,
    kind: String,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct SlipQuery {
    lang: Option<String>,
}
