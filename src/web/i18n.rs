//! Message catalogs and locale formatting for the portal. Every string a page shows comes
//! from `templates/web/i18n/{vi,en}.toml` (compiled in), looked up by a dotted key; numbers,
//! money and dates are written the way each language writes them.

use crate::locale::Locale;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const VI: &str = include_str!("../../templates/web/i18n/vi.toml");
const EN: &str = include_str!("../../templates/web/i18n/en.toml");

pub struct Catalog {
    messages: BTreeMap<String, String>,
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => panic!("catalog key {key}: not a string: {other:?}"),
        }
    }
}

impl Catalog {
    fn parse(text: &str) -> Catalog {
        let table: toml::Table = text.parse().expect("message catalog is valid TOML");
        let mut messages = BTreeMap::new();
        flatten("", &table, &mut messages);
        Catalog { messages }
    }

    pub fn of(locale: Locale) -> &'static Catalog {
        static CATALOGS: OnceLock<[Catalog; 2]> = OnceLock::new();
        let [vi, en] = CATALOGS.get_or_init(|| [Catalog::parse(VI), Catalog::parse(EN)]);
        match locale {
            Locale::Vi => vi,
            Locale::En => en,
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.messages.get(key).map(String::as_str)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }
}

/// The message for `key`, or the key itself (a test checks every key a template uses exists,
/// so this fallback only shows in development).
pub fn t(locale: Locale, key: &str) -> String {
    Catalog::of(locale)
        .get(key)
        .map_or_else(|| key.to_owned(), str::to_owned)
}

fn group(digits: &str, sep: char) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn separators(locale: Locale) -> (char, char) {
    match locale {
        Locale::Vi => ('.', ','),
        Locale::En => (',', '.'),
    }
}

/// 1234567 → "1.234.567" (vi) or "1,234,567" (en).
pub fn integer(locale: Locale, n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!(
        "{sign}{}",
        group(&n.unsigned_abs().to_string(), separators(locale).0)
    )
}

/// 4.26 with one digit → "4,3" (vi) or "4.3" (en).
pub fn decimal(locale: Locale, x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let text = format!("{:.*}", digits, x.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let (thousands, point) = separators(locale);
    let sign = if x < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{}", group(int, thousands))
    } else {
        format!("{sign}{}{point}{frac}", group(int, thousands))
    }
}

/// Money is whole đồng: "1.500.000 ₫" in Vietnamese, "VND 1,500,000" in English.
pub fn vnd(locale: Locale, amount: i64) -> String {
    match locale {
        Locale::Vi => format!("{} ₫", integer(locale, amount)),
        Locale::En => format!("VND {}", integer(locale, amount)),
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// 2026-11-29 → "29/11/2026" (vi) or "29 Nov 2026" (en).
pub fn date(locale: Locale, d: NaiveDate) -> String {
    use chrono::Datelike;
    match locale {
        Locale::Vi => d.format("%d/%m/%Y").to_string(),
        Locale::En => format!(
            "{} {} {}",
            d.day(),
            MONTHS_EN[d.month0() as usize],
            d.year()
        ),
    }
}

/// Vietnam keeps UTC+7 all year (no daylight saving), so a fixed offset is exact.
pub fn vietnam_time(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&FixedOffset::east_opt(7 * 3600).expect("valid offset"))
}

/// A moment in Vietnam time: "14:05 29/11/2026" (vi) or "29 Nov 2026, 14:05" (en).
pub fn datetime(locale: Locale, at: DateTime<Utc>) -> String {
    let local = vietnam_time(at);
    let day = date(locale, local.date_naive());
    let clock = local.format("%H:%M");
    match locale {
        Locale::Vi => format!("{clock} {day}"),
        Locale::En => format!("{day}, {clock}"),
    }
}

/// `"Đã nhận {n} hồ sơ"` with `n = 3` → `"Đã nhận 3 hồ sơ"`.
pub fn fill(template: &str, args: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogs_have_the_same_keys_and_no_empty_message() {
        let vi: Vec<_> = Catalog::of(Locale::Vi).keys().collect();
        let en: Vec<_> = Catalog::of(Locale::En).keys().collect();
        let only_vi: Vec<_> = vi.iter().filter(|k| !en.contains(k)).collect();
        let only_en: Vec<_> = en.iter().filter(|k| !vi.contains(k)).collect();
        assert!(
            only_vi.is_empty() && only_en.is_empty(),
            "{only_vi:?} {only_en:?}"
        );
        for l in Locale::ALL {
            for k in Catalog::of(l).keys() {
                assert!(!Catalog::of(l).get(k).unwrap().trim().is_empty(), "{k}");
            }
        }
    }

    #[test]
    fn vietnamese_is_written_with_its_diacritics() {
        assert_eq!(t(Locale::Vi, "nav.my_dossiers"), "Hồ sơ của tôi");
        assert_eq!(t(Locale::En, "nav.my_dossiers"), "My dossiers");
    }

    #[test]
    fn numbers_money_and_dates_follow_the_locale() {
        assert_eq!(integer(Locale::Vi, 1_234_567), "1.234.567");
        assert_eq!(integer(Locale::En, -1_234_567), "-1,234,567");
        assert_eq!(integer(Locale::En, 999), "999");
        assert_eq!(decimal(Locale::Vi, 4.26, 1), "4,3");
        assert_eq!(decimal(Locale::En, 12_345.5, 1), "12,345.5");
        assert_eq!(decimal(Locale::Vi, -0.01, 1), "0,0");
        assert_eq!(decimal(Locale::Vi, f64::NAN, 1), "–");
        assert_eq!(vnd(Locale::Vi, 1_500_000), "1.500.000 ₫");
        assert_eq!(vnd(Locale::En, 1_500_000), "VND 1,500,000");
        let d = NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
        assert_eq!(date(Locale::Vi, d), "09/11/2026");
        assert_eq!(date(Locale::En, d), "9 Nov 2026");
        // 20:30 UTC is 03:30 the next day in Hà Nội.
        let at = DateTime::parse_from_rfc3339("2026-11-29T20:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(datetime(Locale::Vi, at), "03:30 30/11/2026");
        assert_eq!(datetime(Locale::En, at), "30 Nov 2026, 03:30");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill(
                "Đã nhận {n} hồ sơ của {who}",
                &[("n", "3".into()), ("who", "bạn".into())]
            ),
            "Đã nhận 3 hồ sơ của bạn"
        );
    }
}
