//! Who is calling, and how hard: sign-in (through `auth::sign_in`), rate limits and quotas,
//! ending sessions everywhere. The account's own life (sign-up, address, password, second
//! factor) is `app::accounts`; the account API's bearer checks are `http::bearer`.

use crate::auth::accounts::Links;
use crate::auth::password::Password;
use crate::auth::rate_limit::Quota;
use crate::auth::sign_in::{self, SignIn};
use crate::error::AppError;
use crate::mail::Email;
use crate::state::AppState;
use crate::tenancy::TenantSlug;
use std::time::Duration;
use uuid::Uuid;

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
