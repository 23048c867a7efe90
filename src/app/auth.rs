//! Who is calling, and how hard: sign-in (through `auth::sign_in`), rate limits and quotas,
//! ending sessions everywhere, and the bearer checks of the account API. The account's own
//! life (sign-up, address, password, second factor) is `app::accounts`.

use crate::auth::accounts::Links;
use crate::auth::password::Password;
use crate::auth::rate_limit::Quota;
use crate::auth::sign_in::{self, SignIn};
use crate::error::AppError;
use crate::mail::Email;
use crate::state::AppState;
use crate::tenancy::TenantSlug;
use actix_web::HttpRequest;
use std::time::Duration;
use uuid::Uuid;

pub(crate) fn client_ip(req: &HttpRequest) -> Option<String> {
    crate::client_addr::of(req)
}

/// One quota check: 429 with `Retry-After` when over. While Redis is away the limit is not
/// enforced: being able to sign up and sign in matters more.
pub(crate) async fn enforce(
    state: &AppState,
    bucket: &str,
    subject: &str,
    quota: Quota,
) -> Result<(), AppError> {
    match state.rate_limiter.check(bucket, subject, quota).await {
        Ok(None) => Ok(()),
        Ok(Some(wait)) => Err(AppError::TooManyRequests {
            retry_after_secs: crate::error::retry_after(wait),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "rate limit unavailable");
            Ok(())
        }
    }
}

/// The per-address limit (`auth.per_ip_per_minute`) of a bucket.
pub(crate) async fn limit(
    state: &AppState,
    bucket: &str,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let Some(ip) = ip else { return Ok(()) };
    let quota = Quota {
        limit: state.settings.auth.per_ip_per_minute.max(1),
        period: Duration::from_secs(60),
    };
    enforce(state, bucket, ip, quota).await
}

/// Revokes the ended sessions' unexpired access tokens on every instance (through Redis, for
/// as long as such a token can live).
pub(crate) async fn revoke_sessions(state: &AppState, sessions: Vec<Uuid>) -> Result<(), AppError> {
    let ttl = Duration::from_secs(state.settings.auth.access_token_ttl_secs + 60);
    for sid in sessions {
        crate::auth::revocation::revoke(
            state.notifier.redis(),
            &state.settings.redis.prefix,
            sid,
            ttl,
        )
        .await
        .map_err(|e| AppError::Unavailable(e.into()))?;
    }
    Ok(())
}

/// Reset mails per e-mail address.
pub(crate) const PER_ACCOUNT_RESETS: Quota = Quota {
    limit: 5,
    period: Duration::from_secs(3600),
};

/// A limit keyed by an e-mail address (lowercased, hashed: no addresses in Redis keys).
pub(crate) async fn per_account(
    state: &AppState,
    bucket: &str,
    email: &str,
    quota: Quota,
) -> Result<(), AppError> {
    use sha2::{Digest, Sha256};
    let subject =
        crate::services::text::hex(&Sha256::digest(email.to_lowercase().as_bytes())[..16]);
    enforce(state, bucket, &subject, quota).await
}

/// 403 unless `attempt` is the account's current password (the sign-in's own check).
pub(crate) async fn check_current_password(
    state: &AppState,
    email: String,
    attempt: &str,
) -> Result<(), AppError> {
    let ok = sign_in::check_password(&state.shared, email, Password::attempt(attempt)).await?;
    ok.then_some(()).ok_or(AppError::Forbidden)
}

/// Sign-in attempts per account, whatever the address: attempts on one account from many
/// places are slowed down together (the lockout is per account *and* address).
const PER_ACCOUNT_LOGINS: Quota = Quota {
    limit: 60,
    period: Duration::from_secs(60),
};

/// Signing in on the sign-in host: the rate limits, then the policy (`auth::sign_in`). When
/// the right password meets an unconfirmed address, the owner is here: a fresh link goes out
/// (limited per address, branded for `tenant`), since the first one may be lost or expired.
pub(crate) async fn sign_in(
    state: &AppState,
    attempt: sign_in::Attempt,
    tenant: Option<Uuid>,
) -> Result<SignIn, AppError> {
    limit(state, "login", attempt.ip.as_deref()).await?;
    per_account(
        state,
        "login-account",
        attempt.email.trim(),
        PER_ACCOUNT_LOGINS,
    )
    .await?;
    let (ip, email) = (attempt.ip.clone(), attempt.email.trim().to_owned());
    let deps = sign_in::Deps {
        db: &state.shared,
        redis: state.notifier.redis(),
        prefix: &state.settings.redis.prefix,
        master_key: state.master_key.clone(),
        issuer: &state.settings.auth.issuer,
    };
    let outcome = sign_in::sign_in(&deps, attempt).await?;
    if let SignIn::Unverified { .. } = outcome
        && let Ok(address) = Email::parse(&email)
    {
        match super::accounts::resend_link(state, ip, address, tenant).await {
            Ok(()) | Err(AppError::TooManyRequests { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "verification link not sent again"),
        }
    }
    Ok(outcome)
}

pub(crate) fn links(state: &AppState) -> Links {
    Links {
        base: state.settings.auth.issuer.clone(),
    }
}

pub(crate) fn tenant_id(state: &AppState, slug: Option<&str>) -> Result<Option<Uuid>, AppError> {
    slug.map(|s| {
        let slug = TenantSlug::parse(s).map_err(|e| AppError::InvalidTenant(e.to_string()))?;
        state
            .registry
            .by_slug(&slug)
            .map(|t| t.id)
            .ok_or(AppError::TenantNotFound)
    })
    .transpose()
}

/// The Bearer token of a request, verified for any audience and not revoked.
pub(crate) async fn verified_bearer(
    req: &HttpRequest,
    state: &AppState,
) -> Result<crate::auth::tokens::AccessClaims, AppError> {
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthorized)?;
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
