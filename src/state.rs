//! What every handler can reach.

use crate::config::Settings;
use crate::db::{Pools, SharedDb};
use crate::services::catalog::cache::CatalogCache;
use crate::tenancy::notify::Notifier;
use crate::tenancy::{HostName, Registry};
use std::sync::Arc;

pub struct AppState {
    pub settings: Settings,
    /// Only for handing out tenant handles; handlers never see a pool.
    pub(crate) pools: Pools,
    pub shared: SharedDb,
    pub registry: Arc<Registry>,
    pub catalog: Arc<CatalogCache>,
    pub notifier: Notifier,
    pub base_domain: HostName,
    pub rate_limiter: crate::auth::rate_limit::RateLimiter,
    /// Access tokens already verified (signature checked once per token).
    pub verified_tokens: crate::auth::verified::VerifiedTokens,
    /// Encrypts signing keys and TOTP secrets; absent when not configured.
    pub master_key: Option<Arc<crate::auth::keys::MasterKey>>,
    /// Token keys; replaced whole when a rotation is announced.
    pub keyring: std::sync::RwLock<Arc<crate::auth::keys::Keyring>>,
    /// Attachment bytes (local disk by default).
    pub storage: Arc<dyn crate::services::storage::Storage>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Where statistics are read: a replica when `database.read_url` is set, else the primary.
    pub stats_db: SharedDb,
    /// Rendered public pages (see `services::catalog::pages`).
    pub pages: crate::services::catalog::pages::PageCache,
    /// API calls counted since the last flush (see `tenancy::usage`).
    pub api_calls: crate::hosting::usage::ApiCalls,
    /// Checks custom domains' TXT records.
    pub dns: Arc<dyn crate::hosting::domains::TxtResolver>,
    /// What time it is for deadlines and expiry; the system's, except in tests.
    pub clock: Arc<dyn crate::clock::Clock>,
}

impl AppState {
    /// The time, as deadlines and expiry see it (see [`crate::clock`]).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub fn keyring(&self) -> Arc<crate::auth::keys::Keyring> {
        self.keyring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
