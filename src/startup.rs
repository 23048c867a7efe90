//! Builds the whole application from a [`Settings`] value and binds its own listener, so tests
//! start the real server on port 0.

use crate::auth::keys::{Keyring, MasterKey};
use crate::config::Settings;
use crate::db::{Pools, SharedDb};
use crate::services::catalog::cache::CatalogCache;
use crate::state::AppState;
use crate::telemetry::DvcRootSpan;
use crate::tenancy::notify::{ListenerGuard, Notifier, TenancyEvent};
use crate::tenancy::{HostName, Registry};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tracing_actix_web::TracingLogger;

/// How often the registry is reloaded even without an event (covers Redis outages).
const REGISTRY_REFRESH: Duration = Duration::from_secs(60);

pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on a listener of its own, never the public one.
    metrics: Option<(u16, Server)>,
    state: web::Data<AppState>,
    _listener: ListenerGuard,
    mail_worker: Option<InProcessWorker>,
}

/// The mail worker running inside `dvc serve` (`mail.worker_in_process`).
struct InProcessWorker {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    webhooks: std::thread::JoinHandle<()>,
    texts: std::thread::JoinHandle<()>,
    payments: Option<std::thread::JoinHandle<()>>,
    reminders: tokio::task::JoinHandle<()>,
    relay: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, crate::hosting::domains::system_or_none()).await
    }

    /// As [`build`](Self::build), with the resolver that checks custom domains' TXT records.
    pub async fn build_with(
        settings: Settings,
        dns: Arc<dyn crate::hosting::domains::TxtResolver>,
    ) -> anyhow::Result<Self> {
        Self::build_wired(settings, dns, Arc::new(crate::clock::SystemClock)).await
    }

    /// As [`build_with`](Self::build_with), with the clock deadlines and expiry are read from
    /// (tests set the time instead of waiting for it).
    pub async fn build_wired(
        mut settings: Settings,
        dns: Arc<dyn crate::hosting::domains::TxtResolver>,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> anyhow::Result<Self> {
        let base_domain = HostName::parse(&settings.server.base_domain)
            .context("server.base_domain is not a valid host name")?;
        let pools = Pools::build(&settings.database);
        settings.database.shared_writes = {
            let (setting, pool) = (settings.database.shared_writes, pools.shared().clone());
            tokio::task::spawn_blocking(move || {
                crate::db::citus::resolve_shared_writes(setting, &pool)
            })
            .await?
        };
        let shared = SharedDb::new(pools.shared().clone());
        let registry = Arc::new(Registry::new());
        let catalog = Arc::new(CatalogCache::bounded(settings.catalog.max_tenants));
        let notifier = Notifier::new(&settings.redis.url, &settings.redis.prefix)
            .context("redis.url is invalid")?;

        let (reload, reloader) = spawn_registry_reloader(shared.clone(), registry.clone());
        // First load before serving, so the first requests see every tenant. A database that
        // is not up yet is not fatal: the reloader keeps trying and /readyz says so.
        if let Err(e) = reload_now(&shared, &registry).await {
            tracing::warn!(error = %e, "tenant registry not loaded yet");
        }
        let master = settings
            .auth
            .master_key
            .as_ref()
            .map(MasterKey::from_secret)
            .transpose()
            .context("auth.master_key")?
            .map(Arc::new);
        // The operator console signs in through this host's own sign-in page.
        let console = crate::web::console::client_redirect(&settings.auth.issuer);
        if let Err(e) = shared
            .run(move |c| {
                Ok(crate::auth::sso::upsert_client(
                    c,
                    crate::web::console::CLIENT_ID,
                    "Bảng vận hành — Operator console",
                    None,
                    &[console],
                )?)
            })
            .await
        {
            tracing::warn!(error = %e, "operator console client not registered yet");
        }
        let keyring = load_keyring(&shared, master.clone())
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "signing keys not loaded");
                Keyring::empty()
            });

        let state = web::Data::new(AppState {
            settings: settings.clone(),
            pools,
            shared: shared.clone(),
            registry,
            catalog: catalog.clone(),
            verified_tokens: Default::default(),
            master_key: master.clone(),
            rate_limiter: crate::auth::rate_limit::RateLimiter::new(
                notifier.redis().clone(),
                &settings.redis.prefix,
            ),
            notifier: notifier.clone(),
            base_domain,
            keyring: std::sync::RwLock::new(Arc::new(keyring)),
            storage: Arc::new(crate::services::storage::LocalDisk::new(
                &settings.dossiers.storage_root,
            )),
            metrics: Arc::new(crate::metrics::Metrics::new(
                settings.metrics.max_tenant_labels,
            )),
            stats_db: match &settings.database.read_url {
                Some(url) => {
                    let mut replica = settings.database.clone();
                    replica.url = url.clone();
                    SharedDb::new(crate::db::build_pool_sized(
                        &replica,
                        (settings.database.pool_size / 4).max(2),
                    ))
                }
                None => shared.clone(),
            },
            pages: Default::default(),
            api_calls: Default::default(),
            dns,
            clock,
        });
        // Read by `client_addr::of`, which sits below the state and so cannot see it.
        let trusted_proxies = web::Data::new(
            crate::client_addr::TrustedProxies::parse(&settings.server.trusted_proxies)
                .map_err(|e| anyhow::anyhow!("server.trusted_proxies: {e}"))?,
        );
        tokio::spawn(crate::app::upkeep::run_usage(
            state.clone(),
            std::time::Duration::from_secs(10),
        ));
        tokio::spawn(crate::app::upkeep::run_domain_rechecks(state.clone()));
        tokio::spawn(crate::app::upkeep::run_template_notices(state.clone()));
        if settings.dossiers.transfers_in_process {
            // Transfers a crash or a failed attempt left pending; the first sweep runs now.
            tokio::spawn(
                crate::app::transfers::Deliverer::of(&state).run(Duration::from_secs(
                    settings.dossiers.transfer_sweep_seconds.max(1),
                )),
            );
        }
        let listener = {
            let catalog = catalog.clone();
            let keys_state = state.clone();
            notifier
                .spawn_listener(
                    REGISTRY_REFRESH,
                    Arc::new(move |event| {
                        match event {
                            TenancyEvent::TenantChanged(id) | TenancyEvent::CatalogChanged(id) => {
                                catalog.invalidate(id);
                            }
                            TenancyEvent::KeysChanged => {}
                            TenancyEvent::All => catalog.clear(),
                        }
                        if matches!(event, TenancyEvent::KeysChanged | TenancyEvent::All) {
                            spawn_keyring_reload(keys_state.clone(), master.clone());
                        }
                        reload.notify_one();
                    }),
                )
                .also(reloader)
        };
        let tcp = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .with_context(|| {
                format!(
                    "cannot bind {}:{}",
                    settings.server.host, settings.server.port
                )
            })?;
        let port = tcp.local_addr()?.port();
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            n => n,
        };
        // Blocking threads beyond the pool size only queue on the pool and context-switch.
        let blocking = (settings.database.pool_size as usize / workers).max(1);
        let mail_worker = if settings.mail.worker_in_process {
            let worker = crate::mail::worker::Worker::new(&settings, state.shared.pool().clone())
                .context("mail worker")?;
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let task = tokio::spawn(Arc::new(worker).run(stopped.clone()));
            let webhooks = crate::services::sync::delivery::Deliverer::new(
                state.shared.pool().clone(),
                settings.sync.clone(),
            )
            .spawn(stopped.clone());
            let texts =
                crate::texts::worker::TextWorker::new(&settings, state.shared.pool().clone())
                    .spawn(stopped.clone());
            let payments = crate::services::payments::reconcile::spawn(
                state.pools.clone(),
                settings.clone(),
                state.master_key.clone(),
                stopped.clone(),
            );
            let relay =
                crate::services::relay::Drainer::when_relaying(&state.pools, &settings.database)
                    .map(|d| d.spawn(stopped.clone()));
            let reminders = tokio::spawn(crate::services::reminders::run(
                state.pools.clone(),
                settings.dossiers.digest_hour,
                stopped,
            ));
            Some(InProcessWorker {
                stop,
                relay,
                task,
                webhooks,
                texts,
                payments,
                reminders,
            })
        } else {
            None
        };
        let app_state = state.clone();
        let sandbox = settings.payments.sandbox;
        let server = HttpServer::new(move || {
            App::new()
                // Inside the measuring, so refused requests are counted too.
                .wrap(crate::http::quota::TenantQuota)
                .wrap_fn(crate::api::health::measure)
                .wrap(TracingLogger::<DvcRootSpan>::new())
                .app_data(app_state.clone())
                .app_data(trusted_proxies.clone())
                .configure(|cfg| {
                    if sandbox {
                        crate::api::sandbox::routes(cfg);
                    }
                })
                .configure(crate::api::routes)
                .configure(crate::web::routes)
                .configure(crate::web::sso_routes)
                .default_service(web::to(crate::web::not_found))
        })
        .workers(workers)
        .worker_max_blocking_threads(blocking)
        .shutdown_timeout(settings.server.shutdown_timeout_secs)
        .listen(tcp)?
        .run();
        tracing::info!(port, workers, blocking, "dvc listening");
        let metrics = match (settings.metrics.enabled, settings.server.metrics_port) {
            (true, Some(metrics_port)) => {
                let tcp = TcpListener::bind((settings.server.host.as_str(), metrics_port))
                    .with_context(|| {
                        format!(
                            "cannot bind {}:{metrics_port} (server.metrics_port)",
                            settings.server.host
                        )
                    })?;
                let bound = tcp.local_addr()?.port();
                let app_state = state.clone();
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(app_state.clone())
                        .app_data(crate::api::health::MetricsListener)
                        .route("/metrics", web::get().to(crate::api::health::metrics))
                })
                .workers(1)
                .shutdown_timeout(1)
                .disable_signals()
                .listen(tcp)?
                .run();
                tracing::info!(port = bound, "metrics listening");
                Some((bound, server))
            }
            _ => None,
        };
        Ok(Self {
            port,
            server,
            metrics,
            state,
            _listener: listener,
            mail_worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` answers on, when metrics are on.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(p, _)| *p)
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests (graceful shutdown) and
    /// lets an in-process mail worker finish the messages it is sending.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            server,
            metrics,
            _listener,
            mail_worker,
            ..
        } = self;
        let metrics = metrics.map(|(_, m)| {
            let handle = m.handle();
            (tokio::spawn(m), handle)
        });
        let served = server.await;
        if let Some((task, handle)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        if let Some(w) = mail_worker {
            let _ = w.stop.send(true);
            let _ = w.task.await;
            let _ = w.reminders.await;
            if let Some(relay) = w.relay {
                let _ = relay.await;
            }
            let _ = tokio::task::spawn_blocking(move || {
                let _ = w.webhooks.join();
                let _ = w.texts.join();
                w.payments.map(std::thread::JoinHandle::join)
            })
            .await;
        }
        served
    }
}

async fn load_keyring(
    shared: &SharedDb,
    master: Option<Arc<MasterKey>>,
) -> Result<Keyring, crate::error::AppError> {
    shared
        .run(move |conn| {
            Keyring::load(conn, master.as_deref()).map_err(crate::error::AppError::internal)
        })
        .await
}

fn spawn_keyring_reload(state: web::Data<AppState>, master: Option<Arc<MasterKey>>) {
    tokio::spawn(async move {
        match load_keyring(&state.shared, master).await {
            Ok(ring) => {
                *state
                    .keyring
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(ring);
                state.verified_tokens.clear();
            }
            Err(e) => tracing::warn!(error = %e, "signing keys reload failed"),
        }
    });
}

async fn reload_now(
    shared: &SharedDb,
    registry: &Arc<Registry>,
) -> Result<usize, crate::error::AppError> {
    let registry = registry.clone();
    shared.run(move |conn| Ok(registry.reload(conn)?)).await
}

/// One task reloads the registry; a burst of events becomes one reload.
fn spawn_registry_reloader(
    shared: SharedDb,
    registry: Arc<Registry>,
) -> (Arc<Notify>, tokio::task::JoinHandle<()>) {
    let wake = Arc::new(Notify::new());
    let waiter = wake.clone();
    let task = tokio::spawn(async move {
        loop {
            waiter.notified().await;
            if let Err(e) = reload_now(&shared, &registry).await {
                tracing::warn!(error = %e, "tenant registry reload failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                waiter.notify_one();
            }
        }
    });
    (wake, task)
}
