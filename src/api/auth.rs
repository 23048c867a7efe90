//! Account endpoints on the auth host: sign-up, e-mail verification, password reset.
//! Every answer is the same whether or not an address has an account.

use crate::app::accounts::*;
use crate::app::auth::*;
use crate::auth::accounts::{self};
use crate::client_addr;
use crate::error::{AppError, Problem};
use crate::http::bearer::bearer_account;
use crate::mail::Email;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};

/// Sign up (Đăng ký tài khoản). Always 202: a verification mail goes to a new address.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = RegisterBody,
    responses((status = 202), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn register(
    req: HttpRequest,
    body: web::Json<RegisterBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    register_account(&state, client_addr::of(&req), body.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "status": "check_your_email" })))
}

/// Confirm an e-mail address (Xác nhận địa chỉ thư).
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "accounts", request_body = TokenBody,
    responses((status = 204), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn verify_email(
    req: HttpRequest,
    body: web::Json<TokenBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    confirm_address(&state, client_addr::of(&req), body.into_inner().token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send the verification link again (Gửi lại thư xác nhận). Always 202, whether or not the
/// address has an account waiting for it.
#[utoipa::path(post, path = "/api/v1/auth/verify-email/resend", tag = "accounts", request_body = ResendBody,
    responses((status = 202), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn resend_verification(
    req: HttpRequest,
    body: web::Json<ResendBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let ResendBody { email, tenant } = body.into_inner();
    limit(&state, "forgot", client_addr::of(&req).as_deref()).await?;
    let tenant = tenant_id(&state, tenant.as_deref())?;
    let email =
        Email::parse(&email).map_err(|e| AppError::bad_request("invalid_email", e.to_string()))?;
    resend_link(&state, client_addr::of(&req), email, tenant).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Ask for a password reset link (Quên mật khẩu). Always 202.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "accounts", request_body = ForgotBody,
    responses((status = 202), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn forgot_password(
    req: HttpRequest,
    body: web::Json<ForgotBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    request_reset(
        &state,
        client_addr::of(&req),
        &body.email,
        body.tenant.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "status": "check_your_email" })))
}

/// Set a new password with a reset link (Đặt lại mật khẩu).
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "accounts", request_body = ResetBody,
    responses((status = 204), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn reset_password(
    req: HttpRequest,
    body: web::Json<ResetBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let ResetBody { token, password } = body.into_inner();
    set_new_password(&state, client_addr::of(&req), token, password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Start setting up an authenticator app (Bật xác thực hai bước). Returns the secret once.
/// Replacing a confirmed one needs the password and a current code of it; the new one takes
/// over only once confirmed.
#[utoipa::path(post, path = "/api/v1/auth/totp", tag = "accounts", security(("bearer" = [])),
    request_body(content = Option<ReauthBody>, description = "required when an authenticator is already confirmed"),
    responses((status = 200, body = TotpSecret), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "password or current code wrong or missing")))]
pub async fn totp_enroll(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (account, email) = bearer_account(&req, &state).await?;
    let master = state
        .master_key
        .clone()
        .ok_or_else(|| AppError::Unavailable(anyhow::anyhow!("auth.master_key is not set")))?;
    let reauth: Option<ReauthBody> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(
            serde_json::from_slice(&body)
                .map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?,
        )
    };
    let confirmed = state
        .shared
        .run(move |c| Ok(crate::auth::totp::enrolled(c, account)?))
        .await?;
    let code = if confirmed {
        let reauth = reauth.ok_or(AppError::Forbidden)?;
        check_current_password(&state, email.clone(), &reauth.current_password).await?;
        Some(reauth.code)
    } else {
        None
    };
    let ip = client_addr::of(&req);
    let enrolled = state
        .shared
        .run(move |c| {
            if let Some(code) = code {
                if !crate::auth::totp::verify(c, &master, account, &code, false)? {
                    return Ok(None);
                }
                accounts::audit(
                    c,
                    Some(account),
                    None,
                    ip.as_deref(),
                    "totp.replacement_started",
                    serde_json::json!({}),
                )?;
            }
            Ok(Some(crate::auth::totp::enroll(
                c, &master, account, &email,
            )?))
        })
        .await?;
    let (secret, url) = enrolled.ok_or(AppError::Forbidden)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TotpSecret {
            secret,
            otpauth_url: url,
        }))
}

/// Confirm the authenticator app with its first code (Xác nhận mã).
#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "accounts", security(("bearer" = [])), request_body = CodeBody,
    responses((status = 204), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn totp_confirm(
    req: HttpRequest,
    body: web::Json<CodeBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (account, _) = bearer_account(&req, &state).await?;
    let master = state
        .master_key
        .clone()
        .ok_or_else(|| AppError::Unavailable(anyhow::anyhow!("auth.master_key is not set")))?;
    let code = body.into_inner().code;
    let ok = state
        .shared
        .run(move |c| {
            let ok = crate::auth::totp::verify(c, &master, account, &code, true)?;
            if ok {
                accounts::audit(
                    c,
                    Some(account),
                    None,
                    None,
                    "totp.enabled",
                    serde_json::json!({}),
                )?;
            }
            Ok(ok)
        })
        .await?;
    if ok {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(AppError::bad_request(
            "invalid_code",
            "the code is wrong or already used / mã không đúng hoặc đã dùng",
        ))
    }
}

/// Change one's password (Đổi mật khẩu): the current one is required; every session ends.
#[utoipa::path(post, path = "/api/v1/auth/password/change", tag = "accounts", security(("bearer" = [])), request_body = ChangePasswordBody,
    responses((status = 204), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn change_password(
    req: HttpRequest,
    body: web::Json<ChangePasswordBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let who = bearer_account(&req, &state).await?;
    crate::app::accounts::change_password(&state, client_addr::of(&req), who, body.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Change one's e-mail address (Đổi địa chỉ thư): a link goes to the new address. Always 202
/// once the password is right, whether or not the new address is free.
#[utoipa::path(post, path = "/api/v1/auth/email/change", tag = "accounts", security(("bearer" = [])), request_body = ChangeEmailBody,
    responses((status = 202), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn change_email(
    req: HttpRequest,
    body: web::Json<ChangeEmailBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (account, email) = bearer_account(&req, &state).await?;
    let ChangeEmailBody {
        new_email,
        current_password,
    } = body.into_inner();
    let new_email = Email::parse(&new_email)
        .map_err(|e| AppError::bad_request("invalid_email", e.to_string()))?;
    check_current_password(&state, email, &current_password).await?;
    let links = links(&state);
    let ip = client_addr::of(&req);
    state
        .shared
        .run(move |c| {
            Ok(accounts::request_email_change(
                c,
                account,
                &new_email,
                &links,
                ip.as_deref(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "status": "check_your_email" })))
}

/// Confirm a new e-mail address with the link sent to it (Xác nhận địa chỉ thư mới). Ends every
/// session of the account.
#[utoipa::path(post, path = "/api/v1/auth/email/confirm", tag = "accounts", request_body = TokenBody,
    responses((status = 204), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn confirm_email(
    req: HttpRequest,
    body: web::Json<TokenBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    confirm_new_address(&state, client_addr::of(&req), body.into_inner().token).await?;
    Ok(HttpResponse::NoContent().finish())
}
