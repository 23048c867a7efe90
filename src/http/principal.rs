//! The `Principal` extractor: the bearer token checked against the resolved tenant (signature,
//! issuer, audience, expiry; verified tokens are memoised) and its sign-in session still live.

use crate::auth::principal::Principal;
use crate::auth::roles::Role;
use crate::auth::tokens;
use crate::error::AppError;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

impl FromRequest for Principal {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verified = verify(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let principal = verified?;
            let state =
                state.ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing")))?;
            // Logout must take effect at once on every instance, so an unreachable Redis
            // refuses the request rather than trusting a possibly revoked session.
            ensure_live(&state, principal.session).await?;
            Ok(principal)
        })
    }
}

/// 401 when the sign-in `session` was ended (logout, revocation) on any instance.
pub(crate) async fn ensure_live(state: &AppState, session: Uuid) -> Result<(), AppError> {
    let revoked = crate::auth::revocation::is_revoked(
        state.notifier.redis(),
        &state.settings.redis.prefix,
        session,
    )
    .await
    .map_err(|e| AppError::Unavailable(e.into()))?;
    if revoked {
        Err(AppError::Unauthorized)
    } else {
        Ok(())
    }
}

fn verify(req: &HttpRequest) -> Result<Principal, AppError> {
    let tenant = super::tenant::current_tenant(req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing")))?;
    from_token(state, tenant, super::bearer::token_of(req)?)
}

/// The caller an access token names at this tenant (signature, issuer, audience, expiry
/// checked; revocation is [`ensure_live`]'s).
pub(crate) fn from_token(
    state: &AppState,
    tenant: CurrentTenant,
    token: &str,
) -> Result<Principal, AppError> {
    let issuer = state.settings.auth.issuer.trim_end_matches('/');
    let audience = tenant.tenant.slug.as_str();
    let now = chrono::Utc::now().timestamp();
    let claims = match state.verified_tokens.get(token, now) {
        // The memo holds only tokens that passed full verification; audience and issuer are
        // compared again because the same token may be presented to another tenant.
        Some(c) if c.aud == audience && c.iss == issuer => c,
        _ => {
            let c = tokens::verify(&state.keyring(), token, issuer, audience)
                .map_err(|_| AppError::Unauthorized)?;
            state.verified_tokens.put(token, &c);
            c
        }
    };
    Ok(Principal {
        account: claims.sub,
        session: claims.sid,
        roles: claims.roles.iter().filter_map(|r| Role::parse(r)).collect(),
        tenant,
    })
}
