//! Delivery reports from text providers: `POST /hooks/texts/{sms|zalo}/{token}`.
//!
//! Providers are configured with a URL, not a key, so the URL carries the secret
//! (`texts.report_token`); a wrong or absent token and an unconfigured deployment look the
//! same from outside (404), and nothing is recorded.

use crate::error::AppError;
use crate::state::AppState;
use crate::texts::reports;
use crate::texts::{Channel, outbox};
use actix_web::{HttpResponse, web};
use secrecy::ExposeSecret;

pub async fn delivery_report(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (channel, token) = path.into_inner();
    let Ok(channel @ (Channel::Sms | Channel::Zalo)) = channel.parse::<Channel>() else {
        return Err(AppError::NotFound { what: "route" });
    };
    let expected = state.settings.texts.report_token.as_ref();
    if !expected.is_some_and(|t| {
        super::operator::constant_time_eq(t.expose_secret().as_bytes(), token.as_bytes())
    }) {
        return Err(AppError::NotFound { what: "route" });
    }
    let report = reports::parse(channel, &body)
        .map_err(|e| AppError::bad_request("invalid_delivery_report", e.to_string()))?;
    let Some(report) = report else {
        // A state on the way (accepted, en route): acknowledged, nothing to record.
        return Ok(HttpResponse::NoContent().finish());
    };
    let found = state
        .shared
        .run(move |c| {
            Ok(outbox::record_delivery(
                c,
                channel,
                &report.delivery_ref,
                report.outcome,
            )?)
        })
        .await?;
    if found {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(AppError::NotFound { what: "text" })
    }
}
