//! Catalog management by tenant admins: create or change procedures and fields, adopt a
//! procedure from the parent tenant's catalog with the tenant's own fee and time limit, and
//! withdraw a procedure. Every change reaches every instance's catalog cache through Redis.

use crate::app::catalog_admin::*;
use crate::auth::principal::Principal;
use crate::auth::roles::Role;
use crate::error::{AppError, Problem};
use crate::services::catalog::store::{self, FieldUpsert};
use crate::services::catalog::{FieldCode, Procedure};
use crate::state::AppState;
use actix_web::{HttpResponse, web};

/// Create or change a procedure (Cập nhật thủ tục hành chính).
#[utoipa::path(
    put,
    path = "/api/v1/procedures/{code}",
    tag = "catalog",
    params(("code" = String, Path)),
    request_body = ProcedureBody,
    responses(
        (status = 200, body = Procedure),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_procedure(
    principal: Principal,
    path: web::Path<CodePath>,
    body: web::Json<ProcedureBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let saved = save_procedure(&state, &principal, &path.code, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Adopt a procedure of the parent tenant's catalog, adapting fee and time limit (Áp dụng thủ
/// tục của cấp trên). Re-adopting refreshes it from the parent.
#[utoipa::path(
    post,
    path = "/api/v1/procedures/{code}/inherit",
    tag = "catalog",
    params(("code" = String, Path)),
    request_body = InheritBody,
    responses(
        (status = 200, body = Procedure),
        (status = 400, body = Problem, description = "a time limit outside 1–365 working days", content_type = "application/problem+json"),
        (status = 404, body = Problem, description = "no parent, or not in its catalog", content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn inherit(
    principal: Principal,
    path: web::Path<CodePath>,
    body: web::Json<InheritBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let saved = adopt(&state, &principal, &path.code, &b).await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Withdraw a procedure from the portal (Ngừng cung cấp thủ tục); its dossiers stay.
#[utoipa::path(
    delete,
    path = "/api/v1/procedures/{code}",
    tag = "catalog",
    params(("code" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn withdraw(
    principal: Principal,
    path: web::Path<CodePath>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    withdraw_procedure(&state, &principal, &path.code).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Create or rename a field (Lĩnh vực).
#[utoipa::path(
    post,
    path = "/api/v1/fields",
    tag = "catalog",
    request_body = FieldBody,
    responses((status = 204), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn put_field(
    principal: Principal,
    body: web::Json<FieldBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    principal.require(Role::TenantAdmin)?;
    let b = body.into_inner();
    let code = FieldCode::parse(&b.code)
        .map_err(|e| AppError::bad_request("invalid_field", e.to_string()))?;
    text(&b.name.vi, "name.vi", 200)?;
    let tenant = principal.tenant.clone();
    tenant
        .db
        .run(move |conn| {
            Ok(store::upsert(
                conn,
                &[FieldUpsert {
                    code: code.as_str(),
                    name_vi: b.name.vi.trim(),
                    name_en: b.name.en.as_deref().map(str::trim),
                }],
                &[],
            )?)
        })
        .await?;
    changed(&state, &tenant).await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessBody {
    /// The ordered steps (`{"steps": [{"code", "name_vi", "name_en", "unit", "role",
    /// "actions", "budget": {"days": n} | {"hours": n}, "transfer_to"}]}`), or `null` for the
    /// fixed path.
    #[schema(value_type = Option<Object>)]
    process: Option<crate::services::processes::Process>,
}

/// Declare a procedure's process (Quy trình xử lý), or go back to the fixed path with `null`.
/// Checked as a tenant file is: units, budgets within the time limit, transfer targets.
#[utoipa::path(
    put,
    path = "/api/v1/procedures/{code}/process",
    tag = "catalog",
    operation_id = "set_process",
    params(("code" = String, Path)),
    request_body = ProcessBody,
    responses(
        (status = 204),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, description = "one error per problem of the process", content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_process(
    principal: Principal,
    path: web::Path<CodePath>,
    body: web::Json<ProcessBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    crate::app::catalog_admin::set_process(
        &state,
        &principal,
        &path.code,
        body.into_inner().process,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// Only report what would be created or changed; write nothing.
    #[serde(default)]
    dry_run: bool,
}

/// Import procedures from the national procedure database's published list (Nhập danh mục
/// thủ tục): a CSV (UTF-8, comma or semicolon) or an Excel workbook (.xlsx, first sheet) as
/// the request body, with the columns `Mã thủ tục`, `Tên thủ tục`, `Lĩnh vực`, `Mức độ`,
/// `Thời hạn giải quyết`, `Phí, lệ phí` and optionally `Căn cứ pháp lý`, `Thành phần hồ sơ`,
/// `Yêu cầu, điều kiện`, `Tên tiếng Anh` (or their English names). One bad row refuses the
/// whole file (422, every problem by line and column) and nothing is written.
#[utoipa::path(
    post,
    path = "/api/v1/catalog/import",
    operation_id = "import_catalog",
    tag = "catalog",
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, body = crate::app::catalog_import::ImportReport),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn import(
    principal: Principal,
    req: actix_web::HttpRequest,
    payload: web::Payload,
    query: web::Query<ImportQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    principal.require(Role::TenantAdmin)?;
    let bytes =
        crate::http::upload::read_raw(&req, payload, crate::services::catalog::import::MAX_BYTES)
            .await?;
    let report =
        crate::app::catalog_import::import_as(&state, &principal, bytes, query.dry_run).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The procedure as its tenant-file block (`[[procedures]]` in TOML), for tenants that keep
/// their files as the source of truth: the designer's draft when there is one, else what is
/// published. Applying a file holding it changes nothing.
#[utoipa::path(
    get,
    path = "/api/v1/procedures/{code}/tenant-file",
    operation_id = "export_procedure",
    tag = "catalog",
    params(("code" = String, Path)),
    responses(
        (status = 200, body = String, content_type = "text/plain"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn export(
    principal: Principal,
    path: web::Path<CodePath>,
) -> Result<HttpResponse, AppError> {
    let block = crate::app::designer::export(&principal, &path.code).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(block))
}
