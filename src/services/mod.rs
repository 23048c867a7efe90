//! Public-service domain: procedures and (later) dossiers, workflow, calendar and statistics.

pub mod catalog;
pub mod text;
