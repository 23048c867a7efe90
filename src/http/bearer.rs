//! Bearer tokens of the platform-wide API (account, userinfo), which name no tenant: the token
//! checked for any audience and its session still live, then the client allowed for the call.

use crate::error::AppError;
use crate::state::AppState;
use actix_web::HttpRequest;
use uuid::Uuid;

/// The token of an `Authorization: Bearer …` header; 401 without one.
pub(crate) fn token_of(req: &HttpRequest) -> Result<&str, AppError> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthorized)
}

/// The Bearer token of a request, verified for any audience and not revoked.
pub(crate) async fn verified_bearer(
    req: &HttpRequest,
    state: &AppState,
) -> Result<crate::auth::tokens::AccessClaims, AppError> {
    let token = token_of(req)?;
    let claims = crate::auth::tokens::verify_any_audience(
        &state.keyring(),
        token,
        state.settings.auth.issuer.trim_end_matches('/'),
    )
    .map_err(|_| AppError::Unauthorized)?;
    if crate::auth::revocation::is_revoked(
        state.notifier.redis(),
        &state.settings.redis.prefix,
        claims.sid,
    )
    .await
    .map_err(|e| AppError::Unavailable(e.into()))?
    {
        return Err(AppError::Unauthorized);
    }
    Ok(claims)
}

/// The account behind a Bearer access token of a client allowed into the account API
/// (registered with `account_api`). A tenant's token is not enough: it would let whoever
/// collects a tenant's tokens change the account's password, address or second factor.
pub(crate) async fn bearer_account(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(Uuid, String), AppError> {
    let claims = verified_bearer(req, state).await?;
    let (account, client_id) = (claims.sub, claims.client_id);
    let found = state
        .shared
        .run(move |c| {
            let allowed = crate::auth::sso::find_client(c, &client_id)?
                .is_some_and(|client| client.account_api && client.tenant_id.is_none());
            Ok(if allowed {
                crate::auth::sso::profile(c, account)?
            } else {
                None
            })
        })
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok((account, found.email))
}

/// The account behind a Bearer access token of any client: for userinfo only, which every
/// relying party calls with its own token and which tells nothing beyond the profile.
pub(crate) async fn bearer_any_client(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(Uuid, String), AppError> {
    let claims = verified_bearer(req, state).await?;
    let account = claims.sub;
    let profile = state
        .shared
        .run(move |c| Ok(crate::auth::sso::profile(c, account)?))
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok((account, profile.email))
}
