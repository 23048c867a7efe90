//! Citizens' pages: the catalog, applying (form → review with documents → submit), their
//! dossiers, a dossier's timeline with the supplement answer and the rating, the public
//! lookup. Every rule is the API's: pages call the same functions.
//!
//! (Long because each page is a small handler with its form type, sharing the catalog, apply
//! and review helpers here; split by page group — catalog, applying, my dossiers — when one
//! grows.)

use super::forms::{self, FormField};
use super::session::Visitor;
use crate::app::dossiers::{self as api, Submission, SupplementBody};
use crate::error::{AppError, FieldError};
use crate::http::upload;
use crate::locale::Locale;
use crate::services::catalog::{OnlineLevel, Procedure};
use crate::services::dossiers::code::normalize_phone;
use crate::services::dossiers::{Action, DossierCode, Status, store};
use crate::services::forms::FormSchema;
use crate::services::text::SearchTerms;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A procedure as the pages list it.
#[derive(Serialize)]
pub(super) struct ProcedureItem {
    code: String,
    name: String,
    field: String,
    level: &'static str,
    days: i32,
    fee: i64,
    online: bool,
}

pub(super) fn item(p: &Procedure, locale: Locale) -> ProcedureItem {
    let (name, field) = match locale {
        Locale::En => (
            p.name_en.clone().unwrap_or_else(|| p.name.clone()),
            p.field
                .name_en
                .clone()
                .unwrap_or_else(|| p.field.name.clone()),
        ),
        Locale::Vi => (p.name.clone(), p.field.name.clone()),
    };
    ProcedureItem {
        code: p.code.clone(),
        name,
        field,
        level: p.online_level.as_str(),
        days: p.processing_days,
        fee: p.fee_vnd,
        online: matches!(p.online_level, OnlineLevel::Full | OnlineLevel::Partial),
    }
}

async fn catalog(
    v: &Visitor,
) -> Result<std::sync::Arc<crate::services::catalog::cache::CachedCatalog>, AppError> {
    crate::app::procedures::cached_catalog(&v.state, &v.tenant).await
}

pub(super) async fn find_procedure(v: &Visitor, code: &str) -> Result<Procedure, AppError> {
    catalog(v)
        .await?
        .procedures()
        .iter()
        .find(|p| p.code == code)
        .cloned()
        .ok_or(AppError::NotFound { what: "procedure" })
}

/// Procedure codes by how many dossiers this tenant received for them (the home page's
/// most-used list), from the statistics counters.
async fn most_used(v: &Visitor) -> Result<Vec<String>, AppError> {
    let tenant = v.tenant.tenant.id;
    v.state
        .stats_db
        .run(move |c| Ok(crate::services::stats::most_received(c, tenant, 8)?))
        .await
}

#[derive(Deserialize)]
pub struct HomeQuery {
    q: Option<String>,
    field: Option<String>,
}

pub async fn home(v: Visitor, q: web::Query<HomeQuery>) -> HttpResponse {
    let result = async {
        let all = catalog(&v).await?;
        let procedures = all.procedures();
        let text = q.q.clone().unwrap_or_default();
        let terms = SearchTerms::parse(&text);
        let field = q.field.clone().filter(|f| !f.is_empty());
        if terms.is_some() || field.is_some() {
            let found: Vec<ProcedureItem> = procedures
                .iter()
                .filter(|p| field.as_ref().is_none_or(|f| &p.field.code == f))
                .filter(|p| terms.as_ref().is_none_or(|t| t.matches(&p.search_text)))
                .map(|p| item(p, v.locale))
                .collect();
            return Ok(v.page(
                "home.html",
                context! { nav => "home", searched => true, q => text, total => found.len(), procedures => found },
            ));
        }
        if let Some(cached) = v.from_cache(&all) {
            return Ok(cached);
        }
        let used = most_used(&v).await?;
        let mut popular: Vec<&Procedure> = used
            .iter()
            .filter_map(|c| procedures.iter().find(|p| &p.code == c))
            .collect();
        for p in procedures {
            if popular.len() >= 8 {
                break;
            }
            if !popular.iter().any(|x| x.code == p.code) {
                popular.push(p);
            }
        }
        let mut fields: Vec<(String, String, usize)> = Vec::new();
        for p in procedures {
            let name = match v.locale {
                Locale::En => p.field.name_en.clone().unwrap_or_else(|| p.field.name.clone()),
                Locale::Vi => p.field.name.clone(),
            };
            match fields.iter_mut().find(|(c, _, _)| *c == p.field.code) {
                Some(f) => f.2 += 1,
                None => fields.push((p.field.code.clone(), name, 1)),
            }
        }
        let fields: Vec<_> = fields
            .into_iter()
            .map(|(code, name, count)| context! { code, name, count })
            .collect();
        let popular: Vec<_> = popular.into_iter().map(|p| item(p, v.locale)).collect();
        Ok(v.page_cached(
            &all,
            "home.html",
            context! { nav => "home", searched => false, q => "", procedures => popular, fields },
        ))
    }
    .await;
    v.respond(result)
}

#[derive(Serialize)]
pub(super) struct DocumentItem {
    name: String,
    required: bool,
    accept: String,
    max_size_mb: u32,
    error: Option<String>,
}

pub(super) fn documents(p: &Procedure, locale: Locale, errors: &[FieldError]) -> Vec<DocumentItem> {
    p.documents
        .iter()
        .enumerate()
        .map(|(i, d)| DocumentItem {
            name: match locale {
                Locale::En => d.name_en.clone().unwrap_or_else(|| d.name.clone()),
                Locale::Vi => d.name.clone(),
            },
            required: d.required,
            accept: d
                .accept
                .iter()
                .map(|k| format!("{k:?}").to_uppercase())
                .collect::<Vec<_>>()
                .join(", "),
            max_size_mb: d.max_size_mb,
            error: errors
                .iter()
                .find(|e| e.path == format!("/documents/{i}"))
                .map(|e| message(e, locale)),
        })
        .collect()
}

pub(super) fn message(e: &FieldError, locale: Locale) -> String {
    match locale {
        Locale::Vi => e.message.clone(),
        Locale::En => e.message_en.clone(),
    }
}

pub async fn procedure(v: Visitor, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let all = catalog(&v).await?;
        if let Some(cached) = v.from_cache(&all) {
            return Ok(cached);
        }
        let p = all
            .procedures()
            .iter()
            .find(|p| p.code == *path)
            .ok_or(AppError::NotFound { what: "procedure" })?;
        Ok(v.page_cached(
            &all,
            "procedure.html",
            context! {
                p => item(p, v.locale), documents => documents(p, v.locale, &[]),
                details => minijinja::Value::from_serialize(&p.details),
            },
        ))
    }
    .await;
    v.respond(result)
}

pub(super) fn schema_of(p: &Procedure) -> Result<FormSchema, AppError> {
    FormSchema::parse(&p.form_schema).map_err(AppError::internal)
}

fn phone_field(v: &Visitor, value: &str, errors: &[FieldError]) -> FormField {
    FormField {
        name: "/phone".into(),
        id: forms::id_of("/phone"),
        label: v.t("apply.phone"),
        input: "tel",
        required: true,
        hint: Some(v.t("apply.phone_hint")),
        value: value.to_owned(),
        error: errors
            .iter()
            .find(|e| e.path == "/phone")
            .map(|e| message(e, v.locale)),
        ..FormField::default()
    }
}

/// The error list at the top of a form: each message links to its field.
pub(super) fn summary_of(errors: &[FieldError], locale: Locale) -> Vec<minijinja::Value> {
    errors
        .iter()
        .map(|e| {
            let id = if e.path.starts_with("/documents/") {
                format!("doc-{}", e.path.trim_start_matches("/documents/"))
            } else {
                forms::id_of(&e.path)
            };
            context! { id, message => message(e, locale) }
        })
        .collect()
}

fn apply_page(
    v: &Visitor,
    p: &Procedure,
    phone: &str,
    data: &serde_json::Value,
    errors: &[FieldError],
    extra_rows: &HashMap<String, usize>,
) -> Result<HttpResponse, AppError> {
    let schema = schema_of(p)?;
    let fields = forms::build(
        &schema.fields(),
        "/form",
        data,
        errors,
        v.locale,
        extra_rows,
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(v.page_with(
        status,
        "apply.html",
        context! {
            p => item(p, v.locale),
            phone => phone_field(v, phone, errors),
            fields,
            // The list at the top words a date's error as the field does.
            errors => summary_of(
                &forms::portal_errors(&schema.fields(), "/form", data, errors),
                v.locale,
            ),
        },
    ))
}

// A `Result` although every level passes today: an information-only level will refuse here.
#[allow(clippy::unnecessary_wraps)]
fn online(p: &Procedure) -> Result<(), AppError> {
    // Every listed level is online today; an information-only procedure would stop here.
    match p.online_level {
        OnlineLevel::Full | OnlineLevel::Partial => Ok(()),
    }
}

pub async fn apply_form(v: Visitor, path: web::Path<String>) -> HttpResponse {
    let result = async {
        v.user()?;
        let p = find_procedure(&v, &path).await?;
        online(&p)?;
        apply_page(&v, &p, "", &serde_json::json!({}), &[], &HashMap::new())
    }
    .await;
    v.respond(result)
}

pub(super) fn pairs_of(body: &web::Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(super) fn value_of<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Phone and form checked with the API's rules; every error at once, paths as the API's.
fn check(
    p: &Procedure,
    phone: &str,
    data: &serde_json::Value,
) -> Result<Vec<FieldError>, AppError> {
    let mut errors = Vec::new();
    if normalize_phone(phone).is_none() {
        errors.push(FieldError {
            path: "/phone".into(),
            code: "format".into(),
            message: "Số điện thoại: không hợp lệ (10 chữ số, bắt đầu bằng 0)".into(),
            message_en: "Phone: invalid (10 digits starting with 0)".into(),
        });
    }
    if let Err(mut e) = schema_of(p)?.validate(data) {
        for fe in &mut e {
            fe.path = format!("/form{}", fe.path);
        }
        errors.append(&mut e);
    }
    Ok(errors)
}

/// `POST /thu-tuc/{code}/nop`: step 1 sent. Wrong fields come back with what was typed;
/// right ones go on to the review step, where the documents are attached.
pub async fn apply_check(v: Visitor, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let result = async {
        v.user()?;
        let pairs = pairs_of(&body);
        v.check_csrf(value_of(&pairs, "csrf").unwrap_or(""))?;
        let p = find_procedure(&v, &path).await?;
        online(&p)?;
        let schema = schema_of(&p)?;
        let data = forms::parse(&schema.fields(), "/form", &pairs);
        let phone = value_of(&pairs, "/phone").unwrap_or("").trim().to_owned();
        if let Some(list) = value_of(&pairs, "add_row") {
            let extra = HashMap::from([(list.to_owned(), 1)]);
            return apply_page(&v, &p, &phone, &data, &[], &extra);
        }
        if value_of(&pairs, "edit").is_some() {
            return apply_page(&v, &p, &phone, &data, &[], &HashMap::new());
        }
        let errors = check(&p, &phone, &data)?;
        if !errors.is_empty() {
            return apply_page(&v, &p, &phone, &data, &errors, &HashMap::new());
        }
        let offers = wallet_offers(&v, &p).await?;
        review_page(&v, &p, &phone, &data, &pairs, &[], offers)
    }
    .await;
    v.respond(result)
}

/// For each of the procedure's documents, what the signed-in citizen's wallet may answer it
/// with (the procedure's suggested results first).
async fn wallet_offers(v: &Visitor, p: &Procedure) -> Result<Vec<Vec<minijinja::Value>>, AppError> {
    let items = crate::app::wallet::list(&v.state, v.user()?.account).await?;
    Ok(crate::app::wallet::offers(p, &items)
        .into_iter()
        .map(|offers| {
            offers
                .into_iter()
                .map(|(item, suggested)| {
                    context! {
                        id => item.id.to_string(),
                        title => match (v.locale, &item.title_en) {
                            (Locale::En, Some(en)) => en.clone(),
                            _ => item.title.clone(),
                        },
                        result_number => item.result_number,
                        issuer => item.issuer,
                        added_at => item.added_at,
                        suggested,
                    }
                })
                .collect()
        })
        .collect())
}

/// The wallet items the review page's selects chose (`wallet-{index}` = item id).
fn wallet_picks(
    p: &Procedure,
    up: &upload::Upload,
) -> Result<Vec<crate::app::wallet::WalletPick>, AppError> {
    let mut picks = Vec::new();
    for i in 0..p.documents.len() {
        let chosen = up.field(&format!("wallet-{i}")).trim();
        if chosen.is_empty() {
            continue;
        }
        let item = uuid::Uuid::parse_str(chosen)
            .map_err(|_| AppError::bad_request("invalid_part", format!("wallet-{i}")))?;
        picks.push(crate::app::wallet::WalletPick { document: i, item });
    }
    Ok(picks)
}

#[allow(clippy::too_many_arguments)] // the page's plain parts
fn review_page(
    v: &Visitor,
    p: &Procedure,
    phone: &str,
    data: &serde_json::Value,
    pairs: &[(String, String)],
    errors: &[FieldError],
    wallet: Vec<Vec<minijinja::Value>>,
) -> Result<HttpResponse, AppError> {
    let schema = schema_of(p)?;
    let fields = forms::build(
        &schema.fields(),
        "/form",
        data,
        &[],
        v.locale,
        &HashMap::new(),
    );
    let submission = serde_json::json!({ "procedure": p.code, "phone": phone, "form": data });
    let fee = p.fee_rule.fee(p.fee_vnd, data);
    // What step 1 sent, to go back and edit it.
    let kept: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k.starts_with("/form/") || k == "/phone")
        .cloned()
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(v.page_with(
        status,
        "review.html",
        context! {
            p => item(p, v.locale),
            phone,
            lines => forms::summary(&fields),
            pairs => kept,
            data => submission.to_string(),
            nonce => super::session::random_token(),
            fee,
            documents => documents(p, v.locale, errors),
            errors => summary_of(errors, v.locale),
            wallet,
        },
    ))
}

/// `POST /thu-tuc/{code}/gui`: the reviewed data and the documents, submitted through the
/// same function as the API. Refused files come back on the review page; nothing is kept.
pub async fn apply_submit(
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        let limit = v.state.settings.dossiers.max_request_mb as usize * 1024 * 1024;
        let p = find_procedure(&v, &path).await?;
        let selects: Vec<String> = (0..p.documents.len())
            .map(|i| format!("wallet-{i}"))
            .collect();
        let mut extra = vec!["csrf", "nonce"];
        extra.extend(selects.iter().map(String::as_str));
        let upload = upload::read_form(&req, payload, limit, &extra).await?;
        v.check_csrf(upload.field("csrf"))?;
        // A second press of the button (the first still running, or done) must not file a
        // second dossier: each review page's nonce is spent once.
        // The review page's nonce is also the submission's idempotency key, kept in the
        // dossier's own transaction: even when the first send's answer was lost (a crash after
        // the commit), sending the page again leads to that dossier.
        let retry = api::portal_attempt(user.account, upload.field("nonce"));
        let once =
            match super::session::Once::claim(&v.state, v.tenant.tenant.id, upload.field("nonce"))
                .await
            {
                Err(AppError::Conflict { code, detail }) => {
                    return match api::earlier_answer(&v.tenant, &retry).await? {
                        Some(first) => Ok(v.redirect(&format!(
                            "/ho-so/{}",
                            first["code"].as_str().unwrap_or_default()
                        ))),
                        None => Err(AppError::Conflict { code, detail }),
                    };
                }
                other => other?,
            };
        if let Some(code) = once.already_done() {
            return Ok(v.redirect(&format!("/ho-so/{code}")));
        }
        let picks = wallet_picks(&p, &upload)?;
        let mut sub: Submission = serde_json::from_value(upload.data)
            .map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?;
        if sub.procedure != *path {
            return Err(AppError::bad_request("invalid_body", "procedure"));
        }
        sub.wallet = picks;
        let (phone, data) = (sub.phone.clone(), sub.form.clone());
        let submitted = api::submit_dossier(&v.state, user, sub, upload.files, Some(retry)).await;
        let code = submitted
            .as_ref()
            .ok()
            .map(super::super::app::dossiers::Submitted::code);
        once.settle(&v.state, code.as_deref()).await?;
        match submitted {
            Ok(s) => Ok(v.redirect(&format!("/ho-so/{}?moi=1", s.code()))),
            Err(AppError::Invalid { errors }) => {
                if errors.iter().all(|e| e.path.starts_with("/documents/")) {
                    let pairs = pairs_from(&phone, &data);
                    let offers = wallet_offers(&v, &p).await?;
                    review_page(&v, &p, &phone, &data, &pairs, &errors, offers)
                } else {
                    apply_page(&v, &p, &phone, &data, &errors, &HashMap::new())
                }
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

/// The step-1 inputs that give `data` back (for the review page's edit button).
fn pairs_from(phone: &str, data: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    walk(&format!("{prefix}/{k}"), v, out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(&format!("{prefix}/{i}"), v, out);
                }
            }
            serde_json::Value::Bool(true) => out.push((prefix.to_owned(), "on".into())),
            serde_json::Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            serde_json::Value::Number(n) => out.push((prefix.to_owned(), n.to_string())),
            _ => {}
        }
    }
    let mut out = vec![("/phone".to_owned(), phone.to_owned())];
    walk("/form", data, &mut out);
    out
}

pub async fn my_dossiers(v: Visitor) -> HttpResponse {
    let result = async {
        let account = v.user()?.account;
        // Dossiers a desk registered for this person join the list once they prove them.
        let claimed = crate::app::desk::claim(&v.state, account).await?;
        let rows = v
            .state
            .shared
            .run(move |c| Ok(store::across_tenants(c, account)?))
            .await?;
        let here = v.tenant.tenant.id;
        let list: Vec<_> = rows
            .into_iter()
            .map(|(tenant, d)| {
                let portal = v
                    .state
                    .registry
                    .by_id(tenant)
                    .map(|t| match (v.locale, &t.name_en) {
                        (Locale::En, Some(en)) => en.clone(),
                        _ => t.name_vi.clone(),
                    })
                    .unwrap_or_default();
                context! {
                    here => tenant == here,
                    portal,
                    code => d.code,
                    procedure_name => d.procedure_name,
                    status => d.status,
                    submitted_at => d.submitted_at.to_rfc3339(),
                }
            })
            .collect();
        Ok(v.page(
            "dossiers.html",
            context! {
                nav => "dossiers",
                dossiers => list,
                claimed => (claimed > 0).then(|| super::i18n::fill(
                    &v.t("dossiers.claimed"),
                    &[("n", claimed.to_string())],
                )),
            },
        ))
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize)]
pub struct DossierQuery {
    moi: Option<String>,
    ok: Option<String>,
}

async fn dossier_page(
    v: &Visitor,
    code: DossierCode,
    created: bool,
    notice: Option<String>,
    errors: &[FieldError],
) -> Result<HttpResponse, AppError> {
    let user = v.user()?;
    let scope = api::scope(&v.state, &v.tenant);
    let who = api::caller(user);
    // The store lets only the applicant and the tenant's officials see a dossier.
    let now = v.state.now();
    let d = v
        .tenant
        .db
        .run(move |conn| Ok(store::detail(conn, &scope, &code, &who, now)?))
        .await?;
    let p = find_procedure(v, &d.summary.procedure_code).await.ok();
    // The desk's request to complete the dossier is answered the same way as a supplement.
    let supplement = matches!(
        d.summary.status,
        Status::SupplementRequested | Status::Incomplete
    );
    let slips = super::office::slip_links(&d, v.locale);
    let can_rate = d.summary.status == Status::Returned && d.rating.is_none();
    let can_withdraw = d.actions.contains(&Action::Withdraw);
    let can_pay = d.payment_status == crate::services::payments::PaymentStatus::Due
        && d.summary.status != Status::Withdrawn;
    let docs = p
        .as_ref()
        .map(|p| documents(p, v.locale, errors))
        .unwrap_or_default();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let gateway = if can_pay {
        crate::app::payments::gateway_origin(&v.state, &v.tenant)
            .await
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(v.page_to(
        status,
        "dossier.html",
        context! {
            nav => "dossiers",
            d => minijinja::Value::from_serialize(&d),
            created,
            notice,
            supplement,
            slips,
            can_rate,
            can_withdraw,
            can_pay,
            documents => docs,
            errors => summary_of(errors, v.locale),
        },
        &gateway,
    ))
}

pub async fn dossier(
    v: Visitor,
    path: web::Path<String>,
    q: web::Query<DossierQuery>,
) -> HttpResponse {
    let result = async {
        let code = super::session::page_code(&path)?;
        let notice = q.ok.as_deref().map(|k| match k {
            "bo-sung" => v.t("dossier.supplement_sent"),
            "danh-gia" => v.t("dossier.rating_sent"),
            "thanh-toan" => v.t("dossier.paid"),
            "thanh-toan-loi" => v.t("dossier.not_paid"),
            _ => v.t("dossier.saved"),
        });
        dossier_page(&v, code, q.moi.is_some(), notice, &[]).await
    }
    .await;
    v.respond(result)
}

/// `POST /ho-so/{code}/bo-sung`: the supplement answer (files and a note).
pub async fn supplement(
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        let code = super::session::page_code(&path)?;
        let limit = v.state.settings.dossiers.max_request_mb as usize * 1024 * 1024;
        let up = upload::read_form(&req, payload, limit, &["csrf", "version", "note"]).await?;
        v.check_csrf(up.field("csrf"))?;
        let version = up
            .field("version")
            .parse()
            .map_err(|_| AppError::bad_request("invalid_version", "version"))?;
        let note = Some(up.field("note").trim().to_owned()).filter(|n| !n.is_empty());
        let body = SupplementBody {
            version,
            note,
            form: None,
        };
        match api::answer_supplement(&v.state, user, code.clone(), body, up.files).await {
            Ok(_) => Ok(v.redirect(&format!("/ho-so/{code}?ok=bo-sung"))),
            Err(AppError::Invalid { errors }) => dossier_page(&v, code, false, None, &errors).await,
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RateForm {
    csrf: String,
    rating: Option<String>,
    comment: Option<String>,
}

pub async fn rate(v: Visitor, path: web::Path<String>, form: web::Form<RateForm>) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        v.check_csrf(&form.csrf)?;
        let code = super::session::page_code(&path)?;
        let rating = form
            .rating
            .as_deref()
            .and_then(|r| r.parse::<i16>().ok())
            .filter(|r| (1..=5).contains(r))
            .ok_or_else(|| AppError::bad_request("invalid_rating", "rating: 1–5"))?;
        api::rate_dossier(&v.state, user, code.clone(), rating, form.comment.clone()).await?;
        Ok(v.redirect(&format!("/ho-so/{code}?ok=danh-gia")))
    }
    .await;
    v.respond(result)
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct VersionForm {
    csrf: String,
    version: String,
}

pub async fn withdraw(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<VersionForm>,
) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        v.check_csrf(&form.csrf)?;
        let code = super::session::page_code(&path)?;
        let body = api::ActionBody {
            action: Action::Withdraw,
            version: form
                .version
                .parse()
                .map_err(|_| AppError::bad_request("invalid_version", "version"))?,
            note: None,
            missing: vec![],
        };
        api::take_action(&v.state, user, code.clone(), body).await?;
        Ok(v.redirect(&format!("/ho-so/{code}?ok=rut")))
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize)]
pub struct LookupQuery {
    /// The code, when the page is opened from a slip's QR code.
    ma: Option<String>,
}

pub async fn lookup_form(v: Visitor, q: web::Query<LookupQuery>) -> HttpResponse {
    // Only a well-formed code is echoed back into the page.
    let code =
        q.ma.as_deref()
            .and_then(|c| DossierCode::parse(c).ok())
            .map(|c| c.to_string())
            .unwrap_or_default();
    v.page(
        "lookup.html",
        context! { nav => "lookup", code, phone => "" },
    )
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LookupForm {
    csrf: String,
    code: String,
    phone: String,
}

/// `POST /tra-cuu`: a POST so the phone number never appears in an address or a log.
pub async fn lookup(v: Visitor, req: HttpRequest, form: web::Form<LookupForm>) -> HttpResponse {
    let result = async {
        v.check_csrf(&form.csrf)?;
        let code_text = form.code.trim().to_uppercase();
        let render =
            |status: StatusCode, found: Option<minijinja::Value>, errors: Vec<minijinja::Value>| {
                v.page_with(
                    status,
                    "lookup.html",
                    context! {
                        nav => "lookup",
                        code => code_text,
                        phone => form.phone,
                        code_error => errors.first().and_then(|e| e.get_attr("message").ok()),
                        found,
                        errors,
                    },
                )
            };
        let Ok(code) = DossierCode::parse(&code_text) else {
            let e = context! { id => "code", message => v.t("lookup.bad_code") };
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, None, vec![e]));
        };
        let ip = crate::client_addr::of(&req);
        match api::lookup_status(&v.state, &v.tenant, ip, code, &form.phone).await {
            Ok(found) => Ok(render(
                StatusCode::OK,
                Some(minijinja::Value::from_serialize(&found)),
                vec![],
            )),
            Err(AppError::NotFound { .. }) => {
                let e = context! { id => "code", message => v.t("lookup.not_found") };
                Ok(render(StatusCode::NOT_FOUND, None, vec![e]))
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountQuery {
    ok: Option<String>,
}

pub async fn account(v: Visitor, q: web::Query<AccountQuery>) -> HttpResponse {
    let saved = q.ok.as_deref() == Some("thong-bao");
    let result = account_page(&v, StatusCode::OK, saved, None).await;
    v.respond(result)
}

/// The account page; `chosen` is a refused choice of channels, shown as sent.
async fn account_page(
    v: &Visitor,
    status: StatusCode,
    saved: bool,
    chosen: Option<crate::notify::Preferences>,
) -> Result<HttpResponse, AppError> {
    let user = v.user()?;
    let account = user.account;
    let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
    let profile = v
        .state
        .shared
        .run(move |c| Ok(crate::auth::sso::profile(c, account)?))
        .await?
        .ok_or(AppError::Unauthorized)?;
    let prefs = match chosen {
        Some(p) => p,
        None => crate::app::accounts::notifications(&v.state, account).await?,
    };
    let texts = &v.state.settings.texts;
    Ok(v.page_with(
        status,
        "account.html",
        context! {
            nav => "account",
            profile => context! { name => profile.full_name, email => profile.email },
            roles,
            prefs,
            sms => texts.enabled,
            zalo => texts.enabled && !texts.zalo_templates.is_empty(),
            saved,
            refused => chosen.is_some(),
        },
    ))
}

// Unticked boxes are absent from the form: every field is optional.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NotificationsForm {
    csrf: String,
    email: Option<String>,
    sms: Option<String>,
    zalo: Option<String>,
}

/// `POST /tai-khoan/thong-bao`: the channels the account wants notices on.
pub async fn notifications(v: Visitor, form: web::Form<NotificationsForm>) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        v.check_csrf(&form.csrf)?;
        let prefs = crate::notify::Preferences {
            email: form.email.is_some(),
            sms: form.sms.is_some(),
            zalo: form.zalo.is_some(),
        };
        if prefs.channels().is_empty() {
            // Shown next to the boxes, as ticked: nothing is saved.
            return account_page(&v, StatusCode::UNPROCESSABLE_ENTITY, false, Some(prefs)).await;
        }
        crate::app::accounts::set_notifications(&v.state, user.account, prefs).await?;
        Ok(v.redirect("/tai-khoan?ok=thong-bao"))
    }
    .await;
    v.respond(result)
}

/// An attached file, for its applicant and the tenant's officials (the store decides).
pub async fn download(v: Visitor, path: web::Path<(String, uuid::Uuid)>) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        let (code, id) = path.into_inner();
        let code = super::session::page_code(&code)?;
        let who = api::caller(user);
        let (key, name, media_type) = v
            .tenant
            .db
            .run(move |conn| Ok(store::attachment(conn, &code, &who, id)?))
            .await?;
        let bytes = api::read_stored(&v.state, &key).await?;
        Ok(crate::http::download::attachment(&name, &media_type, bytes))
    }
    .await;
    v.respond(result)
}

/// `POST /ho-so/{code}/thanh-toan`: off to the payment gateway for the fee due.
pub async fn pay(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<super::session::CsrfForm>,
) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        v.check_csrf(&form.csrf)?;
        let code = super::session::page_code(&path)?;
        let back = format!("{}/ho-so/{code}/thanh-toan/ket-qua", v.origin());
        let checkout = crate::app::payments::checkout(&v.state, user, code, &back).await?;
        Ok(v.redirect(&checkout.checkout_url))
    }
    .await;
    v.respond(result)
}

/// The gateway sends the browser back here; what it carries is checked (and the gateway
/// asked) before the dossier page says paid or not.
pub async fn paid(v: Visitor, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let account = v.user()?.account;
        let code = super::session::page_code(&path)?;
        // Only this applicant's payment for this dossier: any other reference is not found.
        let reference = url::form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, _)| k == "txn_ref")
            .map(|(_, r)| r.into_owned())
            .ok_or(AppError::NotFound { what: "payment" })?;
        let owner = v
            .tenant
            .db
            .run(move |c| Ok(crate::services::payments::store::owner_of(c, &reference)?))
            .await?;
        if owner != Some((code.to_string(), Some(account))) {
            return Err(AppError::NotFound { what: "payment" });
        }
        let answer =
            crate::app::payments::returned(&v.state, &v.tenant, req.query_string()).await?;
        let outcome = if answer.status == crate::services::payments::IntentStatus::Paid {
            "thanh-toan"
        } else {
            "thanh-toan-loi"
        };
        Ok(v.redirect(&format!("/ho-so/{code}?ok={outcome}")))
    }
    .await;
    v.respond(result)
}

/// `GET /thong-ke`: the tenant's published results this year (Công khai kết quả giải quyết),
/// the same aggregates as the public statistics API: no personal data.
pub async fn public_stats(v: Visitor) -> HttpResponse {
    let result = async {
        let today = crate::services::calendar::local_date(v.state.now());
        let from =
            chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&today), 1, 1).unwrap_or(today);
        let to = today.succ_opt().unwrap_or(today);
        let report =
            crate::app::stats::report(&v.state, vec![v.tenant.tenant.clone()], from, to).await?;
        let t = &report.total;
        let channels: Vec<_> = [
            (
                "desk.channel_online",
                t.counts.received_online,
                t.online_share,
            ),
            (
                "desk.channel_counter",
                t.counts.received_counter,
                t.counter_share,
            ),
            (
                "desk.channel_postal",
                t.counts.received_postal,
                t.postal_share,
            ),
        ]
        .into_iter()
        .map(|(key, count, share)| context! { label => v.t(key), count, share })
        .collect();
        Ok(v.page(
            "public_stats.html",
            context! {
                nav => "stats",
                from,
                last => today,
                total => minijinja::Value::from_serialize(&report.total),
                channels,
                by_field => minijinja::Value::from_serialize(&report.by_field),
            },
        ))
    }
    .await;
    v.respond(result)
}
