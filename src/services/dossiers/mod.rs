//! Dossiers (hồ sơ): submission, the status machine, deadlines, tracking and feedback.
//!
//! `workflow` and `code` are pure; `store` runs inside a tenant-scoped transaction and writes
//! the dossier, its event, the statistics, the mail and the upward-sync rows together, so an
//! accepted change is never half-recorded. What it refuses is a [`DossierError`].

pub mod channel;
pub mod claims;
pub mod code;
pub mod error;
pub mod store;
pub mod workflow;

use crate::services::attachments::FileKind;
use crate::services::calendar::Timeliness;
use crate::services::storage::StorageKey;
pub use channel::Channel;
use chrono::{DateTime, NaiveDate, Utc};
pub use code::DossierCode;
pub use error::DossierError;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;
pub use workflow::{Action, Actor, DecideRole, Status};

/// Everything a dossier transaction needs to know about where it runs, owned so it can move
/// onto the blocking pool.
#[derive(Debug, Clone)]
pub struct Scope {
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    /// The tenant's short code (payment references and receipt numbers).
    pub tenant_code: String,
    /// What the tenant's dossier codes start with: its agency identifier, else its code.
    pub code_prefix: String,
    /// Base of API links in mail (the platform's origin, which serves `/t/{slug}/api/…`).
    pub links_base: String,
    /// The tenant's portal (`Tenant::portal_origin`): links to its pages.
    pub portal_origin: String,
    pub due_soon_days: u32,
    /// Where dossier events are pushed (parent tenant, national portal).
    pub sync_targets: Arc<Vec<crate::services::sync::Target>>,
    /// Which text channels notices go on besides e-mail.
    pub texts: crate::notify::TextPolicy,
    /// Whether the shared tables are written in the tenant's transaction or relayed.
    pub shared_writes: crate::services::relay::SharedWrites,
}

impl Scope {
    pub fn dossier_link(&self, code: &str) -> String {
        format!("{}/ho-so/{code}", self.portal_origin)
    }
}

/// Who is acting, as the SSO token says.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub account: Uuid,
    pub officer: bool,
    pub leader: bool,
}

/// A file already written to storage, to be recorded with the dossier.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub document_index: Option<i32>,
    pub file_name: String,
    pub kind: FileKind,
    pub size: i64,
    pub sha256: String,
    pub key: StorageKey,
    /// A paper document scanned at the counter (Decision 766's digitisation).
    pub digitised: bool,
    /// Attached from the applicant's wallet: where it came from (see `services::wallet`).
    pub provenance: Option<serde_json::Value>,
}

/// A submission that passed validation.
#[derive(Debug, Clone)]
pub struct NewDossier {
    pub procedure_code: String,
    pub applicant: Applicant,
    pub channel: Channel,
    pub phone_digits: String,
    pub form_data: serde_json::Value,
    pub files: Vec<StoredFile>,
}

/// Who a dossier is for.
#[derive(Debug, Clone)]
pub enum Applicant {
    /// Signed in and applying online.
    Account(Uuid),
    /// Registered by an officer of the desk for someone who came in person or wrote by post.
    AtDesk(DeskApplicant),
}

/// An applicant as the desk recorded them; they may have no account (and no e-mail).
#[derive(Debug, Clone)]
pub struct DeskApplicant {
    pub full_name: String,
    /// CCCD or tax code, already checked.
    pub id_number: String,
    pub email: Option<crate::mail::Email>,
    pub locale: crate::locale::Locale,
    /// The officer who registered it.
    pub officer: Uuid,
}

/// What proves a counter applicant's claim to their dossiers once they have an account: the
/// identity number and the phone the desk recorded, neither kept in the shared index in clear.
pub fn claim_hash(id_number: &str, phone_digits: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"dvc-claim\0");
    h.update(id_number.trim().as_bytes());
    h.update([0]);
    h.update(phone_digits.as_bytes());
    h.finalize().to_vec()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DossierSummary {
    #[schema(example = "HNI-261128-0007")]
    pub code: String,
    pub procedure_code: String,
    pub procedure_name: String,
    pub status: Status,
    pub status_label: &'static str,
    pub status_label_en: &'static str,
    pub submitted_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_date: Option<NaiveDate>,
    /// `on_time`, `due_soon` or `overdue`; absent until the dossier is received.
    #[schema(value_type = Option<String>)]
    pub timeliness: Option<Timeliness>,
    pub assignee_id: Option<Uuid>,
    /// Send it back with an action: a stale value gets 409.
    pub version: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentInfo {
    pub id: Uuid,
    pub document_index: Option<i32>,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Scanned from paper at the counter.
    pub digitised: bool,
    /// Attached from the applicant's wallet: the issuing agency, its dossier, the result's
    /// number, and when the applicant chose it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub provenance: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub seq: i32,
    pub at: DateTime<Utc>,
    pub from_status: Option<Status>,
    pub to_status: Status,
    /// The name of whoever acted (absent for the system).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    pub actor_role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DossierDetail {
    #[serde(flatten)]
    pub summary: DossierSummary,
    pub applicant_name: String,
    pub channel: Channel,
    /// CCCD or tax code recorded at the counter (online applicants' are on their account).
    pub applicant_id_number: Option<String>,
    pub applicant_phone: Option<String>,
    pub applicant_email: Option<String>,
    /// Why the desk refused it at receipt (while `refused`).
    pub refusal_reason: Option<String>,
    pub fee_vnd: i64,
    #[schema(value_type = Object)]
    pub form_data: serde_json::Value,
    /// What the officer asked to supplement (while `supplement_requested`).
    pub missing: Vec<String>,
    pub result_note: Option<String>,
    pub attachments: Vec<AttachmentInfo>,
    pub events: Vec<EventView>,
    /// Actions the caller may take now.
    pub actions: Vec<Action>,
    pub rating: Option<i16>,
    pub payment_status: crate::services::payments::PaymentStatus,
    pub payments: Vec<crate::services::payments::store::PaymentView>,
    /// Where it is in its procedure's declared process (absent on the fixed path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<StepView>,
    /// Handed to other tenants to be decided (liên thông), with their steps so far.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transfers: Vec<crate::services::transfers::TransferView>,
    /// Handed here by another tenant (vi name), where its result goes back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transferred_from: Option<String>,
    /// The signed electronic results issued for it, the newest first (revoked ones too).
    pub results: Vec<crate::services::results::ResultView>,
    /// The version of its procedure it was filed under (form, documents, fee), which its later
    /// checks and pages use.
    pub procedure_version: Option<i32>,
}

/// The current step of a dossier in its declared process, and what the caller may do there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    /// Position from 0.
    pub index: usize,
    pub code: String,
    pub name_vi: String,
    pub name_en: Option<String>,
    pub unit: String,
    /// The unit's names, as declared (the code when it has none).
    pub unit_name_vi: String,
    pub unit_name_en: Option<String>,
    /// `officer` or `leader`.
    pub role: &'static str,
    pub entered_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// The unit whose opinion it waits for.
    pub awaiting_unit: Option<String>,
    /// What the caller may do at this step (`forward`, `return`, `ask_opinion`, `decide`).
    #[schema(value_type = Vec<String>)]
    pub actions: Vec<crate::services::processes::StepAction>,
    /// The caller belongs to the unit asked for its opinion.
    pub can_give_opinion: bool,
    /// A `transfer` step: the tenant it hands the dossier to.
    pub transfer_to_name: Option<String>,
    /// Handed to that tenant: nothing is done here until the result is back.
    pub held_elsewhere: bool,
    /// The decision an earlier step took (`approve` or `reject`) while later steps (the clerk's
    /// numbering and seal) finish the dossier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided: Option<String>,
}

/// What anyone holding the code and the applicant's phone may see: no names, no form data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicStatus {
    pub code: String,
    pub procedure_name: String,
    pub status: Status,
    pub status_label: &'static str,
    pub status_label_en: &'static str,
    pub submitted_at: DateTime<Utc>,
    pub due_date: Option<NaiveDate>,
    #[schema(value_type = Option<String>)]
    pub timeliness: Option<Timeliness>,
    pub timeline: Vec<TimelineStep>,
    /// Where the dossier went to be decided (liên thông), with the receiver's steps.
    pub transfers: Vec<crate::services::transfers::TransferView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineStep {
    pub status: Status,
    pub at: DateTime<Utc>,
}

/// One row of a citizen's dossiers across every tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyDossier {
    pub tenant: String,
    pub code: String,
    pub procedure_code: String,
    pub procedure_name: String,
    pub status: Status,
    pub status_label: &'static str,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An action request as the store takes it.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    pub action: Action,
    pub version: i32,
    pub note: Option<String>,
    /// What is missing (request_supplement only; required there).
    pub missing: Vec<String>,
    /// New form data with a resubmission (already validated against the schema).
    pub form_data: Option<serde_json::Value>,
    pub files: Vec<StoredFile>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkOutcome {
    Done,
    Conflict,
    NotFound,
    Forbidden,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkResult {
    pub code: String,
    pub outcome: BulkOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
