//! What the dossier store refuses, and why. Which HTTP status and stable `code` each case is
//! answered with is decided at the edge (`impl From<DossierError> for AppError` in
//! `app::dossiers`); the messages here are the problem's `detail`.

use super::Status;
use super::workflow::WorkflowError;

#[derive(Debug, thiserror::Error)]
pub enum DossierError {
    /// No such dossier, procedure or attachment, or a dossier the caller may not see (the
    /// same answer, so codes cannot be probed).
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The submitting account is gone (its token outlived it).
    #[error("the applicant's account does not exist")]
    UnknownApplicant,
    /// The caller's role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// The dossier as it stands refuses the change.
    #[error("conflict: {0}")]
    Conflict(#[from] Conflict),
    /// Input the store itself checks, refused.
    #[error("invalid request: {0}")]
    BadInput(#[from] BadInput),
    /// The procedure's stored fee rule does not parse: the tenant's data, not the caller's.
    #[error("the procedure's fee rule is invalid: {0}")]
    FeeRule(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Why the dossier's current state refuses a change.
#[derive(Debug, thiserror::Error)]
pub enum Conflict {
    /// Optimistic concurrency: someone else changed the dossier since the caller read it.
    #[error("the dossier was changed by someone else (now at version {current}); reload it")]
    Stale { current: i32 },
    /// The action does not apply to the dossier's status.
    #[error(transparent)]
    Transition(WorkflowError),
    #[error("a `{}` dossier cannot be assigned", .0.as_str())]
    NotAssignable(Status),
    #[error("the fee of this fully online dossier is not paid yet")]
    PaymentRequired,
    #[error("the new data changes the fee from {from} to {to} đồng after it was paid")]
    FeeChanged { from: i64, to: i64 },
    #[error("a dossier can be rated once its result is returned")]
    NotReturned,
    #[error("this dossier has already been rated")]
    AlreadyRated,
    /// The procedure declares a process: its steps decide, not the fixed path's actions.
    #[error("this procedure's dossiers are decided at a step of its process")]
    DecidedByProcess,
    /// The dossier is at no step where that can be done (not received, or already decided).
    #[error("the dossier is at no step of its process now")]
    NotAtStep,
    /// The step's action needs something it was not given, or is not this person's to take.
    #[error("{0}")]
    Step(String),
    /// Handed to another tenant (liên thông): nothing is done here until its result is back.
    #[error("the dossier is with another agency now; it comes back with the result")]
    HeldElsewhere,
    /// A transfer the receiving tenant cannot take (not a tenant, not active, not offering
    /// the procedure).
    #[error("transfer: {0}")]
    TransferRefused(String),
    /// Only a received dossier still waiting for its decision has an appointment to move.
    #[error("a `{}` dossier has no appointment to move", .0.as_str())]
    NotExtendable(Status),
}

/// Input refused by the store's own checks (the rest is checked before it is called).
#[derive(Debug, thiserror::Error)]
pub enum BadInput {
    #[error("missing: list what the applicant must supplement")]
    MissingItems,
    #[error("assignee: not an officer of this tenant")]
    AssigneeNotOfficer,
    #[error("rating: from 1 to 5")]
    Rating,
    /// A refusal at receipt, or an apology for delay, states its reason.
    #[error("note: give the reason")]
    ReasonRequired,
    /// An extension moves the appointment later than it was.
    #[error("due_date: the new date must be a working day after {current}")]
    NewDueDate { current: chrono::NaiveDate },
}

/// The role is checked before the status (see [`super::workflow::transition`]), so a role
/// that may never take the action is refused as such.
impl From<WorkflowError> for DossierError {
    fn from(e: WorkflowError) -> Self {
        match e {
            WorkflowError::WrongRole { .. } => Self::Forbidden,
            WorkflowError::NotFrom { .. } => Self::Conflict(Conflict::Transition(e)),
        }
    }
}
