//! Tenancy: who the tenants are, how a request finds its tenant, and how tenant schemas are
//! created and migrated.

pub mod apply;
pub mod archive;
pub mod domains;
pub mod files;
pub mod lifecycle;
pub mod migrator;
mod model;
pub mod names;
pub mod notify;
pub mod onboard;
pub mod plan;
pub mod provision;
pub mod quota;
pub mod registry;
pub mod resolver;
pub mod usage;

pub use model::{Plan, Tenant, TenantKind, TenantStatus};
pub use names::{HostName, SchemaName, TenantCode, TenantSlug};
pub use registry::Registry;
pub use resolver::CurrentTenant;
