//! Settles payments whose IPN never came: every `payments.reconcile_interval_secs`, each
//! tenant's payments still pending after `payments.query_after_secs` are queried at the
//! gateway, and the signed answer is applied like an IPN. Runs on its own thread (the HTTP
//! client is single-threaded).

use super::merchant;
use super::provider;
use super::store;
use crate::auth::keys::MasterKey;
use crate::config::Settings;
use crate::db::Pools;
use crate::services::dossiers::Scope;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub fn spawn(
    pools: Pools,
    settings: Settings,
    master: Option<Arc<MasterKey>>,
    shutdown: watch::Receiver<bool>,
) -> Option<std::thread::JoinHandle<()>> {
    let master = master?;
    Some(
        std::thread::Builder::new()
            .name("dvc-payments".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(run(pools, settings, master, shutdown));
            })
            .expect("spawn payments thread"),
    )
}

async fn run(
    pools: Pools,
    settings: Settings,
    master: Arc<MasterKey>,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = Duration::from_secs(settings.payments.reconcile_interval_secs.max(1));
    while !*shutdown.borrow() {
        match once(&pools, &settings, &master).await {
            Ok(n) if n > 0 => tracing::info!(settled = n, "pending payments queried"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "payment reconciliation failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// One pass over every tenant with a merchant account; how many payments were queried.
pub async fn once(
    pools: &Pools,
    settings: &Settings,
    master: &Arc<MasterKey>,
) -> anyhow::Result<usize> {
    let tenants = {
        let pools = pools.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut conn = pools.shared().get()?;
            Ok(crate::tenancy::registry::load_all(&mut conn)?)
        })
        .await??
    };
    let cutoff =
        chrono::Utc::now() - chrono::Duration::seconds(settings.payments.query_after_secs as i64);
    let mut queried = 0;
    let ttl = chrono::Duration::seconds(settings.payments.intent_ttl_secs as i64);
    for tenant in tenants {
        // One tenant's trouble (its gateway down, a bad row) must not stop the others.
        match tenant_pass(pools, settings, master, &tenant, cutoff, ttl).await {
            Ok(n) => queried += n,
            Err(e) => {
                tracing::warn!(tenant = %tenant.slug, error = %e, "reconciliation pass failed");
            }
        }
    }
    Ok(queried)
}

async fn tenant_pass(
    pools: &Pools,
    settings: &Settings,
    master: &Arc<MasterKey>,
    tenant: &crate::tenancy::Tenant,
    cutoff: chrono::DateTime<chrono::Utc>,
    ttl: chrono::Duration,
) -> anyhow::Result<usize> {
    let (pools2, master2, id) = (pools.clone(), master.clone(), tenant.id);
    let Some(m) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut conn = pools2.shared().get()?;
        Ok(merchant::for_tenant(&mut conn, &master2, id)?)
    })
    .await??
    else {
        return Ok(0);
    };
    let Some(p) = provider::for_name(&m.provider) else {
        return Ok(0);
    };
    let db = tenant.db(pools);
    let pending = db
        .run(move |conn| Ok(store::pending(conn, cutoff)?))
        .await?;
    let scope = Scope {
        tenant_id: tenant.id,
        tenant_slug: tenant.slug.as_str().to_owned(),
        tenant_code: tenant.code.as_str().to_owned(),
        code_prefix: tenant.code.as_str().to_owned(),
        links_base: settings.auth.issuer.clone(),
        portal_origin: tenant
            .portal_origin(&settings.server.base_domain, &settings.server.public_origin),
        due_soon_days: settings.dossiers.due_soon_days,
        sync_targets: Arc::default(),
        texts: crate::notify::TextPolicy::from_settings(&settings.texts),
        shared_writes: settings.database.shared_writes,
    };
    let now = chrono::Utc::now();
    let mut queried = 0;
    for (reference, created_at) in pending {
        queried += 1;
        match p.query(&m, &reference).await {
            Ok(Some(n)) => {
                let (sc, mid) = (scope.clone(), m.merchant_id.clone());
                let raw = n.to_params();
                if let Err(e) = db
                    .run(move |conn| Ok(store::apply(conn, &sc, &mid, Some(&n), "query", &raw)?))
                    .await
                {
                    tracing::warn!(%reference, error = %e, "settling from a status query failed");
                }
            }
            Ok(None) if now - created_at > ttl => {
                let r = reference.clone();
                db.run(move |conn| Ok(store::expire(conn, &r)?)).await?;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(%reference, error = %e, "status query failed"),
        }
    }
    Ok(queried)
}
