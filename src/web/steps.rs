//! The processing page's part for a declared process: act at the current step (forward,
//! return, ask another unit's opinion, decide) and give an opinion asked of one's unit. The
//! checks are the API's (`services::dossiers::store::steps`); a refusal comes back as a
//! message on the same page.

use super::session::Visitor;
use crate::app::dossiers::{caller, scope};
use crate::error::AppError;
use crate::services::dossiers::store::{self, Outcome, StepRequest};
use crate::services::processes::{StepAction, UnitCode};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

// Missing fields read as empty, so a forged form gets the friendly refusal.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StepForm {
    csrf: String,
    version: String,
    action: String,
    note: Option<String>,
    unit: Option<String>,
    outcome: Option<String>,
}

fn parse(form: &StepForm) -> Result<StepRequest, AppError> {
    let action: StepAction = serde_json::from_value(serde_json::json!(form.action))
        .map_err(|_| AppError::bad_request("invalid_action", "action"))?;
    let outcome = match form.outcome.as_deref() {
        None | Some("") => None,
        Some("approve") => Some(Outcome::Approve),
        Some("reject") => Some(Outcome::Reject),
        Some(_) => return Err(AppError::bad_request("invalid_outcome", "outcome")),
    };
    let unit = match form.unit.as_deref() {
        None | Some("") => None,
        Some(u) => Some(UnitCode::parse(u).map_err(|e| AppError::bad_request("invalid_unit", e))?),
    };
    Ok(StepRequest {
        action,
        version: form
            .version
            .parse()
            .map_err(|_| AppError::bad_request("invalid_version", "version"))?,
        note: form.note.clone().filter(|n| !n.trim().is_empty()),
        unit,
        outcome,
    })
}

/// A refusal the officer can act on, shown on the processing page; anything else as usual.
async fn answer(
    v: &Visitor,
    code: crate::services::dossiers::DossierCode,
    done: Result<crate::services::dossiers::DossierSummary, AppError>,
) -> Result<HttpResponse, AppError> {
    match done {
        Ok(_) => Ok(v.redirect(&format!("/can-bo/ho-so/{code}?ok=1"))),
        Err(AppError::Invalid { errors }) => {
            super::office::page_with_errors(v, code, &errors).await
        }
        Err(e @ (AppError::Conflict { .. } | AppError::Forbidden)) => {
            let message = match &e {
                AppError::Forbidden => v.t("errors.text_403"),
                other => other.to_string(),
            };
            let e =
                crate::app::dossiers::field_error("/step".into(), "refused", &message, &message);
            super::office::page_with_errors(v, code, &[e]).await
        }
        Err(e) => Err(e),
    }
}

/// `POST /can-bo/ho-so/{code}/buoc`: an action at the current step.
pub async fn act(v: Visitor, path: web::Path<String>, form: web::Form<StepForm>) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        v.check_csrf(&form.csrf)?;
        let code = super::session::page_code(&path)?;
        let req = parse(&form)?;
        let done =
            crate::app::steps::act(&v.state, &v.tenant, caller(user), code.clone(), req).await;
        answer(&v, code, done).await
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OpinionForm {
    csrf: String,
    version: String,
    opinion: String,
}

/// `POST /can-bo/ho-so/{code}/y-kien`: the opinion asked of the caller's unit.
pub async fn opinion(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<OpinionForm>,
) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        v.check_csrf(&form.csrf)?;
        let code = super::session::page_code(&path)?;
        let version: i32 = form
            .version
            .parse()
            .map_err(|_| AppError::bad_request("invalid_version", "version"))?;
        let (scope, who, now) = (scope(&v.state, &v.tenant), caller(user), v.state.now());
        let (target, text) = (code.clone(), form.opinion.clone());
        let done = v
            .tenant
            .db
            .run(move |conn| {
                Ok(store::give_opinion(
                    conn, &scope, &target, &who, &text, version, now,
                )?)
            })
            .await;
        answer(&v, code, done).await
    }
    .await;
    v.respond(result)
}
