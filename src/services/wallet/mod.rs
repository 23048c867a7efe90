//! A citizen's document wallet (kho dữ liệu): the signed results issued to them and the
//! documents they submitted that an officer accepted, across every tenant. A wallet row points
//! at the bytes where they already are; they are copied only into a dossier the citizen chose
//! to attach them to, and that attachment records where it came from.

pub mod store;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

crate::db::text_enum! {
    /// What a wallet item is.
    pub enum ItemKind("wallet item kind") {
        /// A result an agency signed and issued to the citizen.
        Result = "result",
        /// A document the citizen submitted, accepted when the dossier was received.
        Document = "document",
    }
}

/// One item of a citizen's wallet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WalletItem {
    pub id: Uuid,
    pub kind: ItemKind,
    /// The agency that issued or accepted it.
    pub issuer: String,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub dossier_code: String,
    pub procedure_code: String,
    /// The result's or the document's name (vi, en).
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_number: Option<String>,
    pub added_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Where the bytes are (the issuing tenant's storage); never shown.
    #[serde(skip)]
    pub storage_key: String,
    /// The row in the issuing tenant (attachment or result id); never shown.
    #[serde(skip)]
    pub source_id: Uuid,
}

impl WalletItem {
    /// Offered for a document that asks for results of `procedures`: a live result of one.
    pub fn answers(&self, procedures: &[String]) -> bool {
        self.kind == ItemKind::Result
            && self.revoked_at.is_none()
            && procedures.contains(&self.procedure_code)
    }

    /// What an attachment made from it records: where it came from and that an agency
    /// issued or accepted it, and when the citizen chose it.
    pub fn provenance(&self, chosen_at: DateTime<Utc>) -> serde_json::Value {
        serde_json::json!({
            "wallet_item": self.id,
            "kind": self.kind,
            "issuer": self.issuer,
            "dossier_code": self.dossier_code,
            "procedure_code": self.procedure_code,
            "result_number": self.result_number,
            "sha256": self.sha256,
            "verified": true,
            "chosen_at": chosen_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: ItemKind, procedure: &str) -> WalletItem {
        WalletItem {
            id: Uuid::nil(),
            kind,
            issuer: "Sở Nội vụ Hà Nội".into(),
            tenant_id: Uuid::nil(),
            dossier_code: "HNI-261207-0001".into(),
            procedure_code: procedure.into(),
            title: "Giấy phép lao động".into(),
            title_en: None,
            file_name: "ket-qua.pdf".into(),
            media_type: "application/pdf".into(),
            size_bytes: 10,
            sha256: "ab".into(),
            result_number: Some("00001/2026/KQ".into()),
            added_at: Utc::now(),
            revoked_at: None,
            storage_key: String::new(),
            source_id: Uuid::nil(),
        }
    }

    #[test]
    fn only_live_results_of_the_named_procedures_are_offered() {
        let wanted = vec!["1.000105".to_owned()];
        assert!(item(ItemKind::Result, "1.000105").answers(&wanted));
        assert!(!item(ItemKind::Result, "1.000459").answers(&wanted));
        assert!(!item(ItemKind::Document, "1.000105").answers(&wanted));
        let mut revoked = item(ItemKind::Result, "1.000105");
        revoked.revoked_at = Some(Utc::now());
        assert!(!revoked.answers(&wanted));
    }
}
