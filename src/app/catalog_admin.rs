//! Use cases behind `api::catalog_admin` and the portal pages that do the same (moved out of the
//! JSON adapter so both adapters call them).

use crate::auth::principal::Principal;
use crate::auth::roles::Role;
use crate::error::AppError;
use crate::services::catalog::store::{self};
use crate::services::catalog::{OnlineLevel, ProcedureCode, RequiredDocument};
use crate::services::dossiers::DecideRole;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use crate::tenancy::notify::TenancyEvent;
use diesel::Connection;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    pub(crate) vi: String,
    #[serde(default)]
    pub(crate) en: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcedureBody {
    pub(crate) name: NameBody,
    pub(crate) field: String,
    pub(crate) online_level: OnlineLevel,
    pub(crate) processing_days: u16,
    #[serde(default)]
    pub(crate) fee_vnd: u32,
    #[serde(default)]
    pub(crate) documents: Vec<RequiredDocument>,
    /// JSON Schema subset with Vietnamese titles (see docs/tenants.md).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub(crate) form_schema: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) decide_role: Option<DecideRole>,
    #[serde(default = "yes")]
    pub(crate) active: bool,
    #[serde(default)]
    pub(crate) fee_rule: crate::services::payments::FeeRule,
    #[serde(default = "yes")]
    pub(crate) pay_before_processing: bool,
    /// Legal basis, conditions and downloadable paper forms.
    #[serde(default)]
    pub(crate) details: crate::services::catalog::Details,
    /// The tenant's children may adopt it.
    #[serde(default)]
    pub(crate) template: bool,
}

/// Creates or replaces a procedure from its whole definition (the API's `PUT`): every part
/// checked first (400 naming it), then one upsert, a version recorded when what applicants
/// see changed, and every instance's cache refreshed. A declared process stays.
pub(crate) async fn save_procedure(
    state: &AppState,
    principal: &Principal,
    code: &str,
    b: ProcedureBody,
) -> Result<Option<crate::services::catalog::Procedure>, AppError> {
    use crate::services::catalog::FieldCode;
    use crate::services::catalog::store::ProcedureUpsert;
    use crate::services::forms::FormSchema;
    let code = admin_code(principal, code)?;
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
    if let Some(problem) = b.details.problems().into_iter().next() {
        return Err(AppError::bad_request("invalid_details", problem));
    }
    let documents = serde_json::to_value(&b.documents).map_err(AppError::internal)?;
    let tenant = principal.tenant.clone();
    let saved = tenant
        .db
        .run(move |conn| {
            if !store::field_exists(conn, field.as_str())? {
                return Err(field_missing(field.as_str()));
            }
            // A process is declared in the tenant file; a definition sent here keeps it.
            let process = store::find_any(conn, code.as_str())?.and_then(|p| p.process);
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
                    process: process.as_ref(),
                    details: &b.details,
                    template: b.template,
                    adopted_version: None,
                    edited_in: "api",
                }],
            )?;
            Ok(store::find_any(conn, code.as_str())?)
        })
        .await?;
    changed(state, &tenant).await;
    Ok(saved)
}

pub(crate) fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct CodePath {
    pub(crate) code: String,
}

pub(crate) fn text(s: &str, what: &str, max: usize) -> Result<(), AppError> {
    let n = s.trim().chars().count();
    if n == 0 || n > max || s.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "invalid_body",
            format!("{what}: 1–{max} characters, no control characters"),
        ));
    }
    Ok(())
}

pub(crate) async fn changed(state: &AppState, tenant: &CurrentTenant) {
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

/// 403 unless the caller administers this tenant; then the procedure code.
pub(crate) fn admin_code(principal: &Principal, code: &str) -> Result<ProcedureCode, AppError> {
    principal.require(Role::TenantAdmin)?;
    ProcedureCode::parse(code)
        .map_err(|e| AppError::bad_request("invalid_procedure_code", e.to_string()))
}

pub(crate) fn field_missing(field: &str) -> AppError {
    AppError::bad_request(
        "unknown_field",
        format!("field `{field}` does not exist in this tenant's catalog"),
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InheritBody {
    /// This tenant's fee in đồng (default: the parent's).
    #[serde(default)]
    pub(crate) fee_vnd: Option<u32>,
    /// This tenant's amount per listed item (e.g. per worker) when the parent's fee counts
    /// items (default: the parent's).
    #[serde(default)]
    pub(crate) fee_per_item_vnd: Option<u32>,
    /// This tenant's time limit in working days (default: the parent's).
    #[serde(default)]
    pub(crate) processing_days: Option<u16>,
}

/// Adopts (or refreshes) a procedure of the parent tenant with this tenant's fee and time
/// limit (`None`: the ones this tenant set before, else the parent's).
pub(crate) async fn adopt(
    state: &AppState,
    principal: &Principal,
    code: &str,
    choice: &InheritBody,
) -> Result<Option<crate::services::catalog::Procedure>, AppError> {
    let (fee_vnd, fee_per_item_vnd, processing_days) = (
        choice.fee_vnd,
        choice.fee_per_item_vnd,
        choice.processing_days,
    );
    let code = admin_code(principal, code)?;
    let max_days = crate::services::catalog::design::MAX_DAYS;
    if processing_days.is_some_and(|d| !(1..=max_days).contains(&d)) {
        return Err(AppError::bad_request(
            "invalid_processing_days",
            format!("processing_days: 1–{max_days} working days"),
        ));
    }
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
    let (source, version) = parent
        .db(&state.pools)
        .run(move |conn| {
            let found = store::find_adoptable(conn, parent_code.as_str())?;
            let version = crate::services::catalog::versions::latest(conn, parent_code.as_str())?;
            Ok(found.map(|p| (p, version)))
        })
        .await?
        .ok_or(AppError::NotFound {
            what: "procedure in the parent catalog",
        })?;
    let parent_slug = parent.slug.as_str().to_owned();
    let (by, tenant_id) = (principal.account, tenant.tenant.id);
    let saved = tenant
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                // Taking a template again keeps what this tenant made its own: fee, time
                // limit, process and local documents, unless new ones are given.
                let mine = store::find_any(conn, &source.code)?
                    .filter(|m| m.inherited_from.as_deref() == Some(parent_slug.as_str()));
                let local: Vec<_> = mine
                    .iter()
                    .flat_map(|m| m.documents.iter().filter(|d| d.local).cloned())
                    .collect();
                let own_per_item = mine
                    .as_ref()
                    .and_then(|m| m.fee_rule.per_item.as_ref())
                    .map(|p| p.amount_vnd);
                let adapt = store::Adaptation {
                    fee_vnd: fee_vnd.map(i64::from).or(mine.as_ref().map(|m| m.fee_vnd)),
                    fee_per_item_vnd: fee_per_item_vnd.map(i64::from).or(own_per_item),
                    processing_days: processing_days
                        .map(i32::from)
                        .or(mine.as_ref().map(|m| m.processing_days)),
                    process: mine.as_ref().and_then(|m| m.process.as_ref()),
                    local_documents: &local,
                    parent_version: version,
                };
                store::adopt(conn, &source, &adapt, &parent_slug)?;
                crate::auth::accounts::audit(
                    conn,
                    Some(by),
                    Some(tenant_id),
                    None,
                    "procedure.adopted",
                    serde_json::json!({
                        "procedure": source.code, "from": parent_slug, "version": version,
                    }),
                )?;
                Ok(store::find_any(conn, &source.code)?)
            })
        })
        .await?;
    changed(state, &tenant).await;
    Ok(saved)
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
    pub(crate) code: String,
    pub(crate) name: NameBody,
}

/// Declares a procedure's process (or, with `None`, goes back to the fixed path), as the
/// tenant file would: every step's unit exists here, the budgets fit the time limit, and every
/// `transfer_to` names a tenant offering the procedure. Refused with one error per problem
/// (422), nothing changed.
pub(crate) async fn set_process(
    state: &AppState,
    principal: &Principal,
    code: &str,
    process: Option<crate::services::processes::Process>,
) -> Result<(), AppError> {
    use crate::app::dossiers::field_error;
    use crate::services::processes::units;
    let code = admin_code(principal, code)?;
    let tenant = principal.tenant.clone();
    let (c, p) = (code.clone(), process.clone());
    let problems = tenant
        .db
        .run(move |conn| {
            let found = store::find_any(conn, c.as_str())?
                .ok_or(AppError::NotFound { what: "procedure" })?;
            let Some(p) = p else {
                return Ok(Vec::new());
            };
            let days = u32::try_from(found.processing_days).unwrap_or(0);
            Ok(p.check(days, &units::codes(conn)?))
        })
        .await?;
    let mut errors: Vec<_> = problems
        .iter()
        .map(|e| {
            let path = e
                .step()
                .map_or_else(|| "/steps".to_owned(), |s| format!("/steps/{}", s - 1));
            field_error(path, "invalid_process", &e.message_vi(), &e.to_string())
        })
        .collect();
    for (i, step) in process.iter().flat_map(|p| p.steps.iter().enumerate()) {
        if let Some(target) = &step.transfer_to {
            let refused = if *target == tenant.tenant.slug {
                Some("a tenant does not transfer to itself".to_owned())
            } else {
                crate::app::transfers::check_receiver(
                    state,
                    tenant.tenant.id,
                    target,
                    code.as_str(),
                )
                .await
                .err()
                .map(|e| e.to_string())
            };
            if let Some(why) = refused {
                errors.push(field_error(
                    format!("/steps/{i}/transfer_to"),
                    "transfer_refused",
                    &format!("Bước {}: không thể chuyển liên thông đến `{target}`", i + 1),
                    &why,
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid { errors });
    }
    let (by, tenant_id) = (principal.account, tenant.tenant.id);
    tenant
        .db
        .run(move |conn| {
            store::set_process(conn, code.as_str(), process.as_ref())?;
            crate::auth::accounts::audit(
                conn,
                Some(by),
                Some(tenant_id),
                None,
                "procedure.process_set",
                serde_json::json!({
                    "procedure": code.as_str(),
                    "steps": process.as_ref().map(|p| p.steps.len()),
                }),
            )?;
            Ok(())
        })
        .await?;
    changed(state, &tenant).await;
    Ok(())
}
