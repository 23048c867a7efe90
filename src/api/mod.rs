//! JSON API under `/api/v1`, documented at `/api/openapi.json`.

pub mod auth;
pub mod catalog_admin;
pub mod complaints;
pub mod desk;
pub mod dossiers;
pub mod health;
pub(crate) mod html;
pub mod members;
pub mod oidc;
pub mod onboarding;
pub mod operator;
pub mod payments;
pub mod procedures;
pub mod results;
pub mod sandbox;
pub mod stats;
pub mod steps;
pub mod sync;
pub mod texts;
pub mod units;
pub(crate) use crate::error::Problem;
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
        catalog_admin::put_process,
        catalog_admin::put_field,
        catalog_admin::import,
        catalog_admin::export,
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
        desk::register,
        desk::extend,
        desk::claim,
        desk::slip,
        steps::act,
        steps::opinion,
        steps::load,
        units::list,
        units::save,
        units::add_member,
        units::remove_member,
        stats::leader,
        stats::public,
        stats::service_index,
        sync::receive,
        sync::children,
        payments::start,
        payments::ipn,
        payments::back,
        payments::receipt,
        payments::refund,
        payments::reconciliation,
        results::put_identity,
        results::get_identity,
        results::issue,
        results::download,
        results::revoke,
        results::verify,
        results::wallet,
        results::digitisation,
        complaints::file,
        complaints::verify,
        complaints::list,
        complaints::show,
        complaints::answer,
        complaints::published
    ),
    components(schemas(Problem, health::Health, health::Readiness)),
    modifiers(&SecuritySchemes, &ProblemResponses),
    tags(
        (name = "catalog", description = "Thủ tục hành chính — administrative procedures"),
        (name = "operator", description = "Vận hành nền tảng — platform operations"),
        (name = "accounts", description = "Tài khoản — accounts"),
        (name = "dossiers", description = "Hồ sơ — dossiers: submission, processing, tracking"),
        (name = "statistics", description = "Thống kê — statistics"),
        (name = "sync", description = "Đồng bộ lên cấp trên — upward sync"),
        (name = "payments", description = "Thanh toán trực tuyến — online payment"),
        (name = "desk", description = "Bộ phận một cửa — the one-stop desk: counter and postal intake, appointments, slips"),
        (name = "results", description = "Kết quả điện tử — signed electronic results, their verification, the citizen's document wallet"),
        (name = "complaints", description = "Phản ánh, kiến nghị — complaints and recommendations: filing, answers, publication")
    )
)]
pub struct ApiDoc;

/// The ways callers prove who they are: bearer access tokens (a tenant's, the account API's, the
/// operator console's) and the signature of upward sync events.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "operator_token",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
            components.add_security_scheme(
                "sync_signature",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    crate::services::sync::SIGNATURE_HEADER,
                    "HMAC-SHA256 of the timestamp and the body, with the key derived from the \
                     shared sync secret for this (source, receiver) pair; sent with \
                     `X-Dvc-Timestamp` and `X-Dvc-Source`",
                ))),
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

/// The answers any operation can give besides its own, all `application/problem+json`
/// (RFC 9457, [`Problem`]): those of the extractors and their error handlers (a query, path or
/// body that does not parse), of the tenant resolver (unknown, malformed, suspended, draft or
/// archived tenant), of the bearer-token check, of the per-tenant quota (429) and of the pool
/// or Redis being away (503). Each operation's own annotations list the answers of its handler;
/// this adds the common ones it lacks, as references to `#/components/responses`, and moves any
/// problem body documented as `application/json` to the content type it is really sent with.
struct ProblemResponses;

const PROBLEM_JSON: &str = "application/problem+json";

/// Everything under `/api/v1` is a tenant's, but for the account and operator APIs, which are
/// served on every host (see [`routes`]).
fn tenant_scoped(path: &str) -> bool {
    path.starts_with("/api/v1/")
        && !["/api/v1/auth/", "/api/v1/account/", "/api/v1/operator/"]
            .iter()
            .any(|prefix| path.starts_with(prefix))
}

/// Probes and metrics are answered before any tenant, quota, token or database.
fn is_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The common answers: status, component name, description, and whether a `Retry-After`
/// header comes with it.
const COMMON_PROBLEMS: &[(u16, &str, &str, bool)] = &[
    (
        400,
        "BadRequest",
        "Malformed input: a query, path or body that does not parse or breaks a rule, or a \
         malformed tenant name in the host or the `/t/{slug}` prefix",
        false,
    ),
    (
        401,
        "Unauthorized",
        "No valid credentials: a missing, malformed, expired or revoked access token, or one \
         for another audience",
        false,
    ),
    (
        403,
        "Forbidden",
        "The caller lacks the role this needs, or the tenant is suspended or not open yet",
        false,
    ),
    (404, "NotFound", "Unknown tenant, route or resource", false),
    (410, "Gone", "The tenant is archived", false),
    (
        413,
        "PayloadTooLarge",
        "The request body is larger than this operation accepts",
        false,
    ),
    (
        429,
        "TooManyRequests",
        "Over a rate limit (the tenant's plan, or sign-in and sign-up limits); retry after \
         `Retry-After` seconds",
        true,
    ),
    (
        503,
        "ServiceUnavailable",
        "The database pool or Redis is unavailable for now; retry after `Retry-After` seconds",
        true,
    ),
];

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::Operation;
        use utoipa::openapi::security::SecurityRequirement;
        use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};

        let problem = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        for (status, name, description, retry_after) in COMMON_PROBLEMS {
            let mut response = ResponseBuilder::new()
                .description(*description)
                .content(PROBLEM_JSON, problem());
            if *retry_after {
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::Type::Integer),
                        )
                        .description(Some("Seconds to wait before retrying"))
                        .build(),
                );
            }
            if *status == 401 {
                response = response.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new().description(Some("`Bearer`")).build(),
                );
            }
            components
                .responses
                .insert((*name).to_owned(), RefOr::T(response.build()));
        }

        for (path, item) in &mut openapi.paths.paths {
            let operations: [&mut Option<Operation>; 5] = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                // A problem is sent as `application/problem+json`, whatever was annotated.
                for response in op.responses.responses.values_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    let problem_types: Vec<String> = response
                        .content
                        .iter()
                        .filter(|(ctype, content)| {
                            ctype.as_str() != PROBLEM_JSON
                                && matches!(&content.schema,
                                    Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"))
                        })
                        .map(|(ctype, _)| ctype.clone())
                        .collect();
                    for ctype in problem_types {
                        if let Some(content) = response.content.shift_remove(&ctype) {
                            response.content.insert(PROBLEM_JSON.to_owned(), content);
                        }
                    }
                }
                match_path_parameters(path, op);
                if is_probe(path) {
                    continue;
                }
                // Whatever answers 401 reads a bearer token unless it says otherwise.
                let declares_401 = op.responses.responses.contains_key("401");
                if declares_401 && op.security.as_ref().is_none_or(std::vec::Vec::is_empty) {
                    op.security = Some(vec![SecurityRequirement::new(
                        "bearer",
                        Vec::<String>::new(),
                    )]);
                }
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let tenant = tenant_scoped(path);
                let has_input = op.request_body.is_some()
                    || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = op.request_body.is_some();
                for (status, name, _, _) in COMMON_PROBLEMS {
                    let applies = match status {
                        400 => has_input || tenant,
                        401 => secured,
                        403 => secured || tenant,
                        410 => tenant,
                        413 => has_body,
                        _ => true,
                    };
                    if applies {
                        op.responses
                            .responses
                            .entry(status.to_string())
                            .or_insert_with(|| {
                                RefOr::Ref(Ref::new(format!("#/components/responses/{name}")))
                            });
                    }
                }
            }
        }
    }
}

/// Makes the parameters agree with the path template: every `{name}` of it that the
/// annotation left out is declared, as the string actix hands the handler; a parameter said to
/// be in the path that the template does not have is a query's (`IntoParams` puts its fields in
/// the path unless told `parameter_in = Query`). A document with either mismatch is invalid,
/// and clients cannot build the URL.
fn match_path_parameters(path: &str, op: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{Schema, SchemaType};
    use utoipa::openapi::{ObjectBuilder, RefOr, Required, Type};
    let names: Vec<&str> = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect();
    for param in op.parameters.iter_mut().flatten() {
        if param.parameter_in == ParameterIn::Path && !names.contains(&param.name.as_str()) {
            param.parameter_in = ParameterIn::Query;
            // In the path it had to be required; an `Option` field (a nullable type) is not.
            let nullable = matches!(
                &param.schema,
                Some(RefOr::T(Schema::Object(o)))
                    if matches!(&o.schema_type, SchemaType::Array(t) if t.contains(&Type::Null))
            );
            if nullable {
                param.required = Required::False;
            }
        }
    }
    for name in names {
        let params = op.parameters.get_or_insert_with(Vec::new);
        let declared = params
            .iter()
            .any(|p| p.name == name && p.parameter_in == ParameterIn::Path);
        if !declared {
            params.push(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
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
            .route("/units", web::get().to(units::list))
            .route("/units", web::post().to(units::save))
            .route("/units/{code}/members", web::post().to(units::add_member))
            .route(
                "/units/{code}/members",
                web::delete().to(units::remove_member),
            )
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
            .route(
                "/procedures/{code}/process",
                web::put().to(catalog_admin::put_process),
            )
            .route("/fields", web::post().to(catalog_admin::put_field))
            .route("/catalog/import", web::post().to(catalog_admin::import))
            .route(
                "/procedures/{code}/tenant-file",
                web::get().to(catalog_admin::export),
            )
            .route("/dossiers", web::post().to(dossiers::submit))
            .route("/dossiers", web::get().to(dossiers::mine))
            .route("/dossiers/bulk", web::post().to(dossiers::bulk))
            .route("/dossiers/{code}", web::get().to(dossiers::show))
            .route("/dossiers/{code}/actions", web::post().to(dossiers::act))
            .route("/dossiers/{code}/extend", web::post().to(desk::extend))
            .route("/dossiers/{code}/step", web::post().to(steps::act))
            .route("/dossiers/{code}/opinion", web::post().to(steps::opinion))
            .route("/steps/load", web::get().to(steps::load))
            .route("/dossiers/{code}/slips/{kind}", web::get().to(desk::slip))
            .route("/desk/dossiers", web::post().to(desk::register))
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
            .route("/signing-identity", web::put().to(results::put_identity))
            .route("/signing-identity", web::get().to(results::get_identity))
            .route("/dossiers/{code}/results", web::post().to(results::issue))
            .route(
                "/dossiers/{code}/results/{id}/pdf",
                web::get().to(results::download),
            )
            .route(
                "/dossiers/{code}/results/{id}/revoke",
                web::post().to(results::revoke),
            )
            .route("/results/{id}", web::get().to(results::verify))
            .route("/wallet", web::get().to(results::wallet))
            .route("/stats/digitisation", web::get().to(results::digitisation))
            .route("/stats", web::get().to(stats::leader))
            .route("/stats/public", web::get().to(stats::public))
            .route("/complaints", web::post().to(complaints::file))
            .route("/complaints", web::get().to(complaints::list))
            .route(
                "/complaints/published",
                web::get().to(complaints::published),
            )
            .route("/complaints/{code}", web::get().to(complaints::show))
            .route(
                "/complaints/{code}/verify",
                web::post().to(complaints::verify),
            )
            .route(
                "/complaints/{code}/answer",
                web::post().to(complaints::answer),
            )
            .route("/stats/service-index", web::get().to(stats::service_index))
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
        .route("/oauth/token", web::post().to(oidc::token))
        .route("/oauth/userinfo", web::get().to(oidc::userinfo))
        .route("/oauth/revoke", web::post().to(oidc::revoke))
        .route(
            "/hooks/texts/{channel}/{token}",
            web::post().to(texts::delivery_report),
        )
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
        .route(
            "/api/v1/account/dossiers/claim",
            web::post().to(desk::claim),
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
#[allow(clippy::unused_async)] // actix handlers are async
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The response an operation lists, through its `$ref` when it has one.
    fn resolve<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
        match response["$ref"].as_str() {
            Some(r) => {
                let name = r.strip_prefix("#/components/responses/").unwrap_or(r);
                &doc["components"]["responses"][name]
            }
            None => response,
        }
    }

    #[test]
    fn every_operation_documents_the_problems_it_can_answer() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut operations = 0;
        let mut ids = std::collections::HashSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                let at = format!("{method} {path}");
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(ids.insert(id.to_owned()), "{at}: operationId {id} twice");
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                let template: Vec<&str> = path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                    .collect();
                assert_eq!(declared.len(), template.len(), "{at}: {declared:?}");
                for name in template {
                    assert!(declared.contains(&name), "{at}: path parameter {name}");
                }
                let answers = op["responses"].as_object().unwrap();
                for (status, response) in answers {
                    let response = resolve(&doc, response);
                    assert!(response.is_object(), "{at} {status}: unresolved");
                    for (ctype, content) in response["content"].as_object().into_iter().flatten() {
                        let problem = content["schema"]["$ref"] == "#/components/schemas/Problem";
                        assert_eq!(
                            problem,
                            ctype == PROBLEM_JSON,
                            "{at} {status}: {ctype} with {}",
                            content["schema"]
                        );
                    }
                }
                if is_probe(path) {
                    continue;
                }
                for status in ["404", "429", "503"] {
                    assert!(answers.contains_key(status), "{at}: no {status}");
                }
                let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
                assert_eq!(
                    secured,
                    answers.contains_key("401"),
                    "{at}: 401 and security"
                );
                if secured || tenant_scoped(path) {
                    assert!(answers.contains_key("403"), "{at}: no 403");
                }
                if tenant_scoped(path) {
                    assert!(answers.contains_key("410"), "{at}: no 410");
                    assert!(answers.contains_key("400"), "{at}: no 400");
                }
                if !op["requestBody"].is_null() {
                    assert!(answers.contains_key("413"), "{at}: no 413");
                }
            }
        }
        assert!(operations > 50, "{operations} operations");
        // `IntoParams` without `parameter_in = Query` (the operator's query strings).
        let usage = &doc["paths"]["/api/v1/operator/usage"]["get"]["parameters"];
        for p in usage.as_array().unwrap() {
            assert_eq!(
                (&p["in"], &p["required"]),
                (&"query".into(), &false.into()),
                "{p}"
            );
        }
        // The problem schema itself is there.
        assert!(doc["components"]["schemas"]["Problem"].is_object());
    }

    #[test]
    fn only_the_api_under_v1_is_read_as_a_tenants() {
        assert!(tenant_scoped("/api/v1/procedures"));
        assert!(tenant_scoped("/api/v1/dossiers/{code}/actions"));
        assert!(!tenant_scoped("/api/v1/auth/register"));
        assert!(!tenant_scoped("/api/v1/account/dossiers"));
        assert!(!tenant_scoped("/api/v1/operator/usage"));
        assert!(!tenant_scoped("/healthz"));
    }
}
