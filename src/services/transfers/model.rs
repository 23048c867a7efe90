//! What a transfer carries. A dossier travels with what the receiving agency needs to decide
//! it (the applicant, the form, the files' descriptions); a result travels back with the
//! decision. Serialised into the transfer's payload; a receiver rejects what does not read.

use crate::services::dossiers::Channel;
use crate::services::dossiers::workflow::Status;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

crate::db::text_enum! {
    /// A dossier going to the tenant that decides it, or its result coming back.
    pub enum Kind("transfer kind") {
        Dossier = "dossier",
        Result = "result",
    }
}

/// A file of the dossier, as the sender stores it; the deliverer copies its bytes into the
/// receiver's storage before the receiver's transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    pub document_index: Option<i32>,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DossierPayload {
    pub applicant_id: Option<Uuid>,
    pub applicant_name: String,
    pub applicant_email: Option<String>,
    pub applicant_id_number: Option<String>,
    pub applicant_phone: Option<String>,
    pub locale: String,
    pub channel: Channel,
    pub form_data: serde_json::Value,
    /// The public lookup's second factor, hex: the code and phone do not change on the way.
    pub lookup_hash: String,
    pub submitted_at: DateTime<Utc>,
    pub files: Vec<FileRef>,
    /// What the sending officer wrote when handing it on.
    pub note: Option<String>,
}

/// What the receiving tenant concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultOutcome {
    Approve,
    Reject,
    /// The receiver could not take the dossier (it no longer offers the procedure, or already
    /// holds this code): the dossier goes back to the step that transferred it.
    NotAccepted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultPayload {
    pub outcome: ResultOutcome,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// One step of the receiving tenant's part, as the applicant's timeline shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Milestone {
    pub at: DateTime<Utc>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_vi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_en: Option<String>,
}

/// Liên thông runs along the administrative tree: a tenant hands dossiers to one of its
/// ancestors (a commune to its province, a province to its ministry) or to a child of one (a
/// province to a division of its ministry), never into another tree's inboxes.
pub fn may_receive(
    sender_ancestors: &[Uuid],
    receiver: Uuid,
    receiver_parent: Option<Uuid>,
) -> bool {
    sender_ancestors.contains(&receiver)
        || receiver_parent.is_some_and(|p| sender_ancestors.contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dossiers_travel_up_the_tree_or_to_a_unit_of_an_ancestor_only() {
        let [
            ministry,
            division,
            province,
            commune,
            other_ministry,
            stranger,
        ] = [0u128, 1, 2, 3, 4, 5].map(Uuid::from_u128);
        // The commune's ancestors: its province, then the ministry.
        let up = [province, ministry];
        assert!(may_receive(&up, province, Some(ministry)));
        assert!(may_receive(&up, ministry, None));
        assert!(may_receive(&up, division, Some(ministry)));
        assert!(!may_receive(&up, stranger, Some(other_ministry)));
        assert!(!may_receive(&up, other_ministry, None));
        // Not down: the province never fills its commune's inbox.
        assert!(!may_receive(&[ministry], commune, Some(province)));
    }

    #[test]
    fn payloads_read_back_as_written_and_refuse_what_they_do_not_know() {
        let r = ResultPayload {
            outcome: ResultOutcome::NotAccepted,
            note: Some("không còn cung cấp".into()),
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["outcome"], "not_accepted");
        assert_eq!(serde_json::from_value::<ResultPayload>(json).unwrap(), r);
        let bad = serde_json::json!({ "outcome": "maybe", "note": null, "at": r.at });
        assert!(serde_json::from_value::<ResultPayload>(bad).is_err());
        assert_eq!("result".parse::<Kind>().ok(), Some(Kind::Result));
    }
}
