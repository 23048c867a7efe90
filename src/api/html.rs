//! Small server-rendered pages (receipt, sandbox gateway) until the portal's own layout
//! (issue 6) takes them over.

use crate::error::AppError;
use actix_web::HttpResponse;

/// Renders `source` with every value HTML-escaped: the pages show what applicants typed and
/// merchants sent (names, order descriptions, return addresses), so nothing may reach the page
/// as markup. minijinja escapes by default only templates whose name ends in `.html` (or the
/// like); the name says so, and the callback makes it so whatever the name.
pub fn render(source: &str, ctx: minijinja::Value) -> Result<String, AppError> {
    const NAME: &str = "page.html";
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template(NAME, source).map_err(AppError::internal)?;
    env.get_template(NAME)
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

#[cfg(test)]
mod tests {
    use super::render;

    const RECEIPT: &str = include_str!("../../templates/web/receipt.html");
    const SANDBOX_PAY: &str = include_str!("../../templates/web/sandbox_pay.html");
    const SCRIPT: &str = "<script>alert(1)</script>";

    #[test]
    fn the_receipt_escapes_an_applicants_name() {
        let html = render(
            RECEIPT,
            minijinja::context! {
                tenant_name => "Sở <b>Thử</b>",
                receipt_no => "TA-BL-000001",
                applicant_name => SCRIPT,
                procedure_name => "Thủ tục \"A\" & 'B'",
                amount => "250.000 ₫",
            },
        )
        .unwrap();
        assert!(!html.contains(SCRIPT), "{html}");
        assert!(!html.contains("<b>Thử</b>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("Thủ tục &quot;A&quot; &amp; &#x27;B&#x27;"),
            "{html}"
        );
        // The template's own markup is untouched.
        assert!(
            html.contains("<td class=\"amount\">250.000 ₫</td>"),
            "{html}"
        );
    }

    #[test]
    fn the_sandbox_page_escapes_what_the_merchant_sent() {
        let html = render(
            SANDBOX_PAY,
            minijinja::context! {
                merchant => "TA001",
                txn_ref => "REF1",
                amount => "1 ₫",
                order_info => SCRIPT,
                return_url => "https://x.example/\"><script>alert(2)</script>",
            },
        )
        .unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("\"><"), "{html}");
        assert!(html.contains("<p>&lt;script&gt;"), "{html}");
    }
}
