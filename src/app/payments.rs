//! Use cases behind `api::payments` and the portal pages that do the same (moved out of the
//! JSON adapter so both adapters call them).

use crate::app::dossiers::scope;
use crate::auth::principal::Principal;
use crate::error::AppError;
use crate::services::payments::IntentStatus;
use crate::services::payments::gateway::{Notification, Params};
use crate::services::payments::merchant::{self, Merchant};
use crate::services::payments::provider::{self, Intent, PaymentProvider};
use crate::services::payments::store::{self, Answer};
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) const RECEIPT_PAGE: &str = include_str!("../../templates/web/receipt.html");

/// The tenant's merchant account and its provider; 503 when payment is not set up.
/// Where this tenant's payment gateway takes browsers (for the pay button's CSP).
pub(crate) async fn gateway_origin(state: &AppState, tenant: &CurrentTenant) -> Option<String> {
    merchant_of(state, tenant)
        .await
        .ok()
        .map(|(m, _)| crate::services::payments::gateway::origin_of(&m.gateway_url))
}

pub(crate) async fn merchant_of(
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
    pub(crate) code: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Checkout {
    pub reference: String,
    pub amount_vnd: i64,
    /// Send the citizen's browser here.
    pub checkout_url: String,
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
        .run(move |conn| Ok(store::open_intent(conn, &lookup, account)?))
        .await?
    {
        query_and_settle(state, &tenant, &m, p, &open).await;
    }
    let sc = scope(state, &tenant);
    let provider_name = m.provider.clone();
    let intent = tenant
        .db
        .run(move |conn| {
            Ok(store::create_intent(
                conn,
                &sc,
                &code,
                account,
                &provider_name,
            )?)
        })
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

pub(crate) fn params(q: &str) -> Params {
    url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Settles a gateway message for this tenant (signature checked with this tenant's secret).
pub(crate) async fn settle_message(
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
        .run(move |conn| {
            Ok(store::apply(
                conn,
                &sc,
                &m.merchant_id,
                verified.as_ref(),
                source,
                &raw,
            )?)
        })
        .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnStatus {
    pub reference: String,
    /// As dvc knows it.
    pub status: IntentStatus,
    pub verified: bool,
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
        .run(move |conn| Ok(store::note_return(conn, &lookup, &logged, verified)?))
        .await?
        .ok_or(AppError::NotFound { what: "payment" })?;
    let status = if status == IntentStatus::Pending {
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
) -> Option<IntentStatus> {
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
            Ok(store::status_of(conn, &lookup)?)
        })
        .await
        .ok()
        .flatten()
}

#[derive(Debug, Deserialize)]
pub struct ReferencePath {
    pub(crate) reference: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub(crate) reason: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayParams {
    /// Local day (YYYY-MM-DD); default today.
    pub(crate) date: Option<chrono::NaiveDate>,
}

/// What the gateway says of a payment when asked (reconciliation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GatewayStatus {
    /// The gateway has no decision on it (it answered nothing).
    #[serde(rename = "unknown/pending")]
    UnknownOrPending,
    Paid,
    Cancelled,
    Failed,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Mismatch {
    pub reference: String,
    pub ours: IntentStatus,
    pub amount_vnd: i64,
    pub gateway: GatewayStatus,
    pub gateway_amount_vnd: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reconciliation {
    pub date: chrono::NaiveDate,
    pub payments: usize,
    pub mismatches: Vec<Mismatch>,
}

/// What a payment refusal tells the caller: the stable problem codes of the API.
impl From<store::PaymentError> for AppError {
    fn from(e: store::PaymentError) -> Self {
        use store::PaymentError as E;
        match e {
            E::DossierNotFound => AppError::NotFound { what: "dossier" },
            E::ReceiptNotFound => AppError::NotFound { what: "receipt" },
            E::NothingToPay(_) => AppError::Conflict {
                code: "nothing_to_pay",
                detail: e.to_string(),
            },
            E::NothingToRefund => AppError::Conflict {
                code: "nothing_to_refund",
                detail: e.to_string(),
            },
            // Keeps the database's own mapping (a lost connection is 503, not 500).
            E::Database(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_statuses_keep_their_names() {
        for (s, name) in [
            (GatewayStatus::UnknownOrPending, "unknown/pending"),
            (GatewayStatus::Paid, "paid"),
            (GatewayStatus::Cancelled, "cancelled"),
            (GatewayStatus::Failed, "failed"),
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), name);
        }
    }
}
