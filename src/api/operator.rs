//! Operator API for the back office: the notification outbox.
//!
//! Guarded by a bearer token whose SHA-256 is configured (`operator.api_token_sha256`), or by
//! an access token of the operator console's own audience held by an operator signed in with
//! a second factor.

use crate::error::{AppError, Problem};
use crate::mail::outbox;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Proof that the caller is a platform operator: either a signed-in account holding the
/// `operator` role in a session opened with its second factor, with a token issued to the
/// operator console (audience `operator-console`), or (for automation) the bearer
/// token whose SHA-256 is configured in `operator.api_token_sha256`.
pub struct Operator {
    /// The signed-in operator's account; `None` for the automation token.
    pub account: Option<uuid::Uuid>,
}

impl FromRequest for Operator {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing")))?;
            let token = token.ok_or(AppError::Unauthorized)?;
            if let Some(expected) = state.settings.operator.api_token_sha256.as_deref() {
                let digest = crate::services::attachments::checksum(token.as_bytes());
                if constant_time_eq(
                    digest.as_bytes(),
                    expected.trim().to_ascii_lowercase().as_bytes(),
                ) {
                    return Ok(Operator { account: None });
                }
            }
            // Only the console's own audience: a token issued to a tenant's portal or to an
            // outside system never opens the operator API, whoever it belongs to.
            let claims = crate::auth::tokens::verify(
                &state.keyring(),
                &token,
                state.settings.auth.issuer.trim_end_matches('/'),
                crate::auth::sso::CONSOLE_CLIENT_ID,
            )
            .map_err(|_| AppError::Unauthorized)?;
            if claims.client_id != crate::auth::sso::CONSOLE_CLIENT_ID {
                return Err(AppError::Unauthorized);
            }
            let revoked = crate::auth::revocation::is_revoked(
                state.notifier.redis(),
                &state.settings.redis.prefix,
                claims.sid,
            )
            .await
            .map_err(|e| AppError::Unavailable(e.into()))?;
            if revoked {
                return Err(AppError::Unauthorized);
            }
            let allowed = state
                .shared
                .run(move |c| {
                    Ok(crate::auth::roles::is_operator(c, claims.sub)?
                        && crate::auth::sso::session_mfa(c, claims.sid)?)
                })
                .await?;
            if allowed {
                Ok(Operator {
                    account: Some(claims.sub),
                })
            } else {
                Err(AppError::Forbidden)
            }
        })
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxCount {
    /// Tenant slug, or null for platform mail.
    pub tenant: Option<String>,
    /// `email`, `sms` or `zalo`.
    pub channel: crate::texts::Channel,
    pub status: outbox::OutboxStatus,
    pub count: i64,
    /// Age in seconds of the oldest message of this group not sent yet.
    pub oldest_unsent_secs: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FailedMail {
    pub id: i64,
    pub tenant: Option<String>,
    /// `email`, `sms` or `zalo`: the recipient is an address or a mobile number.
    pub channel: crate::texts::Channel,
    pub template: String,
    pub recipient: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FailedParams {
    /// At most this many rows, 1–500 (default 50).
    limit: Option<i64>,
}

/// Outbox counts by tenant and status (Thống kê thư chờ gửi).
#[utoipa::path(get, path = "/api/v1/operator/outbox", tag = "operator",
    security(("operator_token" = [])),
    responses((status = 200, body = [OutboxCount]), (status = 401, body = Problem)))]
pub async fn outbox_counts(
    _: Operator,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<OutboxCount>>, AppError> {
    let rows = state.shared.run(|c| Ok(outbox::status_counts(c)?)).await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|r| OutboxCount {
                tenant: r.tenant,
                channel: r.channel,
                status: r.status,
                count: r.count,
                oldest_unsent_secs: r.oldest_unsent_secs,
            })
            .collect(),
    ))
}

/// Messages parked as failed, most recent first (Thư gửi thất bại).
#[utoipa::path(get, path = "/api/v1/operator/outbox/failed", tag = "operator",
    security(("operator_token" = [])), params(FailedParams),
    responses((status = 200, body = [FailedMail]), (status = 401, body = Problem)))]
pub async fn failed_mail(
    operator: Operator,
    params: web::Query<FailedParams>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<FailedMail>>, AppError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request(
            "invalid_limit",
            "limit: from 1 to 500",
        ));
    }
    // The list holds recipients' addresses: who looked is recorded.
    let by = operator.account;
    let rows = state
        .shared
        .run(move |c| {
            let rows = outbox::failed(c, limit)?;
            crate::auth::accounts::audit(
                c,
                by,
                None,
                None,
                "operator.failed_mail_viewed",
                serde_json::json!({ "rows": rows.len() }),
            )?;
            Ok(rows)
        })
        .await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|r| FailedMail {
                id: r.id,
                tenant: r.tenant,
                channel: r.channel,
                template: r.template,
                recipient: r.recipient,
                attempts: r.attempts,
                last_error: r.last_error,
                updated_at: r.updated_at,
            })
            .collect(),
    ))
}

/// Queue a failed message again (Gửi lại thư).
#[utoipa::path(post, path = "/api/v1/operator/outbox/{id}/retry", tag = "operator",
    security(("operator_token" = [])),
    params(("id" = i64, Path, description = "Outbox message id")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn retry_mail(
    operator: Operator,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let by = operator.account;
    let retried = state
        .shared
        .run(move |c| {
            let retried = outbox::retry(c, id)?;
            if retried {
                crate::auth::accounts::audit(
                    c,
                    by,
                    None,
                    None,
                    "operator.mail_retry",
                    serde_json::json!({ "outbox_id": id }),
                )?;
            }
            Ok(retried)
        })
        .await?;
    if retried {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(AppError::NotFound {
            what: "failed message",
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageParams {
    /// `YYYY-MM` (default: this month, Vietnam time).
    month: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
    /// Measure every tenant's storage now (one query per tenant) instead of using the hourly
    /// figure.
    measure: Option<bool>,
}

/// Usage per tenant for a month (Số liệu sử dụng): dossiers submitted, active citizens'
/// accounts, mail sent, API calls, storage. As JSON or CSV.
#[utoipa::path(get, path = "/api/v1/operator/usage", tag = "operator",
    security(("operator_token" = [])), params(UsageParams),
    responses((status = 200, body = [crate::hosting::usage::UsageRow]),
        (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn usage(
    operator: Operator,
    params: web::Query<UsageParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    use crate::hosting::usage;
    let month = match params.month.as_deref() {
        None => usage::month_of(chrono::Utc::now()),
        Some(m) => usage::parse_month(m)
            .ok_or_else(|| AppError::bad_request("invalid_month", "month: YYYY-MM"))?,
    };
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(AppError::bad_request(
                "invalid_format",
                "format: json or csv",
            ));
        }
    };
    // This instance's latest counts first, so the figures are current.
    crate::app::upkeep::flush_usage(&state).await?;
    if params.measure == Some(true) {
        crate::app::upkeep::measure_storage(&state).await?;
    }
    let by = operator.account;
    let rows = state
        .shared
        .run(move |c| {
            crate::auth::accounts::audit(
                c,
                by,
                None,
                None,
                "operator.usage_viewed",
                serde_json::json!({ "month": month.format("%Y-%m").to_string() }),
            )?;
            Ok(usage::report(c, month)?)
        })
        .await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!(
                    "attachment; filename=\"dvc-usage-{}.csv\"",
                    month.format("%Y-%m")
                ),
            ))
            .body(usage::to_csv(&rows))
    } else {
        HttpResponse::Ok().json(rows)
    })
}
