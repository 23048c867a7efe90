//! An account's own life, for the JSON API and the sign-in host's pages alike: sign-up, the
//! address confirmation and its re-sending, password reset and change, address change, and the
//! second factor's replacement (which needs the password and a current code).

use super::auth::*;
use crate::auth::accounts::{self, AccountKind, Registration};
use crate::auth::identity::{CitizenId, TaxCode};
use crate::auth::password::{self, Password};
use crate::error::AppError;
use crate::locale::Locale;
use crate::mail::Email;
use crate::state::AppState;
use diesel::Connection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

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

/// Sets the channels an account wants notices on. At least one: an account that hears
/// nothing would miss a request for papers, and with it its deadline.
pub(crate) async fn set_notifications(
    state: &AppState,
    account: Uuid,
    prefs: crate::notify::Preferences,
) -> Result<(), AppError> {
    if prefs.channels().is_empty() {
        return Err(AppError::bad_request(
            "no_channel",
            "Chọn ít nhất một kênh nhận thông báo / choose at least one channel",
        ));
    }
    state
        .shared
        .run(move |c| {
            c.transaction(|c| {
                crate::notify::set_preferences(c, account, prefs)?;
                accounts::audit(
                    c,
                    Some(account),
                    None,
                    None,
                    "account.notifications_changed",
                    serde_json::json!({ "channels": prefs.channels() }),
                )
            })?;
            Ok(())
        })
        .await
}

/// The channels an account has chosen (e-mail and SMS until it chooses).
pub(crate) async fn notifications(
    state: &AppState,
    account: Uuid,
) -> Result<crate::notify::Preferences, AppError> {
    state
        .shared
        .run(move |c| Ok(crate::notify::preferences(c, account)?))
        .await
}
