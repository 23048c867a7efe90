//! Dates as Vietnamese people write them: `dd/mm/yyyy` on screen and in forms, ISO
//! `yyyy-mm-dd` in stored form data and in the JSON API. Pure.
//!
//! Typed dates are read leniently: `d/m/yyyy` with one or two digits for the day and month,
//! `/`, `-` or `.` between them (the same both times), spaces around them ignored; an ISO date
//! is also read (the review page's "edit" sends stored values back). Anything else — and a
//! day the calendar does not have, such as 31/02/2026 — is not a date.

use chrono::{Datelike, NaiveDate};

/// What the portal says about a date input that holds no date at all ("abc", "1990").
pub const TYPE_IT_VI: &str = "nhập ngày theo dạng ngày/tháng/năm, ví dụ 01/05/1990";
pub const TYPE_IT_EN: &str = "type the date as day/month/year, e.g. 01/05/1990";

/// What is said of `31/02/2026`: the shape of a date, a day the calendar does not have.
pub const NO_SUCH_DAY_VI: &str = "không có ngày này trên lịch (ngày/tháng/năm)";
pub const NO_SUCH_DAY_EN: &str = "no such day on the calendar (day/month/year)";

/// The day, month and year of text shaped like a typed date (`d/m/yyyy`, `dd-mm-yyyy`,
/// `dd.mm.yyyy`), whether or not the calendar has that day.
fn typed_parts(s: &str) -> Option<(u32, u32, i32)> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let sep = s.chars().find(|c| matches!(c, '/' | '-' | '.'))?;
    let mut parts = s.split(sep);
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let digits =
        |p: &str, lens: &[usize]| lens.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(d, &[1, 2]) || !digits(m, &[1, 2]) || !digits(y, &[4]) {
        return None;
    }
    Some((d.parse().ok()?, m.parse().ok()?, y.parse().ok()?))
}

/// Strict ISO `yyyy-mm-dd` naming a real day.
pub(super) fn parse_iso(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return None;
    }
    NaiveDate::from_ymd_opt(
        s[0..4].parse().ok()?,
        s[5..7].parse().ok()?,
        s[8..10].parse().ok()?,
    )
}

/// The day a person typed: `01/05/1990`, `1/5/1990`, `01-05-1990`, `01.05.1990` (day first),
/// or ISO `1990-05-01`; `None` when it is not a day of the calendar.
pub fn parse_typed_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Some(d) = parse_iso(s) {
        return Some(d);
    }
    let (d, m, y) = typed_parts(s)?;
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Text shaped like a typed date whose day the calendar does not have (31/02/2026).
pub fn is_impossible_typed_date(s: &str) -> bool {
    typed_parts(s.trim()).is_some_and(|(d, m, y)| NaiveDate::from_ymd_opt(y, m, d).is_none())
}

/// `dd/mm/yyyy`.
pub fn format_date(d: NaiveDate) -> String {
    format!("{:02}/{:02}/{:04}", d.day(), d.month(), d.year())
}

/// `yyyy-mm-dd`, as stored and as the API speaks.
pub fn iso_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// A stored ISO date as people read it (`1990-05-01` → `01/05/1990`); any other text as it is
/// (what was typed and refused is shown back unchanged).
pub fn display_date(value: &str) -> String {
    parse_iso(value).map_or_else(|| value.to_owned(), format_date)
}

/// A typed date as it is stored (`1/5/1990` → `1990-05-01`); `None` when it is not a day.
pub fn typed_to_iso(s: &str) -> Option<String> {
    parse_typed_date(s).map(iso_date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_ways_people_type_a_date() {
        for typed in [
            "01/05/1990",
            "1/5/1990",
            " 01/05/1990 ",
            "01-05-1990",
            "01.05.1990",
            "1.5.1990",
            "01 / 05 / 1990",
            "1990-05-01",
        ] {
            assert_eq!(parse_typed_date(typed), Some(day(1990, 5, 1)), "{typed}");
        }
        assert_eq!(parse_typed_date("29/02/2024"), Some(day(2024, 2, 29)));
        assert_eq!(typed_to_iso("9/12/2026").as_deref(), Some("2026-12-09"));
    }

    #[test]
    fn what_is_not_a_date() {
        for bad in [
            "",
            "abc",
            "1990",
            "01/05",
            "01/05/90",
            "01/05/19900",
            "001/05/1990",
            "01/05/1990/1",
            "01/05-1990",
            "1990/05/01",
            "05/01/1990x",
            "31/02/2026",
            "29/02/2023",
            "00/01/2026",
            "01/13/2026",
            "1990-5-1",
            "+1/05/1990",
        ] {
            assert_eq!(parse_typed_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn impossible_days_are_told_from_text_that_is_no_date() {
        assert!(is_impossible_typed_date("31/02/2026"));
        assert!(is_impossible_typed_date("29.02.2023"));
        assert!(is_impossible_typed_date("1/13/2026"));
        assert!(!is_impossible_typed_date("28/02/2026"));
        assert!(!is_impossible_typed_date("abc"));
        assert!(!is_impossible_typed_date("2023-02-29"));
    }

    #[test]
    fn stored_dates_are_shown_day_first() {
        assert_eq!(display_date("1990-05-01"), "01/05/1990");
        assert_eq!(display_date("2026-12-31"), "31/12/2026");
        // Not an ISO day: shown as it is.
        assert_eq!(display_date("31/02/2026"), "31/02/2026");
        assert_eq!(display_date("2023-02-29"), "2023-02-29");
        assert_eq!(display_date("Nguyễn Văn An"), "Nguyễn Văn An");
        assert_eq!(format_date(day(7, 1, 2)), "02/01/0007");
    }

    fn any_day() -> impl Strategy<Value = NaiveDate> {
        (1000i32..=9999, 1u32..=12, 1u32..=31)
            .prop_filter_map("a real day", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    }

    proptest! {
        #[test]
        fn format_then_parse_is_the_same_day(d in any_day()) {
            prop_assert_eq!(parse_typed_date(&format_date(d)), Some(d));
            prop_assert_eq!(parse_typed_date(&iso_date(d)), Some(d));
            let loose = format!("{}.{}.{}", d.day(), d.month(), d.year());
            prop_assert_eq!(parse_typed_date(&loose), Some(d));
        }

        #[test]
        fn stored_then_shown_then_typed_back_is_stored_again(d in any_day()) {
            let stored = iso_date(d);
            prop_assert_eq!(typed_to_iso(&display_date(&stored)), Some(stored));
        }

        #[test]
        fn parsing_never_panics_and_yields_real_days(s in "\\PC{0,16}") {
            if let Some(d) = parse_typed_date(&s) {
                prop_assert_eq!(parse_typed_date(&format_date(d)), Some(d));
            }
        }

        #[test]
        fn days_past_the_month_are_never_dates(y in 1000i32..=9999, m in 1u32..=12, d in 29u32..=31) {
            let typed = format!("{d:02}/{m:02}/{y}");
            let real = NaiveDate::from_ymd_opt(y, m, d);
            prop_assert_eq!(parse_typed_date(&typed), real);
            prop_assert_eq!(is_impossible_typed_date(&typed), real.is_none());
        }
    }
}
