//! Rendering: one template environment for the process (templates compiled into the binary),
//! the functions and filters templates use (`t`, `num`, `vnd`, `date`, `datetime`), and the
//! headers every page carries.

use super::i18n;
use crate::locale::Locale;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind, State};
use std::sync::OnceLock;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/web/portal/", $name)))),*]
    };
}

/// Every page template, by name (a test renders each and checks its message keys).
pub const TEMPLATES: &[(&str, &str)] = templates!(
    "layout.html",
    "macros.html",
    "error.html",
    "home.html",
    "procedure.html",
    "apply.html",
    "review.html",
    "dossiers.html",
    "dossier.html",
    "lookup.html",
    "inbox.html",
    "process.html",
    "verification.html",
    "wallet.html",
    "desk.html",
    "desk_intake.html",
    "desk_scan.html",
    "slip.html",
    "public_stats.html",
    "service_index.html",
    "account.html",
    "dashboard.html",
    "complaints.html",
    "complaint_file.html",
    "complaint_verify.html",
    "office_complaints.html",
    "office_complaint.html",
    "admin.html",
    "admin_processes.html",
    "admin_process.html",
    "designer_list.html",
    "designer.html",
    "designer_preview.html",
    "invitation.html",
    "console.html",
    "signed_out.html",
    "sso_layout.html",
    "sso_login.html",
    "sso_register.html",
    "sso_notice.html",
    "sso_token.html",
    "sso_logout.html",
);

fn locale_of(state: &State) -> Locale {
    state
        .lookup("locale")
        .and_then(|v| v.as_str().and_then(Locale::parse))
        .unwrap_or_default()
}

/// `t("key", n=3)`: the message in the page's language, placeholders filled.
fn t(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let locale = locale_of(state);
    let message = i18n::Catalog::of(locale).get(key).ok_or_else(|| {
        Error::new(
            ErrorKind::UndefinedError,
            format!("no message `{key}` in the {} catalog", locale.as_str()),
        )
    })?;
    let mut args = Vec::new();
    for name in kwargs.args() {
        let v: Value = kwargs.get(name)?;
        args.push((name, v.to_string()));
    }
    Ok(i18n::fill(message, &args))
}

fn num(state: &State, v: Value) -> String {
    let locale = locale_of(state);
    match i64::try_from(v.clone()) {
        Ok(n) => i18n::integer(locale, n),
        Err(_) => f64::try_from(v).map_or_else(|_| "–".into(), |x| i18n::decimal(locale, x, 1)),
    }
}

fn vnd(state: &State, v: Value) -> String {
    i64::try_from(v).map_or_else(|_| "–".into(), |n| i18n::vnd(locale_of(state), n))
}

/// Accepts `2026-11-29` or an RFC 3339 moment (shown as its Vietnam date).
fn date(state: &State, v: &str) -> String {
    let locale = locale_of(state);
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return i18n::date(locale, d);
    }
    chrono::DateTime::parse_from_rfc3339(v).map_or_else(
        |_| v.to_owned(),
        |at| i18n::date(locale, i18n::vietnam_time(at.to_utc()).date_naive()),
    )
}

fn datetime(state: &State, v: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(v).map_or_else(
        |_| v.to_owned(),
        |at| i18n::datetime(locale_of(state), at.to_utc()),
    )
}

pub fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Optional parts (a tenant without contact details) read as empty, not as errors.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e:#}"));
        }
        env.add_function("t", t);
        env.add_filter("num", num);
        env.add_filter("vnd", vnd);
        env.add_filter("date", date);
        env.add_filter("datetime", datetime);
        env.add_filter("urlencode", |v: &str| -> String {
            url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
        });
        env
    })
}

pub fn render(name: &str, ctx: Value) -> Result<String, crate::error::AppError> {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| crate::error::AppError::internal(anyhow::anyhow!("template {name}: {e:#}")))
}

/// The Content-Security-Policy of every page: our own stylesheet and script only, forms
/// only to this host and `form_targets` (browsers also check where a form's answer redirects:
/// the sign-in host from a portal, the portal from the sign-in host).
pub fn csp(form_targets: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src 'self'; form-action 'self' {form_targets}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// An HTML response with the security headers. Pages are personal or change with the
/// session, so none is stored by a cache.
pub fn html(status: StatusCode, body: String, issuer_origin: &str, https: bool) -> HttpResponse {
    let mut resp = HttpResponse::build(status);
    resp.content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Security-Policy", csp(issuer_origin)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .insert_header(("X-Frame-Options", "DENY"));
    if https {
        resp.insert_header(("Strict-Transport-Security", "max-age=31536000"));
    }
    resp.body(body)
}

pub use crate::services::payments::gateway::origin_of;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("…")` a template calls names a message of both catalogs (a typo would show
    /// the bare key to citizens).
    #[test]
    fn every_message_a_template_uses_exists() {
        let call = regex_lite::Regex::new(r#"t\(\s*["']([a-z_.0-9]+)["']\s*(~)?"#).unwrap();
        let mut seen = 0;
        for (name, source) in TEMPLATES {
            for cap in call.captures_iter(source) {
                let key = &cap[1];
                seen += 1;
                for l in Locale::ALL {
                    // `t("status." ~ code)`: a family of messages, at least one of which exists.
                    let found = if cap.get(2).is_some() {
                        i18n::Catalog::of(l).keys().any(|k| k.starts_with(key))
                    } else {
                        i18n::Catalog::of(l).get(key).is_some()
                    };
                    assert!(found, "{name}: no `{key}` in the {} catalog", l.as_str());
                }
            }
        }
        assert!(seen > 100, "only {seen} message calls found");
    }

    #[test]
    fn every_template_compiles_and_the_error_page_renders_in_both_languages() {
        let env = env();
        for (name, _) in TEMPLATES {
            env.get_template(name).unwrap();
        }
        for locale in ["vi", "en"] {
            let html = render(
                "error.html",
                minijinja::context! {
                    locale, status => 404,
                    chrome => minijinja::context! { tenant => minijinja::context! { name => "Sở Thử" }, csrf => "x", path => "/" },
                },
            )
            .unwrap();
            let want = if locale == "vi" {
                "Không tìm thấy trang"
            } else {
                "Page not found"
            };
            assert!(html.contains(want), "{html}");
            assert!(html.contains(&format!("<html lang=\"{locale}\">")));
            // No inline style or script: the CSP forbids them.
            assert!(!html.contains("style=") && !html.contains("<script"));
        }
    }

    #[test]
    fn filters_format_per_locale() {
        let out = env()
            .render_str(
                "{{ 1500000|vnd }} {{ 1234|num }} {{ '2026-11-09'|date }}",
                minijinja::context! { locale => "en" },
            )
            .unwrap();
        assert_eq!(out, "VND 1,500,000 1,234 9 Nov 2026");
    }
}
