//! The portal's state in Redis, under keys prefixed by the tenant: sessions (the tokens of a
//! signed-in browser, refreshed when due), pending sign-ins, and once-only form nonces.

use super::portal_sign_in::client_id;
use super::visitor::Visitor;
use crate::app::oidc;
use crate::auth::principal::Principal;
use crate::error::AppError;
use crate::http::principal;
use crate::state::AppState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "dvc_portal";
pub const CSRF_COOKIE: &str = "dvc_form";
pub const LANG_COOKIE: &str = "dvc_lang";
/// A portal session lasts this long without a visit.
pub(super) const SESSION_TTL_SECS: u64 = 12 * 3600;
/// Refresh the access token when it has less than this left.
pub(super) const REFRESH_MARGIN_SECS: i64 = 60;

/// 32 random bytes, URL-safe: cookies, CSRF tokens, OAuth `state` and PKCE verifiers.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub(super) fn digest(token: &str) -> String {
    crate::services::text::hex(&sha2::Sha256::digest(token.as_bytes()))
}

/// What the portal keeps for a signed-in browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortalSession {
    pub account: Uuid,
    pub name: String,
    pub access: String,
    pub refresh: String,
    pub access_exp: i64,
    /// Sent back as `id_token_hint` at sign-out, so the provider knows the request is ours.
    #[serde(default)]
    pub id_token: String,
}

/// Redis keys of a tenant start with its id (DESIGN: tenant keys are prefixed).
pub(super) fn session_key(state: &AppState, tenant: Uuid, cookie: &str) -> String {
    format!(
        "{}:t:{tenant}:portal:{}",
        state.settings.redis.prefix,
        digest(cookie)
    )
}

pub(super) fn login_key(state: &AppState, tenant: Uuid, oauth_state: &str) -> String {
    format!(
        "{}:t:{tenant}:portal-login:{}",
        state.settings.redis.prefix,
        digest(oauth_state)
    )
}

/// The shared Redis connection; Redis away is a 503 (sessions cannot be checked without it).
pub(super) async fn redis_conn(
    state: &AppState,
) -> Result<redis::aio::ConnectionManager, AppError> {
    state
        .notifier
        .redis()
        .conn()
        .await
        .map_err(|e| AppError::Unavailable(e.into()))
}

pub(super) async fn redis_query<T: redis::FromRedisValue>(
    state: &AppState,
    cmd: &redis::Cmd,
) -> Result<T, AppError> {
    cmd.query_async(&mut redis_conn(state).await?)
        .await
        .map_err(|e| AppError::Unavailable(e.into()))
}

pub(super) async fn redis_get(state: &AppState, key: &str) -> Result<Option<String>, AppError> {
    redis_query(state, redis::cmd("GET").arg(key)).await
}

pub(super) async fn redis_set(
    state: &AppState,
    key: &str,
    value: &str,
    ttl: u64,
) -> Result<(), AppError> {
    redis_query(
        state,
        redis::cmd("SET").arg(key).arg(value).arg("EX").arg(ttl),
    )
    .await
}

pub(super) async fn redis_take(state: &AppState, key: &str) -> Result<Option<String>, AppError> {
    redis_query(state, redis::cmd("GETDEL").arg(key)).await
}

/// The signed-in caller of a portal session, refreshing its access token when due. `None`
/// when the session is gone, ended or can no longer be refreshed.
pub(super) async fn load_user(
    v: &Visitor,
    cookie: &str,
) -> Result<Option<(Principal, String)>, AppError> {
    let state = &v.state;
    let key = session_key(state, v.tenant.tenant.id, cookie);
    let Some(text) = redis_get(state, &key).await? else {
        return Ok(None);
    };
    let Ok(mut s) = serde_json::from_str::<PortalSession>(&text) else {
        return Ok(None);
    };
    let now = chrono::Utc::now().timestamp();
    if s.access_exp - now < REFRESH_MARGIN_SECS {
        match oidc::refresh_tokens(state, s.refresh.clone(), &client_id(v), None).await? {
            Ok(tokens) => {
                s.access = tokens.access;
                s.refresh = tokens.refresh;
                s.access_exp = now + tokens.expires_in;
                redis_set(
                    state,
                    &key,
                    &serde_json::to_string(&s).map_err(AppError::internal)?,
                    SESSION_TTL_SECS,
                )
                .await?;
            }
            Err(_) => return Ok(None),
        }
    }
    let Ok(user) = principal::from_token(state, v.tenant.clone(), &s.access) else {
        return Ok(None);
    };
    match principal::ensure_live(state, user.session).await {
        Ok(()) => Ok(Some((user, s.name))),
        Err(AppError::Unauthorized) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A form that may be sent once (its nonce): the first request claims it; a repeat finds the
/// outcome of the first (or that it is still running).
pub struct Once {
    key: Option<String>,
    done: Option<String>,
}

impl Once {
    pub async fn claim(state: &AppState, tenant: Uuid, nonce: &str) -> Result<Once, AppError> {
        if nonce.len() != 43 {
            return Err(AppError::bad_request("csrf", "form without its nonce"));
        }
        let key = format!(
            "{}:t:{tenant}:once:{}",
            state.settings.redis.prefix,
            digest(nonce)
        );
        let claimed: Option<String> = redis_query(
            state,
            redis::cmd("SET")
                .arg(&key)
                .arg("")
                .arg("NX")
                .arg("EX")
                .arg(3600),
        )
        .await?;
        if claimed.is_some() {
            return Ok(Once {
                key: Some(key),
                done: None,
            });
        }
        match redis_get(state, &key).await?.filter(|o| !o.is_empty()) {
            Some(code) => Ok(Once {
                key: None,
                done: Some(code),
            }),
            None => Err(AppError::Conflict {
                code: "in_progress",
                detail: "this form is already being sent".into(),
            }),
        }
    }

    /// The outcome of an earlier send of the same form.
    pub fn already_done(&self) -> Option<&str> {
        self.done.as_deref()
    }

    /// Records what the send produced (`Some(code)`), or frees the nonce when it was refused,
    /// so the corrected form can be sent again.
    pub async fn settle(self, state: &AppState, outcome: Option<&str>) -> Result<(), AppError> {
        let Some(key) = self.key else { return Ok(()) };
        match outcome {
            Some(code) => redis_set(state, &key, code, 3600).await,
            None => redis_query(state, redis::cmd("DEL").arg(&key)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_different() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
