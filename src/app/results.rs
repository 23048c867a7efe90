//! Electronic results, for the API and the portal alike: the agency's signing identity
//! (imported as PKCS#12, the key sealed under the master key), issuing a dossier's signed
//! result (generated from its form, attached as a PDF, or a paper result's scan), downloading
//! it, revoking it, the public verification page, and the digitisation figures.
//!
//! Issuing is one tenant transaction: the register's number, the PDF made and signed, its
//! bytes stored, the result row, and the applicant's wallet row commit together.

use crate::app::dossiers::{caller, scope};
use crate::auth::keys::MasterKey;
use crate::error::{AppError, FieldError};
use crate::locale::Locale;
use crate::services::attachments::{self, FileKind};
use crate::services::dossiers::store as dossiers;
use crate::services::dossiers::workflow::Status;
use crate::services::dossiers::{Caller, DossierCode, DossierDetail};
use crate::services::forms::{FormSchema, answers};
use crate::services::results::store::{self, NewResult, StoredIdentity};
use crate::services::results::{
    Digitisation, Identity, IdentityError, IdentitySummary, Origin, ResultStatus, ResultView,
    Verification, local_ca, sign,
};
use crate::services::slips::{self, SlipData, SlipKind};
use crate::services::storage::StorageKey;
use crate::services::wallet::{self, ItemKind};
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use chrono::{DateTime, Datelike, Utc};
use diesel::Connection;
use std::sync::Arc;
use uuid::Uuid;

/// Largest result PDF an official may attach.
pub const MAX_RESULT_MB: u32 = 20;

/// The reason printed in the signature and shown by PDF readers.
const SIGN_REASON: &str = "Kết quả giải quyết thủ tục hành chính / Result of the procedure";

fn identity_error(e: &IdentityError) -> AppError {
    let (code, field) = match e {
        IdentityError::WrongPassword => ("wrong_password", "/password"),
        IdentityError::Expired(_) => ("certificate_expired", "/file"),
        IdentityError::NotYetValid(_) => ("certificate_not_yet_valid", "/file"),
        IdentityError::KeyMismatch => ("key_mismatch", "/file"),
        _ => ("invalid_pkcs12", "/file"),
    };
    let text = e.to_string();
    let (vi, en) = text.split_once(" / ").unwrap_or((&text, &text));
    AppError::Invalid {
        errors: vec![FieldError {
            path: field.into(),
            code: code.into(),
            message: vi.to_owned(),
            message_en: en.to_owned(),
        }],
    }
}

fn master(state: &AppState) -> Result<Arc<MasterKey>, AppError> {
    state.master_key.clone().ok_or_else(|| AppError::Conflict {
        code: "master_key_missing",
        detail: "auth.master_key is not configured: signing keys cannot be kept / chưa cấu hình khoá chủ".into(),
    })
}

/// Seals and stores `identity` as the tenant's, in use from now on.
async fn keep_identity(
    master: &MasterKey,
    tenant: &CurrentTenant,
    by: Option<Uuid>,
    identity: Identity,
) -> Result<IdentitySummary, AppError> {
    let summary = identity.summary().map_err(|e| identity_error(&e))?;
    let key = identity.key.to_pkcs8().map_err(|e| identity_error(&e))?;
    let (sealed_key, key_nonce) = master.seal(&key);
    let stored = StoredIdentity {
        id: Uuid::new_v4(),
        summary: summary.clone(),
        chain_pem: identity.chain_pem().map_err(|e| identity_error(&e))?,
        sealed_key,
        key_nonce,
    };
    let tenant_id = tenant.tenant.id;
    let detail = serde_json::json!({
        "subject": summary.subject, "fingerprint": summary.fingerprint,
        "not_after": summary.not_after,
    });
    tenant
        .db
        .run(move |conn| {
            conn.transaction(|c| {
                store::put_identity(c, &stored)?;
                crate::auth::accounts::audit(
                    c,
                    by,
                    Some(tenant_id),
                    None,
                    "signing_identity.import",
                    detail,
                )
            })
            .map_err(AppError::from)
        })
        .await?;
    Ok(summary)
}

/// Imports the agency's PKCS#12 file: refused (nothing stored) when it cannot be opened, its
/// key is not its certificate's, or the certificate is not valid today.
pub async fn import_identity(
    state: &AppState,
    tenant: &CurrentTenant,
    by: Option<Uuid>,
    p12: Vec<u8>,
    password: String,
) -> Result<IdentitySummary, AppError> {
    import_identity_with(&*master(state)?, tenant, by, p12, password, state.now()).await
}

/// [`import_identity`] where there is no server state (the CLI).
pub async fn import_identity_with(
    master: &MasterKey,
    tenant: &CurrentTenant,
    by: Option<Uuid>,
    p12: Vec<u8>,
    password: String,
    now: DateTime<Utc>,
) -> Result<IdentitySummary, AppError> {
    let identity = crate::telemetry::spawn_blocking_in_span(move || {
        Identity::from_pkcs12(&p12, &password, now)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|e| identity_error(&e))?;
    keep_identity(master, tenant, by, identity).await
}

/// A certificate from a local test CA, for demo tenants and tests (never for real results).
pub async fn generate_local_identity(
    master: &MasterKey,
    tenant: &CurrentTenant,
) -> Result<IdentitySummary, AppError> {
    let identity = local_ca::issue(&tenant.tenant.name_vi, 825).map_err(|e| identity_error(&e))?;
    keep_identity(master, tenant, None, identity).await
}

/// The identity results are signed with now.
pub async fn identity(tenant: &CurrentTenant) -> Result<Option<IdentitySummary>, AppError> {
    tenant
        .db
        .run(|conn| Ok(store::identity_in_use(conn)?.map(|s| s.summary)))
        .await
}

/// Where the result PDF comes from.
pub enum Source {
    /// Made from the procedure's form and the decision.
    Generate,
    /// A PDF the official drafted elsewhere.
    Upload { file_name: String, bytes: Vec<u8> },
    /// A result issued on paper, scanned (as PDF).
    PaperScan { file_name: String, bytes: Vec<u8> },
}

/// The public verification page of result `id` (what the QR code carries).
pub fn verification_url(state: &AppState, tenant: &CurrentTenant, id: Uuid) -> String {
    let server = &state.settings.server;
    format!(
        "{}/ket-qua/{id}",
        tenant
            .tenant
            .portal_origin(&server.base_domain, &server.public_origin)
    )
}

/// A result is issued once the dossier is approved: decided so (and perhaps already returned),
/// or, in a declared process, approved at an earlier step while the clerk's step numbers and
/// seals it.
pub fn may_have_result(d: &DossierDetail) -> bool {
    let approved_at_a_step = d.summary.status.is_open()
        && d.step
            .as_ref()
            .is_some_and(|s| s.decided.as_deref() == Some("approve"));
    matches!(d.summary.status, Status::Approved | Status::Returned) || approved_at_a_step
}

/// What a result is made from, ready before the transaction.
enum Pdf {
    Generate(Box<SlipData>),
    Given { name: String, bytes: Vec<u8> },
}

fn result_exists() -> AppError {
    AppError::Conflict {
        code: "result_exists",
        detail: "hồ sơ đã có kết quả còn hiệu lực; hãy thu hồi trước / the dossier already has a live result: revoke it first".into(),
    }
}

fn official(who: &Caller) -> Result<(), AppError> {
    if who.officer || who.leader {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn invalid(path: &str, code: &str, vi: &str, en: &str) -> AppError {
    AppError::Invalid {
        errors: vec![crate::app::dossiers::field_error(path.into(), code, vi, en)],
    }
}

/// A PDF an official attached: sniffed from its bytes, within the size limit.
fn check_pdf(file_name: &str, bytes: &[u8]) -> Result<String, AppError> {
    let name = attachments::display_name(file_name).map_err(|_| {
        invalid(
            "/file",
            "invalid_file",
            "Tên tệp không hợp lệ",
            "Invalid file name",
        )
    })?;
    attachments::check(&name, bytes, &[FileKind::Pdf], MAX_RESULT_MB).map_err(|e| {
        let text = e.to_string();
        let (vi, en) = text.split_once(" / ").unwrap_or((&text, &text));
        invalid(
            "/file",
            "not_a_pdf",
            &format!("Kết quả phải là tệp PDF: {vi}"),
            en,
        )
    })?;
    Ok(name)
}

/// Issues dossier `code`'s signed result. The dossier must be approved (or its result already
/// returned on paper), have no live result, and the tenant a valid signing identity.
pub async fn issue(
    state: &AppState,
    principal: &crate::auth::principal::Principal,
    code: DossierCode,
    source: Source,
) -> Result<ResultView, AppError> {
    let who = caller(principal);
    official(&who)?;
    let tenant = principal.tenant.clone();
    let master = master(state)?;
    // A given PDF is checked before anything else is looked at.
    let (origin, given) = match source {
        Source::Generate => (Origin::Generated, None),
        Source::Upload { file_name, bytes } => (
            Origin::Uploaded,
            Some((check_pdf(&file_name, &bytes)?, bytes)),
        ),
        Source::PaperScan { file_name, bytes } => (
            Origin::PaperScan,
            Some((check_pdf(&file_name, &bytes)?, bytes)),
        ),
    };
    let now = state.now();
    let detail = detail(state, &tenant, &code, &who).await?;
    if !may_have_result(&detail) {
        return Err(AppError::Conflict {
            code: "not_approved",
            detail: "chỉ hồ sơ đã được chấp thuận mới có kết quả / only an approved dossier has a result".into(),
        });
    }
    if detail.results.iter().any(|r| !r.is_revoked()) {
        return Err(result_exists());
    }
    // The PDF, or the generated document's content (numbered in the transaction), composed
    // before it (no I/O in it).
    let pdf = match given {
        Some((name, bytes)) => Pdf::Given { name, bytes },
        None => Pdf::Generate(Box::new(result_slip(state, &tenant, &detail, &who).await?)),
    };
    let result_id = Uuid::new_v4();
    let verify_url = verification_url(state, &tenant, result_id);
    let storage = state.storage.clone();
    let tenant_id = tenant.tenant.id;
    let dossier_code = detail.summary.code.clone();
    let procedure_code = detail.summary.procedure_code.clone();
    let procedure_name = detail.summary.procedure_name.clone();
    let applicant = detail.applicant_account;
    let issued_by = who.account;
    let (dossier_id, key_for_cleanup) = (detail.id, StorageKey::generate(tenant_id, now.year()));
    let key = key_for_cleanup.clone();
    let issued = tenant
        .db
        .run(move |conn| {
            conn.transaction(|c| {
                let stored = store::identity_in_use(c)?.ok_or_else(|| AppError::Conflict {
                    code: "no_signing_identity",
                    detail: "cơ quan chưa có chứng thư số để ký kết quả / the agency has no signing certificate yet".into(),
                })?;
                let identity = open_identity(&master, &stored)?;
                identity.check(now).map_err(|e| AppError::Conflict {
                    code: "certificate_unusable",
                    detail: e.to_string(),
                })?;
                let number = store::next_number(c, crate::services::calendar::local_date(now).year())?;
                let (file_name, unsigned) = match pdf {
                    Pdf::Generate(mut slip) => {
                        slip.result_number = Some(number.clone());
                        slip.lookup_url = verify_url;
                        slip.issued_at = now;
                        let pdf = slips::pdf(&slip).map_err(AppError::internal)?;
                        (format!("ket-qua-{}.pdf", number.replace('/', "-")), pdf)
                    }
                    Pdf::Given { name, bytes } => (name, bytes),
                };
                let signed = sign(&unsigned, &identity, now, SIGN_REASON).map_err(|e| {
                    invalid(
                        "/file",
                        "unsignable_pdf",
                        &format!("Không ký được tệp PDF này: {e}"),
                        &format!("This PDF cannot be signed: {e}"),
                    )
                })?;
                let sha256 = attachments::checksum(&signed);
                storage.put(&key, &signed).map_err(AppError::internal)?;
                let row = NewResult {
                    id: result_id,
                    dossier_id,
                    number: number.clone(),
                    origin,
                    file_name: file_name.clone(),
                    size_bytes: signed.len() as i64,
                    sha256: sha256.clone(),
                    storage_key: key.as_str().to_owned(),
                    identity_id: stored.id,
                    issued_by: Some(issued_by),
                    issued_at: now,
                };
                // Two officials issuing at once: the live-result index lets one through.
                store::insert(c, tenant_id, &row).map_err(|e| match e {
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    ) => result_exists(),
                    other => other.into(),
                })?;
                if let Some(account) = applicant {
                    wallet::store::keep(
                        c,
                        &[wallet::store::NewItem {
                            account_id: account,
                            tenant_id,
                            kind: ItemKind::Result,
                            source_id: result_id,
                            dossier_code: dossier_code.clone(),
                            procedure_code: procedure_code.clone(),
                            title: procedure_name.clone(),
                            title_en: None,
                            file_name: file_name.clone(),
                            media_type: FileKind::Pdf.media_type().into(),
                            size_bytes: row.size_bytes,
                            sha256: sha256.clone(),
                            storage_key: row.storage_key.clone(),
                            result_number: Some(number.clone()),
                            added_at: now,
                        }],
                    )?;
                }
                crate::auth::accounts::audit(
                    c,
                    Some(issued_by),
                    Some(tenant_id),
                    None,
                    "result.issue",
                    serde_json::json!({ "dossier": dossier_code, "number": number, "origin": origin }),
                )?;
                Ok(ResultView {
                    id: result_id,
                    number,
                    origin,
                    file_name,
                    size_bytes: row.size_bytes,
                    sha256,
                    signer: stored.summary.subject,
                    issued_at: now,
                    revoked_at: None,
                    revoke_reason: None,
                })
            })
        })
        .await;
    if issued.is_err() {
        // The file may have been written before the transaction failed: an orphan harms
        // nobody, but it is not kept.
        let _ = state.storage.delete(&key_for_cleanup);
    }
    issued
}

fn open_identity(
    master: &crate::auth::keys::MasterKey,
    stored: &StoredIdentity,
) -> Result<Identity, AppError> {
    // A tenant moved from another deployment brings a key sealed under that one's master key.
    let key = zeroize::Zeroizing::new(master.open(&stored.sealed_key, &stored.key_nonce).map_err(
        |_| AppError::Conflict {
            code: "signing_key_sealed_elsewhere",
            detail: "khoá ký không mở được bằng khoá chủ của hệ thống này; hãy nhập lại tệp PKCS#12 / the signing key cannot be opened with this deployment's master key: import the PKCS#12 again".into(),
        },
    )?);
    Identity::from_parts(&key, &stored.chain_pem).map_err(AppError::internal)
}

async fn detail(
    state: &AppState,
    tenant: &CurrentTenant,
    code: &DossierCode,
    who: &Caller,
) -> Result<DetailWithIds, AppError> {
    let (scope, now, code, who) = (scope(state, tenant), state.now(), code.clone(), *who);
    tenant
        .db
        .run(move |conn| {
            let d = dossiers::detail(conn, &scope, &code, &who, now)?;
            let ids = dossiers::ids_of(conn, &code, &who)?;
            Ok(DetailWithIds {
                detail: d,
                id: ids.id,
                applicant_account: ids.applicant,
                caller_name: ids.caller_name,
            })
        })
        .await
}

/// A dossier's detail with the two ids results need (never shown).
struct DetailWithIds {
    detail: DossierDetail,
    id: Uuid,
    applicant_account: Option<Uuid>,
    caller_name: Option<String>,
}

impl std::ops::Deref for DetailWithIds {
    type Target = DossierDetail;
    fn deref(&self) -> &DossierDetail {
        &self.detail
    }
}

/// The generated result's content: the agency's header, the applicant, their answers with the
/// procedure's labels, the decision's note; numbered and dated when signed.
async fn result_slip(
    state: &AppState,
    tenant: &CurrentTenant,
    d: &DetailWithIds,
    who: &Caller,
) -> Result<SlipData, AppError> {
    let locale = Locale::Vi;
    // The answers under the labels of the form the applicant filled (their version).
    let code = DossierCode::parse(&d.summary.code).map_err(AppError::internal)?;
    let procedure = crate::app::dossiers::procedure_as_filed(
        state,
        tenant,
        &code,
        *who,
        &d.summary.procedure_code,
    )
    .await?;
    let lines = match &procedure {
        Some(p) => {
            let schema = FormSchema::parse(&p.form_schema).map_err(AppError::internal)?;
            answers(&schema.fields(), &d.form_data, locale)
        }
        None => vec![],
    };
    let officer_name = d.caller_name.clone();
    Ok(SlipData {
        kind: SlipKind::Result,
        locale,
        agency: crate::app::slips::agency(state, &tenant.tenant, locale),
        dossier_code: d.summary.code.clone(),
        procedure_name: d.summary.procedure_name.clone(),
        channel_label: d.channel.label_vi().to_owned(),
        applicant_name: d.applicant_name.clone(),
        applicant_id_number: d.applicant_id_number.clone(),
        applicant_phone: None,
        applicant_email: None,
        issued_at: state.now(),
        officer_name,
        received_at: d.summary.received_at,
        due_date: None,
        documents: vec![],
        pickup: String::new(),
        missing: vec![],
        note: d.result_note.clone(),
        reason: None,
        old_due_date: None,
        new_due_date: None,
        record: vec![],
        lookup_url: String::new(),
        result_number: None,
        answers: lines,
    })
}

/// The signed PDF of a result of dossier `code`, for its applicant or the tenant's officials
/// (anyone else: not found). A revoked result is still given to them, marked so by the page.
pub async fn download(
    state: &AppState,
    principal: &crate::auth::principal::Principal,
    code: DossierCode,
    id: Uuid,
) -> Result<(String, Vec<u8>), AppError> {
    let tenant = principal.tenant.clone();
    let who = caller(principal);
    let d = detail(state, &tenant, &code, &who).await?;
    if !d.results.iter().any(|r| r.id == id) {
        return Err(AppError::NotFound { what: "result" });
    }
    let record = tenant
        .db
        .run(move |c| Ok(store::find(c, id)?))
        .await?
        .ok_or(AppError::NotFound { what: "result" })?;
    let bytes = crate::app::dossiers::read_stored(state, &record.storage_key).await?;
    Ok((record.view.file_name, bytes))
}

/// Revokes a live result with the reason (an official of the tenant); the verification page
/// says so from now on, and the applicant's wallet no longer offers it.
pub async fn revoke(
    state: &AppState,
    principal: &crate::auth::principal::Principal,
    code: DossierCode,
    id: Uuid,
    reason: String,
) -> Result<ResultView, AppError> {
    let who = caller(principal);
    official(&who)?;
    let reason = reason.trim().to_owned();
    if reason.chars().count() < 5 || reason.chars().count() > 1000 {
        return Err(invalid(
            "/reason",
            "reason_required",
            "Lý do thu hồi: bắt buộc, từ 5 đến 1000 ký tự",
            "Reason: required, 5 to 1000 characters",
        ));
    }
    let tenant = principal.tenant.clone();
    let d = detail(state, &tenant, &code, &who).await?;
    let Some(current) = d.results.iter().find(|r| r.id == id).cloned() else {
        return Err(AppError::NotFound { what: "result" });
    };
    if current.is_revoked() {
        return Err(AppError::Conflict {
            code: "already_revoked",
            detail: "kết quả đã bị thu hồi / the result is already revoked".into(),
        });
    }
    let (now, by, tenant_id) = (state.now(), who.account, tenant.tenant.id);
    let dossier_code = d.summary.code.clone();
    let why = reason.clone();
    tenant
        .db
        .run(move |conn| {
            conn.transaction(|c| {
                if !store::revoke(c, tenant_id, id, by, &why, now)? {
                    return Err(AppError::Conflict {
                        code: "already_revoked",
                        detail: "kết quả đã bị thu hồi / the result is already revoked".into(),
                    });
                }
                wallet::store::revoke_source(c, id, now)?;
                crate::auth::accounts::audit(
                    c,
                    Some(by),
                    Some(tenant_id),
                    None,
                    "result.revoke",
                    serde_json::json!({ "dossier": dossier_code, "result": id, "reason": why }),
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(ResultView {
        revoked_at: Some(now),
        revoke_reason: Some(reason),
        ..current
    })
}

/// What the public verification page shows of result `id` on this tenant (not found when it
/// is not this tenant's).
pub async fn verify(
    state: &AppState,
    tenant: &CurrentTenant,
    id: Uuid,
    locale: Locale,
) -> Result<Verification, AppError> {
    let record = tenant
        .db
        .run(move |c| Ok(store::find(c, id)?))
        .await?
        .ok_or(AppError::NotFound { what: "result" })?;
    let catalog = crate::app::procedures::cached_catalog(state, tenant).await?;
    let procedure_name = catalog
        .procedures()
        .iter()
        .find(|p| p.code == record.procedure_code)
        .map_or_else(
            || record.procedure_code.clone(),
            |p| match (locale, &p.name_en) {
                (Locale::En, Some(en)) => en.clone(),
                _ => p.name.clone(),
            },
        );
    let t = &tenant.tenant;
    Ok(Verification {
        number: record.view.number,
        issuer: match (locale, &t.name_en) {
            (Locale::En, Some(en)) => en.clone(),
            _ => t.name_vi.clone(),
        },
        procedure_code: record.procedure_code,
        procedure_name,
        issued_at: record.view.issued_at,
        sha256: record.view.sha256,
        signer: record.view.signer,
        certificate_not_after: record.certificate_not_after,
        status: if record.view.revoked_at.is_some() {
            ResultStatus::Revoked
        } else {
            ResultStatus::Valid
        },
        revoked_at: record.view.revoked_at,
    })
}

/// Decision 766's digitisation figures of the tenant for calendar year `year`.
pub async fn digitisation(tenant: &CurrentTenant, year: i32) -> Result<Digitisation, AppError> {
    let start = |y: i32| -> Result<DateTime<Utc>, AppError> {
        chrono::NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc() - chrono::Duration::hours(7))
            .ok_or_else(|| AppError::bad_request("invalid_year", "year: out of range"))
    };
    let (from, until) = (start(year)?, start(year + 1)?);
    tenant
        .db
        .run(move |c| Ok(store::digitisation(c, from, until)?))
        .await
}
