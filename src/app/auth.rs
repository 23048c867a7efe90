//! Use cases behind `api::auth` and the portal pages that do the same (moved out of the
//! JSON adapter so both adapters call them).

use crate::auth::accounts::{self, AccountKind, Links, Registration};
use crate::auth::identity::{CitizenId, TaxCode};
use crate::auth::password::{self, Password};
use crate::auth::rate_limit::Quota;
use crate::auth::sign_in::{self, SignIn};
use crate::error::AppError;
use crate::locale::Locale;
use crate::mail::Email;
use crate::state::AppState;
use crate::tenancy::TenantSlug;
use actix_web::HttpRequest;
use serde::Deserialize;
use std::time::Duration;
use utoipa::ToSchema;
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
        match resend_link(state, ip, address, tenant).await {
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    pub(crate) email: String,
    pub(crate) password: String,
    pub(crate) full_name: String,
    #[serde(default)]
    pub(crate) kind: Option<AccountKind>,
    pub(crate) citizen_id: Option<String>,
    pub(crate) tax_code: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) locale: Option<String>,
    /// Slug of the portal the sign-up started on (brands the mail).
    pub(crate) tenant: Option<String>,
}

impl RegisterBody {
    pub(crate) fn parse(self) -> Result<Registration, AppError> {
        let bad = |code: &'static str, e: String| AppError::bad_request(code, e);
        let email = Email::parse(&self.email).map_err(|e| bad("invalid_email", e.to_string()))?;
        let password = Password::parse(&self.password, email.as_str())
            .map_err(|e| bad("weak_password", e.to_string()))?;
        let full_name = self.full_name.trim().to_owned();
        if full_name.is_empty()
            || full_name.chars().count() > 200
            || full_name.chars().any(char::is_control)
        {
            return Err(bad(
                "invalid_full_name",
                "full_name: 1–200 characters, one line".into(),
            ));
        }
        let kind = self.kind.unwrap_or(AccountKind::Citizen);
        let citizen_id = self
            .citizen_id
            .filter(|s| !s.trim().is_empty())
            .map(|s| CitizenId::parse(&s))
            .transpose()
            .map_err(|e| bad("invalid_citizen_id", e.to_string()))?;
        let tax_code = self
            .tax_code
            .filter(|s| !s.trim().is_empty())
            .map(|s| TaxCode::parse(&s))
            .transpose()
            .map_err(|e| bad("invalid_tax_code", e.to_string()))?;
        if kind == AccountKind::Business && tax_code.is_none() {
            return Err(bad(
                "invalid_tax_code",
                "a business account needs its tax code".into(),
            ));
        }
        let phone = self
            .phone
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        if phone.as_ref().is_some_and(|p| {
            p.len() > 20
                || !p
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-.()".contains(c))
        }) {
            return Err(bad(
                "invalid_phone",
                "phone: digits, spaces and + - . ( )".into(),
            ));
        }
        let locale = match self.locale.as_deref() {
            None => Locale::Vi,
            Some(l) => {
                Locale::parse(l).ok_or_else(|| bad("invalid_locale", "locale: vi or en".into()))?
            }
        };
        Ok(Registration {
            email,
            password,
            full_name,
            kind,
            citizen_id,
            tax_code,
            phone,
            locale,
        })
    }
}

/// Sign-up, for the API and the sign-in host's page alike.
pub(crate) async fn register_account(
    state: &AppState,
    ip: Option<String>,
    body: RegisterBody,
) -> Result<(), AppError> {
    limit(state, "register", ip.as_deref()).await?;
    let tenant = tenant_id(state, body.tenant.as_deref())?;
    let reg = body.parse()?;
    // Hash first, whatever happens next: a taken address answers in the same time.
    let (reg, hash) = crate::auth::password::off_thread(move || {
        let h = password::hash(&reg.password);
        (reg, h)
    })
    .await?;
    let links = links(state);
    state
        .shared
        .run(move |conn| {
            Ok(accounts::register(
                conn,
                &reg,
                &hash,
                &links,
                tenant,
                ip.as_deref(),
            )?)
        })
        .await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub(crate) token: String,
}

pub(crate) fn token_shape(token: &str) -> Result<(), AppError> {
    let ok = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(()).ok_or_else(invalid_token)
}

pub(crate) fn invalid_token() -> AppError {
    AppError::bad_request(
        "invalid_token",
        "the link is invalid, already used or expired / liên kết không hợp lệ, đã dùng hoặc đã hết hạn",
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendBody {
    pub(crate) email: String,
    /// The portal asking (its branding in the mail), as a slug.
    #[serde(default)]
    pub(crate) tenant: Option<String>,
}

/// Queues a new verification link, at most 5 an hour per address (also used by the sign-in
/// form when the right password meets an unconfirmed address).
pub(crate) async fn resend_link(
    state: &AppState,
    ip: Option<String>,
    email: Email,
    tenant: Option<Uuid>,
) -> Result<(), AppError> {
    per_account(state, "verify-resend", email.as_str(), PER_ACCOUNT_RESETS).await?;
    let links = links(state);
    state
        .shared
        .run(move |c| {
            Ok(accounts::resend_verification(
                c,
                &email,
                &links,
                tenant,
                ip.as_deref(),
            )?)
        })
        .await?;
    Ok(())
}

/// Consumes an e-mail verification token.
pub(crate) async fn confirm_address(
    state: &AppState,
    ip: Option<String>,
    token: String,
) -> Result<(), AppError> {
    limit(state, "token", ip.as_deref()).await?;
    token_shape(&token)?;
    let done = state
        .shared
        .run(move |conn| Ok(accounts::verify_email(conn, &token, ip.as_deref())?))
        .await?;
    done.map(|_| ()).ok_or_else(invalid_token)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotBody {
    pub(crate) email: String,
    pub(crate) tenant: Option<String>,
}

/// Queues a reset link when the address has an account (the caller answers the same
/// either way).
pub(crate) async fn request_reset(
    state: &AppState,
    ip: Option<String>,
    email: &str,
    tenant: Option<&str>,
) -> Result<(), AppError> {
    limit(state, "forgot", ip.as_deref()).await?;
    let tenant = tenant_id(state, tenant)?;
    let email =
        Email::parse(email).map_err(|e| AppError::bad_request("invalid_email", e.to_string()))?;
    // Per address too: nobody gets a mailbox flooded with reset mails from many IPs. Applied to
    // any address alike, so it tells nothing about which have accounts.
    per_account(state, "forgot-account", email.as_str(), PER_ACCOUNT_RESETS).await?;
    let links = links(state);
    state
        .shared
        .run(move |conn| {
            Ok(accounts::request_reset(
                conn,
                &email,
                &links,
                tenant,
                ip.as_deref(),
            )?)
        })
        .await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    pub(crate) token: String,
    pub(crate) password: String,
}

/// Consumes a reset token and sets the password; every session of the account ends.
pub(crate) async fn set_new_password(
    state: &AppState,
    ip: Option<String>,
    token: String,
    password: String,
) -> Result<(), AppError> {
    limit(state, "token", ip.as_deref()).await?;
    token_shape(&token)?;
    // The e-mail is not known before the token is consumed; length is the policy that matters.
    let password = Password::parse(&password, "")
        .map_err(|e| AppError::bad_request("weak_password", e.to_string()))?;
    let hash = crate::auth::password::off_thread(move || password::hash(&password)).await?;
    let ended = state
        .shared
        .run(move |conn| {
            let Some(account) = accounts::reset_password(conn, &token, &hash, ip.as_deref())?
            else {
                return Ok(None);
            };
            // A new password signs out every session that knew the old one.
            Ok(Some((
                account,
                crate::auth::sso::end_account_sessions(conn, account)?,
            )))
        })
        .await?
        .ok_or_else(invalid_token)?;
    let (account, ended) = ended;
    // ...and lifts every sign-in lock of the account.
    if let Err(e) = crate::auth::lockout::clear_account(
        state.notifier.redis(),
        &state.settings.redis.prefix,
        account,
    )
    .await
    {
        tracing::warn!(error = %e, "could not clear sign-in locks");
    }
    revoke_sessions(state, ended).await?;
    Ok(())
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

/// Proof of the person behind a token, before a confirmed second factor is replaced.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReauthBody {
    pub(crate) current_password: String,
    /// A current code of the authenticator being replaced.
    pub(crate) code: String,
}

/// A new authenticator's secret, shown once.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct TotpSecret {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code.
    pub otpauth_url: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    pub(crate) code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    pub(crate) current_password: String,
    pub(crate) new_password: String,
}

/// Changes a signed-in account's password: the current one first; every session ends.
pub(crate) async fn change_password(
    state: &AppState,
    ip: Option<String>,
    (account, email): (Uuid, String),
    body: ChangePasswordBody,
) -> Result<(), AppError> {
    let ChangePasswordBody {
        current_password,
        new_password,
    } = body;
    let new_password = Password::parse(&new_password, &email)
        .map_err(|e| AppError::bad_request("weak_password", e.to_string()))?;
    check_current_password(state, email, &current_password).await?;
    let hash = crate::auth::password::off_thread(move || password::hash(&new_password)).await?;
    let ended = state
        .shared
        .run(move |c| {
            accounts::set_password(c, account, &hash)?;
            accounts::audit(
                c,
                Some(account),
                None,
                ip.as_deref(),
                "password.changed",
                serde_json::json!({}),
            )?;
            Ok(crate::auth::sso::end_account_sessions(c, account)?)
        })
        .await?;
    revoke_sessions(state, ended).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailBody {
    pub(crate) new_email: String,
    pub(crate) current_password: String,
}

/// Consumes an address-change token: the new address replaces the old, every session ends
/// (shared with the page the mail links to).
pub(crate) async fn confirm_new_address(
    state: &AppState,
    ip: Option<String>,
    token: String,
) -> Result<(), AppError> {
    limit(state, "token", ip.as_deref()).await?;
    token_shape(&token)?;
    let ended = state
        .shared
        .run(move |c| {
            let Some(account) = accounts::confirm_email_change(c, &token, ip.as_deref())? else {
                return Ok(None);
            };
            Ok(Some(crate::auth::sso::end_account_sessions(c, account)?))
        })
        .await?
        .ok_or_else(invalid_token)?;
    revoke_sessions(state, ended).await
}
