//! Accounts: registration with e-mail verification and password reset through single-use,
//! expiring tokens that are stored hashed. Answers never tell whether an address has an
//! account; the mails go through the outbox in the same transaction.

use super::identity::{CitizenId, TaxCode};
use super::password::Password;
use crate::db::schema::{account_tokens, accounts, audit_log};
use crate::locale::Locale;
use crate::mail::outbox::{self, NewMail};
use crate::mail::{Email, TemplateKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

pub const VERIFY_EMAIL_TTL: Duration = Duration::from_secs(24 * 3600);
pub const RESET_PASSWORD_TTL: Duration = Duration::from_secs(30 * 60);

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    Citizen,
    Business,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Business => "business",
        }
    }
}

/// A validated sign-up.
#[derive(Debug)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub full_name: String,
    pub kind: AccountKind,
    pub citizen_id: Option<CitizenId>,
    pub tax_code: Option<TaxCode>,
    pub phone: Option<String>,
    pub locale: Locale,
}

/// A random single-use token (256 bits, base64url) and the hash that is stored.
pub fn new_token() -> (String, Vec<u8>) {
    use rand_core::RngCore;
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn store_token(
    conn: &mut PgConnection,
    account: Uuid,
    purpose: &str,
    ttl: Duration,
) -> QueryResult<String> {
    let (token, hash) = new_token();
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::token_hash.eq(hash),
            account_tokens::account_id.eq(account),
            account_tokens::purpose.eq(purpose),
            account_tokens::expires_at
                .eq(chrono::Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default()),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Consumes a token: succeeds once, before it expires. Returns its account and, for a change
/// of address, the new address.
fn consume_token(
    conn: &mut PgConnection,
    token: &str,
    purpose: &str,
) -> QueryResult<Option<(Uuid, Option<String>)>> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::token_hash.eq(token_hash(token)))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null())
            .filter(account_tokens::expires_at.gt(diesel::dsl::now)),
    )
    .set(account_tokens::used_at.eq(diesel::dsl::now))
    .returning((account_tokens::account_id, account_tokens::new_email))
    .get_result(conn)
    .optional()
}

/// Appends to the audit log.
pub fn audit(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    tenant: Option<Uuid>,
    ip: Option<&str>,
    action: &str,
    detail: serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_id.eq(actor),
            audit_log::tenant_id.eq(tenant),
            audit_log::ip.eq(ip),
            audit_log::action.eq(action),
            audit_log::detail.eq(detail),
        ))
        .execute(conn)
        .map(drop)
}

/// Where links in mails point.
#[derive(Debug, Clone)]
pub struct Links {
    pub base: String,
}

impl Links {
    fn verify(&self, token: &str) -> String {
        format!(
            "{}/verify-email?token={token}",
            self.base.trim_end_matches('/')
        )
    }
    fn reset(&self, token: &str) -> String {
        format!(
            "{}/reset-password?token={token}",
            self.base.trim_end_matches('/')
        )
    }
}

/// Creates the account and queues its verification mail, unless the address is taken (then
/// nothing happens, and the caller answers the same).
pub fn register(
    conn: &mut PgConnection,
    reg: &Registration,
    password_hash: &str,
    links: &Links,
    tenant: Option<Uuid>,
    ip: Option<&str>,
) -> QueryResult<Option<Uuid>> {
    let id = Uuid::new_v4();
    let inserted = diesel::sql_query(
        "INSERT INTO platform.accounts
             (id, kind, email, full_name, citizen_id, tax_code, phone, locale, password_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT DO NOTHING",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Text, _>(reg.kind.as_str())
    .bind::<diesel::sql_types::Text, _>(reg.email.as_str())
    .bind::<diesel::sql_types::Text, _>(&reg.full_name)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(
        reg.citizen_id.as_ref().map(|c| c.as_str().to_owned()),
    )
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(
        reg.tax_code.as_ref().map(|t| t.as_str().to_owned()),
    )
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(&reg.phone)
    .bind::<diesel::sql_types::Text, _>(reg.locale.as_str())
    .bind::<diesel::sql_types::Text, _>(password_hash)
    .execute(conn)?;
    if inserted == 0 {
        audit(
            conn,
            None,
            tenant,
            ip,
            "signup.duplicate",
            serde_json::json!({}),
        )?;
        return Ok(None);
    }
    queue_verification(
        conn,
        id,
        &reg.email,
        &reg.full_name,
        reg.locale,
        links,
        tenant,
        format!("verify:{id}"),
    )?;
    audit(
        conn,
        Some(id),
        tenant,
        ip,
        "signup",
        serde_json::json!({ "kind": reg.kind }),
    )?;
    Ok(Some(id))
}

/// Who an address belongs to, for the mails sent to it: id, name, language, and whether the
/// address is verified.
fn mail_identity(
    conn: &mut PgConnection,
    email: &Email,
) -> QueryResult<Option<(Uuid, String, String, bool)>> {
    accounts::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = lower(")
                .bind::<diesel::sql_types::Text, _>(email.as_str())
                .sql(")"),
        )
        .select((
            accounts::id,
            accounts::full_name,
            accounts::locale,
            accounts::email_verified_at.is_not_null(),
        ))
        .first(conn)
        .optional()
}

/// A new single-use verification link, mailed in the outbox (same transaction).
#[allow(clippy::too_many_arguments)]
fn queue_verification(
    conn: &mut PgConnection,
    account: Uuid,
    email: &Email,
    full_name: &str,
    locale: Locale,
    links: &Links,
    tenant: Option<Uuid>,
    idempotency_key: String,
) -> QueryResult<()> {
    let token = store_token(conn, account, "verify_email", VERIFY_EMAIL_TTL)?;
    outbox::enqueue(
        conn,
        &NewMail {
            tenant_id: tenant,
            template: TemplateKey::AccountVerification,
            locale,
            recipient: email.clone(),
            payload: serde_json::json!({
                "full_name": full_name,
                "secret": { "link": links.verify(&token) },
            }),
            idempotency_key,
        },
    )
    .map(drop)
}

/// Sends a fresh verification link when `email` belongs to an account not verified yet;
/// does nothing otherwise (the caller answers the same either way).
pub fn resend_verification(
    conn: &mut PgConnection,
    email: &Email,
    links: &Links,
    tenant: Option<Uuid>,
    ip: Option<&str>,
) -> QueryResult<bool> {
    let Some((id, full_name, locale, verified)) = mail_identity(conn, email)? else {
        return Ok(false);
    };
    if verified {
        return Ok(false);
    }
    let locale = Locale::parse(&locale).unwrap_or_default();
    let key = format!("verify:{id}:{}", Uuid::new_v4());
    queue_verification(conn, id, email, &full_name, locale, links, tenant, key)?;
    audit(
        conn,
        Some(id),
        tenant,
        ip,
        "verification.resent",
        serde_json::json!({}),
    )?;
    Ok(true)
}

/// Marks the address verified. `None` for an unknown, used or expired token.
pub fn verify_email(
    conn: &mut PgConnection,
    token: &str,
    ip: Option<&str>,
) -> QueryResult<Option<Uuid>> {
    let Some((account, _)) = consume_token(conn, token, "verify_email")? else {
        return Ok(None);
    };
    diesel::update(accounts::table.find(account))
        .set((
            accounts::email_verified_at.eq(diesel::dsl::now),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    audit(
        conn,
        Some(account),
        None,
        ip,
        "email.verified",
        serde_json::json!({}),
    )?;
    Ok(Some(account))
}

/// Queues a reset mail when the address has an account; does nothing otherwise.
pub fn request_reset(
    conn: &mut PgConnection,
    email: &Email,
    links: &Links,
    tenant: Option<Uuid>,
    ip: Option<&str>,
) -> QueryResult<()> {
    let Some((id, full_name, locale, _)) = mail_identity(conn, email)? else {
        audit(
            conn,
            None,
            tenant,
            ip,
            "password.reset_unknown",
            serde_json::json!({}),
        )?;
        return Ok(());
    };
    let token = store_token(conn, id, "reset_password", RESET_PASSWORD_TTL)?;
    outbox::enqueue(
        conn,
        &NewMail {
            tenant_id: tenant,
            template: TemplateKey::PasswordReset,
            locale: Locale::parse(&locale).unwrap_or_default(),
            recipient: email.clone(),
            payload: serde_json::json!({
                "full_name": full_name,
                "expires_minutes": RESET_PASSWORD_TTL.as_secs() / 60,
                "secret": { "link": links.reset(&token) },
            }),
            idempotency_key: format!("reset:{}", Uuid::new_v4()),
        },
    )?;
    audit(
        conn,
        Some(id),
        tenant,
        ip,
        "password.reset_requested",
        serde_json::json!({}),
    )
}

/// Replaces an account's password hash (from [`super::password::hash`]). Every change of a
/// password goes through here; only [`register`] writes the first hash, with the new row.
pub fn set_password(conn: &mut PgConnection, account: Uuid, new_hash: &str) -> QueryResult<()> {
    diesel::update(accounts::table.find(account))
        .set((
            accounts::password_hash.eq(new_hash),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(drop)
}

/// Sets a new password with a reset token. `None` for an unknown, used or expired token.
pub fn reset_password(
    conn: &mut PgConnection,
    token: &str,
    new_hash: &str,
    ip: Option<&str>,
) -> QueryResult<Option<Uuid>> {
    let Some((account, _)) = consume_token(conn, token, "reset_password")? else {
        return Ok(None);
    };
    set_password(conn, account, new_hash)?;
    // The link came through the mailbox: the address is proven as well.
    diesel::update(accounts::table.find(account))
        .set(accounts::email_verified_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("coalesce(email_verified_at, now())")))
        .execute(conn)?;
    // Every other reset link of this account dies with this one.
    diesel::update(
        account_tokens::table
            .filter(account_tokens::account_id.eq(account))
            .filter(account_tokens::purpose.eq("reset_password"))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(diesel::dsl::now))
    .execute(conn)?;
    audit(
        conn,
        Some(account),
        None,
        ip,
        "password.reset",
        serde_json::json!({}),
    )?;
    Ok(Some(account))
}

/// Starts a change of address: a link goes to the *new* address; nothing changes until it is
/// used. Returns false when the new address already has an account (the caller answers the
/// same either way).
pub fn request_email_change(
    conn: &mut PgConnection,
    account: Uuid,
    new_email: &Email,
    links: &Links,
    ip: Option<&str>,
) -> QueryResult<bool> {
    let taken: bool = diesel::select(diesel::dsl::exists(
        accounts::table.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = lower(")
                .bind::<diesel::sql_types::Text, _>(new_email.as_str())
                .sql(")"),
        ),
    ))
    .get_result(conn)?;
    if taken {
        audit(
            conn,
            Some(account),
            None,
            ip,
            "email.change_taken",
            serde_json::json!({}),
        )?;
        return Ok(false);
    }
    let (full_name, locale): (String, String) = accounts::table
        .find(account)
        .select((accounts::full_name, accounts::locale))
        .first(conn)?;
    let token = store_token(conn, account, "change_email", VERIFY_EMAIL_TTL)?;
    diesel::update(account_tokens::table.filter(account_tokens::token_hash.eq(token_hash(&token))))
        .set(account_tokens::new_email.eq(new_email.as_str()))
        .execute(conn)?;
    outbox::enqueue(
        conn,
        &NewMail {
            tenant_id: None,
            template: TemplateKey::AccountVerification,
            locale: Locale::parse(&locale).unwrap_or_default(),
            recipient: new_email.clone(),
            payload: serde_json::json!({
                "full_name": full_name,
                "secret": { "link": format!("{}/confirm-email?token={token}", links.base.trim_end_matches('/')) },
            }),
            idempotency_key: format!("change-email:{}", Uuid::new_v4()),
        },
    )?;
    audit(
        conn,
        Some(account),
        None,
        ip,
        "email.change_requested",
        serde_json::json!({}),
    )?;
    Ok(true)
}

/// Completes a change of address. `None` for an unknown, used or expired token, or when the
/// address was taken meanwhile.
pub fn confirm_email_change(
    conn: &mut PgConnection,
    token: &str,
    ip: Option<&str>,
) -> QueryResult<Option<Uuid>> {
    let taken = consume_token(conn, token, "change_email")?;
    let Some((account, Some(new_email))) = taken else {
        return Ok(None);
    };
    let changed = diesel::sql_query(
        "UPDATE platform.accounts SET email = $2, email_verified_at = now(), updated_at = now()
         WHERE id = $1 AND NOT EXISTS (
             SELECT 1 FROM platform.accounts WHERE lower(email) = lower($2) AND id <> $1)",
    )
    .bind::<diesel::sql_types::Uuid, _>(account)
    .bind::<diesel::sql_types::Text, _>(&new_email)
    .execute(conn)?;
    if changed == 0 {
        return Ok(None);
    }
    audit(
        conn,
        Some(account),
        None,
        ip,
        "email.changed",
        serde_json::json!({}),
    )?;
    Ok(Some(account))
}
