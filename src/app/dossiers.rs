//! Use cases behind `api::dossiers` and the portal pages that do the same (moved out of the
//! JSON adapter so both adapters call them).
//!
//! Over 600 lines: submission (files, idempotency) and the officers' actions share their
//! scope and caller helpers; split into `submit` and `process` when either grows.

use crate::auth::principal::Principal;
use crate::auth::roles::Role;
use crate::error::{AppError, FieldError};
use crate::services::attachments;
use crate::services::attachments::UploadedFile;
use crate::services::catalog::Procedure;
use crate::services::dossiers::code::normalize_phone;
use crate::services::dossiers::error::{BadInput, Conflict};
use crate::services::dossiers::store::{self};
use crate::services::dossiers::{
    Action, ActionRequest, Applicant, Caller, Channel, DossierCode, DossierError, DossierSummary,
    NewDossier, PublicStatus, Scope, StoredFile,
};
use crate::services::forms::FormSchema;
use crate::services::idempotency::{self, Attempt, Fingerprint, IdempotencyKey, Prior};
use crate::services::storage::StorageKey;
use crate::services::sync::Target;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use actix_web::web;
use chrono::Datelike;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Where this tenant's events go: its parent portal (in this deployment) and the national
/// portal, as configured.
pub(crate) fn scope(state: &AppState, tenant: &CurrentTenant) -> Scope {
    scope_of(&state.settings, &state.registry, &tenant.tenant)
}

/// [`scope`] for a tenant taken from the registry, outside a request (the transfer
/// deliverer).
pub(crate) fn scope_of(
    settings: &crate::config::Settings,
    registry: &crate::tenancy::Registry,
    t: &crate::tenancy::Tenant,
) -> Scope {
    let sync = &settings.sync;
    let mut targets = Vec::new();
    if sync.secret.is_some()
        && let Some(parent) = t.parent_id.and_then(|p| registry.by_id(p))
    {
        let base = sync
            .receiver_base
            .as_deref()
            .unwrap_or(&settings.auth.issuer);
        targets.push(Target {
            endpoint: format!("parent:{}", parent.slug),
            url: format!(
                "{}/t/{}/api/v1/sync/events",
                base.trim_end_matches('/'),
                parent.slug
            ),
        });
    }
    if let (Some(url), Some(_)) = (&sync.national_url, &sync.national_secret) {
        targets.push(Target {
            endpoint: "national".into(),
            url: url.clone(),
        });
    }
    Scope {
        tenant_id: t.id,
        tenant_slug: t.slug.as_str().to_owned(),
        tenant_code: t.code.as_str().to_owned(),
        code_prefix: t
            .agency_id
            .as_ref()
            .map_or_else(|| t.code.as_str(), |a| a.as_str())
            .to_owned(),
        links_base: settings.auth.issuer.clone(),
        portal_origin: t
            .portal_origin(&settings.server.base_domain, &settings.server.public_origin),
        due_soon_days: settings.dossiers.due_soon_days,
        sync_targets: Arc::new(targets),
        texts: crate::notify::TextPolicy::from_settings(&settings.texts),
        shared_writes: settings.database.shared_writes,
    }
}

/// What the dossier store refused, as the HTTP answer: the status and stable `code` clients
/// match on, the store's message as the detail. Database failures answer as any other's do
/// (a lost connection is a 503).
impl From<DossierError> for AppError {
    fn from(e: DossierError) -> Self {
        match e {
            DossierError::NotFound { what } => AppError::NotFound { what },
            DossierError::UnknownApplicant => AppError::Unauthorized,
            DossierError::Forbidden => AppError::Forbidden,
            DossierError::Conflict(c) => AppError::Conflict {
                code: match c {
                    Conflict::Stale { .. } => "version_conflict",
                    Conflict::Transition(_) | Conflict::NotAssignable(_) => "invalid_transition",
                    Conflict::PaymentRequired => "payment_required",
                    Conflict::FeeChanged { .. } => "fee_changed",
                    Conflict::NotReturned => "not_returned",
                    Conflict::AlreadyRated => "already_rated",
                    Conflict::NotExtendable(_) => "not_extendable",
                    Conflict::DecidedByProcess => "decided_by_process",
                    Conflict::NotAtStep => "not_at_step",
                    Conflict::Step(_) => "step_not_allowed",
                    Conflict::HeldElsewhere => "held_elsewhere",
                    Conflict::TransferRefused(_) => "transfer_refused",
                },
                detail: c.to_string(),
            },
            // Field errors a form can show beside the field (422).
            DossierError::BadInput(BadInput::ReasonRequired) => AppError::Invalid {
                errors: vec![field_error(
                    "/note".into(),
                    "required",
                    "Lý do: bắt buộc",
                    "Reason: required",
                )],
            },
            DossierError::BadInput(b @ BadInput::NewDueDate { .. }) => AppError::Invalid {
                errors: vec![field_error(
                    "/due_date".into(),
                    "minimum",
                    "Ngày hẹn mới: phải là ngày làm việc sau ngày hẹn cũ",
                    &b.to_string(),
                )],
            },
            DossierError::BadInput(b) => AppError::BadRequest {
                code: match b {
                    BadInput::MissingItems => "missing_items_required",
                    BadInput::AssigneeNotOfficer => "assignee_not_officer",
                    BadInput::Rating => "invalid_rating",
                    BadInput::ReasonRequired | BadInput::NewDueDate { .. } => "invalid_input",
                },
                detail: b.to_string(),
            },
            e @ DossierError::FeeRule(_) => AppError::internal(e),
            DossierError::Database(e) => AppError::from(e),
        }
    }
}

pub(crate) fn caller(p: &Principal) -> Caller {
    Caller {
        account: p.account,
        officer: p.has(Role::Officer),
        leader: p.has(Role::Leader),
    }
}

pub(crate) fn parse_code(s: &str) -> Result<DossierCode, AppError> {
    DossierCode::parse(s).map_err(|e| AppError::bad_request("invalid_dossier_code", e.to_string()))
}

/// The submission's JSON part (`data` in a multipart body, or the whole JSON body).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// Procedure code, e.g. `1.000105`.
    pub(crate) procedure: String,
    /// The applicant's phone: notifications and the second factor of public lookup.
    pub(crate) phone: String,
    /// Form data, checked against the procedure's form schema.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub(crate) form: serde_json::Value,
    /// Documents attached from the applicant's wallet instead of uploaded (their explicit
    /// choice, recorded on the attachment).
    #[serde(default)]
    pub(crate) wallet: Vec<crate::app::wallet::WalletPick>,
}

pub(crate) fn field_error(path: String, code: &str, vi: &str, en: &str) -> FieldError {
    FieldError {
        path,
        code: code.to_owned(),
        message: vi.to_owned(),
        message_en: en.to_owned(),
    }
}

/// Checks files against the procedure's documents; `require_mandatory` for a first submission.
pub(crate) fn check_files(
    proc: &Procedure,
    files: &[UploadedFile],
    from_wallet: &[usize],
    require_mandatory: bool,
    errors: &mut Vec<FieldError>,
) -> Vec<(usize, attachments::FileKind)> {
    let mut accepted = Vec::new();
    for f in files {
        let path = format!("/documents/{}", f.index);
        let Some(doc) = proc.documents.get(f.index) else {
            errors.push(field_error(
                path,
                "unknown_document",
                "Giấy tờ không có trong danh mục của thủ tục",
                "No such document in this procedure",
            ));
            continue;
        };
        let checked = attachments::display_name(&f.name)
            .and_then(|name| attachments::check(&name, &f.bytes, &doc.accept, doc.max_size_mb));
        match checked {
            Ok(kind) => accepted.push((f.index, kind)),
            Err(e) => {
                let text = e.to_string();
                let (vi, en) = text.split_once(" / ").unwrap_or((&text, &text));
                errors.push(field_error(
                    path,
                    "invalid_file",
                    &format!("{}: {vi}", doc.name),
                    en,
                ));
            }
        }
    }
    if require_mandatory {
        for (i, doc) in proc.documents.iter().enumerate() {
            if doc.required && !files.iter().any(|f| f.index == i) && !from_wallet.contains(&i) {
                errors.push(field_error(
                    format!("/documents/{i}"),
                    "required",
                    &format!("{}: bắt buộc đính kèm", doc.name),
                    &format!(
                        "{}: required",
                        doc.name_en.as_deref().unwrap_or(doc.name.as_str())
                    ),
                ));
            }
        }
    }
    accepted
}

/// Writes accepted files to storage (off the async workers).
pub(crate) async fn store_files(
    state: &AppState,
    tenant: Uuid,
    files: Vec<UploadedFile>,
    kinds: Vec<(usize, attachments::FileKind)>,
    digitised: bool,
) -> Result<Vec<StoredFile>, AppError> {
    let storage = state.storage.clone();
    let year = state.now().year();
    web::block(move || {
        let mut stored = Vec::with_capacity(files.len());
        for (f, (_, kind)) in files.into_iter().zip(kinds) {
            let key = StorageKey::generate(tenant, year);
            storage.put(&key, &f.bytes).map_err(AppError::internal)?;
            stored.push(StoredFile {
                document_index: Some(f.index as i32),
                file_name: f.name.trim().to_owned(),
                kind,
                size: f.bytes.len() as i64,
                sha256: attachments::checksum(&f.bytes),
                key,
                digitised,
                provenance: None,
            });
        }
        Ok::<_, AppError>(stored)
    })
    .await?
}

/// 413 when these files would take the tenant past its plan's storage (checked before
/// anything is stored; two uploads at the same moment may both pass: the quota is a soft one).
pub(crate) async fn within_storage_quota(
    tenant: &CurrentTenant,
    files: &[UploadedFile],
) -> Result<(), AppError> {
    let Some(quota_mb) = tenant.tenant.plan.storage_mb else {
        return Ok(());
    };
    let incoming: i64 = files.iter().map(|f| f.bytes.len() as i64).sum();
    if incoming == 0 {
        return Ok(());
    }
    let used = tenant.db.run(|conn| Ok(store::storage_used(conn)?)).await?;
    if used + incoming > i64::from(quota_mb) * 1024 * 1024 {
        return Err(AppError::TooLarge {
            detail: format!(
                "this portal's storage ({quota_mb} MiB) is full / dung lượng lưu trữ của cổng ({quota_mb} MiB) đã hết"
            ),
        });
    }
    Ok(())
}

/// The bytes stored under `key` (a key read from a row), off the async workers.
pub(crate) async fn read_stored(state: &AppState, key: &str) -> Result<Vec<u8>, AppError> {
    let key = StorageKey::parse(key)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("malformed storage key")))?;
    let storage = state.storage.clone();
    web::block(move || storage.get(&key))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
}

/// Forgets files whose dossier was not recorded (best effort: an orphan file harms nobody).
pub(crate) fn discard(state: &AppState, files: &[StoredFile]) {
    for f in files {
        if let Err(e) = state.storage.delete(&f.key) {
            tracing::warn!(error = %e, "could not remove an unrecorded attachment");
        }
    }
}

pub(crate) async fn procedure(
    state: &AppState,
    tenant: &CurrentTenant,
    code: &str,
) -> Result<Procedure, AppError> {
    crate::app::procedures::cached_catalog(state, tenant)
        .await?
        .procedures()
        .iter()
        .find(|p| p.code == code)
        .cloned()
        .ok_or_else(|| AppError::bad_request("unknown_procedure", "procedure: no such procedure"))
}

/// The procedure as dossier `code` was filed under it: today's catalog entry (its process,
/// roles, time limit) with the names, form, documents and fee of the version the dossier is
/// pinned to, so a form or fee changed since never breaks a dossier in flight. `None` when
/// the procedure is no longer offered at all.
pub(crate) async fn procedure_as_filed(
    state: &AppState,
    tenant: &CurrentTenant,
    code: &DossierCode,
    who: Caller,
    procedure_code: &str,
) -> Result<Option<Procedure>, AppError> {
    let current = crate::app::procedures::cached_catalog(state, tenant)
        .await?
        .procedures()
        .iter()
        .find(|p| p.code == procedure_code)
        .cloned();
    let code = code.clone();
    let filed = tenant
        .db
        .run(move |conn| Ok(store::version_of(conn, &code, &who)?))
        .await?;
    Ok(current.map(|mut p| {
        if let Some(v) = filed {
            p.name = v.name_vi;
            p.name_en = v.name_en;
            p.form_schema = v.form_schema;
            p.documents = v.documents;
            p.fee_vnd = v.fee_vnd;
            p.fee_rule = v.fee_rule;
        }
        p
    }))
}

pub(crate) fn form_schema(proc: &Procedure) -> Result<FormSchema, AppError> {
    FormSchema::parse(&proc.form_schema).map_err(AppError::internal)
}

/// A submission's outcome: a new dossier, or the first answer to the same request.
pub(crate) enum Submitted {
    New(DossierSummary),
    Again(serde_json::Value),
}

impl Submitted {
    pub(crate) fn code(&self) -> String {
        match self {
            Submitted::New(s) => s.code.clone(),
            Submitted::Again(v) => v["code"].as_str().unwrap_or_default().to_owned(),
        }
    }

    pub(crate) fn body(&self) -> serde_json::Value {
        match self {
            Submitted::New(s) => serde_json::to_value(s).unwrap_or_default(),
            Submitted::Again(v) => v.clone(),
        }
    }
}

/// What an earlier request with the same key answered, if anything.
pub(crate) async fn earlier_answer(
    tenant: &CurrentTenant,
    attempt: &Attempt,
) -> Result<Option<serde_json::Value>, AppError> {
    let a = attempt.clone();
    match tenant
        .db
        .run(move |c| Ok(idempotency::find(c, &a)?))
        .await?
    {
        Prior::None => Ok(None),
        Prior::Answered { response, .. } => Ok(Some(response)),
        Prior::Mismatch => Err(AppError::KeyReused),
    }
}

/// Inside the transaction that produced `answer`: remembers it for the key, or fails when a
/// concurrent request with the same key won (the transaction then rolls back).
pub(crate) fn remember_answer(
    conn: &mut diesel::PgConnection,
    attempt: Option<&Attempt>,
    status: u16,
    answer: &impl serde::Serialize,
) -> Result<(), AppError> {
    let Some(a) = attempt else { return Ok(()) };
    let body = serde_json::to_value(answer).map_err(AppError::internal)?;
    if idempotency::remember(conn, a, status, &body)? {
        Ok(())
    } else {
        Err(AppError::Conflict {
            code: KEY_IN_FLIGHT,
            detail: "a request with this Idempotency-Key is being answered".into(),
        })
    }
}

/// The portal's review-page nonce as a submission key: a nonce is 43 URL-safe characters, and
/// only its digest is kept.
pub(crate) fn portal_attempt(account: Uuid, nonce: &str) -> Attempt {
    let digest = attachments::checksum(nonce.as_bytes());
    Attempt {
        account,
        operation: "portal-submit".into(),
        key: IdempotencyKey::parse(&digest).unwrap_or_else(|_| unreachable!("hex digest")),
        // The nonce belongs to one review page, so the key alone identifies the request.
        fingerprint: Fingerprint::of([digest.as_bytes()]),
    }
}

/// The error code of a key another request just used.
pub(crate) const KEY_IN_FLIGHT: &str = "idempotency_key_in_flight";

/// Checks a submission (phone, form, files: every error at once), stores its files and
/// records the dossier; the API and the portal's apply page both submit through here.
pub(crate) async fn submit_dossier(
    state: &AppState,
    principal: &Principal,
    sub: Submission,
    files: Vec<UploadedFile>,
    retry: Option<Attempt>,
) -> Result<Submitted, AppError> {
    let tenant = principal.tenant.clone();
    if let Some(a) = &retry
        && let Some(first) = earlier_answer(&tenant, a).await?
    {
        return Ok(Submitted::Again(first));
    }
    let proc = procedure(state, &tenant, &sub.procedure).await?;
    let mut errors = Vec::new();
    let phone = normalize_phone(&sub.phone);
    if phone.is_none() {
        errors.push(field_error(
            "/phone".into(),
            "format",
            "Số điện thoại: không hợp lệ (10 chữ số, bắt đầu bằng 0)",
            "Phone: invalid (10 digits starting with 0)",
        ));
    }
    if let Err(mut e) = form_schema(&proc)?.validate(&sub.form) {
        for fe in &mut e {
            fe.path = format!("/form{}", fe.path);
        }
        errors.append(&mut e);
    }
    let picked: Vec<usize> = sub.wallet.iter().map(|w| w.document).collect();
    let kinds = check_files(&proc, &files, &picked, true, &mut errors);
    let from_wallet = crate::app::wallet::take(
        state,
        principal.account,
        tenant.tenant.id,
        &proc,
        &sub.wallet,
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        discard(state, &from_wallet);
        return Err(AppError::Invalid { errors });
    }
    if let Err(e) = within_storage_quota(&tenant, &files).await {
        discard(state, &from_wallet);
        return Err(e);
    }
    let mut stored = match store_files(state, tenant.tenant.id, files, kinds, false).await {
        Ok(s) => s,
        Err(e) => {
            discard(state, &from_wallet);
            return Err(e);
        }
    };
    stored.extend(from_wallet);
    let new = NewDossier {
        procedure_code: proc.code.clone(),
        applicant: Applicant::Account(principal.account),
        channel: Channel::Online,
        phone_digits: phone.unwrap_or_default(),
        form_data: sub.form,
        files: stored.clone(),
    };
    let scope = scope(state, &tenant);
    let attempt = retry.clone();
    let now = state.now();
    let recorded = tenant
        .db
        .run(move |conn| {
            let summary = store::submit(conn, &scope, &new, now)?;
            remember_answer(conn, attempt.as_ref(), 201, &summary)?;
            Ok(summary)
        })
        .await;
    if recorded.is_err() {
        discard(state, &stored);
    }
    match (recorded, &retry) {
        (Ok(summary), _) => Ok(Submitted::New(summary)),
        // The same request, sent twice at once: the other one's dossier is the answer.
        (Err(AppError::Conflict { code, .. }), Some(a)) if code == KEY_IN_FLIGHT => {
            match earlier_answer(&tenant, a).await? {
                Some(first) => Ok(Submitted::Again(first)),
                None => Err(AppError::Conflict {
                    code: KEY_IN_FLIGHT,
                    detail: "a request with this Idempotency-Key is being answered".into(),
                }),
            }
        }
        (Err(e), _) => Err(e),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxParams {
    /// Only this status.
    pub(crate) status: Option<String>,
    /// Only dossiers assigned to this officer (`me` for the caller).
    pub(crate) assignee: Option<String>,
    /// Only this procedure.
    pub(crate) procedure: Option<String>,
    /// Only dossiers at a step of this unit, or waiting for its opinion.
    pub(crate) unit: Option<String>,
    pub(crate) page: Option<u32>,
    pub(crate) per_page: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct CodePath {
    pub(crate) code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    pub(crate) action: Action,
    /// The version the caller saw; a stale one gets 409.
    pub(crate) version: i32,
    #[serde(default)]
    pub(crate) note: Option<String>,
    /// For `request_supplement`: what the applicant must add.
    #[serde(default)]
    pub(crate) missing: Vec<String>,
}

pub(crate) fn check_note(note: &Option<String>) -> Result<(), AppError> {
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::bad_request(
            "invalid_note",
            "note: at most 2000 characters",
        ));
    }
    Ok(())
}

/// A workflow action by an official or the applicant (the API and the back office).
pub(crate) async fn take_action(
    state: &AppState,
    principal: &Principal,
    code: DossierCode,
    b: ActionBody,
) -> Result<DossierSummary, AppError> {
    check_note(&b.note)?;
    if b.action == Action::Resubmit {
        return Err(AppError::bad_request(
            "use_supplement_endpoint",
            "answer a supplement request at /dossiers/{code}/supplement",
        ));
    }
    if b.missing.len() > 50 || b.missing.iter().any(|m| m.chars().count() > 300) {
        return Err(AppError::bad_request(
            "invalid_missing",
            "missing: at most 50 items of 300 characters",
        ));
    }
    let req = ActionRequest {
        action: b.action,
        version: b.version,
        note: b.note.filter(|n| !n.trim().is_empty()),
        missing: b
            .missing
            .into_iter()
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect(),
        form_data: None,
        files: vec![],
    };
    let scope = scope(state, &principal.tenant);
    let who = caller(principal);
    let now = state.now();
    let decided = matches!(req.action, Action::Approve | Action::Reject);
    let summary = principal
        .tenant
        .db
        .run(move |conn| Ok(store::act(conn, &scope, &code, &who, &req, now)?))
        .await?;
    // Decided and returned at once: another agency's dossier, whose result goes back there.
    if decided && summary.status == crate::services::dossiers::Status::Returned {
        crate::app::steps::deliver_soon(state);
    }
    Ok(summary)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplementBody {
    pub(crate) version: i32,
    #[serde(default)]
    pub(crate) note: Option<String>,
    /// Corrected form data (replaces the old data; checked against the schema).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) form: Option<serde_json::Value>,
}

/// The applicant's answer to a supplement request: new data and files, checked like a
/// submission, on the same dossier.
pub(crate) async fn answer_supplement(
    state: &AppState,
    principal: &Principal,
    code: DossierCode,
    body: SupplementBody,
    files: Vec<UploadedFile>,
) -> Result<DossierSummary, AppError> {
    let tenant = principal.tenant.clone();
    check_note(&body.note)?;
    // The procedure decides what the new data and files must look like.
    let who = caller(principal);
    let lookup_code = code.clone();
    let (procedure_code, status) = tenant
        .db
        .run(move |conn| Ok(store::procedure_of(conn, &lookup_code, &who)?))
        .await?;
    let proc = procedure_as_filed(state, &tenant, &code, who, &procedure_code)
        .await?
        .ok_or_else(|| {
            AppError::bad_request("unknown_procedure", "procedure: no such procedure")
        })?;
    let mut errors = Vec::new();
    if let Some(form) = &body.form
        && let Err(mut e) = form_schema(&proc)?.validate(form)
    {
        for fe in &mut e {
            fe.path = format!("/form{}", fe.path);
        }
        errors.append(&mut e);
    }
    let kinds = check_files(&proc, &files, &[], false, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Invalid { errors });
    }
    within_storage_quota(&tenant, &files).await?;
    let stored = store_files(state, tenant.tenant.id, files, kinds, false).await?;
    let request = ActionRequest {
        // Completing a dossier the desk has not received yet answers the same way.
        action: if status == crate::services::dossiers::Status::Incomplete {
            Action::Complete
        } else {
            Action::Resubmit
        },
        version: body.version,
        note: body.note,
        missing: vec![],
        form_data: body.form,
        files: stored.clone(),
    };
    let scope = scope(state, &tenant);
    let now = state.now();
    let done = tenant
        .db
        .run(move |conn| Ok(store::act(conn, &scope, &code, &who, &request, now)?))
        .await;
    if done.is_err() {
        discard(state, &stored);
    }
    done
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    pub(crate) assignee: Uuid,
    #[serde(default)]
    pub(crate) version: Option<i32>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkKind {
    Receive,
    Assign,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    pub(crate) action: BulkKind,
    pub(crate) codes: Vec<String>,
    #[serde(default)]
    pub(crate) assignee: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub(crate) rating: i16,
    #[serde(default)]
    pub(crate) comment: Option<String>,
}

/// The applicant's one rating of a returned dossier.
pub(crate) async fn rate_dossier(
    state: &AppState,
    principal: &Principal,
    code: DossierCode,
    rating: i16,
    comment: Option<String>,
) -> Result<(), AppError> {
    if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(AppError::bad_request(
            "invalid_comment",
            "comment: at most 2000 characters",
        ));
    }
    let who = caller(principal);
    let scope = scope(state, &principal.tenant);
    let now = state.now();
    principal
        .tenant
        .db
        .run(move |conn| {
            Ok(store::rate(
                conn,
                &scope,
                &code,
                &who,
                rating,
                comment.as_deref().filter(|c| !c.trim().is_empty()),
                now,
            )?)
        })
        .await
}

#[derive(Debug, Deserialize)]
pub struct AttachmentPath {
    pub(crate) code: String,
    pub(crate) id: Uuid,
}

/// What a public lookup needs. In the body, never the URL: a phone number in a query string
/// lands in access logs, proxies' logs and browser history.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupBody {
    /// Dossier code.
    pub(crate) code: String,
    /// The applicant's phone number given at submission.
    pub(crate) phone: String,
}

/// Public status by code and phone, rate-limited per address and per code.
pub(crate) async fn lookup_status(
    state: &AppState,
    tenant: &CurrentTenant,
    ip: Option<String>,
    code: DossierCode,
    phone: &str,
) -> Result<PublicStatus, AppError> {
    let quota = crate::auth::rate_limit::Quota {
        limit: state.settings.dossiers.lookup_per_minute.max(1),
        period: std::time::Duration::from_secs(60),
    };
    if let Some(ip) = &ip {
        crate::app::auth::enforce(state, "lookup-ip", ip, quota).await?;
    }
    // Per code too, so guessing one dossier's phone from many addresses is as slow.
    crate::app::auth::enforce(
        state,
        "lookup-code",
        &format!("{}:{}", tenant.tenant.id, code),
        quota,
    )
    .await?;
    let phone = normalize_phone(phone).ok_or(AppError::NotFound { what: "dossier" })?;
    let scope = scope(state, tenant);
    let now = state.now();
    tenant
        .db
        .run(move |conn| Ok(store::lookup(conn, &scope, &code, &phone, now)?))
        .await
}
