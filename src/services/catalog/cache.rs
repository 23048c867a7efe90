//! In-process per-tenant catalog cache. Catalogs change rarely and are read on every portal
//! page, so each instance keeps whole catalogs in memory and drops one when a change is
//! announced through Redis (see [`crate::tenancy::notify`]).
//!
//! Besides the procedures, an entry keeps the serialized JSON of a few hot pages (first pages
//! without a keyword: the home page and field listings), so the commonest request costs a map
//! lookup instead of building and serializing the page again.

use super::{FieldCode, Procedure, ProcedureQuery};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Serialized pages kept per tenant; bounds memory to about this many pages × page size.
const HOT_PAGES_PER_TENANT: usize = 16;

/// One tenant's cached catalog.
pub struct CachedCatalog {
    procedures: Vec<Procedure>,
    hot_pages: Mutex<HashMap<(Option<FieldCode>, u32), Bytes>>,
}

impl CachedCatalog {
    pub fn new(procedures: Vec<Procedure>) -> Self {
        Self {
            procedures,
            hot_pages: Mutex::default(),
        }
    }

    pub fn procedures(&self) -> &[Procedure] {
        &self.procedures
    }

    /// The page for `query` as JSON, from the hot pages when it is one of them.
    pub fn page_json(&self, query: &ProcedureQuery) -> serde_json::Result<Bytes> {
        let render = || -> serde_json::Result<Bytes> {
            Ok(Bytes::from(serde_json::to_vec(
                &query.apply(&self.procedures),
            )?))
        };
        if query.page != 1 || query.terms.is_some() {
            return render();
        }
        let key = (query.field.clone(), query.per_page);
        if let Some(hit) = self.hot_pages().get(&key) {
            return Ok(hit.clone());
        }
        let json = render()?;
        let mut pages = self.hot_pages();
        if pages.len() < HOT_PAGES_PER_TENANT {
            pages.insert(key, json.clone());
        }
        Ok(json)
    }

    fn hot_pages(&self) -> std::sync::MutexGuard<'_, HashMap<(Option<FieldCode>, u32), Bytes>> {
        self.hot_pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Catalogs of at most `max_tenants` tenants: with thousands of tenants on one deployment the
/// rarely visited ones are evicted (S3-FIFO, by `quick_cache`) and read from the database again
/// when asked for, so memory is bounded by configuration, not by the tenant count.
pub struct CatalogCache {
    entries: quick_cache::sync::Cache<Uuid, Arc<CachedCatalog>>,
    /// Bumped on every invalidation, so a load that raced with one is not stored. Stores and
    /// invalidations take `writes` so the check and the insert are one step.
    generation: AtomicU64,
    writes: Mutex<()>,
}

/// Ticket taken before loading from the database; see [`CatalogCache::store`].
pub struct LoadTicket(u64);

impl Default for CatalogCache {
    /// Bounded as `catalog.max_tenants` is by default.
    fn default() -> Self {
        Self::bounded(crate::config::CatalogSettings::default().max_tenants)
    }
}

impl CatalogCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn bounded(max_tenants: usize) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(max_tenants.max(1)),
            generation: AtomicU64::new(0),
            writes: Mutex::new(()),
        }
    }

    pub fn get(&self, tenant: Uuid) -> Option<Arc<CachedCatalog>> {
        self.entries.get(&tenant)
    }

    pub fn ticket(&self) -> LoadTicket {
        LoadTicket(self.generation.load(Ordering::Acquire))
    }

    /// Stores a freshly loaded catalog unless an invalidation happened since `ticket`.
    pub fn store(&self, tenant: Uuid, ticket: LoadTicket, catalog: Arc<CachedCatalog>) {
        let _writing = self.writing();
        if self.generation.load(Ordering::Acquire) == ticket.0 {
            self.entries.insert(tenant, catalog);
        }
    }

    pub fn invalidate(&self, tenant: Uuid) {
        let _writing = self.writing();
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.remove(&tenant);
    }

    pub fn clear(&self) {
        let _writing = self.writing();
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn writing(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::text::SearchTerms;

    #[test]
    fn a_load_that_raced_an_invalidation_is_dropped() {
        let cache = CatalogCache::new();
        let t = Uuid::new_v4();
        let empty = || Arc::new(CachedCatalog::new(Vec::new()));
        let ticket = cache.ticket();
        cache.invalidate(t);
        cache.store(t, ticket, empty());
        assert!(cache.get(t).is_none());
        let ticket = cache.ticket();
        cache.store(t, ticket, empty());
        assert!(cache.get(t).is_some());
        cache.invalidate(t);
        assert!(cache.get(t).is_none());
    }

    #[test]
    fn the_cache_keeps_no_more_tenants_than_it_is_bounded_to() {
        let cache = CatalogCache::bounded(50);
        let tenants: Vec<Uuid> = (0..1_000).map(|_| Uuid::new_v4()).collect();
        for t in &tenants {
            let ticket = cache.ticket();
            cache.store(*t, ticket, Arc::new(CachedCatalog::new(Vec::new())));
        }
        assert!(cache.len() <= 50, "{} kept", cache.len());
        assert!(!cache.is_empty());
        // A tenant read over and over stays while one-off visitors come and go.
        let hot = tenants[999];
        for t in tenants.iter().take(500) {
            assert!(cache.get(hot).is_some() || cache.len() < 50);
            let ticket = cache.ticket();
            cache.store(*t, ticket, Arc::new(CachedCatalog::new(Vec::new())));
            let _ = cache.get(hot);
        }
        assert!(cache.get(hot).is_some(), "the hot tenant was evicted");
    }

    #[test]
    fn hot_pages_are_the_same_bytes_as_a_fresh_render_and_bounded() {
        let catalog = CachedCatalog::new(Vec::new());
        let q = ProcedureQuery::default();
        let first = catalog.page_json(&q).unwrap();
        let again = catalog.page_json(&q).unwrap();
        assert_eq!(first.as_ptr(), again.as_ptr());
        assert_eq!(
            &*first,
            serde_json::to_vec(&q.apply(&[])).unwrap().as_slice()
        );
        let searched = ProcedureQuery {
            terms: SearchTerms::parse("x"),
            ..ProcedureQuery::default()
        };
        catalog.page_json(&searched).unwrap();
        for per_page in 1..=40 {
            catalog
                .page_json(&ProcedureQuery {
                    per_page,
                    ..ProcedureQuery::default()
                })
                .unwrap();
        }
        assert_eq!(catalog.hot_pages().len(), HOT_PAGES_PER_TENANT);
    }
}
