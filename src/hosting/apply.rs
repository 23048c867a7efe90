//! `dvc tenant apply`: create or update tenants from their files. Never destroys anything.
//!
//! Every file is parsed and checked (against each other and against the database) before the
//! first write, so a bad file creates or changes nothing. Each tenant is then applied in its
//! own transaction: registry row, schema (when new), domains and catalog together.

use super::files::{Existing, FileError, TenantFile};
use crate::db::PgPool;
use crate::db::schema::{tenant_domains, tenants};
use crate::db::tenant_db::enter_tenant_schema;
use crate::services::catalog::Procedure;
use crate::services::catalog::store::{self, FieldUpsert, ProcedureUpsert};
use crate::services::dossiers::workflow::DecideRole;
use crate::tenancy::names::{HostName, TenantSlug};
use crate::tenancy::notify::TenancyEvent;
use crate::tenancy::provision::provision_tenant;
use diesel::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyAction {
    Created,
    Updated,
}

#[derive(Debug)]
pub struct AppliedTenant {
    pub slug: TenantSlug,
    pub id: Uuid,
    pub action: ApplyAction,
    pub procedures: usize,
    /// Time spent in this tenant's transaction (registry, schema, domains, catalog, commit).
    pub elapsed: std::time::Duration,
    /// Created as a draft: its first admin, to be invited once the portal client exists.
    pub invite: Option<crate::mail::Email>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{} problem(s) in tenant files; nothing was written", .0.len())]
    Invalid(Vec<FileError>),
    #[error("applying tenant `{slug}` failed: {source}")]
    Database {
        slug: TenantSlug,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl ApplyError {
    /// Every located problem, one per line.
    pub fn problems(&self) -> Vec<String> {
        match self {
            Self::Invalid(errs) => errs.iter().map(ToString::to_string).collect(),
            other => vec![other.to_string()],
        }
    }
}

/// What a successful apply changed, and the events other instances must hear about.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub tenants: Vec<AppliedTenant>,
}

impl ApplyReport {
    pub fn events(&self) -> Vec<TenancyEvent> {
        self.tenants
            .iter()
            .flat_map(|t| {
                [
                    TenancyEvent::TenantChanged(t.id),
                    TenancyEvent::CatalogChanged(t.id),
                ]
            })
            .collect()
    }
}

/// Reads, checks and applies a file or a folder of files.
pub fn apply_path(pool: &PgPool, path: &Path) -> Result<ApplyReport, ApplyError> {
    apply_path_showing(pool, path, &crate::progress::Silent)
}

/// [`apply_path`], reporting each tenant done to `progress`.
pub fn apply_path_showing(
    pool: &PgPool,
    path: &Path,
    progress: &dyn crate::progress::Progress,
) -> Result<ApplyReport, ApplyError> {
    let files = super::files::read_path(path).map_err(ApplyError::Invalid)?;
    apply_files_showing(pool, files, progress)
}

/// Reads and checks a file or folder, then reports what applying it would change; writes
/// nothing.
pub fn plan_path(pool: &PgPool, path: &Path) -> Result<Vec<super::plan::Planned>, ApplyError> {
    let files = super::files::read_path(path).map_err(ApplyError::Invalid)?;
    let existing = load_existing(&mut *pool.get()?)?;
    let files = super::files::validate(files, &existing).map_err(ApplyError::Invalid)?;
    check_transfers(&mut *pool.get()?, &files, &existing)?;
    super::plan::plan_files(pool, &files)
}

pub fn apply_files(pool: &PgPool, files: Vec<TenantFile>) -> Result<ApplyReport, ApplyError> {
    apply_files_showing(pool, files, &crate::progress::Silent)
}

/// [`apply_files`], reporting each tenant done to `progress`.
pub fn apply_files_showing(
    pool: &PgPool,
    files: Vec<TenantFile>,
    progress: &dyn crate::progress::Progress,
) -> Result<ApplyReport, ApplyError> {
    let mut pooled = pool.get()?;
    let conn: &mut PgConnection = &mut pooled;
    let existing = load_existing(conn)?;
    let files = super::files::validate(files, &existing).map_err(ApplyError::Invalid)?;
    check_transfers(conn, &files, &existing)?;
    let mut ids: HashMap<TenantSlug, Uuid> = tenants::table
        .select((tenants::slug, tenants::id))
        .load::<(String, Uuid)>(conn)?
        .into_iter()
        .filter_map(|(s, id)| TenantSlug::parse(&s).ok().map(|s| (s, id)))
        .collect();
    let mut report = ApplyReport::default();
    progress.start("tenants", files.len() as u64);
    for file in &files {
        let slug = file.spec.slug.get_ref().clone();
        let started = std::time::Instant::now();
        let inherited =
            inherited_procedures(conn, file).map_err(|source| ApplyError::Database {
                slug: slug.clone(),
                source,
            })?;
        let mut applied = conn
            .transaction(|conn| apply_one(conn, file, &ids, &inherited))
            .map_err(|source| ApplyError::Database {
                slug: slug.clone(),
                source,
            })?;
        applied.elapsed = started.elapsed();
        ids.insert(slug, applied.id);
        report.tenants.push(applied);
        progress.advance(1);
    }
    Ok(report)
}

fn load_existing(conn: &mut PgConnection) -> QueryResult<Existing> {
    let rows: Vec<(String, String, Option<String>)> = tenants::table
        .select((tenants::slug, tenants::code, tenants::agency_id))
        .load(conn)?;
    let domain_rows: Vec<(String, String)> = tenant_domains::table
        .inner_join(tenants::table)
        .select((tenant_domains::domain, tenants::slug))
        .load(conn)?;
    let mut existing = Existing::default();
    for (slug, code, agency_id) in rows {
        if let Ok(slug) = TenantSlug::parse(&slug) {
            existing.slugs.insert(slug.clone());
            if let Some(a) = agency_id {
                existing.agency_ids.insert(a, slug.clone());
            }
            existing.codes.insert(code, slug);
        }
    }
    for (domain, slug) in domain_rows {
        if let (Ok(d), Ok(s)) = (HostName::parse(&domain), TenantSlug::parse(&slug)) {
            existing.domains.insert(d, s);
        }
    }
    Ok(existing)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every `transfer_to` of a declared process names another tenant that offers the procedure:
/// one in the same batch (its file), or one already registered (its catalog, read in its own
/// scoped transaction). Said at the process's line, before anything is written.
fn check_transfers(
    conn: &mut PgConnection,
    files: &[TenantFile],
    existing: &Existing,
) -> Result<(), ApplyError> {
    let in_batch: HashMap<&TenantSlug, &TenantFile> =
        files.iter().map(|f| (f.spec.slug.get_ref(), f)).collect();
    let mut errors = Vec::new();
    for f in files {
        let own = f.spec.slug.get_ref();
        let declared = f.spec.procedures.iter().filter_map(|p| {
            let proc = p.get_ref();
            let process = proc.process.as_ref()?;
            Some((&proc.code, process.get_ref(), process.span()))
        });
        let adapted = f
            .spec
            .inherit
            .iter()
            .filter_map(|i| Some((&i.get_ref().code, i.get_ref().process.as_ref()?, i.span())));
        for (proc_code, process, span) in declared.chain(adapted) {
            for target in process.steps.iter().filter_map(|s| s.transfer_to.as_ref()) {
                let code = proc_code.as_str();
                let problem = if target == own {
                    Some("a tenant does not transfer to itself".to_owned())
                } else if let Some(file) = in_batch.get(target) {
                    let offers = file
                        .spec
                        .procedures
                        .iter()
                        .any(|q| q.get_ref().code == *proc_code)
                        || file
                            .spec
                            .inherit
                            .iter()
                            .any(|i| i.get_ref().code == *proc_code);
                    (!offers).then(|| format!("`{target}` does not offer procedure `{code}`"))
                } else if existing.slugs.contains(target) {
                    let offered = conn.transaction(|c| {
                        enter_tenant_schema(c, &target.schema_name())?;
                        store::find_active(c, code)
                    })?;
                    offered
                        .is_none()
                        .then(|| format!("`{target}` does not offer procedure `{code}`"))
                } else {
                    Some(format!("`{target}` is not a tenant"))
                };
                if let Some(problem) = problem {
                    errors.push(f.error_at(
                        span.clone(),
                        format!("procedure `{code}`: process: transfer_to: {problem}"),
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApplyError::Invalid(errors))
    }
}

fn replace_domains(
    conn: &mut PgConnection,
    id: Uuid,
    spec: &super::files::TenantSpec,
    action: ApplyAction,
) -> QueryResult<()> {
    if action == ApplyAction::Updated {
        // Domains the tenant proved through DNS are not the file's to remove.
        diesel::delete(
            tenant_domains::table
                .filter(tenant_domains::tenant_id.eq(id))
                .filter(tenant_domains::verified_at.is_null()),
        )
        .execute(conn)?;
    }
    if spec.domains.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = spec
        .domains
        .iter()
        .map(|d| {
            (
                tenant_domains::domain.eq(d.get_ref().as_str()),
                tenant_domains::tenant_id.eq(id),
            )
        })
        .collect();
    diesel::insert_into(tenant_domains::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .map(drop)
}

/// The parent's procedures named in `[[inherit]]`, read in the parent's own scoped
/// transaction (parents are applied first, so a parent in the same batch is there already).
fn inherited_procedures(
    conn: &mut PgConnection,
    file: &TenantFile,
) -> Result<Vec<(Procedure, Option<i32>)>, BoxError> {
    let (Some(parent), false) = (&file.spec.parent, file.spec.inherit.is_empty()) else {
        return Ok(Vec::new());
    };
    let schema = parent.get_ref().schema_name();
    let found = conn.transaction(|conn| {
        enter_tenant_schema(conn, &schema)?;
        file.spec
            .inherit
            .iter()
            .map(|i| {
                let code = &i.get_ref().code;
                let found = store::find_adoptable(conn, code.as_str())?.ok_or_else(|| {
                    format!(
                        "[[inherit]] `{code}`: neither offered nor a template of `{}`",
                        parent.get_ref()
                    )
                })?;
                let version = crate::services::catalog::versions::latest(conn, code.as_str())?;
                Ok::<_, BoxError>((found, version))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    // An adopted process is handed between units: the adopter must have every one of them.
    let units: std::collections::HashSet<_> = file
        .spec
        .units
        .iter()
        .map(|u| u.get_ref().code.clone())
        .collect();
    for ((p, _), adapt) in found.iter().zip(&file.spec.inherit) {
        let adapt = adapt.get_ref();
        if adapt.fee_per_item_vnd.is_some() && p.fee_rule.per_item.is_none() {
            return Err(format!(
                "[[inherit]] `{}`: fee_per_item_vnd, but the parent's fee counts no items",
                p.code
            )
            .into());
        }
        if let Some(own) = &adapt.process {
            // Checked with the file but for the budgets, which need the parent's time limit.
            let days = adapt
                .processing_days
                .map_or(u32::try_from(p.processing_days).unwrap_or(0), u32::from);
            if let Some(e) = own.to_process().check(days, &units).first() {
                return Err(format!("[[inherit]] `{}`: process: {e}", p.code).into());
            }
            continue;
        }
        if let Some(missing) = p
            .process
            .iter()
            .flat_map(|process| &process.steps)
            .find(|s| !units.contains(&s.unit))
        {
            return Err(format!(
                "[[inherit]] `{}`: its process needs unit `{}`, which this tenant does not declare",
                p.code, missing.unit
            )
            .into());
        }
    }
    Ok(found)
}

fn apply_one(
    conn: &mut PgConnection,
    file: &TenantFile,
    ids: &HashMap<TenantSlug, Uuid>,
    inherited: &[(Procedure, Option<i32>)],
) -> Result<AppliedTenant, BoxError> {
    let spec = &file.spec;
    let slug = spec.slug.get_ref();
    let schema = slug.schema_name();
    let parent_id = match &spec.parent {
        Some(p) => Some(
            *ids.get(p.get_ref())
                .ok_or_else(|| format!("parent `{}` is not registered", p.get_ref()))?,
        ),
        None => None,
    };
    let branding = serde_json::to_value(&spec.branding)?;
    let mail_templates = match &spec.mail {
        Some(m) => serde_json::to_value(&m.get_ref().templates)?,
        None => serde_json::json!({}),
    };
    let contact = serde_json::to_value(&spec.contact)?;
    let plan = serde_json::to_value(spec.plan)?;
    let name_en = spec.name.en.as_ref().map(super::files::Text::as_str);
    let changes = (
        tenants::code.eq(spec.code.get_ref().as_str()),
        tenants::kind.eq(spec.kind.as_str()),
        tenants::parent_id.eq(parent_id),
        tenants::name_vi.eq(spec.name.vi.as_str()),
        tenants::name_en.eq(name_en),
        tenants::locale.eq(spec.locale.as_str()),
        tenants::branding.eq(&branding),
        tenants::contact.eq(&contact),
        tenants::mail_templates.eq(&mail_templates),
        tenants::plan.eq(&plan),
        tenants::agency_id.eq(spec.agency_id.as_ref().map(|a| a.get_ref().as_str())),
    );
    let (id, action) = match ids.get(slug) {
        Some(&id) => {
            diesel::update(tenants::table.find(id))
                .set((changes, tenants::updated_at.eq(diesel::dsl::now)))
                .execute(conn)?;
            (id, ApplyAction::Updated)
        }
        None => {
            let id = Uuid::new_v4();
            let draft = spec.onboarding.is_some();
            diesel::insert_into(tenants::table)
                .values((
                    tenants::id.eq(id),
                    tenants::slug.eq(slug.as_str()),
                    tenants::schema_name.eq(schema.as_str()),
                    changes,
                    tenants::status.eq(if draft {
                        crate::tenancy::TenantStatus::Draft
                    } else {
                        crate::tenancy::TenantStatus::Active
                    }),
                    tenants::live_at.eq((!draft).then(chrono::Utc::now)),
                ))
                .execute(conn)?;
            provision_tenant(conn, id, &schema)?;
            (id, ApplyAction::Created)
        }
    };
    replace_domains(conn, id, spec, action)?;
    if action == ApplyAction::Updated {
        // A new schema was entered by its provisioning already.
        enter_tenant_schema(conn, &schema)?;
    }
    let field_rows: Vec<FieldUpsert<'_>> = spec
        .fields
        .iter()
        .map(|f| {
            let f = f.get_ref();
            FieldUpsert {
                code: f.code.as_str(),
                name_vi: f.name.vi.as_str(),
                name_en: f.name.en.as_ref().map(super::files::Text::as_str),
            }
        })
        .collect();
    // Checked with the file: every step names a unit declared beside it.
    let processes: Vec<Option<crate::services::processes::Process>> = spec
        .procedures
        .iter()
        .map(|p| {
            p.get_ref()
                .process
                .as_ref()
                .map(|x| x.get_ref().to_process())
        })
        .collect();
    let unit_rows: Vec<(&str, &str, Option<&str>)> = spec
        .units
        .iter()
        .map(|u| {
            let u = u.get_ref();
            (
                u.code.as_str(),
                u.name.vi.as_str(),
                u.name.en.as_ref().map(super::files::Text::as_str),
            )
        })
        .collect();
    store::upsert_units(conn, &unit_rows)?;
    let details: Vec<_> = spec
        .procedures
        .iter()
        .map(|p| p.get_ref().details())
        .collect();
    let procedure_rows = spec
        .procedures
        .iter()
        .zip(&processes)
        .enumerate()
        .map(|(i, (p, process))| {
            let p = p.get_ref();
            Ok(ProcedureUpsert {
                code: p.code.as_str(),
                name_vi: p.name.vi.as_str(),
                name_en: p.name.en.as_ref().map(super::files::Text::as_str),
                field_code: p.field.as_str(),
                online_level: p.online_level.0,
                processing_days: i32::from(p.processing_days),
                fee_vnd: i64::from(p.fee_vnd),
                documents: serde_json::to_value(&p.documents)?,
                active: p.active,
                // Validated with the file; an error here cannot happen after validation.
                form_schema: p
                    .form_schema_json()
                    .map_err(|e| serde_json::Error::io(std::io::Error::other(e)))?,
                decide_role: p.decide_role.map_or(DecideRole::Leader, |d| d.0),
                inherited_from: None,
                fee_rule: &p.fee_rule,
                pay_before_processing: p.pay_before_processing,
                process: process.as_ref(),
                details: &details[i],
                template: p.template,
                adopted_version: None,
                edited_in: "file",
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    store::upsert(conn, &field_rows, &procedure_rows)?;
    // Adopted procedures keep the parent's definition, with this tenant's fee and time limit.
    let parent_slug = spec.parent.as_ref().map(|p| p.get_ref().as_str());
    for ((proc, version), adapt) in inherited.iter().zip(&spec.inherit) {
        let adapt = adapt.get_ref();
        let own = adapt
            .process
            .as_ref()
            .map(super::files::ProcessSpec::to_process);
        let local = adapt
            .documents
            .iter()
            .map(super::files::DocumentSpec::to_required)
            .collect::<Vec<_>>();
        store::adopt(
            conn,
            proc,
            &store::Adaptation {
                fee_vnd: adapt.fee_vnd.map(i64::from),
                fee_per_item_vnd: adapt.fee_per_item_vnd.map(i64::from),
                processing_days: adapt.processing_days.map(i32::from),
                process: own.as_ref(),
                local_documents: &local,
                parent_version: *version,
            },
            parent_slug.unwrap_or_default(),
        )?;
    }
    Ok(AppliedTenant {
        slug: slug.clone(),
        id,
        action,
        procedures: procedure_rows.len() + inherited.len(),
        elapsed: std::time::Duration::ZERO,
        invite: match (action, &spec.onboarding) {
            (ApplyAction::Created, Some(o)) => Some(o.admin_email.clone()),
            _ => None,
        },
    })
}
