//! Public-service domain: the catalog, dossiers and their workflow, the working-day calendar,
//! forms, attachments, statistics, reminders and upward sync.

pub mod attachments;
pub mod calendar;
pub mod catalog;
pub mod complaints;
pub mod dossiers;
pub mod forms;
pub mod idempotency;
pub mod payments;
pub mod processes;
pub mod relay;
pub mod reminders;
pub mod results;
pub mod service_index;
pub mod slips;
pub mod stats;
pub mod storage;
pub mod sync;
pub mod text;
pub mod transfers;
pub mod wallet;
