//! The procedure designer (`/quan-tri/thu-tuc`): a tenant administrator makes a new online
//! service, or changes one, in plain forms — names, fee, time limit, documents, the form's
//! fields one by one — previews the citizen's page in both languages and publishes it. No
//! JavaScript and no JSON: each button is a form post; a refused one comes back with the
//! message next to the input and what was typed kept. Every change goes through
//! [`crate::app::designer`].

use super::forms::FormField as Input;
use super::session::Visitor;
use crate::app::designer;
use crate::auth::roles::Role;
use crate::error::{AppError, FieldError};
use crate::locale::Locale;
use crate::services::catalog::design::{Design, DocumentInput, GeneralInput, Move};
use crate::services::forms::builder::{FieldInput, FieldKind, FormField};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;
use std::collections::HashMap;

fn admin(v: &Visitor) -> Result<(), AppError> {
    if v.has(Role::TenantAdmin) {
        Ok(())
    } else {
        Err(v.user().err().unwrap_or(AppError::Forbidden))
    }
}

fn home(code: &str) -> String {
    format!("/quan-tri/thu-tuc/{code}")
}

/// What was typed in the form that was refused, and the refusal.
struct Refused {
    values: HashMap<String, String>,
    errors: Vec<FieldError>,
}

impl Refused {
    fn none() -> Self {
        Self {
            values: HashMap::new(),
            errors: Vec::new(),
        }
    }

    fn error(&self, v: &Visitor, input: &str) -> Option<String> {
        let path = format!("/{input}");
        self.errors
            .iter()
            .find(|e| e.path == path)
            .map(|e| super::citizen::message(e, v.locale))
    }

    fn summary(&self, v: &Visitor) -> Vec<minijinja::Value> {
        self.errors
            .iter()
            .map(|e| {
                // An import's problems are about the file: they point at its input.
                let id = if e.path.starts_with("/rows/") || e.path == "/import" {
                    "d-import".to_owned()
                } else {
                    format!("d-{}", e.path.trim_start_matches('/'))
                };
                context! { id, message => super::citizen::message(e, v.locale) }
            })
            .collect()
    }
}

/// One input of the designer's forms, as the portal's `scalar` macro draws it.
struct Inputs<'a> {
    v: &'a Visitor,
    refused: &'a Refused,
}

impl Inputs<'_> {
    fn make(&self, name: &str, label: &str, input: &'static str, value: String) -> Input {
        let typed = self.refused.values.get(name).cloned();
        Input {
            name: name.to_owned(),
            id: format!("d-{name}"),
            label: self.v.t(&format!("designer.{label}")),
            input,
            value: typed.unwrap_or(value),
            error: self.refused.error(self.v, name),
            ..Input::default()
        }
    }

    fn text(&self, name: &str, value: &str) -> Input {
        self.make(name, name, "text", value.to_owned())
    }

    fn number(&self, name: &str, value: String) -> Input {
        self.make(name, name, "number", value)
    }

    fn hinted(&self, mut input: Input, hint: &str) -> Input {
        input.hint = Some(self.v.t(&format!("designer.{hint}")));
        input
    }

    fn select(&self, name: &str, value: &str, options: Vec<(String, String)>) -> Input {
        let mut i = self.make(name, name, "select", value.to_owned());
        i.options = options;
        i
    }

    /// A checkbox of the page's form `form` (each form sends its name in `form`): the form
    /// that was refused shows its boxes as sent (absent when unticked); the others as stored.
    fn check(&self, form: &str, name: &str, checked: bool) -> Input {
        let mut i = self.make(name, name, "checkbox", String::new());
        let sent = self.refused.values.get("form").is_some_and(|f| f == form);
        i.checked = if sent {
            self.refused.values.contains_key(name)
        } else {
            checked
        };
        i
    }
}

fn kind_options(v: &Visitor) -> Vec<(String, String)> {
    FieldKind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str().to_owned(),
                v.t(&format!("designer.kind_{}", k.as_str())),
            )
        })
        .collect()
}

/// The form's fields as the page lists them, each with the path its buttons send.
fn field_rows(v: &Visitor, fields: &[FormField], parent: Option<&str>) -> Vec<minijinja::Value> {
    fields
        .iter()
        .map(|f| {
            let path = parent.map_or_else(|| f.code.clone(), |p| format!("{p}.{}", f.code));
            let label = match (v.locale, &f.label_en) {
                (Locale::En, Some(en)) => en.clone(),
                _ => f.label_vi.clone(),
            };
            let mut rules = Vec::new();
            if let Some(p) = &f.pattern {
                rules.push(format!("{} {p}", v.t("designer.pattern")));
            }
            if let Some(n) = &f.minimum {
                rules.push(format!("≥ {n}"));
            }
            if let Some(n) = &f.maximum {
                rules.push(format!("≤ {n}"));
            }
            if let Some(n) = f.max_length {
                rules.push(format!("{} {n}", v.t("designer.max_length")));
            }
            if !f.choices.is_empty() {
                let labels: Vec<&str> = f.choices.iter().map(|c| c.label.as_str()).collect();
                rules.push(labels.join(" / "));
            }
            context! {
                path => path.clone(),
                code => f.code.clone(),
                label,
                kind => v.t(&format!("designer.kind_{}", f.kind.as_str())),
                container => f.kind.is_container(),
                required => f.required,
                rules => rules.join("; "),
                children => field_rows(v, &f.children, Some(&path)),
            }
        })
        .collect()
}

async fn designer_page(
    v: &Visitor,
    code: &str,
    notice: Option<String>,
    refused: Refused,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let opened = designer::open(v.user()?, code).await?;
    let d = &opened.design;
    let ins = Inputs {
        v,
        refused: &refused,
    };
    let lists: Vec<(String, String)> = d
        .form
        .iter()
        .filter(|f| f.kind == FieldKind::List)
        .map(|f| (f.code.clone(), f.label_vi.clone()))
        .collect();
    let per_item = d.fee_rule.per_item.as_ref();
    let levels = ["full", "partial"]
        .iter()
        .map(|l| ((*l).to_owned(), v.t(&format!("level.{l}"))))
        .collect();
    let deciders = [("leader", "role.leader"), ("officer", "role.officer")]
        .iter()
        .map(|(k, l)| ((*k).to_owned(), v.t(l)))
        .collect();
    let general = vec![
        ins.text("name_vi", &d.name_vi),
        ins.text("name_en", d.name_en.as_deref().unwrap_or("")),
        ins.select("field", &d.field, opened.fields.clone()),
        ins.select("online_level", d.online_level.as_str(), levels),
        ins.hinted(
            ins.number("processing_days", d.processing_days.to_string()),
            "processing_days_hint",
        ),
        ins.hinted(ins.number("fee_vnd", d.fee_vnd.to_string()), "fee_hint"),
        ins.hinted(
            ins.number(
                "fee_per_item",
                per_item
                    .map(|p| p.amount_vnd.to_string())
                    .unwrap_or_default(),
            ),
            "fee_per_item_hint",
        ),
        ins.select(
            "fee_per_item_field",
            per_item.map_or("", |p| p.field.as_str()),
            lists,
        ),
        ins.check("general", "pay_before_processing", d.pay_before_processing),
        ins.select("decide_role", d.decide_role.as_str(), deciders),
        {
            let mut options = vec![("-".to_owned(), v.t("designer.process_fixed"))];
            options.extend(
                designer::processes(v.user()?)
                    .await?
                    .into_iter()
                    .filter(|(c, _, _)| c.as_str() != opened.code.as_str())
                    .map(|(c, name, n)| {
                        let label = v
                            .t("designer.process_as")
                            .replace("{code}", &c)
                            .replace("{name}", &name)
                            .replace("{n}", &n.to_string());
                        (c, label)
                    }),
            );
            let current = match &d.process {
                Some(p) => v
                    .t("designer.process_now_steps")
                    .replace("{n}", &p.steps.len().to_string()),
                None => v.t("designer.process_now_fixed"),
            };
            let mut i = ins.select("process_from", "", options);
            i.hint = Some(current);
            i
        },
        ins.check("general", "offered", d.offered),
        ins.hinted(
            ins.check("general", "template", d.template),
            "template_hint",
        ),
    ];
    let typed = crate::services::catalog::design::details_text(&d.details);
    let detail = |name: &str, value: String| {
        context! {
            value => refused.values.get(name).cloned().unwrap_or(value),
            error => refused.error(v, name),
        }
    };
    let details = context! {
        legal_basis => detail("legal_basis", typed.legal_basis),
        conditions => detail("conditions", typed.conditions),
        form_templates => detail("form_templates", typed.form_templates),
    };
    let documents: Vec<_> = d
        .documents
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            context! {
                i, name => doc.name.clone(), name_en => doc.name_en.clone(),
                required => doc.required, size => doc.max_size_mb,
                accept => doc.accept.iter().map(|k| k.extension()).collect::<Vec<_>>().join(", "),
            }
        })
        .collect();
    let mut doc_required = ins.check("document", "doc_required", true);
    doc_required.label = v.t("designer.required");
    let new_document = vec![
        ins.make("doc_name", "doc_name", "text", String::new()),
        ins.make("doc_name_en", "doc_name_en", "text", String::new()),
        ins.hinted(
            ins.make("doc_accept", "doc_accept", "text", "pdf, jpg, png".into()),
            "doc_accept_hint",
        ),
        ins.make("doc_max_size_mb", "doc_max_size_mb", "number", "10".into()),
        doc_required,
    ];
    let mut parents = vec![(String::new(), v.t("designer.top_level"))];
    parents.extend(
        d.form
            .iter()
            .filter(|f| f.kind.is_container())
            .map(|f| (f.code.clone(), f.label_vi.clone())),
    );
    let mut parent = ins.select("parent", "", parents);
    // The form's own level is a real choice here, not "nothing chosen".
    parent.required = true;
    let mut kind = ins.select("kind", "text", kind_options(v));
    kind.required = true;
    let new_field = vec![
        ins.make("label_vi", "label_vi", "text", String::new()),
        ins.make("label_en", "label_en", "text", String::new()),
        kind,
        parent,
        ins.hinted(ins.text("code", ""), "code_hint"),
        {
            let mut r = ins.check("field", "required", false);
            r.label = v.t("designer.required_field");
            r
        },
        ins.text("hint", ""),
    ];
    let rules = vec![
        ins.hinted(ins.text("pattern", ""), "pattern_hint"),
        ins.number("min_length", String::new()),
        ins.number("max_length", String::new()),
        ins.text("minimum", ""),
        ins.text("maximum", ""),
        ins.number("min_items", String::new()),
        ins.number("max_items", String::new()),
    ];
    let state = match (opened.published, opened.version.is_some()) {
        (true, _) => "published",
        (false, true) => "withdrawn",
        (false, false) => "new",
    };
    Ok(v.page_with(
        status,
        "designer.html",
        context! {
            nav => "admin", notice,
            code => opened.code.as_str(),
            name => d.name_vi.clone(),
            state, draft => opened.draft, version => opened.version,
            errors => refused.summary(v),
            general, documents, new_document, new_field, rules, details,
            fields => field_rows(v, &d.form, None),
            choices => context! {
                value => refused.values.get("choices").cloned().unwrap_or_default(),
                error => refused.error(v, "choices"),
            },
            form_error => refused.error(v, "form"),
        },
    ))
}

#[derive(Deserialize)]
pub struct Notice {
    ok: Option<String>,
}

const DONE: [&str; 8] = [
    "created",
    "general",
    "details",
    "document",
    "field",
    "moved",
    "published",
    "discarded",
];

fn notice(v: &Visitor, q: &Notice) -> Option<String> {
    q.ok.as_deref()
        .filter(|k| DONE.contains(k))
        .map(|k| v.t(&format!("designer.done_{k}")))
}

/// `GET /quan-tri/thu-tuc/{code}`: the designer.
pub async fn page(v: Visitor, path: web::Path<String>, q: web::Query<Notice>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        designer_page(&v, &path, notice(&v, &q), Refused::none(), StatusCode::OK).await
    }
    .await;
    v.respond(result)
}

/// Runs one change; on a refusal the designer comes back (422) with `form`'s values.
async fn change<F>(
    v: &Visitor,
    code: &str,
    form: &HashMap<String, String>,
    done: &str,
    anchor: &str,
    f: F,
) -> Result<HttpResponse, AppError>
where
    F: FnOnce(
            &mut Design,
            &crate::services::catalog::design::Context,
        ) -> Vec<crate::services::forms::builder::FieldProblem>
        + Send
        + 'static,
{
    admin(v)?;
    v.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    match designer::edit(v.user()?, code, f).await {
        Ok(_) => Ok(v.redirect(&format!("{}?ok={done}#{anchor}", home(code)))),
        Err(AppError::Invalid { errors }) => {
            let refused = Refused {
                values: form.clone(),
                errors,
            };
            designer_page(v, code, None, refused, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

/// Reads a form (the designer's forms are flat: every value a string).
fn parse<T: serde::de::DeserializeOwned + Default>(form: &HashMap<String, String>) -> T {
    serde_json::to_value(form)
        .ok()
        .and_then(|j| serde_json::from_value(j).ok())
        .unwrap_or_default()
}

/// `POST /quan-tri/thu-tuc/{code}/thong-tin`: names, field, level, time limit, fee.
pub async fn general(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let input: GeneralInput = parse(&form);
    let result = change(&v, &path, &form, "general", "general-h", move |d, ctx| {
        d.set_general(&input, ctx)
    })
    .await;
    v.respond(result)
}

/// `POST /quan-tri/thu-tuc/{code}/can-cu`: legal basis, conditions, paper forms.
pub async fn details(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let input: crate::services::catalog::design::DetailsInput = parse(&form);
    let result = change(&v, &path, &form, "details", "details-h", move |d, _| {
        d.set_details(&input)
    })
    .await;
    v.respond(result)
}

/// `POST /quan-tri/thu-tuc/{code}/giay-to`: one more document.
pub async fn add_document(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let input = DocumentInput {
        name: get("doc_name"),
        name_en: get("doc_name_en"),
        accept: get("doc_accept"),
        max_size_mb: get("doc_max_size_mb"),
        required: form.get("doc_required").cloned(),
    };
    let result = change(&v, &path, &form, "document", "documents-h", move |d, _| {
        d.add_document(&input)
    })
    .await;
    v.respond(result)
}

fn way(op: &str) -> Option<Move> {
    match op {
        "up" => Some(Move::Up),
        "down" => Some(Move::Down),
        _ => None,
    }
}

fn gone() -> Vec<crate::services::forms::builder::FieldProblem> {
    vec![crate::services::forms::builder::FieldProblem {
        input: "form",
        vi: "Mục này không còn trong bản nháp (có thể người khác vừa sửa): tải lại trang".into(),
        en: "That item is no longer in the draft (someone may have just changed it): reload the page"
            .into(),
    }]
}

/// `POST /quan-tri/thu-tuc/{code}/giay-to/sap-xep`: move or remove document `i`.
pub async fn arrange_document(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let i: Option<usize> = form.get("i").and_then(|i| i.parse().ok());
    let op = form.get("op").cloned().unwrap_or_default();
    let missing = gone();
    let result = change(&v, &path, &form, "moved", "documents-h", move |d, _| {
        let done = match (i, way(&op)) {
            (Some(i), Some(w)) => d.move_document(i, w),
            (Some(i), None) if op == "remove" => d.remove_document(i),
            _ => false,
        };
        if done { Vec::new() } else { missing }
    })
    .await;
    v.respond(result)
}

/// `POST /quan-tri/thu-tuc/{code}/truong`: one more field, at the end of the form or a group.
pub async fn add_field(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let input: FieldInput = parse(&form);
    let parent = form.get("parent").cloned().filter(|p| !p.is_empty());
    let result = change(&v, &path, &form, "field", "fields-h", move |d, _| {
        let siblings = match &parent {
            None => d.form.clone(),
            Some(p) => d
                .form
                .iter()
                .find(|f| &f.code == p)
                .map(|f| f.children.clone())
                .unwrap_or_default(),
        };
        match input.to_field(&siblings) {
            Ok(field) => d.add_field(parent.as_deref(), field),
            Err(problems) => problems,
        }
    })
    .await;
    v.respond(result)
}

/// `POST /quan-tri/thu-tuc/{code}/truong/sap-xep`: move or remove the field at `path`.
pub async fn arrange_field(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let field = form.get("path").cloned().unwrap_or_default();
    let op = form.get("op").cloned().unwrap_or_default();
    let missing = gone();
    let result = change(&v, &path, &form, "moved", "fields-h", move |d, _| {
        let done = match way(&op) {
            Some(w) => d.move_field(&field, w),
            None if op == "remove" => d.remove_field(&field),
            None => false,
        };
        if done { Vec::new() } else { missing }
    })
    .await;
    v.respond(result)
}

/// `POST /quan-tri/thu-tuc/{code}/xuat-ban`: publish the draft.
pub async fn publish(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<super::session::CsrfForm>,
) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(&form.csrf)?;
        match designer::publish(&v.state, v.user()?, &path).await {
            Ok(_) => Ok(v.redirect(&format!("{}?ok=published", home(&path)))),
            Err(AppError::Invalid { errors }) => {
                let refused = Refused {
                    values: HashMap::new(),
                    errors,
                };
                designer_page(&v, &path, None, refused, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

/// `POST /quan-tri/thu-tuc/{code}/huy-nhap`: throw the draft away.
pub async fn discard(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<super::session::CsrfForm>,
) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(&form.csrf)?;
        designer::discard(v.user()?, &path).await?;
        // A new procedure's draft was all there was: back to the list.
        match designer::open(v.user()?, &path).await {
            Ok(_) => Ok(v.redirect(&format!("{}?ok=discarded", home(&path)))),
            Err(AppError::NotFound { .. }) => Ok(v.redirect("/quan-tri/thu-tuc?ok=discarded")),
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

/// `GET /quan-tri/thu-tuc/{code}/tep-khai-bao`: the procedure as its tenant-file block.
pub async fn tenant_file(v: Visitor, path: web::Path<String>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        let code = crate::services::catalog::ProcedureCode::parse(&path)
            .map_err(|e| AppError::bad_request("invalid_procedure_code", e.to_string()))?;
        let block = designer::export(v.user()?, code.as_str()).await?;
        Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header((
                actix_web::http::header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}.toml\"",
                    code.as_str().replace('.', "-")
                ),
            ))
            .body(block))
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize)]
pub struct PreviewQuery {
    lang: Option<String>,
}

/// `GET /quan-tri/thu-tuc/{code}/xem-truoc?lang=vi|en`: the citizen's procedure page and
/// form as the draft would make them, in the language asked for; nothing can be sent.
pub async fn preview(
    mut v: Visitor,
    path: web::Path<String>,
    q: web::Query<PreviewQuery>,
) -> HttpResponse {
    if let Some(locale) = q.lang.as_deref().and_then(Locale::parse) {
        v.locale = locale;
    }
    let result = async {
        admin(&v)?;
        let opened = designer::open(v.user()?, &path).await?;
        let (field_vi, field_en) = opened
            .fields
            .iter()
            .find(|(c, _)| *c == opened.design.field)
            .map(|(_, n)| (n.clone(), None))
            .unwrap_or_default();
        let p = opened.design.as_procedure(
            opened.code.as_str(),
            crate::services::catalog::FieldRef {
                code: opened.design.field.clone(),
                name: field_vi,
                name_en: field_en,
            },
        );
        let schema = super::citizen::schema_of(&p)?;
        let fields = super::forms::build(
            &schema.fields(),
            "/form",
            &serde_json::Value::Null,
            &[],
            v.locale,
            &HashMap::new(),
        );
        let other = match v.locale {
            Locale::Vi => "en",
            Locale::En => "vi",
        };
        Ok(v.page(
            "designer_preview.html",
            context! {
                nav => "admin",
                p => super::citizen::item(&p, v.locale),
                documents => super::citizen::documents(&p, v.locale, &[]),
                details => minijinja::Value::from_serialize(&p.details),
                fields, other,
            },
        ))
    }
    .await;
    v.respond(result)
}

/// `GET /quan-tri/thu-tuc`: every procedure and draft, and the form to start a new one.
pub async fn list(v: Visitor, q: web::Query<Notice>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        list_page(&v, notice(&v, &q), Refused::none(), StatusCode::OK).await
    }
    .await;
    v.respond(result)
}

async fn list_page(
    v: &Visitor,
    notice: Option<String>,
    refused: Refused,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    list_page_with(v, notice, refused, None, status).await
}

/// An import's report as the list page shows it: counts, and each procedure it creates or
/// changes with the parts that change.
fn report_view(v: &Visitor, r: &crate::app::catalog_import::ImportReport) -> minijinja::Value {
    use crate::services::catalog::import::Change;
    let items: Vec<_> = r
        .items
        .iter()
        .filter_map(|i| {
            let change = match &i.change {
                Change::Create => v.t("designer.import_create"),
                Change::Update(parts) => {
                    format!("{}: {}", v.t("designer.import_update"), parts.join(", "))
                }
                Change::Unchanged => return None,
            };
            Some(
                context! { line => i.line, code => i.code.clone(), name => i.name.clone(), change },
            )
        })
        .collect();
    context! {
        dry_run => r.dry_run, created => r.created, updated => r.updated,
        unchanged => r.unchanged, items,
        fields => r.new_fields.iter().map(|(c, n)| format!("{n} ({c})")).collect::<Vec<_>>(),
    }
}

async fn list_page_with(
    v: &Visitor,
    notice: Option<String>,
    refused: Refused,
    report: Option<minijinja::Value>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let user = v.user()?;
    let entries = designer::overview(user).await?;
    let fields = crate::app::designer::field_names(user).await?;
    let ins = Inputs {
        v,
        refused: &refused,
    };
    let new = vec![
        ins.hinted(
            ins.make("code", "procedure_code", "text", String::new()),
            "procedure_code_hint",
        ),
        ins.text("name_vi", ""),
        ins.select("field", "", fields),
    ];
    Ok(v.page_with(
        status,
        "designer_list.html",
        context! {
            nav => "admin", notice,
            entries => minijinja::Value::from_serialize(&entries),
            new, errors => refused.summary(v), report,
        },
    ))
}

/// `POST /quan-tri/thu-tuc`: start a new procedure's draft.
pub async fn create(v: Visitor, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(form.get("csrf").map_or("", String::as_str))?;
        let get = |k: &str| form.get(k).map_or("", String::as_str);
        match designer::create(v.user()?, get("code"), get("name_vi"), get("field")).await {
            Ok(code) => Ok(v.redirect(&format!("{}?ok=created", home(code.as_str())))),
            Err(AppError::Invalid { errors }) => {
                let refused = Refused {
                    values: form.into_inner(),
                    errors,
                };
                list_page(&v, None, refused, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

/// `POST /quan-tri/thu-tuc/nhap`: a list from the national procedure database (CSV or .xlsx);
/// "Kiểm tra" shows what would change and writes nothing, "Nhập" imports. A refused file comes
/// back with each problem by line and column.
pub async fn import(
    v: Visitor,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    use crate::services::catalog::import::MAX_BYTES;
    let result = async {
        admin(&v)?;
        let up =
            crate::http::upload::read_form(&req, payload, MAX_BYTES + 4096, &["csrf", "dry_run"])
                .await?;
        v.check_csrf(up.field("csrf"))?;
        let dry_run = !up.field("dry_run").is_empty();
        let Some(file) = up.files.into_iter().next() else {
            let refused = Refused {
                values: HashMap::new(),
                errors: vec![crate::app::dossiers::field_error(
                    "/import".into(),
                    "missing_file",
                    "Chọn tệp danh mục (CSV hoặc Excel)",
                    "Choose the list's file (CSV or Excel)",
                )],
            };
            return list_page(&v, None, refused, StatusCode::UNPROCESSABLE_ENTITY).await;
        };
        match crate::app::catalog_import::import_as(&v.state, v.user()?, file.bytes, dry_run).await
        {
            Ok(report) => {
                let view = report_view(&v, &report);
                list_page_with(&v, None, Refused::none(), Some(view), StatusCode::OK).await
            }
            Err(AppError::Invalid { errors }) => {
                let refused = Refused {
                    values: HashMap::new(),
                    errors,
                };
                list_page(&v, None, refused, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}
