//! Phản ánh, kiến nghị on the portal: the published answers, the filing form and its code
//! check for anyone, and the officials' list and answer page.

use super::citizen::summary_of;
use super::session::Visitor;
use crate::app::complaints::{self as app, AnswerBody, Filer};
use crate::error::{AppError, FieldError};
use crate::services::complaints::{self, ComplaintStatus, FilingInput};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    /// The code of a complaint just filed, to confirm it.
    gui: Option<String>,
}

/// `GET /phan-anh-kien-nghi`: published questions and answers, and the way to write.
pub async fn public(v: Visitor, q: web::Query<ListQuery>) -> HttpResponse {
    let result = async {
        let items = app::published(&v.tenant).await?;
        Ok(v.page(
            "complaints.html",
            context! {
                nav => "complaints",
                items => minijinja::Value::from_serialize(&items),
                filed => q.gui.clone(),
            },
        ))
    }
    .await;
    v.respond(result)
}

// Every field optional: a forged form gets the page with its errors, not a bare 400.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct FileForm {
    csrf: String,
    kind: String,
    subject: String,
    subject_ref: String,
    title: String,
    body: String,
    name: String,
    email: String,
    phone: String,
    consent: Option<String>,
}

/// Each refused field's message in the page's language, by field name: shown next to it.
fn by_field(v: &Visitor, errors: &[FieldError]) -> std::collections::HashMap<String, String> {
    errors
        .iter()
        .map(|e| {
            let msg = if v.locale == crate::locale::Locale::En {
                e.message_en.clone()
            } else {
                e.message.clone()
            };
            (e.path.trim_start_matches('/').to_owned(), msg)
        })
        .collect()
}

fn form_page(
    v: &Visitor,
    status: StatusCode,
    form: &FileForm,
    errors: &[FieldError],
) -> HttpResponse {
    let field_errors = by_field(v, errors);
    v.page_with(
        status,
        "complaint_file.html",
        context! {
            nav => "complaints",
            f => context! {
                kind => form.kind, subject => form.subject, subject_ref => form.subject_ref,
                title => form.title, body => form.body, name => form.name, email => form.email,
                phone => form.phone, consent => form.consent.is_some(),
            },
            errors => summary_of(errors, v.locale),
            field_errors,
            signed_in => v.user.is_some(),
        },
    )
}

/// `GET /phan-anh-kien-nghi/gui`.
pub async fn file_form(v: Visitor) -> HttpResponse {
    let form = FileForm {
        kind: "complaint".into(),
        subject: "procedure".into(),
        ..FileForm::default()
    };
    form_page(&v, StatusCode::OK, &form, &[])
}

/// `POST /phan-anh-kien-nghi/gui`.
pub async fn file(v: Visitor, req: HttpRequest, form: web::Form<FileForm>) -> HttpResponse {
    let form = form.into_inner();
    let result = async {
        v.check_csrf(&form.csrf)?;
        let opt = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
        let input = FilingInput {
            kind: form.kind.clone(),
            subject: form.subject.clone(),
            subject_ref: opt(&form.subject_ref),
            title: form.title.clone(),
            body: form.body.clone(),
            name: opt(&form.name),
            email: opt(&form.email),
            phone: opt(&form.phone),
            consent_publish: form.consent.is_some(),
        };
        let filer = Filer {
            account: v.user.as_ref().map(|u| u.account),
            locale: v.locale,
        };
        let ip = crate::client_addr::of(&req);
        match app::file(&v.state, &v.tenant, filer, input, ip.as_deref()).await {
            Ok(filed) if filed.status == ComplaintStatus::Open => {
                Ok(v.redirect(&format!("/phan-anh-kien-nghi?gui={}", filed.code)))
            }
            Ok(filed) => Ok(v.redirect(&format!(
                "/phan-anh-kien-nghi/{}/xac-minh?qua={}",
                filed.code,
                filed.code_sent_by.as_deref().unwrap_or("email")
            ))),
            Err(AppError::Invalid { errors }) => Ok(form_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                &errors,
            )),
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct VerifyQuery {
    /// How the code was sent: `email` or `sms`.
    qua: Option<String>,
}

fn verify_page(
    v: &Visitor,
    status: StatusCode,
    code: &str,
    by: Option<&str>,
    error: Option<String>,
) -> HttpResponse {
    v.page_with(
        status,
        "complaint_verify.html",
        context! { nav => "complaints", code, by => by.filter(|b| *b == "sms").unwrap_or("email"), error },
    )
}

/// `GET /phan-anh-kien-nghi/{code}/xac-minh`.
pub async fn verify_form(
    v: Visitor,
    path: web::Path<String>,
    q: web::Query<VerifyQuery>,
) -> HttpResponse {
    match complaints::parse_code(&path) {
        Some(code) => verify_page(&v, StatusCode::OK, &code, q.qua.as_deref(), None),
        None => v.respond(Err(AppError::NotFound { what: "complaint" })),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct VerifyForm {
    csrf: String,
    code: String,
    /// How the code was sent, carried so a retry still says where to look.
    qua: Option<String>,
}

/// `POST /phan-anh-kien-nghi/{code}/xac-minh`.
pub async fn verify(
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<VerifyForm>,
) -> HttpResponse {
    let complaint = path.into_inner();
    let result = async {
        v.check_csrf(&form.csrf)?;
        let complaint =
            complaints::parse_code(&complaint).ok_or(AppError::NotFound { what: "complaint" })?;
        let ip = crate::client_addr::of(&req);
        match app::verify(
            &v.state,
            &v.tenant,
            complaint.clone(),
            form.code.clone(),
            ip.as_deref(),
        )
        .await
        {
            Ok(filed) => Ok(v.redirect(&format!("/phan-anh-kien-nghi?gui={}", filed.code))),
            Err(AppError::Invalid { .. }) => Ok(verify_page(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                &complaint,
                form.qua.as_deref(),
                Some(v.t("complaints.wrong_code")),
            )),
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

/// `GET /can-bo/phan-anh`: the tenant's complaints, open first by due date.
pub async fn office_list(v: Visitor) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        let list = app::list(user, None).await?;
        let today = crate::services::calendar::local_date(v.state.now());
        let rows: Vec<_> = list
            .iter()
            .map(|c| {
                context! {
                    code => c.code, title => c.title, kind => c.kind, status => c.status,
                    due_date => c.due_date, unit => c.unit_code,
                    overdue => complaints::overdue(c.status, c.due_date, today),
                }
            })
            .collect();
        Ok(v.page(
            "office_complaints.html",
            context! { nav => "complaints_office", rows },
        ))
    }
    .await;
    v.respond(result)
}

fn office_page(
    v: &Visitor,
    status: StatusCode,
    c: &crate::services::complaints::store::Complaint,
    form: Option<&AnswerForm>,
    errors: &[FieldError],
) -> HttpResponse {
    let today = crate::services::calendar::local_date(v.state.now());
    let draft = complaints::redacted(&c.body, &c.filer_name);
    v.page_with(
        status,
        "office_complaint.html",
        context! {
            nav => "complaints_office",
            c => minijinja::Value::from_serialize(c),
            overdue => complaints::overdue(c.status, c.due_date, today),
            answer => form.map_or(String::new(), |f| f.answer.clone()),
            public_question => form.map_or(draft, |f| f.public_question.clone()),
            publish => form.is_some_and(|f| f.publish.is_some()),
            errors => summary_of(errors, v.locale),
            field_errors => by_field(v, errors),
        },
    )
}

/// `GET /can-bo/phan-anh/{code}`.
pub async fn office_show(v: Visitor, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let c = app::show(v.user()?, path.into_inner()).await?;
        Ok(office_page(&v, StatusCode::OK, &c, None, &[]))
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AnswerForm {
    csrf: String,
    answer: String,
    public_question: String,
    publish: Option<String>,
}

/// `POST /can-bo/phan-anh/{code}`: the answer, published or not.
pub async fn office_answer(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<AnswerForm>,
) -> HttpResponse {
    let code = path.into_inner();
    let result = async {
        let user = v.user()?;
        v.check_csrf(&form.csrf)?;
        let body = AnswerBody {
            answer: form.answer.clone(),
            publish: form.publish.is_some(),
            public_question: Some(form.public_question.clone()),
        };
        match app::answer(&v.state, user, code.clone(), body).await {
            Ok(_) => Ok(v.redirect(&format!("/can-bo/phan-anh/{code}"))),
            Err(AppError::Invalid { errors }) => {
                let c = app::show(user, code.clone()).await?;
                Ok(office_page(
                    &v,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &c,
                    Some(&form),
                    &errors,
                ))
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}
