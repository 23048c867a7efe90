//! The one-stop desk's pages: registering a dossier handed in at the counter or by post, in
//! two steps like the citizen's (the applicant and the form, then the scans), and moving an
//! appointment with an apology. The completeness check itself (receive, ask to complete,
//! refuse) is on the processing page.

use super::citizen::{
    documents, find_procedure, item, message, pairs_of, schema_of, summary_of, value_of,
};
use super::forms::{self, FormField};
use super::session::Visitor;
use crate::app::desk::{self, DeskApplicantBody, DeskIntake, ExtendBody};
use crate::error::{AppError, FieldError};
use crate::http::upload;
use crate::services::catalog::Procedure;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;
use std::collections::HashMap;

fn official(v: &Visitor) -> Result<(), AppError> {
    if v.user()?.is_official() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// `GET /can-bo/tiep-nhan`: which procedure the applicant at the counter brings.
pub async fn choose(v: Visitor) -> HttpResponse {
    let result = async {
        official(&v)?;
        let all = crate::app::procedures::cached_catalog(&v.state, &v.tenant).await?;
        let list: Vec<_> = all.procedures().iter().map(|p| item(p, v.locale)).collect();
        Ok(v.page("desk.html", context! { nav => "inbox", procedures => list }))
    }
    .await;
    v.respond(result)
}

/// The applicant's part of the intake form, as typed.
#[derive(Default)]
struct Typed {
    channel: String,
    applicant: DeskApplicantBody,
}

impl Typed {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| value_of(pairs, k).unwrap_or("").trim().to_owned();
        Self {
            channel: get("/channel"),
            applicant: DeskApplicantBody {
                full_name: get("/applicant/full_name"),
                id_number: get("/applicant/id_number"),
                phone: get("/applicant/phone"),
                email: Some(get("/applicant/email")).filter(|e| !e.is_empty()),
                locale: Some(get("/applicant/locale")).filter(|l| !l.is_empty()),
            },
        }
    }

    fn intake(&self, p: &Procedure, form: serde_json::Value) -> DeskIntake {
        DeskIntake {
            procedure: p.code.clone(),
            channel: self.channel.clone(),
            applicant: self.applicant.clone(),
            form,
        }
    }
}

fn text_field(
    v: &Visitor,
    name: &str,
    key: &str,
    input: &'static str,
    required: bool,
    value: &str,
    errors: &[FieldError],
) -> FormField {
    FormField {
        name: name.to_owned(),
        id: forms::id_of(name),
        label: v.t(&format!("desk.{key}")),
        input,
        required,
        hint: Some(v.t(&format!("desk.{key}_hint"))),
        value: value.to_owned(),
        error: errors
            .iter()
            .find(|e| e.path == name)
            .map(|e| message(e, v.locale)),
        ..FormField::default()
    }
}

fn applicant_fields(v: &Visitor, typed: &Typed, errors: &[FieldError]) -> Vec<FormField> {
    let a = &typed.applicant;
    vec![
        text_field(
            v,
            "/applicant/full_name",
            "full_name",
            "text",
            true,
            &a.full_name,
            errors,
        ),
        text_field(
            v,
            "/applicant/id_number",
            "id_number",
            "text",
            true,
            &a.id_number,
            errors,
        ),
        text_field(
            v,
            "/applicant/phone",
            "phone",
            "tel",
            true,
            &a.phone,
            errors,
        ),
        text_field(
            v,
            "/applicant/email",
            "email",
            "email",
            false,
            a.email.as_deref().unwrap_or(""),
            errors,
        ),
    ]
}

fn intake_page(
    v: &Visitor,
    p: &Procedure,
    typed: &Typed,
    data: &serde_json::Value,
    errors: &[FieldError],
    extra_rows: &HashMap<String, usize>,
) -> Result<HttpResponse, AppError> {
    let schema = schema_of(p)?;
    let fields = forms::build(
        &schema.fields(),
        "/form",
        data,
        errors,
        v.locale,
        extra_rows,
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(v.page_with(
        status,
        "desk_intake.html",
        context! {
            nav => "inbox",
            p => item(p, v.locale),
            channel => if typed.channel.is_empty() { "counter" } else { typed.channel.as_str() },
            applicant => applicant_fields(v, typed, errors),
            english => typed.applicant.locale.as_deref() == Some("en"),
            fields,
            // The list at the top words a date's error as the field does.
            errors => summary_of(
                &forms::portal_errors(&schema.fields(), "/form", data, errors),
                v.locale,
            ),
        },
    ))
}

/// `GET /can-bo/tiep-nhan/{procedure}`: step 1, the applicant and the form.
pub async fn form(v: Visitor, path: web::Path<String>) -> HttpResponse {
    let result = async {
        official(&v)?;
        let p = find_procedure(&v, &path).await?;
        intake_page(
            &v,
            &p,
            &Typed::default(),
            &serde_json::json!({}),
            &[],
            &HashMap::new(),
        )
    }
    .await;
    v.respond(result)
}

/// Errors of everything but the scans: the intake checked without files stores nothing,
/// since a dossier needs no scan to be registered; only its field errors are kept.
async fn check_without_files(v: &Visitor, intake: DeskIntake) -> Result<Vec<FieldError>, AppError> {
    match desk::check(&v.state, v.user()?, &intake).await {
        Ok(()) => Ok(vec![]),
        Err(AppError::Invalid { errors }) => Ok(errors),
        Err(e) => Err(e),
    }
}

/// `POST /can-bo/tiep-nhan/{procedure}`: step 1 sent; errors come back with what was typed,
/// a correct form goes on to the scans.
pub async fn check(v: Visitor, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let result = async {
        official(&v)?;
        let pairs = pairs_of(&body);
        v.check_csrf(value_of(&pairs, "csrf").unwrap_or(""))?;
        let p = find_procedure(&v, &path).await?;
        let schema = schema_of(&p)?;
        let data = forms::parse(&schema.fields(), "/form", &pairs);
        let typed = Typed::from_pairs(&pairs);
        if let Some(list) = value_of(&pairs, "add_row") {
            let extra = HashMap::from([(list.to_owned(), 1)]);
            return intake_page(&v, &p, &typed, &data, &[], &extra);
        }
        let errors = check_without_files(&v, typed.intake(&p, data.clone())).await?;
        if !errors.is_empty() {
            return intake_page(&v, &p, &typed, &data, &errors, &HashMap::new());
        }
        scan_page(&v, &p, &typed.intake(&p, data), &[])
    }
    .await;
    v.respond(result)
}

fn scan_page(
    v: &Visitor,
    p: &Procedure,
    intake: &DeskIntake,
    errors: &[FieldError],
) -> Result<HttpResponse, AppError> {
    let schema = schema_of(p)?;
    let fields = forms::build(
        &schema.fields(),
        "/form",
        &intake.form,
        &[],
        v.locale,
        &HashMap::new(),
    );
    let a = &intake.applicant;
    let mut lines = vec![
        (v.t("desk.full_name"), a.full_name.clone()),
        (v.t("desk.id_number"), a.id_number.clone()),
        (v.t("desk.phone"), a.phone.clone()),
    ];
    if let Some(e) = &a.email {
        lines.push((v.t("desk.email"), e.clone()));
    }
    lines.push((
        v.t("desk.channel"),
        v.t(&format!("desk.channel_{}", intake.channel)),
    ));
    lines.extend(forms::summary(&fields));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let data = serde_json::json!({
        "procedure": intake.procedure,
        "channel": intake.channel,
        "applicant": {
            "full_name": a.full_name,
            "id_number": a.id_number,
            "phone": a.phone,
            "email": a.email,
            "locale": a.locale,
        },
        "form": intake.form,
    });
    Ok(v.page_with(
        status,
        "desk_scan.html",
        context! {
            nav => "inbox",
            p => item(p, v.locale),
            lines,
            data => data.to_string(),
            documents => documents(p, v.locale, errors),
            errors => summary_of(errors, v.locale),
        },
    ))
}

/// `POST /can-bo/tiep-nhan/{procedure}/gui`: the checked data and the scans, registered
/// through the same use case as the API; then the processing page, for the completeness check.
pub async fn register(
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        official(&v)?;
        let limit = v.state.settings.dossiers.max_request_mb as usize * 1024 * 1024;
        let up = upload::read_form(&req, payload, limit, &["csrf"]).await?;
        v.check_csrf(up.field("csrf"))?;
        let intake: DeskIntake = serde_json::from_value(up.data)
            .map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?;
        if intake.procedure != *path {
            return Err(AppError::bad_request("invalid_body", "procedure"));
        }
        let p = find_procedure(&v, &path).await?;
        match desk::register(&v.state, v.user()?, intake.clone(), up.files).await {
            Ok(s) => Ok(v.redirect(&format!("/can-bo/ho-so/{}?ok=1", s.code))),
            Err(AppError::Invalid { errors }) => {
                if errors.iter().all(|e| e.path.starts_with("/documents/")) {
                    scan_page(&v, &p, &intake, &errors)
                } else {
                    let typed = Typed {
                        channel: intake.channel.clone(),
                        applicant: intake.applicant.clone(),
                    };
                    intake_page(&v, &p, &typed, &intake.form, &errors, &HashMap::new())
                }
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

// Missing fields read as empty, so a forged form gets the friendly refusal.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ExtendForm {
    csrf: String,
    version: String,
    due_date: String,
    reason: String,
}

/// `POST /can-bo/ho-so/{code}/hen-lai`: a new appointment with the reason; the apology slip
/// is then offered on the processing page.
pub async fn extend(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<ExtendForm>,
) -> HttpResponse {
    let result = async {
        official(&v)?;
        v.check_csrf(&form.csrf)?;
        let code = super::session::page_code(&path)?;
        let version = form
            .version
            .parse()
            .map_err(|_| AppError::bad_request("invalid_version", "version"))?;
        let Some(due_date) = crate::services::forms::dates::parse_typed_date(&form.due_date) else {
            let e = crate::app::dossiers::field_error(
                "/due_date".into(),
                "format",
                "Ngày hẹn mới: nhập theo dạng ngày/tháng/năm, ví dụ 15/12/2026",
                "New date: type it as day/month/year, e.g. 15/12/2026",
            );
            return super::office::page_with_errors(&v, code, &[e]).await;
        };
        let body = ExtendBody {
            version,
            due_date,
            reason: form.reason.clone(),
        };
        match desk::extend(&v.state, v.user()?, code.clone(), body).await {
            Ok(_) => Ok(v.redirect(&format!("/can-bo/ho-so/{code}?ok=1"))),
            Err(AppError::Invalid { errors }) => {
                super::office::page_with_errors(&v, code, &errors).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

/// `GET /ho-so/{code}/phieu/{slip}`: a slip as a print-friendly page, or as PDF when the last
/// segment ends in `.pdf` — for the applicant and for the tenant's officials alike.
// Named, not a tuple: a tenant's scope may have a path parameter of its own.
#[derive(Deserialize)]
pub struct SlipPath {
    code: String,
    slip: String,
}

pub async fn slip(v: Visitor, path: web::Path<SlipPath>) -> HttpResponse {
    let result = async {
        let SlipPath { code, slip } = path.into_inner();
        let code = super::session::page_code(&code)?;
        let (slug, as_pdf) = match slip.strip_suffix(".pdf") {
            Some(slug) => (slug.to_owned(), true),
            None => (slip, false),
        };
        let kind = crate::services::slips::SlipKind::from_slug(&slug)
            .ok_or(AppError::NotFound { what: "slip" })?;
        let data = crate::app::slips::slip(&v.state, v.user()?, code, kind, v.locale).await?;
        if as_pdf {
            let bytes = crate::services::slips::pdf(&data).map_err(AppError::internal)?;
            return Ok(HttpResponse::Ok()
                .content_type("application/pdf")
                .insert_header(("Cache-Control", "private, no-store"))
                .insert_header((
                    "Content-Disposition",
                    format!("inline; filename=\"{}-{slug}.pdf\"", data.dossier_code),
                ))
                .body(bytes));
        }
        let official = v.user()?.is_official();
        let back = if official {
            format!("/can-bo/ho-so/{}", data.dossier_code)
        } else {
            format!("/ho-so/{}", data.dossier_code)
        };
        Ok(v.page(
            "slip.html",
            context! {
                nav => if official { "inbox" } else { "dossiers" },
                slip => minijinja::Value::from_serialize(crate::services::slips::compose(&data)),
                qr => crate::services::slips::qr_svg(&data.lookup_url),
                pdf_href => format!("/ho-so/{}/phieu/{slug}.pdf", data.dossier_code),
                back_href => back,
            },
        ))
    }
    .await;
    v.respond(result)
}

/// `POST /can-bo/ho-so/{code}/nhan-giay-to`: the papers the desk asked for are handed in at the
/// counter; their scans are attached and the dossier received in one step.
pub async fn receive_with_scans(
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        official(&v)?;
        let code = super::session::page_code(&path)?;
        let limit = v.state.settings.dossiers.max_request_mb as usize * 1024 * 1024;
        let up = upload::read_form(&req, payload, limit, &["csrf", "version"]).await?;
        v.check_csrf(up.field("csrf"))?;
        let version = up
            .field("version")
            .parse()
            .map_err(|_| AppError::bad_request("invalid_version", "version"))?;
        match desk::receive_with_scans(&v.state, v.user()?, code.clone(), version, up.files).await {
            Ok(_) => Ok(v.redirect(&format!("/can-bo/ho-so/{code}?ok=1"))),
            Err(AppError::Invalid { errors }) => {
                super::office::page_with_errors(&v, code, &errors).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}
