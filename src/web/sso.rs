//! The sign-in host's own pages: create an account, confirm the e-mail address from the
//! link in the mail, ask for and use a password reset link. Each calls the same function as
//! its `/api/v1/auth/*` endpoint. The links in mails point here; the link's token is only
//! consumed by a button press (POST), since mail scanners open links.
//!
//! (Just over 600 lines: four small page flows that share one form layout and its helpers;
//! split, each would repeat them.)

use super::forms::{FormField, id_of};
use super::session::{CSRF_COOKIE, LANG_COOKIE, random_token};
use super::{i18n, view};
use crate::app::accounts::{self, RegisterBody};
use crate::error::AppError;
use crate::locale::Locale;
use crate::state::AppState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

/// A page of the sign-in host (also the operator console's): its language, form token and
/// cookie.
pub(crate) struct SsoPage {
    locale: Locale,
    csrf: String,
    new_csrf: bool,
    https: bool,
}

impl SsoPage {
    pub(crate) fn of(req: &HttpRequest, state: &AppState, ui_locales: Option<&str>) -> SsoPage {
        let locale = ui_locales
            .and_then(|l| l.split(' ').find_map(Locale::parse))
            .or_else(|| {
                req.cookie(LANG_COOKIE)
                    .and_then(|c| Locale::parse(c.value()))
            })
            .unwrap_or_default();
        let existing = req
            .cookie(CSRF_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|c| c.len() == 43);
        SsoPage {
            locale,
            new_csrf: existing.is_none(),
            csrf: existing.unwrap_or_else(random_token),
            https: state.settings.auth.issuer.starts_with("https://"),
        }
    }

    /// The page of a posted form whose token checks out, or the refusal to answer with.
    fn for_form(
        req: &HttpRequest,
        state: &AppState,
        ui_locales: Option<&str>,
        csrf: &str,
    ) -> Result<SsoPage, Box<HttpResponse>> {
        let page = SsoPage::of(req, state, ui_locales);
        match page.check(csrf) {
            Ok(()) => Ok(page),
            Err(e) => Err(Box::new(page.error(e))),
        }
    }

    pub(crate) fn locale(&self) -> Locale {
        self.locale
    }

    fn t(&self, key: &str) -> String {
        i18n::t(self.locale, key)
    }

    pub(crate) fn check(&self, token: &str) -> Result<(), AppError> {
        if !self.new_csrf && !token.is_empty() && token == self.csrf {
            Ok(())
        } else {
            Err(AppError::bad_request("csrf", "form expired"))
        }
    }

    pub(crate) fn render(
        &self,
        status: StatusCode,
        template: &str,
        ctx: minijinja::Value,
    ) -> HttpResponse {
        self.render_to(status, template, ctx, "")
    }

    /// `form_targets`: where this page's form may lead besides this host.
    fn render_to(
        &self,
        status: StatusCode,
        template: &str,
        ctx: minijinja::Value,
        form_targets: &str,
    ) -> HttpResponse {
        let ctx =
            context! { ..ctx, ..context! { locale => self.locale.as_str(), csrf => self.csrf } };
        let mut resp = match view::render(template, ctx) {
            Ok(body) => view::html(status, body, form_targets, self.https),
            Err(e) => {
                tracing::error!(error = ?e, "sign-in page failed");
                view::html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    String::new(),
                    "",
                    self.https,
                )
            }
        };
        if self.new_csrf {
            let c = Cookie::build(CSRF_COOKIE, self.csrf.clone())
                .path("/")
                .http_only(true)
                .secure(self.https)
                .same_site(SameSite::Lax)
                .finish();
            let _ = resp.add_cookie(&c);
        }
        resp
    }

    fn notice(&self, status: StatusCode, title: &str, text: &str, kind: &str) -> HttpResponse {
        self.render(
            status,
            "sso_notice.html",
            context! { title => self.t(title), text => self.t(text), kind },
        )
    }

    /// An error the user can act on, as a page (never a JSON body on this host).
    fn error(&self, e: AppError) -> HttpResponse {
        use actix_web::ResponseError;
        let status = e.status_code();
        let key = match &e {
            AppError::BadRequest { code: "csrf", .. } => "errors.csrf_detail",
            AppError::BadRequest {
                code: "invalid_token",
                ..
            } => "sso.bad_link",
            AppError::TooManyRequests { .. } => "errors.text_429",
            _ if status.is_server_error() => {
                tracing::error!(error = ?e, "sign-in page failed");
                "errors.text_500"
            }
            _ => "errors.text_400",
        };
        self.notice(status, "sso.problem", key, "error")
    }
}

fn ip(req: &HttpRequest) -> Option<String> {
    crate::client_addr::of(req)
}

#[derive(Deserialize, Default)]
pub struct LocaleQuery {
    ui_locales: Option<String>,
    portal: Option<String>,
    token: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct RegisterForm {
    csrf: String,
    ui_locales: Option<String>,
    portal: Option<String>,
    full_name: String,
    email: String,
    password: String,
    phone: Option<String>,
    citizen_id: Option<String>,
}

fn text_field(
    name: &str,
    label: String,
    input: &'static str,
    value: &str,
    required: bool,
) -> FormField {
    FormField {
        name: name.into(),
        id: id_of(name),
        label,
        input,
        required,
        value: value.into(),
        ..FormField::default()
    }
}

/// Which field a sign-up refusal is about, and its message key.
fn register_error(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "invalid_email" => ("email", "sso.err_email"),
        "weak_password" => ("password", "sso.err_password"),
        "invalid_full_name" => ("full_name", "sso.err_full_name"),
        "invalid_citizen_id" => ("citizen_id", "sso.err_citizen_id"),
        "invalid_phone" => ("phone", "sso.err_phone"),
        _ => return None,
    })
}

fn register_page(
    page: &SsoPage,
    status: StatusCode,
    form: &RegisterForm,
    error: Option<(&str, &str)>,
) -> HttpResponse {
    let mut fields = vec![
        text_field(
            "full_name",
            page.t("sso.full_name"),
            "text",
            &form.full_name,
            true,
        ),
        text_field("email", page.t("sso.email"), "email", &form.email, true),
        text_field("password", page.t("sso.password"), "password", "", true),
        text_field(
            "phone",
            page.t("sso.phone"),
            "tel",
            form.phone.as_deref().unwrap_or(""),
            false,
        ),
        text_field(
            "citizen_id",
            page.t("sso.citizen_id"),
            "text",
            form.citizen_id.as_deref().unwrap_or(""),
            false,
        ),
    ];
    fields[2].hint = Some(page.t("sso.password_hint"));
    let mut errors = Vec::new();
    if let Some((name, key)) = error
        && let Some(f) = fields.iter_mut().find(|f| f.name == name)
    {
        f.error = Some(page.t(key));
        errors.push(context! { id => f.id.clone(), message => page.t(key) });
    }
    page.render(
        status,
        "sso_register.html",
        context! { fields, errors, portal => form.portal.clone().unwrap_or_default() },
    )
}

pub async fn register_form(
    req: HttpRequest,
    q: web::Query<LocaleQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let page = SsoPage::of(&req, &state, q.ui_locales.as_deref());
    let form = RegisterForm {
        portal: q.portal.clone(),
        ..RegisterForm::default()
    };
    register_page(&page, StatusCode::OK, &form, None)
}

pub async fn register(
    req: HttpRequest,
    form: web::Form<RegisterForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let form = form.into_inner();
    let page = match SsoPage::for_form(&req, &state, form.ui_locales.as_deref(), &form.csrf) {
        Ok(page) => page,
        Err(refused) => return *refused,
    };
    let blank = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
    let body = RegisterBody {
        email: form.email.clone(),
        password: form.password.clone(),
        full_name: form.full_name.clone(),
        kind: None,
        citizen_id: blank(&form.citizen_id),
        tax_code: None,
        phone: blank(&form.phone),
        locale: Some(page.locale.as_str().to_owned()),
        tenant: blank(&form.portal),
    };
    match accounts::register_account(&state, ip(&req), body).await {
        Ok(()) => page.notice(
            StatusCode::OK,
            "sso.check_mail_title",
            "sso.check_mail",
            "ok",
        ),
        Err(AppError::BadRequest { code, .. }) if register_error(code).is_some() => register_page(
            &page,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            register_error(code),
        ),
        Err(e) => page.error(e),
    }
}

fn token_page(
    page: &SsoPage,
    status: StatusCode,
    action: &str,
    token: &str,
    with_password: bool,
    error: Option<&str>,
) -> HttpResponse {
    let (title, text, button) = if with_password {
        ("sso.reset_title", "sso.reset_text", "sso.reset_button")
    } else {
        ("sso.verify_title", "sso.verify_text", "sso.verify_button")
    };
    let mut fields = Vec::new();
    let mut errors = Vec::new();
    if with_password {
        let mut f = text_field("password", page.t("sso.new_password"), "password", "", true);
        f.hint = Some(page.t("sso.password_hint"));
        if let Some(key) = error {
            f.error = Some(page.t(key));
            errors.push(context! { id => f.id.clone(), message => page.t(key) });
        }
        fields.push(f);
    }
    page.render(
        status,
        "sso_token.html",
        context! {
            title => page.t(title), text => page.t(text), button => page.t(button),
            action, token, fields, errors,
        },
    )
}

fn token_of(q: &LocaleQuery) -> String {
    q.token.clone().unwrap_or_default()
}

pub async fn verify_form(
    req: HttpRequest,
    q: web::Query<LocaleQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    confirm_button_page(&req, &state, &q, "/verify-email")
}

/// The page a mailed link opens: a button that posts its token to `action`, so that a mail
/// scanner following the link does not spend it.
fn confirm_button_page(
    req: &HttpRequest,
    state: &AppState,
    q: &LocaleQuery,
    action: &str,
) -> HttpResponse {
    let page = SsoPage::of(req, state, q.ui_locales.as_deref());
    token_page(&page, StatusCode::OK, action, &token_of(q), false, None)
}

/// Asks before signing out, when the request alone does not prove the person wants it.
pub(crate) fn logout_confirm_page(
    req: &HttpRequest,
    state: &AppState,
    hidden: Vec<(&'static str, String)>,
) -> HttpResponse {
    let page = SsoPage::of(req, state, None);
    page.render(
        StatusCode::OK,
        "sso_logout.html",
        context! {
            title => page.t("sso.logout_title"),
            text => page.t("sso.logout_text"),
            button => page.t("sso.logout_button"),
            hidden,
        },
    )
}

/// Checks a posted sign-in host form's token, or gives the refusal to answer with.
pub(crate) fn check_form(
    req: &HttpRequest,
    state: &AppState,
    csrf: &str,
) -> Result<(), Box<HttpResponse>> {
    SsoPage::for_form(req, state, None, csrf).map(drop)
}

/// `GET /confirm-email`: the link an address change mails to the new address. A button, so
/// that a mail scanner following the link does not spend it.
pub async fn confirm_email_form(
    req: HttpRequest,
    q: web::Query<LocaleQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    confirm_button_page(&req, &state, &q, "/confirm-email")
}

pub async fn confirm_email(
    req: HttpRequest,
    form: web::Form<TokenForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let page = match SsoPage::for_form(&req, &state, form.ui_locales.as_deref(), &form.csrf) {
        Ok(page) => page,
        Err(refused) => return *refused,
    };
    match accounts::confirm_new_address(&state, ip(&req), form.token.clone()).await {
        Ok(()) => page.notice(
            StatusCode::OK,
            "sso.verified_title",
            "sso.address_changed",
            "ok",
        ),
        Err(e) => page.error(e),
    }
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    csrf: String,
    ui_locales: Option<String>,
    token: String,
    password: Option<String>,
}

pub async fn verify(
    req: HttpRequest,
    form: web::Form<TokenForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let page = match SsoPage::for_form(&req, &state, form.ui_locales.as_deref(), &form.csrf) {
        Ok(page) => page,
        Err(refused) => return *refused,
    };
    match accounts::confirm_address(&state, ip(&req), form.token.clone()).await {
        Ok(()) => page.notice(StatusCode::OK, "sso.verified_title", "sso.verified", "ok"),
        Err(e) => page.error(e),
    }
}

pub async fn forgot_form(
    req: HttpRequest,
    q: web::Query<LocaleQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let page = SsoPage::of(&req, &state, q.ui_locales.as_deref());
    let fields = vec![text_field("email", page.t("sso.email"), "email", "", true)];
    page.render(
        StatusCode::OK,
        "sso_token.html",
        context! {
            title => page.t("sso.forgot_title"), text => page.t("sso.forgot_text"),
            button => page.t("sso.forgot_button"), action => "/quen-mat-khau", token => "",
            fields, errors => Vec::<minijinja::Value>::new(),
        },
    )
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ForgotForm {
    csrf: String,
    ui_locales: Option<String>,
    email: String,
}

pub async fn forgot(
    req: HttpRequest,
    form: web::Form<ForgotForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let page = match SsoPage::for_form(&req, &state, form.ui_locales.as_deref(), &form.csrf) {
        Ok(page) => page,
        Err(refused) => return *refused,
    };
    match accounts::request_reset(&state, ip(&req), &form.email, None).await {
        // The same answer whether or not the address has an account.
        Ok(())
        | Err(AppError::BadRequest {
            code: "invalid_email",
            ..
        }) => page.notice(
            StatusCode::OK,
            "sso.check_mail_title",
            "sso.reset_sent",
            "ok",
        ),
        Err(e) => page.error(e),
    }
}

pub async fn reset_form(
    req: HttpRequest,
    q: web::Query<LocaleQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let page = SsoPage::of(&req, &state, q.ui_locales.as_deref());
    token_page(
        &page,
        StatusCode::OK,
        "/reset-password",
        &token_of(&q),
        true,
        None,
    )
}

pub async fn reset(
    req: HttpRequest,
    form: web::Form<TokenForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let page = match SsoPage::for_form(&req, &state, form.ui_locales.as_deref(), &form.csrf) {
        Ok(page) => page,
        Err(refused) => return *refused,
    };
    let password = form.password.clone().unwrap_or_default();
    match accounts::set_new_password(&state, ip(&req), form.token.clone(), password).await {
        Ok(()) => page.notice(
            StatusCode::OK,
            "sso.reset_done_title",
            "sso.reset_done",
            "ok",
        ),
        Err(AppError::BadRequest {
            code: "weak_password",
            ..
        }) => token_page(
            &page,
            StatusCode::UNPROCESSABLE_ENTITY,
            "/reset-password",
            &form.token,
            true,
            Some("sso.err_password"),
        ),
        Err(e) => page.error(e),
    }
}

/// What the OIDC sign-in page shows.
pub struct LoginView<'a> {
    pub ui_locales: Option<&'a str>,
    /// The portal's name, and its slug (to brand a sign-up started here).
    pub portal: &'a str,
    pub portal_slug: Option<&'a str>,
    /// The authorization request, carried through the form.
    pub hidden: Vec<(&'static str, String)>,
    pub email: &'a str,
    pub error: Option<&'a str>,
}

/// The OIDC sign-in page, in the shared style (used by `web::signin`).
pub fn login_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    view: LoginView<'_>,
) -> HttpResponse {
    let LoginView {
        ui_locales,
        portal,
        portal_slug,
        hidden,
        email,
        error,
    } = view;
    let page = SsoPage::of(req, state, ui_locales);
    let register_href = format!(
        "/dang-ky?ui_locales={}{}",
        page.locale.as_str(),
        portal_slug
            .map(|s| format!("&portal={s}"))
            .unwrap_or_default()
    );
    // Signing in redirects to the portal's callback: the form must be allowed to lead there.
    let portal_origin = hidden
        .iter()
        .find(|(k, _)| *k == "redirect_uri")
        .map(|(_, uri)| view::origin_of(uri))
        .unwrap_or_default();
    page.render_to(
        status,
        "sso_login.html",
        context! { portal, hidden, email, error, register_href },
        &portal_origin,
    )
}

/// A message page of the sign-in host for callers without a request at hand (a sign-in
/// request that cannot be answered, the signed-out page), in Vietnamese with the shared style.
pub fn notice_page(status: StatusCode, title_key: &str, text: &str, kind: &str) -> HttpResponse {
    let ctx = context! {
        locale => "vi", csrf => "",
        title => i18n::t(Locale::Vi, title_key), text, kind,
    };
    match view::render("sso_notice.html", ctx) {
        Ok(body) => view::html(status, body, "", false),
        Err(e) => {
            tracing::error!(error = ?e, "notice page failed");
            HttpResponse::build(status).finish()
        }
    }
}
