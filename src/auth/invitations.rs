//! Invitations to take a role in a tenant: the first admin of a new tenant, then the officers
//! and leaders its admin invites. A link is sent by mail; it works once, expires, and only for
//! the account whose confirmed address it was sent to (a forwarded link grants nothing).

use super::accounts::{audit, new_token, token_hash};
use super::roles::{self, Role};
use crate::db::schema::{accounts, invitations};
use crate::locale::Locale;
use crate::mail::{Email, TemplateKey, outbox};
use diesel::prelude::*;
use std::time::Duration;
use uuid::Uuid;

pub const INVITATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// What the mail needs to say.
#[derive(Debug, Clone)]
pub struct InvitationMail<'a> {
    pub tenant_id: Uuid,
    pub tenant_name: &'a str,
    pub locale: Locale,
    /// The tenant portal's origin; the link is `{origin}/loi-moi?token=…`.
    pub portal_origin: &'a str,
}

/// Stores an invitation and queues its mail in the caller's transaction.
pub fn invite(
    conn: &mut PgConnection,
    mail: &InvitationMail<'_>,
    email: &Email,
    role: Role,
    by: Option<Uuid>,
) -> QueryResult<Uuid> {
    let (token, hash) = new_token();
    let id = Uuid::new_v4();
    let expires =
        chrono::Utc::now() + chrono::Duration::from_std(INVITATION_TTL).unwrap_or_default();
    diesel::insert_into(invitations::table)
        .values((
            invitations::id.eq(id),
            invitations::tenant_id.eq(mail.tenant_id),
            invitations::email.eq(email.as_str()),
            invitations::role.eq(role.as_str()),
            invitations::token_hash.eq(hash),
            invitations::invited_by.eq(by),
            invitations::expires_at.eq(expires),
        ))
        .execute(conn)?;
    audit(
        conn,
        by,
        Some(mail.tenant_id),
        None,
        "invitation.sent",
        serde_json::json!({ "invitation": id, "email": email.as_str(), "role": role.as_str() }),
    )?;
    let link = format!(
        "{}/loi-moi?token={token}",
        mail.portal_origin.trim_end_matches('/')
    );
    outbox::enqueue(
        conn,
        &outbox::NewMail {
            tenant_id: Some(mail.tenant_id),
            template: TemplateKey::TenantInvitation,
            locale: mail.locale,
            recipient: email.clone(),
            payload: serde_json::json!({
                "role": match mail.locale { Locale::Vi => role.label_vi(), Locale::En => role.label_en() },
                "expires_days": INVITATION_TTL.as_secs() / 86_400,
                "secret": { "link": link },
            }),
            idempotency_key: format!("invitation:{id}"),
        },
    )?;
    Ok(id)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AcceptError {
    #[error("no such invitation")]
    Unknown,
    #[error("this invitation has been used")]
    Used,
    #[error("this invitation has expired")]
    Expired,
    #[error("this invitation was sent to another address")]
    OtherAccount,
    #[error("confirm your e-mail address first")]
    Unverified,
}

/// What accepting gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub role: Role,
    /// The account's sessions, ended so its next tokens carry the role.
    pub ended_sessions: Vec<Uuid>,
}

/// Spends an invitation of `tenant` for `account`: grants the role, marks the invitation used
/// (a row lock makes a second, racing accept see it used) and audits it.
pub fn accept(
    conn: &mut PgConnection,
    tenant: Uuid,
    token: &str,
    account: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Result<Accepted, AcceptError>, diesel::result::Error> {
    conn.transaction(|conn| {
        let found: Option<(Uuid, String, String, chrono::DateTime<chrono::Utc>, bool)> =
            invitations::table
                .filter(invitations::token_hash.eq(token_hash(token)))
                .filter(invitations::tenant_id.eq(tenant))
                .select((
                    invitations::id,
                    invitations::email,
                    invitations::role,
                    invitations::expires_at,
                    invitations::accepted_at.is_not_null(),
                ))
                .for_update()
                .first(conn)
                .optional()?;
        let Some((id, email, role, expires_at, used)) = found else {
            return Ok(Err(AcceptError::Unknown));
        };
        let (address, verified): (String, bool) = accounts::table
            .find(account)
            .select((accounts::email, accounts::email_verified_at.is_not_null()))
            .first(conn)?;
        let outcome = check(used, expires_at, now, &email, &address, verified);
        if let Err(e) = outcome {
            return Ok(Err(e));
        }
        let role = Role::parse(&role).ok_or(diesel::result::Error::NotFound)?;
        diesel::update(invitations::table.find(id))
            .set((
                invitations::accepted_at.eq(diesel::dsl::now),
                invitations::accepted_by.eq(account),
            ))
            .execute(conn)?;
        roles::grant(conn, account, tenant, role, None)?;
        audit(
            conn,
            Some(account),
            Some(tenant),
            None,
            "invitation.accepted",
            serde_json::json!({ "invitation": id, "role": role.as_str() }),
        )?;
        let ended_sessions = super::sso::end_account_sessions(conn, account)?;
        Ok(Ok(Accepted {
            role,
            ended_sessions,
        }))
    })
}

/// Tokens are base64url of 32 bytes; anything else cannot match and is not looked up.
pub fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The role an invitation of `tenant` offers, without spending it (for the page that asks).
pub fn peek(
    conn: &mut PgConnection,
    tenant: Uuid,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> QueryResult<Result<Role, AcceptError>> {
    let found: Option<(String, chrono::DateTime<chrono::Utc>, bool)> = invitations::table
        .filter(invitations::token_hash.eq(token_hash(token)))
        .filter(invitations::tenant_id.eq(tenant))
        .select((
            invitations::role,
            invitations::expires_at,
            invitations::accepted_at.is_not_null(),
        ))
        .first(conn)
        .optional()?;
    Ok(match found {
        None => Err(AcceptError::Unknown),
        Some((_, _, true)) => Err(AcceptError::Used),
        Some((_, exp, _)) if exp <= now => Err(AcceptError::Expired),
        Some((role, _, _)) => Role::parse(&role).ok_or(AcceptError::Unknown),
    })
}

/// The rules of accepting, apart from storage.
pub fn check(
    used: bool,
    expires_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    invited: &str,
    account_email: &str,
    account_verified: bool,
) -> Result<(), AcceptError> {
    if used {
        Err(AcceptError::Used)
    } else if expires_at <= now {
        Err(AcceptError::Expired)
    } else if !invited.eq_ignore_ascii_case(account_email) {
        Err(AcceptError::OtherAccount)
    } else if !account_verified {
        Err(AcceptError::Unverified)
    } else {
        Ok(())
    }
}

/// An invitation still waiting, for the admin page and the checklist.
#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct Pending {
    pub email: String,
    pub role: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

pub fn pending(conn: &mut PgConnection, tenant: Uuid) -> QueryResult<Vec<Pending>> {
    invitations::table
        .filter(invitations::tenant_id.eq(tenant))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::expires_at.gt(diesel::dsl::now))
        .order(invitations::created_at.desc())
        .select((
            invitations::email,
            invitations::role,
            invitations::expires_at,
        ))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_works_once_before_it_expires_for_its_own_address() {
        let now = chrono::Utc::now();
        let later = now + chrono::Duration::days(1);
        let ok = |used, exp, email, verified| check(used, exp, now, "a@x.vn", email, verified);
        assert_eq!(ok(false, later, "A@x.vn", true), Ok(()));
        assert_eq!(ok(true, later, "a@x.vn", true), Err(AcceptError::Used));
        assert_eq!(ok(false, now, "a@x.vn", true), Err(AcceptError::Expired));
        assert_eq!(
            ok(false, later, "b@x.vn", true),
            Err(AcceptError::OtherAccount)
        );
        assert_eq!(
            ok(false, later, "a@x.vn", false),
            Err(AcceptError::Unverified)
        );
    }
}
