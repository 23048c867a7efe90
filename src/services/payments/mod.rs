//! Fees and online payment: fee rules (pure), the gateway protocol (pure), payment records
//! (store), the provider client, and the sandbox gateway's book.
//!
//! Money is integer đồng everywhere. Nothing is marked paid without a gateway message whose
//! signature, merchant, reference and amount all check out.

pub mod gateway;
pub mod merchant;
pub mod provider;
pub mod reconcile;
pub mod sandbox_book;
pub mod store;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A procedure's fee rule beyond its fixed fee (stored as JSON text with the procedure).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeRule {
    /// An amount per item of an array field of the form (e.g. per worker listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_item: Option<PerItem>,
    /// Applicants whose form field has one of these values pay nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PerItem {
    /// Name of a top-level array field of the form.
    pub field: String,
    pub amount_vnd: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// Name of a top-level field of the form (e.g. the applicant's category).
    pub field: String,
    pub values: Vec<String>,
}

impl FeeRule {
    pub fn parse(text: &str) -> Result<Self, String> {
        let rule: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if rule.per_item.as_ref().is_some_and(|p| p.amount_vnd < 0) {
            return Err("per_item.amount_vnd: not negative".into());
        }
        Ok(rule)
    }

    /// The fee in đồng for `form`, starting from the procedure's fixed fee.
    pub fn fee(&self, fixed_vnd: i64, form: &serde_json::Value) -> i64 {
        if let Some(w) = &self.waiver
            && let Some(v) = form.get(&w.field).and_then(|v| v.as_str())
            && w.values.iter().any(|x| x == v)
        {
            return 0;
        }
        let items = self.per_item.as_ref().map_or(0, |p| {
            let n = form
                .get(&p.field)
                .and_then(|v| v.as_array())
                .map_or(0, Vec::len) as i64;
            n.saturating_mul(p.amount_vnd)
        });
        fixed_vnd.saturating_add(items)
    }
}

crate::db::text_enum! {
    /// Where a dossier stands with its fee (`dossiers.payment_status`).
    pub enum PaymentStatus("payment status") {
        /// No fee.
        None = "none",
        Due = "due",
        Paid = "paid",
        Refunded = "refunded",
    }
}

impl PaymentStatus {
    /// Where a dossier with this fee starts (and returns to when new data changes the fee).
    pub fn for_fee(fee_vnd: i64) -> Self {
        if fee_vnd > 0 { Self::Due } else { Self::None }
    }
}

crate::db::text_enum! {
    /// One payment's status (`payments.status`): `pending` until the gateway decides it; a
    /// paid one goes through `refunding` to `refunded` (or back to `paid` when the gateway
    /// refuses the refund).
    pub enum IntentStatus("payment intent status") {
        Pending = "pending",
        Paid = "paid",
        Failed = "failed",
        Cancelled = "cancelled",
        Refunding = "refunding",
        Refunded = "refunded",
    }
}

/// What a verified notification does to a payment (pure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Pending → paid.
    Paid,
    /// Pending → failed or cancelled (with the gateway's response code).
    Failed,
    /// Already settled: duplicate or replayed message, nothing changes.
    AlreadySettled,
    /// Merchant or amount differ from the intent: refused, nothing changes.
    Mismatch,
}

pub fn settle(
    status: IntentStatus,
    expected_amount: i64,
    merchant: &str,
    n: &gateway::Notification,
) -> Settlement {
    if n.merchant != merchant || n.amount_vnd != expected_amount {
        return Settlement::Mismatch;
    }
    if status != IntentStatus::Pending {
        return Settlement::AlreadySettled;
    }
    if n.succeeded() {
        Settlement::Paid
    } else {
        Settlement::Failed
    }
}

/// `600.000 ₫` — how amounts read in Vietnamese.
pub fn format_vnd(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    format!("{}{out} ₫", if amount < 0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fees_follow_the_rule() {
        let rule = FeeRule::parse(
            r#"{"per_item": {"field": "nguoi_lao_dong", "amount_vnd": 600000},
                "waiver": {"field": "doi_tuong", "values": ["nguoi_co_cong", "ho_ngheo"]}}"#,
        )
        .unwrap();
        let three = json!({ "nguoi_lao_dong": [{}, {}, {}] });
        assert_eq!(rule.fee(100_000, &three), 1_900_000);
        assert_eq!(rule.fee(100_000, &json!({})), 100_000);
        let waived = json!({ "nguoi_lao_dong": [{}], "doi_tuong": "ho_ngheo" });
        assert_eq!(rule.fee(100_000, &waived), 0);
        assert_eq!(FeeRule::default().fee(5_000, &three), 5_000);
        assert!(FeeRule::parse(r#"{"per_itme": {}}"#).is_err());
        assert!(FeeRule::parse(r#"{"per_item": {"field": "x", "amount_vnd": -1}}"#).is_err());
    }

    #[test]
    fn settlement_needs_matching_merchant_and_amount() {
        let n = gateway::Notification {
            merchant: "M1".into(),
            reference: "R".into(),
            amount_vnd: 600_000,
            response_code: "00".into(),
            transaction_no: "1".into(),
            bank_code: "NCB".into(),
        };
        assert_eq!(
            settle(IntentStatus::Pending, 600_000, "M1", &n),
            Settlement::Paid
        );
        assert_eq!(
            settle(IntentStatus::Paid, 600_000, "M1", &n),
            Settlement::AlreadySettled
        );
        assert_eq!(
            settle(IntentStatus::Failed, 600_000, "M1", &n),
            Settlement::AlreadySettled
        );
        assert_eq!(
            settle(IntentStatus::Pending, 500_000, "M1", &n),
            Settlement::Mismatch
        );
        assert_eq!(
            settle(IntentStatus::Pending, 600_000, "M2", &n),
            Settlement::Mismatch
        );
        let declined = gateway::Notification {
            response_code: "51".into(),
            ..n
        };
        assert_eq!(
            settle(IntentStatus::Pending, 600_000, "M1", &declined),
            Settlement::Failed
        );
    }

    #[test]
    fn statuses_are_stored_and_sent_under_the_same_names() {
        for &s in PaymentStatus::ALL {
            assert_eq!(s.as_str().parse::<PaymentStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for &s in IntentStatus::ALL {
            assert_eq!(s.as_str().parse::<IntentStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(
                serde_json::from_value::<IntentStatus>(s.as_str().into()).unwrap(),
                s
            );
        }
        // An unknown stored name is an error, not a panic (the two sets differ).
        assert!("pending".parse::<PaymentStatus>().is_err());
        assert!("due".parse::<IntentStatus>().unwrap_err().contains("`due`"));
        assert_eq!(PaymentStatus::for_fee(1), PaymentStatus::Due);
        assert_eq!(PaymentStatus::for_fee(0), PaymentStatus::None);
    }

    #[test]
    fn amounts_read_in_vietnamese() {
        assert_eq!(format_vnd(600_000), "600.000 ₫");
        assert_eq!(format_vnd(1_250_000), "1.250.000 ₫");
        assert_eq!(format_vnd(0), "0 ₫");
    }
}
