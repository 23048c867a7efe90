//! Validated names. Anything that names a tenant, a schema or a host is parsed into one of these
//! first; the rest of the code only ever sees valid values.

pub use crate::db::SchemaName;
use serde::{Deserialize, Serialize};
use std::fmt;

const SLUG_MAX: usize = 40;

/// Host labels the platform keeps for its own hosts (`sso.{base_domain}` is the sign-in host
/// the Helm chart sets up, `www`, `api`, `static`, mail and name servers, …). A host
/// `{label}.{base_domain}` with one of these labels is never read as a tenant, and no tenant
/// may take one as its slug, so `{issuer}/t/{slug}/…` keeps working on such a host.
#[rustfmt::skip]
pub const RESERVED_LABELS: &[&str] = &[
    "account", "accounts", "admin", "api", "app", "assets", "auth", "cdn", "console",
    "dang-nhap", "dns", "docs", "ftp", "help", "id", "imap", "login", "mail", "metrics", "mx",
    "ns1", "ns2", "oauth", "operator", "pop", "portal", "sandbox", "smtp", "sso", "static",
    "status", "support", "van-hanh", "webmail", "www",
];

/// Whether a host label is kept for the platform's own hosts (see [`RESERVED_LABELS`]).
pub fn is_reserved_label(label: &str) -> bool {
    RESERVED_LABELS.contains(&label)
}

/// A tenant's URL name, e.g. `ha-noi` or `molisa-dolab`: lowercase ASCII letters and digits in
/// hyphen-separated words, starting with a letter, 2–40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantSlug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(String);

impl TenantSlug {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let err = |why: &str| NameError(format!("invalid tenant slug `{}`: {why}", printable(s)));
        if s.len() < 2 || s.len() > SLUG_MAX {
            return Err(err("must be 2 to 40 characters"));
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(err("must start with a lowercase letter a–z"));
        }
        if s.ends_with('-') || s.contains("--") {
            return Err(err("hyphens only between words"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(err("only lowercase letters a–z, digits and hyphens"));
        }
        if is_reserved_label(s) {
            return Err(err(
                "reserved for the platform's own hosts (sso, www, api, static, mail, …); choose another slug",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PostgreSQL schema holding this tenant's tables: `t_` + slug with `-` as `_`.
    /// Slugs contain no `_`, so two slugs never share a schema.
    pub fn schema_name(&self) -> SchemaName {
        // A slug's characters and length always make a valid schema name.
        SchemaName::parse(&format!("t_{}", self.0.replace('-', "_")))
            .expect("a tenant slug always makes a valid schema name")
    }
}

impl TryFrom<String> for TenantSlug {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TenantSlug> for String {
    fn from(s: TenantSlug) -> Self {
        s.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Short uppercase code of a tenant used in dossier codes, e.g. `HNI` in `HNI-261128-0007`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantCode(String);

impl TenantCode {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if (2..=8).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(NameError(format!(
                "invalid tenant code `{}`: 2–8 uppercase letters A–Z or digits",
                printable(s)
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantCode {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TenantCode> for String {
    fn from(s: TenantCode) -> Self {
        s.0
    }
}

/// The receiving agency's electronic identifier in the national list (mã định danh điện tử
/// của cơ quan, Decision 20/2020/QĐ-TTg): four levels, the first at the right — `000.00.24.H29`
/// is unit 24 under province H29. It opens the agency's dossier codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgencyId(String);

impl AgencyId {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let parts: Vec<&str> = s.split('.').collect();
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        let ok = parts.len() == 4
            && digits(parts[0], 3)
            && digits(parts[1], 2)
            && digits(parts[2], 2)
            && parts[3].len() == 3
            && parts[3].as_bytes()[0].is_ascii_uppercase()
            && parts[3][1..].bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(NameError(format!(
                "invalid agency identifier `{}`: the national format is like `000.00.24.H29`",
                printable(s)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AgencyId {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AgencyId> for String {
    fn from(s: AgencyId) -> Self {
        s.0
    }
}

/// A DNS host name as sent in a `Host` header (port removed, lowercased).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostName(String);

impl HostName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let lower = s.trim_end_matches('.').to_ascii_lowercase();
        let valid_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !lower.is_empty() && lower.len() <= 253 && lower.split('.').all(valid_label) {
            Ok(Self(lower))
        } else {
            Err(NameError(format!("invalid host name `{}`", printable(s))))
        }
    }

    /// Parses a `Host` header value, dropping any `:port`.
    pub fn from_host_header(value: &str) -> Result<Self, NameError> {
        let without_port = match value.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => value,
        };
        Self::parse(without_port)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first label when this host is a direct subdomain of `base`
    /// (`ha-noi.dvc.gov.vn` under `dvc.gov.vn` → `ha-noi`).
    pub fn subdomain_of(&self, base: &HostName) -> Option<&str> {
        let prefix = self.0.strip_suffix(base.as_str())?.strip_suffix('.')?;
        (!prefix.contains('.')).then_some(prefix)
    }
}

impl TryFrom<String> for HostName {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<HostName> for String {
    fn from(s: HostName) -> Self {
        s.0
    }
}

/// Echoes untrusted input in error messages without control characters and at bounded length.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect::<String>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_real_slugs() {
        for s in ["ha-noi", "molisa", "molisa-dolab", "tp-ho-chi-minh", "q1"] {
            assert!(TenantSlug::parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn rejects_bad_slugs() {
        for s in [
            "",
            "a",
            "Ha-noi",
            "ha_noi",
            "-hanoi",
            "hanoi-",
            "ha--noi",
            "1hanoi",
            "hà-nội",
            "x; DROP SCHEMA platform",
            "t\"x",
            &"a".repeat(41),
        ] {
            assert!(TenantSlug::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn platform_labels_are_never_tenant_slugs() {
        for s in RESERVED_LABELS {
            let err = TenantSlug::parse(s).unwrap_err().to_string();
            assert!(err.contains("reserved for the platform"), "{s}: {err}");
            assert!(err.contains(&format!("`{s}`")), "{err}");
        }
        // The Helm chart's sign-in host is `sso.{baseDomain}`.
        assert!(TenantSlug::parse("sso").is_err());
        assert!(serde_json::from_str::<TenantSlug>("\"www\"").is_err());
        // Only whole labels: slugs that merely contain one stay valid.
        for s in ["sso-ha-noi", "ha-noi-www", "apis", "statistics"] {
            assert!(TenantSlug::parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn reserved_labels_are_well_formed_slugs_otherwise() {
        // Each entry is something a slug could be, or reserving it would mean nothing.
        for s in RESERVED_LABELS {
            assert!(
                (2..=SLUG_MAX).contains(&s.len())
                    && s.starts_with(|c: char| c.is_ascii_lowercase())
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{s}"
            );
        }
    }

    #[test]
    fn schema_name_is_derived_from_slug() {
        let slug = TenantSlug::parse("molisa-dolab").unwrap();
        assert_eq!(slug.schema_name().as_str(), "t_molisa_dolab");
        assert_eq!(slug.schema_name().quoted(), "\"t_molisa_dolab\"");
    }

    #[test]
    fn schema_name_parse_rejects_injection() {
        for s in ["platform", "t_", "t_a\"; drop", "t_A", "public", "t_a b"] {
            assert!(SchemaName::parse(s).is_err(), "{s:?}");
        }
        assert!(SchemaName::parse("t_ha_noi").is_ok());
    }

    #[test]
    fn host_header_parsing() {
        let h = HostName::from_host_header("Ha-Noi.Localhost:8080").unwrap();
        assert_eq!(h.as_str(), "ha-noi.localhost");
        let base = HostName::parse("localhost").unwrap();
        assert_eq!(h.subdomain_of(&base), Some("ha-noi"));
        assert_eq!(base.subdomain_of(&base), None);
        let deep = HostName::parse("a.b.localhost").unwrap();
        assert_eq!(deep.subdomain_of(&base), None);
        let other = HostName::parse("evil-localhost").unwrap();
        assert_eq!(other.subdomain_of(&base), None);
        for bad in ["", "a..b", "exa mple.com", "x/y", "-a.com", "a\r\nb"] {
            assert!(HostName::from_host_header(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn distinct_slugs_have_distinct_schemas(a in "[a-z][a-z0-9-]{1,20}", b in "[a-z][a-z0-9-]{1,20}") {
            if let (Ok(sa), Ok(sb)) = (TenantSlug::parse(&a), TenantSlug::parse(&b)) {
                prop_assert_eq!(sa == sb, sa.schema_name() == sb.schema_name());
                prop_assert!(SchemaName::parse(sa.schema_name().as_str()).is_ok());
            }
        }

        #[test]
        fn parse_never_panics_and_output_is_safe(s in "\\PC{0,50}") {
            if let Ok(slug) = TenantSlug::parse(&s) {
                prop_assert!(slug.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            }
        }
    }

    #[test]
    fn agency_identifiers_follow_the_national_format() {
        for ok in ["000.00.24.H29", "000.00.00.G12", "123.45.67.K01"] {
            assert_eq!(AgencyId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "H29",
            "000.00.24.h29",
            "000.00.24.H2",
            "000.0.24.H29",
            "000.00.24.H29.1",
            "000-00-24-H29",
            "00a.00.24.H29",
            "000.00.24.929",
        ] {
            assert!(AgencyId::parse(bad).is_err(), "{bad}");
        }
    }
}
