//! Moving a dossier through its process, and when each step is due.
//!
//! Who may act is checked before what the step allows (as the fixed workflow does), so a
//! person learns nothing about a step they may never act on. Office hours are 07:30–11:30 and
//! 13:00–17:00, Vietnam time, on the calendar's working days; a budget in hours is spent only
//! inside them.

use super::model::{Budget, Process, StepAction, StepRole, UnitCode};
use crate::services::calendar::{Calendar, end_of_working_day, local_date};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// Where an allowed action leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// To the step at this index (forward or back).
    To(usize),
    /// The step waits for another unit's opinion; its clock keeps running.
    AwaitOpinion,
    /// The step waits for the applicant's supplement; the clock pauses.
    AwaitApplicant,
    /// Decided; processing goes on at `next` (the clerk), or ends when it is `None`.
    Decided { next: Option<usize> },
    /// The last step handed the decided dossier on: processing ends.
    Finished,
    /// Handed to another tenant; the step waits for the result to come back.
    Transfer,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("the dossier is at no step {0} of its process")]
    NoSuchStep(usize),
    #[error("only a {role:?} of unit `{unit}` acts at this step")]
    NotYourStep { unit: UnitCode, role: StepRole },
    #[error("`{action:?}` is not allowed at step `{step}`")]
    NotAllowed { action: StepAction, step: String },
}

/// Checks `action` at step `at` by someone holding `memberships` (unit and role pairs) and
/// says where it leads.
pub fn act(
    process: &Process,
    at: usize,
    action: StepAction,
    memberships: &[(UnitCode, StepRole)],
) -> Result<Move, StepError> {
    let step = process.steps.get(at).ok_or(StepError::NoSuchStep(at))?;
    if !memberships
        .iter()
        .any(|(u, r)| *u == step.unit && *r == step.role)
    {
        return Err(StepError::NotYourStep {
            unit: step.unit.clone(),
            role: step.role,
        });
    }
    if !step.actions.contains(&action) {
        return Err(StepError::NotAllowed {
            action,
            step: step.code.clone(),
        });
    }
    let last = at + 1 == process.steps.len();
    Ok(match action {
        StepAction::Forward if last => Move::Finished,
        StepAction::Forward => Move::To(at + 1),
        // The model refuses `return` at the first step; a stored process is checked.
        StepAction::Return => Move::To(at.saturating_sub(1)),
        StepAction::AskOpinion => Move::AwaitOpinion,
        StepAction::RequestSupplement => Move::AwaitApplicant,
        StepAction::Decide => Move::Decided {
            next: (!last).then_some(at + 1),
        },
        StepAction::Transfer => Move::Transfer,
    })
}

/// Where a dossier goes when the result of its transfer at step `at` comes back: on to the
/// next step, or, after the last, processing ends (`None`).
pub fn after_transfer(process: &Process, at: usize) -> Option<usize> {
    (at + 1 < process.steps.len()).then_some(at + 1)
}

/// Office hours as local times: (opens, closes), morning then afternoon.
const SHIFTS: [(NaiveTime, NaiveTime); 2] = [(hm(7, 30), hm(11, 30)), (hm(13, 0), hm(17, 0))];

const fn hm(h: u32, m: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(h, m, 0) {
        Some(t) => t,
        None => panic!("a valid time"),
    }
}

const VIETNAM_HOURS: i64 = 7;

fn to_local(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc() + Duration::hours(VIETNAM_HOURS)
}

fn to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    (local - Duration::hours(VIETNAM_HOURS)).and_utc()
}

/// The first moment at or after `local` inside office hours.
fn next_open(cal: &Calendar, local: NaiveDateTime) -> NaiveDateTime {
    let mut day = local.date();
    let mut from = local.time();
    loop {
        if cal.is_working_day(day) {
            for (open, close) in SHIFTS {
                if from < close {
                    return day.and_time(from.max(open));
                }
            }
        }
        day = next_day(day);
        from = NaiveTime::MIN;
    }
}

fn next_day(d: NaiveDate) -> NaiveDate {
    d.succ_opt().unwrap_or(NaiveDate::MAX)
}

/// When a step that started at `entered` with `budget` is due. Days: the close of the n-th
/// working day after the start (as the legal due date counts). Hours: that many working hours
/// of office time after the start; zero hours is the start itself.
pub fn step_due(cal: &Calendar, entered: DateTime<Utc>, budget: Budget) -> DateTime<Utc> {
    match budget {
        Budget::Days(n) => {
            end_of_working_day(cal.add_working_days(local_date(entered), u32::from(n)))
        }
        Budget::Hours(0) => entered,
        Budget::Hours(h) => {
            let mut left = Duration::hours(i64::from(h));
            let mut at = next_open(cal, to_local(entered));
            loop {
                let close = SHIFTS
                    .iter()
                    .map(|(_, c)| *c)
                    .find(|c| at.time() < *c)
                    .map_or(at, |c| at.date().and_time(c));
                let available = close - at;
                if left <= available {
                    return to_utc(at + left);
                }
                left -= available;
                at = next_open(cal, close);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::processes::model::{Step, StepAction::*, StepRole::*};
    use proptest::prelude::*;

    fn unit(s: &str) -> UnitCode {
        UnitCode::parse(s).unwrap()
    }

    fn process() -> Process {
        let step = |code: &str, u: &str, role, actions: &[StepAction]| Step {
            code: code.into(),
            name_vi: code.into(),
            name_en: None,
            unit: unit(u),
            role,
            actions: actions.to_vec(),
            budget: Budget::Days(1),
            transfer_to: None,
        };
        Process {
            steps: vec![
                step("tiep-nhan", "mot-cua", Officer, &[Forward]),
                step(
                    "tham-dinh",
                    "phong-viec-lam",
                    Officer,
                    &[Forward, Return, AskOpinion, RequestSupplement],
                ),
                step("ky-duyet", "lanh-dao", Leader, &[Return, Decide]),
                step("van-thu", "van-thu", Officer, &[Forward]),
            ],
        }
    }

    #[test]
    fn a_dossier_walks_the_steps_by_who_holds_them() {
        let p = process();
        let desk = [(unit("mot-cua"), Officer)];
        let specialist = [(unit("phong-viec-lam"), Officer)];
        let leader = [(unit("lanh-dao"), Leader)];
        let clerk = [(unit("van-thu"), Officer)];
        assert_eq!(act(&p, 0, Forward, &desk), Ok(Move::To(1)));
        assert_eq!(act(&p, 1, AskOpinion, &specialist), Ok(Move::AwaitOpinion));
        assert_eq!(
            act(&p, 1, RequestSupplement, &specialist),
            Ok(Move::AwaitApplicant)
        );
        assert_eq!(act(&p, 1, Forward, &specialist), Ok(Move::To(2)));
        assert_eq!(act(&p, 2, Return, &leader), Ok(Move::To(1)));
        assert_eq!(
            act(&p, 2, Decide, &leader),
            Ok(Move::Decided { next: Some(3) })
        );
        assert_eq!(act(&p, 3, Forward, &clerk), Ok(Move::Finished));
    }

    #[test]
    fn a_transfer_waits_for_the_result_then_goes_on() {
        let p = super::super::model::tests::forwarded();
        let desk = [(unit("mot-cua"), Officer)];
        assert_eq!(act(&p, 1, Transfer, &desk), Ok(Move::Transfer));
        assert_eq!(act(&p, 0, Transfer, &desk).ok(), None);
        assert_eq!(after_transfer(&p, 1), Some(2));
        assert_eq!(after_transfer(&p, 2), None);
    }

    #[test]
    fn the_wrong_person_or_action_is_refused_and_who_comes_first() {
        let p = process();
        let specialist = [(unit("phong-viec-lam"), Officer)];
        // A specialist at the leader's step learns only that it is not theirs.
        assert!(matches!(
            act(&p, 2, Forward, &specialist),
            Err(StepError::NotYourStep { .. })
        ));
        // The leader's role in another unit is not the step's.
        let head = [(unit("phong-viec-lam"), Leader)];
        assert!(matches!(
            act(&p, 2, Decide, &head),
            Err(StepError::NotYourStep { .. })
        ));
        assert_eq!(
            act(&p, 1, Decide, &specialist),
            Err(StepError::NotAllowed {
                action: Decide,
                step: "tham-dinh".into()
            })
        );
        assert_eq!(
            act(&p, 9, Forward, &specialist),
            Err(StepError::NoSuchStep(9))
        );
    }

    fn local(d: (i32, u32, u32), t: (u32, u32)) -> DateTime<Utc> {
        to_utc(
            NaiveDate::from_ymd_opt(d.0, d.1, d.2)
                .unwrap()
                .and_time(hm(t.0, t.1)),
        )
    }

    #[test]
    fn hours_are_spent_in_office_time() {
        let cal = Calendar::vietnam();
        // Monday 7 December 2026, 10:00: two hours end at 13:30 after lunch.
        let monday = local((2026, 12, 7), (10, 0));
        assert_eq!(
            step_due(cal, monday, Budget::Hours(2)),
            local((2026, 12, 7), (13, 30))
        );
        // Eight hours from the opening is the close of the same day.
        assert_eq!(
            step_due(cal, local((2026, 12, 7), (7, 30)), Budget::Hours(8)),
            local((2026, 12, 7), (17, 0))
        );
        // Friday 16:00 plus four hours: Monday 10:30.
        assert_eq!(
            step_due(cal, local((2026, 12, 11), (16, 0)), Budget::Hours(4)),
            local((2026, 12, 14), (10, 30))
        );
        // Handed over on a Sunday night: the clock starts on Monday morning.
        assert_eq!(
            step_due(cal, local((2026, 12, 13), (22, 0)), Budget::Hours(1)),
            local((2026, 12, 14), (8, 30))
        );
        // Over Tết 2026 (16–20 February are holidays): Friday 13 February 16:00 plus two
        // hours is Monday 23 February, 08:30.
        assert_eq!(
            step_due(cal, local((2026, 2, 13), (16, 0)), Budget::Hours(2)),
            local((2026, 2, 23), (8, 30))
        );
    }

    #[test]
    fn days_end_at_the_close_of_the_nth_working_day() {
        let cal = Calendar::vietnam();
        assert_eq!(
            step_due(cal, local((2026, 12, 11), (9, 0)), Budget::Days(1)),
            local((2026, 12, 14), (17, 0))
        );
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // Any minute of 2026–2027, the years the calendar covers.
        (0i64..(2 * 365 * 24 * 60)).prop_map(|m| local((2026, 1, 1), (0, 0)) + Duration::minutes(m))
    }

    proptest! {
        #[test]
        fn a_step_due_in_hours_falls_inside_office_hours(at in instant(), h in 1u16..200) {
            let cal = Calendar::vietnam();
            let due = to_local(step_due(cal, at, Budget::Hours(h)));
            prop_assert!(cal.is_working_day(due.date()));
            prop_assert!(SHIFTS.iter().any(|(o, c)| *o < due.time() && due.time() <= *c), "{due}");
        }

        #[test]
        fn hours_add_up_across_hand_overs(at in instant(), a in 0u16..100, b in 0u16..100) {
            // Two steps back to back end when one step of both budgets would.
            let cal = Calendar::vietnam();
            let first = step_due(cal, at, Budget::Hours(a));
            prop_assert_eq!(
                step_due(cal, first, Budget::Hours(b)),
                step_due(cal, at, Budget::Hours(a + b))
            );
        }

        #[test]
        fn more_budget_is_never_due_earlier(at in instant(), a in 0u16..150, extra in 0u16..50) {
            let cal = Calendar::vietnam();
            prop_assert!(step_due(cal, at, Budget::Hours(a)) <= step_due(cal, at, Budget::Hours(a + extra)));
            prop_assert!(step_due(cal, at, Budget::Days(a)) <= step_due(cal, at, Budget::Days(a + extra)));
            // A working day's eight hours never outlast the day's own budget in days.
            let day = step_due(cal, at, Budget::Days(a.max(1)));
            prop_assert!(step_due(cal, at, Budget::Hours(a.max(1) * 8)) <= day);
        }
    }
}
