//! dvc: a multi-tenant platform for online public services (Cổng dịch vụ công trực tuyến).
//!
//! Read `docs/architecture.md` (and the project's DESIGN notes) for the map. In short:
//! HTTP → tenant resolver → handler → pure domain → store, where the store only ever reaches a
//! tenant's tables through [`db::TenantDb`].

pub mod api;
pub mod app;
pub mod auth;
pub mod client_addr;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod faults;
pub mod hosting;
pub mod http;
pub mod locale;
pub mod mail;
pub mod metrics;
pub mod notify;
pub mod progress;
pub mod redis_conn;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tenancy;
pub mod texts;
pub mod web;

pub use startup::Application;
