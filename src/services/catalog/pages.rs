//! Rendered pages for visitors who are not signed in (the home page, procedure pages), kept
//! for a short while. A page is valid only while the tenant and its catalog are the very
//! ones it was rendered from: a catalog or branding change (any instance's, through Redis)
//! replaces those, so the next request renders afresh. The form token differs per browser:
//! pages are stored with a placeholder that is replaced on the way out.

use crate::locale::Locale;
use crate::services::catalog::cache::CachedCatalog;
use crate::tenancy::Tenant;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

/// Stands for the browser's form token in a stored page (never a real token: those are
/// 43 URL-safe characters).
pub const TOKEN_HOLE: &str = "@@dvc-form-token@@";
const TTL: Duration = Duration::from_secs(30);
const MAX_ENTRIES: usize = 4096;

struct Entry {
    at: Instant,
    tenant: Weak<Tenant>,
    catalog: Weak<CachedCatalog>,
    html: Arc<String>,
}

#[derive(Default)]
pub struct PageCache {
    entries: RwLock<HashMap<(uuid::Uuid, Locale, String), Entry>>,
}

impl PageCache {
    pub fn get(
        &self,
        tenant: &Arc<Tenant>,
        catalog: &Arc<CachedCatalog>,
        locale: Locale,
        path: &str,
    ) -> Option<Arc<String>> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let e = entries.get(&(tenant.id, locale, path.to_owned()))?;
        let same = e.tenant.upgrade().is_some_and(|t| Arc::ptr_eq(&t, tenant))
            && e.catalog
                .upgrade()
                .is_some_and(|c| Arc::ptr_eq(&c, catalog));
        (same && e.at.elapsed() < TTL).then(|| e.html.clone())
    }

    pub fn put(
        &self,
        tenant: &Arc<Tenant>,
        catalog: &Arc<CachedCatalog>,
        locale: Locale,
        path: &str,
        html: Arc<String>,
    ) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            // Crude but bounded: a full cache starts over (entries are cheap to rebuild).
            entries.clear();
        }
        entries.insert(
            (tenant.id, locale, path.to_owned()),
            Entry {
                at: Instant::now(),
                tenant: Arc::downgrade(tenant),
                catalog: Arc::downgrade(catalog),
                html,
            },
        );
    }
}
