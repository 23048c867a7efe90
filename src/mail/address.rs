//! Validated e-mail addresses.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An e-mail address as accepted by SMTP: parsed by lettre's RFC 5321 parser, at most 254
/// characters, never holding a line break (so it cannot smuggle a header).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid e-mail address `{0}`")]
pub struct EmailError(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, EmailError> {
        let t = s.trim();
        let shown = || EmailError(t.chars().filter(|c| !c.is_control()).take(64).collect());
        if t.len() > 254 || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(shown());
        }
        t.parse::<lettre::Address>().map_err(|_| shown())?;
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn address(&self) -> lettre::Address {
        // Parsed once already in `parse`.
        self.0
            .parse()
            .unwrap_or_else(|_| unreachable!("validated address"))
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, EmailError> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        assert!(Email::parse("nguyen.van.a@example.gov.vn").is_ok());
        for bad in [
            "",
            "no-at-sign",
            "a@b\r\nBcc: x@y.z",
            "a b@c.vn",
            "a@",
            &format!("{}@x.vn", "a".repeat(260)),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}
