//! The OpenID Connect provider: discovery, authorization code + PKCE (S256 only), token,
//! userinfo. Signing in once on the auth host signs in every tenant portal (one SSO session
//! cookie, `SameSite=Lax`, `HttpOnly`, `Secure` behind TLS).

use crate::auth::password::{self, Password};
use crate::auth::rate_limit::Quota;
use crate::auth::tokens::{self, AccessClaims};
use crate::auth::{accounts, lockout, pkce, roles, sso};
use crate::error::AppError;
use crate::state::AppState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use std::time::Duration;
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "dvc_sso";
const CSRF_COOKIE: &str = "dvc_csrf";

fn secure(state: &AppState) -> bool {
    state.settings.auth.issuer.starts_with("https://")
}

pub async fn discovery(state: web::Data<AppState>) -> HttpResponse {
    let iss = state.settings.auth.issuer.trim_end_matches('/');
    HttpResponse::Ok().json(serde_json::json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth/authorize"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "userinfo_endpoint": format!("{iss}/oauth/userinfo"),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "end_session_endpoint": format!("{iss}/oauth/logout"),
        "revocation_endpoint": format!("{iss}/oauth/revoke"),
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": crate::auth::client_auth::METHODS,
        "token_endpoint_auth_signing_alg_values_supported": crate::auth::client_auth::ASSERTION_ALGORITHMS,
        "scopes_supported": ["openid", "profile", "email"],
        "claims_supported": ["sub", "email", "email_verified", "name", "locale", "sid"],
    }))
}

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
    crate::web::sso::notice_page(
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
    let mut resp = crate::web::sso::login_page(
        req,
        state,
        status,
        crate::web::sso::LoginView {
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

/// `POST /oauth/authorize`: the sign-in form.
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
    let ip = crate::client_addr::of(&req);
    super::auth::limit(&state, "login", ip.as_deref()).await?;
    // Per account as well, whatever the address: sign-in attempts on one account from many
    // places are slowed down together (the lockout below is per account *and* address).
    super::auth::per_account(
        &state,
        "login-account",
        email.trim(),
        Quota {
            limit: 60,
            period: Duration::from_secs(60),
        },
    )
    .await?;
    let lookup_email = email.trim().to_owned();
    let found = state
        .shared
        .run(move |c| Ok(sso::find_login(c, &lookup_email)?))
        .await?;
    let prefix = state.settings.redis.prefix.clone();
    let redis = state.notifier.redis().clone();
    // A lock for this account from this address refuses without looking at the password.
    // Addresses without an account lock the same way, so a 429 reveals nothing.
    let subject = lockout::subject(found.as_ref().map(|f| f.id), &email);
    if let Some(ip) = &ip {
        match lockout::locked_for(&redis, &prefix, subject, ip).await {
            Ok(Some(wait)) => {
                return Err(AppError::TooManyRequests {
                    retry_after_secs: crate::error::retry_after(wait),
                });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "login lockout unavailable"),
        }
    }
    let attempt = Password::attempt(&password);
    let stored = found.as_ref().map(|f| f.password_hash.clone());
    // The dummy hash for unknown accounts keeps the answer time the same.
    let ok =
        crate::auth::password::off_thread(move || password::verify(&attempt, stored.as_deref()))
            .await?;
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let account = match found {
        Some(f) if ok && f.email_verified => f.id,
        Some(f) if ok => {
            let _ = f;
            // The password is right, so the owner is here: a fresh link goes out (limited per
            // address), since the first one may be lost or expired.
            if let Ok(address) = crate::mail::Email::parse(email.trim()) {
                let tenant = a.client.tenant_id;
                match super::auth::resend_link(&state, ip.clone(), address, tenant).await {
                    Ok(()) | Err(AppError::TooManyRequests { .. }) => {}
                    Err(e) => tracing::warn!(error = %e, "verification link not sent again"),
                }
            }
            return login_page(
                &req,
                &state,
                &params,
                &a.client,
                &email,
                Some(
                    "Vui lòng xác nhận địa chỉ thư điện tử trước khi đăng nhập: chúng tôi vừa gửi lại liên kết xác nhận. / Please confirm your e-mail address first: we have just sent the link again.",
                ),
                actix_web::http::StatusCode::FORBIDDEN,
            );
        }
        _ => {
            let ip2 = ip.clone();
            let account = found.as_ref().map(|f| f.id);
            let lock = match &ip {
                Some(ip) => lockout::record_failure(&redis, &prefix, subject, ip)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "login lockout unavailable");
                        None
                    }),
                None => None,
            };
            state
                .shared
                .run(move |c| {
                    accounts::audit(
                        c,
                        account,
                        None,
                        ip2.as_deref(),
                        "login.failed",
                        serde_json::json!({}),
                    )?;
                    if let Some(d) = lock {
                        accounts::audit(
                            c,
                            account,
                            None,
                            ip2.as_deref(),
                            "login.locked",
                            serde_json::json!({ "seconds": d.as_secs() }),
                        )?;
                    }
                    Ok(())
                })
                .await?;
            return login_page(
                &req,
                &state,
                &params,
                &a.client,
                &email,
                Some("Thư điện tử hoặc mật khẩu không đúng. / Wrong e-mail or password."),
                actix_web::http::StatusCode::UNAUTHORIZED,
            );
        }
    };
    // Second factor: officials and operators with TOTP set up must give a code; until they set
    // it up they are signed in, but their tokens carry no roles.
    let master = state.master_key.clone();
    let code = totp.filter(|c| !c.trim().is_empty());
    let factor = state
        .shared
        .run(move |c| {
            if !crate::auth::totp::required(c, account)?
                || !crate::auth::totp::enrolled(c, account)?
            {
                return Ok(Some(false));
            }
            let (Some(master), Some(code)) = (master, code) else {
                return Ok(None);
            };
            Ok(crate::auth::totp::verify(c, &master, account, &code, false)?.then_some(true))
        })
        .await?;
    let Some(mfa) = factor else {
        if let Some(ip) = &ip {
            let _ = lockout::record_failure(&redis, &prefix, account, ip).await;
        }
        let ip2 = ip.clone();
        state
            .shared
            .run(move |c| {
                Ok(accounts::audit(
                    c,
                    Some(account),
                    None,
                    ip2.as_deref(),
                    "login.second_factor_failed",
                    serde_json::json!({}),
                )?)
            })
            .await?;
        return login_page(
            &req,
            &state,
            &params,
            &a.client,
            &email,
            Some(
                "Cần mã xác thực đúng từ ứng dụng xác thực. / A valid authenticator code is required.",
            ),
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    if let Some(ip) = &ip
        && let Err(e) = lockout::record_success(&redis, &prefix, account, ip).await
    {
        tracing::warn!(error = %e, "login lockout unavailable");
    }
    let issuer_for_mail = state.settings.auth.issuer.trim_end_matches('/').to_owned();
    let session = state
        .shared
        .run(move |c| {
            // One transaction (SharedDb::run): the session, its audit entry and any mail.
            if sso::is_new_device(c, account, user_agent.as_deref())?
                && let Some(p) = sso::profile(c, account)?
                && let Ok(recipient) = crate::mail::Email::parse(&p.email)
            {
                crate::mail::outbox::enqueue(
                    c,
                    &crate::mail::outbox::NewMail {
                        tenant_id: None,
                        template: crate::mail::TemplateKey::NewDeviceSignIn,
                        locale: crate::locale::Locale::parse(&p.locale).unwrap_or_default(),
                        recipient,
                        payload: serde_json::json!({
                            "full_name": p.full_name,
                            "device": user_agent.as_deref().unwrap_or("?").chars().take(120).collect::<String>(),
                            "ip": ip.as_deref().unwrap_or("?"),
                            "time": chrono::Utc::now().format("%d/%m/%Y %H:%M UTC").to_string(),
                            "link": format!("{}/reset-password", issuer_for_mail),
                        }),
                        idempotency_key: format!("new-device:{}", Uuid::new_v4()),
                    },
                )?;
            }
            let s = sso::create_session(c, account, ip.as_deref(), user_agent.as_deref(), mfa)?;
            accounts::audit(
                c,
                Some(account),
                None,
                ip.as_deref(),
                "login",
                serde_json::json!({ "sid": s }),
            )?;
            Ok(s)
        })
        .await?;
    let mut resp = issue_code(&state, &a, session, account).await?;
    let cookie = Cookie::build(SESSION_COOKIE, session.to_string())
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

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    refresh_token: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    code_verifier: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

fn oauth_error(error: &str, description: &str) -> HttpResponse {
    // RFC 6749 §5.2: a client that failed to authenticate hears 401.
    let mut resp = if error == "invalid_client" {
        let mut r = HttpResponse::Unauthorized();
        r.insert_header(("WWW-Authenticate", "Basic realm=\"dvc\""));
        r
    } else {
        HttpResponse::BadRequest()
    };
    resp.insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({ "error": error, "error_description": description }))
}

/// `POST /oauth/token`: exchanges a code (with its PKCE verifier), or a refresh token, for
/// tokens.
pub async fn token(
    req: HttpRequest,
    form: web::Form<TokenForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    match f.grant_type.as_deref() {
        Some("authorization_code") => code_grant(&req, f, &state).await,
        Some("refresh_token") => refresh_grant(&req, f, &state).await,
        _ => Ok(oauth_error(
            "unsupported_grant_type",
            "authorization_code or refresh_token",
        )),
    }
}

/// Tokens for a client, as the token endpoint answers them.
pub(crate) struct TokenSet {
    pub access: String,
    pub refresh: String,
    pub id_token: String,
    pub expires_in: i64,
}

/// Why the token endpoint refused: its OAuth `error` and a description.
pub(crate) struct Refusal(pub &'static str, pub &'static str);

type Granted = Result<Result<TokenSet, Refusal>, AppError>;

fn answer(granted: Granted) -> Result<HttpResponse, AppError> {
    Ok(match granted? {
        Ok(t) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({
                "access_token": t.access,
                "token_type": "Bearer",
                "expires_in": t.expires_in,
                "refresh_token": t.refresh,
                "id_token": t.id_token,
                "scope": "openid",
            })),
        Err(Refusal(error, description)) => oauth_error(error, description),
    })
}

async fn code_grant(
    req: &HttpRequest,
    f: TokenForm,
    state: &AppState,
) -> Result<HttpResponse, AppError> {
    let client = match authenticate(req, &f, state).await? {
        Ok(c) => c,
        Err(refusal) => return Ok(oauth_error(refusal.0, refusal.1)),
    };
    let (Some(code), Some(redirect_uri), Some(verifier)) =
        (f.code, f.redirect_uri, f.code_verifier)
    else {
        return Ok(oauth_error(
            "invalid_request",
            "code, redirect_uri, client_id and code_verifier are required",
        ));
    };
    answer(exchange_code(state, code, &client.client_id, &redirect_uri, &verifier).await)
}

/// The client of a request to the public token endpoint, proven the way it was registered:
/// public clients by PKCE alone, confidential ones by their secret or a signed assertion.
/// Tenant portals never get through: their codes and refresh tokens are redeemed only inside
/// dvc (a tenant admin controls some of their redirect URIs, so a code sent there must be
/// worth nothing outside).
async fn authenticate(
    req: &HttpRequest,
    f: &TokenForm,
    state: &AppState,
) -> Result<Result<sso::Client, Refusal>, AppError> {
    use crate::auth::client_auth::{self, AuthMethod, Presented};
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Ok(basic) = Presented::basic_from_header(header) else {
        return Ok(Err(Refusal(
            "invalid_client",
            "malformed Basic credentials",
        )));
    };
    let presented = Presented {
        basic,
        client_id: f.client_id.clone(),
        client_secret: f.client_secret.clone(),
        assertion_type: f.client_assertion_type.clone(),
        assertion: f.client_assertion.clone(),
    };
    let Ok(Some(client_id)) = presented.client_id() else {
        return Ok(Err(Refusal("invalid_request", "one client_id is required")));
    };
    let Ok(method) = presented.method() else {
        return Ok(Err(Refusal(
            "invalid_request",
            "one client authentication method at a time",
        )));
    };
    let id = client_id.clone();
    let Some(client) = state
        .shared
        .run(move |c| Ok(sso::find_client(c, &id)?))
        .await?
    else {
        return Ok(Err(Refusal("invalid_client", "unknown client")));
    };
    if client.in_process_only {
        return Ok(Err(Refusal(
            "unauthorized_client",
            "this client's codes and tokens are not redeemable here",
        )));
    }
    if method != client.auth_method() {
        return Ok(Err(Refusal(
            "invalid_client",
            "this client authenticates with the method it was registered with",
        )));
    }
    let stored = client.secret_hash.as_deref().unwrap_or_default();
    let proven = match method {
        AuthMethod::None => true,
        AuthMethod::SecretBasic => presented
            .basic
            .as_ref()
            .is_some_and(|(_, secret)| client_auth::secret_matches(stored, secret)),
        AuthMethod::SecretPost => presented
            .client_secret
            .as_deref()
            .is_some_and(|secret| client_auth::secret_matches(stored, secret)),
        AuthMethod::PrivateKeyJwt => assertion_proves(state, &client, &presented).await?,
    };
    Ok(if proven {
        Ok(client)
    } else {
        Err(Refusal("invalid_client", "client authentication failed"))
    })
}

/// A `private_key_jwt` assertion: signed by one of the client's keys, for this endpoint, short
/// lived, and never seen before (its `jti` is kept in Redis until it expires).
async fn assertion_proves(
    state: &AppState,
    client: &sso::Client,
    presented: &crate::auth::client_auth::Presented,
) -> Result<bool, AppError> {
    use crate::auth::client_auth;
    if presented.assertion_type.as_deref() != Some(client_auth::JWT_BEARER) {
        return Ok(false);
    }
    let (Some(jwks), Some(assertion)) = (&client.jwks, &presented.assertion) else {
        return Ok(false);
    };
    let iss = state.settings.auth.issuer.trim_end_matches('/');
    let endpoint = format!("{iss}/oauth/token");
    let now = chrono::Utc::now().timestamp();
    let accepted = match client_auth::verify_assertion(
        jwks,
        &client.client_id,
        &[endpoint.as_str(), iss],
        assertion,
        now,
    ) {
        Ok(a) => a,
        Err(why) => {
            tracing::info!(client_id = %client.client_id, why, "client assertion refused");
            return Ok(false);
        }
    };
    let key = format!(
        "{}:client-jti:{}",
        state.settings.redis.prefix,
        client_auth::jti_key(&client.client_id, &accepted.jti)
    );
    let ttl = (accepted.exp - now).max(1) + 60;
    let mut redis = state
        .notifier
        .redis()
        .conn()
        .await
        .map_err(|e| AppError::Unavailable(e.into()))?;
    let fresh: Option<String> = redis::cmd("SET")
        .arg(&key)
        .arg(1)
        .arg("NX")
        .arg("EX")
        .arg(ttl)
        .query_async(&mut redis)
        .await
        .map_err(|e| AppError::Unavailable(e.into()))?;
    Ok(fresh.is_some())
}

/// The authorization-code grant, also used in-process by the portals' own callback.
pub(crate) async fn exchange_code(
    state: &AppState,
    code: String,
    client_id: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Granted {
    if code.len() != 43 {
        return Ok(Err(Refusal("invalid_grant", "unknown code")));
    }
    let consumed = state
        .shared
        .run(move |c| {
            let consumed = sso::consume_code(c, &code)?;
            if let sso::Consumed::Replayed { session } = &consumed {
                accounts::audit(
                    c,
                    None,
                    None,
                    None,
                    "code.replayed",
                    serde_json::json!({ "sid": session }),
                )?;
            }
            Ok(consumed)
        })
        .await?;
    let taken = match consumed {
        sso::Consumed::Taken(taken) => taken,
        sso::Consumed::Replayed { session } => {
            // Its access tokens die with the session on every instance.
            super::auth::revoke_sessions(state, vec![session]).await?;
            return Ok(Err(Refusal(
                "invalid_grant",
                "the code was used before: every token issued from it is revoked",
            )));
        }
        sso::Consumed::Invalid => {
            return Ok(Err(Refusal(
                "invalid_grant",
                "the code is unknown, used or expired",
            )));
        }
    };
    if taken.client_id != client_id || taken.redirect_uri != redirect_uri {
        return Ok(Err(Refusal(
            "invalid_grant",
            "client or redirect_uri does not match the code",
        )));
    }
    if !pkce::verify(verifier, &taken.code_challenge) {
        return Ok(Err(Refusal(
            "invalid_grant",
            "code_verifier does not match",
        )));
    }
    let (session, account) = (taken.session_id, taken.account_id);
    let client_for_refresh = client_id.to_owned();
    let refresh = state
        .shared
        .run(move |c| {
            // A portal sign-in makes the account active at that tenant this month.
            if let Some(tenant) =
                sso::find_client(c, &client_for_refresh)?.and_then(|c| c.tenant_id)
            {
                crate::hosting::usage::record_active_account(c, tenant, account)?;
            }
            Ok(sso::issue_refresh(
                c,
                None,
                session,
                &client_for_refresh,
                account,
            )?)
        })
        .await?;
    issue_tokens(state, client_id, session, account, taken.nonce, refresh)
        .await
        .map(Ok)
}

async fn refresh_grant(
    req: &HttpRequest,
    f: TokenForm,
    state: &AppState,
) -> Result<HttpResponse, AppError> {
    let client = match authenticate(req, &f, state).await? {
        Ok(c) => c,
        Err(refusal) => return Ok(oauth_error(refusal.0, refusal.1)),
    };
    let Some(token) = f.refresh_token else {
        return Ok(oauth_error(
            "invalid_request",
            "refresh_token and client_id are required",
        ));
    };
    let ip = crate::client_addr::of(req);
    answer(refresh_tokens(state, token, &client.client_id, ip).await)
}

/// The refresh grant (rotation; a reused token revokes its family), also used in-process by
/// the portals.
pub(crate) async fn refresh_tokens(
    state: &AppState,
    token: String,
    client_id: &str,
    ip: Option<String>,
) -> Granted {
    if token.len() != 43 {
        return Ok(Err(Refusal("invalid_grant", "unknown refresh token")));
    }
    let client_for_use = client_id.to_owned();
    let outcome = state
        .shared
        .run(move |c| {
            let outcome = sso::use_refresh(c, &token, &client_for_use)?;
            if outcome == sso::Refresh::Reused {
                accounts::audit(
                    c,
                    None,
                    None,
                    ip.as_deref(),
                    "token.reuse",
                    serde_json::json!({ "client_id": client_for_use }),
                )?;
            }
            Ok(outcome)
        })
        .await?;
    match outcome {
        sso::Refresh::Rotated {
            token,
            session,
            account,
        } => issue_tokens(state, client_id, session, account, None, token)
            .await
            .map(Ok),
        sso::Refresh::Reused => Ok(Err(Refusal(
            "invalid_grant",
            "refresh token reused: every token of this sign-in is revoked",
        ))),
        sso::Refresh::Invalid => Ok(Err(Refusal(
            "invalid_grant",
            "the refresh token is unknown, expired or revoked",
        ))),
    }
}

async fn issue_tokens(
    state: &AppState,
    client_id: &str,
    session: Uuid,
    account: Uuid,
    nonce: Option<String>,
    refresh: String,
) -> Result<TokenSet, AppError> {
    let client_id2 = client_id.to_owned();
    let (client, role_names) = state
        .shared
        .run(move |c| {
            let client =
                sso::find_client(c, &client_id2)?.ok_or(AppError::NotFound { what: "client" })?;
            let mut roles = match client.tenant_id {
                Some(t) => roles::roles_in(c, account, t)?,
                None => Vec::new(),
            };
            // Roles only for sessions opened with a second factor.
            if !roles.is_empty() && !sso::session_mfa(c, session)? {
                roles.clear();
            }
            Ok((client, roles))
        })
        .await?;
    // The audience of the access token is the client's tenant: its roles only.
    let audience = client
        .tenant_id
        .and_then(|t| state.registry.by_id(t))
        .map(|t| t.slug.as_str().to_owned())
        .unwrap_or_else(|| client.client_id.clone());
    let ring = state.keyring();
    let now = chrono::Utc::now().timestamp();
    let ttl = state.settings.auth.access_token_ttl_secs as i64;
    let iss = state.settings.auth.issuer.trim_end_matches('/').to_owned();
    let access = tokens::issue(
        &ring,
        &AccessClaims {
            iss: iss.clone(),
            sub: account,
            aud: audience,
            client_id: client.client_id.clone(),
            sid: session,
            iat: now,
            exp: now + ttl,
            nbf: None,
            jti: Uuid::new_v4(),
            roles: role_names.iter().map(|r| r.as_str().to_owned()).collect(),
        },
    )
    .map_err(AppError::internal)?;
    let id_token = tokens::issue_id_token(
        &ring,
        &tokens::IdClaims {
            iss,
            sub: account,
            aud: client.client_id.clone(),
            iat: now,
            exp: now + ttl,
            nonce,
            sid: session,
        },
    )
    .map_err(AppError::internal)?;
    Ok(TokenSet {
        access,
        refresh,
        id_token,
        expires_in: ttl,
    })
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
}

/// `POST /oauth/revoke` (RFC 7009): revokes a refresh token's whole family. Always 200.
pub async fn revoke(
    form: web::Form<RevokeForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    if let (Some(token), Some(client_id)) = (f.token, f.client_id)
        && token.len() == 43
    {
        state
            .shared
            .run(move |c| {
                if let Some(family) = sso::family_of(c, &token, &client_id)? {
                    sso::revoke_family(c, family)?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(HttpResponse::Ok().finish())
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
            return Ok(crate::web::sso::logout_confirm_page(
                &req,
                &state,
                p.hidden(),
            ));
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
    if let Err(refused) = crate::web::sso::check_form(&req, &state, &csrf) {
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
            super::auth::revoke_sessions(state, vec![session]).await?;
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
    let mut page = crate::web::sso::notice_page(
        actix_web::http::StatusCode::OK,
        "signed_out.title",
        "Bạn đã đăng xuất khỏi mọi cổng dịch vụ công. / You are signed out of every portal.",
        "ok",
    );
    page.add_cookie(&clear).map_err(AppError::internal)?;
    Ok(page)
}

/// `GET /oauth/userinfo`.
pub async fn userinfo(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    // Verified, and its session not revoked; any client's token (OpenID Connect Core §5.3).
    let (account, _) = super::auth::bearer_any_client(&req, &state).await?;
    let profile = state
        .shared
        .run(move |c| Ok(sso::profile(c, account)?))
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(HttpResponse::Ok().json(profile))
}
