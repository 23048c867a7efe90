//! Dossier API: submit, follow, process, rate; the public lookup; a citizen's dossiers across
//! every tenant.

use crate::app::dossiers::*;
use crate::auth::principal::Principal;
use crate::error::{AppError, Problem};
use crate::http::headers::idempotency_key;
use crate::http::upload::{self, Upload};
use crate::services::attachments;
use crate::services::dossiers::store::{self, BulkAction, InboxFilter};
use crate::services::dossiers::{
    BulkResult, DossierDetail, DossierSummary, MyDossier, PublicStatus, Status,
};
use crate::services::idempotency::{Attempt, Fingerprint};
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

/// Submit a dossier (Nộp hồ sơ). `application/json` (a [`Submission`]) or
/// `multipart/form-data` with a `data` part holding it and one part per attached document,
/// named `doc.{index}` after the procedure's document list. With an `Idempotency-Key`, the
/// same request again within 24 hours answers the first dossier instead of filing another.
#[utoipa::path(
    post,
    path = "/api/v1/dossiers",
    tag = "dossiers",
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters; a retry with the same key and request gets the first answer")),
    request_body(content = Submission, description = "JSON, or multipart with `data` + `doc.{i}` files"),
    responses(
        (status = 201, body = DossierSummary),
        (status = 409, body = Problem, description = "the same key is being answered right now", content_type = "application/problem+json"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, description = "field errors, or the key reused for another request", content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn submit(
    principal: Principal,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = idempotency_key(&req)?;
    let limit = state.settings.dossiers.max_request_mb as usize * 1024 * 1024;
    let Upload { data, files, .. } = upload::read(&req, payload, limit).await?;
    let retry = key.map(|key| {
        let data = serde_json::to_vec(&data).unwrap_or_default();
        let digests: Vec<String> = files
            .iter()
            .map(|f| format!("{}:{}:{}", f.index, f.name, attachments::checksum(&f.bytes)))
            .collect();
        Attempt {
            account: principal.account,
            operation: "submit".into(),
            key,
            fingerprint: Fingerprint::of(
                std::iter::once(data.as_slice())
                    .chain(digests.iter().map(std::string::String::as_bytes)),
            ),
        }
    });
    let sub: Submission = serde_json::from_value(data)
        .map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?;
    let submitted = submit_dossier(&state, &principal, sub, files, retry).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/dossiers/{}", submitted.code())))
        .json(submitted.body()))
}

/// My dossiers in this tenant (Hồ sơ của tôi).
#[utoipa::path(
    get,
    path = "/api/v1/dossiers",
    tag = "dossiers",
    responses((status = 200, body = [DossierSummary])),
    security(("bearer" = []))
)]
pub async fn mine(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let scope = scope(&state, &principal.tenant);
    let account = principal.account;
    let now = state.now();
    let list = principal
        .tenant
        .db
        .run(move |conn| Ok(store::mine(conn, &scope, account, now)?))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Officers' inbox: open dossiers, overdue first (Hộp hồ sơ cần xử lý).
#[utoipa::path(
    get,
    path = "/api/v1/inbox",
    tag = "dossiers",
    params(InboxParams),
    responses(
        (status = 200, body = [DossierSummary]),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn inbox(
    principal: Principal,
    params: web::Query<InboxParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if !principal.is_official() {
        return Err(AppError::Forbidden);
    }
    let p = params.into_inner();
    let status = p
        .status
        .map(|s| Status::parse(&s).ok_or_else(|| AppError::bad_request("invalid_status", "status")))
        .transpose()?;
    let assignee = match p.assignee.as_deref() {
        None | Some("") => None,
        Some("me") => Some(principal.account),
        Some(s) => Some(
            Uuid::parse_str(s)
                .map_err(|_| AppError::bad_request("invalid_assignee", "assignee: a UUID"))?,
        ),
    };
    let procedure = p
        .procedure
        .map(|c| {
            crate::services::catalog::ProcedureCode::parse(&c)
                .map(|c| c.as_str().to_owned())
                .map_err(|e| AppError::bad_request("invalid_procedure_code", e.to_string()))
        })
        .transpose()?;
    let unit = p
        .unit
        .map(|u| {
            crate::services::processes::UnitCode::parse(&u)
                .map(String::from)
                .map_err(|e| AppError::bad_request("invalid_unit", e))
        })
        .transpose()?;
    let per_page = p.per_page.unwrap_or(50).clamp(1, 200);
    let page = p.page.unwrap_or(1).clamp(1, 10_000);
    let filter = InboxFilter {
        status,
        assignee,
        procedure,
        unit,
        limit: i64::from(per_page),
        offset: i64::from((page - 1) * per_page),
    };
    let scope = scope(&state, &principal.tenant);
    let now = state.now();
    let list = principal
        .tenant
        .db
        .run(move |conn| Ok(store::inbox(conn, &scope, &filter, now)?))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One dossier: data, files, history and the caller's possible actions (Chi tiết hồ sơ).
#[utoipa::path(
    get,
    path = "/api/v1/dossiers/{code}",
    tag = "dossiers",
    params(("code" = String, Path, description = "Dossier code, e.g. `HNI-261128-0007`")),
    responses(
        (status = 200, body = DossierDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    principal: Principal,
    path: web::Path<CodePath>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let scope = scope(&state, &principal.tenant);
    let who = caller(&principal);
    let now = state.now();
    let detail = principal
        .tenant
        .db
        .run(move |conn| Ok(store::detail(conn, &scope, &code, &who, now)?))
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Take a workflow action (Xử lý hồ sơ): receive, start_review, request_supplement, approve,
/// reject, return (officers and leaders), withdraw (the applicant, before receipt).
#[utoipa::path(
    post,
    path = "/api/v1/dossiers/{code}/actions",
    tag = "dossiers",
    params(("code" = String, Path)),
    request_body = ActionBody,
    responses(
        (status = 200, body = DossierSummary),
        (status = 403, body = Problem, description = "role may not take this action", content_type = "application/problem+json"),
        (status = 409, body = Problem, description = "stale version or action not possible now", content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn act(
    principal: Principal,
    path: web::Path<CodePath>,
    body: web::Json<ActionBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let summary = take_action(&state, &principal, code, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Answer a supplement request on the same dossier (Bổ sung hồ sơ): JSON, or multipart with a
/// `data` part and `doc.{index}` files.
#[utoipa::path(
    post,
    path = "/api/v1/dossiers/{code}/supplement",
    tag = "dossiers",
    params(("code" = String, Path)),
    request_body = SupplementBody,
    responses(
        (status = 200, body = DossierSummary),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn supplement(
    principal: Principal,
    path: web::Path<CodePath>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let limit = state.settings.dossiers.max_request_mb as usize * 1024 * 1024;
    let Upload { data, files, .. } = upload::read(&req, payload, limit).await?;
    let body: SupplementBody = serde_json::from_value(data)
        .map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?;
    let summary = answer_supplement(&state, &principal, code, body, files).await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Assign a dossier to an officer (Phân công xử lý).
#[utoipa::path(
    post,
    path = "/api/v1/dossiers/{code}/assign",
    tag = "dossiers",
    params(("code" = String, Path)),
    request_body = AssignBody,
    responses(
        (status = 200, body = DossierSummary),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn assign(
    principal: Principal,
    path: web::Path<CodePath>,
    body: web::Json<AssignBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let scope = scope(&state, &principal.tenant);
    let who = caller(&principal);
    let b = body.into_inner();
    let now = state.now();
    let s = principal
        .tenant
        .db
        .run(move |conn| {
            Ok(store::assign(
                conn, &scope, &code, &who, b.assignee, b.version, now,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Receive or assign many dossiers at once (Tiếp nhận / phân công hàng loạt); each succeeds or
/// fails on its own.
#[utoipa::path(
    post,
    path = "/api/v1/dossiers/bulk",
    tag = "dossiers",
    request_body = BulkBody,
    responses((status = 200, body = [BulkResult])),
    security(("bearer" = []))
)]
pub async fn bulk(
    principal: Principal,
    body: web::Json<BulkBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if !principal.is_official() {
        return Err(AppError::Forbidden);
    }
    let b = body.into_inner();
    if b.codes.is_empty() || b.codes.len() > 200 {
        return Err(AppError::bad_request(
            "invalid_codes",
            "codes: from 1 to 200 dossier codes",
        ));
    }
    let codes = b
        .codes
        .iter()
        .map(|c| parse_code(c))
        .collect::<Result<Vec<_>, _>>()?;
    let action = match (b.action, b.assignee) {
        (BulkKind::Receive, _) => BulkAction::Receive,
        (BulkKind::Assign, Some(a)) => BulkAction::Assign(a),
        (BulkKind::Assign, None) => {
            return Err(AppError::bad_request(
                "assignee_required",
                "assignee: required to assign",
            ));
        }
    };
    let scope = scope(&state, &principal.tenant);
    let who = caller(&principal);
    let now = state.now();
    let results = principal
        .tenant
        .db
        .run(move |conn| Ok(store::bulk(conn, &scope, &who, &codes, action, now)?))
        .await?;
    Ok(HttpResponse::Ok().json(results))
}

/// Rate a returned dossier, once (Đánh giá mức độ hài lòng).
#[utoipa::path(
    post,
    path = "/api/v1/dossiers/{code}/feedback",
    tag = "dossiers",
    params(("code" = String, Path)),
    request_body = FeedbackBody,
    responses(
        (status = 204),
        (status = 409, body = Problem, description = "not returned yet, or already rated", content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn feedback(
    principal: Principal,
    path: web::Path<CodePath>,
    body: web::Json<FeedbackBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let b = body.into_inner();
    rate_dossier(&state, &principal, code, b.rating, b.comment).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Download an attachment (its applicant and the tenant's officials only).
#[utoipa::path(
    get,
    path = "/api/v1/dossiers/{code}/attachments/{id}",
    tag = "dossiers",
    params(("code" = String, Path), ("id" = Uuid, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn download(
    principal: Principal,
    path: web::Path<AttachmentPath>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let id = path.id;
    let who = caller(&principal);
    let (key, name, media_type) = principal
        .tenant
        .db
        .run(move |conn| Ok(store::attachment(conn, &code, &who, id)?))
        .await?;
    let bytes = crate::app::dossiers::read_stored(&state, &key).await?;
    Ok(crate::http::download::attachment(&name, &media_type, bytes))
}

/// Public status of a dossier by code and phone (Tra cứu hồ sơ). No names, no form data;
/// rate-limited per address and per code.
#[utoipa::path(
    post,
    path = "/api/v1/lookup",
    tag = "dossiers",
    request_body = LookupBody,
    responses(
        (status = 200, body = PublicStatus),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn lookup(
    tenant: CurrentTenant,
    req: HttpRequest,
    body: web::Json<LookupBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let p = body.into_inner();
    let code = parse_code(&p.code)?;
    let ip = crate::client_addr::of(&req);
    let status = lookup_status(&state, &tenant, ip, code, &p.phone).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(status))
}

/// The signed-in citizen's dossiers in every tenant (Hồ sơ của tôi trên mọi cổng). Takes an
/// access token of any tenant portal.
#[utoipa::path(
    get,
    path = "/api/v1/account/dossiers",
    tag = "dossiers",
    responses((status = 200, body = [MyDossier]), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn across_tenants(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (account, _) = crate::http::bearer::bearer_account(&req, &state).await?;
    crate::app::desk::claim(&state, account).await?;
    let rows = state
        .shared
        .run(move |conn| Ok(store::across_tenants(conn, account)?))
        .await?;
    let list: Vec<MyDossier> = rows
        .into_iter()
        .filter_map(|(tenant, mut d)| {
            d.tenant = state.registry.by_id(tenant)?.slug.as_str().to_owned();
            Some(d)
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}
