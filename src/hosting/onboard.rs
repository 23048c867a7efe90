//! Onboarding a tenant: an operator creates it as a draft under its parent; dvc provisions its
//! schema, copies the parent's catalog, registers its portal as a sign-in client and invites
//! its first admin by mail, all in one transaction. The admin then sets the tenant up and
//! switches it live once the checklist's required steps are done.

use crate::auth::accounts::audit;
use crate::auth::invitations::{self, InvitationMail};
use crate::auth::roles::Role;
use crate::db::schema::{memberships, oauth_clients, tenant_logos, tenant_schema_state, tenants};
use crate::db::tenant_db::enter_tenant_schema;
use crate::locale::Locale;
use crate::mail::Email;
use crate::services::catalog::store;
use crate::tenancy::migrator::SchemaState;
use crate::tenancy::names::{HostName, TenantCode, TenantSlug};
use crate::tenancy::provision::provision_tenant;
use crate::tenancy::{Plan, Tenant, TenantKind, TenantStatus};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A request to create a tenant, as the operator API and the CLI receive it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantRequest {
    /// URL name, e.g. `tinh-lao-cai`.
    pub slug: String,
    /// Short code used in dossier codes, e.g. `LCI`.
    pub code: String,
    /// national, ministry, division, province, department or district.
    pub kind: String,
    /// The parent tenant's slug (its catalog is inherited).
    #[serde(default)]
    pub parent: Option<String>,
    pub name_vi: String,
    #[serde(default)]
    pub name_en: Option<String>,
    /// vi (default) or en: the language of the tenant's mail.
    #[serde(default)]
    pub locale: Option<String>,
    /// The first admin, invited by mail.
    pub admin_email: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub plan: Option<Plan>,
}

/// A parsed, valid request.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: TenantSlug,
    pub code: TenantCode,
    pub kind: TenantKind,
    pub parent: Option<TenantSlug>,
    pub name_vi: String,
    pub name_en: Option<String>,
    pub locale: Locale,
    pub admin_email: Email,
    pub plan: Plan,
}

const NAME_MAX: usize = 200;

fn name(field: &str, s: &str, problems: &mut Vec<String>) -> String {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > NAME_MAX || s.chars().any(char::is_control) {
        problems.push(format!("{field}: 1–{NAME_MAX} printable characters"));
    }
    s.to_owned()
}

impl NewTenant {
    /// Every problem at once, each naming its field.
    pub fn parse(r: NewTenantRequest) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let slug = TenantSlug::parse(&r.slug).map_err(|e| problems.push(format!("slug: {e}")));
        let code = TenantCode::parse(&r.code).map_err(|e| problems.push(format!("code: {e}")));
        let kind = TenantKind::parse(&r.kind).ok_or_else(|| {
            problems.push(
                "kind: national, ministry, division, province, department, commune or district"
                    .into(),
            );
        });
        let parent = r
            .parent
            .as_deref()
            .map(TenantSlug::parse)
            .transpose()
            .map_err(|e| problems.push(format!("parent: {e}")));
        let name_vi = name("name_vi", &r.name_vi, &mut problems);
        let name_en = r.name_en.map(|n| name("name_en", &n, &mut problems));
        let locale = match r.locale.as_deref() {
            None => Ok(Locale::Vi),
            Some(l) => Locale::parse(l).ok_or_else(|| problems.push("locale: vi or en".into())),
        };
        let admin_email =
            Email::parse(&r.admin_email).map_err(|e| problems.push(format!("admin_email: {e}")));
        if let Some(n) = r.plan.and_then(|p| p.requests_per_minute)
            && let Err(e) = crate::config::check_per_minute(n)
        {
            problems.push(format!("plan.requests_per_minute {e}"));
        }
        match (slug, code, kind, parent, locale, admin_email) {
            (Ok(slug), Ok(code), Ok(kind), Ok(parent), Ok(locale), Ok(admin_email))
                if problems.is_empty() =>
            {
                if parent.as_ref() == Some(&slug) {
                    return Err(vec!["parent: a tenant cannot be its own parent".into()]);
                }
                Ok(Self {
                    slug,
                    code,
                    kind,
                    parent,
                    name_vi,
                    name_en,
                    locale,
                    admin_email,
                    plan: r.plan.unwrap_or_default(),
                })
            }
            _ => Err(problems),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    #[error("a tenant with slug `{0}` exists")]
    SlugTaken(TenantSlug),
    #[error("a tenant with code `{0}` exists")]
    CodeTaken(String),
    #[error("no tenant `{0}` to be the parent")]
    NoParent(TenantSlug),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("provisioning the schema failed: {0}")]
    Provision(String),
}

/// Where the new tenant's portal lives, for its sign-in client and the invitation link.
#[derive(Debug, Clone)]
pub struct PortalAddress {
    pub base_domain: HostName,
    /// `server.public_origin`, with `{host}` for the tenant's host.
    pub public_origin: String,
}

impl PortalAddress {
    /// Registers (or updates) the tenant's portal as a sign-in client for all its hosts.
    pub fn register(&self, conn: &mut PgConnection, tenant: &Tenant) -> QueryResult<String> {
        crate::auth::sso::register_tenant_portal(
            conn,
            tenant,
            &self.base_domain,
            &self.public_origin,
        )
    }

    pub fn origin_of(&self, slug: &TenantSlug) -> String {
        self.public_origin
            .replace("{host}", &format!("{slug}.{}", self.base_domain.as_str()))
    }
}

/// What a creation made.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: Uuid,
    pub procedures: usize,
    pub invitation: Uuid,
}

/// Creates the tenant as a draft, in one transaction: nothing is left behind on failure.
/// `actor` is the operator's account (None for the command line).
pub fn create_draft(
    conn: &mut PgConnection,
    new: &NewTenant,
    actor: Option<Uuid>,
    portal: &PortalAddress,
) -> Result<Created, OnboardError> {
    conn.transaction(|conn| {
        let taken: Vec<(String, String)> = tenants::table
            .filter(
                tenants::slug
                    .eq(new.slug.as_str())
                    .or(tenants::code.eq(new.code.as_str())),
            )
            .select((tenants::slug, tenants::code))
            .load(conn)?;
        if taken.iter().any(|(s, _)| s == new.slug.as_str()) {
            return Err(OnboardError::SlugTaken(new.slug.clone()));
        }
        if !taken.is_empty() {
            return Err(OnboardError::CodeTaken(new.code.as_str().to_owned()));
        }
        let parent = match &new.parent {
            Some(p) => Some(
                tenants::table
                    .filter(tenants::slug.eq(p.as_str()))
                    .filter(tenants::status.ne(TenantStatus::Archived))
                    .select(tenants::id)
                    .first::<Uuid>(conn)
                    .optional()?
                    .map(|id| (id, p.clone()))
                    .ok_or_else(|| OnboardError::NoParent(p.clone()))?,
            ),
            None => None,
        };
        let id = Uuid::new_v4();
        let schema = new.slug.schema_name();
        diesel::insert_into(tenants::table)
            .values((
                tenants::id.eq(id),
                tenants::slug.eq(new.slug.as_str()),
                tenants::schema_name.eq(schema.as_str()),
                tenants::code.eq(new.code.as_str()),
                tenants::kind.eq(new.kind.as_str()),
                tenants::parent_id.eq(parent.as_ref().map(|(id, _)| *id)),
                tenants::name_vi.eq(&new.name_vi),
                tenants::name_en.eq(new.name_en.as_deref()),
                tenants::locale.eq(new.locale.as_str()),
                tenants::plan.eq(serde_json::to_value(new.plan).unwrap_or_default()),
                tenants::status.eq(TenantStatus::Draft),
                tenants::live_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            ))
            .execute(conn)?;
        // The parent's catalog first (read in its schema), then the new schema.
        let inherited = match &parent {
            Some((_, slug)) => {
                enter_tenant_schema(conn, &slug.schema_name())?;
                let all = store::load_adoptable(conn)?;
                let mut with_versions = Vec::with_capacity(all.len());
                for p in all {
                    let version = crate::services::catalog::versions::latest(conn, &p.code)?;
                    with_versions.push((p, version));
                }
                with_versions
            }
            None => Vec::new(),
        };
        provision_tenant(conn, id, &schema).map_err(|e| OnboardError::Provision(e.to_string()))?;
        if let Some((_, parent_slug)) = &parent {
            for (procedure, version) in &inherited {
                let adapt = store::Adaptation {
                    parent_version: *version,
                    ..Default::default()
                };
                store::adopt(conn, procedure, &adapt, parent_slug.as_str())?;
            }
        }
        let tenant = Tenant {
            id,
            slug: new.slug.clone(),
            schema,
            code: new.code.clone(),
            agency_id: None,
            kind: new.kind,
            parent_id: parent.as_ref().map(|(id, _)| *id),
            name_vi: new.name_vi.clone(),
            name_en: new.name_en.clone(),
            locale: new.locale.as_str().to_owned(),
            branding: serde_json::json!({}),
            status: TenantStatus::Draft,
            domains: Vec::new(),
            plan: new.plan,
        };
        portal.register(conn, &tenant)?;
        let invitation = invite(
            conn,
            &tenant,
            &new.admin_email,
            Role::TenantAdmin,
            portal,
            actor,
        )?;
        audit(
            conn,
            actor,
            Some(id),
            None,
            "operator.tenant_created",
            serde_json::json!({
                "slug": new.slug.as_str(),
                "parent": new.parent.as_ref().map(TenantSlug::as_str),
                "procedures": inherited.len(),
            }),
        )?;
        Ok(Created {
            id,
            procedures: inherited.len(),
            invitation,
        })
    })
}

/// Mails an invitation to `role` in `tenant`, linking to its portal, in the tenant's language
/// (in the caller's transaction).
pub fn invite(
    conn: &mut PgConnection,
    tenant: &Tenant,
    email: &Email,
    role: Role,
    portal: &PortalAddress,
    actor: Option<Uuid>,
) -> QueryResult<Uuid> {
    invitations::invite(
        conn,
        &InvitationMail {
            tenant_id: tenant.id,
            tenant_name: &tenant.name_vi,
            locale: Locale::parse(&tenant.locale).unwrap_or_default(),
            portal_origin: &portal.origin_of(&tenant.slug),
        },
        email,
        role,
        actor,
    )
}

/// A step of the onboarding checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Schema provisioned at the current version.
    Provisioned,
    /// The portal is a sign-in client.
    PortalRegistered,
    /// The first admin accepted the invitation.
    AdminJoined,
    /// Colours or logo set.
    Branding,
    /// At least one procedure offered.
    Catalog,
    /// At least one officer and one leader.
    Staff,
    /// Open to citizens.
    Live,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Self::Provisioned,
        Self::PortalRegistered,
        Self::AdminJoined,
        Self::Branding,
        Self::Catalog,
        Self::Staff,
        Self::Live,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::Provisioned => "provisioned",
            Self::PortalRegistered => "portal_registered",
            Self::AdminJoined => "admin_joined",
            Self::Branding => "branding",
            Self::Catalog => "catalog",
            Self::Staff => "staff",
            Self::Live => "live",
        }
    }

    /// Must be done before going live (branding is advised, not required).
    pub fn required(self) -> bool {
        !matches!(self, Self::Branding | Self::Live)
    }
}

/// What the checklist is computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub provisioned: bool,
    pub portal_registered: bool,
    pub admins: i64,
    pub officers: i64,
    pub leaders: i64,
    pub branded: bool,
    pub procedures: i64,
    pub live: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    pub step: Step,
    pub done: bool,
    pub required: bool,
}

pub fn checklist(f: &Facts) -> Vec<ChecklistItem> {
    Step::ALL
        .into_iter()
        .map(|step| ChecklistItem {
            step,
            done: match step {
                Step::Provisioned => f.provisioned,
                Step::PortalRegistered => f.portal_registered,
                Step::AdminJoined => f.admins > 0,
                Step::Branding => f.branded,
                Step::Catalog => f.procedures > 0,
                Step::Staff => f.officers > 0 && f.leaders > 0,
                Step::Live => f.live,
            },
            required: step.required(),
        })
        .collect()
}

/// The required steps not done yet; empty when the tenant may go live.
pub fn missing_for_live(f: &Facts) -> Vec<Step> {
    checklist(f)
        .into_iter()
        .filter(|i| i.required && !i.done)
        .map(|i| i.step)
        .collect()
}

/// The platform half of the facts (the catalog count comes from the tenant's own schema).
pub fn platform_facts(conn: &mut PgConnection, tenant: &Tenant) -> QueryResult<Facts> {
    let roles: Vec<String> = memberships::table
        .filter(memberships::tenant_id.eq(tenant.id))
        .select(memberships::role)
        .load(conn)?;
    let count = |r: Role| roles.iter().filter(|x| x.as_str() == r.as_str()).count() as i64;
    let provisioned = tenant_schema_state::table
        .find(tenant.id)
        .select(tenant_schema_state::status)
        .first::<SchemaState>(conn)
        .optional()?
        == Some(SchemaState::Ok);
    let portal_registered = oauth_clients::table
        .filter(oauth_clients::tenant_id.eq(tenant.id))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    let logo = tenant_logos::table
        .find(tenant.id)
        .count()
        .get_result::<i64>(conn)?
        > 0;
    let colours = tenant
        .branding
        .as_object()
        .is_some_and(|b| b.keys().any(|k| k.contains("color")));
    Ok(Facts {
        provisioned,
        portal_registered,
        admins: count(Role::TenantAdmin),
        officers: count(Role::Officer),
        leaders: count(Role::Leader),
        branded: logo || colours,
        procedures: 0,
        live: tenant.status != TenantStatus::Draft,
    })
}

/// Active procedures of the tenant whose schema the transaction is in.
pub fn offered_procedures(conn: &mut PgConnection) -> QueryResult<i64> {
    use crate::db::schema::tenant::procedures;
    procedures::table
        .filter(procedures::active.eq(true))
        .count()
        .get_result(conn)
}

#[derive(Debug, thiserror::Error)]
pub enum GoLiveError {
    #[error("the tenant is not a draft")]
    NotDraft,
    #[error("steps not done yet: {}", .0.iter().map(|s| s.key()).collect::<Vec<_>>().join(", "))]
    NotReady(Vec<Step>),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Switches a draft tenant live when its required steps are done (audited).
pub fn go_live(
    conn: &mut PgConnection,
    tenant: Uuid,
    facts: &Facts,
    actor: Uuid,
) -> Result<(), GoLiveError> {
    let missing = missing_for_live(facts);
    if !missing.is_empty() {
        return Err(GoLiveError::NotReady(missing));
    }
    conn.transaction(|conn| {
        let changed = diesel::update(
            tenants::table
                .find(tenant)
                .filter(tenants::status.eq(TenantStatus::Draft)),
        )
        .set((
            tenants::status.eq(TenantStatus::Active),
            tenants::live_at.eq(diesel::dsl::now),
            tenants::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(GoLiveError::NotDraft);
        }
        audit(
            conn,
            Some(actor),
            Some(tenant),
            None,
            "tenant.live",
            serde_json::json!({}),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> NewTenantRequest {
        NewTenantRequest {
            slug: "tinh-lao-cai".into(),
            code: "LCI".into(),
            kind: "province".into(),
            parent: Some("bo-ldtbxh".into()),
            name_vi: "Sở Lao động Lào Cai".into(),
            name_en: None,
            locale: None,
            admin_email: "quantri@laocai.gov.vn".into(),
            plan: None,
        }
    }

    #[test]
    fn a_request_parses_or_names_every_bad_field() {
        let ok = NewTenant::parse(request()).unwrap();
        assert_eq!(ok.slug.as_str(), "tinh-lao-cai");
        assert_eq!(ok.locale, Locale::Vi);
        let bad = NewTenant::parse(NewTenantRequest {
            slug: "Tinh_X".into(),
            code: "lc".into(),
            kind: "planet".into(),
            name_vi: " ".into(),
            admin_email: "not-an-address".into(),
            ..request()
        })
        .unwrap_err();
        for field in ["slug", "code", "kind", "name_vi", "admin_email"] {
            assert!(
                bad.iter().any(|p| p.starts_with(field)),
                "{field} in {bad:?}"
            );
        }
        let own = NewTenant::parse(NewTenantRequest {
            parent: Some("tinh-lao-cai".into()),
            ..request()
        })
        .unwrap_err();
        assert!(own[0].contains("own parent"));
    }

    #[test]
    fn going_live_needs_an_admin_a_catalog_and_staff_but_not_branding() {
        let mut f = Facts {
            provisioned: true,
            portal_registered: true,
            ..Facts::default()
        };
        assert_eq!(
            missing_for_live(&f),
            vec![Step::AdminJoined, Step::Catalog, Step::Staff]
        );
        f.admins = 1;
        f.procedures = 3;
        f.officers = 1;
        assert_eq!(missing_for_live(&f), vec![Step::Staff]);
        f.leaders = 1;
        assert!(missing_for_live(&f).is_empty());
        let items = checklist(&f);
        assert!(
            !items
                .iter()
                .find(|i| i.step == Step::Branding)
                .unwrap()
                .done
        );
        assert!(!items.iter().find(|i| i.step == Step::Live).unwrap().done);
    }
}
