//! Importing a tenant's procedures from the national database's published list (CSV or Excel)
//! — for the API, the CLI and the admin page alike. The whole file is read and checked first;
//! one bad row refuses the import with every problem named by line and column, and nothing is
//! written. A dry run stops at the plan. Otherwise one tenant transaction creates the new
//! fields and procedures and updates the others (name, field, level, time limit, fee, legal
//! basis, conditions, documents), leaving their forms, fee rules, processes and whether they
//! are offered as they were; versions are recorded as for any change.

use crate::auth::principal::Principal;
use crate::auth::roles::Role;
use crate::error::AppError;
use crate::services::catalog::import::{self, Change, Plan};
use crate::services::catalog::store::{self, FieldUpsert, ProcedureUpsert};
use crate::tenancy::CurrentTenant;
use diesel::Connection;
use serde::Serialize;
use uuid::Uuid;

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Per procedure, in file order.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<import::PlanItem>,
    /// Fields (lĩnh vực) created: code and name.
    pub new_fields: Vec<(String, String)>,
}

fn refused(plan: &Plan) -> AppError {
    AppError::Invalid {
        errors: plan
            .problems
            .iter()
            .map(|p| {
                let at_vi = match (p.line, p.column.is_empty()) {
                    (0, _) => String::new(),
                    (l, true) => format!("Dòng {l}: "),
                    (l, false) => format!("Dòng {l}, cột “{}”: ", p.column),
                };
                let at_en = match (p.line, p.column.is_empty()) {
                    (0, _) => String::new(),
                    (l, true) => format!("Line {l}: "),
                    (l, false) => format!("Line {l}, column “{}”: ", p.column),
                };
                crate::app::dossiers::field_error(
                    format!("/rows/{}", p.line),
                    "invalid_row",
                    &format!("{at_vi}{}", p.message),
                    &format!("{at_en}{}", p.message_en),
                )
            })
            .collect(),
    }
}

/// The API's and the admin page's import: the caller must administer the tenant.
pub async fn import_as(
    state: &crate::state::AppState,
    principal: &Principal,
    bytes: Vec<u8>,
    dry_run: bool,
) -> Result<ImportReport, AppError> {
    principal.require(Role::TenantAdmin)?;
    let report = import_catalog(&principal.tenant, Some(principal.account), bytes, dry_run).await?;
    if !dry_run {
        crate::app::catalog_admin::changed(state, &principal.tenant).await;
    }
    Ok(report)
}

/// Imports (or plans to import) `bytes` into `tenant`'s catalog; `by` is recorded in the audit.
pub async fn import_catalog(
    tenant: &CurrentTenant,
    by: Option<Uuid>,
    bytes: Vec<u8>,
    dry_run: bool,
) -> Result<ImportReport, AppError> {
    let tenant_id = tenant.tenant.id;
    tenant
        .db
        .run(move |conn| {
            let table = import::read_table(&bytes).map_err(|p| {
                refused(&Plan {
                    problems: vec![p],
                    ..Plan::default()
                })
            })?;
            let (rows, problems) = import::rows(&table);
            conn.transaction(|conn| {
                let existing = store::load_all(conn)?;
                let fields = store::field_names(conn)?;
                let mut plan = import::plan(&rows, &existing, &fields);
                plan.problems = problems;
                if !plan.problems.is_empty() {
                    return Err(refused(&plan));
                }
                let report = ImportReport {
                    dry_run,
                    created: plan.count("create"),
                    updated: plan.count("update"),
                    unchanged: plan.count("unchanged"),
                    items: plan.items.clone(),
                    new_fields: plan.new_fields.clone(),
                };
                if dry_run {
                    return Ok(report);
                }
                write(conn, &rows, &existing, &plan)?;
                crate::auth::accounts::audit(
                    conn,
                    by,
                    Some(tenant_id),
                    None,
                    "catalog.imported",
                    serde_json::json!({
                        "created": report.created, "updated": report.updated,
                        "unchanged": report.unchanged, "fields": report.new_fields.len(),
                    }),
                )?;
                Ok(report)
            })
        })
        .await
}

fn write(
    conn: &mut diesel::PgConnection,
    rows: &[import::Row],
    existing: &[crate::services::catalog::Procedure],
    plan: &Plan,
) -> Result<(), AppError> {
    let field_rows: Vec<FieldUpsert<'_>> = plan
        .new_fields
        .iter()
        .map(|(code, name)| FieldUpsert {
            code,
            name_vi: name,
            name_en: None,
        })
        .collect();
    let offered: std::collections::HashMap<String, bool> = store::list_brief(conn)?
        .into_iter()
        .map(|(code, _, active)| (code, active))
        .collect();
    // What each changing row writes, prepared first: the upsert borrows it.
    let mut prepared = Vec::new();
    for (row, item) in rows.iter().zip(&plan.items) {
        if item.change == Change::Unchanged {
            continue;
        }
        let before = existing.iter().find(|p| p.code == row.code.as_str());
        let documents =
            serde_json::to_value(import::documents_for(row, before)).map_err(AppError::internal)?;
        let mut details = row.details.clone();
        if let Some(p) = before {
            // The paper forms are not in the national list: keep this tenant's.
            details.form_templates = p.details.form_templates.clone();
        }
        prepared.push((row, before, documents, details));
    }
    let empty = serde_json::json!({});
    let no_rule = crate::services::payments::FeeRule::default();
    let procedure_rows: Vec<ProcedureUpsert<'_>> = prepared
        .iter()
        .map(|(row, before, documents, details)| ProcedureUpsert {
            code: row.code.as_str(),
            name_vi: &row.name_vi,
            name_en: row
                .name_en
                .as_deref()
                .or(before.and_then(|p| p.name_en.as_deref())),
            field_code: row.field_code.as_str(),
            online_level: row.level,
            processing_days: i32::from(row.days),
            fee_vnd: row.fee_vnd,
            documents: documents.clone(),
            // A new procedure is offered at once; an existing one stays as it was.
            active: offered.get(row.code.as_str()).copied().unwrap_or(true),
            form_schema: before.map_or_else(|| empty.clone(), |p| p.form_schema.clone()),
            decide_role: before.map_or(crate::services::dossiers::DecideRole::Leader, |p| {
                p.decide_role
            }),
            inherited_from: before.and_then(|p| p.inherited_from.as_deref()),
            fee_rule: before.map_or(&no_rule, |p| &p.fee_rule),
            pay_before_processing: before.is_none_or(|p| p.pay_before_processing),
            process: before.and_then(|p| p.process.as_ref()),
            details,
            template: before.is_some_and(|p| p.template),
            adopted_version: before.and_then(|p| p.adopted_version),
            edited_in: "import",
        })
        .collect();
    store::upsert(conn, &field_rows, &procedure_rows)?;
    Ok(())
}
