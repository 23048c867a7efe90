//! Human dossier codes: the receiving agency's electronic identifier (or, for a tenant without
//! one, its short code), the local date (yymmdd) and the daily sequence —
//! `000.00.24.H29-261128-0007`, or `HNI-261128-0007` as codes were before agencies had one.

use crate::tenancy::AgencyId;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DossierCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid dossier code: expected e.g. `HNI-261128-0007`")]
pub struct DossierCodeError;

impl DossierCode {
    /// The code of the `seq`-th dossier of `day` received by the agency whose identifier (or
    /// tenant code) is `prefix`.
    pub fn new(prefix: &str, day: NaiveDate, seq: u32) -> Self {
        Self(format!(
            "{prefix}-{:02}{:02}{:02}-{seq:04}",
            day.year() % 100,
            day.month(),
            day.day()
        ))
    }

    /// Accepts what a citizen types: surrounding spaces and lowercase are forgiven.
    pub fn parse(s: &str) -> Result<Self, DossierCodeError> {
        let s = s.trim().to_ascii_uppercase();
        let mut parts = s.split('-');
        let (Some(tenant), Some(date), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(DossierCodeError);
        };
        let short_code =
            (2..=10).contains(&tenant.len()) && tenant.bytes().all(|b| b.is_ascii_alphanumeric());
        let ok = (short_code || AgencyId::parse(tenant).is_ok())
            && date.len() == 6
            && date.bytes().all(|b| b.is_ascii_digit())
            && (4..=7).contains(&seq.len())
            && seq.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Self(s))
        } else {
            Err(DossierCodeError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DossierCode {
    type Error = DossierCodeError;
    fn try_from(s: String) -> Result<Self, DossierCodeError> {
        Self::parse(&s)
    }
}

impl From<DossierCode> for String {
    fn from(c: DossierCode) -> String {
        c.0
    }
}

impl std::fmt::Display for DossierCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Digits of a phone number or an identity number, as the second factor of public lookup:
/// `0912 345 678`, `+84 912 345 678` and `84912345678` all give `0912345678`.
pub fn normalize_phone(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if s.chars()
        .any(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '+' | '(' | ')')))
    {
        return None;
    }
    let national = match digits.strip_prefix("84") {
        Some(rest) if digits.len() == 11 => format!("0{rest}"),
        _ => digits,
    };
    (national.len() == 10 && national.starts_with('0')).then_some(national)
}

/// What the public lookup compares: neither the code nor the phone alone opens a dossier.
pub fn lookup_hash(code: &DossierCode, phone_digits: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(code.as_str().as_bytes());
    h.update([0]);
    h.update(phone_digits.as_bytes());
    h.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_format_and_parse() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let c = DossierCode::new("HNI", day, 7);
        assert_eq!(c.as_str(), "HNI-261128-0007");
        assert_eq!(DossierCode::parse(" hni-261128-0007 ").unwrap(), c);
        assert_eq!(
            DossierCode::new("HNI", day, 12345).as_str(),
            "HNI-261128-12345"
        );
        for bad in [
            "",
            "HNI",
            "HNI-2611-0007",
            "HNI-261128-07",
            "../x-261128-0007",
            "H-261128-0007",
            "HNI-261128-0007-1",
            "000.00.24.h29x-261128-0007",
            "000.00.24-261128-0007",
            "..-261128-0007",
        ] {
            assert!(DossierCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_open_with_the_agency_identifier() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let c = DossierCode::new("000.00.24.H29", day, 42);
        assert_eq!(c.as_str(), "000.00.24.H29-261207-0042");
        assert_eq!(DossierCode::parse(" 000.00.24.h29-261207-0042").unwrap(), c);
        // Codes issued before the agency had an identifier keep working.
        assert!(DossierCode::parse("HNI-261207-0042").is_ok());
    }

    #[test]
    fn phones_normalise() {
        assert_eq!(
            normalize_phone("0912 345 678").as_deref(),
            Some("0912345678")
        );
        assert_eq!(
            normalize_phone("+84 912.345.678").as_deref(),
            Some("0912345678")
        );
        assert_eq!(
            normalize_phone("84912345678").as_deref(),
            Some("0912345678")
        );
        assert_eq!(normalize_phone("12345"), None);
        assert_eq!(normalize_phone("0912abc345"), None);
    }

    #[test]
    fn lookup_hash_binds_code_and_phone() {
        let a = DossierCode::parse("HNI-261128-0007").unwrap();
        let b = DossierCode::parse("HNI-261128-0008").unwrap();
        assert_ne!(lookup_hash(&a, "0912345678"), lookup_hash(&b, "0912345678"));
        assert_ne!(lookup_hash(&a, "0912345678"), lookup_hash(&a, "0912345679"));
        assert_eq!(lookup_hash(&a, "0912345678"), lookup_hash(&a, "0912345678"));
    }
}
