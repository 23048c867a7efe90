//! Inter-agency dossiers (liên thông): a step of one tenant's process hands the dossier to
//! another tenant (a commune to its province, a province to a ministry division), which decides
//! it with its own process and sends the result back.
//!
//! A transfer is a row of the shared `platform.dossier_transfers`, written in the sending
//! tenant's transaction together with the change to its dossier (the transactional outbox), and
//! delivered in the receiving tenant's transaction together with the copy it makes, which marks
//! the row delivered. Either transaction may die: the row is then still pending and is delivered
//! again, and the receiver keys its copy by the transfer's id, so a dossier is never in two
//! places or in none. `model` holds what travels; `store` the shared rows.

pub mod model;
pub mod store;

pub use model::{
    DossierPayload, FileRef, Kind, Milestone, ResultOutcome, ResultPayload, may_receive,
};
pub use store::{NewTransfer, Transfer, TransferView};
