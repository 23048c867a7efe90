//! The name of a tenant schema. It lives with the database layer because the tenant handle
//! ([`super::TenantDb`]) is scoped by it; tenancy builds it from a slug and re-exports it.

use std::fmt;

/// Longest schema name: `t_` and a slug of at most 40 characters.
pub const MAX_LEN: usize = 42;

/// The name of a tenant schema (`t_…`). Only built from a tenant slug or read back from the
/// registry after re-validation, never from request input.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tenant schema name `{0}`")]
pub struct InvalidSchemaName(String);

impl SchemaName {
    /// Validates a name: `t_` followed by lowercase ASCII letters, digits and underscores.
    pub fn parse(s: &str) -> Result<Self, InvalidSchemaName> {
        let ok = s.len() <= MAX_LEN
            && s.len() > 2
            && s.starts_with("t_")
            && s[2..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            // Echo untrusted input without control characters and at bounded length.
            let shown = s.chars().filter(|c| !c.is_control()).take(64).collect();
            Err(InvalidSchemaName(shown))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Double-quoted identifier for DDL. The characters are already restricted; quoting keeps
    /// it safe even so.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_t_prefixed_lowercase_names_of_bounded_length_pass() {
        for bad in ["", "t_", "public", "t_Ha", "t_a-b", "t_a;drop", "t_a\"b"] {
            assert!(SchemaName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SchemaName::parse(&format!("t_{}", "a".repeat(40))).is_ok());
        assert!(SchemaName::parse(&format!("t_{}", "a".repeat(41))).is_err());
        assert_eq!(
            SchemaName::parse("t_ha_noi").unwrap().quoted(),
            "\"t_ha_noi\""
        );
    }
}
