//! Who is looking at a portal page. Each tenant portal is an OpenID Connect client of the
//! platform's sign-in host (authorization code + PKCE, done server-side), so signing in once
//! signs in on every portal. The portal keeps the tokens in Redis under an opaque cookie, not
//! in the browser; the access token is refreshed (rotated) when it is about to expire, and a
//! sign-in ended anywhere (logout, revocation) ends the portal session on the next request.

use super::i18n;
use super::view;
use crate::app::oidc;
use crate::auth::principal::{self, Principal};
use crate::auth::roles::Role;
use crate::error::AppError;
use crate::locale::Locale;
use crate::services::catalog::cache::CachedCatalog;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieAge};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::sync::Arc;
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "dvc_portal";
pub const CSRF_COOKIE: &str = "dvc_form";
pub const LANG_COOKIE: &str = "dvc_lang";
/// A portal session lasts this long without a visit.
const SESSION_TTL_SECS: u64 = 12 * 3600;
/// Refresh the access token when it has less than this left.
const REFRESH_MARGIN_SECS: i64 = 60;

/// 32 random bytes, URL-safe: cookies, CSRF tokens, OAuth `state` and PKCE verifiers.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn digest(token: &str) -> String {
    crate::services::text::hex(&sha2::Sha256::digest(token.as_bytes()))
}

/// What the portal keeps for a signed-in browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortalSession {
    pub account: Uuid,
    pub name: String,
    pub access: String,
    pub refresh: String,
    pub access_exp: i64,
    /// Sent back as `id_token_hint` at sign-out, so the provider knows the request is ours.
    #[serde(default)]
    pub id_token: String,
}

/// Redis keys of a tenant start with its id (DESIGN: tenant keys are prefixed).
fn session_key(state: &AppState, tenant: Uuid, cookie: &str) -> String {
    format!(
        "{}:t:{tenant}:portal:{}",
        state.settings.redis.prefix,
        digest(cookie)
    )
}

fn login_key(state: &AppState, tenant: Uuid, oauth_state: &str) -> String {
    format!(
        "{}:t:{tenant}:portal-login:{}",
        state.settings.redis.prefix,
        digest(oauth_state)
    )
}

/// The shared Redis connection; Redis away is a 503 (sessions cannot be checked without it).
async fn redis_conn(state: &AppState) -> Result<redis::aio::ConnectionManager, AppError> {
    state
        .notifier
        .redis()
        .conn()
        .await
        .map_err(|e| AppError::Unavailable(e.into()))
}

async fn redis_query<T: redis::FromRedisValue>(
    state: &AppState,
    cmd: &redis::Cmd,
) -> Result<T, AppError> {
    cmd.query_async(&mut redis_conn(state).await?)
        .await
        .map_err(|e| AppError::Unavailable(e.into()))
}

async fn redis_get(state: &AppState, key: &str) -> Result<Option<String>, AppError> {
    redis_query(state, redis::cmd("GET").arg(key)).await
}

async fn redis_set(state: &AppState, key: &str, value: &str, ttl: u64) -> Result<(), AppError> {
    redis_query(
        state,
        redis::cmd("SET").arg(key).arg(value).arg("EX").arg(ttl),
    )
    .await
}

async fn redis_take(state: &AppState, key: &str) -> Result<Option<String>, AppError> {
    redis_query(state, redis::cmd("GETDEL").arg(key)).await
}

/// The request's visitor: the tenant, the language, the signed-in caller if any, and the
/// form token. Cookies it must set or clear ride along to the response.
pub struct Visitor {
    pub state: web::Data<AppState>,
    pub tenant: CurrentTenant,
    pub locale: Locale,
    pub user: Option<Principal>,
    pub name: Option<String>,
    /// Where to come back to (after sign-in, a language switch): this page, or for a form's
    /// POST the page the form is on.
    pub path: String,
    /// The address without its query: what a stored public page is known by.
    bare_path: String,
    /// Whether the language came from this browser's own choice (its cookie).
    chosen_locale: bool,
    csrf: String,
    cookies: Vec<Cookie<'static>>,
    host: String,
}

impl Visitor {
    pub fn https(&self) -> bool {
        self.state.settings.auth.issuer.starts_with("https://")
    }

    fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .secure(self.https())
            .same_site(SameSite::Lax)
            .finish()
    }

    pub fn add_cookie(&mut self, c: Cookie<'static>) {
        self.cookies.retain(|old| old.name() != c.name());
        self.cookies.push(c);
    }

    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// A form's token must equal the browser's form cookie (double submit; the cookie is
    /// `HttpOnly` and `SameSite`, so another site can neither read nor send it).
    pub fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        let (a, b) = (token.as_bytes(), self.csrf.as_bytes());
        // Compared in constant time: no early exit tells how much of a guess was right.
        let same =
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        let ok = !token.is_empty() && same;
        ok.then_some(())
            .ok_or_else(|| AppError::bad_request("csrf", "form expired"))
    }

    pub fn user(&self) -> Result<&Principal, AppError> {
        self.user.as_ref().ok_or(AppError::Unauthorized)
    }

    pub fn has(&self, role: Role) -> bool {
        self.user.as_ref().is_some_and(|u| u.has(role))
    }

    pub fn t(&self, key: &str) -> String {
        i18n::t(self.locale, key)
    }

    /// The origin of this portal as the browser reaches it (`http://ha-noi.localhost:8080`).
    pub fn origin(&self) -> String {
        self.state
            .settings
            .server
            .public_origin
            .replace("{host}", &self.host)
    }

    fn issuer_origin(&self) -> String {
        view::origin_of(&self.state.settings.auth.issuer)
    }

    /// What every page's layout shows: branding, language, the signed-in user and their
    /// back-office links, the form token.
    pub fn chrome(&self) -> minijinja::Value {
        self.chrome_with(&self.csrf)
    }

    fn chrome_with(&self, csrf: &str) -> minijinja::Value {
        let t = &self.tenant.tenant;
        let name = match (self.locale, &t.name_en) {
            (Locale::En, Some(en)) => en.clone(),
            _ => t.name_vi.clone(),
        };
        let contact = t.branding.get("contact").cloned().unwrap_or_default();
        minijinja::context! {
            locale => self.locale.as_str(),
            other_locale => match self.locale { Locale::Vi => "en", Locale::En => "vi" },
            csrf => csrf,
            path => self.path,
            tenant => minijinja::context! {
                slug => t.slug.as_str(),
                name => name,
                name_vi => t.name_vi,
                contact => minijinja::Value::from_serialize(&contact),
                logo => t.branding.get("logo_sha256").and_then(|v| v.as_str()),
            },
            user => self.user.as_ref().map(|u| minijinja::context! {
                name => self.name,
                officer => u.is_official(),
                leader => u.has(Role::Leader),
                admin => u.has(Role::TenantAdmin),
            }),
        }
    }

    /// A page: the template rendered with the page's own context and the layout's.
    pub fn page(&self, template: &str, ctx: minijinja::Value) -> HttpResponse {
        self.page_with(StatusCode::OK, template, ctx)
    }

    pub fn page_with(
        &self,
        status: StatusCode,
        template: &str,
        ctx: minijinja::Value,
    ) -> HttpResponse {
        self.page_to(status, template, ctx, "")
    }

    /// A page whose forms may also lead to `form_targets` (e.g. the payment gateway).
    pub fn page_to(
        &self,
        status: StatusCode,
        template: &str,
        ctx: minijinja::Value,
        form_targets: &str,
    ) -> HttpResponse {
        let ctx = minijinja::context! { ..ctx, ..minijinja::context! { chrome => self.chrome(), locale => self.locale.as_str() } };
        match view::render(template, ctx) {
            Ok(body) => self.finish(view::html(
                status,
                body,
                &format!("{} {form_targets}", self.issuer_origin()),
                self.https(),
            )),
            // The error page itself failed: a bare page, never another attempt.
            Err(e) if template == "error.html" => {
                tracing::error!(error = ?e, "error page failed");
                use actix_web::ResponseError;
                NoPortal(AppError::Internal(anyhow::anyhow!("error page"))).error_response()
            }
            Err(e) => self.error(e),
        }
    }

    /// The stored rendering of this public page, for a visitor who is not signed in.
    pub fn from_cache(&self, catalog: &Arc<CachedCatalog>) -> Option<HttpResponse> {
        if self.user.is_some() {
            return None;
        }
        let html =
            self.state
                .pages
                .get(&self.tenant.tenant, catalog, self.locale, &self.bare_path)?;
        Some(self.finish(view::html(
            StatusCode::OK,
            html.replace(super::cache::TOKEN_HOLE, &self.csrf),
            &self.issuer_origin(),
            self.https(),
        )))
    }

    /// A public page that depends only on the tenant, its catalog, the language and the
    /// address: rendered once for everyone not signed in (see `web::cache`).
    pub fn page_cached(
        &self,
        catalog: &Arc<CachedCatalog>,
        template: &str,
        ctx: minijinja::Value,
    ) -> HttpResponse {
        if self.user.is_some() {
            return self.page(template, ctx);
        }
        let chrome = self.chrome_with(super::cache::TOKEN_HOLE);
        let ctx = minijinja::context! { ..ctx, ..minijinja::context! { chrome => chrome, locale => self.locale.as_str() } };
        match view::render(template, ctx) {
            Ok(body) => {
                let html = Arc::new(body);
                self.state.pages.put(
                    &self.tenant.tenant,
                    catalog,
                    self.locale,
                    &self.bare_path,
                    html.clone(),
                );
                self.finish(view::html(
                    StatusCode::OK,
                    html.replace(super::cache::TOKEN_HOLE, &self.csrf),
                    &self.issuer_origin(),
                    self.https(),
                ))
            }
            Err(e) => self.error(e),
        }
    }

    /// The redirect to the sign-in host, with the cookie that ties the coming callback to
    /// this browser.
    fn redirect_with_login_cookie(&self, location: &str, browser: String) -> HttpResponse {
        let mut resp = self.redirect(location);
        let mut c = self.cookie(LOGIN_COOKIE, browser);
        c.set_path("/auth/callback");
        c.set_max_age(CookieAge::minutes(10));
        let _ = resp.add_cookie(&c);
        resp
    }

    pub fn redirect(&self, location: &str) -> HttpResponse {
        self.finish(
            HttpResponse::SeeOther()
                .insert_header(("Location", location.to_owned()))
                .insert_header(("Cache-Control", "no-store"))
                .finish(),
        )
    }

    fn finish(&self, mut resp: HttpResponse) -> HttpResponse {
        for c in &self.cookies {
            let _ = resp.add_cookie(c);
        }
        resp
    }

    /// A friendly page in the tenant's branding for an error; a 401 sends the browser to
    /// sign in and come back.
    pub fn error(&self, e: AppError) -> HttpResponse {
        use actix_web::ResponseError;
        if matches!(e, AppError::Unauthorized) {
            return self.redirect(&format!("/dang-nhap?next={}", url_encode(&self.path)));
        }
        let status = e.status_code();
        if status.is_server_error() {
            tracing::error!(error = ?e, "portal page failed");
        }
        let key = match status.as_u16() {
            400 | 403 | 404 | 409 | 413 | 422 | 429 | 503 => status.as_u16(),
            s if s < 500 => 400,
            _ => 500,
        };
        let detail = match &e {
            AppError::Conflict { .. } => Some(self.t("errors.conflict_detail")),
            AppError::BadRequest { code: "csrf", .. } => Some(self.t("errors.csrf_detail")),
            _ => None,
        };
        let ctx = minijinja::context! { status => key, detail => detail };
        let mut resp = self.page_with(status, "error.html", ctx);
        if let AppError::TooManyRequests { retry_after_secs } = e {
            resp.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after_secs),
            );
        }
        resp
    }

    /// `Ok` pages as they are, errors as friendly pages.
    pub fn respond(&self, result: Result<HttpResponse, AppError>) -> HttpResponse {
        result.unwrap_or_else(|e| self.error(e))
    }
}

/// The page a form posted to `path` lives on (its GET address), to come back to.
pub fn page_of_form(path: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["thu-tuc", code, "gui"] => format!("/thu-tuc/{code}/nop"),
        ["ho-so", code, ..] => format!("/ho-so/{code}"),
        ["can-bo", "nhan"] => "/can-bo".into(),
        ["quan-tri", ..] => "/quan-tri".into(),
        ["thu-tuc", _, "nop"] | ["can-bo", "ho-so", _] | ["tra-cuu"] => path.to_owned(),
        _ => "/".into(),
    }
}

pub fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A dossier code from a page address; a malformed one is a page that does not exist.
pub fn page_code(s: &str) -> Result<crate::services::dossiers::DossierCode, AppError> {
    crate::services::dossiers::DossierCode::parse(s)
        .map_err(|_| AppError::NotFound { what: "dossier" })
}

/// Only a path on this host, never `//elsewhere` or a scheme: where to go after sign-in.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control)
                && n.len() <= 512 =>
        {
            n.to_owned()
        }
        _ => "/".into(),
    }
}

/// A bare bilingual page for a request whose tenant is unknown or closed (no branding to show).
pub struct NoPortal(AppError);

impl std::fmt::Debug for NoPortal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for NoPortal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl actix_web::ResponseError for NoPortal {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let (vi, en) = match self.0 {
            AppError::TenantSuspended => (
                "Cổng dịch vụ công này đang tạm ngừng hoạt động. Dữ liệu của bạn vẫn được giữ nguyên.",
                "This portal is suspended for now. Your data is kept.",
            ),
            AppError::TenantNotOpen => (
                "Cổng dịch vụ công của đơn vị đang được chuẩn bị và sẽ sớm mở.",
                "This portal is being prepared and will open soon.",
            ),
            AppError::TenantArchived => (
                "Đơn vị đã ngừng cung cấp dịch vụ trên cổng này.",
                "This unit no longer offers services on this portal.",
            ),
            AppError::Unavailable(_) => (
                "Hệ thống tạm thời gián đoạn, vui lòng thử lại sau ít phút.",
                "The service is briefly unavailable; please try again in a few minutes.",
            ),
            _ => (
                "Không tìm thấy cổng dịch vụ công tại địa chỉ này.",
                "There is no public services portal at this address.",
            ),
        };
        let body = format!(
            "<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>Cổng dịch vụ công</title><link rel=\"stylesheet\" href=\"/assets/dvc.css\"></head>\
             <body><main id=\"main\" class=\"container narrow\"><h1>{vi}</h1><p lang=\"en\">{en}</p></main></body></html>"
        );
        view::html(self.status_code(), body, "", false)
    }
}

impl FromRequest for Visitor {
    type Error = NoPortal;
    type Future = LocalBoxFuture<'static, Result<Self, NoPortal>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tenant = crate::tenancy::resolver::extract(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let session_cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let csrf_cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned());
        let lang = req
            .cookie(LANG_COOKIE)
            .and_then(|c| Locale::parse(c.value()));
        let path = match *req.method() {
            actix_web::http::Method::GET => req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into()),
            _ => page_of_form(req.path()),
        };
        let bare_path = req.path().to_owned();
        let host = req
            .headers()
            .get(actix_web::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| crate::tenancy::HostName::from_host_header(h).ok())
            .map(|h| h.as_str().to_owned())
            .unwrap_or_default();
        Box::pin(async move {
            let tenant = tenant.map_err(NoPortal)?;
            let state = state
                .ok_or_else(|| NoPortal(AppError::internal(anyhow::anyhow!("AppState missing"))))?;
            let locale = lang
                .or_else(|| Locale::parse(&tenant.tenant.locale))
                .unwrap_or_default();
            let mut v = Visitor {
                state,
                tenant,
                locale,
                user: None,
                name: None,
                path,
                bare_path,
                chosen_locale: lang.is_some(),
                csrf: String::new(),
                cookies: Vec::new(),
                host,
            };
            match csrf_cookie.filter(|c| c.len() == 43) {
                Some(c) => v.csrf = c,
                None => {
                    v.csrf = random_token();
                    let c = v.cookie(CSRF_COOKIE, v.csrf.clone());
                    v.add_cookie(c);
                }
            }
            if let Some(cookie) = session_cookie {
                match load_user(&v, &cookie).await {
                    Ok(Some((user, name))) => {
                        v.user = Some(user);
                        v.name = Some(name);
                    }
                    Ok(None) => v.add_cookie(expired(SESSION_COOKIE)),
                    Err(e) => return Err(NoPortal(e)),
                }
            }
            Ok(v)
        })
    }
}

fn expired(name: &'static str) -> Cookie<'static> {
    Cookie::build(name, "")
        .path("/")
        .max_age(CookieAge::ZERO)
        .finish()
}

fn client_id(v: &Visitor) -> String {
    format!("portal-{}", v.tenant.tenant.slug)
}

/// The signed-in caller of a portal session, refreshing its access token when due. `None`
/// when the session is gone, ended or can no longer be refreshed.
async fn load_user(v: &Visitor, cookie: &str) -> Result<Option<(Principal, String)>, AppError> {
    let state = &v.state;
    let key = session_key(state, v.tenant.tenant.id, cookie);
    let Some(text) = redis_get(state, &key).await? else {
        return Ok(None);
    };
    let Ok(mut s) = serde_json::from_str::<PortalSession>(&text) else {
        return Ok(None);
    };
    let now = chrono::Utc::now().timestamp();
    if s.access_exp - now < REFRESH_MARGIN_SECS {
        match oidc::refresh_tokens(state, s.refresh.clone(), &client_id(v), None).await? {
            Ok(tokens) => {
                s.access = tokens.access;
                s.refresh = tokens.refresh;
                s.access_exp = now + tokens.expires_in;
                redis_set(
                    state,
                    &key,
                    &serde_json::to_string(&s).map_err(AppError::internal)?,
                    SESSION_TTL_SECS,
                )
                .await?;
            }
            Err(_) => return Ok(None),
        }
    }
    let Ok(user) = principal::from_token(state, v.tenant.clone(), &s.access) else {
        return Ok(None);
    };
    match principal::ensure_live(state, user.session).await {
        Ok(()) => Ok(Some((user, s.name))),
        Err(AppError::Unauthorized) => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct PendingLogin {
    verifier: String,
    next: String,
    /// Digest of the `dvc_login` cookie set on the browser that started the sign-in: a code
    /// and state carried to another browser (login CSRF) are refused there.
    browser: String,
}

pub const LOGIN_COOKIE: &str = "dvc_login";

fn callback_uri(v: &Visitor) -> String {
    format!("{}/auth/callback", v.origin())
}

/// `GET /dang-nhap`: off to the sign-in host (which answers at once when the browser is
/// already signed in there: that is the single sign-on).
pub async fn login(v: Visitor, q: web::Query<LoginQuery>) -> HttpResponse {
    let result = async {
        let oauth_state = random_token();
        let verifier = random_token();
        let browser = random_token();
        let pending = PendingLogin {
            verifier: verifier.clone(),
            next: safe_next(q.next.as_deref()),
            browser: digest(&browser),
        };
        redis_set(
            &v.state,
            &login_key(&v.state, v.tenant.tenant.id, &oauth_state),
            &serde_json::to_string(&pending).map_err(AppError::internal)?,
            600,
        )
        .await?;
        let mut url = url::Url::parse(&format!(
            "{}/oauth/authorize",
            v.state.settings.auth.issuer.trim_end_matches('/')
        ))
        .map_err(AppError::internal)?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &client_id(&v))
            .append_pair("redirect_uri", &callback_uri(&v))
            .append_pair("scope", "openid")
            .append_pair("state", &oauth_state)
            .append_pair(
                "code_challenge",
                &crate::auth::pkce::challenge_of(&verifier),
            )
            .append_pair("code_challenge_method", "S256")
            .append_pair("ui_locales", v.locale.as_str());
        Ok(v.redirect_with_login_cookie(url.as_str(), browser))
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

/// `GET /auth/callback`: the sign-in host's answer. The code is exchanged in-process (this
/// server is also the provider), the tokens stay on the server.
pub async fn callback(
    mut v: Visitor,
    req: HttpRequest,
    q: web::Query<CallbackQuery>,
) -> HttpResponse {
    let q = q.into_inner();
    let result = async {
        let (Some(code), Some(oauth_state)) = (q.code, q.state) else {
            return Err(AppError::bad_request("sign_in_failed", "no code"));
        };
        let pending = redis_take(
            &v.state,
            &login_key(&v.state, v.tenant.tenant.id, &oauth_state),
        )
        .await?
        .and_then(|t| serde_json::from_str::<PendingLogin>(&t).ok())
        .ok_or_else(|| AppError::bad_request("csrf", "unknown or used sign-in state"))?;
        let same_browser = req
            .cookie(LOGIN_COOKIE)
            .is_some_and(|c| digest(c.value()) == pending.browser);
        if !same_browser {
            return Err(AppError::bad_request(
                "csrf",
                "sign-in started in another browser",
            ));
        }
        let tokens = oidc::exchange_code(
            &v.state,
            code,
            &client_id(&v),
            &callback_uri(&v),
            &pending.verifier,
        )
        .await?
        .map_err(|r| AppError::bad_request("sign_in_failed", r.1))?;
        let user = principal::from_token(&v.state, v.tenant.clone(), &tokens.access)?;
        let account = user.account;
        let profile = v
            .state
            .shared
            .run(move |c| Ok(crate::auth::sso::profile(c, account)?))
            .await?;
        let name = profile
            .as_ref()
            .map(|p| p.full_name.clone())
            .unwrap_or_default();
        // The account's language follows it to a browser that has not chosen one.
        if !v.chosen_locale
            && let Some(l) = profile.as_ref().and_then(|p| Locale::parse(&p.locale))
        {
            let mut c = v.cookie(LANG_COOKIE, l.as_str().to_owned());
            c.set_max_age(CookieAge::days(365));
            v.add_cookie(c);
        }
        let cookie = random_token();
        let session = PortalSession {
            account,
            name,
            access: tokens.access,
            refresh: tokens.refresh,
            access_exp: chrono::Utc::now().timestamp() + tokens.expires_in,
            id_token: tokens.id_token,
        };
        redis_set(
            &v.state,
            &session_key(&v.state, v.tenant.tenant.id, &cookie),
            &serde_json::to_string(&session).map_err(AppError::internal)?,
            SESSION_TTL_SECS,
        )
        .await?;
        let c = v.cookie(SESSION_COOKIE, cookie);
        v.add_cookie(c);
        Ok(v.redirect(&pending.next))
    }
    .await;
    v.respond(result)
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf: String,
}

/// `POST /dang-xuat`: ends the portal session and the sign-in itself (every portal), then
/// shows the signed-out page.
pub async fn logout(mut v: Visitor, req: HttpRequest, form: web::Form<CsrfForm>) -> HttpResponse {
    let result = async {
        v.check_csrf(&form.csrf)?;
        let mut id_token = String::new();
        if let Some(cookie) = req.cookie(SESSION_COOKIE) {
            let key = session_key(&v.state, v.tenant.tenant.id, cookie.value());
            if let Some(s) = redis_take(&v.state, &key)
                .await?
                .and_then(|t| serde_json::from_str::<PortalSession>(&t).ok())
            {
                id_token = s.id_token;
                let (refresh, client) = (s.refresh, client_id(&v));
                v.state
                    .shared
                    .run(move |c| {
                        if let Some(family) = crate::auth::sso::family_of(c, &refresh, &client)? {
                            crate::auth::sso::revoke_family(c, family)?;
                        }
                        Ok(())
                    })
                    .await?;
            }
        }
        v.add_cookie(expired(SESSION_COOKIE));
        let mut url = url::Url::parse(&format!(
            "{}/oauth/logout",
            v.state.settings.auth.issuer.trim_end_matches('/')
        ))
        .map_err(AppError::internal)?;
        url.query_pairs_mut()
            .append_pair("client_id", &client_id(&v))
            .append_pair(
                "post_logout_redirect_uri",
                &format!("{}/da-dang-xuat", v.origin()),
            );
        if !id_token.is_empty() {
            url.query_pairs_mut()
                .append_pair("id_token_hint", &id_token);
        }
        Ok(v.redirect(url.as_str()))
    }
    .await;
    v.respond(result)
}

pub async fn signed_out(v: Visitor) -> HttpResponse {
    v.page("signed_out.html", minijinja::context! {})
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LanguageForm {
    csrf: String,
    lang: String,
    next: Option<String>,
}

/// `POST /ngon-ngu`: switches the language, remembered in a cookie and on the account.
pub async fn language(mut v: Visitor, form: web::Form<LanguageForm>) -> HttpResponse {
    let result = async {
        v.check_csrf(&form.csrf)?;
        let locale = Locale::parse(&form.lang)
            .ok_or_else(|| AppError::bad_request("invalid_locale", "vi or en"))?;
        if let Some(user) = &v.user {
            let account = user.account;
            v.state
                .shared
                .run(move |c| {
                    use crate::db::schema::accounts as a;
                    use diesel::prelude::*;
                    diesel::update(a::table.find(account))
                        .set(a::locale.eq(locale.as_str()))
                        .execute(c)?;
                    Ok(())
                })
                .await?;
        }
        let mut c = v.cookie(LANG_COOKIE, locale.as_str().to_owned());
        c.set_max_age(CookieAge::days(365));
        v.add_cookie(c);
        Ok(v.redirect(&safe_next(form.next.as_deref())))
    }
    .await;
    v.respond(result)
}

/// A form that may be sent once (its nonce): the first request claims it; a repeat finds the
/// outcome of the first (or that it is still running).
pub struct Once {
    key: Option<String>,
    done: Option<String>,
}

impl Once {
    pub async fn claim(state: &AppState, tenant: Uuid, nonce: &str) -> Result<Once, AppError> {
        if nonce.len() != 43 {
            return Err(AppError::bad_request("csrf", "form without its nonce"));
        }
        let key = format!(
            "{}:t:{tenant}:once:{}",
            state.settings.redis.prefix,
            digest(nonce)
        );
        let claimed: Option<String> = redis_query(
            state,
            redis::cmd("SET")
                .arg(&key)
                .arg("")
                .arg("NX")
                .arg("EX")
                .arg(3600),
        )
        .await?;
        if claimed.is_some() {
            return Ok(Once {
                key: Some(key),
                done: None,
            });
        }
        match redis_get(state, &key).await?.filter(|o| !o.is_empty()) {
            Some(code) => Ok(Once {
                key: None,
                done: Some(code),
            }),
            None => Err(AppError::Conflict {
                code: "in_progress",
                detail: "this form is already being sent".into(),
            }),
        }
    }

    /// The outcome of an earlier send of the same form.
    pub fn already_done(&self) -> Option<&str> {
        self.done.as_deref()
    }

    /// Records what the send produced (`Some(code)`), or frees the nonce when it was refused,
    /// so the corrected form can be sent again.
    pub async fn settle(self, state: &AppState, outcome: Option<&str>) -> Result<(), AppError> {
        let Some(key) = self.key else { return Ok(()) };
        match outcome {
            Some(code) => redis_set(state, &key, code, 3600).await,
            None => redis_query(state, redis::cmd("DEL").arg(&key)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/ho-so?x=1")), "/ho-so?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "ho-so",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn a_form_comes_back_to_its_page() {
        assert_eq!(
            page_of_form("/thu-tuc/1.000105/gui"),
            "/thu-tuc/1.000105/nop"
        );
        assert_eq!(
            page_of_form("/ho-so/TA-261129-0001/bo-sung"),
            "/ho-so/TA-261129-0001"
        );
        assert_eq!(
            page_of_form("/can-bo/ho-so/TA-261129-0001"),
            "/can-bo/ho-so/TA-261129-0001"
        );
        assert_eq!(page_of_form("/quan-tri/thanh-vien"), "/quan-tri");
        assert_eq!(page_of_form("/dang-xuat"), "/");
    }

    #[test]
    fn tokens_are_long_and_different() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
