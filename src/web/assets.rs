//! The portal's stylesheet (compiled in, cached by browsers and revalidated by its hash) and
//! each tenant's colours as CSS custom properties. A tenant colour that would fail WCAG AA
//! contrast is darkened for text and buttons, so a portal stays readable whatever an admin
//! picks (the admin is warned; see [`super::contrast::check_brand`]).

use super::contrast::{self, Rgb};
use crate::tenancy::Tenant;
use actix_web::{HttpRequest, HttpResponse};
use sha2::Digest;
use std::sync::OnceLock;

const STYLESHEET: &str = include_str!("../../templates/web/static/dvc.css");

fn etag_of(body: &str) -> String {
    let d = sha2::Sha256::digest(body.as_bytes());
    format!("\"{}\"", crate::services::text::hex(&d[..8]))
}

fn css(req: &HttpRequest, body: String, etag: String) -> HttpResponse {
    let fresh = req
        .headers()
        .get(actix_web::http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let mut resp = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header(("Content-Type", "text/css; charset=utf-8"))
        .insert_header(("Cache-Control", "public, max-age=300, must-revalidate"))
        .insert_header(("ETag", etag))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if fresh {
        resp.finish()
    } else {
        resp.body(body)
    }
}

pub async fn stylesheet(req: HttpRequest) -> HttpResponse {
    static ETAG: OnceLock<String> = OnceLock::new();
    css(
        &req,
        STYLESHEET.to_owned(),
        ETAG.get_or_init(|| etag_of(STYLESHEET)).clone(),
    )
}

/// The brand's colours as the portal uses them: the primary as given when white text on it
/// and it on white both reach 4.5:1, else the nearest darker shade that does.
pub fn brand_css(tenant: &Tenant) -> String {
    let colour = |key: &str| {
        tenant
            .branding
            .get(key)
            .and_then(|v| v.as_str())
            .and_then(Rgb::parse_hex)
    };
    let primary = colour("primary_color").unwrap_or(Rgb {
        r: 0x0b,
        g: 0x4f,
        b: 0x8a,
    });
    let readable = if contrast::passes_aa(contrast::WHITE, primary, false) {
        primary
    } else {
        contrast::darken_until_readable(primary)
    };
    // The focus ring is the accent when it stands out from white (3:1), else the primary.
    let accent = colour("accent_color")
        .filter(|a| contrast::contrast_ratio(*a, contrast::WHITE) >= 3.0)
        .unwrap_or(readable);
    format!(
        ":root{{--brand:{b};--brand-ink:#ffffff;--brand-text:{b};--accent:{a}}}\n",
        b = readable.to_hex(),
        a = accent.to_hex()
    )
}

pub async fn brand(req: HttpRequest, tenant: crate::tenancy::CurrentTenant) -> HttpResponse {
    let body = brand_css(&tenant.tenant);
    let etag = etag_of(&body);
    css(&req, body, etag)
}

/// The tenant's logo (`/assets/logo?v={sha256}`: the address changes with the picture, so it
/// may be kept for long).
pub async fn logo(
    tenant: crate::tenancy::CurrentTenant,
    state: actix_web::web::Data<crate::state::AppState>,
) -> Result<HttpResponse, crate::error::AppError> {
    let id = tenant.tenant.id;
    let found = state
        .shared
        .run(move |c| Ok(crate::hosting::branding::logo(c, id)?))
        .await?;
    let (media_type, bytes) = found.ok_or(crate::error::AppError::NotFound { what: "logo" })?;
    Ok(HttpResponse::Ok()
        .content_type(media_type)
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Content-Security-Policy", "default-src 'none'"))
        .body(bytes))
}
