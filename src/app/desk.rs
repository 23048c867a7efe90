//! The one-stop desk (Bộ phận một cửa): dossiers registered at the counter or received by post,
//! appointments moved with an apology, and counter applicants claiming their dossiers once
//! they have an account. The API and the back-office pages both call these.

use crate::app::dossiers::{
    check_files, discard, field_error, form_schema, scope, store_files, within_storage_quota,
};
use crate::auth::identity::{CitizenId, TaxCode};
use crate::auth::principal::Principal;
use crate::error::{AppError, FieldError};
use crate::locale::Locale;
use crate::mail::Email;
use crate::services::attachments::UploadedFile;
use crate::services::dossiers::code::normalize_phone;
use crate::services::dossiers::store;
use crate::services::dossiers::{
    Applicant, Channel, DeskApplicant, DossierCode, DossierSummary, NewDossier,
};
use crate::state::AppState;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

/// A dossier handed in at the counter or received by post, as the desk officer types it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskIntake {
    /// Procedure code, e.g. `1.000105`.
    pub(crate) procedure: String,
    /// `counter` (the applicant came in person) or `postal`.
    #[schema(value_type = String, example = "counter")]
    pub(crate) channel: String,
    pub(crate) applicant: DeskApplicantBody,
    /// Form data, checked against the procedure's form schema.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub(crate) form: serde_json::Value,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskApplicantBody {
    pub(crate) full_name: String,
    /// CCCD (12 digits) of a person, or the tax code of a business.
    pub(crate) id_number: String,
    pub(crate) phone: String,
    /// Optional: many applicants have none.
    #[serde(default)]
    pub(crate) email: Option<String>,
    /// `vi` (default) or `en`: the language of the slips and mail.
    #[serde(default)]
    pub(crate) locale: Option<String>,
}

fn officer_of_tenant(p: &Principal) -> Result<(), AppError> {
    if p.is_official() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The identity number as a checked CCCD or tax code, or the field error.
pub(crate) fn check_id_number(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    let is_tax_code = s.len() != 12 || s.contains('-');
    let checked = if is_tax_code {
        TaxCode::parse(s).map(|t| t.as_str().to_owned())
    } else {
        CitizenId::parse(s).map(|c| c.as_str().to_owned())
    };
    checked.map_err(|e| {
        field_error(
            "/applicant/id_number".into(),
            "format",
            "Số CCCD / mã số thuế: không hợp lệ (CCCD 12 chữ số, mã tỉnh 001–096; mã số thuế 10 chữ số đúng số kiểm tra)",
            &format!("Identity number: {e}"),
        )
    })
}

/// Every error of the applicant's part at once.
fn check_applicant(
    a: &DeskApplicantBody,
    officer: uuid::Uuid,
    errors: &mut Vec<FieldError>,
) -> Option<(DeskApplicant, String)> {
    let name = a.full_name.trim();
    let name_ok = !name.is_empty() && name.chars().count() <= 200;
    if !name_ok {
        errors.push(field_error(
            "/applicant/full_name".into(),
            "required",
            "Họ và tên người nộp: bắt buộc (tối đa 200 ký tự)",
            "Applicant's full name: required (at most 200 characters)",
        ));
    }
    let id_number = check_id_number(&a.id_number)
        .map_err(|e| errors.push(e))
        .ok();
    let phone = normalize_phone(&a.phone);
    if phone.is_none() {
        errors.push(field_error(
            "/applicant/phone".into(),
            "format",
            "Số điện thoại: không hợp lệ (10 chữ số, bắt đầu bằng 0)",
            "Phone: invalid (10 digits starting with 0)",
        ));
    }
    let email = match a.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        None => Some(None),
        Some(e) => match Email::parse(e) {
            Ok(e) => Some(Some(e)),
            Err(_) => {
                errors.push(field_error(
                    "/applicant/email".into(),
                    "format",
                    "Thư điện tử: không hợp lệ",
                    "E-mail: invalid",
                ));
                None
            }
        },
    };
    let locale = a.locale.as_deref().map_or(Some(Locale::Vi), Locale::parse);
    if locale.is_none() {
        errors.push(field_error(
            "/applicant/locale".into(),
            "enum",
            "Ngôn ngữ: vi hoặc en",
            "Language: vi or en",
        ));
    }
    Some((
        DeskApplicant {
            full_name: name.to_owned(),
            id_number: id_number?,
            email: email?,
            locale: locale?,
            officer,
        },
        phone?,
    ))
    .filter(|_| name_ok)
}

/// An intake that passed every check.
struct Checked {
    procedure: crate::services::catalog::Procedure,
    channel: Channel,
    applicant: DeskApplicant,
    phone: String,
    kinds: Vec<(usize, crate::services::attachments::FileKind)>,
}

/// Checks an intake without its scans (the portal's first step): every field error at once.
pub(crate) async fn check(
    state: &AppState,
    principal: &Principal,
    intake: &DeskIntake,
) -> Result<(), AppError> {
    validate(state, principal, intake, &[]).await.map(drop)
}

/// Applicant, channel, procedure, form and scans, checked like an online submission.
async fn validate(
    state: &AppState,
    principal: &Principal,
    intake: &DeskIntake,
    files: &[UploadedFile],
) -> Result<Checked, AppError> {
    officer_of_tenant(principal)?;
    let tenant = &principal.tenant;
    let mut errors = Vec::new();
    let channel = match intake.channel.parse::<Channel>() {
        Ok(c @ (Channel::Counter | Channel::Postal)) => Some(c),
        _ => {
            errors.push(field_error(
                "/channel".into(),
                "enum",
                "Hình thức nộp: trực tiếp (counter) hoặc qua bưu chính (postal)",
                "Channel: counter or postal",
            ));
            None
        }
    };
    let applicant = check_applicant(&intake.applicant, principal.account, &mut errors);
    let proc = match crate::app::dossiers::procedure(state, tenant, &intake.procedure).await {
        Ok(p) => Some(p),
        Err(AppError::BadRequest { .. }) => {
            errors.push(field_error(
                "/procedure".into(),
                "unknown",
                "Thủ tục: cơ quan không cung cấp thủ tục này",
                "Procedure: this agency does not offer it",
            ));
            None
        }
        Err(e) => return Err(e),
    };
    let mut kinds = Vec::new();
    if let Some(proc) = &proc {
        if let Err(mut e) = form_schema(proc)?.validate(&intake.form) {
            for fe in &mut e {
                fe.path = format!("/form{}", fe.path);
            }
            errors.append(&mut e);
        }
        // Missing papers are what the completeness check asks for, not an error of intake.
        kinds = check_files(proc, files, &[], false, &mut errors);
    }
    match (proc, channel, applicant, errors.is_empty()) {
        (Some(procedure), Some(channel), Some((applicant, phone)), true) => Ok(Checked {
            procedure,
            channel,
            applicant,
            phone,
            kinds,
        }),
        _ => Err(AppError::Invalid { errors }),
    }
}

/// Registers a dossier at the desk: checked as [`validate`] says (422, nothing stored), then
/// recorded as `submitted` on its channel, waiting for the completeness check.
pub(crate) async fn register(
    state: &AppState,
    principal: &Principal,
    intake: DeskIntake,
    files: Vec<UploadedFile>,
) -> Result<DossierSummary, AppError> {
    let checked = validate(state, principal, &intake, &files).await?;
    let tenant = principal.tenant.clone();
    within_storage_quota(&tenant, &files).await?;
    let stored = store_files(state, tenant.tenant.id, files, checked.kinds, true).await?;
    let new = NewDossier {
        procedure_code: checked.procedure.code.clone(),
        applicant: Applicant::AtDesk(checked.applicant),
        channel: checked.channel,
        phone_digits: checked.phone,
        form_data: intake.form,
        files: stored.clone(),
    };
    let scope = scope(state, &tenant);
    let now = state.now();
    let recorded = tenant
        .db
        .run(move |conn| Ok(store::submit(conn, &scope, &new, now)?))
        .await;
    if recorded.is_err() {
        discard(state, &stored);
    }
    recorded
}

/// A new appointment for a received dossier, with the reason (the apology slip).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    pub(crate) version: i32,
    /// The new date to return the result: a working day after the current one.
    pub(crate) due_date: NaiveDate,
    pub(crate) reason: String,
}

pub(crate) async fn extend(
    state: &AppState,
    principal: &Principal,
    code: DossierCode,
    b: ExtendBody,
) -> Result<DossierSummary, AppError> {
    officer_of_tenant(principal)?;
    if b.reason.trim().is_empty() {
        return Err(AppError::Invalid {
            errors: vec![field_error(
                "/reason".into(),
                "required",
                "Lý do: bắt buộc",
                "Reason: required",
            )],
        });
    }
    if b.reason.chars().count() > 2000 {
        return Err(AppError::Invalid {
            errors: vec![field_error(
                "/reason".into(),
                "maxLength",
                "Lý do: tối đa 2000 ký tự",
                "Reason: at most 2000 characters",
            )],
        });
    }
    let scope = scope(state, &principal.tenant);
    let who = crate::app::dossiers::caller(principal);
    let now = state.now();
    principal
        .tenant
        .db
        .run(move |conn| {
            Ok(store::extend(
                conn, &scope, &code, &who, b.due_date, &b.reason, b.version, now,
            )?)
        })
        .await
}

/// Links the desk's dossiers to the account that proves them: the CCCD and phone it signed
/// up with match what the desk recorded, and the e-mail the desk recorded is the account's
/// own, verified by the code sent to it at sign-up. Returns how many were claimed.
pub(crate) async fn claim(state: &AppState, account: uuid::Uuid) -> Result<usize, AppError> {
    let now = state.now();
    let found = state
        .shared
        .run(move |conn| Ok(crate::services::dossiers::claims::claimable(conn, account)?))
        .await?;
    let mut claimed = 0;
    for (tenant_id, dossiers) in found {
        let Some(tenant) = state.registry.by_id(tenant_id) else {
            continue;
        };
        let db = tenant.db(&state.pools);
        claimed += db
            .run(move |conn| {
                Ok(crate::services::dossiers::claims::claim(
                    conn, tenant_id, account, &dossiers, now,
                )?)
            })
            .await?;
    }
    Ok(claimed)
}

/// Receives an incomplete dossier when the missing papers are handed in at the counter, with
/// their scans, in one step: the scans are checked like any upload (422, nothing stored) and
/// recorded with the receipt.
pub(crate) async fn receive_with_scans(
    state: &AppState,
    principal: &Principal,
    code: DossierCode,
    version: i32,
    files: Vec<UploadedFile>,
) -> Result<DossierSummary, AppError> {
    officer_of_tenant(principal)?;
    let tenant = principal.tenant.clone();
    let who = crate::app::dossiers::caller(principal);
    let lookup = code.clone();
    let (procedure_code, _) = tenant
        .db
        .run(move |conn| Ok(store::procedure_of(conn, &lookup, &who)?))
        .await?;
    let proc =
        crate::app::dossiers::procedure_as_filed(state, &tenant, &code, who, &procedure_code)
            .await?
            .ok_or_else(|| {
                AppError::bad_request("unknown_procedure", "procedure: no such procedure")
            })?;
    let mut errors = Vec::new();
    let kinds = check_files(&proc, &files, &[], false, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Invalid { errors });
    }
    within_storage_quota(&tenant, &files).await?;
    let stored = store_files(state, tenant.tenant.id, files, kinds, true).await?;
    let request = crate::services::dossiers::ActionRequest {
        action: crate::services::dossiers::Action::Receive,
        version,
        note: None,
        missing: vec![],
        form_data: None,
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
