//! Catalog management by tenant admins: create or change procedures and fields, adopt a
//! procedure from the parent tenant's catalog with the tenant's own fee and time limit, and
//! withdraw a procedure. Every change reaches every instance's catalog cache through Redis.

use crate::auth::principal::Principal;
use crate::auth::roles::Role;
use crate::error::{AppError, Problem};
use crate::services::catalog::store::{self, FieldUpsert, ProcedureUpsert};
use crate::services::catalog::{
    FieldCode, OnlineLevel, Procedure, ProcedureCode, RequiredDocument,
};
use crate::services::dossiers::DecideRole;
use crate::services::forms::FormSchema;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use crate::tenancy::notify::TenancyEvent;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    vi: String,
    #[serde(default)]
    en: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcedureBody {
    name: NameBody,
    field: String,
    online_level: OnlineLevel,
    processing_days: u16,
    #[serde(default)]
    fee_vnd: u32,
    #[serde(default)]
    documents: Vec<RequiredDocument>,
    /// JSON Schema subset with Vietnamese titles (see docs/tenants.md).
    #[serde(default)]
    #[schema(value_type = Object)]
    form_schema: Option<serde_json::Value>,
    #[serde(default)]
    decide_role: Option<DecideRole>,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    fee_rule: crate::services::payments::FeeRule,
    #[serde(default = "yes")]
    pay_before_processing: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct CodePath {
    code: String,
}

fn text(s: &str, what: &str, max: usize) -> Result<(), AppError> {
    let n = s.trim().chars().count();
    if n == 0 || n > max || s.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "invalid_body",
            format!("{what}: 1–{max} characters, no control characters"),
        ));
    }
    Ok(())
}

async fn changed(state: &AppState, tenant: &CurrentTenant) {
    state.catalog.invalidate(tenant.tenant.id);
    if let Err(e) = state
        .notifier
        .publish(&[TenancyEvent::CatalogChanged(tenant.tenant.id)])
        .await
    {
        // Other instances still reload within the registry refresh period.
        tracing::warn!(error = %e, "catalog change not announced");
    }
}

/// 403 unless the caller administers this tenant; then the procedure code from the path.
fn admin_and_code(principal: &Principal, path: &CodePath) -> Result<ProcedureCode, AppError> {
    admin_code(principal, &path.code)
}

fn admin_code(principal: &Principal, code: &str) -> Result<ProcedureCode, AppError> {
    principal.require(Role::TenantAdmin)?;
    ProcedureCode::parse(code)
        .map_err(|e| AppError::bad_request("invalid_procedure_code", e.to_string()))
}

fn field_missing(field: &str) -> AppError {
    AppError::bad_request(
        "unknown_field",
        format!("field `{field}` does not exist in this tenant's catalog"),
    )
}

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
    let code = admin_and_code(&principal, &path)?;
    let b = body.into_inner();
    text(&b.name.vi, "name.vi", 500)?;
    if let Some(en) = &b.name.en {
        text(en, "name.en", 500)?;
    }
    let field = FieldCode::parse(&b.field)
        .map_err(|e| AppError::bad_request("invalid_field", e.to_string()))?;
    if b.fee_rule
        .per_item
        .as_ref()
        .is_some_and(|p| p.amount_vnd < 0)
    {
        return Err(AppError::bad_request(
            "invalid_fee_rule",
            "fee_rule.per_item.amount_vnd: not negative",
        ));
    }
    let schema = b.form_schema.unwrap_or_else(|| serde_json::json!({}));
    FormSchema::parse(&schema)
        .map_err(|e| AppError::bad_request("invalid_form_schema", e.to_string()))?;
    if b.documents.len() > 50 {
        return Err(AppError::bad_request(
            "invalid_documents",
            "documents: at most 50",
        ));
    }
    for d in &b.documents {
        text(&d.name, "documents[].name", 300)?;
        if d.accept.is_empty() || d.max_size_mb == 0 || d.max_size_mb > 100 {
            return Err(AppError::bad_request(
                "invalid_documents",
                "documents[]: accept at least one type, max_size_mb 1–100",
            ));
        }
    }
    let documents = serde_json::to_value(&b.documents).map_err(AppError::internal)?;
    let tenant = principal.tenant.clone();
    let saved = tenant
        .db
        .run(move |conn| {
            if !store::field_exists(conn, field.as_str())? {
                return Err(field_missing(field.as_str()));
            }
            store::upsert(
                conn,
                &[],
                &[ProcedureUpsert {
                    code: code.as_str(),
                    name_vi: b.name.vi.trim(),
                    name_en: b.name.en.as_deref().map(str::trim),
                    field_code: field.as_str(),
                    online_level: b.online_level,
                    processing_days: i32::from(b.processing_days),
                    fee_vnd: i64::from(b.fee_vnd),
                    documents,
                    active: b.active,
                    form_schema: schema,
                    decide_role: b.decide_role.unwrap_or(DecideRole::Leader),
                    inherited_from: None,
                    fee_rule: &b.fee_rule,
                    pay_before_processing: b.pay_before_processing,
                }],
            )?;
            Ok(store::find_any(conn, code.as_str())?)
        })
        .await?;
    changed(&state, &tenant).await;
    Ok(HttpResponse::Ok().json(saved))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InheritBody {
    /// This tenant's fee in đồng (default: the parent's).
    #[serde(default)]
    fee_vnd: Option<u32>,
    /// This tenant's time limit in working days (default: the parent's).
    #[serde(default)]
    processing_days: Option<u16>,
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
    let saved = adopt(&state, &principal, &path.code, b.fee_vnd, b.processing_days).await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Adopts (or refreshes) a procedure of the parent tenant with this tenant's fee and time
/// limit.
pub(crate) async fn adopt(
    state: &AppState,
    principal: &Principal,
    code: &str,
    fee_vnd: Option<u32>,
    processing_days: Option<u16>,
) -> Result<Option<crate::services::catalog::Procedure>, AppError> {
    let code = admin_code(principal, code)?;
    let tenant = principal.tenant.clone();
    let parent = tenant
        .tenant
        .parent_id
        .and_then(|p| state.registry.by_id(p))
        .ok_or(AppError::NotFound {
            what: "parent tenant",
        })?;
    // Read from the parent's schema, write into ours: two tenant-scoped transactions.
    let parent_code = code.clone();
    let source = crate::db::TenantDb::for_tenant(&state.pools, &parent)
        .run(move |conn| Ok(store::find_active(conn, parent_code.as_str())?))
        .await?
        .ok_or(AppError::NotFound {
            what: "procedure in the parent catalog",
        })?;
    let parent_slug = parent.slug.as_str().to_owned();
    let saved = tenant
        .db
        .run(move |conn| {
            store::adopt(
                conn,
                &source,
                fee_vnd.map(i64::from),
                processing_days.map(i32::from),
                &parent_slug,
            )?;
            Ok(store::find_any(conn, &source.code)?)
        })
        .await?;
    changed(state, &tenant).await;
    Ok(saved)
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

/// Takes a procedure off the portal; its dossiers stay.
pub(crate) async fn withdraw_procedure(
    state: &AppState,
    principal: &Principal,
    code: &str,
) -> Result<(), AppError> {
    let code = admin_code(principal, code)?;
    let tenant = principal.tenant.clone();
    let found = tenant
        .db
        .run(move |conn| Ok(store::set_active(conn, code.as_str(), false)?))
        .await?;
    if !found {
        return Err(AppError::NotFound { what: "procedure" });
    }
    changed(state, &tenant).await;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldBody {
    code: String,
    name: NameBody,
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
