//! Upkeep the server does while it runs, on the whole deployment's state: custom domains
//! looked up again (a lapsed TXT record withdraws the domain), and API calls and storage
//! metered. The rules and the SQL are in `hosting::{domains, usage}`; this is their schedule.

use crate::error::AppError;
use crate::hosting::{domains, usage};
use crate::state::AppState;
use crate::tenancy::names::HostName;
use diesel::Connection;
use uuid::Uuid;

/// Looks the due proven domains up again and withdraws those whose record is gone. A lookup
/// that fails (DNS down) keeps the domain until a later check gets an answer. Returns the
/// domains withdrawn.
pub async fn recheck_domains(
    state: &AppState,
    older_than: std::time::Duration,
) -> anyhow::Result<Vec<String>> {
    let due = state
        .shared
        .run(move |c| Ok(domains::take_due(c, older_than, 100)?))
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut lapsed = Vec::new();
    for proven in due {
        let Ok(host) = HostName::parse(&proven.domain) else {
            continue;
        };
        match state.dns.txt(&domains::challenge_name(&host)).await {
            Ok(records) if domains::proves(&records, &proven.token) => {}
            Ok(_) => {
                let p = proven.clone();
                state
                    .shared
                    .run(move |c| Ok(domains::lapse(c, &p)?))
                    .await
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                tracing::warn!(domain = %proven.domain, "custom domain's record is gone: withdrawn");
                lapsed.push(proven);
            }
            Err(e) => {
                tracing::warn!(domain = %proven.domain, error = %e, "custom domain not rechecked");
            }
        }
    }
    for tenant in lapsed
        .iter()
        .map(|p| p.tenant_id)
        .collect::<std::collections::BTreeSet<_>>()
    {
        refresh_tenant(state, tenant).await?;
    }
    Ok(lapsed.into_iter().map(|p| p.domain).collect())
}

/// After a domain left a tenant: every instance reloads it, and its portal's sign-in client
/// loses the callback on that host.
async fn refresh_tenant(state: &AppState, tenant: Uuid) -> anyhow::Result<()> {
    let registry = state.registry.clone();
    let portal = crate::hosting::onboard::PortalAddress {
        base_domain: state.base_domain.clone(),
        public_origin: state.settings.server.public_origin.clone(),
    };
    state
        .shared
        .run(move |c| {
            registry.reload(c)?;
            if let Some(t) = registry.by_id(tenant) {
                portal.register(c, &t)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    if let Err(e) = state
        .notifier
        .publish(&[crate::tenancy::notify::TenancyEvent::TenantChanged(tenant)])
        .await
    {
        tracing::warn!(error = %e, "tenant change not announced");
    }
    Ok(())
}

/// Rechecks proven domains for as long as the server runs.
pub async fn run_domain_rechecks(state: actix_web::web::Data<AppState>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        tick.tick().await;
        if let Err(e) = recheck_domains(&state, domains::RECHECK_EVERY).await {
            tracing::warn!(error = %format_args!("{e:#}"), "custom domain recheck failed");
        }
    }
}

/// Tells each tenant's admins, by mail, when its parent has published a newer version of a
/// template the tenant adopted. Idempotent: one message per tenant, procedure, version and
/// admin (the outbox's key), however often it runs — so it runs on a schedule, and a version
/// published by any means (designer, tenant file, API) is announced once. Returns the messages
/// queued.
pub async fn notify_template_changes(state: &AppState) -> Result<usize, AppError> {
    use crate::auth::roles::{self, Role};
    use crate::services::catalog::{store, versions};
    let mut parents: std::collections::HashMap<Uuid, std::collections::HashMap<String, i32>> =
        std::collections::HashMap::new();
    let mut queued = 0;
    for child in state.registry.all() {
        let Some(parent) = child.parent_id.and_then(|p| state.registry.by_id(p)) else {
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(e) = parents.entry(parent.id) {
            let latest = parent
                .db(&state.pools)
                .run(|c| Ok(versions::latest_all(c)?))
                .await?;
            e.insert(latest);
        }
        let latest = &parents[&parent.id];
        let slug = parent.slug.as_str().to_owned();
        let behind: Vec<(String, String, i32, i32)> = child
            .db(&state.pools)
            .run(move |c| Ok(store::adopted_from(c, &slug)?))
            .await?
            .into_iter()
            .filter_map(|(code, name, adopted)| {
                let now = *latest.get(&code)?;
                (now > adopted).then_some((code, name, adopted, now))
            })
            .collect();
        if behind.is_empty() {
            continue;
        }
        let link = format!(
            "{}/quan-tri",
            child.portal_origin(
                state.base_domain.as_str(),
                &state.settings.server.public_origin
            )
        );
        let (child_id, parent_name) = (child.id, parent.name_vi.clone());
        queued += state
            .shared
            .run(move |c| {
                let mut n = 0;
                for (_, email, full_name, locale) in roles::holders(c, child_id, Role::TenantAdmin)?
                {
                    let Ok(recipient) = crate::mail::address::Email::parse(&email) else {
                        continue;
                    };
                    for (code, name, adopted, now) in &behind {
                        let mail = crate::mail::outbox::NewMail {
                            tenant_id: Some(child_id),
                            template: crate::mail::TemplateKey::TemplateChanged,
                            locale: crate::locale::Locale::parse(&locale).unwrap_or_default(),
                            recipient: recipient.clone(),
                            payload: serde_json::json!({
                                "full_name": full_name, "parent": parent_name,
                                "procedure_code": code, "procedure_name": name,
                                "version": now, "adopted": adopted, "link": link,
                            }),
                            idempotency_key: format!("template:{child_id}:{code}:{now}:{email}"),
                        };
                        n += usize::from(crate::mail::outbox::enqueue(c, &mail)?);
                    }
                }
                Ok(n)
            })
            .await?;
    }
    Ok(queued)
}

/// [`notify_template_changes`] every five minutes.
pub async fn run_template_notices(state: actix_web::web::Data<AppState>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        tick.tick().await;
        if let Err(e) = notify_template_changes(&state).await {
            tracing::warn!(error = %format_args!("{e:?}"), "template change notices failed");
        }
    }
}

/// Measures every tenant's attachments and stores the figures (one scoped transaction each).
pub async fn measure_storage(state: &AppState) -> Result<usize, AppError> {
    let mut measured = 0;
    for tenant in state.registry.all() {
        let id = tenant.id;
        tenant
            .db(&state.pools)
            .run(move |c| {
                let bytes = crate::services::dossiers::store::storage_used(c)?;
                Ok(usage::record_storage(c, id, bytes)?)
            })
            .await?;
        measured += 1;
    }
    Ok(measured)
}

/// Adds this instance's counted API calls to the database; on failure they are kept for the
/// next try.
pub async fn flush_usage(state: &AppState) -> Result<(), AppError> {
    let counts = state.api_calls.take();
    if counts.is_empty() {
        return Ok(());
    }
    let month = usage::month_of(chrono::Utc::now());
    let kept = counts.clone();
    let done = state
        .shared
        .run(move |c| Ok(c.transaction(|c| usage::add_api_calls(c, month, &counts))?))
        .await;
    if done.is_err() {
        state.api_calls.restore(kept);
    }
    done
}

/// Flushes API calls every `every`, and measures storage at start and hourly.
pub async fn run_usage(state: actix_web::web::Data<AppState>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    let mut last_measure: Option<std::time::Instant> = None;
    loop {
        tick.tick().await;
        if let Err(e) = flush_usage(&state).await {
            tracing::warn!(error = %e.chain(), "usage flush failed; kept for the next one");
        }
        if last_measure.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(3600)) {
            match measure_storage(&state).await {
                Ok(_) => last_measure = Some(std::time::Instant::now()),
                Err(e) => tracing::warn!(error = %e.chain(), "storage measurement failed"),
            }
        }
    }
}
