//! The `Visitor` extractor and how a portal page answers: layout chrome, cookies, redirects,
//! friendly error pages, and the pages stored for visitors who are not signed in.

use super::portal_sign_in::LOGIN_COOKIE;
use super::store::*;
use crate::auth::principal::Principal;
use crate::auth::roles::Role;
use crate::error::AppError;
use crate::locale::Locale;
use crate::services::catalog::cache::CachedCatalog;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use crate::web::i18n;
use crate::web::view;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieAge};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use std::sync::Arc;

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
    pub(super) bare_path: String,
    /// Whether the language came from this browser's own choice (its cookie).
    pub(super) chosen_locale: bool,
    pub(super) csrf: String,
    pub(super) cookies: Vec<Cookie<'static>>,
    pub(super) host: String,
}

impl Visitor {
    pub fn https(&self) -> bool {
        self.state.settings.auth.issuer.starts_with("https://")
    }

    pub(super) fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
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

    pub(super) fn issuer_origin(&self) -> String {
        view::origin_of(&self.state.settings.auth.issuer)
    }

    /// What every page's layout shows: branding, language, the signed-in user and their
    /// back-office links, the form token.
    pub fn chrome(&self) -> minijinja::Value {
        self.chrome_with(&self.csrf)
    }

    pub(super) fn chrome_with(&self, csrf: &str) -> minijinja::Value {
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
            html.replace(crate::services::catalog::pages::TOKEN_HOLE, &self.csrf),
            &self.issuer_origin(),
            self.https(),
        )))
    }

    /// A public page that depends only on the tenant, its catalog, the language and the
    /// address: rendered once for everyone not signed in (see `services::catalog::pages`).
    pub fn page_cached(
        &self,
        catalog: &Arc<CachedCatalog>,
        template: &str,
        ctx: minijinja::Value,
    ) -> HttpResponse {
        if self.user.is_some() {
            return self.page(template, ctx);
        }
        let chrome = self.chrome_with(crate::services::catalog::pages::TOKEN_HOLE);
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
                    html.replace(crate::services::catalog::pages::TOKEN_HOLE, &self.csrf),
                    &self.issuer_origin(),
                    self.https(),
                ))
            }
            Err(e) => self.error(e),
        }
    }

    /// The redirect to the sign-in host, with the cookie that ties the coming callback to
    /// this browser.
    pub(super) fn redirect_with_login_cookie(
        &self,
        location: &str,
        browser: String,
    ) -> HttpResponse {
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

    pub(super) fn finish(&self, mut resp: HttpResponse) -> HttpResponse {
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
        let tenant = crate::http::tenant::current_tenant(req);
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
                .map_or_else(|| "/".into(), |p| p.as_str().to_owned()),
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

pub(super) fn expired(name: &'static str) -> Cookie<'static> {
    Cookie::build(name, "")
        .path("/")
        .max_age(CookieAge::ZERO)
        .finish()
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf: String,
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
}
