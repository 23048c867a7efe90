//! Signed electronic results: the agency's signing identity, issuing, downloading and revoking
//! a dossier's result, its public verification, the applicant's wallet and the digitisation
//! figures. Each handler extracts, calls one use case in `app::results` or `app::wallet`, and
//! maps the outcome.

use crate::app::dossiers::parse_code;
use crate::app::results::{self, Source};
use crate::auth::principal::Principal;
use crate::auth::roles::Role;
use crate::error::{AppError, Problem};
use crate::http::upload;
use crate::services::results::{DigitisationReport, IdentitySummary, ResultView, Verification};
use crate::services::wallet::WalletItem;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Largest PKCS#12 file accepted.
const MAX_P12_BYTES: usize = 64 * 1024;

/// The parts of the PKCS#12 upload (documentation of the multipart body; read by
/// `upload::read_form`).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct IdentityUpload {
    /// The PKCS#12 file (`.p12`, `.pfx`).
    #[serde(rename = "doc.0")]
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Its password.
    password: String,
}

/// Imports the agency's signing certificate and key (tenant administrators): a multipart body
/// with the PKCS#12 file as part `doc.0` and its password as part `password`. Refused with 422
/// (nothing stored) for a wrong password, a key that is not the certificate's, or a
/// certificate not valid today.
#[utoipa::path(
    put,
    path = "/api/v1/signing-identity",
    operation_id = "put_signing_identity",
    tag = "results",
    request_body(content = IdentityUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = IdentitySummary),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_identity(
    principal: Principal,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if !principal.has(Role::TenantAdmin) {
        return Err(AppError::Forbidden);
    }
    let mut form = upload::read_form(&req, payload, MAX_P12_BYTES, &["password"]).await?;
    let password = form.field("password").to_owned();
    let file = form
        .files
        .pop()
        .ok_or_else(|| AppError::bad_request("missing_file", "part `doc.0`: the PKCS#12 file"))?;
    let summary = results::import_identity(
        &state,
        &principal.tenant,
        Some(principal.account),
        file.bytes,
        password,
    )
    .await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// The certificate results are signed with now (officials of the tenant); 404 when none.
#[utoipa::path(
    get,
    path = "/api/v1/signing-identity",
    operation_id = "get_signing_identity",
    tag = "results",
    responses(
        (status = 200, body = IdentitySummary),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_identity(principal: Principal) -> Result<HttpResponse, AppError> {
    if principal.roles.is_empty() {
        return Err(AppError::Forbidden);
    }
    let summary = results::identity(&principal.tenant)
        .await?
        .ok_or(AppError::NotFound {
            what: "signing identity",
        })?;
    Ok(HttpResponse::Ok().json(summary))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    /// `generate` (from the procedure's form and the decision), `upload` (a PDF in part
    /// `doc.0`) or `paper_scan` (the scan of a paper result, as PDF, in part `doc.0`).
    source: String,
}

// Named, not a tuple: the tenant's scope has a path parameter of its own.
#[derive(Debug, Deserialize)]
pub struct DossierPath {
    code: String,
}

#[derive(Debug, Deserialize)]
pub struct ResultPath {
    code: String,
    id: Uuid,
}

/// Issues an approved dossier's signed result (officials): JSON `{"source":"generate"}`, or a
/// multipart body with `data` = `{"source":"upload"}` (or `paper_scan`) and the PDF as
/// `doc.0`. 409 when the dossier is not approved, already has a live result, or the agency has
/// no usable certificate; 422 for a file that is not a PDF.
#[utoipa::path(
    post,
    path = "/api/v1/dossiers/{code}/results",
    operation_id = "issue_result",
    tag = "results",
    request_body = IssueBody,
    responses(
        (status = 201, body = ResultView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn issue(
    principal: Principal,
    path: web::Path<DossierPath>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let limit = results::MAX_RESULT_MB as usize * 1024 * 1024;
    let mut form = upload::read_form(&req, payload, limit, &[]).await?;
    let body: IssueBody = serde_json::from_value(form.data)
        .map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?;
    let file = form.files.pop();
    let source = match (body.source.as_str(), file) {
        ("generate", None) => Source::Generate,
        ("upload", Some(f)) => Source::Upload {
            file_name: f.name,
            bytes: f.bytes,
        },
        ("paper_scan", Some(f)) => Source::PaperScan {
            file_name: f.name,
            bytes: f.bytes,
        },
        ("upload" | "paper_scan", None) => {
            return Err(AppError::bad_request(
                "missing_file",
                "part `doc.0`: the result as PDF",
            ));
        }
        _ => {
            return Err(AppError::bad_request(
                "invalid_body",
                "source: `generate` (no file), `upload` or `paper_scan` (with `doc.0`)",
            ));
        }
    };
    let view = results::issue(&state, &principal, code, source).await?;
    Ok(HttpResponse::Created().json(view))
}

/// The signed PDF of a dossier's result, for its applicant and the tenant's officials (404 for
/// anyone else).
#[utoipa::path(
    get,
    path = "/api/v1/dossiers/{code}/results/{id}/pdf",
    operation_id = "download_result",
    tag = "results",
    params(("code" = String, Path), ("id" = Uuid, Path)),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn download(
    principal: Principal,
    path: web::Path<ResultPath>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let (name, bytes) = results::download(&state, &principal, code, path.id).await?;
    Ok(crate::http::download::attachment(
        &name,
        "application/pdf",
        bytes,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    /// Why (5–1000 characters); kept with the result, not shown on the public page.
    reason: String,
}

/// Revokes a live result (officials): the verification page says so from now on.
#[utoipa::path(
    post,
    path = "/api/v1/dossiers/{code}/results/{id}/revoke",
    operation_id = "revoke_result",
    tag = "results",
    params(("code" = String, Path), ("id" = Uuid, Path)),
    request_body = RevokeBody,
    responses(
        (status = 200, body = ResultView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke(
    principal: Principal,
    path: web::Path<ResultPath>,
    body: web::Json<RevokeBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let view = results::revoke(&state, &principal, code, path.id, body.into_inner().reason).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
pub struct VerifyPath {
    id: Uuid,
}

/// Public verification of a result by the id its QR code carries: issuer, number, procedure,
/// date, digest, valid or revoked. No personal data.
#[utoipa::path(
    get,
    path = "/api/v1/results/{id}",
    operation_id = "verify_result",
    tag = "results",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Verification),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify(
    tenant: CurrentTenant,
    path: web::Path<VerifyPath>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let v = results::verify(&state, &tenant, path.id, crate::locale::Locale::Vi).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-cache"))
        .json(v))
}

/// The caller's document wallet (kho dữ liệu): results issued to them and documents they
/// submitted that were accepted, across every tenant.
#[utoipa::path(
    get,
    path = "/api/v1/wallet",
    operation_id = "wallet",
    tag = "results",
    responses((status = 200, body = Vec<WalletItem>)),
    security(("bearer" = []))
)]
pub async fn wallet(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let items = crate::app::wallet::list(&state, principal.account).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "private, no-store"))
        .json(items))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// Calendar year (default: this year).
    year: Option<i32>,
}

/// Digitisation figures of Decision 766 for a year (officials and leaders): dossiers received
/// on paper and digitised, results issued electronically or digitised.
#[utoipa::path(
    get,
    path = "/api/v1/stats/digitisation",
    operation_id = "digitisation",
    tag = "statistics",
    params(YearQuery),
    responses(
        (status = 200, body = DigitisationReport),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn digitisation(
    principal: Principal,
    q: web::Query<YearQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if !(principal.has(Role::Leader) || principal.has(Role::Officer)) {
        return Err(AppError::Forbidden);
    }
    use chrono::Datelike;
    let year = q
        .year
        .unwrap_or_else(|| crate::services::calendar::local_date(state.now()).year());
    if !(2000..=2100).contains(&year) {
        return Err(AppError::bad_request("invalid_year", "year: 2000–2100"));
    }
    let d = results::digitisation(&principal.tenant, year).await?;
    Ok(HttpResponse::Ok().json(DigitisationReport::of(year, d)))
}
