//! Tenancy core: who the tenants are, how a request finds its tenant, and how tenant schemas
//! are created and migrated. (The actix extractor that hands a request its tenant, and the
//! per-tenant quota, are in `http`.) The operator's work on tenants (files, onboarding, archives,
//! domains, usage) is in `hosting`, above.

pub mod migrator;
mod model;
pub mod names;
pub mod notify;
pub mod provision;
pub mod registry;
pub mod resolver;

pub use model::{Plan, Tenant, TenantKind, TenantStatus};
pub use names::{AgencyId, HostName, SchemaName, TenantCode, TenantSlug};
pub use registry::Registry;
pub use resolver::CurrentTenant;
