//! A dossier's steps through its procedure's declared process: act at the current step, and
//! give the opinion a unit was asked for.

use crate::app::dossiers::{CodePath, caller, check_note, parse_code, scope};
use crate::auth::principal::Principal;
use crate::error::{AppError, Problem};
use crate::services::dossiers::DossierSummary;
use crate::services::dossiers::store::{self, Outcome, StepRequest};
use crate::services::processes::{StepAction, UnitCode};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// `forward`, `return`, `ask_opinion`, `decide` or `transfer` (what the current step
    /// allows).
    #[schema(value_type = String, example = "forward")]
    action: StepAction,
    /// The version the caller saw; a stale one gets 409.
    version: i32,
    #[serde(default)]
    note: Option<String>,
    /// `ask_opinion`: the unit asked.
    #[serde(default)]
    unit: Option<String>,
    /// `decide`: `approve` or `reject`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    outcome: Option<Outcome>,
}

/// Act at the dossier's current step (Xử lý theo quy trình), as a member of the unit and role
/// that step names.
#[utoipa::path(post, path = "/api/v1/dossiers/{code}/step", tag = "dossiers", operation_id = "act_at_step",
    params(("code" = String, Path)), request_body = StepBody, security(("bearer" = [])),
    responses((status = 200, body = DossierSummary),
        (status = 403, body = Problem, description = "not a member of the step's unit with its role", content_type = "application/problem+json"),
        (status = 409, body = Problem, description = "stale version, no step now, not allowed at this step, held by another agency, or a transfer the receiving tenant cannot take", content_type = "application/problem+json")))]
pub async fn act(
    principal: Principal,
    path: web::Path<CodePath>,
    body: web::Json<StepBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let b = body.into_inner();
    check_note(&b.note)?;
    let unit = b
        .unit
        .map(|u| UnitCode::parse(&u).map_err(|e| AppError::bad_request("invalid_unit", e)))
        .transpose()?;
    let req = StepRequest {
        action: b.action,
        version: b.version,
        note: b.note.filter(|n| !n.trim().is_empty()),
        unit,
        outcome: b.outcome,
    };
    let summary =
        crate::app::steps::act(&state, &principal.tenant, caller(&principal), code, req).await?;
    Ok(HttpResponse::Ok().json(summary))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpinionBody {
    version: i32,
    /// The unit's opinion (required).
    opinion: String,
}

/// Give the opinion this dossier waits for (Cho ý kiến), as a member of the unit asked.
#[utoipa::path(post, path = "/api/v1/dossiers/{code}/opinion", tag = "dossiers", operation_id = "give_opinion",
    params(("code" = String, Path)), request_body = OpinionBody, security(("bearer" = [])),
    responses((status = 200, body = DossierSummary),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, description = "no opinion given", content_type = "application/problem+json")))]
pub async fn opinion(
    principal: Principal,
    path: web::Path<CodePath>,
    body: web::Json<OpinionBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = parse_code(&path.code)?;
    let b = body.into_inner();
    check_note(&Some(b.opinion.clone()))?;
    let scope = scope(&state, &principal.tenant);
    let who = caller(&principal);
    let now = state.now();
    let summary = principal
        .tenant
        .db
        .run(move |conn| {
            Ok(store::give_opinion(
                conn, &scope, &code, &who, &b.opinion, b.version, now,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Where the dossiers of declared processes sit, per unit and step, and how many are past the
/// step's due time, with the late codes (Hồ sơ theo bước xử lý). Leaders of the tenant.
#[utoipa::path(get, path = "/api/v1/steps/load", tag = "statistics", operation_id = "load_by_step",
    security(("bearer" = [])),
    responses((status = 200, body = [store::StepLoad]),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn load(
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    principal.require(crate::auth::roles::Role::Leader)?;
    let now = state.now();
    let loads = principal
        .tenant
        .db
        .run(move |conn| Ok(store::load_by_step(conn, now)?))
        .await?;
    Ok(HttpResponse::Ok().json(loads))
}
