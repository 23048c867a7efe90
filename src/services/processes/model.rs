//! What a process is, and the checks a declared one must pass before it is stored: every step
//! names a unit the tenant has, the steps' budgets fit in the procedure's time limit, the last
//! step can end the dossier, and no step offers an action it cannot take.

use crate::tenancy::names::TenantSlug;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Working hours in a working day (07:30–11:30 and 13:00–17:00): what a day's budget is worth
/// when budgets in days and in hours are added up.
pub const HOURS_PER_DAY: u32 = 8;

/// Code of a unit inside a tenant (`mot-cua`, `phong-viec-lam`, `lanh-dao`, `van-thu`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);

impl UnitCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = (1..=40).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "invalid unit code `{}`: 1–40 of a–z, 0–9 and inner hyphens",
                s.escape_debug()
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UnitCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<UnitCode> for String {
    fn from(u: UnitCode) -> String {
        u.0
    }
}

impl std::fmt::Display for UnitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who in the step's unit acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepRole {
    /// A specialist (chuyên viên) or the desk's officer.
    Officer,
    /// The unit's or the agency's head.
    Leader,
}

impl StepRole {
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

/// What may be done at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// Hand the dossier to the next step; at the last step, end the processing (the decision
    /// taken earlier goes to the desk to be returned).
    Forward,
    /// Send it back to the previous step.
    Return,
    /// Ask another unit's opinion and wait for it (the step's clock keeps running).
    AskOpinion,
    /// Ask the applicant for a supplement (the clock pauses).
    RequestSupplement,
    /// Approve or reject: the decision. The dossier goes on to the next step (the clerk's seal
    /// and number), or, at the last step, processing ends.
    Decide,
    /// Hand the dossier to the tenant the step names (liên thông: a commune to its province, a
    /// province to a ministry division), which decides it with its own process; the step waits
    /// for the result to come back, then the dossier goes on to the next step.
    Transfer,
}

impl StepAction {
    /// Every action, in the order forms show them.
    pub const ALL: [StepAction; 6] = [
        Self::Forward,
        Self::Return,
        Self::AskOpinion,
        Self::RequestSupplement,
        Self::Decide,
        Self::Transfer,
    ];

    /// The stored and JSON name (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forward => "forward",
            Self::Return => "return",
            Self::AskOpinion => "ask_opinion",
            Self::RequestSupplement => "request_supplement",
            Self::Decide => "decide",
            Self::Transfer => "transfer",
        }
    }
}

/// A step's share of the time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// Working days: due at the close of the n-th working day after the step starts.
    Days(u16),
    /// Working hours, counted inside office hours on working days.
    Hours(u16),
}

impl Budget {
    /// The budget in working hours, so days and hours can be added up.
    pub fn hours(self) -> u32 {
        match self {
            Self::Days(d) => u32::from(d) * HOURS_PER_DAY,
            Self::Hours(h) => u32::from(h),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Short code, unique within the process (`tiep-nhan`, `tham-dinh`, `ky-duyet`).
    pub code: String,
    pub name_vi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub unit: UnitCode,
    pub role: StepRole,
    pub actions: Vec<StepAction>,
    pub budget: Budget,
    /// The tenant a `transfer` hands the dossier to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_to: Option<TenantSlug>,
}

/// A procedure's ordered steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub steps: Vec<Step>,
}

/// Why a declared process is refused, naming the step (by its position, from 1) where it can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    #[error("a process has at least one step")]
    Empty,
    #[error("step {step} (`{code}`): the code is used by an earlier step")]
    DuplicateStep { step: usize, code: String },
    #[error("step {step} (`{code}`): unit `{unit}` is not one of this tenant's units")]
    UnknownUnit {
        step: usize,
        code: String,
        unit: UnitCode,
    },
    #[error("step {step} (`{code}`): `return` needs a step before it")]
    ReturnFromFirst { step: usize, code: String },
    #[error(
        "step {step} (`{code}`): the last step must `forward` (finish), `decide` or `transfer`"
    )]
    Unending { step: usize, code: String },
    #[error("step {step} (`{code}`): `transfer` needs `transfer_to`, the tenant it hands to")]
    TransferWithoutTarget { step: usize, code: String },
    #[error("step {step} (`{code}`): `transfer_to` is set but the step does not `transfer`")]
    TargetWithoutTransfer { step: usize, code: String },
    #[error("step {step} (`{code}`): a step must allow at least one action")]
    NoActions { step: usize, code: String },
    #[error("no step may `decide` or `transfer`: a dossier could never be approved or rejected")]
    NoDecision,
    #[error(
        "the steps' budgets add up to {total} working hours, more than the time limit of \
         {limit_days} working days ({limit} hours)"
    )]
    OverBudget {
        total: u32,
        limit: u32,
        limit_days: u32,
    },
}

impl ProcessError {
    /// The step (from 1) the problem is at, if it is at one.
    pub fn step(&self) -> Option<usize> {
        match self {
            Self::DuplicateStep { step, .. }
            | Self::UnknownUnit { step, .. }
            | Self::ReturnFromFirst { step, .. }
            | Self::Unending { step, .. }
            | Self::TransferWithoutTarget { step, .. }
            | Self::TargetWithoutTransfer { step, .. }
            | Self::NoActions { step, .. } => Some(*step),
            Self::Empty | Self::NoDecision | Self::OverBudget { .. } => None,
        }
    }

    /// The same, in Vietnamese, for the admin page and the API's `message`.
    pub fn message_vi(&self) -> String {
        match self {
            Self::Empty => "Quy trình phải có ít nhất một bước".into(),
            Self::DuplicateStep { step, code } => {
                format!("Bước {step} (`{code}`): mã bước trùng với một bước trước")
            }
            Self::UnknownUnit { step, code, unit } => {
                format!("Bước {step} (`{code}`): đơn vị `{unit}` không có trong cơ quan này")
            }
            Self::ReturnFromFirst { step, code } => {
                format!("Bước {step} (`{code}`): bước đầu tiên không thể trả lại bước trước")
            }
            Self::Unending { step, code } => format!(
                "Bước {step} (`{code}`): bước cuối phải chuyển tiếp (kết thúc), quyết định hoặc chuyển liên thông"
            ),
            Self::TransferWithoutTarget { step, code } => {
                format!("Bước {step} (`{code}`): chuyển liên thông cần nêu cơ quan nhận")
            }
            Self::TargetWithoutTransfer { step, code } => format!(
                "Bước {step} (`{code}`): có cơ quan nhận nhưng bước không cho phép chuyển liên thông"
            ),
            Self::NoActions { step, code } => {
                format!("Bước {step} (`{code}`): bước phải cho phép ít nhất một thao tác")
            }
            Self::NoDecision => {
                "Không bước nào được quyết định hoặc chuyển liên thông: hồ sơ sẽ không bao giờ có kết quả"
                    .into()
            }
            Self::OverBudget {
                total, limit_days, ..
            } => format!(
                "Tổng thời gian các bước là {total} giờ làm việc, vượt thời hạn giải quyết {limit_days} ngày làm việc"
            ),
        }
    }
}

impl Process {
    /// The sum of the steps' budgets, in working hours.
    pub fn budget_hours(&self) -> u32 {
        self.steps.iter().map(|s| s.budget.hours()).sum()
    }

    /// Every problem of this process for a procedure with `processing_days` in a tenant whose
    /// units are `units` (empty when it is fit to store).
    pub fn check(&self, processing_days: u32, units: &HashSet<UnitCode>) -> Vec<ProcessError> {
        let mut errors = Vec::new();
        if self.steps.is_empty() {
            errors.push(ProcessError::Empty);
            return errors;
        }
        let mut codes = HashSet::new();
        let last = self.steps.len();
        for (i, s) in self.steps.iter().enumerate() {
            let (step, code) = (i + 1, s.code.clone());
            if !codes.insert(s.code.as_str()) {
                errors.push(ProcessError::DuplicateStep {
                    step,
                    code: code.clone(),
                });
            }
            if !units.contains(&s.unit) {
                errors.push(ProcessError::UnknownUnit {
                    step,
                    code: code.clone(),
                    unit: s.unit.clone(),
                });
            }
            if s.actions.is_empty() {
                errors.push(ProcessError::NoActions {
                    step,
                    code: code.clone(),
                });
            }
            if step == 1 && s.actions.contains(&StepAction::Return) {
                errors.push(ProcessError::ReturnFromFirst {
                    step,
                    code: code.clone(),
                });
            }
            if step == last
                && !s.actions.iter().any(|a| {
                    matches!(
                        a,
                        StepAction::Forward | StepAction::Decide | StepAction::Transfer
                    )
                })
            {
                errors.push(ProcessError::Unending {
                    step,
                    code: code.clone(),
                });
            }
            match (s.actions.contains(&StepAction::Transfer), &s.transfer_to) {
                (true, None) => errors.push(ProcessError::TransferWithoutTarget { step, code }),
                (false, Some(_)) => {
                    errors.push(ProcessError::TargetWithoutTransfer { step, code });
                }
                _ => {}
            }
        }
        // A transfer brings a decision back from the tenant it hands to.
        if !self.steps.iter().any(|s| {
            s.actions
                .iter()
                .any(|a| matches!(a, StepAction::Decide | StepAction::Transfer))
        }) {
            errors.push(ProcessError::NoDecision);
        }
        let limit = processing_days.saturating_mul(HOURS_PER_DAY);
        let total = self.budget_hours();
        if total > limit {
            errors.push(ProcessError::OverBudget {
                total,
                limit,
                limit_days: processing_days,
            });
        }
        errors
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn unit(s: &str) -> UnitCode {
        UnitCode::parse(s).unwrap()
    }

    fn step(code: &str, u: &str, role: StepRole, actions: &[StepAction], budget: Budget) -> Step {
        Step {
            code: code.into(),
            name_vi: code.into(),
            name_en: None,
            unit: unit(u),
            role,
            actions: actions.to_vec(),
            budget,
            transfer_to: None,
        }
    }

    /// The work permit's path: desk → specialist → division head → leader → clerk.
    pub(crate) fn work_permit() -> Process {
        use StepAction::*;
        use StepRole::*;
        Process {
            steps: vec![
                step(
                    "tiep-nhan",
                    "mot-cua",
                    Officer,
                    &[Forward],
                    Budget::Hours(4),
                ),
                step(
                    "tham-dinh",
                    "phong-viec-lam",
                    Officer,
                    &[Forward, Return, AskOpinion, RequestSupplement],
                    Budget::Days(2),
                ),
                step(
                    "kiem-tra",
                    "phong-viec-lam",
                    Leader,
                    &[Forward, Return],
                    Budget::Hours(4),
                ),
                step(
                    "ky-duyet",
                    "lanh-dao",
                    Leader,
                    &[Forward, Return, Decide],
                    Budget::Days(1),
                ),
                step("van-thu", "van-thu", Officer, &[Forward], Budget::Hours(8)),
            ],
        }
    }

    fn units() -> HashSet<UnitCode> {
        ["mot-cua", "phong-viec-lam", "lanh-dao", "van-thu"]
            .into_iter()
            .map(unit)
            .collect()
    }

    #[test]
    fn a_sound_process_fits_its_time_limit() {
        let mut p = work_permit();
        assert_eq!(p.budget_hours(), 4 + 16 + 4 + 8 + 8);
        assert_eq!(p.check(5, &units()), vec![]);
        // Exactly the limit (5 days = 40 hours) is allowed; one hour more is not.
        p.steps[0].budget = Budget::Hours(5);
        assert_eq!(
            p.check(5, &units()),
            vec![ProcessError::OverBudget {
                total: 41,
                limit: 40,
                limit_days: 5
            }]
        );
    }

    #[test]
    fn every_problem_is_named_with_its_step() {
        let mut p = work_permit();
        p.steps[0].actions.push(StepAction::Return);
        p.steps[2].unit = unit("phong-khac");
        p.steps[3].code = "tham-dinh".into();
        p.steps[4].actions = vec![StepAction::Return];
        let errors = p.check(5, &units());
        assert_eq!(
            errors,
            vec![
                ProcessError::ReturnFromFirst {
                    step: 1,
                    code: "tiep-nhan".into()
                },
                ProcessError::UnknownUnit {
                    step: 3,
                    code: "kiem-tra".into(),
                    unit: unit("phong-khac")
                },
                ProcessError::DuplicateStep {
                    step: 4,
                    code: "tham-dinh".into()
                },
                ProcessError::Unending {
                    step: 5,
                    code: "van-thu".into()
                },
            ]
        );
        assert!(errors[1].to_string().contains("`phong-khac`"));
        // A step with nothing to do, and a process nobody can decide.
        let mut p = work_permit();
        p.steps[3].actions = vec![StepAction::Forward];
        p.steps[4].actions = vec![];
        let errors = p.check(5, &units());
        assert!(errors.contains(&ProcessError::NoActions {
            step: 5,
            code: "van-thu".into()
        }));
        assert!(errors.contains(&ProcessError::NoDecision));
        assert_eq!(
            Process { steps: vec![] }.check(5, &units()),
            vec![ProcessError::Empty]
        );
    }

    /// A commune's process that hands the decision to its province.
    pub(crate) fn forwarded() -> Process {
        use StepAction::*;
        use StepRole::*;
        let mut transfer = step(
            "chuyen-so",
            "mot-cua",
            Officer,
            &[Transfer],
            Budget::Days(4),
        );
        transfer.transfer_to = Some(TenantSlug::parse("ha-noi").unwrap());
        Process {
            steps: vec![
                step(
                    "tiep-nhan",
                    "mot-cua",
                    Officer,
                    &[Forward],
                    Budget::Hours(4),
                ),
                transfer,
                step(
                    "tra-ket-qua",
                    "mot-cua",
                    Officer,
                    &[Forward],
                    Budget::Hours(4),
                ),
            ],
        }
    }

    #[test]
    fn a_transfer_names_its_tenant_and_counts_as_the_decision() {
        assert_eq!(forwarded().check(5, &units()), vec![]);
        // Without a target, or a target on a step that does not transfer.
        let mut p = forwarded();
        p.steps[1].transfer_to = None;
        p.steps[2].transfer_to = Some(TenantSlug::parse("ha-noi").unwrap());
        assert_eq!(
            p.check(5, &units()),
            vec![
                ProcessError::TransferWithoutTarget {
                    step: 2,
                    code: "chuyen-so".into()
                },
                ProcessError::TargetWithoutTransfer {
                    step: 3,
                    code: "tra-ket-qua".into()
                },
            ]
        );
        // A transfer may end the process: the result coming back ends it.
        let mut p = forwarded();
        p.steps.pop();
        assert_eq!(p.check(5, &units()), vec![]);
        // It round-trips through the stored JSON, and a step without one stores no key.
        let json = serde_json::to_value(forwarded()).unwrap();
        assert_eq!(json["steps"][1]["transfer_to"], "ha-noi");
        assert!(json["steps"][0].get("transfer_to").is_none());
        assert_eq!(
            serde_json::from_value::<Process>(json).unwrap(),
            forwarded()
        );
    }

    #[test]
    fn action_names_are_the_serialised_ones() {
        for a in StepAction::ALL {
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
    }

    #[test]
    fn unit_codes_are_checked() {
        for ok in ["mot-cua", "van-thu", "p1"] {
            assert!(UnitCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "Mot-cua", "một-cửa", "a b", &"x".repeat(41)] {
            assert!(UnitCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn budgets_read_as_declared() {
        let b: Budget = serde_json::from_value(serde_json::json!({ "days": 2 })).unwrap();
        assert_eq!(b, Budget::Days(2));
        let b: Budget = serde_json::from_value(serde_json::json!({ "hours": 4 })).unwrap();
        assert_eq!(b.hours(), 4);
    }
}
