//! Working-day calendar for legal processing times ("thời hạn giải quyết ... ngày làm việc").
//!
//! A working day is Monday–Friday, minus listed holidays (ngày nghỉ lễ, Tết, nghỉ bù, nghỉ hoán
//! đổi), plus listed weekend days that are declared working days (ngày làm bù). The schedule
//! changes every year by government notice, so it is data: `config/holidays/<year>.toml`, embedded
//! at build time, and operators may supply more years through [`Calendar::from_files`].
//!
//! Days in years that no file covers are treated as plain Monday–Friday working days: a missing
//! file makes deadlines slightly early rather than unbounded, and [`Calendar::covers`] lets callers
//! warn about it.

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Included};
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use serde::Deserialize;

/// The holiday files shipped with the platform, one per year.
const EMBEDDED: [(&str, &str); 3] = [
    ("2025.toml", include_str!("../../config/holidays/2025.toml")),
    ("2026.toml", include_str!("../../config/holidays/2026.toml")),
    ("2027.toml", include_str!("../../config/holidays/2027.toml")),
];

/// Vietnam has used UTC+7 all year, without daylight saving, since 1975.
const VIETNAM: FixedOffset = match FixedOffset::east_opt(7 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+7 is a valid offset"),
};

/// 17:00 in Vietnam is 10:00 UTC on the same date, so no date arithmetic (or overflow) is needed.
const CLOSE_OF_BUSINESS_UTC: NaiveTime = match NaiveTime::from_hms_opt(17 - 7, 0, 0) {
    Some(t) => t,
    None => panic!("10:00:00 is a valid time"),
};

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("holiday file {file}: {source}")]
    Parse {
        file: String,
        #[source]
        source: toml::de::Error,
    },
    #[error(
        "holiday file {file}: `{value}` is not a plain date (write YYYY-MM-DD, without quotes)"
    )]
    NotADate { file: String, value: String },
    #[error("holiday file {file}: {date} is outside the file's year {year}")]
    DateOutsideYear {
        file: String,
        date: NaiveDate,
        year: i32,
    },
    #[error("holiday file {file}: {date} is listed more than once")]
    DuplicateDate { file: String, date: NaiveDate },
    #[error("holiday file {file}: working weekend {date} is a {weekday}, not a Saturday or Sunday")]
    NotAWeekend {
        file: String,
        date: NaiveDate,
        weekday: Weekday,
    },
    #[error("holiday file {file}: the entry for {date} has an empty name")]
    EmptyName { file: String, date: NaiveDate },
    #[error("holiday file {file}: year {year} is already defined by {first}")]
    DuplicateYear {
        file: String,
        year: i32,
        first: String,
    },
}

/// One `config/holidays/<year>.toml`. Unknown keys are rejected so that a typo such as
/// `[[holiday]]` fails loudly instead of silently dropping holidays.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    #[serde(default)]
    holidays: Vec<Entry>,
    #[serde(default)]
    working_weekends: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    date: toml::value::Datetime,
    name: String,
}

/// Holidays and working weekends by date, plus the years the data covers.
#[derive(Debug, Clone)]
pub struct Calendar {
    holidays: BTreeMap<NaiveDate, String>,
    working_weekends: BTreeMap<NaiveDate, String>,
    /// Covered year → the file that defined it (for duplicate-year errors).
    years: BTreeMap<i32, String>,
}

impl Calendar {
    /// The national calendar from the embedded `config/holidays/*.toml`, parsed once.
    ///
    /// Cannot fail at run time: the files are compiled in and the tests parse them, so a broken
    /// file fails the build's tests rather than a request.
    pub fn vietnam() -> &'static Calendar {
        static CALENDAR: LazyLock<Calendar> = LazyLock::new(|| {
            Calendar::from_files(EMBEDDED)
                .unwrap_or_else(|e| panic!("embedded holiday data is invalid: {e}"))
        });
        &CALENDAR
    }

    /// From (file name, TOML text) pairs — operators may ship extra years.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Calendar, CalendarError> {
        let mut cal = Calendar {
            holidays: BTreeMap::new(),
            working_weekends: BTreeMap::new(),
            years: BTreeMap::new(),
        };
        for (file, text) in files {
            cal.add_file(file, text)?;
        }
        Ok(cal)
    }

    fn add_file(&mut self, file: &str, text: &str) -> Result<(), CalendarError> {
        let parsed: YearFile = toml::from_str(text).map_err(|source| CalendarError::Parse {
            file: file.to_owned(),
            source,
        })?;
        let year = parsed.year;
        if let Some(first) = self.years.get(&year) {
            return Err(CalendarError::DuplicateYear {
                file: file.to_owned(),
                year,
                first: first.clone(),
            });
        }
        // Validate the whole file before touching `self`, so a failed call leaves no half-year.
        let mut holidays = BTreeMap::new();
        let mut working_weekends = BTreeMap::new();
        for (entries, is_working) in [(parsed.holidays, false), (parsed.working_weekends, true)] {
            for entry in entries {
                let date = to_date(file, &entry.date)?;
                if date.year() != year {
                    return Err(CalendarError::DateOutsideYear {
                        file: file.to_owned(),
                        date,
                        year,
                    });
                }
                if is_working && is_weekday(date) {
                    return Err(CalendarError::NotAWeekend {
                        file: file.to_owned(),
                        date,
                        weekday: date.weekday(),
                    });
                }
                let name = entry.name.trim();
                if name.is_empty() {
                    return Err(CalendarError::EmptyName {
                        file: file.to_owned(),
                        date,
                    });
                }
                // One date cannot be both a day off and a working day, nor be listed twice.
                if holidays.contains_key(&date) || working_weekends.contains_key(&date) {
                    return Err(CalendarError::DuplicateDate {
                        file: file.to_owned(),
                        date,
                    });
                }
                let target = if is_working {
                    &mut working_weekends
                } else {
                    &mut holidays
                };
                target.insert(date, name.to_owned());
            }
        }
        self.holidays.append(&mut holidays);
        self.working_weekends.append(&mut working_weekends);
        self.years.insert(year, file.to_owned());
        Ok(())
    }

    /// Whether holiday data exists for `year`; outside covered years every Mon–Fri counts.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The years with holiday data, ascending.
    pub fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.holidays.contains_key(&d) {
            return false;
        }
        is_weekday(d) || self.working_weekends.contains_key(&d)
    }

    /// Holiday name if d is a listed holiday.
    pub fn holiday(&self, d: NaiveDate) -> Option<&str> {
        self.holidays.get(&d).map(String::as_str)
    }

    /// The reason a Saturday or Sunday is a working day (làm bù), if it is one.
    pub fn working_weekend(&self, d: NaiveDate) -> Option<&str> {
        self.working_weekends.get(&d).map(String::as_str)
    }

    /// The n-th working day strictly after `start` (start itself never counts). n = 0 → start if it is a working day, else the next working day.
    ///
    /// Runs in logarithmic time (binary search over [`Self::working_days_between`]), so even an
    /// absurd `n` from tenant data is cheap; saturates at `NaiveDate::MAX`.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        if n == 0 {
            return if self.is_working_day(start) {
                start
            } else {
                self.add_working_days(start, 1)
            };
        }
        // Any 7 consecutive days hold 5 weekdays and each holiday removes at most one of them, so
        // the answer lies within this many days.
        let needed = u64::from(n) + self.holidays.len() as u64;
        let span = (needed / 5 + 1) * 7;
        let mut hi = start
            .checked_add_days(Days::new(span))
            .unwrap_or(NaiveDate::MAX);
        if self.working_days_between(start, hi) < n {
            return NaiveDate::MAX;
        }
        // Invariant: fewer than n working days in (start, lo], at least n in (start, hi]. The count
        // grows by at most one per day, so the first `hi` reaching n is the n-th working day.
        let mut lo = start;
        loop {
            let gap = hi.signed_duration_since(lo).num_days().unsigned_abs();
            if gap <= 1 {
                return hi;
            }
            let mid = lo + Days::new(gap / 2);
            if self.working_days_between(start, mid) >= n {
                hi = mid;
            } else {
                lo = mid;
            }
        }
    }

    /// Number of working days d with from < d <= to (0 if to <= from).
    ///
    /// Counted arithmetically (weekdays, minus weekday holidays, plus working weekends in range),
    /// so long ranges cost no more than short ones.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        if to <= from {
            return 0;
        }
        let range = (Excluded(from), Included(to));
        let weekday_holidays = self
            .holidays
            .range(range)
            .filter(|(d, _)| is_weekday(**d))
            .count() as u64;
        let working_weekends = self.working_weekends.range(range).count() as u64;
        let count = weekdays_between(from, to) - weekday_holidays + working_weekends;
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

/// Legal due date of a dossier received on `received` (processing counts from the next working day).
///
/// The next working day after `received` is day 1, even when `received` itself is a weekend or
/// holiday. Callers applying the "received after hours counts as received the next working day"
/// rule should normalise `received` first. `processing_days = 0` (same-day procedures) gives
/// `received` itself if it is a working day.
pub fn due_date(cal: &Calendar, received: NaiveDate, processing_days: u32) -> NaiveDate {
    cal.add_working_days(received, processing_days)
}

/// The due date after a pause (waiting for the citizen's supplement) from `paused` to `resumed`: extended by the working days spent waiting = working_days_between(paused, resumed).
///
/// The waiting time does not count against the agency, so the deadline moves by exactly the
/// working days lost; it never moves earlier.
pub fn extend_for_pause(
    cal: &Calendar,
    due: NaiveDate,
    paused: NaiveDate,
    resumed: NaiveDate,
) -> NaiveDate {
    match cal.working_days_between(paused, resumed) {
        0 => due,
        lost => cal.add_working_days(due, lost),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    OnTime,
    DueSoon,
    Overdue,
}

/// For an unresolved dossier: Overdue if today > due; DueSoon if working_days_between(today, due) <= due_soon_days; else OnTime. For a resolved dossier (resolved = Some(date)): OnTime if resolved <= due else Overdue (late).
pub fn timeliness(
    cal: &Calendar,
    due: NaiveDate,
    today: NaiveDate,
    resolved: Option<NaiveDate>,
    due_soon_days: u32,
) -> Timeliness {
    match resolved {
        Some(r) if r <= due => Timeliness::OnTime,
        Some(_) => Timeliness::Overdue,
        None if today > due => Timeliness::Overdue,
        None if cal.working_days_between(today, due) <= due_soon_days => Timeliness::DueSoon,
        None => Timeliness::OnTime,
    }
}

/// Vietnam is UTC+7 all year (no DST): the local calendar date of an instant.
///
/// Saturates at `NaiveDate::MAX` for the last seven hours chrono can represent.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.naive_utc()
        .checked_add_offset(VIETNAM)
        .map_or(NaiveDate::MAX, |local| local.date())
}

/// End of a local working day (17:00 Vietnam time) of `d`, as UTC — when a due date expires.
pub fn end_of_working_day(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(CLOSE_OF_BUSINESS_UTC).and_utc()
}

fn is_weekday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Mondays–Fridays d with from < d <= to; `from < to`.
fn weekdays_between(from: NaiveDate, to: NaiveDate) -> u64 {
    let days = to.signed_duration_since(from).num_days().unsigned_abs();
    let first = u64::from(from.weekday().num_days_from_monday());
    // Whole weeks hold 5 weekdays each; the leftover days continue from `from`'s weekday.
    let leftover = (1..=days % 7).filter(|i| (first + i) % 7 < 5).count() as u64;
    days / 7 * 5 + leftover
}

/// A TOML date without time or offset (a typo such as `2026-01-01T00:00` must not pass).
fn to_date(file: &str, value: &toml::value::Datetime) -> Result<NaiveDate, CalendarError> {
    let not_a_date = || CalendarError::NotADate {
        file: file.to_owned(),
        value: value.to_string(),
    };
    match (value.date, value.time, value.offset) {
        (Some(d), None, None) => {
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                .ok_or_else(not_a_date)
        }
        _ => Err(not_a_date()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn cal() -> &'static Calendar {
        Calendar::vietnam()
    }

    fn err(text: &str) -> CalendarError {
        Calendar::from_files([("bad.toml", text)]).expect_err("file must be rejected")
    }

    #[test]
    fn embedded_files_parse() {
        let parsed = Calendar::from_files(EMBEDDED);
        assert!(parsed.is_ok(), "{:?}", parsed.err());
        assert_eq!(
            cal().covered_years().collect::<Vec<_>>(),
            [2025, 2026, 2027]
        );
        assert!(cal().covers(2026) && !cal().covers(2028));
    }

    #[test]
    fn embedded_files_name_every_holiday_and_respect_the_layout() {
        for (date, name) in &cal().holidays {
            assert!(!name.is_empty(), "{date}");
        }
        for date in cal().working_weekends.keys() {
            assert!(!is_weekday(*date), "{date}");
        }
    }

    #[test]
    fn dossier_received_before_tet_2026_lands_after_it() {
        // Friday 13/02/2026; Tết is Mon 16 – Fri 20/02; working again from Monday 23/02.
        assert_eq!(due_date(cal(), date(2026, 2, 13), 5), date(2026, 2, 27));
        assert_eq!(cal().holiday(date(2026, 2, 17)), Some("Tết Nguyên đán"));
        assert_eq!(
            cal().working_days_between(date(2026, 2, 13), date(2026, 2, 22)),
            0
        );
    }

    #[test]
    fn year_boundary_skips_new_year_and_the_swapped_friday() {
        // 1/1/2026 is a holiday and Friday 2/1 was swapped for Saturday 10/1.
        assert_eq!(
            cal().add_working_days(date(2025, 12, 31), 3),
            date(2026, 1, 7)
        );
        assert!(!cal().is_working_day(date(2026, 1, 1)));
        assert!(!cal().is_working_day(date(2026, 1, 2)));
    }

    #[test]
    fn hung_kings_compensatory_monday_is_not_a_working_day() {
        let sunday = date(2026, 4, 26);
        let monday = date(2026, 4, 27);
        assert_eq!(sunday.weekday(), Weekday::Sun);
        assert_eq!(cal().holiday(sunday), Some("Giỗ Tổ Hùng Vương"));
        assert!(!cal().is_working_day(monday));
        assert_eq!(cal().holiday(monday), Some("Nghỉ bù Giỗ Tổ Hùng Vương"));
        // Friday 24/4 + 1 skips the weekend and the nghỉ bù.
        assert_eq!(
            cal().add_working_days(date(2026, 4, 24), 1),
            date(2026, 4, 28)
        );
    }

    #[test]
    fn working_saturday_counts() {
        let saturday = date(2026, 1, 10);
        assert!(cal().is_working_day(saturday));
        assert!(cal().working_weekend(saturday).is_some());
        assert_eq!(cal().add_working_days(date(2026, 1, 9), 1), saturday);
        // 2025: Friday 2/5 off, Saturday 26/4 worked instead.
        assert!(cal().is_working_day(date(2025, 4, 26)));
        assert!(!cal().is_working_day(date(2025, 5, 2)));
        assert_eq!(
            cal().working_days_between(date(2025, 4, 25), date(2025, 4, 28)),
            2
        );
    }

    #[test]
    fn uncovered_years_are_plain_weeks() {
        let new_year_2030 = date(2030, 1, 1); // a Tuesday, but there is no 2030 file
        assert!(cal().is_working_day(new_year_2030));
        assert!(!cal().is_working_day(date(2030, 1, 5)));
        assert_eq!(cal().holiday(new_year_2030), None);
    }

    #[test]
    fn zero_days_means_the_first_working_day_from_start() {
        assert_eq!(due_date(cal(), date(2026, 2, 13), 0), date(2026, 2, 13));
        assert_eq!(due_date(cal(), date(2026, 2, 14), 0), date(2026, 2, 23));
    }

    #[test]
    fn huge_counts_are_fast_and_saturate() {
        let far = cal().add_working_days(date(2026, 1, 1), 1_000_000);
        assert_eq!(cal().working_days_between(date(2026, 1, 1), far), 1_000_000);
        assert_eq!(
            cal().add_working_days(date(2026, 1, 1), u32::MAX),
            NaiveDate::MAX
        );
        assert_eq!(cal().add_working_days(NaiveDate::MAX, 1), NaiveDate::MAX);
    }

    #[test]
    fn pause_extends_by_the_working_days_waited() {
        let due = date(2026, 2, 6); // Friday
        // Paused Thursday 12/2, resumed Monday 23/2: Fri 13/2 and Mon 23/2 were lost (Tết between).
        let extended = extend_for_pause(cal(), due, date(2026, 2, 12), date(2026, 2, 23));
        assert_eq!(extended, date(2026, 2, 10));
        assert_eq!(
            extend_for_pause(cal(), due, date(2026, 2, 14), date(2026, 2, 14)),
            due
        );
    }

    #[test]
    fn timeliness_examples() {
        let due = date(2026, 2, 27);
        let t = |today, resolved| timeliness(cal(), due, today, resolved, 2);
        assert_eq!(t(date(2026, 2, 13), None), Timeliness::OnTime);
        assert_eq!(t(date(2026, 2, 25), None), Timeliness::DueSoon);
        assert_eq!(t(due, None), Timeliness::DueSoon);
        assert_eq!(t(date(2026, 2, 28), None), Timeliness::Overdue);
        assert_eq!(t(date(2026, 3, 9), Some(due)), Timeliness::OnTime);
        assert_eq!(
            t(date(2026, 3, 9), Some(date(2026, 3, 2))),
            Timeliness::Overdue
        );
    }

    #[test]
    fn timeliness_serialises_snake_case() {
        let json = toml::Value::try_from(Timeliness::DueSoon).expect("serialisable");
        assert_eq!(json.as_str(), Some("due_soon"));
    }

    #[test]
    fn vietnam_time() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("valid instant")
                .with_timezone(&Utc)
        };
        assert_eq!(local_date(at("2026-02-13T16:59:59Z")), date(2026, 2, 13));
        assert_eq!(local_date(at("2026-02-13T17:00:00Z")), date(2026, 2, 14));
        assert_eq!(
            end_of_working_day(date(2026, 2, 27)),
            at("2026-02-27T17:00:00+07:00")
        );
        // Extremes neither panic nor wrap.
        let _ = local_date(DateTime::<Utc>::MAX_UTC);
        let _ = end_of_working_day(NaiveDate::MIN);
    }

    #[test]
    fn bad_files_are_rejected_with_the_file_name() {
        let e = err("year = 2026\n[[holidays]]\ndate = 2025-12-31\nname = \"x\"\n");
        assert!(matches!(
            e,
            CalendarError::DateOutsideYear { year: 2026, .. }
        ));
        assert!(e.to_string().contains("bad.toml"), "{e}");

        let e = err("year = 2026\n[[holidays]\n");
        assert!(matches!(e, CalendarError::Parse { .. }));
        assert!(e.to_string().contains("bad.toml"), "{e}");

        // Quoted dates, times and unknown keys are mistakes, not data.
        let e = err("year = 2026\n[[holidays]]\ndate = \"2026-01-01\"\nname = \"x\"\n");
        assert!(matches!(e, CalendarError::Parse { .. }), "{e}");
        let e = err("year = 2026\n[[holidays]]\ndate = 2026-01-01T08:00:00\nname = \"x\"\n");
        assert!(matches!(e, CalendarError::NotADate { .. }), "{e}");
        let e = err("year = 2026\n[[holiday]]\ndate = 2026-01-01\nname = \"x\"\n");
        assert!(matches!(e, CalendarError::Parse { .. }), "{e}");
        let e = err("[[holidays]]\ndate = 2026-01-01\nname = \"x\"\n");
        assert!(matches!(e, CalendarError::Parse { .. }), "{e}");
    }

    #[test]
    fn inconsistent_entries_are_rejected() {
        let e = err(concat!(
            "year = 2026\n",
            "[[holidays]]\ndate = 2026-01-01\nname = \"a\"\n",
            "[[holidays]]\ndate = 2026-01-01\nname = \"b\"\n",
        ));
        assert!(matches!(e, CalendarError::DuplicateDate { .. }), "{e}");
        let e = err(concat!(
            "year = 2026\n",
            "[[holidays]]\ndate = 2026-01-10\nname = \"a\"\n",
            "[[working_weekends]]\ndate = 2026-01-10\nname = \"b\"\n",
        ));
        assert!(matches!(e, CalendarError::DuplicateDate { .. }), "{e}");
        let e = err("year = 2026\n[[working_weekends]]\ndate = 2026-01-09\nname = \"x\"\n");
        assert!(
            matches!(
                e,
                CalendarError::NotAWeekend {
                    weekday: Weekday::Fri,
                    ..
                }
            ),
            "{e}"
        );
        let e = err("year = 2026\n[[holidays]]\ndate = 2026-01-01\nname = \"  \"\n");
        assert!(matches!(e, CalendarError::EmptyName { .. }), "{e}");
    }

    #[test]
    fn duplicate_year_is_rejected() {
        let text = "year = 2026\n";
        let e = Calendar::from_files([("a.toml", text), ("b.toml", text)])
            .expect_err("same year twice");
        assert!(
            matches!(&e, CalendarError::DuplicateYear { year: 2026, first, file } if first == "a.toml" && file == "b.toml"),
            "{e}"
        );
    }

    #[test]
    fn operators_can_add_a_year() {
        let extra = "year = 2028\n[[holidays]]\ndate = 2028-01-03\nname = \"Nghỉ bù\"\n";
        let files = EMBEDDED.into_iter().chain([("2028.toml", extra)]);
        let c = Calendar::from_files(files).expect("valid files");
        assert!(c.covers(2028));
        assert!(!c.is_working_day(date(2028, 1, 3)));
        assert_eq!(c.holiday(date(2026, 1, 1)), Some("Tết Dương lịch"));
    }

    // ---- properties, over 2024-06..2028-06 (covered years and the plain weeks around them) ----

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        let first = date(2024, 6, 1);
        let days = date(2028, 6, 30).signed_duration_since(first).num_days() as u64;
        (0..=days).prop_map(move |offset| first + Days::new(offset))
    }

    /// The obvious day-by-day definitions, to check the fast versions against.
    fn naive_add(c: &Calendar, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        if n == 0 {
            while !c.is_working_day(d) {
                d = d + Days::new(1);
            }
            return d;
        }
        let mut left = n;
        while left > 0 {
            d = d + Days::new(1);
            if c.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    fn naive_between(c: &Calendar, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| c.is_working_day(*d))
            .count() as u32
    }

    proptest! {
        #[test]
        fn added_date_is_a_working_day(start in any_date(), n in 0u32..60) {
            prop_assert!(cal().is_working_day(cal().add_working_days(start, n)));
        }

        #[test]
        fn adding_n_spans_exactly_n_working_days(start in any_date(), n in 1u32..60) {
            let end = cal().add_working_days(start, n);
            prop_assert_eq!(cal().working_days_between(start, end), n);
        }

        #[test]
        fn adding_is_monotonic_and_never_goes_back(start in any_date(), n in 0u32..60) {
            let a = cal().add_working_days(start, n);
            let b = cal().add_working_days(start, n + 1);
            prop_assert!(start <= a);
            prop_assert!(a < b || (n == 0 && a == b));
            if n >= 1 {
                prop_assert!(start < a);
            }
        }

        #[test]
        fn fast_versions_match_day_by_day(start in any_date(), end in any_date(), n in 0u32..60) {
            prop_assert_eq!(cal().add_working_days(start, n), naive_add(cal(), start, n));
            prop_assert_eq!(
                cal().working_days_between(start, end),
                naive_between(cal(), start, end)
            );
        }

        #[test]
        fn pause_never_moves_due_earlier_and_adds_the_waited_days(
            due in any_date(),
            paused in any_date(),
            waited in 0u64..90,
        ) {
            let resumed = paused + Days::new(waited);
            let extended = extend_for_pause(cal(), due, paused, resumed);
            prop_assert!(extended >= due);
            if cal().is_working_day(due) {
                prop_assert_eq!(
                    cal().working_days_between(due, extended),
                    cal().working_days_between(paused, resumed)
                );
            }
        }

        #[test]
        fn resolved_on_or_before_due_is_on_time(
            due in any_date(),
            today in any_date(),
            early in 0u64..400,
            soon in 0u32..10,
        ) {
            let resolved = due.checked_sub_days(Days::new(early));
            prop_assert_eq!(timeliness(cal(), due, today, resolved, soon), Timeliness::OnTime);
            let late = due + Days::new(early + 1);
            prop_assert_eq!(timeliness(cal(), due, today, Some(late), soon), Timeliness::Overdue);
            let open = timeliness(cal(), due, today, None, soon);
            prop_assert_eq!(open == Timeliness::Overdue, today > due);
        }

        #[test]
        fn weekends_work_only_when_listed(d in any_date()) {
            if !is_weekday(d) {
                prop_assert_eq!(cal().is_working_day(d), cal().working_weekend(d).is_some());
            }
            if cal().holiday(d).is_some() {
                prop_assert!(!cal().is_working_day(d));
            }
        }

        #[test]
        fn a_day_expires_at_its_own_local_close(d in any_date()) {
            prop_assert_eq!(local_date(end_of_working_day(d)), d);
        }
    }
}
