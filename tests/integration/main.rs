//! Integration tests: the real server against real PostgreSQL and Redis.

#![allow(clippy::unwrap_used)] // a panic here is a failed test or bench, not an outage

mod common;

mod accounts;
mod api;
mod archive;
mod auth;
mod browser;
mod browser_complaints;
mod browser_designer;
mod browser_results;
mod catalog_import;
mod channel_stats;
mod citus;
mod complaints;
mod deploy;
mod designer;
mod desk;
mod dossiers;
mod faults;
mod hardening_config;
mod hardening_input;
mod isolation;
mod mail;
mod migrations;
mod onboarding;
mod payments;
mod pgbouncer;
mod portal;
mod processes;
mod quota;
mod relay;
mod results;
mod service_index;
mod signed_results;
mod slips;
mod sso;
mod stats_sync;
mod templates;
mod tenant_files;
mod texts;
mod transfers;
mod unit_processes;
mod versions;
mod world;
