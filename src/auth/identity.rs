//! Vietnamese identity numbers, parsed once.

use serde::{Deserialize, Serialize};

/// Citizen identity card number (CCCD): 12 digits. The first three are the province of birth
/// registration (001–096); the fourth encodes century and sex (0–9); the next two the year of
/// birth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CitizenId(String);

/// Tax code (mã số thuế) of a business: 10 digits, or 10 digits and a 3-digit branch suffix,
/// with the check digit of the General Department of Taxation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaxCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdentityError(&'static str);

impl CitizenId {
    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        let s = s.trim();
        if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentityError("citizen id (CCCD) must be 12 digits"));
        }
        let province: u32 = s[..3].parse().unwrap_or(0);
        if !(1..=96).contains(&province) {
            return Err(IdentityError(
                "citizen id (CCCD) has an unknown province code",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TaxCode {
    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        let s = s.trim();
        let (main, branch) = match s.split_once('-') {
            Some((m, b)) => (m, Some(b)),
            None => (s, None),
        };
        let digits = |x: &str, n: usize| x.len() == n && x.bytes().all(|b| b.is_ascii_digit());
        if !digits(main, 10) || branch.is_some_and(|b| !digits(b, 3)) {
            return Err(IdentityError("tax code must be 10 digits, optionally -NNN"));
        }
        // Check digit: weights 31, 29, 23, 19, 17, 13, 7, 5, 3 over the first nine digits.
        const W: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];
        let d: Vec<u32> = main.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = W.iter().zip(&d).map(|(w, x)| w * x).sum();
        if 10 - sum % 11 != d[9] {
            return Err(IdentityError("tax code check digit does not match"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype {
    ($t:ident) => {
        impl TryFrom<String> for $t {
            type Error = IdentityError;
            fn try_from(s: String) -> Result<Self, IdentityError> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    };
}
string_newtype!(CitizenId);
string_newtype!(TaxCode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citizen_ids() {
        assert!(CitizenId::parse("001203004567").is_ok());
        assert!(CitizenId::parse("079199012345").is_ok());
        for bad in [
            "",
            "12345678901",
            "0012030045678",
            "00120300456a",
            "000203004567",
            "097203004567",
        ] {
            assert!(CitizenId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tax_codes() {
        // 0100109106: a well-known published tax code.
        assert!(TaxCode::parse("0100109106").is_ok());
        assert!(TaxCode::parse("0100109106-001").is_ok());
        assert!(TaxCode::parse("0100109107").is_err());
        assert!(TaxCode::parse("010010910").is_err());
        assert!(TaxCode::parse("0100109106-01").is_err());
    }
}
