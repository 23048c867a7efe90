//! Small server-rendered pages (receipt, sandbox gateway) until the portal's own layout
//! (issue 6) takes them over.

use crate::error::AppError;
use actix_web::HttpResponse;

pub fn render(source: &str, ctx: minijinja::Value) -> Result<String, AppError> {
    let mut env = minijinja::Environment::new();
    env.add_template("page", source)
        .map_err(AppError::internal)?;
    env.get_template("page")
        .and_then(|t| t.render(ctx))
        .map_err(AppError::internal)
}

pub fn page(html: String) -> HttpResponse {
    page_to(html, "")
}

/// A page whose form may lead (redirect) to `form_targets` as well as to this host.
pub fn page_to(html: String, form_targets: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Security-Policy",
            format!(
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {form_targets}; frame-ancestors 'none'"
            ),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(html)
}
