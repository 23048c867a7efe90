//! Vietnamese mobile numbers: the only numbers a text can reach.
//!
//! Since the 2018 renumbering every mobile number is ten digits, `0` then a network prefix of
//! 3, 5, 7, 8 or 9; written `+84…`/`84…` without the leading zero. Landlines (`02x`) and
//! anything else are refused here, so a contact number that cannot take a text is told to the
//! person who typed it rather than failing quietly at the provider.

use std::fmt;

/// A mobile number in international form without `+`: `84` and nine digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct MobileNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("`{0}` is not a Vietnamese mobile number (10 digits starting 03, 05, 07, 08 or 09)")]
    NotMobile(String),
}

impl MobileNumber {
    /// Accepts `0912 345 678`, `0912.345.678`, `+84 912 345 678` and `84912345678`.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let refuse = || PhoneError::NotMobile(input.chars().take(32).collect());
        let trimmed = input.trim();
        let mut digits = String::with_capacity(12);
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => {}
                ' ' | '.' | '-' | '(' | ')' => {}
                _ => return Err(refuse()),
            }
        }
        let national = if let Some(rest) = digits.strip_prefix("84").filter(|r| r.len() == 9) {
            rest
        } else if let Some(rest) = digits.strip_prefix('0').filter(|r| r.len() == 9) {
            rest
        } else {
            return Err(refuse());
        };
        if !matches!(national.as_bytes()[0], b'3' | b'5' | b'7' | b'8' | b'9') {
            return Err(refuse());
        }
        Ok(Self(format!("84{national}")))
    }

    /// `84912345678`, the form providers take.
    pub fn international(&self) -> &str {
        &self.0
    }

    /// `0912345678`, the form people read.
    pub fn national(&self) -> String {
        format!("0{}", &self.0[2..])
    }
}

impl fmt::Display for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_forms_of_one_mobile_number_are_the_same_number() {
        for s in [
            "0912345678",
            "0912 345 678",
            "0912.345.678",
            "+84 912 345 678",
            "84912345678",
            " +84 (912) 345-678 ",
        ] {
            let n = MobileNumber::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(n.international(), "84912345678", "{s}");
            assert_eq!(n.national(), "0912345678");
        }
        for prefix in ["03", "05", "07", "08", "09"] {
            assert!(MobileNumber::parse(&format!("{prefix}12345678")).is_ok());
        }
    }

    #[test]
    fn landlines_short_numbers_and_letters_are_not_mobiles() {
        for s in [
            "02438261234", // Hà Nội landline
            "0212345678",  // 02x is fixed-line
            "0112345678",  // no such network
            "091234567",   // nine digits
            "09123456789", // eleven digits
            "8491234567",  // 84 and eight digits
            "0912a45678",
            "+0912345678+",
            "",
            "1900 1234",
        ] {
            let e = MobileNumber::parse(s).unwrap_err();
            assert!(
                e.to_string().contains("not a Vietnamese mobile number"),
                "{s}"
            );
        }
    }
}
