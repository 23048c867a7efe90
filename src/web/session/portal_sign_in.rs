//! The portal as an OpenID Connect client of the sign-in host: authorization code + PKCE,
//! exchanged in-process, tokens kept on the server; and sign-out and the language switch.

use super::store::*;
use super::visitor::*;
use crate::app::oidc;
use crate::error::AppError;
use crate::http::principal;
use crate::locale::Locale;
use actix_web::cookie::time::Duration as CookieAge;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

pub(super) fn client_id(v: &Visitor) -> String {
    format!("portal-{}", v.tenant.tenant.slug)
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct PendingLogin {
    verifier: String,
    next: String,
    /// Digest of the `dvc_login` cookie set on the browser that started the sign-in: a code
    /// and state carried to another browser (login CSRF) are refused there.
    browser: String,
}

pub const LOGIN_COOKIE: &str = "dvc_login";

fn callback_uri(v: &Visitor) -> String {
    format!("{}/auth/callback", v.origin())
}

/// `GET /dang-nhap`: off to the sign-in host (which answers at once when the browser is
/// already signed in there: that is the single sign-on).
pub async fn login(v: Visitor, q: web::Query<LoginQuery>) -> HttpResponse {
    let result = async {
        let oauth_state = random_token();
        let verifier = random_token();
        let browser = random_token();
        let pending = PendingLogin {
            verifier: verifier.clone(),
            next: safe_next(q.next.as_deref()),
            browser: digest(&browser),
        };
        redis_set(
            &v.state,
            &login_key(&v.state, v.tenant.tenant.id, &oauth_state),
            &serde_json::to_string(&pending).map_err(AppError::internal)?,
            600,
        )
        .await?;
        let mut url = url::Url::parse(&format!(
            "{}/oauth/authorize",
            v.state.settings.auth.issuer.trim_end_matches('/')
        ))
        .map_err(AppError::internal)?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &client_id(&v))
            .append_pair("redirect_uri", &callback_uri(&v))
            .append_pair("scope", "openid")
            .append_pair("state", &oauth_state)
            .append_pair(
                "code_challenge",
                &crate::auth::pkce::challenge_of(&verifier),
            )
            .append_pair("code_challenge_method", "S256")
            .append_pair("ui_locales", v.locale.as_str());
        Ok(v.redirect_with_login_cookie(url.as_str(), browser))
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

/// `GET /auth/callback`: the sign-in host's answer. The code is exchanged in-process (this
/// server is also the provider), the tokens stay on the server.
pub async fn callback(
    mut v: Visitor,
    req: HttpRequest,
    q: web::Query<CallbackQuery>,
) -> HttpResponse {
    let q = q.into_inner();
    let result = async {
        let (Some(code), Some(oauth_state)) = (q.code, q.state) else {
            return Err(AppError::bad_request("sign_in_failed", "no code"));
        };
        let pending = redis_take(
            &v.state,
            &login_key(&v.state, v.tenant.tenant.id, &oauth_state),
        )
        .await?
        .and_then(|t| serde_json::from_str::<PendingLogin>(&t).ok())
        .ok_or_else(|| AppError::bad_request("csrf", "unknown or used sign-in state"))?;
        let same_browser = req
            .cookie(LOGIN_COOKIE)
            .is_some_and(|c| digest(c.value()) == pending.browser);
        if !same_browser {
            return Err(AppError::bad_request(
                "csrf",
                "sign-in started in another browser",
            ));
        }
        let tokens = oidc::exchange_code(
            &v.state,
            code,
            &client_id(&v),
            &callback_uri(&v),
            &pending.verifier,
        )
        .await?
        .map_err(|r| AppError::bad_request("sign_in_failed", r.1))?;
        let user = principal::from_token(&v.state, v.tenant.clone(), &tokens.access)?;
        let account = user.account;
        let profile = v
            .state
            .shared
            .run(move |c| Ok(crate::auth::sso::profile(c, account)?))
            .await?;
        let name = profile
            .as_ref()
            .map(|p| p.full_name.clone())
            .unwrap_or_default();
        // The account's language follows it to a browser that has not chosen one.
        if !v.chosen_locale
            && let Some(l) = profile.as_ref().and_then(|p| Locale::parse(&p.locale))
        {
            let mut c = v.cookie(LANG_COOKIE, l.as_str().to_owned());
            c.set_max_age(CookieAge::days(365));
            v.add_cookie(c);
        }
        let cookie = random_token();
        let session = PortalSession {
            account,
            name,
            access: tokens.access,
            refresh: tokens.refresh,
            access_exp: chrono::Utc::now().timestamp() + tokens.expires_in,
            id_token: tokens.id_token,
        };
        redis_set(
            &v.state,
            &session_key(&v.state, v.tenant.tenant.id, &cookie),
            &serde_json::to_string(&session).map_err(AppError::internal)?,
            SESSION_TTL_SECS,
        )
        .await?;
        let c = v.cookie(SESSION_COOKIE, cookie);
        v.add_cookie(c);
        Ok(v.redirect(&pending.next))
    }
    .await;
    v.respond(result)
}

/// `POST /dang-xuat`: ends the portal session and the sign-in itself (every portal), then
/// shows the signed-out page.
pub async fn logout(mut v: Visitor, req: HttpRequest, form: web::Form<CsrfForm>) -> HttpResponse {
    let result = async {
        v.check_csrf(&form.csrf)?;
        let mut id_token = String::new();
        if let Some(cookie) = req.cookie(SESSION_COOKIE) {
            let key = session_key(&v.state, v.tenant.tenant.id, cookie.value());
            if let Some(s) = redis_take(&v.state, &key)
                .await?
                .and_then(|t| serde_json::from_str::<PortalSession>(&t).ok())
            {
                id_token = s.id_token;
                let (refresh, client) = (s.refresh, client_id(&v));
                v.state
                    .shared
                    .run(move |c| {
                        if let Some(family) = crate::auth::sso::family_of(c, &refresh, &client)? {
                            crate::auth::sso::revoke_family(c, family)?;
                        }
                        Ok(())
                    })
                    .await?;
            }
        }
        v.add_cookie(expired(SESSION_COOKIE));
        let mut url = url::Url::parse(&format!(
            "{}/oauth/logout",
            v.state.settings.auth.issuer.trim_end_matches('/')
        ))
        .map_err(AppError::internal)?;
        url.query_pairs_mut()
            .append_pair("client_id", &client_id(&v))
            .append_pair(
                "post_logout_redirect_uri",
                &format!("{}/da-dang-xuat", v.origin()),
            );
        if !id_token.is_empty() {
            url.query_pairs_mut()
                .append_pair("id_token_hint", &id_token);
        }
        Ok(v.redirect(url.as_str()))
    }
    .await;
    v.respond(result)
}

pub async fn signed_out(v: Visitor) -> HttpResponse {
    v.page("signed_out.html", minijinja::context! {})
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LanguageForm {
    csrf: String,
    lang: String,
    next: Option<String>,
}

/// `POST /ngon-ngu`: switches the language, remembered in a cookie and on the account.
pub async fn language(mut v: Visitor, form: web::Form<LanguageForm>) -> HttpResponse {
    let result = async {
        v.check_csrf(&form.csrf)?;
        let locale = Locale::parse(&form.lang)
            .ok_or_else(|| AppError::bad_request("invalid_locale", "vi or en"))?;
        if let Some(user) = &v.user {
            let account = user.account;
            v.state
                .shared
                .run(move |c| Ok(crate::auth::sso::set_locale(c, account, locale)?))
                .await?;
        }
        let mut c = v.cookie(LANG_COOKIE, locale.as_str().to_owned());
        c.set_max_age(CookieAge::days(365));
        v.add_cookie(c);
        Ok(v.redirect(&safe_next(form.next.as_deref())))
    }
    .await;
    v.respond(result)
}
