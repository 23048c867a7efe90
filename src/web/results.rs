//! The portal's pages for signed results and the wallet: issuing and revoking a result on the
//! processing page, downloading it, the public verification page its QR code leads to, and the
//! citizen's wallet (kho dữ liệu). Each handler calls one use case.

use super::session::Visitor;
use crate::app::results::{self, Source};
use crate::error::AppError;
use crate::http::upload;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;
use uuid::Uuid;

/// Back on the processing page after a results form: its notice (`?ok=`) when done, the
/// field errors (422) or the conflict's message (409) on the page when not.
async fn back_to_processing(
    v: &Visitor,
    code: crate::services::dossiers::DossierCode,
    done: Result<(), AppError>,
    notice: &str,
) -> Result<HttpResponse, AppError> {
    match done {
        Ok(()) => Ok(v.redirect(&format!("/can-bo/ho-so/{code}?ok={notice}"))),
        Err(AppError::Invalid { errors }) => {
            super::office::page_with_errors(v, code, &errors).await
        }
        Err(e @ AppError::Conflict { .. }) => {
            super::office::page_with_message(v, code, e.to_string(), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e),
    }
}

/// `GET /ho-so/{code}/ket-qua/{id}`: the signed PDF, for its applicant and the officials.
pub async fn download(v: Visitor, path: web::Path<(String, Uuid)>) -> HttpResponse {
    let result = async {
        let (code, id) = path.into_inner();
        let code = super::session::page_code(&code)?;
        let (name, bytes) = results::download(&v.state, v.user()?, code, id).await?;
        Ok(crate::http::download::attachment(
            &name,
            "application/pdf",
            bytes,
        ))
    }
    .await;
    v.respond(result)
}

/// `POST /can-bo/ho-so/{code}/ket-qua`: issue the result (generated, or the PDF sent).
pub async fn issue(
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        let code = super::session::page_code(&path)?;
        let limit = results::MAX_RESULT_MB as usize * 1024 * 1024;
        let mut form = upload::read_form(&req, payload, limit, &["csrf", "source"]).await?;
        v.check_csrf(form.field("csrf"))?;
        let file = form.files.pop();
        let source = match (form.field("source"), file) {
            ("upload", Some(f)) => Source::Upload {
                file_name: f.name,
                bytes: f.bytes,
            },
            ("paper_scan", Some(f)) => Source::PaperScan {
                file_name: f.name,
                bytes: f.bytes,
            },
            ("upload" | "paper_scan", None) => {
                let errors = [crate::app::dossiers::field_error(
                    "/file".into(),
                    "missing_file",
                    "Hãy chọn tệp PDF của kết quả",
                    "Choose the result's PDF file",
                )];
                return super::office::page_with_errors(&v, code, &errors).await;
            }
            _ => Source::Generate,
        };
        let done = results::issue(&v.state, user, code.clone(), source).await;
        back_to_processing(&v, code, done.map(drop), "ket-qua").await
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    csrf: String,
    reason: String,
}

/// `POST /can-bo/ho-so/{code}/ket-qua/{id}/thu-hoi`: revoke a result, with the reason.
pub async fn revoke(
    v: Visitor,
    path: web::Path<(String, Uuid)>,
    form: web::Form<RevokeForm>,
) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        v.check_csrf(&form.csrf)?;
        let (code, id) = path.into_inner();
        let code = super::session::page_code(&code)?;
        let reason = form.reason.clone();
        let done = results::revoke(&v.state, user, code.clone(), id, reason).await;
        back_to_processing(&v, code, done.map(drop), "thu-hoi").await
    }
    .await;
    v.respond(result)
}

/// `GET /ket-qua/{id}`: the public verification page (no sign-in, no personal data).
pub async fn verification(v: Visitor, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let id = Uuid::parse_str(&path).map_err(|_| AppError::NotFound { what: "result" })?;
        let r = results::verify(&v.state, &v.tenant, id, v.locale).await?;
        Ok(v.page(
            "verification.html",
            context! { nav => "", r => minijinja::Value::from_serialize(&r) },
        ))
    }
    .await;
    v.respond(result)
}

/// `GET /kho-du-lieu`: the signed-in citizen's wallet.
pub async fn wallet(v: Visitor) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        let items = crate::app::wallet::list(&v.state, user.account).await?;
        Ok(v.page(
            "wallet.html",
            context! { nav => "wallet", items => minijinja::Value::from_serialize(&items) },
        ))
    }
    .await;
    v.respond(result)
}

/// `GET /kho-du-lieu/{id}`: one of the citizen's own items.
pub async fn wallet_item(v: Visitor, path: web::Path<Uuid>) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        let (item, bytes) = crate::app::wallet::open(&v.state, user.account, *path).await?;
        Ok(crate::http::download::attachment(
            &item.file_name,
            &item.media_type,
            bytes,
        ))
    }
    .await;
    v.respond(result)
}
