//! Finds the tenant a request is for: by its `Host` (a tenant's own domain, or
//! `{slug}.{base_domain}`), else by a `/t/{slug}/` path prefix.

use super::model::{Tenant, TenantStatus};
use super::names::{HostName, TenantSlug};
use super::registry::Registry;
use crate::db::TenantDb;
use crate::error::AppError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use std::future::{Ready, ready};
use std::sync::Arc;
use tracing_actix_web::RootSpan;

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
/// A host under the base domain must carry a well-formed slug; any other host may be a
/// tenant's own domain.
pub fn hint_from(
    host_header: Option<&str>,
    path_slug: Option<&str>,
    base_domain: &HostName,
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
    let (hint, path_slug) = hint_from(host_header, path_slug, base_domain)?;
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

impl FromRequest for CurrentTenant {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req))
    }
}

pub(crate) fn extract(req: &HttpRequest) -> Result<CurrentTenant, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing")))?;
    let host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .map(|v| {
            v.to_str()
                .map_err(|_| AppError::InvalidTenant("Host header is not ASCII".into()))
        })
        .transpose()?
        .or_else(|| req.uri().host());
    let tenant = resolve(
        &state.registry,
        host,
        req.match_info().get(PATH_PARAM),
        &state.base_domain,
    )?;
    admits(tenant.status, req.path())?;
    if let Some(span) = req.extensions().get::<RootSpan>() {
        span.record("tenant", tenant.slug.as_str());
    }
    req.extensions_mut()
        .insert(ResolvedTenant(tenant.slug.as_str().to_owned()));
    let db = TenantDb::for_tenant(&state.pools, &tenant);
    Ok(CurrentTenant { tenant, db })
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
