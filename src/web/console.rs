//! The platform operator's console, on the sign-in host: every tenant with its status and
//! schema version, the mail and webhook outboxes' health, this month's usage per tenant, and
//! suspend/resume. Operators sign in on this host (the console is a client of its own sign-in
//! page); the page reads the sign-in session itself and requires the operator role and a
//! second factor. Every action is audited.

use super::i18n;
use super::session::random_token;
use super::sso::SsoPage;
use crate::app::oidc::SESSION_COOKIE;
use crate::error::AppError;
use crate::state::AppState;
use crate::tenancy::TenantStatus;
use crate::tenancy::notify::TenancyEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Datelike;
use minijinja::context;
use serde::Deserialize;
use uuid::Uuid;

pub use crate::auth::sso::{CONSOLE_CLIENT_ID as CLIENT_ID, console_redirect as client_redirect};

/// The signed-in operator, or why not.
enum Access {
    Operator(Uuid),
    SignIn,
    Denied,
}

async fn access(req: &HttpRequest, state: &AppState) -> Result<Access, AppError> {
    let Some(session) = req
        .cookie(SESSION_COOKIE)
        .and_then(|c| Uuid::parse_str(c.value()).ok())
    else {
        return Ok(Access::SignIn);
    };
    let found = state
        .shared
        .run(move |c| {
            let Some(account) = crate::auth::sso::session_account(c, session)? else {
                return Ok(None);
            };
            let allowed = crate::auth::roles::is_operator(c, account)?
                && crate::auth::sso::session_mfa(c, session)?;
            Ok(Some((account, allowed)))
        })
        .await?;
    Ok(match found {
        None => Access::SignIn,
        Some((account, true)) => match crate::http::principal::ensure_live(state, session).await {
            Ok(()) => Access::Operator(account),
            Err(AppError::Unauthorized) => Access::SignIn,
            // Redis away: say so, rather than send the browser round the sign-in host forever.
            Err(e) => return Err(e),
        },
        Some(_) => Access::Denied,
    })
}

fn sign_in(state: &AppState) -> HttpResponse {
    let Ok(mut url) = url::Url::parse(&format!(
        "{}/oauth/authorize",
        state.settings.auth.issuer.trim_end_matches('/')
    )) else {
        tracing::error!("auth.issuer is not a URL: the console cannot send anyone to sign in");
        return HttpResponse::ServiceUnavailable().finish();
    };
    // The code is not exchanged (the console reads the session on this host), but the
    // provider requires PKCE of every client.
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair(
            "redirect_uri",
            &client_redirect(&state.settings.auth.issuer),
        )
        .append_pair("scope", "openid")
        .append_pair("state", &random_token())
        .append_pair(
            "code_challenge",
            &crate::auth::pkce::challenge_of(&random_token()),
        )
        .append_pair("code_challenge_method", "S256");
    HttpResponse::SeeOther()
        .insert_header(("Location", url.to_string()))
        .finish()
}

/// The console's page: the sign-in host's (language, form token and cookie).
struct Page(SsoPage);

impl Page {
    fn of(req: &HttpRequest, state: &AppState) -> Page {
        Page(SsoPage::of(req, state, None))
    }

    fn render(&self, status: StatusCode, ctx: minijinja::Value) -> HttpResponse {
        self.0.render(status, "console.html", ctx)
    }
}

#[derive(Deserialize)]
pub struct ConsoleQuery {
    ok: Option<String>,
}

pub async fn console(
    req: HttpRequest,
    q: web::Query<ConsoleQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let page = Page::of(&req, &state);
    match access(&req, &state).await {
        Ok(Access::Operator(_)) => {}
        Ok(Access::SignIn) => return sign_in(&state),
        Ok(Access::Denied) => {
            return page.render(StatusCode::FORBIDDEN, context! { denied => true });
        }
        Err(e) => {
            tracing::error!(error = %e.chain(), "console access check failed");
            return page.render(
                StatusCode::SERVICE_UNAVAILABLE,
                context! { unavailable => true },
            );
        }
    }
    let today = crate::services::calendar::local_date(chrono::Utc::now());
    let month = chrono::NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let loaded = state
        .shared
        .run(move |c| {
            let versions = crate::tenancy::migrator::schema_states(c)?;
            // The metered figures, one statement for every tenant.
            let usage = crate::hosting::usage::report(c, month)?;
            let mail = crate::mail::outbox::status_counts(c)?;
            let hooks = crate::services::sync::delivery::state_counts(c)?;
            Ok((versions, usage, mail, hooks))
        })
        .await;
    let (versions, usage, mail, hooks) = match loaded {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e.chain(), "console data failed");
            return page.render(
                StatusCode::SERVICE_UNAVAILABLE,
                context! { unavailable => true },
            );
        }
    };
    // Drafts show their onboarding checklist (few at a time; each reads its own schema).
    let mut checklists = std::collections::HashMap::new();
    for t in state.registry.all() {
        if t.status == TenantStatus::Draft {
            match crate::app::onboarding::onboarding_of(&state, t.clone()).await {
                Ok(o) => {
                    checklists.insert(t.id, o.checklist);
                }
                Err(e) => {
                    tracing::warn!(error = %e.chain(), tenant = %t.slug, "checklist not loaded");
                }
            }
        }
    }
    let mut tenants: Vec<_> = state
        .registry
        .all()
        .into_iter()
        .map(|t| {
            let (version, migration) = versions
                .iter()
                .find(|(id, _, _)| *id == t.id)
                .map(|(_, v, s)| (v.clone().unwrap_or_default(), s.as_str()))
                .unwrap_or_default();
            let u = usage.iter().find(|u| u.tenant == t.slug.as_str());
            context! {
                slug => t.slug.as_str(),
                name => t.name_vi.clone(),
                kind => t.kind.as_str(),
                status => t.status.as_str(),
                active => t.status == TenantStatus::Active,
                version, migration,
                dossiers => u.map_or(0, |u| u.dossiers_submitted),
                mails => u.map_or(0, |u| u.mails_sent),
                accounts => u.map_or(0, |u| u.active_accounts),
                api_calls => u.map_or(0, |u| u.api_calls),
                storage_mb => u.map_or(0.0, |u| (u.storage_bytes as f64 / 1e5).round() / 10.0),
                checklist => checklists.get(&t.id).map(minijinja::Value::from_serialize),
            }
        })
        .collect();
    tenants.sort_by_key(|t| {
        t.get_attr("slug")
            .map(|s| s.to_string())
            .unwrap_or_default()
    });
    let mail: Vec<_> = mail
        .into_iter()
        .map(|m| context! { tenant => m.tenant, status => m.status, count => m.count, oldest => m.oldest_unsent_secs.map(|s| s.round() as i64) })
        .collect();
    let hooks: Vec<_> = hooks
        .into_iter()
        .map(|h| context! { state => h.state, count => h.count, oldest => h.oldest_secs.map(|s| s.round() as i64) })
        .collect();
    let notice =
        q.ok.as_deref()
            .filter(|k| ["active", "suspended"].contains(k))
            .map(|k| i18n::t(page.0.locale(), &format!("console.done_{k}")));
    page.render(
        StatusCode::OK,
        context! { tenants, mail, hooks, notice, month => month.to_string() },
    )
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    csrf: String,
    status: String,
}

/// `POST /van-hanh/don-vi/{slug}`: suspend or resume a tenant (audited; every instance hears
/// of it through Redis).
pub async fn set_status(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<StatusForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let page = Page::of(&req, &state);
    let operator = match access(&req, &state).await {
        Ok(Access::Operator(a)) => a,
        Ok(Access::SignIn) => return sign_in(&state),
        _ => return page.render(StatusCode::FORBIDDEN, context! { denied => true }),
    };
    if page.0.check(&form.csrf).is_err() {
        return page.render(StatusCode::BAD_REQUEST, context! { expired => true });
    }
    let (Ok(slug), Some(status)) = (
        crate::tenancy::TenantSlug::parse(&path),
        TenantStatus::parse(&form.status)
            .filter(|s| matches!(s, TenantStatus::Active | TenantStatus::Suspended)),
    ) else {
        return page.render(StatusCode::BAD_REQUEST, context! { expired => true });
    };
    let registry = state.registry.clone();
    let ip = crate::client_addr::of(&req);
    let done = state
        .shared
        .run(move |c| {
            let id = crate::hosting::lifecycle::set_status(c, &slug, status)
                .map_err(|e| AppError::bad_request("invalid_tenant", e.to_string()))?;
            crate::auth::accounts::audit(
                c,
                Some(operator),
                Some(id),
                ip.as_deref(),
                "operator.tenant_status",
                serde_json::json!({ "status": status.as_str() }),
            )?;
            registry.reload(c)?;
            Ok(id)
        })
        .await;
    match done {
        Ok(id) => {
            if let Err(e) = state
                .notifier
                .publish(&[TenancyEvent::TenantChanged(id)])
                .await
            {
                tracing::warn!(error = %e, "status change not announced");
            }
            HttpResponse::SeeOther()
                .insert_header(("Location", format!("/van-hanh?ok={}", status.as_str())))
                .finish()
        }
        Err(_) => page.render(StatusCode::NOT_FOUND, context! { expired => true }),
    }
}
