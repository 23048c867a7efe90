//! Online payment of fees: the intent and redirect, the gateway's IPN and return URL, the
//! receipt, refunds and the daily reconciliation report.

use super::dossiers::scope;
use crate::auth::principal::Principal;
use crate::error::{AppError, Problem};
use crate::services::idempotency::{Attempt, Fingerprint};
use crate::services::payments::format_vnd;
use crate::services::payments::gateway::{Notification, Params};
use crate::services::payments::merchant::{self, Merchant};
use crate::services::payments::provider::{self, Intent, PaymentProvider};
use crate::services::payments::store::{self, Answer};
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const RECEIPT_PAGE: &str = include_str!("../../templates/web/receipt.html");

/// The tenant's merchant account and its provider; 503 when payment is not set up.
/// Where this tenant's payment gateway takes browsers (for the pay button's CSP).
pub(crate) async fn gateway_origin(state: &AppState, tenant: &CurrentTenant) -> Option<String> {
    merchant_of(state, tenant)
        .await
        .ok()
        .map(|(m, _)| crate::web::view::origin_of(&m.gateway_url))
}

async fn merchant_of(
    state: &AppState,
    tenant: &CurrentTenant,
) -> Result<(Merchant, &'static dyn PaymentProvider), AppError> {
    let master = state
        .master_key
        .clone()
        .ok_or_else(|| AppError::Unavailable(anyhow::anyhow!("auth.master_key is not set")))?;
    let id = tenant.tenant.id;
    let m = state
        .shared
        .run(move |conn| merchant::for_tenant(conn, &master, id))
        .await?
        .ok_or(AppError::NotFound {
            what: "payment gateway of this tenant",
        })?;
    let p = provider::for_name(&m.provider)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("provider {}", m.provider)))?;
    Ok((m, p))
}

#[derive(Debug, Deserialize)]
pub struct CodePath {
    code: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Checkout {
    pub reference: String,
    pub amount_vnd: i64,
    /// Send the citizen's browser here.
    pub checkout_url: String,
}

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
    let key = super::dossiers::idempotency_key(&req)?;
    let code = super::dossiers::parse_code(&path.code)?;
    let retry = key.map(|key| Attempt {
        account: principal.account,
        operation: "payment".into(),
        key,
        fingerprint: Fingerprint::of([code.as_str().as_bytes()]),
    });
    if let Some(a) = &retry
        && let Some(first) = super::dossiers::earlier_answer(&principal.tenant, a).await?
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
                move |c| match super::dossiers::remember_answer(c, Some(&a), 200, &body) {
                    Err(AppError::Conflict { .. }) => Ok(()),
                    other => other,
                },
            )
            .await?;
    }
    Ok(HttpResponse::Ok().json(answer))
}

/// Opens a payment intent for the dossier's fee; the browser goes to `checkout_url` and comes
/// back to `return_url` (the API's return endpoint, or the portal's page).
pub(crate) async fn checkout(
    state: &AppState,
    principal: &Principal,
    code: crate::services::dossiers::DossierCode,
    return_url: &str,
) -> Result<Checkout, AppError> {
    let tenant = principal.tenant.clone();
    let (m, p) = merchant_of(state, &tenant).await?;
    // An open intent may have been decided at the gateway without dvc hearing of it (no IPN
    // yet): ask first, so a declined attempt makes room for a new one and a paid one is not
    // paid again.
    let account = principal.account;
    let lookup = code.clone();
    if let Some(open) = tenant
        .db
        .run(move |conn| store::open_intent(conn, &lookup, account))
        .await?
    {
        query_and_settle(state, &tenant, &m, p, &open).await;
    }
    let sc = scope(state, &tenant);
    let provider_name = m.provider.clone();
    let intent = tenant
        .db
        .run(move |conn| store::create_intent(conn, &sc, &code, account, &provider_name))
        .await?;
    let url = p.checkout_url(
        &m,
        &Intent {
            reference: &intent.reference,
            amount_vnd: intent.amount_vnd,
            order_info: &intent.order_info,
            return_url,
            locale: &intent.locale,
        },
    );
    Ok(Checkout {
        reference: intent.reference,
        amount_vnd: intent.amount_vnd,
        checkout_url: url,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IpnAnswer {
    #[serde(rename = "RspCode")]
    pub code: &'static str,
    #[serde(rename = "Message")]
    pub message: &'static str,
}

fn params(q: &str) -> Params {
    url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Settles a gateway message for this tenant (signature checked with this tenant's secret).
async fn settle_message(
    state: &AppState,
    tenant: &CurrentTenant,
    raw: Params,
    source: &'static str,
) -> Result<Answer, AppError> {
    let (m, p) = merchant_of(state, tenant).await?;
    let verified: Option<Notification> = p.verify(&m, &raw);
    let sc = scope(state, tenant);
    tenant
        .db
        .run(move |conn| store::apply(conn, &sc, &m.merchant_id, verified.as_ref(), source, &raw))
        .await
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

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnStatus {
    pub reference: String,
    /// `pending`, `paid`, `failed`, `cancelled` or `refunded`, as dvc knows it.
    pub status: String,
    pub verified: bool,
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

/// The browser is back from the gateway: notes what it carries (signed or not) and, while
/// the payment is still pending, asks the gateway. The payment's status as dvc knows it.
pub(crate) async fn returned(
    state: &AppState,
    tenant: &CurrentTenant,
    query: &str,
) -> Result<ReturnStatus, AppError> {
    let raw = params(query);
    let (m, p) = merchant_of(state, tenant).await?;
    let verified = p.verify(&m, &raw).is_some();
    let reference = raw
        .get("txn_ref")
        .cloned()
        .ok_or(AppError::NotFound { what: "payment" })?;
    let lookup = reference.clone();
    let logged = raw.clone();
    let status = tenant
        .db
        .run(move |conn| store::note_return(conn, &lookup, &logged, verified))
        .await?
        .ok_or(AppError::NotFound { what: "payment" })?;
    let status = if status == "pending" {
        query_and_settle(state, tenant, &m, p, &reference)
            .await
            .unwrap_or(status)
    } else {
        status
    };
    Ok(ReturnStatus {
        reference,
        status,
        verified,
    })
}

/// Asks the gateway about a pending payment and settles it from the signed answer; the
/// payment's status afterwards.
pub(crate) async fn query_and_settle(
    state: &AppState,
    tenant: &CurrentTenant,
    m: &Merchant,
    p: &'static dyn PaymentProvider,
    reference: &str,
) -> Option<String> {
    let answer = match p.query(m, reference).await {
        Ok(Some(n)) => n,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(reference, error = %e, "payment status query failed");
            return None;
        }
    };
    let raw = answer.to_params();
    let sc = scope(state, tenant);
    let merchant_id = m.merchant_id.clone();
    let lookup = reference.to_owned();
    tenant
        .db
        .run(move |conn| {
            store::apply(conn, &sc, &merchant_id, Some(&answer), "query", &raw)?;
            store::status_of(conn, &lookup)
        })
        .await
        .ok()
        .flatten()
}

#[derive(Debug, Deserialize)]
pub struct ReferencePath {
    reference: String,
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
        .run(move |conn| store::receipt(conn, &reference, account, official))
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    reason: String,
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
    let code = super::dossiers::parse_code(&path.code)?;
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
        .run(move |conn| store::begin_refund(conn, &code))
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
        .run(move |conn| store::finish_refund(conn, payment, by, &reason, &raw, accepted))
        .await?;
    if !accepted {
        return Err(AppError::Conflict {
            code: "refund_refused",
            detail: "the payment gateway refused the refund".into(),
        });
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayParams {
    /// Local day (YYYY-MM-DD); default today.
    date: Option<chrono::NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Mismatch {
    pub reference: String,
    pub ours: String,
    pub amount_vnd: i64,
    /// What the gateway says: `paid`, `failed`, `cancelled`, `unknown`, or `pending`.
    pub gateway: String,
    pub gateway_amount_vnd: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reconciliation {
    pub date: chrono::NaiveDate,
    pub payments: usize,
    pub mismatches: Vec<Mismatch>,
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
            None => ("unknown/pending".to_owned(), None),
            Some(n) if n.succeeded() => ("paid".to_owned(), Some(n.amount_vnd)),
            Some(n) if n.response_code == "24" => ("cancelled".to_owned(), Some(n.amount_vnd)),
            Some(n) => ("failed".to_owned(), Some(n.amount_vnd)),
        };
        let agrees = match (ours.as_str(), gateway.as_str()) {
            ("paid" | "refunded", "paid") => gateway_amount == Some(*amount),
            ("pending", "unknown/pending") => true,
            ("failed", "failed") | ("cancelled", "cancelled") => true,
            _ => false,
        };
        if !agrees {
            mismatches.push(Mismatch {
                reference: reference.clone(),
                ours: ours.clone(),
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
