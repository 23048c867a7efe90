//! Complaints and recommendations (phản ánh, kiến nghị), for the API and the portal alike:
//! filing (at once when signed in, after a code sent to the filer's e-mail or phone
//! otherwise), the officials' list and answer, publication with consent, and what is late.

use crate::app::dossiers::field_error;
use crate::auth::accounts;
use crate::error::AppError;
use crate::locale::Locale;
use crate::mail::TemplateKey;
use crate::services::calendar::{self, Calendar};
use crate::services::complaints::store::{self, Complaint, Opening, Published};
use crate::services::complaints::{self, ComplaintStatus, FilingInput, Problem};
use crate::services::stats::Delta;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

/// Wrong codes allowed before a complaint's verification is closed.
const MAX_CODE_ATTEMPTS: i32 = 5;

/// Who files: a signed-in account, or someone who will prove their contact.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Filer {
    pub account: Option<Uuid>,
    pub locale: Locale,
}

/// A filing's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct Filed {
    /// `PAKN-yymmdd-nnnn`.
    pub code: String,
    /// `open` (filed, the deadline runs) or `unverified` (enter the code sent to you).
    pub status: ComplaintStatus,
    /// Where the verification code went: `email` or `sms`.
    pub code_sent_by: Option<String>,
    pub due_date: Option<chrono::NaiveDate>,
}

fn invalid(problems: Vec<Problem>) -> AppError {
    AppError::Invalid {
        errors: problems
            .into_iter()
            .map(|p| field_error(format!("/{}", p.field), p.code, p.vi, p.en))
            .collect(),
    }
}

fn code_hash(id: Uuid, code: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(id.as_bytes());
    h.update(code.as_bytes());
    h.finalize().to_vec()
}

fn tenant_link(state: &AppState, tenant: &CurrentTenant, path: &str) -> String {
    let origin = tenant.tenant.portal_origin(
        &state.settings.server.base_domain,
        &state.settings.server.public_origin,
    );
    format!("{origin}{path}")
}

/// Files a complaint. Signed in: filed now. Otherwise a six-digit code goes to the e-mail (or
/// the mobile) given, and the complaint waits for it.
pub(crate) async fn file(
    state: &AppState,
    tenant: &CurrentTenant,
    filer: Filer,
    input: FilingInput,
    ip: Option<&str>,
) -> Result<Filed, AppError> {
    crate::app::auth::limit(state, "complaint-ip", ip).await?;
    let profile = match filer.account {
        Some(account) => state
            .shared
            .run(move |c| Ok(crate::auth::sso::profile(c, account)?))
            .await?
            .filter(|p| p.email_verified),
        None => None,
    };
    let mut filing = complaints::check(&input, profile.as_ref().map(|p| p.full_name.as_str()))
        .map_err(invalid)?;
    if let Some(p) = &profile
        && filing.email.is_none()
    {
        filing.email = crate::mail::Email::parse(&p.email).ok();
    }
    // Without texts a code can only go by e-mail.
    if profile.is_none() && filing.email.is_none() && !state.settings.texts.enabled {
        return Err(invalid(vec![Problem {
            field: "contact",
            code: "email_required",
            vi: "Cổng này chưa gửi tin nhắn: cho biết thư điện tử để nhận mã xác minh",
            en: "This portal sends no text messages yet: give an e-mail to receive the code",
        }]));
    }
    // A unit named must be one of this tenant's.
    let unit_code = match filing.subject {
        complaints::Subject::Unit => {
            let code = filing.subject_ref.clone().unwrap_or_default();
            let units = tenant
                .db
                .run(|c| Ok(crate::services::processes::units::list(c)?))
                .await?;
            if !units.iter().any(|u| u.code.as_str() == code) {
                return Err(invalid(vec![Problem {
                    field: "subject_ref",
                    code: "unknown_unit",
                    vi: "Không có đơn vị này: chọn trong danh sách đơn vị",
                    en: "No such unit: choose one of the listed units",
                }]));
            }
            Some(code)
        }
        _ => None,
    };
    let now = state.now();
    let today = calendar::local_date(now);
    let id = Uuid::new_v4();
    let secret = format!("{:06}", rand::random_range(0..1_000_000u32));
    let signed_in = profile.is_some();
    let filed = signed_in.then(|| (now, complaints::due_date(Calendar::vietnam(), today)));
    let (tenant_id, locale) = (tenant.tenant.id, filer.locale);
    let texts = crate::notify::TextPolicy::from_settings(&state.settings.texts);
    let account = profile.as_ref().map(|p| p.id);
    let sent_by = if signed_in {
        None
    } else if filing.email.is_some() {
        Some("email")
    } else {
        Some("sms")
    };
    let link = tenant_link(state, tenant, "/phan-anh-kien-nghi");
    let code = tenant
        .db
        .run(move |c| {
            let code = store::next_code(c, today)?;
            store::insert(
                c,
                &filing,
                &Opening {
                    id,
                    code: code.clone(),
                    unit_code,
                    filer_account: account,
                    locale: locale.as_str().to_owned(),
                    verify_hash: (!signed_in).then(|| code_hash(id, &secret)),
                    filed,
                },
            )?;
            if !signed_in {
                // The code goes whatever the person's usual choices: it is how they prove
                // this contact is theirs.
                let payload = serde_json::json!({
                    "filer_name": filing.name, "complaint_code": code, "link": link,
                    "secret": { "code": secret },
                });
                let key = format!("complaint:{id}:code");
                if let Some(email) = &filing.email {
                    crate::mail::outbox::enqueue(
                        c,
                        &crate::mail::outbox::NewMail {
                            tenant_id: Some(tenant_id),
                            template: TemplateKey::ComplaintCode,
                            locale,
                            recipient: email.clone(),
                            payload,
                            idempotency_key: key,
                        },
                    )?;
                } else if let Some(phone) = &filing.phone
                    && texts.sms
                {
                    crate::texts::outbox::enqueue(
                        c,
                        &crate::texts::outbox::NewText {
                            tenant_id: Some(tenant_id),
                            channel: crate::texts::Channel::Sms,
                            template: TemplateKey::ComplaintCode,
                            locale,
                            recipient: phone.clone(),
                            payload,
                            idempotency_key: key,
                        },
                    )?;
                }
            }
            if signed_in {
                count(c, tenant_id, today, Delta::complaint_received())?;
            }
            accounts::audit(
                c,
                account,
                Some(tenant_id),
                None,
                "complaint.filed",
                serde_json::json!({ "code": code, "verified": signed_in }),
            )?;
            Ok(code)
        })
        .await?;
    Ok(Filed {
        code,
        status: if signed_in {
            ComplaintStatus::Open
        } else {
            ComplaintStatus::Unverified
        },
        code_sent_by: sent_by.map(str::to_owned),
        due_date: filed.map(|f| f.1),
    })
}

/// The filer enters the code they received: the complaint is filed now and its deadline runs.
pub(crate) async fn verify(
    state: &AppState,
    tenant: &CurrentTenant,
    complaint: String,
    code: String,
    ip: Option<&str>,
) -> Result<Filed, AppError> {
    crate::app::auth::limit(state, "complaint-verify-ip", ip).await?;
    let complaint =
        complaints::parse_code(&complaint).ok_or(AppError::NotFound { what: "complaint" })?;
    let now = state.now();
    let due = complaints::due_date(Calendar::vietnam(), calendar::local_date(now));
    let tenant_id = tenant.tenant.id;
    let code = code.trim().to_owned();
    tenant
        .db
        .run(move |c| {
            let Some((id, hash, attempts)) = store::verification(c, &complaint)? else {
                return Err(AppError::NotFound { what: "complaint" });
            };
            if attempts >= MAX_CODE_ATTEMPTS {
                return Err(AppError::Conflict {
                    code: "too_many_attempts",
                    detail: "Đã nhập sai mã quá nhiều lần; vui lòng gửi lại phản ánh / \
                             too many wrong codes: please file again"
                        .into(),
                });
            }
            if !complaints::same_digest(&code_hash(id, &code), &hash) {
                store::count_attempt(c, id)?;
                // Counted even though the request fails: the attempt must stick.
                return Ok(Err(invalid(vec![Problem {
                    field: "code",
                    code: "wrong_code",
                    vi: "Mã xác minh không đúng",
                    en: "The verification code is not right",
                }])));
            }
            store::open(c, id, now, due)?;
            count(
                c,
                tenant_id,
                calendar::local_date(now),
                Delta::complaint_received(),
            )?;
            accounts::audit(
                c,
                None,
                Some(tenant_id),
                None,
                "complaint.verified",
                serde_json::json!({ "code": complaint }),
            )?;
            Ok(Ok(Filed {
                code: complaint,
                status: ComplaintStatus::Open,
                code_sent_by: None,
                due_date: Some(due),
            }))
        })
        .await?
}

/// Complaint counters for the service index, in the transaction of the change. They concern
/// the tenant, not a procedure: kept under no procedure code.
fn count(
    c: &mut diesel::PgConnection,
    tenant: Uuid,
    day: chrono::NaiveDate,
    delta: Delta,
) -> diesel::QueryResult<()> {
    crate::services::stats::record(
        c,
        crate::services::stats::Key {
            tenant,
            day,
            procedure: "",
            field: "",
        },
        delta,
    )
}

/// Officials of the tenant only.
fn official(principal: &crate::auth::principal::Principal) -> Result<(), AppError> {
    if principal.is_official() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

pub(crate) async fn list(
    principal: &crate::auth::principal::Principal,
    status: Option<ComplaintStatus>,
) -> Result<Vec<Complaint>, AppError> {
    official(principal)?;
    principal
        .tenant
        .db
        .run(move |c| Ok(store::list(c, status, 500)?))
        .await
}

pub(crate) async fn show(
    principal: &crate::auth::principal::Principal,
    code: String,
) -> Result<Complaint, AppError> {
    official(principal)?;
    let code = complaints::parse_code(&code).ok_or(AppError::NotFound { what: "complaint" })?;
    principal
        .tenant
        .db
        .run(move |c| store::by_code(c, &code)?.ok_or(AppError::NotFound { what: "complaint" }))
        .await
        .and_then(|found| {
            if found.status == ComplaintStatus::Unverified {
                Err(AppError::NotFound { what: "complaint" })
            } else {
                Ok(found)
            }
        })
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub answer: String,
    /// Publish the question and answer on the portal (only when the filer agreed).
    #[serde(default)]
    pub publish: bool,
    /// The question as published: the filer's text without their personal data.
    #[serde(default)]
    pub public_question: Option<String>,
}

/// An official answers an open complaint; with the filer's consent it may be published, once
/// no personal data is left in what is published. The filer is told on their channels.
pub(crate) async fn answer(
    state: &AppState,
    principal: &crate::auth::principal::Principal,
    code: String,
    body: AnswerBody,
) -> Result<Complaint, AppError> {
    official(principal)?;
    let found = show(principal, code.clone()).await?;
    if found.status != ComplaintStatus::Open {
        return Err(AppError::Conflict {
            code: "already_answered",
            detail: "Phản ánh này đã được trả lời / this complaint is already answered".into(),
        });
    }
    let answer = body.answer.trim().to_owned();
    let mut errors = Vec::new();
    if answer.is_empty() || answer.chars().count() > 5000 {
        errors.push(field_error(
            "/answer".into(),
            "required",
            "Nội dung trả lời: bắt buộc, tối đa 5.000 ký tự",
            "Answer: required, at most 5,000 characters",
        ));
    }
    let question = body
        .public_question
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    if body.publish {
        if !found.consent_publish {
            errors.push(field_error(
                "/publish".into(),
                "no_consent",
                "Người gửi không đồng ý công khai phản ánh này",
                "The filer did not agree to publish this complaint",
            ));
        }
        match &question {
            None => errors.push(field_error(
                "/public_question".into(),
                "required",
                "Câu hỏi công khai: bắt buộc khi công khai",
                "Public question: required to publish",
            )),
            Some(q) => {
                let left = complaints::personal_data(q, &found.filer_name);
                if !left.is_empty() {
                    errors.push(field_error(
                        "/public_question".into(),
                        "personal_data",
                        "Câu hỏi công khai còn thông tin cá nhân (họ tên, số điện thoại, thư điện tử hoặc số định danh)",
                        "The public question still holds personal data (name, phone, e-mail or identity number)",
                    ));
                }
            }
        }
        if !complaints::personal_data(&answer, &found.filer_name).is_empty() {
            errors.push(field_error(
                "/answer".into(),
                "personal_data",
                "Câu trả lời sẽ được công khai: bỏ thông tin cá nhân của người gửi",
                "The answer will be published: remove the filer's personal data",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid { errors });
    }
    let now = state.now();
    let (by, tenant_id) = (principal.account, principal.tenant.tenant.id);
    let publish = body.publish;
    let texts = crate::notify::TextPolicy::from_settings(&state.settings.texts);
    let link = tenant_link(state, &principal.tenant, "/phan-anh-kien-nghi");
    let id = found.id;
    principal
        .tenant
        .db
        .run(move |c| {
            let public =
                publish.then(|| (question.as_deref().unwrap_or_default(), answer.as_str()));
            let done = store::answer(
                c,
                id,
                &store::Answer {
                    answer: &answer,
                    by,
                    at: now,
                    public,
                },
            )?;
            if !done {
                return Err(AppError::Conflict {
                    code: "already_answered",
                    detail: "Phản ánh này đã được trả lời / this complaint is already answered"
                        .into(),
                });
            }
            let answered_on = calendar::local_date(now);
            let on_time = found.due_date.is_none_or(|due| answered_on <= due);
            count(
                c,
                tenant_id,
                answered_on,
                Delta::complaint_answered(on_time),
            )?;
            accounts::audit(
                c,
                Some(by),
                Some(tenant_id),
                None,
                "complaint.answered",
                serde_json::json!({ "code": found.code, "published": publish }),
            )?;
            crate::notify::applicant(
                c,
                &texts,
                &crate::notify::Notice {
                    tenant_id,
                    template: TemplateKey::ComplaintAnswered,
                    locale: Locale::parse(&found.locale).unwrap_or_default(),
                    account: found.filer_account,
                    email: found.filer_email.as_deref(),
                    phone: found.filer_phone.as_deref(),
                    payload: serde_json::json!({
                        "filer_name": found.filer_name, "complaint_code": found.code,
                        "title": found.title, "answer": answer, "published": publish,
                        "link": link,
                    }),
                    key: format!("complaint:{id}:answer"),
                },
            )?;
            store::by_code(c, &found.code)?.ok_or(AppError::NotFound { what: "complaint" })
        })
        .await
}

/// Published questions and answers: public, without personal data.
pub(crate) async fn published(tenant: &CurrentTenant) -> Result<Vec<Published>, AppError> {
    tenant.db.run(|c| Ok(store::published(c, 200)?)).await
}

/// Open complaints past their due date, for leaders.
pub(crate) async fn overdue(
    state: &AppState,
    tenant: &CurrentTenant,
) -> Result<Vec<Complaint>, AppError> {
    let today = calendar::local_date(state.now());
    tenant.db.run(move |c| Ok(store::overdue(c, today)?)).await
}
