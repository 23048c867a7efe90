//! Signing in with an address and a password: the policy behind the sign-in host's form.
//!
//! In order: look the address up; refuse at once while this address is locked out of the
//! account (addresses without an account lock the same way, through a stand-in, so a 429 tells
//! nothing); check the password with argon2 off the worker threads (a dummy hash for unknown
//! addresses keeps the time the same); ask officials and operators with an authenticator for a
//! code; then open the SSO session. Every failure counts towards the lockout and is audited.
//! CSRF, rate limits and what each outcome looks like stay with the callers.

use super::keys::MasterKey;
use super::password::{self, Password};
use super::{accounts, lockout, sso, totp};
use crate::db::SharedDb;
use crate::error::AppError;
use crate::redis_conn::Redis;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The handles sign-in needs.
pub struct Deps<'a> {
    pub db: &'a SharedDb,
    /// Where the lockout counts failures.
    pub redis: &'a Redis,
    pub prefix: &'a str,
    /// Opens TOTP secrets; without it no code can be checked.
    pub master_key: Option<Arc<MasterKey>>,
    /// Base of the links in mails (the issuer).
    pub issuer: &'a str,
}

/// One sign-in attempt, as typed.
#[derive(Debug)]
pub struct Attempt {
    pub email: String,
    pub password: Password,
    /// The authenticator code, if one was typed.
    pub totp: Option<String>,
    /// The client's address; without it there is no lockout (nothing to key it by).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A session opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedIn {
    pub account: Uuid,
    pub session: Uuid,
    /// Opened with a second factor (tokens carry roles only then).
    pub mfa: bool,
}

/// How a sign-in ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    Ok(SignedIn),
    /// The password is right but the address is not confirmed yet: nothing counted, no session.
    Unverified {
        account: Uuid,
    },
    /// The password is right but the required authenticator code is missing or wrong (counted
    /// as a failure).
    NeedTotp,
    /// This address is locked out of the account for a while; the password was not looked at.
    Locked {
        retry_after: Duration,
    },
    /// Unknown address or wrong password (counted as a failure).
    Refused,
}

/// What sign-in knows of the account an address names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Known {
    id: Uuid,
    verified: bool,
}

/// What the password step decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterPassword {
    Refused,
    Unverified(Uuid),
    Accepted(Uuid),
}

fn after_password(account: Option<Known>, password_ok: bool) -> AfterPassword {
    match account {
        Some(k) if password_ok && k.verified => AfterPassword::Accepted(k.id),
        Some(k) if password_ok => AfterPassword::Unverified(k.id),
        // `password_ok` is never true without an account (the dummy hash), but an unknown
        // address must be refused whatever it says.
        _ => AfterPassword::Refused,
    }
}

/// The second factor, once looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Factor {
    /// No tenant or operator role, or no authenticator confirmed yet.
    NotNeeded,
    Valid,
    /// Needed, and missing or wrong.
    Invalid,
}

/// `Some(mfa)` to open the session, `None` to refuse. Officials who have not set up an
/// authenticator yet are signed in, but without `mfa` their tokens carry no roles.
fn after_factor(factor: Factor) -> Option<bool> {
    match factor {
        Factor::NotNeeded => Some(false),
        Factor::Valid => Some(true),
        Factor::Invalid => None,
    }
}

/// A blank code field is no code.
fn typed_code(code: Option<String>) -> Option<String> {
    code.filter(|c| !c.trim().is_empty())
}

/// The stored hash of an address, if it has an account.
async fn find(db: &SharedDb, email: String) -> Result<Option<sso::LoginAccount>, AppError> {
    db.run(move |c| Ok(sso::find_login(c, &email)?)).await
}

/// Argon2 on the blocking pool; with no stored hash (unknown address) a dummy one is checked,
/// so the answer takes as long either way.
async fn matches(attempt: Password, stored: Option<String>) -> Result<bool, AppError> {
    Ok(password::off_thread(move || password::verify(&attempt, stored.as_deref())).await?)
}

/// Is `attempt` the password of the account at `email`? For confirming who is behind a token
/// before a sensitive change; no lockout, no audit.
pub async fn check_password(
    db: &SharedDb,
    email: String,
    attempt: Password,
) -> Result<bool, AppError> {
    let stored = find(db, email).await?.map(|l| l.password_hash);
    matches(attempt, stored).await
}

/// Signs in: see the module's documentation. `Err` only when something needed is unavailable
/// (the database, the blocking pool); Redis being away only lifts the lockout.
pub async fn sign_in(deps: &Deps<'_>, attempt: Attempt) -> Result<SignIn, AppError> {
    let Attempt {
        email,
        password,
        totp,
        ip,
        user_agent,
    } = attempt;
    let found = find(deps.db, email.trim().to_owned()).await?;
    let subject = lockout::subject(found.as_ref().map(|f| f.id), &email);
    if let Some(ip) = &ip {
        match lockout::locked_for(deps.redis, deps.prefix, subject, ip).await {
            Ok(Some(wait)) => return Ok(SignIn::Locked { retry_after: wait }),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "login lockout unavailable"),
        }
    }
    let known = found.as_ref().map(|f| Known {
        id: f.id,
        verified: f.email_verified,
    });
    let ok = matches(password, found.map(|f| f.password_hash)).await?;
    let account = match after_password(known, ok) {
        AfterPassword::Accepted(account) => account,
        AfterPassword::Unverified(account) => return Ok(SignIn::Unverified { account }),
        AfterPassword::Refused => {
            refuse(deps, known.map(|k| k.id), subject, ip).await?;
            return Ok(SignIn::Refused);
        }
    };
    let master = deps.master_key.clone();
    let code = typed_code(totp);
    let factor = deps
        .db
        .run(move |c| {
            if !(totp::required(c, account)? && totp::enrolled(c, account)?) {
                return Ok(Factor::NotNeeded);
            }
            let valid = match (master, code) {
                (Some(master), Some(code)) => totp::verify(c, &master, account, &code, false)?,
                _ => false,
            };
            Ok(if valid {
                Factor::Valid
            } else {
                Factor::Invalid
            })
        })
        .await?;
    let Some(mfa) = after_factor(factor) else {
        if let Some(ip) = &ip {
            let _ = lockout::record_failure(deps.redis, deps.prefix, account, ip).await;
        }
        deps.db
            .run(move |c| {
                Ok(accounts::audit(
                    c,
                    Some(account),
                    None,
                    ip.as_deref(),
                    "login.second_factor_failed",
                    serde_json::json!({}),
                )?)
            })
            .await?;
        return Ok(SignIn::NeedTotp);
    };
    if let Some(ip) = &ip
        && let Err(e) = lockout::record_success(deps.redis, deps.prefix, account, ip).await
    {
        tracing::warn!(error = %e, "login lockout unavailable");
    }
    let session = open_session(deps, account, mfa, ip, user_agent).await?;
    Ok(SignIn::Ok(SignedIn {
        account,
        session,
        mfa,
    }))
}

/// A wrong password or unknown address: counted against the account (or its stand-in) from
/// this address, and audited with the lock it starts.
async fn refuse(
    deps: &Deps<'_>,
    account: Option<Uuid>,
    subject: Uuid,
    ip: Option<String>,
) -> Result<(), AppError> {
    let lock = match &ip {
        Some(ip) => lockout::record_failure(deps.redis, deps.prefix, subject, ip)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "login lockout unavailable");
                None
            }),
        None => None,
    };
    deps.db
        .run(move |c| {
            accounts::audit(
                c,
                account,
                None,
                ip.as_deref(),
                "login.failed",
                serde_json::json!({}),
            )?;
            if let Some(d) = lock {
                accounts::audit(
                    c,
                    account,
                    None,
                    ip.as_deref(),
                    "login.locked",
                    serde_json::json!({ "seconds": d.as_secs() }),
                )?;
            }
            Ok(())
        })
        .await
}

/// The session, its audit entry and the new-device mail, in one transaction.
async fn open_session(
    deps: &Deps<'_>,
    account: Uuid,
    mfa: bool,
    ip: Option<String>,
    user_agent: Option<String>,
) -> Result<Uuid, AppError> {
    let reset_link = format!("{}/reset-password", deps.issuer.trim_end_matches('/'));
    deps.db
        .run(move |c| {
            if sso::is_new_device(c, account, user_agent.as_deref())?
                && let Some(p) = sso::profile(c, account)?
                && let Ok(recipient) = crate::mail::Email::parse(&p.email)
            {
                crate::mail::outbox::enqueue(
                    c,
                    &crate::mail::outbox::NewMail {
                        tenant_id: None,
                        template: crate::mail::TemplateKey::NewDeviceSignIn,
                        locale: crate::locale::Locale::parse(&p.locale).unwrap_or_default(),
                        recipient,
                        payload: serde_json::json!({
                            "full_name": p.full_name,
                            "device": user_agent.as_deref().unwrap_or("?").chars().take(120).collect::<String>(),
                            "ip": ip.as_deref().unwrap_or("?"),
                            "time": chrono::Utc::now().format("%d/%m/%Y %H:%M UTC").to_string(),
                            "link": reset_link,
                        }),
                        idempotency_key: format!("new-device:{}", Uuid::new_v4()),
                    },
                )?;
            }
            let s = sso::create_session(c, account, ip.as_deref(), user_agent.as_deref(), mfa)?;
            accounts::audit(
                c,
                Some(account),
                None,
                ip.as_deref(),
                "login",
                serde_json::json!({ "sid": s }),
            )?;
            Ok(s)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_step() {
        let id = Uuid::new_v4();
        let verified = Some(Known { id, verified: true });
        let unconfirmed = Some(Known {
            id,
            verified: false,
        });
        assert_eq!(after_password(verified, true), AfterPassword::Accepted(id));
        assert_eq!(after_password(verified, false), AfterPassword::Refused);
        // The right password proves the owner is here, so the address is mentioned only then.
        assert_eq!(
            after_password(unconfirmed, true),
            AfterPassword::Unverified(id)
        );
        assert_eq!(after_password(unconfirmed, false), AfterPassword::Refused);
        assert_eq!(after_password(None, false), AfterPassword::Refused);
        assert_eq!(after_password(None, true), AfterPassword::Refused);
    }

    #[test]
    fn the_second_factor_step() {
        assert_eq!(after_factor(Factor::NotNeeded), Some(false));
        assert_eq!(after_factor(Factor::Valid), Some(true));
        assert_eq!(after_factor(Factor::Invalid), None);
    }

    #[test]
    fn a_blank_code_is_no_code() {
        assert_eq!(typed_code(None), None);
        assert_eq!(typed_code(Some(String::new())), None);
        assert_eq!(typed_code(Some("  ".into())), None);
        assert_eq!(typed_code(Some("123 456".into())), Some("123 456".into()));
    }
}
