//! A tenant's own domain (e.g. `dichvucong.laocai.gov.vn`), routed only once the tenant has
//! proved it controls it: its admin asks for the domain and gets a token, publishes
//! `_dvc-challenge.{domain} TXT "dvc-verify={token}"`, and asks dvc to check. Domains written
//! in tenant files are the operator's word and need no proof.

use crate::auth::accounts::audit;
use crate::db::schema::{domain_claims, tenant_domains};
use crate::tenancy::names::HostName;
use diesel::prelude::*;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use uuid::Uuid;

pub const CHALLENGE_LABEL: &str = "_dvc-challenge";
const RECORD_PREFIX: &str = "dvc-verify=";

/// Looks up TXT records. The real one asks the system's DNS servers; tests give their own
/// (there is no DNS on a test machine).
pub trait TxtResolver: Send + Sync {
    fn txt<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<String>, String>>;
}

/// The resolver of `/etc/resolv.conf`, through hickory.
pub struct SystemResolver(hickory_resolver::TokioResolver);

impl SystemResolver {
    pub fn from_system() -> Result<Self, String> {
        let builder = hickory_resolver::Resolver::builder_tokio().map_err(|e| e.to_string())?;
        Ok(Self(builder.build().map_err(|e| e.to_string())?))
    }
}

impl TxtResolver for SystemResolver {
    fn txt<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            // A fully qualified name, so no search domain is tried.
            match self.0.txt_lookup(format!("{name}.")).await {
                Ok(found) => Ok(found
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        hickory_resolver::proto::rr::RData::TXT(txt) => Some(txt.to_string()),
                        _ => None,
                    })
                    .collect()),
                Err(e) if e.is_no_records_found() => Ok(Vec::new()),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// A resolver that finds nothing: for deployments without DNS (verification then fails).
pub struct NoResolver;

impl TxtResolver for NoResolver {
    fn txt<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async { Err("no DNS resolver is configured".to_owned()) })
    }
}

pub fn system_or_none() -> Arc<dyn TxtResolver> {
    match SystemResolver::from_system() {
        Ok(r) => Arc::new(r),
        Err(e) => {
            tracing::warn!(error = %e, "no DNS resolver; custom domains cannot be verified");
            Arc::new(NoResolver)
        }
    }
}

/// Where the proof must be published.
pub fn challenge_name(domain: &HostName) -> String {
    format!("{CHALLENGE_LABEL}.{}", domain.as_str())
}

pub fn expected_record(token: &str) -> String {
    format!("{RECORD_PREFIX}{token}")
}

/// Whether one of the TXT records proves `token` (quotes and surrounding spaces ignored).
pub fn proves(records: &[String], token: &str) -> bool {
    let expected = expected_record(token);
    records
        .iter()
        .any(|r| r.trim().trim_matches('"').trim() == expected)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("`{0}` is under this platform's own domain; tenants get those automatically")]
    PlatformDomain(String),
    #[error("`{0}` is used by another tenant")]
    Taken(String),
    #[error("no request for `{0}` from this tenant")]
    NotClaimed(String),
    #[error("the TXT record `{record}` was not found at `{name}`")]
    NotProven { name: String, record: String },
}

/// A domain the tenant asked for, and what to publish.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Claim {
    pub domain: String,
    pub record_name: String,
    pub record_value: String,
    pub verified: bool,
}

fn claim_of(domain: &str, token: &str, verified: bool) -> Claim {
    let host = HostName::parse(domain).ok();
    Claim {
        domain: domain.to_owned(),
        record_name: host.as_ref().map(challenge_name).unwrap_or_default(),
        record_value: expected_record(token),
        verified,
    }
}

/// Whether `domain` already leads to another tenant.
fn routed_elsewhere(conn: &mut PgConnection, domain: &HostName, tenant: Uuid) -> QueryResult<bool> {
    let routed: Option<Uuid> = tenant_domains::table
        .find(domain.as_str())
        .select(tenant_domains::tenant_id)
        .first(conn)
        .optional()?;
    Ok(routed.is_some_and(|t| t != tenant))
}

/// Records the tenant's request for `domain` (again: the same token comes back).
pub fn claim(
    conn: &mut PgConnection,
    tenant: Uuid,
    domain: &HostName,
    base_domain: &HostName,
    actor: Uuid,
) -> QueryResult<Result<Claim, DomainError>> {
    if domain == base_domain
        || domain.subdomain_of(base_domain).is_some()
        || domain
            .as_str()
            .ends_with(&format!(".{}", base_domain.as_str()))
    {
        return Ok(Err(DomainError::PlatformDomain(domain.as_str().to_owned())));
    }
    conn.transaction(|conn| {
        if routed_elsewhere(conn, domain, tenant)? {
            return Ok(Err(DomainError::Taken(domain.as_str().to_owned())));
        }
        let existing: Option<(Uuid, String, bool)> = domain_claims::table
            .find(domain.as_str())
            .select((
                domain_claims::tenant_id,
                domain_claims::token,
                domain_claims::verified_at.is_not_null(),
            ))
            .for_update()
            .first(conn)
            .optional()?;
        match existing {
            Some((owner, token, verified)) if owner == tenant => {
                Ok(Ok(claim_of(domain.as_str(), &token, verified)))
            }
            // Another tenant's proven domain stays theirs; an unproven request may be
            // overtaken (only DNS decides who controls a name).
            Some((_, _, true)) => Ok(Err(DomainError::Taken(domain.as_str().to_owned()))),
            other => {
                if other.is_some() {
                    diesel::delete(domain_claims::table.find(domain.as_str())).execute(conn)?;
                }
                let (token, _) = crate::auth::accounts::new_token();
                diesel::insert_into(domain_claims::table)
                    .values((
                        domain_claims::domain.eq(domain.as_str()),
                        domain_claims::tenant_id.eq(tenant),
                        domain_claims::token.eq(&token),
                    ))
                    .execute(conn)?;
                audit(
                    conn,
                    Some(actor),
                    Some(tenant),
                    None,
                    "domain.requested",
                    serde_json::json!({ "domain": domain.as_str() }),
                )?;
                Ok(Ok(claim_of(domain.as_str(), &token, false)))
            }
        }
    })
}

/// The tenant's requests and proven domains.
pub fn claims_of(conn: &mut PgConnection, tenant: Uuid) -> QueryResult<Vec<Claim>> {
    let rows: Vec<(String, String, bool)> = domain_claims::table
        .filter(domain_claims::tenant_id.eq(tenant))
        .order(domain_claims::domain)
        .select((
            domain_claims::domain,
            domain_claims::token,
            domain_claims::verified_at.is_not_null(),
        ))
        .load(conn)?;
    Ok(rows.iter().map(|(d, t, v)| claim_of(d, t, *v)).collect())
}

/// The token a claim must prove, or why there is none.
pub fn pending_token(
    conn: &mut PgConnection,
    tenant: Uuid,
    domain: &HostName,
) -> QueryResult<Result<String, DomainError>> {
    let token: Option<String> = domain_claims::table
        .find(domain.as_str())
        .filter(domain_claims::tenant_id.eq(tenant))
        .select(domain_claims::token)
        .first(conn)
        .optional()?;
    Ok(token.ok_or_else(|| DomainError::NotClaimed(domain.as_str().to_owned())))
}

/// Stores the outcome of a check: when `records` prove the claim, the domain is routed to the
/// tenant (and joins its portal's sign-in addresses, done by the caller after the reload).
pub fn record_check(
    conn: &mut PgConnection,
    tenant: Uuid,
    domain: &HostName,
    token: &str,
    records: &[String],
    actor: Uuid,
) -> QueryResult<Result<Claim, DomainError>> {
    conn.transaction(|conn| {
        diesel::update(domain_claims::table.find(domain.as_str()))
            .set(domain_claims::checked_at.eq(diesel::dsl::now))
            .execute(conn)?;
        if !proves(records, token) {
            return Ok(Err(DomainError::NotProven {
                name: challenge_name(domain),
                record: expected_record(token),
            }));
        }
        if routed_elsewhere(conn, domain, tenant)? {
            return Ok(Err(DomainError::Taken(domain.as_str().to_owned())));
        }
        diesel::update(domain_claims::table.find(domain.as_str()))
            .set(domain_claims::verified_at.eq(diesel::dsl::now))
            .execute(conn)?;
        diesel::insert_into(tenant_domains::table)
            .values((
                tenant_domains::domain.eq(domain.as_str()),
                tenant_domains::tenant_id.eq(tenant),
                tenant_domains::verified_at.eq(diesel::dsl::now),
            ))
            .on_conflict(tenant_domains::domain)
            .do_update()
            .set(tenant_domains::verified_at.eq(diesel::dsl::now))
            .execute(conn)?;
        audit(
            conn,
            Some(actor),
            Some(tenant),
            None,
            "domain.verified",
            serde_json::json!({ "domain": domain.as_str() }),
        )?;
        Ok(Ok(claim_of(domain.as_str(), token, true)))
    })
}

/// How often a proven domain's record is looked up again: a tenant that lets its domain or
/// its record go must not keep receiving sign-in codes there.
pub const RECHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// A proven domain to look up again.
#[derive(Debug, Clone, QueryableByName)]
pub struct Proven {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub domain: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub token: String,
}

/// Takes up to `limit` proven domains last checked more than `older_than` ago, marking them
/// checked now, so that instances running this at once share the work instead of repeating it.
pub fn take_due(
    conn: &mut PgConnection,
    older_than: std::time::Duration,
    limit: i64,
) -> QueryResult<Vec<Proven>> {
    diesel::sql_query(
        "UPDATE platform.domain_claims SET checked_at = now() WHERE domain IN ( \
           SELECT domain FROM platform.domain_claims \
           WHERE verified_at IS NOT NULL \
             AND (checked_at IS NULL OR checked_at < now() - make_interval(secs => $1)) \
           ORDER BY checked_at NULLS FIRST LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING domain, tenant_id, token",
    )
    .bind::<diesel::sql_types::Double, _>(older_than.as_secs_f64())
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
}

/// Withdraws a proven domain whose record is gone: it no longer routes to the tenant (the
/// caller reloads the registry and re-registers the portal's sign-in addresses).
pub fn lapse(conn: &mut PgConnection, proven: &Proven) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::update(
            domain_claims::table
                .find(&proven.domain)
                .filter(domain_claims::tenant_id.eq(proven.tenant_id)),
        )
        .set(domain_claims::verified_at.eq(None::<chrono::DateTime<chrono::Utc>>))
        .execute(conn)?;
        // Only the proven route: a domain the tenant files give stays the operator's word.
        diesel::delete(
            tenant_domains::table
                .find(&proven.domain)
                .filter(tenant_domains::tenant_id.eq(proven.tenant_id))
                .filter(tenant_domains::verified_at.is_not_null()),
        )
        .execute(conn)?;
        audit(
            conn,
            None,
            Some(proven.tenant_id),
            None,
            "domain.lapsed",
            serde_json::json!({ "domain": proven.domain }),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_record_proves_control() {
        let token = "abc_DEF-123";
        let ok = |r: &[&str]| {
            proves(
                &r.iter()
                    .map(std::string::ToString::to_string)
                    .collect::<Vec<_>>(),
                token,
            )
        };
        assert!(ok(&["dvc-verify=abc_DEF-123"]));
        assert!(ok(&["v=spf1 -all", "\"dvc-verify=abc_DEF-123\""]));
        assert!(!ok(&[]));
        assert!(!ok(&["dvc-verify=abc_DEF-12"]));
        assert!(!ok(&["dvc-verify=abc_DEF-1234"]));
        assert!(!ok(&["xdvc-verify=abc_DEF-123"]));
        let host = HostName::parse("dichvucong.laocai.gov.vn").unwrap();
        assert_eq!(
            challenge_name(&host),
            "_dvc-challenge.dichvucong.laocai.gov.vn"
        );
    }
}
