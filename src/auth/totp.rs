//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s, one step of skew), required of tenant
//! officials and operators: until their session is opened with a code, their tokens carry no
//! roles. Secrets are stored encrypted under the master key; each code works once.

use super::keys::MasterKey;
use crate::db::schema::{account_totp, memberships, platform_roles};
use diesel::prelude::*;
use totp_rs::{Secret, Totp};
use uuid::Uuid;

fn build(secret: Vec<u8>, account_name: &str) -> Option<Totp> {
    totp_rs::Builder::new()
        .with_secret(Secret::from(secret))
        .with_account_name(account_name.to_owned())
        .with_issuer(Some("DVC"))
        .build()
        .ok()
}

/// Does this account need a second factor? Anyone with a tenant role or the operator role.
pub fn required(conn: &mut PgConnection, account: Uuid) -> QueryResult<bool> {
    let member: bool = diesel::select(diesel::dsl::exists(
        memberships::table.filter(memberships::account_id.eq(account)),
    ))
    .get_result(conn)?;
    Ok(member
        || diesel::select(diesel::dsl::exists(
            platform_roles::table.filter(platform_roles::account_id.eq(account)),
        ))
        .get_result(conn)?)
}

/// Starts (or restarts) enrolment: a new secret, not yet confirmed. Returns the base32 secret
/// and the `otpauth://` URL for authenticator apps. When a confirmed factor exists the new
/// secret waits beside it until a code confirms it, so sign-in keeps needing the old one; the
/// caller must have made the person prove both the password and a current code first.
pub fn enroll(
    conn: &mut PgConnection,
    master: &MasterKey,
    account: Uuid,
    email: &str,
) -> QueryResult<(String, String)> {
    use rand_core::RngCore;
    let mut bytes = vec![0u8; 20];
    rand_core::OsRng.fill_bytes(&mut bytes);
    let secret = Secret::from(bytes.clone());
    let totp = build(bytes.clone(), email)
        .ok_or_else(|| diesel::result::Error::QueryBuilderError("TOTP secret".into()))?;
    let url = totp.to_url().unwrap_or_default();
    let (sealed, nonce) = master.seal(&bytes);
    if enrolled(conn, account)? {
        diesel::update(account_totp::table.find(account))
            .set((
                account_totp::pending_enc.eq(Some(&sealed)),
                account_totp::pending_nonce.eq(Some(&nonce)),
            ))
            .execute(conn)?;
        return Ok((secret.to_base32(), url));
    }
    diesel::insert_into(account_totp::table)
        .values((
            account_totp::account_id.eq(account),
            account_totp::secret_enc.eq(&sealed),
            account_totp::nonce.eq(&nonce),
        ))
        .on_conflict(account_totp::account_id)
        .do_update()
        .set((
            account_totp::secret_enc.eq(&sealed),
            account_totp::nonce.eq(&nonce),
            account_totp::confirmed_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            account_totp::last_step.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok((secret.to_base32(), url))
}

/// Is a confirmed second factor set up?
pub fn enrolled(conn: &mut PgConnection, account: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        account_totp::table
            .filter(account_totp::account_id.eq(account))
            .filter(account_totp::confirmed_at.is_not_null()),
    ))
    .get_result(conn)
}

/// Checks `code` against the account's secret and consumes its time step, so no code works
/// twice. With `confirming`, an unconfirmed secret is accepted and becomes confirmed.
pub fn verify(
    conn: &mut PgConnection,
    master: &MasterKey,
    account: Uuid,
    code: &str,
    confirming: bool,
) -> QueryResult<bool> {
    type Row = (Vec<u8>, Vec<u8>, bool, Option<Vec<u8>>, Option<Vec<u8>>);
    let row: Option<Row> = account_totp::table
        .find(account)
        .select((
            account_totp::secret_enc,
            account_totp::nonce,
            account_totp::confirmed_at.is_not_null(),
            account_totp::pending_enc,
            account_totp::pending_nonce,
        ))
        .for_update()
        .first(conn)
        .optional()?;
    let Some((sealed, nonce, confirmed, pending, pending_nonce)) = row else {
        return Ok(false);
    };
    if confirming
        && confirmed
        && let (Some(pending), Some(pending_nonce)) = (pending, pending_nonce)
    {
        return confirm_replacement(conn, master, account, code, &pending, &pending_nonce);
    }
    if confirmed == confirming {
        return Ok(false);
    }
    let Ok(secret) = master.open(&sealed, &nonce) else {
        return Ok(false);
    };
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(step) = build(secret, "").and_then(|t| t.check_current(&code)) else {
        return Ok(false);
    };
    let accepted = diesel::update(
        account_totp::table.find(account).filter(
            account_totp::last_step
                .is_null()
                .or(account_totp::last_step.lt(step as i64)),
        ),
    )
    .set(account_totp::last_step.eq(step as i64))
    .execute(conn)?;
    if accepted == 1 && confirming {
        diesel::update(account_totp::table.find(account))
            .set(account_totp::confirmed_at.eq(Some(chrono::Utc::now())))
            .execute(conn)?;
    }
    Ok(accepted == 1)
}

/// A replacement's first code: the new secret takes the old one's place.
fn confirm_replacement(
    conn: &mut PgConnection,
    master: &MasterKey,
    account: Uuid,
    code: &str,
    sealed: &[u8],
    nonce: &[u8],
) -> QueryResult<bool> {
    let Ok(secret) = master.open(sealed, nonce) else {
        return Ok(false);
    };
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(step) = build(secret, "").and_then(|t| t.check_current(&code)) else {
        return Ok(false);
    };
    diesel::update(account_totp::table.find(account))
        .set((
            account_totp::secret_enc.eq(sealed),
            account_totp::nonce.eq(nonce),
            account_totp::pending_enc.eq(None::<Vec<u8>>),
            account_totp::pending_nonce.eq(None::<Vec<u8>>),
            account_totp::confirmed_at.eq(Some(chrono::Utc::now())),
            account_totp::last_step.eq(Some(step as i64)),
        ))
        .execute(conn)?;
    Ok(true)
}
