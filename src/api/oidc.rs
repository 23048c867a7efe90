//! The OpenID Connect provider: discovery, authorization code + PKCE (S256 only), token,
//! userinfo. Signing in once on the auth host signs in every tenant portal (one SSO session
//! cookie, `SameSite=Lax`, `HttpOnly`, `Secure` behind TLS).

use crate::app::oidc::*;
use crate::auth::sso;
use crate::error::AppError;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

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

/// `GET /oauth/userinfo`.
pub async fn userinfo(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    // Verified, and its session not revoked; any client's token (OpenID Connect Core §5.3).
    let (account, _) = crate::http::bearer::bearer_any_client(&req, &state).await?;
    let profile = state
        .shared
        .run(move |c| Ok(sso::profile(c, account)?))
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(HttpResponse::Ok().json(profile))
}
