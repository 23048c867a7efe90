//! The procedure designer's use cases: open a procedure as a draft (new, or from what is
//! published), edit it one step at a time, publish it, throw the draft away. Each edit reads
//! the draft under a row lock, applies one pure change from
//! [`crate::services::catalog::design`] and writes it back, so two administrators editing at
//! once lose nothing; nothing a citizen sees changes until [`publish`].

use crate::app::catalog_admin::{admin_code, changed};
use crate::app::dossiers::field_error;
use crate::auth::principal::Principal;
use crate::error::{AppError, FieldError};
use crate::services::catalog::design::{Context, Design};
use crate::services::catalog::drafts::{self, Draft};
use crate::services::catalog::store::{self, ProcedureUpsert};
use crate::services::catalog::{ProcedureCode, versions};
use crate::services::forms::builder::FieldProblem;
use crate::state::AppState;
use diesel::prelude::*;

/// Where a procedure stands in the designer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub code: String,
    pub name: String,
    /// Offered to citizens now.
    pub published: bool,
    /// Was published once (and may be withdrawn).
    pub exists: bool,
    /// Has unpublished changes.
    pub draft: bool,
}

/// A procedure open in the designer.
#[derive(Debug, Clone)]
pub struct Opened {
    pub code: ProcedureCode,
    pub design: Design,
    /// Unpublished changes are stored (else this is what is published).
    pub draft: bool,
    /// The published version, if any.
    pub version: Option<i32>,
    pub published: bool,
    /// The tenant's fields (code, name), for the field choice.
    pub fields: Vec<(String, String)>,
}

fn invalid(problems: Vec<FieldProblem>) -> AppError {
    AppError::Invalid {
        errors: problems.into_iter().map(to_field_error).collect(),
    }
}

/// A designer problem as a field error: its path is the input's name.
pub(crate) fn to_field_error(p: FieldProblem) -> FieldError {
    field_error(format!("/{}", p.input), "invalid_design", &p.vi, &p.en)
}

/// Every procedure of the tenant and every draft, by code.
pub async fn overview(principal: &Principal) -> Result<Vec<Entry>, AppError> {
    principal.require(crate::auth::roles::Role::TenantAdmin)?;
    principal
        .tenant
        .db
        .run(|conn| {
            let published = store::list_brief(conn)?;
            let drafts = drafts::list(conn)?;
            let mut out: Vec<Entry> = published
                .into_iter()
                .map(|(code, name, active)| Entry {
                    draft: drafts.iter().any(|d| d.code == code),
                    code,
                    name,
                    published: active,
                    exists: true,
                })
                .collect();
            for d in drafts {
                if !out.iter().any(|e| e.code == d.code) {
                    out.push(Entry {
                        code: d.code,
                        name: d.design.name_vi,
                        published: false,
                        exists: false,
                        draft: true,
                    });
                }
            }
            out.sort_by(|a, b| a.code.cmp(&b.code));
            Ok(out)
        })
        .await
}

/// The tenant's fields (code, Vietnamese name), for the new-procedure form.
pub async fn field_names(principal: &Principal) -> Result<Vec<(String, String)>, AppError> {
    principal.require(crate::auth::roles::Role::TenantAdmin)?;
    principal
        .tenant
        .db
        .run(|conn| Ok(store::field_names(conn)?))
        .await
}

/// Starts a new procedure: its code (as in the national database), name and field. Refused
/// when the code is taken by a procedure or a draft.
pub async fn create(
    principal: &Principal,
    code: &str,
    name_vi: &str,
    field: &str,
) -> Result<ProcedureCode, AppError> {
    let code = admin_code(principal, code.trim()).map_err(|_| {
        invalid(vec![FieldProblem {
            input: "code",
            vi: "Mã thủ tục gồm 1–40 ký tự A–Z, a–z, 0–9, `.`, `-`, `_` (ví dụ 1.000105)".into(),
            en: "The procedure code is 1–40 characters among A–Z, a–z, 0–9, `.`, `-`, `_` \
                 (e.g. 1.000105)"
                .into(),
        }])
    })?;
    let mut design = Design::blank(name_vi, field);
    let by = principal.account;
    let c = code.clone();
    let (name_vi, field) = (name_vi.to_owned(), field.to_owned());
    principal
        .tenant
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let ctx = Context {
                    fields: store::field_names(conn)?
                        .into_iter()
                        .map(|(f, _)| f)
                        .collect(),
                    processes: Vec::new(),
                };
                let general = crate::services::catalog::design::GeneralInput {
                    name_vi,
                    field,
                    online_level: "full".into(),
                    processing_days: design.processing_days.to_string(),
                    fee_vnd: "0".into(),
                    decide_role: "leader".into(),
                    pay_before_processing: Some("on".into()),
                    offered: Some("on".into()),
                    ..Default::default()
                };
                let mut problems = design.set_general(&general, &ctx);
                let taken = store::find_any(conn, c.as_str())?.is_some()
                    || drafts::find(conn, c.as_str())?.is_some();
                if taken {
                    problems.insert(
                        0,
                        FieldProblem {
                            input: "code",
                            vi: format!("Mã thủ tục {c} đã có trong danh mục"),
                            en: format!("The code {c} is already in the catalog"),
                        },
                    );
                }
                if !problems.is_empty() {
                    return Err(invalid(problems));
                }
                drafts::save(conn, c.as_str(), &design, None, by)?;
                Ok(())
            })
        })
        .await?;
    Ok(code)
}

/// The procedure as the designer shows it: its draft, else what is published.
pub async fn open(principal: &Principal, code: &str) -> Result<Opened, AppError> {
    let code = admin_code(principal, code)?;
    let c = code.clone();
    principal
        .tenant
        .db
        .run(move |conn| {
            let fields = store::field_names(conn)?;
            let (design, draft, published) = current(conn, c.as_str())?;
            let version = versions::latest(conn, c.as_str())?;
            Ok(Opened {
                code: c,
                design,
                draft,
                version,
                published,
                fields,
            })
        })
        .await
}

/// (design, is a draft, is published now) of `code`; 404 when neither exists, 409 when the
/// published form has more nesting than the designer shows.
fn current(conn: &mut PgConnection, code: &str) -> Result<(Design, bool, bool), AppError> {
    let published = store::find_any(conn, code)?;
    let live = published.is_some() && store::is_active(conn, code)?;
    if let Some(Draft { design, .. }) = drafts::find(conn, code)? {
        return Ok((design, true, live));
    }
    let p = published.ok_or(AppError::NotFound { what: "procedure" })?;
    let mut design = Design::of(&p).map_err(|e| AppError::Conflict {
        code: "not_designable",
        detail: format!(
            "this procedure's form is written in its tenant file with more nesting than the \
             designer shows ({e}); edit it there"
        ),
    })?;
    // A template the tenant does not offer itself stays so when edited.
    design.offered = live || !p.template;
    Ok((design, false, live))
}

/// Applies one change to the draft of `code` (made from the published procedure on the first
/// change) and stores it; the change's problems come back as a 422 and nothing is stored.
pub async fn edit<F>(principal: &Principal, code: &str, change: F) -> Result<Design, AppError>
where
    F: FnOnce(&mut Design, &Context) -> Vec<FieldProblem> + Send + 'static,
{
    let code = admin_code(principal, code)?;
    let by = principal.account;
    principal
        .tenant
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                if drafts::find(conn, code.as_str())?.is_none() {
                    // The first change starts the draft from what is published; a second
                    // administrator's first change at the same moment finds that draft.
                    let (design, _, _) = current(conn, code.as_str())?;
                    let based_on = versions::latest(conn, code.as_str())?;
                    drafts::start(conn, code.as_str(), &design, based_on, by)?;
                }
                let Draft {
                    mut design,
                    based_on,
                    ..
                } = drafts::lock(conn, code.as_str())?.ok_or(AppError::NotFound {
                    what: "procedure draft",
                })?;
                let problems = change(&mut design, &context(conn, code.as_str())?);
                if !problems.is_empty() {
                    return Err(invalid(problems));
                }
                drafts::save(conn, code.as_str(), &design, based_on, by)?;
                Ok(design)
            })
        })
        .await
}

/// The tenant's fields and its other procedures' processes.
fn context(conn: &mut PgConnection, code: &str) -> Result<Context, AppError> {
    Ok(Context {
        fields: store::field_names(conn)?
            .into_iter()
            .map(|(f, _)| f)
            .collect(),
        processes: store::load_all(conn)?
            .into_iter()
            .filter(|p| p.code != code)
            .filter_map(|p| p.process.map(|x| (p.code, x)))
            .collect(),
    })
}

/// The processes the designer offers to copy: (procedure code, name, steps).
pub async fn processes(principal: &Principal) -> Result<Vec<(String, String, usize)>, AppError> {
    principal.require(crate::auth::roles::Role::TenantAdmin)?;
    principal
        .tenant
        .db
        .run(|conn| {
            Ok(store::load_all(conn)?
                .into_iter()
                .filter_map(|p| p.process.map(|x| (p.code, p.name, x.steps.len())))
                .collect())
        })
        .await
}

/// Publishes the draft of `code`: checked whole, written as the procedure (offered to
/// citizens, a new version recorded when anything they see changed), audited, the draft
/// removed, every instance's catalog cache refreshed. A withdrawn procedure without a draft is
/// offered again as it was. The process is the draft's (the published one unless another was
/// chosen); the parent it was adopted from stays.
pub async fn publish(
    state: &AppState,
    principal: &Principal,
    code: &str,
) -> Result<Option<i32>, AppError> {
    let code = admin_code(principal, code)?;
    let tenant = principal.tenant.clone();
    let (by, tenant_id) = (principal.account, tenant.tenant.id);
    let version = tenant
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let c = code.as_str();
                let before = versions::latest(conn, c)?;
                let Some(draft) = drafts::lock(conn, c)? else {
                    if !store::set_active(conn, c, true)? {
                        return Err(AppError::NotFound { what: "procedure" });
                    }
                    audit(conn, by, tenant_id, c, before)?;
                    return Ok(before);
                };
                let d = &draft.design;
                let mut problems = d.publishable();
                problems
                    .extend(d.process_problems(&crate::services::processes::units::codes(conn)?));
                if !store::field_exists(conn, &d.field)? {
                    problems.push(FieldProblem {
                        input: "field",
                        vi: "Lĩnh vực không còn trong danh mục".into(),
                        en: "The field is no longer in the catalog".into(),
                    });
                }
                if !problems.is_empty() {
                    return Err(invalid(problems));
                }
                let existing = store::find_any(conn, c)?;
                // In an adopted procedure, documents the template does not ask for are this
                // tenant's own: they stay when the template is taken again.
                let mut documents = d.documents.clone();
                if let Some(p) = existing.as_ref().filter(|p| p.inherited_from.is_some()) {
                    for doc in &mut documents {
                        doc.local = doc.local
                            || !p.documents.iter().any(|t| !t.local && t.name == doc.name);
                    }
                }
                store::upsert(
                    conn,
                    &[],
                    &[ProcedureUpsert {
                        code: c,
                        name_vi: &d.name_vi,
                        name_en: d.name_en.as_deref(),
                        field_code: &d.field,
                        online_level: d.online_level,
                        processing_days: i32::from(d.processing_days),
                        fee_vnd: i64::from(d.fee_vnd),
                        documents: serde_json::to_value(&documents).map_err(AppError::internal)?,
                        active: d.offered,
                        form_schema: d.form_schema(),
                        decide_role: d.decide_role,
                        inherited_from: existing.as_ref().and_then(|p| p.inherited_from.as_deref()),
                        fee_rule: &d.fee_rule,
                        pay_before_processing: d.pay_before_processing,
                        process: if d.process_chosen {
                            d.process.as_ref()
                        } else {
                            existing.as_ref().and_then(|p| p.process.as_ref())
                        },
                        details: &d.details,
                        template: d.template,
                        adopted_version: existing.as_ref().and_then(|p| p.adopted_version),
                        edited_in: "designer",
                    }],
                )?;
                drafts::delete(conn, c)?;
                let after = versions::latest(conn, c)?;
                audit(conn, by, tenant_id, c, after)?;
                Ok(after)
            })
        })
        .await?;
    changed(state, &tenant).await;
    Ok(version)
}

fn audit(
    conn: &mut PgConnection,
    by: uuid::Uuid,
    tenant: uuid::Uuid,
    code: &str,
    version: Option<i32>,
) -> Result<(), AppError> {
    crate::auth::accounts::audit(
        conn,
        Some(by),
        Some(tenant),
        None,
        "procedure.published",
        serde_json::json!({ "procedure": code, "version": version }),
    )?;
    Ok(())
}

/// Throws the draft away; what is published stays. `false` when there was none.
pub async fn discard(principal: &Principal, code: &str) -> Result<bool, AppError> {
    let code = admin_code(principal, code)?;
    principal
        .tenant
        .db
        .run(move |conn| Ok(drafts::delete(conn, code.as_str())?))
        .await
}

/// The procedure as its tenant-file block: the draft when there is one (what publishing would
/// write), else what is published, `active` as it would be.
pub async fn export(principal: &Principal, code: &str) -> Result<String, AppError> {
    let code = admin_code(principal, code)?;
    principal
        .tenant
        .db
        .run(move |conn| {
            let c = code.as_str();
            let published = store::find_any(conn, c)?;
            let active = store::is_active(conn, c)?;
            let (procedure, active) = match drafts::find(conn, c)? {
                Some(d) => {
                    let field = store::field_names(conn)?
                        .into_iter()
                        .find(|(f, _)| *f == d.design.field)
                        .map(|(code, name)| crate::services::catalog::FieldRef {
                            code,
                            name,
                            name_en: None,
                        })
                        .ok_or(AppError::NotFound { what: "field" })?;
                    let mut p = d.design.as_procedure(c, field);
                    if !d.design.process_chosen {
                        p.process = published.and_then(|x| x.process);
                    }
                    (p, d.design.offered)
                }
                None => (
                    published.ok_or(AppError::NotFound { what: "procedure" })?,
                    active,
                ),
            };
            Ok(crate::hosting::procedure_block::to_toml(&procedure, active))
        })
        .await
}
