//! In-process per-tenant catalog cache. Catalogs change rarely and are read on every portal
//! page, so each instance keeps whole catalogs in memory and drops one when a change is
//! announced through Redis (see [`crate::tenancy::notify`]).

use super::Procedure;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use uuid::Uuid;

#[derive(Default)]
pub struct CatalogCache {
    entries: RwLock<HashMap<Uuid, Arc<[Procedure]>>>,
    /// Bumped on every invalidation, so a load that raced with one is not stored.
    generation: AtomicU64,
}

/// Ticket taken before loading from the database; see [`CatalogCache::store`].
pub struct LoadTicket(u64);

impl CatalogCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, tenant: Uuid) -> Option<Arc<[Procedure]>> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant)
            .cloned()
    }

    pub fn ticket(&self) -> LoadTicket {
        LoadTicket(self.generation.load(Ordering::Acquire))
    }

    /// Stores a freshly loaded catalog unless an invalidation happened since `ticket`.
    pub fn store(&self, tenant: Uuid, ticket: LoadTicket, catalog: Arc<[Procedure]>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) == ticket.0 {
            entries.insert(tenant, catalog);
        }
    }

    pub fn invalidate(&self, tenant: Uuid) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(&tenant);
    }

    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_raced_an_invalidation_is_dropped() {
        let cache = CatalogCache::new();
        let t = Uuid::new_v4();
        let ticket = cache.ticket();
        cache.invalidate(t);
        cache.store(t, ticket, Arc::from(Vec::new()));
        assert!(cache.get(t).is_none());
        let ticket = cache.ticket();
        cache.store(t, ticket, Arc::from(Vec::new()));
        assert!(cache.get(t).is_some());
        cache.invalidate(t);
        assert!(cache.get(t).is_none());
    }
}
