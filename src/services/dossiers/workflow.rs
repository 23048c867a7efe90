//! The dossier status machine (pure): which action moves a dossier from which status, and who
//! may take it.
//!
//! ```text
//! submitted → received → in_review → (supplement_requested ⇄ resubmitted) → approved | rejected → returned
//! submitted ⇄ incomplete (the desk asks to complete the dossier; the clock has not started)
//! submitted | incomplete → refused (the desk refuses it at receipt, with a reason)
//! submitted | incomplete → withdrawn (by the applicant, before it is received)
//! ```
//!
//! The completeness check comes before the clock: `receive` (from `submitted`, or from
//! `incomplete` when the missing papers are handed in at the counter) starts it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Stored as text under the names it has in JSON: `dossiers.status`, `dossier_events`, the
// shared `dossier_index` and a parent's `child_dossiers`. A name this release does not know (a
// row written by a newer one) is an error of the query, answered as a 500, never a panic.
crate::db::text_enum! {
    /// A dossier's status.
    pub enum Status("dossier status") {
        Submitted = "submitted",
        Received = "received",
        InReview = "in_review",
        SupplementRequested = "supplement_requested",
        Resubmitted = "resubmitted",
        Approved = "approved",
        Rejected = "rejected",
        Returned = "returned",
        Withdrawn = "withdrawn",
        Incomplete = "incomplete",
        Refused = "refused",
    }
}

impl Status {
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// Vietnamese label shown to citizens and officers.
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Submitted => "Đã nộp, chờ tiếp nhận",
            Self::Received => "Đã tiếp nhận",
            Self::InReview => "Đang giải quyết",
            Self::SupplementRequested => "Yêu cầu bổ sung",
            Self::Resubmitted => "Đã bổ sung",
            Self::Approved => "Đã có kết quả (chấp thuận)",
            Self::Rejected => "Đã có kết quả (từ chối)",
            Self::Returned => "Đã trả kết quả",
            Self::Withdrawn => "Đã rút hồ sơ",
            Self::Incomplete => "Chờ bổ sung, hoàn thiện hồ sơ",
            Self::Refused => "Từ chối tiếp nhận",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Submitted => "Submitted, awaiting receipt",
            Self::Received => "Received",
            Self::InReview => "In review",
            Self::SupplementRequested => "Supplement requested",
            Self::Resubmitted => "Supplement provided",
            Self::Approved => "Decided (approved)",
            Self::Rejected => "Decided (rejected)",
            Self::Returned => "Result returned",
            Self::Withdrawn => "Withdrawn",
            Self::Incomplete => "Incomplete, awaiting completion",
            Self::Refused => "Refused at receipt",
        }
    }

    /// The decision has been made (the legal clock stops here).
    pub fn is_resolved(self) -> bool {
        matches!(self, Self::Approved | Self::Rejected | Self::Returned)
    }

    /// Nothing more will happen to the dossier.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Returned | Self::Withdrawn | Self::Refused)
    }

    /// Officers still owe work on it (it belongs in their inbox).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            Self::Approved | Self::Rejected | Self::Returned | Self::Withdrawn | Self::Refused
        )
    }

    /// The desk has not yet received it: the legal clock has not started.
    pub fn before_receipt(self) -> bool {
        matches!(self, Self::Submitted | Self::Incomplete)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Receive,
    StartReview,
    RequestSupplement,
    Resubmit,
    Approve,
    Reject,
    Return,
    Withdraw,
    /// Before receipt: ask the applicant to complete the dossier (Phiếu yêu cầu bổ sung,
    /// hoàn thiện hồ sơ).
    RequestCompletion,
    /// The applicant sends what the desk asked for, online.
    Complete,
    /// Before receipt: refuse to accept it, with the reason (Phiếu từ chối tiếp nhận).
    Refuse,
}

impl Action {
    pub const ALL: [Action; 11] = [
        Self::Receive,
        Self::StartReview,
        Self::RequestSupplement,
        Self::Resubmit,
        Self::Approve,
        Self::Reject,
        Self::Return,
        Self::Withdraw,
        Self::RequestCompletion,
        Self::Complete,
        Self::Refuse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receive => "receive",
            Self::StartReview => "start_review",
            Self::RequestSupplement => "request_supplement",
            Self::Resubmit => "resubmit",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Return => "return",
            Self::Withdraw => "withdraw",
            Self::RequestCompletion => "request_completion",
            Self::Complete => "complete",
            Self::Refuse => "refuse",
        }
    }

    /// The statuses the action starts from, and where it leads.
    fn edge(self) -> (&'static [Status], Status) {
        use Status::*;
        match self {
            Self::Receive => (&[Submitted, Incomplete], Received),
            Self::StartReview => (&[Received, Resubmitted], InReview),
            Self::RequestSupplement => (&[InReview], SupplementRequested),
            Self::Resubmit => (&[SupplementRequested], Resubmitted),
            Self::Approve => (&[InReview], Approved),
            Self::Reject => (&[InReview], Rejected),
            Self::Return => (&[Approved, Rejected], Returned),
            Self::Withdraw => (&[Submitted, Incomplete], Withdrawn),
            Self::RequestCompletion => (&[Submitted], Incomplete),
            Self::Complete => (&[Incomplete], Submitted),
            Self::Refuse => (&[Submitted, Incomplete], Refused),
        }
    }

    pub fn target(self) -> Status {
        self.edge().1
    }
}

/// Who decides a procedure's dossiers (set per procedure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecideRole {
    Officer,
    Leader,
}

impl DecideRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Leader => "leader",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "officer" => Some(Self::Officer),
            "leader" => Some(Self::Leader),
            _ => None,
        }
    }
}

/// What the acting person is to this dossier in this tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Actor {
    pub is_applicant: bool,
    pub officer: bool,
    pub leader: bool,
}

impl Actor {
    /// The role recorded on the event (the most specific one that allowed the action).
    pub fn recorded_role(self, action: Action) -> &'static str {
        match who_may(action) {
            Who::Applicant => "applicant",
            Who::Officer => "officer",
            Who::Decider if self.leader => "leader",
            Who::Decider => "officer",
        }
    }
}

enum Who {
    Applicant,
    Officer,
    Decider,
}

fn who_may(action: Action) -> Who {
    match action {
        Action::Resubmit | Action::Withdraw | Action::Complete => Who::Applicant,
        Action::Approve | Action::Reject => Who::Decider,
        Action::Receive
        | Action::StartReview
        | Action::RequestSupplement
        | Action::Return
        | Action::RequestCompletion
        | Action::Refuse => Who::Officer,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("`{action}` is not possible while the dossier is `{status}`")]
    NotFrom {
        action: &'static str,
        status: &'static str,
    },
    #[error("your role may not `{action}` this dossier")]
    WrongRole { action: &'static str },
}

/// Checks `action` on a dossier in `current` by `actor`; the new status if allowed. The role is
/// checked first, so a caller learns nothing about a dossier's state from an action they may
/// never take.
pub fn transition(
    current: Status,
    action: Action,
    actor: Actor,
    decide: DecideRole,
) -> Result<Status, WorkflowError> {
    let allowed = match who_may(action) {
        Who::Applicant => actor.is_applicant,
        Who::Officer => actor.officer,
        // A leader may always decide; an officer only where the procedure says so.
        Who::Decider => actor.leader || (decide == DecideRole::Officer && actor.officer),
    };
    if !allowed {
        return Err(WorkflowError::WrongRole {
            action: action.as_str(),
        });
    }
    let (from, to) = action.edge();
    if from.contains(&current) {
        Ok(to)
    } else {
        Err(WorkflowError::NotFrom {
            action: action.as_str(),
            status: current.as_str(),
        })
    }
}

/// The actions `actor` may take now (what a page offers as buttons).
pub fn available(current: Status, actor: Actor, decide: DecideRole) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| transition(current, *a, actor, decide).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const APPLICANT: Actor = Actor {
        is_applicant: true,
        officer: false,
        leader: false,
    };
    const OFFICER: Actor = Actor {
        is_applicant: false,
        officer: true,
        leader: false,
    };
    const LEADER: Actor = Actor {
        is_applicant: false,
        officer: false,
        leader: true,
    };

    #[test]
    fn the_happy_path() {
        let d = DecideRole::Leader;
        let mut s = Status::Submitted;
        for (action, actor) in [
            (Action::Receive, OFFICER),
            (Action::StartReview, OFFICER),
            (Action::RequestSupplement, OFFICER),
            (Action::Resubmit, APPLICANT),
            (Action::StartReview, OFFICER),
            (Action::Approve, LEADER),
            (Action::Return, OFFICER),
        ] {
            s = transition(s, action, actor, d).unwrap();
        }
        assert_eq!(s, Status::Returned);
    }

    #[test]
    fn every_pair_outside_the_table_is_refused() {
        // Exhaustive: exactly the listed (status, action) pairs are possible for a super-actor.
        let all = Actor {
            is_applicant: true,
            officer: true,
            leader: true,
        };
        let allowed: &[(Status, Action)] = &[
            (Status::Submitted, Action::Receive),
            (Status::Submitted, Action::Withdraw),
            (Status::Submitted, Action::RequestCompletion),
            (Status::Submitted, Action::Refuse),
            (Status::Incomplete, Action::Receive),
            (Status::Incomplete, Action::Complete),
            (Status::Incomplete, Action::Refuse),
            (Status::Incomplete, Action::Withdraw),
            (Status::Received, Action::StartReview),
            (Status::Resubmitted, Action::StartReview),
            (Status::InReview, Action::RequestSupplement),
            (Status::InReview, Action::Approve),
            (Status::InReview, Action::Reject),
            (Status::SupplementRequested, Action::Resubmit),
            (Status::Approved, Action::Return),
            (Status::Rejected, Action::Return),
        ];
        for &s in Status::ALL {
            for a in Action::ALL {
                let ok = transition(s, a, all, DecideRole::Leader).is_ok();
                assert_eq!(ok, allowed.contains(&(s, a)), "{s:?} {a:?}");
            }
        }
    }

    #[test]
    fn roles_are_enforced() {
        let d = DecideRole::Leader;
        assert!(matches!(
            transition(Status::Submitted, Action::Receive, APPLICANT, d),
            Err(WorkflowError::WrongRole { .. })
        ));
        assert!(matches!(
            transition(Status::InReview, Action::Approve, OFFICER, d),
            Err(WorkflowError::WrongRole { .. })
        ));
        assert!(
            transition(
                Status::InReview,
                Action::Approve,
                OFFICER,
                DecideRole::Officer
            )
            .is_ok()
        );
        assert!(matches!(
            transition(Status::Submitted, Action::Withdraw, OFFICER, d),
            Err(WorkflowError::WrongRole { .. })
        ));
        // An officer may not answer a supplement request on the citizen's behalf.
        assert!(transition(Status::SupplementRequested, Action::Resubmit, OFFICER, d).is_err());
        // Withdrawal only before receipt.
        assert!(matches!(
            transition(Status::Received, Action::Withdraw, APPLICANT, d),
            Err(WorkflowError::NotFrom { .. })
        ));
    }

    #[test]
    fn closed_dossiers_offer_nothing() {
        let all = Actor {
            is_applicant: true,
            officer: true,
            leader: true,
        };
        for s in [Status::Returned, Status::Withdrawn, Status::Refused] {
            assert!(available(s, all, DecideRole::Leader).is_empty());
            assert!(s.is_closed() && !s.is_open());
        }
        assert_eq!(
            available(Status::InReview, OFFICER, DecideRole::Leader),
            vec![Action::RequestSupplement]
        );
    }

    #[test]
    fn the_desk_checks_completeness_before_the_clock() {
        let d = DecideRole::Leader;
        let s = transition(Status::Submitted, Action::RequestCompletion, OFFICER, d).unwrap();
        assert_eq!(s, Status::Incomplete);
        assert!(s.before_receipt() && s.is_open() && !s.is_resolved());
        // The applicant completes online, or hands the papers in and the desk receives.
        assert_eq!(
            transition(s, Action::Complete, APPLICANT, d),
            Ok(Status::Submitted)
        );
        assert!(transition(s, Action::Complete, OFFICER, d).is_err());
        assert_eq!(
            transition(s, Action::Receive, OFFICER, d),
            Ok(Status::Received)
        );
        // Refusal at receipt closes it without a decision; once received it is too late.
        let refused = transition(s, Action::Refuse, OFFICER, d).unwrap();
        assert!(refused.is_closed() && !refused.is_resolved());
        assert!(transition(Status::Received, Action::Refuse, OFFICER, d).is_err());
        assert!(transition(Status::Submitted, Action::Refuse, APPLICANT, d).is_err());
    }

    #[test]
    fn names_round_trip() {
        for &s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("paid"), None);
    }

    #[test]
    fn stored_and_sent_under_the_same_names() {
        for &s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(
                serde_json::from_value::<Status>(s.as_str().into()).unwrap(),
                s
            );
        }
        // What the store reads back for a name it does not know: an error, not a panic.
        assert!("paid".parse::<Status>().unwrap_err().contains("`paid`"));
        assert!("In_Review".parse::<Status>().is_err());
        assert!(serde_json::from_value::<Status>("paid".into()).is_err());
    }
}
