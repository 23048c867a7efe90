//! Use cases: what the JSON API and the HTML portal both do — submit a dossier, act on it,
//! pay, onboard, manage members and the catalog, sign in. An adapter (`api`, `web`) extracts
//! its input, calls one of these and maps the outcome; adapters never call each other.

pub mod accounts;
pub mod auth;
pub mod branding;
pub mod catalog_admin;
pub mod catalog_import;
pub mod complaints;
pub mod designer;
pub mod desk;
pub mod dossiers;
pub mod members;
pub mod oidc;
pub mod onboarding;
pub mod payments;
pub mod procedures;
pub mod results;
pub mod service_index;
pub mod slips;
pub mod stats;
pub mod steps;
pub mod transfers;
pub mod units;
pub mod upkeep;
pub mod wallet;
