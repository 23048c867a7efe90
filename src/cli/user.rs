//! `dvc user …`: accounts' roles.

use super::*;

#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Give an account a role in a tenant (officer, leader, tenant_admin), or `operator`.
    Grant {
        email: String,
        role: String,
        /// Tenant slug (not for `operator`).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Take a tenant role away.
    Revoke {
        email: String,
        role: String,
        #[arg(long)]
        tenant: String,
    },
}

pub(super) fn user(settings: &Settings, command: UserCommand) -> anyhow::Result<ExitCode> {
    use diesel::prelude::*;
    use dvc::auth::roles::{self, Role};
    use dvc::db::schema::accounts as a;
    let pool = build_pool_sized(&settings.database, 1);
    let mut pooled = pool.get()?;
    let conn: &mut diesel::PgConnection = &mut pooled;
    let find = |conn: &mut diesel::PgConnection,
                email: &str|
     -> anyhow::Result<(uuid::Uuid, String, String)> {
        let email = dvc::mail::Email::parse(email)?;
        dvc::auth::sso::find_login(conn, email.as_str())?
            .map(|l| l.id)
            .and_then(|id| {
                a::table
                    .find(id)
                    .select((a::id, a::full_name, a::locale))
                    .first(conn)
                    .ok()
            })
            .ok_or_else(|| anyhow::anyhow!("no account `{email}`"))
    };
    match command {
        UserCommand::Grant {
            email,
            role,
            tenant,
        } => {
            let (id, full_name, locale) = find(conn, &email)?;
            if role == "operator" {
                roles::grant_operator(conn, id)?;
                dvc::auth::accounts::audit(
                    conn,
                    None,
                    None,
                    None,
                    "role.granted",
                    serde_json::json!({"account": id, "role": "operator"}),
                )?;
                println!("{email}: operator");
                return Ok(ExitCode::SUCCESS);
            }
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("role must be officer, leader, tenant_admin or operator")
            })?;
            let tenant = tenant_by_slug(
                conn,
                tenant
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("--tenant is required"))?,
            )?;
            let recipient = dvc::mail::Email::parse(&email)?;
            let issuer = settings.auth.issuer.clone();
            conn.transaction(|conn| {
                if roles::grant(conn, id, tenant.id, role, None)? {
                    dvc::auth::accounts::audit(conn, None, Some(tenant.id), None, "role.granted", serde_json::json!({"account": id, "role": role.as_str()}))?;
                    dvc::mail::outbox::enqueue(conn, &dvc::mail::outbox::NewMail {
                        tenant_id: Some(tenant.id),
                        template: dvc::mail::TemplateKey::RoleGranted,
                        locale: dvc::locale::Locale::parse(&locale).unwrap_or_default(),
                        recipient,
                        payload: serde_json::json!({"full_name": full_name, "role": role.label_vi(), "link": issuer}),
                        idempotency_key: format!("role:{id}:{}:{}:{}", tenant.id, role.as_str(), uuid::Uuid::new_v4()),
                    })?;
                }
                Ok::<_, diesel::result::Error>(())
            })?;
            end_sessions(settings, conn, id)?;
            println!("{email}: {} in {}", role.as_str(), tenant.slug);
        }
        UserCommand::Revoke {
            email,
            role,
            tenant,
        } => {
            let (id, _, _) = find(conn, &email)?;
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("role must be officer, leader or tenant_admin"))?;
            let tenant = tenant_by_slug(conn, &tenant)?;
            if roles::revoke(conn, id, tenant.id, role)? {
                dvc::auth::accounts::audit(
                    conn,
                    None,
                    Some(tenant.id),
                    None,
                    "role.revoked",
                    serde_json::json!({"account": id, "role": role.as_str()}),
                )?;
                end_sessions(settings, conn, id)?;
                println!("{email}: no longer {} in {}", role.as_str(), tenant.slug);
            } else {
                println!("{email} was not {} in {}", role.as_str(), tenant.slug);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
