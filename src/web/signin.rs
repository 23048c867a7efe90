//! The sign-in host's pages: the authorization request and its sign-in form, and
//! signing out (OpenID Connect, `/oauth/authorize` and `/oauth/logout`).
//!
//! The sign-in policy itself (lockout, password, second factor, session) is `auth::sign_in`,
//! reached through the `app::auth::sign_in` use case; this file holds the OAuth request
//! checks, the form token and the pages.

use crate::app::oidc::*;
use crate::auth::password::Password;
use crate::auth::sign_in::{Attempt, SignIn};
use crate::auth::tokens::{self};
use crate::auth::{accounts, pkce, sso};
use crate::error::AppError;
use crate::state::AppState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

const CSRF_COOKIE: &str = "dvc_csrf";

/// The parameters of an authorization request, as received.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    nonce: Option<String>,
    /// Preferred languages of the sign-in pages (`vi`, `en`).
    ui_locales: Option<String>,
}

/// A checked authorization request.
struct Authorize {
    client: sso::Client,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    nonce: Option<String>,
}

impl AuthorizeParams {
    fn hidden(&self) -> Vec<(&'static str, String)> {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("nonce", &self.nonce),
            ("ui_locales", &self.ui_locales),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
    }
}

/// An error page for a request that cannot be redirected back (unknown client or URI).
fn bad_request_page(message: &str) -> HttpResponse {
    super::sso::notice_page(
        actix_web::http::StatusCode::BAD_REQUEST,
        "sso.problem",
        message,
        "error",
    )
}

fn redirect_with(uri: &str, params: &[(&str, &str)]) -> HttpResponse {
    let mut url = url::Url::parse(uri).unwrap_or_else(|_| unreachable!("registered URI"));
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.to_string()))
        .finish()
}

/// Validates the request: the client and exact redirect URI first (else a page, never a
/// redirect to an unchecked URI), then the rest (else a redirect with `error`).
async fn check(state: &AppState, p: &AuthorizeParams) -> Result<Authorize, HttpResponse> {
    let client_id = p.client_id.clone().unwrap_or_default();
    let client = state
        .shared
        .run(move |c| Ok(sso::find_client(c, &client_id)?))
        .await
        .map_err(|_| bad_request_page("Dịch vụ tạm thời không khả dụng."))?
        .ok_or_else(|| bad_request_page("Ứng dụng không được đăng ký (unknown client_id)."))?;
    let redirect_uri = p.redirect_uri.clone().unwrap_or_default();
    if !client.allows_redirect(&redirect_uri) {
        return Err(bad_request_page(
            "Địa chỉ chuyển hướng không được đăng ký (redirect_uri mismatch).",
        ));
    }
    let fail = |error: &str| {
        let mut params = vec![("error", error)];
        if let Some(s) = &p.state {
            params.push(("state", s));
        }
        redirect_with(&redirect_uri, &params)
    };
    if p.response_type.as_deref() != Some("code") {
        return Err(fail("unsupported_response_type"));
    }
    if !p
        .scope
        .as_deref()
        .is_some_and(|s| s.split(' ').any(|x| x == "openid"))
    {
        return Err(fail("invalid_scope"));
    }
    let challenge = p.code_challenge.clone().unwrap_or_default();
    if p.code_challenge_method.as_deref() != Some("S256") || !pkce::valid_challenge(&challenge) {
        return Err(fail("invalid_request"));
    }
    if p.state.as_ref().is_some_and(|s| s.len() > 512)
        || p.nonce.as_ref().is_some_and(|n| n.len() > 256)
    {
        return Err(fail("invalid_request"));
    }
    Ok(Authorize {
        client,
        redirect_uri,
        state: p.state.clone(),
        code_challenge: challenge,
        nonce: p.nonce.clone(),
    })
}

async fn issue_code(
    state: &AppState,
    a: &Authorize,
    session: Uuid,
    account: Uuid,
) -> Result<HttpResponse, AppError> {
    let (client_id, redirect_uri, challenge, nonce) = (
        a.client.client_id.clone(),
        a.redirect_uri.clone(),
        a.code_challenge.clone(),
        a.nonce.clone(),
    );
    let code = state
        .shared
        .run(move |c| {
            Ok(sso::create_code(
                c,
                &sso::NewCode {
                    client_id: &client_id,
                    session_id: session,
                    account_id: account,
                    redirect_uri: &redirect_uri,
                    code_challenge: &challenge,
                    nonce: nonce.as_deref(),
                },
            )?)
        })
        .await?;
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &a.state {
        params.push(("state", s));
    }
    Ok(redirect_with(&a.redirect_uri, &params))
}

fn session_of(req: &HttpRequest) -> Option<Uuid> {
    req.cookie(SESSION_COOKIE)
        .and_then(|c| Uuid::parse_str(c.value()).ok())
}

fn login_page(
    req: &HttpRequest,
    state: &AppState,
    p: &AuthorizeParams,
    client: &sso::Client,
    email: &str,
    error: Option<&str>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    let (csrf, _) = accounts::new_token();
    let mut hidden = p.hidden();
    hidden.push(("csrf", csrf.clone()));
    let slug = client
        .tenant_id
        .and_then(|t| state.registry.by_id(t))
        .map(|t| t.slug.as_str().to_owned());
    let mut resp = super::sso::login_page(
        req,
        state,
        status,
        super::sso::LoginView {
            ui_locales: p.ui_locales.as_deref(),
            portal: &client.name,
            portal_slug: slug.as_deref(),
            hidden,
            email,
            error,
        },
    );
    let cookie = Cookie::build(CSRF_COOKIE, csrf)
        .path("/oauth")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Strict)
        .finish();
    resp.add_cookie(&cookie).map_err(AppError::internal)?;
    Ok(resp)
}

/// `GET /oauth/authorize`: a live session gets a code at once; otherwise the sign-in page.
pub async fn authorize(
    req: HttpRequest,
    params: web::Query<AuthorizeParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let a = match check(&state, &p).await {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    if let Some(session) = session_of(&req) {
        let account = state
            .shared
            .run(move |c| Ok(sso::session_account(c, session)?))
            .await?;
        if let Some(account) = account {
            return issue_code(&state, &a, session, account).await;
        }
    }
    login_page(
        &req,
        &state,
        &p,
        &a.client,
        "",
        None,
        actix_web::http::StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    #[serde(default)]
    totp: Option<String>,
    #[serde(flatten)]
    params: AuthorizeParams,
}

/// `POST /oauth/authorize`: the sign-in form. The policy is `auth::sign_in`; this checks the
/// form token and turns each outcome into a page, an error or a code with a session cookie.
pub async fn login(
    req: HttpRequest,
    form: web::Form<LoginForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let LoginForm {
        email,
        password,
        csrf,
        totp,
        params,
    } = form.into_inner();
    let a = match check(&state, &params).await {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    let csrf_ok = req
        .cookie(CSRF_COOKIE)
        .is_some_and(|c| !csrf.is_empty() && c.value() == csrf);
    if !csrf_ok {
        return Ok(bad_request_page(
            "Phiên đăng nhập đã hết hạn, vui lòng thử lại.",
        ));
    }
    let attempt = Attempt {
        email: email.clone(),
        password: Password::attempt(&password),
        totp,
        ip: crate::client_addr::of(&req),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let again = |message: &str, status| {
        login_page(
            &req,
            &state,
            &params,
            &a.client,
            &email,
            Some(message),
            status,
        )
    };
    use actix_web::http::StatusCode;
    match crate::app::auth::sign_in(&state, attempt, a.client.tenant_id).await? {
        SignIn::Ok(signed_in) => {
            let mut resp = issue_code(&state, &a, signed_in.session, signed_in.account).await?;
            let cookie = Cookie::build(SESSION_COOKIE, signed_in.session.to_string())
                .path("/")
                .http_only(true)
                .secure(secure(&state))
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::seconds(
                    sso::SESSION_TTL.as_secs() as i64,
                ))
                .finish();
            resp.add_cookie(&cookie).map_err(AppError::internal)?;
            Ok(resp)
        }
        SignIn::Locked { retry_after } => Err(AppError::TooManyRequests {
            retry_after_secs: crate::error::retry_after(retry_after),
        }),
        SignIn::Refused => again(
            "Thư điện tử hoặc mật khẩu không đúng. / Wrong e-mail or password.",
            StatusCode::UNAUTHORIZED,
        ),
        SignIn::Unverified { .. } => again(
            "Vui lòng xác nhận địa chỉ thư điện tử trước khi đăng nhập: chúng tôi vừa gửi lại liên kết xác nhận. / Please confirm your e-mail address first: we have just sent the link again.",
            StatusCode::FORBIDDEN,
        ),
        SignIn::NeedTotp => again(
            "Cần mã xác thực đúng từ ứng dụng xác thực. / A valid authenticator code is required.",
            StatusCode::UNAUTHORIZED,
        ),
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogoutParams {
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    id_token_hint: Option<String>,
}

impl LogoutParams {
    fn hidden(&self) -> Vec<(&'static str, String)> {
        [
            ("client_id", &self.client_id),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
            ("state", &self.state),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
    }
}

/// `GET /oauth/logout` (RP-initiated logout): ends the SSO session, its refresh tokens and —
/// through Redis, on every instance — its unexpired access tokens. A link alone must not sign
/// anyone out: without an `id_token_hint` of this very sign-in, the person is asked first.
pub async fn logout(
    req: HttpRequest,
    params: web::Query<LogoutParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    if let Some(session) = session_of(&req) {
        let hinted = p.id_token_hint.as_deref().and_then(|t| {
            tokens::verify_id_token_hint(
                &state.keyring(),
                t,
                state.settings.auth.issuer.trim_end_matches('/'),
            )
        });
        if hinted.is_none_or(|claims| claims.sid != session) {
            return Ok(super::sso::logout_confirm_page(&req, &state, p.hidden()));
        }
    }
    end_sign_in(&req, p, &state).await
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    params: LogoutParams,
}

/// `POST /oauth/logout`: the person confirmed signing out.
pub async fn logout_confirmed(
    req: HttpRequest,
    form: web::Form<LogoutForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let LogoutForm { csrf, params } = form.into_inner();
    if let Err(refused) = super::sso::check_form(&req, &state, &csrf) {
        return Ok(*refused);
    }
    end_sign_in(&req, params, &state).await
}

async fn end_sign_in(
    req: &HttpRequest,
    p: LogoutParams,
    state: &AppState,
) -> Result<HttpResponse, AppError> {
    if let Some(session) = session_of(req) {
        let ip = crate::client_addr::of(req);
        let ended = state
            .shared
            .run(move |c| {
                let account = sso::end_session(c, session)?;
                if account.is_some() {
                    accounts::audit(
                        c,
                        account,
                        None,
                        ip.as_deref(),
                        "logout",
                        serde_json::json!({ "sid": session }),
                    )?;
                }
                Ok(account)
            })
            .await?;
        if ended.is_some() {
            crate::app::auth::revoke_sessions(state, vec![session]).await?;
        }
    }
    let clear = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::ZERO)
        .finish();
    // Back to the client only to a URI it registered.
    if let (Some(client_id), Some(uri)) = (p.client_id, p.post_logout_redirect_uri) {
        let client = state
            .shared
            .run(move |c| Ok(sso::find_client(c, &client_id)?))
            .await?;
        if client.is_some_and(|c| c.allows_logout_return(&uri)) {
            let mut params = Vec::new();
            if let Some(s) = &p.state {
                params.push(("state", s.as_str()));
            }
            let mut resp = redirect_with(&uri, &params);
            resp.add_cookie(&clear).map_err(AppError::internal)?;
            return Ok(resp);
        }
    }
    let mut page = super::sso::notice_page(
        actix_web::http::StatusCode::OK,
        "signed_out.title",
        "Bạn đã đăng xuất khỏi mọi cổng dịch vụ công. / You are signed out of every portal.",
        "ok",
    );
    page.add_cookie(&clear).map_err(AppError::internal)?;
    Ok(page)
}
