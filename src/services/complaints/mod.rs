//! Complaints and recommendations (phản ánh, kiến nghị): what a filing must hold, its
//! deadline on the working-day calendar, and how a question is made fit to publish. Pure; the
//! store is in [`store`].

pub mod store;

use crate::services::calendar::Calendar;
use chrono::NaiveDate;
use serde::Deserialize;

/// Working days an agency has to answer (Decree 20/2008/NĐ-CP on complaints and
/// recommendations about administrative regulations: ten working days from receipt).
pub const ANSWER_WORKING_DAYS: u32 = 10;

crate::db::text_enum! {
    /// A complaint (phản ánh: something went wrong) or a recommendation (kiến nghị: how it
    /// could be better).
    pub enum Kind("complaint kind") {
        Complaint = "complaint",
        Recommendation = "recommendation",
    }
}

crate::db::text_enum! {
    /// What the filing is about.
    pub enum Subject("complaint subject") {
        Procedure = "procedure",
        Dossier = "dossier",
        Unit = "unit",
        Official = "official",
        Other = "other",
    }
}

crate::db::text_enum! {
    /// `unverified` (waiting for the filer's code) → `open` (the deadline runs) → `answered`
    /// → `published` (with consent, personal data removed).
    pub enum ComplaintStatus("complaint status") {
        Unverified = "unverified",
        Open = "open",
        Answered = "answered",
        Published = "published",
    }
}

/// A filing as typed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilingInput {
    /// `complaint` or `recommendation`.
    pub kind: String,
    /// `procedure`, `dossier`, `unit`, `official` or `other`.
    pub subject: String,
    /// The procedure or dossier code, the unit code, or the official as you name them.
    #[serde(default)]
    pub subject_ref: Option<String>,
    pub title: String,
    pub body: String,
    /// Your name (taken from the account when signed in).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// You agree that the question and answer, without your personal data, are published.
    #[serde(default)]
    pub consent_publish: bool,
}

/// A filing that passed its checks.
#[derive(Debug, Clone)]
pub struct Filing {
    pub kind: Kind,
    pub subject: Subject,
    pub subject_ref: Option<String>,
    pub title: String,
    pub body: String,
    pub name: String,
    pub email: Option<crate::mail::Email>,
    pub phone: Option<crate::texts::MobileNumber>,
    pub consent_publish: bool,
}

/// One refused input: where, a stable code, and the message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub code: &'static str,
    pub vi: &'static str,
    pub en: &'static str,
}

fn problem(field: &'static str, code: &'static str, vi: &'static str, en: &'static str) -> Problem {
    Problem {
        field,
        code,
        vi,
        en,
    }
}

fn text(s: &str, max: usize) -> Option<String> {
    let t = s.trim();
    (!t.is_empty() && t.chars().count() <= max && !t.chars().any(|c| c.is_control() && c != '\n'))
        .then(|| t.to_owned())
}

/// Checks a filing. `signed_in` is the account's name and verified contact when there is
/// one: then no other contact is needed.
pub fn check(input: &FilingInput, signed_in: Option<&str>) -> Result<Filing, Vec<Problem>> {
    let mut problems = Vec::new();
    let kind = input.kind.parse::<Kind>().map_err(|_| {
        problem(
            "kind",
            "invalid",
            "Loại: phản ánh hoặc kiến nghị",
            "Kind: complaint or recommendation",
        )
    });
    let subject = input.subject.parse::<Subject>().map_err(|_| {
        problem(
            "subject",
            "invalid",
            "Nội dung liên quan: thủ tục, hồ sơ, đơn vị, cán bộ hoặc khác",
            "About: procedure, dossier, unit, official or other",
        )
    });
    let subject_ref = input
        .subject_ref
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if subject_ref
        .as_ref()
        .is_some_and(|s| s.chars().count() > 200)
    {
        problems.push(problem(
            "subject_ref",
            "too_long",
            "Đối tượng: tối đa 200 ký tự",
            "Subject: at most 200 characters",
        ));
    }
    if matches!(
        subject,
        Ok(Subject::Dossier | Subject::Procedure | Subject::Unit)
    ) && subject_ref.is_none()
    {
        problems.push(problem(
            "subject_ref",
            "required",
            "Ghi mã thủ tục, mã hồ sơ hoặc đơn vị được phản ánh",
            "Give the procedure code, dossier code or unit concerned",
        ));
    }
    let title = text(&input.title, 200);
    if title.is_none() {
        problems.push(problem(
            "title",
            "required",
            "Tiêu đề: bắt buộc, tối đa 200 ký tự",
            "Title: required, at most 200 characters",
        ));
    }
    let body = text(&input.body, 5000);
    if body.is_none() {
        problems.push(problem(
            "body",
            "required",
            "Nội dung: bắt buộc, tối đa 5.000 ký tự",
            "Details: required, at most 5,000 characters",
        ));
    }
    let name = match signed_in {
        Some(n) => Some(n.to_owned()),
        None => input.name.as_deref().and_then(|n| text(n, 120)),
    };
    if name.is_none() {
        problems.push(problem(
            "name",
            "required",
            "Họ và tên: bắt buộc",
            "Name: required",
        ));
    }
    let email = match input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        None => None,
        Some(e) => match crate::mail::Email::parse(e) {
            Ok(e) => Some(e),
            Err(_) => {
                problems.push(problem(
                    "email",
                    "invalid",
                    "Thư điện tử không hợp lệ",
                    "E-mail is not valid",
                ));
                None
            }
        },
    };
    let phone = match input
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None => None,
        Some(p) => match crate::texts::MobileNumber::parse(p) {
            Ok(p) => Some(p),
            Err(_) => {
                problems.push(problem(
                    "phone",
                    "not_mobile",
                    "Số điện thoại: số di động Việt Nam, 10 chữ số bắt đầu bằng 03, 05, 07, 08 hoặc 09",
                    "Phone: a Vietnamese mobile number, 10 digits starting 03, 05, 07, 08 or 09",
                ));
                None
            }
        },
    };
    let contact_given = input.email.as_deref().is_some_and(|e| !e.trim().is_empty())
        || input.phone.as_deref().is_some_and(|p| !p.trim().is_empty());
    if signed_in.is_none() && !contact_given {
        problems.push(problem(
            "contact",
            "required",
            "Cho biết thư điện tử hoặc số điện thoại di động để nhận mã xác minh và câu trả lời",
            "Give an e-mail or a mobile number to receive the verification code and the answer",
        ));
    }
    match (kind, subject, title, body, name) {
        (Ok(kind), Ok(subject), Some(title), Some(body), Some(name)) if problems.is_empty() => {
            Ok(Filing {
                kind,
                subject,
                subject_ref,
                title,
                body,
                name,
                email,
                phone,
                consent_publish: input.consent_publish,
            })
        }
        (kind, subject, ..) => {
            let mut all: Vec<Problem> = [kind.err(), subject.err()].into_iter().flatten().collect();
            all.extend(problems);
            Err(all)
        }
    }
}

/// A complaint code as typed in a URL: `PAKN-yymmdd-nnnn` (the number may grow past four
/// digits), or nothing.
pub fn parse_code(s: &str) -> Option<String> {
    let rest = s.strip_prefix("PAKN-")?;
    let (day, number) = rest.split_once('-')?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    (day.len() == 6 && digits(day) && (4..=12).contains(&number.len()) && digits(number))
        .then(|| s.to_owned())
}

/// Compares two digests in constant time: how much of a guessed code was right never shows.
pub fn same_digest(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The answer is due ten working days after the filing day.
pub fn due_date(cal: &Calendar, filed_on: NaiveDate) -> NaiveDate {
    cal.add_working_days(filed_on, ANSWER_WORKING_DAYS)
}

/// Late: still open after its due date.
pub fn overdue(status: ComplaintStatus, due: Option<NaiveDate>, today: NaiveDate) -> bool {
    status == ComplaintStatus::Open && due.is_some_and(|d| today > d)
}

/// Personal data left in a text meant for the public: e-mail addresses, phone numbers,
/// identity numbers (9 or 12 digits), and the filer's name. Returns what was found, by kind.
pub fn personal_data(text: &str, filer_name: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    if text.split_whitespace().any(|w| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '.');
        w.contains('@') && crate::mail::Email::parse(w).is_ok()
    }) {
        found.push("email");
    }
    let runs: Vec<String> = digit_runs(text).into_iter().map(|(_, _, d)| d).collect();
    if runs.iter().any(|r| r.len() == 10 || r.len() == 11) {
        found.push("phone");
    }
    if runs.iter().any(|r| r.len() == 9 || r.len() == 12) {
        found.push("identity_number");
    }
    let name = filer_name.trim().to_lowercase();
    if name.split_whitespace().count() >= 2 && text.to_lowercase().contains(&name) {
        found.push("name");
    }
    found
}

/// Numbers written with spaces or dots inside (`0912 345 678`, `001.090.012.345`): each run's
/// byte span and its digits. Dashes and slashes end a run, so dossier codes and dates stay
/// apart.
fn digit_runs(text: &str) -> Vec<(usize, usize, String)> {
    let mut runs = Vec::new();
    let mut current: Option<(usize, usize, String)> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next_is_digit = chars.peek().is_some_and(|(_, n)| n.is_ascii_digit());
        if c.is_ascii_digit() {
            let run = current.get_or_insert_with(|| (i, i, String::new()));
            run.1 = i + 1;
            run.2.push(c);
        } else if !(current.is_some() && matches!(c, ' ' | '.') && next_is_digit) {
            runs.extend(current.take());
        }
    }
    runs.extend(current);
    runs
}

/// A first draft of the public question: the filer's text with addresses, long numbers and
/// name replaced by `…`. The official reads and edits it before publishing.
pub fn redacted(text: &str, filer_name: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end, digits) in digit_runs(text) {
        if digits.len() >= 9 {
            out.push_str(&text[last..start]);
            out.push('…');
            last = end;
        }
    }
    out.push_str(&text[last..]);
    let words: Vec<String> = out
        .split(' ')
        .map(|w| {
            if w.contains('@') {
                "…".to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect();
    let mut joined = words.join(" ");
    // The filer's name, however it is cased.
    let name: Vec<char> = filer_name
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .collect();
    if name.len() > 1 {
        let chars: Vec<char> = joined.chars().collect();
        let mut result = String::new();
        let mut i = 0;
        while i < chars.len() {
            let window = chars.get(i..i + name.len());
            let matches = window.is_some_and(|w| {
                w.iter()
                    .flat_map(|c| c.to_lowercase())
                    .eq(name.iter().copied())
            });
            if matches {
                result.push('…');
                i += name.len();
            } else {
                result.push(chars[i]);
                i += 1;
            }
        }
        joined = result;
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> FilingInput {
        FilingInput {
            kind: "complaint".into(),
            subject: "dossier".into(),
            subject_ref: Some("TA-261207-0001".into()),
            title: "Hồ sơ trễ hẹn".into(),
            body: "Hồ sơ của tôi đã quá hạn ba ngày.".into(),
            name: Some("Nguyễn Văn An".into()),
            email: None,
            phone: Some("0912 345 678".into()),
            consent_publish: true,
        }
    }

    #[test]
    fn a_filing_needs_a_contact_unless_signed_in() {
        let f = check(&input(), None).unwrap();
        assert_eq!(f.phone.unwrap().international(), "84912345678");
        let mut no_contact = input();
        no_contact.phone = None;
        let e = check(&no_contact, None).unwrap_err();
        assert_eq!(e.iter().map(|p| p.field).collect::<Vec<_>>(), ["contact"]);
        assert!(check(&no_contact, Some("Nguyễn Văn An")).is_ok());
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let bad = FilingInput {
            kind: "praise".into(),
            subject: "dossier".into(),
            title: " ".into(),
            body: "x".repeat(5001),
            phone: Some("02438261234".into()),
            email: Some("not-an-address".into()),
            ..FilingInput::default()
        };
        let fields: Vec<&str> = check(&bad, None)
            .unwrap_err()
            .iter()
            .map(|p| p.field)
            .collect();
        for f in [
            "kind",
            "subject_ref",
            "title",
            "body",
            "name",
            "email",
            "phone",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }

    #[test]
    fn complaint_codes_are_parsed_before_use() {
        assert_eq!(
            parse_code("PAKN-261207-0042").as_deref(),
            Some("PAKN-261207-0042")
        );
        assert_eq!(
            parse_code("PAKN-261207-12345").as_deref(),
            Some("PAKN-261207-12345")
        );
        for bad in [
            "PAKN-2612-0042",
            "pakn-261207-0042",
            "PAKN-261207-42",
            "PAKN-261207-00x2",
            "../x",
            "",
        ] {
            assert_eq!(parse_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_deadline_is_ten_working_days_and_late_is_after_it() {
        let cal = Calendar::vietnam();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        // Monday 7 December 2026 → Monday 21 December (two weeks of working days).
        assert_eq!(due_date(cal, d("2026-12-07")), d("2026-12-21"));
        assert!(!overdue(
            ComplaintStatus::Open,
            Some(d("2026-12-21")),
            d("2026-12-21")
        ));
        assert!(overdue(
            ComplaintStatus::Open,
            Some(d("2026-12-21")),
            d("2026-12-22")
        ));
        assert!(!overdue(
            ComplaintStatus::Answered,
            Some(d("2026-12-21")),
            d("2026-12-30")
        ));
    }

    #[test]
    fn personal_data_is_found_and_a_redacted_draft_has_none() {
        let text = "Tôi là Nguyễn Văn An, CCCD 001090012345, gọi 0912.345.678 \
                    hoặc an.nguyen@example.vn: hồ sơ TA-261207-0001 trễ hẹn.";
        let mut found = personal_data(text, "Nguyễn Văn An");
        found.sort_unstable();
        assert_eq!(found, ["email", "identity_number", "name", "phone"]);
        let draft = redacted(text, "Nguyễn Văn An");
        assert!(personal_data(&draft, "Nguyễn Văn An").is_empty(), "{draft}");
        assert!(draft.contains("trễ hẹn"));
        // A dossier code and a date are not personal data.
        assert!(personal_data("Hồ sơ TA-261207-0001 hẹn ngày 14/12/2026", "Trần Bình").is_empty());
    }
}
