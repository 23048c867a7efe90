//! Sign-in use cases shared by the token endpoint and the portals: code and refresh grants.

use crate::auth::tokens::{self, AccessClaims};
use crate::auth::{accounts, pkce, roles, sso};
use crate::error::AppError;
use crate::state::AppState;
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "dvc_sso";

pub(crate) fn secure(state: &AppState) -> bool {
    state.settings.auth.issuer.starts_with("https://")
}

/// Tokens for a client, as the token endpoint answers them.
pub(crate) struct TokenSet {
    pub access: String,
    pub refresh: String,
    pub id_token: String,
    pub expires_in: i64,
}

/// Why the token endpoint refused: its OAuth `error` and a description.
pub(crate) struct Refusal(pub &'static str, pub &'static str);

pub(crate) type Granted = Result<Result<TokenSet, Refusal>, AppError>;

/// The authorization-code grant, also used in-process by the portals' own callback.
pub(crate) async fn exchange_code(
    state: &AppState,
    code: String,
    client_id: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Granted {
    if code.len() != 43 {
        return Ok(Err(Refusal("invalid_grant", "unknown code")));
    }
    let consumed = state
        .shared
        .run(move |c| {
            let consumed = sso::consume_code(c, &code)?;
            if let sso::Consumed::Replayed { session } = &consumed {
                accounts::audit(
                    c,
                    None,
                    None,
                    None,
                    "code.replayed",
                    serde_json::json!({ "sid": session }),
                )?;
            }
            Ok(consumed)
        })
        .await?;
    let taken = match consumed {
        sso::Consumed::Taken(taken) => taken,
        sso::Consumed::Replayed { session } => {
            // Its access tokens die with the session on every instance.
            crate::app::auth::revoke_sessions(state, vec![session]).await?;
            return Ok(Err(Refusal(
                "invalid_grant",
                "the code was used before: every token issued from it is revoked",
            )));
        }
        sso::Consumed::Invalid => {
            return Ok(Err(Refusal(
                "invalid_grant",
                "the code is unknown, used or expired",
            )));
        }
    };
    if taken.client_id != client_id || taken.redirect_uri != redirect_uri {
        return Ok(Err(Refusal(
            "invalid_grant",
            "client or redirect_uri does not match the code",
        )));
    }
    if !pkce::verify(verifier, &taken.code_challenge) {
        return Ok(Err(Refusal(
            "invalid_grant",
            "code_verifier does not match",
        )));
    }
    let (session, account) = (taken.session_id, taken.account_id);
    let client_for_refresh = client_id.to_owned();
    let refresh = state
        .shared
        .run(move |c| {
            // A portal sign-in makes the account active at that tenant this month.
            if let Some(tenant) =
                sso::find_client(c, &client_for_refresh)?.and_then(|c| c.tenant_id)
            {
                crate::hosting::usage::record_active_account(c, tenant, account)?;
            }
            Ok(sso::issue_refresh(
                c,
                None,
                session,
                &client_for_refresh,
                account,
            )?)
        })
        .await?;
    issue_tokens(state, client_id, session, account, taken.nonce, refresh)
        .await
        .map(Ok)
}

/// The refresh grant (rotation; a reused token revokes its family), also used in-process by
/// the portals.
pub(crate) async fn refresh_tokens(
    state: &AppState,
    token: String,
    client_id: &str,
    ip: Option<String>,
) -> Granted {
    if token.len() != 43 {
        return Ok(Err(Refusal("invalid_grant", "unknown refresh token")));
    }
    let client_for_use = client_id.to_owned();
    let outcome = state
        .shared
        .run(move |c| {
            let outcome = sso::use_refresh(c, &token, &client_for_use)?;
            if outcome == sso::Refresh::Reused {
                accounts::audit(
                    c,
                    None,
                    None,
                    ip.as_deref(),
                    "token.reuse",
                    serde_json::json!({ "client_id": client_for_use }),
                )?;
            }
            Ok(outcome)
        })
        .await?;
    match outcome {
        sso::Refresh::Rotated {
            token,
            session,
            account,
        } => issue_tokens(state, client_id, session, account, None, token)
            .await
            .map(Ok),
        sso::Refresh::Reused => Ok(Err(Refusal(
            "invalid_grant",
            "refresh token reused: every token of this sign-in is revoked",
        ))),
        sso::Refresh::Invalid => Ok(Err(Refusal(
            "invalid_grant",
            "the refresh token is unknown, expired or revoked",
        ))),
    }
}

pub(crate) async fn issue_tokens(
    state: &AppState,
    client_id: &str,
    session: Uuid,
    account: Uuid,
    nonce: Option<String>,
    refresh: String,
) -> Result<TokenSet, AppError> {
    let client_id2 = client_id.to_owned();
    let (client, role_names) = state
        .shared
        .run(move |c| {
            let client =
                sso::find_client(c, &client_id2)?.ok_or(AppError::NotFound { what: "client" })?;
            let mut roles = match client.tenant_id {
                Some(t) => roles::roles_in(c, account, t)?,
                None => Vec::new(),
            };
            // Roles only for sessions opened with a second factor.
            if !roles.is_empty() && !sso::session_mfa(c, session)? {
                roles.clear();
            }
            Ok((client, roles))
        })
        .await?;
    // The audience of the access token is the client's tenant: its roles only.
    let audience = client
        .tenant_id
        .and_then(|t| state.registry.by_id(t))
        .map_or_else(|| client.client_id.clone(), |t| t.slug.as_str().to_owned());
    let ring = state.keyring();
    let now = chrono::Utc::now().timestamp();
    let ttl = state.settings.auth.access_token_ttl_secs as i64;
    let iss = state.settings.auth.issuer.trim_end_matches('/').to_owned();
    let access = tokens::issue(
        &ring,
        &AccessClaims {
            iss: iss.clone(),
            sub: account,
            aud: audience,
            client_id: client.client_id.clone(),
            sid: session,
            iat: now,
            exp: now + ttl,
            nbf: None,
            jti: Uuid::new_v4(),
            roles: role_names.iter().map(|r| r.as_str().to_owned()).collect(),
        },
    )
    .map_err(AppError::internal)?;
    let id_token = tokens::issue_id_token(
        &ring,
        &tokens::IdClaims {
            iss,
            sub: account,
            aud: client.client_id.clone(),
            iat: now,
            exp: now + ttl,
            nonce,
            sid: session,
        },
    )
    .map_err(AppError::internal)?;
    Ok(TokenSet {
        access,
        refresh,
        id_token,
        expires_in: ttl,
    })
}
