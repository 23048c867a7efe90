//! The sandbox payment gateway (only with `payments.sandbox = true`, never in production): a
//! hosted payment page, signed IPN and return, status query and refund — the same protocol as
//! the real gateways — with the awkward cases on buttons: decline, cancel, a late IPN, a
//! duplicate IPN, no IPN at all.

use crate::error::AppError;
use crate::services::payments::format_vnd;
use crate::services::payments::gateway::{self, Notification, Params, code};
use crate::services::payments::merchant::{self, Merchant};
use crate::services::payments::sandbox_book as book;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use std::time::Duration;

const PAY_PAGE: &str = include_str!("../../templates/web/sandbox_pay.html");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/sandbox/gateway")
            .route("/pay", web::get().to(page))
            .route("/pay", web::post().to(decide))
            .route("/query", web::post().to(query))
            .route("/refund", web::post().to(refund)),
    );
}

fn refuse(what: &'static str) -> AppError {
    AppError::bad_request("sandbox_refused", what)
}

async fn merchant(state: &AppState, id: &str) -> Result<Merchant, AppError> {
    let master = state
        .master_key
        .clone()
        .ok_or_else(|| AppError::Unavailable(anyhow::anyhow!("no master key")))?;
    let id = id.to_owned();
    state
        .shared
        .run(move |conn| merchant::by_merchant_id(conn, &master, &id))
        .await?
        // Never sign with a real gateway's secret, whatever a request names.
        .filter(|m| m.provider == "sandbox")
        .ok_or_else(|| refuse("unknown merchant"))
}

/// The hosted page: checks the merchant's signature, opens the transaction in the sandbox's
/// book, and offers the outcomes.
async fn page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let p: Params = url::form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let m = merchant(&state, p.get("merchant").map_or("", String::as_str)).await?;
    if !gateway::verify(&m.secret, &p) {
        return Err(refuse("bad signature"));
    }
    let (Some(txn_ref), Some(amount), Some(return_url)) = (
        p.get("txn_ref").cloned(),
        p.get("amount").and_then(|a| a.parse::<i64>().ok()),
        p.get("return_url").cloned(),
    ) else {
        return Err(refuse("missing parameters"));
    };
    let (merchant_id, reference) = (m.merchant_id.clone(), txn_ref.clone());
    state
        .shared
        .run(move |conn| Ok(book::open(conn, &merchant_id, &reference, amount / 100)?))
        .await?;
    // The decision redirects the browser back to the merchant's page: the form may lead there.
    let back_to = crate::services::payments::gateway::origin_of(&return_url);
    let html = super::html::render(
        PAY_PAGE,
        minijinja::context! {
            merchant => m.merchant_id,
            txn_ref => txn_ref,
            amount => format_vnd(amount / 100),
            order_info => p.get("order_info"),
            return_url => return_url,
        },
    )?;
    Ok(super::html::page_to(html, &back_to))
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    merchant: String,
    txn_ref: String,
    return_url: String,
    decision: String,
    #[serde(default)]
    ipn: String,
}

/// The notification the sandbox signs for a decided transaction.
fn notification(m: &Merchant, txn_ref: &str, amount: i64, status: &str, tx: &str) -> Params {
    let mut p = Notification {
        merchant: m.merchant_id.clone(),
        reference: txn_ref.to_owned(),
        amount_vnd: amount,
        response_code: match status {
            "approved" | "refunded" => code::SUCCESS,
            "cancelled" => code::CANCELLED,
            "declined" => code::DECLINED,
            _ => "01",
        }
        .to_owned(),
        transaction_no: tx.to_owned(),
        bank_code: "NCB".into(),
    }
    .to_params();
    gateway::sign(&m.secret, &mut p);
    p
}

/// The customer's choice: records it, sends the IPN (as asked) and the browser back.
async fn decide(
    req: HttpRequest,
    form: web::Form<Decision>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let d = form.into_inner();
    let m = merchant(&state, &d.merchant).await?;
    let status = match d.decision.as_str() {
        "approve" => "approved",
        "decline" => "declined",
        "cancel" => "cancelled",
        _ => return Err(refuse("decision")),
    };
    let (merchant_id, reference) = (m.merchant_id.clone(), d.txn_ref.clone());
    let decided: Option<(i64, String)> = state
        .shared
        .run(move |conn| Ok(book::decide(conn, &merchant_id, &reference, status)?))
        .await?;
    let (amount, tx) = decided.ok_or_else(|| refuse("no such pending transaction"))?;
    let signed = notification(&m, &d.txn_ref, amount, status, &tx);
    let tenant = state
        .registry
        .by_id(m.tenant_id)
        .ok_or(AppError::TenantNotFound)?;
    // The IPN goes to this same deployment, at the address the browser used to reach it.
    let info = req.connection_info();
    let ipn_url = format!(
        "{}://{}/t/{}/api/v1/payments/ipn?{}",
        info.scheme(),
        info.host(),
        tenant.slug,
        gateway::query_string(&signed)
    );
    let (delay, times) = match d.ipn.as_str() {
        "none" => (Duration::ZERO, 0),
        "delayed" => (Duration::from_secs(3), 1),
        "duplicate" => (Duration::ZERO, 2),
        _ => (Duration::ZERO, 1),
    };
    if times > 0 {
        actix_web::rt::spawn(async move {
            tokio::time::sleep(delay).await;
            let client = awc::Client::default();
            for _ in 0..times {
                if let Err(e) = client.get(&ipn_url).send().await {
                    tracing::warn!(error = %e, "sandbox IPN not delivered");
                }
            }
        });
    }
    let sep = if d.return_url.contains('?') { '&' } else { '?' };
    Ok(HttpResponse::SeeOther()
        .insert_header((
            "Location",
            format!("{}{sep}{}", d.return_url, gateway::query_string(&signed)),
        ))
        .finish())
}

async fn signed_request(state: &AppState, form: &Params) -> Result<(Merchant, String), AppError> {
    let m = merchant(state, form.get("merchant").map_or("", String::as_str)).await?;
    if !gateway::verify(&m.secret, form) {
        return Err(refuse("bad signature"));
    }
    let txn_ref = form
        .get("txn_ref")
        .cloned()
        .ok_or_else(|| refuse("txn_ref"))?;
    Ok((m, txn_ref))
}

async fn lookup(
    state: &AppState,
    m: &Merchant,
    txn_ref: &str,
) -> Result<Option<(i64, String, String)>, AppError> {
    let (merchant_id, reference) = (m.merchant_id.clone(), txn_ref.to_owned());
    state
        .shared
        .run(move |conn| Ok(book::find(conn, &merchant_id, &reference)?))
        .await
}

fn signed_json(m: &Merchant, mut p: Params) -> HttpResponse {
    gateway::sign(&m.secret, &mut p);
    HttpResponse::Ok().json(p)
}

/// Status query: the transaction as the sandbox knows it (`91` unknown, `01` still pending).
async fn query(
    form: web::Form<Params>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (m, txn_ref) = signed_request(&state, &form).await?;
    Ok(match lookup(&state, &m, &txn_ref).await? {
        None => signed_json(
            &m,
            Params::from([
                ("txn_ref".into(), txn_ref),
                ("response_code".into(), "91".into()),
            ]),
        ),
        Some((_, status, _)) if status == "pending" => signed_json(
            &m,
            Params::from([
                ("txn_ref".into(), txn_ref),
                ("response_code".into(), "01".into()),
            ]),
        ),
        Some((amount, status, tx)) => {
            HttpResponse::Ok().json(notification(&m, &txn_ref, amount, &status, &tx))
        }
    })
}

/// Refund of an approved transaction.
async fn refund(
    form: web::Form<Params>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (m, txn_ref) = signed_request(&state, &form).await?;
    let (merchant_id, reference) = (m.merchant_id.clone(), txn_ref.clone());
    let done = state
        .shared
        .run(move |conn| Ok(book::refund(conn, &merchant_id, &reference)?))
        .await?;
    Ok(signed_json(
        &m,
        Params::from([
            ("txn_ref".into(), txn_ref),
            (
                "response_code".into(),
                if done { code::SUCCESS } else { "94" }.into(),
            ),
        ]),
    ))
}
