//! Processes (quy trình) of procedures: the ordered steps a dossier goes through inside a
//! tenant, each acted on by a unit (phòng ban) and role, with the actions it allows and its
//! share of the legal time limit. Pure: `model` says what a process is and checks one against
//! the tenant's units and the procedure's time limit; `engine` moves a dossier between steps
//! and gives each step its due time on the working-day calendar.
//!
//! A procedure without a declared process keeps the fixed path of
//! [`crate::services::dossiers::workflow`].

pub mod engine;
pub mod model;
pub mod units;

pub use engine::{Move, StepError, after_transfer, step_due};
pub use model::{Budget, Process, ProcessError, Step, StepAction, StepRole, UnitCode};
