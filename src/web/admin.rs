//! The tenant admin's pages: branding (with a contrast check of the colours), the catalog
//! (withdraw a procedure, adopt one of the parent's with this tenant's fee and time limit),
//! members and their roles. Each change goes through the same function as its API.

use super::contrast::{self, Rgb};
use super::session::Visitor;
use crate::app::{branding, catalog_admin, members};
use crate::auth::roles::Role;
use crate::error::AppError;
use crate::hosting::branding as hosting_branding;
use crate::locale::Locale;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

fn admin(v: &Visitor) -> Result<(), AppError> {
    if v.has(Role::TenantAdmin) {
        Ok(())
    } else {
        Err(v.user().err().unwrap_or(AppError::Forbidden))
    }
}

fn colour(v: &Visitor, key: &str) -> Option<Rgb> {
    v.tenant
        .tenant
        .branding
        .get(key)
        .and_then(|c| c.as_str())
        .and_then(Rgb::parse_hex)
}

#[derive(Deserialize)]
pub struct AdminQuery {
    ok: Option<String>,
}

pub async fn page(v: Visitor, q: web::Query<AdminQuery>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        let user = v.user()?;
        let primary = colour(&v, "primary_color").unwrap_or(Rgb {
            r: 0x0b,
            g: 0x4f,
            b: 0x8a,
        });
        let accent = colour(&v, "accent_color");
        let warnings: Vec<String> = contrast::check_brand(primary, accent)
            .into_iter()
            .map(|w| match v.locale {
                Locale::Vi => w.message_vi,
                Locale::En => w.message_en,
            })
            .collect();
        let suggestion =
            (!warnings.is_empty()).then(|| contrast::darken_until_readable(primary).to_hex());
        let catalog = crate::app::procedures::cached_catalog(&v.state, &v.tenant).await?;
        let own_codes: std::collections::HashSet<&str> = catalog
            .procedures()
            .iter()
            .map(|p| p.code.as_str())
            .collect();
        // What the parent offers or publishes as a template, with its current versions.
        let (theirs, versions) = match v
            .tenant
            .tenant
            .parent_id
            .and_then(|p| v.state.registry.by_id(p))
        {
            Some(parent) => {
                parent
                    .db(&v.state.pools)
                    .run(|c| {
                        Ok((
                            crate::services::catalog::store::load_adoptable(c)?,
                            crate::services::catalog::versions::latest_all(c)?,
                        ))
                    })
                    .await?
            }
            None => Default::default(),
        };
        let own: Vec<_> = catalog
            .procedures()
            .iter()
            .map(|p| {
                // The parent changed its template since this tenant took it.
                let newer = p
                    .inherited_from
                    .as_ref()
                    .and_then(|_| versions.get(&p.code))
                    .filter(|latest| p.adopted_version.is_some_and(|a| a < **latest));
                context! {
                    code => p.code.clone(), name => p.name.clone(), fee => p.fee_vnd,
                    days => p.processing_days, inherited => p.inherited_from.clone(),
                    newer, adopted => p.adopted_version,
                }
            })
            .collect();
        let offered: Vec<_> = theirs
            .into_iter()
            .filter(|p| !own_codes.contains(p.code.as_str()))
            .map(|p| {
                context! {
                    code => p.code, name => p.name, fee => p.fee_vnd, days => p.processing_days,
                    template => p.template,
                }
            })
            .collect();
        let members = members::members_of(&v.state, user).await?;
        let members: Vec<_> = members
            .into_iter()
            .map(|m| context! { email => m.email, name => m.name, role => m.role })
            .collect();
        let contact = v
            .tenant
            .tenant
            .branding
            .get("contact")
            .cloned()
            .unwrap_or_default();
        const DONE: [&str; 10] = [
            "brand",
            "logo",
            "adopted",
            "withdrawn",
            "granted",
            "revoked",
            "invited",
            "live",
            "domain",
            "verified",
        ];
        let domains = crate::app::onboarding::domains_of(&v.state, user).await?;
        let onboarding =
            crate::app::onboarding::onboarding_of(&v.state, v.tenant.tenant.clone()).await?;
        let complete = onboarding.checklist.iter().all(|i| i.done);
        let notice =
            q.ok.as_deref()
                .filter(|k| DONE.contains(k))
                .map(|k| v.t(&format!("admin.done_{k}")));
        Ok(v.page(
            "admin.html",
            context! {
                nav => "admin",
                notice,
                primary => primary.to_hex(),
                accent => accent.map(|a| a.to_hex()).unwrap_or_default(),
                warnings,
                suggestion,
                contact => minijinja::Value::from_serialize(&contact),
                own, offered, members,
                roles => ["officer", "leader", "tenant_admin"],
                draft => v.tenant.tenant.status == crate::tenancy::TenantStatus::Draft,
                complete,
                checklist => minijinja::Value::from_serialize(&onboarding.checklist),
                pending => minijinja::Value::from_serialize(&onboarding.pending_invitations),
                domains => minijinja::Value::from_serialize(&domains),
            },
        ))
    }
    .await;
    v.respond(result)
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BrandForm {
    csrf: String,
    primary_color: String,
    accent_color: String,
    address: String,
    phone: String,
    email: String,
}

fn one_line(s: &str, max: usize) -> Result<String, AppError> {
    let s = s.trim();
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "invalid_contact",
            format!("at most {max} characters, one line"),
        ));
    }
    Ok(s.to_owned())
}

/// `POST /quan-tri/nhan-dien`: colours and contact. Colours that fail contrast are saved (the
/// portal darkens them where text needs it) and the page says so.
pub async fn branding(v: Visitor, form: web::Form<BrandForm>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(&form.csrf)?;
        let primary = Rgb::parse_hex(form.primary_color.trim())
            .ok_or_else(|| AppError::bad_request("invalid_color", "primary_color: #rrggbb"))?;
        // The accent is optional: blank leaves the focus ring in the primary colour.
        let accent =
            match form.accent_color.trim() {
                "" => None,
                text => Some(Rgb::parse_hex(text).ok_or_else(|| {
                    AppError::bad_request("invalid_color", "accent_color: #rrggbb")
                })?),
            };
        let contact = serde_json::json!({
            "address": one_line(&form.address, 300)?,
            "phone": one_line(&form.phone, 50)?,
            "email": one_line(&form.email, 200)?,
        });
        let mut branding = v.tenant.tenant.branding.clone();
        if let Some(b) = branding.as_object_mut() {
            b.remove("contact");
            b.insert("primary_color".into(), primary.to_hex().into());
            match accent {
                Some(a) => b.insert("accent_color".into(), a.to_hex().into()),
                None => b.remove("accent_color"),
            };
        }
        let detail = serde_json::json!({ "branding": branding, "contact": contact });
        let (tenant, by) = (v.tenant.tenant.id, v.user()?.account);
        branding::change_tenant(&v.state, tenant, by, "tenant.branding", detail, move |c| {
            hosting_branding::set_branding(c, tenant, &branding, Some(&contact))
        })
        .await?;
        Ok(v.redirect("/quan-tri?ok=brand"))
    }
    .await;
    v.respond(result)
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AdoptForm {
    csrf: String,
    fee_vnd: Option<String>,
    processing_days: Option<String>,
}

fn optional<T: std::str::FromStr>(
    s: &Option<String>,
    what: &'static str,
) -> Result<Option<T>, AppError> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t
            .replace(['.', ','], "")
            .parse()
            .map(Some)
            .map_err(|_| AppError::bad_request("invalid_number", what)),
    }
}

pub async fn adopt(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<AdoptForm>,
) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(&form.csrf)?;
        let fee = optional::<u32>(&form.fee_vnd, "fee_vnd")?;
        let days = optional::<u16>(&form.processing_days, "processing_days")?;
        let choice = catalog_admin::InheritBody {
            fee_vnd: fee,
            fee_per_item_vnd: None,
            processing_days: days,
        };
        catalog_admin::adopt(&v.state, v.user()?, &path, &choice).await?;
        Ok(v.redirect("/quan-tri?ok=adopted"))
    }
    .await;
    v.respond(result)
}

pub async fn withdraw(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<super::session::CsrfForm>,
) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(&form.csrf)?;
        catalog_admin::withdraw_procedure(&v.state, v.user()?, &path).await?;
        Ok(v.redirect("/quan-tri?ok=withdrawn"))
    }
    .await;
    v.respond(result)
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MemberForm {
    csrf: String,
    email: String,
    role: String,
    revoke: Option<String>,
}

/// `POST /quan-tri/thanh-vien`: grant a role, or take it away (`revoke`).
pub async fn member(v: Visitor, form: web::Form<MemberForm>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(&form.csrf)?;
        let body = members::MemberBody {
            email: form.email.clone(),
            role: form.role.clone(),
        };
        if form.revoke.is_some() {
            members::revoke_role(&v.state, v.user()?, body).await?;
            Ok(v.redirect("/quan-tri?ok=revoked"))
        } else {
            match members::grant_role(&v.state, v.user()?, body).await? {
                members::Granted::Invited => Ok(v.redirect("/quan-tri?ok=invited")),
                _ => Ok(v.redirect("/quan-tri?ok=granted")),
            }
        }
    }
    .await;
    v.respond(result)
}

/// The largest logo accepted (it is sent with every page's first view).
const MAX_LOGO_BYTES: usize = 256 * 1024;

/// `POST /quan-tri/logo`: a PNG or JPEG (sniffed from the content, not the name), at most
/// 256 KB. Its checksum goes into the branding, so the pages' logo address changes with it and
/// browsers may keep each version for long.
pub async fn logo(v: Visitor, req: actix_web::HttpRequest, payload: web::Payload) -> HttpResponse {
    use crate::services::attachments::{self, FileKind};
    let result = async {
        admin(&v)?;
        let up =
            crate::http::upload::read_form(&req, payload, MAX_LOGO_BYTES + 4096, &["csrf"]).await?;
        v.check_csrf(up.field("csrf"))?;
        let file = up
            .files
            .into_iter()
            .next()
            .ok_or_else(|| AppError::bad_request("missing_file", "choose a picture"))?;
        if file.bytes.len() > MAX_LOGO_BYTES {
            return Err(AppError::TooLarge {
                detail: "the logo is larger than 256 KB".into(),
            });
        }
        let name = attachments::display_name(&file.name)
            .map_err(|e| AppError::bad_request("invalid_file", e.to_string()))?;
        let kind = attachments::check(&name, &file.bytes, &[FileKind::Png, FileKind::Jpeg], 1)
            .map_err(|e| AppError::bad_request("invalid_file", e.to_string()))?;
        let sha = attachments::checksum(&file.bytes);

        let mut branding = v.tenant.tenant.branding.clone();
        if let Some(b) = branding.as_object_mut() {
            b.remove("contact");
            b.insert("logo_sha256".into(), sha.clone().into());
        }
        let detail = serde_json::json!({ "sha256": sha, "bytes": file.bytes.len() });
        let (tenant, by) = (v.tenant.tenant.id, v.user()?.account);
        branding::change_tenant(&v.state, tenant, by, "tenant.logo", detail, move |c| {
            hosting_branding::put_logo(c, tenant, kind.media_type(), &file.bytes, &sha)?;
            hosting_branding::set_branding(c, tenant, &branding, None)
        })
        .await?;
        Ok(v.redirect("/quan-tri?ok=logo"))
    }
    .await;
    v.respond(result)
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct InviteForm {
    csrf: String,
    email: String,
    role: String,
}

/// `POST /quan-tri/loi-moi`: invite someone by mail to a role here.
pub async fn invite(v: Visitor, form: web::Form<InviteForm>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(&form.csrf)?;
        crate::app::onboarding::invite_member(&v.state, v.user()?, &form.email, &form.role).await?;
        Ok(v.redirect("/quan-tri?ok=invited"))
    }
    .await;
    v.respond(result)
}

/// `POST /quan-tri/mo-cong`: a draft tenant goes live once its required steps are done.
pub async fn go_live(v: Visitor, form: web::Form<super::session::CsrfForm>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(&form.csrf)?;
        crate::app::onboarding::switch_live(&v.state, v.user()?).await?;
        Ok(v.redirect("/quan-tri?ok=live"))
    }
    .await;
    v.respond(result)
}

// Missing fields read as empty, so a forged form gets the friendly refusal, not a bare 400.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DomainForm {
    csrf: String,
    domain: String,
    verify: Option<String>,
}

/// `POST /quan-tri/ten-mien`: ask for a domain of the tenant's own, or (`verify`) check its
/// TXT record and route it.
pub async fn domain(v: Visitor, form: web::Form<DomainForm>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(&form.csrf)?;
        if form.verify.is_some() {
            crate::app::onboarding::check_domain(&v.state, v.user()?, &form.domain).await?;
            Ok(v.redirect("/quan-tri?ok=verified"))
        } else {
            crate::app::onboarding::request_domain(&v.state, v.user()?, &form.domain).await?;
            Ok(v.redirect("/quan-tri?ok=domain"))
        }
    }
    .await;
    v.respond(result)
}
