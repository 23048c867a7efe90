//! In-process tenant registry: every tenant loaded once, looked up by slug or host without a
//! database round trip, reloaded when a change is announced (see [`super::notify`]).

use super::model::{Tenant, TenantKind, TenantStatus};
use super::names::{AgencyId, HostName, SchemaName, TenantCode, TenantSlug};
use crate::db::schema::{tenant_domains, tenants};
use diesel::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

#[derive(Default)]
struct Snapshot {
    by_slug: HashMap<TenantSlug, Arc<Tenant>>,
    by_domain: HashMap<HostName, Arc<Tenant>>,
    by_id: HashMap<Uuid, Arc<Tenant>>,
}

#[derive(Default)]
pub struct Registry {
    snapshot: RwLock<Arc<Snapshot>>,
}

type TenantRow = (
    Uuid,
    String,
    String,
    String,
    String,
    Option<Uuid>,
    String,
    Option<String>,
    String,
    serde_json::Value,
    String,
    serde_json::Value,
    serde_json::Value,
    Option<String>,
);

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    fn current(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a reload panicked; the old snapshot is still whole.
        self.snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn by_slug(&self, slug: &TenantSlug) -> Option<Arc<Tenant>> {
        self.current().by_slug.get(slug).cloned()
    }

    pub fn by_domain(&self, host: &HostName) -> Option<Arc<Tenant>> {
        self.current().by_domain.get(host).cloned()
    }

    pub fn by_id(&self, id: Uuid) -> Option<Arc<Tenant>> {
        self.current().by_id.get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        self.current().by_slug.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All tenants, sorted by slug.
    pub fn all(&self) -> Vec<Arc<Tenant>> {
        let mut all: Vec<_> = self.current().by_slug.values().cloned().collect();
        all.sort_by(|a, b| a.slug.cmp(&b.slug));
        all
    }

    /// The tenant's ancestors, nearest first (bounded, so a corrupt cycle cannot loop).
    pub fn ancestors(&self, id: Uuid) -> Vec<Uuid> {
        let snap = self.current();
        let mut out = Vec::new();
        let mut next = snap.by_id.get(&id).and_then(|t| t.parent_id);
        while let Some(p) = next {
            if out.contains(&p) || out.len() > 16 {
                break;
            }
            out.push(p);
            next = snap.by_id.get(&p).and_then(|t| t.parent_id);
        }
        out
    }

    /// Every tenant below `id` (children, their children, …), sorted by slug.
    pub fn descendants(&self, id: Uuid) -> Vec<Arc<Tenant>> {
        let snap = self.current();
        let mut out: Vec<_> = snap
            .by_id
            .values()
            .filter(|t| t.id != id && self.ancestors(t.id).contains(&id))
            .cloned()
            .collect();
        out.sort_by(|a, b| a.slug.cmp(&b.slug));
        out
    }

    /// Replaces the whole snapshot with what the database holds now.
    pub fn reload(&self, conn: &mut PgConnection) -> QueryResult<usize> {
        let loaded = load_all(conn)?;
        let mut snap = Snapshot::default();
        for t in loaded {
            let t = Arc::new(t);
            for d in &t.domains {
                snap.by_domain.insert(d.clone(), t.clone());
            }
            snap.by_id.insert(t.id, t.clone());
            snap.by_slug.insert(t.slug.clone(), t);
        }
        let n = snap.by_slug.len();
        *self
            .snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(snap);
        Ok(n)
    }
}

/// Reads every tenant with its domains. Rows that fail re-validation are skipped and logged:
/// the CHECK constraints make that a sign of tampering, not of normal operation.
pub fn load_all(conn: &mut PgConnection) -> QueryResult<Vec<Tenant>> {
    let rows: Vec<TenantRow> = tenants::table
        .order(tenants::slug)
        .select((
            tenants::id,
            tenants::slug,
            tenants::schema_name,
            tenants::code,
            tenants::kind,
            tenants::parent_id,
            tenants::name_vi,
            tenants::name_en,
            tenants::locale,
            tenants::branding,
            tenants::status,
            tenants::contact,
            tenants::plan,
            tenants::agency_id,
        ))
        .load(conn)?;
    let domains: Vec<(Uuid, String)> = tenant_domains::table
        .select((tenant_domains::tenant_id, tenant_domains::domain))
        .load(conn)?;
    let mut domains_by_tenant: HashMap<Uuid, Vec<HostName>> = HashMap::new();
    for (tenant_id, domain) in domains {
        match HostName::parse(&domain) {
            Ok(h) => domains_by_tenant.entry(tenant_id).or_default().push(h),
            Err(e) => tracing::error!(%tenant_id, error = %e, "skipping invalid stored domain"),
        }
    }
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let id = row.0;
            let domains = domains_by_tenant.remove(&id).unwrap_or_default();
            tenant_from_row(row, domains)
                .map_err(
                    |e| tracing::error!(tenant_id = %id, error = %e, "skipping invalid tenant row"),
                )
                .ok()
        })
        .collect())
}

fn tenant_from_row(row: TenantRow, domains: Vec<HostName>) -> Result<Tenant, String> {
    let (
        id,
        slug,
        schema,
        code,
        kind,
        parent_id,
        name_vi,
        name_en,
        locale,
        mut branding,
        status,
        contact,
        plan,
        agency_id,
    ) = row;
    // The portal's footer shows the contact with the branding.
    if let Some(b) = branding.as_object_mut() {
        b.insert("contact".into(), contact);
    }
    let slug = TenantSlug::parse(&slug).map_err(|e| e.to_string())?;
    let schema = SchemaName::parse(&schema).map_err(|e| e.to_string())?;
    if schema != slug.schema_name() {
        return Err(format!("schema {schema} does not belong to slug {slug}"));
    }
    Ok(Tenant {
        id,
        code: TenantCode::parse(&code).map_err(|e| e.to_string())?,
        agency_id: agency_id
            .map(|a| AgencyId::parse(&a))
            .transpose()
            .map_err(|e| e.to_string())?,
        kind: TenantKind::parse(&kind).ok_or_else(|| format!("unknown kind {kind}"))?,
        status: TenantStatus::parse(&status).ok_or_else(|| format!("unknown status {status}"))?,
        slug,
        schema,
        parent_id,
        name_vi,
        name_en,
        locale,
        branding,
        domains,
        // A plan that no longer parses (edited by hand) limits nothing rather than the tenant.
        plan: serde_json::from_value(plan).unwrap_or_default(),
    })
}
