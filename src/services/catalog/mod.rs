//! The procedure catalog of a tenant: domain types, querying (pure), storage and caching.

pub mod cache;
pub mod design;
pub mod drafts;
pub mod import;
pub mod pages;
pub mod store;
pub mod versions;

use super::text::SearchTerms;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Procedure code as in the national database of administrative procedures, e.g. `1.000105`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProcedureCode(String);

/// Code of a field (lĩnh vực), e.g. `viec-lam`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FieldCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodeError(String);

fn code_like(s: &str, what: &str) -> Result<String, CodeError> {
    let ok = (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(CodeError(format!(
            "invalid {what} `{}`: 1–40 characters among A–Z, a–z, 0–9, `.`, `-`, `_`",
            s.chars()
                .filter(|c| !c.is_control())
                .take(48)
                .collect::<String>()
        )))
    }
}

macro_rules! code_type {
    ($t:ident, $what:literal) => {
        impl $t {
            pub fn parse(s: &str) -> Result<Self, CodeError> {
                code_like(s, $what).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $t {
            type Error = CodeError;
            fn try_from(s: String) -> Result<Self, CodeError> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(c: $t) -> String {
                c.0
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
code_type!(ProcedureCode, "procedure code");
code_type!(FieldCode, "field code");

/// Online service level (Decree 42/2022): `partial` — apply online, receive the result in
/// person; `full` — everything online. Legacy "mức độ 3/4" map to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnlineLevel {
    Partial,
    Full,
}

impl OnlineLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Partial => "partial",
            Self::Full => "full",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "partial" | "level-3" | "muc-do-3" | "mức độ 3" => Some(Self::Partial),
            "full" | "level-4" | "muc-do-4" | "mức độ 4" => Some(Self::Full),
            _ => None,
        }
    }
}

/// A document the applicant must (or may) attach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RequiredDocument {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    #[serde(default = "yes")]
    pub required: bool,
    /// File types accepted for this document (default: pdf, jpeg, png).
    #[serde(default = "crate::services::attachments::default_accept")]
    pub accept: Vec<crate::services::attachments::FileKind>,
    /// Largest file accepted, in MiB (default 10).
    #[serde(default = "default_max_size_mb")]
    pub max_size_mb: u32,
    /// Procedure codes whose signed results answer this document (e.g. the work permit an
    /// extension needs): the applicant's wallet offers them first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_results: Vec<String>,
    /// Asked for by this tenant beyond the template it adopted (kept when the template is
    /// taken again).
    #[serde(default, skip_serializing_if = "is_false")]
    pub local: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn yes() -> bool {
    true
}

fn default_max_size_mb() -> u32 {
    crate::services::attachments::DEFAULT_MAX_SIZE_MB
}

/// What the national procedure database publishes beside the form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Details {
    /// The legal documents the procedure rests on, one per entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legal_basis: Vec<String>,
    /// The conditions an applicant must meet, as published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// Paper forms (mẫu đơn, tờ khai) citizens may download and fill.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub form_templates: Vec<FormTemplate>,
}

/// A downloadable paper form: its name and where it is published (`https://`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormTemplate {
    pub name: String,
    pub url: String,
}

impl Details {
    pub fn is_empty(&self) -> bool {
        self.legal_basis.is_empty() && self.conditions.is_none() && self.form_templates.is_empty()
    }

    /// Every problem with these details (lengths, control characters, plain `https` links).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let clean = |s: &str, max: usize| {
            let n = s.trim().chars().count();
            (1..=max).contains(&n) && !s.chars().any(|c| c.is_control() && c != '\n')
        };
        if self.legal_basis.len() > 50 || !self.legal_basis.iter().all(|l| clean(l, 500)) {
            out.push("legal_basis: at most 50 entries of 1–500 characters".to_owned());
        }
        if self.conditions.as_deref().is_some_and(|c| !clean(c, 5_000)) {
            out.push("conditions: 1–5000 characters".to_owned());
        }
        if self.form_templates.len() > 20 {
            out.push("form_templates: at most 20".to_owned());
        }
        for t in &self.form_templates {
            if !clean(&t.name, 300) || !is_https_link(&t.url) {
                out.push(format!(
                    "form_templates: `{}` needs a name and an https:// address",
                    t.name.chars().take(60).collect::<String>()
                ));
            }
        }
        out
    }
}

/// An absolute `https://` address with a host, no spaces or quotes: safe to put in `href`.
pub fn is_https_link(url: &str) -> bool {
    url.len() <= 1_000
        && url
            .strip_prefix("https://")
            .is_some_and(|rest| rest.split('/').next().is_some_and(|h| !h.is_empty()))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\''))
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldRef {
    pub code: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
}

/// A procedure as the public sees it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Procedure {
    #[schema(example = "1.000105")]
    pub code: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub field: FieldRef,
    pub online_level: OnlineLevel,
    /// Legal time limit in working days.
    pub processing_days: i32,
    /// Fee in đồng.
    pub fee_vnd: i64,
    pub documents: Vec<RequiredDocument>,
    /// The application form (JSON Schema subset with Vietnamese titles); `{}` for none.
    #[schema(value_type = Object)]
    pub form_schema: serde_json::Value,
    /// Who approves or rejects: `leader` (default) or `officer`.
    pub decide_role: crate::services::dossiers::workflow::DecideRole,
    /// Slug of the parent tenant whose procedure this one adapts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inherited_from: Option<String>,
    /// Fee beyond the fixed one: per listed item, waivers by category.
    pub fee_rule: crate::services::payments::FeeRule,
    /// For `full` procedures: processing starts once the fee is paid.
    pub pay_before_processing: bool,
    /// The steps its dossiers go through, when the tenant declared them (else the fixed path).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub process: Option<crate::services::processes::Process>,
    /// Legal basis, conditions and paper forms, as published.
    #[serde(skip_serializing_if = "Details::is_empty")]
    pub details: Details,
    /// The tenant's children may adopt it (a ministry's template).
    pub template: bool,
    /// For an adopted procedure: the parent's version it was taken at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopted_version: Option<i32>,
    #[serde(skip)]
    pub search_text: String,
}

/// One page of procedures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProcedurePage {
    pub items: Vec<Procedure>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

pub const MAX_PER_PAGE: u32 = 100;
pub const DEFAULT_PER_PAGE: u32 = 20;

/// A validated catalog query.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureQuery {
    pub field: Option<FieldCode>,
    pub terms: Option<SearchTerms>,
    pub page: u32,
    pub per_page: u32,
}

impl Default for ProcedureQuery {
    fn default() -> Self {
        Self {
            field: None,
            terms: None,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl ProcedureQuery {
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }

    /// Filters and pages a whole catalog (sorted by code) in memory.
    pub fn apply(&self, catalog: &[Procedure]) -> ProcedurePage {
        let matching = catalog.iter().filter(|p| {
            self.field
                .as_ref()
                .is_none_or(|f| p.field.code == f.as_str())
                && self
                    .terms
                    .as_ref()
                    .is_none_or(|t| t.matches(&p.search_text))
        });
        let mut total = 0u64;
        let mut items = Vec::new();
        let offset = self.offset();
        for p in matching {
            if total >= offset && items.len() < self.per_page as usize {
                items.push(p.clone());
            }
            total += 1;
        }
        ProcedurePage {
            items,
            total,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::text::fold;

    fn proc(code: &str, field: &str, name: &str) -> Procedure {
        Procedure {
            code: code.into(),
            name: name.into(),
            name_en: None,
            field: FieldRef {
                code: field.into(),
                name: field.into(),
                name_en: None,
            },
            online_level: OnlineLevel::Full,
            processing_days: 5,
            fee_vnd: 0,
            documents: vec![],
            form_schema: serde_json::json!({}),
            decide_role: crate::services::dossiers::workflow::DecideRole::Leader,
            inherited_from: None,
            fee_rule: Default::default(),
            pay_before_processing: true,
            process: None,
            details: Details::default(),
            template: false,
            adopted_version: None,
            search_text: fold(&format!("{code} {name}")),
        }
    }

    #[test]
    fn filters_and_pages() {
        let catalog: Vec<_> = (0..25)
            .map(|i| {
                let field = if i % 2 == 0 { "viec-lam" } else { "an-toan" };
                proc(&format!("1.{i:06}"), field, &format!("Thủ tục số {i}"))
            })
            .collect();
        let q = ProcedureQuery {
            field: Some(FieldCode::parse("viec-lam").unwrap()),
            page: 2,
            per_page: 5,
            ..Default::default()
        };
        let page = q.apply(&catalog);
        assert_eq!(page.total, 13);
        assert_eq!(page.items.len(), 5);
        assert_eq!(page.items[0].code, "1.000010");
        let beyond = ProcedureQuery { page: 9, ..q }.apply(&catalog);
        assert_eq!(beyond.total, 13);
        assert!(beyond.items.is_empty());
    }

    #[test]
    fn keyword_ignores_diacritics() {
        let catalog = vec![
            proc("1.1", "f", "Cấp giấy phép lao động"),
            proc("1.2", "f", "Trợ cấp thất nghiệp"),
        ];
        let q = ProcedureQuery {
            terms: SearchTerms::parse("THAT NGHIEP"),
            ..Default::default()
        };
        let page = q.apply(&catalog);
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].code, "1.2");
    }

    #[test]
    fn codes_are_validated() {
        assert!(ProcedureCode::parse("1.000105").is_ok());
        assert!(ProcedureCode::parse("../etc").is_err());
        assert!(ProcedureCode::parse("a b").is_err());
        assert!(ProcedureCode::parse("").is_err());
        assert!(FieldCode::parse("viec-lam").is_ok());
        assert_eq!(OnlineLevel::parse("mức độ 4"), Some(OnlineLevel::Full));
        assert_eq!(OnlineLevel::parse("level-3"), Some(OnlineLevel::Partial));
        assert_eq!(OnlineLevel::parse("5"), None);
    }
}
