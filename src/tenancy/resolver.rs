//! Finds the tenant a request is for: by its `Host` (a tenant's own domain, or
//! `{slug}.{base_domain}`), else by a `/t/{slug}/` path prefix.
//!
//! The platform's own hosts under the base domain — the issuer's (`sso.{base_domain}` in the
//! Helm chart) and every reserved label ([`super::names::RESERVED_LABELS`]) — name no tenant:
//! a request there is resolved by its path, so `{issuer}/t/{slug}/…` reaches `{slug}`.

use super::model::{Tenant, TenantStatus};
use super::names::{HostName, TenantSlug, is_reserved_label};
use super::registry::Registry;
use crate::db::TenantDb;
use crate::error::AppError;
use std::sync::Arc;

/// The resolved tenant of a request, with the only handle that reaches its tables.
#[derive(Clone)]
pub struct CurrentTenant {
    pub tenant: Arc<Tenant>,
    pub db: TenantDb,
}

/// The slug of the tenant a request was resolved to, for its metrics.
#[derive(Clone, Debug)]
pub struct ResolvedTenant(pub String);

/// Name of the path segment that carries a tenant slug in `/t/{tenant}/…` routes.
pub const PATH_PARAM: &str = "tenant";

/// Where a request names its tenant, before looking anything up.
#[derive(Debug, PartialEq, Eq)]
pub enum TenantHint {
    Domain(HostName),
    Slug(TenantSlug),
    None,
}

/// Pure part of resolution: reads the `Host` header value and the path parameter.
/// A host under the base domain must carry a well-formed slug, unless it is one of the
/// platform's own (a reserved label); any other host may be a tenant's own domain.
pub fn hint_from(
    host_header: Option<&str>,
    path_slug: Option<&str>,
    base_domain: &HostName,
) -> Result<(TenantHint, Option<TenantSlug>), AppError> {
    hint_on(host_header, path_slug, base_domain, None)
}

/// The host of the issuer URL (`auth.issuer`), e.g. `sso.dichvucong.example.gov.vn` for
/// `https://sso.dichvucong.example.gov.vn`; `None` when it is not a URL with a host.
pub fn issuer_host(issuer: &str) -> Option<HostName> {
    let rest = issuer.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    HostName::from_host_header(host).ok()
}

/// [`hint_from`], with the issuer's host also exempt from being read as `{slug}.{base_domain}`
/// (it names no tenant even when its label is not a reserved one).
pub fn hint_on(
    host_header: Option<&str>,
    path_slug: Option<&str>,
    base_domain: &HostName,
    issuer_host: Option<&HostName>,
) -> Result<(TenantHint, Option<TenantSlug>), AppError> {
    let path_slug = path_slug
        .map(|s| TenantSlug::parse(s).map_err(|e| AppError::InvalidTenant(e.to_string())))
        .transpose()?;
    let host = match host_header {
        Some(h) => Some(
            HostName::from_host_header(h).map_err(|e| AppError::InvalidTenant(e.to_string()))?,
        ),
        None => None,
    };
    let hint = match host {
        Some(host) => match host.subdomain_of(base_domain) {
            // A platform host: the tenant, if any, is in the path.
            Some(label) if is_reserved_label(label) || issuer_host == Some(&host) => {
                TenantHint::None
            }
            Some(label) => TenantHint::Slug(
                TenantSlug::parse(label).map_err(|e| AppError::InvalidTenant(e.to_string()))?,
            ),
            None if &host == base_domain => TenantHint::None,
            None => TenantHint::Domain(host),
        },
        None => TenantHint::None,
    };
    Ok((hint, path_slug))
}

pub fn resolve(
    registry: &Registry,
    host_header: Option<&str>,
    path_slug: Option<&str>,
    base_domain: &HostName,
) -> Result<Arc<Tenant>, AppError> {
    resolve_on(registry, host_header, path_slug, base_domain, None)
}

/// [`resolve`], with the issuer's host exempt from subdomain-as-slug resolution.
pub fn resolve_on(
    registry: &Registry,
    host_header: Option<&str>,
    path_slug: Option<&str>,
    base_domain: &HostName,
    issuer_host: Option<&HostName>,
) -> Result<Arc<Tenant>, AppError> {
    let (hint, path_slug) = hint_on(host_header, path_slug, base_domain, issuer_host)?;
    let by_host = match &hint {
        TenantHint::Domain(host) => registry.by_domain(host),
        TenantHint::Slug(slug) => Some(registry.by_slug(slug).ok_or(AppError::TenantNotFound)?),
        TenantHint::None => None,
    };
    let tenant = match (by_host, path_slug) {
        (Some(t), Some(p)) if t.slug != p => {
            return Err(AppError::bad_request(
                "tenant_conflict",
                format!("host belongs to `{}` but the path names `{p}`", t.slug),
            ));
        }
        (Some(t), _) => t,
        (None, Some(p)) => registry.by_slug(&p).ok_or(AppError::TenantNotFound)?,
        (None, None) if matches!(hint, TenantHint::Domain(_)) => {
            return Err(AppError::TenantNotFound);
        }
        (None, None) => return Err(AppError::TenantNotResolved),
    };
    Ok(tenant)
}

/// Whether a request may reach a tenant in its state. A draft tenant answers only what its
/// set-up needs: sign-in, invitations, its admins' pages and API, and the assets they use.
pub fn admits(status: TenantStatus, path: &str) -> Result<(), AppError> {
    match status {
        TenantStatus::Active => Ok(()),
        TenantStatus::Suspended => Err(AppError::TenantSuspended),
        TenantStatus::Archived => Err(AppError::TenantArchived),
        TenantStatus::Draft if open_while_draft(path) => Ok(()),
        TenantStatus::Draft => Err(AppError::TenantNotOpen),
    }
}

/// Paths (after any `/t/{slug}` prefix) a draft tenant serves.
pub fn open_while_draft(path: &str) -> bool {
    let path = match path.strip_prefix("/t/") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => path,
    };
    const EXACT: [&str; 6] = [
        "/dang-nhap",
        "/auth/callback",
        "/dang-xuat",
        "/da-dang-xuat",
        "/ngon-ngu",
        "/favicon.ico",
    ];
    const UNDER: [&str; 7] = [
        "/quan-tri",
        "/loi-moi",
        "/assets/",
        "/api/v1/admin/",
        "/api/v1/invitations/",
        "/api/v1/members",
        "/api/v1/procedures",
    ];
    EXACT.contains(&path)
        || UNDER.iter().any(|p| {
            path.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || p.ends_with('/') || rest.starts_with('/'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> HostName {
        HostName::parse("dvc.gov.vn").unwrap()
    }

    #[test]
    fn subdomain_gives_slug() {
        let (hint, path) = hint_from(Some("ha-noi.dvc.gov.vn:443"), None, &base()).unwrap();
        assert_eq!(hint, TenantHint::Slug(TenantSlug::parse("ha-noi").unwrap()));
        assert_eq!(path, None);
    }

    #[test]
    fn own_domain_is_a_domain_hint() {
        let (hint, _) = hint_from(Some("dichvucong.hanoi.gov.vn"), None, &base()).unwrap();
        assert_eq!(
            hint,
            TenantHint::Domain(HostName::parse("dichvucong.hanoi.gov.vn").unwrap())
        );
    }

    #[test]
    fn base_domain_alone_needs_a_path() {
        let (hint, path) = hint_from(Some("dvc.gov.vn"), Some("molisa"), &base()).unwrap();
        assert_eq!(hint, TenantHint::None);
        assert_eq!(path, Some(TenantSlug::parse("molisa").unwrap()));
    }

    #[test]
    fn platform_hosts_resolve_by_path() {
        // The Helm chart: baseDomain and issuer `https://sso.{baseDomain}`.
        let base = HostName::parse("dichvucong.example.gov.vn").unwrap();
        for host in [
            "sso.dichvucong.example.gov.vn",
            "www.dichvucong.example.gov.vn:443",
            "api.dichvucong.example.gov.vn",
            "static.dichvucong.example.gov.vn",
        ] {
            let (hint, path) = hint_from(Some(host), Some("ha-noi"), &base).unwrap();
            assert_eq!(hint, TenantHint::None, "{host}");
            assert_eq!(path, Some(TenantSlug::parse("ha-noi").unwrap()));
            let (hint, path) = hint_from(Some(host), None, &base).unwrap();
            assert_eq!((hint, path), (TenantHint::None, None), "{host}");
        }
        // A tenant's subdomain is still its own.
        let (hint, _) = hint_from(Some("ha-noi.dichvucong.example.gov.vn"), None, &base).unwrap();
        assert_eq!(hint, TenantHint::Slug(TenantSlug::parse("ha-noi").unwrap()));
    }

    #[test]
    fn the_issuer_host_names_no_tenant_whatever_its_label() {
        let issuer = issuer_host("https://xac-thuc.dvc.gov.vn/").unwrap();
        assert_eq!(issuer.as_str(), "xac-thuc.dvc.gov.vn");
        let (hint, path) = hint_on(
            Some("xac-thuc.dvc.gov.vn"),
            Some("molisa"),
            &base(),
            Some(&issuer),
        )
        .unwrap();
        assert_eq!(hint, TenantHint::None);
        assert_eq!(path, Some(TenantSlug::parse("molisa").unwrap()));
        // Without the issuer the label would be read as a slug.
        let (hint, _) = hint_from(Some("xac-thuc.dvc.gov.vn"), None, &base()).unwrap();
        assert_eq!(
            hint,
            TenantHint::Slug(TenantSlug::parse("xac-thuc").unwrap())
        );
        // An issuer on a domain of its own (not under the base domain) changes nothing.
        let own = issuer_host("https://dichvucong.hanoi.gov.vn").unwrap();
        let (hint, _) =
            hint_on(Some("dichvucong.hanoi.gov.vn"), None, &base(), Some(&own)).unwrap();
        assert_eq!(hint, TenantHint::Domain(own.clone()));
    }

    #[test]
    fn issuer_hosts_are_read_from_urls() {
        for (url, host) in [
            ("http://localhost:8080", Some("localhost")),
            ("https://SSO.Example.gov.vn/", Some("sso.example.gov.vn")),
            (
                "https://sso.example.gov.vn/realm?x=1",
                Some("sso.example.gov.vn"),
            ),
            (
                "https://u@sso.example.gov.vn:8443",
                Some("sso.example.gov.vn"),
            ),
            ("sso.example.gov.vn", None),
            ("", None),
        ] {
            assert_eq!(
                issuer_host(url).as_ref().map(HostName::as_str),
                host,
                "{url}"
            );
        }
    }

    #[test]
    fn a_draft_tenant_serves_only_its_set_up() {
        for open in [
            "/quan-tri",
            "/quan-tri/thanh-vien",
            "/t/tinh-c/quan-tri",
            "/loi-moi",
            "/t/tinh-c/api/v1/invitations/accept",
            "/api/v1/admin/onboarding",
            "/dang-nhap",
            "/assets/dvc.css",
        ] {
            assert!(admits(TenantStatus::Draft, open).is_ok(), "{open}");
        }
        for closed in [
            "/",
            "/thu-tuc/1.000105",
            "/t/tinh-c/api/v1/dossiers",
            "/api/v1/dossiers",
            "/quan-trix",
            "/t/tinh-c",
            "/tra-cuu",
        ] {
            assert!(
                matches!(
                    admits(TenantStatus::Draft, closed),
                    Err(AppError::TenantNotOpen)
                ),
                "{closed}"
            );
        }
        assert!(matches!(
            admits(TenantStatus::Archived, "/quan-tri"),
            Err(AppError::TenantArchived)
        ));
        assert!(admits(TenantStatus::Active, "/").is_ok());
    }

    #[test]
    fn malformed_names_are_rejected() {
        for (host, path) in [
            (Some("Bad_Slug.dvc.gov.vn"), None),
            (Some("x.dvc.gov.vn"), None),
            (Some("dvc.gov.vn"), Some("t_ha_noi; drop schema")),
            (Some("a b"), None),
            (Some("dvc.gov.vn"), Some("HA-NOI")),
        ] {
            assert!(
                matches!(
                    hint_from(host, path, &base()),
                    Err(AppError::InvalidTenant(_))
                ),
                "{host:?} {path:?}"
            );
        }
    }
}
