use super::names::{AgencyId, HostName, SchemaName, TenantCode, TenantSlug};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a tenant sits in the administrative tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantKind {
    National,
    Ministry,
    Division,
    Province,
    Department,
    /// Before the 2025 reform only: no new district is onboarded, existing ones keep working.
    District,
    /// A commune (xã, phường, đặc khu): since 1 July 2025 the level below the province.
    Commune,
}

impl TenantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::National => "national",
            Self::Ministry => "ministry",
            Self::Division => "division",
            Self::Province => "province",
            Self::Department => "department",
            Self::District => "district",
            Self::Commune => "commune",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::National,
            Self::Ministry,
            Self::Division,
            Self::Province,
            Self::Department,
            Self::District,
            Self::Commune,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

crate::db::text_enum! {
    /// Where a tenant is in its life; stored in `platform.tenants.status`.
    pub enum TenantStatus("tenant status") {
        /// Being set up: only its admins' pages, sign-in and invitations answer.
        Draft = "draft",
        Active = "active",
        /// Portal shows a notice, API answers 403; data kept.
        Suspended = "suspended",
        /// Exported and closed; the schema is dropped once the grace period ends.
        Archived = "archived",
    }
}

impl TenantStatus {
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// A tenant as the registry knows it.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: TenantSlug,
    pub schema: SchemaName,
    pub code: TenantCode,
    /// The national electronic identifier, when the tenant has one: it opens dossier codes.
    pub agency_id: Option<AgencyId>,
    pub kind: TenantKind,
    pub parent_id: Option<Uuid>,
    pub name_vi: String,
    pub name_en: Option<String>,
    pub locale: String,
    pub branding: serde_json::Value,
    pub status: TenantStatus,
    pub domains: Vec<HostName>,
    pub plan: Plan,
}

/// The limits of a tenant's hosting plan (`[plan]` in its file). Absent limits are unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Requests per minute to the tenant's portal and API, over every instance (bursts up to
    /// the same number). One noisy tenant cannot starve the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Attachments the tenant may keep, in MiB; an upload that would pass it gets 413.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_mb: Option<u32>,
    /// Text messages (SMS and Zalo) the tenant may send in a calendar month; the rest are
    /// parked, visible to operators, and the e-mail still goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texts_per_month: Option<u32>,
    /// Text messages per minute over every worker (default `texts.per_tenant_per_minute`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texts_per_minute: Option<u32>,
}

impl Tenant {
    /// Where citizens reach this tenant's portal from a browser: its own domain when it has
    /// one, else `{slug}.{base_domain}`, in `public_origin`'s form (`https://{host}`). Links
    /// in mail, slips and QR codes point here: portal pages answer on the tenant's hosts only.
    pub fn portal_origin(&self, base_domain: &str, public_origin: &str) -> String {
        let host = self.domains.first().map_or_else(
            || format!("{}.{base_domain}", self.slug),
            |d| d.as_str().to_owned(),
        );
        public_origin
            .replace("{host}", &host)
            .trim_end_matches('/')
            .to_owned()
    }

    /// The handle to this tenant's tables.
    pub fn db(&self, pools: &crate::db::Pools) -> crate::db::TenantDb {
        crate::db::TenantDb::for_tenant(pools, self.id, &self.schema)
    }
}
