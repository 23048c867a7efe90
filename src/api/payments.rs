//! Online payment of fees: the intent and redirect, the gateway's IPN and return URL, the
//! receipt, refunds and the daily reconciliation report.

use crate::app::payments::*;
use crate::auth::principal::Principal;
use crate::error::{AppError, Problem};
use crate::services::idempotency::{Attempt, Fingerprint};
use crate::services::payments::gateway::Params;
use crate::services::payments::store::{self};
use crate::services::payments::{IntentStatus, format_vnd};
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use actix_web::{HttpRequest, HttpResponse, web};

/// Start paying a dossier's fee (Thanh toán trực tuyến): a new intent and the gateway page.
#[utoipa::path(
    post,
    path = "/api/v1/dossiers/{code}/payment",
    tag = "payments",
    params(("code" = String, Path)),
    params(
        ("code" = String, Path, description = "dossier code"),
        ("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key gets the first answer"),
    ),
    responses(
        (status = 200, body = Checkout),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, description = "nothing due", content_type = "application/problem+json"),
        (status = 422, body = Problem, description = "the key reused for another dossier", content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn start(
    principal: Principal,
    req: HttpRequest,
    path: web::Path<CodePath>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = crate::http::headers::idempotency_key(&req)?;
    let code = crate::app::dossiers::parse_code(&path.code)?;
    let retry = key.map(|key| Attempt {
        account: principal.account,
        operation: "payment".into(),
        key,
        fingerprint: Fingerprint::of([code.as_str().as_bytes()]),
    });
    if let Some(a) = &retry
        && let Some(first) = crate::app::dossiers::earlier_answer(&principal.tenant, a).await?
    {
        return Ok(HttpResponse::Ok().json(first));
    }
    let return_url = format!(
        "{}/t/{}/api/v1/payments/return",
        state.settings.auth.issuer.trim_end_matches('/'),
        principal.tenant.tenant.slug
    );
    let answer = checkout(&state, &principal, code, &return_url).await?;
    // Kept after the intent's own transaction: a retry that finds no record opens nothing
    // new anyway, since an open intent of the dossier is continued, not duplicated.
    if let Some(a) = retry {
        let body = answer.clone();
        principal
            .tenant
            .db
            .run(
                move |c| match crate::app::dossiers::remember_answer(c, Some(&a), 200, &body) {
                    Err(AppError::Conflict { .. }) => Ok(()),
                    other => other,
                },
            )
            .await?;
    }
    Ok(HttpResponse::Ok().json(answer))
}

/// The gateway's server-to-server notification (IPN). Idempotent; answers in the gateway's
/// own terms (`RspCode`).
#[utoipa::path(
    get,
    path = "/api/v1/payments/ipn",
    tag = "payments",
    responses((status = 200, body = IpnAnswer))
)]
pub async fn ipn(
    tenant: CurrentTenant,
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let answer = settle_message(&state, &tenant, params(req.query_string()), "ipn").await?;
    Ok(HttpResponse::Ok().json(IpnAnswer {
        code: answer.code(),
        message: answer.message(),
    }))
}

/// Where the gateway sends the citizen back. It never settles anything by itself (a browser
/// carries it, and may forge it); while the payment is pending it asks the gateway directly.
#[utoipa::path(
    get,
    path = "/api/v1/payments/return",
    tag = "payments",
    responses((status = 200, body = ReturnStatus), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
pub async fn back(
    tenant: CurrentTenant,
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let answer = returned(&state, &tenant, req.query_string()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(answer))
}

/// The electronic receipt (Biên lai điện tử), printable.
#[utoipa::path(
    get,
    path = "/api/v1/payments/{reference}/receipt",
    tag = "payments",
    params(("reference" = String, Path)),
    responses((status = 200, description = "HTML receipt", content_type = "text/html"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn receipt(
    principal: Principal,
    path: web::Path<ReferencePath>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner().reference;
    if reference.len() > 64 || !reference.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AppError::NotFound { what: "receipt" });
    }
    let account = principal.account;
    let official = principal.is_official();
    let r = principal
        .tenant
        .db
        .run(move |conn| Ok(store::receipt(conn, &reference, account, official)?))
        .await?;
    let t = &principal.tenant.tenant;
    let local = |at: chrono::DateTime<chrono::Utc>| {
        (at + chrono::Duration::hours(7))
            .format("%H:%M %d/%m/%Y")
            .to_string()
    };
    let primary = t
        .branding
        .get("primary_color")
        .and_then(|c| c.as_str())
        .unwrap_or("#0b5394")
        .to_owned();
    let html = super::html::render(
        RECEIPT_PAGE,
        minijinja::context! {
            tenant_name => t.name_vi,
            primary => primary,
            receipt_no => r.payment.receipt_no,
            dossier_code => r.dossier_code,
            procedure_name => r.procedure_name,
            applicant_name => r.applicant_name,
            amount => format_vnd(r.payment.amount_vnd),
            paid_at => r.payment.settled_at.map(local),
            transaction_no => r.payment.transaction_no,
            bank_code => r.payment.bank_code,
            reference => r.payment.reference,
            refunded_at => r.payment.refunded_at.map(local),
            refund_reason => r.payment.refund_reason,
        },
    )?;
    Ok(super::html::page(html))
}

/// Refund a paid fee (Hoàn phí), with a reason; the gateway is asked first.
#[utoipa::path(
    post,
    path = "/api/v1/dossiers/{code}/refund",
    tag = "payments",
    params(("code" = String, Path)),
    request_body = RefundBody,
    responses(
        (status = 204),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, description = "the gateway refused", content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn refund(
    principal: Principal,
    path: web::Path<CodePath>,
    body: web::Json<RefundBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if !principal.is_official() {
        return Err(AppError::Forbidden);
    }
    let code = crate::app::dossiers::parse_code(&path.code)?;
    let reason = body.into_inner().reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::bad_request(
            "invalid_reason",
            "reason: 1–500 characters",
        ));
    }
    let tenant = principal.tenant.clone();
    let (m, p) = merchant_of(&state, &tenant).await?;
    let (payment, reference, amount) = tenant
        .db
        .run(move |conn| Ok(store::begin_refund(conn, &code)?))
        .await?;
    let asked = p.refund(&m, &reference, amount, &reason).await;
    let by = principal.account;
    let raw = Params::from([
        ("txn_ref".into(), reference),
        ("amount".into(), (amount * 100).to_string()),
        ("reason".into(), reason.clone()),
    ]);
    // A gateway that could not be reached leaves the refund `refunding`; it can be taken up
    // again after two minutes.
    let accepted = asked.map_err(|e| AppError::Unavailable(anyhow::anyhow!(e)))?;
    tenant
        .db
        .run(move |conn| {
            Ok(store::finish_refund(
                conn, payment, by, &reason, &raw, accepted,
            )?)
        })
        .await?;
    if !accepted {
        return Err(AppError::Conflict {
            code: "refund_refused",
            detail: "the payment gateway refused the refund".into(),
        });
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The day's payments checked against the gateway (Đối soát giao dịch).
#[utoipa::path(
    get,
    path = "/api/v1/payments/reconciliation",
    tag = "payments",
    params(DayParams),
    responses((status = 200, body = Reconciliation)),
    security(("bearer" = []))
)]
pub async fn reconciliation(
    principal: Principal,
    params: web::Query<DayParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if !principal.is_official() {
        return Err(AppError::Forbidden);
    }
    let day = params
        .date
        .unwrap_or_else(|| crate::services::calendar::local_date(chrono::Utc::now()));
    let tenant = principal.tenant.clone();
    let (m, p) = merchant_of(&state, &tenant).await?;
    let rows = tenant
        .db
        .run(move |conn| Ok(store::of_day(conn, day)?))
        .await?;
    let mut mismatches = Vec::new();
    for (reference, ours, amount) in &rows {
        let theirs = p
            .query(&m, reference)
            .await
            .map_err(|e| AppError::Unavailable(anyhow::anyhow!(e)))?;
        let (gateway, gateway_amount) = match &theirs {
            None => (GatewayStatus::UnknownOrPending, None),
            Some(n) if n.succeeded() => (GatewayStatus::Paid, Some(n.amount_vnd)),
            Some(n) if n.response_code == crate::services::payments::gateway::code::CANCELLED => {
                (GatewayStatus::Cancelled, Some(n.amount_vnd))
            }
            Some(n) => (GatewayStatus::Failed, Some(n.amount_vnd)),
        };
        let agrees = match (ours, gateway) {
            (IntentStatus::Paid | IntentStatus::Refunded, GatewayStatus::Paid) => {
                gateway_amount == Some(*amount)
            }
            (IntentStatus::Pending, GatewayStatus::UnknownOrPending) => true,
            (IntentStatus::Failed, GatewayStatus::Failed)
            | (IntentStatus::Cancelled, GatewayStatus::Cancelled) => true,
            _ => false,
        };
        if !agrees {
            mismatches.push(Mismatch {
                reference: reference.clone(),
                ours: *ours,
                amount_vnd: *amount,
                gateway,
                gateway_amount_vnd: gateway_amount,
            });
        }
    }
    Ok(HttpResponse::Ok().json(Reconciliation {
        date: day,
        payments: rows.len(),
        mismatches,
    }))
}
