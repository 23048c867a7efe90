//! Storage for single sign-on: clients, sessions and authorization codes.

use super::accounts::{new_token, token_hash};
use crate::db::schema::{accounts, oauth_clients, oauth_codes, sso_sessions};
use diesel::prelude::*;
use std::time::Duration;
use uuid::Uuid;

pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
pub const CODE_TTL: Duration = Duration::from_secs(60);

fn later(d: Duration) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::from_std(d).unwrap_or_default()
}

/// The operator console's own client: its one redirect URI is the console on the auth host, and
/// only tokens of this audience open the operator API.
pub const CONSOLE_CLIENT_ID: &str = "operator-console";

pub fn console_redirect(issuer: &str) -> String {
    format!("{}/van-hanh", issuer.trim_end_matches('/'))
}

/// A registered client (a tenant portal or an outside system).
#[derive(Debug, Clone, Queryable)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub tenant_id: Option<Uuid>,
    pub redirect_uris: Vec<String>,
    /// A tenant portal: its codes and refresh tokens are redeemed inside dvc only, never at the
    /// public token endpoint (its redirect URIs include domains a tenant admin controls).
    pub in_process_only: bool,
    /// Where a logout may return: never a place a code is sent to.
    pub post_logout_redirect_uris: Vec<String>,
    /// Its tokens open the account API (an explicit allow-list kept by operators).
    pub account_api: bool,
    /// How it proves itself at the token endpoint.
    pub auth_method: String,
    pub secret_hash: Option<Vec<u8>>,
    /// Its public keys, for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
}

impl Client {
    pub fn auth_method(&self) -> super::client_auth::AuthMethod {
        super::client_auth::AuthMethod::parse(&self.auth_method).unwrap_or_default()
    }

    /// Redirect URIs match exactly, character for character (no prefixes, no wildcards).
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    /// Same exact match, against the logout return list.
    pub fn allows_logout_return(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }
}

pub fn find_client(conn: &mut PgConnection, client_id: &str) -> QueryResult<Option<Client>> {
    oauth_clients::table
        .find(client_id)
        .select((
            oauth_clients::client_id,
            oauth_clients::name,
            oauth_clients::tenant_id,
            oauth_clients::redirect_uris,
            oauth_clients::in_process_only,
            oauth_clients::post_logout_redirect_uris,
            oauth_clients::account_api,
            oauth_clients::auth_method,
            oauth_clients::secret_hash,
            oauth_clients::jwks,
        ))
        .first(conn)
        .optional()
}

/// What a client is registered with.
#[derive(Debug, Clone, Default)]
pub struct ClientSpec<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub tenant: Option<Uuid>,
    pub redirect_uris: &'a [String],
    pub post_logout_redirect_uris: &'a [String],
    pub account_api: bool,
    pub auth_method: super::client_auth::AuthMethod,
    /// For the secret methods: the digest of the secret shown once.
    pub secret_hash: Option<&'a [u8]>,
    /// For `private_key_jwt`: the client's public keys (a JWK set).
    pub jwks: Option<&'a serde_json::Value>,
}

/// Registers or updates an outside client (redeemed at the public token endpoint). A tenant
/// portal's registration cannot be turned into one: `in_process_only` is never lowered here.
pub fn upsert_client(
    conn: &mut PgConnection,
    client_id: &str,
    name: &str,
    tenant: Option<Uuid>,
    redirect_uris: &[String],
) -> QueryResult<()> {
    register_client(
        conn,
        &ClientSpec {
            client_id,
            name,
            tenant,
            redirect_uris,
            ..ClientSpec::default()
        },
    )
}

/// Registers or updates an outside client with every attribute.
pub fn register_client(conn: &mut PgConnection, c: &ClientSpec<'_>) -> QueryResult<()> {
    write_client(conn, c, false)
}

fn write_client(conn: &mut PgConnection, c: &ClientSpec<'_>, portal: bool) -> QueryResult<()> {
    diesel::insert_into(oauth_clients::table)
        .values((
            oauth_clients::client_id.eq(c.client_id),
            oauth_clients::name.eq(c.name),
            oauth_clients::tenant_id.eq(c.tenant),
            oauth_clients::redirect_uris.eq(c.redirect_uris),
            oauth_clients::post_logout_redirect_uris.eq(c.post_logout_redirect_uris),
            oauth_clients::in_process_only.eq(portal),
            oauth_clients::account_api.eq(c.account_api),
            oauth_clients::auth_method.eq(c.auth_method.as_str()),
            oauth_clients::secret_hash.eq(c.secret_hash),
            oauth_clients::jwks.eq(c.jwks),
        ))
        .on_conflict(oauth_clients::client_id)
        .do_update()
        .set(
            (
                oauth_clients::name.eq(c.name),
                oauth_clients::tenant_id.eq(c.tenant),
                oauth_clients::redirect_uris.eq(c.redirect_uris),
                oauth_clients::post_logout_redirect_uris.eq(c.post_logout_redirect_uris),
                // Once a portal, always a portal.
                oauth_clients::in_process_only
                    .eq(oauth_clients::in_process_only
                        .or(portal.into_sql::<diesel::sql_types::Bool>())),
                oauth_clients::account_api.eq(c.account_api && !portal),
                oauth_clients::auth_method.eq(c.auth_method.as_str()),
                oauth_clients::secret_hash.eq(c.secret_hash),
                oauth_clients::jwks.eq(c.jwks),
            ),
        )
        .execute(conn)
        .map(drop)
}

/// What sign-in needs of an account.
#[derive(Debug, Clone, Queryable)]
pub struct LoginAccount {
    pub id: Uuid,
    pub password_hash: String,
    pub email_verified: bool,
}

pub fn find_login(conn: &mut PgConnection, email: &str) -> QueryResult<Option<LoginAccount>> {
    accounts::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = lower(")
                .bind::<diesel::sql_types::Text, _>(email)
                .sql(")"),
        )
        .select((
            accounts::id,
            accounts::password_hash,
            accounts::email_verified_at.is_not_null(),
        ))
        .first(conn)
        .optional()
}

/// Public profile for the userinfo endpoint.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct Profile {
    #[serde(rename = "sub")]
    pub id: Uuid,
    pub email: String,
    #[serde(rename = "email_verified")]
    pub email_verified: bool,
    #[serde(rename = "name")]
    pub full_name: String,
    pub locale: String,
}

pub fn profile(conn: &mut PgConnection, account: Uuid) -> QueryResult<Option<Profile>> {
    accounts::table
        .find(account)
        .select((
            accounts::id,
            accounts::email,
            accounts::email_verified_at.is_not_null(),
            accounts::full_name,
            accounts::locale,
        ))
        .first(conn)
        .optional()
}

/// Remembers the language an account chose, so it follows the person to other browsers.
pub fn set_locale(
    conn: &mut PgConnection,
    account: Uuid,
    locale: crate::locale::Locale,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(account))
        .set(accounts::locale.eq(locale.as_str()))
        .execute(conn)
        .map(drop)
}

pub fn create_session(
    conn: &mut PgConnection,
    account: Uuid,
    ip: Option<&str>,
    user_agent: Option<&str>,
    mfa: bool,
) -> QueryResult<Uuid> {
    let id = Uuid::new_v4();
    diesel::insert_into(sso_sessions::table)
        .values((
            sso_sessions::id.eq(id),
            sso_sessions::account_id.eq(account),
            sso_sessions::expires_at.eq(later(SESSION_TTL)),
            sso_sessions::ip.eq(ip),
            sso_sessions::user_agent
                .eq(user_agent.map(|u| u.chars().take(300).collect::<String>())),
            sso_sessions::mfa.eq(mfa),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Was the session opened with a second factor?
pub fn session_mfa(conn: &mut PgConnection, session: Uuid) -> QueryResult<bool> {
    sso_sessions::table
        .find(session)
        .select(sso_sessions::mfa)
        .first(conn)
        .optional()
        .map(|m| m.unwrap_or(false))
}

/// The account of a live session.
pub fn session_account(conn: &mut PgConnection, session: Uuid) -> QueryResult<Option<Uuid>> {
    sso_sessions::table
        .find(session)
        .filter(sso_sessions::revoked_at.is_null())
        .filter(sso_sessions::expires_at.gt(diesel::dsl::now))
        .select(sso_sessions::account_id)
        .first(conn)
        .optional()
}

/// A code waiting to be exchanged.
pub struct NewCode<'a> {
    pub client_id: &'a str,
    pub session_id: Uuid,
    pub account_id: Uuid,
    pub redirect_uri: &'a str,
    pub code_challenge: &'a str,
    pub nonce: Option<&'a str>,
}

pub fn create_code(conn: &mut PgConnection, c: &NewCode<'_>) -> QueryResult<String> {
    let (code, hash) = new_token();
    diesel::insert_into(oauth_codes::table)
        .values((
            oauth_codes::code_hash.eq(hash),
            oauth_codes::client_id.eq(c.client_id),
            oauth_codes::session_id.eq(c.session_id),
            oauth_codes::account_id.eq(c.account_id),
            oauth_codes::redirect_uri.eq(c.redirect_uri),
            oauth_codes::code_challenge.eq(c.code_challenge),
            oauth_codes::nonce.eq(c.nonce),
            oauth_codes::expires_at.eq(later(CODE_TTL)),
        ))
        .execute(conn)?;
    Ok(code)
}

/// A consumed code.
#[derive(Debug, Queryable)]
pub struct Code {
    pub client_id: String,
    pub session_id: Uuid,
    pub account_id: Uuid,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
}

/// What presenting an authorization code leads to.
#[derive(Debug)]
pub enum Consumed {
    /// Taken now, for the first time, while its session is alive.
    Taken(Code),
    /// Presented again after it was taken (RFC 6749 §4.1.2): the session it signed in is
    /// ended, with every token issued from it.
    Replayed { session: Uuid },
    /// Unknown, expired, or its session ended.
    Invalid,
}

/// Takes a code once, before it expires, while its session is alive. A second presentation
/// ends the session the code belonged to.
pub fn consume_code(conn: &mut PgConnection, code: &str) -> QueryResult<Consumed> {
    let hash = token_hash(code);
    let taken: Option<Code> = diesel::update(
        oauth_codes::table
            .filter(oauth_codes::code_hash.eq(&hash))
            .filter(oauth_codes::used_at.is_null())
            .filter(oauth_codes::expires_at.gt(diesel::dsl::now)),
    )
    .set(oauth_codes::used_at.eq(diesel::dsl::now))
    .returning((
        oauth_codes::client_id,
        oauth_codes::session_id,
        oauth_codes::account_id,
        oauth_codes::redirect_uri,
        oauth_codes::code_challenge,
        oauth_codes::nonce,
    ))
    .get_result(conn)
    .optional()?;
    match taken {
        Some(c) if session_account(conn, c.session_id)?.is_some() => Ok(Consumed::Taken(c)),
        Some(_) => Ok(Consumed::Invalid),
        None => {
            let used: Option<Uuid> = oauth_codes::table
                .filter(oauth_codes::code_hash.eq(&hash))
                .filter(oauth_codes::used_at.is_not_null())
                .select(oauth_codes::session_id)
                .first(conn)
                .optional()?;
            match used {
                Some(session) => {
                    end_session(conn, session)?;
                    Ok(Consumed::Replayed { session })
                }
                None => Ok(Consumed::Invalid),
            }
        }
    }
}

pub const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// A client that retries a refresh (lost response, two tabs) within this window gets a fresh
/// token instead of setting off the reuse alarm.
pub const REFRESH_GRACE: Duration = Duration::from_secs(10);

/// Starts a new family, or continues `family`.
pub fn issue_refresh(
    conn: &mut PgConnection,
    family: Option<Uuid>,
    session: Uuid,
    client_id: &str,
    account: Uuid,
) -> QueryResult<String> {
    use crate::db::schema::refresh_tokens as r;
    let (token, hash) = new_token();
    diesel::insert_into(r::table)
        .values((
            r::token_hash.eq(hash),
            r::family_id.eq(family.unwrap_or_else(Uuid::new_v4)),
            r::session_id.eq(session),
            r::client_id.eq(client_id),
            r::account_id.eq(account),
            r::expires_at.eq(later(REFRESH_TTL)),
        ))
        .execute(conn)?;
    Ok(token)
}

/// What presenting a refresh token leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Refresh {
    /// Rotated: a new token of the same family, for this session and account.
    Rotated {
        token: String,
        session: Uuid,
        account: Uuid,
    },
    /// Unknown, expired, revoked, another client's, or its session ended.
    Invalid,
    /// A used token presented after the grace window: the family is now revoked.
    Reused,
}

pub fn use_refresh(conn: &mut PgConnection, token: &str, client_id: &str) -> QueryResult<Refresh> {
    use crate::db::schema::refresh_tokens as r;
    type Row = (
        Uuid,
        Uuid,
        String,
        Uuid,
        chrono::DateTime<chrono::Utc>,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    );
    let found: Option<Row> = r::table
        .find(token_hash(token))
        .select((
            r::family_id,
            r::session_id,
            r::client_id,
            r::account_id,
            r::expires_at,
            r::used_at,
            r::revoked_at,
        ))
        .for_update()
        .first(conn)
        .optional()?;
    let Some((family, session, owner, account, expires, used, revoked)) = found else {
        return Ok(Refresh::Invalid);
    };
    let now = chrono::Utc::now();
    if owner != client_id || revoked.is_some() || expires <= now {
        return Ok(Refresh::Invalid);
    }
    if session_account(conn, session)?.is_none() {
        return Ok(Refresh::Invalid);
    }
    if let Some(used) = used {
        let grace = chrono::Duration::from_std(REFRESH_GRACE).unwrap_or_default();
        if now - used > grace {
            revoke_family(conn, family)?;
            return Ok(Refresh::Reused);
        }
    } else {
        diesel::update(r::table.find(token_hash(token)))
            .set(r::used_at.eq(diesel::dsl::now))
            .execute(conn)?;
    }
    let token = issue_refresh(conn, Some(family), session, client_id, account)?;
    Ok(Refresh::Rotated {
        token,
        session,
        account,
    })
}

pub fn revoke_family(conn: &mut PgConnection, family: Uuid) -> QueryResult<usize> {
    use crate::db::schema::refresh_tokens as r;
    diesel::update(
        r::table
            .filter(r::family_id.eq(family))
            .filter(r::revoked_at.is_null()),
    )
    .set(r::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
}

/// The family of a refresh token, for revocation (RFC 7009).
pub fn family_of(
    conn: &mut PgConnection,
    token: &str,
    client_id: &str,
) -> QueryResult<Option<Uuid>> {
    use crate::db::schema::refresh_tokens as r;
    r::table
        .find(token_hash(token))
        .filter(r::client_id.eq(client_id))
        .select(r::family_id)
        .first(conn)
        .optional()
}

/// Ends a session and every refresh token it issued. Returns its account.
pub fn end_session(conn: &mut PgConnection, session: Uuid) -> QueryResult<Option<Uuid>> {
    use crate::db::schema::refresh_tokens as r;
    let account: Option<Uuid> = diesel::update(
        sso_sessions::table
            .find(session)
            .filter(sso_sessions::revoked_at.is_null()),
    )
    .set(sso_sessions::revoked_at.eq(diesel::dsl::now))
    .returning(sso_sessions::account_id)
    .get_result(conn)
    .optional()?;
    diesel::update(
        r::table
            .filter(r::session_id.eq(session))
            .filter(r::revoked_at.is_null()),
    )
    .set(r::revoked_at.eq(diesel::dsl::now))
    .execute(conn)?;
    Ok(account)
}

/// Ends every live session of an account (password changed, roles changed) with their refresh
/// tokens; returns them so their access tokens can be revoked too.
pub fn end_account_sessions(conn: &mut PgConnection, account: Uuid) -> QueryResult<Vec<Uuid>> {
    let sessions: Vec<Uuid> = sso_sessions::table
        .filter(sso_sessions::account_id.eq(account))
        .filter(sso_sessions::revoked_at.is_null())
        .select(sso_sessions::id)
        .load(conn)?;
    for s in &sessions {
        end_session(conn, *s)?;
    }
    Ok(sessions)
}

/// Registers (or refreshes) a tenant's own portal as a client: `portal-{slug}`, with a
/// callback on each of the tenant's hosts. Portals redeem codes in-process only.
pub fn register_tenant_portal(
    conn: &mut PgConnection,
    tenant: &crate::tenancy::Tenant,
    base_domain: &crate::tenancy::HostName,
    public_origin: &str,
) -> QueryResult<String> {
    let client_id = portal_client_id(&tenant.slug);
    let origins: Vec<String> = std::iter::once(format!("{}.{}", tenant.slug, base_domain.as_str()))
        .chain(tenant.domains.iter().map(|d| d.as_str().to_owned()))
        .map(|h| public_origin.replace("{host}", &h))
        .collect();
    let redirect_uris: Vec<String> = origins
        .iter()
        .map(|o| format!("{o}/auth/callback"))
        .collect();
    let logout_returns: Vec<String> = origins
        .iter()
        .map(|o| format!("{o}/da-dang-xuat"))
        .collect();
    write_client(
        conn,
        &ClientSpec {
            client_id: &client_id,
            name: &tenant.name_vi,
            tenant: Some(tenant.id),
            redirect_uris: &redirect_uris,
            post_logout_redirect_uris: &logout_returns,
            ..ClientSpec::default()
        },
        true,
    )?;
    Ok(client_id)
}

/// The client id of a tenant's portal.
pub fn portal_client_id(slug: &crate::tenancy::TenantSlug) -> String {
    format!("portal-{slug}")
}

/// Is this the first sign-in from this device (user agent) for an account that signed in
/// before? Then the owner should hear of it. Checked before the new session is stored.
pub fn is_new_device(
    conn: &mut PgConnection,
    account: Uuid,
    user_agent: Option<&str>,
) -> QueryResult<bool> {
    let agent: String = user_agent.unwrap_or("").chars().take(300).collect();
    let earlier: i64 = sso_sessions::table
        .filter(sso_sessions::account_id.eq(account))
        .count()
        .get_result(conn)?;
    if earlier == 0 {
        return Ok(false);
    }
    let same: i64 = sso_sessions::table
        .filter(sso_sessions::account_id.eq(account))
        .filter(sso_sessions::user_agent.eq(agent))
        .count()
        .get_result(conn)?;
    Ok(same == 0)
}
