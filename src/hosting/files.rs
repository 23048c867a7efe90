//! Tenant files (`tenants/*.toml`): parsing and validation with file- and line-located errors.
//! The format is documented in `docs/tenants.md`.
//!
//! (Long because the file format is one grammar: each section's type, its line-located
//! checks and its errors sit side by side so a format change is made in one place.)

use crate::services::catalog::{FieldCode, OnlineLevel, ProcedureCode};
use crate::services::dossiers::workflow::DecideRole;
use crate::services::forms::FormSchema;
use crate::services::processes::{Budget, Process, Step, StepAction, StepRole, UnitCode};
use crate::tenancy::TenantKind;
use crate::tenancy::names::{AgencyId, HostName, TenantCode, TenantSlug};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// One tenant as declared in a file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    pub slug: Spanned<TenantSlug>,
    pub code: Spanned<TenantCode>,
    /// The national electronic identifier (`000.00.24.H29`): dossier codes start with it.
    #[serde(default)]
    pub agency_id: Option<Spanned<AgencyId>>,
    pub kind: TenantKind,
    #[serde(default)]
    pub parent: Option<Spanned<TenantSlug>>,
    pub name: Names,
    #[serde(default)]
    pub locale: Locale,
    #[serde(default)]
    pub domains: Vec<Spanned<HostName>>,
    #[serde(default)]
    pub branding: Branding,
    #[serde(default)]
    pub contact: Contact,
    /// The tenant's units (the one-stop desk, divisions, the leadership, the clerk's office):
    /// what a procedure's process steps name.
    #[serde(default)]
    pub units: Vec<Spanned<UnitSpec>>,
    #[serde(default)]
    pub fields: Vec<Spanned<FieldSpec>>,
    #[serde(default)]
    pub procedures: Vec<Spanned<ProcedureSpec>>,
    /// Procedures adopted from the parent tenant's catalog, with this tenant's fee and time.
    #[serde(default)]
    pub inherit: Vec<Spanned<InheritSpec>>,
    /// Mail settings of the tenant: template overrides per message and language.
    #[serde(default)]
    pub mail: Option<Spanned<MailSpec>>,
    /// Limits the hosting sets for this tenant.
    #[serde(default)]
    pub plan: crate::tenancy::Plan,
    /// `[onboarding] admin_email = "…"`: a new tenant starts as a draft and its first admin
    /// is invited by mail (ignored once the tenant exists).
    #[serde(default)]
    pub onboarding: Option<OnboardingSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardingSpec {
    pub admin_email: crate::mail::Email,
}

/// `[mail.templates.<template>.<vi|en>]` tables with `subject`, `body` and/or `action`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSpec {
    #[serde(default)]
    pub templates: crate::mail::templates::TenantOverrides,
}

/// A name in Vietnamese, with an optional English translation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    pub vi: Text,
    #[serde(default)]
    pub en: Option<Text>,
}

pub use crate::locale::Locale;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<Color>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accent_color: Option<Color>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<AssetPath>,
    /// The brandname registered for the tenant's text messages (up to 11 letters, digits,
    /// spaces, `.`, `-` or `_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_sender: Option<crate::texts::Brandname>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSpec {
    pub code: UnitCode,
    pub name: Names,
}

/// `[procedures.process]`: the ordered steps of the procedure's dossiers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    pub steps: Vec<StepSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub code: Text,
    pub name: Names,
    pub unit: UnitCode,
    pub role: StepRole,
    pub actions: Vec<StepAction>,
    /// `{ days = 2 }` or `{ hours = 4 }`.
    pub budget: Budget,
    /// For a `transfer` step: the tenant that decides (a province, a ministry division).
    #[serde(default)]
    pub transfer_to: Option<TenantSlug>,
}

impl ProcessSpec {
    pub fn to_process(&self) -> Process {
        Process {
            steps: self
                .steps
                .iter()
                .map(|s| Step {
                    code: s.code.as_str().to_owned(),
                    name_vi: s.name.vi.as_str().to_owned(),
                    name_en: s.name.en.as_ref().map(|t| t.as_str().to_owned()),
                    unit: s.unit.clone(),
                    role: s.role,
                    actions: s.actions.clone(),
                    budget: s.budget,
                    transfer_to: s.transfer_to.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub code: FieldCode,
    pub name: Names,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureSpec {
    pub code: ProcedureCode,
    pub name: Names,
    pub field: FieldCode,
    pub online_level: Level,
    /// Legal time limit in working days.
    pub processing_days: u16,
    /// Fee in đồng (integer).
    #[serde(default)]
    pub fee_vnd: u32,
    #[serde(default)]
    pub documents: Vec<DocumentSpec>,
    #[serde(default = "yes")]
    pub active: bool,
    /// Who approves or rejects: `leader` (default) or `officer`.
    #[serde(default)]
    pub decide_role: Option<DecideRoleSpec>,
    /// The application form, a JSON Schema subset written as TOML (see docs/tenants.md).
    #[serde(default)]
    pub form_schema: Option<toml::Value>,
    /// Fee beyond `fee_vnd`: per listed item, waivers (see docs/payments.md).
    #[serde(default)]
    pub fee_rule: crate::services::payments::FeeRule,
    /// For `full` procedures: processing starts once paid (default true).
    #[serde(default = "yes")]
    pub pay_before_processing: bool,
    /// The steps between the tenant's units; absent keeps the fixed path.
    #[serde(default)]
    pub process: Option<Spanned<ProcessSpec>>,
    /// The tenant's children may adopt it (`[[inherit]]`), offered here or not (`active`).
    #[serde(default)]
    pub template: bool,
    /// The legal documents it rests on, one per entry (shown on the procedure page).
    #[serde(default)]
    pub legal_basis: Vec<String>,
    /// The conditions an applicant must meet.
    #[serde(default)]
    pub conditions: Option<String>,
    /// Paper forms citizens may download: `{ name, url }` with an `https://` address.
    #[serde(default)]
    pub form_templates: Vec<crate::services::catalog::FormTemplate>,
}

/// `[[inherit]]`: a procedure of the parent's catalog, adapted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InheritSpec {
    pub code: ProcedureCode,
    /// This tenant's fee in đồng (default: the parent's).
    #[serde(default)]
    pub fee_vnd: Option<u32>,
    /// This tenant's amount per listed item (e.g. per worker) when the parent's fee counts
    /// items (default: the parent's).
    #[serde(default)]
    pub fee_per_item_vnd: Option<u32>,
    /// This tenant's time limit in working days (default: the parent's).
    #[serde(default)]
    pub processing_days: Option<u16>,
    /// This tenant's own process for it (default: the parent's, when this tenant has every
    /// unit it names). Its budgets are checked against the time limit when applied.
    #[serde(default)]
    pub process: Option<ProcessSpec>,
    /// Documents this tenant asks for beyond the parent's (local papers).
    #[serde(default)]
    pub documents: Vec<DocumentSpec>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "String")]
pub struct DecideRoleSpec(pub DecideRole);

impl TryFrom<String> for DecideRoleSpec {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        DecideRole::parse(&s)
            .map(Self)
            .ok_or_else(|| format!("decide_role `{s}`: expected `leader` or `officer`"))
    }
}

impl ProcedureSpec {
    /// Legal basis, conditions and paper forms, as the catalog holds them.
    pub fn details(&self) -> crate::services::catalog::Details {
        crate::services::catalog::Details {
            legal_basis: self.legal_basis.clone(),
            conditions: self.conditions.clone(),
            form_templates: self.form_templates.clone(),
        }
    }

    /// The form schema as JSON (what the database and the API hold).
    /// A schema written as a string of JSON (one way to keep it compact) is read as JSON.
    pub fn form_schema_json(&self) -> Result<serde_json::Value, String> {
        match &self.form_schema {
            None => Ok(serde_json::json!({})),
            Some(toml::Value::String(text)) => {
                serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))
            }
            Some(v) => serde_json::to_value(v).map_err(|e| e.to_string()),
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSpec {
    pub name: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<Text>,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default = "crate::services::attachments::default_accept")]
    pub accept: Vec<crate::services::attachments::FileKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_mb: Option<u32>,
    /// Procedure codes whose results answer this document: offered from the wallet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_results: Vec<String>,
}

impl DocumentSpec {
    /// The document as the catalog holds it (defaults filled in).
    pub fn to_required(&self) -> crate::services::catalog::RequiredDocument {
        crate::services::catalog::RequiredDocument {
            name: self.name.as_str().to_owned(),
            name_en: self.name_en.as_ref().map(|n| n.as_str().to_owned()),
            required: self.required,
            accept: self.accept.clone(),
            max_size_mb: self
                .max_size_mb
                .unwrap_or(crate::services::attachments::DEFAULT_MAX_SIZE_MB),
            from_results: self.from_results.clone(),
            local: false,
        }
    }
}

/// Online level, accepting the legacy "mức độ 3/4" spellings.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "String")]
pub struct Level(pub OnlineLevel);

impl TryFrom<String> for Level {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        OnlineLevel::parse(&s)
            .map(Level)
            .ok_or_else(|| format!("unknown online level `{s}`: use `partial` or `full`"))
    }
}

/// Non-empty single-line text without control characters, at most 500 characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Text {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            Err("must not be empty".into())
        } else if t.chars().count() > 500 {
            Err("longer than 500 characters".into())
        } else if t.chars().any(char::is_control) {
            Err("must not contain control characters or line breaks".into())
        } else {
            Ok(Self(t.to_owned()))
        }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.0
    }
}

/// A CSS colour `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Color(String);

impl TryFrom<String> for Color {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let ok =
            s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(format!("invalid colour `{s}`: use #rrggbb"))
        }
    }
}

impl From<Color> for String {
    fn from(c: Color) -> String {
        c.0
    }
}

/// A relative path to an image asset, e.g. `logos/ha-noi.svg`: plain path segments only, so it
/// can never point outside the asset directory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct AssetPath(String);

impl TryFrom<String> for AssetPath {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let segment_ok = |seg: &str| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        };
        let ext_ok = ["svg", "png", "jpg", "jpeg", "webp"]
            .iter()
            .any(|e| s.to_ascii_lowercase().ends_with(&format!(".{e}")));
        if s.len() <= 200 && s.split('/').all(segment_ok) && ext_ok {
            Ok(Self(s))
        } else {
            Err(format!(
                "invalid asset path `{s}`: a relative path like `logos/name.svg` (svg, png, jpg, webp)"
            ))
        }
    }
}

impl From<AssetPath> for String {
    fn from(p: AssetPath) -> String {
        p.0
    }
}

/// A problem in a tenant file, located by file, line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// A parsed file, with its text kept for locating later errors.
#[derive(Debug)]
pub struct TenantFile {
    pub path: PathBuf,
    source: String,
    pub spec: TenantSpec,
}

impl TenantFile {
    pub(crate) fn error_at(
        &self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> FileError {
        locate(&self.path, &self.source, span.start, message.into())
    }
}

fn locate(path: &Path, source: &str, offset: usize, message: String) -> FileError {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    FileError {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// Parses one file's text.
pub fn parse(path: &Path, source: &str) -> Result<TenantFile, FileError> {
    match toml::from_str::<TenantSpec>(source) {
        Ok(spec) => Ok(TenantFile {
            path: path.to_owned(),
            source: source.to_owned(),
            spec,
        }),
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            Err(locate(path, source, offset, e.message().trim().to_owned()))
        }
    }
}

/// Reads a `.toml` file, or every `.toml` file of a folder (sorted by name).
pub fn read_path(path: &Path) -> Result<Vec<TenantFile>, Vec<FileError>> {
    let io_error = |p: &Path, e: std::io::Error| {
        vec![FileError {
            path: p.to_owned(),
            line: 0,
            column: 0,
            message: e.to_string(),
        }]
    };
    let paths = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| io_error(path, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_owned()]
    };
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::read_to_string(&p) {
            Ok(text) => match parse(&p, &text) {
                Ok(f) => files.push(f),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.extend(io_error(&p, e)),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// What the database already holds, for checks that reach beyond the files.
#[derive(Debug, Default)]
pub struct Existing {
    /// Slugs of tenants already registered.
    pub slugs: HashSet<TenantSlug>,
    /// Registered domains and the slug owning each.
    pub domains: HashMap<HostName, TenantSlug>,
    /// Registered tenant codes and the slug owning each.
    pub codes: HashMap<String, TenantSlug>,
    /// Registered agency identifiers and the slug owning each.
    pub agency_ids: HashMap<String, TenantSlug>,
}

/// Checks a set of files against each other and the database; on success returns them ordered
/// so that every parent comes before its children.
pub fn validate(
    files: Vec<TenantFile>,
    existing: &Existing,
) -> Result<Vec<TenantFile>, Vec<FileError>> {
    let mut errors = Vec::new();
    let mut slugs: HashMap<TenantSlug, &TenantFile> = HashMap::new();
    let mut codes: HashMap<&str, &TenantSlug> = HashMap::new();
    let mut agency_ids: HashMap<&str, &TenantSlug> = HashMap::new();
    let mut domains: HashMap<&HostName, &TenantSlug> = HashMap::new();
    for f in &files {
        let s = &f.spec;
        let slug = s.slug.get_ref();
        if let Some(other) = slugs.insert(slug.clone(), f) {
            errors.push(f.error_at(
                s.slug.span(),
                format!(
                    "tenant `{slug}` is also declared in {}",
                    other.path.display()
                ),
            ));
        }
        let code = s.code.get_ref().as_str();
        let code_owner = codes
            .insert(code, slug)
            .cloned()
            .or_else(|| existing.codes.get(code).filter(|o| *o != slug).cloned());
        if let Some(owner) = code_owner.filter(|o| o != slug) {
            errors.push(f.error_at(
                s.code.span(),
                format!("tenant code `{code}` already belongs to `{owner}`"),
            ));
        }
        // Two agencies with one identifier would issue the same dossier codes.
        if let Some(agency) = &s.agency_id {
            let id = agency.get_ref().as_str();
            let owner = agency_ids
                .insert(id, slug)
                .cloned()
                .or_else(|| existing.agency_ids.get(id).cloned());
            if let Some(owner) = owner.filter(|o| o != slug) {
                errors.push(f.error_at(
                    agency.span(),
                    format!("agency identifier `{id}` already belongs to `{owner}`"),
                ));
            }
        }
        for d in &s.domains {
            let owner = domains
                .insert(d.get_ref(), slug)
                .cloned()
                .or_else(|| existing.domains.get(d.get_ref()).cloned());
            if let Some(owner) = owner.filter(|o| o != slug) {
                errors.push(f.error_at(
                    d.span(),
                    format!(
                        "domain `{}` already belongs to `{owner}`",
                        d.get_ref().as_str()
                    ),
                ));
            }
        }
        if let Some(n) = s.plan.requests_per_minute
            && let Err(e) = crate::config::check_per_minute(n)
        {
            let at = f.source.find("requests_per_minute").unwrap_or(0);
            errors.push(f.error_at(at..at, format!("plan.requests_per_minute {e}")));
        }
        errors.extend(validate_catalog(f));
        errors.extend(validate_mail(f));
    }
    for f in &files {
        if let Some(parent) = &f.spec.parent {
            let p = parent.get_ref();
            if p == f.spec.slug.get_ref() {
                errors.push(f.error_at(parent.span(), "a tenant cannot be its own parent"));
            } else if !slugs.contains_key(p) && !existing.slugs.contains(p) {
                errors.push(f.error_at(parent.span(), format!("unknown parent tenant `{p}`")));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    order_parents_first(files)
}

fn validate_catalog(f: &TenantFile) -> Vec<FileError> {
    let mut errors = Vec::new();
    let mut field_codes = HashSet::new();
    for field in &f.spec.fields {
        if !field_codes.insert(field.get_ref().code.clone()) {
            errors.push(f.error_at(
                field.span(),
                format!("field `{}` is declared twice", field.get_ref().code),
            ));
        }
    }
    let mut units = HashSet::new();
    for u in &f.spec.units {
        if !units.insert(u.get_ref().code.clone()) {
            errors.push(f.error_at(
                u.span(),
                format!("unit `{}` is declared twice", u.get_ref().code),
            ));
        }
    }
    for p in &f.spec.procedures {
        let proc = p.get_ref();
        if let Some(process) = &proc.process {
            for e in process
                .get_ref()
                .to_process()
                .check(u32::from(proc.processing_days), &units)
            {
                errors.push(f.error_at(
                    process.span(),
                    format!("procedure `{}`: process: {e}", proc.code),
                ));
            }
        }
    }
    let mut procedure_codes = HashSet::new();
    for i in &f.spec.inherit {
        let code = &i.get_ref().code;
        if let Some(process) = &i.get_ref().process {
            // The parent's time limit is known only when applied; without one of this
            // tenant's own, the budgets are checked then.
            let days = i.get_ref().processing_days.map_or(u32::MAX / 16, u32::from);
            for e in process.to_process().check(days, &units) {
                errors.push(f.error_at(i.span(), format!("[[inherit]] `{code}`: process: {e}")));
            }
        }
        if f.spec.parent.is_none() {
            errors.push(f.error_at(
                i.span(),
                format!("[[inherit]] `{code}`: a tenant without a parent has nothing to inherit"),
            ));
        }
        if !procedure_codes.insert(code.clone()) {
            errors.push(f.error_at(i.span(), format!("procedure `{code}` is declared twice")));
        }
    }
    for p in &f.spec.procedures {
        let proc = p.get_ref();
        for e in proc.details().problems() {
            errors.push(f.error_at(p.span(), format!("procedure `{}`: {e}", proc.code)));
        }
        if !procedure_codes.insert(proc.code.clone()) {
            errors.push(f.error_at(
                p.span(),
                format!("procedure `{}` is declared twice", proc.code),
            ));
        }
        if proc
            .fee_rule
            .per_item
            .as_ref()
            .is_some_and(|p| p.amount_vnd < 0)
        {
            errors.push(f.error_at(
                p.span(),
                format!(
                    "procedure `{}`: fee_rule.per_item.amount_vnd is negative",
                    proc.code
                ),
            ));
        }
        let schema = proc
            .form_schema_json()
            .and_then(|raw| FormSchema::parse(&raw).map_err(|e| e.to_string()));
        if let Err(e) = schema {
            errors.push(f.error_at(
                p.span(),
                format!("procedure `{}`: form_schema: {e}", proc.code),
            ));
        }
        if !field_codes.contains(&proc.field) {
            errors.push(f.error_at(
                p.span(),
                format!(
                    "procedure `{}` names field `{}`, which is not declared in [[fields]]",
                    proc.code, proc.field
                ),
            ));
        }
    }
    errors
}

fn validate_mail(f: &TenantFile) -> Vec<FileError> {
    let Some(mail) = &f.spec.mail else {
        return Vec::new();
    };
    let renderer = crate::mail::templates::Renderer::new();
    let mut errors = Vec::new();
    for (key, by_locale) in &mail.get_ref().templates {
        if crate::mail::TemplateKey::parse(key).is_none() {
            errors.push(f.error_at(mail.span(), format!("unknown mail template `{key}`")));
            continue;
        }
        for (locale, o) in by_locale {
            if crate::locale::Locale::parse(locale).is_none() {
                errors.push(f.error_at(
                    mail.span(),
                    format!("mail template `{key}`: unknown language `{locale}` (vi or en)"),
                ));
            } else if let Err(e) = renderer.check_override(o) {
                errors.push(f.error_at(
                    mail.span(),
                    format!("mail template `{key}.{locale}` does not compile: {e}"),
                ));
            }
        }
    }
    errors
}

/// Orders files so parents come first; a cycle among the files is an error.
fn order_parents_first(files: Vec<TenantFile>) -> Result<Vec<TenantFile>, Vec<FileError>> {
    let in_set: HashSet<TenantSlug> = files
        .iter()
        .map(|f| f.spec.slug.get_ref().clone())
        .collect();
    let mut placed: HashSet<TenantSlug> = HashSet::new();
    let mut pending = files;
    let mut ordered = Vec::with_capacity(pending.len());
    loop {
        let before = pending.len();
        let (ready, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|f| {
            f.spec
                .parent
                .as_ref()
                .is_none_or(|p| !in_set.contains(p.get_ref()) || placed.contains(p.get_ref()))
        });
        for f in &ready {
            placed.insert(f.spec.slug.get_ref().clone());
        }
        ordered.extend(ready);
        pending = rest;
        if pending.is_empty() {
            return Ok(ordered);
        }
        if pending.len() == before {
            return Err(pending
                .iter()
                .map(|f| {
                    let span = f.spec.parent.as_ref().map_or(0..0, toml::Spanned::span);
                    f.error_at(span, "parent chain forms a cycle")
                })
                .collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
slug = "ha-noi"
code = "HNI"
kind = "province"
name = { vi = "Hà Nội", en = "Ha Noi" }

[[fields]]
code = "viec-lam"
name = { vi = "Việc làm" }

[[procedures]]
code = "1.000105"
field = "viec-lam"
name = { vi = "Giải quyết hưởng trợ cấp thất nghiệp" }
online_level = "full"
processing_days = 20
"#;

    fn p(name: &str) -> PathBuf {
        PathBuf::from(format!("tenants/{name}.toml"))
    }

    #[test]
    fn parses_a_minimal_file() {
        let f = parse(&p("ha-noi"), MINIMAL).unwrap();
        assert_eq!(f.spec.slug.get_ref().as_str(), "ha-noi");
        assert_eq!(f.spec.procedures.len(), 1);
        assert_eq!(
            f.spec.procedures[0].get_ref().online_level.0,
            OnlineLevel::Full
        );
    }

    #[test]
    fn bad_values_are_located() {
        let bad = MINIMAL.replace("slug = \"ha-noi\"", "slug = \"Ha Noi\"");
        let e = parse(&p("x"), &bad).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("invalid tenant slug"), "{e}");
        assert!(e.to_string().starts_with("tenants/x.toml:2:"), "{e}");

        let bad = MINIMAL.replace("online_level = \"full\"", "online_level = \"muc-do-9\"");
        let e = parse(&p("x"), &bad).unwrap_err();
        assert_eq!(e.line, 15, "{e}");

        let bad = MINIMAL.replace("processing_days = 20", "processing_days = 20\nfee = 5");
        let e = parse(&p("x"), &bad).unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        assert_eq!(e.line, 17, "{e}");
    }

    #[test]
    fn cross_file_problems_are_located() {
        let a = parse(&p("a"), MINIMAL).unwrap();
        let child = MINIMAL
            .replace(
                "slug = \"ha-noi\"",
                "slug = \"ha-noi-b\"\nparent = \"nowhere\"",
            )
            .replace("HNI", "HNB");
        let b = parse(&p("b"), &child).unwrap();
        let errs = validate(vec![a, b], &Existing::default()).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].path, p("b"));
        assert_eq!(errs[0].line, 3);
        assert!(errs[0].message.contains("unknown parent"));
    }

    /// MINIMAL with units and a four-step process for its 20-day procedure.
    fn with_process(budget_of_review: &str, unit_of_review: &str) -> String {
        let units = r#"
[[units]]
code = "mot-cua"
name = { vi = "Bộ phận một cửa" }

[[units]]
code = "phong-viec-lam"
name = { vi = "Phòng Việc làm", en = "Employment division" }

[[units]]
code = "lanh-dao"
name = { vi = "Lãnh đạo Sở" }
"#;
        let process = format!(
            r#"
[procedures.process]
steps = [
  {{ code = "tiep-nhan", name = {{ vi = "Tiếp nhận" }}, unit = "mot-cua", role = "officer", actions = ["forward"], budget = {{ hours = 4 }} }},
  {{ code = "tham-dinh", name = {{ vi = "Thẩm định" }}, unit = "{unit_of_review}", role = "officer", actions = ["forward", "return", "ask_opinion", "request_supplement"], budget = {budget_of_review} }},
  {{ code = "ky-duyet", name = {{ vi = "Ký duyệt" }}, unit = "lanh-dao", role = "leader", actions = ["return", "decide"], budget = {{ days = 2 }} }},
]
"#
        );
        MINIMAL.replace("[[fields]]", &format!("{units}\n[[fields]]")) + &process
    }

    #[test]
    fn processes_are_read_and_checked_against_units_and_the_time_limit() {
        let ok = parse(&p("a"), &with_process("{ days = 17 }", "phong-viec-lam")).unwrap();
        let files = validate(vec![ok], &Existing::default()).unwrap();
        let spec = files[0].spec.procedures[0].get_ref();
        let process = spec.process.as_ref().unwrap().get_ref().to_process();
        assert_eq!(process.steps.len(), 3);
        assert_eq!(process.budget_hours(), 4 + 17 * 8 + 2 * 8);
        assert_eq!(files[0].spec.units.len(), 3);
        // Over the 20 days, and a unit nobody declared: both said, at the process's line.
        let bad = parse(&p("b"), &with_process("{ days = 18 }", "phong-khac")).unwrap();
        let line = bad
            .source
            .lines()
            .position(|l| l == "[procedures.process]")
            .unwrap()
            + 1;
        let errs = validate(vec![bad], &Existing::default()).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs.iter().all(|e| e.line == line), "{errs:?}");
        assert!(errs[0].message.contains("unit `phong-khac`"), "{errs:?}");
        assert!(
            errs[1].message.contains("more than the time limit of 20"),
            "{errs:?}"
        );
        // An action the grammar does not know is a parse error at its place.
        let unknown =
            with_process("{ days = 1 }", "phong-viec-lam").replace("\"decide\"", "\"sign\"");
        let e = parse(&p("c"), &unknown).unwrap_err();
        assert!(e.message.contains("sign"), "{e}");
    }

    #[test]
    fn agency_identifiers_are_checked_and_unique() {
        let with = |slug: &str, code: &str, id: &str| {
            MINIMAL
                .replace(
                    "slug = \"ha-noi\"",
                    &format!("slug = \"{slug}\"\nagency_id = \"{id}\""),
                )
                .replace("HNI", code)
        };
        let bad = parse(&p("a"), &with("ha-noi", "HNI", "H29")).unwrap_err();
        assert!(bad.message.contains("000.00.24.H29"), "{bad}");
        assert_eq!(bad.line, 3, "{bad}");
        let a = parse(&p("a"), &with("ha-noi", "HNI", "000.00.24.H29")).unwrap();
        assert_eq!(
            a.spec.agency_id.as_ref().map(|a| a.get_ref().as_str()),
            Some("000.00.24.H29")
        );
        let b = parse(&p("b"), &with("ha-noi-b", "HNB", "000.00.24.H29")).unwrap();
        let errs = validate(vec![a, b], &Existing::default()).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!((errs[0].path.clone(), errs[0].line), (p("b"), 3));
        assert!(errs[0].message.contains("already belongs to `ha-noi`"));
    }

    #[test]
    fn undeclared_field_and_duplicates_are_errors() {
        let bad = MINIMAL.replace("field = \"viec-lam\"", "field = \"khac\"");
        let f = parse(&p("a"), &bad).unwrap();
        let errs = validate(vec![f], &Existing::default()).unwrap_err();
        assert!(errs[0].message.contains("not declared"), "{:?}", errs);
        let a = parse(&p("a"), MINIMAL).unwrap();
        let b = parse(&p("b"), MINIMAL).unwrap();
        let errs = validate(vec![a, b], &Existing::default()).unwrap_err();
        assert!(errs.iter().any(|e| e.message.contains("also declared")));
    }

    #[test]
    fn parents_come_first_and_cycles_fail() {
        let parent = MINIMAL.replace("ha-noi", "bo").replace("HNI", "BO");
        let child = MINIMAL
            .replace("slug = \"ha-noi\"", "slug = \"con\"\nparent = \"bo\"")
            .replace("HNI", "CON");
        let files = vec![
            parse(&p("con"), &child).unwrap(),
            parse(&p("bo"), &parent).unwrap(),
        ];
        let ordered = validate(files, &Existing::default()).unwrap();
        assert_eq!(ordered[0].spec.slug.get_ref().as_str(), "bo");

        let x = MINIMAL
            .replace("slug = \"ha-noi\"", "slug = \"xa\"\nparent = \"ya\"")
            .replace("HNI", "XA");
        let y = MINIMAL
            .replace("slug = \"ha-noi\"", "slug = \"ya\"\nparent = \"xa\"")
            .replace("HNI", "YA");
        let errs = validate(
            vec![parse(&p("x"), &x).unwrap(), parse(&p("y"), &y).unwrap()],
            &Existing::default(),
        )
        .unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(errs[0].message.contains("cycle"));
    }

    #[test]
    fn asset_paths_cannot_escape() {
        for bad in [
            "../x.svg",
            "/etc/passwd",
            "logos/../../x.png",
            "a//b.svg",
            "x.exe",
            ".hidden.svg",
        ] {
            assert!(AssetPath::try_from(bad.to_string()).is_err(), "{bad}");
        }
        assert!(AssetPath::try_from("logos/ha-noi.svg".to_string()).is_ok());
    }
}
