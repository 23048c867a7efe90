//! Text messages — SMS under the tenant's brandname, and Zalo notifications — as more channels
//! of the mail outbox: written in the transaction of the change that owes them, claimed by a
//! worker with `FOR UPDATE SKIP LOCKED`, retried with backoff, parked when they cannot go, and
//! their delivery reports recorded.

pub mod encoding;
pub mod outbox;
pub mod phone;
pub mod provider;
pub mod reports;
pub mod templates;
pub mod worker;

pub use crate::mail::Channel;
pub use phone::MobileNumber;

use serde::{Deserialize, Serialize};

/// A registered SMS sender name (brandname): what the handset shows instead of a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Brandname(String);

impl Brandname {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.chars().count() <= 11
            && s.trim() == s
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "brandname `{s}`: 1 to 11 letters, digits, spaces, `.`, `-` or `_` (no diacritics)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Brandname {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brandnames_are_short_plain_names() {
        for ok in ["SOLDTBXH-HN", "UBND HCM", "DVC.GOV", "A"] {
            assert_eq!(Brandname::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "SOLDTBXHHANOI", "Sở LĐ", " DVC", "DVC!", "a\nb"] {
            assert!(Brandname::parse(bad).is_err(), "{bad:?}");
        }
        for &c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>(), Ok(c));
        }
    }
}
