//! What every handler can reach.

use crate::config::Settings;
use crate::db::{PgPool, SharedDb};
use crate::services::catalog::cache::CatalogCache;
use crate::tenancy::notify::Notifier;
use crate::tenancy::{HostName, Registry};
use std::sync::Arc;

pub struct AppState {
    pub settings: Settings,
    /// Only for handing to tenant handles and the shared handle; handlers never see it.
    pub(crate) pool: PgPool,
    pub shared: SharedDb,
    pub registry: Arc<Registry>,
    pub catalog: Arc<CatalogCache>,
    pub notifier: Notifier,
    pub base_domain: HostName,
}
