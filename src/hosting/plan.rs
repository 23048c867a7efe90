//! `dvc tenant apply --dry-run`: what applying the files would create or change, read from the
//! database and written nowhere. The comparison itself is pure ([`diff_procedure`] and
//! friends); the reads go through one read-only transaction per tenant, scoped to its schema.

use super::apply::ApplyError;
use super::files::{ProcedureSpec, TenantFile};
use crate::db::PgPool;
use crate::db::schema::{tenant_domains, tenants};
use crate::db::tenant_db::enter_tenant_schema;
use crate::services::catalog::{Procedure, store};
use crate::services::dossiers::DecideRole;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// What applying one file would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub slug: String,
    pub create: bool,
    /// One line per change, e.g. `~ procedure 1.000105: fee_vnd 600000 → 450000`.
    pub changes: Vec<String>,
}

impl Planned {
    pub fn unchanged(&self) -> bool {
        !self.create && self.changes.is_empty()
    }
}

fn change(
    out: &mut Vec<String>,
    what: &str,
    old: impl std::fmt::Display,
    new: impl std::fmt::Display,
) {
    let (old, new) = (old.to_string(), new.to_string());
    if old != new {
        out.push(format!("~ {what}: {old} → {new}"));
    }
}

/// Whether two schemas mean the same form, fields in the same order.
fn same_form(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let text = |v: &serde_json::Value| crate::services::forms::canonical(v).to_string();
    text(a) == text(b)
}

/// The differences between a procedure as stored and as its file declares it (pure).
pub fn diff_procedure(current: &Procedure, spec: &ProcedureSpec) -> Vec<String> {
    let mut out = Vec::new();
    let what = |field: &str| format!("procedure {} {field}", spec.code);
    change(
        &mut out,
        &what("name.vi"),
        &current.name,
        spec.name.vi.as_str(),
    );
    change(
        &mut out,
        &what("name.en"),
        current.name_en.as_deref().unwrap_or(""),
        spec.name.en.as_ref().map_or("", |t| t.as_str()),
    );
    change(
        &mut out,
        &what("field"),
        &current.field.code,
        spec.field.as_str(),
    );
    change(
        &mut out,
        &what("online_level"),
        current.online_level.as_str(),
        spec.online_level.0.as_str(),
    );
    change(
        &mut out,
        &what("processing_days"),
        current.processing_days,
        spec.processing_days,
    );
    change(&mut out, &what("fee_vnd"), current.fee_vnd, spec.fee_vnd);
    change(
        &mut out,
        &what("decide_role"),
        current.decide_role.as_str(),
        spec.decide_role
            .map_or(DecideRole::Leader, |d| d.0)
            .as_str(),
    );
    change(
        &mut out,
        &what("pay_before_processing"),
        current.pay_before_processing,
        spec.pay_before_processing,
    );
    let docs = serde_json::to_value(&spec.documents)
        .ok()
        .and_then(|v| {
            serde_json::from_value::<Vec<crate::services::catalog::RequiredDocument>>(v).ok()
        })
        .unwrap_or_default();
    if docs != current.documents {
        out.push(format!(
            "~ {}: {} → {} document(s), changed",
            what("documents"),
            current.documents.len(),
            docs.len()
        ));
    }
    let schema = spec.form_schema_json().unwrap_or_default();
    if !same_form(&schema, &current.form_schema) {
        out.push(format!("~ {}: changed", what("form_schema")));
    }
    if spec.fee_rule != current.fee_rule {
        out.push(format!("~ {}: changed", what("fee_rule")));
    }
    change(&mut out, &what("template"), current.template, spec.template);
    if spec.details() != current.details {
        out.push(format!(
            "~ {}: changed",
            what("legal_basis / conditions / form_templates")
        ));
    }
    out
}

/// Why applying a file over a procedure changed elsewhere deserves a warning (pure):
/// `edited_in` is where its stored definition came from, `draft` whether the designer holds
/// unpublished changes.
pub fn overwrite_warnings(code: &str, edited_in: &str, changes: bool, draft: bool) -> Vec<String> {
    let mut out = Vec::new();
    let place = match edited_in {
        "designer" => Some("the designer"),
        "api" => Some("the API"),
        "import" => Some("a catalog import"),
        _ => None,
    };
    if let (Some(place), true) = (place, changes) {
        out.push(format!(
            "! procedure {code} was last changed in {place}: applying the file replaces those \
             changes (export it from the designer first to keep them)"
        ));
    }
    if draft {
        out.push(format!(
            "! procedure {code} has an unpublished draft in the designer: it stays a draft, \
             and publishing it later replaces what this file sets"
        ));
    }
    out
}

/// The differences between an adopted procedure and what adopting it again would write (pure).
pub fn diff_adopted(have: &Procedure, want: &Procedure) -> Vec<String> {
    let mut out = Vec::new();
    let what = |field: &str| format!("adopted procedure {} {field}", want.code);
    change(&mut out, &what("name.vi"), &have.name, &want.name);
    change(&mut out, &what("field"), &have.field.code, &want.field.code);
    change(
        &mut out,
        &what("online_level"),
        have.online_level.as_str(),
        want.online_level.as_str(),
    );
    change(
        &mut out,
        &what("processing_days"),
        have.processing_days,
        want.processing_days,
    );
    change(&mut out, &what("fee_vnd"), have.fee_vnd, want.fee_vnd);
    change(
        &mut out,
        &what("decide_role"),
        have.decide_role.as_str(),
        want.decide_role.as_str(),
    );
    let per_item = |p: &Procedure| p.fee_rule.per_item.as_ref().map(|i| i.amount_vnd);
    if let (Some(h), Some(w)) = (per_item(have), per_item(want)) {
        change(&mut out, &what("fee_per_item_vnd"), h, w);
    }
    // The rule's shape is the parent's; its amount per item may be this tenant's own.
    let shape = |p: &Procedure| {
        let mut rule = p.fee_rule.clone();
        if let Some(i) = rule.per_item.as_mut() {
            i.amount_vnd = 0;
        }
        rule
    };
    if have.documents != want.documents
        || !same_form(&have.form_schema, &want.form_schema)
        || shape(have) != shape(want)
        || have.pay_before_processing != want.pay_before_processing
    {
        out.push(format!("~ {}: changed at the parent", what("definition")));
    }
    out
}

/// Plans every (already validated) file against the database.
pub fn plan_files(pool: &PgPool, files: &[TenantFile]) -> Result<Vec<Planned>, ApplyError> {
    let mut conn = pool.get()?;
    let mut planned = Vec::with_capacity(files.len());
    for file in files {
        planned.push(plan_one(&mut conn, file)?);
    }
    Ok(planned)
}

type TenantRow = (
    uuid::Uuid,
    String,
    String,
    Option<uuid::Uuid>,
    String,
    Option<String>,
    String,
    serde_json::Value,
    serde_json::Value,
    serde_json::Value,
    serde_json::Value,
    Option<String>,
);

fn plan_one(conn: &mut PgConnection, file: &TenantFile) -> Result<Planned, ApplyError> {
    let spec = &file.spec;
    let slug = spec.slug.get_ref();
    let row: Option<TenantRow> = tenants::table
        .filter(tenants::slug.eq(slug.as_str()))
        .select((
            tenants::id,
            tenants::code,
            tenants::kind,
            tenants::parent_id,
            tenants::name_vi,
            tenants::name_en,
            tenants::locale,
            tenants::branding,
            tenants::contact,
            tenants::mail_templates,
            tenants::plan,
            tenants::agency_id,
        ))
        .first(conn)
        .optional()?;
    let Some((
        id,
        code,
        kind,
        parent_id,
        name_vi,
        name_en,
        locale,
        branding,
        contact,
        mail_templates,
        plan,
        agency_id,
    )) = row
    else {
        return Ok(Planned {
            slug: slug.as_str().to_owned(),
            create: true,
            changes: vec![format!(
                "+ tenant {slug} ({}), {} field(s), {} procedure(s), {} adopted, {} domain(s)",
                spec.kind.as_str(),
                spec.fields.len(),
                spec.procedures.len(),
                spec.inherit.len(),
                spec.domains.len()
            )],
        });
    };
    let mut out = Vec::new();
    change(&mut out, "code", &code, spec.code.get_ref().as_str());
    change(&mut out, "kind", &kind, spec.kind.as_str());
    change(
        &mut out,
        "agency_id",
        agency_id.as_deref().unwrap_or("—"),
        spec.agency_id
            .as_ref()
            .map_or("—", |a| a.get_ref().as_str()),
    );
    let parent_slug: Option<String> = match parent_id {
        Some(p) => tenants::table
            .find(p)
            .select(tenants::slug)
            .first(conn)
            .optional()?,
        None => None,
    };
    change(
        &mut out,
        "parent",
        parent_slug.as_deref().unwrap_or("—"),
        spec.parent.as_ref().map_or("—", |p| p.get_ref().as_str()),
    );
    change(&mut out, "name.vi", &name_vi, spec.name.vi.as_str());
    change(
        &mut out,
        "name.en",
        name_en.as_deref().unwrap_or(""),
        spec.name.en.as_ref().map_or("", |t| t.as_str()),
    );
    change(&mut out, "locale", &locale, spec.locale.as_str());
    if serde_json::to_value(&spec.branding).unwrap_or_default() != branding {
        out.push("~ branding: changed".into());
    }
    if serde_json::to_value(&spec.contact).unwrap_or_default() != contact {
        out.push("~ contact: changed".into());
    }
    let templates = match &spec.mail {
        Some(m) => serde_json::to_value(&m.get_ref().templates).unwrap_or_default(),
        None => serde_json::json!({}),
    };
    if templates != mail_templates {
        out.push("~ mail templates: changed".into());
    }
    if serde_json::to_value(spec.plan).unwrap_or_default() != plan {
        out.push("~ plan: changed".into());
    }
    let domains: BTreeSet<String> = tenant_domains::table
        .filter(tenant_domains::tenant_id.eq(id))
        .select(tenant_domains::domain)
        .load(conn)?
        .into_iter()
        .collect();
    let wanted: BTreeSet<String> = spec
        .domains
        .iter()
        .map(|d| d.get_ref().as_str().to_owned())
        .collect();
    for d in wanted.difference(&domains) {
        out.push(format!("+ domain {d}"));
    }
    for d in domains.difference(&wanted) {
        out.push(format!("- domain {d}"));
    }
    // The catalog, read in the tenant's own schema, in a transaction that writes nothing.
    let schema = slug.schema_name();
    let (fields, procedures) = conn.transaction::<_, diesel::result::Error, _>(|conn| {
        enter_tenant_schema(conn, &schema)?;
        let fields: BTreeMap<String, (String, Option<String>)> =
            crate::db::schema::tenant::fields::table
                .select((
                    crate::db::schema::tenant::fields::code,
                    crate::db::schema::tenant::fields::name_vi,
                    crate::db::schema::tenant::fields::name_en,
                ))
                .load::<(String, String, Option<String>)>(conn)?
                .into_iter()
                .map(|(c, vi, en)| (c, (vi, en)))
                .collect();
        let mut procedures = BTreeMap::new();
        for p in &spec.procedures {
            use crate::db::schema::tenant::procedures as pt;
            let code = p.get_ref().code.as_str();
            let state: Option<(bool, Option<String>, String)> = pt::table
                .filter(pt::code.eq(code))
                .select((pt::active, pt::inherited_from, pt::edited_in))
                .first(conn)
                .optional()?;
            let draft = crate::services::catalog::drafts::find(conn, code)?.is_some();
            procedures.insert(
                code.to_owned(),
                (store::find_any(conn, code)?, state, draft),
            );
        }
        Ok((fields, procedures))
    })?;
    for f in &spec.fields {
        let f = f.get_ref();
        match fields.get(f.code.as_str()) {
            None => out.push(format!("+ field {}", f.code)),
            Some((vi, en)) => {
                change(
                    &mut out,
                    &format!("field {} name.vi", f.code),
                    vi,
                    f.name.vi.as_str(),
                );
                change(
                    &mut out,
                    &format!("field {} name.en", f.code),
                    en.as_deref().unwrap_or(""),
                    f.name.en.as_ref().map_or("", |t| t.as_str()),
                );
            }
        }
    }
    for p in &spec.procedures {
        let p = p.get_ref();
        match procedures.get(p.code.as_str()) {
            Some((Some(current), Some((active, inherited, edited_in)), draft)) => {
                let diff = diff_procedure(current, p);
                out.extend(overwrite_warnings(
                    p.code.as_str(),
                    edited_in,
                    !diff.is_empty(),
                    *draft,
                ));
                out.extend(diff);
                // A procedure withdrawn through the API is turned back on by its file.
                change(
                    &mut out,
                    &format!("procedure {} active", p.code),
                    active,
                    p.active,
                );
                if let Some(from) = inherited {
                    out.push(format!(
                        "~ procedure {} inherited_from: {from} → — (the file now defines it)",
                        p.code
                    ));
                }
            }
            _ => out.push(format!("+ procedure {} {}", p.code, p.name.vi.as_str())),
        }
    }
    if let (Some(parent), false) = (&spec.parent, spec.inherit.is_empty()) {
        let parent_schema = parent.get_ref().schema_name();
        for i in &spec.inherit {
            let i = i.get_ref();
            let code = i.code.as_str();
            let source = conn.transaction::<_, diesel::result::Error, _>(|conn| {
                enter_tenant_schema(conn, &parent_schema)?;
                store::find_adoptable(conn, code)
            })?;
            let mine = conn.transaction::<_, diesel::result::Error, _>(|conn| {
                enter_tenant_schema(conn, &schema)?;
                store::find_any(conn, code)
            })?;
            match (source, mine) {
                (None, _) => out.push(format!(
                    "! adopt procedure {code}: `{}` neither offers it nor has it as a template \
                     (apply will fail)",
                    parent.get_ref()
                )),
                (Some(_), None) => out.push(format!(
                    "+ adopt procedure {code} from {}",
                    parent.get_ref()
                )),
                (Some(mut want), Some(have)) => {
                    // Adopting writes the parent's documents, then this tenant's own.
                    let mut documents: Vec<_> = want
                        .documents
                        .iter()
                        .filter(|d| !d.local)
                        .cloned()
                        .collect();
                    documents.extend(i.documents.iter().map(|d| {
                        let mut d = d.to_required();
                        d.local = true;
                        d
                    }));
                    want.documents = documents;
                    if let Some(d) = i.processing_days {
                        want.processing_days = i32::from(d);
                    }
                    if let Some(f) = i.fee_vnd {
                        want.fee_vnd = i64::from(f);
                    }
                    if let (Some(per_item), Some(amount)) =
                        (want.fee_rule.per_item.as_mut(), i.fee_per_item_vnd)
                    {
                        per_item.amount_vnd = i64::from(amount);
                    }
                    out.extend(diff_adopted(&have, &want));
                }
            }
        }
    }
    Ok(Planned {
        slug: slug.as_str().to_owned(),
        create: false,
        changes: out,
    })
}
