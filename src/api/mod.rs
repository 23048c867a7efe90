//! JSON API under `/api/v1`, documented at `/api/openapi.json`.

pub mod auth;
pub mod catalog_admin;
pub mod dossiers;
pub mod health;
pub(crate) mod html;
pub mod members;
pub mod oidc;
pub mod onboarding;
pub mod operator;
pub mod payments;
pub mod procedures;
pub mod sandbox;
pub mod stats;
pub mod sync;
pub(crate) mod upload;

use crate::error::Problem;
use crate::tenancy::resolver::PATH_PARAM;
use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dvc — Cổng dịch vụ công trực tuyến",
        description = "API of the dvc multi-tenant public-services platform. Every tenant-scoped \
            path is served on the tenant's host (`{slug}.{base_domain}` or its own domain) and \
            also under the `/t/{slug}` prefix, e.g. `/t/ha-noi/api/v1/procedures`. Errors are \
            `application/problem+json` (RFC 9457) with a stable `code`."
    ),
    paths(
        procedures::list,
        procedures::show,
        health::healthz,
        health::readyz,
        health::metrics,
        operator::outbox_counts,
        operator::failed_mail,
        operator::retry_mail,
        operator::usage,
        onboarding::create_tenant,
        onboarding::operator_checklist,
        onboarding::admin_checklist,
        onboarding::invite,
        onboarding::go_live,
        onboarding::accept,
        onboarding::domains,
        onboarding::claim_domain,
        onboarding::verify_domain,
        auth::register,
        auth::verify_email,
        auth::resend_verification,
        auth::forgot_password,
        auth::reset_password,
        auth::totp_enroll,
        auth::change_password,
        auth::change_email,
        auth::confirm_email,
        auth::totp_confirm,
        members::list,
        members::grant,
        members::revoke,
        catalog_admin::put_procedure,
        catalog_admin::inherit,
        catalog_admin::withdraw,
        catalog_admin::put_field,
        dossiers::submit,
        dossiers::mine,
        dossiers::inbox,
        dossiers::show,
        dossiers::act,
        dossiers::supplement,
        dossiers::assign,
        dossiers::bulk,
        dossiers::feedback,
        dossiers::download,
        dossiers::lookup,
        dossiers::across_tenants,
        stats::leader,
        stats::public,
        sync::receive,
        sync::children,
        payments::start,
        payments::ipn,
        payments::back,
        payments::receipt,
        payments::refund,
        payments::reconciliation
    ),
    components(schemas(Problem)),
    modifiers(&OperatorToken),
    tags(
        (name = "catalog", description = "Thủ tục hành chính — administrative procedures"),
        (name = "operator", description = "Vận hành nền tảng — platform operations"),
        (name = "accounts", description = "Tài khoản — accounts"),
        (name = "dossiers", description = "Hồ sơ — dossiers: submission, processing, tracking"),
        (name = "statistics", description = "Thống kê — statistics"),
        (name = "sync", description = "Đồng bộ lên cấp trên — upward sync"),
        (name = "payments", description = "Thanh toán trực tuyến — online payment")
    )
)]
pub struct ApiDoc;

struct OperatorToken;

impl utoipa::Modify for OperatorToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "operator_token",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// Routes that need a tenant. Mounted at the root (tenant from the host) and under
/// `/t/{tenant}`.
fn tenant_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/me", web::get().to(me))
            .route(
                "/admin/onboarding",
                web::get().to(onboarding::admin_checklist),
            )
            .route("/admin/invitations", web::post().to(onboarding::invite))
            .route("/admin/go-live", web::post().to(onboarding::go_live))
            .route("/admin/domains", web::get().to(onboarding::domains))
            .route("/admin/domains", web::post().to(onboarding::claim_domain))
            .route(
                "/admin/domains/{domain}/verify",
                web::post().to(onboarding::verify_domain),
            )
            .route("/invitations/accept", web::post().to(onboarding::accept))
            .route("/members", web::get().to(members::list))
            .route("/members", web::post().to(members::grant))
            .route("/members", web::delete().to(members::revoke))
            .route("/procedures", web::get().to(procedures::list))
            .route("/procedures/{code}", web::get().to(procedures::show))
            .route(
                "/procedures/{code}",
                web::put().to(catalog_admin::put_procedure),
            )
            .route(
                "/procedures/{code}",
                web::delete().to(catalog_admin::withdraw),
            )
            .route(
                "/procedures/{code}/inherit",
                web::post().to(catalog_admin::inherit),
            )
            .route("/fields", web::post().to(catalog_admin::put_field))
            .route("/dossiers", web::post().to(dossiers::submit))
            .route("/dossiers", web::get().to(dossiers::mine))
            .route("/dossiers/bulk", web::post().to(dossiers::bulk))
            .route("/dossiers/{code}", web::get().to(dossiers::show))
            .route("/dossiers/{code}/actions", web::post().to(dossiers::act))
            .route(
                "/dossiers/{code}/supplement",
                web::post().to(dossiers::supplement),
            )
            .route("/dossiers/{code}/assign", web::post().to(dossiers::assign))
            .route(
                "/dossiers/{code}/feedback",
                web::post().to(dossiers::feedback),
            )
            .route(
                "/dossiers/{code}/attachments/{id}",
                web::get().to(dossiers::download),
            )
            .route("/dossiers/{code}/payment", web::post().to(payments::start))
            .route("/dossiers/{code}/refund", web::post().to(payments::refund))
            .route("/payments/ipn", web::get().to(payments::ipn))
            .route("/payments/return", web::get().to(payments::back))
            .route(
                "/payments/reconciliation",
                web::get().to(payments::reconciliation),
            )
            .route(
                "/payments/{reference}/receipt",
                web::get().to(payments::receipt),
            )
            .route("/inbox", web::get().to(dossiers::inbox))
            .route("/lookup", web::post().to(dossiers::lookup))
            .route("/stats", web::get().to(stats::leader))
            .route("/stats/public", web::get().to(stats::public))
            .route("/sync/events", web::post().to(sync::receive))
            .route("/sync/dossiers", web::get().to(sync::children)),
    );
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(crate::error::query_error_handler))
        .app_data(web::PathConfig::default().error_handler(crate::error::path_error_handler))
        .app_data(
            web::JsonConfig::default()
                .limit(64 * 1024)
                .error_handler(crate::error::json_error_handler),
        )
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/api/openapi.json", web::get().to(openapi_json))
        .route("/.well-known/jwks.json", web::get().to(jwks))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(oidc::discovery),
        )
        .route("/oauth/authorize", web::get().to(oidc::authorize))
        .route("/oauth/authorize", web::post().to(oidc::login))
        .route("/oauth/token", web::post().to(oidc::token))
        .route("/oauth/userinfo", web::get().to(oidc::userinfo))
        .route("/oauth/revoke", web::post().to(oidc::revoke))
        .route("/oauth/logout", web::get().to(oidc::logout))
        .route("/oauth/logout", web::post().to(oidc::logout_confirmed))
        .service(
            web::scope("/api/v1/auth")
                .route("/register", web::post().to(auth::register))
                .route("/verify-email", web::post().to(auth::verify_email))
                .route(
                    "/verify-email/resend",
                    web::post().to(auth::resend_verification),
                )
                .route("/password/forgot", web::post().to(auth::forgot_password))
                .route("/password/reset", web::post().to(auth::reset_password))
                .route("/password/change", web::post().to(auth::change_password))
                .route("/email/change", web::post().to(auth::change_email))
                .route("/email/confirm", web::post().to(auth::confirm_email))
                .route("/totp", web::post().to(auth::totp_enroll))
                .route("/totp/confirm", web::post().to(auth::totp_confirm)),
        )
        .route(
            "/api/v1/account/dossiers",
            web::get().to(dossiers::across_tenants),
        )
        .service(
            web::scope("/api/v1/operator")
                .route("/outbox", web::get().to(operator::outbox_counts))
                .route("/outbox/failed", web::get().to(operator::failed_mail))
                .route("/outbox/{id}/retry", web::post().to(operator::retry_mail))
                .route("/usage", web::get().to(operator::usage))
                .route("/tenants", web::post().to(onboarding::create_tenant))
                .route(
                    "/tenants/{slug}/onboarding",
                    web::get().to(onboarding::operator_checklist),
                ),
        )
        .service(web::scope(&format!("/t/{{{PATH_PARAM}}}")).configure(tenant_routes))
        .configure(tenant_routes);
}

/// Unmatched routes answer problem+json too.
pub async fn not_found() -> Result<HttpResponse, crate::error::AppError> {
    Err(crate::error::AppError::NotFound { what: "route" })
}

/// The signed-in caller as this tenant sees them.
async fn me(principal: crate::auth::principal::Principal) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "sub": principal.account,
        "sid": principal.session,
        "tenant": principal.tenant.tenant.slug.as_str(),
        "roles": principal.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    }))
}

/// Public keys that verify dvc's tokens (the next key is published before it signs).
async fn jwks(state: web::Data<crate::state::AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.keyring().jwks())
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
