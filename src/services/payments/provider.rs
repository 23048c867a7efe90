//! The payment-provider trait and its adapter for HMAC-redirect gateways (the Vietnamese kind:
//! signed redirect to a hosted page, signed IPN and return URL, signed status query and refund
//! endpoints). The sandbox gateway inside dvc speaks the same protocol, so the whole flow runs
//! locally and in tests.

use super::gateway::{self, Notification, Params};
use super::merchant::Merchant;
use futures_util::future::LocalBoxFuture;

/// What to ask the customer to pay.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    pub reference: &'a str,
    pub amount_vnd: i64,
    pub order_info: &'a str,
    pub return_url: &'a str,
    pub locale: &'a str,
}

pub trait PaymentProvider: Sync {
    /// The hosted payment page, with signed parameters.
    fn checkout_url(&self, m: &Merchant, intent: &Intent<'_>) -> String;
    /// A notification (IPN or return) if its signature is the merchant's.
    fn verify(&self, m: &Merchant, params: &Params) -> Option<Notification>;
    /// The gateway's own view of a transaction (signed answer, verified).
    fn query<'a>(
        &'a self,
        m: &'a Merchant,
        reference: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<Notification>, String>>;
    /// Asks the gateway to refund; true when it accepted (signed answer, verified).
    fn refund<'a>(
        &'a self,
        m: &'a Merchant,
        reference: &'a str,
        amount_vnd: i64,
        reason: &'a str,
    ) -> LocalBoxFuture<'a, Result<bool, String>>;
}

/// The adapter for HMAC-redirect gateways.
pub struct HmacGateway;

pub fn for_name(name: &str) -> Option<&'static dyn PaymentProvider> {
    match name {
        "gateway" | "sandbox" => Some(&HmacGateway),
        _ => None,
    }
}

fn base(m: &Merchant) -> &str {
    m.gateway_url.trim_end_matches('/')
}

async fn post_signed(m: &Merchant, path: &str, mut params: Params) -> Result<Params, String> {
    gateway::sign(&m.secret, &mut params);
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .finish();
    let mut resp = client
        .post(format!("{}/{path}", base(m)))
        .send_form(&params)
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("gateway answered HTTP {}", resp.status()));
    }
    let answer: Params = resp.json().await.map_err(|e| e.to_string())?;
    if !gateway::verify(&m.secret, &answer) {
        return Err("gateway answer with a bad signature".into());
    }
    Ok(answer)
}

impl PaymentProvider for HmacGateway {
    fn checkout_url(&self, m: &Merchant, i: &Intent<'_>) -> String {
        let mut p = Params::from([
            ("version".into(), "2".into()),
            ("command".into(), "pay".into()),
            ("merchant".into(), m.merchant_id.clone()),
            ("amount".into(), (i.amount_vnd * 100).to_string()),
            ("currency".into(), "VND".into()),
            ("txn_ref".into(), i.reference.into()),
            ("order_info".into(), i.order_info.into()),
            ("locale".into(), i.locale.into()),
            ("return_url".into(), i.return_url.into()),
            (
                "create_date".into(),
                chrono::Utc::now().format("%Y%m%d%H%M%S").to_string(),
            ),
        ]);
        gateway::sign(&m.secret, &mut p);
        format!("{}/pay?{}", base(m), gateway::query_string(&p))
    }

    fn verify(&self, m: &Merchant, params: &Params) -> Option<Notification> {
        if !gateway::verify(&m.secret, params) {
            return None;
        }
        Notification::from_params(params)
    }

    fn query<'a>(
        &'a self,
        m: &'a Merchant,
        reference: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<Notification>, String>> {
        Box::pin(async move {
            let answer = post_signed(
                m,
                "query",
                Params::from([
                    ("merchant".into(), m.merchant_id.clone()),
                    ("txn_ref".into(), reference.into()),
                ]),
            )
            .await?;
            // 91: the gateway has no such transaction; 01: the customer has not decided yet.
            if matches!(
                answer.get("response_code").map(String::as_str),
                Some("91" | "01")
            ) {
                return Ok(None);
            }
            Ok(Notification::from_params(&answer).filter(|n| n.reference == reference))
        })
    }

    fn refund<'a>(
        &'a self,
        m: &'a Merchant,
        reference: &'a str,
        amount_vnd: i64,
        reason: &'a str,
    ) -> LocalBoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let answer = post_signed(
                m,
                "refund",
                Params::from([
                    ("merchant".into(), m.merchant_id.clone()),
                    ("txn_ref".into(), reference.into()),
                    ("amount".into(), (amount_vnd * 100).to_string()),
                    ("reason".into(), reason.into()),
                ]),
            )
            .await?;
            Ok(answer.get("response_code").map(String::as_str) == Some(gateway::code::SUCCESS))
        })
    }
}
