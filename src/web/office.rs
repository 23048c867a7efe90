//! The back office for officers and leaders: the inbox (overdue first, filters, bulk
//! receive and assign) and the processing page with the actions the role may take now.

use super::forms;
use super::session::Visitor;
use crate::app::dossiers::{self as api, ActionBody};
use crate::error::AppError;
use crate::services::dossiers::store::{self, BulkAction, InboxFilter};
use crate::services::dossiers::{Action, DossierCode, Status};
use crate::services::forms::FormSchema;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;
use std::collections::HashMap;

fn official(v: &Visitor) -> Result<(), AppError> {
    if v.user()?.is_official() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

#[derive(Deserialize)]
pub struct InboxQuery {
    status: Option<String>,
    mine: Option<String>,
    ok: Option<String>,
}

pub async fn inbox(v: Visitor, q: web::Query<InboxQuery>) -> HttpResponse {
    let result = async {
        official(&v)?;
        let status = match q.status.as_deref() {
            None | Some("") => None,
            Some(s) => Some(Status::parse(s).ok_or(AppError::NotFound { what: "status" })?),
        };
        let mine = q.mine.is_some();
        let filter = InboxFilter {
            status,
            assignee: mine.then(|| v.user().map(|u| u.account)).transpose()?,
            procedure: None,
            unit: None,
            limit: 200,
            offset: 0,
        };
        let scope = api::scope(&v.state, &v.tenant);
        let now = v.state.now();
        let list = v
            .tenant
            .db
            .run(move |conn| Ok(store::inbox(conn, &scope, &filter, now)?))
            .await?;
        let statuses = [
            "submitted",
            "incomplete",
            "received",
            "in_review",
            "supplement_requested",
            "approved",
            "rejected",
        ];
        // A count only: the address must not put words on an official's page.
        let notice =
            q.ok.as_deref()
                .and_then(|n| n.parse::<u32>().ok())
                .map(|n| super::i18n::fill(&v.t("inbox.bulk_done"), &[("n", n.to_string())]));
        Ok(v.page(
            "inbox.html",
            context! {
                nav => "inbox",
                dossiers => minijinja::Value::from_serialize(&list),
                statuses,
                filter_status => q.status.clone().unwrap_or_default(),
                mine,
                notice,
            },
        ))
    }
    .await;
    v.respond(result)
}

/// `POST /can-bo/nhan`: receive or take the ticked dossiers, each on its own.
pub async fn bulk(v: Visitor, body: web::Bytes) -> HttpResponse {
    let result = async {
        official(&v)?;
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        v.check_csrf(get("csrf").unwrap_or(""))?;
        let action = match get("action") {
            Some("receive") => BulkAction::Receive,
            Some("assign_me") => BulkAction::Assign(v.user()?.account),
            _ => return Err(AppError::bad_request("invalid_action", "action")),
        };
        let codes = pairs
            .iter()
            .filter(|(k, _)| k == "code")
            .take(200)
            .map(|(_, c)| {
                DossierCode::parse(c)
                    .map_err(|e| AppError::bad_request("invalid_dossier_code", e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let scope = api::scope(&v.state, &v.tenant);
        let who = api::caller(v.user()?);
        let now = v.state.now();
        let results = v
            .tenant
            .db
            .run(move |conn| Ok(store::bulk(conn, &scope, &who, &codes, action, now)?))
            .await?;
        let done = results
            .iter()
            .filter(|r| matches!(r.outcome, crate::services::dossiers::BulkOutcome::Done))
            .count();
        Ok(v.redirect(&format!("/can-bo?ok={done}")))
    }
    .await;
    v.respond(result)
}

async fn page(
    v: &Visitor,
    code: DossierCode,
    notice: Option<String>,
    errors: Vec<minijinja::Value>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    official(v)?;
    let scope = api::scope(&v.state, &v.tenant);
    let who = api::caller(v.user()?);
    let now = v.state.now();
    let d = v
        .tenant
        .db
        .run(move |conn| Ok(store::detail(conn, &scope, &code, &who, now)?))
        .await?;
    // The fields and documents the applicant actually saw: the version the dossier was filed
    // under.
    let procedure = crate::app::dossiers::procedure_as_filed(
        &v.state,
        &v.tenant,
        &code_of(&d)?,
        who,
        &d.summary.procedure_code,
    )
    .await?;
    let schema = procedure
        .as_ref()
        .map(|p| FormSchema::parse(&p.form_schema))
        .transpose()
        .map_err(AppError::internal)?;
    // Papers the desk asked for may be handed in at the counter: their scans come with receipt.
    let scan_documents = match &procedure {
        Some(p) if d.summary.status == crate::services::dossiers::Status::Incomplete => {
            super::citizen::documents(p, v.locale, &[])
        }
        _ => vec![],
    };
    let lines = schema
        .map(|s| {
            let fields = forms::build(
                &s.fields(),
                "/form",
                &d.form_data,
                &[],
                v.locale,
                &HashMap::new(),
            );
            forms::summary(&fields)
        })
        .unwrap_or_default();
    let actions: Vec<&str> = d
        .actions
        .iter()
        .filter(|a| !matches!(a, Action::Withdraw | Action::Resubmit | Action::Complete))
        .map(|a| a.as_str())
        .collect();
    let slips = slip_links(&d, v.locale);
    // The other units a step may ask for an opinion (code, name).
    let units: Vec<(String, String)> = match &d.step {
        Some(step)
            if step
                .actions
                .contains(&crate::services::processes::StepAction::AskOpinion) =>
        {
            let here = step.unit.clone();
            let locale = v.locale;
            v.tenant
                .db
                .run(move |c| Ok(crate::services::processes::units::list(c)?))
                .await?
                .into_iter()
                .filter(|u| u.code != here)
                .map(|u| {
                    let name = match (locale, u.name_en) {
                        (crate::locale::Locale::En, Some(en)) => en,
                        _ => u.name_vi,
                    };
                    (u.code, name)
                })
                .collect()
        }
        _ => vec![],
    };
    // An appointment can be moved while the dossier is received and waiting for its result.
    // An approved dossier without a live result may be given one (officials only see this page).
    let can_issue =
        crate::app::results::may_have_result(&d) && !d.results.iter().any(|r| !r.is_revoked());
    let can_extend = d.summary.due_date.is_some()
        && d.summary.status.is_open()
        && !d.summary.status.before_receipt();
    Ok(v.page_with(
        status,
        "process.html",
        context! {
            nav => "inbox",
            d => minijinja::Value::from_serialize(&d),
            lines,
            actions,
            notice,
            errors,
            slips,
            can_extend,
            can_issue,
            scan_documents,
            units,
            channel => match v.locale {
                crate::locale::Locale::Vi => d.channel.label_vi(),
                crate::locale::Locale::En => d.channel.label_en(),
            },
        },
    ))
}

fn code_of(d: &crate::services::dossiers::DossierDetail) -> Result<DossierCode, AppError> {
    DossierCode::parse(&d.summary.code).map_err(AppError::internal)
}

/// The slips a dossier has now, as (address, title) for its page.
pub(super) fn slip_links(
    d: &crate::services::dossiers::DossierDetail,
    locale: crate::locale::Locale,
) -> Vec<(String, &'static str)> {
    crate::app::slips::available(d)
        .into_iter()
        .map(|k| {
            (
                format!("/ho-so/{}/phieu/{}", d.summary.code, k.slug()),
                k.title(locale),
            )
        })
        .collect()
}

/// The processing page again with one message (a conflict the official must see).
pub(super) async fn page_with_message(
    v: &Visitor,
    code: DossierCode,
    message: String,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    page(v, code, None, vec![context! { message }], status).await
}

/// The processing page again, with the field errors of a form on it (422).
pub(super) async fn page_with_errors(
    v: &Visitor,
    code: DossierCode,
    errors: &[crate::error::FieldError],
) -> Result<HttpResponse, AppError> {
    let messages = errors
        .iter()
        .map(|e| context! { message => super::citizen::message(e, v.locale) })
        .collect();
    page(v, code, None, messages, StatusCode::UNPROCESSABLE_ENTITY).await
}

pub async fn dossier(
    v: Visitor,
    path: web::Path<String>,
    q: web::Query<InboxQuery>,
) -> HttpResponse {
    let result = async {
        let code = super::session::page_code(&path)?;
        let notice = q.ok.as_deref().map(|k| match k {
            "ket-qua" => v.t("results.issued_notice"),
            "thu-hoi" => v.t("results.revoked_notice"),
            _ => v.t("process.done"),
        });
        page(&v, code, notice, vec![], StatusCode::OK).await
    }
    .await;
    v.respond(result)
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActForm {
    csrf: String,
    version: String,
    action: String,
    note: Option<String>,
    missing: Option<String>,
}

/// `POST /can-bo/ho-so/{code}`: one workflow action. A stale page (someone acted first) or
/// an action the role may not take comes back as a message on the same page.
pub async fn act(v: Visitor, path: web::Path<String>, form: web::Form<ActForm>) -> HttpResponse {
    let result = async {
        official(&v)?;
        v.check_csrf(&form.csrf)?;
        let code = super::session::page_code(&path)?;
        let action: Action = serde_json::from_value(serde_json::Value::String(form.action.clone()))
            .map_err(|_| AppError::bad_request("invalid_action", "action"))?;
        let body = ActionBody {
            action,
            version: form
                .version
                .parse()
                .map_err(|_| AppError::bad_request("invalid_version", "version"))?,
            note: form.note.clone().filter(|n| !n.trim().is_empty()),
            missing: form
                .missing
                .as_deref()
                .unwrap_or("")
                .lines()
                .map(str::to_owned)
                .collect(),
        };
        match api::take_action(&v.state, v.user()?, code.clone(), body).await {
            Ok(_) => Ok(v.redirect(&format!("/can-bo/ho-so/{code}?ok=1"))),
            Err(AppError::Invalid { errors }) => page_with_errors(&v, code, &errors).await,
            Err(
                e @ (AppError::Conflict { .. } | AppError::BadRequest { .. } | AppError::Forbidden),
            ) => {
                let message = match &e {
                    AppError::Conflict { .. } => v.t("errors.conflict_detail"),
                    AppError::Forbidden => v.t("errors.text_403"),
                    other => other.to_string(),
                };
                let status = actix_web::ResponseError::status_code(&e);
                page(&v, code, None, vec![context! { message }], status).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}
