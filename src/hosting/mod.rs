//! Hosting: the operator's work on tenants above the tenancy core — tenant files and their
//! plan/apply, onboarding, lifecycle (suspend, archive, purge), archives (export/import),
//! custom domains and usage metering. It orchestrates services, accounts and mail, which the
//! tenancy core (names, registry, resolver, provisioning, migrations) must not depend on.

pub mod apply;
pub mod archive;
pub mod branding;
pub mod domains;
pub mod files;
pub mod lifecycle;
pub mod onboard;
pub mod plan;
pub mod procedure_block;
pub mod usage;
